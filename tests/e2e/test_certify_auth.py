"""Certify's credentials over real HTTP: client credentials cached, a Maskinporten-style RFC 7523
assertion with the right claims, a wrong-scope token, API keys combined, secrets kept out."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from kontrakt.conformance.auth import AuthUnavailable, Credentials
from kontrakt.conformance.manifest import Manifest
from kontrakt.conformance.redact import Redactor
from tests.e2e._support import _private_key, serve

SECRET = "client-secret-value-42"


class TokenEndpoint:
    def __init__(self) -> None:
        self.forms: list[dict[str, str]] = []

    def app(self) -> Starlette:
        async def token(request: Request) -> JSONResponse:
            form = {k: str(v) for k, v in (await request.form()).items()}
            self.forms.append(form)
            if form.get("client_secret") not in (None, SECRET):
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            scope = form.get("scope", "")
            return JSONResponse(
                {
                    "access_token": f"tok-{len(self.forms)}-{scope}",
                    "expires_in": 120,
                    "token_type": "Bearer",
                }
            )

        return Starlette(routes=[Route("/token", token, methods=["POST"])])


@pytest.fixture
def endpoint() -> Iterator[tuple[TokenEndpoint, str]]:
    server = TokenEndpoint()
    with serve(server.app()) as url:
        yield server, url


def _credentials(auth: Any, **extra: Any) -> Credentials:
    manifest = Manifest.model_validate(
        {"profile": "p", "base_url": "http://127.0.0.1:1/v2", "auth": auth, **extra}
    )
    return Credentials(manifest, Redactor(manifest.secrets()))


def test_client_credentials_are_cached_and_combined_with_an_api_key(
    endpoint: tuple[TokenEndpoint, str],
) -> None:
    server, url = endpoint
    credentials = _credentials(
        [
            {
                "type": "oauth2-client-credentials",
                "token_url": f"{url}/token",
                "client_id": "bank",
                "client_secret": SECRET,
                "scope": "bits:kontoinformasjon",
            },
            {"type": "api-key", "header": "X-Gateway-Key", "value": "gw-key-1"},
        ],
        negative_auth={"wrong_scope": {"scope": "bits:kundeforhold"}},
    )
    first = credentials.headers()
    second = credentials.headers()
    assert first == second and first["authorization"] == "Bearer tok-1-bits:kontoinformasjon"
    assert first["x-gateway-key"] == "gw-key-1"
    assert len(server.forms) == 1 and server.forms[0]["grant_type"] == "client_credentials"
    assert credentials.wrong_scope_token() == "tok-2-bits:kundeforhold"
    # Tokens learnt along the way are secrets from now on.
    assert "tok-1" not in credentials.redactor.text("echo tok-1-bits:kontoinformasjon")
    assert "gw-key-1" not in credentials.redactor.text("key gw-key-1")


def test_jwt_bearer_sends_a_maskinporten_style_assertion(
    endpoint: tuple[TokenEndpoint, str], tmp_path: Path
) -> None:
    server, url = endpoint
    key = tmp_path / "client.pem"
    key.write_bytes(
        _private_key().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    credentials = _credentials(
        {
            "type": "jwt-bearer",
            "token_url": f"{url}/token",
            "client_id": "mp-client",
            "key_file": str(key),
            "kid": "k1",
            "scope": "bits:kontoinformasjon",
            "resource": "http://127.0.0.1:1/v2",
            "issuer": "https://test.maskinporten.no/",
        }
    )
    assert credentials.token() == "tok-1-"
    form = server.forms[0]
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assertion = form["assertion"]
    assert jwt.get_unverified_header(assertion)["kid"] == "k1"
    claims = jwt.decode(
        assertion,
        _private_key().public_key(),
        algorithms=["RS256"],
        audience="https://test.maskinporten.no/",
    )
    assert claims["iss"] == "mp-client" and claims["scope"] == "bits:kontoinformasjon"
    assert claims["resource"] == "http://127.0.0.1:1/v2" and claims["jti"]
    assert 0 < claims["exp"] - claims["iat"] <= 120 and abs(claims["iat"] - time.time()) < 10


def test_a_refused_token_request_is_auth_unavailable_without_the_secret(
    endpoint: tuple[TokenEndpoint, str],
) -> None:
    _, url = endpoint
    credentials = _credentials(
        {
            "type": "oauth2-client-credentials",
            "token_url": f"{url}/token",
            "client_id": "bank",
            "client_secret": "wrong-secret-value",
        }
    )
    with pytest.raises(AuthUnavailable) as refused:
        credentials.token()
    assert "401" in str(refused.value) and "wrong-secret-value" not in str(refused.value)
    with pytest.raises(AuthUnavailable):
        _credentials({"type": "api-key", "value": "k-123"}).token()
