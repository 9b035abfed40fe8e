"""BaseClient: what a generated operation method relies on, request building to typed errors."""

from __future__ import annotations

import datetime as dt
import enum
import json
import uuid
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ConfigDict, Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import kontrakt.runtime.client as runtime
from kontrakt.runtime.client import (
    ApiError,
    AsyncBaseClient,
    BaseClient,
    BearerToken,
    InvalidResponse,
    RetryPolicy,
    RetryTransport,
    TransportError,
    no_content,
    parse_json,
    raw_response,
)
from tests.unit.runtime_client.conftest import Sleeps


class Role(enum.StrEnum):
    OWNER = "owner"


class Account(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    account_reference: str = Field(alias="accountReference")
    balance: int | None = None


class Accounts(BaseModel):
    accounts: list[Account]


class Submission(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    object_id: str = Field(alias="objectId")
    content_type: str = Field(default="application/zip", alias="contentType")
    note: str | None = None


class Bank(BaseClient):
    """What a generated DSOP client looks like (errors at /code, strings)."""

    _error_code_pointer = "/code"
    _error_code_type = "string"

    def list_accounts(
        self, *, party_id: str, only_primary_owner: bool, correlation_id: uuid.UUID
    ) -> Accounts:
        return self._request(
            "GET",
            "/accounts",
            query={"OnlyPrimaryOwner": only_primary_owner, "fromDate": None},
            headers={"PartyID": party_id, "CorrelationID": correlation_id, "RequesterID": None},
            expected={200: parse_json(Accounts)},
        )


def recorder(
    status: int = 200, body: Any = None, **headers: str
) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if isinstance(body, bytes):
            return httpx.Response(status, content=body, headers=headers)
        return httpx.Response(status, json=body if body is not None else {}, headers=headers)

    return httpx.MockTransport(handler), seen


# -- request building -----------------------------------------------------------------------------


def test_generated_style_operation() -> None:
    transport, seen = recorder(body={"accounts": [{"accountReference": "r1", "extra": 1}]})
    correlation = uuid.UUID("14fbc062-aacb-4449-93c1-85c352d387a4")
    with Bank("https://bank.test/v2", transport=transport) as bank:
        accounts = bank.list_accounts(
            party_id="01010012356", only_primary_owner=True, correlation_id=correlation
        )
    assert accounts == Accounts(accounts=[Account(accountReference="r1")])
    request = seen[0]
    assert str(request.url) == "https://bank.test/v2/accounts?OnlyPrimaryOwner=true"
    assert request.headers["PartyID"] == "01010012356"
    assert request.headers["CorrelationID"] == str(correlation)
    assert "RequesterID" not in request.headers


@pytest.mark.parametrize(
    ("value", "raw_path"),
    [
        ("a/b c", b"/v2/accounts/a%2Fb%20c/roles"),
        ("ÆØÅ", b"/v2/accounts/%C3%86%C3%98%C3%85/roles"),
        ("x?y#z", b"/v2/accounts/x%3Fy%23z/roles"),
        ("100%", b"/v2/accounts/100%25/roles"),
        ("dataNotDelivered", b"/v2/accounts/dataNotDelivered/roles"),
        (Role.OWNER, b"/v2/accounts/owner/roles"),
        (42, b"/v2/accounts/42/roles"),
    ],
)
def test_path_parameters_are_percent_encoded(value: Any, raw_path: bytes) -> None:
    with Bank("https://bank.test/v2") as bank:
        request = bank._build_request(
            "get", "/accounts/{accountReference}/roles", path_params={"accountReference": value}
        )
    assert request.url.raw_path == raw_path and request.method == "GET"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "is required"),
        ({"ref": None}, "is required"),
        ({"ref": ""}, "must not be"),
        ({"ref": ".."}, "must not be"),
        ({"ref": "."}, "must not be"),
        ({"ref": "x", "other": "y"}, "not in"),
    ],
)
def test_bad_path_parameters(params: dict[str, Any], message: str) -> None:
    with Bank("https://bank.test/v2") as bank, pytest.raises(ValueError, match=message):
        bank._build_request("GET", "/accounts/{ref}", path_params=params)


def test_query_and_header_serialisation() -> None:
    with Bank("https://bank.test/v2", headers={"User-Agent": "t"}) as bank:
        request = bank._build_request(
            "GET",
            "/x",
            query={
                "yes": True,
                "no": False,
                "none": None,
                "date": dt.date(2024, 1, 31),
                "when": dt.datetime(2024, 1, 31, 12, 0, tzinfo=dt.UTC),
                "ids": [1, None, 3],
                "role": Role.OWNER,
                "text": "a b&c",
            },
            headers={
                "X-Flag": False,
                "X-List": ["a", "b"],
                "X-None": None,
                "X-Id": uuid.UUID(int=1),
            },
        )
    assert request.url.params.multi_items() == [
        ("yes", "true"),
        ("no", "false"),
        ("date", "2024-01-31"),
        ("when", "2024-01-31T12:00:00+00:00"),
        ("ids", "1"),
        ("ids", "3"),
        ("role", "owner"),
        ("text", "a b&c"),
    ]
    assert request.headers["X-Flag"] == "false" and request.headers["X-List"] == "a,b"
    assert request.headers["X-Id"] == "00000000-0000-0000-0000-000000000001"
    assert "X-None" not in request.headers and request.headers["User-Agent"] == "t"


def test_unsupported_parameter_type() -> None:
    with Bank("https://bank.test") as bank, pytest.raises(TypeError):
        bank._build_request("GET", "/x", query={"obj": object()})


def test_json_body_from_models() -> None:
    with Bank("https://bank.test") as bank:
        one = bank._build_request("POST", "/s", json=Submission(objectId="o-1", note=None))
        many = bank._build_request(
            "POST", "/s", json=[Submission(objectId="o-2"), {"when": dt.date(2024, 1, 1)}]
        )
        with pytest.raises(ValueError):
            bank._build_request("POST", "/s", json={}, content=b"x")
        raw = bank._build_request(
            "PUT", "/s", content=b"\x00", content_type="application/octet-stream"
        )
    # Unset defaults stay out (the server's default applies); an explicit None is sent.
    assert json.loads(one.content) == {"objectId": "o-1", "note": None}
    assert one.headers["Content-Type"] == "application/json"
    assert json.loads(many.content) == [{"objectId": "o-2"}, {"when": "2024-01-01"}]
    assert raw.content == b"\x00" and raw.headers["Content-Type"] == "application/octet-stream"


# -- responses ------------------------------------------------------------------------------------


def test_expected_statuses_and_ranges() -> None:
    transport, _ = recorder(204, b"")
    with Bank("https://bank.test", transport=transport) as bank:
        assert bank._request("DELETE", "/x", expected={204: no_content}) is None
        assert bank._request("DELETE", "/x", expected={"2XX": raw_response}).status_code == 204
        with pytest.raises(ApiError) as caught:
            bank._request("DELETE", "/x", expected={200: no_content})
    assert caught.value.status == 204


@pytest.mark.parametrize(
    ("client_class", "body", "code"),
    [
        ("dsop", {"code": "ACC-011", "message": "Legal-Mandate is not valid"}, "ACC-011"),
        (
            "dps",
            {"error": {"code": "INVALID_STATE", "message": "m", "details": "d"}},
            "INVALID_STATE",
        ),
        ("dan", {"code": "1002", "description": "d"}, 1002),
    ],
)
def test_undeclared_status_raises_api_error_with_code(
    client_class: str, body: Any, code: Any
) -> None:
    pointers = {
        "dsop": ("/code", "string"),
        "dps": ("/error/code", "string"),
        "dan": ("/code", "integer"),
    }

    class Api(BaseClient):
        _error_code_pointer, _error_code_type = pointers[client_class]  # type: ignore[assignment]

    transport, _ = recorder(400, body)
    with Api("https://api.test", transport=transport) as api, pytest.raises(ApiError) as caught:
        api._request("GET", "/x", expected={200: parse_json(dict)})
    assert (caught.value.status, caught.value.code) == (400, code)


def test_invalid_body_raises_invalid_response_without_the_values() -> None:
    transport, _ = recorder(
        body={"accounts": [{"accountReference": None, "balance": "01010012356"}]}
    )
    with (
        Bank("https://bank.test", transport=transport) as bank,
        pytest.raises(InvalidResponse) as caught,
    ):
        bank._request("GET", "/accounts", expected={200: parse_json(Accounts)})
    error = caught.value
    assert error.status == 200 and "accounts/0/accountReference" in str(error)
    assert "01010012356" not in str(error)  # no personal data from the body in the message
    transport, _ = recorder(body=b"not json")
    with Bank("https://bank.test", transport=transport) as bank, pytest.raises(InvalidResponse):
        bank._request("GET", "/accounts", expected={200: parse_json(Accounts)})


def test_retry_is_on_by_default_and_configurable(sleeps: Sleeps) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(
            503 if len(calls) == 1 else 200, json={}, headers={"Retry-After": "0"}
        )

    transport = httpx.MockTransport(handler)
    with Bank("https://bank.test", transport=transport) as bank:
        assert isinstance(bank._http._transport, RetryTransport)
        assert bank._request("GET", "/x", expected={200: raw_response}).status_code == 200
    retrying = RetryTransport(transport, RetryPolicy(jitter=False), sleep=sleeps)
    with Bank("https://bank.test", transport=retrying) as bank:
        assert bank._http._transport is retrying  # not wrapped twice
    with Bank("https://bank.test", transport=transport, retry=None) as bank:
        assert bank._http._transport is transport


def test_environment_proxies_keep_their_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    with Bank("https://bank.test") as bank:
        mounted = [t for t in bank._http._mounts.values() if t is not None]
        assert mounted and all(isinstance(t, RetryTransport) for t in mounted)
        assert isinstance(bank._http._transport, RetryTransport)


def test_transport_errors_are_typed(sleeps: Sleeps) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    retrying = RetryTransport(httpx.MockTransport(handler), RetryPolicy(jitter=False), sleep=sleeps)
    with (
        Bank("https://bank.test/v2", transport=retrying) as bank,
        pytest.raises(TransportError) as caught,
    ):
        bank._request("GET", "/x", query={"apikey": "Q-SECRET"}, expected={200: raw_response})
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert caught.value.url == "https://bank.test/v2/x" and "Q-SECRET" not in str(caught.value)
    assert sleeps.calls == [0.5, 1.0]


def test_base_url_checks_and_repr() -> None:
    for bad in ("bank.test/v2", "/v2", "ftp://bank.test", "https://bank.test/v2?x=1"):
        with pytest.raises(ValueError):
            Bank(bad)
    with Bank("https://bank.test/v2", auth=BearerToken("T0KEN")) as bank:
        assert repr(bank) == "Bank(base_url='https://bank.test/v2/')"
        assert bank.base_url == httpx.URL("https://bank.test/v2/")


def test_context_manager_closes() -> None:
    with Bank("https://bank.test") as bank:
        pass
    assert bank._http.is_closed


# -- async, against an in-process ASGI app --------------------------------------------------------


async def accounts(request: Request) -> Response:
    if request.headers.get("authorization") != "Bearer T":
        return JSONResponse({"code": "ACC-009", "message": "no token"}, status_code=401)
    if request.query_params.get("OnlyPrimaryOwner") != "true":
        return JSONResponse({"code": "ACC-001", "message": "bad OnlyPrimaryOwner"}, status_code=400)
    return JSONResponse({"accounts": [{"accountReference": request.headers["PartyID"]}]})


APP = Starlette(routes=[Route("/v2/accounts", accounts)])


class AsyncBank(AsyncBaseClient):
    _error_code_pointer = "/code"

    async def list_accounts(self, *, party_id: str, only_primary_owner: bool) -> Accounts:
        return await self._request(
            "GET",
            "/accounts",
            query={"OnlyPrimaryOwner": only_primary_owner},
            headers={"PartyID": party_id},
            expected={200: parse_json(Accounts)},
        )


@pytest.mark.anyio
async def test_async_client_through_asgi() -> None:
    transport = httpx.ASGITransport(app=APP)
    async with AsyncBank("http://bank.test/v2", auth=BearerToken("T"), transport=transport) as bank:
        result = await bank.list_accounts(party_id="01010012356", only_primary_owner=True)
        assert result.accounts[0].account_reference == "01010012356"
        with pytest.raises(ApiError) as caught:
            await bank.list_accounts(party_id="01010012356", only_primary_owner=False)
        assert (caught.value.status, caught.value.code) == (400, "ACC-001")
    assert bank._http.is_closed
    async with AsyncBank("http://bank.test/v2", transport=transport) as bank:
        with pytest.raises(ApiError) as caught:
            await bank.list_accounts(party_id="x", only_primary_owner=True)
    assert caught.value.code == "ACC-009"


@pytest.mark.anyio
async def test_async_transport_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with AsyncBank(
        "https://bank.test", transport=httpx.MockTransport(handler), retry=None
    ) as bank:
        with pytest.raises(TransportError, match="ReadTimeout"):
            await bank.list_accounts(party_id="x", only_primary_owner=True)


# -- the public surface ---------------------------------------------------------------------------


def test_public_names_are_pinned() -> None:
    assert sorted(runtime.__all__) == [
        "ApiError",
        "ApiKey",
        "AsyncBaseClient",
        "AsyncRetryTransport",
        "BaseClient",
        "BearerToken",
        "ClientCredentials",
        "ClientError",
        "InvalidResponse",
        "JwtBearerGrant",
        "MultiAuth",
        "PaginationError",
        "PollTimeout",
        "RetryPolicy",
        "RetryTransport",
        "Styled",
        "TokenError",
        "TransportError",
        "aiter_items",
        "aiter_link_pages",
        "apoll",
        "encode_body",
        "iter_items",
        "iter_link_pages",
        "no_content",
        "parse_json",
        "parse_json_as",
        "parse_retry_after",
        "poll",
        "raw_response",
        "styled",
    ]
    for name in runtime.__all__:
        assert getattr(runtime, name).__doc__, name
    assert all(
        issubclass(getattr(runtime, n), runtime.ClientError)
        for n in runtime.__all__
        if n.endswith(("Error", "Timeout", "Response")) and n != "raw_response"
    )
