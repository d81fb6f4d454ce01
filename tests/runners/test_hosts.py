"""Graphs over several hosts: checks, two `flowpose run --host` parts on loopback, CurveZMQ."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flowpose.bench.tcp_chain import free_port_range
from flowpose.graph.problems import GraphError
from flowpose.graph.validate import validate_text
from flowpose.hosts.plan import check_host_name, cross_links
from process_support import read_records, run

# A mixed graph: threads and processes on both hosts, links between hosts in both directions,
# a join fed from both hosts. {a}/{b}: host and runner extras per node.
MIXED = """\
{hosts}nodes:
  - {{name: camera, type: TestPattern, outputs: [frames], params: {{count: 30, fps: 0, live: false, width: 320,
     height: 240}}{a}}}
  - {{name: tag, type: 'testnodes:Tag', inputs: [frames], outputs: [tagged], params: {{key: a, value: 7}}{b_process}}}
  - {{name: person, type: 'process_support:AddPerson', inputs: [tagged], outputs: [people]{b}}}
  - {{name: drop, type: 'testnodes:DropEvery', inputs: [frames], outputs: [kept], params: {{n: 4}}{a_process}}}
  - {{name: join, type: 'testnodes:Join', inputs: [people, kept], outputs: [joined]{b}}}
  - {{name: sink, type: 'process_support:Record', inputs: [joined], params: {{path: '{out}'}}{a}}}
"""


def _mixed(out: Path, hosts: str = "") -> str:
    if not hosts:
        return MIXED.format(hosts="", out=out, a="", b="", a_process="", b_process="")
    return MIXED.format(
        hosts=hosts,
        out=out,
        a=", host: a",
        b=", host: b",
        a_process=", host: a, runner: process",
        b_process=", host: b, runner: process",
    )


def _hosts(curve: str = "", address: tuple[str, str] = ("127.0.0.1", "127.0.0.1")) -> str:
    base = free_port_range(8)
    a, b = (f"{{address: {address[i]}, port: {base + 4 * i}}}" for i in (0, 1))
    return f"hosts:\n  a: {a}\n  b: {b}\n{curve}"


def _start(graph: Path, host: str, env: dict[str, str], log: Path, cwd: Path | None = None) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "flowpose.cli.main", "run", str(graph), "--host", host]
    return subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=log.open("wb"))


# -- checks (no process started) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "line", "field", "message"),
    [
        ("  b: {port: 7001}\n", 6, "host", "unknown host 'c' (hosts: a, b)"),
        ("  b: {port: 7001}\n", 7, "host", "unknown host 'c'"),
        ("  b: {port: 7000}\n", 3, "hosts.b.port", "both bind 127.0.0.1"),
        ("  b: {port: 7002, public_key: b.key, secret_key: b.key_secret}\n", 2, "hosts.a", "lacks public_key"),
    ],
    ids=["unknown-host", "unknown-host-2", "ports-clash", "keys-half-given"],
)
def test_host_problems_are_reported_with_file_and_line(extra: str, line: int, field: str, message: str) -> None:
    text = f"""\
hosts:
  a: {{port: 7000}}
{extra}nodes:
  - {{name: cam, type: TestPattern, outputs: [f], params: {{count: 1, live: false}}, host: a}}
  - {{name: relay, type: PassThrough, inputs: [f], outputs: [g], host: {"c" if "unknown" in message else "b"}}}
  - {{name: sink, type: NullSink, inputs: [g], host: {"c" if line == 7 else "a"}}}
"""
    with pytest.raises(GraphError) as err:
        validate_text(text, "h.yaml")
    found = [p for p in err.value.problems if p.line == line and p.field == field]
    assert found and message in found[0].message, err.value.report()


def test_links_between_hosts_get_one_port_each_after_the_rendezvous() -> None:
    graph = validate_text(_mixed(Path("x"), "hosts:\n  a: {port: 7000}\n  b: {port: 7100}\n"), "m.yaml")
    links = {(c.buffer, c.reader): (c.writer_host, c.bind) for c in cross_links(graph.spec, graph.writers)}
    assert links == {
        ("frames", "tag"): ("a", "tcp://127.0.0.1:7001"),
        ("kept", "join"): ("a", "tcp://127.0.0.1:7002"),
        ("joined", "sink"): ("b", "tcp://127.0.0.1:7101"),
    }


def test_host_names_are_checked_before_running() -> None:
    graph = validate_text(_mixed(Path("x"), "hosts:\n  a: {port: 7000}\n  b: {port: 7100}\n  c: {port: 7200}\n"))
    for host, message in [(None, "start each part with --host"), ("d", "unknown host 'd'"), ("c", "runs no node")]:
        with pytest.raises(GraphError, match=message):
            check_host_name(graph.spec, graph.file, host)
    check_host_name(graph.spec, graph.file, "a")


def test_missing_or_open_key_files_stop_a_part_before_it_starts(tmp_path: Path) -> None:
    from flowpose.engine.runtime import GraphRunner

    graph_file = tmp_path / "g.yaml"
    graph_file.write_text(
        _mixed(tmp_path / "x.jsonl", "hosts:\n  a: {port: 7000}\n  b: {port: 7100}\ncurve: {keys: k}\n")
    )
    graph = validate_text(graph_file.read_text(), str(graph_file))
    with pytest.raises(GraphError) as err:
        GraphRunner(graph, host="a")
    problems = {p.field: (p.line, p.message) for p in err.value.problems}
    assert set(problems) == {"hosts.a.secret_key", "hosts.b.public_key"}
    assert problems["hosts.a.secret_key"][0] == 4 and "k/a.key_secret not found" in problems["hosts.a.secret_key"][1]
    _keys(tmp_path / "k", "a", "b")
    (tmp_path / "k" / "a.key_secret").chmod(0o644)
    with pytest.raises(GraphError, match="can be read by others; run `chmod 600"):
        GraphRunner(graph, host="a")


# -- two parts on loopback -------------------------------------------------------------------------


def _two_hosts(tmp_path: Path, env: dict[str, str], graph: Path, cwd_b: Path | None = None) -> list[int]:
    procs = [_start(graph, "a", env, tmp_path / "a.log"), _start(graph, "b", env, tmp_path / "b.log", cwd_b)]
    try:
        return [p.wait(timeout=90) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()


def test_a_mixed_graph_on_two_hosts_gives_the_results_of_threads(tmp_path: Path, subprocess_env) -> None:
    run(_mixed(tmp_path / "threads.jsonl"))
    graph = tmp_path / "g.yaml"
    graph.write_text(_mixed(tmp_path / "hosts.jsonl", _hosts()))
    assert _two_hosts(tmp_path, subprocess_env, graph) == [0, 0], (tmp_path / "a.log").read_text()
    for part in ("a", "b"):  # plain links: each part warns, once
        assert (tmp_path / f"{part}.log").read_text().count("spans hosts without CurveZMQ") == 1
    expected = read_records(tmp_path / "threads.jsonl")
    assert [r["id"] for r in expected] == [i for i in range(30) if i % 4]
    assert read_records(tmp_path / "hosts.jsonl") == expected


def _keys(folder: Path, *names: str) -> None:
    from flowpose.hosts.keys import create_key_pair

    for name in names:
        create_key_pair(folder, name)


def test_curve_keys_secure_the_links_and_the_results_stay_the_same(tmp_path: Path, subprocess_env) -> None:
    _keys(tmp_path / "keys", "a", "b")
    assert oct((tmp_path / "keys" / "a.key_secret").stat().st_mode & 0o777) == "0o600"
    graph = tmp_path / "g.yaml"
    graph.write_text(_mixed(tmp_path / "hosts.jsonl", _hosts(curve="curve: {keys: keys}\n")))
    assert _two_hosts(tmp_path, subprocess_env, graph) == [0, 0], (tmp_path / "b.log").read_text()
    assert [r["id"] for r in read_records(tmp_path / "hosts.jsonl")] == [i for i in range(30) if i % 4]
    assert "without CurveZMQ" not in (tmp_path / "a.log").read_text()


def test_a_peer_with_a_wrong_key_is_refused_and_logged(tmp_path: Path, subprocess_env) -> None:
    text = _mixed(tmp_path / "hosts.jsonl", _hosts(curve="curve: {keys: keys}\n"))
    _keys(tmp_path / "keys", "a", "b")
    impostor = tmp_path / "impostor"  # the same graph file, but b's key pair is not the one a knows
    _keys(impostor / "keys", "b")
    (impostor / "keys" / "a.key").write_bytes((tmp_path / "keys" / "a.key").read_bytes())
    for folder in (tmp_path, impostor):
        (folder / "g.yaml").write_text(text)
    procs = [
        _start(tmp_path / "g.yaml", "a", subprocess_env, tmp_path / "a.log"),
        _start(impostor / "g.yaml", "b", subprocess_env, tmp_path / "b.log"),
    ]
    try:
        log = tmp_path / "a.log"
        _wait_for_text(log, "refused a link peer", procs)  # a refuses b's key...
        _wait_for_text(tmp_path / "b.log", "cannot meet host 'a'", procs)  # ...and b hears it
        for p in procs:
            p.send_signal(signal.SIGTERM)
        assert [p.wait(timeout=10) for p in procs] == [143, 143]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert "not a host of this graph" in log.read_text()
    assert not (tmp_path / "hosts.jsonl").exists()  # nothing ran: a never met b


def test_a_refused_host_meets_its_peer_once_the_peer_restarts_with_the_right_keys(
    tmp_path: Path, subprocess_env
) -> None:
    # libzmq gives up on a connection the peer refused; the rendezvous dials again by itself,
    # so fixing the keys on one host is enough: b keeps running throughout.
    text = _mixed(tmp_path / "hosts.jsonl", _hosts(curve="curve: {keys: keys}\n"))
    _keys(tmp_path / "keys", "a", "b")
    stale = tmp_path / "stale"  # a's first start: an old b.key, not the one b holds
    _keys(stale / "keys", "b")
    for name in ("a.key", "a.key_secret"):
        (stale / "keys" / name).write_bytes((tmp_path / "keys" / name).read_bytes())
    (stale / "keys" / "a.key_secret").chmod(0o600)
    for folder in (tmp_path, stale):
        (folder / "g.yaml").write_text(text)
    b = _start(tmp_path / "g.yaml", "b", subprocess_env, tmp_path / "b.log")
    a = _start(stale / "g.yaml", "a", subprocess_env, tmp_path / "a_stale.log")
    procs = [b, a]
    try:
        _wait_for_text(tmp_path / "b.log", "cannot meet host 'a'", procs)
        a.send_signal(signal.SIGTERM)
        assert a.wait(timeout=10) == 143
        procs = [b, _start(tmp_path / "g.yaml", "a", subprocess_env, tmp_path / "a.log")]
        assert [p.wait(timeout=90) for p in procs] == [0, 0], (tmp_path / "b.log").read_text()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [r["id"] for r in read_records(tmp_path / "hosts.jsonl")] == [i for i in range(30) if i % 4]


def _wait_for_text(log: Path, text: str, procs: list[subprocess.Popen[bytes]], seconds: float = 60) -> None:
    import time

    deadline = time.monotonic() + seconds
    while text not in log.read_text(errors="replace"):
        assert all(p.poll() is None for p in procs), log.read_text()
        assert time.monotonic() < deadline, f"{text!r} not logged in {seconds} s:\n{log.read_text()}"
        time.sleep(0.1)


# -- two network namespaces ---------------------------------------------------------------------

NETNS = """\
set -e
ip link set lo up
unshare -n sleep 120 &
B=$!
sleep 0.3
ip link add fpa type veth peer name fpb netns $B
ip addr add 10.77.0.1/24 dev fpa
ip link set fpa up
nsenter -t $B -n --preserve-credentials sh -c 'ip link set lo up; ip addr add 10.77.0.2/24 dev fpb; ip link set fpb up'
"$PY" -m flowpose.cli.main run "$GRAPH" --host a 2> "$LOGS/a.log" &
A=$!
nsenter -t $B -n --preserve-credentials "$PY" -m flowpose.cli.main run "$GRAPH" --host b 2> "$LOGS/b.log"
wait $A
kill $B
"""


def _netns_available() -> str:
    try:
        probe = subprocess.run(
            ["unshare", "-rn", "ip", "link", "add", "fpx", "type", "veth", "peer", "name", "fpy"], capture_output=True
        )
    except FileNotFoundError:
        return "unshare or ip is not installed"
    return "" if probe.returncode == 0 else f"cannot create network namespaces here: {probe.stderr.decode().strip()}"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="network namespaces are Linux only")
def test_two_hosts_in_two_network_namespaces(tmp_path: Path, subprocess_env) -> None:
    why = _netns_available()
    if why:
        pytest.skip(why)
    run(_mixed(tmp_path / "threads.jsonl"))
    graph = tmp_path / "g.yaml"
    graph.write_text(_mixed(tmp_path / "hosts.jsonl", _hosts(address=("10.77.0.1", "10.77.0.2"))))
    env = {**subprocess_env, "PY": sys.executable, "GRAPH": str(graph), "LOGS": str(tmp_path)}
    done = subprocess.run(
        ["unshare", "-rn", "--fork", "--kill-child", "sh", "-c", textwrap.dedent(NETNS)],
        env=env,
        capture_output=True,
        timeout=120,
    )
    logs = "\n".join((tmp_path / f"{h}.log").read_text() for h in "ab" if (tmp_path / f"{h}.log").exists())
    assert done.returncode == 0, done.stderr.decode() + logs
    assert read_records(tmp_path / "hosts.jsonl") == read_records(tmp_path / "threads.jsonl")
