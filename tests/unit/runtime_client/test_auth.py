"""Auth: static credentials, and tokens fetched from a real token endpoint, cached and refreshed.

Sync tests talk to the token server over a socket on 127.0.0.1 (uvicorn); async tests reach the
same app in-process through `httpx.ASGITransport`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import anyio
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from kontrakt.runtime.client import (
    ApiError,
    ApiKey,
    BaseClient,
    BearerToken,
    ClientCredentials,
    JwtBearerGrant,
    MultiAuth,
    TokenError,
    parse_json,
)
from tests.unit.runtime_client.conftest import FakeClock
from tests.unit.runtime_client.servers import ISSUER, AuthServer, JwtClient, make_app

SECRET = "s3cr3t-Ünicode/+=&"  # characters that need form and Basic encoding


def echo_transport(seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    return httpx.MockTransport(handler)


# -- static ---------------------------------------------------------------------------------------


def test_bearer_token_and_api_key_headers() -> None:
    seen: list[httpx.Request] = []
    auth = MultiAuth(ApiKey("KEY-1"), BearerToken("TOKEN-1"))
    with httpx.Client(transport=echo_transport(seen), auth=auth) as http:
        http.get("https://api.test/x")
    assert seen[0].headers["Ocp-Apim-Subscription-Key"] == "KEY-1"
    assert seen[0].headers["Authorization"] == "Bearer TOKEN-1"


def test_api_key_in_query() -> None:
    seen: list[httpx.Request] = []
    auth = ApiKey("KEY-2", name="apikey", location="query")
    with httpx.Client(transport=echo_transport(seen), auth=auth) as http:
        http.get("https://api.test/x", params={"a": "1"})
    assert seen[0].url.params == httpx.QueryParams({"a": "1", "apikey": "KEY-2"})


@pytest.mark.parametrize(
    "make",
    [
        lambda: BearerToken(""),
        lambda: ApiKey(""),
        lambda: ApiKey("k", location="cookie"),  # type: ignore[arg-type]
        lambda: MultiAuth(),
        lambda: ClientCredentials("/token", "id", "secret"),
        lambda: ClientCredentials("https://a.test/t", "id", "s", leeway=-1),
        lambda: ClientCredentials("https://a.test/t", "id", "s", auth_method="jwt"),  # type: ignore[arg-type]
    ],
)
def test_invalid_construction(make: Callable[[], Any]) -> None:
    with pytest.raises(ValueError):
        make()


def test_multi_auth_allows_one_token_flow(rsa_key: RSAPrivateKey) -> None:
    cc = ClientCredentials("https://a.test/token", "id", "secret")
    with pytest.raises(ValueError, match="at most one"):
        MultiAuth(cc, ClientCredentials("https://a.test/token", "id2", "secret"))


def test_jwt_grant_rejects_a_bad_key() -> None:
    with pytest.raises(ValueError, match="not a readable PEM"):
        JwtBearerGrant("https://a.test/token", "c", audience=ISSUER, private_key="not a key")


def test_reprs_hide_secrets(rsa_key: RSAPrivateKey) -> None:
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    auths = [
        BearerToken("TOKEN-XYZ"),
        ApiKey("KEY-XYZ"),
        ClientCredentials("https://a.test/token", "client", "SECRET-XYZ", scope=["a", "b"]),
        JwtBearerGrant("https://a.test/token", "client", audience=ISSUER, private_key=pem),
    ]
    text = repr(MultiAuth(auths[1], auths[3])) + "".join(repr(a) for a in auths)
    for secret in ("TOKEN-XYZ", "KEY-XYZ", "SECRET-XYZ", "PRIVATE KEY", pem[40:80]):
        assert secret not in text
    assert "scope='a b'" in text


# -- client credentials against a live token endpoint ---------------------------------------------


def cc_auth(url: str, clock: FakeClock | None = None, **kwargs: Any) -> ClientCredentials:
    if clock is not None:
        kwargs["clock"] = clock
    return ClientCredentials(f"{url}/token", "dps-client", SECRET, **kwargs)


@pytest.mark.parametrize("method", ["client_secret_post", "client_secret_basic"])
def test_one_token_request_for_many_calls(live: tuple[AuthServer, str], method: Any) -> None:
    server, url = live
    server.secrets["dps-client"] = SECRET
    with httpx.Client(auth=cc_auth(url, auth_method=method, scope="dps:read")) as http:
        tokens = {http.get(f"{url}/api/hello").json()["token"] for _ in range(5)}
    assert server.token_requests == 1 and len(tokens) == 1
    assert server.issued[tokens.pop()]["scope"] == "dps:read"


def test_token_is_refreshed_before_expiry(live: tuple[AuthServer, str], clock: FakeClock) -> None:
    server, url = live
    server.secrets["dps-client"] = SECRET
    server.expires_in = 120
    with httpx.Client(auth=cc_auth(url, clock, leeway=10)) as http:
        first = http.get(f"{url}/api/hello").json()["token"]
        clock.advance(109.9)  # 120 - 10 leeway: still good
        assert http.get(f"{url}/api/hello").json()["token"] == first
        clock.advance(0.2)  # past expires_in - leeway, before the server's expiry
        second = http.get(f"{url}/api/hello").json()["token"]
    assert second != first and server.token_requests == 2
    assert all(call["token"] in server.issued for call in server.api_calls)


def test_short_lifetime_uses_half_as_leeway(live: tuple[AuthServer, str], clock: FakeClock) -> None:
    server, url = live
    server.secrets["dps-client"] = SECRET
    server.expires_in = "8"  # a string, as some servers send it; shorter than 2 x leeway
    with httpx.Client(auth=cc_auth(url, clock, leeway=30)) as http:
        http.get(f"{url}/api/hello")
        clock.advance(3.9)
        http.get(f"{url}/api/hello")
        assert server.token_requests == 1
        clock.advance(0.2)
        http.get(f"{url}/api/hello")
    assert server.token_requests == 2


def test_token_without_expires_in_is_kept_until_a_401(
    live: tuple[AuthServer, str], clock: FakeClock
) -> None:
    server, url = live
    server.secrets["dps-client"] = SECRET
    server.expires_in = None
    with httpx.Client(auth=cc_auth(url, clock)) as http:
        first = http.get(f"{url}/api/hello").json()["token"]
        clock.advance(10**6)
        assert http.get(f"{url}/api/hello").json()["token"] == first
        server.revoked.add(first)
        assert http.get(f"{url}/api/hello").json()["token"] != first
    assert server.token_requests == 2


def test_401_triggers_one_refresh_and_retry(live: tuple[AuthServer, str]) -> None:
    server, url = live
    server.secrets["dps-client"] = SECRET
    with httpx.Client(auth=cc_auth(url)) as http:
        first = http.get(f"{url}/api/hello").json()["token"]
        server.revoked.add(first)  # e.g. the key rotated on the server
        response = http.post(f"{url}/api/hello", json={"replayed": True})
    assert response.status_code == 200 and response.json()["token"] != first
    assert server.token_requests == 2
    assert [c["token"] for c in server.api_calls] == [first, first, response.json()["token"]]


def test_401_refreshes_only_once(live: tuple[AuthServer, str]) -> None:
    server, url = live
    server.secrets["dps-client"] = SECRET
    server.always_401 = True

    class Api(BaseClient):
        _error_code_pointer = "/code"

        def hello(self) -> dict[str, Any]:
            return self._request("GET", "/api/hello", expected={200: parse_json(dict[str, Any])})

    with Api(url, auth=cc_auth(url)) as api, pytest.raises(ApiError) as caught:
        api.hello()
    assert caught.value.status == 401 and caught.value.code == "UNAUTHORIZED"
    assert server.token_requests == 2 and len(server.api_calls) == 2


def test_token_error_carries_the_oauth_code_but_not_the_secret(
    live: tuple[AuthServer, str], caplog: pytest.LogCaptureFixture
) -> None:
    server, url = live
    server.secrets["dps-client"] = "another secret"
    server.echo_secret = True  # the server even repeats what it got
    with (
        caplog.at_level(logging.DEBUG),
        httpx.Client(auth=cc_auth(url)) as http,
        pytest.raises(TokenError) as caught,
    ):
        http.get(f"{url}/api/hello")
    error = caught.value
    assert (error.status, error.error) == (401, "invalid_client")
    assert error.error_description == "bad client credentials (got ***)"
    for text in (str(error), repr(error), caplog.text):
        assert SECRET not in text
    assert server.api_calls == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"token_type": "Bearer"}, "without an access_token"),
        ({"access_token": "", "token_type": "Bearer"}, "empty access_token"),
        ({"access_token": "x", "token_type": "mac"}, "unsupported token_type"),
        ("<html>oops</html>", "without an access_token"),
        ({"error": "temporarily_unavailable"}, "HTTP 503 temporarily_unavailable"),
    ],
)
def test_unusable_token_responses(body: Any, message: str) -> None:
    status = 503 if isinstance(body, dict) and "error" in body else 200

    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    auth = ClientCredentials("https://auth.test/token", "id", SECRET)
    with (
        httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as http,
        pytest.raises(TokenError, match=message),
    ):
        http.get("https://api.test/x")


def test_token_request_shape_and_timeouts() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/token":
            return httpx.Response(200, json={"access_token": "T", "expires_in": 60})
        return httpx.Response(200, json={})

    auth = ClientCredentials(
        "https://auth.test/token",
        "id",
        SECRET,
        scope=["a:read", "a:write"],
        audience="https://api.test",
        resource="https://api.test/v1",
    )
    transport = httpx.MockTransport(handler)
    with httpx.Client(
        transport=transport, auth=auth, timeout=3.0, headers={"X-Default": "1"}
    ) as http:
        http.get("https://api.test/x")
    token_request, api_request = seen
    form = {k: v[0] for k, v in parse_qs(token_request.content.decode()).items()}
    assert form == {
        "grant_type": "client_credentials",
        "client_id": "id",
        "client_secret": SECRET,
        "scope": "a:read a:write",
        "audience": "https://api.test",
        "resource": "https://api.test/v1",
    }
    assert token_request.extensions["timeout"]["read"] == 3.0
    assert "X-Default" not in token_request.headers  # client defaults are for the API
    assert api_request.headers["Authorization"] == "Bearer T"


def test_concurrent_threads_share_one_token_request() -> None:
    counts = {"token": 0}
    gate = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            counts["token"] += 1
            gate.wait(2)  # hold the first fetch until every thread is waiting for it
            return httpx.Response(200, json={"access_token": "T", "expires_in": 60})
        return httpx.Response(200, json={})

    auth = ClientCredentials("https://auth.test/token", "id", SECRET)
    results: list[int] = []
    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as http:
        threads = [
            threading.Thread(
                target=lambda: results.append(http.get("https://api.test/x").status_code)
            )
            for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        threading.Timer(0.2, gate.set).start()
        for thread in threads:
            thread.join(5)
    assert results == [200] * 8 and counts["token"] == 1


# -- JWT bearer grant -----------------------------------------------------------------------------


def jwt_auth(url: str, key: RSAPrivateKey | str, **kwargs: Any) -> JwtBearerGrant:
    return JwtBearerGrant(
        f"{url}/token",
        "0192:910000000-client",
        audience=ISSUER,
        private_key=key,
        key_id="kid-1",
        scope="bits:kontoinformasjon",
        **kwargs,
    )


def register(server: AuthServer, key: RSAPrivateKey) -> None:
    server.jwt_clients["0192:910000000-client"] = JwtClient(
        key.public_key(), "bits:kontoinformasjon", key_id="kid-1"
    )


def test_jwt_grant_against_a_verifying_token_endpoint(
    live: tuple[AuthServer, str], rsa_key: RSAPrivateKey, clock: FakeClock
) -> None:
    server, url = live
    register(server, rsa_key)
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    auth = jwt_auth(url, pem, resource="https://bank.test/v2", clock=clock)
    with httpx.Client(auth=auth) as http:
        for _ in range(3):
            assert http.get(f"{url}/api/hello").status_code == 200
        clock.advance(111)
        assert http.get(f"{url}/api/hello").status_code == 200
    assert server.token_requests == 2
    first, second = server.assertions
    assert first["header"] == {"alg": "RS256", "typ": "JWT", "kid": "kid-1"}
    claims = first["claims"]
    assert claims["iss"] == "0192:910000000-client" and claims["aud"] == ISSUER
    assert claims["scope"] == "bits:kontoinformasjon"
    assert claims["resource"] == "https://bank.test/v2"
    assert claims["exp"] - claims["iat"] == 120 and "sub" not in claims
    assert first["claims"]["jti"] != second["claims"]["jti"]  # a fresh assertion each time


def test_jwt_grant_signed_with_the_wrong_key_is_refused(
    live: tuple[AuthServer, str], rsa_key: RSAPrivateKey, other_rsa_key: RSAPrivateKey
) -> None:
    server, url = live
    register(server, rsa_key)
    with (
        httpx.Client(auth=jwt_auth(url, other_rsa_key)) as http,
        pytest.raises(TokenError) as caught,
    ):
        http.get(f"{url}/api/hello")
    assert caught.value.error == "invalid_grant" and caught.value.status == 400


def test_jwt_assertion_options(rsa_key: RSAPrivateKey) -> None:
    auth = JwtBearerGrant(
        "https://auth.test/token",
        "client",
        audience=ISSUER,
        private_key=rsa_key,
        x5c=["MIIB..."],
        subject="client",
        resource=["https://a.test", "https://b.test"],
        extra_claims={"consumer_org": "910000000", "iss": "ignored"},
        assertion_lifetime=60,
    )
    assertion = auth.assertion(now=1_700_000_000)
    header = jwt.get_unverified_header(assertion)
    claims = jwt.decode(
        assertion,
        rsa_key.public_key(),
        algorithms=["RS256"],
        audience=ISSUER,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert header["x5c"] == ["MIIB..."] and "kid" not in header
    assert claims["iss"] == "client" and claims["sub"] == "client"
    assert claims["consumer_org"] == "910000000"
    assert claims["resource"] == ["https://a.test", "https://b.test"]
    assert (claims["iat"], claims["exp"]) == (1_700_000_000, 1_700_000_060)
    assert "scope" not in claims


def test_api_key_and_maskinporten_token_together(
    live: tuple[AuthServer, str], rsa_key: RSAPrivateKey
) -> None:
    server, url = live
    register(server, rsa_key)
    auth = MultiAuth(ApiKey("GATEWAY-KEY"), jwt_auth(url, rsa_key))
    with httpx.Client(auth=auth) as http:
        body = http.get(f"{url}/api/hello").json()
    assert server.api_calls == [{"token": body["token"], "key": "GATEWAY-KEY"}]


def test_secrets_never_reach_the_logs(
    live: tuple[AuthServer, str], rsa_key: RSAPrivateKey, caplog: pytest.LogCaptureFixture
) -> None:
    server, url = live
    register(server, rsa_key)
    server.secrets["dps-client"] = SECRET
    with caplog.at_level(logging.DEBUG):
        with httpx.Client(auth=jwt_auth(url, rsa_key)) as http:
            first = http.get(f"{url}/api/hello").json()["token"]
            server.revoked.add(first)
            http.get(f"{url}/api/hello")
        with httpx.Client(auth=MultiAuth(ApiKey("KEY-LOG"), cc_auth(url))) as http:
            http.get(f"{url}/api/hello")
    assert "HTTP Request" in caplog.text  # httpx did log the calls
    secrets = [SECRET, "KEY-LOG", *server.issued, *(json.dumps(a) for a in server.assertions)]
    for secret in secrets:
        assert secret not in caplog.text


# -- async ----------------------------------------------------------------------------------------


def asgi_client(server: AuthServer, auth: httpx.Auth) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app(server)), auth=auth)


@pytest.mark.anyio
async def test_async_concurrent_calls_share_one_token_request() -> None:
    server = AuthServer(secrets={"dps-client": SECRET}, token_delay=0.05)
    async with asgi_client(server, cc_auth("http://auth.test")) as http:
        results: list[str] = []

        async def call() -> None:
            results.append((await http.get("http://api.test/api/hello")).json()["token"])

        async with anyio.create_task_group() as group:
            for _ in range(10):
                group.start_soon(call)
    assert server.token_requests == 1 and len(set(results)) == 1 and len(results) == 10


@pytest.mark.anyio
async def test_async_refresh_before_expiry_and_on_401(clock: FakeClock) -> None:
    server = AuthServer(secrets={"dps-client": SECRET})
    async with asgi_client(server, cc_auth("http://auth.test", clock)) as http:
        first = (await http.get("http://api.test/api/hello")).json()["token"]
        clock.advance(115)
        second = (await http.get("http://api.test/api/hello")).json()["token"]
        server.revoked.add(second)
        third = (await http.get("http://api.test/api/hello")).json()["token"]
    assert len({first, second, third}) == 3 and server.token_requests == 3


@pytest.mark.anyio
async def test_async_jwt_grant_with_multi_auth(rsa_key: RSAPrivateKey) -> None:
    server = AuthServer()
    register(server, rsa_key)
    auth = MultiAuth(ApiKey("K"), jwt_auth("http://auth.test", rsa_key))
    async with asgi_client(server, auth) as http:
        for _ in range(3):
            assert (await http.get("http://api.test/api/hello")).status_code == 200
        server.always_401 = True
        assert (await http.get("http://api.test/api/hello")).status_code == 401
    assert server.token_requests == 2 and len(server.assertions) == 2
    assert all(call["key"] == "K" for call in server.api_calls)


@pytest.mark.anyio
async def test_async_token_error() -> None:
    server = AuthServer(secrets={"dps-client": "other"})
    async with asgi_client(server, cc_auth("http://auth.test")) as http:
        with pytest.raises(TokenError) as caught:
            await http.get("http://api.test/api/hello")
    assert caught.value.error == "invalid_client" and SECRET not in str(caught.value)
