"""Graph-file models of hosts: where the parts of a graph run, and the keys that secure them.

.. code-block:: yaml

    hosts:
      edge: {address: 192.168.1.20}
      server: {address: 192.168.1.30, port: 5800}
    curve: {keys: keys/}      # optional: CurveZMQ between hosts, keys made by `flowpose keys`
    nodes:
      - {name: camera, type: Camera, host: edge, ...}

Checked in :mod:`flowpose.hosts.plan`; kept apart so :mod:`flowpose.graph.spec` can use the models
without importing the checks.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_PORT = 5700


class HostSpec(BaseModel):
    """One host a graph runs parts on."""

    model_config = ConfigDict(extra="forbid")

    address: str = Field(
        "127.0.0.1",
        min_length=1,
        description="How the other hosts reach this one (IP or name); links leaving this host bind "
        "there, so the default keeps them on loopback.",
    )
    bind: str | None = Field(
        None, min_length=1, description="Interface to bind instead of `address` (e.g. 0.0.0.0 behind NAT)."
    )
    port: int = Field(
        DEFAULT_PORT,
        ge=1,
        le=65535,
        description="This host's rendezvous port; links leaving the host take the ports after it, one each.",
    )
    public_key: str | None = Field(
        None, description="CurveZMQ public key file of this host (default with `curve`: KEYS/NAME.key)."
    )
    secret_key: str | None = Field(
        None,
        description="CurveZMQ secret key file, needed on this host only (default with `curve`: KEYS/NAME.key_secret).",
    )


class CurveSpec(BaseModel):
    """CurveZMQ authentication and encryption of every link between hosts."""

    model_config = ConfigDict(extra="forbid")

    keys: str = Field(
        ".",
        description="Folder of the key files (relative to the graph file): NAME.key for every host, "
        "and NAME.key_secret for the host being started.",
    )
