"""How ``flowpose run`` reports the node failure that stopped a graph.

A failure the environment causes (a file in the way, a folder without write access, a video
that does not decode) is one line: the node, the error, the path in its message; a
traceback would only hide it. Anything else is a bug in a node, and its traceback is what
whoever fixes it needs. ``-v`` shows the traceback always.
"""

from __future__ import annotations

import builtins

from flowpose.runners.worker import NodeFailure

#: Exceptions that say what is wrong with the machine or the inputs, not with the code:
#: OSError and its built-in subclasses (files, folders, permissions, devices, network), and
#: the OSError-like errors of flowpose's own nodes. By name: a failure in a process-runner
#: child reaches the parent as text ("TypeName: message").
ENVIRONMENT_ERRORS = frozenset(
    {name for name, obj in vars(builtins).items() if isinstance(obj, type) and issubclass(obj, OSError)}
    | {"CaptureError", "OutputPathError"}
)


def is_environment_error(failure: NodeFailure) -> bool:
    """True when ``failure`` is an expected error of the environment rather than a bug."""
    return failure.error.partition(":")[0].strip() in ENVIRONMENT_ERRORS


def format_failure(failure: NodeFailure, verbose: int = 0) -> str:
    """The report for ``failure``: one line, plus the traceback for bugs or with ``-v``."""
    line = f"error: node {failure.node!r} ({failure.type}) failed: {failure.error}"
    if is_environment_error(failure) and not verbose:
        return line
    return f"{line}\n{failure.traceback.rstrip()}"
