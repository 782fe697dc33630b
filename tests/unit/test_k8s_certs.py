"""The federation's certificates: what is generated, and every reason an existing one is replaced."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from fateops.k8s import certs


@pytest.fixture(scope="module")
def ca() -> certs.CertKey:
    return certs.make_ca("fateops test federation CA")


def test_the_ca_signs_leaves_only(ca: certs.CertKey) -> None:
    constraints = ca.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca is True and constraints.path_length == 0
    assert certs.is_ca(ca)
    assert certs.problems(ca) == []


def test_a_party_certificate_covers_its_sni_name_and_is_signed_by_the_ca(ca: certs.CertKey) -> None:
    leaf = certs.issue(ca, "30000.fate.org", ["30000.fate.org", "pulsar.fate-30000.svc", "10.0.0.7"])
    leaf.cert.verify_directly_issued_by(ca.cert)
    assert certs.sans_of(leaf.cert) == {"30000.fate.org", "pulsar.fate-30000.svc", "10.0.0.7"}
    assert not certs.is_ca(leaf)
    assert certs.problems(leaf, ca=ca, sans=["30000.fate.org"]) == []
    # Pulsar reads PKCS#8 keys
    assert leaf.key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert serialization.load_pem_private_key(leaf.key_pem, password=None)


def test_repr_never_shows_the_key(ca: certs.CertKey) -> None:
    assert "PRIVATE" not in repr(ca) and "fateops test federation CA" in repr(ca)


def test_a_leaf_never_outlives_its_ca() -> None:
    short_ca = certs.make_ca("short", days=40)
    leaf = certs.issue(short_ca, "x", ["x"], days=825)
    assert leaf.cert.not_valid_after_utc <= short_ca.cert.not_valid_after_utc


@pytest.mark.parametrize(("case", "expected"), [
    ("expiring", "expires"),
    ("other CA", "not signed by the federation CA"),
    ("missing name", "does not cover 40000.fate.org"),
    ("wrong key", "does not match"),
    ("garbage", "unreadable PEM"),
])
def test_every_reason_to_replace_a_certificate_is_named(ca: certs.CertKey, case: str, expected: str) -> None:
    good = certs.issue(ca, "40000.fate.org", ["40000.fate.org"])
    pair, sans = good, ["40000.fate.org"]
    if case == "expiring":
        pair = certs.issue(ca, "40000.fate.org", ["40000.fate.org"], days=10)
    elif case == "other CA":
        pair = certs.issue(certs.make_ca("someone else"), "40000.fate.org", ["40000.fate.org"])
    elif case == "missing name":
        pair = certs.issue(ca, "30000.fate.org", ["30000.fate.org"])
    elif case == "wrong key":
        pair = certs.CertKey(good.cert_pem, certs.issue(ca, "y", ["y"]).key_pem)
    elif case == "garbage":
        pair = certs.CertKey(b"not a cert", b"not a key")
    found = certs.problems(pair, ca=ca, sans=sans)
    assert any(expected in p for p in found), found


def test_renewal_window_is_a_parameter(ca: certs.CertKey) -> None:
    leaf = certs.issue(ca, "x", ["x"], days=10)
    assert certs.problems(leaf, renew_before=dt.timedelta(days=1)) == []
