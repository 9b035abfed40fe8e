"""Known-bad variants of the DPS sandbox, one or more per automated rule of `dps/v1`.

A variant is a small edit of the sandbox's behaviour: an ASGI middleware (`Rewrite`) that lets the
sandbox answer and then changes the answer (status, body, headers) for the requests it matches,
keeping what it needs to remember between requests in `memory`; or, for the webhooks the sandbox
sends from its background tasks, a change of the outgoing delivery (`Outgoing`: headers or body
changed and re-signed, a retry suppressed). `kills` are the rule ids the variant must make fail
(or warn, for SHOULD/MAY rules); `controls` are rules of the same area it must leave passing.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.e2e._variants import buffered, read_body, send_response

__all__ = ["VARIANTS", "Call", "Outgoing", "Reply", "Rewrite", "Variant"]

FAKE_ID = "F" * 22
SUBMISSION = r"/v1/contracts/[^/]+/submissions/[^/]+$"
SUBMISSIONS = r"/v1/contracts/[^/]+/submissions$"
FILES = r"/v1/contracts/[^/]+/submissions/[^/]+/files$"
FILE = r"/v1/contracts/[^/]+/submissions/[^/]+/files/[^/]+$"
FINALIZE = r"/finalize$"
EVENTS = r"/events$"
DISSEMINATIONS = r"/v1/disseminations$"
DISSEMINATION = r"/v1/disseminations/[^/]+$"
OBJECTS = r"^/_objects/"
SUBSCRIBE = r"^/_sandbox/webhooks$"


@dataclass
class Call:
    """One request and the sandbox's answer, as the middleware saw them."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    response_headers: list[tuple[bytes, bytes]]
    response_body: bytes

    def request_json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def response_json(self) -> Any:
        try:
            return json.loads(self.response_body)
        except ValueError:
            return None

    def is_(self, method: str, pattern: str) -> bool:
        return self.method == method and re.search(pattern, self.path) is not None

    def client(self) -> str | None:
        value = self.headers.get("authorization", "")
        try:
            payload = value.split(" ", 1)[1].split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (IndexError, ValueError):
            return None
        found = claims.get("client_id") if isinstance(claims, dict) else None
        return str(found) if found else None

    def error_details(self) -> Any:
        body = self.response_json()
        return body.get("error", {}).get("details") if isinstance(body, dict) else None


@dataclass
class Reply:
    """What the middleware answers instead (None fields keep the sandbox's)."""

    status: int | None = None
    body: Any = None
    content_type: str | None = None


Edit = Callable[[Call, dict[str, Any]], Reply | None]


class Rewrite:
    """ASGI middleware: the sandbox answers, then `edit` may replace the answer."""

    def __init__(self, app: ASGIApp, edit: Edit) -> None:
        self.app = app
        self.edit = edit
        self.memory: dict[str, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        answer = await buffered(self.app, scope, replay)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        call = Call(scope["method"], scope["path"], headers, body, *answer)
        reply = self.edit(call, self.memory)
        status, content = call.status, call.response_body
        response_headers = [
            (k, v) for k, v in call.response_headers if k.lower() != b"content-length"
        ]
        if reply is not None:
            status = reply.status or status
            if reply.body is not None:
                content = (
                    reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                )
            if reply.content_type is not None or reply.body is not None:
                kind = reply.content_type or "application/json"
                response_headers = [
                    (k, v) for k, v in response_headers if k.lower() != b"content-type"
                ]
                response_headers.append((b"content-type", kind.encode()))
            if status == 204:
                content = b""
        response_headers.append((b"content-length", str(len(content)).encode()))
        await send_response(send, status, response_headers, content)


# --- outgoing webhooks ----------------------------------------------------------------------------

Mangle = Callable[[dict[str, str], bytes, "Outgoing"], tuple[dict[str, str], bytes] | None]


@dataclass
class Outgoing:
    """How a variant changes the sandbox's webhook deliveries (None from `mangle`: not sent)."""

    mangle: Mangle
    secrets: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    sign: Callable[[str, str, int, bytes], str] | None = None

    def resign(self, headers: dict[str, str], body: bytes) -> dict[str, str]:
        assert self.sign is not None and self.secrets
        timestamp = int(headers["webhook-timestamp"])
        value = self.sign(self.secrets[-1], headers["webhook-id"], timestamp, body)
        return {**headers, "webhook-signature": value}


def _edit_payload(change: Callable[[dict[str, Any]], None]) -> Mangle:
    def mangle(
        headers: dict[str, str], body: bytes, out: Outgoing
    ) -> tuple[dict[str, str], bytes] | None:
        payload = json.loads(body)
        change(payload)
        new = json.dumps(payload).encode()
        return out.resign(headers, new), new

    return mangle


# --- variant helpers --------------------------------------------------------------------------------


def _fake_submission(**extra: Any) -> dict[str, Any]:
    return {"submissionId": FAKE_ID, "objectId": "fake-object", "status": "REGISTERED", **extra}


def _fake_file() -> dict[str, Any]:
    return {
        "fileId": FAKE_ID,
        "filePath": "fake/METS.xml",
        "checksum": "0" * 32,
        "isPackaged": False,
        "uploadUrl": "http://127.0.0.1:9/fake",
    }


def _json_edit(method: str, pattern: str, change: Callable[[Any], None]) -> Edit:
    """Change the JSON body of successful answers to `method pattern`."""

    def edit(call: Call, memory: dict[str, Any]) -> Reply | None:
        if not call.is_(method, pattern) or call.status >= 300:
            return None
        body = call.response_json()
        if body is None:
            return None
        change(body)
        return Reply(body=body)

    return edit


def _status_edit(
    method: str,
    pattern: str,
    old: int,
    new: int,
    body: Any = None,
    when: Callable[[Call], bool] = lambda call: True,
) -> Edit:
    def edit(call: Call, memory: dict[str, Any]) -> Reply | None:
        if call.is_(method, pattern) and call.status == old and when(call):
            return Reply(status=new, body=body)
        return None

    return edit


def _request_field(call: Call, *keys: str) -> Any:
    node = call.request_json()
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _set(key: str, value: Any) -> Callable[[Any], None]:
    def change(body: Any) -> None:
        body[key] = value

    return change


# --- stateful edits ---------------------------------------------------------------------------------


def _deleted_still_there(call: Call, memory: dict[str, Any]) -> Reply | None:
    gone: set[str] = memory.setdefault("gone", set())
    if call.is_("DELETE", SUBMISSION) and call.status == 204:
        gone.add(call.path)
    if call.is_("GET", SUBMISSION) and call.path in gone and call.status == 404:
        return Reply(status=200, body=_fake_submission())
    return None


def _deleted_file_path_taken(call: Call, memory: dict[str, Any]) -> Reply | None:
    paths: dict[str, str] = memory.setdefault("paths", {})
    gone: set[str] = memory.setdefault("gone", set())
    if call.is_("POST", FILES) and call.status == 201:
        body = call.response_json()
        paths[body["fileId"]] = call.path + "|" + body["filePath"]
    if call.is_("DELETE", FILE) and call.status == 204:
        key = paths.get(call.path.rsplit("/", 1)[1])
        if key:
            gone.add(key)
    if call.is_("POST", FILES) and f"{call.path}|{_request_field(call, 'filePath')}" in gone:
        return Reply(
            status=409, body={"error": {"code": "DUPLICATE_FILE_PATH", "message": "taken"}}
        )
    return None


def _object_id_unique_across_contracts(call: Call, memory: dict[str, Any]) -> Reply | None:
    """objectId uniqueness enforced across contracts: a reuse in another contract answers 409."""
    seen: dict[str, str] = memory.setdefault("object_ids", {})
    if not call.is_("POST", SUBMISSIONS) or call.status != 201:
        return None
    object_id = str(_request_field(call, "objectId"))
    first = seen.setdefault(object_id, call.path)
    if first != call.path:
        return Reply(
            status=409, body={"error": {"code": "DUPLICATE_OBJECT_ID", "message": "taken"}}
        )
    return None


def _same_upload_url(call: Call, memory: dict[str, Any]) -> Reply | None:
    urls: dict[str, str] = memory.setdefault("urls", {})
    if call.is_("POST", FILES) and call.status == 201:
        body = call.response_json()
        key = call.path + "|" + body["filePath"]
        body["uploadUrl"] = urls.setdefault(key, body["uploadUrl"])
        return Reply(body=body)
    return None


def _one_put_per_url(call: Call, memory: dict[str, Any]) -> Reply | None:
    used: set[str] = memory.setdefault("used", set())
    if call.method == "PUT" and re.search(OBJECTS, call.path):
        if call.path in used:
            return Reply(status=403, body=b"<Error><Code>AccessDenied</Code></Error>")
        used.add(call.path)
    return None


def _put_needs_auth(call: Call, memory: dict[str, Any]) -> Reply | None:
    if (
        call.method == "PUT"
        and re.search(OBJECTS, call.path)
        and "authorization" not in call.headers
    ):
        return Reply(status=403, body=b"<Error><Code>AccessDenied</Code></Error>")
    return None


def _leaves_terminal(pattern: str, terminal: str, after: str) -> Edit:
    def edit(call: Call, memory: dict[str, Any]) -> Reply | None:
        seen: set[str] = memory.setdefault("terminal", set())
        if not call.is_("GET", pattern) or call.status != 200:
            return None
        body = call.response_json()
        if call.path in seen:
            body["status"] = after
            return Reply(body=body)
        if body.get("status") == terminal:
            seen.add(call.path)
        return None

    return edit


def _no_second_order(call: Call, memory: dict[str, Any]) -> Reply | None:
    done: set[str] = memory.setdefault("done", set())
    if call.is_("GET", DISSEMINATION) and call.status == 200:
        body = call.response_json()
        if body.get("status") == "DISSEMINATED":
            done.add(body["archiveId"])
    if call.is_("POST", DISSEMINATIONS) and _request_field(call, "archiveId") in done:
        return Reply(
            status=409, body={"error": {"code": "DISSEMINATION_IN_PROGRESS", "message": "no"}}
        )
    return None


def _status_rename(pattern: str, old: str, new: str) -> Edit:
    def change(body: Any) -> None:
        if body.get("status") == old:
            body["status"] = new

    return _json_edit("GET", pattern, change)


def _fixture_id_cut(call: Call, memory: dict[str, Any]) -> Reply | None:
    if call.is_("GET", SUBMISSION) and call.status == 200 and call.path.endswith("Sub001"):
        body = call.response_json()
        body["submissionId"] = body["submissionId"][:10]
        return Reply(body=body)
    return None


def _priority_change_after_finalize(body: Any) -> None:
    if body.get("status") not in (None, "REGISTERED"):
        body["priority"] = int(body.get("priority", 0)) + 1


def _drop_archive_id(body: Any) -> None:
    if body.get("status") == "PRESERVED":
        body.pop("archiveId", None)


def _rename_reason(payload: dict[str, Any]) -> None:
    for reason in payload.get("data", {}).get("reasons") or []:
        reason["code"] = "CHECKSUM"


def _event_echo(when: Callable[[Any], bool]) -> Edit:
    def edit(call: Call, memory: dict[str, Any]) -> Reply | None:
        if call.is_("POST", EVENTS) and call.status == 400 and when(call.request_json()):
            return Reply(status=201, body=call.request_json())
        return None

    return edit


def _not_found_flat(call: Call, memory: dict[str, Any]) -> Reply | None:
    if call.status == 404:
        return Reply(body={"message": "not found", "status": 404})
    return None


def _lower_code(call: Call, memory: dict[str, Any]) -> Reply | None:
    body = call.response_json()
    if call.status == 404 and isinstance(body, dict) and "error" in body:
        body["error"]["code"] = "not-found"
        return Reply(body=body)
    return None


def _secret_without_prefix(call: Call, memory: dict[str, Any]) -> Reply | None:
    if call.is_("POST", SUBSCRIBE) and call.status == 201:
        body = call.response_json()
        body["secret"] = body["secret"].removeprefix("whsec_")
        return Reply(body=body)
    return None


def _text_json(call: Call, memory: dict[str, Any]) -> Reply | None:
    if call.is_("GET", SUBMISSION):
        return Reply(content_type="text/plain")
    return None


def _reader_forbidden(call: Call, memory: dict[str, Any]) -> Reply | None:
    if call.method == "GET" and call.client() == "dps-reader-test" and call.status == 200:
        return Reply(status=403, body={"error": {"code": "FORBIDDEN", "message": "no"}})
    return None


def _reader_writes(call: Call, memory: dict[str, Any]) -> Reply | None:
    if call.method == "POST" and call.client() == "dps-reader-test" and call.status == 403:
        return Reply(status=201, body=_fake_submission())
    return None


# --- outgoing webhook mangles -------------------------------------------------------------------------


def _text_plain(
    headers: dict[str, str], body: bytes, out: Outgoing
) -> tuple[dict[str, str], bytes]:
    return {**headers, "Content-Type": "text/plain"}, body


def _no_timestamp(
    headers: dict[str, str], body: bytes, out: Outgoing
) -> tuple[dict[str, str], bytes]:
    return {k: v for k, v in headers.items() if k != "webhook-timestamp"}, body


def _new_id_on_retry(
    headers: dict[str, str], body: bytes, out: Outgoing
) -> tuple[dict[str, str], bytes]:
    if headers["webhook-id"] in out.seen:
        headers = out.resign({**headers, "webhook-id": "msg_" + uuid.uuid4().hex}, body)
    out.seen.add(headers["webhook-id"])
    return headers, body


def _milliseconds(
    headers: dict[str, str], body: bytes, out: Outgoing
) -> tuple[dict[str, str], bytes]:
    stamped = {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) * 1000)}
    return out.resign(stamped, body), body


def _wrong_key(headers: dict[str, str], body: bytes, out: Outgoing) -> tuple[dict[str, str], bytes]:
    assert out.sign is not None
    other = "whsec_" + base64.b64encode(b"k" * 32).decode()
    value = out.sign(other, headers["webhook-id"], int(headers["webhook-timestamp"]), body)
    return {**headers, "webhook-signature": value}, body


def _never_retry(
    headers: dict[str, str], body: bytes, out: Outgoing
) -> tuple[dict[str, str], bytes] | None:
    if headers["webhook-id"] in out.seen:
        return None
    out.seen.add(headers["webhook-id"])
    return headers, body


def _no_timestamp_field(payload: dict[str, Any]) -> None:
    payload.pop("timestamp", None)


def _other_archive(payload: dict[str, Any]) -> None:
    if payload.get("type") == "submission.preserved":
        payload["data"]["archiveId"] = str(uuid.uuid4())


def _reason_without_message(payload: dict[str, Any]) -> None:
    for reason in payload.get("data", {}).get("reasons") or []:
        reason["message"] = ""


def _wrong_filesize(payload: dict[str, Any]) -> None:
    for item in payload.get("data", {}).get("files") or []:
        item["filesize"] = int(item["filesize"]) + 1


def _stale_timestamp(
    headers: dict[str, str], body: bytes, out: Outgoing
) -> tuple[dict[str, str], bytes]:
    stamped = {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) - 300)}
    return out.resign(stamped, body), body


def _no_reasons(payload: dict[str, Any]) -> None:
    if payload.get("type") == "submission.rejected":
        payload["data"]["reasons"] = []


def _error_without_message(call: Call, memory: dict[str, Any]) -> Reply | None:
    body = call.response_json()
    if call.status == 404 and isinstance(body, dict) and isinstance(body.get("error"), dict):
        body["error"].pop("message", None)
        return Reply(body=body)
    return None


def _reregistered_url_dead(call: Call, memory: dict[str, Any]) -> Reply | None:
    """The registration after a deleteFile returns an uploadUrl whose signature is wrong."""
    paths: dict[str, str] = memory.setdefault("paths", {})
    gone: set[str] = memory.setdefault("gone", set())
    if call.is_("POST", FILES) and call.status == 201:
        body = call.response_json()
        key = call.path + "|" + body["filePath"]
        paths[body["fileId"]] = key
        if key in gone:
            body["uploadUrl"] = re.sub(
                r"signature=[0-9a-f]+", "signature=" + "0" * 64, body["uploadUrl"]
            )
            return Reply(body=body)
    if call.is_("DELETE", FILE) and call.status == 204:
        key = paths.get(call.path.rsplit("/", 1)[1])
        if key:
            gone.add(key)
    return None


def _file_list_grows(body: Any) -> None:
    files = body.get("files")
    if isinstance(files, list) and files:
        files.append({**files[0], "fileId": "G" * 22, "filePath": "late/extra.xml"})


def _sum_size_off(call: Call, memory: dict[str, Any]) -> Reply | None:
    if not (call.is_("POST", FINALIZE) or call.is_("GET", SUBMISSION)) or call.status >= 300:
        return None
    body = call.response_json()
    if not isinstance(body, dict) or body.get("sumSizeInBytes") is None:
        return None
    body["sumSizeInBytes"] = int(body["sumSizeInBytes"]) + 1
    return Reply(body=body)


# --- the variants ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    kills: tuple[str, ...]
    controls: tuple[str, ...] = ()
    edit: Edit | None = None
    outgoing: Mangle | None = None
    # The variant breaks only kontrakt's assumption (the A-id) for these rules: they warn at the
    # default level and fail at strict (SHOULD/MAY rules warn at both).
    assumed: tuple[str, ...] = ()
    assumption: str | None = None


def _v(
    name: str,
    description: str,
    kills: str | tuple[str, ...],
    controls: tuple[str, ...] = (),
    *,
    edit: Edit | None = None,
    outgoing: Mangle | None = None,
    assumption: str | None = None,
) -> Variant:
    killed = (kills,) if isinstance(kills, str) else kills
    return Variant(
        name,
        description,
        killed,
        controls,
        edit,
        outgoing,
        killed if assumption else (),
        assumption,
    )


def _no_priority(call: Call) -> bool:
    return _request_field(call, "priority") is None


VARIANTS: tuple[Variant, ...] = (
    _v(
        "submission-read-empty",
        "a submission reads as the empty JSON object {}",
        ("DPS-HTTPS-JSON", "DPS-STATUS-GET-200"),
        ("DPS-STATUS-LIST-200",),
        edit=_status_edit("GET", SUBMISSION, 200, 200, {}),
    ),
    _v(
        "long-file-path-accepted",
        "a 901-character filePath is registered",
        "DPS-FILEPATH-400",
        ("DPS-CHECKSUM-FORMAT-400",),
        edit=_status_edit(
            "POST",
            FILES,
            400,
            201,
            _fake_file(),
            lambda c: len(str(_request_field(c, "filePath"))) > 900,
        ),
    ),
    _v(
        "finalize-stays-registered",
        "finalize answers the submission still REGISTERED",
        "DPS-STATUS-FINALIZE-200",
        ("DPS-STATUS-CREATE-201",),
        edit=_json_edit("POST", FINALIZE, _set("status", "REGISTERED")),
    ),
    _v(
        "reregistered-url-dead",
        "the uploadUrl of a registration made again refuses the PUT",
        "DPS-UPLOAD-REREGISTER",
        ("DPS-DELETE-FILE-GONE",),
        edit=_reregistered_url_dead,
    ),
    _v(
        "rejected-without-reasons",
        "submission.rejected carries an empty reasons list",
        ("DPS-UPLOAD-MD5-MISMATCH-REJECTED", "DPS-WH-REJECTED-REASONS"),
        ("DPS-WH-SIGNATURE",),
        outgoing=_edit_payload(_no_reasons),
    ),
    _v(
        "webhook-stale-timestamp",
        "webhook-timestamp lies 5 minutes before the send",
        "DPS-WH-TIMESTAMP",
        ("DPS-WH-SIGNATURE",),
        outgoing=_stale_timestamp,
        assumption="A-DPS-047",
    ),
    _v(
        "error-without-message",
        "404 errors carry no error.message",
        "DPS-ERROR-ENVELOPE",
        ("DPS-AUTH-401",),
        edit=_error_without_message,
        assumption="A-DPS-033",
    ),
    _v(
        "text-plain-json",
        "submission reads typed text/plain",
        "DPS-HTTPS-JSON",
        ("DPS-STATUS-LIST-200",),
        edit=_text_json,
    ),
    _v(
        "401-as-403",
        "a missing or bad token answers 403",
        "DPS-AUTH-401",
        ("DPS-STATUS-GET-200",),
        edit=_status_edit("GET", SUBMISSION, 401, 403),
    ),
    _v(
        "reader-cannot-read",
        "a {contractId}_R token is refused reads",
        ("DPS-AUTH-READ-ROLE", "DPS-AUTH-READ-ONLY-CLIENT"),
        ("DPS-STATUS-GET-200",),
        edit=_reader_forbidden,
    ),
    _v(
        "no-role-reads",
        "a token without roles may read",
        "DPS-AUTH-READ-ROLE",
        ("DPS-STATUS-GET-200",),
        edit=_status_edit(
            "GET",
            SUBMISSION,
            403,
            200,
            _fake_submission(),
            lambda c: c.client() != "dps-reader-test",
        ),
    ),
    _v(
        "reader-writes",
        "a {contractId}_R token may create",
        ("DPS-AUTH-WRITE-ROLE", "DPS-AUTH-READ-ONLY-CLIENT"),
        ("DPS-STATUS-CREATE-201",),
        edit=_reader_writes,
    ),
    _v(
        "other-contract-404",
        "another contract answers 404",
        "DPS-AUTH-OTHER-CONTRACT-403",
        ("DPS-STATUS-GET-200",),
        edit=_status_edit("GET", r"/v1/contracts/c3a0/", 403, 404),
        assumption="A-DPS-006",
    ),
    _v(
        "dissemination-any-role",
        "any token may order a dissemination",
        "DPS-AUTH-DISSEMINATION-ROLE",
        ("DPS-NOT-FOUND-ARCHIVE-404",),
        edit=_status_edit(
            "POST",
            DISSEMINATIONS,
            403,
            201,
            {"disseminationId": FAKE_ID, "archiveId": "x", "status": "RECEIVED"},
        ),
    ),
    _v(
        "client-id-from-body",
        "created submissions name another client",
        "DPS-AUTH-CLIENTID-FROM-TOKEN",
        ("DPS-STATUS-CREATE-201",),
        edit=_json_edit("POST", SUBMISSIONS, _set("clientId", "someone-else")),
    ),
    _v(
        "short-ids",
        "the fixture submission reads with a 10-character id",
        "DPS-ID-BASE62",
        ("DPS-STATUS-LIST-200",),
        edit=_fixture_id_cut,
    ),
    _v(
        "path-500",
        "malformed submissionIds answer 500",
        "DPS-ID-PATH-400",
        (),
        edit=_status_edit("GET", SUBMISSION, 400, 500),
    ),
    _v(
        "non-json-accepted",
        "a body that is not JSON creates a submission",
        "DPS-BODY-400",
        ("DPS-OBJECTID-PATTERN-400",),
        edit=_status_edit(
            "POST", SUBMISSIONS, 400, 201, _fake_submission(), lambda c: c.request_json() is None
        ),
    ),
    _v(
        "short-object-id",
        "a two-character objectId is accepted",
        "DPS-OBJECTID-PATTERN-400",
        ("DPS-BODY-400",),
        edit=_status_edit(
            "POST",
            SUBMISSIONS,
            400,
            201,
            _fake_submission(),
            lambda c: _request_field(c, "objectId") == "ab",
        ),
    ),
    _v(
        "priority-zero",
        "priority 0 is accepted",
        "DPS-PRIORITY-RANGE-400",
        ("DPS-BODY-400",),
        edit=_status_edit(
            "POST",
            SUBMISSIONS,
            400,
            201,
            _fake_submission(),
            lambda c: _request_field(c, "priority") == 0,
        ),
    ),
    _v(
        "priority-default-1",
        "an omitted priority becomes 1",
        "DPS-PRIORITY-DEFAULT",
        ("DPS-STATUS-CREATE-201",),
        edit=_json_edit("POST", SUBMISSIONS, _set("priority", 1)),
    ),
    _v(
        "metadata-type-optional",
        "metadata without type is accepted",
        "DPS-METADATA-REQUIRED-400",
        ("DPS-BODY-400",),
        edit=_status_edit(
            "POST",
            SUBMISSIONS,
            400,
            201,
            _fake_submission(),
            lambda c: (
                _request_field(c, "metadata", "type") is None
                and isinstance(_request_field(c, "metadata"), dict)
            ),
        ),
    ),
    _v(
        "closed-type-vocabulary",
        "an unlisted metadata type is refused",
        "DPS-METADATA-TOLERANT",
        ("DPS-STATUS-CREATE-201",),
        edit=_status_edit(
            "POST",
            SUBMISSIONS,
            201,
            400,
            {"error": {"code": "VALIDATION_ERROR", "message": "type"}},
            lambda c: _request_field(c, "metadata", "type") not in (None, "Bok"),
        ),
        assumption="A-DPS-009",
    ),
    _v(
        "upper-case-checksum",
        "an upper-case MD5 is accepted",
        "DPS-CHECKSUM-FORMAT-400",
        ("DPS-FILEPATH-400",),
        edit=_status_edit(
            "POST",
            FILES,
            400,
            201,
            _fake_file(),
            lambda c: str(_request_field(c, "checksum")).isupper(),
        ),
    ),
    _v(
        "empty-file-path",
        "an empty filePath is accepted",
        "DPS-FILEPATH-400",
        ("DPS-CHECKSUM-FORMAT-400",),
        edit=_status_edit(
            "POST", FILES, 400, 201, _fake_file(), lambda c: _request_field(c, "filePath") == ""
        ),
        assumption="A-DPS-034",
    ),
    _v(
        "object-id-upper",
        "reads show the objectId in upper case",
        "DPS-OBJECTID-ECHO",
        ("DPS-STATUS-CREATE-201",),
        edit=_json_edit(
            "GET", SUBMISSION, lambda b: b.__setitem__("objectId", str(b.get("objectId")).upper())
        ),
    ),
    _v(
        "create-200",
        "createSubmission answers 200",
        "DPS-STATUS-CREATE-201",
        ("DPS-STATUS-GET-200",),
        edit=_status_edit("POST", SUBMISSIONS, 201, 200),
    ),
    _v(
        "list-without-page",
        "the list has no page object",
        "DPS-STATUS-LIST-200",
        ("DPS-STATUS-GET-200",),
        edit=_json_edit("GET", SUBMISSIONS, lambda b: b.pop("page", None)),
    ),
    _v(
        "get-without-status",
        "a submission reads without status",
        "DPS-STATUS-GET-200",
        ("DPS-STATUS-LIST-200",),
        edit=_json_edit("GET", SUBMISSION, lambda b: b.pop("status", None)),
    ),
    _v(
        "delete-200",
        "deleteSubmission answers 200 with a body",
        "DPS-STATUS-DELETE-204",
        ("DPS-STATUS-CREATE-201",),
        edit=_status_edit("DELETE", SUBMISSION, 204, 200, {"deleted": True}),
    ),
    _v(
        "register-200",
        "registerFile answers 200",
        "DPS-STATUS-REGISTER-FILE-201",
        ("DPS-STATUS-CREATE-201",),
        edit=_status_edit("POST", FILES, 201, 200),
    ),
    _v(
        "file-without-url",
        "getFile has no uploadUrl",
        "DPS-STATUS-GET-FILE-200",
        ("DPS-STATUS-GET-200",),
        edit=_json_edit("GET", FILE, lambda b: b.pop("uploadUrl", None)),
    ),
    _v(
        "delete-file-200",
        "deleteFile answers 200 with a body",
        "DPS-STATUS-DELETE-FILE-204",
        ("DPS-STATUS-DELETE-204",),
        edit=_status_edit("DELETE", FILE, 204, 200, {"deleted": True}),
    ),
    _v(
        "finalize-without-files",
        "finalize lists no files",
        "DPS-STATUS-FINALIZE-200",
        ("DPS-STATUS-CREATE-201",),
        edit=_json_edit("POST", FINALIZE, lambda b: b.pop("files", None)),
    ),
    _v(
        "event-200",
        "createSubmissionEvent answers 200",
        "DPS-STATUS-EVENT-201",
        ("DPS-STATUS-CREATE-201",),
        edit=_status_edit("POST", EVENTS, 201, 200),
        assumption="A-DPS-010",
    ),
    _v(
        "dissemination-202",
        "createDissemination answers 202",
        "DPS-STATUS-DISSEMINATION-CREATE-201",
        ("DPS-NOT-FOUND-ARCHIVE-404",),
        edit=_status_edit("POST", DISSEMINATIONS, 201, 202),
    ),
    _v(
        "dissemination-without-status",
        "a dissemination reads without status",
        "DPS-STATUS-DISSEMINATION-GET-200",
        ("DPS-STATUS-DISSEMINATION-CREATE-201",),
        edit=_json_edit("GET", DISSEMINATION, lambda b: b.pop("status", None)),
    ),
    _v(
        "new-with-archive-id",
        "a new submission carries an archiveId",
        "DPS-CREATE-INITIAL-STATE",
        ("DPS-STATUS-CREATE-201",),
        edit=_json_edit("POST", SUBMISSIONS, _set("archiveId", str(uuid.uuid4()))),
        assumption="A-DPS-017",
    ),
    _v(
        "duplicate-object-id-400",
        "a duplicate objectId answers 400",
        "DPS-CONFLICT-OBJECTID-409",
        ("DPS-STATUS-CREATE-201",),
        edit=_status_edit("POST", SUBMISSIONS, 409, 400),
    ),
    _v(
        "object-id-unique-across-contracts",
        "an objectId used in one contract answers 409 in another",
        "DPS-OBJECTID-PER-CONTRACT",
        ("DPS-CONFLICT-OBJECTID-409", "DPS-STATUS-CREATE-201"),
        edit=_object_id_unique_across_contracts,
        assumption="A-DPS-011",
    ),
    _v(
        "file-always-packaged",
        "registerFile reports isPackaged true",
        "DPS-FILE-ECHO",
        ("DPS-STATUS-REGISTER-FILE-201",),
        edit=_json_edit("POST", FILES, _set("isPackaged", True)),
    ),
    _v(
        "duplicate-file-path-201",
        "a duplicate filePath is registered",
        "DPS-CONFLICT-FILEPATH-409",
        ("DPS-FILE-ECHO",),
        edit=_status_edit(
            "POST", FILES, 409, 201, _fake_file(), lambda c: c.error_details() == "filePath"
        ),
    ),
    _v(
        "unknown-submission-403",
        "an unknown submission answers 403",
        "DPS-NOT-FOUND-SUBMISSION-404",
        ("DPS-NOT-FOUND-FILE-404",),
        edit=_status_edit("GET", SUBMISSION, 404, 403),
    ),
    _v(
        "unknown-file-400",
        "an unknown fileId answers 400",
        "DPS-NOT-FOUND-FILE-404",
        ("DPS-NOT-FOUND-SUBMISSION-404",),
        edit=_status_edit("GET", FILE, 404, 400, when=lambda c: c.error_details() == "fileId"),
    ),
    _v(
        "deleted-still-readable",
        "a deleted submission still reads 200",
        ("DPS-DELETE-SUBMISSION-GONE", "DPS-NOT-FOUND-SUBMISSION-404"),
        ("DPS-STATUS-DELETE-204",),
        edit=_deleted_still_there,
        assumption="A-DPS-012",
    ),
    _v(
        "deleted-file-path-taken",
        "a deleted file's filePath stays taken",
        ("DPS-DELETE-FILE-GONE", "DPS-UPLOAD-REREGISTER"),
        ("DPS-STATUS-DELETE-FILE-204",),
        edit=_deleted_file_path_taken,
    ),
    _v(
        "same-upload-url",
        "registering again returns the old uploadUrl",
        "DPS-UPLOAD-REREGISTER",
        ("DPS-DELETE-FILE-GONE",),
        edit=_same_upload_url,
    ),
    _v(
        "put-needs-token",
        "the uploadUrl refuses a PUT without Authorization",
        "DPS-UPLOAD-PUT-PRESIGNED",
        ("DPS-STATUS-REGISTER-FILE-201",),
        edit=_put_needs_auth,
    ),
    _v(
        "one-put-per-url",
        "an uploadUrl takes one PUT only",
        "DPS-UPLOAD-RETRY-SAME-URL",
        ("DPS-UPLOAD-PUT-PRESIGNED",),
        edit=_one_put_per_url,
    ),
    _v(
        "reason-code-renamed",
        "the rejection reason is not FILE_CHECKSUM_MISMATCH",
        "DPS-UPLOAD-MD5-MISMATCH-REJECTED",
        ("DPS-FINALIZE-ASYNC-VALIDATION",),
        outgoing=_edit_payload(_rename_reason),
        assumption="A-DPS-013",
    ),
    _v(
        "object-key-elsewhere",
        "s3ObjectKey has another layout",
        "DPS-S3-OBJECT-KEY-LAYOUT",
        ("DPS-STATUS-REGISTER-FILE-201",),
        edit=_json_edit("POST", FILES, _set("s3ObjectKey", "bucket/flat-key")),
        assumption="A-DPS-052",
    ),
    _v(
        "finalize-no-files-409",
        "finalize without files answers 409",
        "DPS-FINALIZE-NO-FILES-400",
        ("DPS-FINALIZE-MISSING-UPLOAD-400",),
        edit=_status_edit("POST", FINALIZE, 400, 409, when=lambda c: c.error_details() == "files"),
    ),
    _v(
        "finalize-missing-upload-200",
        "finalize with a missing upload answers 409",
        "DPS-FINALIZE-MISSING-UPLOAD-400",
        ("DPS-FINALIZE-NO-FILES-400",),
        edit=_status_edit("POST", FINALIZE, 400, 409, when=lambda c: c.error_details() != "files"),
    ),
    _v(
        "sum-size-off",
        "finalize and every read report one byte more",
        "DPS-FINALIZE-SUMSIZE",
        ("DPS-STATUS-FINALIZE-200",),
        edit=_sum_size_off,
    ),
    _v(
        "finalize-terminal",
        "finalize answers a terminal status",
        "DPS-FINALIZE-ASYNC-VALIDATION",
        ("DPS-UPLOAD-MD5-MISMATCH-REJECTED",),
        edit=_json_edit("POST", FINALIZE, _set("status", "REJECTED")),
    ),
    _v(
        "priority-drifts",
        "the priority changes after finalize",
        "DPS-STATE-FROZEN-AFTER-FINALIZE",
        ("DPS-STATUS-FINALIZE-200",),
        edit=_json_edit("GET", SUBMISSION, _priority_change_after_finalize),
        assumption="A-DPS-053",
    ),
    _v(
        "file-list-grows",
        "reads after finalize list one more file",
        "DPS-STATE-FROZEN-AFTER-FINALIZE",
        ("DPS-STATUS-FINALIZE-200",),
        edit=_json_edit("GET", SUBMISSION, _file_list_grows),
    ),
    _v(
        "files-after-finalize",
        "files can be registered after finalize",
        "DPS-STATE-FILES-REGISTERED-409",
        ("DPS-STATE-FINALIZE-ONCE-409",),
        edit=_status_edit("POST", FILES, 409, 201, _fake_file()),
    ),
    _v(
        "finalize-twice",
        "a second finalize answers 200",
        "DPS-STATE-FINALIZE-ONCE-409",
        ("DPS-STATE-FILES-REGISTERED-409",),
        edit=_status_edit("POST", FINALIZE, 409, 200, _fake_submission(status="UPLOAD_COMPLETED")),
        assumption="A-DPS-014",
    ),
    _v(
        "delete-after-finalize",
        "a finalized submission can be deleted",
        "DPS-STATE-DELETE-BEFORE-FINALIZE-409",
        ("DPS-STATE-FINALIZE-ONCE-409",),
        edit=_status_edit("DELETE", SUBMISSION, 409, 204),
        assumption="A-DPS-015",
    ),
    _v(
        "events-after-terminal",
        "events are stored on terminal submissions",
        "DPS-STATE-EVENTS-BEFORE-TERMINAL-409",
        ("DPS-STATUS-EVENT-201",),
        edit=_status_edit("POST", EVENTS, 409, 201, {"agent": {}, "event": {}}),
        assumption="A-DPS-016",
    ),
    _v(
        "validating-as-registered",
        "VALIDATING reads as REGISTERED",
        "DPS-LIFECYCLE-FORWARD",
        ("DPS-LIFECYCLE-TERMINAL",),
        edit=_status_rename(SUBMISSION, "VALIDATING", "REGISTERED"),
    ),
    _v(
        "preserved-not-final",
        "a PRESERVED submission reads ARCHIVING again",
        "DPS-LIFECYCLE-TERMINAL",
        ("DPS-STATUS-FINALIZE-200",),
        # The suite's own submissions (the fixture's first read is the preflight's).
        edit=_leaves_terminal(
            r"/v1/contracts/[^/]+/submissions/(?!fix)[^/]+$", "PRESERVED", "ARCHIVING"
        ),
    ),
    _v(
        "preserved-without-archive-id",
        "PRESERVED submissions have no archiveId",
        "DPS-LIFECYCLE-ARCHIVEID",
        ("DPS-LIFECYCLE-FORWARD",),
        edit=_json_edit("GET", SUBMISSION, _drop_archive_id),
    ),
    _v(
        "processing-status",
        "TRANSFERRING reads as the undocumented PROCESSING",
        "DPS-LIFECYCLE-UNKNOWN-STATUS",
        ("DPS-LIFECYCLE-FORWARD", "DPS-LIFECYCLE-TERMINAL"),
        edit=_status_rename(SUBMISSION, "TRANSFERRING", "PROCESSING"),
    ),
    _v(
        "fixity-as-received",
        "FIXITY_CHECK reads as RECEIVED",
        "DPS-DISSEMINATION-FORWARD",
        ("DPS-DISSEMINATION-TERMINAL",),
        edit=_status_rename(DISSEMINATION, "FIXITY_CHECK", "RECEIVED"),
    ),
    _v(
        "disseminated-not-final",
        "a DISSEMINATED order reads UPLOADING_TO_S3 again",
        "DPS-DISSEMINATION-TERMINAL",
        ("DPS-STATUS-DISSEMINATION-CREATE-201",),
        edit=_leaves_terminal(DISSEMINATION, "DISSEMINATED", "UPLOADING_TO_S3"),
    ),
    _v(
        "date-without-offset",
        "dateCreated has no offset",
        "DPS-DISSEMINATION-ECHO",
        ("DPS-DISSEMINATION-FORWARD",),
        edit=_json_edit("POST", DISSEMINATIONS, _set("dateCreated", "2026-01-01T10:00:00")),
    ),
    _v(
        "unknown-archive-400",
        "an unknown archiveId answers 400",
        "DPS-NOT-FOUND-ARCHIVE-404",
        ("DPS-AIP-NOT-PRESERVED-422",),
        edit=_status_edit("POST", DISSEMINATIONS, 404, 400),
    ),
    _v(
        "unknown-dissemination-403",
        "an unknown disseminationId answers 403",
        "DPS-NOT-FOUND-DISSEMINATION-404",
        ("DPS-NOT-FOUND-ARCHIVE-404",),
        edit=_status_edit("GET", DISSEMINATION, 404, 403),
    ),
    _v(
        "parallel-disseminations",
        "a second order in progress is accepted",
        "DPS-CONFLICT-DISSEMINATION-409",
        ("DPS-STATUS-DISSEMINATION-CREATE-201",),
        edit=_status_edit(
            "POST",
            DISSEMINATIONS,
            409,
            201,
            {"disseminationId": FAKE_ID, "archiveId": "x", "status": "RECEIVED"},
        ),
    ),
    _v(
        "no-second-order",
        "a delivered archiveId can never be ordered again",
        "DPS-DISSEMINATION-AFTER-TERMINAL",
        ("DPS-CONFLICT-DISSEMINATION-409",),
        edit=_no_second_order,
        assumption="A-DPS-019",
    ),
    _v(
        "not-preserved-409",
        "an unpreserved AIP answers 409",
        "DPS-AIP-NOT-PRESERVED-422",
        ("DPS-NOT-FOUND-ARCHIVE-404",),
        edit=_status_edit("POST", DISSEMINATIONS, 422, 409),
    ),
    _v(
        "invalid-body-422",
        "a body without metadata answers 422",
        "DPS-UNPROCESSABLE-SCOPE",
        ("DPS-OBJECTID-PATTERN-400",),
        edit=_status_edit(
            "POST",
            SUBMISSIONS,
            400,
            422,
            when=lambda c: (
                isinstance(c.request_json(), dict) and "metadata" not in c.request_json()
            ),
        ),
    ),
    _v(
        "any-event-type",
        "an unknown eventType is stored",
        "DPS-EVENT-TYPE-400",
        ("DPS-STATUS-EVENT-201",),
        edit=_event_echo(lambda b: b["event"].get("eventType") == "teleportation"),
    ),
    _v(
        "any-agent-type",
        "agentType robot is stored",
        "DPS-EVENT-REQUIRED-400",
        ("DPS-EVENT-TYPE-400",),
        edit=_event_echo(lambda b: b["agent"].get("agentType") == "robot"),
    ),
    _v(
        "local-event-time",
        "an eventDateTime without offset is stored",
        "DPS-EVENT-DATETIME-OFFSET",
        ("DPS-EVENT-TYPE-400",),
        edit=_event_echo(lambda b: str(b["event"].get("eventDateTime", "")).endswith(":48")),
    ),
    _v(
        "one-based-pages",
        "page numbers start at 1",
        "DPS-LIST-PAGE-ENVELOPE",
        ("DPS-STATUS-LIST-200",),
        edit=_json_edit(
            "GET", SUBMISSIONS, lambda b: b["page"].__setitem__("number", b["page"]["number"] + 1)
        ),
    ),
    _v(
        "list-other-contract",
        "list items name another contract",
        "DPS-LIST-CONTRACT-SCOPE",
        ("DPS-STATUS-LIST-200",),
        edit=_json_edit(
            "GET",
            SUBMISSIONS,
            lambda b: [i.__setitem__("contractId", "ffff") for i in b["content"]],
        ),
    ),
    _v(
        "total-pages-off",
        "totalPages is one too many",
        "DPS-LIST-PAGE-CONSISTENT",
        ("DPS-LIST-PAGE-ENVELOPE",),
        edit=_json_edit(
            "GET",
            SUBMISSIONS,
            lambda b: b["page"].__setitem__("totalPages", b["page"]["totalPages"] + 1),
        ),
    ),
    _v(
        "flat-404",
        "404 bodies are not the error envelope",
        "DPS-ERROR-ENVELOPE",
        ("DPS-AUTH-401",),
        edit=_not_found_flat,
    ),
    _v(
        "lower-case-code",
        "404 codes are lower case",
        "DPS-ERROR-CODE-FORMAT",
        ("DPS-ERROR-ENVELOPE",),
        edit=_lower_code,
        assumption="A-DPS-051",
    ),
    _v(
        "webhook-text-plain",
        "webhooks are sent as text/plain",
        "DPS-WH-TRANSPORT",
        ("DPS-WH-SIGNATURE",),
        outgoing=_text_plain,
    ),
    _v(
        "webhook-no-timestamp",
        "webhooks lack webhook-timestamp",
        "DPS-WH-HEADERS",
        ("DPS-WH-PAYLOAD-SCHEMA",),
        outgoing=_no_timestamp,
    ),
    _v(
        "webhook-new-id-on-retry",
        "a retry gets a new webhook-id",
        "DPS-WH-ID-STABLE",
        ("DPS-WH-SIGNATURE",),
        outgoing=_new_id_on_retry,
    ),
    _v(
        "webhook-milliseconds",
        "webhook-timestamp in milliseconds",
        "DPS-WH-TIMESTAMP",
        ("DPS-WH-SIGNATURE",),
        outgoing=_milliseconds,
    ),
    _v(
        "webhook-wrong-key",
        "webhooks signed with another key",
        "DPS-WH-SIGNATURE",
        ("DPS-WH-TIMESTAMP",),
        outgoing=_wrong_key,
    ),
    _v(
        "secret-without-prefix",
        "the subscription's secret lacks whsec_",
        "DPS-WH-SECRET-FORMAT",
        ("DPS-WH-HEADERS",),
        edit=_secret_without_prefix,
        assumption="A-DPS-023",
    ),
    _v(
        "webhook-no-timestamp-field",
        "payloads lack the envelope's timestamp",
        "DPS-WH-PAYLOAD-SCHEMA",
        ("DPS-WH-SIGNATURE",),
        outgoing=_edit_payload(_no_timestamp_field),
    ),
    _v(
        "webhook-never-retried",
        "a delivery answered 503 is not retried",
        "DPS-WH-RETRY-5XX",
        ("DPS-WH-SIGNATURE",),
        outgoing=_never_retry,
    ),
    _v(
        "preserved-other-archive",
        "submission.preserved names another archiveId",
        ("DPS-WH-PRESERVED-CONSISTENT", "DPS-LIFECYCLE-ARCHIVEID"),
        ("DPS-WH-SIGNATURE",),
        outgoing=_edit_payload(_other_archive),
    ),
    _v(
        "rejected-empty-message",
        "rejection reasons have an empty message",
        "DPS-WH-REJECTED-REASONS",
        ("DPS-WH-SIGNATURE",),
        outgoing=_edit_payload(_reason_without_message),
    ),
    _v(
        "delivered-wrong-size",
        "dissemination.delivered states a wrong filesize",
        "DPS-WH-DELIVERED-FILES",
        ("DPS-WH-SIGNATURE",),
        outgoing=_edit_payload(_wrong_filesize),
    ),
)
