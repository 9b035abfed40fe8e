"""Response headers a handler sets: `rt.Reply(body, headers=...)` through `rt.serialize` and
`rt.empty_response`, and the generated Sdir v1 route whose 201 requires `Location`. A required
header missing from a reply is logged (names only) and the answer still goes out."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import pytest

from kontrakt.generated.sdir_additional_competence_v1 import (
    AdditionalCompetenceV1,
    AdditionalCompetenceV1Record,
    create_app,
)
from kontrakt.runtime import server as rt
from tests.e2e._support import Issuer, example

SPEC = "sdir-additional-competence/v1"
ISSUER = Issuer("https://test.maskinporten.no/", "https://sdir.example")
SCOPE = "sdir:seafarer.additionalcompetance.write"
KEY = "subscription-key-1"
LOGGER = "kontrakt.runtime.server"


def test_serialize_adds_a_replys_headers() -> None:
    response = rt.serialize(
        rt.Reply({"a": 1}, headers={"Location": "/things/1"}),
        "application/json",
        status_code=201,
        headers={"X-Other": "yes"},
        required_headers=("location",),
    )
    assert response.status_code == 201
    assert json.loads(bytes(response.body)) == {"a": 1}
    assert response.headers["location"] == "/things/1"
    assert response.headers["x-other"] == "yes"


def test_a_bare_result_still_serialises() -> None:
    response = rt.serialize({"a": 1}, "application/json")
    assert json.loads(bytes(response.body)) == {"a": 1}
    assert "location" not in response.headers


def test_missing_required_header_is_logged_and_answered(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        response = rt.serialize(
            rt.Reply({"a": 1}, headers={"X-Secretive": "s3cr3t"}),
            "application/json",
            status_code=201,
            required_headers=("Location",),
        )
    assert response.status_code == 201
    [record] = [r for r in caplog.records if r.name == LOGGER]
    assert record.levelno == logging.ERROR
    assert "Location" in record.getMessage()
    assert "s3cr3t" not in record.getMessage()


def test_empty_response_carries_reply_headers(caplog: pytest.LogCaptureFixture) -> None:
    response = rt.empty_response(rt.Reply(None, headers={"ETag": '"1"'}), status_code=204)
    assert (response.status_code, response.headers["etag"], response.body) == (204, '"1"', b"")
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        bare = rt.empty_response(None, status_code=204, required_headers=("ETag",))
    assert bare.status_code == 204
    assert any("ETag" in r.getMessage() for r in caplog.records)


class Registry:
    def __init__(self, *, location: bool) -> None:
        self.location = location

    async def create_additional_competence(
        self, *, body: AdditionalCompetenceV1, **_: Any
    ) -> AdditionalCompetenceV1Record | rt.Reply[AdditionalCompetenceV1Record]:
        stored = AdditionalCompetenceV1Record.model_validate(
            example(SPEC, "createAdditionalCompetence", "201")
        )
        if not self.location:
            return stored
        return rt.Reply(stored, headers={"Location": "/v1/additionalcompetence/42"})


def _create(handlers: Registry) -> httpx.Response:
    schemes: dict[str, rt.SecurityScheme] = {
        "subscriptionKey": rt.ApiKeyScheme(rt.ApiKeyVerifier("Ocp-Apim-Subscription-Key", [KEY])),
        "maskinporten": rt.BearerScheme(ISSUER.verifier()),
    }
    app = create_app(handlers, schemes)
    headers = {
        "Ocp-Apim-Subscription-Key": KEY,
        "Authorization": f"Bearer {ISSUER.token(scope=SCOPE)}",
    }

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sdir.test") as client:
            return await client.post(
                "/v1/additionalcompetence",
                json=example(SPEC, "createAdditionalCompetence"),
                headers=headers,
            )

    return asyncio.run(go())


def test_generated_route_sends_the_location_a_handler_returns() -> None:
    response = _create(Registry(location=True))
    assert response.status_code == 201, response.text
    assert response.headers["location"] == "/v1/additionalcompetence/42"
    assert response.json()["uid"]


def test_generated_route_logs_a_missing_required_location(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        response = _create(Registry(location=False))
    assert response.status_code == 201
    assert "location" not in response.headers
    assert any("Location" in r.getMessage() for r in caplog.records if r.name == LOGGER)
