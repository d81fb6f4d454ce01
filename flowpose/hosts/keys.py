"""CurveZMQ key files: making a host's key pair, and loading the keys a host part needs.

The files are the ``zmq.auth`` certificate format (``NAME.key`` holds the public key,
``NAME.key_secret`` both), so ``zmq.auth.load_certificate`` and other ZeroMQ tools read them
too. The secret file is created with mode 0600, never overwritten unless asked, and a secret
file that others may read is refused at run time with the command that fixes it.
"""

from __future__ import annotations

import datetime
import logging
import os
import stat
from pathlib import Path

import zmq
from zmq.auth import load_certificate

from flowpose.graph.problems import GraphError, Problem
from flowpose.graph.validate import ValidGraph
from flowpose.hosts.plan import curve_enabled, key_files, problem_at
from flowpose.hosts.security import Curve

log = logging.getLogger(__name__)

_HEADER = "#   ****  Generated on {now} by flowpose keys  ****\n#   ZeroMQ CURVE {kind} Certificate\n{note}\n"
_PUBLIC_NOTE = "#   Copy it to every host of the graph.\n"
_SECRET_NOTE = "#   Keep it on its own host only; never share it.\n"


def _write(path: Path, text: str, mode: int, force: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    fd = os.open(path, flags, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)  # O_CREAT's mode is masked by the umask, and an existing file keeps its own


def create_key_pair(folder: str | Path, name: str, force: bool = False) -> tuple[Path, Path]:
    """Write ``folder/name.key`` (public, 0644) and ``folder/name.key_secret`` (0600).

    Raises:
        FileExistsError: when either file exists and ``force`` is False.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    public_path, secret_path = folder / f"{name}.key", folder / f"{name}.key_secret"
    if not force:
        for path in (public_path, secret_path):
            if path.exists():
                raise FileExistsError(f"{path} exists; pass --force to replace it (peers then need the new .key)")
    public, secret = (k.decode() for k in zmq.curve_keypair())
    now = datetime.datetime.now().isoformat(timespec="seconds")
    body = f'metadata\n    host = "{name}"\ncurve\n    public-key = "{public}"\n'
    _write(public_path, _HEADER.format(now=now, kind="Public", note=_PUBLIC_NOTE) + body, 0o644, force)
    secret_text = _HEADER.format(now=now, kind="Secret", note=_SECRET_NOTE) + body + f'    secret-key = "{secret}"\n'
    _write(secret_path, secret_text, 0o600, force)
    return public_path, secret_path


def _load(path: str, secret: bool) -> tuple[bytes, bytes | None]:
    """The keys of a certificate file; raises ValueError in words a user can act on."""
    if not os.path.isfile(path):
        raise ValueError(f"key file {path} not found (make one with `flowpose keys`)")
    if secret and os.stat(path).st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ValueError(f"secret key file {path} can be read by others; run `chmod 600 {path}`")
    try:
        public_key, secret_key = load_certificate(path)
    except (OSError, ValueError) as exc:
        raise ValueError(f"key file {path}: {exc}") from None
    if len(public_key) != 40 or (secret and (secret_key is None or len(secret_key) != 40)):
        what = "a secret key" if secret and secret_key is None else "40-character Z85 keys"
        raise ValueError(f"key file {path} does not hold {what}")
    return public_key, secret_key


def load_curve(graph: ValidGraph, host: str) -> Curve | None:
    """The CurveZMQ keys host ``host`` needs: its own pair and every other host's public key.

    Returns:
        None when the graph does not use CurveZMQ.

    Raises:
        GraphError: for every key file that is missing, unreadable, malformed or too open.
    """
    spec = graph.spec
    if not curve_enabled(spec):
        if len(spec.hosts) > 1:
            # Plain links accept any client that reaches their ports, silently; say so once.
            log.warning(
                "graph %r spans hosts without CurveZMQ: any program that reaches a link's or the "
                "rendezvous's port can read or inject frames; set `curve: {keys: FOLDER}` "
                "(flowpose keys %s -o FOLDER) to authenticate and encrypt them",
                spec.name,
                " ".join(spec.hosts),
            )
        return None
    problems: list[Problem] = []
    source = getattr(graph, "source", None)
    peers: dict[bytes, str] = {}
    own: tuple[bytes, bytes | None] | None = None
    for name in spec.hosts:
        public_path, secret_path = key_files(spec, graph.file, name)
        mine = name == host
        key = "secret_key" if mine else "public_key"
        path = ("hosts", name, key) if getattr(spec.hosts[name], key) else ("curve", "keys")
        try:
            keys = _load(secret_path if mine else public_path, secret=mine)
        except ValueError as exc:
            problems.append(problem_at(source, graph.file, path, f"hosts.{name}.{key}", str(exc)))
            continue
        if mine:
            own = keys
        else:
            peers[keys[0]] = name
    if problems:
        raise GraphError(problems)
    assert own is not None and own[1] is not None
    return Curve(host, own[0], own[1], peers)
