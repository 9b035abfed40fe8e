"""Politi-Utlevering extradition orders (utleveringspålegg): verifying them, and signing test ones.

An order is a JWS (PS256) carried in AdditionalReferenceID with AdditionalReferenceIDType `pol1`
(FACTS §6.1). The bank checks the signature against Politiet's key named by `kid`, the `x5c`
chain up to the (Buypass) root and the certificate subject, then the content (mandate and its
reason, at most 10 years back, used between approval and `exp`, at most 90 days apart), then the
request against the order. The sandbox trusts TEST-ONLY material instead of Politiet's: one
signing certificate (standing in for the JWKS at politiet.no) and one root (standing in for
Buypass), generated with openssl, under `kontrakt/sandbox/fixtures/keys/politi-*`.

`sign_extradition_order` and `order_claims` make valid (or deliberately broken) orders for tests
and conformance runs; every problem found is an `OrderError`, which the provider answers with
400 ACC-001 (A-DSOP-021), except an endpoint flag that is false (403 ACC-011).
"""

from __future__ import annotations

import base64
import datetime
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from kontrakt.sandbox.clients import load_private_key
from kontrakt.sandbox.dsop_control.data import FIXTURE, Fixture
from kontrakt.sandbox.dsop_control.services import years_before

__all__ = [
    "ENDPOINT_FLAGS",
    "ExtraditionOrder",
    "OrderError",
    "OrderVerifier",
    "order_claims",
    "sign_extradition_order",
]

# operationId -> the order's boolean flag for that endpoint (FACTS §6.1 payload).
ENDPOINT_FLAGS: Mapping[str, str] = {
    "listAccounts": "accountList",
    "showAccountById": "accountDetails",
    "listTransactions": "transactions",
    "listCards": "cards",
    "listRoles": "roles",
}

_REQUIRED = (
    "extraditionOrderID",
    "version",
    "partyID",
    "mandate",
    "reason",
    "fromDate",
    "toDate",
    "onlyPrimaryOwner",
    "accountList",
    "accountDetails",
    "transactions",
    "cards",
    "roles",
    "district",
    "approval",
    "caseID",
    "exp",
)


class OrderError(ValueError):
    """The order is not acceptable; the message says which check failed (never the token)."""


@dataclass(frozen=True)
class ExtraditionOrder:
    """A verified order's content."""

    claims: Mapping[str, Any]
    party_id: str
    mandate: str
    from_date: datetime.date
    to_date: datetime.date
    only_primary_owner: bool

    def allows(self, operation_id: str) -> bool:
        return self.claims.get(ENDPOINT_FLAGS[operation_id]) is True


def _b64der(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")


def _subject(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str | None:
    values = cert.subject.get_attributes_for_oid(oid)
    value = values[0].value if values else None
    return value if isinstance(value, str) else None


def _date(claims: Mapping[str, Any], name: str) -> datetime.date:
    value = claims.get(name)
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        raise OrderError(f"the order's {name} is not an ISO date") from None


def _uuid(claims: Mapping[str, Any], name: str) -> None:
    try:
        uuid.UUID(str(claims.get(name)))
    except ValueError:
        raise OrderError(f"the order's {name} is not a UUID") from None


class OrderVerifier:
    """Checks an order's signature and content (FACTS §6.1); the request match is the caller's."""

    def __init__(
        self,
        *,
        certificates: Mapping[str, x509.Certificate],
        trust_anchor: x509.Certificate,
        organizational_unit: str,
        common_name: str,
        mandates: Sequence[str],
        reasons: Mapping[str, str],
        max_validity_days: int = 90,
        max_years_back: int = 10,
    ) -> None:
        self.certificates = dict(certificates)
        self.trust_anchor = trust_anchor
        self.organizational_unit = organizational_unit
        self.common_name = common_name
        self.mandates = tuple(mandates)
        self.reasons = dict(reasons)
        self.max_validity_days = max_validity_days
        self.max_years_back = max_years_back

    @classmethod
    def from_fixture(cls, fixture: Fixture, mandates: Sequence[str]) -> OrderVerifier:
        config = fixture.extradition_orders
        cert = x509.load_pem_x509_certificate(fixture.key_path(config["certificate"]).read_bytes())
        root = x509.load_pem_x509_certificate(fixture.key_path(config["trust_anchor"]).read_bytes())
        return cls(
            certificates={str(config["kid"]): cert},
            trust_anchor=root,
            organizational_unit=str(config["subject"]["organizational_unit"]),
            common_name=str(config["subject"]["common_name"]),
            mandates=mandates,
            reasons={str(k): str(v) for k, v in config["reasons"].items()},
            max_validity_days=int(config.get("max_validity_days", 90)),
            max_years_back=int(config.get("max_years_back", 10)),
        )

    def verify(
        self, token: str, *, today: datetime.date, now: float | None = None
    ) -> ExtraditionOrder:
        now = time.time() if now is None else now
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise OrderError("the extradition order is not a JWS") from None
        if header.get("alg") != "PS256":
            raise OrderError("the extradition order must be signed with PS256")
        if header.get("typ") not in (None, "JWT"):
            raise OrderError("the extradition order's typ must be JWT")
        kid = header.get("kid")
        known = self.certificates.get(kid) if isinstance(kid, str) else None
        if known is None:
            raise OrderError("the extradition order's kid names no Politiet key")
        self._check_chain(header.get("x5c"), known, now)
        public_key = known.public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise OrderError("the Politiet certificate holds no RSA key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                public_key,
                algorithms=["PS256"],
                options={"require": ["exp"], "verify_aud": False},
                leeway=0,
            )
        except jwt.ExpiredSignatureError:
            raise OrderError("the extradition order has expired") from None
        except jwt.PyJWTError:
            raise OrderError("the extradition order's signature does not verify") from None
        return self._check_content(claims, today=today, now=now)

    def _check_chain(self, x5c: Any, known: x509.Certificate, now: float) -> None:
        if not isinstance(x5c, list) or not x5c or not all(isinstance(c, str) for c in x5c):
            raise OrderError("the extradition order has no x5c certificate chain")
        if x5c[0] != _b64der(known):
            raise OrderError("the x5c leaf is not the certificate published for the kid")
        try:
            chain = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in x5c]
        except ValueError:
            raise OrderError("the x5c chain does not parse") from None
        moment = datetime.datetime.fromtimestamp(now, datetime.UTC)
        for cert in chain:
            if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
                raise OrderError("a certificate of the x5c chain is not valid now")
        # Each certificate is signed by the next; the last one by the trust anchor.
        for child, parent in zip(chain, [*chain[1:], self.trust_anchor], strict=True):
            if child.issuer != parent.subject:
                raise OrderError("the x5c chain does not lead to the trusted root")
            key = parent.public_key()
            if not isinstance(key, rsa.RSAPublicKey) or child.signature_hash_algorithm is None:
                raise OrderError("the x5c chain uses an unsupported key")
            try:
                key.verify(
                    child.signature,
                    child.tbs_certificate_bytes,
                    padding.PKCS1v15(),
                    child.signature_hash_algorithm,
                )
            except InvalidSignature:
                raise OrderError("the x5c chain does not lead to the trusted root") from None
        leaf = chain[0]
        if (
            _subject(leaf, NameOID.ORGANIZATIONAL_UNIT_NAME) != self.organizational_unit
            or _subject(leaf, NameOID.COMMON_NAME) != self.common_name
        ):
            raise OrderError("the signing certificate's subject is not Politiet's order approval")

    def _check_content(
        self, claims: dict[str, Any], *, today: datetime.date, now: float
    ) -> ExtraditionOrder:
        missing = [name for name in _REQUIRED if name not in claims]
        if missing:
            raise OrderError(f"the extradition order lacks {', '.join(missing)}")
        _uuid(claims, "extraditionOrderID")
        _uuid(claims, "caseID")
        if claims["version"] != "1.0.0":
            raise OrderError("the extradition order's version must be 1.0.0")
        mandate = claims["mandate"]
        if mandate not in self.mandates:
            raise OrderError("the extradition order names no §210 (3) mandate")
        if claims["reason"] != self.reasons.get(mandate):
            raise OrderError("the extradition order's reason does not match its mandate")
        for flag in ENDPOINT_FLAGS.values():
            if not isinstance(claims[flag], bool):
                raise OrderError(f"the extradition order's {flag} is not a boolean")
        if claims["accountList"] is not True:
            raise OrderError("the extradition order's accountList must be true")
        if not isinstance(claims["onlyPrimaryOwner"], bool):
            raise OrderError("the extradition order's onlyPrimaryOwner is not a boolean")
        district, approval = claims["district"], claims["approval"]
        if not isinstance(district, dict) or not {"districtID", "districtLabel"} <= set(district):
            raise OrderError("the extradition order's district is incomplete")
        approval_fields = {"approvedByID", "approvedByName", "approvedByRole", "approvalTimestamp"}
        if not isinstance(approval, dict) or not approval_fields <= set(approval):
            raise OrderError("the extradition order's approval is incomplete")
        try:
            approved = datetime.datetime.fromisoformat(str(approval["approvalTimestamp"]))
        except ValueError:
            raise OrderError("the order's approvalTimestamp is not a timestamp") from None
        if approved.tzinfo is None:
            approved = approved.replace(tzinfo=datetime.UTC)
        expires = float(claims["exp"])
        if not approved.timestamp() <= now <= expires:
            raise OrderError("the extradition order is not valid at this time")
        if expires - approved.timestamp() > self.max_validity_days * 86400:
            raise OrderError(
                f"the extradition order may be valid for at most {self.max_validity_days} days"
            )
        from_date, to_date = _date(claims, "fromDate"), _date(claims, "toDate")
        if from_date > to_date:
            raise OrderError("the extradition order's fromDate is after its toDate")
        if from_date < years_before(today, self.max_years_back):
            raise OrderError(
                f"the extradition order reaches more than {self.max_years_back} years back"
            )
        return ExtraditionOrder(
            claims=claims,
            party_id=str(claims["partyID"]),
            mandate=str(mandate),
            from_date=from_date,
            to_date=to_date,
            only_primary_owner=bool(claims["onlyPrimaryOwner"]),
        )


# --- making orders (tests, conformance manifests, curl recipes) --------------------------------


def order_claims(
    party_id: str,
    *,
    mandate: str = "Straffeprosessloven §210 (3) første punktum",
    from_date: datetime.date | str,
    to_date: datetime.date | str,
    only_primary_owner: bool = False,
    flags: Mapping[str, bool] | None = None,
    fixture: Fixture | None = None,
    now: float | None = None,
    valid_days: int = 30,
    **overrides: Any,
) -> dict[str, Any]:
    """A complete, valid order payload (every flag true unless `flags` says otherwise)."""
    fixture = fixture or Fixture.load(FIXTURE)
    reasons = fixture.extradition_orders["reasons"]
    issued = int(time.time() if now is None else now) - 60
    claims: dict[str, Any] = {
        "extraditionOrderID": str(uuid.uuid4()),
        "version": "1.0.0",
        "partyID": party_id,
        "mandate": mandate,
        "reason": reasons.get(mandate, "unknown mandate"),
        "fromDate": str(from_date),
        "toDate": str(to_date),
        "onlyPrimaryOwner": only_primary_owner,
        "accountList": True,
        "accountDetails": True,
        "transactions": True,
        "cards": True,
        "roles": True,
        "district": {"districtID": "SANDBOX-1", "districtLabel": "Sandbox politidistrikt (TEST)"},
        "approval": {
            "approvedByID": "TEST-0001",
            "approvedByName": "Test Påtalejurist",
            "approvedByRole": "Påtalejurist",
            "approvalTimestamp": datetime.datetime.fromtimestamp(issued, datetime.UTC).isoformat(),
        },
        "caseID": str(uuid.uuid4()),
        "exp": issued + valid_days * 86400,
    }
    claims.update(flags or {})
    claims.update(overrides)
    return claims


def sign_extradition_order(
    claims: Mapping[str, Any],
    *,
    fixture: Fixture | None = None,
    private_key: rsa.RSAPrivateKey | None = None,
    certificate: x509.Certificate | None = None,
    kid: str | None = None,
    algorithm: str = "PS256",
) -> str:
    """A compact JWS of `claims` signed with the sandbox's TEST Politiet key (or the given one)."""
    fixture = fixture or Fixture.load(FIXTURE)
    config = fixture.extradition_orders
    key = private_key or load_private_key(Path(fixture.key_path(config["private_key"])))
    cert = certificate or x509.load_pem_x509_certificate(
        fixture.key_path(config["certificate"]).read_bytes()
    )
    headers = {"typ": "JWT", "kid": kid or str(config["kid"]), "x5c": [_b64der(cert)]}
    return jwt.encode(dict(claims), key, algorithm=algorithm, headers=headers)
