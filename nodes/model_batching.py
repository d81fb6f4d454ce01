"""What the model nodes (Detector, TopdownPoseEstimator) share about batching frames of many streams."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from flowpose.models.session import batch_wait_ms
from flowpose.node import BatchLimits


def max_wait_field() -> Any:
    """The ``max_wait_ms`` param of a model node (a fresh field per model class)."""
    return Field(
        None,
        ge=0,
        le=1000,
        description="How long a batch waits for frames of other streams after its first; it stops once it "
        "holds a frame of every stream seen lately (one stream never waits). null: 0 on the CPU (a batch "
        "costs the same per frame there; frames already queued still batch), 5 on a GPU.",
    )


def batch_limits_of(params: Any) -> BatchLimits | None:
    """The runner's batch limits for a model node's params (``max_batch``, ``max_wait_ms``, ``providers``)."""
    if params.max_batch <= 1:
        return None
    return BatchLimits(params.max_batch, batch_wait_ms(params.providers, params.max_wait_ms) / 1e3)
