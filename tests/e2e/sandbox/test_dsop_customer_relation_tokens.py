"""The Customer Relation Overview sandbox register: what its tokens must prove, and what it publishes.

Complements `test_dsop_customer_relation_sandbox.py` (answers, scopes, errors) on a real server on
127.0.0.1: a token is accepted only when its RS256 signature verifies against the local issuer's
key, its audience is the register's base URL and it has not expired (401 ERR-001 otherwise); the
register serves its description at `<base>/openapi.json` like the other generated apps; and
`activeAccount` stays false for a party whose only accounts at a NICS bank cannot be credited
(disabled accounts of an estate under bankruptcy), even for a period ending today (FACTS §7).
"""

from __future__ import annotations

import datetime
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from kontrakt.sandbox.dsop_control import ServiceCatalogue
from kontrakt.sandbox.launch import Sandbox

REGISTER = "dsop-customer-relation"
KEYS = Path(__file__).resolve().parents[3] / "kontrakt" / "sandbox" / "fixtures" / "keys"
MANDATE = quote(ServiceCatalogue.from_spec()["Skatt-Kontroll"].legal_mandates[0], safe="")
KARI = "12858510048"  # accounts at both NICS banks
ESTATE = "310000132"  # Konkursbo Testselskap AS: primary owner of two disabled accounts at bank 1
BANK_1 = "310000124"
TODAY = datetime.date.today()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.start([REGISTER, "dsop-control"]) as started:
        yield started


def issued(sandbox: Sandbox, scope: str, resource: str) -> str:
    answer = httpx.post(
        sandbox.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": "skatt-kontroll-test",
            "client_secret": "sandbox-skatt-secret",
            "scope": scope,
            "resource": resource,
        },
    )
    answer.raise_for_status()
    token = answer.json()["access_token"]
    assert isinstance(token, str)
    return token


def ask(
    sandbox: Sandbox, token: str, party: str = KARI, **query: str
) -> tuple[int, dict[str, Any]]:
    params = {"fromDate": "2020-01-01", "toDate": TODAY.isoformat(), **query}
    answer = httpx.get(
        sandbox.url(REGISTER) + "/customers/customerRelationships",
        params=params,
        headers={
            "Authorization": f"Bearer {token}",
            "CorrelationID": str(uuid.uuid4()),
            "AccountInfoRequestID": str(uuid.uuid4()),
            "Legal-Mandate": MANDATE,
            "CustomerID": party,
        },
    )
    body = answer.json()
    assert isinstance(body, dict)
    return answer.status_code, body


def resigned(token: str, key: Any, **claims: Any) -> str:
    """`token`'s claims (with `claims` replaced), signed RS256 by `key` under the issuer's kid."""
    payload = {**jwt.decode(token, options={"verify_signature": False}), **claims}
    kid = jwt.get_unverified_header(token).get("kid")
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


def test_issued_token_is_accepted(sandbox: Sandbox) -> None:
    status, body = ask(sandbox, issued(sandbox, "bits:kundeforhold", sandbox.url(REGISTER)))
    assert status == 200
    assert {b["organizationID"] for b in body["banks"]} >= {BANK_1}


def test_token_signed_by_another_key_is_401(sandbox: Sandbox) -> None:
    genuine = issued(sandbox, "bits:kundeforhold", sandbox.url(REGISTER))
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    status, body = ask(sandbox, resigned(genuine, stranger))
    assert (status, body["errorCode"]) == (401, "ERR-001")


def test_expired_token_is_401(sandbox: Sandbox) -> None:
    genuine = issued(sandbox, "bits:kundeforhold", sandbox.url(REGISTER))
    issuer_key = (KEYS / "issuer.pem").read_bytes()
    now = int(time.time())
    # Re-signing with the issuer's own TEST key without changing anything must still pass,
    # so the 401 below is the expiry and nothing else.
    assert ask(sandbox, resigned(genuine, issuer_key))[0] == 200
    expired = resigned(genuine, issuer_key, iat=now - 900, nbf=now - 900, exp=now - 600)
    status, body = ask(sandbox, expired)
    assert (status, body["errorCode"]) == (401, "ERR-001")


def test_token_for_another_provider_is_401(sandbox: Sandbox) -> None:
    elsewhere = issued(sandbox, "bits:kundeforhold", sandbox.url("dsop-control"))
    status, body = ask(sandbox, elsewhere)
    assert (status, body["errorCode"]) == (401, "ERR-001")


def test_description_is_served(sandbox: Sandbox) -> None:
    answer = httpx.get(sandbox.url(REGISTER) + "/openapi.json")
    assert answer.status_code == 200
    document = answer.json()
    assert document["info"]["version"] == "2.0.0"
    assert "/customers/customerRelationships" in document["paths"]


def test_no_active_account_when_no_account_can_be_credited(sandbox: Sandbox) -> None:
    token = issued(sandbox, "bits:kundeforhold", sandbox.url(REGISTER))
    status, body = ask(sandbox, token, ESTATE, onlyPrimaryOwner="true")
    assert status == 200
    # Listed (a primary owner today at a NICS bank, period ending today), yet not active.
    assert [
        (b["organizationID"], b["activeAccount"], b["ownershipType"]) for b in body["banks"]
    ] == [(BANK_1, False, "primaryOwner")]
    # Kari, in the same period at the same bank, has creditable accounts: active.
    status, body = ask(sandbox, token)
    assert status == 200
    assert {b["organizationID"]: b["activeAccount"] for b in body["banks"]}[BANK_1] is True
