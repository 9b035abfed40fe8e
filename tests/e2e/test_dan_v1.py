"""DAN v1 end to end: a public metadata call round-trips with only the subscription key, and a
failure carries DAN's integer error code (`{"code": 1002, "description": ...}`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from kontrakt.generated.dan_v1 import Client, create_app
from kontrakt.runtime import server as rt
from kontrakt.runtime.client import ApiError, ApiKey, BearerToken, MultiAuth
from tests.e2e._support import Issuer, example, serve

SPEC = "dan/v1"
ISSUER = Issuer("https://test.maskinporten.no/", "https://data.altinn.no")
KEY = "dan-product-key"


class Dan:
    """The provider's business logic: fixed metadata, no accreditations at all."""

    async def list_service_contexts(self, **_: Any) -> list[str]:
        return list(example(SPEC, "listServiceContexts", "200"))

    async def get_evidence_status(self, *, accreditation_id: str, **_: Any) -> Any:
        raise rt.ApiProblem.from_trigger(
            "not-found", f"No accreditation {accreditation_id}.", parameter="accreditationId"
        )


@contextmanager
def client(auth: Any) -> Iterator[Client]:
    schemes: dict[str, rt.SecurityScheme] = {
        "SubscriptionKey": rt.ApiKeyScheme(rt.ApiKeyVerifier("Ocp-Apim-Subscription-Key", [KEY])),
        "Maskinporten": rt.BearerScheme(ISSUER.verifier()),
    }
    with serve(create_app(Dan(), schemes)) as url, Client(url, auth=auth, retry=None) as api:
        yield api


def test_public_metadata_round_trip() -> None:
    with client(ApiKey(KEY)) as dan:
        assert dan.list_service_contexts() == example(SPEC, "listServiceContexts", "200")


def test_unknown_accreditation_has_an_integer_code() -> None:
    with (
        client(MultiAuth(ApiKey(KEY), BearerToken(ISSUER.token()))) as dan,
        pytest.raises(ApiError) as caught,
    ):
        dan.get_evidence_status(accreditation_id="0f8fad5b-d9cb-469f-a165-70867728950e")
    assert caught.value.status == 404
    assert caught.value.code == 1002
    assert caught.value.body["code"] == 1002 and "description" in caught.value.body
