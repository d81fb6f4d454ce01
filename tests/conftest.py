"""Shared fixtures: the test plugin nodes, graph helpers, and the ../shared data location."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUPPORT = Path(__file__).resolve().parent / "support"
SHARED = Path(os.environ.get("FLOWPOSE_SHARED", ROOT.parent / "shared"))

# Test plugin nodes are imported as 'testnodes:ClassName' by graphs, in-process and in
# subprocesses (which get SUPPORT on PYTHONPATH from `subprocess_env`).
if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))

# Zoo models download on first use; the suite must never reach the real model hosts (a test
# that resolves zoo:rtmpose-* without a cache would hang or fail on the network). Offline, a
# missing model is an immediate error naming its URL; tests that download from their own local
# server clear this with monkeypatch. Set in os.environ, so `flowpose` subprocesses inherit it.
os.environ["FLOWPOSE_OFFLINE"] = "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip `realdata` tests cleanly when ../shared is not beside the checkout."""
    if SHARED.is_dir():
        return
    skip = pytest.mark.skip(reason=f"real data not available ({SHARED} is absent)")
    for item in items:
        if "realdata" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def shared_dir() -> Path:
    """The ../shared folder (real videos, datasets, models)."""
    return SHARED


@pytest.fixture
def subprocess_env() -> dict[str, str]:
    """Environment for running `flowpose` in a subprocess with the test plugin nodes importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SUPPORT), env.get("PYTHONPATH", "")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture(autouse=True)
def _reset_collectors() -> None:
    import testnodes

    testnodes.reset()
