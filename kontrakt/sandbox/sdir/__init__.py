"""Sandbox provider for Sdir's additional competence API, URL versions v1 and v2 in one app.

Below the base path `/aps-additionalcompetence-external` (PROVIDERS["sdir"]) a small dispatcher
sends `/v1/...` to the generated v1 app and `/v2/...` to the generated v2 app; each keeps its own
error tables. In front sits an emulation of Azure API Management: a missing or unknown
subscription key is answered by the "gateway" with APIM's own `{statusCode, message}` body
(A-SDIR-007, FACTS §8), before the service sees the call. With `apim_gateway=False` the generated
layer's ApiKeyScheme answers instead, as problem+json with MISSING_/INVALID_SUBSCRIPTION_KEY.
Tokens are verified by the generated BearerScheme through the issuer's JWKS.

Options (`kontrakt serve sdir --set sdir.<name>=<value>`):
- `apim_gateway` (default True): key failures get APIM's body rather than problem+json.
- `synthetic_only` (default True): refuse identity numbers not in the synthetic Tenor form, so
  no real person's number is ever stored by the sandbox.
- `fixture` (default kontrakt/sandbox/fixtures/sdir.yaml): another fixture file.

Both versions share one SQLite database (`context.database_path("sdir")`), exposed as
`app.database` for tests that count rows.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from kontrakt.generated.sdir_additional_competence_v1 import create_app as create_v1
from kontrakt.generated.sdir_additional_competence_v2 import create_app as create_v2
from kontrakt.runtime import server as rt
from kontrakt.sandbox.launch import PROVIDERS, SandboxContext
from kontrakt.sandbox.sdir import v1, v2
from kontrakt.sandbox.sdir.core import (
    FIXTURE,
    Fixture,
    Service,
    SpecLimits,
    open_database,
    parse_created,
)
from kontrakt.sandbox.store import Database

__all__ = ["KEY_HEADER", "SdirApp", "create_app"]

KEY_HEADER = "Ocp-Apim-Subscription-Key"

# Azure API Management's own texts (FACTS §8, APIM401; the examples of the spec's Unauthorized).
APIM_MISSING = (
    "Access denied due to missing subscription key. Make sure to include subscription key when "
    "making requests to an API."
)
APIM_INVALID = (
    "Access denied due to invalid subscription key. Make sure to provide a valid key for an "
    "active subscription."
)


class SdirApp:
    """The ASGI app: gateway key check, then dispatch on the URL version below the base path."""

    def __init__(
        self,
        base_path: str,
        versions: dict[str, FastAPI],
        database: Database,
        keys: rt.ApiKeyVerifier,
        *,
        apim_gateway: bool,
    ) -> None:
        self.base_path = base_path
        self.versions = versions
        self.database = database
        self.keys = keys
        self.apim_gateway = apim_gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        description = self._is_description(scope)
        if self.apim_gateway and not description:
            key = Headers(scope=scope).get(KEY_HEADER)
            if not key or not self.keys.verify(key):
                # FACTS §8: the gateway rejects before the backend sees the call.
                body = {"statusCode": 401, "message": APIM_INVALID if key else APIM_MISSING}
                await JSONResponse(body, status_code=401)(scope, receive, send)
                return
        path: str = scope["path"]
        rest = path[len(self.base_path) :] if path.startswith(self.base_path + "/") else ""
        version = rest.split("/", 2)[1] if rest else ""
        child = dict(scope)
        child["root_path"] = scope.get("root_path", "") + self.base_path
        if description:
            # The version's paths carry its /vN prefix, so its app serves the document one level up.
            child["path"] = f"{self.base_path}/openapi.json"
            child["raw_path"] = child["path"].encode()
        if version == "v2":
            await self.versions["v2"](child, receive, send)
        else:
            # v1, and any path outside both versions: the v1 app answers 404 NOT_FOUND.
            await self.versions["v1"](child, receive, send)

    def _is_description(self, scope: Scope) -> bool:
        """A GET of a version's ``openapi.json``, which this sandbox serves without a key.

        A choice of the sandbox, not a published fact: a developer portal hands out the description
        without a subscription, and `kontrakt diff OLD <base URL>/v2` must find it the same way.
        """
        return scope["method"] in ("GET", "HEAD") and scope["path"] in (
            f"{self.base_path}/{version}/openapi.json" for version in self.versions
        )


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def create_app(
    context: SandboxContext,
    *,
    apim_gateway: bool = True,
    synthetic_only: bool = True,
    fixture: str | None = None,
) -> SdirApp:
    """The Sdir provider for `context` (both URL versions below the base path)."""
    data = Fixture.load(Path(fixture) if fixture else FIXTURE)
    database = open_database(context.database_path("sdir"), data)
    keys = rt.ApiKeyVerifier(KEY_HEADER, data.active_keys)
    schemes: dict[str, rt.SecurityScheme] = {
        "subscriptionKey": rt.ApiKeyScheme(keys),
        "maskinporten": rt.BearerScheme(context.verifier("sdir")),
    }
    limits1, limits2 = SpecLimits.read(v1.SPEC), SpecLimits.read(v2.SPEC)
    service1 = Service(
        database, 1, v1.FIELDS, v1.new_codes(), limits1, synthetic_only=synthetic_only
    )
    service2 = Service(
        database, 2, v2.FIELDS, v2.new_codes(), limits2, synthetic_only=synthetic_only
    )
    _seed(service1, service2, data)
    base_path = PROVIDERS["sdir"].base_path
    app1 = create_v1(
        v1.Handlers(service1, limits1, location=f"{base_path}/v1/additionalcompetence"), schemes
    )
    app2 = create_v2(v2.Handlers(service2, limits2), schemes)
    return SdirApp(
        base_path,
        {"v1": app1, "v2": app2},
        database,
        keys,
        apim_gateway=apim_gateway,
    )


def _seed(service1: Service, service2: Service, data: Fixture) -> None:
    """The fixture's reports, read through the generated body models (so they obey the schema)."""
    from kontrakt.generated.sdir_additional_competence_v1 import models as m1
    from kontrakt.generated.sdir_additional_competence_v2 import models as m2

    def entries(version: str) -> list[dict[str, Any]]:
        return [dict(item) for item in data.reports.get(version, ())]

    service1.seed(
        (
            uuid.UUID(item.pop("uid")),
            v1.report(m1.AdditionalCompetenceV1.model_validate(item).root),
            parse_created(item.pop("createdAt")),
        )
        for item in entries("v1")
    )
    service2.seed(
        (
            uuid.UUID(item.pop("uid")),
            v2.report(m2.AdditionalCompetenceV2.model_validate(item)),
            parse_created(item.pop("createdAt")),
        )
        for item in entries("v2")
    )
