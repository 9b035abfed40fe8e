"""The DAN (data.altinn.no v1) reference provider: `create_app(context, **options)`.

The generated server (kontrakt/generated/dan_v1) is mounted below `/v1` with the provider's handlers
(`kontrakt/sandbox/dan/provider.py`); `kontrakt/sandbox/dan/gateway.py` wraps it as API Management and Core's
response middleware would. Two sandbox-only routes sit outside the API's base path:

- `POST /_sandbox/consent/{accreditationId}` with `{"answer": "grant" | "deny" | "expire"}` plays
  the subject's representative answering the consent request in Altinn (DAN: the consent receipt
  page). It moves the accreditation's consent datasets along the spec's `consent` lifecycle. The
  same hook in Python: `app.state.dan.answer_consent(accreditation_id, answer)`.
- `GET /_sandbox/jwks` publishes the public key of `X-Signature-JWT` (DAN's own signing key).

Options (`kontrakt serve dan --set dan.OPTION=VALUE`): `spec` (another DAN document, e.g. a
changed copy for versioning checks), `fixture` (another seed file), `min_valid_days`,
`max_valid_days`, `default_valid_days` (FACTS §2.1 step 8; default: the spec's
`x-kontrakt-default-offset` of validTo), `reminder_interval_days` (§2.7),
`version` (the `x-version` header).
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from kontrakt.generated.dan_v1 import server as generated
from kontrakt.runtime import server as rt
from kontrakt.sandbox.dan.contract import Contract
from kontrakt.sandbox.dan.gateway import DanGateway, install_validation
from kontrakt.sandbox.dan.provider import DEFAULT_FIXTURE, ConsentError, DanProvider
from kontrakt.sandbox.dan.verifier import DanTokenVerifier
from kontrakt.sandbox.launch import SandboxContext

__all__ = ["create_app"]

NAME = "dan"
SUBSCRIPTION_KEY_HEADER = "Ocp-Apim-Subscription-Key"


def create_app(
    context: SandboxContext,
    *,
    spec: str | None = None,
    fixture: str | None = None,
    min_valid_days: int = 2,
    max_valid_days: int = 1825,
    default_valid_days: int | None = None,
    reminder_interval_days: int = 7,
    version: str = "1.0.0-sandbox",
) -> ASGIApp:
    """The DAN sandbox app (see the module docstring for routes and options)."""
    contract = Contract.load(spec)
    base_url = context.base_urls[NAME]
    origin = base_url[: -len(urlsplit(base_url).path) or None]
    base_path = urlsplit(base_url).path or "/"
    provider = DanProvider.build(
        contract,
        Path(fixture) if fixture else DEFAULT_FIXTURE,
        context.database_path(NAME),
        base_url=base_url,
        consent_url=f"{origin}/_sandbox/consent",
        min_valid_days=min_valid_days,
        max_valid_days=max_valid_days,
        default_valid_days=(
            contract.default_valid_days if default_valid_days is None else default_valid_days
        ),
        reminder_interval_days=reminder_interval_days,
    )
    schemes: dict[str, rt.SecurityScheme] = {
        "SubscriptionKey": rt.ApiKeyScheme(
            rt.ApiKeyVerifier(SUBSCRIPTION_KEY_HEADER, provider.subscription_keys())
        ),
        "Maskinporten": rt.BearerScheme(DanTokenVerifier(context.verifier(NAME), contract)),
    }
    api = generated.create_app(provider, schemes)
    install_validation(api, contract)
    signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    async def consent(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            body = None
        answer = body.get("answer") if isinstance(body, dict) else None
        try:
            result = provider.answer_consent(
                request.path_params["accreditationId"], str(answer or "")
            )
        except ConsentError as exc:
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        return JSONResponse(result)

    async def jwks(request: Request) -> JSONResponse:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key()))
        jwk.update(kid="dan-sandbox-signing", alg="RS256", use="sig")
        return JSONResponse({"keys": [jwk]})

    app = Starlette(
        routes=[
            Route("/_sandbox/consent/{accreditationId}", consent, methods=["POST"]),
            Route("/_sandbox/jwks", jwks, methods=["GET"]),
            Mount(base_path, app=api),
        ],
        middleware=[
            Middleware(
                DanGateway,
                contract=contract,
                base_path=base_path,
                base_url=base_url,
                service_context_of=provider.service_context_of,
                signing_key=signing_key,
                version=version,
            )
        ],
    )
    app.state.dan = provider
    return app
