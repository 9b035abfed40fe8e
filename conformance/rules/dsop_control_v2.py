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
of further services: `credentials.<service>` (a key of `x-kontrakt-services`, e.g.
`Vergekontroll`) with that consumer's test data in `fixtures.consumers.<service>` (the fixture
names below: party_with_accounts, account_reference, additional_reference_id, from_date...;
the other fixtures are shared). The DSOP-SERVICE-<service> rules (capability `service:<name>`)
and the Politi rules then use that consumer's token and data, so one run checks every service
the provider supports; without a consumer of a service its rules are `not-applicable`.

Politi-Utlevering needs a signed extradition order (AdditionalReferenceID, type pol1). A TEST
environment's key for orders (`extradition_order_key`: an RSA private key in PEM,
`extradition_order_certificates`: its chain, leaf first, `extradition_order_kid`,
`extradition_order_reasons`: mandate -> its fixed reason sentence, which is not public) lets the
suite sign fresh orders per FACTS §6.1 at run time (`conformance/extradition.py`, PS256 with
x5c): DSOP-SERVICE-POLITI-UTLEVERING, DSOP-ACC-403-EO-ENDPOINT, DSOP-POLITI-EO-SIGNATURE,
-CONTENT and -REQUEST-MATCH. Without the key they are `not-applicable` (a fixed signed order in
`additional_reference_id` serves the service rule for its one mandate). Relative paths in these
fixtures are read from the manifest's folder.

Fixtures the manifest provides (`fixtures:`):

| name | needed by | meaning |
|---|---|---|
| `service` | every rule sending a request | the DSOP service (a key of `x-kontrakt-services`, e.g. `Skatt-Kontroll`) the manifest's credentials belong to |
| `party_with_accounts` | content, pagination, 400 rules on /accounts | a party (PartyID) with several accounts in the period |
| `party_without_accounts` | DSOP-EMPTY-ACCOUNTS-200 | a party the bank knows no account for |
| `account_reference` | per-account rules | an accountReference of `party_with_accounts` |
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
| `load_requests` | optional (DSOP-ACC-429) | how many requests the suite may send to reach the rate limit |
| `consumers` | optional (DSOP-SERVICE-*, Politi rules) | `{service: {fixture: value}}`: the test data of each `credentials.<service>` consumer |
| `unmanaged_account_reference` | optional, in `consumers.Vergekontroll` (DSOP-VERGE-SCOPE) | an account of the ward (`party_with_accounts`) that the guardian (`additional_reference_id`) does not manage: not listed, 404 per account |
| `party_without_ruling` | optional, in `consumers.Konkursbehandling` (DSOP-KONKURS-CONFIRM) | a party with accounts and no bankruptcy ruling: /accounts answers 400 ACC-001 (A-DSOP-032) |
| `unconfirmed_account_reference` | optional, in `consumers.Konkursbehandling` (DSOP-KONKURS-CONFIRM) | an account of `party_without_ruling`: 404 (ACC-002/ACC-003) per account |
| `extradition_order_key`, `extradition_order_certificates`, `extradition_order_kid`, `extradition_order_reasons` | optional (Politi rules) | the TEST key extradition orders are signed with, its chain, kid and the mandates' reason sentences |
| `other_party` | optional (DSOP-POLITI-EO-REQUEST-MATCH) | a party an order may name that is not the request's (default `party_without_accounts`) |

Without an optional fixture its rule is `not-applicable`, with the reason. DSOP-ACC-429 also runs
when the manifest lists the capability `load` explicitly (then up to 200 requests).

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

from conformance import auth as tokens
from conformance import extradition
from conformance.fuzz import run_schemathesis
from conformance.probe import Probe, ProbeResponse
from conformance.registry import NotApplicable, RuleContext, RuleError, RuleSet
from conformance.spec import HTTP_METHODS, Spec

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
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
YEAR_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MASKED_CARD = re.compile(r"^\d{0,6}X+\d{0,4}$")
PAGE_RELS = ("next", "prev", "self", "last")
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


def _period(ctx: RuleContext) -> tuple[dt.date, dt.date]:
    """The request period: fixtures, else `history_days` back to the service's allowed end."""
    service = _service(ctx)
    today = _today()
    rule_to = service.period.get("to-date", "any")
    rule_from = service.period.get("from-date", "any")
    to = {"end-of-last-year": dt.date(today.year - 1, 12, 31)}.get(rule_to, today)
    start = {
        "today": today,
        "start-of-last-year": dt.date(today.year - 1, 1, 1),
    }.get(rule_from, to - dt.timedelta(days=int(ctx.fixtures.get("history_days", 200))))
    earliest = _earliest_from(service, today)
    if earliest is not None and start < earliest:
        start = earliest
    if "from_date" in ctx.fixtures:
        start = dt.date.fromisoformat(str(ctx.fixtures["from_date"]))
    if "to_date" in ctx.fixtures:
        to = dt.date.fromisoformat(str(ctx.fixtures["to_date"]))
    return start, to


def _accept(ctx: RuleContext) -> str:
    return JOSE if ctx.manifest.environment == "production" else JSON


def _mandate(ctx: RuleContext, service: Service) -> str:
    chosen = (ctx.fixtures.get("legal_mandates") or {}).get(service.name)
    if chosen is None:
        if not service.mandates:
            raise RuleError(f"service {service.name} names no legal mandate in the spec")
        chosen = service.mandates[0]
    return quote(str(chosen), safe="")


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
        ref = reference if reference is not None else str(ctx.fixture("account_reference"))
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


def _code(ctx: RuleContext, answer: ProbeResponse) -> str:
    try:
        found = ctx.spec.code_of(json.loads(answer.content))
    except (ValueError, UnicodeDecodeError):
        return "no JSON body"
    return ", ".join(str(c) for c in found) or "no code"


def _reject(
    ctx: RuleContext, answer: ProbeResponse, status: int, codes: set[str | int], what: str
) -> None:
    """`answer` is HTTP `status` with one of `codes` (a rule failure naming `what` otherwise)."""
    code = _code(ctx, answer)
    if answer.status != status or not any(str(c) == code for c in codes):
        wanted = "/".join(sorted(str(c) for c in codes))
        raise ctx.fail(
            f"{what}: expected HTTP {status} {wanted}, got {answer.status} {code}", answer
        )


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
    references = [str(ctx.fixture("account_reference"))]
    if "closed_account_reference" in ctx.fixtures:
        references.append(str(ctx.fixtures["closed_account_reference"]))
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
            _reject(ctx, answer, status, codes, f"{op.id} with Accept: {accept}")


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
        raise RuleError("the manifest has no decryption_key (the consumer's CertPub key)")
    answer = _jwe_answer(ctx)
    answer.json()  # a ProbeError (fail) when the consumer's key cannot decrypt it


@rule("DSOP-PLAINTEXT-TEST-ONLY")
def plaintext_test_only(ctx: RuleContext) -> None:
    if ctx.manifest.environment == "production":
        status, codes = _rule_codes(ctx, ACCOUNTS, trigger="not-acceptable")
        answer = _get(ctx, ACCOUNTS, headers={"Accept": JSON})
        _reject(ctx, answer, status, codes, f"production request with Accept: {JSON}")
        return
    answer = _get(ctx, ACCOUNTS, headers={"Accept": JOSE})
    if answer.status == 200 and answer.content_type != JOSE:
        raise ctx.fail(
            f"Accept: {JOSE} (no plaintext asked for) got a {answer.content_type!r} 200 body",
            answer,
        )
    if answer.status != 200:
        raise ctx.fail(f"Accept: {JOSE}: expected HTTP 200, got {answer.status}", answer)


# --- schema -------------------------------------------------------------------------------------


@rule("DSOP-SCHEMA-200")
def bodies_validate(ctx: RuleContext) -> None:
    found = _Findings(ctx)
    for page in _corpus(ctx).pages():
        found.checked += 1
        for problem in ctx.spec.validate(page.operation, page.body, 200)[:3]:
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


@rule("DSOP-ERROR-BODY")
def error_body_shape(ctx: RuleContext) -> None:
    for what, answer in _provocations(ctx, _accept(ctx)):
        if answer.status < 400:
            raise ctx.fail(f"{what}: expected an error status, got {answer.status}", answer)
        try:
            body = json.loads(answer.content)
        except (ValueError, UnicodeDecodeError):
            raise ctx.fail(f"{what}: the HTTP {answer.status} body is not JSON", answer) from None
        if not isinstance(body, Mapping):
            raise ctx.fail(f"{what}: the error body is not a JSON object", answer)
        codes = ctx.spec.code_of(body)
        if not codes:
            raise ctx.fail(f"{what}: the error body has no code at {ctx.spec.code_pointer}", answer)
        for code in codes:
            if answer.status not in ctx.spec.code_status(code):
                raise ctx.fail(
                    f"{what}: code {code!r} is not a catalogue code of HTTP {answer.status}", answer
                )
        message = body.get("message")
        if not isinstance(message, str) or not message.strip():
            raise ctx.fail(f"{what}: the error body has no descriptive message", answer)


@rule("DSOP-ERROR-UNENCRYPTED")
def errors_unencrypted(ctx: RuleContext) -> None:
    for what, answer in _provocations(ctx, JOSE):
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
    token = ctx.credentials.wrong_scope_token()
    for operation in _two_operations(ctx.spec):
        status, codes = _rule_codes(ctx, operation, trigger="forbidden")
        answer = _get(ctx, operation, auth=token)
        _reject(ctx, answer, status, codes, f"{operation} with a token of the wrong scope")


@rule("DSOP-ACC-403-CONSUMER-NOT-ALLOWED")
def consumer_not_allowed_403(ctx: RuleContext) -> None:
    own = _service(ctx)
    others = [
        s
        for s in _services(ctx.spec).values()
        if s.name != own.name and s.additional_type is None and ACCOUNTS in s.operations
    ]
    if not others:
        raise NotApplicable(
            "no other service without an additional reference to borrow a mandate from"
        )
    status, codes = _rule_codes(ctx, ACCOUNTS, trigger="forbidden")
    for other in others[:2]:
        mandate = quote(other.mandates[0], safe="")
        answer = _get(ctx, ACCOUNTS, headers={"Legal-Mandate": mandate})
        _reject(ctx, answer, status, codes, f"the {other.name} mandate from a {own.name} consumer")


@rule("DSOP-TOKEN-CONSUMER-CLAIM")
def consumer_claim_identifies(ctx: RuleContext) -> None:
    minter, template = _minted(ctx)
    claims = tokens.claims_of(template)
    if "consumer" not in claims:
        raise RuleError("the manifest's token carries no consumer claim to work with")
    header = tokens.header_of(template)
    kid = header.get("kid")
    base = {k: v for k, v in claims.items() if k != "jti"}
    # The client_id and client_orgno do not identify the consumer: changing them changes nothing.
    renamed = minter.mint(
        {**base, "client_id": "kontrakt-renamed-client", "client_orgno": "000000000"}, kid=kid
    )
    answer = _get(ctx, ACCOUNTS, auth=renamed)
    _ok(ctx, answer, "a token with another client_id/client_orgno but the same consumer")
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
    token = ctx.credentials.token()
    for attempt in range(3):
        answer = _get(ctx, ACCOUNTS, auth=token)
        _ok(ctx, answer, f"use {attempt + 1} of the same valid token")


# --- 400 ------------------------------------------------------------------------------------------


def _parameter_cases(
    ctx: RuleContext, trigger: str, bad_values: Mapping[str, Sequence[str]] | None = None
) -> int:
    """For every operation and every parameter the rule's error uses name: send it missing (or
    with each bad value) and expect the use's status and code."""
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
                    _reject(ctx, answer, int(use.status), {use.code}, what)
                    checked += 1
    if checked == 0:
        raise NotApplicable(f"the spec names no parameter for {ctx.rule.id} ({trigger})")
    return checked


@rule("DSOP-ACC-400-MISSING-HEADER")
def missing_header_400(ctx: RuleContext) -> None:
    ctx.note(f"{_parameter_cases(ctx, 'missing-parameter')} request(s) without a required header")


@rule("DSOP-ACC-400-MALFORMED-UUID")
def malformed_uuid_400(ctx: RuleContext) -> None:
    # A UUID is 8-4-4-4-12 hex digits: the 32 digits without hyphens are not one either.
    _parameter_cases(ctx, "invalid-parameter", {"*": ["not-a-uuid", "12345", uuid.uuid4().hex]})


@rule("DSOP-ACC-400-MISSING-PARTY")
def missing_party_400(ctx: RuleContext) -> None:
    _parameter_cases(ctx, "missing-parameter")


@rule("DSOP-ACC-400-ONLY-PRIMARY-OWNER")
def only_primary_owner_400(ctx: RuleContext) -> None:
    _parameter_cases(ctx, "missing-parameter")
    _parameter_cases(ctx, "invalid-parameter", {"*": ["maybe", "1"]})


@rule("DSOP-ACC-400-DATE-FORMAT")
def date_format_400(ctx: RuleContext) -> None:
    start, _ = _period(ctx)
    bad = [start.strftime("%d.%m.%Y"), start.strftime("%Y%m%d"), f"{start.year}-13-01"]
    _parameter_cases(ctx, "invalid-parameter", {"*": bad})


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
        _reject(ctx, answer, status, codes, f"Legal-Mandate {value!r}")


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
            )
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
    for what, headers in cases:
        answer = _get(ctx, ACCOUNTS, headers=headers)
        _reject(ctx, answer, status, codes, f"{service.name}: {what}")


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
        _reject(ctx, answer, status, codes, f"{service.name}: OnlyPrimaryOwner={text}")


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
        for reference in (str(uuid.uuid4()), "00000000000"):
            answer = _get(ctx, operation, reference=reference)
            _reject(
                ctx,
                answer,
                status,
                codes,
                f"{operation} for the unknown accountReference {reference}",
            )


# --- empty answers ------------------------------------------------------------------------------


def _accounts_of(ctx: RuleContext, party: str, **params: str | None) -> tuple[ProbeResponse, Any]:
    answer = _get(ctx, ACCOUNTS, headers={"PartyID": party}, params=params)
    return answer, _ok(ctx, answer, f"GET /accounts for party {party}")


def _optional_party(ctx: RuleContext, name: str) -> str:
    if name not in ctx.fixtures:
        raise NotApplicable(f"the manifest provides no fixture {name!r} (optional test data)")
    return str(ctx.fixtures[name])


@rule("DSOP-EMPTY-ACCOUNTS-200")
def empty_accounts_200(ctx: RuleContext) -> None:
    party = str(ctx.fixture("party_without_accounts"))
    _list_key(ctx.spec, ACCOUNTS)
    answer, body = _accounts_of(ctx, party)
    if _list_of(body, ACCOUNTS):
        raise ctx.fail("the party without accounts got a non-empty account list", answer)
    if not isinstance(body, Mapping) or not isinstance(body.get("responseDetails"), Mapping):
        raise ctx.fail("the empty answer has no responseDetails", answer)


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
        day = earliest + dt.timedelta(days=1)
    empty = 0
    for operation in _per_account(ctx.spec):
        key = _list_key(ctx.spec, operation)
        if key is None or operation not in service.operations:
            continue
        answer = _get(
            ctx, operation, params={"fromDate": day.isoformat(), "toDate": day.isoformat()}
        )
        body = _ok(ctx, answer, f"{operation} for a day without activity ({day})")
        value = body.get(key) if isinstance(body, Mapping) else None
        if value is not None and not isinstance(value, list):
            raise ctx.fail(f"{operation}: {key} is not a list", answer)
        if not value:
            empty += 1
    if empty == 0:
        raise NotApplicable(f"no list of account_reference was empty on {day}; set quiet_date")
    ctx.note(f"{empty} empty list(s) answered 200 on {day}")


@rule("DSOP-GUARANTOR-EMPTY")
def guarantor_empty(ctx: RuleContext) -> None:
    party = _optional_party(ctx, "party_guarantor")
    _list_key(ctx.spec, ACCOUNTS)
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
    _list_key(ctx.spec, ACCOUNTS)
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
    _list_key(ctx.spec, ACCOUNTS)
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


@rule("DSOP-ACC-429")
def rate_limit_429(ctx: RuleContext) -> None:
    explicit = ctx.manifest.capabilities is not None and "load" in ctx.manifest.capabilities
    if "load_requests" not in ctx.fixtures and not explicit:
        raise NotApplicable(
            "the manifest allows no load (capability `load` or fixture load_requests)"
        )
    budget = int(ctx.fixtures.get("load_requests", 200))
    status, codes = _rule_codes(ctx, ACCOUNTS, trigger="rate-limited")
    for _ in range(budget):
        answer = ctx.probe.request(
            "GET",
            _path(ctx, ACCOUNTS),
            headers=_headers(ctx, ACCOUNTS),
            params=_params(ctx, ACCOUNTS),
            retry_429=False,
        )
        if answer.status == 429:
            _reject(ctx, answer, status, codes, "the request over the limit")
            return
    raise ctx.fail(f"no 429 within {budget} requests (fixture load_requests)")


def _fault(ctx: RuleContext) -> ProbeResponse:
    party = _optional_party(ctx, "fault_party")
    return _get(ctx, ACCOUNTS, headers={"PartyID": party})


@rule("DSOP-ACC-500-SERVER-ERROR")
def server_error_500(ctx: RuleContext) -> None:
    status, codes = _rule_codes(ctx, ACCOUNTS, trigger="server-error")
    _reject(ctx, _fault(ctx), status, codes, "a lookup that fails at the bank (fault_party)")


@rule("DSOP-PARTIAL-NOT-FOR-OUTAGES")
def partial_not_for_outages(ctx: RuleContext) -> None:
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
    if not RFC3339.match(value):
        return False
    try:
        dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


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
            found.check(_valid_datetime(value), page, f"{where} is not an RFC 3339 date-time")
        elif name == "ISOYearMonth":
            found.check(bool(YEAR_MONTH.match(value)), page, f"{where} is not YYYY-MM")
    found.judge()


@rule("DSOP-AMOUNT-SIGN")
def amount_sign(ctx: RuleContext) -> None:
    found = _Findings(ctx)
    for page, path, _, node, value, _ in _corpus_nodes(ctx):
        if "minimum" in node and isinstance(value, int | float) and not isinstance(value, bool):
            message = f"{page.operation} {path} = {value} is negative"
            found.check(value >= node["minimum"], page, message)
        if (
            isinstance(value, Mapping)
            and "amount" in value
            and "creditDebitIndicator" in (node.get("properties") or {})
            and "creditDebitIndicator" not in value
        ):
            found.problem(page, f"{page.operation} {path}: an amount without creditDebitIndicator")
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
    for page, path, _, node, value, _ in _walk_pages(ctx, list(corpus.pages())):
        props = node.get("properties") or {}
        if not isinstance(value, Mapping) or "endDate" not in props or "startDate" not in props:
            continue
        if "cardIdentifier" in props:
            continue  # card months: DSOP-CARD-DATES
        end, start = value.get("endDate"), value.get("startDate")
        if not isinstance(end, str):
            continue
        message = f"{page.operation} {path}: endDate {end} is not after startDate {start}"
        found.check(not (isinstance(start, str) and end <= start), page, message)
        if end > period_end.isoformat():
            message = f"{page.operation} {path}: endDate {end} lies after the period (still open)"
            found.problem(page, message)
    if found.checked == 0:
        ctx.note("no endDate in the bodies")
        found.checked = 1  # no end date anywhere is a pass (open accounts), not "not applicable"
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
    for page, item in owned.items:
        owner = ((item.get("primaryOwner") or {}).get("identifier") or {}).get("value")
        if owner is not None and owner != party:
            raise ctx.fail(
                f"OnlyPrimaryOwner=true lists {item.get('accountReference')}, whose primary owner "
                "is another party",
                page.response,
            )
    if False not in service.only_primary_owner:
        return
    everything = _walk(ctx, ACCOUNTS, params={"OnlyPrimaryOwner": "false"})
    listed = {i.get("accountReference") for _, i in everything.items}
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
                raise ctx.fail(
                    f"the {balance.get('type')} of a period ending {to} is registered {registered} "
                    "(a value after the period's end)",
                    answer,
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
    with_dates = _balance_types(_ok(ctx, dated, "details for today"))
    without = _balance_types(_ok(ctx, undated, "details without fromDate/toDate"))
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
        for i in _list_of(_ok(ctx, listed_today, "accounts for today"), ACCOUNTS)
    }
    b = {
        i.get("accountReference")
        for i in _list_of(_ok(ctx, listed, "accounts without dates"), ACCOUNTS)
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
    reference = str(ctx.fixture("account_reference"))
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
    if multi == 0:
        ctx.note("every transaction list fits on one page")


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
    for walk in _corpus(ctx).walks():
        if walk.problem is not None and walk.pages and walk.problem_response is not None:
            raise ctx.fail(f"{walk.operation}: {walk.problem}", walk.problem_response)
    ctx.note(f"{len(_corpus(ctx).walks())} list(s) walked to their last page")


@rule("DSOP-PAGE-NO-DUPLICATES")
def page_no_duplicates(ctx: RuleContext) -> None:
    for walk in _corpus(ctx).walks():
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
            "from_date": self.earliest,
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
    elif name in ctx.manifest.credentials:
        own = (ctx.fixtures.get("consumers") or {}).get(name)
        if not isinstance(own, Mapping):
            raise RuleError(f"credentials.{name} has no fixtures.consumers.{name} (its test data)")
        fixtures = {k: v for k, v in ctx.fixtures.items() if k not in CONSUMER_FIXTURES}
        fixtures.update({str(k): v for k, v in own.items()})
        fixtures["service"] = name
        manifest = ctx.manifest.model_copy(update={"fixtures": fixtures})
        view = dataclasses.replace(ctx, manifest=manifest, notes=ctx.notes)
        try:
            auth = ctx.credentials.named_token(name)
        except tokens.AuthUnavailable as exc:
            raise RuleError(f"credentials.{name}: {exc}") from None
    else:
        raise NotApplicable(
            f"the manifest names no consumer of {name} (fixture service, or credentials.{name} "
            f"with fixtures.consumers.{name})"
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
    return Consumer(view, service, auth, politi)


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
    for mandate in mandates:
        answer = consumer.get(ACCOUNTS, headers={"Legal-Mandate": quote(mandate, safe="")})
        _ok(view, answer, f"{name} with the mandate {mandate!r}")
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
        answer = consumer.get(ACCOUNTS, params={"fromDate": earliest.isoformat()})
        _ok(view, answer, f"{name} with the earliest fromDate allowed ({earliest})")


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
    managed = str(view.fixture("account_reference"))
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
        )


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
    _reject(
        view,
        consumer.get(ACCOUNTS, headers={"PartyID": party}),
        status,
        codes,
        f"Konkursbehandling listing the accounts of {party}, who has no bankruptcy ruling",
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


def _refused_orders(
    ctx: RuleContext, consumer: Consumer, cases: Mapping[str, Callable[[], str]], **filters: Any
) -> None:
    status, codes = _rule_codes(ctx, ACCOUNTS, trigger="invalid-combination", **filters)
    for what, make in cases.items():
        answer = consumer.get(ACCOUNTS, order=make())
        _reject(ctx, answer, status, codes, f"an extradition order {what}")
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
        _reject(ctx, answer, status, codes, f"an extradition order {what}")
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
        _reject(ctx, answer, status, codes, f"an extradition order {what}")
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
