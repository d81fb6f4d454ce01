"""The multi-stream source nodes running in this process, by node name."""

from __future__ import annotations

import threading

from flowpose.streams.control import StreamControl, StreamError

_lock = threading.Lock()
_controls: dict[str, StreamControl] = {}


def register(control: StreamControl) -> None:
    """Make ``control`` reachable by its node name (a node calls this in ``setup()``)."""
    with _lock:
        _controls[control.name] = control


def unregister(control: StreamControl) -> None:
    """Forget ``control`` (a node calls this in ``close()``); a restarted node registers again."""
    with _lock:
        if _controls.get(control.name) is control:
            del _controls[control.name]


def registered() -> dict[str, StreamControl]:
    """A snapshot of the registered controls, by node name."""
    with _lock:
        return dict(_controls)


def find_control(node: str | None = None) -> StreamControl:
    """The control of ``node``, or the only one registered when ``node`` is None.

    Raises:
        StreamError: 404 when there is none by that name, 409 when ``node`` is None and
            several are registered (the message lists them).
    """
    controls = registered()
    if node is not None:
        if node not in controls:
            raise StreamError(f"no running multi-stream source node {node!r}; running: {sorted(controls)}", 404)
        return controls[node]
    if len(controls) == 1:
        return next(iter(controls.values()))
    if not controls:
        raise StreamError("no multi-stream source is running in this graph (Camera sources:, SyntheticScene)", 404)
    raise StreamError(f"several multi-stream sources run here: {sorted(controls)}; name one", 409)
