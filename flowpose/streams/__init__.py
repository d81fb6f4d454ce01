"""Streams as a first-class dimension: the control of a multi-stream source, and where to find it.

A *stream* is one camera (or file, or phone, or synthetic scene) inside a graph. Its id is the
``Frame.source`` of every frame it produces, carried end to end (over processes and hosts
too), so every node keeps per-stream state by ``frame.source`` and every record names it.
A source node that holds several streams (``Camera`` with ``sources:``, ``SyntheticScene``
with ``streams:``, ``PhoneCamera``) implements :class:`StreamControl` and registers itself
here while it runs, so ``flowpose serve`` can list, add, pause and remove streams without
restarting anything downstream.
"""

from flowpose.streams.control import StreamControl, StreamError, StreamInfo
from flowpose.streams.registry import find_control, register, registered, unregister

__all__ = ["StreamControl", "StreamError", "StreamInfo", "find_control", "register", "registered", "unregister"]
