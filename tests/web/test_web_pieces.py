"""The pieces under the web nodes: config folder, token, certificate, LAN addresses, terminal QR."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import socket
import ssl
import stat
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from flowpose.web import home, lan, qr, tls


def test_config_dir_follows_flowpose_home_then_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(home.HOME_ENV, str(tmp_path / "fh"))
    assert home.config_dir() == tmp_path / "fh"
    monkeypatch.delenv(home.HOME_ENV)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert home.config_dir() == tmp_path / "xdg" / "flowpose"


def test_token_is_made_once_kept_private_and_checked(tmp_path: Path) -> None:
    token = home.load_token(tmp_path)
    assert home.TOKEN_PATTERN.match(token) and len(token) >= 24
    assert home.load_token(tmp_path) == token  # kept: bookmarks keep working
    assert stat.S_IMODE((tmp_path / home.TOKEN_FILE).stat().st_mode) == 0o600
    assert home.token_matches(token, token)
    assert not home.token_matches(token[:-1] + ("A" if token[-1] != "A" else "B"), token)
    assert not home.token_matches(None, token) and not home.token_matches("", token)
    (tmp_path / home.TOKEN_FILE).write_text("short\n")
    with pytest.raises(ValueError, match="not hold a valid token"):
        home.load_token(tmp_path)


def _der_fingerprint(pem: str) -> str:
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()


def test_certificate_is_made_once_and_names_the_lan_addresses(tmp_path: Path) -> None:
    cert = tls.ensure_certificate(tmp_path, ["192.168.7.20"])
    assert set(cert.names) == {"localhost", "127.0.0.1", "192.168.7.20"}
    assert cert.fingerprint.replace(":", "") == _der_fingerprint(cert.cert_path.read_text())
    assert stat.S_IMODE(cert.key_path.stat().st_mode) == 0o600
    again = tls.ensure_certificate(tmp_path, ["192.168.7.20"])
    assert again.fingerprint == cert.fingerprint  # kept, not remade
    moved = tls.ensure_certificate(tmp_path, ["10.1.2.3"])  # another network
    assert moved.fingerprint != cert.fingerprint
    assert {"192.168.7.20", "10.1.2.3"} <= set(moved.names)  # both networks covered from now on
    assert tls.ensure_certificate(tmp_path, ["192.168.7.20"]).fingerprint == moved.fingerprint


def test_unreadable_certificate_is_replaced(tmp_path: Path) -> None:
    (tmp_path / tls.CERT_FILE).write_text("not a certificate")
    (tmp_path / tls.KEY_FILE).write_text("nor a key")
    cert = tls.ensure_certificate(tmp_path, [])
    assert "127.0.0.1" in cert.names


def test_tls_server_presents_the_fingerprinted_certificate(tmp_path: Path) -> None:
    cert = tls.ensure_certificate(tmp_path, [])
    server_ctx = cert.server_context()
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve_one() -> None:
        conn, _ = listener.accept()
        with server_ctx.wrap_socket(conn, server_side=True) as tls_conn:
            tls_conn.recv(1)

    thread = threading.Thread(target=serve_one, daemon=True)
    thread.start()
    client_ctx = ssl.create_default_context(cafile=str(cert.cert_path))  # trust exactly this one
    with (
        socket.create_connection(("127.0.0.1", port)) as raw,
        client_ctx.wrap_socket(raw, server_hostname="localhost") as conn,
    ):
        der = conn.getpeercert(binary_form=True)
        conn.send(b"x")
    thread.join(5)
    listener.close()
    assert hashlib.sha256(der).hexdigest().upper() == cert.fingerprint.replace(":", "")


def test_lan_addresses_are_reachable_ipv4_addresses() -> None:
    found = lan.lan_addresses()
    for addr in found:
        ip = ipaddress.ip_address(addr)
        assert ip.version == 4 and not ip.is_loopback and not ip.is_link_local
    assert len(found) == len(set(found))


def test_url_host_brackets_ipv6() -> None:
    assert lan.url_host("::1") == "[::1]"
    assert lan.url_host("192.168.1.2") == "192.168.1.2"
    assert lan.url_host("my-laptop.local") == "my-laptop.local"


def _text_to_image(text: str, ink_is_dark: bool) -> np.ndarray:
    """Rebuild the module grid from half-block text, 8 pixels per module, as a scanner would see it."""
    top = {" ": False, "\u2580": True, "\u2584": False, "\u2588": True}
    bottom = {" ": False, "\u2580": False, "\u2584": True, "\u2588": True}
    rows = []
    for line in text.replace(qr._ANSI_DARK_ON_LIGHT, "").replace(qr._ANSI_RESET, "").splitlines():
        rows.append([top[c] for c in line])
        rows.append([bottom[c] for c in line])
    ink = np.array(rows, dtype=bool)
    dark = ink if ink_is_dark else ~ink
    image = np.where(dark, 0, 255).astype(np.uint8)
    image = np.pad(image, 4, constant_values=255)  # paper around it
    return cv2.resize(image, None, fx=8, fy=8, interpolation=cv2.INTER_NEAREST)


@pytest.mark.parametrize("colour", [False, True])
def test_terminal_qr_code_decodes_to_the_url(colour: bool) -> None:
    url = "https://192.168.1.23:8443/?token=AbCdEfGhIjKlMnOpQrStUvWx"
    text = qr.qr_text(url, colour=colour)
    decoded, _, _ = cv2.QRCodeDetector().detectAndDecode(_text_to_image(text, ink_is_dark=colour))
    assert decoded == url


def test_banner_shows_url_lines_and_code(tmp_path: Path) -> None:
    out = tmp_path / "banner.txt"
    with open(out, "w") as stream:
        qr.print_banner("Title", "https://h:1/?token=t", ["fingerprint AB:CD"], stream=stream)
    text = out.read_text()
    assert "open: https://h:1/?token=t" in text and "fingerprint AB:CD" in text and "\u2588" in text
    assert "\x1b[" not in text  # not a terminal: no colour codes


def test_private_files_are_written_atomically(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "secret"
    home.write_private(path, b"one")
    home.write_private(path, b"two")
    assert path.read_bytes() == b"two" and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["secret"]  # no temp files left
    assert os.access(path, os.R_OK)


def test_view_url_names_the_lan_address_only_when_bound_to_every_interface() -> None:
    assert lan.view_url("127.0.0.1", 8089) == ("http://127.0.0.1:8089/", False)
    assert lan.view_url("::1", 8089) == ("http://[::1]:8089/", False)
    assert lan.view_url("192.168.1.2", 80) == ("http://192.168.1.2:80/", True)
    found = lan.lan_addresses()
    url, reachable = lan.view_url("0.0.0.0", 8089)
    # With no network but loopback there is no LAN address to name: the URL keeps the host as bound.
    assert (url, reachable) == ((f"http://{found[0]}:8089/", True) if found else ("http://0.0.0.0:8089/", True))
