"""The Trigger node: closed-loop feedback from poses — a condition, hysteresis, an action.

Each frame's pose gives the condition a value (:mod:`flowpose.closedloop.conditions`), the
hysteresis turns values into an on/off state, and a switch fires the action
(:mod:`flowpose.closedloop.actions`) in this node's thread, before the frame moves on. The time
from the frame's capture to the action's return is the closed loop's latency: it is kept for
:meth:`Trigger.latency_summary`, logged at close, and written into the frame's meta.
"""

from __future__ import annotations

import collections
import time
from typing import Any, Literal

import numpy as np
from pydantic import Field

from flowpose.closedloop.actions import Action, ActionError, TriggerEvent, ZmqAction, make_action, resolve_action
from flowpose.closedloop.conditions import ConditionSpec, Hysteresis, PoseProbe
from flowpose.frame import Frame
from flowpose.node import Node, NodeParams

#: Actions whose capture-to-return latencies are kept for the summary.
LATENCY_WINDOW = 10_000


class LogAction:
    """The default action: one log line per event."""

    def __init__(self, node: Node) -> None:
        self._log = node.log

    def fire(self, event: TriggerEvent) -> None:
        """Log the event."""
        self._log.info("trigger %s at frame %d (value %s)", event.state, event.frame_id, event.value)


class Trigger(Node):
    """Fires an action when a pose meets a condition (keypoint in a region, distance, speed)."""

    module_params = ("action",)  # action: my_rig:reward is also found beside the graph file

    class Params(NodeParams):
        condition: ConditionSpec = Field(
            description="kind region|distance|speed, keypoint, rect/polygon, to_keypoint/to_point, below/above, "
            "release (see docs/lab.md)."
        )
        label: str | None = Field(None, description="Only instances with this label; default: any with keypoints.")
        min_score: float = Field(0.3, description="Keypoints scoring below this count as missing (condition off).")
        min_frames_on: int = Field(1, ge=1, description="Consecutive frames the condition must hold to switch on.")
        min_frames_off: int = Field(1, ge=1, description="Consecutive frames it must fail to switch off.")
        # Not "on": YAML 1.1 reads a bare `on` as true.
        fire_on: Literal["rising", "change", "frame"] = Field(
            "rising", description="Fire when switching on (rising), on every switch (change), or every frame while on."
        )
        action: str = Field(
            "log", description="log, zmq, or package.module:name (a function f(event) or a class with fire(event))."
        )
        action_params: dict[str, Any] = Field(
            default_factory=dict, description="Keyword arguments for an action class."
        )
        endpoint: str = Field("tcp://127.0.0.1:5560", description="action zmq: where the PUB socket binds.")
        topic: str = Field("trigger", description="action zmq: the topic frame of each message.")

    @classmethod
    def check(cls, params: NodeParams) -> list[tuple[str, str]]:
        assert isinstance(params, cls.Params)
        if params.action in ("log", "zmq"):
            return [("action_params", "only an action class takes action_params")] if params.action_params else []
        if ":" not in params.action:
            return [("action", f"{params.action!r}: use log, zmq or package.module:name")]
        try:
            resolve_action(params.action)  # imports only: a serial port is opened at setup
        except ActionError as exc:
            return [("action", str(exc))]
        return []

    def setup(self) -> None:
        p = self.params
        self._probe = PoseProbe(p.condition, p.label, p.min_score)
        self._gate = Hysteresis(p.condition, p.min_frames_on, p.min_frames_off)
        if p.action == "log":
            self._action: Action = LogAction(self)
        elif p.action == "zmq":
            zmq_action = ZmqAction(p.endpoint, p.topic)
            self.endpoint = zmq_action.endpoint
            self._action = zmq_action
            self.log.info("trigger events on %s (topic %r)", self.endpoint, p.topic)
        else:
            self._action = make_action(p.action, p.action_params)
        self._latency_ns: collections.deque[int] = collections.deque(maxlen=LATENCY_WINDOW)
        self._warned = False

    def process(self, frame: Frame) -> Frame:
        value, keypoint = self._probe.value(frame)
        if keypoint is None:
            self.counters["missing"] += 1  # no instance, or its keypoint not confident
        switch = self._gate.step(value)
        if switch is not None:
            self.counters[f"switched_{switch}"] += 1
        on = self._gate.on
        fire = self._fires(switch, on)
        trigger: dict[str, Any] = {"node": self.name, "on": on, "value": value, "fired": fire}
        if fire:
            event = TriggerEvent(
                self.name,
                "on" if on else "off",
                switch is not None,
                frame.frame_id,
                frame.source,
                frame.capture_ns,
                value,
                keypoint,
            )
            trigger["latency_ms"] = self._fire(event)
        return frame.replace(meta={**frame.meta, "trigger": trigger})

    def _fires(self, switch: str | None, on: bool) -> bool:
        """Whether this frame fires the action, per ``fire_on``."""
        if self.params.fire_on == "rising":
            return switch == "on"
        if self.params.fire_on == "change":
            return switch is not None
        return on  # frame: every frame while on

    def _fire(self, event: TriggerEvent) -> float | None:
        """Run the action; returns capture-to-return latency in ms (None when it failed)."""
        try:
            self._action.fire(event)
        except Exception:  # an experiment's action failing must not stop the tracking; it is counted
            self.counters["action_errors"] += 1
            if not self._warned:
                self._warned = True
                self.log.exception("the trigger's action failed (later failures are only counted)")
            return None
        # capture_ns is wall clock (time.time_ns) so that it compares across processes and hosts.
        latency = time.time_ns() - event.capture_ns
        self._latency_ns.append(latency)
        self.counters["fired"] += 1
        return latency / 1e6

    def latency_summary(self) -> dict[str, float]:
        """Capture-to-action latency in ms over the recent actions: ``p50``, ``p95``, ``max``, ``count``."""
        if not getattr(self, "_latency_ns", None):
            return {}
        ms = np.fromiter(self._latency_ns, np.int64, len(self._latency_ns)) / 1e6
        return {
            "p50": float(np.percentile(ms, 50)),
            "p95": float(np.percentile(ms, 95)),
            "max": float(ms.max()),
            "count": float(len(ms)),
        }

    def close(self) -> None:
        summary = self.latency_summary()
        if summary:
            self.log.info(
                "%d actions, capture to action: p50 %.1f ms, p95 %.1f ms, max %.1f ms",
                summary["count"],
                summary["p50"],
                summary["p95"],
                summary["max"],
            )
        action = getattr(self, "_action", None)
        if action is not None and callable(getattr(action, "close", None)):
            action.close()
