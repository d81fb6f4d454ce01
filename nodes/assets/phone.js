// The flowpose phone page: camera -> JPEG -> WebSocket, one frame in flight until the server
// acks it, and the annotated result drawn as it comes back. See nodes/phone_server.py.
"use strict";
(() => {
  const cfg = window.FLOWPOSE_CONFIG;
  const $ = (id) => document.getElementById(id);
  const video = $("camera"), result = $("result"), statusEl = $("status"), statsEl = $("stats");
  const query = new URLSearchParams(location.search);
  const token = query.get("token") || "";
  const wantedName = query.get("name") || "";
  const grab = document.createElement("canvas");
  const ACK_TIMEOUT_MS = 5000, WELCOME_TIMEOUT_MS = 5000, KEEP = 60;

  // One id per browser tab, kept across reloads and reconnects, so the phone keeps its source name.
  let clientId = sessionStorage.getItem("flowpose-client");
  if (!clientId) {
    clientId = crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`.replace(".", "");
    sessionStorage.setItem("flowpose-client", clientId);
  }

  const state = {
    source: "", welcomed: false, window: 0, display: false, paused: false, closedReason: "",
    seq: 0, sent: 0, acked: 0, dropped: 0, results: 0, shown: 0, connects: 0,
    awaitingAck: false, ackSince: 0, inflight: new Map(),
    latencies: [], graphTimes: [], resultTimes: [], sendTimes: [],
    fps: 0, sendFps: 0, latencyMs: 0, graphMs: 0, width: 0, height: 0, cameraError: "",
  };
  window.flowpose = state; // for tests and for the curious (devtools)

  const push = (list, value) => { list.push(value); if (list.length > KEEP) list.shift(); };
  const median = (list) => {
    if (!list.length) return 0;
    const s = [...list].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
  };
  const rate = (times, now) => {
    const recent = times.filter((t) => now - t < 2000);
    return recent.length > 1 ? ((recent.length - 1) * 1000) / (recent[recent.length - 1] - recent[0]) : 0;
  };
  function setStatus(text, cls) { statusEl.textContent = text; statusEl.className = cls || ""; }

  // -- the send loop sleeps until something changes: an ack, a result, a connection ------------
  let wakeFn = null;
  function wake() { if (wakeFn) { const f = wakeFn; wakeFn = null; f(); } }
  function nap(ms) {
    return new Promise((resolve) => { wakeFn = resolve; setTimeout(() => { if (wakeFn === resolve) wake(); }, ms); });
  }
  // Camera frames are counted as they are presented, so the loop can tell whether the frame
  // on screen was sent already: when the graph frees a slot, an unsent frame goes at once.
  let framesSeen = 0, framesSent = 0, frameWaiter = null;
  function onVideoFrame() {
    framesSeen += 1;
    if (frameWaiter) { const f = frameWaiter; frameWaiter = null; f(); }
    video.requestVideoFrameCallback(onVideoFrame);
  }
  const tracksFrames = "requestVideoFrameCallback" in HTMLVideoElement.prototype;
  if (tracksFrames) video.requestVideoFrameCallback(onVideoFrame);
  function newCameraFrame() {
    if (tracksFrames && framesSeen > framesSent) return Promise.resolve();
    const frame = new Promise((resolve) => {
      if (tracksFrames) frameWaiter = resolve;
      else requestAnimationFrame(() => resolve());
    });
    return Promise.race([frame, new Promise((resolve) => setTimeout(resolve, 500))]);
  }

  // -- camera --------------------------------------------------------------------------------
  let stream = null;
  async function startCamera() {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    if (!navigator.mediaDevices) {
      state.cameraError = "no camera access: the page must be opened over https";
      setStatus(state.cameraError, "bad");
      return;
    }
    const [w, h] = $("size").value.split("x").map(Number);
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: { ideal: $("facing").value }, width: { ideal: w }, height: { ideal: h } },
      });
      video.srcObject = stream;
      await video.play();
      state.cameraError = "";
    } catch (err) {
      state.cameraError = `camera: ${err.name} ${err.message}`;
      setStatus(state.cameraError, "bad");
    }
    wake();
  }

  // -- connection ----------------------------------------------------------------------------
  let ws = null, retries = 0, retryTimer = null;
  function connect() {
    retryTimer = null;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const sock = new WebSocket(`${proto}//${location.host}/ws?token=${encodeURIComponent(token)}`);
    ws = sock;
    sock.binaryType = "arraybuffer";
    // A socket that is not welcomed in time (a half-open link) is dropped and tried again.
    setTimeout(() => { if (ws === sock && !state.welcomed) sock.close(); }, WELCOME_TIMEOUT_MS);
    sock.onopen = () => sock.send(JSON.stringify({ type: "hello", client: clientId, name: wantedName }));
    sock.onmessage = (ev) => (typeof ev.data === "string" ? onText(JSON.parse(ev.data)) : onResult(ev.data));
    sock.onclose = (ev) => {
      if (ws !== sock) return;
      state.welcomed = false;
      state.awaitingAck = false;
      state.inflight.clear();
      wake();
      if (ev.code === 4000) { // this tab's id connected again elsewhere (a duplicated tab)
        state.closedReason = ev.reason;
        setStatus("open in another tab; reload to take over", "bad");
        return;
      }
      const delay = Math.min(250 * 2 ** retries, 4000);
      retries += 1;
      setStatus(`disconnected; retrying in ${(delay / 1000).toFixed(1)} s`, "bad");
      retryTimer = setTimeout(connect, delay);
    };
  }
  function reconnectNow() {
    if (retryTimer !== null) { clearTimeout(retryTimer); connect(); }
  }

  function onText(msg) {
    if (msg.type === "welcome") {
      Object.assign(state, { source: msg.source, window: msg.window, display: msg.display, welcomed: true });
      state.connects += 1;
      retries = 0;
      if (state.cameraError) setStatus(`${msg.source}: ${state.cameraError}`, "bad");
      else setStatus(msg.source, "ok");
    } else if (msg.type === "ack") {
      state.awaitingAck = false;
      state.acked += 1;
      if (msg.dropped) { state.dropped += 1; state.inflight.delete(msg.seq); }
    } else if (msg.type === "error") { // a refused frame (too large): the server says why
      setStatus(msg.message, "bad");
    }
    wake();
  }

  let drawn = 0;
  async function onResult(buf) {
    const now = performance.now();
    const head = new DataView(buf);
    const seq = head.getUint32(0), graphUs = head.getUint32(4);
    const sentAt = state.inflight.get(seq);
    if (sentAt !== undefined) push(state.latencies, now - sentAt);
    for (const s of [...state.inflight.keys()]) if (s <= seq) state.inflight.delete(s);
    push(state.graphTimes, graphUs / 1000);
    push(state.resultTimes, now);
    state.results += 1;
    wake();
    const mine = ++drawn;
    const bitmap = await createImageBitmap(new Blob([new Uint8Array(buf, 8)], { type: "image/jpeg" }));
    if (mine === drawn) { // decodes may finish out of order: only the newest is drawn
      if (result.width !== bitmap.width || result.height !== bitmap.height) {
        result.width = bitmap.width;
        result.height = bitmap.height;
      }
      result.getContext("2d").drawImage(bitmap, 0, 0);
      state.shown += 1;
    }
    bitmap.close();
  }

  // -- sending: one frame on the way at a time, and at most `window` without a result --------
  function canSend(now) {
    if (!ws || ws.readyState !== WebSocket.OPEN || !state.welcomed || state.paused || !video.videoWidth) return false;
    if (state.awaitingAck) {
      if (now - state.ackSince > ACK_TIMEOUT_MS) ws.close(4001, "no ack"); // a dead link: start over
      return false;
    }
    // A frame whose result is this late was lost in the graph (dropped, or its phone reconnected).
    const stale = Math.max(1000, 4 * median(state.latencies));
    for (const [s, t] of state.inflight) if (now - t > stale) state.inflight.delete(s);
    return !(state.window > 0 && state.display && state.inflight.size >= state.window);
  }

  async function sendLoop() {
    for (;;) {
      if (!canSend(performance.now())) { await nap(250); continue; }
      await newCameraFrame();
      if (!canSend(performance.now())) continue;
      const w = video.videoWidth, h = video.videoHeight;
      if (grab.width !== w || grab.height !== h) { grab.width = w; grab.height = h; }
      grab.getContext("2d").drawImage(video, 0, 0, w, h);
      framesSent = framesSeen;
      const jpeg = await new Promise((resolve) => grab.toBlob(resolve, "image/jpeg", cfg.quality));
      const now = performance.now();
      if (!jpeg || !canSend(now)) continue;
      state.seq = (state.seq + 1) >>> 0;
      const head = new Uint8Array(4);
      new DataView(head.buffer).setUint32(0, state.seq);
      ws.send(new Blob([head, jpeg]));
      Object.assign(state, { awaitingAck: true, ackSince: now, width: w, height: h });
      state.inflight.set(state.seq, now);
      state.sent += 1;
      push(state.sendTimes, now);
    }
  }

  function showStats() {
    const now = performance.now();
    state.fps = rate(state.resultTimes, now);
    state.sendFps = rate(state.sendTimes, now);
    state.latencyMs = median(state.latencies);
    state.graphMs = median(state.graphTimes);
    if (!state.welcomed) return;
    const parts = [`sent ${state.sendFps.toFixed(1)} fps`];
    if (state.results) {
      parts.push(`shown ${state.fps.toFixed(1)} fps`);
      parts.push(`latency ${state.latencyMs.toFixed(0)} ms (graph ${state.graphMs.toFixed(0)} ms)`);
    } else if (!state.display) {
      parts.push("no way back to this page: the graph has no PhoneDisplay");
    }
    if (state.width) parts.push(`${state.width}×${state.height}`);
    statsEl.textContent = parts.join(" · ");
  }

  // -- controls ------------------------------------------------------------------------------
  const size = `${query.get("width") || cfg.width}x${query.get("height") || cfg.height}`;
  if (![...$("size").options].some((o) => o.value === size)) $("size").add(new Option(size.replace("x", "×"), size));
  $("size").value = size;
  $("facing").value = query.get("facing") || cfg.facing;
  $("size").onchange = startCamera;
  $("facing").onchange = startCamera;
  $("pause").onclick = () => {
    state.paused = !state.paused;
    $("pause").textContent = state.paused ? "resume" : "pause";
    wake();
  };
  // A phone that slept comes back with a dead socket: reconnect at once instead of waiting.
  document.addEventListener("visibilitychange", () => { if (!document.hidden) reconnectNow(); });

  setInterval(showStats, 500);
  startCamera();
  connect();
  sendLoop();
})();
