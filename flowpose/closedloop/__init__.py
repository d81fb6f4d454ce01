"""Closed-loop feedback from poses: conditions with hysteresis, and the actions a Trigger fires.

Example:
    >>> from flowpose.closedloop import ConditionSpec, Hysteresis
    >>> gate = Hysteresis(ConditionSpec(kind="speed", keypoint=0, above=100, release=50), min_frames_on=2)
    >>> [gate.step(v) for v in (150, 150, 80, 40)]
    [None, 'on', None, 'off']
"""

from flowpose.closedloop.actions import (
    Action,
    ActionError,
    CallbackAction,
    TriggerEvent,
    ZmqAction,
    make_action,
    resolve_action,
)
from flowpose.closedloop.conditions import ConditionSpec, Hysteresis, PoseProbe

__all__ = [
    "Action",
    "ActionError",
    "CallbackAction",
    "ConditionSpec",
    "Hysteresis",
    "PoseProbe",
    "TriggerEvent",
    "ZmqAction",
    "make_action",
    "resolve_action",
]
