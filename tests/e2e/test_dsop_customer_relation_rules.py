"""First proof of the DSOP Customer Relation Overview v2.0 rules, before the sandbox provider lands.

A small register written in this test from the V.2.0 pages and the 1.1.2 error body (real RS256
tokens from `TinyIssuer`, real uvicorn on 127.0.0.1) passes every automated rule; three broken
twins of it each fail exactly the rule they break. The full variant catalogue (and the proof
table's kills) wraps the sandbox provider once it is committed (issue #18).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from rich.console import Console
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kontrakt.conformance.manifest import Manifest
from kontrakt.conformance.profile import load_profile
from kontrakt.conformance.runner import RunResult, run_profile
from tests.e2e._support import serve
from tests.e2e.independent.tiny_issuer import Client, TinyIssuer

PROFILE = "dsop-customer-relation/v2.0"
QUIET = Console(file=io.StringIO(), force_terminal=False)
SCOPES = frozenset({"bits:kundeforhold", "bits:kundeforhold.konto"})
CUSTOMER = "12858510048"
BANKS = [  # (organizationID, name, primary owner, NICS)
    ("310555010", "EKSEMPELBANKEN ASA", True, True),
    ("311777025", "PRØVESPAREBANKEN", False, True),
    ("312888033", "KFR FINANS AS", True, False),
]
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


BROKEN = {"value": ""}


def _error(status: int, code: str, message: str) -> JSONResponse:
    if BROKEN["value"] == "code-only-errors":
        return JSONResponse({"code": code, "message": message}, status_code=status)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return JSONResponse(
        {"errorCode": code, "errorMessage": message, "timestamp": stamp}, status_code=status
    )


def register(key: rsa.RSAPrivateKey, broken: str = "") -> Starlette:
    public = key.public_key()
    BROKEN["value"] = broken

    def check(request: Request, scope: str) -> Response | None:
        if request.method != "GET" and broken != "post-served":
            return _error(405, "UNDOCUMENTED", "Kun GET.")
        value = request.headers.get("authorization", "")
        if broken != "no-token-check":
            try:
                claims = jwt.decode(
                    value[7:],
                    public,
                    algorithms=["RS256"],
                    audience=None,
                    options={"verify_aud": False},
                )
            except jwt.PyJWTError:
                return _error(401, "ERR-001", "Klienten er ikke autentisert.")
            if broken != "scope-ignored" and scope not in str(claims.get("scope", "")).split():
                return _error(403, "ERR-001", "Klienten er ikke autorisert.")
        if "json" not in request.headers.get("accept", "application/json") and "*/*" not in (
            request.headers.get("accept", "")
        ):
            return _error(406, "UNDOCUMENTED", "Kun application/json.")
        for name in () if broken == "ids-unchecked" else ("CorrelationID", "AccountInfoRequestID"):
            if not UUID.match(request.headers.get(name, "")):
                return _error(400, "UNDOCUMENTED", f"{name} mangler eller er ugyldig.")
        mandate = request.headers.get("Legal-Mandate", "")
        if not mandate:
            return _error(400, "UNDOCUMENTED", "Legal-Mandate mangler.")
        if "Arveloven" not in mandate:
            return _error(403, "ERR-001", "Hjemmelen gjelder ikke denne konsumenten.")
        return None

    async def relationships(request: Request) -> Response:
        refused = check(request, "bits:kundeforhold")
        if refused is not None:
            return refused
        customer = request.headers.get("CustomerID", "")
        if not re.fullmatch(r"[0-9]{9}|[0-9]{11}", customer):
            return _error(400, "ERR-002", "Ugyldig kunde-ID.")
        if broken == "dates-default-today":
            today = dt.date.today().isoformat()
            request.scope["query_string"] = (
                f"fromDate={request.query_params.get('fromDate', today)}"
                f"&toDate={request.query_params.get('toDate', today)}"
                + "".join(
                    f"&{k}={v}"
                    for k, v in request.query_params.items()
                    if k not in ("fromDate", "toDate")
                )
            ).encode()
            request = Request(request.scope)
        try:
            start = dt.date.fromisoformat(request.query_params["fromDate"])
            end = dt.date.fromisoformat(request.query_params["toDate"])
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", request.query_params["toDate"]):
                raise ValueError
        except (KeyError, ValueError):
            return _error(400, "ERR-003", "Ugyldig periode eller datoformat.")
        if start > end and broken != "period-order-unchecked":
            return _error(400, "ERR-003", "Ugyldig periode.")
        opo = request.query_params.get("onlyPrimaryOwner")
        if opo not in (None, "true", "false"):
            return _error(400, "UNDOCUMENTED", "onlyPrimaryOwner er ikke boolsk.")
        if customer == "01010112345":
            return _error(504, "UNDOCUMENTED", "KAR svarte ikke.")
        if broken == "unknown-customer-404" and customer != CUSTOMER:
            return _error(404, "UNDOCUMENTED", "Fant ikke kunden.")
        banks: list[dict[str, Any]] = []
        if customer == CUSTOMER:
            for orgno, name, owner, nics in BANKS:
                if opo == "true" and not owner and broken != "filter-ignored":
                    continue
                active = nics and owner and (end == dt.date.today() or broken == "active-past")
                bank: dict[str, Any] = {
                    "organizationID": orgno,
                    "bankName": name,
                    "activeAccount": active,
                }
                if opo is not None and broken != "no-ownership-type":
                    bank["ownershipType"] = "primaryOwner" if owner else "notPrimaryOwner"
                if broken == "organizationId":
                    bank["organizationId"] = bank.pop("organizationID")
                banks.append(bank)
        return JSONResponse({"banks": banks})

    async def provider(request: Request) -> Response:
        refused = check(request, "bits:kundeforhold.konto")
        if refused is not None:
            return refused
        account = request.headers.get("AccountID", "")
        if not re.fullmatch(r"[0-9]{11}", account) or account != "97100000028":
            return _error(400, "ERR-004", "Ugyldig kontonummer.")
        return JSONResponse({"organizationID": "310555010", "bankName": "EKSEMPELBANKEN ASA"})

    every = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"]
    return Starlette(
        routes=[
            Route("/customers/customerRelationships", relationships, methods=every),
            Route("/customers/accountServicingProvider", provider, methods=every),
        ]
    )


@pytest.fixture(scope="module")
def issuer() -> Iterator[tuple[str, TinyIssuer]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tiny = TinyIssuer(key, {"oed-test": Client("oed-secret", "974720760", SCOPES)})
    with serve(tiny.app()) as url:
        yield url, tiny


def _run(issuer: tuple[str, TinyIssuer], broken: str, patterns: list[str] | None) -> RunResult:
    url, tiny = issuer
    with serve(register(tiny.key, broken)) as base:
        manifest = Manifest.model_validate(
            {
                "profile": PROFILE,
                "base_url": base,
                "environment": "test",
                "auth": {
                    "type": "oauth2-client-credentials",
                    "token_url": f"{url}/token",
                    "client_id": "oed-test",
                    "client_secret": "oed-secret",
                    "scope": "bits:kundeforhold",
                },
                "fixtures": {
                    "customer_with_relationships": CUSTOMER,
                    "customer_without_relationships": "03889010281",
                    "account_with_provider": "97100000028",
                    "unknown_account": "12345678903",
                    "kfr_banks": ["312888033"],
                    "fault_customer": "01010112345",
                },
            }
        )
        return run_profile(
            load_profile(PROFILE, patterns=patterns), manifest, console=QUIET, progress=False
        )


def test_a_register_written_from_the_pages_passes_every_rule(
    issuer: tuple[str, TinyIssuer],
) -> None:
    result = _run(issuer, "", None)
    broken = {r.id: (r.verdict, r.message) for r in result.results if r.verdict != "pass"}
    assert broken == {}, broken
    assert result.passed
    assert len(result.results) == len(load_profile(PROFILE).rules)


@pytest.mark.parametrize(
    ("broken", "rule"),
    [
        ("no-token-check", "CRO-AUTH-TOKEN"),
        ("filter-ignored", "CRO-OPO-FILTER"),
        ("active-past", "CRO-ACTIVE-ACCOUNT"),
        ("scope-ignored", "CRO-AUTH-SCOPE-*"),
        ("ids-unchecked", "CRO-HDR-CORRELATIONID"),
        ("ids-unchecked", "CRO-HDR-ACCOUNTINFOREQUESTID"),
        ("period-order-unchecked", "CRO-PERIOD-FORMAT"),
        ("no-ownership-type", "CRO-OWNERSHIP-TYPE"),
        ("organizationId", "CRO-ORGANIZATIONID-CASING"),
        ("organizationId", "CRO-BANK-FIELDS"),
        ("organizationId", "CRO-SCHEMA-200"),
        ("post-served", "CRO-METHOD-GET-ONLY"),
    ],
)
def test_a_broken_register_fails_its_rule(
    issuer: tuple[str, TinyIssuer], broken: str, rule: str
) -> None:
    result = _run(issuer, broken, [rule])
    assert result.results
    assert all(r.verdict == "fail" for r in result.results), [
        (r.id, r.verdict, r.message) for r in result.results
    ]


@pytest.mark.parametrize(
    ("broken", "rule"),
    [
        ("code-only-errors", "CRO-ERROR-BODY"),
        ("dates-default-today", "CRO-PERIOD-REQUIRED"),
        ("unknown-customer-404", "CRO-BANKS-PRESENT"),
    ],
)
def test_a_register_departing_from_an_assumption_only_warns(
    issuer: tuple[str, TinyIssuer], broken: str, rule: str
) -> None:
    """Rules (or checks) resting on kontrakt's assumption warn at the default level, fail at strict."""
    result = _run(issuer, broken, [rule])
    assert [(r.id, r.verdict) for r in result.results] == [(rule, "warn")], [
        (r.id, r.message) for r in result.results
    ]
    assert result.results[0].verdicts["strict"] == "fail"
    assert result.passed
