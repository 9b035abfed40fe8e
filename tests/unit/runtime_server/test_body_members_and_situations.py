"""Choosing among error uses: a body validation error names its failing member as the
`parameter` (DAN's `parameters: [requestor]` 1001 beats the body-wide 1014), and a handler's
`ApiProblem.from_trigger(..., situation=...)` picks among codes sharing a trigger and status by the
error use's `situation` word (DAN 3001 vs 1013 at 503; 1006/1007/1009/1017 for evidenceRequests),
while callers without a situation keep getting the untagged default."""

from __future__ import annotations

import asyncio
from typing import Annotated

import httpx
import pytest
from fastapi import Body, FastAPI
from pydantic import BaseModel

from kontrakt.generated.dan_v1.server import ERROR_STYLE, ERRORS, OPERATION_ERRORS
from kontrakt.runtime import server as rt


def _table(operation: str) -> rt.ErrorTable:
    return rt.ErrorTable(OPERATION_ERRORS[operation])


@pytest.mark.parametrize(
    ("situation", "code"),
    [(None, "1013"), ("source-transient", "3001"), ("invalid", "1013"), ("elsewhere", "1013")],
)
def test_upstream_codes_at_503_by_situation(situation: str | None, code: str) -> None:
    table = _table("harvestEvidence")
    assert table.find("upstream-error", situation=situation, status=503) == (503, code)


@pytest.mark.parametrize(
    ("situation", "code"),
    [
        (None, "1006"),
        ("legal-basis-reference", "1009"),
        ("unknown-dataset", "1007"),
        ("dataset-parameters", "1017"),
    ],
)
def test_evidence_request_codes_by_situation(situation: str | None, code: str) -> None:
    config = rt.ServerConfig(
        style=ERROR_STYLE,
        table=rt.ErrorTable(ERRORS),
        operation_tables={"createAccreditation": _table("createAccreditation")},
    )
    problem = rt.ApiProblem.from_trigger(
        "invalid-body", "Bad evidence request.", parameter="evidenceRequests", situation=situation
    )
    response = config.render_problem(problem, "createAccreditation")
    assert response.status_code == 400
    assert bytes(response.body).decode().startswith(f'{{"code":{code},')


def test_existing_callers_are_unchanged() -> None:
    table = _table("createAccreditation")
    assert table.find("invalid-body") == (400, "1014")
    assert table.find("invalid-body", "requestor") == (400, "1001")
    assert table.find("unauthenticated", "Authorization", situation="missing") == (401, "1023")
    assert table.find("unauthenticated", "Authorization", situation="invalid") == (401, "1024")


def test_a_situation_is_a_kebab_case_word() -> None:
    assert rt.ErrorUse(503, "3001", situation="source-transient").situation == "source-transient"
    for bad in ("Source Transient", "-x", "x-", "x--y", ""):
        with pytest.raises(ValueError, match="kebab-case"):
            rt.ErrorUse(503, "3001", situation=bad)


# --- body members as parameters, through the validation handler --------------------------------


class EvidenceRequest(BaseModel):
    evidenceCodeName: str


class AuthorizationRequest(BaseModel):
    requestor: str
    subject: str | None = None
    evidenceRequests: list[EvidenceRequest]


USES: dict[str, list[rt.ErrorUseData]] = {
    "invalid-body": [
        (400, "1014", ()),
        (400, "1001", ("requestor",)),
        (400, "1004", ("subject",)),
        (400, "1006", ("evidenceRequests",)),
        (400, "1007", ("evidenceRequests",), "unknown-dataset"),
    ],
    "server-error": [(500, "1015", ())],
    "method-not-allowed": [(405, "1015", ())],
}


def _app() -> FastAPI:
    router = rt.create_router()

    @router.post("/authorization", operation_id="createAccreditation", status_code=204)
    async def create(body: Annotated[AuthorizationRequest, Body()]) -> None:
        return None

    return rt.create_app(
        [router],
        rt.ErrorStyle(code_type="integer", message_field="description"),
        rt.ErrorTable(USES),
        operation_tables={"createAccreditation": rt.ErrorTable(USES)},
    )


def _post(content: bytes) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://dan.test") as client:
            return await client.post(
                "/authorization", content=content, headers={"Content-Type": "application/json"}
            )

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param(b'{"evidenceRequests": []}', 1001, id="missing-requestor"),
        pytest.param(b'{"requestor": 5, "evidenceRequests": []}', 1001, id="requestor-type"),
        pytest.param(
            b'{"requestor": "x", "subject": 5, "evidenceRequests": []}', 1004, id="subject"
        ),
        pytest.param(b'{"requestor": "x"}', 1006, id="missing-requests"),
        pytest.param(b'{"requestor": "x", "evidenceRequests": [{}]}', 1006, id="nested-member"),
        pytest.param(b"[]", 1014, id="not-an-object"),
        pytest.param(b"{not json", 1014, id="malformed"),
    ],
)
def test_body_errors_name_the_failing_member(body: bytes, code: int) -> None:
    response = _post(body)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == code
