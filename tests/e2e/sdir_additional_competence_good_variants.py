"""Known-good variants of the Sdir sandbox: each makes another choice Sdir's text permits.

The dual of `sdir_additional_competence_bad_variants.py`. Sdir publishes prose only (FACTS §9): no
error format, no error codes, no statuses beyond 201 on insert and 401 for a bad token, no list
order, no batch limit. A provider written from that text makes its own choices where kontrakt's
contract (FACTS §10) proposes one, and must still pass at the default level. Each variant names:

- `choice`: what the provider does differently;
- `basis`: the publisher's clause that leaves the choice open, or the A-id it departs from;
- `touches`: the rules the choice reaches (the ones run for it);
- `strict`: the rules expected to fail (a SHOULD rule: warn) at `--level strict`, where kontrakt's
  proposals are MUSTs; empty for a choice the publisher's text allows outright (a reading).

Built like the bad variants: a `Rewrite` in front of the sandbox app, or the sandbox app built
with a `Service` subclass (never an edit of kontrakt/sandbox/).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import jwt
from starlette.types import ASGIApp

import kontrakt.sandbox.sdir as sdir_provider
from kontrakt.sandbox.launch import Sandbox
from kontrakt.sandbox.sdir.core import Service
from tests.e2e.sdir_additional_competence_bad_variants import (
    ITEM,
    OWN,
    PROBLEM,
    Answer,
    Call,
    Kit,
    OnAnswer,
    OnRequest,
    Rewrite,
    Switch,
    _is,
)

__all__ = ["ALL_AT_ONCE", "GOOD", "GoodVariant", "combined"]

# Rule ids whose refusals carry one of the catalogue's codes (A-SDIR-005).
CODED = (
    "SDIR-AUTH-TOKEN-REQUIRED",
    "SDIR-AUTH-TOKEN-VALID",
    "SDIR-AUTH-ORG-MATCH",
    "SDIR-AUTH-SHIP-OWNER",
    "SDIR-READ-OWN-ONLY",
    "SDIR-MEDIA-JSON",
    "SDIR-MEDIA-MALFORMED",
    "SDIR-ERROR-CODES",
    "SDIR-CODE-UNKNOWN",
    "SDIR-VALIDATION-REQUIRED",
    "SDIR-VALIDATION-FORMAT",
    "SDIR-VALIDATION-CHECK-DIGITS",
    "SDIR-VALIDATION-VESSEL",
    "SDIR-VALIDATION-PERIOD",
    "SDIR-VALIDATION-NO-UID-ON-CREATE",
    "SDIR-VALIDATION-VERSION-SCHEMA",
    "SDIR-NOT-FOUND",
    "SDIR-DUPLICATE",
    "SDIR-UPDATE-UID-MATCH",
    "SDIR-BATCH-UPDATE-UNKNOWN",
    "SDIR-LIST-LIMITS",
    "SDIR-BATCH-MAX-ITEMS",
    "SDIR-BATCH-EMPTY",
)


@dataclass(frozen=True)
class GoodVariant:
    name: str
    choice: str
    basis: str
    touches: tuple[str, ...]
    strict: tuple[str, ...] = ()
    on_request: OnRequest | None = None
    on_answer: OnAnswer | None = None
    build: Callable[[Sandbox], ASGIApp] | None = None
    versions: tuple[str, ...] = ("v1", "v2")

    def app(self, switch: Switch, kit: Kit) -> ASGIApp:
        inner = self.build(kit.sandbox) if self.build is not None else switch.default
        if self.on_request is None and self.on_answer is None:
            return inner
        return Rewrite(inner, kit, self.on_request, self.on_answer)


def combined(variants: Sequence[GoodVariant], switch: Switch, kit: Kit) -> ASGIApp:
    """One provider making every choice of `variants`: the first one's build (at most one),
    then each variant's rewrite around it, the first innermost (it sees answers first)."""
    builds = [v.build for v in variants if v.build is not None]
    assert len(builds) <= 1, "only one variant may build the app"
    app: ASGIApp = builds[0](kit.sandbox) if builds else switch.default
    for variant in variants:
        if variant.on_request is not None or variant.on_answer is not None:
            app = Rewrite(app, kit, variant.on_request, variant.on_answer)
    return app


# --- helpers ---------------------------------------------------------------------------------


def _problem_body(answer: Answer) -> dict[str, Any] | None:
    body = answer.json()
    if answer.status >= 400 and isinstance(body, dict):
        return body
    return None


def _restatus(codes: set[str], status: int) -> OnAnswer:
    """Answers carrying one of `codes` get `status` (the body's status member too)."""

    def edit(call: Call, answer: Answer, kit: Kit) -> None:
        body = _problem_body(answer)
        if body is not None and codes & set(answer.codes()):
            answer.status = body["status"] = status
            answer.set_json(body)

    return edit


# 1. own error codes ---------------------------------------------------------------------------


def _own_codes(call: Call, answer: Answer, kit: Kit) -> None:
    body = _problem_body(answer)
    if body is None or not isinstance(body.get("errors"), list):
        return
    for n, entry in enumerate(body["errors"]):
        if isinstance(entry, dict) and "code" in entry:
            entry["code"] = f"AC-{answer.status}-{n + 1:02d}"
    answer.set_json(body)


# 2. ASP.NET Core's validation problem details (errors as an object of messages) -------------


def _aspnet_errors(call: Call, answer: Answer, kit: Kit) -> None:
    body = _problem_body(answer)
    if body is None or not isinstance(body.get("errors"), list):
        return
    grouped: dict[str, list[str]] = {}
    for entry in body["errors"]:
        if not isinstance(entry, dict):
            continue
        key = str(entry.get("field") or "$")
        if entry.get("index") is not None:
            key = f"[{entry['index']}].{key}" if key != "$" else f"[{entry['index']}]"
        grouped.setdefault(key, []).append(str(entry.get("message") or "Invalid."))
    answer.set_json(
        {
            "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
            "title": "One or more validation errors occurred.",
            "status": answer.status,
            "traceId": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
            "errors": grouped,
        }
    )
    answer.headers["content-type"] = PROBLEM


# 3. errors as plain text ------------------------------------------------------------------------


def _text_errors(call: Call, answer: Answer, kit: Kit) -> None:
    body = _problem_body(answer)
    if body is None or not isinstance(body.get("errors"), list):
        return
    lines = [str(body.get("detail") or body.get("title") or "Error")]
    for entry in body["errors"]:
        if isinstance(entry, dict):
            where = f"item {entry['index']}: " if entry.get("index") is not None else ""
            field = f"{entry['field']}: " if entry.get("field") else ""
            lines.append(f"{where}{field}{entry.get('message', '')}")
    answer.body = "\n".join(lines).encode()
    answer.headers["content-type"] = "text/plain; charset=utf-8"


# the reporting organisation taken from the token ----------------------------------------------


def _organisation_from_token(call: Call, kit: Kit) -> Answer | None:
    """Every item is stored under the caller's organisation, whatever its body names."""
    items = call.json()
    posting = _is(call, "POST", r"/v[12]/additionalcompetence/(batch|prevalidate)")
    if not (posting and isinstance(items, list)):
        return None
    for item in items:
        if not isinstance(item, dict):
            continue
        if _valid_organisation(item.get("organizationNumber")):
            item["organizationNumber"] = OWN
        nested = item.get("organization")
        if isinstance(nested, dict) and _valid_organisation(nested.get("organisationNumber")):
            nested["organisationNumber"] = OWN
    call.set_json(items)
    return None


def _valid_organisation(value: Any) -> bool:
    """A well-formed organisation number (9 digits, MOD11): validated before it is replaced."""
    if not (isinstance(value, str) and re.fullmatch(r"\d{9}", value)):
        return False
    rest = sum(int(d) * w for d, w in zip(value, (3, 2, 7, 6, 5, 4, 3, 2), strict=False)) % 11
    return (0 if rest == 0 else 11 - rest) == int(value[-1])


# 4. the list newest first ---------------------------------------------------------------------


class NewestFirstService(Service):
    """Lists the organisation's reports newest first (createdAt, then uid, descending)."""

    def page(
        self, organisation: str, from_day: date | None, offset: int, limit: int
    ) -> tuple[int, list[sqlite3.Row]]:
        where = "version = ? AND organisation = ?"
        args: list[Any] = [self.version, organisation]
        if from_day is not None:
            where += " AND created_day >= ?"
            args.append(from_day.isoformat())
        total = self.db.one(f"SELECT COUNT(*) AS n FROM report WHERE {where}", args)
        rows = self.db.query(
            f"SELECT * FROM report WHERE {where} ORDER BY created_us DESC, uid DESC "
            "LIMIT ? OFFSET ?",
            (*args, limit, offset),
        )
        return (int(total["n"]) if total else 0), rows


def newest_first_app(sandbox: Sandbox) -> ASGIApp:
    original = sdir_provider.Service
    sdir_provider.Service = NewestFirstService  # type: ignore[misc]
    try:
        return sdir_provider.create_app(sandbox.context)
    finally:
        sdir_provider.Service = original  # type: ignore[misc]


# 7./8. 204 instead of 200 with a body -------------------------------------------------------


def _no_content(test: Callable[[Call], bool]) -> OnAnswer:
    def edit(call: Call, answer: Answer, kit: Kit) -> None:
        if test(call) and answer.status == 200:
            answer.status, answer.body = 204, b""
            answer.headers.pop("content-type", None)

    return edit


def _single_put(call: Call) -> bool:
    return _is(call, "PUT", ITEM) and not call.path.endswith("/batch")


def _prevalidate(call: Call) -> bool:
    return _is(call, "POST", r"/v2/additionalcompetence/prevalidate")


# 9. the code list wrapped, description under another name ----------------------------------


def _wrapped_codes(call: Call, answer: Answer, kit: Kit) -> None:
    if call.method == "GET" and call.path.endswith("/codes") and answer.status == 200:
        listed = answer.json()
        answer.set_json({"codes": [{"code": c["code"], "name": c["description"]} for c in listed]})


# 10. createdAt in UTC --------------------------------------------------------------------------

_CREATED = re.compile(rb'"createdAt": ?"([^"]+)"')


def _utc(match: re.Match[bytes]) -> bytes:
    moment = dt.datetime.fromisoformat(match.group(1).decode())
    shown = moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return b'"createdAt": "' + shown.encode() + b'"'


def _utc_created_at(call: Call, answer: Answer, kit: Kit) -> None:
    if answer.status < 300:
        answer.body = _CREATED.sub(_utc, answer.body)


# 11./12. key failures from another gateway --------------------------------------------------


def _is_gateway_401(answer: Answer) -> bool:
    body = answer.json()
    return answer.status == 401 and isinstance(body, dict) and "statusCode" in body


def _key_problem(call: Call, answer: Answer, kit: Kit) -> None:
    if _is_gateway_401(answer):
        message = answer.json()["message"]
        answer.headers["content-type"] = PROBLEM
        answer.set_json(
            {"type": "about:blank", "title": "Unauthorized", "status": 401, "detail": message}
        )


def _key_no_body(call: Call, answer: Answer, kit: Kit) -> None:
    if _is_gateway_401(answer):
        answer.body = b""
        answer.headers.pop("content-type", None)
        answer.headers["www-authenticate"] = 'ApiKey realm="sdir"'


# 13. the list serves at most 50 a page ----------------------------------------------------------

PAGE_CAP = 50


def _capped_page(call: Call, kit: Kit) -> Answer | None:
    """A larger limit is served as PAGE_CAP (and answered so in `limit`), not refused."""
    if call.method == "GET" and call.path.rstrip("/") == "/v2/additionalcompetence":
        query = urllib.parse.parse_qsl(call.query, keep_blank_values=True)
        capped = []
        for name, value in query:
            if name == "limit" and value.isdigit() and int(value) > PAGE_CAP:
                value = str(PAGE_CAP)
            capped.append((name, value))
        call.query = urllib.parse.urlencode(capped)
    return None


# 14. a token expired a little while ago is still taken (clock skew) ---------------------------

SKEW = 305  # ASP.NET Core JwtBearer's default ClockSkew (5 minutes), and a clock 5 s behind


def _clock_skew(call: Call, kit: Kit) -> Answer | None:
    """A correctly signed token of the right issuer that expired less than SKEW seconds ago is
    taken as valid (served with a fresh token); every other token goes to the sandbox as is."""
    header = call.headers.get("authorization", "")
    if not header.lower().startswith("bearer ") or kit.claims(header) is not None:
        return None
    issuer = kit.sandbox.context.issuer
    try:
        jwt.decode(
            header[7:],
            issuer.signing_key.public_key(),
            algorithms=["RS256"],
            audience=kit.sandbox.url("sdir"),
            issuer=issuer.issuer_url,
            leeway=SKEW,
        )
    except jwt.PyJWTError:
        return None
    call.headers["authorization"] = f"Bearer {kit.token()}"
    return None


# --- the variants --------------------------------------------------------------------------------

VALIDATION_400 = (
    "SDIR-CODE-UNKNOWN",
    "SDIR-VALIDATION-REQUIRED",
    "SDIR-VALIDATION-FORMAT",
    "SDIR-VALIDATION-CHECK-DIGITS",
    "SDIR-VALIDATION-VESSEL",
    "SDIR-VALIDATION-PERIOD",
    "SDIR-VALIDATION-NO-UID-ON-CREATE",
    "SDIR-VALIDATION-VERSION-SCHEMA",
    "SDIR-LIST-LIMITS",
    "SDIR-BATCH-EMPTY",
)

GOOD: tuple[GoodVariant, ...] = (
    GoodVariant(
        "own-error-codes",
        "error entries carry the provider's own codes (AC-400-01, ...), not kontrakt's vocabulary",
        "A-SDIR-005 (Sdir names no error codes: FACTS §6, §9)",
        CODED,
        strict=CODED,
        on_answer=_own_codes,
    ),
    GoodVariant(
        "aspnet-validation-problem",
        "errors as ASP.NET Core's ValidationProblemDetails: `errors` is an object of messages "
        "keyed by `[index].member`, no codes, no errors[] list",
        "A-SDIR-005, A-SDIR-006 (Sdir: on failure the message holds validation errors or names "
        "missing fields, DEVP; no format)",
        (*CODED, "SDIR-BATCH-ERROR-INDEX"),
        strict=(*CODED, "SDIR-BATCH-ERROR-INDEX"),
        on_answer=_aspnet_errors,
    ),
    GoodVariant(
        "plain-text-errors",
        "service errors are text/plain messages naming the item and member, no JSON body",
        "A-SDIR-005, A-SDIR-006, A-SDIR-034 (DEVP: on failure read the response message, which "
        "holds validation errors or names missing fields; no format is given)",
        (*CODED, "SDIR-BATCH-ERROR-INDEX", "SDIR-ERROR-PROBLEM"),
        strict=(*CODED, "SDIR-BATCH-ERROR-INDEX", "SDIR-ERROR-PROBLEM"),
        on_answer=_text_errors,
    ),
    GoodVariant(
        "scope-refused-401",
        "a token lacking the write scope is refused with 401 (an APIM validate-jwt policy), "
        "not 403",
        "reading: Sdir names no status for a scope failure (FACTS §9); RFC 6750 and APIM "
        "differ (A-SDIR-030 accepts both)",
        ("SDIR-AUTH-SCOPE", "SDIR-ERROR-PRECEDENCE"),
        on_answer=_restatus({"INSUFFICIENT_SCOPE"}, 401),
    ),
    GoodVariant(
        "list-newest-first",
        "the list is ordered newest first (createdAt, uid descending)",
        "A-SDIR-019 (v2; Sdir documents no list order)",
        ("SDIR-LIST-ORDER", "SDIR-LIST-PAGE", "SDIR-LIST-FROM-DATE", "SDIR-READ-BACK"),
        strict=("SDIR-LIST-ORDER",),
        build=newest_first_app,
        versions=("v2",),
    ),
    GoodVariant(
        "validation-422",
        "invalid items, unknown codes and bad parameters are refused with 422, not 400",
        "A-SDIR-031 (Sdir states no status for a validation failure, FACTS §6)",
        (*VALIDATION_400, "SDIR-ERROR-CODES"),
        strict=(*VALIDATION_400, "SDIR-ERROR-CODES"),
        on_answer=_restatus(
            {"VALIDATION_FAILED", "UNKNOWN_COMPETENCE_CODE", "INVALID_PERIOD"}, 422
        ),
    ),
    GoodVariant(
        "owner-checks-400",
        "another organisation in an item and a vessel of another owner are refused with 400",
        "A-SDIR-016/-017 and A-SDIR-022/-024 (Sdir: only the ship owner may report, FAQ; the "
        "status is not stated)",
        ("SDIR-AUTH-ORG-MATCH", "SDIR-AUTH-SHIP-OWNER"),
        strict=("SDIR-AUTH-ORG-MATCH", "SDIR-AUTH-SHIP-OWNER"),
        on_answer=_restatus({"ORGANIZATION_MISMATCH", "NOT_SHIP_OWNER"}, 400),
    ),
    GoodVariant(
        "organisation-from-token",
        "the reporting organisation is taken from the token: an item naming another "
        "organisation is stored under the caller's own, not refused",
        "A-SDIR-017 (v1) / A-SDIR-016 (v2): Sdir states no check of the body's organisation; "
        "the FAQ demands only that the ship owner reports",
        ("SDIR-AUTH-ORG-MATCH", "SDIR-ERROR-PRECEDENCE", "SDIR-PREVALIDATE-CONSISTENT"),
        strict=("SDIR-AUTH-ORG-MATCH",),
        on_request=_organisation_from_token,
    ),
    GoodVariant(
        "update-204",
        "an update answers 204 No Content; the client reads the report back",
        "reading: Sdir lists the PUT operations by name only (AC 2020); RFC 9110 allows 204",
        ("SDIR-UPDATE-REPLACE",),
        on_answer=_no_content(_single_put),
        versions=("v1",),
    ),
    GoodVariant(
        "prevalidate-204",
        "a batch that would be stored is answered 204 by prevalidate, with no body",
        "reading: the prevalidate endpoint is seen only in Sdir's front-end code (FE), its answer "
        "nowhere",
        ("SDIR-PREVALIDATE-OK", "SDIR-PREVALIDATE-NO-STORE", "SDIR-PREVALIDATE-CONSISTENT"),
        on_answer=_no_content(_prevalidate),
        versions=("v2",),
    ),
    GoodVariant(
        "code-list-wrapped",
        'the code list is {"codes": [{code, name}]}: wrapped, the description called name',
        "A-SDIR-019 (v1) / A-SDIR-018 (v2): Sdir says only that the codes endpoint is the "
        "current list (AC)",
        ("SDIR-CODES-LIST", "SDIR-CODES-ACCEPTED", "SDIR-CODE-UNKNOWN"),
        strict=("SDIR-CODES-LIST",),
        on_answer=_wrapped_codes,
    ),
    GoodVariant(
        "created-at-utc",
        "createdAt is given in UTC with Z, not in Norwegian time with +01:00/+02:00",
        "reading: Sdir demands an offset on output date-times (DT), not which one",
        (
            "SDIR-DATETIME-OFFSET",
            "SDIR-READ-BACK",
            "SDIR-CREATE-201",
            "SDIR-LIST-ORDER",
            "SDIR-LIST-FROM-DATE",
        ),
        on_answer=_utc_created_at,
    ),
    GoodVariant(
        "key-failure-problem",
        "a missing or unknown subscription key is answered 401 as problem+json (a gateway "
        "configured to), not with APIM's {statusCode, message}",
        "A-SDIR-007 (APIM's default body is FACTS §8's inference; Sdir documents none)",
        ("SDIR-AUTH-KEY-REQUIRED", "SDIR-AUTH-KEY-VALID"),
        strict=("SDIR-AUTH-KEY-REQUIRED", "SDIR-AUTH-KEY-VALID"),
        on_answer=_key_problem,
    ),
    GoodVariant(
        "key-failure-no-body",
        "a missing or unknown subscription key is answered 401 with no body",
        "A-SDIR-007 (as above)",
        ("SDIR-AUTH-KEY-REQUIRED", "SDIR-AUTH-KEY-VALID"),
        strict=("SDIR-AUTH-KEY-REQUIRED", "SDIR-AUTH-KEY-VALID"),
        on_answer=_key_no_body,
    ),
    GoodVariant(
        "list-capped-50",
        "the list serves at most 50 reports a page: a larger limit is applied as 50 and "
        "answered limit=50, not refused; clients walk by the items received",
        "A-SDIR-019 (v2; Sdir documents no paging parameters, FACTS §9)",
        (
            "SDIR-LIST-PAGE",
            "SDIR-LIST-LIMITS",
            "SDIR-LIST-ORDER",
            "SDIR-LIST-FROM-DATE",
            "SDIR-READ-BACK",
            "SDIR-READ-OWN-ONLY",
            "SDIR-BATCH-ATOMIC",
            "SDIR-PREVALIDATE-NO-STORE",
        ),
        strict=("SDIR-LIST-PAGE", "SDIR-LIST-LIMITS"),
        on_request=_capped_page,
        versions=("v2",),
    ),
    GoodVariant(
        "token-clock-skew",
        "a token that expired up to 5 minutes ago is still taken (ASP.NET Core's default "
        "ClockSkew), with the provider's clock 5 s behind the suite's",
        "reading: Maskinporten's text demands exp in the future but sets no tolerance for clock "
        "skew (MP; FACTS §8)",
        ("SDIR-AUTH-TOKEN-VALID",),
        on_request=_clock_skew,
    ),
)

# One provider making every compatible choice at once: the status changes before the codes are
# replaced, the codes before the body's shape changes (the first is innermost). key-failure-no-body
# excludes key-failure-problem; the ASP.NET shape drops the codes own-error-codes set.
ALL_AT_ONCE: tuple[str, ...] = (
    "list-newest-first",
    "scope-refused-401",
    "validation-422",
    "owner-checks-400",
    "organisation-from-token",
    "update-204",
    "prevalidate-204",
    "code-list-wrapped",
    "created-at-utc",
    "key-failure-problem",
    "list-capped-50",
    "token-clock-skew",
    "own-error-codes",
    "aspnet-validation-problem",
)


def by_name(name: str) -> GoodVariant:
    return next(v for v in GOOD if v.name == name)


def describe() -> str:
    """The variants as JSON (for the proofs document)."""
    return json.dumps(
        [{"name": v.name, "basis": v.basis, "strict": v.strict} for v in GOOD], indent=2
    )
