"""The Sdir additional competence rules shared by the v1 and v2 profiles.

A check is written once, as `check(ctx, api)`, under its rule id (`@check("SDIR-...")`);
`register(rules)` registers every check whose id the profile's catalogue (`x-kontrakt-rules`) has,
so a rule both specs share exists once and runs in both profiles, and a rule only one version has
(v1's updates and single create, v2's list and prevalidate) runs only there.

Nothing about the body's shape is typed here: `Shape` walks the batch request's item schema of
the profile's own document and finds where each member sits (`competenceCode` in v1,
`competence.competenceCode` in v2), so an item is built, spoiled and compared by member name.
Codes, statuses, the batch limit (`x-kontrakt-batch`), the list parameters' ranges and the
subscription key's header come from the document as well.

Fixtures (manifest `fixtures:`), all synthetic test data of the provider:

| name | needed by | meaning |
|---|---|---|
| `organisation` | every write | the organisation of the manifest's token (the reporting ship owner) |
| `vessel_imo` | every write | IMO number of a vessel whose ship owner is `organisation` |
| `vessel_call_sign` | optional | call sign of a vessel of `organisation` (used when `vessel_imo` is absent) |
| `seafarers` | every write | list of `{personalIdentityNumber, firstName, lastName}` the provider accepts |
| `foreign_organisation` | SDIR-AUTH-ORG-MATCH | another valid organisation number |
| `foreign_vessel_imo` | SDIR-AUTH-SHIP-OWNER | IMO number of a registered vessel `organisation` does not own |
| `own_report_uid` | optional (SDIR-DATETIME-OFFSET under read_only) | a report of `organisation` |
| `foreign_report_uid` | SDIR-READ-OWN-ONLY | a report another organisation sent |
| `revoked_subscription_key` | optional (SDIR-AUTH-KEY-VALID) | a revoked subscription key |
| `delegated_organisation`, `delegated_vessel_imo` | SDIR-AUTH-DELEGATION | a customer that delegated its scope to the manifest's client, and a vessel of it |

Capabilities read: `endpoint:<operationId>` for the optional operations the catalogue marks
(`listCompetenceCodes`, v1 `createAdditionalCompetence`, `updateAdditionalCompetence`,
`listAdditionalCompetencesByUid`, `updateAdditionalCompetenceBatch`, v2
`listAdditionalCompetences`, `prevalidateAdditionalCompetenceBatch`).

Writes: every rule that sends a report (a batch, a create, an update, prevalidate) needs
`limits.read_only: false` and is not applicable under read_only. Bodies that can store nothing
(an empty array, text that is not JSON) are sent under read_only too, as requests meant to be
refused. Each report the suite sends gets a period start no other report of the run has, so runs
never collide with each other by accident.

Atomicity is judged by reading back (SDIR-BATCH-ATOMIC): after a failed batch, the good items
alone must be accepted as new reports (a half-stored batch makes them duplicates, 409), and in v2
none of them may appear in the organisation's list.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from conformance import auth as tokens
from conformance.probe import ProbeResponse
from conformance.registry import Failure, NotApplicable, RuleContext, RuleError, RuleSet
from conformance.spec import Spec, SpecError

__all__ = ["Api", "Shape", "check", "profile", "register"]

CODES, BATCH, GET = (
    "listCompetenceCodes",
    "createAdditionalCompetenceBatch",
    "getAdditionalCompetence",
)
CREATE, UPDATE, MANY = (
    "createAdditionalCompetence",
    "updateAdditionalCompetence",
    "listAdditionalCompetencesByUid",
)
UPDATE_BATCH, LIST, PREVALIDATE = (
    "updateAdditionalCompetenceBatch",
    "listAdditionalCompetences",
    "prevalidateAdditionalCompetenceBatch",
)
JSON, PROBLEM = "application/json", "application/problem+json"
OSLO = ZoneInfo("Europe/Oslo")
OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.I)
MAX_PAGES = 40

# Member names a report may use for each logical value (v1 flat, v2 nested). The paths are looked
# up in the document's schema; only the names are listed here.
MEMBERS: Mapping[str, tuple[str, ...]] = {
    "pin": ("personalIdentityNumber",),
    "first": ("firstName",),
    "last": ("lastName",),
    "org": ("organizationNumber", "organisationNumber"),
    "imo": ("vesselImoNumber", "imoNumber"),
    "call_sign": ("vesselCallSign", "callSign"),
    "code": ("competenceCode",),
    "start": ("periodStartDate",),
    "stop": ("periodStopDate",),
    "completion": ("completionDate",),
    "uid": ("uid",),
}


# --- the body's shape, from the document ---------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """Where each member of a batch item sits (dotted paths) and which are required."""

    paths: Mapping[str, str]  # logical name -> dotted path
    required: frozenset[str]  # dotted paths of required members (leaves and objects)
    top: tuple[str, ...]  # the item's top-level members

    def path(self, name: str) -> str:
        if name not in self.paths:
            raise SpecError(f"the batch item schema has no member for {name!r}")
        return self.paths[name]

    def has(self, name: str) -> bool:
        return name in self.paths


def _merged(spec: Spec, schema: Any) -> tuple[dict[str, Any], set[str]]:
    node = spec.resolve(schema)
    props: dict[str, Any] = dict(node.get("properties") or {})
    required: set[str] = set(node.get("required") or ())
    for part in node.get("allOf") or ():
        sub_props, sub_required = _merged(spec, part)
        props.update(sub_props)
        required |= sub_required
    return props, required


@cache
def _shape(spec: Spec) -> Shape:
    body = spec.resolve(spec.operation(BATCH).data["requestBody"])
    items = spec.resolve(body["content"][JSON]["schema"])["items"]
    names = {name: logical for logical, options in MEMBERS.items() for name in options}
    paths: dict[str, str] = {}
    required: set[str] = set()

    def walk(schema: Any, prefix: str) -> None:
        props, needed = _merged(spec, schema)
        for name, sub in props.items():
            dotted = f"{prefix}{name}"
            if name in needed:
                required.add(dotted)
            resolved = spec.resolve(sub)
            if resolved.get("type") == "object" or "properties" in resolved:
                walk(sub, dotted + ".")
            elif name in names:
                paths.setdefault(names[name], dotted)

    walk(items, "")
    top, _ = _merged(spec, items)
    return Shape(paths, frozenset(required), tuple(top))


def get_path(body: Mapping[str, Any], dotted: str) -> Any:
    node: Any = body
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def set_path(body: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, name = dotted.split(".")
    node = body
    for part in parents:
        node = node.setdefault(part, {})
    if value is None:
        node.pop(name, None)
    else:
        node[name] = value


# --- unique period starts ------------------------------------------------------------------------

_EPOCH = dt.date(1975, 1, 1)
_days = itertools.count((time.time_ns() // 1_000_000) % 14_000)


def fresh_day() -> dt.date:
    """A period start no other report of this process uses (and unlikely of any earlier run)."""
    return _EPOCH + dt.timedelta(days=next(_days) % 18_000)


# --- the API of one profile ----------------------------------------------------------------------


class Api:
    """Requests and bodies of one URL version, driven by the spec and the manifest's fixtures."""

    def __init__(self, ctx: RuleContext) -> None:
        self.ctx = ctx
        self.spec = ctx.spec
        self.probe = ctx.probe
        self.shape = _shape(ctx.spec)
        self._codes: list[str] | None = None

    # -- document data -------------------------------------------------------------------
    def path_of(self, operation: str) -> str:
        return self.spec.operation(operation).path

    def has(self, operation: str) -> bool:
        return any(op.id == operation for op in self.spec.operations)

    def batch_limit(self, operation: str = BATCH) -> tuple[int, int]:
        batch = self.spec.operation(operation).extension("batch") or {}
        if "max-items" not in batch:
            raise SpecError(f"{operation} has no x-kontrakt-batch max-items")
        return int(batch["max-items"]), int(batch.get("too-large-status", 413))

    @property
    def key_header(self) -> str:
        schemes = (self.spec.data.get("components") or {}).get("securitySchemes") or {}
        for scheme in schemes.values():
            if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
                return str(scheme["name"])
        raise SpecError("the document declares no apiKey header scheme")

    def codes(self) -> set[str | int]:
        """The codes of the current rule's catalogue entry (`codes:` of x-kontrakt-rules)."""
        return set(self.ctx.rule.codes)

    # -- fixtures ------------------------------------------------------------------------
    def require_writes(self) -> None:
        if self.ctx.manifest.limits.read_only:
            raise NotApplicable(
                "the rule stores reports, and the manifest sets limits.read_only (test mode "
                "with read_only: false runs it)"
            )

    def seafarer(self, n: int = 0) -> Mapping[str, Any]:
        people = self.ctx.fixture("seafarers")
        if not isinstance(people, list) or not people:
            raise RuleError("fixture seafarers must be a non-empty list of seafarers")
        person = people[n % len(people)]
        return person if isinstance(person, Mapping) else {"personalIdentityNumber": person}

    def item(self, n: int = 0, /, **values: Any) -> dict[str, Any]:
        """A new, valid report; `values` replace logical members (None removes one)."""
        person = self.seafarer(n)
        data: dict[str, Any] = {
            "pin": person.get("personalIdentityNumber"),
            "first": person.get("firstName"),
            "last": person.get("lastName"),
            "org": self.ctx.fixture("organisation"),
            "start": fresh_day().isoformat(),
        }
        imo = self.ctx.fixtures.get("vessel_imo")
        if imo:
            data["imo"] = imo
        else:
            data["call_sign"] = self.ctx.fixture("vessel_call_sign")
        data["code"] = self.known_codes()[0]
        data.update(values)
        body: dict[str, Any] = {}
        for name, value in data.items():
            if value is not None and self.shape.has(name):
                set_path(body, self.shape.path(name), value)
        return body

    def value(self, body: Mapping[str, Any], name: str) -> Any:
        return get_path(body, self.shape.path(name))

    def known_codes(self) -> list[str]:
        if self._codes is None:
            answer = self.probe.request("GET", self.path_of(CODES))
            if answer.status != 200:
                raise Failure(
                    f"the code list answers {answer.status}; a create needs a current code",
                    evidence=[answer],
                )
            listed = answer.json()
            self._codes = [str(c["code"]) for c in listed if isinstance(c, Mapping)] or ["BV"]
        return self._codes

    def unknown_code(self) -> str:
        known = set(self.known_codes())
        return next(
            c for c in (f"KZ{uuid.uuid4().hex[:6].upper()}" for _ in range(9)) if c not in known
        )

    # -- requests ------------------------------------------------------------------------
    def post(self, operation: str, body: Any, **kwargs: Any) -> ProbeResponse:
        return self.probe.request("POST", self.path_of(operation), json_body=body, **kwargs)

    def batch(self, items: Sequence[Mapping[str, Any]], **kwargs: Any) -> ProbeResponse:
        return self.post(BATCH, list(items), **kwargs)

    def created(self, items: Sequence[Mapping[str, Any]], why: str) -> list[dict[str, Any]]:
        """Create `items` (a setup step): the stored records, or a failure saying why."""
        answer = self.batch(items)
        if answer.status != 201:
            raise self.ctx.fail(f"{why}: a valid batch answers {answer.status}, not 201", answer)
        body = answer.json()
        if not isinstance(body, list) or len(body) != len(items):
            raise self.ctx.fail(f"{why}: the 201 body is not one record per item", answer)
        return [dict(r) for r in body]

    def read(self, uid: str) -> ProbeResponse:
        return self.probe.request("GET", self.path_of(GET).replace("{uid}", uid))

    def list_all(self, **params: Any) -> tuple[list[dict[str, Any]], list[ProbeResponse]]:
        """Every item of the v2 list (walking offset/limit), and the pages as evidence."""
        maximum = int(self.parameter(LIST, "limit").get("maximum", 100))
        found: list[dict[str, Any]] = []
        pages: list[ProbeResponse] = []
        for page in range(MAX_PAGES):
            answer = self.probe.request(
                "GET",
                self.path_of(LIST),
                params={**params, "offset": page * maximum, "limit": maximum},
            )
            pages.append(answer)
            self.ctx.expect_status(answer, 200)
            items = answer.json().get("items") or []
            found.extend(items)
            if len(items) < maximum:
                return found, pages
        raise NotApplicable(f"the list holds more than {MAX_PAGES} pages; not walked")

    def parameter(self, operation: str, name: str) -> Mapping[str, Any]:
        parameter = self.spec.operation(operation).parameter(name)
        if parameter is None:
            raise SpecError(f"{operation} has no parameter {name}")
        return dict(self.spec.resolve(parameter.get("schema") or {}))

    # -- judgements ----------------------------------------------------------------------
    def problem(self, answer: ProbeResponse, status: int, codes: set[str | int]) -> list[Any]:
        """Status, code and the errors list of an error answer; returns errors."""
        self.ctx.expect_status(answer, status)
        self.ctx.expect_code(answer, codes)
        errors = answer.json().get("errors")
        if not isinstance(errors, list):
            raise self.ctx.fail("the error body has no errors list", answer)
        return errors

    def fields(self, answer: ProbeResponse) -> list[Any]:
        return [e.get("field") for e in answer.json().get("errors") or [] if isinstance(e, dict)]

    def expect_field(self, answer: ProbeResponse, *fields: str) -> None:
        named = self.fields(answer)
        if not any(f in named for f in fields):
            raise self.ctx.fail(
                f"errors[].field should name {' or '.join(fields)}, got {named or 'none'}", answer
            )

    def same_values(self, sent: Mapping[str, Any], got: Mapping[str, Any]) -> list[str]:
        """Members of `sent` that `got` does not hold unchanged (dotted paths)."""
        differ = []
        for name, dotted in self.shape.paths.items():
            if name == "uid":
                continue
            value = get_path(sent, dotted)
            if value is not None and get_path(got, dotted) != value:
                differ.append(dotted)
        return differ

    def key(self, item: Mapping[str, Any]) -> tuple[Any, ...]:
        """The report identity of A-SDIR-012 (seafarer, code, vessel, period start)."""
        return tuple(
            self.value(item, n) if self.shape.has(n) else None
            for n in ("pin", "code", "imo", "call_sign", "start")
        )


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def _with_offset(value: Any) -> bool:
    return isinstance(value, str) and bool(OFFSET.match(value))


def _changed_digit(value: str) -> str:
    return value[:-1] + str((int(value[-1]) + 1) % 10)


# --- registration --------------------------------------------------------------------------------

CheckFunction = Callable[[RuleContext, Api], None]
CHECKS: dict[str, CheckFunction] = {}


def check(rule_id: str) -> Callable[[CheckFunction], CheckFunction]:
    def store(func: CheckFunction) -> CheckFunction:
        if rule_id in CHECKS:
            raise SpecError(f"{rule_id} has two checks")
        CHECKS[rule_id] = func
        return func

    return store


def _bound(func: CheckFunction) -> Callable[[RuleContext], None]:
    def run(ctx: RuleContext) -> None:
        func(ctx, Api(ctx))

    run.__name__ = func.__name__
    run.__doc__ = func.__doc__
    return run


def register(rules: RuleSet) -> list[str]:
    """Register every shared check the profile's catalogue has; the ids registered."""
    done = []
    for rule_id, func in CHECKS.items():
        if rule_id in rules.spec.rules:
            rules.rule(rule_id)(_bound(func))
            done.append(rule_id)
    return done


def profile(document: str) -> tuple[RuleSet, tuple[str, ...]]:
    """The rule set of one version's profile (the shared checks its catalogue has, and tier 3's
    exploratory run under SDIR-ERROR-CODES), with the ids automated."""
    rules = RuleSet(document)
    automated = tuple(register(rules))
    # Tier 3: the exploratory stateful run (certify --explore).
    rules.explore_rule("SDIR-ERROR-CODES")
    return rules, automated


# === authentication =============================================================================


def _gateway_401(ctx: RuleContext, api: Api, answer: ProbeResponse) -> None:
    ctx.expect_status(answer, 401)
    body = answer.json()
    problems = api.spec.validate(CODES, body, 401, JSON)
    if not answer.content_type.startswith(JSON) or problems:
        raise ctx.fail(
            "a key failure must carry the gateway body {statusCode, message} as "
            f"application/json ({'; '.join(problems) or answer.content_type})",
            answer,
        )
    if body.get("statusCode") != 401:
        raise ctx.fail("the gateway body's statusCode is not 401", answer)


@check("SDIR-AUTH-KEY-REQUIRED")
def key_required(ctx: RuleContext, api: Api) -> None:
    """No subscription key (token valid): 401 with APIM's body, on a read and on a write."""
    _gateway_401(
        ctx, api, api.probe.request("GET", api.path_of(CODES), headers={api.key_header: None})
    )
    answer = api.post(BATCH, [], headers={api.key_header: None}, expect_rejection=True)
    _gateway_401(ctx, api, answer)


@check("SDIR-AUTH-KEY-VALID")
def key_valid(ctx: RuleContext, api: Api) -> None:
    """An unknown (and, with the fixture, a revoked) key: 401 with APIM's body."""
    keys = [f"kontrakt-unknown-{uuid.uuid4().hex}"]
    revoked = ctx.fixtures.get("revoked_subscription_key")
    if revoked:
        keys.append(str(revoked))
        ctx.probe.redactor.add(str(revoked))
    else:
        ctx.note("no revoked_subscription_key fixture: only an unknown key was tried")
    for key in keys:
        answer = api.probe.request("GET", api.path_of(CODES), headers={api.key_header: key})
        _gateway_401(ctx, api, answer)
    _gateway_401(
        ctx, api, api.post(BATCH, [], headers={api.key_header: keys[0]}, expect_rejection=True)
    )


@check("SDIR-AUTH-TOKEN-REQUIRED")
def token_required(ctx: RuleContext, api: Api) -> None:
    """A valid key without a bearer token: 401 INVALID_TOKEN; the key alone grants nothing."""
    for answer in (
        api.probe.request("GET", api.path_of(CODES), headers={"Authorization": None}),
        api.post(BATCH, [], headers={"Authorization": None}, expect_rejection=True),
    ):
        ctx.expect_status(answer, 401)
        ctx.expect_code(answer, api.codes())


@check("SDIR-AUTH-TOKEN-VALID")
def token_valid(ctx: RuleContext, api: Api) -> None:
    """Tampered tokens (always) and expired / wrong-issuer tokens (with a signing key): 401."""
    real = ctx.credentials.token()
    bad = {
        "altered signature": tokens.altered_signature(real),
        "alg none": tokens.alg_none(real),
        "truncated": tokens.truncated(real),
    }
    minter = ctx.credentials.minter
    if minter is None:
        ctx.note("no negative_auth.signing_key: expired and wrong-issuer tokens not tried")
    else:
        proof = api.probe.request("GET", api.path_of(CODES), auth=minter.valid(real))
        if proof.status != 200:
            ctx.note(f"a correctly minted token answers {proof.status}: the key is not trusted")
        else:
            bad["expired"] = minter.expired(real)
            bad["wrong issuer"] = minter.wrong_issuer(real)
    for name, token in bad.items():
        answer = api.probe.request("GET", api.path_of(CODES), auth=token)
        answer.exchange.notes.append(f"token: {name}")
        ctx.expect_status(answer, 401)
        ctx.expect_code(answer, api.codes())


@check("SDIR-AUTH-SCOPE")
def scope(ctx: RuleContext, api: Api) -> None:
    """A token without the write scope: 403 INSUFFICIENT_SCOPE on a read and on a write."""
    if ctx.manifest.negative_auth.wrong_scope is None:
        raise NotApplicable("the manifest sets no negative_auth.wrong_scope")
    token = ctx.credentials.wrong_scope_token()
    for answer in (
        api.probe.request("GET", api.path_of(CODES), auth=token),
        api.post(BATCH, [], auth=token, expect_rejection=True),
    ):
        ctx.expect_status(answer, 403)
        ctx.expect_code(answer, api.codes())


@check("SDIR-AUTH-DELEGATION")
def delegation(ctx: RuleContext, api: Api) -> None:
    """A supplier's delegated token (consumer = the customer) is accepted like a direct one."""
    customer = ctx.fixtures.get("delegated_organisation")
    if not customer:
        raise NotApplicable("the manifest names no delegated_organisation fixture")
    minter = ctx.credentials.minter
    if minter is None:
        raise NotApplicable("a delegated token needs negative_auth.signing_key to be minted")
    real = ctx.credentials.token()
    own = tokens.claims_of(real).get("consumer")
    delegated = minter.valid(
        tokens.edited_claims(
            real,
            {
                "consumer": {"authority": "iso6523-actorid-upis", "ID": f"0192:{customer}"},
                "supplier": own
                or {
                    "authority": "iso6523-actorid-upis",
                    "ID": f"0192:{ctx.fixture('organisation')}",
                },
            },
        )
    )
    answer = api.probe.request("GET", api.path_of(CODES), auth=delegated)
    ctx.expect_status(answer, 200)
    if ctx.manifest.limits.read_only:
        ctx.note("read_only: the delegated token was tried on the code list only")
        return
    vessel = ctx.fixture("delegated_vessel_imo")
    item = api.item(org=customer, imo=vessel, call_sign=None)
    made = api.batch([item], auth=delegated)
    ctx.expect_status(made, 201)
    differ = api.same_values(item, made.json()[0])
    if differ:
        raise ctx.fail(f"the delegated report was stored with other values: {differ}", made)


@check("SDIR-AUTH-ORG-MATCH")
def organisation_match(ctx: RuleContext, api: Api) -> None:
    """Another organisation in an item (and in the v2 list filter): 403 ORGANIZATION_MISMATCH."""
    foreign = str(ctx.fixture("foreign_organisation"))
    checked = False
    if api.has(LIST) and ctx.has_capability(f"endpoint:{LIST}"):
        answer = api.probe.request("GET", api.path_of(LIST), params={"organisationNumber": foreign})
        ctx.expect_status(answer, 403)
        ctx.expect_code(answer, api.codes())
        checked = True
    if ctx.manifest.limits.read_only:
        if not checked:
            api.require_writes()
        ctx.note("read_only: only the list filter was tried")
        return
    good, bad = api.item(), api.item(org=foreign)
    answer = api.batch([good, bad])
    errors = api.problem(answer, 403, api.codes())
    if [e.get("index") for e in errors] != [1]:
        raise ctx.fail("the mismatching item (index 1) is not the one named", answer)


@check("SDIR-AUTH-SHIP-OWNER")
def ship_owner(ctx: RuleContext, api: Api) -> None:
    """A vessel the reporting organisation does not own: 403 NOT_SHIP_OWNER."""
    api.require_writes()
    answer = api.batch([api.item(imo=ctx.fixture("foreign_vessel_imo"), call_sign=None)])
    api.problem(answer, 403, api.codes())


@check("SDIR-READ-OWN-ONLY")
def read_own_only(ctx: RuleContext, api: Api) -> None:
    """Another organisation's report: 404 NOT_FOUND, and absent from the v2 list."""
    uid = str(ctx.fixture("foreign_report_uid"))
    answer = api.read(uid)
    api.problem(answer, 404, api.codes())
    if api.has(LIST) and ctx.has_capability(f"endpoint:{LIST}"):
        items, pages = api.list_all()
        if any(i.get("uid") == uid for i in items):
            raise ctx.fail("the foreign report appears in the organisation's list", *pages[-3:])


# === transport and errors =======================================================================


@check("SDIR-MEDIA-JSON")
def media_json(ctx: RuleContext, api: Api) -> None:
    """A JSON body sent as text/plain: 415 UNSUPPORTED_MEDIA_TYPE, and nothing stored."""
    items = [] if ctx.manifest.limits.read_only else [api.item()]
    for media in ("text/plain", "application/xml"):
        answer = api.probe.request(
            "POST",
            api.path_of(BATCH),
            content=json.dumps(items),
            headers={"Content-Type": media},
            expect_rejection=True,
        )
        ctx.expect_status(answer, 415)
        ctx.expect_code(answer, api.codes())
    if items:
        again = api.batch(items)
        if again.status != 201:
            raise ctx.fail("the report refused with 415 cannot be created afterwards", again)


@check("SDIR-MEDIA-MALFORMED")
def media_malformed(ctx: RuleContext, api: Api) -> None:
    """A body that is not JSON, sent as application/json: 400 MALFORMED_JSON."""
    for text in ('[{"seafarer": ', "not json"):
        answer = api.probe.request(
            "POST",
            api.path_of(BATCH),
            content=text,
            headers={"Content-Type": JSON},
            expect_rejection=True,
        )
        api.problem(answer, 400, api.codes())


def _error_samples(api: Api) -> list[tuple[ProbeResponse, int]]:
    """A few service errors every provider can be asked for without storing anything."""
    return [
        (api.read(str(uuid.uuid4())), 404),
        (api.post(BATCH, [], expect_rejection=True), 400),
        (
            api.probe.request(
                "POST",
                api.path_of(BATCH),
                content="[]",
                headers={"Content-Type": "text/plain"},
                expect_rejection=True,
            ),
            415,
        ),
        (api.probe.request("GET", api.path_of(CODES), headers={"Authorization": None}), 401),
    ]


@check("SDIR-ERROR-PROBLEM")
def error_problem(ctx: RuleContext, api: Api) -> None:
    """Service errors are application/problem+json with status == the HTTP status and a title."""
    for answer, status in _error_samples(api):
        ctx.expect_status(answer, status)
        body = answer.json()
        if not answer.content_type.startswith(PROBLEM):
            raise ctx.fail(f"a {status} is sent as {answer.content_type}, not {PROBLEM}", answer)
        if not isinstance(body, dict) or body.get("status") != status or not body.get("title"):
            raise ctx.fail("the problem body lacks status == HTTP status or a title", answer)


@check("SDIR-ERROR-CODES")
def error_codes(ctx: RuleContext, api: Api) -> None:
    """Every service error carries errors[] of {code mapped to the status, message}."""
    catalogue = api.spec.error_catalogue.get("codes") or {}
    for answer, status in _error_samples(api):
        ctx.expect_status(answer, status)
        body = answer.json()
        errors = body.get("errors") if isinstance(body, dict) else None
        if not isinstance(errors, list) or not errors:
            raise ctx.fail(f"the {status} body has no non-empty errors list", answer)
        for entry in errors:
            code = entry.get("code") if isinstance(entry, dict) else None
            if not isinstance(code, str | int) or code not in catalogue:
                raise ctx.fail(f"errors[].code {code!r} is not a catalogue code", answer)
            if status not in api.spec.code_status(code):
                raise ctx.fail(
                    f"errors[].code {code!r} is not a catalogue code of {status}", answer
                )
            if not isinstance(entry.get("message"), str) or not entry["message"]:
                raise ctx.fail("an errors[] entry has no message", answer)


@check("SDIR-ERROR-PRECEDENCE")
def error_precedence(ctx: RuleContext, api: Api) -> None:
    """Mixed failures: token before media type, scope before syntax, schema/codes before owner."""
    answer = api.probe.request(
        "POST",
        api.path_of(BATCH),
        content="[]",
        headers={"Authorization": None, "Content-Type": "text/plain"},
        expect_rejection=True,
    )
    ctx.expect_status(answer, 401)
    if ctx.manifest.negative_auth.wrong_scope is not None:
        answer = api.probe.request(
            "POST",
            api.path_of(BATCH),
            content="[{",
            headers={"Content-Type": JSON},
            auth=ctx.credentials.wrong_scope_token(),
            expect_rejection=True,
        )
        ctx.expect_status(answer, 403)
    if ctx.manifest.limits.read_only:
        ctx.note("read_only: precedence among item checks not tried")
        return
    foreign = ctx.fixtures.get("foreign_organisation")
    if foreign:
        answer = api.batch([api.item(org=str(foreign)), api.item(code=api.unknown_code())])
        ctx.expect_status(answer, 400)


@check("SDIR-DATETIME-OFFSET")
def datetime_offset(ctx: RuleContext, api: Api) -> None:
    """Every createdAt the service answers carries a UTC offset."""
    records: list[tuple[dict[str, Any], ProbeResponse]] = []
    own = ctx.fixtures.get("own_report_uid")
    if own:
        answer = api.read(str(own))
        ctx.expect_status(answer, 200)
        records.append((answer.json(), answer))
    if not ctx.manifest.limits.read_only:
        answer = api.batch([api.item()])
        ctx.expect_status(answer, 201)
        records += [(r, answer) for r in answer.json()]
        read = api.read(str(answer.json()[0].get("uid")))
        records.append((read.json(), read))
    if api.has(LIST) and ctx.has_capability(f"endpoint:{LIST}"):
        page = api.probe.request("GET", api.path_of(LIST), params={"limit": 5})
        ctx.expect_status(page, 200)
        records += [(r, page) for r in page.json().get("items") or []]
    if not records:
        raise NotApplicable("read_only and no own_report_uid fixture: no record to look at")
    for record, answer in records:
        if not _with_offset(record.get("createdAt")):
            raise ctx.fail(f"createdAt {record.get('createdAt')!r} has no UTC offset", answer)


# === the code list ==============================================================================


@check("SDIR-CODES-LIST")
def codes_list(ctx: RuleContext, api: Api) -> None:
    """200, a non-empty array of {code, description}, every code unique."""
    answer = api.probe.request("GET", api.path_of(CODES))
    ctx.expect_status(answer, 200)
    body = ctx.expect_valid(answer, CODES)
    codes = [c["code"] for c in body]
    if not codes or len(set(codes)) != len(codes):
        raise ctx.fail("the code list is empty or repeats a code", answer)


@check("SDIR-CODES-ACCEPTED")
def codes_accepted(ctx: RuleContext, api: Api) -> None:
    """Every listed code is accepted in a create (one batch per up to max-items codes)."""
    api.require_writes()
    codes = api.known_codes()
    most, _ = api.batch_limit()
    for start in range(0, len(codes), most):
        chunk = codes[start : start + most]
        answer = api.batch([api.item(code=code) for code in chunk])
        if answer.status != 201:
            raise ctx.fail(f"a batch with the listed codes {chunk} answers {answer.status}", answer)


@check("SDIR-CODE-UNKNOWN")
def code_unknown(ctx: RuleContext, api: Api) -> None:
    """A code outside the list: 400 UNKNOWN_COMPETENCE_CODE with errors[0].field = its member."""
    api.require_writes()
    answer = api.batch([api.item(code=api.unknown_code())])
    errors = api.problem(answer, 400, api.codes())
    field = api.shape.path("code")
    if not errors or errors[0].get("field") != field:
        raise ctx.fail(f"errors[0].field is not {field}", answer)


# === body validation ============================================================================


def _refused(ctx: RuleContext, api: Api, item: dict[str, Any], *fields: str) -> None:
    answer = api.batch([item])
    api.problem(answer, 400, api.codes())
    if fields:
        api.expect_field(answer, *fields)


@check("SDIR-VALIDATION-REQUIRED")
def validation_required(ctx: RuleContext, api: Api) -> None:
    """A missing required member: 400 VALIDATION_FAILED naming it (dotted path)."""
    api.require_writes()
    for name in ("start", "pin", "code", "last"):
        if not api.shape.has(name) or api.shape.path(name) not in api.shape.required:
            continue
        _refused(ctx, api, api.item(**{name: None}), api.shape.path(name))


@check("SDIR-VALIDATION-FORMAT")
def validation_format(ctx: RuleContext, api: Api) -> None:
    """A member breaking its pattern or format: 400 VALIDATION_FAILED naming it."""
    api.require_writes()
    for name, value in (
        ("pin", "1234"),
        ("org", "12345678"),
        ("imo", "123456"),
        ("start", "01.02.2025"),
    ):
        if api.shape.has(name):
            over = {name: value, "call_sign": None} if name == "imo" else {name: value}
            _refused(ctx, api, api.item(**over), api.shape.path(name))
    answer = api.read("not-a-uuid")
    api.problem(answer, 400, api.codes())


@check("SDIR-VALIDATION-CHECK-DIGITS")
def validation_check_digits(ctx: RuleContext, api: Api) -> None:
    """A wrong check digit in fødselsnummer, organisation number or IMO number: 400."""
    api.require_writes()
    base = api.item()
    for name in ("pin", "org", "imo"):
        value = api.value(base, name) if api.shape.has(name) else None
        if isinstance(value, str) and value.isdigit():
            _refused(ctx, api, api.item(**{name: _changed_digit(value)}), api.shape.path(name))


@check("SDIR-VALIDATION-VESSEL")
def validation_vessel(ctx: RuleContext, api: Api) -> None:
    """A report naming neither an IMO number nor a call sign: 400 VALIDATION_FAILED."""
    api.require_writes()
    _refused(ctx, api, api.item(imo=None, call_sign=None))


@check("SDIR-VALIDATION-PERIOD")
def validation_period(ctx: RuleContext, api: Api) -> None:
    """A stop (or completion) date before the start: 400 INVALID_PERIOD naming that member."""
    api.require_writes()
    for name in ("stop", "completion"):
        if not api.shape.has(name):
            continue
        start = fresh_day()
        item = api.item(
            start=start.isoformat(), **{name: (start - dt.timedelta(days=1)).isoformat()}
        )
        _refused(ctx, api, item, api.shape.path(name))


@check("SDIR-VALIDATION-NO-UID-ON-CREATE")
def validation_no_uid(ctx: RuleContext, api: Api) -> None:
    """A create item carrying uid: 400 VALIDATION_FAILED naming uid."""
    api.require_writes()
    _refused(ctx, api, api.item(uid=str(uuid.uuid4())), api.shape.path("uid"))


def _other_version(api: Api) -> Api | None:
    """The sibling URL version's shape, for SDIR-VALIDATION-VERSION-SCHEMA."""
    from conformance.registry import resolve_spec_path

    family, _, version = api.spec.id.rpartition("/")
    other = {"v1": "v2", "v2": "v1"}.get(version)
    if other is None:
        return None
    sibling = Spec.from_path(resolve_spec_path(f"{family}/{other}"))
    twin = Api.__new__(Api)
    twin.__dict__.update(api.__dict__)
    twin.spec = sibling
    twin.shape = _shape(sibling)
    return twin


@check("SDIR-VALIDATION-VERSION-SCHEMA")
def validation_version_schema(ctx: RuleContext, api: Api) -> None:
    """The other version's body is refused with 400 VALIDATION_FAILED; our own is accepted."""
    api.require_writes()
    twin = _other_version(api)
    if twin is None:
        raise NotApplicable("no sibling URL version of this profile")
    day = fresh_day().isoformat()
    foreign, own = twin.item(start=day), api.item(start=day)
    answer = api.batch([foreign])
    api.problem(answer, 400, api.codes())
    nested = [p for p in api.shape.top if p not in twin.shape.top and p in api.shape.required]
    named = [str(f) for f in api.fields(answer)]
    if nested and not any(f.split(".")[0] in nested for f in named):
        raise ctx.fail(
            f"the refusal names none of the members {nested} this version requires", answer
        )
    accepted = api.batch([own])
    ctx.expect_status(accepted, 201)


# === create and read ============================================================================


@check("SDIR-CREATE-201")
def create_201(ctx: RuleContext, api: Api) -> None:
    """201; every record has a new UUID uid, a createdAt and the submitted values unchanged."""
    api.require_writes()
    items = [api.item(0), api.item(1, code=api.known_codes()[-1])]
    answer = api.batch(items)
    ctx.expect_status(answer, 201)
    records = ctx.expect_valid(answer, BATCH)
    uids = [r.get("uid") for r in records]
    if not all(_is_uuid(u) for u in uids) or len(set(uids)) != len(uids):
        raise ctx.fail(f"the records' uids are not distinct UUIDs: {uids}", answer)
    for sent, got in zip(items, records, strict=False):
        if not got.get("createdAt"):
            raise ctx.fail("a record has no createdAt", answer)
        differ = api.same_values(sent, got)
        if differ:
            raise ctx.fail(f"the record changed submitted members {differ}", answer)


@check("SDIR-READ-BACK")
def read_back(ctx: RuleContext, api: Api) -> None:
    """A created report reads back unchanged by uid (and, in v2, in the list)."""
    api.require_writes()
    item = api.item()
    record = api.created([item], "setup")[0]
    answer = api.read(str(record.get("uid")))
    ctx.expect_status(answer, 200)
    stored = ctx.expect_valid(answer, GET)
    differ = api.same_values(item, stored)
    if differ or stored.get("createdAt") != record.get("createdAt"):
        raise ctx.fail(f"the read differs from what was stored: {differ or ['createdAt']}", answer)
    if api.has(LIST) and ctx.has_capability(f"endpoint:{LIST}"):
        items, pages = api.list_all()
        listed = [i for i in items if i.get("uid") == record.get("uid")]
        if len(listed) != 1 or api.same_values(item, listed[0]):
            raise ctx.fail("the new report is not listed once with its values", *pages[-3:])


@check("SDIR-NOT-FOUND")
def not_found(ctx: RuleContext, api: Api) -> None:
    """An unknown uid: 404 NOT_FOUND."""
    api.problem(api.read(str(uuid.uuid4())), 404, api.codes())


@check("SDIR-DUPLICATE")
def duplicate(ctx: RuleContext, api: Api) -> None:
    """A stored report again, or twice in one batch (the later one named): 409 DUPLICATE_REPORT."""
    api.require_writes()
    item = api.item()
    api.created([item], "setup")
    api.problem(api.batch([item]), 409, api.codes())
    twice = api.item()
    answer = api.batch([twice, api.item(), twice])
    errors = api.problem(answer, 409, api.codes())
    if [e.get("index") for e in errors] != [2]:
        raise ctx.fail("the repeated item (index 2) is not the one named", answer)


# === v1: single create, updates, several by uid =================================================


@check("SDIR-CREATE-LOCATION")
def create_location(ctx: RuleContext, api: Api) -> None:
    """The single create answers 201 with a Location that reads the new report back."""
    api.require_writes()
    item = api.item()
    answer = api.post(CREATE, item)
    ctx.expect_status(answer, 201)
    location = answer.header("location")
    if not location:
        raise ctx.fail("the 201 has no Location header", answer)
    base = ctx.manifest.base_url
    full = urljoin(api.probe.url(api.path_of(CREATE)), location)
    if not full.startswith(base + "/"):
        raise ctx.fail(f"Location {location} is outside the base URL", answer)
    read = api.probe.request("GET", full[len(base) :])
    ctx.expect_status(read, 200)
    if read.json().get("uid") != answer.json().get("uid"):
        raise ctx.fail("Location reads another report than the one created", answer, read)


def _put(api: Api, uid: str, body: Any) -> ProbeResponse:
    return api.probe.request("PUT", api.path_of(UPDATE).replace("{uid}", uid), json_body=body)


@check("SDIR-UPDATE-REPLACE")
def update_replace(ctx: RuleContext, api: Api) -> None:
    """An update answers 200 with the whole report: uid and createdAt kept, the rest replaced."""
    api.require_writes()
    if not ctx.has_capability(f"endpoint:{UPDATE}"):
        raise NotApplicable(f"capability endpoint:{UPDATE} is not claimed")
    record = api.created([api.item()], "setup")[0]
    uid = str(record.get("uid"))
    change = api.item(code=api.known_codes()[-1])
    answer = _put(api, uid, change)
    ctx.expect_status(answer, 200)
    body = answer.json()
    if body.get("uid") != uid or body.get("createdAt") != record.get("createdAt"):
        raise ctx.fail("the update changed uid or createdAt", answer)
    read = api.read(uid)
    differ = api.same_values(change, read.json())
    if api.same_values(change, body) or differ:
        raise ctx.fail(f"the update did not replace {differ}", answer, read)


@check("SDIR-UPDATE-UID-MATCH")
def update_uid_match(ctx: RuleContext, api: Api) -> None:
    """A body uid other than the path uid: 400 UID_MISMATCH, and nothing changed."""
    api.require_writes()
    record = api.created([api.item()], "setup")[0]
    uid = str(record.get("uid"))
    change = api.item(uid=str(uuid.uuid4()), code=api.known_codes()[-1])
    api.problem(_put(api, uid, change), 400, api.codes())
    read = api.read(uid)
    if api.value(read.json(), "code") != api.value(record, "code"):
        raise ctx.fail("the refused update changed the report", read)


@check("SDIR-GET-MANY")
def get_many(ctx: RuleContext, api: Api) -> None:
    """Several by uid: the reports found, in parameter order, unknown uids left out."""
    api.require_writes()
    first, second = api.created([api.item(), api.item()], "setup")
    wanted = [str(second["uid"]), str(uuid.uuid4()), str(first["uid"])]
    answer = api.probe.request("GET", api.path_of(MANY), params={"uid": wanted})
    ctx.expect_status(answer, 200)
    got = [r.get("uid") for r in answer.json()]
    if got != [wanted[0], wanted[2]]:
        raise ctx.fail(f"expected uids {[wanted[0], wanted[2]]} in that order, got {got}", answer)


@check("SDIR-BATCH-UPDATE-UNKNOWN")
def batch_update_unknown(ctx: RuleContext, api: Api) -> None:
    """A batch update naming an unknown uid at k: 404 NOT_FOUND index k; nothing changed."""
    api.require_writes()
    records = api.created([api.item(), api.item()], "setup")
    uids = [str(r["uid"]) for r in records]
    uids.insert(1, str(uuid.uuid4()))
    new_code = api.known_codes()[-1]
    body = [api.item(uid=u, code=new_code) for u in uids]
    answer = api.probe.request("PUT", api.path_of(UPDATE_BATCH), json_body=body)
    errors = api.problem(answer, 404, api.codes())
    if [e.get("index") for e in errors] != [1]:
        raise ctx.fail("the unknown uid (index 1) is not the one named", answer)
    for record in records:
        read = api.read(str(record["uid"]))
        if api.value(read.json(), "code") != api.value(record, "code"):
            raise ctx.fail("an item of the refused batch update was changed", answer, read)


# === v2: the list ===============================================================================


@check("SDIR-LIST-PAGE")
def list_page(ctx: RuleContext, api: Api) -> None:
    """{count, offset, limit, items}: the applied values, at most limit items, a stable count."""
    counts = set()
    for offset, limit in ((0, 1), (1, 2), (0, 100)):
        answer = api.probe.request(
            "GET", api.path_of(LIST), params={"offset": offset, "limit": limit}
        )
        ctx.expect_status(answer, 200)
        body = ctx.expect_valid(answer, LIST)
        if body["offset"] != offset or body["limit"] != limit or len(body["items"]) > limit:
            raise ctx.fail(f"offset/limit {offset}/{limit} not applied", answer)
        if len(body["items"]) != max(0, min(limit, body["count"] - offset)):
            raise ctx.fail("items do not hold min(limit, count - offset) reports", answer)
        counts.add(body["count"])
    if len(counts) != 1:
        raise ctx.fail(f"count changes between pages: {sorted(counts)}")


def _created_key(item: Mapping[str, Any]) -> tuple[dt.datetime, str]:
    return dt.datetime.fromisoformat(str(item["createdAt"]).replace("Z", "+00:00")), str(
        item["uid"]
    )


@check("SDIR-LIST-ORDER")
def list_order(ctx: RuleContext, api: Api) -> None:
    """Pages walked with small limits: ordered by (createdAt, uid), each report exactly once."""
    first = api.probe.request("GET", api.path_of(LIST), params={"limit": 1})
    ctx.expect_status(first, 200)
    count = int(first.json().get("count", 0))
    limit = max(1, min(3, count))
    seen: list[dict[str, Any]] = []
    pages = []
    for offset in range(0, min(count, MAX_PAGES * limit), limit):
        answer = api.probe.request(
            "GET", api.path_of(LIST), params={"offset": offset, "limit": limit}
        )
        ctx.expect_status(answer, 200)
        pages.append(answer)
        seen.extend(answer.json().get("items") or [])
    uids = [i.get("uid") for i in seen]
    if len(set(uids)) != len(uids):
        raise ctx.fail("a report appears on two pages", *pages[-3:])
    keys = [_created_key(i) for i in seen]
    if keys != sorted(keys):
        raise ctx.fail("the list is not ordered by createdAt, then uid", *pages[-3:])
    if count <= MAX_PAGES * limit and len(seen) != count:
        raise ctx.fail(
            f"walking the pages gave {len(seen)} reports, count says {count}", *pages[-3:]
        )


@check("SDIR-LIST-LIMITS")
def list_limits(ctx: RuleContext, api: Api) -> None:
    """A negative offset, a limit out of range, a bad fromDate or organisationNumber: 400."""
    offset = api.parameter(LIST, "offset")
    limit = api.parameter(LIST, "limit")
    cases = [
        ("offset", int(offset.get("minimum", 0)) - 1),
        ("limit", int(limit.get("minimum", 1)) - 1),
        ("limit", int(limit.get("maximum", 100)) + 1),
        ("fromDate", "01.04.2025"),
        ("organisationNumber", "12345"),
    ]
    for name, value in cases:
        answer = api.probe.request("GET", api.path_of(LIST), params={name: value})
        api.problem(answer, 400, api.codes())
        api.expect_field(answer, name)


def _oslo_day(value: str) -> dt.date:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(OSLO).date()


@check("SDIR-LIST-FROM-DATE")
def list_from_date(ctx: RuleContext, api: Api) -> None:
    """fromDate keeps exactly the reports stored on or after that day (Norwegian time)."""
    everything, _ = api.list_all()
    days = sorted({_oslo_day(str(i["createdAt"])) for i in everything})
    if not days:
        raise NotApplicable("the organisation has no reports to filter")
    for day in {days[len(days) // 2], days[-1], days[-1] + dt.timedelta(days=1)}:
        expected = {i["uid"] for i in everything if _oslo_day(str(i["createdAt"])) >= day}
        filtered, pages = api.list_all(fromDate=day.isoformat())
        got = {i["uid"] for i in filtered}
        if got != expected:
            raise ctx.fail(
                f"fromDate={day}: {len(got)} reports listed, {len(expected)} stored since", *pages
            )


# === batches ====================================================================================


def _readback_absent(
    ctx: RuleContext, api: Api, good: Sequence[Mapping[str, Any]], failed: ProbeResponse
) -> None:
    """None of `good` exists after a failed batch: not in the v2 list, and new when resubmitted."""
    if api.has(LIST) and ctx.has_capability(f"endpoint:{LIST}"):
        items, pages = api.list_all()
        keys = {api.key(i) for i in good}
        stored = [i.get("uid") for i in items if api.key(i) in keys]
        if stored:
            raise ctx.fail(
                f"after the failed batch its items are listed: {stored}", failed, *pages[-2:]
            )
    again = api.batch(list(good))
    if again.status != 201:
        raise ctx.fail(
            f"after the failed batch its good items alone answer {again.status}, not 201: "
            "part of the failed batch was stored",
            failed,
            again,
        )


@check("SDIR-BATCH-ATOMIC")
def batch_atomic(ctx: RuleContext, api: Api) -> None:
    """A batch failing at item k stores nothing: read back after a 400 and after a 409."""
    api.require_writes()
    good = [api.item(i) for i in range(4)]
    invalid = [*good[:2], api.item(code=api.unknown_code()), *good[2:]]
    answer = api.batch(invalid)
    if answer.status < 400:
        raise ctx.fail(f"a batch with an unknown code at index 2 answers {answer.status}", answer)
    _readback_absent(ctx, api, good, answer)
    # A repeat of item 0 at the end: found only while writing, after items 0..3 were written.
    good = [api.item(i) for i in range(4)]
    answer = api.batch([*good, good[0]])
    if answer.status < 400:
        raise ctx.fail(f"a batch repeating item 0 at index 4 answers {answer.status}", answer)
    _readback_absent(ctx, api, good, answer)


@check("SDIR-BATCH-ERROR-INDEX")
def batch_error_index(ctx: RuleContext, api: Api) -> None:
    """The item at k causing the error is named errors[].index = k (first, middle, last)."""
    api.require_writes()
    size = 5
    for k in (0, size // 2, size - 1):
        items = [api.item(i) for i in range(size)]
        items[k] = api.item(k, code=api.unknown_code())
        answer = api.batch(items)
        if answer.status < 400:
            raise ctx.fail(f"a bad item at {k} answers {answer.status}", answer)
        indexes = [e.get("index") for e in answer.json().get("errors") or [] if isinstance(e, dict)]
        if not indexes or any(i != k for i in indexes):
            raise ctx.fail(f"the bad item is at index {k}; errors[].index says {indexes}", answer)


@check("SDIR-BATCH-MAX-ITEMS")
def batch_max_items(ctx: RuleContext, api: Api) -> None:
    """max-items + 1 items: the too-large status (413) and nothing stored; max-items: 201."""
    api.require_writes()
    most, status = api.batch_limit()
    items = [api.item(i) for i in range(most + 1)]
    answer = api.batch(items)
    api.problem(answer, status, api.codes())
    accepted = api.batch(items[:most])
    if accepted.status != 201 or len(accepted.json()) != most:
        raise ctx.fail(
            f"a batch of exactly {most} valid items answers {accepted.status}", answer, accepted
        )


@check("SDIR-BATCH-EMPTY")
def batch_empty(ctx: RuleContext, api: Api) -> None:
    """An empty array: 400 VALIDATION_FAILED."""
    api.problem(api.post(BATCH, [], expect_rejection=True), 400, api.codes())


def _records_in_order(
    ctx: RuleContext, api: Api, items: Sequence[Mapping[str, Any]], answer: ProbeResponse
) -> None:
    body = answer.json()
    if not isinstance(body, list) or len(body) != len(items):
        raise ctx.fail(
            f"{len(items)} items sent, {len(body) if isinstance(body, list) else 0} returned",
            answer,
        )
    for k, (sent, got) in enumerate(zip(items, body, strict=True)):
        if api.same_values(sent, got):
            raise ctx.fail(f"record {k} is not request item {k}", answer)


@check("SDIR-BATCH-ORDER")
def batch_order(ctx: RuleContext, api: Api) -> None:
    """One record per item, in request order."""
    api.require_writes()
    codes = api.known_codes()
    items = [api.item(i, code=codes[i % len(codes)]) for i in range(6)]
    items.sort(key=lambda i: str(api.value(i, "start")), reverse=True)
    answer = api.batch(items)
    ctx.expect_status(answer, 201)
    _records_in_order(ctx, api, items, answer)


@check("SDIR-BATCH-NO-PARTIAL")
def batch_no_partial(ctx: RuleContext, api: Api) -> None:
    """Never 207 or a success leaving items out: mixed batches fail, good ones return all."""
    api.require_writes()
    mixed = [api.item(0), api.item(1, code=api.unknown_code()), api.item(2)]
    answer = api.batch(mixed)
    if answer.status < 400:
        raise ctx.fail(
            f"a batch with one bad item answers {answer.status} (partial success)", answer
        )
    good = [api.item(i) for i in range(3)]
    answer = api.batch(good)
    ctx.expect_status(answer, 201)
    _records_in_order(ctx, api, good, answer)


# === v2: prevalidate ============================================================================


def _prevalidate(api: Api, body: Any) -> ProbeResponse:
    return api.post(PREVALIDATE, body)


@check("SDIR-PREVALIDATE-OK")
def prevalidate_ok(ctx: RuleContext, api: Api) -> None:
    """A batch that would be stored: 200 {valid: true}."""
    api.require_writes()
    answer = _prevalidate(api, [api.item(0), api.item(1)])
    ctx.expect_status(answer, 200)
    body = ctx.expect_valid(answer, PREVALIDATE)
    if body.get("valid") is not True:
        raise ctx.fail("prevalidate does not answer {valid: true}", answer)


@check("SDIR-PREVALIDATE-NO-STORE")
def prevalidate_no_store(ctx: RuleContext, api: Api) -> None:
    """Prevalidate stores nothing: the list is unchanged and the same body can be created."""
    api.require_writes()
    items = [api.item(0), api.item(1)]
    listed = api.has(LIST) and ctx.has_capability(f"endpoint:{LIST}")
    before, _ = api.list_all() if listed else ([], [])
    answer = _prevalidate(api, items)
    ctx.expect_status(answer, 200)
    if listed:
        after, pages = api.list_all()
        if len(after) != len(before):
            raise ctx.fail(
                f"prevalidate changed the list ({len(before)} -> {len(after)})", answer, *pages[-2:]
            )
    made = api.batch(items)
    if made.status != 201:
        raise ctx.fail(f"the prevalidated body then answers {made.status} on create", answer, made)


def _outcome(answer: ProbeResponse) -> tuple[int, list[tuple[Any, Any]]]:
    body = answer.json() if answer.content else None
    errors = body.get("errors") if isinstance(body, dict) else None
    entries = [(e.get("code"), e.get("index")) for e in errors or [] if isinstance(e, dict)]
    return answer.status, sorted(entries, key=str)


@check("SDIR-PREVALIDATE-CONSISTENT")
def prevalidate_consistent(ctx: RuleContext, api: Api) -> None:
    """For the same body and state, prevalidate and batch answer the same status, codes, indexes."""
    api.require_writes()
    most, _ = api.batch_limit(PREVALIDATE)
    stored = api.item()
    api.created([stored], "setup")
    bodies: list[tuple[str, list[dict[str, Any]]]] = [
        ("unknown code at 1", [api.item(0), api.item(1, code=api.unknown_code())]),
        ("empty", []),
        ("too large", [api.item(i) for i in range(most + 1)]),
        ("already stored", [api.item(), stored]),
    ]
    foreign = ctx.fixtures.get("foreign_organisation")
    if foreign:
        bodies.append(("foreign organisation", [api.item(org=str(foreign))]))
    for name, body in bodies:
        checked = _prevalidate(api, body)
        created = api.batch(body)
        if _outcome(checked) != _outcome(created):
            raise ctx.fail(
                f"{name}: prevalidate answers {_outcome(checked)}, create {_outcome(created)}",
                checked,
                created,
            )
        if created.status < 400:
            raise ctx.fail(f"{name}: the body was expected to be refused", created)
