"""Graphs spread over hosts: which node runs where, the links between hosts, checks, keys.

Every host runs ``flowpose run GRAPH --host NAME`` on the same graph file and computes the
same plan from it, so no host needs to be told anything by another: a link from host A to host
B is the (buffer, reader) pair's ``tcp://`` endpoint on A, whose port is A's ``port`` plus one
plus the link's rank among A's outgoing links (``port`` itself is A's rendezvous, see
:mod:`flowpose.hosts.rendezvous`). Links leaving a host bind to its ``address`` (or ``bind``),
which defaults to 127.0.0.1, so nothing listens beyond the machine unless the graph says so.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from flowpose.graph.problems import GraphError, Problem, ProblemCollector
from flowpose.graph.spec import NAME_PATTERN, GraphSpec, NodeSpec, SourceMap
from flowpose.hosts.spec import CurveSpec, HostSpec


@dataclass(frozen=True)
class CrossLink:
    """A (buffer, reader) pair whose writer runs on another host.

    Attributes:
        buffer, writer, reader: As in the graph.
        index: Which input of the reader the buffer is (feedback buffers follow the inputs).
        writer_host, reader_host: Where each end runs.
        bind: The endpoint the sender binds on the writer's host.
        connect: The endpoint the receiver connects to from the reader's host.
    """

    buffer: str
    writer: str
    reader: str
    index: int
    writer_host: str
    reader_host: str
    bind: str
    connect: str


def _tcp(address: str, port: int) -> str:
    return f"tcp://[{address}]:{port}" if ":" in address else f"tcp://{address}:{port}"


def rendezvous_endpoints(host: HostSpec) -> tuple[str, str]:
    """``(bind, connect)`` endpoints of a host's rendezvous socket."""
    return _tcp(host.bind or host.address, host.port), _tcp(host.address, host.port)


def hosts_of(spec: GraphSpec) -> dict[str, str]:
    """Host of every node ("" for all when the graph lists no hosts)."""
    default = spec.defaults.host or next(iter(spec.hosts), "")
    return {n.name: n.host or default for n in spec.nodes}


def _reads(node: NodeSpec) -> list[str]:
    return [*node.inputs, *node.feedback]


def cross_links(spec: GraphSpec, writers: dict[str, str]) -> list[CrossLink]:
    """Every link between two hosts, in graph order, with its endpoints."""
    where = hosts_of(spec)
    rank: Counter[str] = Counter()
    links = []
    for node in spec.nodes:
        for index, buffer in enumerate(_reads(node)):
            writer = writers[buffer]
            src, dst = where[writer], where[node.name]
            if src == dst:
                continue
            rank[src] += 1
            host = spec.hosts[src]
            port = host.port + rank[src]
            bind, connect = _tcp(host.bind or host.address, port), _tcp(host.address, port)
            links.append(CrossLink(buffer, writer, node.name, index, src, dst, bind, connect))
    return links


def graph_digest(spec: GraphSpec) -> str:
    """A fingerprint of the whole graph (params included): hosts must run the same one."""
    return hashlib.sha256(spec.model_dump_json().encode()).hexdigest()[:16]


# -- validation ------------------------------------------------------------------------------


def _unknown(name: str, known: list[str]) -> str:
    if not known:
        return f"unknown host {name!r}: the graph lists no `hosts`"
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else f" (hosts: {', '.join(known)})"
    return f"unknown host {name!r}{hint}"


def check_hosts(
    col: ProblemCollector, nodes: list[tuple[int, NodeSpec]], data: dict[str, Any], writers: dict[str, str]
) -> None:
    """Add every problem with the graph's hosts: names, ports that collide, keys half given."""
    raw = data.get("hosts") or {}
    raw = raw if isinstance(raw, dict) else {}
    hosts: dict[str, HostSpec] = {}
    for name, value in raw.items():
        if not isinstance(name, str) or not re.match(NAME_PATTERN, name):
            col.add(("hosts", name), "", f"hosts.{name}", "a host name is letters, digits, '_' and '-'")
        with contextlib.suppress(ValidationError):  # reported with the rest of the graph-level fields
            hosts[str(name)] = HostSpec.model_validate(value)
    known = [str(name) for name in raw]
    defaults = data.get("defaults")
    default = defaults.get("host") if isinstance(defaults, dict) else None
    if isinstance(default, str) and default not in known:
        col.add(("defaults", "host"), "", "defaults.host", _unknown(default, known))
    for idx, node in nodes:
        if node.host is not None and node.host not in known:
            col.add(("nodes", idx, "host"), node.name, "host", _unknown(node.host, known))
    if not hosts or col.problems or len(hosts) < len(known):
        return
    _check_ports(col, nodes, hosts, default if isinstance(default, str) else None, writers)
    _check_keys(col, hosts, data.get("curve"))


def _check_ports(
    col: ProblemCollector,
    nodes: list[tuple[int, NodeSpec]],
    hosts: dict[str, HostSpec],
    default: str | None,
    writers: dict[str, str],
) -> None:
    where = {n.name: n.host or default or next(iter(hosts)) for _, n in nodes}
    leaving: Counter[str] = Counter()
    for _, node in nodes:
        for buffer in _reads(node):
            if buffer in writers and where[writers[buffer]] != where[node.name]:
                leaving[where[writers[buffer]]] += 1
    by_address: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for name, host in hosts.items():
        last = host.port + leaving[name]
        if last > 65535:
            col.add(("hosts", name, "port"), "", f"hosts.{name}.port", f"needs ports {host.port}-{last}; over 65535")
        by_address[host.bind or host.address].append((name, host.port, last))
    for address, ranges in by_address.items():
        for i, (a, first_a, last_a) in enumerate(ranges):
            for b, first_b, last_b in ranges[i + 1 :]:
                if first_a <= last_b and first_b <= last_a:
                    col.add(
                        ("hosts", b, "port"),
                        "",
                        f"hosts.{b}.port",
                        f"hosts {a!r} (ports {first_a}-{last_a}) and {b!r} (ports {first_b}-{last_b}) both "
                        f"bind {address}: give one of them another `port`",
                    )


def _check_keys(col: ProblemCollector, hosts: dict[str, HostSpec], curve: Any) -> None:
    if curve is not None:
        return  # the keys folder fills in whatever a host does not name
    keyed = [n for n, h in hosts.items() if h.public_key or h.secret_key]
    for name, host in hosts.items():
        if keyed and not (host.public_key and host.secret_key):
            col.add(
                ("hosts", name),
                "",
                f"hosts.{name}",
                f"host {keyed[0]!r} names CurveZMQ key files but {name!r} lacks public_key or secret_key; "
                "give every host both, or set `curve: {keys: FOLDER}`",
            )


# -- keys ------------------------------------------------------------------------------------


def curve_enabled(spec: GraphSpec) -> bool:
    """Whether links between the graph's hosts use CurveZMQ."""
    return spec.curve is not None or any(h.public_key for h in spec.hosts.values())


def key_files(spec: GraphSpec, file: str, name: str) -> tuple[str, str]:
    """``(public, secret)`` key file paths of host ``name``, relative paths resolved against the graph file."""
    host = spec.hosts[name]
    folder = (spec.curve or CurveSpec()).keys
    base = os.path.dirname(os.path.abspath(file)) if os.path.isfile(file) else os.getcwd()
    public = host.public_key or os.path.join(folder, f"{name}.key")
    secret = host.secret_key or os.path.join(folder, f"{name}.key_secret")
    return os.path.join(base, public), os.path.join(base, secret)


def check_host_name(spec: GraphSpec, file: str, host: str | None) -> None:
    """Refuse a ``--host`` the graph does not list, or a graph with hosts started without one.

    Raises:
        GraphError: naming the hosts there are.
    """
    names = ", ".join(spec.hosts)
    if host is None and spec.hosts:
        message = f"this graph runs on hosts {names}: start each part with --host NAME"
    elif host is not None and not spec.hosts:
        message = f"--host {host}: the graph lists no `hosts`"
    elif host is not None and host not in spec.hosts:
        message = _unknown(host, list(spec.hosts))
    elif host is not None and host not in hosts_of(spec).values():
        message = f"host {host!r} runs no node of this graph"
    else:
        return
    raise GraphError([Problem(file, None, "", "--host", message)])


def problem_at(smap: SourceMap | None, file: str, path: tuple[Any, ...], field: str, message: str) -> Problem:
    """A problem at ``path`` of the graph file (its line when the source map is known)."""
    return Problem(file, smap.line(path) if smap is not None else None, "", field, message)
