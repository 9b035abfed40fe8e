"""DPS v1 conformance profile: one function per `x-kontrakt-rules` id of `specs/dps/v1`.

Every rule is driven by the manifest and the spec only: operation paths, error codes (by trigger),
the lifecycles (`x-kontrakt-lifecycles`: states, terminal flags, transitions), the role claim
(`x-kontrakt-roles.claim`), request examples and the webhook payload schemas (`webhooks:`) are read
from the document, so the profile runs against any DPS implementation. Rules that cannot be judged
from outside over HTTP (the receiver rules DPS-WHR-*, the 5 GB limit, URL lifetimes, retry
schedules, SIP content validation, 500s, races, internal endpoints) have no function and are
reported as "not automated". DPS-OBJECTID-PER-CONTRACT is automated when the manifest names a
`second_contract_id` (and, when the `auth` client cannot write it, `credentials.second_contract_writer`).

What a manifest gives is declared once, below the helpers (`rules.fixture`, `rules.role`,
`rules.capability`): `kontrakt init dps/v1` and `kontrakt manifest-schema --profile dps/v1` are
written from those declarations. Only `contract_id` is required; test data the suite can make
through the API (a PRESERVED and a REJECTED submission, a file, an archiveId) it makes in write
mode, and the fixtures naming existing ones serve the read-only mode.

Basis. Statuses, shapes and behaviours NB publishes are failures; where the rule leans on one of
kontrakt's assumptions (the error-code vocabulary A-DPS-002, 409 for state preconditions
A-DPS-014..016, 403 rather than 404 for another contract A-DPS-006, ...) a difference is a
deviation (`ctx.deviate`): a warning at the default level, a failure at `level: strict`. Where NB's
text allows several readings (rejection reasons on the submission or only in the webhook, a
re-registration signing the same URL) the rule accepts each and records it (`ctx.reading`).

The stateful part runs once per run and is shared: four submissions (a good one, one whose upload
has the wrong MD5, one uploaded twice to the same URL, one whose first webhook the suite's receiver
answers 503) go through create -> register -> upload -> finalize together and are polled until
terminal; the good one's archiveId is then disseminated. Each rule judges what it needs and cites
those exchanges as evidence.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import hashlib
import hmac
import itertools
import json
import re
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urljoin, urlsplit

from kontrakt.conformance import auth as tokens
from kontrakt.conformance.probe import Exchange, Probe, ProbeResponse
from kontrakt.conformance.registry import (
    Failure,
    NotApplicable,
    RuleContext,
    RuleError,
    RuleSet,
    Warn,
)

__all__ = ["rules"]

rules = RuleSet("dps/v1")
rule = rules.rule

CREATE, LIST, GET, DELETE = (
    "createSubmission",
    "listSubmissions",
    "getSubmissionStatus",
    "deleteSubmission",
)
REGISTER, GET_FILE, DELETE_FILE = "registerFile", "getFile", "deleteFile"
FINALIZE, EVENT = "finalizeSubmission", "createSubmissionEvent"
CREATE_DIS, GET_DIS = "createDissemination", "getDissemination"
BASE62 = re.compile(r"^[0-9a-zA-Z]{22}$")
UPPER_SNAKE = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$")
RFC3339_OFFSET = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.I
)
# Non-terminal values of NB's published swagger enum (2025-05) that the newer prose dropped: a
# provider following the swagger shows them, read as in progress without a warning (FACTS §6).
SWAGGER_STATUSES = ("VALIDATED", "TRANSFERRED_TO_ARCHIVE")
UNKNOWN_ID = "Zz" + "0" * 20  # well-formed Base62/22, never issued by a sane provider
TIMESTAMP_SKEW = 60  # seconds between a delivery's webhook-timestamp and its arrival


# --- small helpers ------------------------------------------------------------------------------


def _path(ctx: RuleContext, operation: str, **values: str) -> str:
    return ctx.spec.operation(operation).path.format(**values)


def _contract(ctx: RuleContext) -> str:
    return str(ctx.fixture("contract_id"))


def _number(ctx: RuleContext, name: str, default: float) -> float:
    value = ctx.fixtures.get(name, default)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise RuleError(f"fixture {name} is not a number") from None


def _writable(ctx: RuleContext) -> None:
    if ctx.manifest.limits.read_only:
        raise NotApplicable("limits.read_only: the rule needs writes")
    if not ctx.has_capability("write"):
        raise NotApplicable("capability 'write' is not among the manifest's capabilities")


def _body(answer: ProbeResponse) -> Any:
    try:
        return answer.json()
    except Exception:
        return None


def _mapping(answer: ProbeResponse) -> Mapping[str, Any]:
    body = _body(answer)
    return body if isinstance(body, Mapping) else {}


def _status_of(answer: ProbeResponse) -> str | None:
    value = _mapping(answer).get("status")
    return value if isinstance(value, str) else None


def _codes(ctx: RuleContext, **filters: Any) -> set[str | int]:
    codes = ctx.spec.error_codes(**filters)
    return codes or set(ctx.rule.codes)


def _envelope_problem(ctx: RuleContext, answer: ProbeResponse) -> str | None:
    """Why `answer` is not the DPS error envelope as NB publishes it (None: it is).

    The API page shows `{"error": {"code", "message", "details"}}` with string values; which of
    the three members may be left out it does not say (A-DPS-033, see `_envelope_deviations`),
    and extra members are not forbidden.
    """
    if answer.content_type != "application/json":
        return f"the error body is {answer.content_type or 'untyped'}, not application/json"
    body = _body(answer)
    if not isinstance(body, Mapping):
        return "the error body is not a JSON object"
    error = body.get("error")
    if not isinstance(error, Mapping):
        return 'the error body has no "error" object'
    for key in ("code", "message", "details"):
        value = error.get(key)
        if value is not None and not isinstance(value, str):
            return f"error.{key} is not a string"
    return None


def _envelope_deviations(ctx: RuleContext, answer: ProbeResponse, what: str = "") -> None:
    """kontrakt reads error.code and error.message as always present (A-DPS-033)."""
    error = _mapping(answer).get("error")
    if not isinstance(error, Mapping):
        return
    missing = [k for k in ("code", "message") if not error.get(k)]
    if missing:
        prefix = f"{what}: " if what else ""
        ctx.deviate("A-DPS-033", f"{prefix}the error envelope has no {', '.join(missing)}", answer)


class Judge:
    """A rule's checks of answers: the statuses and the envelope NB publishes are failures; a
    status kontrakt chose (`assumption=`) and the code string (A-DPS-002, or the code's own
    assumption) are deviations, which warn at the default level and fail at strict."""

    def __init__(self, ctx: RuleContext) -> None:
        self.ctx = ctx

    def status(
        self, answer: ProbeResponse, *statuses: int, what: str = "", assumption: str | None = None
    ) -> bool:
        """`answer` has one of `statuses`; with `assumption` another one is a deviation."""
        if answer.status in statuses:
            return True
        wanted = " or ".join(str(s) for s in statuses)
        prefix = f"{what}: " if what else ""
        message = f"{prefix}expected HTTP {wanted}, got {answer.status}"
        if assumption is not None:
            self.ctx.deviate(assumption, message, answer)
            return False
        raise self.ctx.fail(message, answer)

    def refused(
        self,
        answer: ProbeResponse,
        status: int,
        codes: Iterable[str | int] = (),
        *,
        what: str = "",
        assumption: str | None = None,
        code_assumption: str | None = None,
    ) -> None:
        """A refusal with `status` and the error envelope.

        With `assumption` the exact status is kontrakt's choice: any other 4xx is a deviation,
        while a success or a 5xx still fails. The code is checked against `codes` as a deviation
        (A-DPS-002: NB publishes no code list; `code_assumption` names a code's own assumption).
        """
        prefix = f"{what}: " if what else ""
        if answer.status != status:
            if assumption is None or not 400 <= answer.status < 500:
                raise self.ctx.fail(f"{prefix}expected HTTP {status}, got {answer.status}", answer)
            self.ctx.deviate(
                assumption, f"{prefix}expected HTTP {status}, got {answer.status}", answer
            )
        problem = _envelope_problem(self.ctx, answer)
        if problem:
            raise self.ctx.fail(f"{prefix}{problem}", answer)
        _envelope_deviations(self.ctx, answer, what)
        wanted = set(codes)
        if wanted and answer.status == status:
            self.ctx.expect_code(answer, wanted, assumption=code_assumption)

    def valid(self, answer: ProbeResponse, operation: str) -> Any:
        return self.ctx.expect_valid(answer, operation)


class _NoList(Exception):
    """The provider has no list at the path kontrakt assumes (A-DPS-021)."""


def _listed(ctx: RuleContext, answer: ProbeResponse) -> ProbeResponse:
    """`answer` of the list endpoint, or a deviation from A-DPS-021 (NB publishes neither the
    list's path nor its parameters) when the path is unknown to the provider."""
    if answer.status in (404, 405, 501):
        ctx.deviate(
            "A-DPS-021",
            f"GET {answer.exchange.url} answered {answer.status}: no submission list there",
            answer,
        )
        raise _NoList
    return answer


def _list_rule(func: Callable[[RuleContext], None]) -> Callable[[RuleContext], None]:
    """A list rule ends at a missing list endpoint with the A-DPS-021 deviation."""

    def judged(ctx: RuleContext) -> None:
        with contextlib.suppress(_NoList):
            func(ctx)

    judged.__name__ = func.__name__
    judged.__doc__ = func.__doc__
    return judged


# --- lifecycles and roles from the spec ---------------------------------------------------------


@dataclass(frozen=True)
class Lifecycle:
    states: tuple[str, ...]
    terminal: frozenset[str]
    transitions: Mapping[str, tuple[str, ...]]

    @classmethod
    def of(cls, ctx: RuleContext, name: str) -> Lifecycle:
        entry = (ctx.spec.extension("lifecycles") or {}).get(name)
        if not isinstance(entry, Mapping):
            raise RuleError(f"the spec has no x-kontrakt-lifecycles.{name}")
        states = entry.get("states") or {}
        return cls(
            tuple(states),
            frozenset(s for s, v in states.items() if (v or {}).get("terminal")),
            {str(k): tuple(v or ()) for k, v in (entry.get("transitions") or {}).items()},
        )

    def reachable(self, start: str) -> set[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            for nxt in self.transitions.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    def backwards(self, statuses: Sequence[str]) -> tuple[str, str] | None:
        """The first step of `statuses` (unknown ones skipped) that is not forward."""
        known = [s for s in statuses if s in self.states]
        for old, new in itertools.pairwise(known):
            if new != old and new not in self.reachable(old):
                return old, new
        return None


def _roles_claim(ctx: RuleContext) -> str:
    for op in ctx.spec.operations:
        roles = op.extension("roles")
        if isinstance(roles, Mapping) and roles.get("claim"):
            return str(roles["claim"])
    return "roles"


def _no_role_token(ctx: RuleContext) -> str:
    """A valid token of the provider's identity provider holding no role for the contract."""
    if ctx.has_role("no_role"):
        return ctx.role_token("no_role")
    minter = ctx.credentials.minter
    if minter is None:
        raise NotApplicable(
            "the manifest names no credentials.no_role (a client holding no role for "
            "contract_id) and no negative_auth.signing_key to mint one"
        )
    template = ctx.credentials.token()
    claims = tokens.claims_of(template)
    node: dict[str, Any] = claims
    *parents, leaf = _roles_claim(ctx).split(".")
    for part in parents:
        child = node.get(part)
        node[part] = child = dict(child) if isinstance(child, Mapping) else {}
        node = child
    node[leaf] = []
    now = int(time.time())
    claims.update(iat=now, exp=now + 120)
    claims.pop("nbf", None)
    token = minter.mint(claims, kid=tokens.header_of(template).get("kid"))
    ctx.probe.redactor.add(token)
    return token


def _read_only_token(ctx: RuleContext) -> str:
    return ctx.role_token("read_only")


# --- requests the rules share -------------------------------------------------------------------


def _request_example(ctx: RuleContext, operation: str) -> dict[str, Any]:
    media = ctx.spec.operation(operation).data["requestBody"]["content"]["application/json"]
    return copy.deepcopy(dict(media.get("example") or {}))


def _metadata(ctx: RuleContext) -> dict[str, Any]:
    given = ctx.fixtures.get("metadata")
    if isinstance(given, Mapping):
        return copy.deepcopy(dict(given))
    return dict(_request_example(ctx, CREATE)["metadata"])


def _object_id(label: str) -> str:
    return f"kontrakt-{label}-{uuid.uuid4().hex[:16]}"


def _create(
    ctx: RuleContext, label: str, *, contract: str | None = None, **extra: Any
) -> ProbeResponse:
    body: dict[str, Any] = {"objectId": _object_id(label), "metadata": _metadata(ctx), **extra}
    return ctx.probe.request(
        "POST", _path(ctx, CREATE, contractId=contract or _contract(ctx)), json_body=body
    )


def _created(ctx: RuleContext, label: str, **extra: Any) -> tuple[ProbeResponse, str]:
    answer = _create(ctx, label, **extra)
    if answer.status != 201 or not isinstance(_mapping(answer).get("submissionId"), str):
        raise RuleError(
            f"cannot set up the rule: createSubmission answered {answer.status} "
            "(see DPS-STATUS-CREATE-201)"
        )
    return answer, str(_mapping(answer)["submissionId"])


def _register(
    ctx: RuleContext,
    submission_id: str,
    path: str,
    content: bytes,
    checksum: str | None = None,
    *,
    packaged: bool = False,
) -> ProbeResponse:
    body: dict[str, Any] = {
        "filePath": path,
        "checksum": checksum or hashlib.md5(content).hexdigest(),
    }
    if packaged:
        body["isPackaged"] = True
    return ctx.probe.request(
        "POST",
        _path(ctx, REGISTER, contractId=_contract(ctx), submissionId=submission_id),
        json_body=body,
    )


def _upload(ctx: RuleContext, url: str, content: bytes) -> ProbeResponse:
    # FACTS §7: the raw bytes, Content-Length, no Authorization header.
    return ctx.probe.request(
        "PUT", url, content=content, auth=False, headers={"Content-Type": None}
    )


def _delete(ctx: RuleContext, contract: str, submission_id: str) -> ProbeResponse:
    """DELETE the submission (most often a rule's clean-up)."""
    return ctx.probe.request(
        "DELETE", _path(ctx, DELETE, contractId=contract, submissionId=submission_id)
    )


def _get(ctx: RuleContext, submission_id: str, *, auth: bool | str = True) -> ProbeResponse:
    return ctx.probe.request(
        "GET", _path(ctx, GET, contractId=_contract(ctx), submissionId=submission_id), auth=auth
    )


def _finalize(ctx: RuleContext, submission_id: str) -> ProbeResponse:
    return ctx.probe.request(
        "POST", _path(ctx, FINALIZE, contractId=_contract(ctx), submissionId=submission_id)
    )


# --- the suite's webhook receiver ---------------------------------------------------------------


@dataclass
class Delivery:
    received: float
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    def payload(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def data(self) -> Mapping[str, Any]:
        payload = self.payload()
        data = payload.get("data") if isinstance(payload, Mapping) else None
        return data if isinstance(data, Mapping) else {}

    def exchange(self, url: str) -> Exchange:
        return Exchange(
            method=self.method,
            url=url,
            request_headers=[[k, v] for k, v in self.headers.items()],
            request_body=self.body[:2048].decode("utf-8", errors="replace"),
            curl="(a webhook delivery received by the suite's receiver)",
            status=self.answered,
        )


class Receiver:
    """A local HTTP endpoint recording every delivery; it can fail chosen first deliveries."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, path: str = "/") -> None:
        self.deliveries: list[Delivery] = []
        self.fail_first: set[str] = set()  # submissionIds whose first delivery gets a 503
        self._failed: set[str] = set()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = receiver._answer(body)
                with receiver._lock:
                    receiver.deliveries.append(
                        Delivery(time.time(), "POST", self.path, headers, body, status)
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_PUT(self) -> None:
                self.do_POST()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}{path}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _answer(self, body: bytes) -> int:
        try:
            data = json.loads(body).get("data") or {}
        except (ValueError, AttributeError):
            return 204
        submission = data.get("submissionId") if isinstance(data, dict) else None
        with self._lock:
            if submission in self.fail_first and submission not in self._failed:
                self._failed.add(submission)
                return 503
        return 204

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def snapshot(self) -> list[Delivery]:
        with self._lock:
            return list(self.deliveries)

    def wait(self, predicate: Callable[[list[Delivery]], bool], seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while True:
            if predicate(self.snapshot()):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)


@dataclass
class Hooks:
    receiver: Receiver
    secret: str
    subscription: ProbeResponse | None


def _listen_address(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost"):
        raise RuleError("fixture webhook_receiver.url must be a 127.0.0.1 address")
    return "127.0.0.1", parts.port or 80, parts.path or "/"


def _setup_hooks(ctx: RuleContext) -> Hooks | None:
    """The receiver, subscribed or named by the manifest; None when neither is possible."""
    named = ctx.fixtures.get("webhook_receiver")
    if isinstance(named, Mapping) and named.get("url") and named.get("secret"):
        host, port, path = _listen_address(str(named["url"]))
        secret = str(named["secret"])
        ctx.probe.redactor.add(secret)
        return Hooks(Receiver(host, port, path), secret, None)
    subscribe = ctx.fixtures.get("webhook_subscribe_url")
    if not subscribe or ctx.manifest.limits.read_only:
        return None
    receiver = Receiver(path="/kontrakt-webhooks")
    url = urljoin(ctx.manifest.base_url + "/", str(subscribe))
    answer = ctx.probe.request("POST", url, json_body={"url": receiver.url})
    given = _mapping(answer).get("secret")
    if not (200 <= answer.status < 300) or not isinstance(given, str):
        receiver.close()
        raise RuleError(
            f"subscribing the suite's receiver at {url} answered {answer.status} without a secret"
        )
    ctx.probe.redactor.add(given)
    return Hooks(receiver, given, answer)


# --- the shared stateful run ------------------------------------------------------------------------


@dataclass
class Flow:
    """One submission driven through the lifecycle by the suite."""

    label: str
    object_id: str
    submission_id: str
    content: bytes
    created: ProbeResponse
    registered: list[ProbeResponse] = field(default_factory=list)
    uploads: list[ProbeResponse] = field(default_factory=list)
    finalize: ProbeResponse | None = None
    reads: list[ProbeResponse] = field(default_factory=list)
    rereads: list[ProbeResponse] = field(default_factory=list)

    @property
    def statuses(self) -> list[str]:
        found = [_status_of(self.created), _status_of(self.finalize) if self.finalize else None]
        found += [_status_of(r) for r in self.reads]
        return [s for s in found if s]

    @property
    def final(self) -> str | None:
        return _status_of(self.reads[-1]) if self.reads else None

    path: str = ""
    packaged: bool = False  # the manifest's package_file, a TAR/ZIP for transport only

    def file_path(self) -> str:
        return self.path or f"{self.object_id}/METS.xml"

    def evidence(self) -> list[ProbeResponse]:
        items = [self.created, *self.registered, *self.uploads]
        if self.finalize is not None:
            items.append(self.finalize)
        return items + self.reads[-3:] + self.rereads[-1:]


@dataclass
class DisseminationRun:
    created: ProbeResponse
    duplicate: ProbeResponse | None
    reads: list[ProbeResponse] = field(default_factory=list)
    rereads: list[ProbeResponse] = field(default_factory=list)
    again: ProbeResponse | None = None

    @property
    def dissemination_id(self) -> str | None:
        value = _mapping(self.created).get("disseminationId")
        return value if isinstance(value, str) else None

    @property
    def statuses(self) -> list[str]:
        found = [_status_of(self.created)] + [_status_of(r) for r in self.reads]
        return [s for s in found if s]


@dataclass
class State:
    flows: dict[str, Flow] | None = None
    flow_error: str | None = None
    hooks: Hooks | None = None
    hooks_tried: bool = False
    dissemination: DisseminationRun | None = None
    dissemination_error: str | None = None


_STATES: weakref.WeakKeyDictionary[Probe, State] = weakref.WeakKeyDictionary()


def _state(ctx: RuleContext) -> State:
    state = _STATES.get(ctx.probe)
    if state is None:
        state = _STATES[ctx.probe] = State()
    return state


def _hooks(ctx: RuleContext) -> Hooks:
    """The webhook receiver of this run (set up before any flow finalizes)."""
    state = _state(ctx)
    if not state.hooks_tried:
        state.hooks_tried = True
        if ctx.has_capability("webhooks"):
            state.hooks = _setup_hooks(ctx)
            if state.hooks is not None:
                receiver = state.hooks.receiver
                weakref.finalize(ctx.probe, receiver.close)
    if state.hooks is None:
        if ctx.manifest.limits.read_only:
            raise NotApplicable("limits.read_only: webhooks need writes to trigger them")
        raise NotApplicable(
            "the manifest gives neither fixture webhook_subscribe_url nor webhook_receiver"
        )
    return state.hooks


SCENARIOS = ("good", "mismatch", "retry-url", "webhook-retry")


def _flows(ctx: RuleContext) -> dict[str, Flow]:
    """The four shared submissions, run to a terminal status (once per run)."""
    _writable(ctx)
    if not ctx.has_capability("upload"):
        raise NotApplicable("capability 'upload' is not among the manifest's capabilities")
    state = _state(ctx)
    if state.flow_error is not None:
        raise RuleError(state.flow_error)
    if state.flows is not None:
        return state.flows
    with contextlib.suppress(NotApplicable):
        _hooks(ctx)
    hooks = state.hooks
    flows: dict[str, Flow] = {}
    package = None
    if ctx.has_fixture("package_file"):
        # A complete SIP of the provider's test data: a provider validating NB-SIP-STRUCTURE
        # would reject the suite's own one-file package.
        found = ctx.fixture_path("package_file")
        package = (found.name, found.read_bytes())
    try:
        for label in SCENARIOS:
            if label == "webhook-retry" and hooks is None:
                continue
            created, submission_id = _created(ctx, label)
            object_id = str(_mapping(created).get("objectId"))
            content = f"<mets OBJID={object_id!r} LABEL={label!r}/>".encode()
            flow = Flow(label, object_id, submission_id, content, created)
            if package is not None:
                flow.path, flow.content, flow.packaged = package[0], package[1], True
                content = package[1]
            flows[label] = flow
            checksum = hashlib.md5(content).hexdigest()
            registered = _register(
                ctx, submission_id, flow.file_path(), content, checksum, packaged=flow.packaged
            )
            flow.registered.append(registered)
            url = _mapping(registered).get("uploadUrl")
            if not 200 <= registered.status < 300 or not isinstance(url, str):
                raise RuleError(f"registerFile answered {registered.status} without an uploadUrl")
            if label == "mismatch":
                flow.uploads.append(_upload(ctx, url, content + b" (changed after registration)"))
            elif label == "retry-url":
                flow.uploads.append(_upload(ctx, url, b"an interrupted first attempt"))
                flow.uploads.append(_upload(ctx, url, content))
            else:
                flow.uploads.append(_upload(ctx, url, content))
            if label == "webhook-retry" and hooks is not None:
                hooks.receiver.fail_first.add(submission_id)
        for flow in flows.values():
            flow.finalize = _finalize(ctx, flow.submission_id)
        _poll(ctx, flows)
    except RuleError as exc:
        state.flow_error = exc.message
        raise
    state.flows = flows
    return flows


def _poll(ctx: RuleContext, flows: Mapping[str, Flow]) -> None:
    lifecycle = Lifecycle.of(ctx, "submission")
    timeout = _number(ctx, "poll_timeout_seconds", 120)
    interval = _number(ctx, "poll_interval_seconds", 0.5)
    deadline = time.monotonic() + timeout
    waiting = [f for f in flows.values() if f.finalize is not None and f.finalize.status == 200]
    while waiting:
        for flow in list(waiting):
            answer = _get(ctx, flow.submission_id)
            flow.reads.append(answer)
            status = _status_of(answer)
            if answer.status != 200 or status is None or status in lifecycle.terminal:
                waiting.remove(flow)
        if not waiting:
            break
        if time.monotonic() > deadline:
            raise RuleError(
                f"{len(waiting)} submission(s) not terminal after {timeout:g} s "
                "(fixture poll_timeout_seconds)"
            )
        time.sleep(interval)
    time.sleep(interval)
    for flow in flows.values():
        if flow.reads and flow.reads[-1].status == 200:
            flow.rereads.append(_get(ctx, flow.submission_id))


def _flow(ctx: RuleContext, label: str) -> Flow:
    flows = _flows(ctx)
    if label not in flows:
        raise NotApplicable(f"the {label} scenario did not run (no webhook receiver)")
    return flows[label]


def _archive_id(answer: ProbeResponse) -> str | None:
    value = _mapping(answer).get("archiveId")
    return value if isinstance(value, str) and value else None


def _dissemination(ctx: RuleContext) -> DisseminationRun:
    """One dissemination of the good flow's package, polled to a terminal status."""
    state = _state(ctx)
    if state.dissemination is not None:
        return state.dissemination
    if state.dissemination_error is not None:
        raise RuleError(state.dissemination_error)
    good = _flow(ctx, "good")
    archive = _archive_id(good.reads[-1]) if good.final == "PRESERVED" else None
    if archive is None:
        state.dissemination_error = "the suite's good submission did not reach PRESERVED"
        raise RuleError(state.dissemination_error)
    path = _path(ctx, CREATE_DIS)
    created = ctx.probe.request("POST", path, json_body={"archiveId": archive})
    duplicate = ctx.probe.request("POST", path, json_body={"archiveId": archive})
    run = DisseminationRun(created, duplicate)
    state.dissemination = run
    if created.status != 201 or run.dissemination_id is None:
        return run
    lifecycle = Lifecycle.of(ctx, "dissemination")
    timeout = _number(ctx, "poll_timeout_seconds", 120)
    interval = _number(ctx, "poll_interval_seconds", 0.5)
    deadline = time.monotonic() + timeout
    get_path = _path(ctx, GET_DIS, disseminationId=run.dissemination_id)
    while True:
        answer = ctx.probe.request("GET", get_path)
        run.reads.append(answer)
        status = _status_of(answer)
        if answer.status != 200 or status is None or status in lifecycle.terminal:
            break
        if time.monotonic() > deadline:
            break
        time.sleep(interval)
    time.sleep(interval)
    run.rereads.append(ctx.probe.request("GET", get_path))
    return run


def _dissemination_done(ctx: RuleContext) -> DisseminationRun:
    run = _dissemination(ctx)
    lifecycle = Lifecycle.of(ctx, "dissemination")
    if run.created.status != 201:
        raise RuleError(f"createDissemination answered {run.created.status}")
    if not run.reads or _status_of(run.reads[-1]) not in lifecycle.terminal:
        raise RuleError("the suite's dissemination did not reach a terminal status in time")
    return run


# --- transport and authentication -------------------------------------------------------------------


def _writes(ctx: RuleContext) -> bool:
    """Whether the run may write (not read-only, capability `write` claimed)."""
    return not ctx.manifest.limits.read_only and ctx.has_capability("write")


def _own_flow(ctx: RuleContext, what: str) -> Flow:
    """The suite's own PRESERVED submission, standing in for a fixture the manifest omits."""
    if not _writes(ctx) or not ctx.has_capability("upload"):
        raise NotApplicable(
            f"the manifest gives no fixtures.{what}, and the suite cannot make its own "
            "submission without writes and uploads"
        )
    good = _flow(ctx, "good")
    if good.final != "PRESERVED":
        raise RuleError(f"the suite's own submission ended {good.final}, not PRESERVED")
    return good


def _preserved(ctx: RuleContext) -> str:
    """A PRESERVED submission of contract_id: the manifest's, or the suite's own."""
    if ctx.has_fixture("preserved_submission"):
        return str(ctx.fixture("preserved_submission"))
    return _own_flow(ctx, "preserved_submission").submission_id


def _preserved_file(ctx: RuleContext) -> tuple[str, str]:
    """(submissionId, fileId) of a file of a PRESERVED submission: the manifest's or the suite's."""
    if ctx.has_fixture("preserved_submission") and ctx.has_fixture("preserved_file"):
        return str(ctx.fixture("preserved_submission")), str(ctx.fixture("preserved_file"))
    good = _own_flow(ctx, "preserved_file")
    return good.submission_id, str(_mapping(good.registered[0]).get("fileId"))


def _preserved_archive(ctx: RuleContext) -> str:
    """The archiveId of a preserved package of contract_id: the manifest's or the suite's."""
    if ctx.has_fixture("preserved_archive_id"):
        return str(ctx.fixture("preserved_archive_id"))
    good = _own_flow(ctx, "preserved_archive_id")
    archive = _archive_id(good.reads[-1])
    if archive is None:
        raise RuleError("the suite's PRESERVED submission shows no archiveId")
    return archive


@rule("DPS-HTTPS-JSON")
def https_json(ctx: RuleContext) -> None:
    judge = Judge(ctx)
    if urlsplit(ctx.manifest.base_url).scheme != "https":
        if ctx.manifest.environment == "production":
            raise ctx.fail(f"base_url {ctx.manifest.base_url} is not https")
        ctx.note("test environment over http: only the JSON part is checked")
    preserved = _preserved(ctx)
    read = _get(ctx, preserved)
    judge.status(read, 200)
    if _mapping(read).get("submissionId") != preserved:
        raise ctx.fail("the read of a submission answered no JSON submission", read)
    answers = [read]
    for answer in (_get(ctx, UNKNOWN_ID), _get(ctx, preserved, auth=False)):
        if answer.status >= 400:
            answers.append(answer)
        else:
            ctx.note(f"an error probe answered {answer.status}; its body is not judged here")
    for answer in answers:
        if answer.content_type != "application/json":
            raise ctx.fail(
                f"HTTP {answer.status} answered {answer.content_type or 'no content type'}, "
                "not application/json",
                answer,
            )


@rule("DPS-AUTH-401")
def unauthenticated_401(ctx: RuleContext) -> None:
    judge = Judge(ctx)
    codes = _codes(ctx, trigger="unauthenticated", operation=GET)
    path = _path(ctx, GET, contractId=_contract(ctx), submissionId=_preserved(ctx))
    real = ctx.credentials.token()
    bad: dict[str, bool | str] = {
        "no token": False,
        "altered signature": tokens.altered_signature(real),
        "alg none": tokens.alg_none(real),
        "edited claims": tokens.edited_claims(real),
        "truncated": tokens.truncated(real),
        "not a JWT": "not-a-jwt",
    }
    minter = ctx.credentials.minter
    if minter is not None:
        bad["expired"] = minter.expired(real)
        bad["wrong audience"] = minter.wrong_audience(real)
    for what, token in bad.items():
        answer = ctx.probe.request("GET", path, auth=token)
        if what == "wrong audience" and answer.status < 300:
            # NB names no audience for its tokens: refusing another one is A-DPS-054.
            ctx.deviate("A-DPS-054", "a token minted for another audience was accepted", answer)
            continue
        judge.refused(answer, 401, codes, what=what)
    # Before any other check: an unknown submission without a token is 401, not 404.
    answer = ctx.probe.request(
        "GET", _path(ctx, GET, contractId=_contract(ctx), submissionId=UNKNOWN_ID), auth=False
    )
    judge.refused(answer, 401, codes, what="unknown submission without a token")


@rule("DPS-AUTH-READ-ROLE")
def read_role(ctx: RuleContext) -> None:
    judge = Judge(ctx)
    codes = _codes(ctx, trigger="forbidden", operation=GET)
    has_reader = ctx.has_role("read_only")
    if has_reader:
        reader = _read_only_token(ctx)
        judge.status(_get(ctx, _preserved(ctx), auth=reader), 200, what="{contractId}_R only")
    else:
        ctx.note("no credentials.read_only: reads with {contractId}_R only are not judged")
    try:
        none = _no_role_token(ctx)
    except NotApplicable as exc:
        if not has_reader:
            raise
        ctx.note(f"{exc.reason}: the refusal without a role is not judged")
        return
    judge.status(_get(ctx, _preserved(ctx)), 200, what="the main client")
    judge.refused(_get(ctx, _preserved(ctx), auth=none), 403, codes, what="no role")
    list_path = _path(ctx, LIST, contractId=_contract(ctx))
    if ctx.has_capability("endpoint:listSubmissions"):
        with contextlib.suppress(_NoList):
            answer = _listed(ctx, ctx.probe.request("GET", list_path, auth=none))
            judge.refused(answer, 403, codes, what="list")


@rule("DPS-AUTH-WRITE-ROLE")
def write_role(ctx: RuleContext) -> None:
    _writable(ctx)
    judge = Judge(ctx)
    codes = _codes(ctx, trigger="forbidden", operation=CREATE)
    reader = _read_only_token(ctx)
    contract = _contract(ctx)
    body = {"objectId": _object_id("write-role"), "metadata": _metadata(ctx)}
    answer = ctx.probe.request(
        "POST", _path(ctx, CREATE, contractId=contract), json_body=body, auth=reader
    )
    judge.refused(answer, 403, codes, what="createSubmission with {contractId}_R only")
    _, submission_id = _created(ctx, "write-role-target")
    ids = {"contractId": contract, "submissionId": submission_id}
    for operation, payload in (
        (REGISTER, {"filePath": "x/METS.xml", "checksum": "0" * 32}),
        (FINALIZE, None),
    ):
        answer = ctx.probe.request(
            "POST", _path(ctx, operation, **ids), json_body=payload, auth=reader
        )
        judge.refused(answer, 403, codes, what=f"{operation} with {{contractId}}_R only")
    answer = ctx.probe.request("DELETE", _path(ctx, DELETE, **ids), auth=reader)
    judge.refused(answer, 403, codes, what="deleteSubmission with {contractId}_R only")
    if ctx.has_fixture("read_contract_id"):
        read_contract = ctx.fixture("read_contract_id")
        answer = _create(ctx, "write-role-read-contract", contract=str(read_contract))
        judge.refused(answer, 403, codes, what="createSubmission in a read-only contract")
    judge.status(_get(ctx, submission_id), 200, what="the target after the refusals")
    ctx.probe.request("DELETE", _path(ctx, DELETE, **ids))


@rule("DPS-AUTH-OTHER-CONTRACT-403")
def other_contract_403(ctx: RuleContext) -> None:
    judge = Judge(ctx)
    other = str(ctx.fixture("other_contract_id"))
    codes = _codes(ctx, trigger="forbidden", operation=GET)
    for submission_id in (UNKNOWN_ID, _preserved(ctx)):
        answer = ctx.probe.request(
            "GET", _path(ctx, GET, contractId=other, submissionId=submission_id)
        )
        judge.refused(
            answer, 403, codes, what=f"getSubmissionStatus in {other}", assumption="A-DPS-006"
        )
    answer = ctx.probe.request(
        "GET",
        _path(ctx, GET_FILE, contractId=other, submissionId=UNKNOWN_ID, fileId=UNKNOWN_ID),
    )
    judge.refused(answer, 403, codes, what="getFile in another contract", assumption="A-DPS-006")
    if _writes(ctx):
        answer = _create(ctx, "other-contract", contract=other)
        judge.refused(
            answer, 403, codes, what="createSubmission in another contract", assumption="A-DPS-006"
        )


@rule("DPS-AUTH-READ-ONLY-CLIENT")
def read_only_client(ctx: RuleContext) -> None:
    judge = Judge(ctx)
    reader = _read_only_token(ctx)
    codes = _codes(ctx, trigger="forbidden", operation=CREATE)
    preserved = _preserved(ctx)
    read = _get(ctx, preserved, auth=reader)
    judge.status(read, 200, what="getSubmissionStatus")
    if _mapping(read).get("submissionId") != preserved:
        raise ctx.fail("the consumer's read answered no submission", read)
    contract = _contract(ctx)
    with contextlib.suppress(NotApplicable):
        submission_id, file_id = _preserved_file(ctx)
        path = _path(ctx, GET_FILE, contractId=contract, submissionId=submission_id, fileId=file_id)
        answer = ctx.probe.request("GET", path, auth=reader)
        judge.status(answer, 200, what="getFile")
        if _mapping(answer).get("fileId") != file_id:
            raise ctx.fail("the consumer's getFile answered no file registration", answer)
    if ctx.has_capability("endpoint:listSubmissions"):
        path = _path(ctx, LIST, contractId=contract)
        with contextlib.suppress(_NoList):
            answer = _listed(ctx, ctx.probe.request("GET", path, auth=reader))
            judge.status(answer, 200, what="listSubmissions")
    if not _writes(ctx):
        ctx.note("read-only mode: only the reads were checked")
        return
    object_id = _object_id("read-only-client")
    body = {"objectId": object_id, "metadata": _metadata(ctx)}
    path = _path(ctx, CREATE, contractId=contract)
    answer = ctx.probe.request("POST", path, json_body=body, auth=reader)
    judge.refused(answer, 403, codes, what="createSubmission")
    # Without side effects: the objectId is still free.
    again = ctx.probe.request("POST", path, json_body=body)
    judge.status(again, 201, what="the same objectId with a write token after the refusal")
    created = _mapping(again).get("submissionId")
    if isinstance(created, str):
        _delete(ctx, contract, created)


@rule("DPS-AUTH-DISSEMINATION-ROLE")
def dissemination_role(ctx: RuleContext) -> None:
    _writable(ctx)
    judge = Judge(ctx)
    archive = _preserved_archive(ctx)
    codes = _codes(ctx, trigger="forbidden", operation=CREATE_DIS)
    none = _no_role_token(ctx)
    answer = ctx.probe.request(
        "POST", _path(ctx, CREATE_DIS), json_body={"archiveId": archive}, auth=none
    )
    judge.refused(answer, 403, codes, what="createDissemination without {contractId}_R")
    run = _dissemination(ctx)
    if run.dissemination_id:
        answer = ctx.probe.request(
            "GET", _path(ctx, GET_DIS, disseminationId=run.dissemination_id), auth=none
        )
        judge.refused(answer, 403, codes, what="getDissemination without {contractId}_R")
        if not ctx.has_role("read_only"):
            ctx.note("no credentials.read_only: a consumer's read is not judged")
            return
        reader = _read_only_token(ctx)
        answer = ctx.probe.request(
            "GET", _path(ctx, GET_DIS, disseminationId=run.dissemination_id), auth=reader
        )
        # Any holder of the AIP contract's _R may read it, not only the client that ordered it.
        judge.status(
            answer, 200, what="getDissemination with {contractId}_R", assumption="A-DPS-043"
        )


@rule("DPS-AUTH-CLIENTID-FROM-TOKEN")
def client_id_from_token(ctx: RuleContext) -> None:
    claims = tokens.claims_of(ctx.credentials.token())
    mine = {str(claims[k]) for k in ("client_id", "azp", "clientId") if claims.get(k)}
    if not mine:
        raise NotApplicable("the access token names no client_id, azp or clientId claim")
    answers = [_get(ctx, _preserved(ctx))]
    if _writes(ctx) and ctx.has_capability("upload"):
        answers.insert(0, _flow(ctx, "good").created)
    # clientId is not in NB's swagger (it shows in the documents' examples): judged where shown.
    shown = [(a, _mapping(a).get("clientId")) for a in answers]
    shown = [(a, v) for a, v in shown if v is not None]
    ctx.judged(shown, "answers showing a clientId")
    for answer, value in shown:
        if str(value) not in mine:
            raise ctx.fail(
                f"clientId {value!r} is not the caller's ({', '.join(sorted(mine))})", answer
            )


# --- identifiers and request validation -------------------------------------------------------------


@rule("DPS-ID-BASE62")
def ids_base62(ctx: RuleContext) -> None:
    seen: list[tuple[str, str, ProbeResponse]] = []
    answer = _get(ctx, _preserved(ctx))
    seen.append(("submissionId", str(_mapping(answer).get("submissionId")), answer))
    if _writes(ctx):
        good = _flow(ctx, "good")
        for item in (good.created, good.reads[-1], good.rereads[-1]):
            seen.append(("submissionId", str(_mapping(item).get("submissionId")), item))
        for item in good.registered:
            seen.append(("fileId", str(_mapping(item).get("fileId")), item))
        if good.submission_id != _mapping(good.reads[-1]).get("submissionId"):
            raise ctx.fail("the submissionId changed between create and read", *good.evidence())
        if ctx.has_capability("disseminations"):
            run = _dissemination(ctx)
            seen.append(("disseminationId", str(run.dissemination_id), run.created))
    for name, value, item in seen:
        if not BASE62.fullmatch(value):
            raise ctx.fail(f"{name} {value!r} is not 22 Base62 characters", item)


@rule("DPS-ID-PATH-400")
def path_ids_400(ctx: RuleContext) -> None:
    judge = Judge(ctx)
    contract = _contract(ctx)
    cases = {
        "contractId not 4 lowercase hex": _path(
            ctx, GET, contractId="ZZ-9", submissionId=_preserved(ctx)
        ),
        "submissionId too short": _path(ctx, GET, contractId=contract, submissionId="abc"),
        "fileId with a dash": _path(
            ctx, GET_FILE, contractId=contract, submissionId=_preserved(ctx), fileId="a-b" * 7
        ),
    }
    if ctx.has_capability("disseminations"):
        cases["disseminationId too long"] = _path(ctx, GET_DIS, disseminationId="A" * 30)
    codes = _codes(ctx, trigger="invalid-parameter", operation=GET)
    for what, path in cases.items():
        answer = ctx.probe.request("GET", path)
        if what.startswith("contractId") and answer.status == 403:
            # No token can hold a role for a malformed contract; the role check may come first.
            judge.refused(answer, 403, (), what=what)
            ctx.note("a malformed contractId answered 403: the role check came first")
            continue
        if answer.status == 404:
            # NB's 400 is "invalid parameters"; a path naming no resource may as well be 404.
            judge.refused(answer, 404, (), what=what)
            ctx.reading("a malformed path identifier is answered 404 (no such resource)")
            continue
        judge.refused(answer, 400, codes, what=what, assumption="A-DPS-008")


def _bad_creates(ctx: RuleContext, bodies: Mapping[str, Any], *, raw: bool = False) -> None:
    _writable(ctx)
    judge = Judge(ctx)
    codes = _codes(ctx, trigger="invalid-body", operation=CREATE)
    path = _path(ctx, CREATE, contractId=_contract(ctx))
    for what, body in bodies.items():
        if isinstance(body, bytes):
            answer = ctx.probe.request(
                "POST", path, content=body, headers={"Content-Type": "application/json"}
            )
        else:
            answer = ctx.probe.request("POST", path, json_body=body)
        judge.refused(answer, 400, codes, what=what)


@rule("DPS-BODY-400")
def body_400(ctx: RuleContext) -> None:
    meta = _metadata(ctx)
    _bad_creates(
        ctx,
        {
            "not JSON": b"{objectId: nope",
            "no objectId": {"metadata": meta},
            "no metadata": {"objectId": _object_id("body")},
            "objectId a number": {"objectId": 12345, "metadata": meta},
            "metadata a string": {"objectId": _object_id("body"), "metadata": "Bok"},
            "a JSON array": [],
        },
    )


@rule("DPS-OBJECTID-PATTERN-400")
def object_id_pattern(ctx: RuleContext) -> None:
    meta = _metadata(ctx)
    _bad_creates(
        ctx,
        {
            "two characters": {"objectId": "ab", "metadata": meta},
            "a space": {"objectId": "has space", "metadata": meta},
            "a slash": {"objectId": "a/b/c", "metadata": meta},
            "201 characters": {"objectId": "x" * 201, "metadata": meta},
        },
    )


@rule("DPS-PRIORITY-RANGE-400")
def priority_range(ctx: RuleContext) -> None:
    meta = _metadata(ctx)
    bodies = {
        f"priority {value!r}": {"objectId": _object_id("prio"), "metadata": meta, "priority": value}
        for value in (0, 101, -1, "high", 1.5)
    }
    _bad_creates(ctx, bodies)
    if ctx.has_capability("disseminations"):
        judge = Judge(ctx)
        try:
            archive = _preserved_archive(ctx)
        except NotApplicable:
            ctx.note("no preserved archiveId to order: the dissemination priorities are not judged")
            return
        codes = _codes(ctx, trigger="invalid-body", operation=CREATE_DIS)
        for value in (0, 101):
            answer = ctx.probe.request(
                "POST",
                _path(ctx, CREATE_DIS),
                json_body={"archiveId": archive, "priority": value},
            )
            judge.refused(answer, 400, codes, what=f"dissemination priority {value}")


@rule("DPS-PRIORITY-DEFAULT")
def priority_default(ctx: RuleContext) -> None:
    _writable(ctx)
    good = _flow(ctx, "good")
    answers = [good.created, good.reads[-1]]
    if ctx.has_capability("disseminations"):
        run = _dissemination(ctx)
        if run.created.status == 201:
            answers.append(run.created)
    # priority is not a required member of the answers: judged where it is shown.
    shown = [a for a in answers if _mapping(a).get("priority") is not None]
    ctx.judged(shown, "answers showing the priority")
    for answer in shown:
        if _mapping(answer).get("priority") != 50:
            raise ctx.fail(
                f"priority {_mapping(answer).get('priority')!r} for an omitted priority, not 50",
                answer,
            )


@rule("DPS-METADATA-REQUIRED-400")
def metadata_required(ctx: RuleContext) -> None:
    meta = _metadata(ctx)

    def without(*keys: str) -> dict[str, Any]:
        changed = copy.deepcopy(meta)
        node: Any = changed
        for key in keys[:-1]:
            node = node[key]
        node.pop(keys[-1], None)
        return {"objectId": _object_id("meta"), "metadata": changed}

    empty = {"objectId": _object_id("meta"), "metadata": {**meta, "identifier": []}}
    _bad_creates(
        ctx,
        {
            "no type": without("type"),
            "no identifier": without("identifier"),
            "empty identifier list": empty,
            "identifier without value": {
                "objectId": _object_id("meta"),
                "metadata": {**meta, "identifier": [{"type": "URN"}]},
            },
            "no title": without("title"),
            "title without value": without("title", "value"),
        },
    )


@rule("DPS-METADATA-TOLERANT")
def metadata_tolerant(ctx: RuleContext) -> None:
    _writable(ctx)
    judge = Judge(ctx)
    cases = {
        "an unlisted type": {**_metadata(ctx), "type": "Syntetisk-ukjent-type"},
        "an unknown field": {**_metadata(ctx), "kontraktExtraField": {"any": "thing"}},
    }
    for what, meta in cases.items():
        answer = ctx.probe.request(
            "POST",
            _path(ctx, CREATE, contractId=_contract(ctx)),
            json_body={"objectId": _object_id("tolerant"), "metadata": meta},
        )
        judge.status(answer, 201, what=what)
        created = _mapping(answer).get("submissionId")
        if isinstance(created, str):
            _delete(ctx, _contract(ctx), created)


def _bad_files(
    ctx: RuleContext,
    bodies: Mapping[str, Mapping[str, Any]],
    assumed: Mapping[str, str] | None = None,
) -> None:
    """Each body is refused with 400; `assumed` names the cases only kontrakt's assumption
    refuses (a success there is a deviation, not a failure)."""
    _writable(ctx)
    judge = Judge(ctx)
    _, submission_id = _created(ctx, "bad-file")
    path = _path(ctx, REGISTER, contractId=_contract(ctx), submissionId=submission_id)
    codes = _codes(ctx, trigger="invalid-body", operation=REGISTER)
    for what, body in bodies.items():
        answer = ctx.probe.request("POST", path, json_body=body)
        assumption = (assumed or {}).get(what)
        if assumption is not None and answer.status < 300:
            ctx.deviate(assumption, f"{what}: accepted with HTTP {answer.status}", answer)
            continue
        judge.refused(answer, 400, codes, what=what)
    _delete(ctx, _contract(ctx), submission_id)


@rule("DPS-CHECKSUM-FORMAT-400")
def checksum_format(ctx: RuleContext) -> None:
    digest = hashlib.md5(b"kontrakt").hexdigest()
    _bad_files(
        ctx,
        {
            "upper-case hex": {"filePath": "a/METS.xml", "checksum": digest.upper()},
            "31 characters": {"filePath": "a/METS.xml", "checksum": digest[:31]},
            "a SHA-1 digest": {
                "filePath": "a/METS.xml",
                "checksum": hashlib.sha1(b"kontrakt").hexdigest(),
            },
            "not hex": {"filePath": "a/METS.xml", "checksum": "g" * 32},
        },
    )


@rule("DPS-FILEPATH-400")
def file_path_400(ctx: RuleContext) -> None:
    digest = hashlib.md5(b"kontrakt").hexdigest()
    _bad_files(
        ctx,
        {
            "empty filePath": {"filePath": "", "checksum": digest},
            "901 characters": {"filePath": "a/" + "x" * 899, "checksum": digest},
        },
        # NB's swagger says minLength 0: refusing an empty path is kontrakt's reading.
        {"empty filePath": "A-DPS-034"},
    )


@rule("DPS-OBJECTID-ECHO")
def object_id_echo(ctx: RuleContext) -> None:
    _writable(ctx)
    good = _flow(ctx, "good")
    answers = [good.created, *good.reads, *good.rereads]
    if good.finalize is not None:
        answers.append(good.finalize)
    for answer in answers:
        if answer.status in (200, 201) and _mapping(answer).get("objectId") != good.object_id:
            raise ctx.fail(
                f"objectId {_mapping(answer).get('objectId')!r}, created as {good.object_id!r}",
                answer,
            )
    if ctx.has_capability("endpoint:listSubmissions"):
        found = _find_in_list(ctx, good.submission_id)
        if found is not None and found[0].get("objectId") != good.object_id:
            raise ctx.fail("the list item shows another objectId", found[1])
    if ctx.has_capability("disseminations"):
        run = _dissemination(ctx)
        if run.created.status == 201 and _mapping(run.created).get("objectId") != good.object_id:
            raise ctx.fail("the dissemination shows another objectId", run.created)
    if ctx.has_capability("webhooks"):
        try:
            hooks = _hooks(ctx)
        except NotApplicable:
            return
        for delivery in hooks.receiver.snapshot():
            data = delivery.data()
            ours = data.get("submissionId") == good.submission_id and "objectId" in data
            if ours and data["objectId"] != good.object_id:
                raise ctx.fail(
                    "a webhook shows another objectId", delivery.exchange(hooks.receiver.url)
                )


def _find_in_list(
    ctx: RuleContext, submission_id: str
) -> tuple[Mapping[str, Any], ProbeResponse] | None:
    path = _path(ctx, LIST, contractId=_contract(ctx))
    for number in range(50):
        answer = ctx.probe.request("GET", path, params={"page": number, "size": 100})
        content = _mapping(answer).get("content")
        if answer.status != 200 or not isinstance(content, list) or not content:
            return None
        for item in content:
            if isinstance(item, Mapping) and item.get("submissionId") == submission_id:
                return item, answer
    return None


# --- success statuses ---------------------------------------------------------------------------------


@rule("DPS-STATUS-CREATE-201")
def create_201(ctx: RuleContext) -> None:
    _writable(ctx)
    answer = _create(ctx, "create")
    Judge(ctx).status(answer, 201)
    ctx.expect_valid(answer, CREATE)
    created = _mapping(answer).get("submissionId")
    if isinstance(created, str):
        _delete(ctx, _contract(ctx), created)


@rule("DPS-STATUS-LIST-200")
@_list_rule
def list_200(ctx: RuleContext) -> None:
    answer = _listed(ctx, ctx.probe.request("GET", _path(ctx, LIST, contractId=_contract(ctx))))
    Judge(ctx).status(answer, 200)
    ctx.expect_valid(answer, LIST)


@rule("DPS-STATUS-GET-200")
def get_200(ctx: RuleContext) -> None:
    answer = _get(ctx, _preserved(ctx))
    Judge(ctx).status(answer, 200)
    body = ctx.expect_valid(answer, GET)
    if not isinstance(body.get("status"), str):
        raise ctx.fail("the submission has no status", answer)


@rule("DPS-STATUS-DELETE-204")
def delete_204(ctx: RuleContext) -> None:
    _writable(ctx)
    _, submission_id = _created(ctx, "delete")
    answer = _delete(ctx, _contract(ctx), submission_id)
    Judge(ctx).status(answer, 204)
    if answer.content:
        raise ctx.fail("the 204 has a body", answer)


@rule("DPS-STATUS-REGISTER-FILE-201")
def register_file_201(ctx: RuleContext) -> None:
    _writable(ctx)
    good = _flow(ctx, "good")
    answer = good.registered[0]
    Judge(ctx).status(answer, 201)
    ctx.expect_valid(answer, REGISTER)


@rule("DPS-STATUS-GET-FILE-200")
def get_file_200(ctx: RuleContext) -> None:
    submission_id, file_id = _preserved_file(ctx)
    path = _path(
        ctx, GET_FILE, contractId=_contract(ctx), submissionId=submission_id, fileId=file_id
    )
    answer = ctx.probe.request("GET", path)
    Judge(ctx).status(answer, 200)
    ctx.expect_valid(answer, GET_FILE)


@rule("DPS-STATUS-DELETE-FILE-204")
def delete_file_204(ctx: RuleContext) -> None:
    _writable(ctx)
    _, submission_id = _created(ctx, "delete-file")
    registered = _register(ctx, submission_id, "x/METS.xml", b"x")
    file_id = str(_mapping(registered).get("fileId"))
    ids = {"contractId": _contract(ctx), "submissionId": submission_id}
    answer = ctx.probe.request("DELETE", _path(ctx, DELETE_FILE, fileId=file_id, **ids))
    Judge(ctx).status(answer, 204)
    if answer.content:
        raise ctx.fail("the 204 has a body", answer)
    ctx.probe.request("DELETE", _path(ctx, DELETE, **ids))


@rule("DPS-STATUS-FINALIZE-200")
def finalize_200(ctx: RuleContext) -> None:
    _writable(ctx)
    good = _flow(ctx, "good")
    assert good.finalize is not None
    Judge(ctx).status(good.finalize, 200)
    body = ctx.expect_valid(good.finalize, FINALIZE)
    lifecycle = Lifecycle.of(ctx, "submission")
    finalized = ctx.spec.operation(FINALIZE).extension("lifecycle") or {}
    states = lifecycle.states
    wanted = finalized.get("moves-to") or (states[1] if len(states) > 1 else None)
    status = body.get("status")
    if status != wanted:
        # The pipeline may already have moved on, or show a status no document lists (open set):
        # judged is only that finalize neither stays before it nor answers a terminal status.
        later = lifecycle.reachable(str(wanted)) - lifecycle.terminal
        if status in later or (isinstance(status, str) and status not in states):
            ctx.reading(f"finalize answered {status}, a status after {wanted}")
        else:
            raise ctx.fail(f"status {status!r} after finalize, not {wanted}", good.finalize)
    files = body.get("files")
    if not isinstance(files, list) or not files:
        raise ctx.fail("the finalize answer lists no files", good.finalize)


def _event_body(ctx: RuleContext) -> dict[str, Any]:
    body = _request_example(ctx, EVENT)
    body["event"].pop("fileRef", None)
    return body


def _scratch(ctx: RuleContext, label: str) -> tuple[str, str]:
    """A fresh REGISTERED submission (path ids) for rules that only need one to exist."""
    _, submission_id = _created(ctx, label)
    return _contract(ctx), submission_id


@rule("DPS-STATUS-EVENT-201")
def event_201(ctx: RuleContext) -> None:
    _writable(ctx)
    contract, submission_id = _scratch(ctx, "event")
    path = _path(ctx, EVENT, contractId=contract, submissionId=submission_id)
    answer = ctx.probe.request("POST", path, json_body=_event_body(ctx))
    _delete(ctx, contract, submission_id)
    # NB documents neither the success status nor the answer's body (A-DPS-010): a valid event
    # must be accepted; 201 with the stored event is kontrakt's proposal.
    if not 200 <= answer.status < 300:
        raise ctx.fail(f"a valid event was refused with HTTP {answer.status}", answer)
    if Judge(ctx).status(answer, 201, assumption="A-DPS-010"):
        problems = ctx.spec.validate(EVENT, _body(answer), 201)
        if problems:
            ctx.deviate("A-DPS-010", f"the 201 body is not the stored event: {problems[0]}", answer)


@rule("DPS-STATUS-DISSEMINATION-CREATE-201")
def dissemination_create_201(ctx: RuleContext) -> None:
    _writable(ctx)
    run = _dissemination(ctx)
    Judge(ctx).status(run.created, 201)
    ctx.expect_valid(run.created, CREATE_DIS)


@rule("DPS-STATUS-DISSEMINATION-GET-200")
def dissemination_get_200(ctx: RuleContext) -> None:
    _writable(ctx)
    run = _dissemination(ctx)
    if not run.reads:
        raise RuleError(f"createDissemination answered {run.created.status}")
    for answer in run.reads[:1] + run.reads[-1:]:
        Judge(ctx).status(answer, 200)
        ctx.expect_valid(answer, GET_DIS)


# --- creation and files -------------------------------------------------------------------------------


@rule("DPS-CREATE-INITIAL-STATE")
def initial_state(ctx: RuleContext) -> None:
    _writable(ctx)
    initial = (ctx.spec.extension("lifecycles") or {}).get("submission", {}).get("initial")
    created, submission_id = _created(ctx, "initial", priority=7)
    for answer in (created, _get(ctx, submission_id)):
        body = _mapping(answer)
        problems = []
        if body.get("status") != initial:
            problems.append(f"status {body.get('status')!r}, not {initial}")
        if body.get("contractId") not in (None, _contract(ctx)):
            problems.append(f"contractId {body.get('contractId')!r}")
        if body.get("priority") != 7:
            problems.append(f"priority {body.get('priority')!r}, not 7")
        if body.get("archiveId"):
            ctx.deviate("A-DPS-017", "a new submission already carries an archiveId", answer)
        if body.get("files"):
            problems.append("files")
        if problems:
            raise ctx.fail("a new submission has " + ", ".join(problems), answer)
    _delete(ctx, _contract(ctx), submission_id)


@rule("DPS-CONFLICT-OBJECTID-409")
def duplicate_object_id(ctx: RuleContext) -> None:
    _writable(ctx)
    judge = Judge(ctx)
    codes = set(ctx.rule.codes) or _codes(ctx, trigger="conflict", operation=CREATE)
    first, submission_id = _created(ctx, "duplicate")
    object_id = _mapping(first)["objectId"]
    path = _path(ctx, CREATE, contractId=_contract(ctx))
    body = {"objectId": object_id, "metadata": _metadata(ctx)}
    judge.refused(ctx.probe.request("POST", path, json_body=body), 409, codes, what="second")
    if ctx.has_capability("endpoint:listSubmissions"):
        listed = ctx.probe.request("GET", path, params={"page": 0, "size": 1000})
        content = _mapping(listed).get("content") or []
        same = [i for i in content if isinstance(i, Mapping) and i.get("objectId") == object_id]
        if len(same) > 1:
            raise ctx.fail("the refused duplicate was created anyway", listed)
    _delete(ctx, _contract(ctx), submission_id)


@rule("DPS-OBJECTID-PER-CONTRACT")
def object_id_per_contract(ctx: RuleContext) -> None:
    """A-DPS-011: an objectId used in `contract_id` is accepted (201) in `second_contract_id`."""
    _writable(ctx)
    second = ctx.fixture("second_contract_id")
    if str(second) == _contract(ctx):
        raise RuleError("fixture second_contract_id must differ from contract_id")
    token: bool | str = True  # without the role, the `auth` client writes both contracts
    if ctx.has_role("second_contract_writer"):
        token = ctx.role_token("second_contract_writer")
    elif ctx.manifest.credentials.get("second_contract"):
        token = ctx.credentials.named_token("second_contract")  # the role's earlier name
    first, submission_id = _created(ctx, "per-contract")
    object_id = _mapping(first)["objectId"]
    path = _path(ctx, CREATE, contractId=str(second))
    body = {"objectId": object_id, "metadata": _metadata(ctx)}
    answer = ctx.probe.request("POST", path, json_body=body, auth=token)
    _delete(ctx, _contract(ctx), submission_id)
    if answer.status in (401, 403):
        raise RuleError(
            f"cannot set up the rule: createSubmission in second_contract_id {second} answered "
            f"{answer.status} (the credential may not write it)"
        )
    created = _mapping(answer)
    if answer.status == 201 and isinstance(created.get("submissionId"), str):
        ctx.probe.request(
            "DELETE",
            _path(ctx, DELETE, contractId=str(second), submissionId=str(created["submissionId"])),
            auth=token,
        )
    if answer.status != 201:
        raise ctx.fail(
            f"objectId {object_id} of contract {_contract(ctx)} is refused in contract {second} "
            f"with HTTP {answer.status} (expected 201: uniqueness is per contract)",
            first,
            answer,
        )
    if created.get("objectId") != object_id or created.get("contractId") not in (None, str(second)):
        raise ctx.fail(
            "the second contract's submission echoes another objectId or contractId", answer
        )


@rule("DPS-FILE-ECHO")
def file_echo(ctx: RuleContext) -> None:
    _writable(ctx)
    contract, submission_id = _scratch(ctx, "file-echo")
    content = b"file echo"
    answer = _register(ctx, submission_id, "echo/METS.xml", content)
    Judge(ctx).status(answer, 201)
    body = _mapping(answer)
    wanted = {
        "filePath": "echo/METS.xml",
        "checksum": hashlib.md5(content).hexdigest(),
        "isPackaged": False,
    }
    for key, value in wanted.items():
        if body.get(key) != value:
            raise ctx.fail(f"{key} {body.get(key)!r}, registered {value!r}", answer)
    if not isinstance(body.get("uploadUrl"), str) or not BASE62.fullmatch(str(body.get("fileId"))):
        raise ctx.fail("no uploadUrl or no fresh fileId", answer)
    path = _path(
        ctx, GET_FILE, contractId=contract, submissionId=submission_id, fileId=str(body["fileId"])
    )
    read = ctx.probe.request("GET", path)
    Judge(ctx).status(read, 200, what="getFile")
    for key in ("fileId", "filePath", "checksum", "isPackaged"):
        if _mapping(read).get(key) != body.get(key):
            raise ctx.fail(f"getFile shows another {key}", answer, read)
    _delete(ctx, contract, submission_id)


@rule("DPS-CONFLICT-FILEPATH-409")
def duplicate_file_path(ctx: RuleContext) -> None:
    _writable(ctx)
    judge = Judge(ctx)
    contract, submission_id = _scratch(ctx, "dup-file")
    judge.status(_register(ctx, submission_id, "dup/METS.xml", b"one"), 201, what="first")
    again = _register(ctx, submission_id, "dup/METS.xml", b"two")
    judge.refused(again, 409, ctx.rule.codes, what="the same filePath again")
    _delete(ctx, contract, submission_id)


@rule("DPS-NOT-FOUND-SUBMISSION-404")
def unknown_submission_404(ctx: RuleContext) -> None:
    judge = Judge(ctx)
    codes = _codes(ctx, trigger="not-found", operation=GET)
    ids = {"contractId": _contract(ctx), "submissionId": UNKNOWN_ID}
    judge.refused(ctx.probe.request("GET", _path(ctx, GET, **ids)), 404, codes, what="get")
    judge.refused(
        ctx.probe.request("GET", _path(ctx, GET_FILE, fileId=UNKNOWN_ID, **ids)),
        404,
        codes,
        what="getFile of an unknown submission",
    )
    if not _writes(ctx):
        return
    for operation in (FINALIZE, REGISTER):
        payload = (
            {"filePath": "a/METS.xml", "checksum": "0" * 32} if operation == REGISTER else None
        )
        answer = ctx.probe.request("POST", _path(ctx, operation, **ids), json_body=payload)
        # The swagger lists no 404 on these sub-resources: 404 is kontrakt's reading (A-DPS-031).
        judge.refused(answer, 404, codes, what=operation, assumption="A-DPS-031")
    answer = ctx.probe.request("DELETE", _path(ctx, DELETE, **ids))
    judge.refused(answer, 404, codes, what="deleteSubmission")
    # A deleted submission is unknown too (what a deleted one reads like is A-DPS-012).
    _, deleted = _created(ctx, "deleted")
    gone = {"contractId": _contract(ctx), "submissionId": deleted}
    ctx.probe.request("DELETE", _path(ctx, DELETE, **gone))
    read = ctx.probe.request("GET", _path(ctx, GET, **gone))
    if read.status < 300:
        ctx.deviate("A-DPS-012", f"a deleted submission still reads {read.status}", read)
    else:
        judge.refused(read, 404, codes, what="a deleted one", assumption="A-DPS-012")


@rule("DPS-NOT-FOUND-FILE-404")
def unknown_file_404(ctx: RuleContext) -> None:
    judge = Judge(ctx)
    codes = _codes(ctx, trigger="not-found", operation=GET_FILE)
    contract = _contract(ctx)
    path = _path(
        ctx, GET_FILE, contractId=contract, submissionId=_preserved(ctx), fileId=UNKNOWN_ID
    )
    judge.refused(ctx.probe.request("GET", path), 404, codes, what="an unknown fileId")
    if not _writes(ctx):
        return
    _, owner = _created(ctx, "file-owner")
    registered = _register(ctx, owner, "owned/METS.xml", b"owned")
    file_id = str(_mapping(registered).get("fileId"))
    _, stranger = _created(ctx, "file-stranger")
    ids = {"contractId": contract, "submissionId": stranger, "fileId": file_id}
    judge.refused(
        ctx.probe.request("GET", _path(ctx, GET_FILE, **ids)), 404, codes, what="another's file"
    )
    judge.refused(
        ctx.probe.request("DELETE", _path(ctx, DELETE_FILE, **ids)),
        404,
        codes,
        what="deleteFile of another submission's file",
    )
    for submission_id in (owner, stranger):
        _delete(ctx, contract, submission_id)


@rule("DPS-DELETE-SUBMISSION-GONE")
def deleted_submission_gone(ctx: RuleContext) -> None:
    _writable(ctx)
    judge = Judge(ctx)
    created, submission_id = _created(ctx, "gone")
    ids = {"contractId": _contract(ctx), "submissionId": submission_id}
    judge.status(ctx.probe.request("DELETE", _path(ctx, DELETE, **ids)), 204, what="delete")
    judge.status(ctx.probe.request("GET", _path(ctx, GET, **ids)), 404, what="read after delete")
    body = {"objectId": _mapping(created)["objectId"], "metadata": _metadata(ctx)}
    again = ctx.probe.request("POST", _path(ctx, CREATE, contractId=_contract(ctx)), json_body=body)
    judge.status(again, 201, what="the objectId again")
    new_id = _mapping(again).get("submissionId")
    if isinstance(new_id, str):
        _delete(ctx, _contract(ctx), new_id)


def _delete_and_register_again(
    ctx: RuleContext, label: str
) -> tuple[ProbeResponse, ProbeResponse, ProbeResponse, ProbeResponse, dict[str, str]]:
    _writable(ctx)
    contract, submission_id = _scratch(ctx, label)
    first = _register(ctx, submission_id, "again/METS.xml", b"first")
    if first.status != 201:
        raise RuleError(f"registerFile answered {first.status}")
    file_id = str(_mapping(first)["fileId"])
    ids = {"contractId": contract, "submissionId": submission_id}
    deleted = ctx.probe.request("DELETE", _path(ctx, DELETE_FILE, fileId=file_id, **ids))
    read = ctx.probe.request("GET", _path(ctx, GET_FILE, fileId=file_id, **ids))
    second = _register(ctx, submission_id, "again/METS.xml", b"second")
    return first, deleted, read, second, ids


@rule("DPS-DELETE-FILE-GONE")
def deleted_file_gone(ctx: RuleContext) -> None:
    _first, deleted, read, second, ids = _delete_and_register_again(ctx, "file-gone")
    judge = Judge(ctx)
    judge.status(deleted, 204, what="deleteFile")
    judge.status(read, 404, what="getFile after deleteFile")
    judge.status(second, 201, what="the same filePath again")
    ctx.probe.request("DELETE", _path(ctx, DELETE, **ids))


@rule("DPS-UPLOAD-REREGISTER")
def reregister(ctx: RuleContext) -> None:
    if not ctx.has_capability("upload"):
        raise NotApplicable("capability 'upload' is not among the manifest's capabilities")
    first, deleted, _, second, ids = _delete_and_register_again(ctx, "reregister")
    judge = Judge(ctx)
    judge.status(deleted, 204, what="deleteFile")
    judge.status(second, 201, what="registering the filePath again")
    one, two = _mapping(first), _mapping(second)
    # Judged by behaviour: the new registration's uploadUrl takes the bytes and they count at
    # finalize. A provider may mint the same fileId or sign the very same URL again.
    if one.get("fileId") == two.get("fileId"):
        ctx.reading("registering again kept the fileId")
    if one.get("uploadUrl") == two.get("uploadUrl"):
        ctx.reading("registering again signed the same uploadUrl")
    url = two.get("uploadUrl")
    if not isinstance(url, str):
        raise ctx.fail("registering again returned no uploadUrl", second)
    upload = _upload(ctx, url, b"second")
    if not 200 <= upload.status < 300:
        raise ctx.fail(f"the new uploadUrl answered {upload.status}", second, upload)
    finalized = _finalize(ctx, ids["submissionId"])
    if finalized.status != 200:
        raise ctx.fail(
            f"finalize after the upload through the new uploadUrl answered {finalized.status}",
            second,
            upload,
            finalized,
        )


# --- upload -------------------------------------------------------------------------------------------


@rule("DPS-UPLOAD-PUT-PRESIGNED")
def upload_put(ctx: RuleContext) -> None:
    good = _flow(ctx, "good")
    upload = good.uploads[0]
    if not 200 <= upload.status < 300:
        raise ctx.fail(f"the PUT to uploadUrl answered {upload.status}", upload)
    if any(k.lower() == "authorization" for k, _ in upload.exchange.request_headers):
        raise RuleError("the suite sent an Authorization header to the uploadUrl")
    assert good.finalize is not None
    if good.finalize.status != 200:
        raise ctx.fail("finalize after the upload did not answer 200", upload, good.finalize)


@rule("DPS-UPLOAD-RETRY-SAME-URL")
def upload_retry_same_url(ctx: RuleContext) -> None:
    flow = _flow(ctx, "retry-url")
    for upload in flow.uploads:
        if not 200 <= upload.status < 300:
            raise ctx.fail(f"a PUT to the same uploadUrl answered {upload.status}", upload)
    if flow.final != "PRESERVED":
        raise ctx.fail(
            f"after a second, complete PUT the submission ended {flow.final}, not PRESERVED",
            *flow.evidence(),
        )


@rule("DPS-UPLOAD-MD5-MISMATCH-REJECTED")
def md5_mismatch(ctx: RuleContext) -> None:
    flow = _flow(ctx, "mismatch")
    assert flow.finalize is not None
    if flow.finalize.status == 400:
        ctx.reading("finalize refuses an upload whose MD5 differs (400)")
        return
    if flow.final != "REJECTED":
        raise ctx.fail(f"the submission ended {flow.final}, not REJECTED", *flow.evidence())
    # NB's documents carry the reasons in submission.rejected; a provider may also show them on
    # the submission (A-DPS-049). Either place is read; neither available leaves them unjudged.
    reasons = _mapping(flow.reads[-1]).get("reasons")
    evidence: Exchange | ProbeResponse = flow.reads[-1]
    if isinstance(reasons, list):
        ctx.reading("rejection reasons shown on the submission (GET)")
    else:
        found = _rejection_reasons(ctx, flow)
        if found is None:
            ctx.note("no webhook receiver: the rejection reasons are not judged")
            return
        reasons, evidence = found
        ctx.reading("rejection reasons delivered in the submission.rejected webhook")
    if not isinstance(reasons, list) or not reasons:
        raise ctx.fail("the REJECTED submission carries no reasons", evidence)
    expected = "FILE_CHECKSUM_MISMATCH"  # one of NB's example codes; the list is open (A-DPS-013)
    hit = [r for r in reasons if isinstance(r, Mapping) and r.get("code") == expected]
    if not hit:
        codes = ", ".join(str(r.get("code")) for r in reasons if isinstance(r, Mapping))
        ctx.deviate(
            "A-DPS-013", f"the reasons are {codes or 'without codes'}, not {expected}", evidence
        )
        return
    path = hit[0].get("filePath")
    if path is None:
        ctx.reading("the checksum reason names no filePath (it applies to the package)")
    elif flow.packaged:
        ctx.reading("the checksum reason names a path inside the transport package")
    elif not _same_file(str(path), flow.file_path()):
        raise ctx.fail(f"the reason names {path!r}, not the file uploaded wrongly", evidence)


def _same_file(given: str, registered: str) -> bool:
    """A reason's filePath names the registered file, also relative to the package's root."""
    given = given.lstrip("/")
    return given == registered or registered.endswith("/" + given)


def _rejection_reasons(ctx: RuleContext, flow: Flow) -> tuple[Any, Exchange] | None:
    """The reasons of the flow's submission.rejected, with the delivery; None without hooks."""
    if not ctx.has_capability("webhooks"):
        return None
    try:
        hooks = _hooks(ctx)
    except NotApplicable:
        return None
    delivery = _wait_for(ctx, hooks, "submission.rejected", flow.submission_id)
    if delivery is None:
        raise ctx.fail(
            "no submission.rejected arrived for the REJECTED submission", *flow.reads[-1:]
        )
    return delivery.data().get("reasons"), delivery.exchange(hooks.receiver.url)


@rule("DPS-S3-OBJECT-KEY-LAYOUT")
def object_key_layout(ctx: RuleContext) -> None:
    good = _flow(ctx, "good")
    body = _mapping(good.registered[0])
    key = body.get("s3ObjectKey")
    if key is None:
        raise NotApplicable("registerFile returns no s3ObjectKey")
    claims = tokens.claims_of(ctx.credentials.token())
    client = _mapping(good.created).get("clientId") or claims.get("client_id")
    wanted = f"{client}/{_contract(ctx)}/{good.submission_id}/{good.file_path()}"
    if not str(key).endswith(wanted):
        raise ctx.fail(f"s3ObjectKey {key!r} does not end with {wanted!r}", good.registered[0])


# --- finalize -----------------------------------------------------------------------------------------


def _finalize_refused(ctx: RuleContext, judge: Judge, contract: str, submission_id: str) -> None:
    """Finalize is refused with 400, the submission stays in its first state; then deleted."""
    judge.refused(
        _finalize(ctx, submission_id),
        400,
        ctx.rule.codes,
        what="finalize",
        code_assumption="A-DPS-003",
    )
    initial = Lifecycle.of(ctx, "submission").states[0]
    after = _get(ctx, submission_id)
    if _status_of(after) != initial:
        raise ctx.fail(f"the submission is {_status_of(after)} after the refusal", after)
    _delete(ctx, contract, submission_id)


@rule("DPS-FINALIZE-NO-FILES-400")
def finalize_no_files(ctx: RuleContext) -> None:
    _writable(ctx)
    judge = Judge(ctx)
    contract, submission_id = _scratch(ctx, "no-files")
    _finalize_refused(ctx, judge, contract, submission_id)


@rule("DPS-FINALIZE-MISSING-UPLOAD-400")
def finalize_missing_upload(ctx: RuleContext) -> None:
    _writable(ctx)
    judge = Judge(ctx)
    contract, submission_id = _scratch(ctx, "missing-upload")
    judge.status(_register(ctx, submission_id, "never/METS.xml", b"never"), 201, what="register")
    _finalize_refused(ctx, judge, contract, submission_id)


def _size(value: Any) -> int | None:
    """A byte count given as an integer or a decimal string (NB's examples show both)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


@rule("DPS-FINALIZE-SUMSIZE")
def finalize_sum_size(ctx: RuleContext) -> None:
    good = _flow(ctx, "good")
    wanted = len(good.content)
    # sumSizeInBytes is not in NB's swagger; the documents show it after finalize. Judged is the
    # value the submission settles on (the last read showing it); it may be filled in late.
    shown = [
        (a, _mapping(a)["sumSizeInBytes"])
        for a in (good.finalize, *good.reads)
        if a is not None and _mapping(a).get("sumSizeInBytes") is not None
    ]
    ctx.judged(shown, "answers showing sumSizeInBytes")
    answer, value = shown[-1]
    if _size(value) != wanted:
        raise ctx.fail(f"sumSizeInBytes {value!r}, uploaded {wanted} bytes", answer)
    if any(_size(v) != wanted for _, v in shown):
        ctx.reading("sumSizeInBytes was filled in after finalize")


@rule("DPS-FINALIZE-ASYNC-VALIDATION")
def finalize_async(ctx: RuleContext) -> None:
    flow = _flow(ctx, "mismatch")
    assert flow.finalize is not None
    if flow.finalize.status == 400:
        raise NotApplicable("the provider checks MD5 at finalize (A-DPS-013)")
    Judge(ctx).status(flow.finalize, 200, what="finalize of a package with a content problem")
    terminal = Lifecycle.of(ctx, "submission").terminal
    if _status_of(flow.finalize) in terminal:
        raise ctx.fail("finalize answered with a terminal status", flow.finalize)
    if flow.final != "REJECTED":
        raise ctx.fail(f"the content problem ended {flow.final}, not REJECTED", *flow.evidence())


def _file_view(answer: ProbeResponse) -> list[tuple[Any, Any, Any]]:
    files = _mapping(answer).get("files") or []
    return sorted(
        (f.get("fileId"), f.get("filePath"), f.get("checksum"))
        for f in files
        if isinstance(f, Mapping)
    )


@rule("DPS-STATE-FROZEN-AFTER-FINALIZE")
def frozen_after_finalize(ctx: RuleContext) -> None:
    good = _flow(ctx, "good")
    assert good.finalize is not None
    reference = good.finalize
    for answer in [*good.reads, *good.rereads]:
        if answer.status != 200:
            continue
        body, before = _mapping(answer), _mapping(reference)
        # objectId cannot change once delivered ([SUB]); that priority stays is A-DPS-053.
        if body.get("objectId") != before.get("objectId"):
            raise ctx.fail("objectId changed after finalize", reference, answer)
        if "priority" in body and "priority" in before and body["priority"] != before["priority"]:
            ctx.deviate("A-DPS-053", "priority changed after finalize", reference, answer)
        if "files" in _mapping(answer) and _file_view(answer) != _file_view(reference):
            raise ctx.fail("the file list changed after finalize", reference, answer)
    url = _mapping(good.registered[0]).get("uploadUrl")
    if isinstance(url, str):
        late = _upload(ctx, url, b"changed after finalize")
        after = _get(ctx, good.submission_id)
        if 200 <= late.status < 300:
            ctx.note("the uploadUrl still accepted a PUT after finalize")
        # Only what the rule freezes is compared (sumSizeInBytes is not frozen by any text).
        if "files" in _mapping(after) and _file_view(after) != _file_view(reference):
            raise ctx.fail("a PUT after finalize changed the file list", late, after)


def _finalized_refusals(
    ctx: RuleContext, operations: Sequence[str], assumption: str, *, success_fails: bool = False
) -> tuple[Judge, list[ProbeResponse]]:
    """The operations on the suite's PRESERVED submission. 409 INVALID_STATE is kontrakt's
    proposal (`assumption`): another 4xx is a deviation, and so is a success unless
    `success_fails` (the operation would change what finalize froze); a 5xx fails."""
    good = _flow(ctx, "good")
    judge = Judge(ctx)
    ids = {"contractId": _contract(ctx), "submissionId": good.submission_id}
    file_id = str(_mapping(good.registered[0]).get("fileId"))
    answers = []
    for operation in operations:
        op = ctx.spec.operation(operation)
        payload: Any = None
        if operation == REGISTER:
            payload = {"filePath": "late/METS.xml", "checksum": "0" * 32}
        elif operation == EVENT:
            payload = _event_body(ctx)
        path = _path(ctx, operation, fileId=file_id, **ids)
        answer = ctx.probe.request(op.method.upper(), path, json_body=payload)
        what = f"{operation} on a {good.final} one"
        answers.append(answer)
        if answer.status < 300 and not success_fails:
            ctx.deviate(assumption, f"{what}: accepted with HTTP {answer.status}", answer)
            continue
        judge.refused(answer, 409, ctx.rule.codes, what=what, assumption=assumption)
    return judge, answers


@rule("DPS-STATE-FILES-REGISTERED-409")
def files_only_registered(ctx: RuleContext) -> None:
    _finalized_refusals(ctx, (REGISTER, DELETE_FILE), "A-DPS-014", success_fails=True)
    good = _flow(ctx, "good")
    after = _get(ctx, good.submission_id)
    if "files" in _mapping(after) and _file_view(after) != _file_view(good.finalize or after):
        raise ctx.fail("the refused file change changed the file list", after)


@rule("DPS-STATE-FINALIZE-ONCE-409")
def finalize_once(ctx: RuleContext) -> None:
    _finalized_refusals(ctx, (FINALIZE,), "A-DPS-014")


@rule("DPS-STATE-DELETE-BEFORE-FINALIZE-409")
def delete_before_finalize(ctx: RuleContext) -> None:
    _, (answer,) = _finalized_refusals(ctx, (DELETE,), "A-DPS-015")
    if answer.status >= 400:
        Judge(ctx).status(
            _get(ctx, _flow(ctx, "good").submission_id), 200, what="read after the refusal"
        )


@rule("DPS-STATE-EVENTS-BEFORE-TERMINAL-409")
def events_before_terminal(ctx: RuleContext) -> None:
    _finalized_refusals(ctx, (EVENT,), "A-DPS-016")


# --- lifecycles ---------------------------------------------------------------------------------------


def _observed(ctx: RuleContext) -> list[tuple[list[str], list[ProbeResponse]]]:
    found: list[tuple[list[str], list[ProbeResponse]]] = []
    if _writes(ctx):
        for flow in _flows(ctx).values():
            found.append(
                (flow.statuses + [s for r in flow.rereads if (s := _status_of(r))], flow.evidence())
            )
    return found


@rule("DPS-LIFECYCLE-FORWARD")
def lifecycle_forward(ctx: RuleContext) -> None:
    lifecycle = Lifecycle.of(ctx, "submission")
    observed = _observed(ctx)
    if not observed:
        raise NotApplicable("limits.read_only: no submission can be driven through its lifecycle")
    for statuses, evidence in observed:
        step = lifecycle.backwards(statuses)
        if step is not None:
            raise ctx.fail(f"the status moved from {step[0]} to {step[1]}", *evidence)
    ctx.note("; ".join(" > ".join(dict.fromkeys(s)) for s, _ in observed))


@rule("DPS-LIFECYCLE-TERMINAL")
def lifecycle_terminal(ctx: RuleContext) -> None:
    lifecycle = Lifecycle.of(ctx, "submission")
    fixtures = [_preserved(ctx)]
    if ctx.has_fixture("rejected_submission"):
        fixtures.append(str(ctx.fixture("rejected_submission")))
    for submission_id in fixtures:
        first = _get(ctx, submission_id)
        second = _get(ctx, submission_id)
        if _status_of(first) not in lifecycle.terminal:
            raise RuleError(f"fixture submission {submission_id} is not terminal")
        if _status_of(second) != _status_of(first):
            raise ctx.fail("a terminal fixture submission changed its status", first, second)
    for statuses, evidence in _observed(ctx):
        reached = [i for i, s in enumerate(statuses) if s in lifecycle.terminal]
        if reached and any(s != statuses[reached[0]] for s in statuses[reached[0] :]):
            raise ctx.fail(
                f"the submission left {statuses[reached[0]]}: {' > '.join(statuses)}", *evidence
            )


@rule("DPS-LIFECYCLE-ARCHIVEID")
def lifecycle_archive_id(ctx: RuleContext) -> None:
    preserved = _get(ctx, _preserved(ctx))
    if _status_of(preserved) != "PRESERVED":
        raise RuleError(f"the PRESERVED submission reads {_status_of(preserved)!r}")
    if not _archive_id(preserved):
        raise ctx.fail("a PRESERVED submission has no archiveId", preserved)
    if not _writes(ctx):
        return
    good = _flow(ctx, "good")
    before = {"REGISTERED", "UPLOAD_COMPLETED", "TRANSFERRING", "VALIDATING"}
    states = Lifecycle.of(ctx, "submission").states
    before &= set(states)
    for answer in [good.created, good.finalize, *good.reads]:
        if answer is None or answer.status not in (200, 201):
            continue
        status = _status_of(answer)
        if status in before and _archive_id(answer):
            ctx.deviate("A-DPS-017", f"a {status} submission already carries an archiveId", answer)
        if status == "PRESERVED" and not _archive_id(answer):
            raise ctx.fail("the PRESERVED submission carries no archiveId", answer)
    if ctx.has_capability("webhooks"):
        try:
            hooks = _hooks(ctx)
        except NotApplicable:
            return
        delivery = _wait_for(ctx, hooks, "submission.preserved", good.submission_id)
        if delivery is not None:
            shown = delivery.data().get("archiveId")
            if shown != _archive_id(good.reads[-1]):
                raise ctx.fail(
                    f"submission.preserved names archiveId {shown!r}, the submission "
                    f"{_archive_id(good.reads[-1])!r}",
                    good.reads[-1],
                    delivery.exchange(hooks.receiver.url),
                )


@rule("DPS-LIFECYCLE-UNKNOWN-STATUS")
def lifecycle_unknown(ctx: RuleContext) -> None:
    known = set(Lifecycle.of(ctx, "submission").states)
    answers = [_get(ctx, _preserved(ctx))]
    if _writes(ctx):
        for flow in _flows(ctx).values():
            answers += [flow.created, *flow.reads]
    ctx.judged([a for a in answers if _status_of(a)], "submission answers with a status")
    swagger = set(SWAGGER_STATUSES)
    for answer in answers:
        if _status_of(answer) in swagger:
            ctx.reading(f"status {_status_of(answer)} of NB's swagger enum (read as in progress)")
    known |= swagger
    odd = [(a, _status_of(a)) for a in answers if _status_of(a) and _status_of(a) not in known]
    if odd:
        names = sorted({str(s) for _, s in odd})
        raise Warn(
            f"undocumented submission status(es) {', '.join(names)} (read as in progress)",
            evidence=[a for a, _ in odd[:3]],
        )


@rule("DPS-DISSEMINATION-FORWARD")
def dissemination_forward(ctx: RuleContext) -> None:
    _writable(ctx)
    run = _dissemination_done(ctx)
    step = Lifecycle.of(ctx, "dissemination").backwards(run.statuses)
    if step is not None:
        raise ctx.fail(f"the status moved from {step[0]} to {step[1]}", run.created, *run.reads)
    ctx.note(" > ".join(dict.fromkeys(run.statuses)))


@rule("DPS-DISSEMINATION-TERMINAL")
def dissemination_terminal(ctx: RuleContext) -> None:
    _writable(ctx)
    run = _dissemination_done(ctx)
    final = _status_of(run.reads[-1])
    for answer in run.rereads:
        if _status_of(answer) != final:
            raise ctx.fail(f"the dissemination left {final}", run.reads[-1], answer)


@rule("DPS-DISSEMINATION-ECHO")
def dissemination_echo(ctx: RuleContext) -> None:
    _writable(ctx)
    run = _dissemination_done(ctx)
    good = _flow(ctx, "good")
    claims = tokens.claims_of(ctx.credentials.token())
    mine = {str(claims[k]) for k in ("client_id", "azp") if claims.get(k)}
    wanted = {
        "archiveId": _archive_id(good.reads[-1]),
        "contractId": _contract(ctx),
        "objectId": good.object_id,
        "priority": 50,
    }
    # NB's dissemination page shows these members without saying which are always there: a
    # member shown must be right, archiveId (the order's subject) must be shown.
    for answer in (run.created, run.reads[-1]):
        body = _mapping(answer)
        if body.get("archiveId") is None:
            raise ctx.fail("the dissemination shows no archiveId", answer)
        for key, value in wanted.items():
            if key in body and body.get(key) != value:
                raise ctx.fail(f"{key} {body.get(key)!r}, expected {value!r}", answer)
        if mine and "clientId" in body and body.get("clientId") not in mine:
            raise ctx.fail(f"clientId {body.get('clientId')!r} is not the caller's", answer)
        if "dateCreated" in body:
            created = str(body.get("dateCreated", ""))
            if not RFC3339_OFFSET.fullmatch(created):
                raise ctx.fail(f"dateCreated {created!r} has no UTC offset", answer)


@rule("DPS-NOT-FOUND-ARCHIVE-404")
def unknown_archive_404(ctx: RuleContext) -> None:
    _writable(ctx)
    judge = Judge(ctx)
    answer = ctx.probe.request(
        "POST", _path(ctx, CREATE_DIS), json_body={"archiveId": str(uuid.uuid4())}
    )
    judge.refused(answer, 404, _codes(ctx, trigger="not-found", operation=CREATE_DIS))


@rule("DPS-NOT-FOUND-DISSEMINATION-404")
def unknown_dissemination_404(ctx: RuleContext) -> None:
    judge = Judge(ctx)
    answer = ctx.probe.request("GET", _path(ctx, GET_DIS, disseminationId=UNKNOWN_ID))
    judge.refused(answer, 404, _codes(ctx, trigger="not-found", operation=GET_DIS))


@rule("DPS-CONFLICT-DISSEMINATION-409")
def dissemination_conflict(ctx: RuleContext) -> None:
    _writable(ctx)
    run = _dissemination(ctx)
    if run.created.status != 201 or run.duplicate is None:
        raise RuleError(f"createDissemination answered {run.created.status}")
    judge = Judge(ctx)
    judge.refused(run.duplicate, 409, ctx.rule.codes, what="a second order while in progress")


@rule("DPS-DISSEMINATION-AFTER-TERMINAL")
def dissemination_after_terminal(ctx: RuleContext) -> None:
    _writable(ctx)
    run = _dissemination_done(ctx)
    if run.again is None:
        archive = _mapping(run.created).get("archiveId")
        run.again = ctx.probe.request(
            "POST", _path(ctx, CREATE_DIS), json_body={"archiveId": archive}
        )
    Judge(ctx).status(run.again, 201, what="a new order after the first one ended")


@rule("DPS-AIP-NOT-PRESERVED-422")
def not_preserved_422(ctx: RuleContext) -> None:
    _writable(ctx)
    judge = Judge(ctx)
    archive = str(ctx.fixture("unpreserved_archive_id"))
    answer = ctx.probe.request("POST", _path(ctx, CREATE_DIS), json_body={"archiveId": archive})
    judge.refused(answer, 422, ctx.rule.codes)


@rule("DPS-UNPROCESSABLE-SCOPE")
def unprocessable_scope(ctx: RuleContext) -> None:
    _writable(ctx)
    cases: list[tuple[str, str, Any]] = [
        (
            "createSubmission without metadata",
            _path(ctx, CREATE, contractId=_contract(ctx)),
            {"objectId": _object_id("scope")},
        ),
        (
            "createSubmission with a bad objectId",
            _path(ctx, CREATE, contractId=_contract(ctx)),
            {"objectId": "a b", "metadata": _metadata(ctx)},
        ),
    ]
    if ctx.has_capability("disseminations"):
        cases.append(("createDissemination without archiveId", _path(ctx, CREATE_DIS), {}))
    for what, path, body in cases:
        answer = ctx.probe.request("POST", path, json_body=body)
        if answer.status == 422:
            raise ctx.fail(f"{what} answered 422, not 400", answer)
        Judge(ctx).status(answer, 400, what=what)


# --- events -------------------------------------------------------------------------------------------


def _bad_events(
    ctx: RuleContext,
    changes: Mapping[str, Callable[[dict[str, Any]], None]],
    assumed: Mapping[str, str] | None = None,
) -> None:
    """Each changed event is refused with 400; `assumed` names the cases only kontrakt's
    assumption refuses (accepting them is a deviation)."""
    _writable(ctx)
    judge = Judge(ctx)
    contract, submission_id = _scratch(ctx, "bad-event")
    path = _path(ctx, EVENT, contractId=contract, submissionId=submission_id)
    codes = _codes(ctx, trigger="invalid-body", operation=EVENT)
    for what, change in changes.items():
        body = _event_body(ctx)
        change(body)
        answer = ctx.probe.request("POST", path, json_body=body)
        assumption = (assumed or {}).get(what)
        if assumption is not None and answer.status < 300:
            ctx.deviate(assumption, f"{what}: accepted with HTTP {answer.status}", answer)
            continue
        judge.refused(answer, 400, codes, what=what)
    _delete(ctx, contract, submission_id)


@rule("DPS-EVENT-TYPE-400")
def event_type(ctx: RuleContext) -> None:
    def unknown(body: dict[str, Any]) -> None:
        body["event"]["eventType"] = "teleportation"

    def case(body: dict[str, Any]) -> None:
        body["event"]["eventType"] = str(body["event"]["eventType"]).upper()

    _bad_events(
        ctx,
        {"an unknown eventType": unknown, "an upper-case eventType": case},
        {"an upper-case eventType": "A-DPS-050"},
    )


@rule("DPS-EVENT-REQUIRED-400")
def event_required(ctx: RuleContext) -> None:
    def drop(part: str, key: str) -> Callable[[dict[str, Any]], None]:
        return lambda body: body[part].pop(key, None)

    def put(part: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
        return lambda body: body[part].__setitem__(key, value)

    _bad_events(
        ctx,
        {
            "no agentName": drop("agent", "agentName"),
            "no agentType": drop("agent", "agentType"),
            "no eventDateTime": drop("event", "eventDateTime"),
            "no eventType": drop("event", "eventType"),
            "no outcome": drop("event", "outcome"),
            "agentType robot": put("agent", "agentType", "robot"),
            "outcome maybe": put("event", "outcome", "maybe"),
        },
    )


@rule("DPS-EVENT-DATETIME-OFFSET")
def event_offset(ctx: RuleContext) -> None:
    def local(body: dict[str, Any]) -> None:
        body["event"]["eventDateTime"] = "2026-02-03T12:05:48"

    _bad_events(ctx, {"eventDateTime without an offset": local})


# --- list ---------------------------------------------------------------------------------------------


def _page(ctx: RuleContext, **params: Any) -> ProbeResponse:
    return ctx.probe.request("GET", _path(ctx, LIST, contractId=_contract(ctx)), params=params)


@rule("DPS-LIST-PAGE-ENVELOPE")
@_list_rule
def list_envelope(ctx: RuleContext) -> None:
    for size in (1, 2):
        answer = _listed(ctx, _page(ctx, page=0, size=size))
        Judge(ctx).status(answer, 200)
        body = ctx.expect_valid(answer, LIST)
        page = body["page"]
        if page.get("number") != 0:
            raise ctx.fail(f"page 0 reports number {page.get('number')!r}", answer)
        if page.get("size") != size:
            raise ctx.fail(f"size {size} reported as {page.get('size')!r}", answer)
        if len(body["content"]) > size:
            raise ctx.fail(f"{len(body['content'])} items on a page of size {size}", answer)
    second = _page(ctx, page=1, size=1)
    if _mapping(second).get("page", {}).get("number") != 1:
        raise ctx.fail("page 1 does not report number 1 (pages are zero-based)", second)


@rule("DPS-LIST-CONTRACT-SCOPE")
@_list_rule
def list_scope(ctx: RuleContext) -> None:
    answer = _listed(ctx, _page(ctx, page=0, size=100))
    Judge(ctx).status(answer, 200)
    body = ctx.expect_valid(answer, LIST)
    for item in body["content"]:
        if item.get("contractId") not in (None, _contract(ctx)):
            raise ctx.fail(f"an item of contract {item.get('contractId')!r}", answer)
    ids = {i.get("submissionId") for i in body["content"]}
    if body["page"]["totalElements"] <= 100 and _preserved(ctx) not in ids:
        raise ctx.fail("the contract's fixture submission is missing from the list", answer)


@rule("DPS-LIST-PAGE-CONSISTENT")
@_list_rule
def list_consistent(ctx: RuleContext) -> None:
    answer = _listed(ctx, _page(ctx, page=0, size=2))
    Judge(ctx).status(answer, 200)
    page = ctx.expect_valid(answer, LIST)["page"]
    total, size, pages = page["totalElements"], page["size"], page["totalPages"]
    if pages != -(-total // size):
        raise ctx.fail(f"totalPages {pages} for {total} items of {size} a page", answer)
    beyond = _page(ctx, page=pages + 1, size=2)
    # An empty 200 beyond the last page is the Spring page's behaviour kontrakt assumes.
    spring = Judge(ctx).status(beyond, 200, what="a page beyond the last", assumption="A-DPS-021")
    if spring and _mapping(beyond).get("content") != []:
        raise ctx.fail("a page beyond the last is not empty", beyond)


# --- errors -------------------------------------------------------------------------------------------


def _error_samples(ctx: RuleContext) -> list[tuple[str, ProbeResponse]]:
    contract = _contract(ctx)
    samples = [
        ("401", _get(ctx, _preserved(ctx), auth=False)),
        ("404", _get(ctx, UNKNOWN_ID)),
        ("400", ctx.probe.request("GET", _path(ctx, GET, contractId="XYZ!", submissionId="x"))),
        (
            "405",
            ctx.probe.request(
                "PATCH",
                _path(ctx, GET, contractId=contract, submissionId=_preserved(ctx)),
                expect_rejection=True,
            ),
        ),
        (
            "406",
            ctx.probe.request(
                "GET",
                _path(ctx, GET, contractId=contract, submissionId=_preserved(ctx)),
                headers={"Accept": "application/xml"},
            ),
        ),
    ]
    if ctx.has_fixture("other_contract_id"):
        other = str(ctx.fixture("other_contract_id"))
        samples.append(
            (
                "403",
                ctx.probe.request(
                    "GET", _path(ctx, GET, contractId=other, submissionId=UNKNOWN_ID)
                ),
            )
        )
    if _writes(ctx):
        path = _path(ctx, CREATE, contractId=contract)
        samples.append(
            (
                "415",
                ctx.probe.request(
                    "POST", path, content=b"objectId=x", headers={"Content-Type": "text/plain"}
                ),
            )
        )
    return samples


# Error probes whose situation no operation declares: the answer may come from a gateway or the
# framework, and its envelope is kontrakt's proposal (A-DPS-038), not NB's text.
_GATEWAY_PROBES = {"405", "406", "415"}


@rule("DPS-ERROR-ENVELOPE")
def error_envelope(ctx: RuleContext) -> None:
    judged = []
    for what, answer in _error_samples(ctx):
        if answer.status < 400:
            ctx.note(f"the {what} probe answered {answer.status}; not judged here")
            continue
        judged.append(answer)
        problem = _envelope_problem(ctx, answer)
        if problem and what in _GATEWAY_PROBES:
            ctx.deviate("A-DPS-038", f"HTTP {answer.status}: {problem}", answer)
        elif problem:
            raise ctx.fail(f"HTTP {answer.status}: {problem}", answer)
        else:
            _envelope_deviations(ctx, answer, f"HTTP {answer.status}")
    ctx.judged(judged, "error answers")


@rule("DPS-ERROR-CODE-FORMAT")
def error_code_format(ctx: RuleContext) -> None:
    catalogue = set(ctx.spec.error_catalogue.get("codes") or {})
    judged = []
    for _, answer in _error_samples(ctx):
        if answer.status < 400 or _envelope_problem(ctx, answer):
            continue  # no JSON envelope: nothing to read a code from (DPS-ERROR-ENVELOPE)
        for code in ctx.spec.code_of(_body(answer)):
            judged.append(answer)
            if not isinstance(code, str) or not UPPER_SNAKE.fullmatch(code):
                raise ctx.fail(f"error.code {code!r} is not UPPER_SNAKE_CASE", answer)
            if code not in catalogue:
                raise ctx.fail(f"error.code {code} is not in the error catalogue", answer)
            if answer.status not in ctx.spec.code_status(code):
                raise ctx.fail(f"{code} comes with HTTP {answer.status}", answer)
    ctx.judged(judged, "error answers carrying an error.code")


# --- webhooks -----------------------------------------------------------------------------------------


def _wait_for(ctx: RuleContext, hooks: Hooks, kind: str, subject: str) -> Delivery | None:
    """The first delivery of `kind` about `subject` (a submission or dissemination id)."""

    def match(delivery: Delivery) -> bool:
        payload = delivery.payload()
        data = delivery.data()
        return (
            isinstance(payload, Mapping)
            and payload.get("type") == kind
            and subject in (data.get("submissionId"), data.get("disseminationId"))
        )

    wait = _number(ctx, "webhook_wait_seconds", 60)
    hooks.receiver.wait(lambda ds: any(match(d) for d in ds), wait)
    return next((d for d in hooks.receiver.snapshot() if match(d)), None)


def _ours(ctx: RuleContext) -> tuple[Hooks, list[Delivery]]:
    """The deliveries about the suite's own submissions: preserved and rejected at least."""
    flows = _flows(ctx)
    hooks = _hooks(ctx)
    good = _wait_for(ctx, hooks, "submission.preserved", flows["good"].submission_id)
    bad = _wait_for(ctx, hooks, "submission.rejected", flows["mismatch"].submission_id)
    if good is None and bad is None:
        raise ctx.fail(
            "no webhook arrived at the subscribed receiver for the suite's submissions",
            *flows["good"].evidence(),
        )
    ids = {f.submission_id for f in flows.values()}
    run = _state(ctx).dissemination
    if run is not None and run.dissemination_id:
        ids.add(run.dissemination_id)
    found = [
        d
        for d in hooks.receiver.snapshot()
        if {d.data().get("submissionId"), d.data().get("disseminationId")} & ids
    ]
    return hooks, found


@rule("DPS-WH-TRANSPORT")
def webhook_transport(ctx: RuleContext) -> None:
    hooks, deliveries = _ours(ctx)
    for delivery in deliveries:
        kind = delivery.headers.get("content-type", "").split(";")[0].strip().lower()
        if delivery.method != "POST" or kind != "application/json":
            raise ctx.fail(
                f"a delivery came as {delivery.method} {kind or 'untyped'}",
                delivery.exchange(hooks.receiver.url),
            )
    if urlsplit(hooks.receiver.url).scheme != "https":
        ctx.note("the local receiver is plain http: TLS is not judged")


@rule("DPS-WH-HEADERS")
def webhook_headers(ctx: RuleContext) -> None:
    hooks, deliveries = _ours(ctx)
    for delivery in deliveries:
        missing = [
            h
            for h in ("webhook-id", "webhook-timestamp", "webhook-signature")
            if not delivery.headers.get(h)
        ]
        if missing:
            raise ctx.fail(
                f"a delivery lacks {', '.join(missing)}", delivery.exchange(hooks.receiver.url)
            )


def _retried(ctx: RuleContext) -> tuple[Hooks, list[Delivery]]:
    """Every delivery about the webhook-retry flow, after waiting for the retry."""
    flow = _flow(ctx, "webhook-retry")
    hooks = _hooks(ctx)
    wait = _number(ctx, "webhook_retry_wait_seconds", 120)

    def about(delivery: Delivery) -> bool:
        return delivery.data().get("submissionId") == flow.submission_id

    hooks.receiver.wait(lambda ds: len([d for d in ds if about(d)]) >= 2, wait)
    return hooks, [d for d in hooks.receiver.snapshot() if about(d)]


@rule("DPS-WH-ID-STABLE")
def webhook_id_stable(ctx: RuleContext) -> None:
    hooks, deliveries = _ours(ctx)
    by_id: dict[str, bytes] = {}
    for delivery in deliveries:
        webhook_id = delivery.headers.get("webhook-id", "")
        previous = by_id.setdefault(webhook_id, delivery.body)
        if previous != delivery.body:
            raise ctx.fail(
                f"webhook-id {webhook_id} names two different messages",
                delivery.exchange(hooks.receiver.url),
            )
    _, retries = _retried(ctx)
    ids = {d.headers.get("webhook-id") for d in retries}
    if len(retries) >= 2 and len(ids) != 1:
        raise ctx.fail(
            "the retry of a message came with another webhook-id",
            *(d.exchange(hooks.receiver.url) for d in retries[:2]),
        )


@rule("DPS-WH-TIMESTAMP")
def webhook_timestamp(ctx: RuleContext) -> None:
    hooks, deliveries = _ours(ctx)
    for delivery in deliveries:
        value = delivery.headers.get("webhook-timestamp", "")
        if not value.isdigit():
            raise ctx.fail(
                f"webhook-timestamp {value!r} is not integer seconds",
                delivery.exchange(hooks.receiver.url),
            )
        if int(value) > 10 * delivery.received:
            raise ctx.fail(
                f"webhook-timestamp {value} is milliseconds, not seconds",
                delivery.exchange(hooks.receiver.url),
            )
        # How near the send time must be to the arrival NB does not say (A-DPS-047).
        if abs(int(value) - delivery.received) > TIMESTAMP_SKEW:
            ctx.deviate(
                "A-DPS-047",
                f"webhook-timestamp {value} is {int(value) - delivery.received:+.0f} s from "
                "the arrival",
                delivery.exchange(hooks.receiver.url),
            )


def _hmac_keys(secret: str) -> dict[bytes, str]:
    """The HMAC keys a secret can stand for, each with the reading it is: NB does not document
    the secret's encoding (A-DPS-023), so each is accepted."""
    keys: dict[bytes, str] = {}
    text = secret.removeprefix("whsec_")
    with contextlib.suppress(binascii.Error, ValueError):
        decoded = base64.b64decode(text, validate=True)
        if len(decoded) >= 16:
            keys[decoded] = "the secret is [whsec_]<base64 of the key> (Standard Webhooks)"
    keys.setdefault(text.encode(), "the key is the secret's text (after any whsec_)")
    keys.setdefault(secret.encode(), "the key is the secret's text itself")
    return keys


@rule("DPS-WH-SIGNATURE")
def webhook_signature(ctx: RuleContext) -> None:
    hooks, deliveries = _ours(ctx)
    keys = _hmac_keys(hooks.secret)
    for delivery in deliveries:
        signed = (
            f"{delivery.headers.get('webhook-id', '')}."
            f"{delivery.headers.get('webhook-timestamp', '')}.".encode()
            + delivery.body
        )
        digests = {
            base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode(): reading
            for key, reading in keys.items()
        }
        entries = delivery.headers.get("webhook-signature", "").split()
        versions = [e.split(",", 1) for e in entries]
        if not versions or any(len(v) != 2 for v in versions):
            raise ctx.fail(
                "webhook-signature is not a list of 'v1,<base64>' entries",
                delivery.exchange(hooks.receiver.url),
            )
        matched = [
            reading
            for version, value in versions
            for digest, reading in digests.items()
            if version == "v1" and hmac.compare_digest(value, digest)
        ]
        if not matched:
            raise ctx.fail(
                "no v1 signature matches HMAC-SHA256 over id.timestamp.body with the secret",
                delivery.exchange(hooks.receiver.url),
            )
        ctx.reading(matched[0])


@rule("DPS-WH-SECRET-FORMAT")
def webhook_secret_format(ctx: RuleContext) -> None:
    hooks = _hooks(ctx)
    secret = hooks.secret
    if not secret.startswith("whsec_"):
        raise Failure("the webhook secret has no whsec_ prefix")
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except binascii.Error:
        raise Failure("the part after whsec_ is not base64") from None
    if len(key) < 16:
        raise Failure(f"the secret decodes to {len(key)} bytes of key only")


def _webhook_schema(ctx: RuleContext, kind: str) -> Mapping[str, Any] | None:
    item = (ctx.spec.data.get("webhooks") or {}).get(kind)
    if not isinstance(item, Mapping):
        return None
    post = ctx.spec.resolve(item).get("post") or {}
    content = (post.get("requestBody") or {}).get("content") or {}
    schema = (content.get("application/json") or {}).get("schema")
    return schema if isinstance(schema, Mapping) else None


@rule("DPS-WH-PAYLOAD-SCHEMA")
def webhook_payload(ctx: RuleContext) -> None:
    hooks, deliveries = _ours(ctx)
    for delivery in deliveries:
        evidence = delivery.exchange(hooks.receiver.url)
        payload = delivery.payload()
        if not isinstance(payload, Mapping) or not {"type", "timestamp", "data"} <= set(payload):
            raise ctx.fail("the payload is not the envelope {type, timestamp, data}", evidence)
        if not RFC3339_OFFSET.fullmatch(str(payload["timestamp"])):
            raise ctx.fail(f"timestamp {payload['timestamp']!r} is not RFC 3339", evidence)
        schema = _webhook_schema(ctx, str(payload["type"]))
        if schema is None:
            ctx.note(f"unknown event type {payload['type']!r} not judged")
            continue
        problems = [
            f"/{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in ctx.spec.validator(schema).iter_errors(payload)
        ]
        if problems:
            raise ctx.fail(f"{payload['type']} violates its schema: {problems[0]}", evidence)


@rule("DPS-WH-RETRY-5XX")
def webhook_retry(ctx: RuleContext) -> None:
    hooks, deliveries = _retried(ctx)
    if not deliveries:
        raise ctx.fail("no delivery arrived for the submission whose webhook was to be failed")
    first = deliveries[0]
    if first.answered < 500:
        raise RuleError("the receiver did not fail the first delivery")
    if len(deliveries) < 2:
        raise ctx.fail(
            "the delivery answered 503 was not retried within "
            f"{_number(ctx, 'webhook_retry_wait_seconds', 120):g} s",
            first.exchange(hooks.receiver.url),
        )
    retry = deliveries[1]
    if retry.body != first.body or retry.headers.get("webhook-id") != first.headers.get(
        "webhook-id"
    ):
        raise ctx.fail(
            "the retry differs from the first attempt (webhook-id or body)",
            first.exchange(hooks.receiver.url),
            retry.exchange(hooks.receiver.url),
        )
    ctx.note(f"retried after {retry.received - first.received:.2f} s")


@rule("DPS-WH-PRESERVED-CONSISTENT")
def webhook_preserved(ctx: RuleContext) -> None:
    good = _flow(ctx, "good")
    hooks = _hooks(ctx)
    delivery = _wait_for(ctx, hooks, "submission.preserved", good.submission_id)
    if delivery is None:
        raise ctx.fail("no submission.preserved arrived for a PRESERVED submission", good.reads[-1])
    evidence = delivery.exchange(hooks.receiver.url)
    data = delivery.data()
    read = _get(ctx, good.submission_id)
    wanted = {
        "contractId": _contract(ctx),
        "submissionId": good.submission_id,
        "archiveId": _archive_id(read),
    }
    for key, value in wanted.items():
        if data.get(key) != value:
            raise ctx.fail(f"{key} {data.get(key)!r}, the submission's {value!r}", evidence, read)
    preserved_at = [r for r in good.reads if _status_of(r) == "PRESERVED"]
    if _status_of(read) != "PRESERVED" or not preserved_at:
        raise ctx.fail(
            "submission.preserved for a submission that does not read PRESERVED", evidence, read
        )
    for other in hooks.receiver.snapshot():
        if (
            other.data().get("submissionId")
            in {f.submission_id for f in _flows(ctx).values() if f.final != "PRESERVED"}
            and (other.payload() or {}).get("type") == "submission.preserved"
        ):
            raise ctx.fail(
                "submission.preserved for a submission that is not PRESERVED",
                other.exchange(hooks.receiver.url),
            )


@rule("DPS-WH-REJECTED-REASONS")
def webhook_rejected(ctx: RuleContext) -> None:
    flow = _flow(ctx, "mismatch")
    hooks = _hooks(ctx)
    if flow.final != "REJECTED":
        raise RuleError(f"the mismatching submission ended {flow.final}")
    delivery = _wait_for(ctx, hooks, "submission.rejected", flow.submission_id)
    if delivery is None:
        raise ctx.fail("no submission.rejected arrived for a REJECTED submission", flow.reads[-1])
    evidence = delivery.exchange(hooks.receiver.url)
    reasons = delivery.data().get("reasons")
    if not isinstance(reasons, list) or not reasons:
        raise ctx.fail("submission.rejected carries no reasons", evidence)
    for reason in reasons:
        if not isinstance(reason, Mapping) or not reason.get("code") or not reason.get("message"):
            raise ctx.fail("a reason without code or message", evidence)
        path = reason.get("filePath")
        if path is not None and not flow.packaged and not _same_file(str(path), flow.file_path()):
            raise ctx.fail(f"filePath {path!r} is not a registered file", evidence)


@rule("DPS-WH-DELIVERED-FILES")
def webhook_delivered(ctx: RuleContext) -> None:
    if not ctx.has_capability("disseminations"):
        raise NotApplicable("capability 'disseminations' is not among the manifest's")
    hooks = _hooks(ctx)
    run = _dissemination_done(ctx)
    final = _status_of(run.reads[-1])
    subject = run.dissemination_id or ""
    delivery = _wait_for(ctx, hooks, "dissemination.delivered", subject)
    if final != "DISSEMINATED":
        if delivery is not None:
            raise ctx.fail(
                f"dissemination.delivered for a {final} dissemination",
                delivery.exchange(hooks.receiver.url),
            )
        raise RuleError(f"the suite's dissemination ended {final}")
    if delivery is None:
        raise ctx.fail("no dissemination.delivered arrived", run.reads[-1])
    evidence = delivery.exchange(hooks.receiver.url)
    files = delivery.data().get("files")
    if not isinstance(files, list) or not files:
        raise ctx.fail("dissemination.delivered lists no files", evidence)
    for item in files:
        if not isinstance(item, Mapping):
            raise ctx.fail("a file entry is not an object", evidence)
        answer = ctx.probe.request("GET", str(item.get("downloadURL")), auth=False)
        if answer.status != 200:
            raise ctx.fail(f"the downloadURL answered {answer.status}", evidence, answer)
        if len(answer.content) != _size(item.get("filesize")):
            raise ctx.fail(
                f"{len(answer.content)} bytes downloaded, filesize {item.get('filesize')!r}",
                evidence,
                answer,
            )
        if hashlib.md5(answer.content).hexdigest() != str(item.get("checksum", "")).lower():
            raise ctx.fail("the downloaded bytes do not have the given MD5", evidence, answer)


# --- what a manifest gives: declarations, preflight -------------------------------------------------

# Rules reading a PRESERVED submission (the fixture, or the suite's own in write mode).
_READS_PRESERVED = (
    "DPS-HTTPS-JSON",
    "DPS-AUTH-401",
    "DPS-AUTH-READ-ROLE",
    "DPS-AUTH-OTHER-CONTRACT-403",
    "DPS-AUTH-READ-ONLY-CLIENT",
    "DPS-AUTH-CLIENTID-FROM-TOKEN",
    "DPS-ID-BASE62",
    "DPS-ID-PATH-400",
    "DPS-STATUS-GET-200",
    "DPS-STATUS-GET-FILE-200",
    "DPS-NOT-FOUND-FILE-404",
    "DPS-LIFECYCLE-TERMINAL",
    "DPS-LIFECYCLE-ARCHIVEID",
    "DPS-LIFECYCLE-UNKNOWN-STATUS",
    "DPS-LIST-CONTRACT-SCOPE",
    "DPS-ERROR-ENVELOPE",
    "DPS-ERROR-CODE-FORMAT",
)
# Rules judging the suite's own submissions (created, uploaded, finalized and polled to the end).
_FLOW_RULES = (
    "DPS-AUTH-DISSEMINATION-ROLE",
    "DPS-AUTH-CLIENTID-FROM-TOKEN",
    "DPS-ID-BASE62",
    "DPS-PRIORITY-DEFAULT",
    "DPS-PRIORITY-RANGE-400",
    "DPS-OBJECTID-ECHO",
    "DPS-STATUS-REGISTER-FILE-201",
    "DPS-STATUS-GET-FILE-200",
    "DPS-STATUS-FINALIZE-200",
    "DPS-STATUS-DISSEMINATION-CREATE-201",
    "DPS-STATUS-DISSEMINATION-GET-200",
    "DPS-UPLOAD-PUT-PRESIGNED",
    "DPS-UPLOAD-RETRY-SAME-URL",
    "DPS-UPLOAD-MD5-MISMATCH-REJECTED",
    "DPS-S3-OBJECT-KEY-LAYOUT",
    "DPS-FINALIZE-SUMSIZE",
    "DPS-FINALIZE-ASYNC-VALIDATION",
    "DPS-STATE-FROZEN-AFTER-FINALIZE",
    "DPS-STATE-FILES-REGISTERED-409",
    "DPS-STATE-FINALIZE-ONCE-409",
    "DPS-STATE-DELETE-BEFORE-FINALIZE-409",
    "DPS-STATE-EVENTS-BEFORE-TERMINAL-409",
    "DPS-LIFECYCLE-FORWARD",
    "DPS-LIFECYCLE-TERMINAL",
    "DPS-LIFECYCLE-ARCHIVEID",
    "DPS-LIFECYCLE-UNKNOWN-STATUS",
    "DPS-DISSEMINATION-FORWARD",
    "DPS-DISSEMINATION-TERMINAL",
    "DPS-DISSEMINATION-ECHO",
    "DPS-CONFLICT-DISSEMINATION-409",
    "DPS-DISSEMINATION-AFTER-TERMINAL",
    *(r for r in rules.functions if r.startswith("DPS-WH-")),
)
_HOOK_RULES = (
    "DPS-OBJECTID-ECHO",
    "DPS-UPLOAD-MD5-MISMATCH-REJECTED",
    "DPS-LIFECYCLE-ARCHIVEID",
    *(r for r in rules.functions if r.startswith("DPS-WH-")),
)
_CREATING = tuple(
    r
    for r in rules.functions
    if r in _FLOW_RULES
    or (rules.spec.rules[r].capability or "").startswith(("write", "endpoint:createSubmission"))
    or r
    in (
        "DPS-AUTH-WRITE-ROLE",
        "DPS-AUTH-OTHER-CONTRACT-403",
        "DPS-AUTH-READ-ONLY-CLIENT",
        "DPS-BODY-400",
        "DPS-OBJECTID-PATTERN-400",
        "DPS-METADATA-REQUIRED-400",
        "DPS-METADATA-TOLERANT",
        "DPS-CHECKSUM-FORMAT-400",
        "DPS-FILEPATH-400",
        "DPS-NOT-FOUND-SUBMISSION-404",
        "DPS-NOT-FOUND-FILE-404",
        "DPS-UPLOAD-REREGISTER",
        "DPS-UNPROCESSABLE-SCOPE",
    )
)

rules.fixture(
    "contract_id",
    "the submission agreement (contract) the suite works in: 4 lowercase hex characters; the "
    "main client (auth) holds {contract_id}_W and {contract_id}_R for it",
    rules=[*rules.functions, "PREFLIGHT"],
    example="4eaf",
)
rules.fixture(
    "preserved_submission",
    "the submissionId of a PRESERVED submission of contract_id; without it the suite uses one "
    "it submits itself (write mode), so it matters for read-only runs",
    rules=[*_READS_PRESERVED, "PREFLIGHT"],
    required=False,
    example="0a1B2c3D4e5F6g7H8i9J0k",
)
rules.fixture(
    "preserved_file",
    "the fileId of a file of preserved_submission (read-only runs; otherwise the suite's own)",
    rules=["DPS-AUTH-READ-ONLY-CLIENT", "DPS-STATUS-GET-FILE-200"],
    required=False,
)
rules.fixture(
    "rejected_submission",
    "the submissionId of a REJECTED submission of contract_id, read to check it stays REJECTED",
    rules=["DPS-LIFECYCLE-TERMINAL"],
    required=False,
)
rules.fixture(
    "preserved_archive_id",
    "the archiveId of a preserved package of contract_id, to order its dissemination (without "
    "it the suite orders the package it submitted itself)",
    rules=["DPS-AUTH-DISSEMINATION-ROLE", "DPS-PRIORITY-RANGE-400"],
    required=False,
)
rules.fixture(
    "unpreserved_archive_id",
    "an archiveId whose package exists but is not preserved or not ready yet (createDissemination "
    "answers 422 for it); the suite cannot make one",
    rules=["DPS-AIP-NOT-PRESERVED-422"],
    required=False,
)
rules.fixture(
    "other_contract_id",
    "a contract the main client holds no role for (requests there must be refused)",
    rules=["DPS-AUTH-OTHER-CONTRACT-403", "DPS-ERROR-ENVELOPE", "DPS-ERROR-CODE-FORMAT"],
    required=False,
    example="91c5",
)
rules.fixture(
    "read_contract_id",
    "a contract the main client may only read ({read_contract_id}_R, no _W): creating there "
    "must be refused",
    rules=["DPS-AUTH-WRITE-ROLE"],
    required=False,
)
rules.fixture(
    "second_contract_id",
    "another contract (not contract_id) that credentials.second_contract_writer, or else the "
    "main client, may write: the same objectId is submitted there",
    rules=["DPS-OBJECTID-PER-CONTRACT"],
    required=False,
)
rules.fixture(
    "package_file",
    "a file (relative to the manifest) holding a complete SIP the provider preserves, as TAR or "
    "ZIP: the suite registers it with isPackaged true for its own submissions. Without it the "
    "suite uploads a one-file package of its own, which a provider validating "
    "NB-SIP-STRUCTURE-1.0 rejects",
    rules=tuple(dict.fromkeys((*_FLOW_RULES, *_READS_PRESERVED, *_HOOK_RULES))),
    required=False,
    example="sip/example-package.tar",
)
rules.fixture(
    "metadata",
    "the descriptive metadata object the suite sends with createSubmission (type, identifier, "
    "title, ...); without it the example of the contract is sent",
    rules=_CREATING,
    schema={"type": "object"},
    required=False,
)
rules.fixture(
    "webhook_subscribe_url",
    "a test-only endpoint of the provider (relative to base_url, e.g. /_sandbox/webhooks) that "
    'takes POST {"url": <receiver>} and answers 2xx with {"secret": ...}: the suite registers '
    "its own webhook receiver there (NB registers receivers by hand; A-DPS-046)",
    rules=_HOOK_RULES,
    required=False,
)
rules.fixture(
    "webhook_receiver",
    "instead of webhook_subscribe_url: {url, secret} of a receiver the provider already "
    "delivers this client's webhooks to, at a 127.0.0.1 address the suite listens on",
    rules=_HOOK_RULES,
    schema={
        "type": "object",
        "properties": {"url": {"type": "string"}, "secret": {"type": "string"}},
        "required": ["url", "secret"],
    },
    required=False,
)
for _name, _text, _default in (
    ("poll_timeout_seconds", "how long the suite polls a submission or dissemination", 120),
    ("poll_interval_seconds", "the pause between two polls", 0.5),
    ("webhook_wait_seconds", "how long the suite waits for a webhook delivery", 60),
    (
        "webhook_retry_wait_seconds",
        "how long the suite waits for the retry of a delivery its receiver answered 503",
        120,
    ),
):
    rules.fixture(
        _name,
        f"{_text} (seconds, default {_default})",
        rules=_HOOK_RULES if _name.startswith("webhook") else _FLOW_RULES,
        schema={"type": "number", "minimum": 0},
        required=False,
        example=_default,
    )

rules.role(
    "read_only",
    "a client holding only {contract_id}_R (a consumer): it must read everything and be "
    "refused every write",
    rules=[
        "DPS-AUTH-READ-ROLE",
        "DPS-AUTH-WRITE-ROLE",
        "DPS-AUTH-READ-ONLY-CLIENT",
        "DPS-AUTH-DISSEMINATION-ROLE",
    ],
)
rules.role(
    "no_role",
    "a client of the same identity provider holding no role for contract_id; without it the "
    "suite mints such a token with negative_auth.signing_key (test identity providers only)",
    rules=["DPS-AUTH-READ-ROLE", "DPS-AUTH-DISSEMINATION-ROLE"],
)
rules.role(
    "second_contract_writer",
    "a client holding {second_contract_id}_W, for when the main client cannot write "
    "second_contract_id: it submits the objectId already used in contract_id",
    rules=["DPS-OBJECTID-PER-CONTRACT"],
)

for _capability, _text in (
    ("write", "the suite may create, change and delete submissions in contract_id"),
    ("upload", "the suite may PUT file bytes to the uploadUrls and finalize submissions"),
    ("disseminations", "the provider offers createDissemination and getDissemination"),
    ("webhooks", "the provider sends webhooks to a receiver the suite can listen on"),
    ("endpoint:listSubmissions", "GET /v1/contracts/{contractId}/submissions lists submissions"),
    ("endpoint:createSubmissionEvent", "POST .../submissions/{submissionId}/events takes events"),
    ("internal-endpoints", "the provider names internal status endpoints to probe"),
    ("webhook-receiver", "the party certified is a webhook receiver (client side)"),
):
    rules.capability(_capability, _text)


@rules.preflight
def preflight(ctx: RuleContext) -> None:
    """One plain read with the main client: the manifest's PRESERVED submission, or else the
    contract's list (when the manifest claims it), or else an unknown submission's 404."""
    from kontrakt.conformance.preflight import expect_plain

    contract = _contract(ctx)
    if ctx.has_fixture("preserved_submission"):
        submission = str(ctx.fixture("preserved_submission"))
        expect_plain(ctx, _get(ctx, submission), 200)
        return
    claimed = ctx.manifest.capabilities
    if claimed is not None and "endpoint:listSubmissions" in claimed:
        answer = ctx.probe.request("GET", _path(ctx, LIST, contractId=contract))
        expect_plain(ctx, answer, 200)
        return
    answer = _get(ctx, UNKNOWN_ID)
    expect_plain(ctx, answer, 404)
    if _envelope_problem(ctx, answer):
        raise Failure(
            f"an unknown submission answered 404 without the DPS error envelope at "
            f"{answer.exchange.url}: base_url is probably wrong (it must end in /dps-submission)",
            evidence=[answer],
        )


# --- tier 3: the exploratory stateful run (certify --explore) -----------------------------------


def _explore_request(ctx: RuleContext, op: Any) -> dict[str, Any]:
    """The manifest's contract in the path; every other identifier comes from earlier answers."""
    return {"path": {"contractId": _contract(ctx)} if op.parameter("contractId", "path") else {}}


rules.explore_rule("DPS-ERROR-ENVELOPE", known=_explore_request)
