"""The machine's addresses on the local network, found without any traffic leaving it."""

from __future__ import annotations

import ipaddress
import socket

# Connecting a UDP socket sends nothing; it only asks the kernel which local address would
# route to the target. Private ranges and a public one cover home, office and phone-hotspot
# networks, with or without a default route to the internet.
ROUTE_PROBES = ("192.168.255.254", "10.255.255.254", "172.31.255.254", "198.51.100.1")
ANY_ADDRESS = ("", "0.0.0.0", "::")  # bound to every interface
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")  # reachable from this machine only


def _route_address(target: str) -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect((target, 9))
            return str(sock.getsockname()[0])
        except OSError:
            return None


def _usable(addr: str) -> bool:
    ip = ipaddress.ip_address(addr)
    return not (ip.is_loopback or ip.is_unspecified or ip.is_multicast or ip.is_link_local)


def lan_addresses() -> list[str]:
    """IPv4 addresses other devices on the LAN can reach this machine at, best first.

    Returns:
        Addresses from the routing table first, then those the host name resolves to; empty
        when the machine has no network but loopback.
    """
    found: list[str] = []
    for target in ROUTE_PROBES:
        addr = _route_address(target)
        if addr and _usable(addr) and addr not in found:
            found.append(addr)
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        infos = []
    for info in infos:
        addr = str(info[4][0])
        if _usable(addr) and addr not in found:
            found.append(addr)
    return found


def url_host(host: str) -> str:
    """``host`` as it goes into a URL (IPv6 literals in brackets)."""
    try:
        return f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    except ValueError:
        return host  # a name


def view_url(host: str, port: int) -> tuple[str, bool]:
    """The ``http://`` URL to show for a viewer bound to ``host``:``port``, and whether the LAN reaches it.

    Bound to every interface, the URL names the machine's first LAN address, so a phone can open
    it (or scan it as a QR code); bound to one address, it names that one.

    Returns:
        The URL (ending in ``/``) and True when other devices can reach it (a QR code is worth showing).
    """
    lan = lan_addresses()
    shown = lan[0] if host in ANY_ADDRESS and lan else host
    return f"http://{url_host(shown)}:{port}/", shown not in LOCAL_HOSTS
