"""A DSOP Customer Relation Overview v2.0 register (Bits' side), written from the publisher's
documents only (FACTS.md, F§n below, and the copied Kundeforhold 1.1.2 OpenAPI), by an engineer
who never saw kontrakt's specs, rules or sandbox.

It serves `GET {base}/customers/customerRelationships` and
`GET {base}/customers/accountServicingProvider` (the 1.1.2 paths, which the Digdir client still
calls after its "kar v2" change, F§7.2) with plain Starlette, checks Maskinporten-style RS256
tokens itself (PyJWT against a JWKS fetched over HTTP) and holds synthetic data only.

Open choices, each resting on the clause that leaves it open:

1. Error body: the 1.1.2 `{errorCode, errorMessage, timestamp}` with English messages, a
   timestamp with a +01:00/+02:00 offset and milliseconds, and an extra `correlationId` member
   (tolerant readers, F§1 Versioning). v2 codes are not published (F§7.2): ERR-001..004 as in
   1.1.2, and own codes ERR-005 (missing/invalid header or parameter), ERR-006 (no answer from
   the register, 504), ERR-007 (unknown account, 404), ERR-010 (405), ERR-011 (406).
2. 401 on accountServicingProvider uses the 1.1.2 ErrorResponse401 `{statusCode, message}`;
   on customerRelationships the ErrorResponse with ERR-001 (as 1.1.2's own-bank endpoint).
3. fromDate/toDate missing default to today (1.1.2 behaviour; v2 marks them M for consumers).
4. ownershipType is delivered on every bank (F§7.1 asks for it when onlyPrimaryOwner is sent;
   nothing forbids it otherwise). KFR banks carry `unknown` and stay in the list when
   onlyPrimaryOwner=true (the register cannot tell ownership for them).
5. activeAccount is always delivered; true only for a NICS (KAR) bank where the customer owns
   or co-owns a NICS-creditable account open today and toDate = today (F§7.1).
6. Banks are ordered by organizationID descending; each carries an extra `registry` member.
7. An unknown but well-formed account number is 404 ERR-007; no MOD11 check (1.1.2).
8. HEAD is served like GET; other methods are 405 with `Allow: GET, HEAD`.
9. Check order: method -> Accept -> token (401) -> headers/parameters (400) -> scope and
   consumer (403) -> mandate (403).
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.e2e.independent.dsop_provider import (
    account_number,
    org_number,
    person_number,
    valid_org_number,
    valid_person_number,
)

SCOPE_RELATIONS = "bits:kundeforhold"
SCOPE_ACCOUNT = "bits:kundeforhold.konto"
OSLO = zoneinfo.ZoneInfo("Europe/Oslo")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

# Consumers of the DSOP services (F§1.1, F§6); both Digdir numbers (the sources conflict).
CONSUMERS = {"974761076", "915429785", "974720760", "991825827", "986186999", "974760673"}

FJELLHEIM = org_number("93311")  # KAR (NICS) bank
NORDLYS = org_number("93422")  # KAR (NICS) bank
KYSTKREDITT = org_number("93533")  # KFR bank, outside NICS
BANKS = {
    FJELLHEIM: ("Fjellheim Sparebank", "KAR"),
    NORDLYS: ("Nordlys Bank ASA", "KAR"),
    KYSTKREDITT: ("Kystkreditt AS", "KFR"),
}

ASTRID = person_number("148590")  # primary owner at Fjellheim, disponent at Nordlys, KFR
BJORN = person_number("231175")  # left Nordlys two years ago; a savings account at Fjellheim
FIRMA = org_number("31777")  # a company with a business account at Nordlys
NOBODY = person_number("010290")  # no relationships anywhere
SLOW = person_number("050560")  # the register does not answer for this one (504)


@dataclass
class Holding:
    """A customer's role on one account at a NICS bank."""

    number: str
    bank: str
    role: str  # primaryOwner | coOwner | disponent
    kind: str  # payment | funds | loan
    creditable: bool
    opened: dt.date
    closed: dt.date | None = None


@dataclass
class KfrEntry:
    bank: str
    start: dt.date
    end: dt.date | None = None


def build_register(today: dt.date) -> tuple[dict[str, list[Holding]], dict[str, list[KfrEntry]]]:
    two_years = today - dt.timedelta(days=730)
    holdings = {
        ASTRID: [
            Holding(account_number("9331", 1), FJELLHEIM, "primaryOwner", "payment", True,
                    dt.date(2016, 4, 1)),
            Holding(account_number("9342", 5), NORDLYS, "disponent", "payment", True,
                    dt.date(2019, 2, 2)),
        ],
        BJORN: [
            Holding(account_number("9342", 9), NORDLYS, "primaryOwner", "payment", True,
                    dt.date(2012, 1, 1), two_years),
            Holding(account_number("9331", 11), FJELLHEIM, "primaryOwner", "loan", False,
                    dt.date(2020, 6, 6)),
        ],
        FIRMA: [
            Holding(account_number("9342", 20), NORDLYS, "primaryOwner", "payment", True,
                    dt.date(2021, 3, 3)),
        ],
    }  # fmt: skip
    kfr = {ASTRID: [KfrEntry(KYSTKREDITT, dt.date(2019, 11, 8))]}
    return holdings, kfr


class RegisterError(Exception):
    def __init__(self, status: int, code: str, message: str, **headers: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


@dataclass
class RegisterConfig:
    issuer: str
    audiences: list[str]
    jwks_url: str
    leeway_seconds: int = 5
    today: dt.date = field(default_factory=dt.date.today)


class Register:
    """The register's request pipeline and data."""

    def __init__(self, config: RegisterConfig) -> None:
        self.config = config
        self.holdings, self.kfr = build_register(config.today)
        self.jwks = jwt.PyJWKClient(config.jwks_url, cache_keys=True, lifespan=300)

    # -- checks --------------------------------------------------------------------------------

    def negotiate(self, request: Request) -> None:
        accept = request.headers.get("accept", "").strip()
        if not accept:
            return
        kinds = {part.split(";")[0].strip().lower() for part in accept.split(",")}
        if kinds & {"application/json", "application/*", "*/*"}:
            return
        raise RegisterError(406, "ERR-011", "Only application/json can be produced.")

    def authenticate(self, request: Request) -> dict[str, Any]:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise RegisterError(401, "ERR-001", "Access token is missing.")
        try:
            key = self.jwks.get_signing_key_from_jwt(token.strip())
            claims: dict[str, Any] = jwt.decode(
                token.strip(),
                key.key,
                algorithms=["RS256"],
                audience=self.config.audiences,
                issuer=self.config.issuer,
                leeway=self.config.leeway_seconds,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except (jwt.PyJWTError, jwt.PyJWKClientError, ValueError):
            raise RegisterError(401, "ERR-001", "Access token is invalid.") from None
        return claims

    def authorise(self, claims: dict[str, Any], scope: str) -> str:
        if scope not in str(claims.get("scope", "")).split():
            raise RegisterError(403, "ERR-001", f"Client lacks the scope {scope}.")
        consumer = claims.get("consumer")
        ident = str(consumer.get("ID", "")) if isinstance(consumer, dict) else ""
        org = ident.removeprefix("0192:")
        if not ident.startswith("0192:") or org not in CONSUMERS:
            raise RegisterError(403, "ERR-001", "Client is not a registered DSOP consumer.")
        return org

    def headers(self, request: Request) -> None:
        for name in ("CorrelationID", "AccountInfoRequestID"):
            value = request.headers.get(name, "")
            if not _UUID.fullmatch(value):
                raise RegisterError(400, "ERR-005", f"Header {name} is missing or not a UUID.")
        mandate = request.headers.get("Legal-Mandate", "")
        try:
            plain = urllib.parse.unquote(mandate, errors="strict").strip()
        except UnicodeDecodeError:
            plain = ""
        if not plain:
            raise RegisterError(400, "ERR-005", "Header Legal-Mandate is missing or malformed.")

    def period(self, request: Request) -> tuple[dt.date, dt.date]:
        try:
            start = dt.date.fromisoformat(request.query_params.get("fromDate") or "")
        except ValueError:
            if request.query_params.get("fromDate"):
                raise RegisterError(400, "ERR-003", "Invalid period or date format.") from None
            start = self.config.today
        try:
            end = dt.date.fromisoformat(request.query_params.get("toDate") or "")
        except ValueError:
            if request.query_params.get("toDate"):
                raise RegisterError(400, "ERR-003", "Invalid period or date format.") from None
            end = self.config.today
        if start > end:
            raise RegisterError(400, "ERR-003", "Invalid period or date format.")
        return start, end

    # -- operations ----------------------------------------------------------------------------

    def relationships(self, request: Request) -> dict[str, Any]:
        claims = self.authenticate(request)
        self.headers(request)
        customer = request.headers.get("CustomerID", "").strip()
        if not (valid_person_number(customer) or valid_org_number(customer)):
            raise RegisterError(400, "ERR-002", "Invalid customer identifier.")
        start, end = self.period(request)
        raw = request.query_params.get("onlyPrimaryOwner")
        if raw is not None and raw.lower() not in ("true", "false"):
            raise RegisterError(400, "ERR-005", "onlyPrimaryOwner must be true or false.")
        only_primary = raw is not None and raw.lower() == "true"
        self.authorise(claims, SCOPE_RELATIONS)
        if customer == SLOW:
            raise RegisterError(504, "ERR-006", "No response from the data source (KAR).")
        today = self.config.today
        found: dict[str, dict[str, Any]] = {}
        for h in self.holdings.get(customer, []):
            if h.opened > end or (h.closed is not None and h.closed < start):
                continue
            entry = found.setdefault(h.bank, {"owner": False, "fund": False, "active": False})
            if h.role == "primaryOwner":
                entry["owner"] = True
                entry["fund"] |= h.kind in ("payment", "funds")
            entry["active"] |= (
                end == today
                and h.role in ("primaryOwner", "coOwner")
                and h.creditable
                and h.opened <= today
                and (h.closed is None or h.closed >= today)
            )
        banks = []
        for org, entry in found.items():
            if only_primary and not entry["fund"]:
                continue
            kind = "primaryOwner" if entry["owner"] else "notPrimaryOwner"
            banks.append(self._bank(org, entry["active"], kind))
        for k in self.kfr.get(customer, []):
            if k.start > end or (k.end is not None and k.end < start) or k.bank in found:
                continue
            banks.append(self._bank(k.bank, False, "unknown"))  # F§7.1: always false for KFR
        banks.sort(key=lambda b: b["organizationID"], reverse=True)
        return {"banks": banks}

    def _bank(self, org: str, active: bool, ownership: str) -> dict[str, Any]:
        name, registry = BANKS[org]
        return {
            "organizationID": org,
            "bankName": name,
            "activeAccount": active,
            "ownershipType": ownership,
            "registry": registry,
        }

    def servicing_provider(self, request: Request) -> dict[str, Any]:
        claims = self.authenticate(request)
        self.headers(request)
        account = request.headers.get("AccountID", "").strip()
        if not re.fullmatch(r"\d{11}", account):
            raise RegisterError(400, "ERR-004", "Invalid account number.")
        self.authorise(claims, SCOPE_ACCOUNT)
        for held in self.holdings.values():
            for h in held:
                if h.number == account:
                    return {"organizationID": h.bank, "bankName": BANKS[h.bank][0]}
        raise RegisterError(404, "ERR-007", "No bank services this account number.")


def _error(request: Request, exc: RegisterError, plain_401: bool) -> Response:
    correlation = request.headers.get("CorrelationID", "")
    if exc.status == 401 and plain_401:
        body: dict[str, Any] = {"statusCode": 401, "message": exc.message}
    else:
        now = dt.datetime.now(OSLO).isoformat(timespec="milliseconds")
        body = {"errorCode": exc.code, "errorMessage": exc.message, "timestamp": now}
        if correlation:
            body["correlationId"] = correlation
    headers = dict(exc.headers)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return JSONResponse(body, status_code=exc.status, headers=headers)


def create_app(config: RegisterConfig, base_path: str = "/kar-ws/api/v1") -> Starlette:
    register = Register(config)

    def endpoint(operation: str, plain_401: bool) -> Any:
        async def handle(request: Request) -> Response:
            try:
                if request.method not in ("GET", "HEAD"):
                    raise RegisterError(405, "ERR-010", "Method not allowed.", Allow="GET, HEAD")
                register.negotiate(request)
                body = getattr(register, operation)(request)
            except RegisterError as exc:
                return _error(request, exc, plain_401)
            headers = {"CorrelationID": request.headers.get("CorrelationID", "")}
            return JSONResponse(body, headers=headers, media_type="application/json")

        return handle

    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    routes = [
        Route(
            f"{base_path}/customers/customerRelationships",
            endpoint("relationships", plain_401=False),
            methods=methods,
        ),
        Route(
            f"{base_path}/customers/accountServicingProvider",
            endpoint("servicing_provider", plain_401=True),
            methods=methods,
        ),
    ]
    app = Starlette(routes=routes)
    app.state.register = register
    return app
