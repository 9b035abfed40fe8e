"""Sdir additional competence v1 end to end: every operation needs the subscription key AND a
Maskinporten token (one security alternative naming both), errors are problem+json with an
`errors` list, and an atomic batch round-trips to the typed records."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from kontrakt.generated.sdir_additional_competence_v1 import (
    AdditionalCompetenceV1Batch,
    AdditionalCompetenceV1Record,
    Client,
    create_app,
)
from kontrakt.runtime import server as rt
from kontrakt.runtime.client import ApiError, ApiKey, BearerToken, MultiAuth
from tests.e2e._support import Issuer, example, serve

SPEC = "sdir-additional-competence/v1"
ISSUER = Issuer("https://test.maskinporten.no/", "https://sdir.example")
SCOPE = "sdir:seafarer.additionalcompetance.write"
KEY = "subscription-key-1"


class Registry:
    """The provider's business logic: echo a batch back as stored records."""

    async def create_additional_competence_batch(
        self, *, body: AdditionalCompetenceV1Batch, **_: Any
    ) -> list[AdditionalCompetenceV1Record]:
        stored = example(SPEC, "createAdditionalCompetenceBatch", "201")
        return [AdditionalCompetenceV1Record.model_validate(stored[0]) for _item in body.root]


@contextmanager
def client(auth: Any) -> Iterator[Client]:
    schemes: dict[str, rt.SecurityScheme] = {
        "subscriptionKey": rt.ApiKeyScheme(rt.ApiKeyVerifier("Ocp-Apim-Subscription-Key", [KEY])),
        "maskinporten": rt.BearerScheme(ISSUER.verifier()),
    }
    with serve(create_app(Registry(), schemes)) as url, Client(url, auth=auth, retry=None) as api:
        yield api


def batch() -> AdditionalCompetenceV1Batch:
    return AdditionalCompetenceV1Batch.model_validate(
        example(SPEC, "createAdditionalCompetenceBatch")
    )


def test_key_and_token_together_create_a_batch() -> None:
    auth = MultiAuth(ApiKey(KEY), BearerToken(ISSUER.token(scope=SCOPE)))
    with client(auth) as sdir:
        records = sdir.create_additional_competence_batch(body=batch())
    assert len(records) == len(batch().root)
    assert all(isinstance(r, AdditionalCompetenceV1Record) for r in records)


@pytest.mark.parametrize(
    ("case", "auth", "code"),
    [
        ("no key", BearerToken(ISSUER.token(scope=SCOPE)), "MISSING_SUBSCRIPTION_KEY"),
        ("wrong key", MultiAuth(ApiKey("nope"), BearerToken(ISSUER.token(scope=SCOPE))), None),
        ("key without token", ApiKey(KEY), "INVALID_TOKEN"),
    ],
)
def test_key_and_token_are_both_required(case: str, auth: Any, code: str | None) -> None:
    with client(auth) as sdir, pytest.raises(ApiError) as caught:
        sdir.create_additional_competence_batch(body=batch())
    assert caught.value.status == 401, case
    assert caught.value.code == (code or "INVALID_SUBSCRIPTION_KEY"), case
    assert caught.value.response is not None
    assert caught.value.response.headers["content-type"].startswith("application/problem+json")
