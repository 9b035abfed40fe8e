"""DPS v1 end to end: roles from the token decide access per contract, a submission is created
and read back, and the client's `wait_for_submission` polls through an undocumented state to a
terminal one. Errors come in DPS's `{"error": {...}}` envelope."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from kontrakt.generated.dps_v1 import (
    Client,
    CreateSubmissionRequest,
    SubmissionResponse,
    create_app,
)
from kontrakt.runtime import server as rt
from kontrakt.runtime.client import ApiError, BearerToken
from tests.e2e._support import Issuer, example, serve

SPEC = "dps/v1"
ISSUER = Issuer("https://www.nb.no/authn/realms/dps", "dps-api")


class Archive:
    """The provider's business logic: submissions in memory, moving on at each read."""

    def __init__(self) -> None:
        self.submissions: dict[str, dict[str, Any]] = {}
        self.reads: dict[str, int] = {}

    async def create_submission(
        self, *, contract_id: str, body: CreateSubmissionRequest, **_: Any
    ) -> SubmissionResponse:
        record = example(SPEC, "createSubmission", "201")
        record["submissionId"] = uuid.uuid4().hex[:22]
        record["objectId"] = body.object_id
        record["status"] = "REGISTERED"
        self.submissions[record["submissionId"]] = record
        return SubmissionResponse.model_validate(record)

    async def get_submission_status(self, *, submission_id: str, **_: Any) -> SubmissionResponse:
        record = self.submissions.get(submission_id)
        if record is None:
            raise rt.ApiProblem.from_trigger("not-found", "No such submission.")
        # PROCESSING is what live DPS has shown and no document lists: still in progress.
        states = ["REGISTERED", "PROCESSING", "PRESERVED"]
        read = self.reads[submission_id] = self.reads.get(submission_id, -1) + 1
        record["status"] = states[min(read, len(states) - 1)]
        return SubmissionResponse.model_validate(record)


@contextmanager
def client(*roles: str) -> Iterator[Client]:
    app = create_app(Archive(), {"oauth2": rt.BearerScheme(ISSUER.verifier())})
    token = ISSUER.token(realm_access={"roles": list(roles)})
    with serve(app) as url, Client(url, auth=BearerToken(token), retry=None) as api:
        yield api


def test_create_then_get_round_trip_and_wait() -> None:
    body = CreateSubmissionRequest.model_validate(example(SPEC, "createSubmission"))
    with client("a1f3_W") as dps:
        created = dps.create_submission(contract_id="a1f3", body=body)
        assert isinstance(created, SubmissionResponse)
        assert created.object_id == body.object_id
        again = dps.get_submission_status(contract_id="a1f3", submission_id=created.submission_id)
        assert again.submission_id == created.submission_id
        done = dps.wait_for_submission(
            contract_id="a1f3", submission_id=created.submission_id, interval=0.01, timeout=5
        )
        assert done.status.root == "PRESERVED"


def test_missing_write_role_is_403_in_the_error_envelope() -> None:
    body = CreateSubmissionRequest.model_validate(example(SPEC, "createSubmission"))
    with client("a1f3_R", "b2e4_W") as dps:  # may read c1, write only c2
        with pytest.raises(ApiError) as caught:
            dps.create_submission(contract_id="a1f3", body=body)
        assert isinstance(dps.create_submission(contract_id="b2e4", body=body), SubmissionResponse)
    assert (caught.value.status, caught.value.code) == (403, "FORBIDDEN")
    assert set(caught.value.body) == {"error"}
    assert caught.value.body["error"]["code"] == "FORBIDDEN"


def test_wrong_content_type_is_415() -> None:
    with client("a1f3_W") as dps:
        response = dps._http.post(
            "/v1/contracts/a1f3/submissions",
            content=b"objectId=1",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert isinstance(response, httpx.Response)
