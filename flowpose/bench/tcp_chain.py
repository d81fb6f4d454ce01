"""The benchmark chain spread over hosts on loopback: every hop crosses a ``tcp://`` link.

The source and the sink run in this process as host ``h0``; hop ``i`` runs as host ``hi`` in a
``flowpose run GRAPH --host hi`` process of its own, so a frame crosses hops + 1 tcp links, the
way it would between machines (images inline, zero-copy frames; no shared memory).
"""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from flowpose.engine.runtime import GraphRunner
from flowpose.graph.validate import load_graph

PORTS_PER_HOST = 2  # its rendezvous and its one outgoing link


def free_port_range(count: int) -> int:
    """The first of ``count`` consecutive TCP ports that are free on 127.0.0.1 now."""
    for _ in range(100):
        base = random.randrange(20000, 60000 - count)
        socks = [socket.socket() for _ in range(count)]
        try:
            for offset, sock in enumerate(socks):
                sock.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError("no range of free ports found")


def hosts_graph(graph: dict[str, Any], hops: int, base_port: int) -> dict[str, Any]:
    """``graph`` (a chain: source, hop1..hopN, sink) with each hop on its own host."""
    nodes = [dict(n) for n in graph["nodes"]]
    for i, node in enumerate(nodes):
        node.pop("runner", None)
        node["host"] = f"h{i}" if 0 < i <= hops else "h0"
    hosts = {f"h{i}": {"port": base_port + PORTS_PER_HOST * i} for i in range(hops + 1)}
    return {**graph, "hosts": hosts, "nodes": nodes}


def run_hosts_chain(graph: dict[str, Any], hops: int) -> None:
    """Run the chain's host ``h0`` here and every hop's host in a process of its own."""
    base_port = free_port_range(PORTS_PER_HOST * (hops + 1))
    with tempfile.TemporaryDirectory(prefix="fpbench") as tmp:
        path = Path(tmp) / "chain.yaml"
        path.write_text(json.dumps(hosts_graph(graph, hops, base_port)), encoding="utf-8")  # JSON is YAML
        command = [sys.executable, "-m", "flowpose.cli.main", "-q", "run", str(path), "--host"]
        logs = [Path(tmp) / f"h{i}.log" for i in range(1, hops + 1)]
        procs = [subprocess.Popen([*command, f"h{i}"], stderr=log.open("wb")) for i, log in enumerate(logs, 1)]
        runner = GraphRunner(load_graph(path), host="h0")

        def watch(proc: subprocess.Popen[bytes]) -> None:
            if proc.wait() != 0:  # a hop's host failed: the chain would wait for it forever
                runner.request_stop(1)

        for proc in procs:
            threading.Thread(target=watch, args=(proc,), daemon=True).start()
        try:
            result = runner.run(handle_signals=False)
            codes = [proc.wait(timeout=60) if result.exit_code == 0 else proc.poll() for proc in procs]
            if result.exit_code != 0 or any(codes):
                errors = "\n".join(log.read_text(errors="replace")[-2000:] for log in logs)
                raise RuntimeError(f"benchmark chain failed: {result.failure}; hosts' exit codes {codes}\n{errors}")
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
