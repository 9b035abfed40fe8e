"""Known-bad variants of the Sdir sandbox: each breaks the rules it names, and nothing else it lists.

Most variants are a `Rewrite` in front of the sandbox app (a request changed before the provider
sees it, or an answer changed after); `non-atomic-batch` is the provider itself with a service
that inserts a batch item by item, each in its own transaction, so the items before a failing one
stay stored. None of this edits kontrakt/sandbox/: the service is subclassed here.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import kontrakt.sandbox.sdir as sdir_provider
from kontrakt.conformance.manifest import BearerAuth, Manifest, NegativeAuth
from kontrakt.runtime import server as rt
from kontrakt.sandbox.launch import Sandbox
from kontrakt.sandbox.sdir.core import Report, Service, _oslo_now
from tests.e2e._variants import buffered, read_body, send_response

PROBLEM = "application/problem+json"
CLIENT, WRITE = "sdir-supplier-test", "sdir:seafarer.additionalcompetance.write"
KEY = "sdir-sandbox-primary-key"
OWN, OTHER_OWNER, DELEGATING = "310000116", "310000167", "310000159"
FOREIGN_UIDS = {"0c1d5e2a-6b7f-4d10-9a31-5e8f2b4c7d02", "7a2b9c4d-1e3f-4a5b-8c6d-9e0f1a2b3c02"}


# --- the rewriting middleware --------------------------------------------------------------------


class _JsonBody:
    """A body read and written as JSON (None when it is not JSON)."""

    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def set_json(self, value: Any) -> None:
        self.body = json.dumps(value).encode()


@dataclass
class Call(_JsonBody):
    """One request as a variant sees it (path below the base path, headers lower-case)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer(_JsonBody):
    status: int
    headers: dict[str, str]
    body: bytes

    def codes(self) -> list[Any]:
        body = self.json()
        errors = body.get("errors") if isinstance(body, dict) else None
        return [e.get("code") for e in errors or [] if isinstance(e, dict)]


def problem(status: int, code: str, message: str, **extra: Any) -> Answer:
    entry = {"code": code, "message": message, **extra}
    body = {"type": "about:blank", "title": "Error", "status": status, "errors": [entry]}
    return Answer(status, {"content-type": PROBLEM}, json.dumps(body).encode())


OnRequest = Callable[[Call, "Kit"], Answer | None]
OnAnswer = Callable[[Call, Answer, "Kit"], None]


class Rewrite:
    """ASGI middleware: `on_request` may change the call or answer it; `on_answer` edits answers."""

    def __init__(
        self,
        app: ASGIApp,
        kit: Kit,
        on_request: OnRequest | None = None,
        on_answer: OnAnswer | None = None,
    ) -> None:
        self.app, self.kit = app, kit
        self.on_request, self.on_answer = on_request, on_answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        base = self.kit.base_path
        call = Call(
            scope["method"],
            scope["path"].removeprefix(base),
            scope.get("query_string", b"").decode(),
            {k.decode().lower(): v.decode() for k, v in scope["headers"]},
            await read_body(receive),
        )
        early = self.on_request(call, self.kit) if self.on_request else None
        if early is not None:
            await _send(send, early)
            return
        child = dict(scope)
        child["method"] = call.method
        child["path"] = base + call.path
        child["raw_path"] = child["path"].encode()
        child["query_string"] = call.query.encode()
        headers = {**call.headers, "content-length": str(len(call.body))}
        child["headers"] = [(k.encode(), v.encode()) for k, v in headers.items()]
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": call.body, "more_body": False}

        status, raw, body = await buffered(self.app, child, replay)
        answer = Answer(status, {k.decode().lower(): v.decode() for k, v in raw}, body)
        if self.on_answer is not None:
            self.on_answer(call, answer, self.kit)
        await _send(send, answer)


async def _send(send: Send, answer: Answer) -> None:
    headers = {k: v for k, v in answer.headers.items() if k != "content-length"}
    headers["content-length"] = str(len(answer.body))
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    await send_response(send, answer.status, raw, answer.body)


class Switch:
    """The sandbox app, or the variant currently switched in (one sandbox for every variant)."""

    def __init__(self, app: ASGIApp) -> None:
        self.default = app
        self.current: ASGIApp = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.current(scope, receive, send)


@dataclass
class Kit:
    """What variants need of the running sandbox: tokens and the base path."""

    sandbox: Sandbox
    base_path: str = "/aps-additionalcompetence-external"

    def token(self, **extra: Any) -> str:
        client = self.sandbox.context.registry.get(CLIENT)
        assert client is not None
        token, _ = self.sandbox.context.issuer.mint(
            client, (WRITE,), self.sandbox.url("sdir"), extra=extra
        )
        return token

    def expired_token(self) -> str:
        """A token of the sandbox client, correctly signed, that expired an hour ago."""
        client = self.sandbox.context.registry.get(CLIENT)
        assert client is not None
        token, _ = self.sandbox.context.issuer.mint(
            client, (WRITE,), self.sandbox.url("sdir"), now=time.time() - 2 * 3600
        )
        return token

    def organisation_token(self, organisation: str, **extra: Any) -> str:
        """A token of the sandbox client whose consumer is `organisation`."""
        consumer = {"authority": "iso6523-actorid-upis", "ID": f"0192:{organisation}"}
        return self.token(consumer=consumer, **extra)

    def claims(self, header: str | None) -> dict[str, Any] | None:
        """The verified claims of a bearer header, or None for a bad token."""
        if not header or not header.lower().startswith("bearer "):
            return None
        issuer = self.sandbox.context.issuer
        try:
            found: dict[str, Any] = jwt.decode(
                header[7:],
                issuer.signing_key.public_key(),
                algorithms=["RS256"],
                audience=self.sandbox.url("sdir"),
                issuer=issuer.issuer_url,
            )
        except jwt.PyJWTError:
            return None
        return found


class SwitchedSandbox(Sandbox):
    """The sandbox with a `Switch` in front of the Sdir app."""

    @classmethod
    def build(cls, names: Any, **kwargs: Any) -> Sandbox:  # type: ignore[override]
        built = super().build(names, **kwargs)
        built.apps["sdir"] = Switch(built.apps["sdir"])
        return built


# --- a non-atomic provider -----------------------------------------------------------------------


class NonAtomicService(Service):
    """Checks every item like the sandbox, then inserts them one by one, each committed alone."""

    def create(
        self,
        operation: str,
        items: Any,
        auth: rt.AuthContext,
        *,
        batch: bool,
        store: bool = True,
    ) -> list[sqlite3.Row]:
        if not batch or not store:
            return super().create(operation, items, auth, batch=batch, store=store)
        self._size(operation, len(items), batch)
        organisation = self.check(operation, items, auth, creating=True, batch=batch)
        now = _oslo_now()
        uids: list[str] = []
        for i, item in enumerate(items):
            uid = str(uuid.uuid4())
            try:
                with self.db.transaction() as tx:
                    self._insert(tx, uid, item, organisation, now)
            except sqlite3.IntegrityError:
                raise self._duplicate(i, batch) from None  # items 0..i-1 stay stored
            uids.append(uid)
        with self.db.transaction() as tx:
            return self._rows(tx, uids)


def non_atomic_app(sandbox: Sandbox) -> ASGIApp:
    original = sdir_provider.Service
    sdir_provider.Service = NonAtomicService  # type: ignore[misc]
    try:
        return sdir_provider.create_app(sandbox.context)
    finally:
        sdir_provider.Service = original  # type: ignore[misc]


# --- the variants --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    name: str
    kills: tuple[str, ...]  # rule ids that must fail (or warn: SHOULD)
    keeps: tuple[str, ...] = ()  # rule ids the variant must leave passing
    on_request: OnRequest | None = None
    on_answer: OnAnswer | None = None
    build: Callable[[Sandbox], ASGIApp] | None = None
    versions: tuple[str, ...] = ("v1", "v2")
    notes: Mapping[str, str] = field(default_factory=dict)
    # True: the kills break only kontrakt's proposals (A-...): `warn` at the default level,
    # `fail` at strict (SHOULD rules warn at both).
    assumed: bool = False
    # The manifest the variant is run with (a role added, a key taken away), from the committed one.
    manifest: Callable[[Manifest, Kit], Manifest] | None = None

    def app(self, switch: Switch, kit: Kit) -> ASGIApp:
        if self.build is not None:
            return self.build(kit.sandbox)
        return Rewrite(switch.default, kit, self.on_request, self.on_answer)


def _is(call: Call, method: str, pattern: str) -> bool:
    return call.method == method and re.fullmatch(pattern, call.path) is not None


BATCH = r"/v[12]/additionalcompetence/batch"
ITEM = r"/v[12]/additionalcompetence/[^/]+"
LIST = r"/v2/additionalcompetence"


def _when_code(code: str, change: Callable[[Answer], None]) -> OnAnswer:
    def edit(call: Call, answer: Answer, kit: Kit) -> None:
        if code in answer.codes():
            change(answer)

    return edit


def _becomes(status: int, body: Any, media: str = "application/json") -> Callable[[Answer], None]:
    def change(answer: Answer) -> None:
        answer.status, answer.headers["content-type"] = status, media
        answer.set_json(body)

    return change


def _recode(new_code: str, status: int | None = None) -> Callable[[Answer], None]:
    def change(answer: Answer) -> None:
        body = answer.json()
        for entry in body["errors"]:
            entry["code"] = new_code
        if status is not None:
            answer.status = body["status"] = status
        answer.set_json(body)

    return change


def _edit_errors(edit: Callable[[dict[str, Any]], None]) -> OnAnswer:
    def change(call: Call, answer: Answer, kit: Kit) -> None:
        body = answer.json()
        if answer.status >= 400 and isinstance(body, dict) and isinstance(body.get("errors"), list):
            for entry in body["errors"]:
                edit(entry)
            answer.set_json(body)

    return change


def _edit_json(test: Callable[[Call, Answer], bool], edit: Callable[[Any], Any]) -> OnAnswer:
    def change(call: Call, answer: Answer, kit: Kit) -> None:
        if test(call, answer):
            answer.set_json(edit(answer.json()))

    return change


# request-side helpers


def _add_key(call: Call, kit: Kit) -> Answer | None:
    call.headers.setdefault("ocp-apim-subscription-key", KEY)
    return None


def _any_key(call: Call, kit: Kit) -> Answer | None:
    if "ocp-apim-subscription-key" in call.headers:
        call.headers["ocp-apim-subscription-key"] = KEY
    return None


def _default_token(call: Call, kit: Kit) -> Answer | None:
    call.headers.setdefault("authorization", f"Bearer {kit.token()}")
    return None


def _unverified_token(call: Call, kit: Kit) -> Answer | None:
    if "authorization" in call.headers and kit.claims(call.headers["authorization"]) is None:
        call.headers["authorization"] = f"Bearer {kit.token()}"
    return None


def _scope_ignored(call: Call, kit: Kit) -> Answer | None:
    claims = kit.claims(call.headers.get("authorization"))
    if claims is not None and WRITE not in str(claims.get("scope", "")).split():
        call.headers["authorization"] = f"Bearer {kit.token()}"
    return None


def _no_delegation(call: Call, kit: Kit) -> Answer | None:
    claims = kit.claims(call.headers.get("authorization"))
    if claims is not None and "supplier" in claims:
        return problem(403, "INSUFFICIENT_SCOPE", "Delegated tokens are not accepted.")
    return None


def _lenient_media(call: Call, kit: Kit) -> Answer | None:
    if call.method in ("POST", "PUT") and call.body:
        call.headers["content-type"] = "application/json"
    return None


def _media_before_token(call: Call, kit: Kit) -> Answer | None:
    media = call.headers.get("content-type", "")
    if call.method == "POST" and "authorization" not in call.headers and "json" not in media:
        return problem(415, "UNSUPPORTED_MEDIA_TYPE", "Send application/json.")
    return None


def _refuse_last_code(call: Call, kit: Kit) -> Answer | None:
    if _is(call, "POST", BATCH) and b'"GOLALG"' in call.body:
        return problem(400, "UNKNOWN_COMPETENCE_CODE", "GOLALG is retired.", index=0)
    return None


def _default_vessel(call: Call, kit: Kit) -> Answer | None:
    items = call.json()
    if _is(call, "POST", BATCH) and isinstance(items, list):
        for item in items:
            if not isinstance(item, dict):
                continue
            if "seafarer" in item and not item.get("vessel"):
                item["vessel"] = {"imoNumber": "1000100"}
            flat = "personalIdentityNumber" in item
            if flat and not item.get("vesselImoNumber") and not item.get("vesselCallSign"):
                item["vesselImoNumber"] = "1000100"
        call.set_json(items)
    return None


def _ignore_uid(call: Call, kit: Kit) -> Answer | None:
    items = call.json()
    if _is(call, "POST", BATCH) and isinstance(items, list):
        call.set_json([{k: v for k, v in i.items() if k != "uid"} for i in items])
    return None


def _other_shape_accepted(call: Call, kit: Kit) -> Answer | None:
    items = call.json()
    if not (_is(call, "POST", BATCH) and isinstance(items, list) and items):
        return None
    flat_in_v2 = call.path.startswith("/v2") and "personalIdentityNumber" in items[0]
    nested_in_v1 = call.path.startswith("/v1") and "seafarer" in items[0]
    if flat_in_v2 or nested_in_v1:
        records = [
            {**i, "uid": str(uuid.uuid4()), "createdAt": "2025-04-02T09:14:27+02:00"} for i in items
        ]
        return Answer(201, {"content-type": "application/json"}, json.dumps(records).encode())
    return None


def _mismatch_ignored(call: Call, kit: Kit) -> Answer | None:
    body = call.json()
    if _is(call, "PUT", ITEM) and not call.path.endswith("/batch") and isinstance(body, dict):
        body.pop("uid", None)
        call.set_json(body)
    return None


def _clamp_limit(call: Call, kit: Kit) -> Answer | None:
    if _is(call, "GET", LIST):
        call.query = re.sub(r"limit=(\d{3,})", "limit=100", call.query)
    return None


def _drop_from_date(call: Call, kit: Kit) -> Answer | None:
    if _is(call, "GET", LIST):
        call.query = "&".join(p for p in call.query.split("&") if not p.startswith("fromDate="))
    return None


def _empty_accepted(call: Call, kit: Kit) -> Answer | None:
    if _is(call, "POST", BATCH) and call.json() == []:
        return Answer(201, {"content-type": "application/json"}, b"[]")
    return None


def _prevalidate_stores(call: Call, kit: Kit) -> Answer | None:
    if _is(call, "POST", r"/v2/additionalcompetence/prevalidate"):
        call.path = "/v2/additionalcompetence/batch"
        call.headers["x-variant-prevalidate"] = "1"
    return None


def _expiry_ignored(call: Call, kit: Kit) -> Answer | None:
    """Checks the signature and issuer of a token but not its expiry (exp)."""
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
            options={"verify_exp": False},
        )
    except jwt.PyJWTError:
        return None
    call.headers["authorization"] = f"Bearer {kit.token()}"
    return None


def _owner_ignored(call: Call, kit: Kit) -> Answer | None:
    """Reads one report as whichever organisation owns it (here: the other ship owner's)."""
    if _is(call, "GET", ITEM) and not call.path.endswith(("/codes", "/batch")):
        call.headers["authorization"] = f"Bearer {kit.organisation_token(OTHER_OWNER)}"
    return None


def _many_owner_ignored(call: Call, kit: Kit) -> Answer | None:
    """v1's several-by-uid read answers whichever organisation owns the reports (here: the
    other ship owner's), while the read of one report still checks the owner."""
    several = call.path.rstrip("/") == "/v1/additionalcompetence" and "uid=" in call.query
    if call.method == "GET" and several:
        call.headers["authorization"] = f"Bearer {kit.organisation_token(OTHER_OWNER)}"
    return None


def with_role(
    name: str, token: Callable[[Kit], str], *, drop_fixtures: tuple[str, ...] = ()
) -> Callable[[Manifest, Kit], Manifest]:
    """The committed manifest with credentials.<name> (a bearer token), without
    negative_auth (no signing key: the suite signs nothing) and without `drop_fixtures`."""

    def edit(manifest: Manifest, kit: Kit) -> Manifest:
        credentials = {**manifest.credentials, name: [BearerAuth(type="bearer", token=token(kit))]}
        fixtures = {k: v for k, v in manifest.fixtures.items() if k not in drop_fixtures}
        return manifest.model_copy(
            update={
                "credentials": credentials,
                "negative_auth": NegativeAuth(),
                "fixtures": fixtures,
            }
        )

    return edit


def _delegated(kit: Kit) -> str:
    supplier = {"authority": "iso6523-actorid-upis", "ID": f"0192:{OWN}"}
    return kit.organisation_token(DELEGATING, supplier=supplier)


# answer-side helpers


def _strip_offsets(call: Call, answer: Answer, kit: Kit) -> None:
    if answer.status < 300:
        answer.body = re.sub(
            rb'("createdAt": ?"[^"]*?T\d\d:\d\d:\d\d(\.\d+)?)(Z|[+-]\d\d:\d\d)"',
            rb'\1"',
            answer.body,
        )


def _problem_as_json(call: Call, answer: Answer, kit: Kit) -> None:
    if answer.headers.get("content-type", "").startswith(PROBLEM):
        answer.headers["content-type"] = "application/json"


def _no_errors_list(call: Call, answer: Answer, kit: Kit) -> None:
    body = answer.json()
    if answer.status >= 400 and isinstance(body, dict) and "errors" in body:
        body.pop("errors")
        answer.set_json(body)


def _foreign_forbidden(call: Call, answer: Answer, kit: Kit) -> None:
    if call.method == "GET" and call.path.rsplit("/", 1)[-1] in FOREIGN_UIDS:
        forbidden = problem(403, "INSUFFICIENT_SCOPE", "That report belongs to someone else.")
        answer.status, answer.headers, answer.body = 403, forbidden.headers, forbidden.body


def _shift_index(entry: dict[str, Any]) -> None:
    if "index" in entry:
        entry["index"] += 1


def _drop_index(entry: dict[str, Any]) -> None:
    entry.pop("index", None)


def _drop_field(entry: dict[str, Any]) -> None:
    if entry.get("code") == "VALIDATION_FAILED":
        entry.pop("field", None)
        entry["message"] = "Invalid."


def _unnamed(call: Call, answer: Answer, kit: Kit) -> None:
    """VALIDATION_FAILED entries name no member, in errors[].field or anywhere in the text."""
    body = answer.json()
    if not (
        answer.status >= 400 and isinstance(body, dict) and "VALIDATION_FAILED" in answer.codes()
    ):
        return
    for entry in body.get("errors") or []:
        _drop_field(entry)
    body["detail"] = "The request is invalid."
    answer.set_json(body)


def _code_field(entry: dict[str, Any]) -> None:
    if entry.get("code") == "UNKNOWN_COMPETENCE_CODE":
        entry["field"] = "code"


def _batch_201(call: Call, answer: Answer) -> bool:
    return _is(call, "POST", BATCH) and answer.status == 201


def _non_uuid_uids(records: Any) -> Any:
    return [{**r, "uid": f"AC-{n}"} for n, r in enumerate(records)]


def _reverse(records: Any) -> Any:
    return list(reversed(records))


def _changed_code(record: Any) -> Any:
    record = dict(record)
    if "competence" in record:
        record["competence"] = {**record["competence"], "competenceCode": "MV"}
    else:
        record["competenceCode"] = "MV"
    return record


def _read_one(call: Call, answer: Answer) -> bool:
    return (
        _is(call, "GET", ITEM)
        and not call.path.endswith("/codes")
        and answer.status == 200
        and not call.path.endswith("/additionalcompetence")
    )


def _partial_207(call: Call, answer: Answer, kit: Kit) -> None:
    if (
        _is(call, "POST", BATCH)
        and answer.status == 400
        and "UNKNOWN_COMPETENCE_CODE" in answer.codes()
    ):
        answer.status = 207
        answer.headers["content-type"] = "application/json"
        answer.set_json({"stored": [], "failed": answer.json()["errors"]})


def _location_dropped(call: Call, answer: Answer, kit: Kit) -> None:
    answer.headers.pop("location", None)


def _created_at_moved(call: Call, answer: Answer, kit: Kit) -> None:
    if _is(call, "PUT", ITEM) and not call.path.endswith("/batch") and answer.status == 200:
        body = answer.json()
        body["createdAt"] = "2030-01-01T00:00:00+01:00"
        answer.set_json(body)


def _page_limit_20(page: Any) -> Any:
    return {**page, "limit": 20}


def _page_reversed(page: Any) -> Any:
    return {**page, "items": list(reversed(page["items"]))}


def _valid_yes(body: Any) -> Any:
    return {"valid": "yes"}


def _prevalidate_stores_answer(call: Call, answer: Answer, kit: Kit) -> None:
    if call.headers.get("x-variant-prevalidate") and answer.status == 201:
        answer.status = 200
        answer.set_json({"valid": True})


def _conflicts_unchecked(call: Call, answer: Answer, kit: Kit) -> None:
    if call.path.endswith("/prevalidate") and answer.status == 409:
        answer.status, answer.headers["content-type"] = 200, "application/json"
        answer.set_json({"valid": True})


def _many_reversed(call: Call, answer: Answer) -> bool:
    return _is(call, "GET", r"/v1/additionalcompetence") and answer.status == 200


VARIANTS: tuple[Variant, ...] = (
    Variant("key-not-required", ("SDIR-AUTH-KEY-REQUIRED",), ("SDIR-AUTH-KEY-VALID",), _add_key),
    Variant("any-key-accepted", ("SDIR-AUTH-KEY-VALID",), ("SDIR-AUTH-KEY-REQUIRED",), _any_key),
    Variant(
        "token-not-required",
        ("SDIR-AUTH-TOKEN-REQUIRED",),
        ("SDIR-AUTH-TOKEN-VALID",),
        _default_token,
    ),
    Variant(
        "token-not-verified",
        ("SDIR-AUTH-TOKEN-VALID",),
        ("SDIR-AUTH-TOKEN-REQUIRED", "SDIR-AUTH-SCOPE"),
        _unverified_token,
    ),
    Variant("scope-ignored", ("SDIR-AUTH-SCOPE",), ("SDIR-AUTH-TOKEN-VALID",), _scope_ignored),
    Variant(
        "no-delegation",
        ("SDIR-AUTH-DELEGATION",),
        ("SDIR-AUTH-SCOPE",),
        _no_delegation,
        assumed=True,  # the suite's own delegated token: claim names are A-SDIR-027
    ),
    Variant(
        "organisation-unchecked",
        ("SDIR-AUTH-ORG-MATCH",),
        ("SDIR-AUTH-SHIP-OWNER",),
        on_answer=_when_code("ORGANIZATION_MISMATCH", _becomes(201, [])),
    ),
    Variant(
        "ship-owner-unchecked",
        ("SDIR-AUTH-SHIP-OWNER",),
        ("SDIR-AUTH-ORG-MATCH",),
        on_answer=_when_code("NOT_SHIP_OWNER", _becomes(201, [])),
    ),
    Variant(
        "foreign-report-forbidden",
        ("SDIR-READ-OWN-ONLY",),
        ("SDIR-NOT-FOUND",),
        on_answer=_foreign_forbidden,
        assumed=True,
    ),
    Variant(
        "any-media-type",
        ("SDIR-MEDIA-JSON",),
        ("SDIR-MEDIA-MALFORMED",),
        _lenient_media,
        assumed=True,
    ),
    Variant(
        "malformed-as-validation",
        ("SDIR-MEDIA-MALFORMED",),
        ("SDIR-MEDIA-JSON", "SDIR-BATCH-EMPTY"),
        on_answer=_when_code("MALFORMED_JSON", _recode("VALIDATION_FAILED")),
        assumed=True,
    ),
    Variant(
        "errors-as-plain-json",
        ("SDIR-ERROR-PROBLEM",),
        ("SDIR-ERROR-CODES", "SDIR-NOT-FOUND"),
        on_answer=_problem_as_json,
        assumed=True,
    ),
    Variant(
        "no-errors-list",
        ("SDIR-ERROR-CODES", "SDIR-NOT-FOUND", "SDIR-BATCH-EMPTY"),
        ("SDIR-ERROR-PROBLEM", "SDIR-AUTH-KEY-REQUIRED"),
        on_answer=_no_errors_list,
        assumed=True,
    ),
    Variant(
        "media-type-before-token",
        ("SDIR-ERROR-PRECEDENCE",),
        ("SDIR-AUTH-TOKEN-REQUIRED", "SDIR-MEDIA-JSON"),
        _media_before_token,
        assumed=True,
    ),
    Variant(
        "local-times",
        ("SDIR-DATETIME-OFFSET",),
        ("SDIR-CODES-LIST",),
        on_answer=_strip_offsets,
    ),
    Variant(
        "repeated-code",
        ("SDIR-CODES-LIST",),
        ("SDIR-CODE-UNKNOWN",),
        on_answer=_edit_json(
            lambda c, a: c.path.endswith("/codes") and a.status == 200, lambda b: [*b, b[0]]
        ),
    ),
    Variant(
        "listed-code-refused",
        ("SDIR-CODES-ACCEPTED",),
        ("SDIR-CODES-LIST",),
        _refuse_last_code,
    ),
    Variant(
        "unknown-code-field",
        ("SDIR-CODE-UNKNOWN",),
        ("SDIR-CODES-ACCEPTED",),
        on_answer=_edit_errors(_code_field),
        assumed=True,
    ),
    Variant(
        "validation-without-field",
        (
            "SDIR-VALIDATION-REQUIRED",
            "SDIR-VALIDATION-FORMAT",
            "SDIR-VALIDATION-CHECK-DIGITS",
            "SDIR-VALIDATION-NO-UID-ON-CREATE",
            "SDIR-LIST-LIMITS",
        ),
        ("SDIR-VALIDATION-VESSEL", "SDIR-CODE-UNKNOWN"),
        on_answer=_unnamed,
        assumed=True,
    ),
    Variant(
        "default-vessel",
        ("SDIR-VALIDATION-VESSEL",),
        ("SDIR-VALIDATION-REQUIRED",),
        _default_vessel,
    ),
    Variant(
        "period-as-validation",
        ("SDIR-VALIDATION-PERIOD",),
        ("SDIR-VALIDATION-FORMAT",),
        on_answer=_when_code("INVALID_PERIOD", _recode("VALIDATION_FAILED")),
        assumed=True,
    ),
    Variant(
        "uid-ignored",
        ("SDIR-VALIDATION-NO-UID-ON-CREATE",),
        ("SDIR-VALIDATION-REQUIRED",),
        _ignore_uid,
        assumed=True,
    ),
    Variant(
        "other-version-accepted",
        ("SDIR-VALIDATION-VERSION-SCHEMA",),
        ("SDIR-CREATE-201",),
        _other_shape_accepted,
    ),
    Variant(
        "uids-not-uuids",
        ("SDIR-CREATE-201",),
        ("SDIR-BATCH-ORDER",),
        on_answer=_edit_json(_batch_201, _non_uuid_uids),
    ),
    Variant(
        "reads-another-value",
        ("SDIR-READ-BACK",),
        ("SDIR-CREATE-201",),
        on_answer=_edit_json(_read_one, _changed_code),
    ),
    Variant(
        "unknown-uid-is-500",
        ("SDIR-NOT-FOUND", "SDIR-READ-OWN-ONLY"),
        ("SDIR-READ-BACK",),
        on_answer=_when_code("NOT_FOUND", _recode("INTERNAL_ERROR", 500)),
        versions=("v2",),
    ),
    Variant(
        "duplicate-as-validation",
        ("SDIR-DUPLICATE",),
        ("SDIR-BATCH-ATOMIC",),
        on_answer=_when_code("DUPLICATE_REPORT", _recode("VALIDATION_FAILED", 400)),
        assumed=True,
    ),
    Variant(
        "no-location",
        ("SDIR-CREATE-LOCATION",),
        ("SDIR-CREATE-201",),
        on_answer=_location_dropped,
        versions=("v1",),
        assumed=True,
    ),
    Variant(
        "update-moves-created-at",
        ("SDIR-UPDATE-REPLACE",),
        ("SDIR-UPDATE-UID-MATCH",),
        on_answer=_created_at_moved,
        versions=("v1",),
    ),
    Variant(
        "uid-mismatch-ignored",
        ("SDIR-UPDATE-UID-MATCH",),
        ("SDIR-UPDATE-REPLACE",),
        _mismatch_ignored,
        versions=("v1",),
        assumed=True,
    ),
    Variant(
        "many-reversed",
        ("SDIR-GET-MANY",),
        ("SDIR-READ-BACK",),
        on_answer=_edit_json(_many_reversed, _reverse),
        versions=("v1",),
        assumed=True,
    ),
    Variant(
        "no-index",
        ("SDIR-BATCH-UPDATE-UNKNOWN", "SDIR-BATCH-ERROR-INDEX", "SDIR-DUPLICATE"),
        ("SDIR-BATCH-ATOMIC", "SDIR-NOT-FOUND"),
        on_answer=_edit_errors(_drop_index),
        assumed=True,
    ),
    Variant(
        "page-limit-fixed",
        ("SDIR-LIST-PAGE",),
        ("SDIR-LIST-ORDER",),
        on_answer=_edit_json(lambda c, a: _is(c, "GET", LIST) and a.status == 200, _page_limit_20),
        versions=("v2",),
    ),
    Variant(
        "page-reversed",
        ("SDIR-LIST-ORDER",),
        ("SDIR-LIST-PAGE",),
        on_answer=_edit_json(lambda c, a: _is(c, "GET", LIST) and a.status == 200, _page_reversed),
        versions=("v2",),
        assumed=True,
    ),
    Variant(
        "limit-clamped",
        ("SDIR-LIST-LIMITS",),
        ("SDIR-LIST-PAGE",),
        _clamp_limit,
        versions=("v2",),
        assumed=True,  # the paging range is A-SDIR-019
    ),
    Variant(
        "from-date-ignored",
        ("SDIR-LIST-FROM-DATE",),
        ("SDIR-LIST-PAGE",),
        _drop_from_date,
        versions=("v2",),
        assumed=True,
    ),
    Variant(
        "non-atomic-batch",
        ("SDIR-BATCH-ATOMIC",),
        ("SDIR-BATCH-ERROR-INDEX", "SDIR-CREATE-201", "SDIR-DUPLICATE"),
        build=non_atomic_app,
        notes={"how": "NonAtomicService inserts item by item, each in its own transaction"},
    ),
    Variant(
        "one-based-index",
        ("SDIR-BATCH-ERROR-INDEX",),
        ("SDIR-BATCH-ATOMIC",),
        on_answer=_edit_errors(_shift_index),
        assumed=True,
    ),
    Variant(
        "too-large-as-400",
        ("SDIR-BATCH-MAX-ITEMS",),
        ("SDIR-BATCH-EMPTY",),
        on_answer=_when_code("BATCH_TOO_LARGE", _recode("VALIDATION_FAILED", 400)),
        assumed=True,
    ),
    Variant(
        "empty-batch-accepted",
        ("SDIR-BATCH-EMPTY",),
        ("SDIR-BATCH-MAX-ITEMS",),
        _empty_accepted,
        assumed=True,
    ),
    Variant(
        "batch-reversed",
        ("SDIR-BATCH-ORDER", "SDIR-BATCH-NO-PARTIAL"),
        ("SDIR-BATCH-ATOMIC",),
        on_answer=_edit_json(_batch_201, _reverse),
        assumed=True,
    ),
    Variant(
        "partial-207",
        ("SDIR-BATCH-NO-PARTIAL",),
        ("SDIR-BATCH-ORDER", "SDIR-DUPLICATE"),
        on_answer=_partial_207,
    ),
    Variant(
        "prevalidate-says-yes",
        ("SDIR-PREVALIDATE-OK",),
        ("SDIR-PREVALIDATE-NO-STORE",),
        on_answer=_edit_json(
            lambda c, a: c.path.endswith("/prevalidate") and a.status == 200, _valid_yes
        ),
        versions=("v2",),
    ),
    Variant(
        "prevalidate-stores",
        ("SDIR-PREVALIDATE-NO-STORE",),
        ("SDIR-PREVALIDATE-CONSISTENT",),
        _prevalidate_stores,
        _prevalidate_stores_answer,
        versions=("v2",),
    ),
    Variant(
        "prevalidate-ignores-stored",
        ("SDIR-PREVALIDATE-CONSISTENT",),
        ("SDIR-PREVALIDATE-OK", "SDIR-PREVALIDATE-NO-STORE"),
        on_answer=_conflicts_unchecked,
        versions=("v2",),
    ),
    # Detection gaps closed by separate credential roles (each run without a signing key).
    Variant(
        "expired-token-accepted",
        ("SDIR-AUTH-TOKEN-VALID",),
        ("SDIR-AUTH-TOKEN-REQUIRED",),
        _expiry_ignored,
        manifest=with_role("expired_token", Kit.expired_token),
        notes={"role": "credentials.expired_token: a captured token that has expired"},
    ),
    Variant(
        "delegated-token-refused",
        ("SDIR-AUTH-DELEGATION",),
        ("SDIR-AUTH-SCOPE",),
        _no_delegation,
        manifest=with_role("delegated", _delegated),
        notes={"role": "credentials.delegated: a token got on behalf of the customer"},
    ),
    Variant(
        "foreign-reports-readable",
        ("SDIR-READ-OWN-ONLY",),
        ("SDIR-CODES-LIST",),
        _owner_ignored,
        manifest=with_role(
            "other_owner",
            lambda kit: kit.organisation_token(OTHER_OWNER),
            drop_fixtures=("foreign_report_uid",),
        ),
        notes={"role": "credentials.other_owner creates the report; no foreign_report_uid"},
    ),
    Variant(
        "foreign-reports-by-uid",
        ("SDIR-READ-OWN-ONLY",),
        ("SDIR-NOT-FOUND",),
        _many_owner_ignored,
        versions=("v1",),
        manifest=with_role(
            "other_owner",
            lambda kit: kit.organisation_token(OTHER_OWNER),
            drop_fixtures=("foreign_report_uid",),
        ),
        notes={"role": "credentials.other_owner creates the report; read back through ?uid="},
    ),
)


@contextmanager
def switched(switch: Switch, app: ASGIApp) -> Iterator[None]:
    switch.current = app
    try:
        yield
    finally:
        switch.current = switch.default


def by_name(name: str) -> Variant:
    return next(v for v in VARIANTS if v.name == name)


__all__ = ["VARIANTS", "Kit", "NonAtomicService", "Report", "Switch", "SwitchedSandbox", "Variant"]
