"""The phone page end to end in headless Chromium with a fake camera: frames reach the graph,
the annotated result shows on the page, wrong tokens are refused, phones reconnect, several
phones are several sources, and the page never sends ahead of the graph."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

import web_support
from browser_support import Chromium, Page, assert_not_blank, save_screenshot
from flowpose.nodes.phone_hub import PhoneHub, lookup
from web_support import RunningGraph

pytestmark = pytest.mark.slow


def phone_graph(camera: str = "", middle: str = "") -> str:
    """PhoneCamera -> [middle] -> Visualizer -> PhoneDisplay, and a sink counting frames per phone."""
    into_vis = "frames"
    nodes = [
        "  - {name: phone, type: PhoneCamera, outputs: [frames], "
        f"params: {{host: 127.0.0.1, port: 0, banner: false, width: 320, height: 240{camera}}}}}",
        "  - {name: sink, type: 'web_support:BySource', inputs: [frames]}",
    ]
    if middle:
        nodes.append(f"  - {{name: slow, type: PassThrough, inputs: [frames], outputs: [slowed], params: {middle}}}")
        into_vis = "slowed"
    nodes += [
        f"  - {{name: vis, type: Visualizer, inputs: [{into_vis}], outputs: [annotated]}}",
        "  - {name: back, type: PhoneDisplay, inputs: [annotated], params: {camera: phone}}",
    ]
    return "nodes:\n" + "\n".join(nodes) + "\n"


@pytest.fixture
def graph() -> Iterator[RunningGraph]:
    with RunningGraph(phone_graph()) as running:
        yield running


def serving_hub() -> PhoneHub:
    hub = lookup("phone")
    assert hub is not None and hub.serving.wait(20), "the phone server did not start"
    return hub


def open_phone(chromium: Chromium, url: str) -> Page:
    page = chromium.new_page(url)
    try:
        page.wait_for("window.flowpose && window.flowpose.welcomed && window.flowpose.results >= 3", 40)
    except Exception:
        page.close()
        raise
    return page


def state(page: Page) -> dict:
    keys = "source sent acked dropped results shown connects fps latencyMs graphMs width height cameraError"
    return page.evaluate("({" + ", ".join(f"{k}: flowpose.{k}" for k in keys.split()) + "})")


def test_page_streams_the_camera_and_shows_the_annotated_result(
    chromium: Chromium, graph: RunningGraph, tmp_path: Path
) -> None:
    hub = serving_hub()
    page = open_phone(chromium, hub.url)
    try:
        page.wait_for("flowpose.shown >= 10 && flowpose.fps > 0 && flowpose.latencyMs > 0", 30)
        s = state(page)
        assert s["source"] == "phone/1" and s["cameraError"] == ""
        assert (s["width"], s["height"]) == (320, 240)  # the resolution the node asked for
        stats_text = page.evaluate("document.getElementById('stats').textContent")
        assert "shown" in stats_text and "fps" in stats_text and "latency" in stats_text and "ms" in stats_text
        assert page.evaluate("document.getElementById('status').textContent") == "phone/1"
        # Frames reached the graph, from this phone, with the page's own sequence numbers.
        got = web_support.GOT["phone/1"]
        assert len(got) >= 10 and got[0].shape == (240, 320, 3)
        seqs = [g.phone_seq for g in got]
        assert seqs == sorted(seqs) and max(seqs) <= page.evaluate("flowpose.seq")
        # The result canvas holds the annotated picture: the screenshot is not blank there.
        shot = page.screenshot()
        rect = page.evaluate(
            "(() => { const r = document.getElementById('result').getBoundingClientRect();"
            " return [r.x, r.y, r.width, r.height].map((v) => Math.round(v * devicePixelRatio)); })()"
        )
        assert rect[2] >= 320 and rect[3] >= 240
        assert_not_blank(shot, tuple(rect))
        save_screenshot(shot, "phone-page.png", tmp_path)
        # The canvas shows what came back (with the Visualizer's overlay), not the camera preview.
        overlay_dark = page.evaluate(
            "(() => { const c = document.getElementById('result'); const d = c.getContext('2d')"
            ".getImageData(0, 0, 60, 20).data; let s = 0; for (let i = 0; i < d.length; i += 4) s += d[i + 1];"
            " return s / (d.length / 4); })()"
        )
        assert overlay_dark < 100  # the fake camera is bright green there; the overlay box is dark
    finally:
        page.close()
    result = graph.stop()
    assert result.failure is None
    assert result.stats[0].counters.get("replaced", 0) == 0  # the page never sent before an ack


def test_wrong_token_is_refused_for_the_page_and_the_socket(chromium: Chromium, graph: RunningGraph) -> None:
    hub = serving_hub()
    wrong = hub.url.split("token=")[0] + "token=not-the-token-at-all"
    page = chromium.new_page(wrong)
    try:
        text = "document.body && location.href.includes('token=') && document.body.innerText"
        assert "Forbidden" in page.wait_for(text, 20)
        assert page.evaluate("typeof window.flowpose") == "undefined"  # no page script was served
        page.navigate(hub.url)  # the right page, then a socket with the wrong token from it
        page.wait_for("window.flowpose && window.flowpose.welcomed", 30)
        opened = page.evaluate(
            "new Promise((done) => { const ws = new WebSocket(`wss://${location.host}/ws?token=wrong-token-wrong`);"
            " ws.onopen = () => done('opened'); ws.onclose = () => done('refused'); })"
        )
        assert opened == "refused"
    finally:
        page.close()
    assert graph.stop().stats[0].counters["refused"] == 2


def test_two_phones_are_two_sources_and_resume_after_losing_the_connection(
    chromium: Chromium, graph: RunningGraph
) -> None:
    hub = serving_hub()
    one = open_phone(chromium, hub.url)
    two = open_phone(chromium, hub.url + "&name=garden")
    try:
        assert state(one)["source"] == "phone/1" and state(two)["source"] == "phone/garden"
        assert web_support.wait_until(lambda got: len(got["phone/1"]) >= 3 and len(got["phone/garden"]) >= 3)
        # The network goes: every connection is cut without a goodbye.
        before = {s: web_support.count(s) for s in ("phone/1", "phone/garden")}
        graph.runner.instances["phone"].drop_connections()
        for page in (one, two):
            page.wait_for("flowpose.connects >= 2 && flowpose.welcomed", 30)
        assert web_support.wait_until(lambda got: all(len(got[s]) >= n + 5 for s, n in before.items()), 30)
        assert state(one)["source"] == "phone/1" and state(two)["source"] == "phone/garden"
        # A reload of the tab (or the phone's browser restoring it) is the same phone again.
        one.navigate(hub.url)
        one.wait_for("window.flowpose && flowpose.welcomed && flowpose.results >= 2", 30)
        assert state(one)["source"] == "phone/1"
        assert set(web_support.GOT) == {"phone/1", "phone/garden"}
    finally:
        one.close()
        two.close()
    counters = graph.stop().stats[0].counters
    assert counters["connects"] == 5 and counters["disconnects"] == 5


def test_a_frozen_page_resumes(chromium: Chromium, graph: RunningGraph) -> None:
    hub = serving_hub()
    page = open_phone(chromium, hub.url)
    try:
        page.call("Page.setWebLifecycleState", state="frozen")  # what a phone does to a hidden tab
        frozen_at = web_support.count("phone/1")
        assert not web_support.wait_until(lambda got: len(got["phone/1"]) > frozen_at + 1, 1.0)
        page.call("Page.setWebLifecycleState", state="active")
        assert web_support.wait_until(lambda got: len(got["phone/1"]) >= frozen_at + 5, 30)
    finally:
        page.close()


def test_with_a_window_the_page_sends_only_as_fast_as_the_graph_finishes(chromium: Chromium) -> None:
    # A node taking 100 ms per frame, slower than the fake camera's 20 fps.
    with RunningGraph(phone_graph(camera=", window: 1", middle="{work_ms: 100}")) as running:
        hub = serving_hub()
        page = open_phone(chromium, hub.url)
        try:
            page.wait_for("flowpose.results >= 12", 40)
            s = state(page)
        finally:
            page.close()
        result = running.stop()
    slow = next(x for x in result.stats if x.name == "slow")
    assert s["sent"] <= s["results"] + 2  # one frame in the graph at a time (plus the one on its way)
    assert slow.drops == 0 and slow.frames >= 12  # so nothing waited in a queue to be dropped


def test_without_a_window_the_graph_drops_what_it_cannot_take(chromium: Chromium) -> None:
    # 200 ms per frame: far slower than the camera even when the machine is busy.
    with RunningGraph(phone_graph(camera=", window: 0", middle="{work_ms: 200}")) as running:
        hub = serving_hub()
        page = open_phone(chromium, hub.url)
        try:
            page.wait_for("flowpose.results >= 8", 40)
            in_flight = page.evaluate("flowpose.sent - flowpose.acked")
            s = state(page)
        finally:
            page.close()
        result = running.stop()
    slow = next(x for x in result.stats if x.name == "slow")
    assert in_flight <= 1  # still only one frame on the network at a time
    assert s["sent"] > s["results"] + 2 and slow.drops > 0  # the latest buffer keeps the newest
    assert result.stats[0].counters.get("replaced", 0) == 0


def test_without_a_phone_display_the_page_streams_and_a_browser_view_shows_it(
    chromium: Chromium, tmp_path: Path
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    text = phone_graph().replace(
        "type: PhoneDisplay, inputs: [annotated], params: {camera: phone}",
        f"type: BrowserView, inputs: [annotated], params: {{port: {port}, banner: false}}",
    )
    with RunningGraph(text) as running:
        hub = serving_hub()
        phone = chromium.new_page(hub.url)
        view = chromium.new_page(f"http://127.0.0.1:{port}/")
        try:
            phone.wait_for("window.flowpose && flowpose.welcomed && flowpose.acked >= 10", 40)
            assert phone.evaluate("flowpose.display") is False and phone.evaluate("flowpose.results") == 0
            assert "no way back" in phone.evaluate("document.getElementById('stats').textContent")
            assert web_support.wait_until(lambda got: len(got["phone/1"]) >= 10)
            view.navigate(f"http://127.0.0.1:{port}/")  # the view page again, now that frames flow
            view.wait_for("(() => { const i = document.querySelector('#streams img'); return i && i.naturalWidth; })()")
            assert view.evaluate("document.querySelector('figcaption').textContent") == "phone/1"
            view.wait_for("document.querySelectorAll('#nodes tr').length === 3", 10)  # header, phone, vis
            shot = view.screenshot()
            save_screenshot(shot, "browser-view-phone.png", tmp_path)
            assert_not_blank(shot, (8, 43, 320, 240))
        finally:
            phone.close()
            view.close()
        assert running.stop().failure is None
