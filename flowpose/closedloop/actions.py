"""What a Trigger does when it fires: a Python callable, a plugin object, a ZeroMQ event.

The plugin API is one method: an action is anything with ``fire(event)`` (and, optionally,
``close()``); a plain function ``f(event)`` is wrapped into one. ``action: my_module:name``
in a graph resolves ``name`` exactly like a plugin node type (also from the graph file's
folder): a class is instantiated with the node's ``action_params`` as keyword arguments, a
function is called as is. A serial port is such a plugin (see docs/lab.md): flowpose itself
needs no pyserial.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

import msgpack
import zmq

from flowpose.graph.registry import NodeTypeError
from flowpose.graph.registry import _import_target as import_target  # the plugin node types' resolver

__all__ = ["Action", "ActionError", "CallbackAction", "TriggerEvent", "ZmqAction", "make_action", "resolve_action"]

logger = logging.getLogger(__name__)


class ActionError(ValueError):
    """An action could not be resolved or set up; the message says why."""


@dataclass(frozen=True, slots=True)
class TriggerEvent:
    """What an action receives.

    Attributes:
        node: The Trigger node's name.
        state: ``"on"`` or ``"off"`` (the state after this frame).
        switched: True on the frame where the state changed (False for ``fire_on: frame`` repeats).
        frame_id: The frame that fired it.
        source: The frame's source (camera) name.
        capture_ns: The frame's capture time, wall clock ns (``time.time_ns()`` epoch).
        value: The condition's value on this frame (None when the keypoint was missing).
        keypoint: The condition keypoint's ``[x, y]`` in image pixels, or None.
    """

    node: str
    state: str
    switched: bool
    frame_id: int
    source: str
    capture_ns: int
    value: float | None
    keypoint: list[float] | None

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for msgpack, JSON, logs)."""
        return asdict(self)


@runtime_checkable
class Action(Protocol):
    """The plugin API: ``fire(event)`` does the thing; it should return quickly."""

    def fire(self, event: TriggerEvent) -> None:
        """Do the action for ``event`` (called in the Trigger node's thread)."""


@dataclass
class CallbackAction:
    """A plain function ``func(event)`` as an action."""

    func: Callable[[TriggerEvent], Any]

    def fire(self, event: TriggerEvent) -> None:
        """Call the function."""
        self.func(event)


class ZmqAction:
    """Publishes each event on a ZeroMQ PUB socket: ``[topic, msgpack(event.to_dict())]``.

    Args:
        endpoint: Where the PUB socket binds, e.g. ``tcp://127.0.0.1:5560`` (``:0`` or ``*``
            port picks a free port; :attr:`endpoint` then holds the real one).
        topic: First frame of each message (subscribers filter on it).
    """

    def __init__(self, endpoint: str, topic: str = "trigger") -> None:
        self._topic = topic.encode()
        self._socket = zmq.Context.instance().socket(zmq.PUB)
        self._socket.setsockopt(zmq.LINGER, 0)  # never hold the exit for a gone subscriber
        try:
            self._socket.bind(endpoint)
        except zmq.ZMQError as exc:
            self._socket.close()
            raise ActionError(f"cannot bind the trigger's PUB socket to {endpoint!r}: {exc}") from None
        self.endpoint = self._socket.getsockopt_string(zmq.LAST_ENDPOINT)

    def fire(self, event: TriggerEvent) -> None:
        """Send the event (never blocks: a PUB socket drops for slow subscribers)."""
        try:
            self._socket.send_multipart([self._topic, msgpack.packb(event.to_dict())], flags=zmq.NOBLOCK)
        except zmq.Again:
            logger.debug("trigger event %d dropped: no subscriber pipe took it", event.frame_id)

    def close(self) -> None:
        """Close the socket."""
        self._socket.close()


def resolve_action(target: str) -> Any:
    """The object ``package.module:name`` names (checked at validation time too).

    Raises:
        ActionError: When it cannot be imported, or is neither a class nor a callable.
    """
    try:
        obj = import_target(target)
    except NodeTypeError as exc:
        raise ActionError(str(exc)) from None
    if not callable(obj):
        raise ActionError(f"{target!r} is {type(obj).__name__}, not a function or a class with fire(event)")
    if isinstance(obj, type) and not callable(getattr(obj, "fire", None)):
        raise ActionError(f"{target!r} is a class without a fire(event) method")
    return obj


def make_action(target: str, params: Mapping[str, Any] | None = None) -> Action:
    """Build the action a Trigger's ``action`` param names.

    Args:
        target: ``package.module:function`` or ``package.module:Class`` (a class with ``fire``).
        params: Keyword arguments for a class; a function takes none.

    Raises:
        ActionError: When it cannot be resolved, or a function is given params.
    """
    obj = resolve_action(target)
    params = dict(params or {})
    if isinstance(obj, type):
        try:
            return obj(**params)
        except TypeError as exc:
            raise ActionError(f"{target}({', '.join(params)}): {exc}") from None
    if params:
        raise ActionError(f"{target!r} is a function: action_params are for classes only")
    return CallbackAction(obj)
