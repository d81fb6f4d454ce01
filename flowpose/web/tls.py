"""A self-signed TLS certificate for serving pages on the LAN, made once and kept.

Browsers give a page the camera only in a secure context (HTTPS or localhost), so a phone
reaching this machine by its LAN address needs HTTPS. No public CA signs a certificate for
192.168.x.y, hence a self-signed one: the browser warns once, and the SHA-256 fingerprint
printed with the URL lets the user check it is ours before accepting.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import ssl
from dataclasses import dataclass
from pathlib import Path

from flowpose.web.home import write_private

log = logging.getLogger(__name__)

CERT_FILE, KEY_FILE = "phone-cert.pem", "phone-key.pem"
VALID_DAYS = 825  # the longest validity Apple platforms accept for TLS server certificates
RENEW_DAYS = 30  # make a new one this long before the old one expires
ALWAYS = ("localhost", "127.0.0.1")


@dataclass(frozen=True)
class Certificate:
    """A certificate and key on disk.

    Attributes:
        cert_path: PEM certificate.
        key_path: PEM private key (owner-readable only).
        fingerprint: SHA-256 of the DER certificate, as colon-separated upper-case hex.
        names: The DNS names and IP addresses it is valid for (subject alternative names).
    """

    cert_path: Path
    key_path: Path
    fingerprint: str
    names: tuple[str, ...]

    def server_context(self) -> ssl.SSLContext:
        """An SSL context for a server presenting this certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert_path, self.key_path)
        return context


def _describe(cert_path: Path, key_path: Path) -> Certificate:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = [*sans.get_values_for_type(x509.DNSName), *(str(ip) for ip in sans.get_values_for_type(x509.IPAddress))]
    return Certificate(cert_path, key_path, cert.fingerprint(hashes.SHA256()).hex(":").upper(), tuple(names))


def _expires_soon(cert_path: Path) -> bool:
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return cert.not_valid_after_utc - dt.datetime.now(dt.UTC) < dt.timedelta(days=RENEW_DAYS)


def _make(cert_path: Path, key_path: Path, names: list[str]) -> None:
    # cryptography is imported here, not at the top: only serving nodes need it, and
    # `flowpose nodes` or a graph without them should not pay for loading it.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())  # instant, unlike RSA; every browser takes it
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "flowpose (self-signed)")])
    alt: list[x509.GeneralName] = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))  # tolerate a phone whose clock is behind
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_private(key_path, key_pem)
    write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))


def ensure_certificate(folder: Path, hosts: list[str]) -> Certificate:
    """The kept certificate in ``folder`` if it covers ``hosts`` (plus localhost), else a new one.

    A new one is made on first use, when the machine has a LAN address the old one does not
    name (another network: its names are kept too, so moving between two networks settles),
    and a month before expiry. Each new certificate has a new fingerprint, which browsers
    will ask about again.

    Args:
        folder: Where the PEM files live (e.g. :func:`flowpose.web.home.config_dir`).
        hosts: Names and addresses the page will be reached at.
    """
    cert_path, key_path = folder / CERT_FILE, folder / KEY_FILE
    wanted = list(dict.fromkeys([*ALWAYS, *hosts]))
    names: list[str] = wanted
    if cert_path.exists() and key_path.exists():
        try:
            kept = _describe(cert_path, key_path)
        except Exception as exc:  # unreadable or foreign files: replace them, say so
            log.warning("cannot read the kept certificate %s (%s); making a new one", cert_path, exc)
        else:
            missing = [h for h in wanted if h not in kept.names]
            if not missing and not _expires_soon(cert_path):
                return kept
            names = list(dict.fromkeys([*kept.names, *wanted]))
            why = f"it does not cover {', '.join(missing)}" if missing else "it expires soon"
            log.info("making a new certificate: %s", why)
    _make(cert_path, key_path, names)
    made = _describe(cert_path, key_path)
    log.info("new self-signed certificate %s for %s", cert_path, ", ".join(made.names))
    return made
