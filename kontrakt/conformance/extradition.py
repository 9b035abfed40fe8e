"""Politi-Utlevering extradition orders (utleveringspålegg) the suite signs at run time.

An order is a compact JWS (PS256, header `typ`, `kid` and the `x5c` chain) of the payload FACTS
§6.1 lists; a bank verifies it against Politiet's key and the chain to the Buypass root. A
provider's TEST environment trusts a TEST signing key instead, which its manifest may name
(`fixtures.extradition_order_key`, `extradition_order_certificates`, `extradition_order_kid`):
then the DSOP rules sign fresh orders, valid or deliberately broken, for every case they test.
Never configure Politiet's production key here.

The claim names and the endpoint flags are the order's format (FACTS §6.1), not rule data.
"""

from __future__ import annotations

import base64
import datetime as dt
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = [
    "ENDPOINT_FLAGS",
    "OrderKey",
    "forged_key",
    "load_order_key",
    "order_claims",
    "self_signed_twin",
    "sign_order",
]

# operationId -> the order's boolean flag for that endpoint (FACTS §6.1 payload).
ENDPOINT_FLAGS: Mapping[str, str] = {
    "listAccounts": "accountList",
    "showAccountById": "accountDetails",
    "listTransactions": "transactions",
    "listCards": "cards",
    "listRoles": "roles",
}


@dataclass(frozen=True)
class OrderKey:
    """The TEST key orders are signed with, its certificate chain (leaf first) and kid."""

    private_key: rsa.RSAPrivateKey
    chain: tuple[x509.Certificate, ...]
    kid: str

    @property
    def leaf(self) -> x509.Certificate:
        return self.chain[0]


def _certificates(paths: Sequence[Path]) -> tuple[x509.Certificate, ...]:
    found: list[x509.Certificate] = []
    for path in paths:
        found.extend(x509.load_pem_x509_certificates(path.read_bytes()))
    if not found:
        raise ValueError("the extradition order certificate files hold no certificate")
    return tuple(found)


def load_order_key(key: Path, certificates: Sequence[Path], kid: str) -> OrderKey:
    """Read a PEM private key (RSA) and the PEM certificates of its chain, leaf first."""
    private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    if not isinstance(private, rsa.RSAPrivateKey):
        raise ValueError(f"{key} is not an RSA private key (PS256 needs one)")
    return OrderKey(private, _certificates(certificates), kid)


def _b64der(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")


def order_claims(
    party_id: str,
    *,
    mandate: str,
    reason: str,
    from_date: dt.date,
    to_date: dt.date,
    only_primary_owner: bool = False,
    flags: Mapping[str, bool] | None = None,
    now: float | None = None,
    valid_days: int = 30,
    **overrides: Any,
) -> dict[str, Any]:
    """A complete order payload (every endpoint flag true unless `flags` says otherwise).

    It was approved a minute before `now` and expires `valid_days` later; `overrides` replace
    claims (e.g. `version="2.0.0"`), a value None removes the claim.
    """
    approved = int(time.time() if now is None else now) - 60
    claims: dict[str, Any] = {
        "extraditionOrderID": str(uuid.uuid4()),
        "version": "1.0.0",
        "partyID": party_id,
        "mandate": mandate,
        "reason": reason,
        "fromDate": from_date.isoformat(),
        "toDate": to_date.isoformat(),
        "onlyPrimaryOwner": only_primary_owner,
        **{flag: True for flag in ENDPOINT_FLAGS.values()},
        "district": {"districtID": "KONTRAKT-TEST", "districtLabel": "Konformanstest (TEST)"},
        "approval": {
            "approvedByID": "KONTRAKT-0001",
            "approvedByName": "Kontrakt Konformanstest",
            "approvedByRole": "Påtalejurist",
            "approvalTimestamp": dt.datetime.fromtimestamp(approved, dt.UTC).isoformat(),
        },
        "caseID": str(uuid.uuid4()),
        "exp": approved + valid_days * 86400,
    }
    claims.update(flags or {})
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def sign_order(
    claims: Mapping[str, Any],
    key: OrderKey,
    *,
    private_key: rsa.RSAPrivateKey | None = None,
    chain: Sequence[x509.Certificate] | None = None,
    kid: str | None = None,
    algorithm: str = "PS256",
    x5c: bool = True,
) -> str:
    """The compact JWS of `claims`; the keyword arguments break it on purpose."""
    headers: dict[str, Any] = {"typ": "JWT", "kid": kid or key.kid}
    if x5c:
        headers["x5c"] = [_b64der(c) for c in (chain if chain is not None else key.chain)]
    return jwt.encode(dict(claims), private_key or key.private_key, algorithm, headers=headers)


@lru_cache(maxsize=1)
def forged_key() -> rsa.RSAPrivateKey:
    """A fresh RSA key no provider trusts (one per process)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def self_signed_twin(cert: x509.Certificate, key: rsa.RSAPrivateKey) -> x509.Certificate:
    """A certificate with `cert`'s subject and validity, self-signed by `key` (a wrong chain)."""
    return (
        x509.CertificateBuilder()
        .subject_name(cert.subject)
        .issuer_name(cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(min(cert.not_valid_before_utc, dt.datetime.now(dt.UTC)))
        .not_valid_after(max(cert.not_valid_after_utc, dt.datetime.now(dt.UTC)))
        .sign(key, hashes.SHA256())
    )
