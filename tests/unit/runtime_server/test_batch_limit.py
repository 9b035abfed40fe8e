"""`x-kontrakt-batch` max-items in the generated layer: the Sdir v1 batch routes refuse a batch of
more than 100 items with the spec's 413 BATCH_TOO_LARGE before the body's schema is validated and
before the handler runs; authentication and media type still come first."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from kontrakt.generated.sdir_additional_competence_v1 import (
    AdditionalCompetenceV1Batch,
    AdditionalCompetenceV1Record,
    create_app,
)
from kontrakt.runtime import server as rt
from tests.e2e._support import Issuer, example

SPEC = "sdir-additional-competence/v1"
ISSUER = Issuer("https://test.maskinporten.no/", "https://sdir.example")
SCOPE = "sdir:seafarer.additionalcompetance.write"
KEY = "subscription-key-1"


class Registry:
    def __init__(self) -> None:
        self.calls = 0

    async def create_additional_competence_batch(
        self, *, body: AdditionalCompetenceV1Batch, **_: Any
    ) -> list[AdditionalCompetenceV1Record]:
        self.calls += 1
        stored = example(SPEC, "createAdditionalCompetenceBatch", "201")[0]
        return [AdditionalCompetenceV1Record.model_validate(stored) for _ in body.root]


def _schemes() -> dict[str, rt.SecurityScheme]:
    return {
        "subscriptionKey": rt.ApiKeyScheme(rt.ApiKeyVerifier("Ocp-Apim-Subscription-Key", [KEY])),
        "maskinporten": rt.BearerScheme(ISSUER.verifier()),
    }


def _post(
    items: Any, *, token: bool = True, raw: bytes | None = None
) -> tuple[httpx.Response, int]:
    registry = Registry()
    app = create_app(registry, _schemes())
    headers = {"Ocp-Apim-Subscription-Key": KEY, "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {ISSUER.token(scope=SCOPE)}"
    content = raw if raw is not None else json.dumps(items).encode()

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sdir.test") as client:
            return await client.post(
                "/v1/additionalcompetence/batch", content=content, headers=headers
            )

    return asyncio.run(go()), registry.calls


def _codes(response: httpx.Response) -> list[str]:
    return [error["code"] for error in response.json()["errors"]]


def _item() -> Any:
    return example(SPEC, "createAdditionalCompetenceBatch")[0]


def test_the_limit_itself_is_accepted() -> None:
    response, calls = _post([_item()] * 100)
    assert response.status_code == 201, response.text
    assert calls == 1 and len(response.json()) == 100


@pytest.mark.parametrize("item", [_item(), {}], ids=["valid-items", "invalid-items"])
def test_one_over_the_limit_is_413_before_schema_and_handler(item: Any) -> None:
    response, calls = _post([item] * 101)
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert _codes(response) == ["BATCH_TOO_LARGE"]
    assert "101" in response.json()["errors"][0]["message"]
    assert calls == 0


def test_authentication_comes_before_the_size() -> None:
    response, calls = _post([_item()] * 101, token=False)
    assert response.status_code == 401 and calls == 0


def test_malformed_json_is_still_the_validation_answer() -> None:
    response, calls = _post(None, raw=b"[{not json")
    assert response.status_code == 400 and calls == 0
    assert _codes(response) == ["MALFORMED_JSON"]


def test_the_start_up_check_knows_the_trigger() -> None:
    app = create_app(Registry(), _schemes())
    assert "payload-too-large" in rt.required_triggers(app)["createAdditionalCompetenceBatch"]


def test_batch_limit_validates_its_argument() -> None:
    with pytest.raises(ValueError, match="positive"):
        rt.BatchLimit(0)


def test_a_trigger_problem_with_a_status_only_counts_error_uses_of_that_status() -> None:
    # What BatchLimit raises: the batch's too-large-status picks among payload-too-large uses.
    table = rt.ErrorTable({"payload-too-large": [(413, "A"), (400, "B")]})
    config = rt.ServerConfig(style=rt.ErrorStyle(code_pointer="/code"), table=table)
    for status, code in ((None, "A"), (413, "A"), (400, "B")):
        problem = rt.ApiProblem.from_trigger("payload-too-large", "Too many.", status=status)
        response = config.render_problem(problem)
        assert response.status_code == (status or 413)
        assert json.loads(bytes(response.body))["code"] == code
