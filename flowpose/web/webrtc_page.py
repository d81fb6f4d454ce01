"""The WebRTCView page: picks a stream, sends an SDP offer to ``/offer``, plays the answer's video.

The page keeps what a test (or a curious user, in the console) wants to know in
``window.flowpose``: the connection state, the video's size and how many frames were shown
(counted with ``requestVideoFrameCallback``). No libraries: the browser's own WebRTC.
"""

from __future__ import annotations

import html

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{TITLE}}</title>
<style>
  body { margin: 0; background: #111; color: #eee; font: 14px system-ui, sans-serif; }
  header { padding: 8px 12px; background: #222; display: flex; gap: 12px; align-items: baseline; }
  h1 { font-size: 16px; margin: 0; }
  #note { color: #aaa; }
  video { display: block; margin: 8px; max-width: calc(100% - 16px); max-height: 80vh; background: #000; }
</style>
</head>
<body>
<header><h1>{{TITLE}}</h1><label>stream <select id="stream"></select></label><span id="note">connecting…</span></header>
<video id="video" autoplay playsinline muted></video>
<script>
"use strict";
(() => {
  const state = (window.flowpose = { state: "new", frames: 0, width: 0, height: 0, error: null });
  const video = document.getElementById("video");
  const note = document.getElementById("note");
  const select = document.getElementById("stream");
  const wanted = new URLSearchParams(location.search).get("stream") || "";
  const say = (text) => { note.textContent = text; };

  async function listStreams() {
    const { streams } = await (await fetch("streams.json", { cache: "no-store" })).json();
    const names = wanted && !streams.includes(wanted) ? [wanted, ...streams] : streams;
    select.innerHTML = "";
    for (const name of names) select.add(new Option(name, name, false, name === wanted));
  }
  select.onchange = () => { location.search = "?stream=" + encodeURIComponent(select.value); };

  function countFrames() {
    state.frames += 1;
    state.width = video.videoWidth;
    state.height = video.videoHeight;
    video.requestVideoFrameCallback(countFrames);
  }
  video.requestVideoFrameCallback(countFrames);

  async function connect() {
    const pc = new RTCPeerConnection();
    window.addEventListener("pagehide", () => pc.close());  // the server drops the viewer at once
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.ontrack = (ev) => { video.srcObject = ev.streams[0] || new MediaStream([ev.track]); };
    pc.onconnectionstatechange = () => {
      state.state = pc.connectionState;
      say(pc.connectionState === "connected" ? "live (WebRTC)" : pc.connectionState);
    };
    await pc.setLocalDescription(await pc.createOffer());
    // The server takes no trickled candidates: wait until the offer holds them all.
    await new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") return resolve();
      pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve();
      setTimeout(resolve, 3000);  // an interface that never finishes gathering must not stall us
    });
    const offer = pc.localDescription;
    const resp = await fetch("offer", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sdp: offer.sdp, type: offer.type, stream: wanted }),
    });
    if (!resp.ok) throw new Error(await resp.text());
    await pc.setRemoteDescription(await resp.json());
  }

  listStreams().catch(() => {});
  connect().catch((err) => {
    state.state = "error";
    state.error = String(err.message || err);
    say("cannot connect: " + state.error);
  });
})();
</script>
</body>
</html>
"""


def render_page(title: str) -> bytes:
    """The page with ``title`` (escaped) filled in, as UTF-8."""
    return PAGE.replace("{{TITLE}}", html.escape(title)).encode()
