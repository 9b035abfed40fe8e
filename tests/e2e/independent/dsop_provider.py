"""A DSOP Control API v2.0 provider (a bank's test environment), written from the publisher's
documents only, by an engineer who never saw kontrakt's specs.

Sources: the DSOP "API specification" page (the ACC-xxx error code paragraph), the OpenAPI copy
"Accounts API 2.0.0" and the fact sheet on the DSOP documentation (FACTS.md, sections cited as
F§n below). It serves the five GET endpoints under /v2 with plain Starlette, checks Maskinporten
style RS256 tokens itself (PyJWT against a JWKS fetched over HTTP), and holds synthetic data only:
every national identity number, organisation number and account number is made here with its
own MOD11 check digits.

Open choices, each resting on the clause that leaves it open:

1. Error body `{"code", "message", "correlationID"}`: `code` and `message` as the OpenAPI Error
   schema (no required list, F§5); the messages are Norwegian and our own wording ("the best
   possible description", F§5); `correlationID` is an extra member echoing the request's
   CorrelationID (tolerant readers, F§1 Versioning).
2. An unknown accountReference answers 404 **ACC-003** (F§5: "ACC-002 or ACC-003", the split is
   not public).
3. A technical failure answers 500 **ACC-500** (F§5: "ACC-100 or ACC-500").
4. Checks run in this order: method (405) -> token (401) -> scope and consumer (403) ->
   Accept (406) -> headers, query and service rules (400) -> resource (404). F§1/F§5 give
   no order.
5. HEAD and OPTIONS are refused with 405 ACC-012 like every other non-GET method ("Only GET",
   F§1 Methods).
6. `Accept: application/json` gives plain JSON in the test environment only; `application/jose`,
   `*/*` or no Accept gives a compact JWE (RSA-OAEP-256 + A256GCM, our own choice: the
   algorithms are not public, F§1 "JWE algorithms") to the consumer's key from a CertPub cache;
   any other Accept answers 406 ACC-013 (F§5, inferred). In production application/json is 406.
7. Legal-Mandate: URL-decoded, then compared with whitespace collapsed and a space after "§"
   made optional; for Skatt-Kontroll both published spellings (with and without
   "jf. § 10-14") are accepted (F§6: "the page is inconsistent").
8. fromDate/toDate are optional and default to today (OAS2 `required: false`, F§1.2); a
   Skatt-Kontroll period may reach 10 years back and toDate may not lie in the future (F§6).
9. `OnlyPrimaryOwner` accepts `true`/`false` in any letter case (OAS2 boolean query parameter);
   anything else, or absent, is 400 ACC-001 (F§8 item 5).
10. PartyID must be 11 digits with valid MOD11 check digits (national identity number or
    D-number) or 9 digits with a valid MOD11 check digit (organisation number); otherwise 400
    ACC-001 (F§6.2 "check parameter formats").
11. accountReference: an opaque random token (`ak_` + 22 URL-safe characters) made when an
    account is listed for a party; it never contains the account number (F§2 accountReference).
12. Pagination: `/transactions` pages of 1000 (F§2 "ideally >= 1000 per page") with an opaque
    cursor parameter `pageToken`; links carry `self` on every page, `next` while more exist and
    `prev` from page two; hrefs are relative to the API base, as the documents' example
    (`/accounts/{ref}/transactions?...`). `/accounts` carries only a `self` link.
13. Optional members: `accounts[].name` and `account.name` are never delivered ("will not be
    delivered", F§3.2); `responseDetails.message` only on partial answers; a closed account's
    `balances` member is left out (F§3.3 "null or omitted"); `endDate` only on closed accounts.
14. Balances: a period ending today gives availableBalance and bookedBalance; a period ending
    earlier gives bookedBalance at toDate only (F§3.3).
15. Rate limits: a fixed window per token `client_id` (configurable per client); over the limit
    answers 429 ACC-022 with `Retry-After` (F§5: "no limits or Retry-After rules are published").
16. Consumers are told apart by the `consumer` claim (`0192:<orgno>`), never by `client_id`
    (F§1.1). The service is the one whose mandate the request carries; the consumer org must be
    entitled to it (one org may hold several: Skatteetaten is the consumer of Skatt-Kontroll and
    FI-Utlegg, F§6); an org not entitled to the mandate is 403 ACC-011, an unknown mandate 400
    ACC-001 (F§5 lists both rows, F§6.2 names no answer). Both Digdir org numbers are entitled
    to OED (F§1.1: the sources conflict).
17. An endpoint outside the consumer's service answers 400 ACC-001 (F§5, explicit for OED,
    Vergekontroll, Konkurs, FI-Utlegg).
19. OED: a party the register does not know as dead is 403 ACC-011 (not authorised for that
    party); fromDate may reach 3 months before the death, toDate must be today (F§6).
20. Konkursbehandling: a party without a bankruptcy ruling is 403 ACC-011 ("the bank should
    confirm the bankruptcy", F§6, answer not named); fromDate may reach 12 months before the
    ruling, toDate must be today.
21. Vergekontroll: type `srf` and the guardian's number are required; a guardian without
    guardianship of the party is 403 ACC-011; an account of the ward the guardian does not
    manage is not listed and answers 404 ACC-003 (as an unknown reference); the period must lie
    within last calendar year (F§6 "1 Jan - 31 Dec of the last calendar year", read as a bound).
22. FI-Utlegg: fromDate = toDate = today; OnlyPrimaryOwner=true only (F§6).
23. Politi-Utlevering: the extradition order (AdditionalReferenceID, type pol1) is verified as
    F§6.1 lists (PS256 key by kid, x5c chain to the configured root, subject OU/CN, every claim
    present, UUIDs, version 1.0.0, reason matching the mandate, at most 90 days valid, fromDate
    at most 10 years back). An order the bank cannot trust is 403 ACC-011 (not authorised);
    an order that does not fit the request (mandate, PartyID, period, OnlyPrimaryOwner) is 400
    ACC-001 (an invalid combination); an endpoint the order does not cover is 403 ACC-011
    (explicit). The reason sentences are configuration (not public).
18. Response header casing: this provider sends `X-Correlation-ID` (mixed case) back with the
    request's CorrelationID on every answer (nothing in the documents asks for it or forbids it).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import secrets
import threading
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import NameOID
from joserfc import jwe
from joserfc.jwe import JWERegistry
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SCOPE = "bits:kontoinformasjon"

# ---------------------------------------------------------------------------------------------
# MOD11 check digits (own implementation)
# ---------------------------------------------------------------------------------------------

_K1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_ORG = (3, 2, 7, 6, 5, 4, 3, 2)
_ACCOUNT = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _mod11(digits: str, weights: tuple[int, ...]) -> int | None:
    """The MOD11 check digit of `digits` for `weights`, or None when none exists (remainder 1)."""
    remainder = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    check = (11 - remainder) % 11
    return None if check == 10 else check


def valid_person_number(value: str) -> bool:
    """A national identity number or D-number: 11 digits, both check digits right."""
    if not re.fullmatch(r"\d{11}", value):
        return False
    k1 = _mod11(value[:9], _K1)
    k2 = _mod11(value[:10], _K2)
    return k1 == int(value[9]) and k2 == int(value[10])


def valid_org_number(value: str) -> bool:
    if not re.fullmatch(r"\d{9}", value):
        return False
    return _mod11(value[:8], _ORG) == int(value[8])


def valid_account_number(value: str) -> bool:
    if not re.fullmatch(r"\d{11}", value):
        return False
    return _mod11(value[:10], _ACCOUNT) == int(value[10])


def person_number(birth: str, start: int = 100) -> str:
    """A synthetic person number for `birth` (DDMMYY, month + 80 as test numbers use)."""
    for individual in range(start, 1000):
        body = f"{birth}{individual:03d}"
        k1 = _mod11(body, _K1)
        if k1 is None:
            continue
        k2 = _mod11(body + str(k1), _K2)
        if k2 is None:
            continue
        return f"{body}{k1}{k2}"
    raise ValueError(birth)


def org_number(prefix: str) -> str:
    for tail in range(0, 1000):
        body = f"{prefix}{tail:03d}"[:8]
        check = _mod11(body, _ORG)
        if check is not None:
            return body + str(check)
    raise ValueError(prefix)


def account_number(bank: str, serial: int) -> str:
    for bump in range(0, 100):
        body = f"{bank}{serial + bump:06d}"
        check = _mod11(body, _ACCOUNT)
        if check is not None:
            return body + str(check)
    raise ValueError(serial)


# ---------------------------------------------------------------------------------------------
# Synthetic bank data
# ---------------------------------------------------------------------------------------------

BANK_ORG = org_number("99788")
BANK_NAME = "Testbanken Fjordkysten ASA"

KARI = person_number("158885")  # holds several accounts, a card, a mandate on Ola's account
OLA = person_number("029076")  # owns the account Kari may use
GUARANTOR = person_number("211170")  # only a guarantor
CO_BORROWER = person_number("111290")  # only a co-borrower on a loan
SHIELDED = person_number("050495")  # strictly confidential address
PARTIAL = person_number("300882")  # some data only on paper
FAULTY = person_number("090999")  # the back end fails for this one
NOBODY = person_number("010101")  # no accounts at all
COMPANY = org_number("31234")  # a company with one business account

ARNE = person_number("120245")  # died 50 days ago (OED)
WARD = person_number("170352")  # under guardianship (Vergekontroll)
GUARDIAN = person_number("080871")  # the ward's guardian
BANKRUPT = org_number("92345")  # a company under bankruptcy proceedings (Konkursbehandling)

SKATTEETATEN = "974761076"
DIGDIR = ("974720760", "991825827")  # the documents disagree (F§1.1); both are accepted
SERVICE_ORGS = {
    "Skatt-Kontroll": {SKATTEETATEN},
    "FI-Utlegg": {SKATTEETATEN},
    "OED": set(DIGDIR),
    "Politi-Utlevering": {"915429785"},
    "Vergekontroll": {"986186999"},
    "Konkursbehandling": {"974760673"},
}
KNOWN_ORGS = set().union(*SERVICE_ORGS.values())
ONLY_PRIMARY_OWNER = {"OED", "Vergekontroll", "Konkursbehandling", "FI-Utlegg"}
ENDPOINTS_BY_SERVICE = {
    "Skatt-Kontroll": {"accounts", "details", "transactions", "cards", "roles"},
    "OED": {"accounts", "details", "transactions"},
    "Politi-Utlevering": {"accounts", "details", "transactions", "cards", "roles"},
    "Vergekontroll": {"accounts", "details", "transactions", "roles"},
    "Konkursbehandling": {"accounts", "details", "transactions"},
    "FI-Utlegg": {"accounts", "details"},
}
MANDATES = {
    "Skatt-Kontroll": [
        "Skatteforvaltningsloven § 10-2 første ledd, jf. § 10-14, jf. "
        "skatteforvaltningsforskriften § 10-2-1",
        "Skatteforvaltningsloven § 10-2 første ledd, jf. skatteforvaltningsforskriften § 10-2-1",
    ],
    "OED": [
        "Arveloven § 92 første ledd og § 118, jf. § 88 a, jf. forskrift om Digitalt dødsbo",
    ],
    "FI-Utlegg": ["FI-Utlegg-Test"],
    "Vergekontroll": [
        "Vergemålsloven § 54 (2), jf. vergemålsforskriften § 20 (2), jf. "
        "vergemålsforskriften § 20a (1) b-e",
    ],
    "Konkursbehandling": ["kkl. §156 (3) og (4), jf. kkfor.§21"],
    "Politi-Utlevering": [
        "Straffeprosessloven §210 (3) første punktum",
        "Straffeprosessloven §210 (3) andre punktum",
    ],
}
# operation -> the extradition order's flag for it (F§6.1 payload)
ORDER_FLAGS = {
    "accounts": "accountList",
    "details": "accountDetails",
    "transactions": "transactions",
    "cards": "cards",
    "roles": "roles",
}
ORDER_CLAIMS = (
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
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
REFERENCE_TYPES = {"Politi-Utlevering": "pol1", "Vergekontroll": "srf"}
REQUESTER_REQUIRED = {"Skatt-Kontroll", "Politi-Utlevering"}


def _months_back(day: dt.date, months: int) -> dt.date:
    month = day.month - months
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def _normal_mandate(text: str) -> str:
    text = re.sub(r"\s+", " ", text.strip())
    return re.sub(r"§\s?", "§", text).casefold()


@dataclass
class Account:
    number: str
    owner: str
    type: str
    opened: dt.date
    closed: dt.date | None = None
    currency: str = "NOK"
    balance: float = 0.0
    users: list[tuple[str, str]] = field(default_factory=list)  # (party, permission)
    cards: list[dict[str, Any]] = field(default_factory=list)
    transactions: list[dict[str, Any]] = field(default_factory=list)


def _transactions(number: str, count: int, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    span = max((end - start).days, 1)
    result = []
    for i in range(count):
        day = start + dt.timedelta(days=(i * span) // max(count, 1))
        credit = i % 3 == 0
        result.append(
            {
                "transactionIdentifier": f"{number[-4:]}-{i:06d}",
                "creditDebitIndicator": "credit" if credit else "debit",
                "status": "booked",
                "bookingDate": f"{day.isoformat()}T10:00:00",
                "valueDate": f"{day.isoformat()}T10:00:00",
                "amount": round(50 + (i * 37) % 4000 + 0.5, 2),
                "currency": "NOK",
                "transactionCode": {
                    "domain": "payments",
                    "family": "receivedCreditTransfers" if credit else "issuedCreditTransfers",
                    "subFamily": "domesticCreditTransfer",
                    "freeText": "Nettgiro",
                },
                "references": [{"value": f"ARK{i:08d}", "type": "archiveReference"}],
                "_day": day,
            }
        )
    return result


def build_accounts(today: dt.date) -> list[Account]:
    """The bank's synthetic book, relative to `today`."""
    year_ago = today - dt.timedelta(days=400)
    salary = Account(account_number("9710", 1), KARI, "salaryAccount", dt.date(2015, 3, 2))
    salary.balance = 23_456.78
    salary.users = [(OLA, "rightToSeeOnly")]
    salary.cards = [
        {
            "cardIdentifier": "492500XXXXXX1234",
            "holderName": "Kari Nordfjord",
            "startDate": "2024-05",
            "expiryDate": "2028-05",
            "cardIssuerName": BANK_NAME,
            "type": "debitCard",
            "cardStatus": "active",
            "versionNumber": "2",
        }
    ]
    salary.transactions = _transactions(salary.number, 1250, year_ago, today)
    savings = Account(account_number("9710", 20), KARI, "savingsAccount", dt.date(2018, 1, 15))
    savings.balance = 150_000.0
    savings.transactions = _transactions(savings.number, 12, year_ago, today)
    closed = Account(
        account_number("9710", 40),
        KARI,
        "currencyAccount",
        dt.date(2019, 6, 1),
        closed=today - dt.timedelta(days=30),
        currency="EUR",
    )
    closed.transactions = _transactions(closed.number, 4, year_ago, today - dt.timedelta(days=40))
    olas = Account(account_number("9710", 60), OLA, "savingsAccount", dt.date(2012, 9, 9))
    olas.balance = 5_000.0
    olas.users = [(KARI, "rightToUseAlone")]
    loan = Account(account_number("9710", 80), OLA, "loanAccount", dt.date(2020, 2, 2))
    loan.balance = 1_200_000.0
    loan.users = [(CO_BORROWER, "coBorrower"), (GUARANTOR, "guarantor")]
    partial = Account(account_number("9710", 100), PARTIAL, "savingsAccount", dt.date(2001, 1, 1))
    partial.balance = 10.0
    firm = Account(account_number("9710", 120), COMPANY, "businessAccount", dt.date(2021, 4, 4))
    firm.balance = 99_000.0
    firm.transactions = _transactions(firm.number, 5, year_ago, today)
    shielded = Account(account_number("9710", 140), SHIELDED, "salaryAccount", dt.date(2010, 1, 1))
    estate = Account(account_number("9710", 160), ARNE, "salaryAccount", dt.date(1990, 5, 5))
    estate.balance = 312_000.0
    estate.transactions = _transactions(estate.number, 30, year_ago, today - dt.timedelta(days=50))
    wards = Account(account_number("9710", 180), WARD, "savingsAccount", dt.date(2008, 8, 8))
    wards.balance = 44_000.0
    wards.users = [(GUARDIAN, "rightToUseAlone")]
    wards.transactions = _transactions(wards.number, 20, year_ago, today)
    private = Account(account_number("9710", 200), WARD, "salaryAccount", dt.date(2009, 9, 9))
    private.balance = 1_000.0
    private.transactions = _transactions(private.number, 6, year_ago, today)
    estate_firm = Account(
        account_number("9710", 220), BANKRUPT, "businessAccount", dt.date(2019, 3, 3)
    )
    estate_firm.balance = 12.0
    estate_firm.transactions = _transactions(estate_firm.number, 9, year_ago, today)
    return [
        salary,
        savings,
        closed,
        olas,
        loan,
        partial,
        firm,
        shielded,
        estate,
        wards,
        private,
        estate_firm,
    ]


_TODAY = dt.date.today()
DEATHS = {ARNE: _TODAY - dt.timedelta(days=50)}  # as FREG would report them
RULINGS = {BANKRUPT: _TODAY - dt.timedelta(days=100)}  # kjennelsesdato, as Konkursvarsel would
# (ward, guardian) -> the ward's account numbers the guardian manages
GUARDIANSHIPS = {(WARD, GUARDIAN): {account_number("9710", 180)}}

# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------


@dataclass
class BankConfig:
    issuer: str
    audience: str  # the base URL registered in the API catalogue
    jwks_url: str
    encryption_keys: dict[str, dict[str, Any]]  # consumer org number -> public JWK (CertPub cache)
    environment: str = "test"
    rate_limits: dict[str, int] = field(default_factory=dict)  # client_id -> requests per window
    default_rate_limit: int = 100_000
    rate_window_seconds: float = 60.0
    page_size: int = 1000
    leeway_seconds: int = 5
    politi: PolitiTrust | None = None  # without it Politi-Utlevering is refused (403 ACC-011)


@dataclass
class PolitiTrust:
    """What the bank's test environment trusts for extradition orders (F§6.1): the signing keys
    by kid (Politiet's JWKS), the root the x5c chain must end in, each mandate's reason."""

    keys: dict[str, Any]  # kid -> RSA public key
    root: x509.Certificate
    reasons: dict[str, str]  # mandate (plain) -> the fixed reason sentence
    common_name: str = "Godkjenning av utleveringspålegg TEST"
    unit: str = "Påtalemyndigheten"


class ProviderError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


@dataclass
class Caller:
    consumer: str
    client_id: str


@dataclass
class Call:
    """One request's checked inputs."""

    service: str
    start: dt.date
    end: dt.date
    guardian: str | None = None
    order: dict[str, Any] | None = None  # Politi: the verified extradition order


class Bank:
    """The provider: state (references, rate windows) and the request pipeline."""

    def __init__(self, config: BankConfig, today: dt.date | None = None) -> None:
        self.config = config
        self.today = today or dt.date.today()
        self.accounts = build_accounts(self.today)
        self.references: dict[str, tuple[Account, str]] = {}
        self.issued: dict[tuple[str, str], str] = {}
        self.lock = threading.Lock()
        self.windows: dict[str, tuple[float, int]] = {}
        self.jwks = jwt.PyJWKClient(config.jwks_url, cache_keys=True, lifespan=300)
        self.registry = JWERegistry(algorithms=["RSA-OAEP-256", "A256GCM"])

    # -- helpers -------------------------------------------------------------------------------

    def reference_for(self, account: Account, party: str) -> str:
        with self.lock:
            key = (account.number, party)
            if key not in self.issued:
                ref = "ak_" + secrets.token_urlsafe(16)
                self.issued[key] = ref
                self.references[ref] = (account, party)
            return self.issued[key]

    def authenticate(self, request: Request) -> Caller:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ProviderError(401, "ACC-010", "Mangler gyldig autentisering (Bearer-token).")
        try:
            key = self.jwks.get_signing_key_from_jwt(token.strip())
            claims = jwt.decode(
                token.strip(),
                key.key,
                algorithms=["RS256"],
                audience=self.config.audience,
                issuer=self.config.issuer,
                leeway=self.config.leeway_seconds,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except (jwt.PyJWTError, jwt.PyJWKClientError, ValueError) as exc:
            message = f"Tokenet ble avvist: {type(exc).__name__}."
            raise ProviderError(401, "ACC-010", message) from None
        iat = claims.get("iat")
        if isinstance(iat, int | float) and iat > time.time() + self.config.leeway_seconds:
            raise ProviderError(401, "ACC-010", "Tokenet er utstedt fram i tid.")
        scopes = str(claims.get("scope", "")).split()
        if SCOPE not in scopes:
            raise ProviderError(403, "ACC-011", "Klienten mangler tilgang til kontoinformasjon.")
        consumer = claims.get("consumer")
        org = ""
        if isinstance(consumer, dict) and consumer.get("authority") == "iso6523-actorid-upis":
            ident = str(consumer.get("ID", ""))
            if ident.startswith("0192:"):
                org = ident.removeprefix("0192:")
        if org not in KNOWN_ORGS:
            raise ProviderError(403, "ACC-011", "Virksomheten er ikke en kjent DSOP-konsument.")
        return Caller(org, str(claims.get("client_id", org)))

    def throttle(self, caller: Caller) -> None:
        limit = self.config.rate_limits.get(caller.client_id, self.config.default_rate_limit)
        now = time.monotonic()
        with self.lock:
            start, count = self.windows.get(caller.client_id, (now, 0))
            if now - start >= self.config.rate_window_seconds:
                start, count = now, 0
            count += 1
            self.windows[caller.client_id] = (start, count)
        if count > limit:
            wait = max(1, int(self.config.rate_window_seconds - (now - start)) + 1)
            raise ProviderError(
                429,
                "ACC-022",
                "For mange forespørsler; prøv igjen senere.",
                {"Retry-After": str(wait)},
            )

    def representation(self, request: Request) -> str:
        accept = request.headers.get("accept", "").strip()
        if not accept:
            return "jose"
        kinds = [part.split(";")[0].strip().lower() for part in accept.split(",")]
        for kind in kinds:
            if kind == "application/jose" or kind in ("*/*", "application/*"):
                return "jose"
            if kind == "application/json" and self.config.environment == "test":
                return "json"
        raise ProviderError(406, "ACC-013", f"Kan ikke levere formatet {accept[:60]!r}.")

    def common(self, request: Request, caller: Caller, endpoint: str) -> Call:
        headers = request.headers
        for name in ("AccountInfoRequestID", "CorrelationID"):
            value = headers.get(name)
            if not value:
                raise ProviderError(400, "ACC-001", f"Header {name} mangler.")
            if not _UUID.fullmatch(value):
                raise ProviderError(400, "ACC-001", f"Header {name} er ikke en UUID.")
        raw_mandate = headers.get("Legal-Mandate")
        if not raw_mandate:
            raise ProviderError(400, "ACC-001", "Header Legal-Mandate mangler.")
        mandate = _normal_mandate(urllib.parse.unquote(raw_mandate))
        service = next(
            (
                name
                for name, texts in MANDATES.items()
                if mandate in {_normal_mandate(text) for text in texts}
            ),
            None,
        )
        if service is None:
            raise ProviderError(400, "ACC-001", "Ukjent hjemmel i Legal-Mandate.")
        if caller.consumer not in SERVICE_ORGS[service]:
            raise ProviderError(403, "ACC-011", "Virksomheten kan ikke bruke denne hjemmelen.")
        kind = headers.get("AdditionalReferenceIDType")
        if kind is not None and kind not in ("pol1", "srf"):
            raise ProviderError(400, "ACC-001", "AdditionalReferenceIDType er ukjent.")
        if kind != REFERENCE_TYPES.get(service):
            raise ProviderError(400, "ACC-001", "Feil eller manglende AdditionalReferenceIDType.")
        reference = urllib.parse.unquote(headers.get("AdditionalReferenceID", "")).strip()
        if kind is not None and not reference:
            raise ProviderError(400, "ACC-001", "AdditionalReferenceID mangler.")
        guardian = None
        if kind == "srf":
            if not valid_person_number(reference):
                raise ProviderError(400, "ACC-001", "AdditionalReferenceID er ikke et fødselsnr.")
            guardian = reference
        order = None
        if kind == "pol1":
            order = self.verify_order(reference, mandate)
            if not order.get(ORDER_FLAGS[endpoint]):
                raise ProviderError(
                    403, "ACC-011", "Utleveringspålegget omfatter ikke endepunktet."
                )
        if service in REQUESTER_REQUIRED and not headers.get("RequesterID", "").strip():
            raise ProviderError(400, "ACC-001", "Header RequesterID mangler.")
        if endpoint not in ENDPOINTS_BY_SERVICE[service]:
            raise ProviderError(400, "ACC-001", "Endepunktet er ikke en del av tjenesten.")
        start = self._date(request, "fromDate")
        end = self._date(request, "toDate")
        if start > end:
            raise ProviderError(400, "ACC-001", "fromDate er etter toDate.")
        if end > self.today:
            raise ProviderError(400, "ACC-001", "toDate kan ikke ligge fram i tid.")
        if service == "Skatt-Kontroll":
            oldest = self.today.replace(year=self.today.year - 10)
            if start < oldest:
                raise ProviderError(400, "ACC-001", "Perioden går mer enn ti år tilbake.")
        elif service == "FI-Utlegg" and not start == end == self.today:
            raise ProviderError(400, "ACC-001", "FI-Utlegg gjelder bare dagens dato.")
        elif service == "Vergekontroll":
            year = self.today.year - 1
            if start < dt.date(year, 1, 1) or end > dt.date(year, 12, 31):
                raise ProviderError(400, "ACC-001", "Perioden må ligge i fjoråret.")
        elif service in ("OED", "Konkursbehandling") and end != self.today:
            raise ProviderError(400, "ACC-001", "toDate må være dagens dato.")
        elif service == "Politi-Utlevering" and order is not None:
            oldest = self.today.replace(year=self.today.year - 10)
            ordered = (order["_from"], order["_to"])
            if start < oldest or start < ordered[0] or end > ordered[1]:
                raise ProviderError(400, "ACC-001", "Perioden ligger utenfor utleveringspålegget.")
        return Call(service, start, end, guardian, order)

    def verify_order(self, token: str, mandate: str) -> dict[str, Any]:
        """The extradition order (a PS256 JWS), checked as F§6.1 lists; 403 ACC-011 when it
        cannot be trusted, 400 ACC-001 when it does not fit the request."""
        trust = self.config.politi
        if trust is None:
            raise ProviderError(403, "ACC-011", "Banken tar ikke imot utleveringspålegg.")

        def refuse(why: str) -> ProviderError:
            return ProviderError(403, "ACC-011", f"Utleveringspålegget er ikke gyldig: {why}.")

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise refuse("ikke en JWS") from None
        key = trust.keys.get(str(header.get("kid")))
        if header.get("alg") != "PS256" or key is None:
            raise refuse("ukjent nøkkel eller algoritme")
        chain = header.get("x5c")
        if not isinstance(chain, list) or not chain:
            raise refuse("mangler sertifikatkjede")
        try:
            certificates = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in chain]
            for child, parent in zip(certificates, [*certificates[1:], trust.root], strict=True):
                child.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature):
            raise refuse("sertifikatkjeden ender ikke i rotsertifikatet") from None
        leaf = certificates[0]
        names = {a.oid: a.value for a in leaf.subject}
        if (
            names.get(NameOID.COMMON_NAME) != trust.common_name
            or names.get(NameOID.ORGANIZATIONAL_UNIT_NAME) != trust.unit
            or leaf.public_key().public_numbers() != key.public_numbers()
        ):
            raise refuse("feil sertifikat")
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=["PS256"], options={"require": ["exp"]}
            )
        except jwt.PyJWTError as exc:
            raise refuse(type(exc).__name__) from None
        missing = [name for name in ORDER_CLAIMS if name not in claims]
        if missing:
            raise refuse(f"mangler {', '.join(missing[:3])}")
        flags = ("accountList", "accountDetails", "transactions", "cards", "roles")
        if (
            not _UUID.fullmatch(str(claims["extraditionOrderID"]))
            or not _UUID.fullmatch(str(claims["caseID"]))
            or claims["version"] != "1.0.0"
            or not isinstance(claims["onlyPrimaryOwner"], bool)
            or not all(isinstance(claims[flag], bool) for flag in flags)
            or claims["accountList"] is not True
        ):
            raise refuse("feil format på innholdet")
        plain = {_normal_mandate(m): m for m in MANDATES["Politi-Utlevering"]}
        ordered = plain.get(_normal_mandate(str(claims["mandate"])))
        if ordered is None or trust.reasons.get(ordered) != claims["reason"]:
            raise refuse("hjemmel og begrunnelse stemmer ikke")
        try:
            claims["_from"] = dt.date.fromisoformat(str(claims["fromDate"]))
            claims["_to"] = dt.date.fromisoformat(str(claims["toDate"]))
            approved = dt.datetime.fromisoformat(
                str(claims["approval"]["approvalTimestamp"]).replace("Z", "+00:00")
            )
        except (ValueError, TypeError, KeyError):
            raise refuse("ugyldige datoer") from None
        if approved.tzinfo is None:
            approved = approved.replace(tzinfo=dt.UTC)
        expires = dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC)
        now = dt.datetime.now(dt.UTC)
        if expires - approved > dt.timedelta(days=90) or not approved <= now <= expires:
            raise refuse("gyldighetstiden er feil")
        if claims["_from"] < self.today.replace(year=self.today.year - 10):
            raise refuse("fromDate går mer enn ti år tilbake")
        if _normal_mandate(str(claims["mandate"])) != mandate:
            raise ProviderError(400, "ACC-001", "Legal-Mandate er ikke pålegget sitt.")
        return claims

    def party_checks(self, call: Call, party: str) -> None:
        """The service's rules that depend on the party (death, ruling, guardianship, order)."""
        if call.order is not None and str(call.order["partyID"]) != party:
            raise ProviderError(400, "ACC-001", "PartyID er ikke partyID i utleveringspålegget.")
        if call.service == "OED":
            died = DEATHS.get(party)
            if died is None:
                raise ProviderError(403, "ACC-011", "Parten er ikke registrert som død.")
            if call.start < _months_back(died, 3):
                raise ProviderError(
                    400, "ACC-001", "fromDate er mer enn tre måneder før dødsfallet."
                )
        elif call.service == "Konkursbehandling":
            ruled = RULINGS.get(party)
            if ruled is None:
                raise ProviderError(403, "ACC-011", "Fant ingen konkurskjennelse for parten.")
            if call.start < _months_back(ruled, 12):
                raise ProviderError(
                    400, "ACC-001", "fromDate er mer enn tolv måneder før kjennelsen."
                )
        elif call.service == "Vergekontroll" and (party, call.guardian) not in GUARDIANSHIPS:
            raise ProviderError(403, "ACC-011", "Vergen har ikke vergemål for parten.")

    def in_scope(self, call: Call, account: Account, party: str) -> bool:
        if call.service == "Vergekontroll":
            managed = GUARDIANSHIPS.get((party, call.guardian or ""), set())
            return account.owner == party and account.number in managed
        return True

    def _date(self, request: Request, name: str) -> dt.date:
        value = request.query_params.get(name)
        if value is None:
            return self.today
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ProviderError(400, "ACC-001", f"{name} må ha formatet YYYY-MM-DD.")
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ProviderError(400, "ACC-001", f"{name} er ikke en gyldig dato.") from None

    def account_for(self, request: Request, call: Call) -> tuple[Account, str]:
        ref = request.path_params["accountReference"]
        found = self.references.get(ref)
        if found is None:
            raise ProviderError(404, "ACC-003", "Fant ingen konto for denne referansen.")
        account, party = found
        self.party_checks(call, party)
        if not self.in_scope(call, account, party):
            raise ProviderError(404, "ACC-003", "Fant ingen konto for denne referansen.")
        return found

    # -- bodies --------------------------------------------------------------------------------

    @staticmethod
    def _identifier(value: str) -> dict[str, str]:
        kind = "nationalIdentityNumber" if len(value) == 11 else "countryIdentificationCode"
        return {"value": value, "type": kind, "countryOfResidence": "NO"}

    def _account(self, account: Account, party: str, end: dt.date) -> dict[str, Any]:
        owner: dict[str, Any] = {
            "permission": "rightToUseAlone",
            "identifier": self._identifier(account.owner),
            "startDate": account.opened.isoformat(),
        }
        if account.closed and account.closed <= end:
            owner["endDate"] = account.closed.isoformat()
        return {
            "accountIdentifier": account.number,
            "accountReference": self.reference_for(account, party),
            "status": "deleted" if account.closed and account.closed <= end else "enabled",
            "servicer": {
                "identifier": {"value": BANK_ORG, "type": "countryIdentificationCode"},
                "name": BANK_NAME,
            },
            "type": account.type,
            "currency": account.currency,
            "primaryOwner": owner,
        }

    def list_accounts(self, request: Request, caller: Caller) -> dict[str, Any]:
        call = self.common(request, caller, "accounts")
        start, end = call.start, call.end
        party = request.headers.get("PartyID", "").strip()
        if not party:
            raise ProviderError(400, "ACC-001", "Header PartyID mangler.")
        if not (valid_person_number(party) or valid_org_number(party)):
            raise ProviderError(400, "ACC-001", "PartyID er ikke et gyldig fødsels-/D-/org.nr.")
        raw = request.query_params.get("OnlyPrimaryOwner")
        if raw is None or raw.lower() not in ("true", "false"):
            raise ProviderError(400, "ACC-001", "OnlyPrimaryOwner må være true eller false.")
        only_primary = raw.lower() == "true"
        if call.service in ONLY_PRIMARY_OWNER and not only_primary:
            raise ProviderError(400, "ACC-001", "Tjenesten tillater bare OnlyPrimaryOwner=true.")
        if (
            call.order is not None
            and call.order.get("onlyPrimaryOwner") is True
            and not only_primary
        ):
            raise ProviderError(400, "ACC-001", "Pålegget tillater bare OnlyPrimaryOwner=true.")
        self.party_checks(call, party)
        if party == FAULTY:
            raise ProviderError(500, "ACC-500", "Kontosystemet svarer ikke; prøv igjen senere.")
        body: dict[str, Any] = {"responseDetails": {"status": "complete"}, "accounts": []}
        if party == SHIELDED:
            return body
        listed = []
        for account in self.accounts:
            if account.opened > end or (account.closed and account.closed < start):
                continue
            uses = any(
                who == party and permission.startswith("rightTo")
                for who, permission in account.users
            )
            if (account.owner == party or (uses and not only_primary)) and self.in_scope(
                call, account, party
            ):
                listed.append(account)
        body["accounts"] = [self._account(a, party, end) for a in listed]
        if party == PARTIAL:
            body["responseDetails"] = {
                "status": "partial",
                "message": "Deler av kundeforholdet er kun arkivert på papir og leveres manuelt.",
            }
        query = urllib.parse.urlencode(
            {"fromDate": start.isoformat(), "toDate": end.isoformat(), "OnlyPrimaryOwner": raw}
        )
        body["links"] = [{"rel": "self", "href": f"/accounts?{query}"}]
        return body

    def show_account(self, request: Request, caller: Caller) -> dict[str, Any]:
        call = self.common(request, caller, "details")
        end = call.end
        account, party = self.account_for(request, call)
        detail = self._account(account, party, end)
        detail["startDate"] = account.opened.isoformat()
        closed_in_period = account.closed is not None and account.closed <= end
        if closed_in_period and account.closed is not None:
            detail["endDate"] = account.closed.isoformat()
        else:
            moment = f"{end.isoformat()}T23:59:59+01:00"
            booked = {
                "type": "bookedBalance",
                "amount": account.balance,
                "creditDebitIndicator": "credit",
                "currency": account.currency,
                "registered": moment,
                "creditLineIncluded": False,
            }
            balances = [booked]
            if end == self.today:
                now = dt.datetime.now(dt.UTC).replace(microsecond=0)
                booked["registered"] = now.isoformat().replace("+00:00", "Z")
                spendable = max(account.balance - 100, 0.0)
                available = dict(booked, type="availableBalance", amount=spendable)
                balances.insert(0, available)
            detail["balances"] = balances
        return {"responseDetails": {"status": "complete"}, "account": detail}

    def list_transactions(self, request: Request, caller: Caller) -> dict[str, Any]:
        call = self.common(request, caller, "transactions")
        start, end = call.start, call.end
        account, _ = self.account_for(request, call)
        items = [t for t in account.transactions if start <= t["_day"] <= end]
        page = 0
        token = request.query_params.get("pageToken")
        if token is not None:
            if not re.fullmatch(r"p[0-9]{1,6}", token):
                raise ProviderError(400, "ACC-001", "pageToken er ugyldig.")
            page = int(token[1:])
        size = self.config.page_size
        chunk = items[page * size : (page + 1) * size]
        base = request.url.path.split("/v2", 1)[-1]

        def href(number: int) -> str:
            query = {"fromDate": start.isoformat(), "toDate": end.isoformat()}
            if number:
                query["pageToken"] = f"p{number}"
            return f"{base}?{urllib.parse.urlencode(query)}"

        links = [{"rel": "self", "href": href(page)}]
        if (page + 1) * size < len(items):
            links.append({"rel": "next", "href": href(page + 1)})
        if page > 0:
            links.append({"rel": "prev", "href": href(page - 1)})
        transactions = [{k: v for k, v in t.items() if k != "_day"} for t in chunk]
        return {
            "responseDetails": {"status": "complete"},
            "transactions": transactions,
            "links": links,
        }

    def list_cards(self, request: Request, caller: Caller) -> dict[str, Any]:
        call = self.common(request, caller, "cards")
        start, end = call.start, call.end
        account, _ = self.account_for(request, call)
        cards = [] if start < dt.date(2024, 5, 1) and end < dt.date(2024, 5, 1) else account.cards
        for card in cards:
            card.setdefault(
                "cardIssuerIdentifier", {"value": BANK_ORG, "type": "countryIdentificationCode"}
            )
        return {"responseDetails": {"status": "complete"}, "paymentCards": cards}

    def list_roles(self, request: Request, caller: Caller) -> dict[str, Any]:
        call = self.common(request, caller, "roles")
        end = call.end
        account, _ = self.account_for(request, call)
        roles = []
        if account.opened <= end:
            for who, permission in [(account.owner, "rightToUseAlone"), *account.users]:
                if not permission.startswith("rightTo"):
                    continue
                roles.append(
                    {
                        "permission": permission,
                        "identifier": self._identifier(who),
                        "startDate": account.opened.isoformat(),
                    }
                )
        return {"responseDetails": {"status": "complete"}, "roles": roles}

    # -- transport -----------------------------------------------------------------------------

    def encode(self, body: dict[str, Any], kind: str, caller: Caller) -> Response:
        data = json.dumps(body, ensure_ascii=False).encode()
        if kind == "json":
            return Response(data, media_type="application/json")
        key_data = self.config.encryption_keys.get(caller.consumer)
        if key_data is None:
            raise ProviderError(500, "ACC-500", "Fant ikke konsumentens krypteringssertifikat.")
        key = RSAKey.import_key(key_data)
        header = {"alg": "RSA-OAEP-256", "enc": "A256GCM", "cty": "json"}
        if "kid" in key_data:
            header["kid"] = key_data["kid"]
        token = jwe.encrypt_compact(header, data, key, registry=self.registry)
        return Response(token, media_type="application/jose")


def _error(exc: ProviderError, correlation: str | None) -> JSONResponse:
    body: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if correlation:
        body["correlationID"] = correlation
    response = JSONResponse(body, status_code=exc.status, headers=exc.headers)
    if correlation:
        response.headers["X-Correlation-ID"] = correlation
    return response


def _endpoint(bank: Bank, handler: str) -> Callable[[Request], Awaitable[Response]]:
    async def serve(request: Request) -> Response:
        correlation = request.headers.get("CorrelationID")
        try:
            if request.method != "GET":
                raise ProviderError(405, "ACC-012", f"Metoden {request.method} er ikke tillatt.")
            caller = bank.authenticate(request)
            bank.throttle(caller)
            kind = bank.representation(request)
            body = getattr(bank, handler)(request, caller)
            response = bank.encode(body, kind, caller)
        except ProviderError as exc:
            return _error(exc, correlation)
        if correlation:
            response.headers["X-Correlation-ID"] = correlation
        return response

    return serve


ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"]


def create_app(config: BankConfig, today: dt.date | None = None) -> Starlette:
    """The bank's API under /v2 (the base path the documents' server template names)."""
    bank = Bank(config, today)
    routes = [
        Route("/v2/accounts", _endpoint(bank, "list_accounts"), methods=ALL_METHODS),
        Route(
            "/v2/accounts/{accountReference}",
            _endpoint(bank, "show_account"),
            methods=ALL_METHODS,
        ),
        Route(
            "/v2/accounts/{accountReference}/transactions",
            _endpoint(bank, "list_transactions"),
            methods=ALL_METHODS,
        ),
        Route(
            "/v2/accounts/{accountReference}/cards",
            _endpoint(bank, "list_cards"),
            methods=ALL_METHODS,
        ),
        Route(
            "/v2/accounts/{accountReference}/roles",
            _endpoint(bank, "list_roles"),
            methods=ALL_METHODS,
        ),
    ]
    app = Starlette(routes=routes)
    app.state.bank = bank
    return app
