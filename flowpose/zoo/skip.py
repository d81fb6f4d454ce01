"""Checking a graph's structure without its models (``flowpose graph``).

Inside :func:`models_unchecked`, :func:`flowpose.zoo.resolve_model` raises
:class:`ModelCheckSkipped` instead of finding or downloading anything. The exception is
deliberately not a ZooError, FileNotFoundError or ValueError: node ``check()`` methods catch
those and turn them into problems, while this one passes through them up to validation, which
records the node's params as "not checked" rather than wrong.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["ModelCheckSkipped", "models_are_unchecked", "models_unchecked"]

_UNCHECKED: contextvars.ContextVar[bool] = contextvars.ContextVar("flowpose_zoo_models_unchecked", default=False)


class ModelCheckSkipped(Exception):
    """A model was asked for while model checks are off; validation treats the check as skipped."""


def models_are_unchecked() -> bool:
    """Whether the caller is inside :func:`models_unchecked`."""
    return _UNCHECKED.get()


@contextmanager
def models_unchecked() -> Iterator[None]:
    """Within this block, no model file is looked at, downloaded or loaded by a resolve."""
    token = _UNCHECKED.set(True)
    try:
        yield
    finally:
        _UNCHECKED.reset(token)
