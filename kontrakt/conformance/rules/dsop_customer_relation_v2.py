"""DSOP Customer Relation Overview v2.0 conformance profile: one function per `x-kontrakt-rules` id.

Bits runs this API ("Kundeforhold", FACTS §7); the rules are written so that any provider of it
(Bits' own preprod, a mock, kontrakt's sandbox) can be judged from its manifest alone. Codes,
triggers, parameters and schemas are read from `specs/dsop-customer-relation/v2.0/openapi.yaml`.

Basis. V.2.0 publishes inputs and response fields only; the error codes and the error body are
carried over from 1.1.2 (catalogue assumption A-CRO-006), so a refusal's *status* is judged and a
code other than the catalogue's is a deviation (a warning at the default level). Rules the
catalogue marks `basis: assumption` (the mandate refusal, the dates enforced, the 1.1.2 error
body, the unknown account, the silent register) only ever warn at the default level. No rule
compares the provider's data with the sandbox's: the banks listed are judged for shape and
consistency (between the answers of one provider, and against the fixtures its manifest
declares), never for which banks they are.

Not automated: CRO-ACCOUNTID-NO-MOD11 - an 11-digit number with a wrong check digit services no
account, so refusing it 400 ERR-004 as unknown (A-CRO-020) and refusing it for its check digit
look the same from outside.

Fixtures (`fixtures:` of the manifest; declared at the end of this module):

| name | needed by | meaning |
|---|---|---|
| `customer_with_relationships` | every request of customerRelationships, the preflight | a CustomerID with at least one bank relationship in the period |
| `legal_mandate` | optional | the plain-text Legal-Mandate to send (default: the contract's example, OED) |
| `customer_without_relationships` | optional (CRO-BANKS-PRESENT) | a CustomerID without any relationship |
| `account_with_provider` | optional (accountServicingProvider rules) | an account number some institution services |
| `unknown_account` | optional (CRO-ASP-UNKNOWN-ACCOUNT) | an 11-digit account number no institution services |
| `kfr_banks` | optional (CRO-ACTIVE-ACCOUNT) | organisation numbers of institutions registered in KFR (activeAccount always false) |
| `fault_customer` | optional (CRO-UPSTREAM-TIMEOUT) | a CustomerID whose lookup fails on purpose |
| `history_days` | optional | how far back the request period reaches (default 365) |
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, unquote

from kontrakt.conformance import auth as tokens
from kontrakt.conformance.probe import ProbeResponse
from kontrakt.conformance.registry import NotApplicable, RuleContext, RuleError, RuleSet
from kontrakt.conformance.spec import HTTP_METHODS

__all__ = ["rules"]

rules = RuleSet("dsop-customer-relation/v2.0")
rule = rules.rule

RELATIONS = "getCustomerRelation"
PROVIDER = "getAccountServicingProvider"
SCOPES = {RELATIONS: "bits:kundeforhold", PROVIDER: "bits:kundeforhold.konto"}
OWNERSHIP = ("primaryOwner", "notPrimaryOwner", "unknown")
ORGNO = re.compile(r"^[0-9]{9}$")
RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE
)
FORMAT_ASSUMPTION = "A-CRO-010"  # CustomerID is exactly 9 or 11 digits
BANKS_ASSUMPTION = "A-CRO-015"  # no relationship: 200 with banks []
ACTIVE_ASSUMPTION = "A-CRO-021"  # activeAccount present on every bank
GATEWAY_401 = "A-CRO-016"  # a 401 may carry the gateway body {statusCode, message}


# --- the request a valid consumer sends -------------------------------------------------------


def _today() -> dt.date:
    return dt.date.today()


def _period(ctx: RuleContext, *, end: dt.date | None = None) -> dict[str, str]:
    to = end or _today()
    days = int(ctx.fixtures.get("history_days", 365))
    return {"fromDate": (to - dt.timedelta(days=days)).isoformat(), "toDate": to.isoformat()}


def _mandate(ctx: RuleContext) -> str:
    if "legal_mandate" in ctx.fixtures:
        return quote(str(ctx.fixtures["legal_mandate"]), safe="")
    parameter = ctx.spec.operation(RELATIONS).parameter("Legal-Mandate") or {}
    example = parameter.get("example")
    if not isinstance(example, str):
        raise RuleError("the contract gives no Legal-Mandate example and no legal_mandate fixture")
    return quote(unquote(example), safe="")


def _subject(ctx: RuleContext, operation: str) -> dict[str, str]:
    if operation == RELATIONS:
        return {"CustomerID": str(ctx.fixture("customer_with_relationships"))}
    return {"AccountID": str(ctx.fixture("account_with_provider"))}


def _get(
    ctx: RuleContext,
    operation: str,
    *,
    headers: Mapping[str, str | None] | None = None,
    params: Mapping[str, str | None] | None = None,
    auth: bool | str = True,
    scope: str | None = None,
    period: Mapping[str, str] | None = None,
) -> ProbeResponse:
    """A valid request of `operation` (its own scope), with `headers`/`params` changed (None
    removes one)."""
    found: dict[str, str | None] = {
        "Accept": "application/json",
        "CorrelationID": str(uuid.uuid4()),
        "AccountInfoRequestID": str(uuid.uuid4()),
        "Legal-Mandate": _mandate(ctx),
        **_subject(ctx, operation),
    }
    for name, value in (headers or {}).items():
        for existing in [k for k in found if k.lower() == name.lower()]:
            del found[existing]
        found[name] = value
    query: dict[str, str | None] = {}
    if operation == RELATIONS:
        query.update(period or _period(ctx))
    query.update(params or {})
    return ctx.probe.request(
        "GET",
        ctx.spec.operation(operation).path,
        headers=found,
        params={k: v for k, v in query.items() if v is not None},
        auth=auth,
        scope=scope or SCOPES[operation],
    )


def _operations(ctx: RuleContext) -> list[str]:
    """The operations the manifest can drive: accountServicingProvider needs its fixture."""
    found = [RELATIONS]
    if "account_with_provider" in ctx.fixtures:
        found.append(PROVIDER)
    else:
        ctx.note("accountServicingProvider not probed: no fixtures.account_with_provider")
    return found


def _body(answer: ProbeResponse) -> Any:
    try:
        return json.loads(answer.content)
    except (ValueError, UnicodeDecodeError):
        return None


def _refused(
    ctx: RuleContext,
    answer: ProbeResponse,
    statuses: Sequence[int],
    codes: Sequence[str | int],
    what: str,
) -> None:
    """`answer` refuses with one of `statuses` (the publisher's demand: anything else fails);
    its code is the catalogue's proposal (A-CRO-006: another code only deviates)."""
    wanted = " or ".join(str(s) for s in statuses)
    if answer.status not in statuses:
        raise ctx.fail(f"{what}: expected HTTP {wanted}, got {answer.status}", answer)
    body = _body(answer)
    if answer.status == 401 and isinstance(body, Mapping) and "statusCode" in body:
        ctx.reading("a 401 carries the gateway body {statusCode, message} (A-CRO-016)")
        return
    real = [c for c in codes if c != "UNDOCUMENTED"]
    if real:
        ctx.expect_code(answer, real)


def _use(ctx: RuleContext, operation: str, **filters: Any) -> tuple[list[int], list[str | int]]:
    uses = ctx.spec.errors(operation=operation, **filters)
    if not uses:
        raise RuleError(f"{operation} declares no error use for {filters}")
    return sorted({int(u.status) for u in uses}), sorted({u.code for u in uses}, key=str)


def _banks(ctx: RuleContext, answer: ProbeResponse, what: str) -> list[Mapping[str, Any]]:
    if answer.status != 200:
        raise ctx.fail(f"{what}: expected HTTP 200, got {answer.status}", answer)
    body = answer.json()
    if not isinstance(body, Mapping) or not isinstance(body.get("banks"), list):
        raise ctx.fail(f"{what}: the 200 body has no banks array", answer)
    return [b for b in body["banks"] if isinstance(b, Mapping)]


def _orgnos(banks: Sequence[Mapping[str, Any]]) -> set[str]:
    return {str(b.get("organizationID")) for b in banks}


# --- authentication and authorisation ---------------------------------------------------------


@rule("CRO-AUTH-TOKEN")
def token_required(ctx: RuleContext) -> None:
    real = ctx.credentials.token(scope=SCOPES[RELATIONS])
    cases: dict[str, bool | str] = {
        "no Authorization header": False,
        "a token with an altered signature": tokens.altered_signature(real),
        "a token with alg none": tokens.alg_none(real),
        "edited claims under the original signature": tokens.edited_claims(real),
    }
    minter = ctx.credentials.minter
    if minter is not None:
        cases["an expired token"] = minter.expired(real)
        cases["a token from another issuer"] = minter.wrong_issuer(real)
    for operation in _operations(ctx):
        statuses, codes = _use(ctx, operation, trigger="unauthenticated")
        for what, token in cases.items():
            answer = _get(ctx, operation, auth=token)
            _refused(ctx, answer, statuses, codes, f"{operation} with {what}")


def _wrong_scope(ctx: RuleContext, operation: str) -> None:
    other = next(s for op, s in SCOPES.items() if op != operation)
    statuses, codes = _use(ctx, operation, trigger="forbidden", rule=ctx.rule.id)
    answer = _get(ctx, operation, scope=other)
    _refused(ctx, answer, statuses, codes, f"{operation} with a token of scope {other} only")


@rule("CRO-AUTH-SCOPE-RELATIONSHIPS")
def scope_relationships(ctx: RuleContext) -> None:
    _wrong_scope(ctx, RELATIONS)


@rule("CRO-AUTH-SCOPE-ACCOUNT")
def scope_account(ctx: RuleContext) -> None:
    if "account_with_provider" not in ctx.fixtures:
        raise NotApplicable("needs fixtures.account_with_provider")
    _wrong_scope(ctx, PROVIDER)


@rule("CRO-AUTH-MANDATE")
def mandate_refused(ctx: RuleContext) -> None:
    # basis: assumption (A-CRO-014). The page says the mandate is validated, not how a refusal
    # looks: 403 ERR-001 and 400 are both accepted and the one seen is reported.
    foreign = quote("Lov om ingenting § 1 (kontrakt-test)", safe="")
    answer = _get(ctx, RELATIONS, headers={"Legal-Mandate": foreign})
    if answer.status in (400, 403):
        ctx.reading(f"a mandate the consumer may not use is refused {answer.status}")
        return
    raise ctx.fail(f"a Legal-Mandate no DSOP service has was answered {answer.status}", answer)


# --- request validation -----------------------------------------------------------------------


def _parameter_cases(ctx: RuleContext, bad: Mapping[str, Sequence[str]]) -> None:
    """Every parameter the rule's error uses name, sent missing and with each bad value."""
    checked = 0
    for operation in _operations(ctx):
        op = ctx.spec.operation(operation)
        for use in ctx.spec.errors(operation=operation, rule=ctx.rule.id):
            if use.trigger not in ("missing-parameter", "invalid-parameter"):
                continue
            for name in use.parameters:
                parameter = op.parameter(name)
                if parameter is None:
                    continue
                values: Sequence[str | None] = (
                    [None] if use.trigger == "missing-parameter" else bad.get(name, ())
                )
                for value in values:
                    change = {name: value}
                    if parameter.get("in") == "header":
                        answer = _get(ctx, operation, headers=change)
                    else:
                        answer = _get(ctx, operation, params=change)
                    shown = "missing" if value is None else f"= {value!r}"
                    _refused(
                        ctx, answer, [int(use.status)], [use.code], f"{operation} {name} {shown}"
                    )
                    checked += 1
    ctx.judged(range(checked), "parameter cases the contract names for this rule")


@rule("CRO-HDR-CORRELATIONID")
def correlation_id(ctx: RuleContext) -> None:
    _parameter_cases(ctx, {"CorrelationID": ["not-a-uuid", "12345"]})


@rule("CRO-HDR-ACCOUNTINFOREQUESTID")
def account_info_request_id(ctx: RuleContext) -> None:
    _parameter_cases(ctx, {"AccountInfoRequestID": ["not-a-uuid", "12345"]})


@rule("CRO-HDR-LEGAL-MANDATE")
def legal_mandate_header(ctx: RuleContext) -> None:
    _parameter_cases(ctx, {"Legal-Mandate": []})


@rule("CRO-HDR-CUSTOMERID")
def customer_id(ctx: RuleContext) -> None:
    _parameter_cases(ctx, {"CustomerID": ["1234", "abcdefghijk", "1285851004"]})


@rule("CRO-HDR-ACCOUNTID")
def account_id(ctx: RuleContext) -> None:
    if "account_with_provider" not in ctx.fixtures:
        raise NotApplicable("needs fixtures.account_with_provider")
    _parameter_cases(ctx, {"AccountID": ["1234", "9710.00.00028", "abcdefghijk"]})


@rule("CRO-ASP-UNKNOWN-ACCOUNT")
def unknown_account(ctx: RuleContext) -> None:
    # basis: assumption (A-CRO-020): no status is published for an account nobody services.
    account = str(ctx.fixture("unknown_account"))
    answer = _get(ctx, PROVIDER, headers={"AccountID": account})
    if answer.status == 200:
        body = _body(answer)
        raise ctx.fail(f"an account no institution services was answered 200 {body!r}", answer)
    statuses, codes = _use(ctx, PROVIDER, trigger="not-found")
    _refused(ctx, answer, statuses, codes, "an account no institution services")


@rule("CRO-PERIOD-REQUIRED")
def period_required(ctx: RuleContext) -> None:
    # basis: assumption (A-CRO-012): the page marks both dates M, 1.1.2 defaulted to today.
    statuses, codes = _use(ctx, RELATIONS, trigger="missing-parameter", rule=ctx.rule.id)
    for name in ("fromDate", "toDate"):
        answer = _get(ctx, RELATIONS, params={name: None})
        _refused(ctx, answer, statuses, codes, f"customerRelationships without {name}")


@rule("CRO-PERIOD-FORMAT")
def period_format(ctx: RuleContext) -> None:
    start = _today() - dt.timedelta(days=30)
    bad = [start.strftime("%d.%m.%Y"), f"{start.year}-13-01", "yesterday"]
    statuses, codes = _use(ctx, RELATIONS, trigger="invalid-parameter", rule=ctx.rule.id)
    for name in ("fromDate", "toDate"):
        for value in bad:
            answer = _get(ctx, RELATIONS, params={name: value})
            _refused(ctx, answer, statuses, codes, f"customerRelationships {name}={value!r}")
    later, earlier = _today(), _today() - dt.timedelta(days=7)
    statuses, codes = _use(ctx, RELATIONS, trigger="invalid-combination", rule=ctx.rule.id)
    answer = _get(
        ctx, RELATIONS, period={"fromDate": later.isoformat(), "toDate": earlier.isoformat()}
    )
    _refused(ctx, answer, statuses, codes, f"fromDate {later} after toDate {earlier}")


@rule("CRO-OPO-BOOLEAN")
def only_primary_owner_boolean(ctx: RuleContext) -> None:
    _parameter_cases(ctx, {"onlyPrimaryOwner": ["maybe", "ja"]})


# --- onlyPrimaryOwner and the bank list -------------------------------------------------------


@rule("CRO-OPO-DEFAULT")
def only_primary_owner_default(ctx: RuleContext) -> None:
    absent = _get(ctx, RELATIONS)
    false = _get(ctx, RELATIONS, params={"onlyPrimaryOwner": "false"})
    without = _banks(ctx, absent, "without onlyPrimaryOwner")
    listed = _banks(ctx, false, "onlyPrimaryOwner=false")
    ctx.judged(listed, "banks of customer_with_relationships", must_exist=True)
    if _orgnos(without) != _orgnos(listed):
        raise ctx.fail(
            "without onlyPrimaryOwner the banks differ from onlyPrimaryOwner=false: "
            f"{sorted(_orgnos(without))} vs {sorted(_orgnos(listed))}",
            absent,
            false,
        )


@rule("CRO-OPO-FILTER")
def only_primary_owner_filter(ctx: RuleContext) -> None:
    true = _get(ctx, RELATIONS, params={"onlyPrimaryOwner": "true"})
    false = _get(ctx, RELATIONS, params={"onlyPrimaryOwner": "false"})
    owned = _banks(ctx, true, "onlyPrimaryOwner=true")
    every = _banks(ctx, false, "onlyPrimaryOwner=false")
    ctx.judged(every, "banks of customer_with_relationships", must_exist=True)
    for bank in owned:
        if bank.get("ownershipType") == "notPrimaryOwner":
            raise ctx.fail(
                f"onlyPrimaryOwner=true lists {bank.get('organizationID')} as notPrimaryOwner", true
            )
        if bank.get("ownershipType") == "unknown":
            ctx.reading("onlyPrimaryOwner=true keeps banks whose ownership is unknown (A-CRO-017)")
    extra = _orgnos(owned) - _orgnos(every)
    if extra:
        raise ctx.fail(
            f"onlyPrimaryOwner=true lists banks the unfiltered list lacks: {sorted(extra)}",
            true,
            false,
        )
    dropped = {
        str(b.get("organizationID")) for b in every if b.get("ownershipType") == "notPrimaryOwner"
    } & _orgnos(owned)
    if dropped:
        raise ctx.fail(
            f"banks marked notPrimaryOwner are kept by the filter: {sorted(dropped)}", true
        )


@rule("CRO-OWNERSHIP-TYPE")
def ownership_type(ctx: RuleContext) -> None:
    seen = 0
    for value in ("true", "false"):
        answer = _get(ctx, RELATIONS, params={"onlyPrimaryOwner": value})
        for bank in _banks(ctx, answer, f"onlyPrimaryOwner={value}"):
            seen += 1
            if bank.get("ownershipType") not in OWNERSHIP:
                raise ctx.fail(
                    f"onlyPrimaryOwner={value}: bank {bank.get('organizationID')} has "
                    f"ownershipType {bank.get('ownershipType')!r}",
                    answer,
                )
    ctx.judged(range(seen), "banks of customer_with_relationships", must_exist=True)


@rule("CRO-BANKS-PRESENT")
def banks_present(ctx: RuleContext) -> None:
    _banks(ctx, _get(ctx, RELATIONS), "customer_with_relationships")
    if "customer_without_relationships" not in ctx.fixtures:
        ctx.note("no fixtures.customer_without_relationships: the empty answer is not probed")
        return
    lonely = str(ctx.fixtures["customer_without_relationships"])
    answer = _get(ctx, RELATIONS, headers={"CustomerID": lonely})
    if answer.status != 200:
        ctx.deviate(
            BANKS_ASSUMPTION, f"a customer without relationships: HTTP {answer.status}", answer
        )
        return
    banks = _banks(ctx, answer, "customer_without_relationships")
    if banks:
        raise ctx.fail(f"customer_without_relationships lists {sorted(_orgnos(banks))}", answer)


@rule("CRO-BANK-FIELDS")
def bank_fields(ctx: RuleContext) -> None:
    answer = _get(ctx, RELATIONS)
    banks = _banks(ctx, answer, "customer_with_relationships")
    ctx.judged(banks, "banks of customer_with_relationships", must_exist=True)
    for bank in banks:
        org = bank.get("organizationID")
        if not isinstance(org, str) or not ORGNO.match(org):
            raise ctx.fail(f"organizationID {org!r} is not 9 digits", answer)
        if not isinstance(bank.get("bankName"), str) or not bank["bankName"].strip():
            raise ctx.fail(f"bank {org} has no bankName", answer)
        if "activeAccount" not in bank:
            ctx.deviate(ACTIVE_ASSUMPTION, f"bank {org} has no activeAccount", answer)
        elif not isinstance(bank["activeAccount"], bool):
            raise ctx.fail(
                f"bank {org}: activeAccount {bank['activeAccount']!r} is no boolean", answer
            )


@rule("CRO-ACTIVE-ACCOUNT")
def active_account(ctx: RuleContext) -> None:
    # Published (CR banks.activeAccount, KFRFAQ): true only when toDate is today; never for KFR.
    earlier = _today() - dt.timedelta(days=30)
    past = _get(ctx, RELATIONS, period=_period(ctx, end=earlier))
    banks = _banks(ctx, past, f"a period ending {earlier}")
    now = _get(ctx, RELATIONS)
    current = _banks(ctx, now, "a period ending today")
    ctx.judged(banks + current, "banks of customer_with_relationships", must_exist=True)
    for bank in banks:
        if bank.get("activeAccount") is True:
            raise ctx.fail(
                f"bank {bank.get('organizationID')}: activeAccount true for a period ending "
                f"{earlier}, not today",
                past,
            )
    kfr = {str(o) for o in ctx.fixtures.get("kfr_banks") or ()}
    for bank in current:
        if str(bank.get("organizationID")) in kfr and bank.get("activeAccount") is True:
            raise ctx.fail(f"KFR bank {bank.get('organizationID')}: activeAccount true", now)


@rule("CRO-ORGANIZATIONID-CASING")
def organization_id_casing(ctx: RuleContext) -> None:
    answers = [_get(ctx, op) for op in _operations(ctx)]
    for answer in answers:
        if answer.status != 200:
            continue
        body = answer.json()
        objects = body.get("banks", []) if isinstance(body, Mapping) and "banks" in body else [body]
        for item in objects:
            if isinstance(item, Mapping) and "organizationId" in item:
                raise ctx.fail("a bank is spelled organizationId (lower-case d)", answer)
    ctx.judged([a for a in answers if a.status == 200], "200 answers")


@rule("CRO-ASP-RESULT")
def servicing_provider(ctx: RuleContext) -> None:
    if "account_with_provider" not in ctx.fixtures:
        raise NotApplicable("needs fixtures.account_with_provider")
    answer = _get(ctx, PROVIDER)
    if answer.status != 200:
        raise ctx.fail(f"account_with_provider: expected HTTP 200, got {answer.status}", answer)
    body = answer.json()
    org = body.get("organizationID") if isinstance(body, Mapping) else None
    if not isinstance(org, str) or not ORGNO.match(org):
        raise ctx.fail(f"organizationID {org!r} is not 9 digits", answer)
    if not isinstance(body.get("bankName"), str) or not body["bankName"].strip():
        raise ctx.fail("no bankName", answer)


@rule("CRO-SCHEMA-200")
def bodies_validate(ctx: RuleContext) -> None:
    answers = [(RELATIONS, _get(ctx, RELATIONS))]
    for value in ("true", "false"):
        answers.append((RELATIONS, _get(ctx, RELATIONS, params={"onlyPrimaryOwner": value})))
    if "account_with_provider" in ctx.fixtures:
        answers.append((PROVIDER, _get(ctx, PROVIDER)))
    judged = [(op, a) for op, a in answers if a.status == 200]
    ctx.judged(judged, "200 answers")
    for operation, answer in judged:
        ctx.expect_valid(answer, operation)


# --- errors and transport ---------------------------------------------------------------------


def _provocations(ctx: RuleContext) -> list[tuple[str, ProbeResponse]]:
    return [
        ("missing CorrelationID", _get(ctx, RELATIONS, headers={"CorrelationID": None})),
        ("invalid CustomerID", _get(ctx, RELATIONS, headers={"CustomerID": "12"})),
        (
            "fromDate after toDate",
            _get(ctx, RELATIONS, period={"fromDate": "2025-02-01", "toDate": "2025-01-01"}),
        ),
        ("wrong scope", _get(ctx, RELATIONS, scope=SCOPES[PROVIDER])),
    ]


@rule("CRO-ERROR-BODY")
def error_body(ctx: RuleContext) -> None:
    # basis: assumption (A-CRO-005): the V.2.0 error body is not published.
    errors = [(w, a) for w, a in _provocations(ctx) if a.status >= 400]
    ctx.judged(errors, "error answers to the provocations")
    for what, answer in errors:
        body = _body(answer)
        if not isinstance(body, Mapping):
            raise ctx.fail(f"{what}: the HTTP {answer.status} body is no JSON object", answer)
        missing = [k for k in ("errorCode", "errorMessage", "timestamp") if k not in body]
        if missing:
            raise ctx.fail(f"{what}: the error body lacks {', '.join(missing)}", answer)
        if not isinstance(body["timestamp"], str) or not RFC3339.match(body["timestamp"]):
            raise ctx.fail(f"{what}: timestamp {body['timestamp']!r} is not RFC 3339", answer)


@rule("CRO-METHOD-GET-ONLY")
def get_only(ctx: RuleContext) -> None:
    for operation in _operations(ctx):
        path = ctx.spec.operation(operation).path
        statuses, codes = _use(ctx, operation, trigger="method-not-allowed")
        for method in HTTP_METHODS:
            if method == "get":
                continue
            answer = ctx.probe.request(
                method.upper(), path, headers={"Accept": "application/json"}, expect_rejection=True
            )
            if method in ("head", "options") and 200 <= answer.status < 300:
                if answer.content:
                    raise ctx.fail(
                        f"{method.upper()} {path} answered {answer.status} with a body", answer
                    )
                ctx.reading(f"{method.upper()} answered {answer.status} without a body (RFC 9110)")
                continue
            if method == "head":
                if answer.status == 405:
                    continue
                # RFC 9110 9.3.2: HEAD is GET without the content. A server serving HEAD answers
                # what the GET with the same headers gets (here an error: the probe sends none of
                # the required headers); the publisher says nothing of HEAD.
                same = ctx.probe.request(
                    "GET", path, headers={"Accept": "application/json"}, expect_rejection=True
                )
                if answer.status == same.status and not answer.content:
                    ctx.reading(f"HEAD answered {answer.status} like the same GET (RFC 9110 9.3.2)")
                    continue
                raise ctx.fail(
                    f"HEAD {path}: expected HTTP 405 or the same GET's {same.status}, "
                    f"got {answer.status}",
                    answer,
                )
            _refused(ctx, answer, statuses, codes, f"{method.upper()} {path}")


@rule("CRO-NOT-ACCEPTABLE")
def not_acceptable(ctx: RuleContext) -> None:
    statuses, codes = _use(ctx, RELATIONS, trigger="not-acceptable")
    for accept in ("text/html", "application/xml"):
        answer = _get(ctx, RELATIONS, headers={"Accept": accept})
        if answer.status == 200 and answer.content_type == "application/json":
            # RFC 9110 lets a server disregard Accept and send what it has.
            ctx.reading("Accept disregarded: JSON served (RFC 9110 15.5.7)")
            continue
        _refused(ctx, answer, statuses, codes, f"Accept: {accept}")


@rule("CRO-UPSTREAM-TIMEOUT")
def upstream_timeout(ctx: RuleContext) -> None:
    # basis: assumption (A-CRO-019): an incomplete lookup is an error, 504 or 500.
    fault = str(ctx.fixture("fault_customer"))
    answer = _get(ctx, RELATIONS, headers={"CustomerID": fault})
    if answer.status in (500, 502, 503, 504):
        ctx.reading(f"a failed register lookup is answered {answer.status}")
        return
    raise ctx.fail(f"a lookup whose register fails was answered {answer.status}", answer)


# --- preflight --------------------------------------------------------------------------------


@rules.preflight
def preflight(ctx: RuleContext) -> None:
    """customerRelationships for customer_with_relationships, as the manifest's consumer."""
    from kontrakt.conformance.preflight import expect_plain

    if "customer_with_relationships" not in ctx.fixtures:
        raise NotApplicable("the manifest gives no fixtures.customer_with_relationships")
    expect_plain(ctx, _get(ctx, RELATIONS), 200)


# --- what a manifest gives ----------------------------------------------------------------------

AUTOMATED = tuple(rules.functions)
REQUESTS = (*AUTOMATED, "PREFLIGHT")
ASP_RULES = tuple(
    r
    for r in AUTOMATED
    if r
    in (
        "CRO-AUTH-TOKEN",
        "CRO-AUTH-SCOPE-ACCOUNT",
        "CRO-HDR-CORRELATIONID",
        "CRO-HDR-ACCOUNTINFOREQUESTID",
        "CRO-HDR-LEGAL-MANDATE",
        "CRO-HDR-ACCOUNTID",
        "CRO-ASP-UNKNOWN-ACCOUNT",
        "CRO-ASP-RESULT",
        "CRO-ORGANIZATIONID-CASING",
        "CRO-SCHEMA-200",
        "CRO-METHOD-GET-ONLY",
    )
)

rules.fixture(
    "customer_with_relationships",
    "A CustomerID (national identity number, D-number or organisation number) with at least one "
    "bank relationship in the request period; the rules judge the shape of its bank list.",
    rules=REQUESTS,
    example="12858510048",
)
rules.fixture(
    "legal_mandate",
    "Has a default: the plain-text Legal-Mandate a valid request sends (default: the contract's "
    "example, the OED mandate).",
    rules=REQUESTS,
    required=False,
)
rules.fixture(
    "history_days",
    "Has a default: how many days back the request period reaches (default 365).",
    rules=REQUESTS,
    schema={"type": "integer", "minimum": 1},
    required=False,
)
rules.fixture(
    "customer_without_relationships",
    "A CustomerID with no relationship in the period (200 with banks []).",
    rules=("CRO-BANKS-PRESENT",),
    required=False,
)
rules.fixture(
    "account_with_provider",
    "An 11-digit account number some institution services (accountServicingProvider rules).",
    rules=ASP_RULES,
    required=False,
)
rules.fixture(
    "unknown_account",
    "An 11-digit account number no institution services.",
    rules=("CRO-ASP-UNKNOWN-ACCOUNT",),
    required=False,
)
rules.fixture(
    "kfr_banks",
    "Organisation numbers of institutions registered in KFR (activeAccount always false).",
    rules=("CRO-ACTIVE-ACCOUNT",),
    schema={"type": "array", "items": {"type": "string"}},
    required=False,
)
rules.fixture(
    "fault_customer",
    "A CustomerID whose register lookup fails on purpose in the test environment.",
    rules=("CRO-UPSTREAM-TIMEOUT",),
    required=False,
)
