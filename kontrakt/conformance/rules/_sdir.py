"""The Sdir additional competence rules shared by the v1 and v2 profiles.

A check is written once, as `check(ctx, api)`, under its rule id (`@check("SDIR-...")`);
`register(rules)` registers every check whose id the profile's catalogue (`x-kontrakt-rules`) has,
so a rule both specs share exists once and runs in both profiles, and a rule only one version has
(v1's updates and single create, v2's list and prevalidate) runs only there.

Nothing about the body's shape is typed here: `Shape` walks the batch request's item schema of
the profile's own document and finds where each member sits (`competenceCode` in v1,
`competence.competenceCode` in v2), so an item is built, spoiled and compared by member name.

Basis. Sdir publishes prose only (FACTS §9): the headers, the write scope, JSON, URL versions,
all-or-nothing batches, 201 on insert, date-times with offsets, the code list and who may report.
Those demands fail a rule. Everything kontrakt chose to fill the gaps only deviates (a warning at
the default level, a failure at strict): the error vocabulary and the `errors` list (A-SDIR-005),
`errors[].index`/`field` (A-SDIR-006), the status a refusal gets beyond "a 4xx" (A-SDIR-031 and the
rules' own ids), the batch limit and 413 (A-SDIR-008), list order and `fromDate` (v2 A-SDIR-019,
-020). `Api.refused` is the one judgement of a refusal: accepted (2xx) or a server error (5xx)
fails; the rest only deviates. An error answer that is not JSON never passes a body check: it is
a deviation from the proposal of a JSON error body.

Fixtures and credential roles are declared on the rule set (`declare`), so `kontrakt init sdir-...`
names them with what each is for. Test data the suite can make it makes: its own reports (to read
back, list and page), another organisation's number (a valid MOD11 number it generates), and, with
`credentials.other_owner`, another ship owner's report.

Writes: every rule that sends a report needs `limits.read_only: false` and is not applicable under
read_only. Bodies that can store nothing (an empty array, text that is not JSON) are sent under
read_only too, as requests meant to be refused. Each report the suite sends gets a period start no
other report of the run has, so runs never collide with each other by accident.
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

from kontrakt.conformance import auth as tokens
from kontrakt.conformance.preflight import expect_plain
from kontrakt.conformance.probe import ProbeError, ProbeResponse
from kontrakt.conformance.registry import Failure, NotApplicable, RuleContext, RuleError, RuleSet
from kontrakt.conformance.spec import Spec, SpecError

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
OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$", re.I)
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
MAX_PAGES = 40
EXPIRED_BY = 3600  # seconds past exp of the expired tokens the suite signs

# Assumptions every version records under the same id.
CODES_ASSUMED = "A-SDIR-005"  # the error vocabulary and a non-empty errors list
ENTRY_ASSUMED = "A-SDIR-006"  # errors[] entries name the item (index) and member (field)
KEY_BODY_ASSUMED = "A-SDIR-007"  # key failures keep APIM's body; token failures are 401s
BATCH_ASSUMED = "A-SDIR-008"  # 1..100 items, 413 beyond, request order kept
REFUSAL_ASSUMED = "A-SDIR-031"  # the status of a refusal, beyond "a 4xx"
SCOPE_STATUS_ASSUMED = "A-SDIR-030"  # a token without the scope: 401 or 403
# Assumptions whose id differs between the versions' documents.
VERSIONED: Mapping[str, Mapping[str, str]] = {
    "code-list-shape": {"v1": "A-SDIR-019", "v2": "A-SDIR-018"},
    "prevalidate": {"v2": "A-SDIR-021"},
    "list-paging": {"v2": "A-SDIR-019"},
    "from-date": {"v2": "A-SDIR-020"},
}

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


# --- synthetic identifiers ---------------------------------------------------------------------


def _mod11(digits: str, weights: Sequence[int]) -> int | None:
    rest = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    check = 0 if rest == 0 else 11 - rest
    return None if check == 10 else check


def synthetic_organisation(avoid: set[str]) -> str:
    """A valid organisation number (MOD11) in the synthetic 31xxxxxxx range, none of `avoid`."""
    for n in itertools.count(int(uuid.uuid4().int % 900_000) + 10_000):
        stem = f"31{n % 1_000_000:06d}"
        digit = _mod11(stem, (3, 2, 7, 6, 5, 4, 3, 2))
        if digit is not None and stem + str(digit) not in avoid:
            return stem + str(digit)
    raise AssertionError("unreachable")  # pragma: no cover


def synthetic_imo(avoid: set[str]) -> str:
    """A valid IMO number (weights 7..2, sum mod 10) outside the issued range, none of `avoid`."""
    for n in itertools.count(int(uuid.uuid4().int % 90_000) + 1_000):
        stem = f"1{n % 100_000:05d}"
        number = stem + str(
            sum(int(d) * w for d, w in zip(stem, range(7, 1, -1), strict=True)) % 10
        )
        if number not in avoid:
            return number
    raise AssertionError("unreachable")  # pragma: no cover


# --- the API of one profile ----------------------------------------------------------------------


def _body(answer: ProbeResponse) -> Any:
    """The JSON body of an answer, or None when it has none (an HTML page, an empty body)."""
    try:
        return answer.json()
    except ProbeError:
        return None


def _errors(answer: ProbeResponse) -> list[dict[str, Any]] | None:
    """The errors[] entries of an error body, or None when it has no such list."""
    body = _body(answer)
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return None
    return [e for e in errors if isinstance(e, dict)]


class Api:
    """Requests and bodies of one URL version, driven by the spec and the manifest's fixtures."""

    def __init__(self, ctx: RuleContext) -> None:
        self.ctx = ctx
        self.spec = ctx.spec
        self.probe = ctx.probe
        self.shape = _shape(ctx.spec)
        self._codes: list[str] | None = None

    # -- document data -------------------------------------------------------------------
    @property
    def version(self) -> str:
        return self.spec.id.rpartition("/")[2]

    def assumed(self, topic: str) -> str:
        """The id this version's document records for the assumption `topic` (VERSIONED)."""
        return VERSIONED[topic][self.version]

    def path_of(self, operation: str) -> str:
        return self.spec.operation(operation).path

    def has(self, operation: str) -> bool:
        return any(op.id == operation for op in self.spec.operations)

    def lists(self) -> bool:
        """Whether this version has the list and the manifest claims it."""
        return self.has(LIST) and self.ctx.has_capability(f"endpoint:{LIST}")

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

    def organisation(self) -> str:
        return str(self.ctx.fixture("organisation"))

    def foreign_organisation(self) -> str:
        """fixtures.foreign_organisation, else a valid organisation number the suite makes up."""
        if self.ctx.has_fixture("foreign_organisation"):
            return str(self.ctx.fixture("foreign_organisation"))
        made = synthetic_organisation({self.organisation()})
        self.ctx.note(f"no fixtures.foreign_organisation: used the made-up number {made}")
        return made

    def item(self, n: int = 0, /, **values: Any) -> dict[str, Any]:
        """A new, valid report; `values` replace logical members (None removes one)."""
        person = self.seafarer(n)
        data: dict[str, Any] = {
            "pin": person.get("personalIdentityNumber"),
            "first": person.get("firstName"),
            "last": person.get("lastName"),
            "org": self.organisation(),
            "start": fresh_day().isoformat(),
        }
        if self.ctx.has_fixture("vessel_imo"):
            data["imo"] = str(self.ctx.fixture("vessel_imo"))
        elif self.ctx.has_fixture("vessel_call_sign"):
            data["call_sign"] = str(self.ctx.fixture("vessel_call_sign"))
        else:
            raise RuleError(
                "the manifest gives neither fixtures.vessel_imo nor fixtures.vessel_call_sign "
                "(a vessel of the reporting organisation), which every report needs"
            )
        data["code"] = self.known_codes()[0]
        data.update(values)
        body: dict[str, Any] = {}
        for name, value in data.items():
            if value is not None and self.shape.has(name):
                set_path(body, self.shape.path(name), value)
        return body

    def value(self, body: Mapping[str, Any], name: str) -> Any:
        return get_path(body, self.shape.path(name))

    def code_list(self) -> tuple[ProbeResponse, list[Any]]:
        """The code list's answer and its entries, read the ways a provider may send it: a bare
        array (of {code, ...} objects or of strings) or an object wrapping one."""
        answer = self.probe.request("GET", self.path_of(CODES))
        body = _body(answer)
        if isinstance(body, Mapping):
            wrapped = [v for k, v in body.items() if isinstance(v, list) and k != "errors"]
            body = wrapped[0] if len(wrapped) == 1 else None
        return answer, body if isinstance(body, list) else []

    def known_codes(self) -> list[str]:
        if self._codes is None:
            answer, entries = self.code_list()
            if answer.status != 200:
                raise Failure(
                    f"the code list answers {answer.status}; a create needs a current code",
                    evidence=[answer],
                )
            found = [_code_of(e) for e in entries]
            self._codes = [c for c in found if c] or ["BV"]
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

    def created(
        self, items: Sequence[Mapping[str, Any]], why: str, **kwargs: Any
    ) -> list[dict[str, Any]]:
        """Create `items` (a setup step): the stored records, or a failure saying why."""
        answer = self.batch(items, **kwargs)
        if answer.status != 201:
            raise self.ctx.fail(f"{why}: a valid batch answers {answer.status}, not 201", answer)
        body = _body(answer)
        if not isinstance(body, list) or len(body) != len(items):
            raise self.ctx.fail(f"{why}: the 201 body is not one record per item", answer)
        return [dict(r) for r in body]

    def read(self, uid: str, **kwargs: Any) -> ProbeResponse:
        return self.probe.request("GET", self.path_of(GET).replace("{uid}", uid), **kwargs)

    def page(self, **params: Any) -> tuple[ProbeResponse, dict[str, Any]]:
        """One page of the v2 list: the answer (200 demanded) and its body."""
        answer = self.probe.request("GET", self.path_of(LIST), params=params)
        self.ctx.expect_status(answer, 200)
        body = _body(answer)
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise self.ctx.fail("the list page is not an object with an items array", answer)
        return answer, body

    def list_all(self, **params: Any) -> tuple[list[dict[str, Any]], list[ProbeResponse]]:
        """Every item of the v2 list and the pages as evidence. Walks the pages the provider
        really serves: offset advances by the items received (a provider may cap limit below
        the document's maximum), until an empty page, `count` reached, or a page with nothing
        new (a provider ignoring offset)."""
        maximum = int(self.parameter(LIST, "limit").get("maximum", 100))
        found: list[dict[str, Any]] = []
        pages: list[ProbeResponse] = []
        seen: set[Any] = set()
        offset = 0
        for _ in range(MAX_PAGES):
            answer, body = self.page(**params, offset=offset, limit=maximum)
            pages.append(answer)
            items = body["items"]
            new = [i for i in items if not isinstance(i, dict) or i.get("uid") not in seen]
            seen.update(i.get("uid") for i in items if isinstance(i, dict))
            found.extend(new)
            offset += len(items)
            count = body.get("count")
            if not new or (isinstance(count, int) and offset >= count):
                return found, pages
        raise NotApplicable(f"the list holds more than {MAX_PAGES} pages; not walked")

    def own_reports(self, count: int) -> None:
        """Make sure the organisation has reports to list: `count` new ones when writes are
        allowed (test data the suite makes itself)."""
        if not self.ctx.manifest.limits.read_only:
            self.created([self.item(i) for i in range(count)], "reports of the suite's own")

    def parameter(self, operation: str, name: str) -> Mapping[str, Any]:
        parameter = self.spec.operation(operation).parameter(name)
        if parameter is None:
            raise SpecError(f"{operation} has no parameter {name}")
        return dict(self.spec.resolve(parameter.get("schema") or {}))

    def as_role(self, role: str) -> dict[str, str]:
        """The headers of `credentials.<role>` to send instead of the main client's (its token,
        and its own subscription key when it has one)."""
        return self.ctx.role_headers(role)

    # -- judgements ----------------------------------------------------------------------
    def refused(
        self,
        answer: ProbeResponse,
        status: int,
        *,
        what: str = "the request",
        status_assumption: str | None = REFUSAL_ASSUMED,
        refusal_assumption: str | None = None,
        codes: set[str | int] | None = None,
        fields: Sequence[str] = (),
        index: int | None = None,
        also: Sequence[int] = (),
    ) -> bool:
        """Judge a refusal of `what`. Published: it is refused as the client's error (4xx),
        never accepted (2xx; a deviation instead when `refusal_assumption` says the refusal
        itself is kontrakt's proposal) and never a server error. Proposed: the status `status`
        (or one of `also`, other readings), the code, a non-empty errors list, `errors[].field`
        naming `fields` and `errors[].index == index`. Returns whether it was a refusal."""
        ctx = self.ctx
        if answer.status < 400:
            message = f"{what} is answered {answer.status}; it must be refused"
            if refusal_assumption is not None:
                ctx.deviate(refusal_assumption, message, answer)
                return False
            raise ctx.fail(message, answer)
        if answer.status >= 500:
            raise ctx.fail(
                f"{what} is answered {answer.status}, a server error, not a refusal", answer
            )
        if answer.status in also:
            ctx.reading(f"{what} refused with {answer.status}")
        elif answer.status != status:
            message = f"{what} is refused with {answer.status}; kontrakt proposes {status}"
            if status_assumption is None:
                raise ctx.fail(message, answer)
            ctx.deviate(status_assumption, message, answer)
        ctx.expect_code(answer, self.codes() if codes is None else codes)
        errors = _errors(answer)
        if not errors:
            ctx.deviate(CODES_ASSUMED, "the error body has no non-empty errors list", answer)
            return True
        if fields:
            self.expect_field(answer, *fields)
        if index is not None:
            indexes = [e.get("index") for e in errors]
            if indexes != [index]:
                ctx.deviate(
                    ENTRY_ASSUMED,
                    f"the failing item is at index {index}; errors[].index says {indexes}",
                    answer,
                )
        return True

    def fields(self, answer: ProbeResponse) -> list[Any]:
        return [e.get("field") for e in _errors(answer) or []]

    def expect_field(self, answer: ProbeResponse, *fields: str) -> None:
        """errors[].field names one of `fields` (A-SDIR-006); a message naming the member in
        its own words is another reading the publisher allows ("names missing fields")."""
        named = self.fields(answer)
        if any(f in named for f in fields):
            return
        leaves = {f.rsplit(".", 1)[-1] for f in fields}
        if any(leaf in answer.text for leaf in leaves):
            self.ctx.reading("the refusal names the member in its text, not in errors[].field")
            return
        self.ctx.deviate(
            ENTRY_ASSUMED,
            f"errors[].field should name {' or '.join(fields)}, got {named or 'none'}",
            answer,
        )

    def same_values(self, sent: Mapping[str, Any], got: Mapping[str, Any]) -> list[str]:
        """Members of `sent` that `got` does not hold unchanged (dotted paths)."""
        differ = []
        for name, dotted in self.shape.paths.items():
            if name == "uid":
                continue
            value = get_path(sent, dotted)
            if value is not None and not _same_value(value, get_path(got, dotted)):
                differ.append(dotted)
        return differ

    def key(self, item: Mapping[str, Any]) -> tuple[Any, ...]:
        """The report identity of A-SDIR-012 (seafarer, code, vessel, period start)."""
        return tuple(
            self.value(item, n) if self.shape.has(n) else None
            for n in ("pin", "code", "imo", "call_sign", "start")
        )


def _code_of(entry: Any) -> str | None:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, Mapping) and isinstance(entry.get("code"), str | int):
        return str(entry["code"])
    return None


def _instant(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _same_value(sent: Any, got: Any) -> bool:
    """`got` holds `sent`: equal, or the same calendar date sent as YYYY-MM-DD and given back
    as a date-time of that day (Sdir's output date-times always carry a time, DT)."""
    if got == sent:
        return True
    if isinstance(sent, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", sent) and isinstance(got, str):
        return got.startswith(sent + "T")
    return False


def _same_instant(first: Any, second: Any) -> bool:
    """Two createdAt values name the same moment (another offset or precision is no change)."""
    if first == second:
        return True
    a, b = _instant(first), _instant(second)
    if a is None or b is None or a.tzinfo is None or b.tzinfo is None:
        return False
    return abs((a - b).total_seconds()) < 1


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def _with_offset(value: Any) -> bool:
    return isinstance(value, str) and bool(OFFSET.match(value))


def _date_times(node: Any, where: str = "") -> list[tuple[str, str]]:
    """Every (path, value) of a string that is a date-time (not a plain date) in `node`."""
    found: list[tuple[str, str]] = []
    if isinstance(node, Mapping):
        for key, child in node.items():
            found += _date_times(child, f"{where}.{key}" if where else str(key))
    elif isinstance(node, list):
        for n, child in enumerate(node):
            found += _date_times(child, f"{where}[{n}]")
    elif isinstance(node, str) and DATE_TIME.match(node):
        found.append((where, node))
    return found


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


# Rules that never build a report (everything else sends one, or may).
NO_REPORT = frozenset(
    {
        "SDIR-AUTH-KEY-REQUIRED",
        "SDIR-AUTH-KEY-VALID",
        "SDIR-AUTH-TOKEN-REQUIRED",
        "SDIR-AUTH-TOKEN-VALID",
        "SDIR-MEDIA-MALFORMED",
        "SDIR-ERROR-PROBLEM",
        "SDIR-ERROR-CODES",
        "SDIR-CODES-LIST",
        "SDIR-NOT-FOUND",
        "SDIR-BATCH-EMPTY",
        "SDIR-LIST-LIMITS",
    }
)
CAPABILITIES: Mapping[str, str] = {
    CODES: "GET .../additionalcompetence/codes, the current competence code list",
    CREATE: "v1: POST .../additionalcompetence, one report created on its own (201 + Location)",
    UPDATE: "v1: PUT .../additionalcompetence/{uid}, a report replaced",
    MANY: "v1: GET .../additionalcompetence?uid=..&uid=.., several reports by uid",
    UPDATE_BATCH: "v1: PUT .../additionalcompetence/batch, several reports replaced at once",
    LIST: "v2: GET .../additionalcompetence, the organisation's reports, paged",
    PREVALIDATE: "v2: POST .../additionalcompetence/prevalidate, a batch checked, never stored",
}


def declare(rules: RuleSet) -> None:
    """The fixtures, credential roles and capabilities the rules read, and the preflight."""
    every = list(rules.spec.rules)
    reports = [r for r in every if r not in NO_REPORT]

    def only(*ids: str) -> list[str]:
        return [r for r in ids if r in rules.spec.rules]

    rules.fixture(
        "organisation",
        "the organisation number of the manifest's client (the consumer in its Maskinporten "
        "token): the ship owner the suite reports for",
        rules=reports,
        example="310000116",
    )
    rules.fixture(
        "vessel_imo",
        "the IMO number of a vessel whose ship owner is `organisation`; every report names it "
        "(a provider whose vessels carry only call signs gives vessel_call_sign instead)",
        rules=reports,
        example="1000100",
    )
    rules.fixture(
        "vessel_call_sign",
        "the call sign of a vessel of `organisation`, used when no vessel_imo is given",
        rules=reports,
        required=False,
        example="LXSD5",
    )
    rules.fixture(
        "seafarers",
        "seafarers the provider accepts in a report (synthetic test persons): a list of "
        "{personalIdentityNumber, firstName, lastName}",
        rules=reports,
        schema={
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["personalIdentityNumber"],
                "properties": {
                    "personalIdentityNumber": {"type": "string"},
                    "firstName": {"type": "string"},
                    "lastName": {"type": "string"},
                },
            },
        },
        example=[
            {"personalIdentityNumber": "12838910031", "firstName": "Kari", "lastName": "Test"}
        ],
    )
    rules.fixture(
        "foreign_organisation",
        "another ship owner's organisation number (not the client's); without it the suite "
        "makes up a valid one. Needed with credentials.other_owner",
        rules=only(
            "SDIR-AUTH-ORG-MATCH",
            "SDIR-ERROR-PRECEDENCE",
            "SDIR-PREVALIDATE-CONSISTENT",
            "SDIR-READ-OWN-ONLY",
        ),
        required=False,
        example="310000167",
    )
    rules.fixture(
        "foreign_vessel_imo",
        "the IMO number of a registered vessel `organisation` does not own (with "
        "credentials.other_owner: a vessel of foreign_organisation); without it the suite "
        "makes up an IMO number no vessel has",
        rules=only("SDIR-AUTH-SHIP-OWNER", "SDIR-READ-OWN-ONLY"),
        required=False,
        example="1000409",
    )
    rules.fixture(
        "own_report_uid",
        "the uid of a report `organisation` sent earlier (read under limits.read_only)",
        rules=only("SDIR-DATETIME-OFFSET"),
        required=False,
    )
    rules.fixture(
        "foreign_report_uid",
        "the uid of a report another organisation sent; without it the suite creates one "
        "through credentials.other_owner",
        rules=only("SDIR-READ-OWN-ONLY"),
        required=False,
    )
    rules.fixture(
        "revoked_subscription_key",
        "a subscription key that was valid once and is revoked now",
        rules=only("SDIR-AUTH-KEY-VALID"),
        required=False,
    )
    rules.fixture(
        "delegated_organisation",
        "a customer organisation that delegated the scope to the manifest's client in "
        "Samarbeidsportalen (the consumer of a delegated token)",
        rules=only("SDIR-AUTH-DELEGATION"),
        required=False,
        example="310000159",
    )
    rules.fixture(
        "delegated_vessel_imo",
        "the IMO number of a vessel of delegated_organisation",
        rules=only("SDIR-AUTH-DELEGATION"),
        required=False,
        example="1000306",
    )
    rules.role(
        "wrong_scope",
        "a client whose Maskinporten token lacks sdir:seafarer.additionalcompetance.write (e.g. "
        "an integration holding another Sdir scope); it must be refused. Without it the main "
        "client asks for negative_auth.wrong_scope",
        rules=only("SDIR-AUTH-SCOPE", "SDIR-ERROR-PRECEDENCE"),
    )
    rules.role(
        "expired_token",
        "a bearer token of this API that has expired (type: bearer; e.g. one captured an hour "
        "ago): it must be refused. Without it, and without negative_auth.signing_key, only "
        "tokens the suite tampers with are tried",
        rules=only("SDIR-AUTH-TOKEN-VALID"),
        auth_type="bearer",
    )
    rules.role(
        "delegated",
        "a token the manifest's client (the system supplier) got from Maskinporten on behalf of "
        "delegated_organisation; without it the suite signs one with negative_auth.signing_key",
        rules=only("SDIR-AUTH-DELEGATION"),
    )
    rules.role(
        "other_owner",
        "a client of another ship owner (foreign_organisation, owner of foreign_vessel_imo): "
        "the suite creates a report with it that the main client must not read",
        rules=only("SDIR-READ-OWN-ONLY"),
    )
    for operation, description in CAPABILITIES.items():
        if any(op.id == operation for op in rules.spec.operations):
            rules.capability(f"endpoint:{operation}", description)

    @rules.preflight
    def preflight(ctx: RuleContext) -> None:
        """The code list with the main credentials: a plain read every provider answers 200."""
        path = ctx.spec.operation(CODES).path
        expect_plain(ctx, ctx.probe.request("GET", path), 200)


def profile(document: str) -> tuple[RuleSet, tuple[str, ...]]:
    """The rule set of one version's profile (the shared checks its catalogue has, and tier 3's
    exploratory run under SDIR-ERROR-CODES), with the ids automated."""
    rules = RuleSet(document)
    automated = tuple(register(rules))
    declare(rules)
    # Tier 3: the exploratory stateful run (certify --explore).
    rules.explore_rule("SDIR-ERROR-CODES")
    return rules, automated


# === authentication =============================================================================


def _gateway_401(ctx: RuleContext, api: Api, answer: ProbeResponse) -> None:
    """401 (published: APIM refuses a call without a valid key); APIM's own body (A-SDIR-007)."""
    ctx.expect_status(answer, 401)
    body = _body(answer)
    if body is None:
        ctx.deviate(KEY_BODY_ASSUMED, "the key failure's body is not JSON", answer)
        return
    problems = api.spec.validate(CODES, body, 401, JSON)
    if not answer.content_type.startswith(JSON) or problems:
        ctx.deviate(
            KEY_BODY_ASSUMED,
            "the key failure does not carry the gateway body {statusCode, message} as "
            f"application/json ({'; '.join(problems) or answer.content_type})",
            answer,
        )
    elif body.get("statusCode") != 401:
        ctx.deviate(KEY_BODY_ASSUMED, "the gateway body's statusCode is not 401", answer)
    else:
        ctx.reading("the key failure carries API Management's {statusCode, message}")


@check("SDIR-AUTH-KEY-REQUIRED")
def key_required(ctx: RuleContext, api: Api) -> None:
    """No subscription key (token valid): 401, on a read and on a write."""
    _gateway_401(
        ctx, api, api.probe.request("GET", api.path_of(CODES), headers={api.key_header: None})
    )
    answer = api.post(BATCH, [], headers={api.key_header: None}, expect_rejection=True)
    _gateway_401(ctx, api, answer)


@check("SDIR-AUTH-KEY-VALID")
def key_valid(ctx: RuleContext, api: Api) -> None:
    """An unknown (and, with the fixture, a revoked) key: 401."""
    keys = [f"kontrakt-unknown-{uuid.uuid4().hex}"]
    if ctx.has_fixture("revoked_subscription_key"):
        revoked = str(ctx.fixture("revoked_subscription_key"))
        keys.append(revoked)
        ctx.probe.redactor.add(revoked)
    else:
        ctx.note("no revoked_subscription_key fixture: only an unknown key was tried")
    for key in keys:
        answer = api.probe.request("GET", api.path_of(CODES), headers={api.key_header: key})
        _gateway_401(ctx, api, answer)
    _gateway_401(
        ctx, api, api.post(BATCH, [], headers={api.key_header: keys[0]}, expect_rejection=True)
    )


def _token_refused(ctx: RuleContext, answer: ProbeResponse, what: str) -> None:
    """A bad or missing token: refused (published); 401 and INVALID_TOKEN are the proposal."""
    if answer.status < 400 or answer.status >= 500:
        raise ctx.fail(f"{what}: answered {answer.status}, not refused with 401", answer)
    if answer.status != 401:
        ctx.deviate(KEY_BODY_ASSUMED, f"{what}: refused with {answer.status}, not 401", answer)
    ctx.expect_code(answer, ctx.rule.codes)


@check("SDIR-AUTH-TOKEN-REQUIRED")
def token_required(ctx: RuleContext, api: Api) -> None:
    """A valid key without a bearer token: refused (401); the key alone grants nothing."""
    _token_refused(
        ctx,
        api.probe.request("GET", api.path_of(CODES), headers={"Authorization": None}),
        "a read without a token",
    )
    _token_refused(
        ctx,
        api.post(BATCH, [], headers={"Authorization": None}, expect_rejection=True),
        "a write without a token",
    )


def _expired(ctx: RuleContext) -> str | None:
    """The token of credentials.expired_token, when it is expired (or not a JWT to read)."""
    if not ctx.has_role("expired_token"):
        return None
    token = ctx.role_token("expired_token")
    try:
        expires = tokens.claims_of(token).get("exp")
    except ValueError:
        return token  # opaque: the engineer says it is no longer valid
    if isinstance(expires, int | float) and expires > time.time():
        ctx.note(f"credentials.expired_token expires only at {int(expires)}: not tried")
        return None
    return token


@check("SDIR-AUTH-TOKEN-VALID")
def token_valid(ctx: RuleContext, api: Api) -> None:
    """Tampered tokens (always), an expired one (credentials.expired_token), expired and
    wrong-issuer tokens (with a signing key): refused with 401."""
    real = ctx.credentials.token()
    bad = {
        "altered signature": tokens.altered_signature(real),
        "alg none": tokens.alg_none(real),
        "truncated": tokens.truncated(real),
        "exp moved into the past (signature kept)": tokens.edited_claims(
            real, {"exp": int(time.time()) - 3600}
        ),
    }
    expired = _expired(ctx)
    if expired is not None:
        bad["expired (credentials.expired_token)"] = expired
    minter = ctx.credentials.minter
    if minter is None:
        if expired is None:
            ctx.note(
                "neither credentials.expired_token nor negative_auth.signing_key: no correctly "
                "signed expired token was tried"
            )
    else:
        proof = api.probe.request("GET", api.path_of(CODES), auth=minter.valid(real))
        if proof.status != 200:
            ctx.note(f"a correctly minted token answers {proof.status}: the key is not trusted")
        else:
            # An hour past exp: beyond any clock-skew tolerance a provider may allow (ASP.NET
            # Core's JwtBearer default is 5 minutes; Maskinporten's text sets none), so a
            # correct provider whose clock lags ours by a second is not failed.
            bad["expired (signed)"] = minter.expired(real, by=EXPIRED_BY)
            bad["wrong issuer"] = minter.wrong_issuer(real)
    for name, token in bad.items():
        answer = api.probe.request("GET", api.path_of(CODES), auth=token)
        answer.exchange.notes.append(f"token: {name}")
        _token_refused(ctx, answer, f"a token with {name}")


def _wrong_scope(ctx: RuleContext) -> dict[str, str] | str:
    """Headers of credentials.wrong_scope, else a token of negative_auth.wrong_scope."""
    if ctx.has_role("wrong_scope"):
        return ctx.role_headers("wrong_scope")
    if ctx.manifest.negative_auth.wrong_scope is not None:
        return ctx.credentials.wrong_scope_token()
    raise NotApplicable(
        "the manifest names no credentials.wrong_scope (a client without "
        "sdir:seafarer.additionalcompetance.write) and no negative_auth.wrong_scope"
    )


def _with(who: dict[str, str] | str) -> dict[str, Any]:
    return {"headers": who} if isinstance(who, dict) else {"auth": who}


def _scope_refused(ctx: RuleContext, answer: ProbeResponse, what: str, *, published: bool) -> None:
    if answer.status >= 500:
        raise ctx.fail(f"{what} with a token lacking the scope: {answer.status}", answer)
    if answer.status < 400:
        message = f"{what} with a token lacking the write scope is answered {answer.status}"
        if not published:
            ctx.deviate(str(ctx.rule.assumption_id), message, answer)
            return
        raise ctx.fail(message, answer)
    if answer.status in (401, 403):
        ctx.reading(f"a token lacking the scope is refused with {answer.status}")
    else:
        ctx.deviate(
            SCOPE_STATUS_ASSUMED,
            f"{what} with a token lacking the scope is refused with {answer.status}",
            answer,
        )


@check("SDIR-AUTH-SCOPE")
def scope(ctx: RuleContext, api: Api) -> None:
    """A token without the write scope: a write is refused (published); a read too (A-SDIR-004)."""
    who = _wrong_scope(ctx)
    read = api.probe.request("GET", api.path_of(CODES), **_with(who))
    _scope_refused(ctx, read, "a read", published=False)
    if ctx.manifest.limits.read_only:
        answer = api.post(BATCH, [], expect_rejection=True, **_with(who))
        if answer.status in (401, 403) or answer.status < 400:
            _scope_refused(ctx, answer, "an empty batch", published=True)
        else:
            ctx.note(f"read_only: the empty batch was refused with {answer.status}; not judged")
        return
    _scope_refused(ctx, api.batch([api.item()], **_with(who)), "a valid batch", published=True)


@check("SDIR-AUTH-DELEGATION")
def delegation(ctx: RuleContext, api: Api) -> None:
    """A supplier's delegated token (consumer = the customer) is accepted like a direct one."""
    if not ctx.has_fixture("delegated_organisation"):
        raise NotApplicable("the manifest names no delegated_organisation fixture")
    customer = str(ctx.fixture("delegated_organisation"))
    request: dict[str, Any]
    proposal: str | None = None
    if ctx.has_role("delegated"):
        request = {"headers": api.as_role("delegated")}
    elif ctx.credentials.minter is not None:
        real = ctx.credentials.token()
        own = tokens.claims_of(real).get("consumer")
        supplier = own or {"authority": "iso6523-actorid-upis", "ID": f"0192:{api.organisation()}"}
        claims = {
            "consumer": {"authority": "iso6523-actorid-upis", "ID": f"0192:{customer}"},
            "supplier": supplier,
        }
        request = {"auth": ctx.credentials.minter.valid(tokens.edited_claims(real, claims))}
        proposal = str(ctx.rule.assumption_id)  # the claim names are kontrakt's reading
    else:
        raise NotApplicable(
            "a delegated token needs credentials.delegated (or negative_auth.signing_key to sign "
            "one)"
        )

    def accepted(answer: ProbeResponse, status: int, what: str) -> bool:
        if answer.status == status:
            return True
        message = f"{what} with the delegated token answers {answer.status}, not {status}"
        if proposal is None:
            raise ctx.fail(message, answer)
        ctx.deviate(proposal, f"{message} (a token signed by the suite)", answer)
        return False

    if not accepted(api.probe.request("GET", api.path_of(CODES), **request), 200, "a read"):
        return
    if ctx.manifest.limits.read_only:
        ctx.note("read_only: the delegated token was tried on the code list only")
        return
    if not ctx.has_fixture("delegated_vessel_imo"):
        raise NotApplicable("the manifest names no delegated_vessel_imo fixture")
    vessel = str(ctx.fixture("delegated_vessel_imo"))
    item = api.item(org=customer, imo=vessel, call_sign=None)
    made = api.batch([item], **request)
    if not accepted(made, 201, "a report for the customer"):
        return
    body = _body(made)
    if not isinstance(body, list) or not body:
        raise ctx.fail("the delegated report's 201 carries no record", made)
    differ = api.same_values(item, body[0])
    if differ:
        raise ctx.fail(f"the delegated report was stored with other values: {differ}", made)


@check("SDIR-AUTH-ORG-MATCH")
def organisation_match(ctx: RuleContext, api: Api) -> None:
    """Another organisation in an item (and in the v2 list filter): refused (403 proposed)."""
    foreign = api.foreign_organisation()
    own = str(ctx.rule.assumption_id)
    checked = False
    if api.lists():
        answer = api.probe.request("GET", api.path_of(LIST), params={"organisationNumber": foreign})
        checked = True
        if answer.status < 300:
            body = _body(answer)
            items = body.get("items") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise ctx.fail("the list filtered by another organisation is not a page", answer)
            org = api.shape.path("org")
            theirs = [i.get("uid") for i in items if get_path(i, org) == foreign]
            if theirs:
                raise ctx.fail(f"the list shows another organisation's reports {theirs}", answer)
            ctx.reading("a filter naming another organisation answers no report of it")
        else:
            api.refused(
                answer, 403, what="a list filter for another organisation", status_assumption=own
            )
    if ctx.manifest.limits.read_only:
        if not checked:
            api.require_writes()
        ctx.note("read_only: only the list filter was tried")
        return
    good, bad = api.item(), api.item(org=foreign)
    answer = api.batch([good, bad])
    if answer.status < 300:
        _organisation_taken_from_token(ctx, api, answer, foreign)
        return
    api.refused(
        answer,
        403,
        what="a batch naming another organisation at index 1",
        status_assumption=own,
        index=1,
    )


def _organisation_taken_from_token(
    ctx: RuleContext, api: Api, answer: ProbeResponse, foreign: str
) -> None:
    """A batch naming another organisation was stored. Published (FAQ): no report may be
    stored in the name of an organisation that is not the caller; a provider that stores it
    under the caller's own organisation instead differs only from A-SDIR-016/-017 (refuse)."""
    body = _body(answer)
    records = body if isinstance(body, list) else []
    org = api.shape.path("org")
    if len(records) != 2 or not all(isinstance(r, dict) for r in records):
        raise ctx.fail("a batch naming another organisation is accepted", answer)
    stored = get_path(records[1], org)
    if stored == foreign or stored is None:
        raise ctx.fail(f"a report was stored in the name of organisation {foreign}", answer)
    ctx.deviate(
        str(ctx.rule.assumption_id),
        f"the report naming organisation {foreign} was stored under the caller's {stored}",
        answer,
    )
    ctx.reading("the reporting organisation is taken from the token, not the body")


def _foreign_vessel(ctx: RuleContext, api: Api) -> str:
    if ctx.has_fixture("foreign_vessel_imo"):
        return str(ctx.fixture("foreign_vessel_imo"))
    own = {str(ctx.fixtures.get("vessel_imo") or "")}
    made = synthetic_imo(own)
    ctx.note(f"no fixtures.foreign_vessel_imo: used the made-up IMO number {made}")
    return made


@check("SDIR-AUTH-SHIP-OWNER")
def ship_owner(ctx: RuleContext, api: Api) -> None:
    """A vessel the reporting organisation does not own: refused (FAQ; 403 proposed)."""
    api.require_writes()
    answer = api.batch([api.item(imo=_foreign_vessel(ctx, api), call_sign=None)])
    api.refused(
        answer,
        403,
        what="a report for a vessel of another ship owner",
        status_assumption=str(ctx.rule.assumption_id),
    )


def _foreign_report(ctx: RuleContext, api: Api) -> str:
    """fixtures.foreign_report_uid, else a report credentials.other_owner creates now."""
    if ctx.has_fixture("foreign_report_uid"):
        return str(ctx.fixture("foreign_report_uid"))
    if not ctx.has_role("other_owner"):
        raise NotApplicable(
            "the manifest gives neither fixtures.foreign_report_uid nor credentials.other_owner "
            "(another ship owner's client, to create such a report)"
        )
    api.require_writes()
    item = api.item(
        org=str(ctx.fixture("foreign_organisation")),
        imo=str(ctx.fixture("foreign_vessel_imo")),
        call_sign=None,
    )
    record = api.created(
        [item], "a report of credentials.other_owner", headers=api.as_role("other_owner")
    )[0]
    return str(record.get("uid"))


@check("SDIR-READ-OWN-ONLY")
def read_own_only(ctx: RuleContext, api: Api) -> None:
    """Another organisation's report: not readable (404 proposed), not answered by v1's
    several-by-uid read, not replaced by v1's updates, and absent from the v2 list."""
    uid = _foreign_report(ctx, api)
    answer = api.read(uid)
    if answer.status < 300:
        raise ctx.fail("another organisation's report is answered to this organisation", answer)
    api.refused(
        answer,
        404,
        what="another organisation's report",
        status_assumption=str(ctx.rule.assumption_id),
    )
    _no_foreign_update(ctx, api, uid)
    if api.has(MANY) and ctx.has_capability(f"endpoint:{MANY}"):
        # v1's several-by-uid read is a read too (CRS: answered only for one's own reports).
        many = api.probe.request("GET", api.path_of(MANY), params={"uid": [uid]})
        body = _body(many) if many.status < 300 else None
        if isinstance(body, list) and any(
            isinstance(r, dict) and r.get("uid") == uid for r in body
        ):
            raise ctx.fail("another organisation's report is answered by uid=", many)
    if api.lists():
        items, pages = api.list_all()
        if any(i.get("uid") == uid for i in items):
            raise ctx.fail("the foreign report appears in the organisation's list", *pages[-3:])


def _no_foreign_update(ctx: RuleContext, api: Api, uid: str) -> None:
    """v1: an update naming another organisation's report, one or in a batch, is refused (FAQ:
    only the vessel's ship owner reports; 404 as for a read proposed, A-SDIR-013)."""
    if ctx.manifest.limits.read_only:
        ctx.note("read_only: updates of the foreign report not tried")
        return
    own = str(ctx.rule.assumption_id)
    if api.has(UPDATE) and ctx.has_capability(f"endpoint:{UPDATE}"):
        answer = _put(api, uid, api.item())
        if answer.status < 300:
            raise ctx.fail("an update of another organisation's report is accepted", answer)
        api.refused(
            answer, 404, what="an update of another organisation's report", status_assumption=own
        )
    if api.has(UPDATE_BATCH) and ctx.has_capability(f"endpoint:{UPDATE_BATCH}"):
        body = [api.item(uid=uid)]
        answer = api.probe.request("PUT", api.path_of(UPDATE_BATCH), json_body=body)
        if answer.status < 300:
            raise ctx.fail("a batch update of another organisation's report is accepted", answer)
        api.refused(
            answer,
            404,
            what="a batch update of another organisation's report",
            status_assumption=own,
        )


# === transport and errors =======================================================================


@check("SDIR-MEDIA-JSON")
def media_json(ctx: RuleContext, api: Api) -> None:
    """A JSON body sent as text/plain or XML: refused (415), and nothing stored (A-SDIR-032)."""
    writes = not ctx.manifest.limits.read_only
    for media in ("text/plain", "application/xml"):
        items = [api.item()] if writes else []
        answer = api.probe.request(
            "POST",
            api.path_of(BATCH),
            content=json.dumps(items),
            headers={"Content-Type": media},
            expect_rejection=True,
        )
        if not api.refused(answer, 415, what=f"a batch sent as {media}"):
            continue
        if items:
            again = api.batch(items)
            if again.status != 201:
                raise ctx.fail("the report refused as text cannot be created afterwards", again)


@check("SDIR-MEDIA-MALFORMED")
def media_malformed(ctx: RuleContext, api: Api) -> None:
    """A body that is not JSON, sent as application/json: refused (400 MALFORMED_JSON)."""
    for text in ('[{"seafarer": ', "not json"):
        answer = api.probe.request(
            "POST",
            api.path_of(BATCH),
            content=text,
            headers={"Content-Type": JSON},
            expect_rejection=True,
        )
        api.refused(answer, 400, what="a body that is not JSON")


def _error_samples(api: Api) -> list[ProbeResponse]:
    """A few service errors every provider can be asked for without storing anything; only the
    answers that are errors (4xx/5xx) are judged."""
    answers = [
        api.read(str(uuid.uuid4())),
        api.post(BATCH, [], expect_rejection=True),
        api.probe.request(
            "POST",
            api.path_of(BATCH),
            content="[]",
            headers={"Content-Type": "text/plain"},
            expect_rejection=True,
        ),
        api.probe.request("GET", api.path_of(CODES), headers={"Authorization": None}),
    ]
    errors = [a for a in answers if a.status >= 400]
    api.ctx.judged(errors, "error answers to judge")
    return errors


@check("SDIR-ERROR-PROBLEM")
def error_problem(ctx: RuleContext, api: Api) -> None:
    """Service errors are application/problem+json with status == the HTTP status and a title."""
    proposal = str(ctx.rule.assumption_id)
    for answer in _error_samples(api):
        status = answer.status
        body = _body(answer)
        if not answer.content_type.startswith(PROBLEM):
            ctx.deviate(
                proposal, f"a {status} is sent as {answer.content_type or 'no media type'}", answer
            )
        elif not isinstance(body, dict) or body.get("status") != status or not body.get("title"):
            ctx.deviate(
                proposal, f"the {status} problem lacks status == {status} or a title", answer
            )


@check("SDIR-ERROR-CODES")
def error_codes(ctx: RuleContext, api: Api) -> None:
    """Every service error carries errors[] of {code mapped to the status, message} (A-SDIR-005:
    the whole vocabulary is kontrakt's, so every finding is a deviation)."""
    catalogue = api.spec.error_catalogue.get("codes") or {}
    for answer in _error_samples(api):
        status = answer.status
        errors = _errors(answer)
        if not errors:
            what = "is not JSON" if _body(answer) is None else "has no non-empty errors list"
            ctx.deviate(CODES_ASSUMED, f"the {status} body {what}", answer)
            continue
        for entry in errors:
            code = entry.get("code")
            if not isinstance(code, str | int) or str(code) not in catalogue:
                ctx.deviate(
                    CODES_ASSUMED, f"errors[].code {code!r} is not a catalogue code", answer
                )
            elif status not in api.spec.code_status(code):
                ctx.deviate(
                    CODES_ASSUMED,
                    f"errors[].code {code!r} is not a catalogue code of {status}",
                    answer,
                )
            if not isinstance(entry.get("message"), str) or not entry["message"]:
                ctx.deviate(CODES_ASSUMED, "an errors[] entry has no message", answer)


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
    if ctx.has_role("wrong_scope") or ctx.manifest.negative_auth.wrong_scope is not None:
        who = _wrong_scope(ctx)
        headers = {**(who if isinstance(who, dict) else {}), "Content-Type": JSON}
        answer = api.probe.request(
            "POST",
            api.path_of(BATCH),
            content="[{",
            headers=headers,
            auth=who if isinstance(who, str) else True,
            expect_rejection=True,
        )
        ctx.expect_status(answer, 403, 401)
    if ctx.manifest.limits.read_only:
        ctx.note("read_only: precedence among item checks not tried")
        return
    foreign = api.foreign_organisation()
    answer = api.batch([api.item(org=foreign), api.item(code=api.unknown_code())])
    ctx.expect_status(answer, 400)


@check("SDIR-DATETIME-OFFSET")
def datetime_offset(ctx: RuleContext, api: Api) -> None:
    """Every date-time a record carries has a UTC offset (Sdir: output date-times always do)."""
    records: list[tuple[Any, ProbeResponse]] = []
    if ctx.has_fixture("own_report_uid"):
        answer = api.read(str(ctx.fixture("own_report_uid")))
        ctx.expect_status(answer, 200)
        records.append((_body(answer), answer))
    if not ctx.manifest.limits.read_only:
        answer = api.batch([api.item()])
        ctx.expect_status(answer, 201)
        made = _body(answer)
        records.append((made, answer))
        if isinstance(made, list) and made and isinstance(made[0], dict):
            read = api.read(str(made[0].get("uid")))
            records.append((_body(read), read))
    if api.lists():
        page, body = api.page(limit=5)
        records.append((body.get("items"), page))
    found = [
        (where, value, answer) for record, answer in records for where, value in _date_times(record)
    ]
    if not records:
        raise NotApplicable("read_only and no own_report_uid fixture: no record to look at")
    ctx.judged(found, "date-times in the records read")
    for where, value, answer in found:
        if not _with_offset(value):
            raise ctx.fail(f"{where} {value!r} has no UTC offset", answer)


# === the code list ==============================================================================


@check("SDIR-CODES-LIST")
def codes_list(ctx: RuleContext, api: Api) -> None:
    """200 and a non-empty list of codes, every code unique; {code, description} is proposed."""
    answer, entries = api.code_list()
    ctx.expect_status(answer, 200)
    ctx.judged(entries, "codes in the code list", must_exist=True)
    codes = [_code_of(e) for e in entries]
    if not all(codes):
        raise ctx.fail("a code list entry has no code", answer)
    if len(set(codes)) != len(codes):
        raise ctx.fail("the code list repeats a code", answer)
    body = _body(answer)
    if not isinstance(body, list) or api.spec.validate(CODES, body, 200):
        ctx.deviate(
            api.assumed("code-list-shape"),
            "the code list is not a bare array of {code, description}",
            answer,
        )


@check("SDIR-CODES-ACCEPTED")
def codes_accepted(ctx: RuleContext, api: Api) -> None:
    """Every listed code is accepted in a create (batches of a few codes each)."""
    api.require_writes()
    codes = api.known_codes()
    most = min(10, api.batch_limit()[0])
    for start in range(0, len(codes), most):
        chunk = codes[start : start + most]
        answer = api.batch([api.item(code=code) for code in chunk])
        if answer.status != 201:
            raise ctx.fail(f"a batch with the listed codes {chunk} answers {answer.status}", answer)


@check("SDIR-CODE-UNKNOWN")
def code_unknown(ctx: RuleContext, api: Api) -> None:
    """A code outside the list: refused (400 UNKNOWN_COMPETENCE_CODE naming the member)."""
    api.require_writes()
    answer = api.batch([api.item(code=api.unknown_code())])
    api.refused(answer, 400, what="a code outside the list", fields=(api.shape.path("code"),))


# === body validation ============================================================================


def _refused(ctx: RuleContext, api: Api, item: dict[str, Any], what: str, *fields: str) -> None:
    api.refused(api.batch([item]), 400, what=what, fields=fields)


@check("SDIR-VALIDATION-REQUIRED")
def validation_required(ctx: RuleContext, api: Api) -> None:
    """A missing required member: refused (400 VALIDATION_FAILED naming it)."""
    api.require_writes()
    for name in ("start", "pin", "code", "last"):
        if not api.shape.has(name) or api.shape.path(name) not in api.shape.required:
            continue
        path = api.shape.path(name)
        _refused(ctx, api, api.item(**{name: None}), f"a report without {path}", path)


@check("SDIR-VALIDATION-FORMAT")
def validation_format(ctx: RuleContext, api: Api) -> None:
    """A member breaking its pattern or format: refused (400 VALIDATION_FAILED naming it)."""
    api.require_writes()
    for name, value in (
        ("pin", "1234"),
        ("org", "12345678"),
        ("imo", "123456"),
        ("start", "01.02.2025"),
    ):
        if api.shape.has(name):
            over = {name: value, "call_sign": None} if name == "imo" else {name: value}
            path = api.shape.path(name)
            _refused(ctx, api, api.item(**over), f"{path} {value!r}", path)
    answer = api.read("not-a-uuid")
    api.refused(answer, 400, what="a uid that is not a UUID", also=(404,))


@check("SDIR-VALIDATION-CHECK-DIGITS")
def validation_check_digits(ctx: RuleContext, api: Api) -> None:
    """A wrong check digit in fødselsnummer, organisation number or IMO number: refused."""
    api.require_writes()
    base = api.item()
    for name in ("pin", "org", "imo"):
        value = api.value(base, name) if api.shape.has(name) else None
        if isinstance(value, str) and value.isdigit():
            path = api.shape.path(name)
            _refused(
                ctx,
                api,
                api.item(**{name: _changed_digit(value)}),
                f"{path} with a wrong check digit",
                path,
            )


@check("SDIR-VALIDATION-VESSEL")
def validation_vessel(ctx: RuleContext, api: Api) -> None:
    """A report naming neither an IMO number nor a call sign: refused (400)."""
    api.require_writes()
    _refused(ctx, api, api.item(imo=None, call_sign=None), "a report naming no vessel")


@check("SDIR-VALIDATION-PERIOD")
def validation_period(ctx: RuleContext, api: Api) -> None:
    """A stop (or completion) date before the start: refused (400 INVALID_PERIOD naming it)."""
    api.require_writes()
    for name in ("stop", "completion"):
        if not api.shape.has(name):
            continue
        start = fresh_day()
        item = api.item(
            start=start.isoformat(), **{name: (start - dt.timedelta(days=1)).isoformat()}
        )
        path = api.shape.path(name)
        _refused(ctx, api, item, f"{path} before the period start", path)


@check("SDIR-VALIDATION-NO-UID-ON-CREATE")
def validation_no_uid(ctx: RuleContext, api: Api) -> None:
    """A create item carrying uid: refused (400 VALIDATION_FAILED naming uid)."""
    api.require_writes()
    path = api.shape.path("uid")
    _refused(ctx, api, api.item(uid=str(uuid.uuid4())), "a create carrying a uid", path)


def _other_version(api: Api) -> Api | None:
    """The sibling URL version's shape, for SDIR-VALIDATION-VERSION-SCHEMA."""
    from kontrakt.conformance.registry import resolve_spec_path

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
    """The other version's body is refused (400 naming a member); our own is accepted."""
    api.require_writes()
    twin = _other_version(api)
    if twin is None:
        raise NotApplicable("no sibling URL version of this profile")
    day = fresh_day().isoformat()
    foreign, own = twin.item(start=day), api.item(start=day)
    answer = api.batch([foreign])
    nested = [p for p in api.shape.top if p not in twin.shape.top and p in api.shape.required]
    api.refused(answer, 400, what="the other URL version's body", fields=tuple(nested))
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
    if differ or not _same_instant(stored.get("createdAt"), record.get("createdAt")):
        raise ctx.fail(f"the read differs from what was stored: {differ or ['createdAt']}", answer)
    if api.lists():
        items, pages = api.list_all()
        listed = [i for i in items if i.get("uid") == record.get("uid")]
        if len(listed) != 1 or api.same_values(item, listed[0]):
            raise ctx.fail("the new report is not listed once with its values", *pages[-3:])


@check("SDIR-NOT-FOUND")
def not_found(ctx: RuleContext, api: Api) -> None:
    """An unknown uid: 404 (HTTP's answer for an unknown resource); the code is proposed."""
    api.refused(api.read(str(uuid.uuid4())), 404, what="an unknown uid", status_assumption=None)


@check("SDIR-DUPLICATE")
def duplicate(ctx: RuleContext, api: Api) -> None:
    """A stored report again, or twice in one batch (the later one named): 409 DUPLICATE_REPORT."""
    api.require_writes()
    item = api.item()
    api.created([item], "setup")
    api.refused(api.batch([item]), 409, what="a report already stored")
    twice = api.item()
    answer = api.batch([twice, api.item(), twice])
    api.refused(answer, 409, what="a batch repeating item 0 at index 2", index=2)


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
    if (_body(read) or {}).get("uid") != (_body(answer) or {}).get("uid"):
        raise ctx.fail("Location reads another report than the one created", answer, read)


def _put(api: Api, uid: str, body: Any) -> ProbeResponse:
    return api.probe.request("PUT", api.path_of(UPDATE).replace("{uid}", uid), json_body=body)


@check("SDIR-UPDATE-REPLACE")
def update_replace(ctx: RuleContext, api: Api) -> None:
    """An update is accepted (200 with the report, or 204); uid and createdAt kept, the rest
    replaced, as a read shows."""
    api.require_writes()
    if not ctx.has_capability(f"endpoint:{UPDATE}"):
        raise NotApplicable(f"capability endpoint:{UPDATE} is not claimed")
    record = api.created([api.item()], "setup")[0]
    uid = str(record.get("uid"))
    change = api.item(code=api.known_codes()[-1])
    answer = _put(api, uid, change)
    ctx.expect_status(answer, 200, 204)
    if answer.status == 200:
        body = _body(answer)
        if not isinstance(body, dict) or body.get("uid") != uid:
            raise ctx.fail("the update answers another report than the one updated", answer)
        moved = not _same_instant(body.get("createdAt"), record.get("createdAt"))
        if moved or api.same_values(change, body):
            raise ctx.fail("the update's answer changed createdAt or kept old values", answer)
    else:
        ctx.reading("an update answers 204 without a body")
    read = api.read(uid)
    stored = _body(read)
    if not isinstance(stored, dict):
        raise ctx.fail("the updated report cannot be read", read)
    differ = api.same_values(change, stored)
    if differ or not _same_instant(stored.get("createdAt"), record.get("createdAt")):
        raise ctx.fail(
            f"the update did not replace {differ or ['(createdAt moved)']}", answer, read
        )


@check("SDIR-UPDATE-UID-MATCH")
def update_uid_match(ctx: RuleContext, api: Api) -> None:
    """A body uid other than the path uid: refused (400 UID_MISMATCH), and nothing changed."""
    api.require_writes()
    record = api.created([api.item()], "setup")[0]
    uid = str(record.get("uid"))
    change = api.item(uid=str(uuid.uuid4()), code=api.known_codes()[-1])
    answer = _put(api, uid, change)
    if not api.refused(
        answer, 400, what="an update whose body names another uid", refusal_assumption="A-SDIR-011"
    ):
        return
    read = api.read(uid)
    if api.value(_body(read) or {}, "code") != api.value(record, "code"):
        raise ctx.fail("the refused update changed the report", read)


@check("SDIR-GET-MANY")
def get_many(ctx: RuleContext, api: Api) -> None:
    """Several by uid: the reports found, unknown uids left out; parameter order is proposed."""
    api.require_writes()
    first, second = api.created([api.item(), api.item()], "setup")
    wanted = [str(second["uid"]), str(uuid.uuid4()), str(first["uid"])]
    answer = api.probe.request("GET", api.path_of(MANY), params={"uid": wanted})
    proposal = str(ctx.rule.assumption_id)
    if 400 <= answer.status < 500:
        ctx.deviate(
            proposal, f"a request naming one unknown uid is refused ({answer.status})", answer
        )
        return
    ctx.expect_status(answer, 200)
    body = _body(answer)
    if not isinstance(body, list):
        raise ctx.fail("several by uid does not answer an array", answer)
    got = [r.get("uid") for r in body if isinstance(r, dict)]
    expected = [wanted[0], wanted[2]]
    if sorted(map(str, got)) != sorted(expected):
        raise ctx.fail(f"expected the reports {expected}, got {got}", answer)
    if got != expected:
        ctx.deviate(proposal, f"the reports are not in parameter order: {got}", answer)


@check("SDIR-BATCH-UPDATE-UNKNOWN")
def batch_update_unknown(ctx: RuleContext, api: Api) -> None:
    """A batch update naming an unknown uid at k: refused (404 index k proposed); nothing changed."""
    api.require_writes()
    records = api.created([api.item(), api.item()], "setup")
    uids = [str(r["uid"]) for r in records]
    uids.insert(1, str(uuid.uuid4()))
    new_code = api.known_codes()[-1]
    body = [api.item(uid=u, code=new_code) for u in uids]
    answer = api.probe.request("PUT", api.path_of(UPDATE_BATCH), json_body=body)
    api.refused(answer, 404, what="a batch update naming an unknown uid at index 1", index=1)
    for record in records:
        read = api.read(str(record["uid"]))
        if api.value(_body(read) or {}, "code") != api.value(record, "code"):
            raise ctx.fail("an item of the refused batch update was changed", answer, read)


# === v2: the list ===============================================================================


@check("SDIR-LIST-PAGE")
def list_page(ctx: RuleContext, api: Api) -> None:
    """{count, offset, limit, items}: the applied values, at most limit items, a stable count."""
    api.own_reports(3)
    counts = set()
    for offset, limit in ((0, 1), (1, 2), (0, 100)):
        answer = api.probe.request(
            "GET", api.path_of(LIST), params={"offset": offset, "limit": limit}
        )
        ctx.expect_status(answer, 200)
        body = ctx.expect_valid(answer, LIST)
        applied = body["limit"]
        if body["offset"] != offset or len(body["items"]) > applied:
            raise ctx.fail(f"offset/limit {offset}/{limit} not applied", answer)
        if applied != limit:
            # Sdir publishes no paging (FACTS §9): a provider serving fewer per page than asked,
            # and saying so in `limit`, differs only from kontrakt's range 1..100 (A-SDIR-019).
            if not 1 <= applied < limit:
                raise ctx.fail(f"limit={limit} is answered limit={applied}", answer)
            ctx.deviate(
                api.assumed("list-paging"),
                f"limit={limit} is capped at {applied}; kontrakt proposes serving up to it",
                answer,
            )
            ctx.reading(f"the provider caps a page at {applied} reports and answers the cap")
        if len(body["items"]) != max(0, min(applied, body["count"] - offset)):
            raise ctx.fail("items do not hold min(limit, count - offset) reports", answer)
        counts.add(body["count"])
    ctx.judged([c for c in counts if c > 1], "two or more reports to page through")
    if len(counts) != 1:
        raise ctx.fail(f"count changes between pages: {sorted(counts)}")


def _created_key(item: Mapping[str, Any]) -> tuple[dt.datetime, str]:
    return dt.datetime.fromisoformat(str(item["createdAt"]).replace("Z", "+00:00")), str(
        item["uid"]
    )


@check("SDIR-LIST-ORDER")
def list_order(ctx: RuleContext, api: Api) -> None:
    """Pages walked with small limits return each report exactly once; the order by
    (createdAt, uid) is kontrakt's proposal (A-SDIR-019)."""
    api.own_reports(3)
    _, body = api.page(limit=1)
    count = int(body.get("count", 0))
    ctx.judged(range(count if count > 1 else 0), "two or more reports to order")
    limit = max(1, min(3, count))
    seen: list[dict[str, Any]] = []
    pages = []
    for offset in range(0, min(count, MAX_PAGES * limit), limit):
        answer, page = api.page(offset=offset, limit=limit)
        pages.append(answer)
        seen.extend(page["items"])
    uids = [i.get("uid") for i in seen]
    if len(set(uids)) != len(uids):
        raise ctx.fail("a report appears on two pages", *pages[-3:])
    if count <= MAX_PAGES * limit and len(seen) != count:
        raise ctx.fail(
            f"walking the pages gave {len(seen)} reports, count says {count}", *pages[-3:]
        )
    try:
        keys = [_created_key(i) for i in seen]
    except (KeyError, ValueError, TypeError):
        ctx.deviate(api.assumed("list-paging"), "items carry no createdAt to order by", *pages[-3:])
        return
    if keys != sorted(keys):
        ctx.deviate(
            api.assumed("list-paging"),
            "the list is not ordered by createdAt, then uid",
            *pages[-3:],
        )
    else:
        ctx.reading("the list is ordered by createdAt, then uid")


@check("SDIR-LIST-LIMITS")
def list_limits(ctx: RuleContext, api: Api) -> None:
    """A negative offset, a limit out of range, a bad fromDate or organisationNumber: refused
    (400 naming the parameter)."""
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
        # The paging range is kontrakt's (A-SDIR-019: Sdir documents no paging); a value that
        # is no date or no organisation number is invalid input by Sdir's own text (DT).
        paging = api.assumed("list-paging") if name in ("offset", "limit") else None
        api.refused(answer, 400, what=f"{name}={value}", fields=(name,), refusal_assumption=paging)


def _oslo_day(value: str) -> dt.date:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(OSLO).date()


@check("SDIR-LIST-FROM-DATE")
def list_from_date(ctx: RuleContext, api: Api) -> None:
    """fromDate keeps exactly the reports stored on or after that day, Norwegian time
    (A-SDIR-020: which date fromDate filters on is kontrakt's proposal)."""
    api.own_reports(1)
    everything, _ = api.list_all()
    try:
        days = sorted({_oslo_day(str(i["createdAt"])) for i in everything})
    except (KeyError, ValueError):
        ctx.deviate(api.assumed("from-date"), "items carry no createdAt to filter on")
        return
    ctx.judged(days, "reports to filter")
    for day in {days[len(days) // 2], days[-1], days[-1] + dt.timedelta(days=1)}:
        expected = {i["uid"] for i in everything if _oslo_day(str(i["createdAt"])) >= day}
        filtered, pages = api.list_all(fromDate=day.isoformat())
        got = {i["uid"] for i in filtered}
        if got != expected:
            ctx.deviate(
                api.assumed("from-date"),
                f"fromDate={day}: {len(got)} reports listed, {len(expected)} stored since",
                *pages,
            )
            return


# === batches ====================================================================================


def _readback_absent(
    ctx: RuleContext, api: Api, good: Sequence[Mapping[str, Any]], failed: ProbeResponse
) -> None:
    """None of `good` exists after a failed batch: not in the v2 list, and new when resubmitted."""
    listed = api.lists()
    if listed:
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
    if listed:
        return
    # Resubmission shows something only if the provider refuses a report stored twice.
    twice = api.batch(list(good))
    if twice.status < 400:
        raise NotApplicable(
            "the provider stores the same report twice, so resubmitting the good items cannot "
            "show whether the failed batch stored them (and there is no list to read)"
        )


@check("SDIR-BATCH-ATOMIC")
def batch_atomic(ctx: RuleContext, api: Api) -> None:
    """A batch failing at item k stores nothing: read back after a refused batch."""
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
        ctx.reading("a batch repeating an item is accepted; atomicity judged on the unknown code")
        return
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
        indexes = [e.get("index") for e in _errors(answer) or []]
        if not indexes or any(i != k for i in indexes):
            raise ctx.fail(f"the bad item is at index {k}; errors[].index says {indexes}", answer)


@check("SDIR-BATCH-MAX-ITEMS")
def batch_max_items(ctx: RuleContext, api: Api) -> None:
    """max-items + 1 items: refused (413) and nothing stored; max-items: 201. The limit and the
    status are kontrakt's proposal (A-SDIR-008)."""
    api.require_writes()
    most, status = api.batch_limit()
    items = [api.item(i) for i in range(most + 1)]
    answer = api.batch(items)
    if not api.refused(
        answer,
        status,
        what=f"a batch of {most + 1} items",
        status_assumption=BATCH_ASSUMED,
        refusal_assumption=BATCH_ASSUMED,
    ):
        return
    accepted = api.batch(items[:most])
    body = _body(accepted)
    if accepted.status != 201 or not isinstance(body, list) or len(body) != most:
        ctx.deviate(
            BATCH_ASSUMED,
            f"a batch of exactly {most} valid items answers {accepted.status}",
            answer,
            accepted,
        )


@check("SDIR-BATCH-EMPTY")
def batch_empty(ctx: RuleContext, api: Api) -> None:
    """An empty array: refused (400 VALIDATION_FAILED); the refusal itself is proposed."""
    api.refused(api.post(BATCH, [], expect_rejection=True), 400, what="an empty batch")


def _records_in_order(
    ctx: RuleContext, api: Api, items: Sequence[Mapping[str, Any]], answer: ProbeResponse
) -> None:
    """One record per item (published: every item processed); request order is proposed."""
    body = _body(answer)
    if not isinstance(body, list) or len(body) != len(items):
        raise ctx.fail(
            f"{len(items)} items sent, {len(body) if isinstance(body, list) else 0} returned",
            answer,
        )
    records = [r if isinstance(r, dict) else {} for r in body]
    for k, sent in enumerate(items):
        if not any(not api.same_values(sent, got) for got in records):
            raise ctx.fail(f"request item {k} has no record in the answer", answer)
    for k, (sent, got) in enumerate(zip(items, records, strict=True)):
        if api.same_values(sent, got):
            ctx.deviate(BATCH_ASSUMED, f"record {k} is not request item {k}", answer)
            return


@check("SDIR-BATCH-ORDER")
def batch_order(ctx: RuleContext, api: Api) -> None:
    """One record per item; in request order (proposed)."""
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


def _prevalidated(ctx: RuleContext, api: Api, answer: ProbeResponse) -> None:
    """A batch that would be stored: 200 (or 204); a `valid` member, when sent, is true."""
    ctx.expect_status(answer, 200, 204)
    if answer.status == 204:
        ctx.reading("prevalidate answers 204 without a body for a good batch")
        return
    body = _body(answer)
    if isinstance(body, dict) and "valid" in body:
        if body["valid"] is not True:
            raise ctx.fail(f"prevalidate answers valid: {body['valid']!r} for a good batch", answer)
    else:
        ctx.deviate(api.assumed("prevalidate"), "prevalidate answers no {valid: true}", answer)


@check("SDIR-PREVALIDATE-OK")
def prevalidate_ok(ctx: RuleContext, api: Api) -> None:
    """A batch that would be stored: accepted ({valid: true} proposed)."""
    api.require_writes()
    _prevalidated(ctx, api, _prevalidate(api, [api.item(0), api.item(1)]))


@check("SDIR-PREVALIDATE-NO-STORE")
def prevalidate_no_store(ctx: RuleContext, api: Api) -> None:
    """Prevalidate stores nothing: the list is unchanged and the same body can be created."""
    api.require_writes()
    items = [api.item(0), api.item(1)]
    listed = api.lists()
    before, _ = api.list_all() if listed else ([], [])
    answer = _prevalidate(api, items)
    ctx.expect_status(answer, 200, 204)
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
    entries = [(e.get("code"), e.get("index")) for e in _errors(answer) or []]
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
        ("foreign organisation", [api.item(org=api.foreign_organisation())]),
    ]
    compared = 0
    for name, body in bodies:
        checked = _prevalidate(api, body)
        created = api.batch(body)
        if created.status < 400:
            ctx.note(f"{name}: the provider accepts this body; not compared")
            continue
        compared += 1
        if _outcome(checked) != _outcome(created):
            raise ctx.fail(
                f"{name}: prevalidate answers {_outcome(checked)}, create {_outcome(created)}",
                checked,
                created,
            )
    ctx.judged(range(compared), "refused bodies to compare")
