"""Known-bad twins of the DAN sandbox: small ASGI rewrites around the sandbox app.

Each `Variant` changes one behaviour of the known-good sandbox (`sandbox.dan.create_app`) so that
the rules in `kills` must fail against it (warn, for SHOULD rules) while the rules in `keeps`
still pass. A rewrite sees the request (it may edit the scope, or answer itself) and the whole
buffered response (status, headers, body), so every variant is a few lines. `SPEC_VARIANTS`
instead start the sandbox with its `spec` option pointing at a changed copy of the contract (a
provider whose catalogue drifted from the spec). Used by tests/e2e/test_dan_rules.py, which also
generates docs/dan-rule-proofs.md from these data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import jwt
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.e2e._variants import buffered, header, read_body, send_response, with_header

__all__ = [
    "SPEC_VARIANTS",
    "VARIANTS",
    "AsyncDataset",
    "Context",
    "Exchange",
    "Rewrite",
    "SpecVariant",
    "Variant",
    "answer",
    "on",
]

REPO = Path(__file__).resolve().parents[2]
KEY_HEADER = "ocp-apim-subscription-key"
OWNER = "310000108"  # dan-consumer-test, the manifest's organisation

Headers = list[tuple[bytes, bytes]]


@dataclass
class Context:
    """What a rewrite may need from the running sandbox."""

    key: str
    token: Callable[[], str]  # a fresh good token of the manifest's client


@dataclass
class Exchange:
    """The request as seen, and the buffered response a rewrite may change."""

    scope: Scope
    status: int = 0
    headers: Headers = field(default_factory=list)
    body: bytes = b""

    @property
    def method(self) -> str:
        return str(self.scope["method"])

    @property
    def path(self) -> str:
        return str(self.scope["path"])

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(self.scope.get("query_string", b"").decode(), keep_blank_values=True))

    def header(self, name: str) -> str | None:
        wanted = name.lower().encode()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value.decode("latin-1")
        return None

    def set_header(self, name: str, value: str | None) -> None:
        wanted = name.lower().encode()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != wanted]
        if value is not None:
            self.headers.append((name.encode(), value.encode("latin-1")))

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def set_json(self, value: Any) -> None:
        self.body = json.dumps(value).encode()
        self.set_header("content-type", "application/json")

    def code(self) -> int | None:
        try:
            body = self.json()
        except ValueError:
            return None
        return body.get("code") if isinstance(body, dict) else None


RequestHook = Callable[[Scope, Context], Scope | Exchange]
ResponseHook = Callable[[Exchange, Context], None]
# Sees the request with its whole body: returns them (edited) or answers itself.
BodyHook = Callable[[Scope, bytes, Context], "tuple[Scope, bytes] | Exchange"]


def with_query(scope: Scope, edit: Callable[[dict[str, str]], dict[str, str]]) -> Scope:
    query = dict(parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True))
    return {**scope, "query_string": urlencode(edit(query)).encode()}


def claims(scope: Scope) -> dict[str, Any]:
    value = header(scope, "authorization") or ""
    try:
        found: dict[str, Any] = jwt.decode(value[7:], options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return found


def answer(status: int, body: Any = None) -> Exchange:
    """A response the rewrite gives itself, without calling the sandbox."""
    exchange = Exchange({}, status)
    if body is not None:
        exchange.set_json(body)
    return exchange


class Rewrite:
    """ASGI middleware: `request` may edit the scope or answer; `response` edits the answer."""

    def __init__(
        self,
        app: ASGIApp,
        context: Context,
        request: RequestHook | None = None,
        response: ResponseHook | None = None,
        body: BodyHook | None = None,
    ) -> None:
        self.app = app
        self.context = context
        self.request = request
        self.response = response
        self.body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.body is not None:
            raw = await read_body(receive)
            seen = self.body(scope, raw, self.context)
            if isinstance(seen, Exchange):
                await self._send(seen, send)
                return
            scope, raw = seen
            scope = with_header(scope, "content-length", str(len(raw)))
            receive = _replay(raw)
        if self.request is not None:
            edited = self.request(scope, self.context)
            if isinstance(edited, Exchange):
                await self._send(edited, send)
                return
            scope = edited
        exchange = Exchange(scope, *await buffered(self.app, scope, receive))
        if self.response is not None:
            self.response(exchange, self.context)
        await self._send(exchange, send)

    @staticmethod
    async def _send(exchange: Exchange, send: Send) -> None:
        exchange.set_header("content-length", str(len(exchange.body)))
        await send_response(send, exchange.status, exchange.headers, exchange.body)


def _replay(raw: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    return receive


@dataclass(frozen=True)
class Variant:
    """A known-bad twin: what it breaks, the rules it must fail, rules it must leave alone."""

    name: str
    description: str
    kills: tuple[str, ...]
    keeps: tuple[str, ...] = ("DAN-FLOW-ACCREDITATION",)
    request: RequestHook | None = None
    response: ResponseHook | None = None
    verdict: str | None = None  # the verdict the killed rules get, when not fail/warn by severity
    body: BodyHook | None = None
    fixtures: Mapping[str, Any] = field(default_factory=dict)  # manifest fixtures it needs

    def wrap(self, app: ASGIApp, context: Context) -> ASGIApp:
        return Rewrite(app, context, self.request, self.response, self.body)


# --- small building blocks ----------------------------------------------------------------------


def on(
    method: str | None, pattern: str, hook: ResponseHook, *, query: Mapping[str, str] | None = None
) -> ResponseHook:
    """`hook` for responses to `method` on paths matching `pattern` (a regex, anchored)."""
    compiled = re.compile(pattern + "$")

    def filtered(exchange: Exchange, context: Context) -> None:
        if method is not None and exchange.method != method:
            return
        if not compiled.search(exchange.path):
            return
        if query and any(exchange.query.get(k) != v for k, v in query.items()):
            return
        hook(exchange, context)

    return filtered


def recode(old: int, new: int | None = None, status: int | None = None) -> ResponseHook:
    """An error answer with code `old` gets code `new` and/or HTTP `status`."""

    def hook(exchange: Exchange, context: Context) -> None:
        if exchange.code() != old:
            return
        if new is not None:
            exchange.set_json({**exchange.json(), "code": new})
        if status is not None:
            exchange.status = status

    return hook


def edit_json(edit: Callable[[Any], Any]) -> ResponseHook:
    def hook(exchange: Exchange, context: Context) -> None:
        if exchange.status < 300 or exchange.code() is not None:
            body = exchange.json()
            if body is not None:
                exchange.set_json(edit(body))

    return hook


def edit_error(edit: Callable[[dict[str, Any]], dict[str, Any]]) -> ResponseHook:
    def hook(exchange: Exchange, context: Context) -> None:
        if exchange.status >= 400 and exchange.code() is not None:
            exchange.set_json(edit(dict(exchange.json())))

    return hook


def each(edit: Callable[[dict[str, Any]], None]) -> Callable[[Any], Any]:
    def apply(body: Any) -> Any:
        for item in body if isinstance(body, list) else [body]:
            if isinstance(item, dict):
                edit(item)
        return body

    return apply


def both(*hooks: ResponseHook) -> ResponseHook:
    def hook(exchange: Exchange, context: Context) -> None:
        for h in hooks:
            h(exchange, context)

    return hook


ACCR = r"/v1/evidence/[^/]+"
HARVEST = r"/v1/evidence/[^/]+/[^/]+"
DIRECT = r"/v1/directharvest/[^/]+"
META = r"/v1/public/metadata/"


def _inject_key(scope: Scope, context: Context) -> Scope:
    if header(scope, KEY_HEADER) is None:
        return with_header(scope, KEY_HEADER, context.key)
    return scope


def _inject_token(scope: Scope, context: Context) -> Scope:
    if header(scope, "authorization") is None and "/metadata/" not in scope["path"]:
        return with_header(scope, "authorization", f"Bearer {context.token()}")
    return scope


def _owner_token(scope: Scope, context: Context) -> Scope:
    """Every organisation's token becomes the owner's: owner scoping is gone."""
    consumer = claims(scope).get("consumer")
    if isinstance(consumer, dict) and consumer.get("ID") != f"0192:{OWNER}":
        return with_header(scope, "authorization", f"Bearer {context.token()}")
    return scope


def _audience_checked(scope: Scope, context: Context) -> Scope | Exchange:
    if str(claims(scope).get("aud", "")).startswith("https://wrong-audience"):
        return answer(401, {"code": 1024, "description": "Invalid access token"})
    return scope


def _unbound_key_refused(scope: Scope, context: Context) -> Scope | Exchange:
    if header(scope, KEY_HEADER) == "sandbox-dan-unbound-key":
        return answer(403, {"code": 1019, "description": "Authorization failed"})
    return scope


def _metadata_needs_token(scope: Scope, context: Context) -> Scope | Exchange:
    if "/metadata/" in scope["path"] and header(scope, "authorization") is None:
        return answer(401, {"code": 1023, "description": "Missing authentication"})
    return scope


def _delete_does_nothing(scope: Scope, context: Context) -> Scope | Exchange:
    if scope["method"] == "DELETE" and re.search(r"/v1/accreditations/[^/]+$", scope["path"]):
        return answer(204)
    return scope


def _envelope(old: str, new: str) -> RequestHook:
    def hook(scope: Scope, context: Context) -> Scope:
        def edit(query: dict[str, str]) -> dict[str, str]:
            if query.get("envelope") == old:
                query["envelope"] = new
            return query

        return with_query(scope, edit)

    return hook


def _query_ignored(scope: Scope, context: Context) -> Scope:
    return with_query(scope, lambda q: {k: v for k, v in q.items() if k != "query"})


def _case_sensitive_harvest(scope: Scope, context: Context) -> Scope | Exchange:
    match = re.search(r"/v1/evidence/[^/]+/([^/]+)$", scope["path"])
    if match and match.group(1)[:1].islower():
        return answer(400, {"code": 1006, "description": "Invalid evidence request"})
    return scope


class _Seen:
    def __init__(self) -> None:
        self.paths: set[str] = set()

    def __call__(self, scope: Scope, context: Context) -> Scope | Exchange:
        if re.search(HARVEST + "$", scope["path"]) and scope["method"] == "GET":
            if scope["path"] in self.paths:
                return answer(403, {"code": 1010, "description": "Consent required: used up"})
            self.paths.add(scope["path"])
        return scope


class _DirectStores:
    """Pretends every direct harvest stored an accreditation (it shows up in the list)."""

    def __init__(self) -> None:
        self.count = 0

    def request(self, scope: Scope, context: Context) -> Scope:
        if re.search(DIRECT + "$", scope["path"]):
            self.count += 1
        return scope

    def response(self, exchange: Exchange, context: Context) -> None:
        if exchange.method == "GET" and exchange.path == "/v1/accreditations":
            body = exchange.json()
            body += [{"id": f"direct-{n}"} for n in range(self.count)]
            exchange.set_json(body)


_STORES = _DirectStores()

RESERVED = {"subject", "requestor", "envelope", "query", "code", "reusetoken"}


def _drop_dataset_parameters(scope: Scope, context: Context) -> Scope:
    if re.search(DIRECT + "$", scope["path"]):
        return with_query(
            scope,
            lambda q: {
                k: v for k, v in q.items() if k.lower() in RESERVED | {"tokenonbehalfofowner"}
            },
        )
    return scope


def _post_body_ignored(scope: Scope, context: Context) -> Scope | Exchange:
    posted = scope["method"] == "POST" and re.search(DIRECT + "$", scope["path"])
    if posted and "subject=" not in scope.get("query_string", b"").decode():
        return answer(400, {"code": 1004, "description": "Invalid subject: subject is missing"})
    return scope


def _changedafter_ignored(scope: Scope, context: Context) -> Scope:
    if scope["path"] == "/v1/accreditations":
        return with_query(scope, lambda q: {k: v for k, v in q.items() if k != "changedafter"})
    return scope


def _status_shift(body: Any) -> Any:
    for item in body:
        item["validFrom"] = "2000-01-01T00:00:00+00:00"
    return body


def _raw_drops_a_value(exchange: Exchange, context: Context) -> None:
    if exchange.query.get("envelope") in ("false", "0") and "query" not in exchange.query:
        body = exchange.json()
        if isinstance(body, dict) and body:
            body.pop(next(iter(body)))
            exchange.set_json(body)


def _trailing_newline(exchange: Exchange, context: Context) -> None:
    if exchange.status == 200 and exchange.header("x-signature-jwt"):
        exchange.body += b"\n"


def _shown_available(code: int) -> ResponseHook:
    """A 200 list's statuses with `code` read Available (code 1) instead."""

    def hook(exchange: Exchange, context: Context) -> None:
        body = exchange.json()
        if exchange.status == 200 and isinstance(body, list):
            for item in body:
                if item.get("status", {}).get("code") == code:
                    item["status"] = {"code": 1, "description": "Available"}
            exchange.set_json(body)

    return hook


def _aggregate_available(item: dict[str, Any]) -> None:
    if (item.get("aggregateStatus") or {}).get("code") == 2:
        item["aggregateStatus"] = {"code": 1, "description": "Available"}


def _consent_dataset_direct(exchange: Exchange, context: Context) -> None:
    if exchange.code() == 1006 and exchange.path.endswith("/RestanserV2"):
        exchange.status = 200
        exchange.set_json({"evidenceStatus": {}, "evidenceValues": []})


def _rate_limit_gone(exchange: Exchange, context: Context) -> None:
    if exchange.code() == 1019:
        exchange.status = 200
        exchange.set_json([])


def _ebevis_only(exchange: Exchange, context: Context) -> None:
    if exchange.path.rsplit("/", 1)[-1] not in ("eBevis", "Drosjeloyve"):
        exchange.set_json([])


def _value_type_changed(body: Any) -> Any:
    for entry in body:
        if entry.get("evidenceCodeName") == "UnitBasicInformation":
            for value in entry["values"]:
                if value["evidenceValueName"] == "IndustryCode2":
                    value["valueType"] = "number"
    return body


def _undeprecated(item: dict[str, Any]) -> None:
    item.pop("deprecationWarning", None)


def _drop_code(code: int) -> Callable[[Any], Any]:
    return lambda body: [e for e in body if e.get("code") != code]


def _reminder_unknown_404(exchange: Exchange, context: Context) -> None:
    if exchange.status == 403 and not exchange.body:
        exchange.status = 404


def _delete_404_body(exchange: Exchange, context: Context) -> None:
    if exchange.status == 404:
        exchange.set_json({"code": 1002, "description": "Accreditation does not exist"})


def _legacy_1005(exchange: Exchange, context: Context) -> None:
    if exchange.code() == 1004:
        exchange.set_json({**exchange.json(), "code": 1005})
        exchange.status = 404


def _created_201(exchange: Exchange, context: Context) -> None:
    if exchange.status == 200:
        exchange.status = 201


def _delete_200(exchange: Exchange, context: Context) -> None:
    if exchange.status == 204:
        exchange.status = 200
        exchange.set_json({})


def _missing_token_1024(exchange: Exchange, context: Context) -> None:
    if header(exchange.scope, "authorization") is None:
        recode(1023, 1024)(exchange, context)


def _context_ignored(exchange: Exchange, context: Context) -> None:
    if header(exchange.scope, KEY_HEADER) == "sandbox-dan-drosjeloyve-key":
        recode(1006, 1007)(exchange, context)


def _plain_party_id(item: dict[str, Any]) -> None:
    party = item.get("subjectParty") or {}
    party["id"] = str(party.get("id", "")).split(":")[-1]


def _nothing_skipped(item: dict[str, Any]) -> None:
    item["skippedEvidenceCodes"] = {}


def _requirements_not_rechecked(scope: Scope, context: Context) -> Scope:
    scopes = str(claims(scope).get("scope", "")).split()
    if re.search(HARVEST + "$", scope["path"]) and "altinn:dataaltinnno/sandbox" not in scopes:
        return with_header(scope, "authorization", f"Bearer {context.token()}")
    return scope


# --- an asynchronous dataset in front of the sandbox (the sandbox has none) -----------------------

ASYNC = "KontraktAsyncRegister"
ASYNC_FIXTURES: Mapping[str, Any] = {"async_dataset": {"dataset": ASYNC, "subject": "310001120"}}


class AsyncDataset:
    """A provider offering `ASYNC`, an asynchronous copy of UnitBasicInformation whose source
    never gets ready in this test environment. `premature`: its harvest answers 200 anyway (the
    DAN 1016 detection gap); otherwise 503 with code 1016, as FACTS §2.3 says."""

    BASE = "UnitBasicInformation"

    def __init__(self, *, premature: bool = False) -> None:
        self.premature = premature
        self.accreditations: set[str] = set()

    def body(self, scope: Scope, raw: bytes, context: Context) -> tuple[Scope, bytes] | Exchange:
        posted = scope["method"] == "POST" and scope["path"].endswith("/authorization")
        if posted and ASYNC.encode() in raw:
            return {**scope, "kontrakt.async": True}, raw.replace(
                ASYNC.encode(), self.BASE.encode()
            )
        return scope, raw

    def request(self, scope: Scope, context: Context) -> Scope | Exchange:
        path = str(scope["path"])
        if re.search(DIRECT + "$", path) and path.rsplit("/", 1)[-1].casefold() == ASYNC.casefold():
            return answer(
                400,
                {
                    "code": 1006,
                    "description": "Invalid evidence request: "
                    "Unable to directly harvest async or consent-based evidence code",
                },
            )
        match = re.search(r"/v1/evidence/([^/]+)/([^/]+)$", path)
        if match and match.group(1) in self.accreditations:
            if match.group(2).casefold() != ASYNC.casefold():
                return scope
            if not self.premature:
                return answer(
                    503,
                    {
                        "code": 1016,
                        "description": "Asynchronous evidence is still "
                        "waiting: the source has not produced the data yet",
                    },
                )
            new = path[: match.start(2)] + self.BASE
            return {**scope, "path": new, "raw_path": new.encode(), "kontrakt.async": True}
        if re.search(ACCR + "$", path) and path.rsplit("/", 1)[-1] in self.accreditations:
            return {**scope, "kontrakt.async": True}
        return scope

    def response(self, exchange: Exchange, context: Context) -> None:
        if re.search(META + r"evidencecodes(/[^/]+)?$", exchange.path) and exchange.status == 200:
            body = exchange.json()
            base = next((e for e in body if e.get("evidenceCodeName") == self.BASE), None)
            if base is not None:
                body.append({**base, "evidenceCodeName": ASYNC, "isAsynchronous": True})
                exchange.set_json(body)
            return
        if not exchange.scope.get("kontrakt.async") or exchange.status != 200:
            return
        renamed = exchange.body.replace(self.BASE.encode(), ASYNC.encode())
        exchange.body = renamed
        body = exchange.json()
        if exchange.path.endswith("/authorization") and isinstance(body, dict):
            self.accreditations.add(str(body.get("id")))
        elif isinstance(body, list):  # the status list: local checks cannot tell (code 6)
            for item in body:
                if item.get("evidenceCodeName") == ASYNC:
                    item["status"] = {"code": 6, "description": "Unknown"}
            exchange.set_json(body)


_PREMATURE = AsyncDataset(premature=True)

# --- organisation numbers with a wrong MOD11 check digit ------------------------------------------

NINE_DIGITS = re.compile(rb"(?<!\d)\d{9}(?!\d)")
WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)


def _mod11_valid(number: bytes) -> bool:
    rest = sum(int(chr(d)) * w for d, w in zip(number[:8], WEIGHTS, strict=True)) % 11
    digit = (11 - rest) % 11
    return digit != 10 and digit == int(chr(number[8]))


def _check_digit_ignored(raw: bytes) -> bytes:
    """Every nine-digit number with a wrong check digit becomes a known organisation."""
    return NINE_DIGITS.sub(lambda m: m.group(0) if _mod11_valid(m.group(0)) else b"310001120", raw)


def _accept_wrong_check_digits(scope: Scope, raw: bytes, context: Context) -> tuple[Scope, bytes]:
    query = _check_digit_ignored(scope.get("query_string", b""))
    return {**scope, "query_string": query}, _check_digit_ignored(raw)


def _html_errors(exchange: Exchange, context: Context) -> None:
    """Core's errors become an HTML 500 page (no ErrorModel at all)."""
    if exchange.status >= 400 and exchange.code() is not None:
        exchange.status = 500
        exchange.body = b"<html><body><h1>500 - Internal server error</h1></body></html>"
        exchange.set_header("content-type", "text/html; charset=utf-8")


VARIANTS: tuple[Variant, ...] = (
    Variant(
        "async-200-before-ready",
        "an asynchronous dataset answers 200 before its source has produced the data (DAN 1016)",
        ("DAN-HARVEST-ASYNC-1016",),
        request=_PREMATURE.request,
        response=_PREMATURE.response,
        body=_PREMATURE.body,
        fixtures=ASYNC_FIXTURES,
    ),
    Variant(
        "check-digit-accepted",
        "an organisation number with a wrong MOD11 check digit is accepted (DAN 1004)",
        ("DAN-ACCR-SUBJECT-1004", "DAN-DIRECT-VALIDATION"),
        body=_accept_wrong_check_digits,
    ),
    Variant(
        "html-errors",
        "Core's errors are HTML 500 pages instead of ErrorModel JSON",
        ("DAN-ERR-MODEL",),
        keeps=("DAN-META-STATUSCODES",),
        response=_html_errors,
    ),
    Variant(
        "html-errors-judge-nothing",
        "Core's errors are HTML 500 pages: the body rules find nothing to judge (not a pass)",
        (
            "DAN-ERR-NO-DEBUG-MEMBERS",
            "DAN-ERR-INVOCATION-ID",
            "DAN-ERR-DETAIL-CODE",
            "DAN-ERR-DESCRIPTION",
            "DAN-ERR-HTTP-MAPPING",
            "DAN-ERR-LEGACY-NOT-RAISED",
        ),
        keeps=("DAN-META-STATUSCODES",),
        response=_html_errors,
        verdict="not-applicable",
    ),
    Variant(
        "context-ignored",
        "a dataset outside the key's service context answers 1007 instead of 1006",
        ("DAN-CTX-DATASET-IN-CONTEXT",),
        response=_context_ignored,
    ),
    Variant(
        "party-id-without-icd",
        "subjectParty.id loses its 0192: prefix",
        ("DAN-IDENTIFIER-FORMS",),
        response=on("POST", "/v1/authorization", edit_json(each(_plain_party_id))),
    ),
    Variant(
        "requirement-failure-1006",
        "a failed hard requirement answers 1006 instead of 1019",
        ("DAN-ACCR-REQUIREMENTS-1019",),
        keeps=("DAN-AUTH-SCOPE-PREFIX",),
        response=on(None, r"/v1/(authorization|directharvest/[^/]+)", recode(1019, 1006, 400)),
    ),
    Variant(
        "skipped-not-listed",
        "datasets dropped by a skip requirement are not listed in skippedEvidenceCodes",
        ("DAN-ACCR-SKIPPED-DATASETS",),
        response=on("POST", "/v1/authorization", edit_json(each(_nothing_skipped))),
    ),
    Variant(
        "requirements-not-rechecked",
        "a harvest does not re-check the dataset's requirements (scope)",
        ("DAN-HARVEST-REVALIDATE",),
        request=_requirements_not_rechecked,
    ),
    Variant(
        "key-not-required",
        "the gateway lets requests without a subscription key through",
        ("DAN-AUTH-SUBSCRIPTION-KEY", "DAN-AUTH-KEY-AND-TOKEN"),
        request=_inject_key,
    ),
    Variant(
        "token-not-required",
        "protected operations are served with the subscription key alone",
        ("DAN-AUTH-KEY-AND-TOKEN", "DAN-AUTH-TOKEN-MISSING-401", "DAN-AUTH-WWW-AUTHENTICATE"),
        request=_inject_token,
    ),
    Variant(
        "missing-token-1024",
        "a missing token answers 1024 (invalid) instead of 1023",
        ("DAN-AUTH-TOKEN-MISSING-401",),
        response=_missing_token_1024,
    ),
    Variant(
        "invalid-token-1023",
        "a bad token answers 1023 (missing) instead of 1024",
        ("DAN-AUTH-TOKEN-INVALID-401", "DAN-AUTH-ISSUER"),
        response=recode(1024, 1023),
    ),
    Variant(
        "no-www-authenticate",
        "401 answers carry no WWW-Authenticate challenge",
        ("DAN-AUTH-WWW-AUTHENTICATE",),
        response=lambda e, c: e.set_header("www-authenticate", None),
    ),
    Variant(
        "audience-checked",
        "tokens for another audience are refused (DAN does not check the audience)",
        ("DAN-AUTH-ISSUER",),
        keeps=("DAN-AUTH-TOKEN-INVALID-401",),
        request=_audience_checked,
    ),
    Variant(
        "scope-refusal-400",
        "a token without a DAN scope answers 1019 with HTTP 400",
        ("DAN-AUTH-SCOPE-PREFIX",),
        response=recode(1019, status=400),
    ),
    Variant(
        "consumer-claim-503",
        "a token without a consumer claim answers 503 with 1013",
        ("DAN-AUTH-CONSUMER-CLAIM",),
        response=recode(1015, 1013, 503),
    ),
    Variant(
        "metadata-needs-token",
        "the public metadata demands a bearer token",
        ("DAN-AUTH-METADATA-KEY-ONLY",),
        request=_metadata_needs_token,
    ),
    Variant(
        "unbound-key-403",
        "a key without a service context is refused with 403/1019 instead of 500/1025",
        ("DAN-CTX-SERVICE-CONTEXT",),
        request=_unbound_key_refused,
    ),
    Variant(
        "delete-does-nothing",
        "DELETE /accreditations/{id} answers 204 but keeps the accreditation",
        ("DAN-FLOW-ACCREDITATION",),
        keeps=("DAN-DELETE-204", "DAN-STATUS-LIST"),
        request=_delete_does_nothing,
    ),
    Variant(
        "create-201",
        "POST /authorization answers 201, as the 2018 draft said",
        ("DAN-ACCR-CREATE-200",),
        keeps=("DAN-META-ERRORCODES",),
        response=on("POST", "/v1/authorization", _created_201),
    ),
    Variant(
        "no-location",
        "the created accreditation comes without a Location header",
        ("DAN-ACCR-LOCATION-HEADER",),
        response=on("POST", "/v1/authorization", lambda e, c: e.set_header("location", None)),
    ),
    Variant(
        "body-422",
        "an unreadable authorization request answers 1014 with HTTP 422",
        ("DAN-ACCR-BODY-1014", "DAN-ERR-HTTP-MAPPING"),
        response=recode(1014, status=422),
    ),
    Variant(
        "requestor-1014",
        "a bad requestor answers 1014 instead of 1001",
        ("DAN-ACCR-REQUESTOR-1001", "DAN-DIRECT-VALIDATION"),
        response=recode(1001, 1014),
    ),
    Variant(
        "subject-1007",
        "a bad or unknown subject answers 1007 instead of 1004",
        ("DAN-ACCR-SUBJECT-1004", "DAN-DIRECT-VALIDATION"),
        response=recode(1004, 1007),
    ),
    Variant(
        "legal-basis-1009",
        "an unreferenced legal basis answers 1009 instead of 1008",
        ("DAN-ACCR-LEGAL-BASIS-1008",),
        response=recode(1008, 1009),
    ),
    Variant(
        "evidence-requests-1007",
        "an empty or duplicate evidenceRequests list answers 1007 instead of 1006",
        ("DAN-ACCR-EVIDENCE-REQUESTS-1006",),
        response=on("POST", "/v1/authorization", recode(1006, 1007)),
    ),
    Variant(
        "unknown-dataset-404",
        "an unknown dataset answers 1007 with HTTP 404",
        ("DAN-ACCR-UNKNOWN-DATASET-1007", "DAN-ERR-HTTP-MAPPING"),
        response=recode(1007, status=404),
    ),
    Variant(
        "parameters-1006",
        "unexpected dataset parameters answer 1006 instead of 1017",
        ("DAN-ACCR-PARAMETERS-1017", "DAN-DIRECT-QUERY-AS-PARAMETERS"),
        response=recode(1017, 1006),
    ),
    Variant(
        "valid-to-1014",
        "a validTo outside the window answers 1014 instead of 1018",
        ("DAN-ACCR-VALIDTO-1018",),
        response=recode(1018, 1014),
    ),
    Variant(
        "valid-to-30-days",
        "the created accreditation claims 30 days of validity",
        ("DAN-ACCR-VALIDTO-DEFAULT", "DAN-STATUS-LIST"),
        response=on(
            "POST",
            "/v1/authorization",
            edit_json(each(lambda a: a.update(validTo=a["issued"][:2] + "99" + a["issued"][4:]))),
        ),
    ),
    Variant(
        "language-not-lowered",
        "languageCode is echoed as sent instead of lower-cased",
        ("DAN-ACCR-LANGUAGE-1014",),
        response=on(
            "POST",
            "/v1/authorization",
            edit_json(each(lambda a: a.update(languageCode=a.get("languageCode", "").upper()))),
        ),
    ),
    Variant(
        "no-consent-request",
        "requestConsent true creates no consent request in Altinn",
        ("DAN-ACCR-CONSENT-REQUEST",),
        response=on(
            "POST", "/v1/authorization", edit_json(each(lambda a: a.pop("altinnConsentUrl", None)))
        ),
    ),
    Variant(
        "owner-leaks",
        "the accreditation shows its hidden owner member",
        ("DAN-ACCR-HIDDEN-FIELDS",),
        response=on("POST", "/v1/authorization", edit_json(each(lambda a: a.update(owner=OWNER)))),
    ),
    Variant(
        "unknown-400",
        "an unknown accreditation answers 1002 with HTTP 400",
        ("DAN-ACCR-UNKNOWN-1002", "DAN-ERR-HTTP-MAPPING"),
        keeps=("DAN-DELETE-404-EMPTY",),
        response=recode(1002, status=400),
    ),
    Variant(
        "owner-ignored",
        "every organisation sees and deletes every accreditation",
        ("DAN-ACCR-OWNER-SCOPED", "DAN-LIST-SCOPE"),
        request=_owner_token,
    ),
    Variant(
        "status-valid-from",
        "the status list reports a validFrom other than the issue time",
        ("DAN-STATUS-LIST",),
        response=on(
            None, ACCR, edit_json(lambda b: _status_shift(b) if isinstance(b, list) else b)
        ),
    ),
    Variant(
        "withdrawn-available",
        "a withdrawn dataset reports 1 (Available) instead of 7",
        ("DAN-STATUS-LOCAL-CHECKS",),
        response=on(None, ACCR, _shown_available(7)),
    ),
    Variant(
        "consent-not-pending",
        "a consent dataset reports 1 (Available) before the subject answered",
        ("DAN-CONSENT-PENDING-UNTIL-ANSWERED",),
        response=on(None, ACCR, _shown_available(2)),
    ),
    Variant(
        "consent-refusal-400",
        "a harvest without consent answers 1010 with HTTP 400",
        ("DAN-HARVEST-CONSENT-1010", "DAN-CONSENT-PENDING-UNTIL-ANSWERED"),
        response=on("GET", HARVEST, recode(1010, status=400)),
    ),
    Variant(
        "aggregate-available",
        "aggregateStatus says 1 while a consent is pending",
        ("DAN-STATUS-AGGREGATE",),
        response=on("GET", "/v1/accreditations", edit_json(each(_aggregate_available))),
    ),
    Variant(
        "envelope-yes-is-false",
        "envelope=yes drops the envelope (only false and 0 may)",
        ("DAN-HARVEST-ENVELOPE-DEFAULT", "DAN-QUERY-BOOLEAN-PARSING"),
        request=_envelope("yes", "false"),
    ),
    Variant(
        "raw-drops-a-value",
        "envelope=false leaves one of the values out",
        ("DAN-HARVEST-ENVELOPE-FALSE",),
        response=_raw_drops_a_value,
    ),
    Variant(
        "signature-stale",
        "the body is changed after X-Signature-JWT was computed",
        ("DAN-HARVEST-SIGNATURE",),
        keeps=("DAN-HARVEST-ENVELOPE-FALSE",),
        response=_trailing_newline,
    ),
    Variant(
        "query-ignored",
        "the JMESPath query parameter is ignored everywhere",
        ("DAN-QUERY-JMESPATH",),
        request=_query_ignored,
    ),
    Variant(
        "envelope-0-is-true",
        "envelope=0 keeps the envelope",
        ("DAN-QUERY-BOOLEAN-PARSING", "DAN-HARVEST-ENVELOPE-FALSE"),
        request=_envelope("0", "yes"),
    ),
    Variant(
        "harvest-case-sensitive",
        "dataset names are matched case-sensitively on harvest",
        ("DAN-HARVEST-NOT-IN-ACCREDITATION-1006",),
        request=_case_sensitive_harvest,
    ),
    Variant(
        "withdrawn-500",
        "harvesting a withdrawn dataset answers 1013 with HTTP 500",
        ("DAN-HARVEST-WITHDRAWN-1013",),
        keeps=("DAN-ERR-UPSTREAM-1013",),
        response=on("GET", HARVEST, recode(1013, status=500)),
    ),
    Variant(
        "harvest-once",
        "a dataset can be harvested only once",
        ("DAN-HARVEST-REPEATABLE",),
        request=_Seen(),
    ),
    Variant(
        "no-detail-code",
        "data-source errors come without detailCode",
        ("DAN-HARVEST-SOURCE-ERRORS", "DAN-ERR-DETAIL-CODE"),
        response=edit_error(lambda b: {k: v for k, v in b.items() if k != "detailCode"}),
    ),
    Variant(
        "upstream-3001",
        "an upstream timeout answers 3001 instead of 1013",
        ("DAN-ERR-UPSTREAM-1013",),
        response=on("GET", DIRECT, recode(1013, 3001)),
    ),
    Variant(
        "direct-consent-served",
        "direct harvest serves a consent dataset",
        ("DAN-DIRECT-SYNC-NO-CONSENT",),
        response=on("GET", DIRECT, _consent_dataset_direct),
    ),
    Variant(
        "direct-stores",
        "direct harvest leaves accreditations behind",
        ("DAN-DIRECT-NO-ACCREDITATION",),
        keeps=(),
        request=_STORES.request,
        response=_STORES.response,
    ),
    Variant(
        "direct-requestor-1004",
        "direct harvest answers a bad requestor with 1004",
        ("DAN-DIRECT-VALIDATION",),
        keeps=("DAN-ACCR-REQUESTOR-1001",),
        response=on("GET", DIRECT, recode(1001, 1004)),
    ),
    Variant(
        "dataset-parameters-dropped",
        "extra query parameters of a direct harvest are silently ignored",
        ("DAN-DIRECT-QUERY-AS-PARAMETERS",),
        request=_drop_dataset_parameters,
    ),
    Variant(
        "post-body-ignored",
        "POST direct harvest ignores the subject in the body",
        ("DAN-DIRECT-SUBJECT-IN-BODY",),
        request=_post_body_ignored,
    ),
    Variant(
        "changedafter-ignored",
        "GET /accreditations ignores changedafter",
        ("DAN-LIST-FILTERS",),
        request=_changedafter_ignored,
    ),
    Variant(
        "delete-200",
        "DELETE answers 200 with a body",
        ("DAN-DELETE-204",),
        keeps=("DAN-DELETE-404-EMPTY",),
        response=on(
            "DELETE",
            r"/v1/accreditations/[^/]+",
            _delete_200,
        ),
    ),
    Variant(
        "delete-404-error-model",
        "DELETE of an unknown accreditation answers an ErrorModel",
        ("DAN-DELETE-404-EMPTY",),
        keeps=("DAN-DELETE-204",),
        response=on("DELETE", r"/v1/accreditations/[^/]+", _delete_404_body),
    ),
    Variant(
        "reminder-unknown-404",
        "reminders of an unknown accreditation answer 404",
        ("DAN-REMINDER-UNKNOWN-403",),
        response=on(None, r"/v1/accreditations/[^/]+/reminders", _reminder_unknown_404),
    ),
    Variant(
        "reminder-answered-1011",
        "a reminder after the consent was answered gives 1011 instead of 1021",
        ("DAN-REMINDER-PRECONDITIONS",),
        response=recode(1021, 1011),
    ),
    Variant(
        "reminder-unlimited",
        "a second reminder within seven days is sent",
        ("DAN-REMINDER-RATE-LIMIT",),
        response=on("POST", r"/v1/accreditations/[^/]+/reminders", _rate_limit_gone),
    ),
    Variant(
        "evidencecodes-bad-type",
        "a dataset definition's isPublic is a string",
        ("DAN-META-EVIDENCECODES",),
        response=on(
            "GET", META + "evidencecodes", edit_json(each(lambda e: e.update(isPublic="yes")))
        ),
    ),
    Variant(
        "context-case-sensitive",
        "/evidencecodes/{serviceContext} matches the context case-sensitively",
        ("DAN-META-EVIDENCECODES-CONTEXT",),
        response=on("GET", META + "evidencecodes/[^/]+", _ebevis_only),
    ),
    Variant(
        "servicecontexts-numbers",
        "/servicecontexts lists numbers",
        ("DAN-META-SERVICECONTEXTS",),
        response=on("GET", META + "servicecontexts", edit_json(lambda b: list(range(len(b))))),
    ),
    Variant(
        "statuscodes-list-0",
        "/statuscodes also lists code 0",
        ("DAN-META-STATUSCODES",),
        keeps=("DAN-VERSION-CODES-ONLY-ADDED",),
        response=on(
            "GET",
            META + "statuscodes",
            edit_json(lambda b: [{"code": 0, "description": "Unknown"}, *b]),
        ),
    ),
    Variant(
        "errorcodes-list-2001",
        "/errorcodes lists the internal code 2001",
        ("DAN-META-ERRORCODES",),
        keeps=("DAN-VERSION-CODES-ONLY-ADDED",),
        response=on(
            "GET",
            META + "errorcodes",
            edit_json(lambda b: [*b, {"code": 2001, "description": "Denied consent"}]),
        ),
    ),
    Variant(
        "no-cors",
        "/statuscodes comes without Access-Control-Allow-Origin",
        ("DAN-META-CORS",),
        response=on(
            "GET",
            META + "statuscodes",
            lambda e, c: e.set_header("access-control-allow-origin", None),
        ),
    ),
    Variant(
        "error-without-description",
        "errors on /evidence lack the required description",
        ("DAN-ERR-MODEL",),
        response=on(
            "GET", ACCR, edit_error(lambda b: {k: v for k, v in b.items() if k != "description"})
        ),
    ),
    Variant(
        "jmespath-error-422",
        "1027 answers HTTP 422",
        ("DAN-ERR-HTTP-MAPPING", "DAN-QUERY-JMESPATH"),
        response=recode(1027, status=422),
    ),
    Variant(
        "description-not-default",
        "error descriptions are free text, not the code's default message",
        ("DAN-ERR-DESCRIPTION",),
        keeps=("DAN-ERR-MODEL",),
        response=on(None, META + ".*", edit_error(lambda b: {**b, "description": "Oops"})),
    ),
    Variant(
        "invocation-id-differs",
        "the ErrorModel invocationId differs from the x-invocationId header",
        ("DAN-ERR-INVOCATION-ID",),
        response=edit_error(lambda b: {**b, "invocationId": "kontrakt-other-id"}),
    ),
    Variant(
        "stacktrace",
        "errors carry a stack trace in the test environment",
        ("DAN-ERR-NO-DEBUG-MEMBERS",),
        response=edit_error(lambda b: {**b, "stacktrace": "at Dan.Core.Functions"}),
    ),
    Variant(
        "detail-code-everywhere",
        "a non-source error carries a detailCode",
        ("DAN-ERR-DETAIL-CODE",),
        keeps=("DAN-HARVEST-SOURCE-ERRORS",),
        response=edit_error(
            lambda b: b if b.get("code", 0) > 3000 else {**b, "detailCode": "ES-1"}
        ),
    ),
    Variant(
        "legacy-1005",
        "a bad subject answers the legacy 1005 (HTTP 404)",
        ("DAN-ERR-LEGACY-NOT-RAISED",),
        keeps=("DAN-ERR-HTTP-MAPPING",),
        response=on("GET", DIRECT, _legacy_1005),
    ),
    Variant(
        "no-x-version",
        "metadata answers come without x-version",
        ("DAN-HDR-DIAGNOSTICS",),
        response=on("GET", META + ".*", lambda e, c: e.set_header("x-version", None)),
    ),
    Variant(
        "pascal-case-member",
        "/errorcodes entries carry a PascalCase member",
        ("DAN-JSON-CAMELCASE",),
        keeps=("DAN-JSON-NULLS-OMITTED",),
        response=on(
            "GET", META + "errorcodes", edit_json(each(lambda e: e.update(Severity="high")))
        ),
    ),
    Variant(
        "null-members",
        "/errorcodes entries carry an optional member as null",
        ("DAN-JSON-NULLS-OMITTED",),
        keeps=("DAN-JSON-CAMELCASE",),
        response=on("GET", META + "errorcodes", edit_json(each(lambda e: e.update(detail=None)))),
    ),
    Variant(
        "errorcode-removed",
        "/errorcodes no longer lists 1003",
        ("DAN-VERSION-CODES-ONLY-ADDED", "DAN-META-ERRORCODES"),
        response=on("GET", META + "errorcodes", edit_json(_drop_code(1003))),
    ),
    Variant(
        "statuscode-reworded",
        "/statuscodes rewords code 5 (a wording change against the recorded snapshot)",
        ("DAN-VERSION-CODES-ONLY-ADDED",),
        keeps=("DAN-META-STATUSCODES",),
        verdict="warn",  # kontrakt diff: a wording change is DAN-CODES-WORDING (warn)
        response=on(
            "GET",
            META + "statuscodes",
            edit_json(each(lambda e: e.update(description="Pending") if e["code"] == 5 else None)),
        ),
    ),
    Variant(
        "value-type-changed",
        "UnitBasicInformation's IndustryCode2 becomes a number",
        ("DAN-VERSION-DATASET-FIELDS-IMMUTABLE",),
        keeps=("DAN-META-EVIDENCECODES", "DAN-VERSION-DATASET-RETIREMENT"),
        response=on("GET", META + "evidencecodes", edit_json(_value_type_changed)),
    ),
    Variant(
        "retired-without-notice",
        "a dataset with an end of support carries no deprecationWarning",
        ("DAN-VERSION-DATASET-RETIREMENT",),
        keeps=("DAN-VERSION-DATASET-FIELDS-IMMUTABLE",),
        response=on("GET", META + "evidencecodes(/[^/]+)?", edit_json(each(_undeprecated))),
    ),
)


@dataclass(frozen=True)
class SpecVariant:
    """The sandbox started on a changed copy of the contract (its `spec` option)."""

    name: str
    description: str
    kills: tuple[str, ...]
    edit: Callable[[dict[str, Any]], None]
    keeps: tuple[str, ...] = ("DAN-META-STATUSCODES",)


def _without_code(data: dict[str, Any]) -> None:
    del data["x-kontrakt-error-catalogue"]["codes"]["1003"]


def _dataset_value_added(data: dict[str, Any]) -> None:
    values = data["x-kontrakt-datasets"]["UnitBasicInformation"]["values"]
    values.append({"name": "KontraktExtra", "value-type": "String"})


SPEC_VARIANTS: tuple[SpecVariant, ...] = (
    SpecVariant(
        "spec-catalogue-drift",
        "the provider's catalogue lost 1003 (sandbox `spec` option)",
        ("DAN-VERSION-CODES-ONLY-ADDED", "DAN-META-ERRORCODES"),
        _without_code,
    ),
    SpecVariant(
        "spec-dataset-drift",
        "the provider's UnitBasicInformation gained a value (sandbox `spec` option)",
        ("DAN-VERSION-DATASET-FIELDS-IMMUTABLE",),
        _dataset_value_added,
    ),
)
