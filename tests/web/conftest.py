"""Fixtures of the web-node tests: a private FLOWPOSE_HOME, and a headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import web_support
from browser_support import Chromium, find_chromium
from flowpose.web.home import HOME_ENV


@pytest.fixture(autouse=True)
def flowpose_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Certificates and tokens go to a temporary folder, never to the real ~/.config."""
    home = tmp_path / "flowpose-home"
    monkeypatch.setenv(HOME_ENV, str(home))
    web_support.reset()
    return home


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    """A headless Chromium with a fake camera, shared by the browser tests (it takes 1-10 s to start)."""
    if find_chromium() is None:
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium with apt-get when it can)")
    browser = Chromium(tmp_path_factory.mktemp("chromium"))
    yield browser
    browser.close()
