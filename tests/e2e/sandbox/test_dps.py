"""The DPS v1 sandbox provider over real sockets, driven with the generated client.

One sandbox (issuer + DPS on 127.0.0.1) for the module, with pipeline steps of 20 ms and webhook
retries after 50 ms. Tokens come from the issuer over HTTP (`ClientCredentials`, and the token
endpoint directly); the many role variations are minted by the issuer object. Webhooks are
received by small local receivers, and every signature is verified here, independently of the
sandbox's own signing code (Standard Webhooks: HMAC-SHA256 over "{id}.{timestamp}.{body}").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import itertools
import json
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kontrakt.generated.dps_v1 import (
    Client,
    CreateDisseminationRequest,
    CreateSubmissionRequest,
    DisseminationDeliveredEvent,
    RegisterFileRequest,
    SubmissionEvent,
    SubmissionPreservedEvent,
    SubmissionRejectedEvent,
)
from kontrakt.generated.dps_v1.client import KNOWN_STATES
from kontrakt.runtime.client import ApiError, BearerToken, ClientCredentials
from kontrakt.sandbox.dps.pipeline import DISSEMINATION_STEPS, SUBMISSION_STEPS
from kontrakt.sandbox.launch import Sandbox
from tests.e2e._support import REPO, serve

ARCHIVE = ("dps-archive-test", "sandbox-dps-secret")  # c100_R c100_W c200_R
READER = ("dps-reader-test", "sandbox-dps-reader-secret")  # c100_R
PRESERVED_C100 = "5d1c0a77-2f4b-4e8a-9c3d-a1b2c3d4e5f6"  # kontrakt/sandbox/fixtures/dps.yaml
PRESERVED_C200 = "8b2e4f10-6c3a-4d5e-8f7a-b2c3d4e5f6a7"
ARCHIVING_C100 = "3a9f6e21-0b4c-4f8d-a7e6-c3d4e5f6a7b8"
DAMAGED_C100 = "6e4d2c8b-1a3f-4b7e-9d5c-d4e5f6a7b8c9"
RESTRICTED_C100 = "9c7b5a3d-2e1f-4a6b-8c9d-e5f6a7b8c9d0"
REJECTED_SUBMISSION = "fixRejectedC100Sub0006"
PRESERVED_SUBMISSION = "fixPreservedC100Sub001"
UNKNOWN_ID = "A" * 22
OPTIONS = {"step_delay": 0.02, "webhook_retry_delay": 0.05, "webhook_max_attempts": 3}
METADATA = {
    "type": "Bok",
    "identifier": [{"type": "URN", "value": "URN:NBN:no-sandbox_test"}],
    "title": {"value": "Et syntetisk testobjekt", "lang": "nob"},
}
_counter = itertools.count()


# --- the sandbox, tokens and clients ----------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.start(["dps"], options={"dps": OPTIONS}) as running:
        yield running


def issued_token(sandbox: Sandbox, client: tuple[str, str]) -> str:
    """A token from the issuer's token endpoint over HTTP."""
    form = {
        "grant_type": "client_credentials",
        "client_id": client[0],
        "client_secret": client[1],
        "resource": "dps",
    }
    response = httpx.post(sandbox.token_url, data=form, timeout=10)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def minted(sandbox: Sandbox, roles: list[str], *, audience: str | None = None) -> str:
    """A token of dps-archive-test with exactly `roles` (for the role variations)."""
    issuer = sandbox.context.issuer
    client = issuer.registry.get("dps-archive-test")
    assert client is not None
    token, _ = issuer.mint(
        client, [], audience or sandbox.url("dps"), extra={"realm_access": {"roles": roles}}
    )
    return token


@pytest.fixture(scope="module")
def archive(sandbox: Sandbox) -> Iterator[Client]:
    """The generated client as an archive integration: client credentials over HTTP."""
    auth = ClientCredentials(sandbox.token_url, *ARCHIVE, resource="dps")
    with Client(sandbox.url("dps"), auth=auth, retry=None) as client:
        yield client


@contextmanager
def client_with(sandbox: Sandbox, token: str | None) -> Iterator[Client]:
    auth = BearerToken(token) if token else None
    with Client(sandbox.url("dps"), auth=auth, retry=None) as client:
        yield client


def raw(sandbox: Sandbox, token: str | None = None) -> httpx.Client:
    """Plain HTTP for what the typed client cannot send (invalid bodies)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=sandbox.url("dps"), headers=headers, timeout=10)


def refused(call: Callable[[], Any]) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value


def assert_error(error: ApiError, status: int, code: str) -> None:
    """DPS-ERROR-ENVELOPE: {"error": {"code", "message"[, "details"]}} with string values."""
    assert (error.status, error.code) == (status, code), error.body
    assert set(error.body) == {"error"}
    assert set(error.body["error"]) <= {"code", "message", "details"}
    assert all(isinstance(value, str) for value in error.body["error"].values())


def assert_envelope(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str)


# --- submissions -------------------------------------------------------------------------------------


def new_object_id() -> str:
    return f"test-obj_{next(_counter):04d}_{time.monotonic_ns() % 100000}"


def create(client: Client, contract: str = "c100", object_id: str | None = None) -> str:
    body = CreateSubmissionRequest.model_validate(
        {"objectId": object_id or new_object_id(), "metadata": METADATA}
    )
    created = client.create_submission(contract_id=contract, body=body)
    return created.submission_id


def register(
    client: Client, submission_id: str, path: str, data: bytes, *, packaged: bool = False
) -> tuple[str, str]:
    body = RegisterFileRequest(
        file_path=path, checksum=hashlib.md5(data).hexdigest(), is_packaged=packaged
    )
    registered = client.register_file(contract_id="c100", submission_id=submission_id, body=body)
    return registered.file_id, str(registered.upload_url)


def upload(url: str, data: bytes) -> httpx.Response:
    # FACTS §7: a plain PUT of the raw bytes, Content-Length, no Authorization header.
    return httpx.put(url, content=data, timeout=10)


def uploaded_submission(client: Client, files: dict[str, bytes], sent: dict[str, bytes]) -> str:
    """A submission with `files` registered (their MD5) and `sent` uploaded to each URL."""
    submission_id = create(client)
    for path, data in files.items():
        _, url = register(client, submission_id, path, data)
        assert upload(url, sent.get(path, data)).status_code == 200
    return submission_id


# --- webhook receivers -------------------------------------------------------------------------------


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    answered: int


@dataclass
class Receiver:
    """A webhook endpoint: answers `statuses` in turn per webhook-id (the last one repeats)."""

    statuses: tuple[int, ...] = (204,)
    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        async def receive(request: Request) -> Response:
            body = await request.body()
            with self.lock:
                seen = sum(
                    1
                    for d in self.deliveries
                    if d.headers.get("webhook-id") == request.headers.get("webhook-id")
                )
                status = self.statuses[min(seen, len(self.statuses) - 1)]
                self.deliveries.append(Delivery(dict(request.headers), body, status))
            return Response(status_code=status)

        return Starlette(routes=[Route("/hook", receive, methods=["POST"])])

    def events(self, kind: str, **data: str) -> list[tuple[Delivery, dict[str, Any]]]:
        """Deliveries of type `kind` whose data has `data`, with the parsed payload."""
        found = []
        with self.lock:
            deliveries = list(self.deliveries)
        for delivery in deliveries:
            payload = json.loads(delivery.body)
            if payload["type"] == kind and all(
                payload["data"].get(k) == v for k, v in data.items()
            ):
                found.append((delivery, payload))
        return found


@dataclass
class Subscribed:
    receiver: Receiver
    subscription: dict[str, Any]


@contextmanager
def subscribed(
    sandbox: Sandbox, *statuses: int, events: list[str] | None = None
) -> Iterator[Subscribed]:
    receiver = Receiver(statuses or (204,))
    with serve(receiver.app()) as url, raw(sandbox) as http:
        admin = sandbox.url("dps").removesuffix("/dps-submission") + "/_sandbox/webhooks"
        request: dict[str, Any] = {"url": url + "/hook"}
        if events:
            request["events"] = events
        response = http.post(admin, json=request)
        assert response.status_code == 201, response.text
        subscription = response.json()
        try:
            yield Subscribed(receiver, subscription)
        finally:
            http.delete(f"{admin}/{subscription['subscriptionId']}")


def wait_until(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.01)


def verify(delivery: Delivery, secret: str) -> None:
    """Standard Webhooks verification, written from the spec (DPS-WHR-VERIFY-RAW, -TOLERANCE)."""
    webhook_id = delivery.headers["webhook-id"]
    timestamp = delivery.headers["webhook-timestamp"]
    assert timestamp.isdigit() and abs(time.time() - int(timestamp)) < 300  # seconds, not ms
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{webhook_id}.{timestamp}.".encode() + delivery.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [
        entry.split(",", 1)[1]
        for entry in delivery.headers["webhook-signature"].split()
        if entry.startswith("v1,")
    ]
    assert any(hmac.compare_digest(expected, value) for value in offered)
    assert delivery.headers["content-type"] == "application/json"


def deliveries_log(sandbox: Sandbox, subscription_id: str) -> list[dict[str, Any]]:
    admin = sandbox.url("dps").removesuffix("/dps-submission") + "/_sandbox/webhooks"
    response = httpx.get(f"{admin}/{subscription_id}/deliveries", timeout=10)
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["deliveries"]
    return items


# --- the lifecycle to PRESERVED and REJECTED ----------------------------------------------------------


def test_the_issuer_grants_dps_roles_over_http(sandbox: Sandbox) -> None:
    token = issued_token(sandbox, ARCHIVE)
    with client_with(sandbox, token) as dps:
        page = dps.list_submissions(contract_id="c200")
    assert {s.submission_id for s in page.content} == {"fixPreservedC200Sub002"}


def test_lifecycle_to_preserved_with_a_verified_webhook_and_a_retry(
    sandbox: Sandbox, archive: Client
) -> None:
    files = {"obj/METS.xml": b"<mets/>", "obj/representations/primary/data/a.txt": b"a" * 1000}
    with subscribed(sandbox) as good, subscribed(sandbox, 500, 200) as flaky:
        submission_id = uploaded_submission(archive, files, {})
        finalized = archive.finalize_submission(contract_id="c100", submission_id=submission_id)
        assert finalized.status.root == "UPLOAD_COMPLETED"
        assert finalized.sum_size_in_bytes == sum(len(d) for d in files.values())
        assert [f.file_path for f in finalized.files or []] == list(files)
        seen = [finalized.status.root]
        deadline = time.monotonic() + 10
        while seen[-1] not in ("PRESERVED", "REJECTED") and time.monotonic() < deadline:
            status = archive.get_submission_status(contract_id="c100", submission_id=submission_id)
            if status.status.root != seen[-1]:
                seen.append(status.status.root)
                # DPS-LIFECYCLE-ARCHIVEID: an archiveId exactly when PRESERVED.
                assert (status.archive_id is None) == (status.status.root != "PRESERVED")
            time.sleep(0.002)
        done = archive.wait_for_submission(
            contract_id="c100", submission_id=submission_id, interval=0.01, timeout=10
        )
        # DPS-LIFECYCLE-FORWARD: never backwards, through the spec's states in order.
        order = KNOWN_STATES["submission"]
        assert [order.index(s) for s in seen] == sorted(order.index(s) for s in seen)
        assert done.status.root == "PRESERVED" and done.archive_id
        [(delivery, payload)] = wait_until(
            lambda: good.receiver.events("submission.preserved", submissionId=submission_id)
        )
        retried = wait_until(
            lambda: (
                [
                    delivery
                    for delivery, _ in flaky.receiver.events(
                        "submission.preserved", submissionId=submission_id
                    )
                ][1:]
                and flaky.receiver.events("submission.preserved", submissionId=submission_id)
            )
        )

        def logged() -> list[dict[str, Any]]:
            log = deliveries_log(sandbox, flaky.subscription["subscriptionId"])
            return [
                d
                for d in log
                if d["payload"]["data"].get("submissionId") == submission_id
                and d["state"] != "pending"
            ]

        mine = wait_until(logged)
    verify(delivery, good.subscription["secret"])
    event = SubmissionPreservedEvent.model_validate_json(delivery.body)
    assert (event.data.contract_id, event.data.archive_id) == ("c100", done.archive_id)
    assert payload["timestamp"].endswith(("Z", "+00:00"))
    # DPS-WH-RETRY-5XX / DPS-WH-ID-STABLE: after a 500 the same message again, same id and body.
    assert [d.answered for d, _ in retried] == [500, 200]
    (first, _), (second, _) = retried
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    for attempt, _ in retried:
        verify(attempt, flaky.subscription["secret"])
    assert [(d["state"], d["attempts"], d["lastStatus"]) for d in mine] == [("delivered", 2, 200)]


@pytest.mark.parametrize(
    ("registered", "sent", "packaged", "reason"),
    [
        (b"the registered bytes", b"other bytes", False, "FILE_CHECKSUM_MISMATCH"),
        (b"not a tar or zip", b"not a tar or zip", True, "PACKAGE_FORMAT_INVALID"),
    ],
    ids=["md5-mismatch", "packaged-not-an-archive"],
)
def test_lifecycle_to_rejected_with_a_verified_webhook(
    sandbox: Sandbox,
    archive: Client,
    registered: bytes,
    sent: bytes,
    packaged: bool,
    reason: str,
) -> None:
    path = "obj/representations/primary/data/file.bin"
    with subscribed(sandbox, events=["submission.rejected"]) as hook:
        submission_id = create(archive)
        _, url = register(archive, submission_id, "obj/METS.xml", b"<mets/>")
        assert upload(url, b"<mets/>").status_code == 200
        _, url = register(archive, submission_id, path, registered, packaged=packaged)
        assert upload(url, sent).status_code == 200
        # DPS-FINALIZE-ASYNC-VALIDATION: finalize confirms the upload only.
        archive.finalize_submission(contract_id="c100", submission_id=submission_id)
        done = archive.wait_for_submission(
            contract_id="c100", submission_id=submission_id, interval=0.01, timeout=10
        )
        [(delivery, _)] = wait_until(
            lambda: hook.receiver.events("submission.rejected", submissionId=submission_id)
        )
    assert done.status.root == "REJECTED" and done.archive_id is None
    verify(delivery, hook.subscription["secret"])
    event = SubmissionRejectedEvent.model_validate_json(delivery.body)
    assert [(r.code, r.file_path) for r in event.data.reasons] == [(reason, path)]
    assert "archiveId" not in json.loads(delivery.body)["data"]  # A-DPS-037
    assert event.data.contract_id == "c100"


def test_a_packaged_tar_is_preserved(sandbox: Sandbox, archive: Client) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("obj/METS.xml")
        info.size = 7
        tar.addfile(info, io.BytesIO(b"<mets/>"))
    submission_id = create(archive)
    _, url = register(archive, submission_id, "obj.tar", buffer.getvalue(), packaged=True)
    assert upload(url, buffer.getvalue()).status_code == 200
    archive.finalize_submission(contract_id="c100", submission_id=submission_id)
    done = archive.wait_for_submission(
        contract_id="c100", submission_id=submission_id, interval=0.01, timeout=10
    )
    assert done.status.root == "PRESERVED"


def test_the_pipelines_follow_the_spec_lifecycles() -> None:
    document = yaml.safe_load((REPO / "specs/dps/v1/openapi.yaml").read_text(encoding="utf-8"))
    lifecycles = document["x-kontrakt-lifecycles"]
    for name, steps in (("submission", SUBMISSION_STEPS), ("dissemination", DISSEMINATION_STEPS)):
        transitions = lifecycles[name]["transitions"]
        for old, new in itertools.pairwise(steps):
            assert new in transitions[old], (name, old, new)
        assert lifecycles[name]["states"][steps[-1]]["terminal"]
    submission = lifecycles["submission"]["transitions"]
    assert "REJECTED" in submission["VALIDATING"]  # where the sandbox rejects
    dissemination = lifecycles["dissemination"]["transitions"]
    assert "REJECTED" in dissemination["QUEUED"] and "FAILED" in dissemination["FIXITY_CHECK"]


# --- disseminations ------------------------------------------------------------------------------------


def test_dissemination_is_delivered_with_a_working_download_link(
    sandbox: Sandbox, archive: Client
) -> None:
    with subscribed(sandbox, events=["dissemination.delivered"]) as hook:
        order = CreateDisseminationRequest(archive_id=PRESERVED_C100)
        created = archive.create_dissemination(body=order)
        assert created.status.root == "RECEIVED"
        # DPS-DISSEMINATION-ECHO.
        assert (created.contract_id, created.object_id) == ("c100", "fixture-preserved-c100")
        assert (created.client_id, created.priority) == ("dps-archive-test", 50)
        assert created.date_created is not None and created.date_created.utcoffset() is not None
        done = archive.wait_for_dissemination(
            dissemination_id=created.dissemination_id, interval=0.01, timeout=10
        )
        assert done.status.root == "DISSEMINATED"
        [(delivery, _)] = wait_until(
            lambda: hook.receiver.events(
                "dissemination.delivered", disseminationId=created.dissemination_id
            )
        )
    verify(delivery, hook.subscription["secret"])
    event = DisseminationDeliveredEvent.model_validate_json(delivery.body)
    assert (event.data.archive_id, event.data.client_id) == (PRESERVED_C100, "dps-archive-test")
    [file] = event.data.files
    downloaded = httpx.get(str(file.download_url), timeout=10)
    assert downloaded.status_code == 200
    assert len(downloaded.content) == file.filesize == event.data.sum_size_in_bytes
    assert hashlib.md5(downloaded.content).hexdigest() == file.checksum
    with tarfile.open(fileobj=io.BytesIO(downloaded.content)) as tar:
        assert "fixture-preserved-c100/METS.xml" in tar.getnames()
    tampered = str(file.download_url).replace("signature=", "signature=0")
    assert httpx.get(tampered, timeout=10).status_code == 403


@pytest.mark.parametrize(
    ("archive_id", "terminal"),
    [(DAMAGED_C100, "FAILED"), (RESTRICTED_C100, "REJECTED")],
    ids=["fixity-failed", "refused"],
)
def test_dissemination_failed_or_rejected_sends_no_webhook(
    sandbox: Sandbox, archive: Client, archive_id: str, terminal: str
) -> None:
    with subscribed(sandbox) as hook:
        created = archive.create_dissemination(
            body=CreateDisseminationRequest(archive_id=archive_id, priority=10)
        )
        done = archive.wait_for_dissemination(
            dissemination_id=created.dissemination_id, interval=0.01, timeout=10
        )
        time.sleep(0.1)
    assert (done.status.root, done.priority) == (terminal, 10)
    assert not hook.receiver.events(
        "dissemination.delivered", disseminationId=done.dissemination_id
    )


def test_dissemination_in_progress_is_409_then_allowed_again(archive: Client) -> None:
    first = archive.create_dissemination(body=CreateDisseminationRequest(archive_id=PRESERVED_C200))
    error = refused(
        lambda: archive.create_dissemination(
            body=CreateDisseminationRequest(archive_id=PRESERVED_C200)
        )
    )
    assert_error(error, 409, "DISSEMINATION_IN_PROGRESS")
    archive.wait_for_dissemination(
        dissemination_id=first.dissemination_id, interval=0.01, timeout=10
    )
    # A-DPS-019: once terminal, the same archiveId may be ordered again.
    again = archive.create_dissemination(body=CreateDisseminationRequest(archive_id=PRESERVED_C200))
    assert again.dissemination_id != first.dissemination_id
    archive.wait_for_dissemination(dissemination_id=again.dissemination_id, interval=0.01)


@pytest.mark.parametrize(
    ("archive_id", "status", "code"),
    [(ARCHIVING_C100, 422, "AIP_NOT_PRESERVED"), ("no-such-archive", 404, "NOT_FOUND")],
)
def test_dissemination_of_an_unpreserved_or_unknown_archive(
    archive: Client, archive_id: str, status: int, code: str
) -> None:
    error = refused(
        lambda: archive.create_dissemination(body=CreateDisseminationRequest(archive_id=archive_id))
    )
    assert_error(error, status, code)


def test_unknown_dissemination_is_404(archive: Client) -> None:
    assert_error(
        refused(lambda: archive.get_dissemination(dissemination_id=UNKNOWN_ID)), 404, "NOT_FOUND"
    )


# --- roles (403) ---------------------------------------------------------------------------------------


def _ops() -> dict[str, Callable[[Client], Any]]:
    body = CreateSubmissionRequest.model_validate({"objectId": "denied-obj", "metadata": METADATA})
    file = RegisterFileRequest(file_path="x/y", checksum="0" * 32)
    event = SubmissionEvent.model_validate(
        {
            "agent": {"agentName": "md5sum", "agentType": "software"},
            "event": {
                "eventDateTime": "2026-02-03T12:05:48+01:00",
                "eventType": "fixity check",
                "outcome": "success",
            },
        }
    )
    s, f = PRESERVED_SUBMISSION, "fixFileC100PreservedA1"
    return {
        "create-c100": lambda c: c.create_submission(contract_id="c100", body=body),
        "create-c200": lambda c: c.create_submission(contract_id="c200", body=body),
        "list-c100": lambda c: c.list_submissions(contract_id="c100"),
        "list-c300": lambda c: c.list_submissions(contract_id="c300"),
        "get-c100": lambda c: c.get_submission_status(contract_id="c100", submission_id=s),
        "delete-c100": lambda c: c.delete_submission(contract_id="c100", submission_id=s),
        "register-c100": lambda c: c.register_file(contract_id="c100", submission_id=s, body=file),
        "get-file-c100": lambda c: c.get_file(contract_id="c100", submission_id=s, file_id=f),
        "delete-file-c100": lambda c: c.delete_file(contract_id="c100", submission_id=s, file_id=f),
        "finalize-c100": lambda c: c.finalize_submission(contract_id="c100", submission_id=s),
        "event-c100": lambda c: c.create_submission_event(
            contract_id="c100", submission_id=s, body=event
        ),
        "disseminate-c200": lambda c: c.create_dissemination(
            body=CreateDisseminationRequest(archive_id=PRESERVED_C200)
        ),
        "disseminate-c100": lambda c: c.create_dissemination(
            body=CreateDisseminationRequest(archive_id=ARCHIVING_C100)
        ),
    }


@pytest.mark.parametrize(
    ("who", "operation"),
    [
        # DPS-AUTH-READ-ONLY-CLIENT: the reader (c100_R) may read, never write.
        ("reader", "create-c100"),
        ("reader", "delete-c100"),
        ("reader", "register-c100"),
        ("reader", "delete-file-c100"),
        ("reader", "finalize-c100"),
        ("reader", "event-c100"),
        # DPS-AUTH-OTHER-CONTRACT-403: roles of other contracts only.
        ("reader", "list-c300"),
        ("archive", "list-c300"),
        ("archive", "create-c200"),  # c200_R only: no write
        # DPS-AUTH-DISSEMINATION-ROLE: the AIP's contract, resolved from the archiveId.
        ("reader", "disseminate-c200"),
        ("write-only", "disseminate-c100"),  # A-DPS-029: _W is not enough
        ("no-roles", "get-c100"),
        ("no-roles", "disseminate-c100"),
    ],
)
def test_roles_are_403(sandbox: Sandbox, who: str, operation: str) -> None:
    tokens = {
        "reader": lambda: issued_token(sandbox, READER),
        "archive": lambda: issued_token(sandbox, ARCHIVE),
        "write-only": lambda: minted(sandbox, ["c100_W", "c200_W"]),
        "no-roles": lambda: minted(sandbox, []),
    }
    with client_with(sandbox, tokens[who]()) as dps:
        assert_error(refused(lambda: _ops()[operation](dps)), 403, "FORBIDDEN")


@pytest.mark.parametrize(
    ("roles", "operation"),
    [
        (["c100_R"], "list-c100"),
        (["c100_R"], "get-c100"),
        (["c100_R"], "get-file-c100"),
        (["c100_W"], "get-c100"),  # A-DPS-005: a write role reads too
        (["c100_W"], "get-file-c100"),
    ],
)
def test_read_roles(sandbox: Sandbox, roles: list[str], operation: str) -> None:
    with client_with(sandbox, minted(sandbox, roles)) as dps:
        assert _ops()[operation](dps) is not None


def test_the_reader_disseminates_and_reads_its_contract_only(
    sandbox: Sandbox, archive: Client
) -> None:
    other = archive.create_dissemination(body=CreateDisseminationRequest(archive_id=PRESERVED_C200))
    with client_with(sandbox, issued_token(sandbox, READER)) as reader:
        mine = reader.create_dissemination(body=CreateDisseminationRequest(archive_id=DAMAGED_C100))
        assert mine.client_id == "dps-reader-test"
        assert reader.get_dissemination(dissemination_id=mine.dissemination_id).archive_id == (
            DAMAGED_C100
        )
        error = refused(lambda: reader.get_dissemination(dissemination_id=other.dissemination_id))
        reader.wait_for_dissemination(dissemination_id=mine.dissemination_id, interval=0.01)
    assert_error(error, 403, "FORBIDDEN")
    archive.wait_for_dissemination(dissemination_id=other.dissemination_id, interval=0.01)


# --- authentication (401) ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["none", "garbage", "expired", "foreign-audience"])
def test_without_a_valid_token_is_401(sandbox: Sandbox, kind: str) -> None:
    issuer = sandbox.context.issuer
    client = issuer.registry.get("dps-archive-test")
    assert client is not None
    token = {
        "none": None,
        "garbage": "not.a.jwt",
        "expired": issuer.mint(client, [], sandbox.url("dps"), now=time.time() - 3600)[0],
        "foreign-audience": minted(sandbox, ["c100_W"], audience="http://127.0.0.1:9/v2"),
    }[kind]
    with client_with(sandbox, token) as dps:
        error = refused(lambda: dps.list_submissions(contract_id="c100"))
        assert_error(error, 401, "UNAUTHORIZED")
        # DPS-AUTH-401: before any other check, even a malformed body.
        with raw(sandbox, token) as http:
            response = http.post("/v1/contracts/c100/submissions", content=b"{")
    assert_envelope(response, 401, "UNAUTHORIZED")


# --- 400 -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.list_submissions(contract_id="C-1000"),  # the token holds C-1000_R
        lambda c: c.get_submission_status(contract_id="c100", submission_id="short"),
        lambda c: c.get_file(contract_id="c100", submission_id=PRESERVED_SUBMISSION, file_id="x"),
        lambda c: c.delete_file(contract_id="c100", submission_id="x" * 23, file_id=UNKNOWN_ID),
        lambda c: c.finalize_submission(contract_id="C-1000", submission_id=UNKNOWN_ID),
        lambda c: c.get_dissemination(dissemination_id="not-base62!!"),
        lambda c: c.list_submissions(contract_id="c100", page=-1),
        lambda c: c.list_submissions(contract_id="c100", size=0),
    ],
    ids=[
        "contract",
        "submission",
        "file",
        "file-submission",
        "finalize",
        "dissemination",
        "page",
        "size",
    ],
)
def test_malformed_parameters_are_400(archive: Client, call: Callable[[Client], Any]) -> None:
    assert_error(refused(lambda: call(archive)), 400, "VALIDATION_ERROR")


def _bodies() -> list[Any]:
    good = {"objectId": "ok-obj", "metadata": METADATA}
    event = {
        "agent": {"agentName": "md5sum", "agentType": "software"},
        "event": {
            "eventDateTime": "2026-02-03T12:05:48+01:00",
            "eventType": "virus check",
            "outcome": "success",
        },
    }
    files = "/v1/contracts/c100/submissions/{sid}/files"
    events = "/v1/contracts/c100/submissions/{sid}/events"
    cases = [
        ("/v1/contracts/c100/submissions", {**good, "objectId": "no spaces allowed"}),
        ("/v1/contracts/c100/submissions", {**good, "objectId": "ab"}),
        ("/v1/contracts/c100/submissions", {**good, "priority": 0}),
        ("/v1/contracts/c100/submissions", {**good, "priority": 101}),
        ("/v1/contracts/c100/submissions", {"objectId": "ok-obj"}),
        ("/v1/contracts/c100/submissions", {**good, "metadata": {**METADATA, "identifier": []}}),
        (
            "/v1/contracts/c100/submissions",
            {**good, "metadata": {"type": "Bok", "identifier": METADATA["identifier"]}},
        ),
        (files, {"filePath": "a", "checksum": "0" * 31}),
        (files, {"filePath": "a", "checksum": "A" * 32}),
        (files, {"filePath": "", "checksum": "0" * 32}),
        (files, {"filePath": "a" * 901, "checksum": "0" * 32}),
        (files, {"checksum": "0" * 32}),
        (events, {**event, "event": {**event["event"], "eventType": "digitisation"}}),
        (events, {**event, "event": {**event["event"], "eventDateTime": "2026-02-03T12:05:48"}}),
        (events, {**event, "agent": {"agentName": "x", "agentType": "robot"}}),
        (events, {**event, "event": {**event["event"], "outcome": "maybe"}}),
        ("/v1/disseminations", {"priority": 50}),
        ("/v1/disseminations", {"archiveId": PRESERVED_C100, "priority": 101}),
        ("/v1/disseminations", {"archiveId": 42}),
        ("/v1/contracts/c100/submissions", "{not json"),
    ]
    return [pytest.param(path, body, id=f"{i:02d}") for i, (path, body) in enumerate(cases)]


@pytest.mark.parametrize(("path", "body"), _bodies())
def test_invalid_bodies_are_400(sandbox: Sandbox, archive: Client, path: str, body: Any) -> None:
    submission_id = create(archive) if "{sid}" in path else ""
    with raw(sandbox, issued_token(sandbox, ARCHIVE)) as http:
        target = path.replace("{sid}", submission_id)
        if isinstance(body, str):
            response = http.post(target, content=body, headers={"Content-Type": "application/json"})
        else:
            response = http.post(target, json=body)
    assert_envelope(response, 400, "VALIDATION_ERROR")


def test_finalize_needs_files_and_every_upload(archive: Client) -> None:
    submission_id = create(archive)
    finalize = lambda: archive.finalize_submission(contract_id="c100", submission_id=submission_id)  # noqa: E731
    assert_error(refused(finalize), 400, "UPLOAD_INCOMPLETE")  # no files
    _, url = register(archive, submission_id, "obj/METS.xml", b"<mets/>")
    register(archive, submission_id, "obj/data.txt", b"data")
    assert upload(url, b"<mets/>").status_code == 200
    error = refused(finalize)
    assert_error(error, 400, "UPLOAD_INCOMPLETE")
    assert error.body["error"]["details"] == "obj/data.txt"
    status = archive.get_submission_status(contract_id="c100", submission_id=submission_id)
    assert status.status.root == "REGISTERED" and status.files is None


# --- 404 -------------------------------------------------------------------------------------------------


def test_unknown_resources_are_404(archive: Client) -> None:
    other = create(archive)  # a file of another submission is 404 too
    file_id, _ = register(archive, other, "p", b"x")
    body = RegisterFileRequest(file_path="a", checksum="0" * 32)
    u, s = UNKNOWN_ID, PRESERVED_SUBMISSION
    calls: list[Callable[[], Any]] = [
        lambda: archive.get_submission_status(contract_id="c100", submission_id=u),
        lambda: archive.get_submission_status(
            contract_id="c200", submission_id=s
        ),  # other contract
        lambda: archive.delete_submission(contract_id="c100", submission_id=u),
        lambda: archive.register_file(contract_id="c100", submission_id=u, body=body),
        lambda: archive.finalize_submission(contract_id="c100", submission_id=u),
        lambda: archive.get_file(contract_id="c100", submission_id=u, file_id=u),
        lambda: archive.get_file(contract_id="c100", submission_id=s, file_id=u),
        lambda: archive.get_file(contract_id="c100", submission_id=s, file_id=file_id),
        lambda: archive.delete_file(contract_id="c100", submission_id=s, file_id=u),
    ]
    for call in calls:
        assert_error(refused(call), 404, "NOT_FOUND")


# --- 409 and 204 -------------------------------------------------------------------------------------------


def test_duplicates_are_409(sandbox: Sandbox, archive: Client) -> None:
    object_id = new_object_id()
    submission_id = create(archive, object_id=object_id)
    assert_error(refused(lambda: create(archive, object_id=object_id)), 409, "DUPLICATE_OBJECT_ID")
    # A-DPS-011: the same objectId in another contract is fine.
    with client_with(sandbox, minted(sandbox, ["c300_W"])) as other:
        assert create(other, "c300", object_id=object_id)
    register(archive, submission_id, "obj/METS.xml", b"<mets/>")
    error = refused(lambda: register(archive, submission_id, "obj/METS.xml", b"other"))
    assert_error(error, 409, "DUPLICATE_FILE_PATH")


def test_wrong_state_is_409(sandbox: Sandbox, archive: Client) -> None:
    submission_id = uploaded_submission(archive, {"obj/METS.xml": b"<mets/>"}, {})
    finalized = archive.finalize_submission(contract_id="c100", submission_id=submission_id)
    assert finalized.files is not None
    file_id = finalized.files[0].file_id
    body = RegisterFileRequest(file_path="late", checksum="0" * 32)
    calls: list[Callable[[], Any]] = [
        lambda: archive.finalize_submission(contract_id="c100", submission_id=submission_id),
        lambda: archive.register_file(contract_id="c100", submission_id=submission_id, body=body),
        lambda: archive.delete_file(
            contract_id="c100", submission_id=submission_id, file_id=file_id
        ),
        lambda: archive.delete_submission(contract_id="c100", submission_id=submission_id),
    ]
    for call in calls:
        assert_error(refused(call), 409, "INVALID_STATE")
    # DPS-STATE-FROZEN-AFTER-FINALIZE: the upload URL no longer takes bytes.
    url = str(finalized.files[0].upload_url)
    assert upload(url, b"changed").status_code == 403
    archive.wait_for_submission(contract_id="c100", submission_id=submission_id, interval=0.01)


def test_events_201_then_409_once_terminal(archive: Client) -> None:
    event = SubmissionEvent.model_validate(
        {
            "agent": {"agentName": "ClamAV", "agentType": "software", "agentVersion": "1.4"},
            "event": {
                "eventDateTime": "2026-02-03T12:05:48.210+01:00",
                "eventType": "virus check",
                "fileRef": {"relativePath": "obj/METS.xml"},
                "outcome": "success",
            },
        }
    )
    submission_id = create(archive)
    stored = archive.create_submission_event(
        contract_id="c100", submission_id=submission_id, body=event
    )
    assert stored.model_dump(by_alias=True) == event.model_dump(by_alias=True)
    for terminal in (REJECTED_SUBMISSION, PRESERVED_SUBMISSION):
        error = refused(
            lambda t=terminal: archive.create_submission_event(  # type: ignore[misc]
                contract_id="c100", submission_id=t, body=event
            )
        )
        assert_error(error, 409, "INVALID_STATE")


def test_delete_file_and_register_again_gives_a_new_url(archive: Client) -> None:
    submission_id = create(archive)
    file_id, url = register(archive, submission_id, "obj/METS.xml", b"<mets/>")
    assert upload(url, b"partial").status_code == 200
    assert upload(url, b"<mets/>").status_code == 200  # DPS-UPLOAD-RETRY-SAME-URL
    archive.delete_file(contract_id="c100", submission_id=submission_id, file_id=file_id)  # 204
    gone = refused(
        lambda: archive.get_file(contract_id="c100", submission_id=submission_id, file_id=file_id)
    )
    assert_error(gone, 404, "NOT_FOUND")
    assert upload(url, b"<mets/>").status_code == 403  # the old URL died with its registration
    again, new_url = register(archive, submission_id, "obj/METS.xml", b"<mets/>")
    assert (again, new_url) != (file_id, url)
    assert upload(new_url, b"<mets/>").status_code == 200


def test_delete_submission_frees_its_object_id(archive: Client) -> None:
    object_id = new_object_id()
    submission_id = create(archive, object_id=object_id)
    register(archive, submission_id, "obj/METS.xml", b"<mets/>")
    archive.delete_submission(contract_id="c100", submission_id=submission_id)  # 204
    gone = refused(
        lambda: archive.get_submission_status(contract_id="c100", submission_id=submission_id)
    )
    assert_error(gone, 404, "NOT_FOUND")
    assert create(archive, object_id=object_id) != submission_id  # A-DPS-012


# --- list, upload store, webhook admin ---------------------------------------------------------------------


def test_list_pages(archive: Client) -> None:
    first = archive.list_submissions(contract_id="c100", page=0, size=2)
    total = first.page.total_elements
    assert len(first.content) == 2 and first.page.size == 2 and first.page.number == 0
    assert first.page.total_pages == -(-total // 2)
    assert all(s.contract_id == "c100" for s in first.content)
    beyond = archive.list_submissions(contract_id="c100", page=first.page.total_pages, size=2)
    assert beyond.content == [] and beyond.page.total_elements == total
    default = archive.list_submissions(contract_id="c100")
    assert default.page.size == 20 and default.page.number == 0


def test_upload_store_refusals(sandbox: Sandbox, archive: Client) -> None:
    submission_id = create(archive)
    _, url = register(archive, submission_id, "obj/METS.xml", b"<mets/>")
    forged = url.replace("signature=", "signature=f")
    assert upload(forged, b"<mets/>").status_code == 403
    unsigned = url.split("?")[0]
    assert upload(unsigned, b"<mets/>").status_code == 403
    chunked = httpx.put(url, content=iter([b"<mets/>"]), timeout=10)  # no Content-Length
    assert chunked.status_code == 411
    assert "MissingContentLength" in chunked.text


def test_options_expired_upload_url_and_webhook_url() -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    receiver = Receiver()
    with serve(receiver.app()) as hook:
        options = {
            "upload_url_ttl": -1,
            "step_delay": 0.01,
            "webhook_url": hook + "/hook",
            "webhook_secret": secret,
        }
        with Sandbox.start(["dps"], options={"dps": options}) as short:
            token = issued_token(short, ARCHIVE)
            with client_with(short, token) as dps:
                submission_id = create(dps)
                _, url = register(dps, submission_id, "obj/METS.xml", b"<mets/>")
                expired = upload(url, b"<mets/>")
                dps.create_dissemination(body=CreateDisseminationRequest(archive_id=PRESERVED_C100))
                [(delivery, _)] = wait_until(lambda: receiver.events("dissemination.delivered"))
            admin = short.url("dps").removesuffix("/dps-submission") + "/_sandbox/webhooks"
            [subscription] = httpx.get(admin, timeout=10).json()["subscriptions"]
    assert expired.status_code == 403 and "expired" in expired.text
    assert (subscription["url"], subscription["secret"]) == (hook + "/hook", secret)
    verify(delivery, secret)


@pytest.mark.parametrize(
    ("method", "path", "headers", "content", "status", "code"),
    [
        ("PUT", "/v1/disseminations", {}, b"{}", 405, "METHOD_NOT_ALLOWED"),
        (
            "GET",
            "/v1/contracts/c100/submissions",
            {"Accept": "text/xml"},
            b"",
            406,
            "NOT_ACCEPTABLE",
        ),
        (
            "POST",
            "/v1/disseminations",
            {"Content-Type": "text/plain"},
            b"x",
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            "POST",
            "/v1/disseminations",
            {"Content-Type": "application/json"},
            b" " * 2**21,
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        ("GET", "/v1/nowhere", {}, b"", 404, "NOT_FOUND"),
    ],
    ids=["405", "406", "415", "413", "404-path"],
)
def test_catalogue_defaults(
    sandbox: Sandbox,
    method: str,
    path: str,
    headers: dict[str, str],
    content: bytes,
    status: int,
    code: str,
) -> None:
    with raw(sandbox, issued_token(sandbox, ARCHIVE)) as http:
        response = http.request(method, path, headers=headers, content=content)
    assert_envelope(response, status, code)


@pytest.mark.parametrize(
    ("statuses", "state", "attempts", "last"),
    [
        ((400,), "failed", 1, 400),  # A-DPS-024: a 4xx other than 408/429 is permanent
        ((500,), "failed", 3, 500),  # retried until webhook_max_attempts (3 here)
        ((429, 204), "delivered", 2, 204),
    ],
    ids=["4xx-is-permanent", "5xx-until-max-attempts", "429-retried"],
)
def test_webhook_retry_policy(
    sandbox: Sandbox,
    archive: Client,
    statuses: tuple[int, ...],
    state: str,
    attempts: int,
    last: int,
) -> None:
    with subscribed(sandbox, *statuses, events=["dissemination.delivered"]) as hook:
        created = archive.create_dissemination(
            body=CreateDisseminationRequest(archive_id=PRESERVED_C100)
        )
        archive.wait_for_dissemination(dissemination_id=created.dissemination_id, interval=0.01)

        def settled() -> list[dict[str, Any]]:
            log = deliveries_log(sandbox, hook.subscription["subscriptionId"])
            return [
                d
                for d in log
                if d["payload"]["data"]["disseminationId"] == created.dissemination_id
                and d["state"] != "pending"
            ]

        [entry] = wait_until(settled)
    assert (entry["state"], entry["attempts"], entry["lastStatus"]) == (state, attempts, last)
    assert [d.answered for d in hook.receiver.deliveries][-1] == last
    assert len({d.headers["webhook-id"] for d in hook.receiver.deliveries}) == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"url": "http://127.0.0.1:9/hook", "secret": "not-whsec"}, 400),
        ({"url": "http://127.0.0.1:9/hook", "secret": "whsec_!!"}, 400),
        ({"url": "http://example.org/hook"}, 400),
        ({"url": "ftp://127.0.0.1/hook"}, 400),
        ({"url": "http://127.0.0.1:9/hook", "events": ["submission.queued"]}, 400),
        ({"url": "http://127.0.0.1:9/hook", "secret": "whsec_" + "A" * 32}, 201),
    ],
)
def test_webhook_admin(sandbox: Sandbox, body: dict[str, Any], status: int) -> None:
    admin = sandbox.url("dps").removesuffix("/dps-submission") + "/_sandbox/webhooks"
    response = httpx.post(admin, json=body, timeout=10)
    assert response.status_code == status, response.text
    if status == 201:
        created = response.json()
        assert created["secret"] == body["secret"]
        assert set(created["events"]) == {
            "submission.preserved",
            "submission.rejected",
            "dissemination.delivered",
        }
        listed = httpx.get(admin, timeout=10).json()["subscriptions"]
        assert created in listed
        assert httpx.delete(f"{admin}/{created['subscriptionId']}", timeout=10).status_code == 204
        assert httpx.delete(f"{admin}/{created['subscriptionId']}", timeout=10).status_code == 404
    else:
        assert_envelope(response, 400, "VALIDATION_ERROR")
