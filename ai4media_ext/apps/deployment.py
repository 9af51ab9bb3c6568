"""Credentials for running the secure-FL Flower App on Flower's Deployment Engine.

Flower 1.42's Deployment Engine runs the App with long-lived ``flower-superlink`` and
``flower-supernode`` processes (on one machine or many) and ``flwr run`` submitting it. Two sets
of credentials are needed, both made here with the ``cryptography`` package (no hand-written
cryptography):

* TLS: a CA certificate and a SuperLink certificate signed by it, with the SuperLink's host
  names / IP addresses as subject alternative names (``flower-superlink --ssl-ca-certfile
  --ssl-certfile --ssl-keyfile``; SuperNodes and ``flwr`` trust the CA via
  ``--root-certificates`` / ``root-certificates``);
* SuperNode authentication (``flower-superlink --enable-supernode-auth``): one NIST P-384 key
  pair per SuperNode, the public key registered by the federation owner with ``flwr supernode
  register PUBLIC_KEY CONNECTION`` and the private key given to that SuperNode only
  (``flower-supernode --auth-supernode-private-key``); an unregistered SuperNode is refused.

Private keys are written with mode 0600, atomically (``ai4media_ext._io``).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Sequence
from pathlib import Path

from .._compat import require

require("cryptography", "fl")

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

from .._io import write_bytes_atomic  # noqa: E402

__all__ = ["write_supernode_keys", "write_tls_certificates"]


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _alt_names(hosts: Sequence[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_tls_certificates(
    directory: str | os.PathLike[str],
    hosts: Sequence[str] = ("127.0.0.1", "localhost"),
    days: int = 30,
) -> dict[str, Path]:
    """Write a CA and a SuperLink server certificate signed by it (ECDSA P-384, SHA-384).

    Parameters
    ----------
    directory : str or PathLike
        Where ``ca.crt``, ``server.pem`` and ``server.key`` (mode 0600) are written.
    hosts : sequence of str
        The SuperLink's addresses as clients reach it (IP addresses or DNS names): the server
        certificate's subject alternative names. Default: loopback only.
    days : int
        Validity, from one minute ago.

    Returns
    -------
    dict
        ``{"ca": ca.crt, "cert": server.pem, "key": server.key}`` paths.

    Raises
    ------
    ValueError
        ``hosts`` empty or ``days < 1``.
    """
    if not hosts:
        raise ValueError("hosts must name at least one address of the SuperLink")
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    out = Path(directory)
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1)
    until = now + datetime.timedelta(days=days)
    ca_key = ec.generate_private_key(ec.SECP384R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("ai4media-ext Flower CA"))
        .issuer_name(_name("ai4media-ext Flower CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA384())
    )
    key = ec.generate_private_key(ec.SECP384R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(str(hosts[0])))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.SubjectAlternativeName(_alt_names(hosts)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA384())
    )
    paths = {"ca": out / "ca.crt", "cert": out / "server.pem", "key": out / "server.key"}
    write_bytes_atomic(paths["ca"], ca_cert.public_bytes(serialization.Encoding.PEM))
    write_bytes_atomic(paths["cert"], cert.public_bytes(serialization.Encoding.PEM))
    write_bytes_atomic(paths["key"], _private_pem(key), mode=0o600)
    return paths


def write_supernode_keys(directory: str | os.PathLike[str], name: str) -> dict[str, Path]:
    """Write one SuperNode's authentication key pair (NIST P-384, OpenSSH format).

    Parameters
    ----------
    directory : str or PathLike
        Where ``<name>`` (private key, mode 0600) and ``<name>.pub`` are written.
    name : str
        File name stem, e.g. ``"supernode-0"`` (no path separators).

    Returns
    -------
    dict
        ``{"private": path, "public": path}``: the private key for ``flower-supernode
        --auth-supernode-private-key``, the public key for ``flwr supernode register``.

    Raises
    ------
    ValueError
        ``name`` empty or containing a path separator.
    """
    if not name or Path(name).name != name or name in (".", ".."):
        raise ValueError(f"name must be a plain file name, got {name!r}")
    key = ec.generate_private_key(ec.SECP384R1())
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    out = Path(directory)
    paths = {"private": out / name, "public": out / f"{name}.pub"}
    write_bytes_atomic(paths["private"], private, mode=0o600)
    write_bytes_atomic(paths["public"], public + b"\n")
    return paths
