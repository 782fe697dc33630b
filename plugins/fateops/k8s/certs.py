"""The federation's certificates, generated with ``cryptography`` (no openssl scripts, no Kubernetes).

One CA per federation signs every party's Pulsar broker certificate (``<party>.<domain>``, the SNI
name the exchange tunnels to it) and the exchange's traffic-server certificate; every side trusts
the same ``ca.cert.pem``. KubeFATE's docs do this by hand with openssl; here it is code, so a rerun
can check what exists and keep it.

Pure functions over PEM bytes: :mod:`fateops.k8s.tls_secrets` stores the results as Secrets. Keys
are never logged or put in exception messages.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
LEAF_DAYS = 825  # the longest leaf lifetime clients still accept
RENEW_BEFORE = dt.timedelta(days=30)
KEY_BITS = 2048  # RSA: Pulsar (Java), traffic-server and FATE's Python clients all accept it


@dataclass(frozen=True)
class CertKey:
    """A PEM certificate and its PEM private key (PKCS#8, unencrypted: Pulsar reads it so)."""

    cert_pem: bytes
    key_pem: bytes

    @property
    def cert(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)

    def __repr__(self) -> str:  # never print a key
        return f"CertKey(subject={self.cert.subject.rfc4514_string()!r})"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_ca(common_name: str, *, days: int = CA_DAYS) -> CertKey:
    """A self-signed CA allowed to sign leaf certificates only (path length 0)."""
    key = _key()
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fateops"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = _now()
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertKey(cert.public_bytes(serialization.Encoding.PEM), _pem_key(key))


def issue(ca: CertKey, common_name: str, sans: Iterable[str], *, days: int = LEAF_DAYS) -> CertKey:
    """A server+client leaf certificate for ``sans`` (DNS names or IPs), signed by ``ca``."""
    ca_cert = ca.cert
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    assert isinstance(ca_key, rsa.RSAPrivateKey)
    key = _key()
    now = _now()
    not_after = min(now + dt.timedelta(days=days), ca_cert.not_valid_after_utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fateops"),
                                 x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])]))
        .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(_general_names(sans)), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return CertKey(cert.public_bytes(serialization.Encoding.PEM), _pem_key(key))


def _general_names(sans: Iterable[str]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for san in dict.fromkeys(sans):  # de-duplicated, order kept
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(san)))
        except ValueError:
            out.append(x509.DNSName(san))
    return out


def sans_of(cert: x509.Certificate) -> set[str]:
    """DNS names and IPs of a certificate's subjectAltName."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {*ext.get_values_for_type(x509.DNSName), *(str(ip) for ip in ext.get_values_for_type(x509.IPAddress))}


def problems(pair: CertKey, *, ca: CertKey | None = None, sans: Iterable[str] = (),
             renew_before: dt.timedelta = RENEW_BEFORE) -> list[str]:
    """Why an existing certificate must be replaced (empty: keep it).

    Checks that it parses, that the key belongs to it, that it is not about to expire, that ``ca``
    signed it (when given) and that it covers ``sans``.
    """
    try:
        cert = pair.cert
        key = serialization.load_pem_private_key(pair.key_pem, password=None)
    except (ValueError, TypeError) as err:
        return [f"unreadable PEM ({type(err).__name__})"]
    found: list[str] = []
    if key.public_key().public_numbers() != cert.public_key().public_numbers():  # type: ignore[union-attr]
        found.append("the private key does not match the certificate")
    if cert.not_valid_after_utc - _now() < renew_before:
        found.append(f"expires {cert.not_valid_after_utc:%Y-%m-%d}")
    if ca is not None:
        try:
            cert.verify_directly_issued_by(ca.cert)
        except (ValueError, TypeError, InvalidSignature) as err:
            found.append(f"not signed by the federation CA ({type(err).__name__})")
    missing = set(sans) - sans_of(cert)
    if missing:
        found.append(f"does not cover {', '.join(sorted(missing))}")
    return found


def is_ca(pair: CertKey) -> bool:
    try:
        return bool(pair.cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except (ValueError, x509.ExtensionNotFound):
        return False
