"""Known-good variants of the DPS sandbox: providers that make another choice NB's text permits.

The dual of `dps_v1_bad_variants.py`. Each variant changes the sandbox the same way (an ASGI
rewrite of its answers, a request-side alias for its upload URLs, or a change of its outgoing
webhooks), but into something a provider written only from NB's documents may well do: its own
error codes or none, reasons only on the submission, one upload URL per file path, a secret that
is not `whsec_`, webhook ids that are UUIDs, an undocumented status after finalize, members the
swagger does not list left out, another list order, ...

Each names the choice, its basis (NB's clause, or the A-id of kontrakt's assumption it departs
from), the rules it touches and `strict_fails`: the rules that fail at `level: strict` (those
resting on the assumption it departs from; empty for a permitted published choice). At the
default level none of the touched rules may fail or be an error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote, urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from tests.e2e.dps_v1_bad_variants import (
    EVENTS,
    FILE,
    FILES,
    FINALIZE,
    SUBMISSION,
    SUBMISSIONS,
    SUBSCRIBE,
    Call,
    Edit,
    Outgoing,
    Reply,
)

__all__ = ["GOOD_VARIANTS", "AliasUploads", "GoodVariant", "all_at_once", "compose", "mangle_for"]

Payload = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class GoodVariant:
    """A provider making another permitted choice (see the module docstring)."""

    name: str
    choice: str
    basis: str
    touches: tuple[str, ...]
    strict_fails: tuple[str, ...] = ()
    edits: tuple[Edit, ...] = ()
    alias_urls: bool = False  # one stable uploadUrl per file path (AliasUploads)
    payload: tuple[Payload, ...] = ()  # changes of outgoing webhook payloads
    uuid_ids: bool = False  # webhook-id a UUID instead of msg_<base62>
    plain_secret: bool = False  # the secret is plain text, the HMAC key its bytes
    audience_blind: bool = False  # tokens are accepted whatever their audience
    exclusive: tuple[str, ...] = field(default=())  # variants it cannot be combined with
    note: str = ""  # what the strict level shows besides strict_fails

    @property
    def outgoing(self) -> bool:
        return bool(self.payload or self.uuid_ids or self.plain_secret)


# --- composing edits --------------------------------------------------------------------------------


def compose(*edits: Edit) -> Edit:
    """Apply `edits` one after another, each seeing the answer the previous one made."""

    def edit(call: Call, memory: dict[str, Any]) -> Reply | None:
        changed = False
        for one in edits:
            reply = one(call, memory)
            if reply is None:
                continue
            changed = True
            if reply.status:
                call.status = reply.status
            if reply.body is not None:
                body = reply.body
                call.response_body = body if isinstance(body, bytes) else json.dumps(body).encode()
            if reply.content_type is not None or reply.body is not None:
                kind = (reply.content_type or "application/json").encode()
                call.response_headers = [
                    (k, v) for k, v in call.response_headers if k.lower() != b"content-type"
                ] + [(b"content-type", kind)]
        if not changed:
            return None
        kind = next(
            (v.decode() for k, v in call.response_headers if k.lower() == b"content-type"), None
        )
        return Reply(call.status, call.response_body, kind)

    return edit


def _json_answers(change: Callable[[Call, Any], bool]) -> Edit:
    """Change JSON answers in place; `change` returns whether it changed the body."""

    def edit(call: Call, memory: dict[str, Any]) -> Reply | None:
        body = call.response_json()
        if body is None or not change(call, body):
            return None
        return Reply(body=body)

    return edit


def _error_of(call: Call, body: Any) -> dict[str, Any] | None:
    if call.status < 400 or not isinstance(body, dict):
        return None
    error = body.get("error")
    return error if isinstance(error, dict) else None


# --- response edits -----------------------------------------------------------------------------------


def _own_codes(call: Call, body: Any) -> bool:
    error = _error_of(call, body)
    if error is None or "code" not in error:
        return False
    error["code"] = f"dps.{call.status}"  # a vocabulary of its own, not UPPER_SNAKE
    return True


def _no_codes(call: Call, body: Any) -> bool:
    error = _error_of(call, body)
    if error is None:
        return False
    error.pop("code", None)
    return True


def _drop(body: Any, keys: Iterable[str]) -> None:
    if isinstance(body, dict):
        for key in keys:
            body.pop(key, None)


_OPTIONAL = ("clientId", "contractId", "s3ObjectKey", "dateCreated")


def _optional_members_omitted(call: Call, body: Any) -> bool:
    """Members NB's swagger does not list (or does not require) are left out."""
    if call.path.startswith("/_"):
        return False
    error = _error_of(call, body)
    if error is not None:
        error.pop("details", None)
        body["traceId"] = "0af7651916cd43dd8448eb211c80319c"  # an extra member of its own
        return True
    if call.status >= 300 or not isinstance(body, dict):
        return False
    _drop(body, _OPTIONAL)
    for item in [*(body.get("files") or []), *(body.get("content") or [])]:
        _drop(item, _OPTIONAL)
        for inner in item.get("files") or [] if isinstance(item, dict) else []:
            _drop(inner, _OPTIONAL)
    return True


def _reasons_on_submission(call: Call, body: Any) -> bool:
    if not (call.is_("GET", SUBMISSION) and call.status == 200 and isinstance(body, dict)):
        return False
    if body.get("status") != "REJECTED":
        return False
    body["reasons"] = [
        {"code": "FILE_CHECKSUM_MISMATCH", "message": "A file does not have its registered MD5."}
    ]
    return True


def _sum_size_late(call: Call, body: Any) -> bool:
    """sumSizeInBytes is computed by the pipeline: absent at finalize, 0 until terminal."""
    if not isinstance(body, dict) or call.status >= 300:
        return False
    if call.is_("POST", FINALIZE):
        body.pop("sumSizeInBytes", None)
        return True
    running = body.get("status") not in ("PRESERVED", "REJECTED")
    if call.is_("GET", SUBMISSION) and running and body.get("sumSizeInBytes") is not None:
        body["sumSizeInBytes"] = 0
        return True
    return False


def _finalize_processing(call: Call, body: Any) -> bool:
    if call.is_("POST", FINALIZE) and call.status == 200 and isinstance(body, dict):
        body["status"] = "PROCESSING"  # seen in production, listed nowhere (FACTS §6)
        return True
    return False


def _swagger_status_names(call: Call, body: Any) -> bool:
    if (
        call.is_("GET", SUBMISSION)
        and isinstance(body, dict)
        and body.get("status") == "VALIDATING"
    ):
        body["status"] = "VALIDATED"  # the published swagger's enum value
        return True
    return False


def _malformed_id_404(call: Call, memory: dict[str, Any]) -> Reply | None:
    if call.method == "GET" and call.status == 400 and not call.path.startswith("/_"):
        return Reply(
            status=404,
            body={"error": {"code": "NOT_FOUND", "message": "No such resource.", "details": ""}},
        )
    return None


def _no_list(call: Call, memory: dict[str, Any]) -> Reply | None:
    if call.is_("GET", SUBMISSIONS):
        return Reply(
            status=404, body={"error": {"code": "NOT_FOUND", "message": "No such resource."}}
        )
    return None


def _newest_first(call: Call, body: Any) -> bool:
    if call.is_("GET", SUBMISSIONS) and call.status == 200 and isinstance(body, dict):
        content = body.get("content")
        if isinstance(content, list):
            content.reverse()
            return True
    return False


_PREMIS = {  # the twelve PREMIS event types NB accepts (FACTS §5.7)
    "capture",
    "creation",
    "filename change",
    "fixity check",
    "imaging",
    "information package creation",
    "message digest calculation",
    "metadata extraction",
    "migration",
    "transfer",
    "validation",
    "virus check",
}


def _case_blind_event_type(call: Call, memory: dict[str, Any]) -> Reply | None:
    if not (call.is_("POST", EVENTS) and call.status == 400):
        return None
    body = call.request_json()
    kind = body.get("event", {}).get("eventType") if isinstance(body, dict) else None
    if isinstance(kind, str) and kind != kind.lower() and kind.lower() in _PREMIS:
        return Reply(status=201, body=body)
    return None


def _gateway_pages(call: Call, memory: dict[str, Any]) -> Reply | None:
    if call.status in (405, 406, 415) and not call.path.startswith("/_"):
        page = f"<html><body><h1>{call.status}</h1>nginx</body></html>".encode()
        return Reply(body=page, content_type="text/html")
    return None


def _plain_secret(call: Call, memory: dict[str, Any]) -> Reply | None:
    if call.is_("POST", SUBSCRIBE) and call.status == 201:
        body = call.response_json()
        body["secret"] = body["secret"].removeprefix("whsec_") + "-plain"
        return Reply(body=body)
    return None


# --- upload URLs: one stable URL per file path -------------------------------------------------------


class AliasUploads:
    """Another URL signing: every registration of a file path gets the same uploadUrl, which the
    provider maps to the latest registration (a proxy in front of its storage)."""

    PREFIX = "/_objects/alias/"

    def __init__(self) -> None:
        self.latest: dict[str, str] = {}  # alias token -> the sandbox's latest real URL
        self.alias_of: dict[str, str] = {}  # real URL -> alias URL

    def wrap(self, app: ASGIApp) -> ASGIApp:
        async def aliased(scope: Scope, receive: Receive, send: Send) -> None:
            path = scope.get("path", "")
            if scope["type"] == "http" and path.startswith(self.PREFIX):
                real = self.latest.get(path.removeprefix(self.PREFIX))
                if real is not None:
                    parts = urlsplit(real)
                    scope = {
                        **scope,
                        "path": unquote(parts.path),
                        "raw_path": parts.path.encode(),
                        "query_string": parts.query.encode(),
                    }
            await app(scope, receive, send)

        return aliased

    def _alias(self, submission_path: str, file_path: str, real: str) -> str:
        token = hashlib.sha256(f"{submission_path}|{file_path}".encode()).hexdigest()[:32]
        parts = urlsplit(real)
        alias = f"{parts.scheme}://{parts.netloc}{self.PREFIX}{token}"
        self.latest[token] = real
        self.alias_of[real] = alias
        return alias

    def edit(self, call: Call, memory: dict[str, Any]) -> Reply | None:
        body = call.response_json()
        if call.status >= 300 or not isinstance(body, dict):
            return None
        if call.is_("POST", FILES) and isinstance(body.get("uploadUrl"), str):
            body["uploadUrl"] = self._alias(call.path, str(body["filePath"]), body["uploadUrl"])
            return Reply(body=body)
        items = [body] if call.is_("GET", FILE) else list(body.get("files") or [])
        changed = False
        for item in items:
            if isinstance(item, dict) and item.get("uploadUrl") in self.alias_of:
                item["uploadUrl"] = self.alias_of[item["uploadUrl"]]
                changed = True
        return Reply(body=body) if changed else None


# --- tokens: the audience is not checked --------------------------------------------------------


def audience_blind(app: ASGIApp) -> ASGIApp:
    """A provider that does not check the token's audience: a request whose token names another
    audience is served as if it named the provider's (the token of the same client seen last)."""
    seen: dict[str, bytes] = {}

    def audience(value: bytes) -> Any:
        try:
            payload = value.decode().split(" ", 1)[1].split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (IndexError, ValueError):
            return None
        return claims.get("aud") if isinstance(claims, dict) else None

    async def blind(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = list(scope.get("headers", ()))
            for index, (key, value) in enumerate(headers):
                if key.lower() != b"authorization":
                    continue
                aud = audience(value)
                if aud is not None and "good" not in seen:
                    seen["good"], seen["aud"] = value, json.dumps(aud).encode()
                elif aud is not None and json.dumps(aud).encode() != seen.get("aud"):
                    headers[index] = (key, seen["good"])
                    scope = {**scope, "headers": headers}
        await app(scope, receive, send)

    return blind


# --- outgoing webhooks ------------------------------------------------------------------------------


def _offset_timestamps(payload: dict[str, Any]) -> None:
    # RFC 3339 with an offset instead of Z; sumSizeInBytes as NB's example shows it, a string.
    payload["timestamp"] = "2026-06-01T14:00:00.250+02:00"
    data = payload.get("data") or {}
    if payload.get("type") == "dissemination.delivered" and "sumSizeInBytes" in data:
        data["sumSizeInBytes"] = str(data["sumSizeInBytes"])


def _package_relative_paths(payload: dict[str, Any]) -> None:
    # filePath relative to the package's root folder (the objectId folder left out).
    for reason in (payload.get("data") or {}).get("reasons") or []:
        if isinstance(reason.get("filePath"), str) and "/" in reason["filePath"]:
            reason["filePath"] = reason["filePath"].split("/", 1)[1]


def _package_level_reasons(payload: dict[str, Any]) -> None:
    for reason in (payload.get("data") or {}).get("reasons") or []:
        reason.pop("filePath", None)


def mangle_for(variant: GoodVariant) -> Callable[..., Any]:
    """The outgoing change of `variant`: payload edits, webhook-id, then the signature."""

    def mangle(
        headers: dict[str, str], body: bytes, out: Outgoing
    ) -> tuple[dict[str, str], bytes] | None:
        if variant.payload:
            payload = json.loads(body)
            for change in variant.payload:
                change(payload)
            body = json.dumps(payload).encode()
        headers = dict(headers)
        if variant.uuid_ids:
            headers["webhook-id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, headers["webhook-id"]))
        if variant.plain_secret:
            key = (out.secrets[-1].removeprefix("whsec_") + "-plain").encode()
            signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
            digest = hmac.new(key, signed, hashlib.sha256).digest()
            headers["webhook-signature"] = "v1," + base64.b64encode(digest).decode()
            return headers, body
        return out.resign(headers, body), body

    return mangle


# --- the variants ----------------------------------------------------------------------------------

_ERRORS = ("DPS-AUTH-401", "DPS-NOT-FOUND-SUBMISSION-404", "DPS-ERROR-ENVELOPE")

GOOD_VARIANTS: tuple[GoodVariant, ...] = (
    GoodVariant(
        "own-error-codes",
        "every error carries a code of the provider's own vocabulary (dps.404, ...)",
        "A-DPS-002: NB publishes the envelope but no list of error.code values",
        (*_ERRORS, "DPS-BODY-400", "DPS-CONFLICT-OBJECTID-409", "DPS-ERROR-CODE-FORMAT"),
        (
            "DPS-AUTH-401",
            "DPS-NOT-FOUND-SUBMISSION-404",
            "DPS-BODY-400",
            "DPS-CONFLICT-OBJECTID-409",
        ),
        edits=(_json_answers(_own_codes),),
        exclusive=("no-error-codes",),
    ),
    GoodVariant(
        "no-error-codes",
        "errors carry message and details but no code",
        "A-DPS-002 and A-DPS-033: which envelope members are always present NB does not say",
        (*_ERRORS, "DPS-AUTH-OTHER-CONTRACT-403", "DPS-ERROR-CODE-FORMAT"),
        (*_ERRORS, "DPS-AUTH-OTHER-CONTRACT-403"),
        edits=(_json_answers(_no_codes),),
        exclusive=("own-error-codes",),
    ),
    GoodVariant(
        "reasons-on-submission",
        "a REJECTED submission also shows its rejection reasons (without filePath) on GET",
        "A-DPS-049 allows a reasons member on the submission; [WH] filePath absent = the package",
        ("DPS-UPLOAD-MD5-MISMATCH-REJECTED", "DPS-STATUS-GET-200", "DPS-LIFECYCLE-TERMINAL"),
        edits=(_json_answers(_reasons_on_submission),),
    ),
    GoodVariant(
        "same-url-on-reregister",
        "one stable uploadUrl per file path: registering it again signs the same URL",
        "FACTS §7: register again to get a usable URL; NB does not say the string differs",
        (
            "DPS-UPLOAD-REREGISTER",
            "DPS-UPLOAD-PUT-PRESIGNED",
            "DPS-UPLOAD-RETRY-SAME-URL",
            "DPS-DELETE-FILE-GONE",
            "DPS-FILE-ECHO",
            "DPS-STATE-FROZEN-AFTER-FINALIZE",
        ),
        alias_urls=True,
    ),
    GoodVariant(
        "sum-size-late",
        "sumSizeInBytes is absent from the finalize answer and 0 until the pipeline ends",
        "FACTS §5.2: sumSizeInBytes is not in the swagger; the documents freeze only files, "
        "objectId and priority",
        (
            "DPS-FINALIZE-SUMSIZE",
            "DPS-STATE-FROZEN-AFTER-FINALIZE",
            "DPS-STATUS-FINALIZE-200",
            "DPS-LIFECYCLE-FORWARD",
        ),
        edits=(_json_answers(_sum_size_late),),
    ),
    GoodVariant(
        "optional-members-omitted",
        "no clientId, contractId, s3ObjectKey, dateCreated or error.details; an extra traceId "
        "beside error",
        "[OAS] requires only submissionId, objectId, status (files: fileId, filePath, checksum, "
        "isPackaged, uploadUrl); A-DPS-033 details may be absent",
        (
            "DPS-AUTH-CLIENTID-FROM-TOKEN",
            "DPS-S3-OBJECT-KEY-LAYOUT",
            "DPS-CREATE-INITIAL-STATE",
            "DPS-OBJECTID-PER-CONTRACT",
            "DPS-DISSEMINATION-ECHO",
            "DPS-LIST-CONTRACT-SCOPE",
            "DPS-ERROR-ENVELOPE",
            "DPS-STATUS-GET-200",
            "DPS-STATUS-REGISTER-FILE-201",
            "DPS-STATUS-FINALIZE-200",
        ),
        edits=(_json_answers(_optional_members_omitted),),
    ),
    GoodVariant(
        "plain-webhook-secret",
        "the webhook secret is plain text (no whsec_) and its bytes are the HMAC key",
        "A-DPS-023: NB does not document the secret's encoding",
        ("DPS-WH-SIGNATURE", "DPS-WH-SECRET-FORMAT", "DPS-WH-HEADERS"),
        edits=(_plain_secret,),
        plain_secret=True,
        note="DPS-WH-SECRET-FORMAT (SHOULD, basis assumption) warns at both levels",
    ),
    GoodVariant(
        "uuid-webhook-ids",
        "webhook-id is a UUID (stable on retries) instead of msg_<base62>",
        "A-DPS-040: [WH] asks only for a unique id kept on retries",
        ("DPS-WH-HEADERS", "DPS-WH-ID-STABLE", "DPS-WH-SIGNATURE", "DPS-WH-RETRY-5XX"),
        uuid_ids=True,
        note="no rule checks the msg_ form: A-DPS-040 tells receivers to treat the id as opaque",
    ),
    GoodVariant(
        "offset-webhook-timestamps",
        "payload timestamps with +02:00 instead of Z; sumSizeInBytes of "
        "dissemination.delivered as a decimal string",
        '[WH] RFC 3339 with an offset or Z; NB\'s own example sends the string "1"',
        ("DPS-WH-PAYLOAD-SCHEMA", "DPS-WH-DELIVERED-FILES", "DPS-WH-SIGNATURE"),
        payload=(_offset_timestamps,),
    ),
    GoodVariant(
        "finalize-processing",
        "finalize answers the undocumented status PROCESSING (the pipeline took over)",
        "FACTS §6: the status set is open; production returned PROCESSING",
        ("DPS-STATUS-FINALIZE-200", "DPS-LIFECYCLE-FORWARD", "DPS-FINALIZE-ASYNC-VALIDATION"),
        edits=(_json_answers(_finalize_processing),),
    ),
    GoodVariant(
        "swagger-status-names",
        "reads show VALIDATED (the swagger's enum) where the prose says VALIDATING",
        "[OAS] SubmissionResponse.status enum (2025-05) lists VALIDATED and TRANSFERRED_TO_ARCHIVE",
        ("DPS-LIFECYCLE-UNKNOWN-STATUS", "DPS-LIFECYCLE-FORWARD", "DPS-LIFECYCLE-TERMINAL"),
        edits=(_json_answers(_swagger_status_names),),
    ),
    GoodVariant(
        "malformed-id-404",
        "a malformed path identifier is answered 404 (no such resource), not 400",
        "[API] 404 for a resource that does not exist; 400 for malformed parameters is A-DPS-008",
        ("DPS-ID-PATH-400", "DPS-ERROR-ENVELOPE"),
        edits=(_malformed_id_404,),
    ),
    GoodVariant(
        "newest-first-list",
        "the submission list is ordered newest first",
        "FACTS §5.6: no order of the list is published",
        ("DPS-STATUS-LIST-200", "DPS-LIST-PAGE-ENVELOPE", "DPS-LIST-CONTRACT-SCOPE"),
        edits=(_json_answers(_newest_first),),
    ),
    GoodVariant(
        "audience-not-checked",
        "the provider accepts tokens of its realm whatever their audience",
        "A-DPS-054: NB documents no audience for its tokens",
        ("DPS-AUTH-401", "DPS-STATUS-GET-200"),
        ("DPS-AUTH-401",),
        audience_blind=True,
    ),
    GoodVariant(
        "no-list-endpoint",
        "the provider offers no submission list (404 at GET /v1/contracts/{contractId}/submissions)",
        "A-DPS-021: NB publishes neither the list's path nor its parameters",
        (
            "DPS-STATUS-LIST-200",
            "DPS-LIST-PAGE-ENVELOPE",
            "DPS-LIST-CONTRACT-SCOPE",
            "DPS-LIST-PAGE-CONSISTENT",
            "DPS-AUTH-READ-ROLE",
            "DPS-AUTH-READ-ONLY-CLIENT",
            "DPS-CONFLICT-OBJECTID-409",
        ),
        (
            "DPS-STATUS-LIST-200",
            "DPS-LIST-PAGE-ENVELOPE",
            "DPS-LIST-CONTRACT-SCOPE",
            "DPS-AUTH-READ-ROLE",
            "DPS-AUTH-READ-ONLY-CLIENT",
        ),
        edits=(_no_list,),
        exclusive=("newest-first-list",),
    ),
    GoodVariant(
        "package-relative-reason-paths",
        "rejection reasons name the file relative to the package's root folder",
        "[WH] reasons[].filePath is 'the relative path' without saying relative to what",
        ("DPS-UPLOAD-MD5-MISMATCH-REJECTED", "DPS-WH-REJECTED-REASONS"),
        payload=(_package_relative_paths,),
        exclusive=("package-level-reasons",),
    ),
    GoodVariant(
        "package-level-reasons",
        "the checksum reason names no filePath (it applies to the whole package)",
        "[WH] filePath is optional: absent means the whole package",
        ("DPS-UPLOAD-MD5-MISMATCH-REJECTED", "DPS-WH-REJECTED-REASONS"),
        payload=(_package_level_reasons,),
        exclusive=("package-relative-reason-paths",),
    ),
    GoodVariant(
        "case-blind-event-types",
        "eventType is matched case-insensitively (CAPTURE is stored as capture)",
        "A-DPS-050: NB lists the PREMIS types in lower case and says nothing about case",
        ("DPS-EVENT-TYPE-400", "DPS-STATUS-EVENT-201"),
        ("DPS-EVENT-TYPE-400",),
        edits=(_case_blind_event_type,),
    ),
    GoodVariant(
        "gateway-error-pages",
        "405, 406 and 415 come from the API gateway as HTML pages",
        "A-DPS-038: the envelope for situations no operation declares is kontrakt's proposal",
        ("DPS-ERROR-ENVELOPE", "DPS-ERROR-CODE-FORMAT", "DPS-HTTPS-JSON"),
        ("DPS-ERROR-ENVELOPE",),
        edits=(_gateway_pages,),
    ),
)


def all_at_once() -> GoodVariant:
    """Every compatible good choice in one provider (own codes, not no codes; package-relative
    reason paths, not package-level reasons; a newest-first list, not none)."""
    left_out = ("no-error-codes", "package-level-reasons", "no-list-endpoint")
    chosen = [v for v in GOOD_VARIANTS if v.name not in left_out]
    # Order matters for the answers: statuses first, codes next, gateway pages last.
    first = [e for v in chosen if v.name == "malformed-id-404" for e in v.edits]
    last = [e for v in chosen if v.name == "gateway-error-pages" for e in v.edits]
    middle = [
        e
        for v in chosen
        if v.name not in ("malformed-id-404", "gateway-error-pages")
        for e in v.edits
    ]
    return replace(
        chosen[0],
        name="all-at-once",
        choice="every compatible choice above at once",
        basis="each variant's",
        touches=tuple(dict.fromkeys(r for v in chosen for r in v.touches)),
        strict_fails=tuple(dict.fromkeys(r for v in chosen for r in v.strict_fails)),
        edits=(*first, *middle, *last),
        alias_urls=True,
        payload=tuple(p for v in chosen for p in v.payload),
        uuid_ids=True,
        plain_secret=True,
        audience_blind=True,
        exclusive=(),
    )
