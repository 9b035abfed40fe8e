"""DSOP Control API v2.0 conformance profile: one function per `x-kontrakt-rules` id.

Every rule is driven by the manifest and the spec only (codes, triggers, parameters, services and
schemas are read from `specs/dsop-control/v2.0/openapi.yaml`), so it runs against any bank's test
environment. Rules without a function are reported as "not automated" by the harness:

- DSOP-MANDATORY-FIELDS: the M/MC delivery markers beyond the schemas' `required` lists exist
  only in the data-model prose (FACTS §3: e.g. a transaction's creditDebitIndicator, amount,
  bookingDate and valueDate are MC, but `Transaction.required` lists transactionIdentifier
  only). The markers the `required` lists do carry (accountIdentifier, accountReference,
  transactionIdentifier, cardIdentifier, Identifier type/value, Link href/rel, responseDetails,
  status) are already judged by DSOP-SCHEMA-200, so a function would either repeat that rule or
  invent the rest; it waits for the spec to carry the markers (e.g. an `x-kontrakt-delivery`
  per property).
- DSOP-DATA-NOT-DELIVERED (MAY): a bank that never lists `dataNotDelivered` conforms, so no
  answer can fail it.
- DSOP-LOG-REQUEST: the bank's own logs.

A manifest certifies one consumer (its `auth` and fixture `service`). It may name the consumers
of further services: `credentials.<service>` (a key of `x-kontrakt-services` in lower case with
`_` for `-`, e.g. `vergekontroll`, `fi_utlegg`) with that consumer's test data in
`fixtures.consumers.<service>` (keyed by the service's own name; the fixture
names below: party_with_accounts, account_reference, additional_reference_id, from_date...;
the other fixtures are shared). The DSOP-SERVICE-<service> rules (capability `service:<name>`)
and the Politi rules then use that consumer's token and data, so one run checks every service
the provider supports; without a consumer of a service its rules are `not-applicable`.

Politi-Utlevering needs a signed extradition order (AdditionalReferenceID, type pol1). A TEST
environment's key for orders (`extradition_order_key`: an RSA private key in PEM,
`extradition_order_certificates`: its chain, leaf first, `extradition_order_kid`,
`extradition_order_reasons`: mandate -> its fixed reason sentence, which is not public) lets the
suite sign fresh orders per FACTS §6.1 at run time (`kontrakt/conformance/extradition.py`, PS256 with
x5c): DSOP-SERVICE-POLITI-UTLEVERING, DSOP-ACC-403-EO-ENDPOINT, DSOP-POLITI-EO-SIGNATURE,
-CONTENT and -REQUEST-MATCH. Without the key they are `not-applicable` (a fixed signed order in
`additional_reference_id` serves the service rule for its one mandate). Relative paths in these
fixtures are read from the manifest's folder.

Fixtures the manifest provides (`fixtures:`). The declarations at the end of this module
(`rules.fixture`, `rules.role`, `rules.capability`) are what `kontrakt init dsop-control/v2.0`
and `kontrakt manifest-schema --profile dsop-control/v2.0` print; the table is their summary.
account_reference and party_without_accounts have defaults the suite finds or makes itself (the
first reference GET /accounts lists; a synthetic national identity number with valid check
digits), and the preflight finds the Skatt mandate text and spelling the bank knows:

| name | needed by | meaning |
|---|---|---|
| `service` | every rule sending a request | the DSOP service (a key of `x-kontrakt-services`, e.g. `Skatt-Kontroll`) the manifest's credentials belong to |
| `party_with_accounts` | every rule sending a request, the preflight | a party (PartyID) with several accounts in the period |
| `party_without_accounts` | optional (DSOP-EMPTY-ACCOUNTS-200) | a party the bank knows no account for (default: a synthetic national identity number) |
| `account_reference` | optional (per-account rules) | an accountReference of `party_with_accounts` (default: the first GET /accounts lists) |
| `legal_mandates` | optional | `{service: plain-text mandate}`; default: the service's first mandate in the spec |
| `requester_id` | optional | RequesterID sent when the service requires it (default `kontrakt-conformance`) |
| `additional_reference_id` | services with an AdditionalReferenceIDType | the AdditionalReferenceID to send (e.g. a signed Politi order) |
| `from_date`, `to_date`, `history_days` | optional | the request period (ISO dates); default: `history_days` (200) back to today, within the service's period rule |
| `quiet_date` | optional (DSOP-EMPTY-LIST-200) | a day on which `account_reference` has no transactions or cards; default: the earliest day the service allows |
| `closed_account_reference` | optional (DSOP-BALANCES-CLOSED) | an account of `party_with_accounts` closed within the period |
| `max_accounts` | optional | how many accounts the content rules read (default 12) |
| `schemathesis_examples` | optional (DSOP-SCHEMA-200) | schemathesis examples per operation (default 3; 0: explicit checks only) |
| `expected_transactions` | optional (DSOP-PAGINATE-TRANSACTIONS) | how many transactions `account_reference` has at least in the period |
| `party_guarantor`, `party_co_borrower`, `party_shielded` | optional | parties for DSOP-GUARANTOR-EMPTY, -CO-BORROWER-NO-LOANS, -SHIELDED-EMPTY |
| `party_partial` | optional (DSOP-PARTIAL-MESSAGE) | a party whose data is partly offline |
| `fault_party` | optional (DSOP-ACC-500-SERVER-ERROR, DSOP-PARTIAL-NOT-FOR-OUTAGES) | a party whose lookups fail on purpose |
| `load_requests` | optional (DSOP-ACC-429) | how many requests the suite may send to reach the rate limit (throttled client or main client) |
| `consumers` | optional (DSOP-SERVICE-*, Politi rules) | `{service: {fixture: value}}`: the test data of each `credentials.<service>` consumer |
| `unmanaged_account_reference` | optional, in `consumers.Vergekontroll` (DSOP-VERGE-SCOPE) | an account of the ward (`party_with_accounts`) that the guardian (`additional_reference_id`) does not manage: not listed, not served (404 or 403) |
| `party_without_ruling` | optional, in `consumers.Konkursbehandling` (DSOP-KONKURS-CONFIRM) | a party with accounts and no bankruptcy ruling: its accounts are not delivered (400 ACC-001 proposed, A-DSOP-032) |
| `unconfirmed_account_reference` | optional, in `consumers.Konkursbehandling` (DSOP-KONKURS-CONFIRM) | an account of `party_without_ruling`: not served (404 ACC-002/ACC-003 or 403 ACC-011) |
| `extradition_order_key`, `extradition_order_certificates`, `extradition_order_kid`, `extradition_order_reasons` | optional (Politi rules) | the TEST key extradition orders are signed with, its chain, kid and the mandates' reason sentences |
| `other_party` | optional (DSOP-POLITI-EO-REQUEST-MATCH) | a party an order may name that is not the request's (default `party_without_accounts`) |

Without an optional fixture its rule is `not-applicable`, with the reason. DSOP-ACC-429 runs with
`credentials.throttled` (a client the bank's test environment throttles: its requests until the
429, at most load_requests or 30), or with a load budget for the main client (fixture
load_requests, or the capability `load` listed explicitly: up to 200 requests).

Basis. A refusal's status is the publisher's demand; its code is judged against the ACC matrix
only (a body without a code, e.g. an API gateway's, differs from A-DSOP-040; an ACC code of
another status fails). Where the publisher leaves the answer open (403 ACC-011 or 400 ACC-001 for
a consumer not entitled to a mandate, 404 or 400 for a reference not in the bank's format, 404 or
403 for an account outside the relation, HEAD/OPTIONS, +hh timestamps), each reading passes and
is reported. A rule that finds nothing to judge is `not-applicable`, or fails where the manifest
promises the data (party_with_accounts' accounts).

Tokens: DSOP-ACC-401-BAD-SIGNATURE tampers the real token itself (altered signature, `alg: none`,
edited claims, truncated). Expired, wrong-audience and wrong-issuer tokens must be signed
correctly to prove anything (a tampered one is refused for its signature, which the bad-signature
rule covers), so DSOP-ACC-401-EXPIRED-TOKEN, -WRONG-AUDIENCE, -WRONG-ISSUER and
DSOP-TOKEN-CONSUMER-CLAIM mint with `negative_auth.signing_key`, after proving the key is trusted
with a correctly minted valid token; without the key they are `not-applicable`.

The 200 bodies (accounts of `party_with_accounts`, details, all transaction pages, cards, roles
of up to 12 accounts) are fetched once per run and shared by the content rules; each of them
cites the responses it judged as evidence.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import json
import re
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from kontrakt.conformance import auth as tokens
from kontrakt.conformance import extradition
from kontrakt.conformance.fuzz import run_schemathesis
from kontrakt.conformance.probe import Probe, ProbeResponse, jwe_decrypter
from kontrakt.conformance.registry import NotApplicable, RuleContext, RuleError, RuleSet
from kontrakt.conformance.spec import HTTP_METHODS, Spec

__all__ = ["rules"]

rules = RuleSet("dsop-control/v2.0")
rule = rules.rule

ACCOUNTS = "listAccounts"
DETAILS = "showAccountById"
JSON, JOSE = "application/json", "application/jose"
MAX_PAGES = 50
MAX_ACCOUNTS = 12
PREDEFINED_REFERENCES = frozenset({"dataNotDelivered"})
RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE
)
# The data-model pages write timestamps "YYYY-MM-DDThh:mm:ssZ or ...+hh" and bookingDate /
# valueDate "yyyy-mm-ddThh:mm:ss": an hour-only offset and no offset are the publisher's too.
DOCS_DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)?$", re.IGNORECASE
)
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
YEAR_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MASKED_CARD = re.compile(r"^\d{0,6}X+\d{0,4}$")
PAGE_RELS = ("next", "prev", "self", "last")
SLACK_DAYS = 7  # how far inside a "years back" limit a valid request stays (leap days)
BODY_ASSUMPTION = "A-DSOP-040"  # every error body carries its ACC code and a message
FORMAT_ASSUMPTION = "A-DSOP-042"  # values only in the written form of their format
POLITI_REFERENCE_TYPE = "pol1"  # the AdditionalReferenceIDType whose ID is an extradition order


# --- the consumer's service and the request it sends ------------------------------------------


@dataclass(frozen=True)
class Service:
    """The manifest's DSOP service as `x-kontrakt-services` defines it."""

    name: str
    operations: tuple[str, ...]
    outside_status: int
    outside_code: str
    mandates: tuple[str, ...]
    only_primary_owner: tuple[bool, ...]
    additional_type: str | None
    requester_required: bool
    period: Mapping[str, Any]
    assumption: str | None = None  # the service entry's A-id (its open readings)
    consumer_orgno: str | None = None  # the consumer organisation the publisher names


def _services(spec: Spec) -> dict[str, Service]:
    found: dict[str, Service] = {}
    for name, entry in (spec.extension("services") or {}).items():
        constraints = entry.get("constraints") or {}
        outside = entry.get("outside") or {}
        found[str(name)] = Service(
            name=str(name),
            operations=tuple(entry.get("operations") or ()),
            outside_status=int(outside.get("status", 400)),
            outside_code=str(outside.get("code", "")),
            mandates=tuple(constraints.get("legal-mandates") or ()),
            only_primary_owner=tuple(constraints.get("only-primary-owner") or (True, False)),
            additional_type=constraints.get("additional-reference-id-type"),
            requester_required=constraints.get("requester-id") == "required",
            period=dict(constraints.get("period") or {}),
            assumption=(entry.get("assumption") or {}).get("id"),
            consumer_orgno=(entry.get("consumer") or {}).get("orgno"),
        )
    return found


def _owner_default(service: Service) -> str:
    """The OnlyPrimaryOwner value a valid request of the service sends."""
    return "false" if False in service.only_primary_owner else "true"


def _service(ctx: RuleContext) -> Service:
    name = ctx.fixture("service")
    services = _services(ctx.spec)
    if name not in services:
        raise RuleError(
            f"fixture service {name!r} is not a service of x-kontrakt-services "
            f"({', '.join(services)})"
        )
    return services[str(name)]


def _today() -> dt.date:
    return dt.date.today()


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _earliest_from(service: Service, today: dt.date) -> dt.date | None:
    years = service.period.get("max-years-back")
    return _years_before(today, int(years)) if years is not None else None


def _service_period(service: Service, days: int = 200) -> tuple[dt.date, dt.date]:
    """A period the service's rule allows: `days` back to its allowed end."""
    today = _today()
    rule_to = service.period.get("to-date", "any")
    rule_from = service.period.get("from-date", "any")
    to = {"end-of-last-year": dt.date(today.year - 1, 12, 31)}.get(rule_to, today)
    start = {
        "today": today,
        "start-of-last-year": dt.date(today.year - 1, 1, 1),
    }.get(rule_from, to - dt.timedelta(days=days))
    earliest = _earliest_from(service, today)
    if earliest is not None and start < earliest + dt.timedelta(days=SLACK_DAYS):
        start = earliest + dt.timedelta(days=SLACK_DAYS)
    return start, to


def _period(ctx: RuleContext) -> tuple[dt.date, dt.date]:
    """The request period: fixtures, else `history_days` back to the service's allowed end."""
    start, to = _service_period(_service(ctx), int(ctx.fixtures.get("history_days", 200)))
    if "from_date" in ctx.fixtures:
        start = dt.date.fromisoformat(str(ctx.fixtures["from_date"]))
    if "to_date" in ctx.fixtures:
        to = dt.date.fromisoformat(str(ctx.fixtures["to_date"]))
    return start, to


def _accept(ctx: RuleContext) -> str:
    return JOSE if ctx.manifest.environment == "production" else JSON


# Per run (probe): the mandate spelling the preflight found the main consumer's service known
# under, when the first text of the spec was refused (A-DSOP-015: two texts, several spellings).
_MANDATES: weakref.WeakKeyDictionary[Probe, dict[str, str]] = weakref.WeakKeyDictionary()
# Per run: the accountReference the suite took from GET /accounts (no account_reference fixture).
_REFERENCES: weakref.WeakKeyDictionary[Probe, dict[tuple[str, str], str | None]] = (
    weakref.WeakKeyDictionary()
)


def _mandate(ctx: RuleContext, service: Service) -> str:
    """The URL-encoded mandate a valid request sends: fixtures.legal_mandates, else the spelling
    the preflight found accepted, else the service's first text in the spec."""
    chosen = (ctx.fixtures.get("legal_mandates") or {}).get(service.name)
    if chosen is None:
        found = _MANDATES.get(ctx.probe, {}).get(service.name)
        if found is not None:
            return found
        if not service.mandates:
            raise RuleError(f"service {service.name} names no legal mandate in the spec")
        chosen = service.mandates[0]
    return quote(str(chosen), safe="")


def _account_reference(ctx: RuleContext) -> str:
    """fixtures.account_reference, else the first accountReference GET /accounts lists for
    party_with_accounts (the suite finds its own; nothing to judge when none is listed)."""
    if ctx.has_fixture("account_reference"):
        return str(ctx.fixture("account_reference"))
    service = _service(ctx)
    party = str(ctx.fixture("party_with_accounts"))
    known = _REFERENCES.setdefault(ctx.probe, {})
    key = (service.name, party)
    if key not in known:
        answer = ctx.probe.request(
            "GET",
            ctx.spec.operation(ACCOUNTS).path,
            headers=_headers(ctx, ACCOUNTS),
            params=_params(ctx, ACCOUNTS),
        )
        _list_key(ctx.spec, ACCOUNTS)
        found = None
        if answer.status == 200:
            for item in _list_of(answer.json(), ACCOUNTS):
                ref = item.get("accountReference") if isinstance(item, Mapping) else None
                if isinstance(ref, str) and ref and ref not in PREDEFINED_REFERENCES:
                    found = ref
                    break
        known[key] = found
    reference = known[key]
    if reference is None:
        raise NotApplicable(
            "no account_reference fixture, and GET /accounts for party_with_accounts lists no "
            "accountReference to use"
        )
    return reference


def _headers(
    ctx: RuleContext, operation: str, overrides: Mapping[str, str | None] | None = None
) -> dict[str, str | None]:
    """The headers of a valid request of the manifest's service (None removes one)."""
    service = _service(ctx)
    op = ctx.spec.operation(operation)
    found: dict[str, str | None] = {"Accept": _accept(ctx)}
    for parameter in op.parameters:
        if parameter.get("in") != "header":
            continue
        name = str(parameter["name"])
        schema = ctx.spec.resolve(parameter.get("schema") or {})
        if name == "Legal-Mandate":
            found[name] = _mandate(ctx, service)
        elif name == "PartyID":
            found[name] = str(ctx.fixture("party_with_accounts"))
        elif name == "RequesterID":
            if service.requester_required or "requester_id" in ctx.fixtures:
                found[name] = str(ctx.fixtures.get("requester_id", "kontrakt-conformance"))
        elif name == "AdditionalReferenceIDType":
            if service.additional_type is not None:
                found[name] = service.additional_type
        elif name == "AdditionalReferenceID":
            if service.additional_type is not None:
                found[name] = quote(str(ctx.fixture("additional_reference_id")), safe="")
        elif schema.get("format") == "uuid":
            found[name] = str(uuid.uuid4())
        elif parameter.get("required"):
            raise RuleError(f"{operation}: no value known for the required header {name}")
    for name, value in (overrides or {}).items():
        for existing in [k for k in found if k.lower() == name.lower()]:
            del found[existing]
        found[name] = value
    return found


def _params(
    ctx: RuleContext, operation: str, overrides: Mapping[str, str | None] | None = None
) -> dict[str, str]:
    service = _service(ctx)
    op = ctx.spec.operation(operation)
    start, end = _period(ctx)
    found: dict[str, str | None] = {}
    for parameter in op.parameters:
        if parameter.get("in") != "query":
            continue
        name = str(parameter["name"])
        schema = ctx.spec.resolve(parameter.get("schema") or {})
        if name == "fromDate":
            found[name] = start.isoformat()
        elif name == "toDate":
            found[name] = end.isoformat()
        elif schema.get("type") == "boolean":
            found[name] = _owner_default(service)
        elif parameter.get("required"):
            raise RuleError(f"{operation}: no value known for the required parameter {name}")
    found.update(overrides or {})
    return {k: v for k, v in found.items() if v is not None}


def _path(ctx: RuleContext, operation: str, reference: str | None = None) -> str:
    path = ctx.spec.operation(operation).path
    if "{" in path:
        ref = reference if reference is not None else _account_reference(ctx)
        path = re.sub(r"\{[^}]+\}", quote(ref, safe=""), path)
    return path


def _per_account(spec: Spec) -> list[str]:
    return [op.id for op in spec.operations if "{" in op.path]


def _get(
    ctx: RuleContext,
    operation: str,
    *,
    reference: str | None = None,
    headers: Mapping[str, str | None] | None = None,
    params: Mapping[str, str | None] | None = None,
    auth: bool | str = True,
    scope: str | None = None,
) -> ProbeResponse:
    return ctx.probe.request(
        "GET",
        _path(ctx, operation, reference),
        headers=_headers(ctx, operation, headers),
        params=_params(ctx, operation, params),
        auth=auth,
        scope=scope,
    )


def _codes_in(ctx: RuleContext, answer: ProbeResponse) -> list[str] | None:
    """The codes of an error body at the catalogue's pointer; None when it is not JSON."""
    if not answer.content:
        return None
    try:
        body = json.loads(answer.content)
    except (ValueError, UnicodeDecodeError):
        return None
    return [str(c) for c in ctx.spec.code_of(body) if isinstance(c, str | int)]


def _code(ctx: RuleContext, answer: ProbeResponse) -> str:
    found = _codes_in(ctx, answer)
    if found is None:
        return "no JSON body" if answer.content else "no body"
    return ", ".join(found) or "no code"


@dataclass(frozen=True)
class Refusal:
    """One answer the publisher's text allows for a request that must be refused."""

    status: int
    codes: frozenset[str]
    reading: str | None = None  # reported when the provider is seen to choose this answer

    @property
    def text(self) -> str:
        return f"{self.status} {'/'.join(sorted(self.codes))}"


def _refusal(status: int, codes: Any, reading: str | None = None) -> Refusal:
    return Refusal(int(status), frozenset(str(c) for c in codes), reading)


def _code_basis(ctx: RuleContext, codes: frozenset[str]) -> str:
    """The assumption a situation -> code mapping rests on: the catalogue's for the codes
    (A-DSOP-010 for ACC-001 ...), else A-DSOP-040 (every error carries its ACC code)."""
    catalogue = ctx.spec.error_catalogue.get("codes") or {}
    for code in sorted(codes):
        entry = catalogue.get(code) or {}
        assumption = entry.get("assumption")
        if isinstance(assumption, Mapping) and assumption.get("id"):
            return str(assumption["id"])
    return BODY_ASSUMPTION


def _refused(
    ctx: RuleContext,
    answer: ProbeResponse,
    what: str,
    accepted: Sequence[Refusal],
    *,
    status_assumption: str | None = None,
    refusal_assumption: str | None = None,
) -> bool:
    """`answer` refuses the request with one of the `accepted` answers.

    The status is the publisher's demand: a request served (2xx) fails, and so does another
    status, unless `refusal_assumption` (the refusal itself is kontrakt's proposal) or
    `status_assumption` (the status is) names the assumption to deviate from instead. The code
    is judged only against the publisher's matrix: a body without a code (a gateway's, or none)
    or with a code the matrix does not know differs from kontrakt's proposal; an ACC code the
    matrix pairs with another status fails. Where several answers are accepted, the one the
    provider chose is reported as its reading. True when the answer is one of `accepted`.
    """
    wanted = " or ".join(r.text for r in accepted)
    got = f"{answer.status} {_code(ctx, answer)}"
    if 200 <= answer.status < 300:
        message = f"{what}: expected HTTP {wanted}, got {got} (the request was served)"
        if refusal_assumption is not None:
            ctx.deviate(refusal_assumption, message, answer)
            return False
        raise ctx.fail(message, answer)
    matches = [r for r in accepted if r.status == answer.status]
    if not matches:
        message = f"{what}: expected HTTP {wanted}, got {got}"
        assumption = status_assumption or refusal_assumption
        if assumption is not None:
            ctx.deviate(assumption, message, answer)
            return False
        raise ctx.fail(message, answer)
    found = _codes_in(ctx, answer) or []
    chosen = next((r for r in matches if any(c in r.codes for c in found)), None)
    if chosen is None:
        chosen = matches[0]
        if not found:
            ctx.deviate(BODY_ASSUMPTION, f"{what}: HTTP {answer.status} carries no code", answer)
        else:
            foreign = [
                c
                for c in found
                if ctx.spec.code_status(c) and answer.status not in ctx.spec.code_status(c)
            ]
            if foreign:
                statuses = "/".join(str(s) for s in ctx.spec.code_status(foreign[0]))
                raise ctx.fail(
                    f"{what}: HTTP {answer.status} carries {foreign[0]}, the publisher's code for "
                    f"HTTP {statuses} (expected {wanted})",
                    answer,
                )
            basis = _code_basis(ctx, chosen.codes)
            ctx.deviate(basis, f"{what}: expected HTTP {wanted}, got {got}", answer)
    if len(accepted) > 1 and chosen.reading is not None:
        ctx.reading(chosen.reading)
    return True


def _reject(
    ctx: RuleContext,
    answer: ProbeResponse,
    status: int,
    codes: Any,
    what: str,
    *,
    also: Sequence[Refusal] = (),
    reading: str | None = None,
    status_assumption: str | None = None,
    refusal_assumption: str | None = None,
) -> bool:
    """`answer` is HTTP `status` with one of `codes`, or one of the `also` answers (see
    `_refused` for what fails and what only differs from kontrakt's proposal); `reading` is
    reported when the first answer is chosen among several."""
    first = _refusal(status, codes, reading)
    return _refused(
        ctx,
        answer,
        what,
        [first, *also],
        status_assumption=status_assumption,
        refusal_assumption=refusal_assumption,
    )


def _list_answer(ctx: RuleContext, answer: ProbeResponse, operation: str, what: str) -> Any:
    """A 200 whose body is the operation's list document (responseDetails is required in every
    200 body, OAS2); a body without it is no answer to judge a list by."""
    body = _ok(ctx, answer, what)
    if not isinstance(body, Mapping) or not isinstance(body.get("responseDetails"), Mapping):
        raise ctx.fail(
            f"{what}: the 200 body is no {operation} document (no responseDetails)", answer
        )
    return body


def _ok(ctx: RuleContext, answer: ProbeResponse, what: str) -> Any:
    if answer.status != 200:
        raise ctx.fail(
            f"{what}: expected HTTP 200, got {answer.status} {_code(ctx, answer)}", answer
        )
    return answer.json()


def _rule_codes(ctx: RuleContext, operation: str, **filters: Any) -> tuple[int, set[str | int]]:
    uses = ctx.spec.errors(operation=operation, rule=ctx.rule.id, **filters)
    if not uses:
        uses = ctx.spec.errors(operation=operation, **filters)
    if not uses:
        raise RuleError(f"{operation} declares no error use for {ctx.rule.id} ({filters})")
    return int(uses[0].status), {u.code for u in uses}


# --- the shared corpus of 200 bodies ----------------------------------------------------------


@dataclass
class Page:
    operation: str
    response: ProbeResponse
    body: Any


@dataclass
class Walk:
    """One list followed through its `next` links."""

    operation: str
    pages: list[Page] = field(default_factory=list)
    problem: str | None = None
    problem_response: ProbeResponse | None = None

    @property
    def items(self) -> list[tuple[Page, Any]]:
        return [(p, item) for p in self.pages for item in _list_of(p.body, self.operation)]


@dataclass
class Corpus:
    accounts: Walk
    references: list[str]
    details: list[Page]
    failures: list[tuple[str, ProbeResponse]]
    transactions: list[Walk]
    singles: list[Page]  # cards and roles
    period: tuple[dt.date, dt.date]

    def pages(self) -> Iterator[Page]:
        yield from self.accounts.pages
        yield from self.details
        for walk in self.transactions:
            yield from walk.pages
        yield from self.singles

    def walks(self) -> list[Walk]:
        return [self.accounts, *self.transactions]


_CORPORA: weakref.WeakKeyDictionary[Probe, Corpus] = weakref.WeakKeyDictionary()
_LIST_KEYS: dict[str, str | None] = {}


def _list_key(spec: Spec, operation: str) -> str | None:
    """The array property of an operation's 200 body other than `links` (accounts, roles...)."""
    if operation not in _LIST_KEYS:
        schema = spec.resolve(spec.response_schema(operation))
        key = None
        for name, prop in (schema.get("properties") or {}).items():
            if name != "links" and spec.resolve(prop).get("type") == "array":
                key = str(name)
        _LIST_KEYS[operation] = key
    return _LIST_KEYS[operation]


def _list_of(body: Any, operation: str) -> list[Any]:
    key = _LIST_KEYS.get(operation)
    if not isinstance(body, Mapping) or key is None:
        return []
    value = body.get(key)
    return value if isinstance(value, list) else []


def _links(body: Any) -> list[Mapping[str, Any]]:
    links = body.get("links") if isinstance(body, Mapping) else None
    return [x for x in links if isinstance(x, Mapping)] if isinstance(links, list) else []


def _next(body: Any) -> str | None:
    for link in _links(body):
        if link.get("rel") == "next" and isinstance(link.get("href"), str):
            return str(link["href"])
    return None


def _walk(
    ctx: RuleContext,
    operation: str,
    *,
    reference: str | None = None,
    headers: Mapping[str, str | None] | None = None,
    params: Mapping[str, str | None] | None = None,
) -> Walk:
    """Follow `next` with a fresh CorrelationID per page, at most MAX_PAGES, stopping on a loop."""
    _list_key(ctx.spec, operation)
    walk = Walk(operation)
    case = str(uuid.uuid4())
    fixed = {"AccountInfoRequestID": case, **(headers or {})}
    answer = _get(ctx, operation, reference=reference, headers=fixed, params=params)
    seen: set[str] = set()
    while True:
        if answer.status != 200:
            walk.problem = f"HTTP {answer.status} {_code(ctx, answer)}"
            walk.problem_response = answer
            return walk
        page = Page(operation, answer, answer.json())
        walk.pages.append(page)
        href = _next(page.body)
        if href is None:
            return walk
        if href in seen:
            walk.problem = f"the next link {href} repeats a page already fetched (a loop)"
            walk.problem_response = answer
            return walk
        if len(walk.pages) >= MAX_PAGES:
            walk.problem = f"still a next link after {MAX_PAGES} pages"
            walk.problem_response = answer
            return walk
        seen.add(href)
        fresh = {**fixed, "CorrelationID": str(uuid.uuid4())}
        answer = ctx.probe.request("GET", href, headers=_headers(ctx, operation, fresh))


def _corpus(ctx: RuleContext) -> Corpus:
    found = _CORPORA.get(ctx.probe)
    if found is not None:
        return found
    accounts = _walk(ctx, ACCOUNTS)
    if accounts.problem_response is not None and not accounts.pages:
        raise ctx.fail(
            f"GET /accounts of party_with_accounts: {accounts.problem}", accounts.problem_response
        )
    references = []
    if ctx.has_fixture("account_reference"):
        references.append(str(ctx.fixture("account_reference")))
    if ctx.has_fixture("closed_account_reference"):
        references.append(str(ctx.fixture("closed_account_reference")))
    for _, item in accounts.items:
        ref = item.get("accountReference") if isinstance(item, Mapping) else None
        if isinstance(ref, str) and ref not in references and ref not in PREDEFINED_REFERENCES:
            references.append(ref)
    references = references[: int(ctx.fixtures.get("max_accounts", MAX_ACCOUNTS))]
    service = _service(ctx)
    details: list[Page] = []
    failures: list[tuple[str, ProbeResponse]] = []
    walks: list[Walk] = []
    singles: list[Page] = []
    for ref in references:
        for operation in _per_account(ctx.spec):
            if operation not in service.operations:
                continue
            _list_key(ctx.spec, operation)
            if operation == DETAILS:
                answer = _get(ctx, operation, reference=ref)
                if answer.status == 200:
                    details.append(Page(operation, answer, answer.json()))
                else:
                    failures.append((ref, answer))
            elif "links" in (
                ctx.spec.resolve(ctx.spec.response_schema(operation)).get("properties") or {}
            ):
                walks.append(_walk(ctx, operation, reference=ref))
            else:
                answer = _get(ctx, operation, reference=ref)
                if answer.status == 200:
                    singles.append(Page(operation, answer, answer.json()))
                else:
                    failures.append((ref, answer))
    corpus = Corpus(accounts, references, details, failures, walks, singles, _period(ctx))
    _CORPORA[ctx.probe] = corpus
    return corpus


def _nodes(
    spec: Spec, schema: Any, value: Any, path: str = ""
) -> Iterator[tuple[str, Mapping[str, Any], Mapping[str, Any], Any, str | None]]:
    """(path, raw schema node, resolved node, value, component name) for every value in a body."""
    raw = schema if isinstance(schema, Mapping) else {}
    ref = raw.get("$ref")
    name = ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None
    node = spec.resolve(raw) if raw else {}
    yield path, raw, node, value, name
    for sub in node.get("allOf") or ():
        for found in _nodes(spec, sub, value, path):
            if found[0] == path:
                yield found[0], raw, found[2], value, found[4] or name
            else:
                yield found
    if isinstance(value, Mapping):
        properties = node.get("properties") or {}
        for key, item in value.items():
            if key in properties:
                yield from _nodes(spec, properties[key], item, f"{path}/{key}")
    elif isinstance(value, list) and isinstance(node.get("items"), Mapping):
        for index, item in enumerate(value):
            yield from _nodes(spec, node["items"], item, f"{path}/{index}")


def _walk_pages(
    ctx: RuleContext, pages: Sequence[Page]
) -> Iterator[tuple[Page, str, Mapping[str, Any], Mapping[str, Any], Any, str | None]]:
    for page in pages:
        schema = ctx.spec.response_schema(page.operation)
        for path, raw, node, value, name in _nodes(ctx.spec, schema, page.body):
            yield page, path, raw, node, value, name


def _corpus_nodes(
    ctx: RuleContext,
) -> Iterator[tuple[Page, str, Mapping[str, Any], Mapping[str, Any], Any, str | None]]:
    """`_walk_pages` over every page of the corpus."""
    return _walk_pages(ctx, list(_corpus(ctx).pages()))


def _corpus_links(ctx: RuleContext) -> Iterator[tuple[Walk, Page, Mapping[str, Any]]]:
    """Every link of every page of the corpus's lists, with its walk and page."""
    for walk in _corpus(ctx).walks():
        for page in walk.pages:
            for link in _links(page.body):
                yield walk, page, link


@dataclass
class _Findings:
    """What a content rule saw in the 200 bodies: how many values it judged, which failed."""

    ctx: RuleContext
    checked: int = 0
    problems: list[tuple[str, ProbeResponse]] = field(default_factory=list)

    def check(self, ok: bool, page: Page, message: str) -> None:
        """One judged value; `message` (naming the operation and path) when it is wrong."""
        self.checked += 1
        if not ok:
            self.problem(page, message)

    def problem(self, page: Page, message: str) -> None:
        self.problems.append((message, page.response))

    def judge(self) -> None:
        """Fail with the first problems as evidence; not applicable when nothing was judged."""
        if self.problems:
            shown = "; ".join(p for p, _ in self.problems[:5])
            more = f" (+{len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
            evidence = list(dict.fromkeys(r for _, r in self.problems))[:5]
            raise self.ctx.fail(shown + more, *evidence)
        if self.checked == 0:
            raise NotApplicable("the provider's bodies hold no value this rule judges")
        self.ctx.note(f"{self.checked} value(s) checked")


# --- base path, methods, media types ----------------------------------------------------------


@rule("DSOP-BASE-PATH-MAJOR")
def base_path_major(ctx: RuleContext) -> None:
    major = str(ctx.spec.data.get("info", {}).get("version", "")).split(".")[0]
    path = urlsplit(ctx.manifest.base_url).path.rstrip("/")
    last = path.rsplit("/", 1)[-1]
    if last != f"v{major}":
        raise ctx.fail(f"the base URL path {path or '/'} does not end in /v{major}")
    for template in ctx.spec.paths:
        if re.search(r"/v\d+(\.\d+)+(/|$)", template):
            raise ctx.fail(f"the path {template} carries a minor version")


@rule("DSOP-ACC-405")
def other_methods_405(ctx: RuleContext) -> None:
    for template in ctx.spec.paths:
        operation = next(op.id for op in ctx.spec.operations if op.path == template)
        codes = ctx.spec.error_codes(trigger="method-not-allowed", operation=operation)
        declared = ctx.spec.methods(template)
        for method in HTTP_METHODS:
            if method in declared:
                continue
            answer = ctx.probe.request(
                method.upper(),
                _path(ctx, operation),
                headers=_headers(ctx, operation),
                params=_params(ctx, operation),
                expect_rejection=True,
            )
            if method in ("head", "options") and 200 <= answer.status < 300:
                # RFC 9110: HEAD is GET without the body, OPTIONS names the methods allowed; a
                # bank answering them so delivers no data, which is what "only GET" protects.
                if answer.content:
                    raise ctx.fail(
                        f"{method.upper()} {template} was answered {answer.status} with a body",
                        answer,
                    )
                ctx.reading(f"{method.upper()} answered {answer.status} without a body (RFC 9110)")
                continue
            if method == "head":  # no body to carry a code
                if answer.status != 405:
                    raise ctx.fail(
                        f"HEAD {template}: expected HTTP 405, got {answer.status}", answer
                    )
                continue
            _reject(ctx, answer, 405, codes, f"{method.upper()} {template}")


@rule("DSOP-ACC-406")
def unacceptable_accept_406(ctx: RuleContext) -> None:
    for op in ctx.spec.operations:
        status, codes = _rule_codes(ctx, op.id, trigger="not-acceptable")
        for accept in ("text/html", "application/xml"):
            answer = _get(ctx, op.id, headers={"Accept": accept})
            # Which Accept values a bank refuses is inferred (A-DSOP-009): RFC 9110 lets a
            # server disregard Accept, so serving its own representation only differs.
            _reject(
                ctx,
                answer,
                status,
                codes,
                f"{op.id} with Accept: {accept}",
                refusal_assumption="A-DSOP-009",
            )


def _jwe_answer(ctx: RuleContext) -> ProbeResponse:
    answer = _get(ctx, ACCOUNTS, headers={"Accept": JOSE})
    if answer.status != 200:
        raise ctx.fail(f"Accept: {JOSE}: expected HTTP 200, got {answer.status}", answer)
    if answer.content_type != JOSE:
        raise ctx.fail(f"Accept: {JOSE}: the 200 body is {answer.content_type!r}", answer)
    parts = answer.content.strip().split(b".")
    if len(parts) != 5:
        raise ctx.fail(
            f"the application/jose body has {len(parts)} parts, not 5 (compact JWE)", answer
        )
    return answer


@rule("DSOP-JWE-PRODUCTION")
def jwe_in_production(ctx: RuleContext) -> None:
    answer = _jwe_answer(ctx)
    if ctx.manifest.decryption_key is None:
        ctx.note("no decryption_key: the JWE's shape was checked, not its content")
        return
    ctx.expect_valid(answer, ACCOUNTS, 200)


@rule("DSOP-JWE-CERTPUB")
def jwe_to_consumer_key(ctx: RuleContext) -> None:
    if ctx.manifest.decryption_key is None:
        raise NotApplicable(
            "the manifest gives no decryption_key (the private key of the consumer certificate "
            "the bank finds through CertPub): the JWE's recipient cannot be checked"
        )
    answer = _jwe_answer(ctx)
    answer.json()  # a ProbeError (fail) when the consumer's key cannot decrypt it
    if ctx.manifest.decryption_keys:
        # The probe also tries the other consumers' keys: this answer must open with the main
        # consumer's own.
        try:
            jwe_decrypter(ctx.manifest.decryption_key)(answer.content)
        except Exception as exc:
            raise ctx.fail(
                "the main consumer's JWE is not encrypted to its own key (decryption_key: "
                f"{type(exc).__name__}); another consumer's key opens it",
                answer,
            ) from None


@rule("DSOP-PLAINTEXT-TEST-ONLY")
def plaintext_test_only(ctx: RuleContext) -> None:
    if ctx.manifest.environment == "production":
        status, codes = _rule_codes(ctx, ACCOUNTS, trigger="not-acceptable")
        answer = _get(ctx, ACCOUNTS, headers={"Accept": JSON})
        if answer.status == 200:
            if answer.content_type == JOSE:
                # Plaintext "must not work in production": an encrypted body keeps that too.
                ctx.reading(f"production answers Accept: {JSON} with an {JOSE} body")
                return
            raise ctx.fail(
                f"production served a {answer.content_type!r} 200 body to Accept: {JSON}", answer
            )
        _reject(
            ctx,
            answer,
            status,
            codes,
            f"production request with Accept: {JSON}",
            status_assumption="A-DSOP-009",
        )
        return
    answer = _get(ctx, ACCOUNTS, headers={"Accept": JOSE})
    if answer.status == 200 and answer.content_type != JOSE:
        raise ctx.fail(
            f"Accept: {JOSE} (no plaintext asked for) got a {answer.content_type!r} 200 body",
            answer,
        )
    if answer.status != 200:
        ctx.deviate(
            "A-DSOP-027",
            f"Accept: {JOSE} in the test environment: expected HTTP 200, got {answer.status}",
            answer,
        )


# --- schema -------------------------------------------------------------------------------------


def _without_nulls(node: Any) -> tuple[Any, set[str]]:
    """`node` with every object member whose value is null left out, and those members' names."""
    dropped: set[str] = set()
    if isinstance(node, dict):
        kept = {}
        for key, value in node.items():
            if value is None:
                dropped.add(str(key))
                continue
            kept[key], inner = _without_nulls(value)
            dropped |= inner
        return kept, dropped
    if isinstance(node, list):
        items = []
        for value in node:
            item, inner = _without_nulls(value)
            items.append(item)
            dropped |= inner
        return items, dropped
    return node, dropped


@rule("DSOP-SCHEMA-200")
def bodies_validate(ctx: RuleContext) -> None:
    found = _Findings(ctx)
    for page in _corpus(ctx).pages():
        found.checked += 1
        validator = ctx.spec.validator(ctx.spec.response_schema(page.operation))
        problems = []
        body, nulls = _without_nulls(page.body)
        if nulls:
            # The data-model pages: a missing value is JSON null or a member left out (a closed
            # account's balances "null or omitted"); a required member left null still fails.
            ctx.reading(f"members without data sent as null ({', '.join(sorted(nulls)[:3])})")
        for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
            value = error.instance
            if (
                error.validator == "format"
                and error.validator_value == "date-time"
                and isinstance(value, str)
                and _valid_datetime(value)
            ):
                _docs_datetime_reading(ctx, value)  # DSOP-DATE-FORMATS judges the forms
                continue
            where = "/" + "/".join(str(p) for p in error.absolute_path)
            problems.append(f"{where}: {error.message}")
        for problem in problems[:3]:
            found.problem(page, f"{page.operation} {problem}")
    found.judge()
    # Tier 2: schemathesis over every operation, fixed seed, small budget.
    max_examples = int(ctx.fixtures.get("schemathesis_examples", 3))
    if max_examples > 0:
        run_schemathesis(ctx, checks=("response_schema_conformance",), max_examples=max_examples)


# --- errors -------------------------------------------------------------------------------------


def _provocations(ctx: RuleContext, accept: str) -> list[tuple[str, ProbeResponse]]:
    """One request per kind of error (400, 401, 404, 405, 406)."""
    found = [
        (
            "missing CorrelationID",
            _get(ctx, ACCOUNTS, headers={"CorrelationID": None, "Accept": accept}),
        ),
        ("no token", _get(ctx, ACCOUNTS, headers={"Accept": accept}, auth=False)),
        (
            "DELETE /accounts",
            ctx.probe.request(
                "DELETE",
                "/accounts",
                headers=_headers(ctx, ACCOUNTS, {"Accept": accept}),
                expect_rejection=True,
            ),
        ),
        ("Accept: text/html", _get(ctx, ACCOUNTS, headers={"Accept": "text/html"})),
    ]
    per_account = _per_account(ctx.spec)
    if per_account:
        found.append(
            (
                "unknown accountReference",
                _get(ctx, per_account[0], reference=str(uuid.uuid4()), headers={"Accept": accept}),
            )
        )
    return found


def _errors(
    ctx: RuleContext, provoked: list[tuple[str, ProbeResponse]]
) -> list[tuple[str, ProbeResponse]]:
    """The error answers among `provoked` (what the error rules judge); none is nothing to
    judge: whether each provocation had to be refused is the business of its own rule."""
    errors = [(what, answer) for what, answer in provoked if answer.status >= 400]
    ctx.judged(errors, "error answers to the provocations (each was served)")
    return errors


@rule("DSOP-ERROR-BODY")
def error_body_shape(ctx: RuleContext) -> None:
    for what, answer in _errors(ctx, _provocations(ctx, _accept(ctx))):
        if not answer.content.strip():
            ctx.deviate(
                BODY_ASSUMPTION, f"{what}: the HTTP {answer.status} error has no body", answer
            )
            continue
        try:
            body = json.loads(answer.content)
        except (ValueError, UnicodeDecodeError):
            raise ctx.fail(f"{what}: the HTTP {answer.status} body is not JSON", answer) from None
        if not isinstance(body, Mapping):
            raise ctx.fail(f"{what}: the error body is not a JSON object", answer)
        codes = ctx.spec.code_of(body)
        if not codes:
            ctx.deviate(
                BODY_ASSUMPTION,
                f"{what}: the HTTP {answer.status} body has no code at {ctx.spec.code_pointer}",
                answer,
            )
        for code in codes:
            statuses = ctx.spec.code_status(code)
            if not statuses:
                ctx.deviate(
                    BODY_ASSUMPTION,
                    f"{what}: code {code!r} is not in the publisher's ACC list",
                    answer,
                )
            elif answer.status not in statuses:
                raise ctx.fail(
                    f"{what}: code {code!r} is the publisher's code for HTTP "
                    f"{'/'.join(str(s) for s in statuses)}, not {answer.status}",
                    answer,
                )
        message = body.get("message")
        if not isinstance(message, str) or not message.strip():
            ctx.deviate(
                BODY_ASSUMPTION, f"{what}: the error body has no descriptive message", answer
            )


@rule("DSOP-ERROR-UNENCRYPTED")
def errors_unencrypted(ctx: RuleContext) -> None:
    for what, answer in _errors(ctx, _provocations(ctx, JOSE)):
        if not answer.content.strip():
            # Nothing encrypted, nothing to carry a code either (A-DSOP-040).
            ctx.deviate(
                BODY_ASSUMPTION, f"{what}: the HTTP {answer.status} error has no body", answer
            )
            continue
        if answer.content_type != JSON:
            raise ctx.fail(
                f"{what} (Accept: {JOSE}): the HTTP {answer.status} error is "
                f"{answer.content_type!r}, not {JSON}",
                answer,
            )
        try:
            json.loads(answer.content)
        except (ValueError, UnicodeDecodeError):
            raise ctx.fail(f"{what}: the error body is not plain JSON", answer) from None


# --- 401 / 403 ----------------------------------------------------------------------------------


def _unauthenticated(
    ctx: RuleContext, token: str | None, what: str, operations: Sequence[str]
) -> None:
    for operation in operations:
        status, codes = _rule_codes(ctx, operation, trigger="unauthenticated")
        answer = _get(ctx, operation, auth=False if token is None else token)
        _reject(ctx, answer, status, codes, f"{operation} with {what}")


def _two_operations(spec: Spec) -> list[str]:
    return [ACCOUNTS, *_per_account(spec)[:1]]


@rule("DSOP-ACC-401-MISSING-TOKEN")
def missing_token_401(ctx: RuleContext) -> None:
    _unauthenticated(ctx, None, "no Authorization header", [op.id for op in ctx.spec.operations])
    status, codes = _rule_codes(ctx, ACCOUNTS, trigger="unauthenticated")
    answer = _get(ctx, ACCOUNTS, auth=False, headers={"Authorization": "Basic a29udHJha3Q6eA=="})
    _reject(ctx, answer, status, codes, "a Basic (not bearer) Authorization header")


@rule("DSOP-ACC-401-BAD-SIGNATURE")
def bad_signature_401(ctx: RuleContext) -> None:
    real = ctx.credentials.token()
    variants = {
        "an altered signature": tokens.altered_signature(real),
        "alg: none": tokens.alg_none(real),
        "edited claims under the original signature": tokens.edited_claims(real),
        "a truncated signature": tokens.truncated(real),
    }
    for what, token in variants.items():
        _unauthenticated(ctx, token, f"a token with {what}", _two_operations(ctx.spec))


def _minted(ctx: RuleContext) -> tuple[tokens.Minter, str]:
    minter = ctx.credentials.minter
    if minter is None:
        raise NotApplicable(
            "needs negative_auth.signing_key: an expired, wrong-audience or wrong-issuer token "
            "proves nothing unless it is signed correctly (tampered tokens are covered by "
            "DSOP-ACC-401-BAD-SIGNATURE)"
        )
    template = ctx.credentials.token()
    control = _get(ctx, ACCOUNTS, auth=minter.valid(template))
    if control.status != 200:
        raise RuleError(
            f"a token minted with negative_auth.signing_key is refused (HTTP {control.status}): "
            "the key is not one the provider trusts"
        )
    return minter, template


@rule("DSOP-ACC-401-EXPIRED-TOKEN")
def expired_token_401(ctx: RuleContext) -> None:
    minter, template = _minted(ctx)
    _unauthenticated(ctx, minter.expired(template), "an expired token", _two_operations(ctx.spec))


@rule("DSOP-ACC-401-WRONG-AUDIENCE")
def wrong_audience_401(ctx: RuleContext) -> None:
    minter, template = _minted(ctx)
    token = minter.wrong_audience(template)
    _unauthenticated(ctx, token, "a token for another audience", _two_operations(ctx.spec))


@rule("DSOP-ACC-401-WRONG-ISSUER")
def wrong_issuer_401(ctx: RuleContext) -> None:
    minter, template = _minted(ctx)
    token = minter.wrong_issuer(template)
    _unauthenticated(ctx, token, "a token from another issuer", _two_operations(ctx.spec))


@rule("DSOP-ACC-403-WRONG-SCOPE")
def wrong_scope_403(ctx: RuleContext) -> None:
    if not ctx.has_role("wrong_scope") and ctx.manifest.negative_auth.wrong_scope is None:
        raise NotApplicable(
            "the manifest names neither credentials.wrong_scope (a client without scope "
            "bits:kontoinformasjon) nor negative_auth.wrong_scope (a scope the main client may "
            "ask for instead)"
        )
    token = ctx.credentials.wrong_scope_token()
    for operation in _two_operations(ctx.spec):
        status, codes = _rule_codes(ctx, operation, trigger="forbidden")
        answer = _get(ctx, operation, auth=token)
        _reject(ctx, answer, status, codes, f"{operation} with a token of the wrong scope")


@rule("DSOP-ACC-403-CONSUMER-NOT-ALLOWED")
def consumer_not_allowed_403(ctx: RuleContext) -> None:
    own = _service(ctx)
    # Another service's mandate in a request that is otherwise valid for that service (its
    # OnlyPrimaryOwner, period and RequesterID), so that a 400 can only be about the mandate.
    # A service whose period hangs on an event (a death, a ruling) is borrowed only with its
    # consumer's test data (fixtures.consumers.<service>: a party and a period the event
    # allows). A service of the same consumer organisation is no test: Skatteetaten is the
    # consumer of both Skatt-Kontroll and FI-Utlegg (its Namsmannen), so a bank rightly serves
    # it either mandate.
    consumers = ctx.fixtures.get("consumers") or {}
    others: list[tuple[Service, Mapping[str, Any]]] = []
    for other in _services(ctx.spec).values():
        if (
            other.name == own.name
            or (other.consumer_orgno is not None and other.consumer_orgno == own.consumer_orgno)
            or other.additional_type is not None
            or ACCOUNTS not in other.operations
        ):
            continue
        data = consumers.get(other.name) if isinstance(consumers, Mapping) else None
        if "event" not in other.period:
            others.append((other, data if isinstance(data, Mapping) else {}))
        elif isinstance(data, Mapping) and "party_with_accounts" in data:
            others.append((other, data))
    if not others:
        raise NotApplicable(
            "no other consumer organisation's service without an additional reference to "
            "borrow a mandate from (a service whose period hangs on a death or a ruling needs "
            "fixtures.consumers.<service> with its party_with_accounts and from_date)"
        )
    status, codes = _rule_codes(ctx, ACCOUNTS, trigger="forbidden")
    for other, data in others[:2]:
        start, end = _service_period(other)
        if "from_date" in data:
            start = dt.date.fromisoformat(str(data["from_date"]))
        if "to_date" in data:
            end = dt.date.fromisoformat(str(data["to_date"]))
        headers: dict[str, str | None] = {"Legal-Mandate": quote(other.mandates[0], safe="")}
        if other.requester_required:
            headers["RequesterID"] = str(ctx.fixtures.get("requester_id", "kontrakt-conformance"))
        if "party_with_accounts" in data:
            headers["PartyID"] = str(data["party_with_accounts"])
        params = {
            "OnlyPrimaryOwner": _owner_default(other),
            "fromDate": start.isoformat(),
            "toDate": end.isoformat(),
        }
        answer = _get(ctx, ACCOUNTS, headers=headers, params=params)
        _reject(
            ctx,
            answer,
            status,
            codes,
            f"the {other.name} mandate from a {own.name} consumer",
            reading="a consumer not entitled to the mandate is refused 403 ACC-011",
            also=[_mandate_invalid(ctx, "the consumer's invalid mandate")],
        )


def _mandate_invalid(ctx: RuleContext, what: str) -> Refusal:
    """400 ACC-001 for a mandate that is not valid (for this consumer), A-DSOP-023."""
    status, codes = _rule_codes(
        ctx, ACCOUNTS, trigger="invalid-parameter", parameter="Legal-Mandate"
    )
    return _refusal(status, codes, f"{what} is refused 400 ACC-001 (an invalid input parameter)")


def _mandate_forbidden(ctx: RuleContext, what: str) -> Refusal:
    """403 ACC-011 for a mandate the consumer may not use, A-DSOP-023."""
    status, codes = _rule_codes(ctx, ACCOUNTS, trigger="forbidden")
    return _refusal(status, codes, f"{what} is refused 403 ACC-011 (not authorised)")


@rule("DSOP-TOKEN-CONSUMER-CLAIM")
def consumer_claim_identifies(ctx: RuleContext) -> None:
    minter, template = _minted(ctx)
    claims = tokens.claims_of(template)
    if "consumer" not in claims:
        raise NotApplicable(
            "the main client's token carries no consumer claim (0192:<orgno>) to vary: the "
            "test environment's issuer does not issue what Maskinporten does"
        )
    header = tokens.header_of(template)
    kid = header.get("kid")
    base = {k: v for k, v in claims.items() if k != "jti"}
    # The client_id does not identify the consumer, and client_orgno is deprecated and "will be
    # removed": another client_id and no client_orgno change nothing.
    renamed = {k: v for k, v in base.items() if k != "client_orgno"}
    renamed["client_id"] = "kontrakt-renamed-client"
    answer = _get(ctx, ACCOUNTS, auth=minter.mint(renamed, kid=kid))
    _ok(ctx, answer, "a token with another client_id and no client_orgno but the same consumer")
    # The consumer claim does: another organisation (same client_id) is not entitled.
    stranger = minter.mint(
        {**base, "consumer": {"authority": "iso6523-actorid-upis", "ID": "0192:000000000"}},
        kid=kid,
    )
    answer = _get(ctx, ACCOUNTS, auth=stranger)
    if answer.status == 200:
        raise ctx.fail(
            "a token naming another consumer organisation (same client_id) was served", answer
        )
    without = minter.mint({k: v for k, v in base.items() if k != "consumer"}, kid=kid)
    answer = _get(ctx, ACCOUNTS, auth=without)
    if answer.status == 200:
        raise ctx.fail("a token without a consumer claim was served", answer)


@rule("DSOP-TOKEN-REUSE")
def token_reuse(ctx: RuleContext) -> None:
    # A provider that serves a request without any token accepts every token again: that is
    # no proof that it accepts a valid one more than once.
    control = _get(ctx, ACCOUNTS, auth=False)
    if 200 <= control.status < 300:
        raise NotApplicable(
            f"the provider serves GET /accounts without a token (HTTP {control.status}), so "
            "accepting the same token again proves nothing (see DSOP-ACC-401-MISSING-TOKEN)"
        )
    token = ctx.credentials.token()
    for attempt in range(3):
        answer = _get(ctx, ACCOUNTS, auth=token)
        _list_answer(ctx, answer, ACCOUNTS, f"use {attempt + 1} of the same valid token")


# --- 400 ------------------------------------------------------------------------------------------


def _parameter_cases(
    ctx: RuleContext,
    trigger: str,
    bad_values: Mapping[str, Sequence[str]] | None = None,
    lenient: frozenset[str] = frozenset(),
) -> int:
    """For every operation and every parameter the rule's error uses name: send it missing (or
    with each bad value) and expect the use's status and code. A value in `lenient` is one a
    common parser takes for the format: serving it only differs from A-DSOP-042."""
    checked = 0
    for op in ctx.spec.operations:
        for use in ctx.spec.errors(operation=op.id, rule=ctx.rule.id, trigger=trigger):
            for name in use.parameters:
                parameter = op.parameter(name)
                if parameter is None:
                    continue
                location = parameter.get("in")
                values: Sequence[str | None] = (
                    [None] if bad_values is None else bad_values.get(name, bad_values.get("*", ()))
                )
                for value in values:
                    if location == "header":
                        answer = _get(ctx, op.id, headers={name: value})
                    elif location == "query":
                        answer = _get(ctx, op.id, params={name: value})
                    else:
                        continue
                    what = f"{op.id} with {name} " + (
                        "missing" if value is None else f"= {value!r}"
                    )
                    _reject(
                        ctx,
                        answer,
                        int(use.status),
                        {use.code},
                        what,
                        refusal_assumption=FORMAT_ASSUMPTION if value in lenient else None,
                    )
                    checked += 1
    if checked == 0:
        raise NotApplicable(f"the spec names no parameter for {ctx.rule.id} ({trigger})")
    return checked


@rule("DSOP-ACC-400-MISSING-HEADER")
def missing_header_400(ctx: RuleContext) -> None:
    ctx.note(f"{_parameter_cases(ctx, 'missing-parameter')} request(s) without a required header")


@rule("DSOP-ACC-400-MALFORMED-UUID")
def malformed_uuid_400(ctx: RuleContext) -> None:
    # A UUID is written 8-4-4-4-12; the 32 digits without hyphens are what Python's uuid.UUID
    # and .NET's Guid.Parse take too, so serving them only differs from A-DSOP-042.
    hyphenless = uuid.uuid4().hex
    _parameter_cases(
        ctx,
        "invalid-parameter",
        {"*": ["not-a-uuid", "12345", hyphenless]},
        frozenset({hyphenless}),
    )


@rule("DSOP-ACC-400-MISSING-PARTY")
def missing_party_400(ctx: RuleContext) -> None:
    _parameter_cases(ctx, "missing-parameter")


@rule("DSOP-ACC-400-ONLY-PRIMARY-OWNER")
def only_primary_owner_400(ctx: RuleContext) -> None:
    _parameter_cases(ctx, "missing-parameter")
    # "1" is a boolean to pydantic and many form parsers: serving it only differs (A-DSOP-042).
    _parameter_cases(ctx, "invalid-parameter", {"*": ["maybe", "1"]}, frozenset({"1"}))


@rule("DSOP-ACC-400-DATE-FORMAT")
def date_format_400(ctx: RuleContext) -> None:
    start, _ = _period(ctx)
    basic = start.strftime("%Y%m%d")  # ISO 8601 basic form: date.fromisoformat takes it
    bad = [start.strftime("%d.%m.%Y"), basic, f"{start.year}-13-01"]
    _parameter_cases(ctx, "invalid-parameter", {"*": bad}, frozenset({basic}))


@rule("DSOP-ACC-400-PERIOD-ORDER")
def period_order_400(ctx: RuleContext) -> None:
    start, end = _period(ctx)
    later, earlier = end, end - dt.timedelta(days=7)
    if start > earlier:
        earlier = start
        later = start + dt.timedelta(days=1)
    for op in ctx.spec.operations:
        status, codes = _rule_codes(ctx, op.id, trigger="invalid-combination")
        answer = _get(
            ctx, op.id, params={"fromDate": later.isoformat(), "toDate": earlier.isoformat()}
        )
        _reject(ctx, answer, status, codes, f"{op.id} with fromDate {later} after toDate {earlier}")


def _outside_periods(service: Service, today: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    found: list[tuple[str, dt.date, dt.date]] = []
    earliest = _earliest_from(service, today)
    if earliest is not None:
        found.append(
            ("fromDate a day before the earliest allowed", earliest - dt.timedelta(days=1), today)
        )
    rule_from = service.period.get("from-date", "any")
    rule_to = service.period.get("to-date", "any")
    if rule_to == "today":
        found.append(
            ("toDate yesterday", today - dt.timedelta(days=2), today - dt.timedelta(days=1))
        )
    if rule_from == "today":
        found.append(("fromDate yesterday", today - dt.timedelta(days=1), today))
    if rule_from == "start-of-last-year":
        found.append(
            (
                "fromDate two years back",
                dt.date(today.year - 2, 1, 1),
                dt.date(today.year - 1, 12, 31),
            )
        )
    if rule_to == "end-of-last-year":
        found.append(("toDate this year", dt.date(today.year - 1, 1, 1), dt.date(today.year, 1, 1)))
    return found


@rule("DSOP-ACC-400-PERIOD-SERVICE")
def period_service_400(ctx: RuleContext) -> None:
    service = _service(ctx)
    cases = _outside_periods(service, _today())
    if not cases:
        raise NotApplicable(f"{service.name} has no period rule to break")
    status, codes = _rule_codes(ctx, ACCOUNTS, trigger="invalid-combination")
    for what, start, end in cases:
        answer = _get(
            ctx, ACCOUNTS, params={"fromDate": start.isoformat(), "toDate": end.isoformat()}
        )
        _reject(ctx, answer, status, codes, f"{service.name}: {what} ({start}..{end})")


@rule("DSOP-ACC-400-LEGAL-MANDATE")
def legal_mandate_400(ctx: RuleContext) -> None:
    status, codes = _rule_codes(ctx, ACCOUNTS, trigger="invalid-parameter")
    for value in (quote("Ingen hjemmel for dette oppslaget", safe=""), "%E2%28%A1"):
        answer = _get(ctx, ACCOUNTS, headers={"Legal-Mandate": value})
        _reject(
            ctx,
            answer,
            status,
            codes,
            f"Legal-Mandate {value!r}",
            reading="an invalid Legal-Mandate is refused 400 ACC-001",
            also=[_mandate_forbidden(ctx, "an invalid Legal-Mandate")],
        )


@rule("DSOP-ACC-400-ADDITIONAL-REFERENCE")
def additional_reference_400(ctx: RuleContext) -> None:
    service = _service(ctx)
    parameter = ctx.spec.operation(ACCOUNTS).parameter("AdditionalReferenceIDType")
    enum = [
        str(v) for v in ctx.spec.resolve((parameter or {}).get("schema") or {}).get("enum") or ()
    ]
    status, codes = _rule_codes(ctx, ACCOUNTS, trigger="invalid-combination")
    cases: list[tuple[str, dict[str, str | None]]] = [
        (
            "AdditionalReferenceIDType outside the enum",
            {"AdditionalReferenceIDType": "xyz", "AdditionalReferenceID": "x"},
        ),
    ]
    if service.additional_type is None:
        for value in enum[:1]:
            cases.append(
                (
                    f"an AdditionalReferenceIDType {value} the mandate does not take",
                    {"AdditionalReferenceIDType": value, "AdditionalReferenceID": "12345678901"},
                )
            )  # refused rather than ignored: A-DSOP-029
    else:
        cases.append(
            (
                "no additional reference",
                {"AdditionalReferenceIDType": None, "AdditionalReferenceID": None},
            )
        )
        for value in enum:
            if value != service.additional_type:
                cases.append(
                    (f"AdditionalReferenceIDType {value}", {"AdditionalReferenceIDType": value})
                )
    forbidden = _rule_codes(ctx, ACCOUNTS, trigger="forbidden")
    for index, (what, headers) in enumerate(cases):
        answer = _get(ctx, ACCOUNTS, headers=headers)
        unasked = service.additional_type is None and index > 0
        _reject(
            ctx,
            answer,
            status,
            codes,
            f"{service.name}: {what}",
            reading="a wrong additional reference is refused 400 ACC-001",
            also=[
                _refusal(
                    *forbidden,
                    "a wrong additional reference is refused 403 ACC-011 (not authorised)",
                )
            ],
            refusal_assumption="A-DSOP-029" if unasked else None,
        )


@rule("DSOP-ACC-400-REQUESTER-ID")
def requester_id_400(ctx: RuleContext) -> None:
    service = _service(ctx)
    if not service.requester_required:
        raise NotApplicable(f"{service.name} does not require RequesterID")
    for op in ctx.spec.operations:
        if op.id not in service.operations:
            continue
        status, codes = _rule_codes(
            ctx, op.id, trigger="missing-parameter", parameter="RequesterID"
        )
        answer = _get(ctx, op.id, headers={"RequesterID": None})
        _reject(ctx, answer, status, codes, f"{service.name}: {op.id} without RequesterID")


@rule("DSOP-ACC-400-SERVICE-PRIMARY-OWNER")
def service_primary_owner_400(ctx: RuleContext) -> None:
    service = _service(ctx)
    refused = [v for v in (True, False) if v not in service.only_primary_owner]
    if not refused:
        raise NotApplicable(f"{service.name} accepts OnlyPrimaryOwner true and false")
    status, codes = _rule_codes(
        ctx, ACCOUNTS, trigger="invalid-combination", parameter="OnlyPrimaryOwner"
    )
    for value in refused:
        text = "true" if value else "false"
        answer = _get(ctx, ACCOUNTS, params={"OnlyPrimaryOwner": text})
        _reject(
            ctx,
            answer,
            status,
            codes,
            f"{service.name}: OnlyPrimaryOwner={text}",
            **_owner_readings(ctx),
        )


def _owner_readings(ctx: RuleContext) -> dict[str, Any]:
    """An OnlyPrimaryOwner value the service does not allow: 400 ACC-001 (an invalid
    combination) or 403 ACC-011 (not authorised for it); the service pages name neither."""
    forbidden = _rule_codes(ctx, ACCOUNTS, trigger="forbidden")
    return {
        "reading": "an OnlyPrimaryOwner value outside the service is refused 400 ACC-001",
        "also": [
            _refusal(
                *forbidden,
                "an OnlyPrimaryOwner value outside the service is refused 403 ACC-011",
            )
        ],
    }


@rule("DSOP-ACC-400-SERVICE-ENDPOINT")
def service_endpoint_400(ctx: RuleContext) -> None:
    service = _service(ctx)
    outside = [op.id for op in ctx.spec.operations if op.id not in service.operations]
    if not outside:
        raise NotApplicable(f"every endpoint belongs to {service.name}")
    for operation in outside:
        answer = _get(ctx, operation)
        _reject(
            ctx,
            answer,
            service.outside_status,
            {service.outside_code},
            f"{service.name} calling {operation}, outside its service",
        )


@rule("DSOP-ACC-404-UNKNOWN-REFERENCE")
def unknown_reference_404(ctx: RuleContext) -> None:
    service = _service(ctx)
    for operation in _per_account(ctx.spec):
        if operation not in service.operations:
            continue
        status, codes = _rule_codes(ctx, operation, trigger="not-found")
        invalid = _rule_codes(ctx, operation, trigger="invalid-parameter")
        for reference in (str(uuid.uuid4()), "00000000000"):
            answer = _get(ctx, operation, reference=reference)
            # A reference not in the bank's own format is also "a wrong path parameter" (the
            # publisher's 400 row): either refusal is accepted and reported.
            _reject(
                ctx,
                answer,
                status,
                codes,
                f"{operation} for the unknown accountReference {reference}",
                reading="an unknown accountReference is answered 404",
                also=[
                    _refusal(
                        invalid[0],
                        {"ACC-001"},
                        "an accountReference not in the bank's format is refused 400 ACC-001",
                    )
                ],
            )


# --- empty answers ------------------------------------------------------------------------------


def _accounts_of(ctx: RuleContext, party: str, **params: str | None) -> tuple[ProbeResponse, Any]:
    """GET /accounts for `party`: a 200 account list (responseDetails), or the rule fails."""
    answer = _get(ctx, ACCOUNTS, headers={"PartyID": party}, params=params)
    _list_key(ctx.spec, ACCOUNTS)
    return answer, _list_answer(ctx, answer, ACCOUNTS, f"GET /accounts for party {party}")


def synthetic_party(seed: int) -> str:
    """A synthetic national identity number (Tenor style: month + 80) with valid MOD11 check
    digits, for a party no bank knows: the suite makes its own party without accounts."""
    import random

    rng = random.Random(seed)
    while True:
        day, month, year = rng.randint(1, 28), rng.randint(1, 12) + 80, rng.randint(0, 99)
        individual = rng.randint(500, 749)  # born 1900-1999 ... or 2000-2039 (Skatteetaten)
        digits = [int(c) for c in f"{day:02d}{month:02d}{year:02d}{individual:03d}"]
        k1 = 11 - sum(w * d for w, d in zip((3, 7, 6, 1, 8, 9, 4, 5, 2), digits, strict=True)) % 11
        k1 = 0 if k1 == 11 else k1
        if k1 == 10:
            continue
        digits.append(k1)
        k2 = (
            11
            - sum(w * d for w, d in zip((5, 4, 3, 2, 7, 6, 5, 4, 3, 2), digits, strict=True)) % 11
        )
        k2 = 0 if k2 == 11 else k2
        if k2 == 10:
            continue
        return "".join(str(d) for d in digits) + str(k2)


def _party_without_accounts(ctx: RuleContext) -> str:
    """The fixture, else a synthetic national identity number the suite makes up."""
    if ctx.has_fixture("party_without_accounts"):
        return str(ctx.fixture("party_without_accounts"))
    party = synthetic_party(ctx.seed or 20240320)
    ctx.note(f"no party_without_accounts fixture: used the synthetic party {party}")
    return party


def _optional_party(ctx: RuleContext, name: str) -> str:
    return str(ctx.fixture(name))  # declared optional: missing makes the rule not-applicable


@rule("DSOP-EMPTY-ACCOUNTS-200")
def empty_accounts_200(ctx: RuleContext) -> None:
    party = _party_without_accounts(ctx)
    if not ctx.has_fixture("party_without_accounts"):
        answer = _get(ctx, ACCOUNTS, headers={"PartyID": party})
        if answer.status in (400, 403):
            # The bank may check PartyID against its test population; 404 stays a failure.
            raise NotApplicable(
                f"the bank refuses the suite's synthetic party {party} ({answer.status} "
                f"{_code(ctx, answer)}): name a party without accounts in "
                "fixtures.party_without_accounts"
            )
    answer, body = _accounts_of(ctx, party)
    if _list_of(body, ACCOUNTS):
        raise ctx.fail("the party without accounts got a non-empty account list", answer)


def _transactions_on_day(
    ctx: RuleContext, answer: ProbeResponse, items: list[Any], day: dt.date, operation: str
) -> None:
    """A list asked for one day holds that day's transactions only: one dated neither booked
    nor valued on the day is outside the period (the endpoint returns the transactions of the
    period, OAS2 summary), so the day had no hits and the list should have been empty."""
    outside = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        dates = {
            str(item[name])[:10]
            for name in ("bookingDate", "valueDate")
            if isinstance(item.get(name), str)
        }
        if dates and day.isoformat() not in dates:
            outside.append(f"{item.get('transactionIdentifier')} ({', '.join(sorted(dates))})")
    if outside:
        raise ctx.fail(
            f"{operation} for {day} to {day} lists {len(outside)} transaction(s) dated outside "
            f"the period, e.g. {outside[0]}: a day without hits is an empty list",
            answer,
        )


@rule("DSOP-EMPTY-LIST-200")
def empty_lists_200(ctx: RuleContext) -> None:
    service = _service(ctx)
    if "quiet_date" in ctx.fixtures:
        day = dt.date.fromisoformat(str(ctx.fixtures["quiet_date"]))
    else:
        earliest = _earliest_from(service, _today())
        if earliest is None or service.period.get("to-date", "any") != "any":
            raise NotApplicable(
                f"no quiet_date fixture, and {service.name}'s period rule fixes the dates"
            )
        day = earliest + dt.timedelta(days=SLACK_DAYS)
    empty = 0
    for operation in _per_account(ctx.spec):
        key = _list_key(ctx.spec, operation)
        if key is None or operation not in service.operations:
            continue
        window = {"fromDate": day.isoformat(), "toDate": day.isoformat()}
        answer = _get(ctx, operation, params=window)
        if answer.status == 404 and "quiet_date" not in ctx.fixtures:
            # The default day lies far back: the account may not have existed then, and then
            # every endpoint of it answers 404, its details too. Only a list refused for a
            # day its account is known on is the empty list answered 404.
            details = _get(ctx, DETAILS, params=window)
            if details.status != 200:
                raise NotApplicable(
                    f"account_reference is unknown on {day} (its details answer "
                    f"{details.status}); set quiet_date to a day the account existed"
                )
        body = _list_answer(
            ctx, answer, operation, f"{operation} for a day without activity ({day})"
        )
        value = body.get(key)
        if value is not None and not isinstance(value, list):
            raise ctx.fail(f"{operation}: {key} is not a list", answer)
        if not value:
            empty += 1
        elif key == "transactions":
            _transactions_on_day(ctx, answer, value, day, operation)
    if empty == 0:
        raise NotApplicable(f"no list of account_reference was empty on {day}; set quiet_date")
    ctx.note(f"{empty} empty list(s) answered 200 on {day}")


@rule("DSOP-GUARANTOR-EMPTY")
def guarantor_empty(ctx: RuleContext) -> None:
    party = _optional_party(ctx, "party_guarantor")
    answer, body = _accounts_of(
        ctx,
        party,
        OnlyPrimaryOwner=_owner_default(_service(ctx)),
    )
    if _list_of(body, ACCOUNTS):
        raise ctx.fail("a party who is only a guarantor got accounts", answer)


@rule("DSOP-CO-BORROWER-NO-LOANS")
def co_borrower_no_loans(ctx: RuleContext) -> None:
    party = _optional_party(ctx, "party_co_borrower")
    answer, body = _accounts_of(
        ctx,
        party,
        OnlyPrimaryOwner=_owner_default(_service(ctx)),
    )
    for item in _list_of(body, ACCOUNTS):
        owner = (item.get("primaryOwner") or {}).get("identifier", {}).get("value")
        if item.get("type") == "loanAccount" and owner != party:
            raise ctx.fail(
                f"the loan account {item.get('accountReference')} of another owner is listed "
                "for its co-borrower",
                answer,
            )


@rule("DSOP-SHIELDED-EMPTY")
def shielded_empty(ctx: RuleContext) -> None:
    party = _optional_party(ctx, "party_shielded")
    answer, body = _accounts_of(ctx, party)
    if _list_of(body, ACCOUNTS):
        raise ctx.fail("a party with a confidential address got accounts", answer)
    status = (
        (body.get("responseDetails") or {}).get("status") if isinstance(body, Mapping) else None
    )
    if status != "complete":
        raise ctx.fail(
            f"the shielded party's empty list has status {status!r}, not complete", answer
        )


# --- 429, 500 ---------------------------------------------------------------------------------


THROTTLED_BUDGET = 30  # requests of the throttled client before a 429 is due
LOAD_BUDGET = 200  # requests of the main client under `capability: load`


@rule("DSOP-ACC-429")
def rate_limit_429(ctx: RuleContext) -> None:
    """The throttled client (credentials.throttled), else the main client under a load budget,
    sends plain requests until the bank limits it: that answer must be 429 ACC-022. Any other
    refusal on the way (a 503 without a body, a 500) is not how the publisher limits."""
    throttled = ctx.has_role("throttled")
    explicit = ctx.manifest.capabilities is not None and "load" in ctx.manifest.capabilities
    if not throttled and not ctx.has_fixture("load_requests") and not explicit:
        raise NotApplicable(
            "the manifest names no credentials.throttled (a client the bank's test environment "
            "throttles) and allows no load (fixtures.load_requests or capability `load`)"
        )
    default = THROTTLED_BUDGET if throttled else LOAD_BUDGET
    budget = int(ctx.fixture("load_requests")) if ctx.has_fixture("load_requests") else default
    auth: bool | str = ctx.role_token("throttled") if throttled else True
    who = "the throttled client (credentials.throttled)" if throttled else "the main client"
    status, codes = _rule_codes(ctx, ACCOUNTS, trigger="rate-limited")
    served = 0
    for _ in range(budget):
        answer = ctx.probe.request(
            "GET",
            _path(ctx, ACCOUNTS),
            headers=_headers(ctx, ACCOUNTS),
            params=_params(ctx, ACCOUNTS),
            auth=auth,
            retry_429=False,
        )
        if answer.status == 200:
            served += 1
            continue
        if answer.status == 429:
            _reject(ctx, answer, status, codes, f"{who}, over its limit")
            ctx.note(f"{who}: {served} request(s) served, then 429")
            return
        if served == 0 and 400 <= answer.status < 500:
            # Refused before any limit: the client or the manifest's data do not fit.
            raise RuleError(
                f"{who} is refused on its first plain request (HTTP {answer.status} "
                f"{_code(ctx, answer)}): it must be a client of the {_service(ctx).name} consumer"
            )
        raise ctx.fail(
            f"{who} got HTTP {answer.status} ({_code(ctx, answer)}) after {served} served "
            f"request(s): a consumer over the bank's limits is answered 429 ACC-022",
            answer,
        )
    raise ctx.fail(f"{who}: no 429 within {budget} requests (fixtures.load_requests)")


def _fault(ctx: RuleContext) -> ProbeResponse:
    party = _optional_party(ctx, "fault_party")
    return _get(ctx, ACCOUNTS, headers={"PartyID": party})


@rule("DSOP-ACC-500-SERVER-ERROR")
def server_error_500(ctx: RuleContext) -> None:
    status, codes = _rule_codes(ctx, ACCOUNTS, trigger="server-error")
    # OAS2 declares 500 only; another 5xx for an outage differs from A-DSOP-001.
    answer = _fault(ctx)
    _reject(
        ctx,
        answer,
        status,
        codes,
        "a lookup that fails at the bank (fault_party)",
        status_assumption="A-DSOP-001" if answer.status >= 500 else None,
    )


@rule("DSOP-PARTIAL-NOT-FOR-OUTAGES")
def partial_not_for_outages(ctx: RuleContext) -> None:
    # A provider failing every request fails the fault party's too: that proves nothing.
    control = _get(ctx, ACCOUNTS)
    if control.status != 200:
        raise NotApplicable(
            f"a plain GET /accounts for party_with_accounts is answered {control.status} too, so "
            "the fault party's answer says nothing about outages"
        )
    answer = _fault(ctx)
    if answer.status < 500:
        raise ctx.fail(f"a failing back end answered HTTP {answer.status}, not a 5xx error", answer)


# --- responseDetails --------------------------------------------------------------------------


def _details_of(body: Any) -> Any:
    return body.get("responseDetails") if isinstance(body, Mapping) else None


@rule("DSOP-RESPONSE-DETAILS")
def response_details(ctx: RuleContext) -> None:
    schema = ctx.spec.resolve({"$ref": "#/components/schemas/ResponseDetails"})
    statuses = ctx.spec.resolve(schema["properties"]["status"]).get("enum") or []
    found = _Findings(ctx)
    for page in _corpus(ctx).pages():
        details = _details_of(page.body)
        found.check(isinstance(details, Mapping), page, f"{page.operation}: no responseDetails")
        if not isinstance(details, Mapping):
            continue
        status = details.get("status")
        if status not in statuses:
            found.problem(page, f"{page.operation}: responseDetails.status {status!r}")
        message = details.get("message")
        if message is not None and not (isinstance(message, str) and 1 <= len(message) <= 500):
            found.problem(
                page, f"{page.operation}: responseDetails.message is not 1-500 characters"
            )
    found.judge()


@rule("DSOP-PARTIAL-MESSAGE")
def partial_message(ctx: RuleContext) -> None:
    bodies: list[tuple[Any, ProbeResponse]] = [(p.body, p.response) for p in _corpus(ctx).pages()]
    if "party_partial" in ctx.fixtures:
        answer, body = _accounts_of(ctx, str(ctx.fixtures["party_partial"]))
        bodies.append((body, answer))
    partial = 0
    for body, answer in bodies:
        details = _details_of(body)
        if isinstance(details, Mapping) and details.get("status") == "partial":
            partial += 1
            if not str(details.get("message") or "").strip():
                raise ctx.fail("a partial response gives no message", answer)
    if partial == 0:
        raise NotApplicable("no partial response seen (fixture party_partial)")


@rule("DSOP-PAGE-NOT-BY-STATUS")
def page_not_by_status(ctx: RuleContext) -> None:
    multi = 0
    for walk in _corpus(ctx).walks():
        if len(walk.pages) < 2:
            continue
        multi += 1
        last = (_details_of(walk.pages[-1].body) or {}).get("status")
        for page in walk.pages[:-1]:
            status = (_details_of(page.body) or {}).get("status")
            if status != last:
                raise ctx.fail(
                    f"{walk.operation}: a page with a next link says {status!r}, the last page "
                    f"{last!r} (status used as a paging signal)",
                    page.response,
                    walk.pages[-1].response,
                )
    if multi == 0:
        raise NotApplicable("no list had more than one page")


# --- values -----------------------------------------------------------------------------------


@rule("DSOP-ENUMS")
def enums(ctx: RuleContext) -> None:
    found = _Findings(ctx)
    for page, path, _, node, value, _ in _corpus_nodes(ctx):
        if "enum" in node and not isinstance(value, Mapping | list):
            message = f"{page.operation} {path} = {value!r} is not one of the listed values"
            found.check(value in node["enum"], page, message)
    found.judge()


@rule("DSOP-PATTERNS")
def patterns(ctx: RuleContext) -> None:
    found = _Findings(ctx)
    for page, path, _, node, value, _ in _corpus_nodes(ctx):
        pattern = node.get("pattern")
        if not isinstance(pattern, str) or "A-Z" not in pattern or not isinstance(value, str):
            continue
        message = f"{page.operation} {path} = {value!r} does not match {pattern}"
        found.check(re.fullmatch(pattern, value) is not None, page, message)
    found.judge()


def _valid_date(value: str) -> bool:
    if not ISO_DATE.match(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _valid_datetime(value: str) -> bool:
    """An RFC 3339 date-time, or one of the forms the DSOP data-model pages write (an offset of
    hours only, or none)."""
    found = DOCS_DATETIME.match(value)
    if not found:
        return False
    day, clock, fraction, zone = found.group(1), found.group(2), found.group(3), found.group(4)
    offset = "+00:00" if zone is None or zone.upper() == "Z" else zone
    if len(offset) == 3:
        offset += ":00"
    elif ":" not in offset:
        offset = f"{offset[:3]}:{offset[3:]}"
    try:
        dt.datetime.fromisoformat(f"{day}T{clock}{fraction or ''}{offset}")
    except ValueError:
        return False
    return True


def _docs_datetime_reading(ctx: RuleContext, value: str) -> None:
    """Report a timestamp written as the data-model pages do, not as RFC 3339."""
    if RFC3339.match(value):
        return
    zone = DOCS_DATETIME.match(value)
    if zone is not None and zone.group(4) is None:
        ctx.reading("timestamps without an offset (yyyy-mm-ddThh:mm:ss, the data-model pages)")
    else:
        ctx.reading("timestamps with an offset of hours only (e.g. +02, the data-model pages)")


@rule("DSOP-DATE-FORMATS")
def date_formats(ctx: RuleContext) -> None:
    found = _Findings(ctx)
    for page, path, _, node, value, name in _corpus_nodes(ctx):
        if not isinstance(value, str):
            continue
        where = f"{page.operation} {path} = {value!r}"
        kind = node.get("format")
        if kind == "date":
            found.check(_valid_date(value), page, f"{where} is not YYYY-MM-DD")
        elif kind == "date-time":
            ok = _valid_datetime(value)
            found.check(ok, page, f"{where} is not a date-time (RFC 3339, or +hh / no offset)")
            if ok:
                _docs_datetime_reading(ctx, value)
        elif name == "ISOYearMonth":
            found.check(bool(YEAR_MONTH.match(value)), page, f"{where} is not YYYY-MM")
    found.judge()


@rule("DSOP-AMOUNT-SIGN")
def amount_sign(ctx: RuleContext) -> None:
    found = _Findings(ctx)
    for page, path, _, node, value, name in _corpus_nodes(ctx):
        if "minimum" in node and isinstance(value, int | float) and not isinstance(value, bool):
            message = f"{page.operation} {path} = {value} is negative"
            found.check(value >= node["minimum"], page, message)
        if (
            isinstance(value, Mapping)
            and "amount" in value
            and "creditDebitIndicator" in (node.get("properties") or {})
            and "creditDebitIndicator" not in value
        ):
            message = f"{page.operation} {path}: an amount without creditDebitIndicator"
            if name == "Balance":  # every Balance member is D (FACTS §3.3)
                ctx.deviate("A-DSOP-041", message, page.response)
            else:  # a transaction's creditDebitIndicator is MC
                found.problem(page, message)
    found.judge()


@rule("DSOP-CARD-MASKED")
def card_masked(ctx: RuleContext) -> None:
    found = _Findings(ctx)
    for page, path, _, _, value, _ in _corpus_nodes(ctx):
        if path.endswith("/cardIdentifier") and isinstance(value, str):
            message = f"{page.operation} {path} = {value[:6]}... is not masked (6 + X + 4)"
            found.check(bool(MASKED_CARD.match(value)), page, message)
    found.judge()


@rule("DSOP-CARD-DATES")
def card_dates(ctx: RuleContext) -> None:
    found = _Findings(ctx)
    pages = [p for p in _corpus(ctx).pages() if p.operation != ACCOUNTS]
    for page, path, _, node, value, _ in _walk_pages(ctx, pages):
        if not isinstance(value, Mapping) or "cardIdentifier" not in (node.get("properties") or {}):
            continue
        for key in ("startDate", "expiryDate"):
            if key in value:
                month = value[key]
                ok = isinstance(month, str) and bool(YEAR_MONTH.match(month))
                found.check(ok, page, f"{page.operation} {path}/{key} = {month!r} is not YYYY-MM")
        if "versionNumber" in value:
            version = value["versionNumber"]
            ok = isinstance(version, str) and len(version) == 1
            message = f"{page.operation} {path}/versionNumber = {version!r} is not one character"
            found.check(ok, page, message)
    found.judge()


@rule("DSOP-END-AFTER-START")
def end_after_start(ctx: RuleContext) -> None:
    corpus = _corpus(ctx)
    _, period_end = corpus.period
    found = _Findings(ctx)
    dated = 0
    for page, path, _, node, value, _ in _walk_pages(ctx, list(corpus.pages())):
        props = node.get("properties") or {}
        if not isinstance(value, Mapping) or "endDate" not in props or "startDate" not in props:
            continue
        if "cardIdentifier" in props:
            continue  # card months: DSOP-CARD-DATES
        dated += 1
        end, start = value.get("endDate"), value.get("startDate")
        if not isinstance(end, str):
            continue
        message = f"{page.operation} {path}: endDate {end} is not after startDate {start}"
        found.check(not (isinstance(start, str) and end <= start), page, message)
        if end > period_end.isoformat():
            # Judging "still open" at the period's end (not today) is A-DSOP-036.
            message = f"{page.operation} {path}: endDate {end} lies after the period (still open)"
            ctx.deviate("A-DSOP-036", message, page.response)
    ctx.judged(range(dated), "accounts, owners or roles in the 200 bodies")
    if found.checked == 0:
        ctx.note(f"no endDate on the {dated} account(s), owner(s) and role(s): all open")
        found.checked = 1  # open accounts and roles: judged, and none has an end
    found.judge()


@rule("DSOP-ACCOUNT-REFERENCE-OPAQUE")
def account_reference_opaque(ctx: RuleContext) -> None:
    found = _Findings(ctx)
    for page, path, raw, _, value, _ in _corpus_nodes(ctx):
        other = raw.get("x-kontrakt-distinct-from")
        if not isinstance(other, str) or not isinstance(value, str):
            continue
        parent = page.body
        for part in path.strip("/").split("/")[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        number = parent.get(other) if isinstance(parent, Mapping) else None
        if not isinstance(number, str) or value in PREDEFINED_REFERENCES:
            continue
        message = f"{page.operation} {path} = {value!r} reveals {other} {number}"
        found.check(not _reveals(value, number), page, message)
    found.judge()


def _reveals(reference: str, number: str) -> bool:
    """Whether `reference` is the account number or simply decodes to it."""
    digits = "".join(ch for ch in number if ch.isdigit())
    candidates = [reference, reference.lower(), "".join(ch for ch in reference if ch.isdigit())]
    compact = reference.replace("-", "")
    padded = compact + "=" * (-len(compact) % 4)
    decoders: list[Callable[[], bytes]] = [
        lambda: base64.b64decode(padded),
        lambda: base64.urlsafe_b64decode(padded),
        lambda: base64.b32decode(compact + "=" * (-len(compact) % 8), casefold=True),
        lambda: bytes.fromhex(compact),
    ]
    for decode in decoders:
        try:
            candidates.append(decode().decode("latin-1"))
        except (ValueError, binascii.Error):
            continue
    return any(number in c or (len(digits) >= 8 and digits in c) for c in candidates)


@rule("DSOP-ACCOUNT-REFERENCE-USABLE")
def account_reference_usable(ctx: RuleContext) -> None:
    corpus = _corpus(ctx)
    listed = [
        item.get("accountReference")
        for _, item in corpus.accounts.items
        if isinstance(item, Mapping) and item.get("accountReference") not in PREDEFINED_REFERENCES
    ]
    # party_with_accounts is the manifest's promise of a party with accounts.
    ctx.judged(listed, "accountReference listed for party_with_accounts", must_exist=True)
    if corpus.failures:
        ref, answer = corpus.failures[0]
        raise ctx.fail(
            f"the accountReference {ref} from /accounts is refused ({answer.status})", answer
        )
    for walk in corpus.transactions:
        if walk.problem_response is not None and not walk.pages:
            raise ctx.fail(
                f"{walk.operation} refused a listed accountReference: {walk.problem}",
                walk.problem_response,
            )
    ctx.note(f"{len(corpus.references)} accountReference(s) used")


@rule("DSOP-ONLY-PRIMARY-OWNER-FILTER")
def only_primary_owner_filter(ctx: RuleContext) -> None:
    service = _service(ctx)
    party = str(ctx.fixture("party_with_accounts"))
    owned = _walk(ctx, ACCOUNTS, params={"OnlyPrimaryOwner": "true"})
    if owned.problem_response is not None and not owned.pages:
        raise ctx.fail(f"OnlyPrimaryOwner=true: {owned.problem}", owned.problem_response)
    for page in owned.pages:
        _list_answer(ctx, page.response, ACCOUNTS, "OnlyPrimaryOwner=true")
    judged = 0
    for page, item in owned.items:
        owner = ((item.get("primaryOwner") or {}).get("identifier") or {}).get("value")
        if owner is not None:
            judged += 1
        if owner is not None and owner != party:
            raise ctx.fail(
                f"OnlyPrimaryOwner=true lists {item.get('accountReference')}, whose primary owner "
                "is another party",
                page.response,
            )
    if False not in service.only_primary_owner:
        # party_with_accounts promises accounts; this service sees only those it owns.
        ctx.judged(
            owned.items,
            "accounts of party_with_accounts with OnlyPrimaryOwner=true",
            must_exist=True,
        )
        return
    everything = _walk(ctx, ACCOUNTS, params={"OnlyPrimaryOwner": "false"})
    if everything.problem_response is not None and not everything.pages:
        raise ctx.fail(f"OnlyPrimaryOwner=false: {everything.problem}", everything.problem_response)
    for page in everything.pages:
        _list_answer(ctx, page.response, ACCOUNTS, "OnlyPrimaryOwner=false")
    ctx.judged(
        everything.items,
        "accounts of party_with_accounts with OnlyPrimaryOwner=false",
        must_exist=True,
    )
    listed = {i.get("accountReference") for _, i in everything.items}
    ctx.note(
        f"{judged} primary owner(s) compared, {len(owned.items)} owned account(s) found in the full list"
    )
    for page, item in owned.items:
        if item.get("accountReference") not in listed:
            raise ctx.fail(
                f"{item.get('accountReference')} is listed with OnlyPrimaryOwner=true but not with false",
                page.response,
            )


# --- balances ---------------------------------------------------------------------------------


def _open_accounts(ctx: RuleContext) -> list[Page]:
    found = []
    for page in _corpus(ctx).details:
        account = page.body.get("account") if isinstance(page.body, Mapping) else None
        if (
            not isinstance(account, Mapping)
            or account.get("endDate")
            or account.get("status") == "deleted"
        ):
            continue
        if account.get("type") == "accountWithoutBalance":
            continue
        found.append(page)
    return found


def _balance_types(body: Any) -> set[str]:
    account = body.get("account") if isinstance(body, Mapping) else None
    balances = account.get("balances") if isinstance(account, Mapping) else None
    return {str(b.get("type")) for b in balances or () if isinstance(b, Mapping)}


@rule("DSOP-BALANCES-TODAY")
def balances_today(ctx: RuleContext) -> None:
    _, end = _corpus(ctx).period
    if end < _today():
        raise NotApplicable("the service's period does not end today")
    pages = _open_accounts(ctx)
    for page in pages:
        missing = {"availableBalance", "bookedBalance"} - _balance_types(page.body)
        if missing:
            raise ctx.fail(
                f"a request ending today lacks {', '.join(sorted(missing))}", page.response
            )
    if not pages:
        raise NotApplicable("no open account with balances among the details")


def _historical(ctx: RuleContext) -> tuple[dt.date, dt.date]:
    service = _service(ctx)
    start, end = _period(ctx)
    if service.period.get("to-date", "any") != "any":
        raise NotApplicable(f"{service.name} fixes toDate")
    to = end - dt.timedelta(days=30)
    return min(start, to - dt.timedelta(days=30)), to


@rule("DSOP-BALANCES-HISTORICAL")
def balances_historical(ctx: RuleContext) -> None:
    start, to = _historical(ctx)
    params = {"fromDate": start.isoformat(), "toDate": to.isoformat()}
    answer = _get(ctx, DETAILS, params=params)
    body = _ok(ctx, answer, f"details for the period {start}..{to}")
    if "bookedBalance" not in _balance_types(body):
        raise ctx.fail(f"a period ending {to} has no bookedBalance", answer)


@rule("DSOP-PERIOD-END-VALUE")
def period_end_value(ctx: RuleContext) -> None:
    start, to = _historical(ctx)
    answer = _get(ctx, DETAILS, params={"fromDate": start.isoformat(), "toDate": to.isoformat()})
    body = _ok(ctx, answer, f"details for the period {start}..{to}")
    account = body.get("account") if isinstance(body, Mapping) else None
    checked = 0
    for balance in (account or {}).get("balances") or ():
        registered = balance.get("registered") if isinstance(balance, Mapping) else None
        if isinstance(registered, str) and len(registered) >= 10:
            checked += 1
            if registered[:10] > to.isoformat():
                # That `registered` dates the value (not the moment it was computed) is ours.
                raise ctx.fail(
                    f"the {balance.get('type')} of a period ending {to} is registered {registered} "
                    "(a value after the period's end)",
                    answer,
                    assumption="A-DSOP-033",
                )
    if checked == 0:
        raise NotApplicable("the historical details carry no registered balance timestamps")


@rule("DSOP-BALANCES-CLOSED")
def balances_closed(ctx: RuleContext) -> None:
    start, end = _corpus(ctx).period
    closed = 0
    for page in _corpus(ctx).details:
        account = page.body.get("account") if isinstance(page.body, Mapping) else None
        if not isinstance(account, Mapping):
            continue
        end_date = account.get("endDate")
        if isinstance(end_date, str) and start.isoformat() <= end_date <= end.isoformat():
            closed += 1
            if account.get("balances"):
                raise ctx.fail(f"the account closed on {end_date} carries balances", page.response)
    if closed == 0:
        raise NotApplicable("no account closed within the period among the details")


@rule("DSOP-PERIOD-DEFAULT-TODAY")
def period_default_today(ctx: RuleContext) -> None:
    today = _today().isoformat()
    dated = _get(ctx, DETAILS, params={"fromDate": today, "toDate": today})
    undated = _get(ctx, DETAILS, params={"fromDate": None, "toDate": None})
    if undated.status == 400 and dated.status == 200:
        # OAS2 makes the dates optional (today by default), the data-model pages mark them M:
        # a bank demanding them follows the pages, and has no default to judge (A-DSOP-012).
        ctx.reading("fromDate/toDate are required (the data-model pages mark them M)")
        raise NotApplicable("the provider requires fromDate and toDate: no default to judge")
    for answer, what in ((dated, "details for today"), (undated, "details without dates")):
        body = _ok(ctx, answer, what)
        if not isinstance(body, Mapping) or not isinstance(body.get("account"), Mapping):
            raise ctx.fail(f"{what}: the 200 body holds no account to compare", answer)
    with_dates = _balance_types(dated.json())
    without = _balance_types(undated.json())
    if with_dates != without:
        raise ctx.fail(
            f"without dates the balances are {sorted(without)}, for today {sorted(with_dates)}",
            undated,
            dated,
        )
    listed_today = _get(ctx, ACCOUNTS, params={"fromDate": today, "toDate": today})
    listed = _get(ctx, ACCOUNTS, params={"fromDate": None, "toDate": None})
    _list_key(ctx.spec, ACCOUNTS)
    a = {
        i.get("accountReference")
        for i in _list_of(_list_answer(ctx, listed_today, ACCOUNTS, "accounts for today"), ACCOUNTS)
    }
    b = {
        i.get("accountReference")
        for i in _list_of(_list_answer(ctx, listed, ACCOUNTS, "accounts without dates"), ACCOUNTS)
    }
    if a != b:
        raise ctx.fail(
            "GET /accounts without dates lists other accounts than for today", listed, listed_today
        )


# --- transactions and pagination --------------------------------------------------------------


@rule("DSOP-TRANSACTION-STATUS")
def transaction_status(ctx: RuleContext) -> None:
    checked = 0
    for walk in _corpus(ctx).transactions:
        for page, item in walk.items:
            checked += 1
            status = item.get("status") if isinstance(item, Mapping) else None
            if status is None:
                raise ctx.fail(
                    f"transaction {item.get('transactionIdentifier')} has no status", page.response
                )
            if status == "booked" and not item.get("bookingDate"):
                raise ctx.fail(
                    f"booked transaction {item.get('transactionIdentifier')} has no bookingDate",
                    page.response,
                )
    if checked == 0:
        raise NotApplicable("no transactions in the period")


@rule("DSOP-PAGINATE-TRANSACTIONS")
def paginate_transactions(ctx: RuleContext) -> None:
    if "expected_transactions" not in ctx.fixtures:
        raise NotApplicable("the manifest provides no fixture 'expected_transactions'")
    expected = int(ctx.fixtures["expected_transactions"])
    reference = _account_reference(ctx)
    operation = next(
        (
            op.id
            for op in ctx.spec.operations
            if op.id in _per_account(ctx.spec)
            and "links"
            in (ctx.spec.resolve(ctx.spec.response_schema(op.id)).get("properties") or {})
        ),
        None,
    )
    if operation is None:
        raise NotApplicable("no paged per-account list")
    walk = _walk(ctx, operation, reference=reference)
    total = len(walk.items)
    if total < expected:
        evidence = [p.response for p in walk.pages[-1:]]
        raise ctx.fail(
            f"{total} transaction(s) reachable through the pages, the account has at least {expected} "
            "(a page without its next link?)",
            *evidence,
        )
    ctx.note(f"{total} transactions over {len(walk.pages)} page(s)")


@rule("DSOP-PAGE-SIZE")
def page_size(ctx: RuleContext) -> None:
    multi = 0
    for walk in _corpus(ctx).transactions:
        for page in walk.pages[:-1]:
            multi += 1
            size = len(_list_of(page.body, walk.operation))
            if size < 1000:
                raise ctx.fail(
                    f"a transaction page with a next link holds {size} items (< 1000)",
                    page.response,
                )
    ctx.judged(range(multi), "transaction list with more than one page")


@rule("DSOP-PAGE-LINKS-RELATIVE")
def page_links_relative(ctx: RuleContext) -> None:
    checked = 0
    for walk, page, link in _corpus_links(ctx):
        checked += 1
        href = str(link.get("href", ""))
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not href:
            raise ctx.fail(
                f"{walk.operation}: the {link.get('rel')} link {href!r} is not relative",
                page.response,
            )
    if checked == 0:
        raise NotApplicable("no links in any list")


@rule("DSOP-PAGE-RELS")
def page_rels(ctx: RuleContext) -> None:
    checked = 0
    for walk, page, link in _corpus_links(ctx):
        checked += 1
        if link.get("rel") not in PAGE_RELS:
            raise ctx.fail(
                f"{walk.operation}: link rel {link.get('rel')!r} is not one of {', '.join(PAGE_RELS)}",
                page.response,
            )
    if checked == 0:
        raise NotApplicable("no links in any list")


@rule("DSOP-PAGE-NEXT-TERMINATES")
def page_next_terminates(ctx: RuleContext) -> None:
    walks = _corpus(ctx).walks()
    for walk in walks:
        if walk.problem is not None and walk.pages and walk.problem_response is not None:
            raise ctx.fail(f"{walk.operation}: {walk.problem}", walk.problem_response)
    paged = [w for w in walks if len(w.pages) > 1]
    ctx.judged(paged, "list with a next link")
    ctx.note(f"{len(paged)} paged list(s) walked to their last page")


@rule("DSOP-PAGE-NO-DUPLICATES")
def page_no_duplicates(ctx: RuleContext) -> None:
    paged = [w for w in _corpus(ctx).walks() if len(w.pages) > 1]
    ctx.judged(paged, "list with more than one page")
    for walk in paged:
        seen: dict[str, Page] = {}
        for page, item in walk.items:
            if not isinstance(item, Mapping):
                continue
            key = item.get("transactionIdentifier") or item.get("accountReference")
            if not isinstance(key, str):
                continue
            if key in seen and seen[key] is not page:
                raise ctx.fail(
                    f"{walk.operation}: {key} appears on two pages",
                    seen[key].response,
                    page.response,
                )
            seen[key] = page


# --- the services: one consumer view per service ----------------------------------------------


@dataclass
class Politi:
    """Signs Politi-Utlevering extradition orders for one consumer view (FACTS §6.1)."""

    key: extradition.OrderKey
    reasons: Mapping[str, str]
    service: Service
    party: str
    today: dt.date

    @property
    def earliest(self) -> dt.date:
        return _earliest_from(self.service, self.today) or self.today - dt.timedelta(days=3650)

    def reason(self, mandate: str) -> str:
        if mandate not in self.reasons:
            raise RuleError(f"fixture extradition_order_reasons gives no reason for {mandate!r}")
        return str(self.reasons[mandate])

    def claims(self, **changes: Any) -> dict[str, Any]:
        """A valid order for the view's party over every day the service allows; `changes`
        are order_claims arguments or claims to replace."""
        mandate = str(changes.pop("mandate", self.service.mandates[0]))
        arguments: dict[str, Any] = {
            "mandate": mandate,
            "reason": self.reason(mandate),
            "from_date": self.earliest + dt.timedelta(days=SLACK_DAYS),
            "to_date": self.today,
        }
        arguments.update(changes)
        party = str(arguments.pop("party", self.party))
        return extradition.order_claims(party, **arguments)

    def order(self, **changes: Any) -> str:
        return extradition.sign_order(self.claims(**changes), self.key)


@dataclass
class Consumer:
    """One service consumer's view: a context whose fixtures are that consumer's, its token."""

    ctx: RuleContext
    service: Service
    auth: bool | str
    politi: Politi | None = None

    def get(
        self,
        operation: str,
        *,
        reference: str | None = None,
        headers: Mapping[str, str | None] | None = None,
        params: Mapping[str, str | None] | None = None,
        order: str | None = None,
    ) -> ProbeResponse:
        """A request of this consumer; for Politi with a fresh order matching its mandate
        unless `order` (a signed order) or an AdditionalReferenceID header is given."""
        extra = dict(headers or {})
        if self.politi is not None and "AdditionalReferenceID" not in extra:
            if order is None:
                chosen = extra.get("Legal-Mandate")
                mandate = unquote(chosen) if chosen else unquote(_mandate(self.ctx, self.service))
                order = self.politi.order(mandate=mandate)
            extra["AdditionalReferenceID"] = quote(order, safe="")
        return _get(
            self.ctx, operation, reference=reference, headers=extra, params=params, auth=self.auth
        )


# Fixtures that describe one consumer's test data: a view of another service drops them and
# takes the ones of `fixtures.consumers.<service>` instead.
CONSUMER_FIXTURES = frozenset(
    {
        "service",
        "party_with_accounts",
        "party_without_accounts",
        "account_reference",
        "closed_account_reference",
        "additional_reference_id",
        "from_date",
        "to_date",
        "quiet_date",
        "expected_transactions",
        "unmanaged_account_reference",
        "party_without_ruling",
        "unconfirmed_account_reference",
    }
)


def _order_key(ctx: RuleContext) -> extradition.OrderKey | None:
    if "extradition_order_key" not in ctx.fixtures:
        return None
    chain = ctx.fixture("extradition_order_certificates")
    names = chain if isinstance(chain, list) else [chain]
    paths = [ctx.fixture_path("extradition_order_certificates", value) for value in names]
    try:
        return extradition.load_order_key(
            ctx.fixture_path("extradition_order_key"),
            paths,
            str(ctx.fixture("extradition_order_kid")),
        )
    except ValueError as exc:
        raise RuleError(f"the extradition order key fixtures do not load: {exc}") from None


def consumer_role(service: str) -> str:
    """The credential role of a service's consumer: `credentials.fi_utlegg` for FI-Utlegg (the
    service name itself, `credentials.FI-Utlegg`, is read too)."""
    return service.lower().replace("-", "_")


def _consumer(ctx: RuleContext, name: str) -> Consumer:
    """The view of the consumer of service `name`: the manifest's own (fixture `service`), or
    `credentials.<name>` with `fixtures.consumers.<name>`; NotApplicable without either."""
    services = _services(ctx.spec)
    if name not in services:
        raise RuleError(f"{name} is not a service of x-kontrakt-services")
    service = services[name]
    auth: bool | str = True
    if ctx.fixtures.get("service") == name:
        view = ctx
    elif ctx.has_role(consumer_role(name)) or ctx.manifest.credentials.get(name):
        role = consumer_role(name) if ctx.has_role(consumer_role(name)) else name
        own = (ctx.fixtures.get("consumers") or {}).get(name)
        if not isinstance(own, Mapping):
            raise RuleError(f"credentials.{role} has no fixtures.consumers.{name} (its test data)")
        fixtures = {k: v for k, v in ctx.fixtures.items() if k not in CONSUMER_FIXTURES}
        fixtures.update({str(k): v for k, v in own.items()})
        fixtures["service"] = name
        manifest = ctx.manifest.model_copy(update={"fixtures": fixtures})
        view = dataclasses.replace(ctx, manifest=manifest, notes=ctx.notes)
        try:
            auth = ctx.credentials.named_token(role)
        except tokens.AuthUnavailable as exc:
            raise RuleError(f"credentials.{role}: {exc}") from None
    else:
        raise NotApplicable(
            f"the manifest names no consumer of {name} (fixture service, or "
            f"credentials.{consumer_role(name)} with fixtures.consumers.{name})"
        )
    politi = None
    if service.additional_type == POLITI_REFERENCE_TYPE:
        key = _order_key(view)
        if key is not None:
            reasons = view.fixture("extradition_order_reasons")
            if not isinstance(reasons, Mapping):
                raise RuleError("fixture extradition_order_reasons must map mandate -> reason")
            politi = Politi(
                key, reasons, service, str(view.fixture("party_with_accounts")), _today()
            )
            fixtures = {**view.fixtures, "additional_reference_id": politi.order()}
            view = dataclasses.replace(
                view,
                manifest=view.manifest.model_copy(update={"fixtures": fixtures}),
                notes=ctx.notes,
            )
    consumer = Consumer(view, service, auth, politi)
    if view is not ctx and "account_reference" not in view.fixtures:
        # The consumer's own accountReference, from its own GET /accounts.
        known = _REFERENCES.setdefault(ctx.probe, {})
        seen = (name, str(view.fixtures.get("party_with_accounts")))
        if seen not in known:
            answer = consumer.get(ACCOUNTS)
            _list_key(view.spec, ACCOUNTS)
            listed = sorted(_references(view.spec, answer.json())) if answer.status == 200 else []
            known[seen] = next((r for r in listed if r not in PREDEFINED_REFERENCES), None)
        if known[seen] is not None:
            fixtures = {**view.fixtures, "account_reference": known[seen]}
            view = dataclasses.replace(
                view,
                manifest=view.manifest.model_copy(update={"fixtures": fixtures}),
                notes=ctx.notes,
            )
            consumer = Consumer(view, service, auth, politi)
    return consumer


def _service_profile(ctx: RuleContext, name: str) -> None:
    consumer = _consumer(ctx, name)
    service, view = consumer.service, consumer.ctx
    if service.additional_type is not None and "additional_reference_id" not in view.fixtures:
        raise NotApplicable(
            f"{name} needs the fixture additional_reference_id"
            + (" (or extradition_order_key)" if service.additional_type == "pol1" else "")
        )
    for op in view.spec.operations:
        if op.id in service.operations:
            _ok(view, consumer.get(op.id), f"{name} calling {op.id}")
        else:
            _reject(
                view,
                consumer.get(op.id),
                service.outside_status,
                {service.outside_code},
                f"{name} calling {op.id}",
            )
    if service.additional_type == POLITI_REFERENCE_TYPE and consumer.politi is None:
        mandates = [unquote(_mandate(view, service))]  # a fixed order names one mandate
        view.note("a fixed additional_reference_id: only its mandate is tried")
    else:
        mandates = list(service.mandates)
    _service_mandates(ctx, consumer, mandates)
    for value in (True, False):
        text = "true" if value else "false"
        answer = consumer.get(ACCOUNTS, params={"OnlyPrimaryOwner": text})
        if value in service.only_primary_owner:
            _ok(view, answer, f"{name} with OnlyPrimaryOwner={text}")
        else:
            _reject(
                view,
                answer,
                400,
                view.spec.error_codes(operation=ACCOUNTS, trigger="invalid-combination"),
                f"{name} with OnlyPrimaryOwner={text}",
                **_owner_readings(view),
            )
    if service.requester_required:
        answer = consumer.get(ACCOUNTS, headers={"RequesterID": None})
        _reject(
            view,
            answer,
            400,
            view.spec.error_codes(operation=ACCOUNTS, trigger="missing-parameter"),
            f"{name} without RequesterID",
        )
    earliest = _earliest_from(service, _today())
    if earliest is not None and "from_date" not in view.fixtures:
        # A week inside the limit: "10 years back" may be counted in calendar years or days.
        early = earliest + dt.timedelta(days=SLACK_DAYS)
        answer = consumer.get(ACCOUNTS, params={"fromDate": early.isoformat()})
        _ok(view, answer, f"{name} with a fromDate a week inside the earliest allowed ({early})")


def _spellings(mandate: str) -> list[str]:
    """The spellings of a mandate text the publisher's pages use for it: as written, with
    whitespace runs collapsed, and with and without a space after each section sign."""
    text = " ".join(mandate.split())
    spaced = re.sub(r"§\s*(?=\w)", "§ ", text)
    tight = re.sub(r"§\s+(?=\w)", "§", text)
    return list(dict.fromkeys([mandate, text, spaced, tight]))


def _service_mandates(ctx: RuleContext, consumer: Consumer, mandates: Sequence[str]) -> None:
    """Each mandate text of the service is accepted in one of its spellings. Where the service
    page gives two texts (Skatt-Kontroll, A-DSOP-015) a provider knowing one follows one
    reading of the page: knowing none of a service's texts fails."""
    view, name = consumer.ctx, consumer.service.name
    known: list[str] = []
    unknown: list[tuple[str, ProbeResponse]] = []
    for mandate in mandates:
        refused: ProbeResponse | None = None
        for spelling in _spellings(mandate):
            answer = consumer.get(ACCOUNTS, headers={"Legal-Mandate": quote(spelling, safe="")})
            if answer.status == 200:
                known.append(spelling)
                if spelling != mandate:
                    view.reading(f"{name}: the mandate spelled {spelling!r}")
                break
            if answer.status not in (400, 403):
                raise ctx.fail(
                    f"{name} with the mandate {spelling!r}: expected HTTP 200, got "
                    f"{answer.status} {_code(view, answer)}",
                    answer,
                )
            refused = refused or answer
        else:
            assert refused is not None
            unknown.append((mandate, refused))
    if not known:
        mandate, answer = unknown[0]
        raise ctx.fail(
            f"{name}: none of the service's mandate texts is accepted in any spelling (e.g. "
            f"{mandate!r}: {answer.status} {_code(view, answer)})",
            answer,
        )
    assumption = consumer.service.assumption
    for mandate, answer in unknown:
        message = f"{name}: the mandate {mandate!r} is refused in every spelling"
        if assumption is not None and len(mandates) > 1:
            ctx.deviate(assumption, message, answer)
            ctx.reading(f"{name}: knows the mandate text(s) {', '.join(map(repr, known))} only")
        else:
            raise ctx.fail(message, answer)


def _register_services() -> None:
    """DSOP-SERVICE-<name> for every service of x-kontrakt-services (capability service:<name>)."""
    for rule_id in rules.spec.rules:
        if not rule_id.startswith("DSOP-SERVICE-"):
            continue
        wanted = rules.spec.rules[rule_id].capability or ""
        name = wanted.removeprefix("service:")
        if name not in _services(rules.spec):
            continue

        def check(ctx: RuleContext, _name: str = name) -> None:
            _service_profile(ctx, _name)

        check.__name__ = "service_" + name.lower().replace("-", "_")
        rule(rule_id)(check)


_register_services()


# --- Vergekontroll and Konkursbehandling: whose accounts are served -------------------------


def _references(spec: Spec, body: Any) -> set[str]:
    _list_key(spec, ACCOUNTS)  # fills the cache _list_of reads
    return {
        str(item.get("accountReference"))
        for item in _list_of(body, ACCOUNTS)
        if isinstance(item, Mapping) and item.get("accountReference") is not None
    }


@rule("DSOP-VERGE-SCOPE")
def verge_scope(ctx: RuleContext) -> None:
    """The ward's accounts the guardian manages are served, an account of the ward the guardian
    does not manage is neither listed nor served (404, ACC-002 or ACC-003 per A-DSOP-006)."""
    consumer = _consumer(ctx, "Vergekontroll")
    view = consumer.ctx
    if "unmanaged_account_reference" not in view.fixtures:
        raise NotApplicable(
            "fixtures.consumers.Vergekontroll has no unmanaged_account_reference (an account of "
            "the ward that the guardian does not manage)"
        )
    managed = _account_reference(view)
    unmanaged = str(view.fixture("unmanaged_account_reference"))
    answer = consumer.get(ACCOUNTS)
    listed = _references(view.spec, _ok(view, answer, "Vergekontroll listing the ward's accounts"))
    if managed not in listed:
        raise ctx.fail(
            f"the account the guardian manages ({managed}) is not listed for the ward", answer
        )
    if unmanaged in listed:
        raise ctx.fail(
            f"an account of the ward the guardian does not manage ({unmanaged}) is listed", answer
        )
    for operation in _per_account(view.spec):
        if operation not in consumer.service.operations:
            continue
        status, codes = _rule_codes(view, operation, trigger="not-found")
        _reject(
            view,
            consumer.get(operation, reference=unmanaged),
            status,
            codes,
            f"Vergekontroll calling {operation} for an account the guardian does not manage",
            **_out_of_relation(view, operation, "an account the guardian does not manage"),
        )


def _out_of_relation(ctx: RuleContext, operation: str, what: str) -> dict[str, Any]:
    """A known account outside the request's relation: 404 ACC-002/003 (A-DSOP-006) or 403
    ACC-011 are readings; the publisher names no answer, only that it is not served."""
    forbidden = _rule_codes(ctx, operation, trigger="forbidden")
    return {
        "reading": f"{what} is answered 404",
        "also": [_refusal(*forbidden, f"{what} is refused 403 ACC-011")],
        "status_assumption": "A-DSOP-006",
    }


@rule("DSOP-KONKURS-CONFIRM")
def konkurs_confirm(ctx: RuleContext) -> None:
    """A party without a bankruptcy ruling is refused on /accounts (400 ACC-001, A-DSOP-032), and
    an account whose owner has none is not served (404 on the per-account endpoints)."""
    consumer = _consumer(ctx, "Konkursbehandling")
    view = consumer.ctx
    if "party_without_ruling" not in view.fixtures:
        raise NotApplicable(
            "fixtures.consumers.Konkursbehandling has no party_without_ruling (a party with "
            "accounts and no bankruptcy ruling)"
        )
    party = str(view.fixture("party_without_ruling"))
    _ok(view, consumer.get(ACCOUNTS), "Konkursbehandling listing the estate's accounts")
    status, codes = _rule_codes(view, ACCOUNTS, trigger="invalid-combination")
    answer = consumer.get(ACCOUNTS, headers={"PartyID": party})
    what = f"Konkursbehandling listing the accounts of {party}, who has no bankruptcy ruling"
    body = answer.json() if answer.status == 200 else None
    if answer.status == 200 and isinstance(body, Mapping) and not _references(view.spec, body):
        # No data delivered: the published demand holds; the refusal is A-DSOP-032.
        ctx.deviate("A-DSOP-032", f"{what}: answered 200 with no accounts, not refused", answer)
    else:
        _reject(
            view,
            answer,
            status,
            codes,
            what,
            **_out_of_relation(view, ACCOUNTS, "a party without a bankruptcy ruling"),
        )
    if "unconfirmed_account_reference" not in view.fixtures:
        view.note("no unconfirmed_account_reference: the per-account endpoints are not tried")
        return
    reference = str(view.fixture("unconfirmed_account_reference"))
    for operation in _per_account(view.spec):
        if operation not in consumer.service.operations:
            continue
        status, codes = _rule_codes(view, operation, trigger="not-found")
        _reject(
            view,
            consumer.get(operation, reference=reference),
            status,
            codes,
            f"Konkursbehandling calling {operation} for an account of {party}",
            **_out_of_relation(view, operation, "an account whose owner has no ruling"),
        )


# --- Politi-Utlevering: the extradition order -------------------------------------------------


def _politi(ctx: RuleContext) -> tuple[Consumer, Politi]:
    """The Politi consumer and its order signer, after a valid order is shown to be served."""
    name = (ctx.rule.capability or "").removeprefix("service:")
    consumer = _consumer(ctx, name)
    if consumer.politi is None:
        raise NotApplicable(
            "needs fixtures.extradition_order_key (with extradition_order_certificates, "
            "extradition_order_kid, extradition_order_reasons): a TEST key the provider trusts "
            "for extradition orders, to sign valid and broken orders at run time"
        )
    control = consumer.get(ACCOUNTS)
    if control.status != 200:
        raise RuleError(
            f"a valid extradition order signed with the manifest's key is refused (HTTP "
            f"{control.status} {_code(ctx, control)}): the key is not one the provider trusts, "
            "or the Politi consumer's fixtures do not fit",
        )
    return consumer, consumer.politi


def _order_refusals(ctx: RuleContext) -> dict[str, Any]:
    """A broken or mismatching order: 400 ACC-001 (A-DSOP-021) or 403 ACC-011 are readings;
    the publisher names the checks, not the answer, so another refusal only differs."""
    forbidden = _rule_codes(ctx, ACCOUNTS, trigger="forbidden")
    return {
        "reading": "an invalid extradition order is refused 400 ACC-001",
        "also": [_refusal(*forbidden, "an invalid extradition order is refused 403 ACC-011")],
        "status_assumption": "A-DSOP-021",
    }


def _refused_orders(
    ctx: RuleContext, consumer: Consumer, cases: Mapping[str, Callable[[], str]], **filters: Any
) -> None:
    status, codes = _rule_codes(ctx, ACCOUNTS, trigger="invalid-combination", **filters)
    for what, make in cases.items():
        answer = consumer.get(ACCOUNTS, order=make())
        _reject(ctx, answer, status, codes, f"an extradition order {what}", **_order_refusals(ctx))
    ctx.note(f"{len(cases)} broken order(s) refused, a valid one served")


@rule("DSOP-POLITI-EO-SIGNATURE")
def politi_order_signature(ctx: RuleContext) -> None:
    consumer, politi = _politi(ctx)
    key = politi.key
    forged = extradition.forged_key()
    claims = politi.claims
    cases: dict[str, Callable[[], str]] = {
        "signed by another key": lambda: extradition.sign_order(claims(), key, private_key=forged),
        "signed by another key with its own self-signed x5c": lambda: extradition.sign_order(
            claims(),
            key,
            private_key=forged,
            chain=[extradition.self_signed_twin(key.leaf, forged)],
        ),
        "whose x5c is a self-signed certificate, not the chain to the root": lambda: (
            extradition.sign_order(
                claims(), key, chain=[extradition.self_signed_twin(key.leaf, key.private_key)]
            )
        ),
        "without x5c": lambda: extradition.sign_order(claims(), key, x5c=False),
        "naming an unknown kid": lambda: extradition.sign_order(
            claims(), key, kid="kontrakt-unknown-kid"
        ),
        "signed with RS256 instead of PS256": lambda: extradition.sign_order(
            claims(), key, algorithm="RS256"
        ),
    }
    _refused_orders(ctx, consumer, cases, parameter="AdditionalReferenceID")


@rule("DSOP-POLITI-EO-CONTENT")
def politi_order_content(ctx: RuleContext) -> None:
    consumer, politi = _politi(ctx)
    now = time.time()
    mandates = politi.service.mandates
    month = politi.today - dt.timedelta(days=30)
    other_reason = (
        politi.reason(mandates[1]) if len(mandates) > 1 else "Ingen gyldig begrunnelse (test)."
    )
    cases: dict[str, Callable[[], str]] = {
        "that has expired": lambda: politi.order(now=now - 40 * 86400, valid_days=30),
        "approved tomorrow": lambda: politi.order(now=now + 86400, valid_days=30),
        "valid for 120 days (at most 90)": lambda: politi.order(valid_days=120),
        "reaching a day further back than the service allows": lambda: politi.order(
            from_date=politi.earliest - dt.timedelta(days=1)
        ),
        "whose reason belongs to another mandate": lambda: politi.order(reason=other_reason),
        "without caseID": lambda: politi.order(caseID=None),
        "of version 2.0.0": lambda: politi.order(version="2.0.0"),
        "with accountList false": lambda: politi.order(accountList=False),
        "whose extraditionOrderID is not a UUID": lambda: politi.order(extraditionOrderID="EO-1"),
    }
    # The requests ask for the last 30 days, inside every order's own period.
    window = {"fromDate": month.isoformat(), "toDate": politi.today.isoformat()}
    status, codes = _rule_codes(
        ctx, ACCOUNTS, trigger="invalid-combination", parameter="AdditionalReferenceID"
    )
    _ok(ctx, consumer.get(ACCOUNTS, params=window), "a valid order for the last 30 days")
    for what, make in cases.items():
        answer = consumer.get(ACCOUNTS, params=window, order=make())
        _reject(
            ctx,
            answer,
            status,
            codes,
            f"an extradition order {what}",
            **_order_refusals(ctx),
            # The version is only "1.0.0" in the order format; refusing another is A-DSOP-038.
            refusal_assumption="A-DSOP-038" if "version" in what else None,
        )
    ctx.note(f"{len(cases)} orders with invalid content refused")


@rule("DSOP-POLITI-EO-REQUEST-MATCH")
def politi_order_request_match(ctx: RuleContext) -> None:
    consumer, politi = _politi(ctx)
    service = politi.service
    status, codes = _rule_codes(ctx, ACCOUNTS, trigger="invalid-combination")
    today = politi.today
    cases: list[tuple[str, str, dict[str, str | None], dict[str, str | None]]] = []
    other = consumer.ctx.fixtures.get("other_party") or ctx.fixtures.get("party_without_accounts")
    if other is not None and str(other) != politi.party:
        cases.append((f"for another party ({other})", politi.order(party=str(other)), {}, {}))
    if len(service.mandates) > 1:
        cases.append(
            (
                "naming the other mandate than Legal-Mandate",
                politi.order(mandate=service.mandates[1]),
                {"Legal-Mandate": quote(service.mandates[0], safe="")},
                {},
            )
        )
    cases.append(
        (
            "covering the last 30 days, the request the last 60",
            politi.order(from_date=today - dt.timedelta(days=30)),
            {},
            {
                "fromDate": (today - dt.timedelta(days=60)).isoformat(),
                "toDate": today.isoformat(),
            },
        )
    )
    if False in service.only_primary_owner:
        cases.append(
            (
                "with onlyPrimaryOwner true, the request OnlyPrimaryOwner=false",
                politi.order(only_primary_owner=True),
                {},
                {"OnlyPrimaryOwner": "false"},
            )
        )
    for what, order, headers, params in cases:
        answer = consumer.get(ACCOUNTS, order=order, headers=headers, params=params)
        _reject(ctx, answer, status, codes, f"an extradition order {what}", **_order_refusals(ctx))
    ctx.note(f"{len(cases)} requests not matching their order refused")


@rule("DSOP-ACC-403-EO-ENDPOINT")
def politi_order_endpoint_flags(ctx: RuleContext) -> None:
    consumer, politi = _politi(ctx)
    checked = 0
    for op in ctx.spec.operations:
        flag = extradition.ENDPOINT_FLAGS.get(op.id)
        if flag is None or op.id == ACCOUNTS or op.id not in politi.service.operations:
            continue  # accountList is always true (DSOP-POLITI-EO-CONTENT)
        status, codes = _rule_codes(ctx, op.id, trigger="forbidden")
        _ok(ctx, consumer.get(op.id), f"{op.id} with an order whose {flag} is true")
        answer = consumer.get(op.id, order=politi.order(flags={flag: False}))
        _reject(ctx, answer, status, codes, f"{op.id} with an order whose {flag} is false")
        checked += 1
    if checked == 0:
        raise NotApplicable("no endpoint of the service has an order flag")


# --- tier 3: the exploratory stateful run (certify --explore) -----------------------------------


def _explore_request(ctx: RuleContext, op: Any) -> dict[str, Any]:
    """The headers and query of a valid request of the manifest's consumer (no path values)."""
    return {"headers": _headers(ctx, op.id), "query": _params(ctx, op.id)}


rules.explore_rule("DSOP-SCHEMA-200", known=_explore_request)


# --- preflight: one plain request of the manifest's consumer ------------------------------------


@rules.preflight
def preflight(ctx: RuleContext) -> None:
    """GET /accounts for party_with_accounts as the manifest's consumer. When the bank refuses
    the first mandate text of the spec (Skatt-Kontroll has two, A-DSOP-015), the other texts and
    spellings are tried and the one accepted is used for the run."""
    from kontrakt.conformance.preflight import expect_plain

    missing = [n for n in ("service", "party_with_accounts") if not ctx.has_fixture(n)]
    if missing:
        # No plain request can be built: the rules say which fixture each of them needs.
        raise NotApplicable(f"the manifest gives no fixtures {', '.join(missing)}")
    service = _service(ctx)
    answer = _get(ctx, ACCOUNTS)
    chosen = (ctx.fixtures.get("legal_mandates") or {}).get(service.name)
    if answer.status in (400, 403) and chosen is None and service.additional_type is None:
        first = service.mandates[0] if service.mandates else None
        for mandate in service.mandates:
            for spelling in _spellings(mandate):
                if spelling == first:
                    continue
                encoded = quote(spelling, safe="")
                retry = _get(ctx, ACCOUNTS, headers={"Legal-Mandate": encoded})
                if retry.status == 200:
                    _MANDATES.setdefault(ctx.probe, {})[service.name] = encoded
                    ctx.note(f"{service.name}: the bank knows the mandate as {spelling!r}")
                    answer = retry
                    break
            else:
                continue
            break
    expect_plain(ctx, answer, 200)


# --- what a manifest gives: fixtures, credential roles, capabilities ----------------------------

AUTOMATED = tuple(r for r in rules.functions if r != "DSOP-BASE-PATH-MAJOR")  # it sends none
REQUESTS = (*AUTOMATED, "PREFLIGHT")  # every rule that sends a request of the consumer
SERVICE_RULES = {
    name: tuple(
        rule_id
        for rule_id, info in rules.spec.rules.items()
        if rule_id in rules.functions and info.capability == f"service:{name}"
    )
    for name in _services(rules.spec)
}
POLITI_RULES = SERVICE_RULES.get("Politi-Utlevering", ())
CONTENT = tuple(
    r
    for r in AUTOMATED
    if r.startswith(("DSOP-SCHEMA", "DSOP-RESPONSE", "DSOP-PAGE", "DSOP-ENUMS", "DSOP-PATTERNS"))
    or r
    in (
        "DSOP-DATE-FORMATS",
        "DSOP-AMOUNT-SIGN",
        "DSOP-CARD-MASKED",
        "DSOP-CARD-DATES",
        "DSOP-END-AFTER-START",
        "DSOP-ACCOUNT-REFERENCE-OPAQUE",
        "DSOP-ACCOUNT-REFERENCE-USABLE",
        "DSOP-BALANCES-TODAY",
        "DSOP-BALANCES-CLOSED",
        "DSOP-TRANSACTION-STATUS",
        "DSOP-PARTIAL-MESSAGE",
    )
)

rules.fixture(
    "service",
    "The DSOP service the main client (auth) is a consumer of, as named in the spec's "
    "x-kontrakt-services: Skatt-Kontroll, Politi-Utlevering, OED, Vergekontroll, "
    "Konkursbehandling or FI-Utlegg. It decides the mandate, the endpoints, OnlyPrimaryOwner and "
    "the period every request uses.",
    rules=REQUESTS,
    schema={"type": "string", "enum": list(_services(rules.spec))},
    example="Skatt-Kontroll",
)
rules.fixture(
    "party_with_accounts",
    "A party (PartyID: national identity number, D-number or organisation number) of the test "
    "environment who holds several accounts in the request period, as the main consumer sees "
    "them. The suite reads its accounts, details, transactions, cards and roles.",
    rules=REQUESTS,
    example="12858510048",
)
rules.fixture(
    "account_reference",
    "Has a default: an accountReference of party_with_accounts (as GET /accounts lists it); "
    "without it the suite takes the first one GET /accounts lists, and nothing is skipped.",
    rules=AUTOMATED,
    required=False,
)
rules.fixture(
    "legal_mandates",
    "Has a default: the Legal-Mandate text per service, plain (not URL-encoded), when the bank knows another "
    "text or spelling than the spec's first; without it the preflight tries the spec's texts "
    "and spellings and uses the one the bank accepts.",
    rules=REQUESTS,
    schema={"type": "object", "additionalProperties": {"type": "string"}},
    required=False,
    example={
        "Skatt-Kontroll": "Skatteforvaltningsloven § 10-2 første ledd, jf. "
        "skatteforvaltningsforskriften § 10-2-1"
    },
)
rules.fixture(
    "requester_id",
    "Has a default: the RequesterID (pseudonymous caseworker id) sent where the service requires one "
    "(Skatt-Kontroll, Politi-Utlevering); default kontrakt-conformance.",
    rules=REQUESTS,
    required=False,
)
rules.fixture(
    "additional_reference_id",
    "The AdditionalReferenceID for a service that needs one: the guardian's national identity "
    "number (Vergekontroll, type srf) or a signed extradition order (Politi-Utlevering, type "
    "pol1; better: extradition_order_key, so the suite signs its own). Plain, not URL-encoded.",
    rules=REQUESTS,
    required=False,
)
for _name, _text in (
    (
        "from_date",
        "Has a default: the first day of the request period (YYYY-MM-DD); default: history_days "
        "back from the period's end, within the service's period rule.",
    ),
    (
        "to_date",
        "Has a default: the last day of the request period (YYYY-MM-DD); default: today, or what the "
        "service's period rule fixes.",
    ),
    ("history_days", "Has a default: how many days back the default period reaches (default 200)."),
):
    rules.fixture(
        _name,
        _text,
        rules=REQUESTS,
        required=False,
        schema={"type": "integer"}
        if _name == "history_days"
        else {"type": "string", "format": "date"},
    )
rules.fixture(
    "closed_account_reference",
    "An accountReference of party_with_accounts whose account was closed within the period "
    "(judged for DSOP-BALANCES-CLOSED: no balances).",
    rules=AUTOMATED,
    required=False,
)
rules.fixture(
    "max_accounts",
    "Has a default: how many of the party's accounts the content rules read in full (default 12).",
    rules=AUTOMATED,
    schema={"type": "integer", "minimum": 1},
    required=False,
)
rules.fixture(
    "party_without_accounts",
    "Has a default: a party the bank knows no account for (GET /accounts must answer an empty "
    "list); without it the suite makes up a synthetic national identity number with valid check digits.",
    rules=("DSOP-EMPTY-ACCOUNTS-200", "DSOP-POLITI-EO-REQUEST-MATCH"),
    required=False,
)
rules.fixture(
    "quiet_date",
    "Has a default: a day (YYYY-MM-DD) on which account_reference has no transactions, cards or roles, for "
    "the empty-list answers; default: the earliest day the service allows.",
    rules=("DSOP-EMPTY-LIST-200",),
    required=False,
)
rules.fixture(
    "schemathesis_examples",
    "Has a default: how many generated requests per operation the schema rule sends (default 3; 0 checks "
    "only the bodies the other rules fetched).",
    rules=("DSOP-SCHEMA-200",),
    schema={"type": "integer", "minimum": 0},
    required=False,
)
rules.fixture(
    "expected_transactions",
    "At least how many transactions account_reference has in the period, to check that "
    "following the next links reaches them all.",
    rules=("DSOP-PAGINATE-TRANSACTIONS",),
    schema={"type": "integer", "minimum": 1},
    required=False,
)
for _name, _rule, _text in (
    (
        "party_guarantor",
        "DSOP-GUARANTOR-EMPTY",
        "A party who is only a guarantor (kausjonist) on someone's loan: no accounts are listed.",
    ),
    (
        "party_co_borrower",
        "DSOP-CO-BORROWER-NO-LOANS",
        "A party who is only a co-borrower (medlåntaker) on a loan: the loan is not listed.",
    ),
    (
        "party_shielded",
        "DSOP-SHIELDED-EMPTY",
        "A person with a confidential or strictly confidential address: an empty list, complete.",
    ),
    (
        "party_partial",
        "DSOP-PARTIAL-MESSAGE",
        "A party some of whose data the bank holds offline: a partial answer with a message.",
    ),
):
    rules.fixture(_name, _text, rules=(_rule,), required=False)
rules.fixture(
    "fault_party",
    "A party whose lookups fail on purpose in the test environment (a back end down), to see "
    "the 500 answer of an outage.",
    rules=("DSOP-ACC-500-SERVER-ERROR", "DSOP-PARTIAL-NOT-FOR-OUTAGES"),
    required=False,
)
rules.fixture(
    "load_requests",
    "How many requests DSOP-ACC-429 may send to reach the bank's limit: with "
    f"credentials.throttled (default {THROTTLED_BUDGET}) that client's requests, else the main "
    f"client's (a load budget; default {LOAD_BUDGET} with capability load).",
    rules=("DSOP-ACC-429",),
    schema={"type": "integer", "minimum": 1},
    required=False,
)
rules.fixture(
    "consumers",
    "The test data of each further service's consumer (credentials.<service>): "
    "{service: {party_with_accounts, account_reference, additional_reference_id, from_date, "
    "...}}; the fixtures not given there are shared with the main consumer.",
    rules=tuple(r for names in SERVICE_RULES.values() for r in names),
    schema={"type": "object", "additionalProperties": {"type": "object"}},
    required=False,
    example={"OED": {"party_with_accounts": "15814810035", "from_date": "2026-06-20"}},
)
rules.fixture(
    "unmanaged_account_reference",
    "In consumers.Vergekontroll (or at the top when the main client is the Vergekontroll "
    "consumer): an account of the ward (party_with_accounts) that the guardian "
    "(additional_reference_id) does not manage - not listed, not served.",
    rules=("DSOP-VERGE-SCOPE",),
    required=False,
)
rules.fixture(
    "party_without_ruling",
    "In consumers.Konkursbehandling (or at the top for a Konkursbehandling main client): a "
    "party with accounts and no bankruptcy ruling - its "
    "accounts are not delivered.",
    rules=("DSOP-KONKURS-CONFIRM",),
    required=False,
)
rules.fixture(
    "unconfirmed_account_reference",
    "In consumers.Konkursbehandling (or at the top for a Konkursbehandling main client): an "
    "account of party_without_ruling - not served.",
    rules=("DSOP-KONKURS-CONFIRM",),
    required=False,
)
for _name, _text, _schema in (
    (
        "extradition_order_key",
        "A TEST RSA private key (PEM file) the bank's test environment "
        "trusts for Politi extradition orders: the suite signs valid and broken orders with it "
        "(never Politiet's real key).",
        {"type": "string"},
    ),
    (
        "extradition_order_certificates",
        "The key's certificate chain (PEM files), leaf first, sent as x5c.",
        {"type": "array", "items": {"type": "string"}},
    ),
    ("extradition_order_kid", "The kid the bank finds the order key under.", {"type": "string"}),
    (
        "extradition_order_reasons",
        "Each Politi mandate's fixed reason sentence (not public): {mandate: reason}.",
        {"type": "object", "additionalProperties": {"type": "string"}},
    ),
):
    rules.fixture(_name, _text, rules=POLITI_RULES, schema=_schema, required=False)
rules.fixture(
    "other_party",
    "A party an extradition order may name that is not the request's (default: "
    "party_without_accounts).",
    rules=("DSOP-POLITI-EO-REQUEST-MATCH",),
    required=False,
)

rules.role(
    "wrong_scope",
    "A client of the bank's test environment without scope bits:kontoinformasjon (e.g. one "
    "holding bits:kundeforhold only); without it the main client asks for "
    "negative_auth.wrong_scope.scope.",
    rules=("DSOP-ACC-403-WRONG-SCOPE",),
    scope="bits:kundeforhold",
)
rules.role(
    "throttled",
    "A client of the main consumer's service that the bank's test environment throttles (a "
    "low request limit): the suite sends plain requests with it until it is limited, and "
    "expects 429 ACC-022.",
    rules=("DSOP-ACC-429",),
    scope="bits:kontoinformasjon",
)
for _service_name, _rules in SERVICE_RULES.items():
    rules.role(
        consumer_role(_service_name),
        f"A client of the {_service_name} consumer (its test data in "
        f"fixtures.consumers.{_service_name}), when the main client belongs to another service: "
        f"the {_service_name} rules run with its token.",
        rules=_rules,
        scope="bits:kontoinformasjon",
    )

for _capability, _text in (
    ("endpoint:listAccounts", "The bank offers GET /accounts (every bank does)."),
    ("endpoint:showAccountById", "The bank offers GET /accounts/{accountReference}."),
    ("endpoint:listTransactions", "The bank offers the transactions endpoint."),
    (
        "services",
        "The bank checks the consumer's DSOP service: mandate, endpoints, period, "
        "RequesterID and additional reference.",
    ),
    (
        "load",
        "The bank limits consumers and the suite may reach the limit (DSOP-ACC-429): with "
        "credentials.throttled it loads that client, else the main client (listed "
        f"explicitly: up to {LOAD_BUDGET} requests, or fixtures.load_requests).",
    ),
    (
        "fault-injection",
        "The test environment has a party whose lookups fail (fixtures.fault_party).",
    ),
    ("audit", "The bank's request log can be inspected (not automated)."),
):
    rules.capability(_capability, _text)
for _service_name in SERVICE_RULES:
    rules.capability(
        f"service:{_service_name}",
        f"The bank serves the {_service_name} consumers (the main client, or "
        f"credentials.{consumer_role(_service_name)} with fixtures.consumers.{_service_name}).",
    )
