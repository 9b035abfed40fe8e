"""The sandbox token issuer over a real socket: both grants, its refusals, and its JWKS.

Tokens it issues must pass the same JwtVerifier the generated servers use, fetching the keys
from the issuer's JWKS over HTTP; every refusal is an RFC 6749 error that names no secret.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from kontrakt.runtime import server as rt
from kontrakt.sandbox.clients import Registry, load_private_key
from kontrakt.sandbox.issuer import JWT_BEARER, TokenIssuer
from kontrakt.sandbox.keys import COMMITTED as KEYS
from kontrakt.sandbox.launch import Sandbox

AUDIENCE = "http://127.0.0.1:9/v2"
SECRET = "sandbox-skatt-secret"
CLIENT = "skatt-kontroll-test"
SCOPE = "bits:kontoinformasjon"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.start([]) as running:
        running.context.issuer.audiences["bank"] = AUDIENCE
        yield running


def post(sandbox: Sandbox, **form: str) -> httpx.Response:
    return httpx.post(sandbox.token_url, data=form, timeout=10)


def credentials(**overrides: str) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": CLIENT,
        "client_secret": SECRET,
        "scope": SCOPE,
        "resource": "bank",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v}


def assertion(issuer: TokenIssuer, **claims: Any) -> str:
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": CLIENT,
        "aud": issuer.issuer_url,
        "iat": now,
        "exp": now + 60,
        "jti": f"jti-{time.monotonic_ns()}",
        "scope": SCOPE,
        "resource": AUDIENCE,
    }
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, load_private_key(KEYS / "client.pem"), algorithm="RS256")


async def verified(sandbox: Sandbox, token: str) -> dict[str, Any]:
    cache = rt.JwksCache(sandbox.context.issuer.jwks_url)
    verifier = rt.JwtVerifier(cache, sandbox.issuer_url, AUDIENCE)
    return await verifier.verify(token)


@pytest.mark.anyio
async def test_client_credentials_token_verifies_through_the_jwks(sandbox: Sandbox) -> None:
    response = post(sandbox, **credentials())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 120
    assert response.headers["cache-control"] == "no-store"
    claims = await verified(sandbox, body["access_token"])
    assert claims["scope"] == SCOPE
    assert claims["client_id"] == CLIENT
    assert claims["consumer"] == {"authority": "iso6523-actorid-upis", "ID": "0192:310000019"}
    assert claims["exp"] - claims["iat"] == 120
    assert claims["aud"] == AUDIENCE


@pytest.mark.anyio
async def test_http_basic_client_authentication(sandbox: Sandbox) -> None:
    basic = base64.b64encode(f"{CLIENT}:{SECRET}".encode()).decode()
    form = credentials(client_id="", client_secret="")
    response = httpx.post(
        sandbox.token_url, data=form, headers={"Authorization": f"Basic {basic}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    await verified(sandbox, response.json()["access_token"])


@pytest.mark.anyio
async def test_jwt_bearer_grant(sandbox: Sandbox) -> None:
    response = post(sandbox, grant_type=JWT_BEARER, assertion=assertion(sandbox.context.issuer))
    assert response.status_code == 200, response.text
    claims = await verified(sandbox, response.json()["access_token"])
    assert claims["client_id"] == CLIENT


def test_dps_roles_claim_comes_from_the_registry(sandbox: Sandbox) -> None:
    form = credentials(client_id="dps-archive-test", client_secret="sandbox-dps-secret", scope="")
    response = post(sandbox, **form)
    assert response.status_code == 200, response.text
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert "C-1000_W" in claims["realm_access"]["roles"]


def _other_key() -> rsa.RSAPrivateKey:
    return load_private_key(KEYS / "issuer.pem")  # any key but the client's


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        (credentials(client_secret="presented-Zq9x"), 401, "invalid_client"),
        (credentials(client_id="nobody"), 401, "invalid_client"),
        (credentials(client_secret=""), 401, "invalid_client"),
        (credentials(scope="bits:kontoinformasjon dps:admin"), 400, "invalid_scope"),
        (credentials(resource="https://elsewhere.example/v2"), 400, "invalid_target"),
        (credentials(resource=""), 400, "invalid_target"),
        (credentials(grant_type="password"), 400, "unsupported_grant_type"),
        ({"grant_type": JWT_BEARER}, 400, "invalid_request"),
        ({"grant_type": JWT_BEARER, "assertion": "not-a-jwt"}, 400, "invalid_grant"),
    ],
    ids=[
        "wrong-secret",
        "unknown-client",
        "no-secret",
        "scope-not-granted",
        "unknown-resource",
        "no-resource",
        "unsupported-grant",
        "no-assertion",
        "garbage-assertion",
    ],
)
def test_refusals(sandbox: Sandbox, form: dict[str, str], status: int, error: str) -> None:
    response = post(sandbox, **form)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert SECRET not in response.text
    assert "presented-Zq9x" not in response.text


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        ({"exp": int(time.time()) - 60, "iat": int(time.time()) - 120}, "invalid_grant"),
        ({"exp": int(time.time()) + 600}, "invalid_grant"),  # valid for longer than 120 s
        ({"aud": "https://maskinporten.no/"}, "invalid_grant"),
        ({"jti": None}, "invalid_grant"),
        ({"iss": "nobody"}, "invalid_client"),
    ],
    ids=["expired", "too-long", "wrong-audience", "no-jti", "unknown-issuer"],
)
def test_assertion_refusals(sandbox: Sandbox, claims: dict[str, Any], error: str) -> None:
    token = assertion(sandbox.context.issuer, **claims)
    response = post(sandbox, grant_type=JWT_BEARER, assertion=token)
    assert response.status_code in (400, 401)
    assert response.json()["error"] == error


def test_assertion_signed_by_another_key_is_refused(sandbox: Sandbox) -> None:
    now = int(time.time())
    claims = {"iss": CLIENT, "aud": sandbox.issuer_url, "iat": now, "exp": now + 60, "jti": "x1"}
    token = jwt.encode(claims, _other_key(), algorithm="RS256")
    response = post(sandbox, grant_type=JWT_BEARER, assertion=token)
    assert response.json()["error"] == "invalid_grant"


def test_assertion_replay_is_refused(sandbox: Sandbox) -> None:
    token = assertion(sandbox.context.issuer)
    assert post(sandbox, grant_type=JWT_BEARER, assertion=token).status_code == 200
    replay = post(sandbox, grant_type=JWT_BEARER, assertion=token)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"


def test_metadata_names_the_endpoints(sandbox: Sandbox) -> None:
    meta = httpx.get(sandbox.issuer_url + ".well-known/oauth-authorization-server").json()
    assert meta["token_endpoint"] == sandbox.token_url
    jwks = httpx.get(meta["jwks_uri"]).json()
    assert [k["kid"] for k in jwks["keys"]] == ["kontrakt-sandbox-1"]
    assert "d" not in jwks["keys"][0]  # the public half only


def test_registry_keeps_no_secret() -> None:
    registry = Registry.load()
    client = registry.get(CLIENT)
    assert client is not None
    assert SECRET not in repr(client)
    assert client.secret_matches(SECRET)
    assert not client.secret_matches(SECRET + "x")
