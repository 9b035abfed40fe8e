"""Wiring the sandbox bank: the generated app(s) under /v2, the JWE encoder and the options.

`build_app(handlers, context, ...)` turns any object implementing the generated `Handlers`
Protocol (normally `DsopBank`, or a test's known-bad subclass of it) into the ASGI app the sandbox
serves; `create_app(context, **options)` is what `kontrakt serve dsop-control` calls.

Media types. The document marks plain `application/json` as test-only and `application/jose` as
the production body. The sandbox is a bank's TEST environment that also answers
`Accept: application/jose` (as Digdir's client always asks for it), so in `environment="test"`
it holds two generated apps over the same handlers - the test one (JSON) and the production one
(JWE) - and sends each request to the one whose media type the Accept header prefers. In
`environment="production"` only the JWE app serves, so `Accept: application/json` is 406 ACC-013.

JWE: compact serialisation, RSA-OAEP-256 key wrapping with A128CBC-HS256 content encryption
(the choice hinted at in Digdir's client; the Bits security design is not public), encrypted to
the consumer organisation's registered public key (the sandbox's stand-in for the CertPub lookup,
`Registry.by_organisation`). The plaintext is byte for byte the JSON body the test media type
would carry.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import serialization
from fastapi.encoders import jsonable_encoder
from joserfc import jwe
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from kontrakt.generated.dsop_control_v2 import create_app as generated_app
from kontrakt.generated.dsop_control_v2.server import Handlers
from kontrakt.runtime import server as rt
from kontrakt.sandbox.clients import Registry
from kontrakt.sandbox.dsop_control.data import FIXTURE, BankData, Fixture
from kontrakt.sandbox.dsop_control.extradition import OrderVerifier
from kontrakt.sandbox.dsop_control.handlers import (
    DsopBank,
    RequestState,
    current_request,
    request_state,
)
from kontrakt.sandbox.dsop_control.services import ServiceCatalogue
from kontrakt.sandbox.launch import PROVIDERS, SandboxContext
from kontrakt.sandbox.store import Database

__all__ = [
    "CONTENT_ENCRYPTION",
    "ENVIRONMENTS",
    "KEY_ENCRYPTION",
    "MediaDispatch",
    "build_app",
    "build_bank",
    "create_app",
    "jwe_encoder",
]

NAME = "dsop-control"
KEY_ENCRYPTION = "RSA-OAEP-256"
CONTENT_ENCRYPTION = "A128CBC-HS256"
ENVIRONMENTS = ("test", "production")
JSON, JOSE = "application/json", "application/jose"


def _json_bytes(content: Any) -> bytes:
    """The body `rt.serialize` would write for JSON (so the JWE plaintext equals the test body)."""
    data = jsonable_encoder(content, by_alias=True, exclude_none=True)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def jwe_encoder(registry: Registry) -> rt.Encoder:
    """Encrypts a 200 body to the current consumer's registered key (DSOP-JWE-CERTPUB)."""

    def encode(content: Any) -> bytes:
        consumer = current_request().consumer
        clients = registry.by_organisation(consumer) if consumer else []
        public = next((k for k in (c.rsa_public_key() for c in clients) if k is not None), None)
        if public is None:
            # No certificate to encrypt to: a provider-side failure (500), never plain text.
            raise RuntimeError("no registered encryption key for the consumer organisation")
        pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        key = RSAKey.import_key(pem)
        protected = {
            "alg": KEY_ENCRYPTION,
            "enc": CONTENT_ENCRYPTION,
            "cty": "application/json",
            "kid": key.thumbprint(),
        }
        token = jwe.encrypt_compact(
            protected, _json_bytes(content), key, algorithms=[KEY_ENCRYPTION, CONTENT_ENCRYPTION]
        )
        return token.encode("ascii")

    return encode


class MediaDispatch:
    """Sets the per-request state, then hands the request to the app serving its media type."""

    def __init__(self, plain: ASGIApp | None, jose: ASGIApp) -> None:
        self.plain = plain
        self.jose = jose

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.jose(scope, receive, send)
            return
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())
        }
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        token = request_state.set(RequestState(headers=headers, query=query))
        try:
            target = self.jose
            if self.plain is not None:
                chosen = rt.choose_media_type(headers.get("accept"), (JSON, JOSE))
                target = self.jose if chosen == JOSE else self.plain
            await target(scope, receive, send)
        finally:
            request_state.reset(token)


def build_app(
    handlers: Handlers,
    context: SandboxContext,
    *,
    environment: str = "test",
    base_path: str | None = None,
) -> ASGIApp:
    """The served app over any `Handlers` implementation (the reference bank or a test's twin)."""
    if environment not in ENVIRONMENTS:
        raise ValueError(f"environment must be one of {ENVIRONMENTS}, not {environment!r}")
    scheme = rt.BearerScheme(context.verifier(NAME))
    schemes = {"maskinporten": scheme, "accountsAuth": scheme}
    encoders = {JOSE: jwe_encoder(context.registry)}
    jose = generated_app(handlers, schemes, environment="production", encoders=encoders)
    plain = generated_app(handlers, schemes, environment="test") if environment == "test" else None
    path = base_path if base_path is not None else PROVIDERS[NAME].base_path
    return Starlette(routes=[Mount(path, app=MediaDispatch(plain, jose))])


def build_bank(
    context: SandboxContext,
    *,
    fixture: Fixture | None = None,
    rate_limit: int | None = None,
    page_size: int = 1000,
    accounts_page_size: int = 1000,
    today: datetime.date | str | None = None,
) -> DsopBank:
    """The reference bank over a freshly seeded database (the same data at every start)."""
    fixture = fixture or Fixture.load(FIXTURE)
    day = datetime.date.fromisoformat(today) if isinstance(today, str) else today
    data = BankData.seed(Database(context.database_path(NAME)), fixture, today=day)
    services = ServiceCatalogue.from_spec()
    politi = [s for s in services if s.additional_reference_id_type == "pol1"]
    mandates = [m for s in politi for m in s.legal_mandates]
    return DsopBank(
        data,
        services,
        consumers=fixture.service_consumers,
        orders=OrderVerifier.from_fixture(fixture, mandates),
        page_size=int(page_size),
        accounts_page_size=int(accounts_page_size),
        rate_limit=int(rate_limit) if rate_limit else None,
        today=day,
    )


def create_app(
    context: SandboxContext,
    *,
    environment: str = "test",
    rate_limit: int | None = None,
    page_size: int = 1000,
    accounts_page_size: int = 1000,
    today: datetime.date | str | None = None,
    fixture: str | Path | None = None,
    **unknown: Any,
) -> ASGIApp:
    """`kontrakt serve dsop-control [--set dsop-control.OPTION=VALUE ...]`.

    Options: `environment` ("test": JSON and JWE; "production": JWE only), `rate_limit`
    (requests per minute per consumer organisation, None = off), `page_size` (transactions per
    page), `accounts_page_size` (accounts per page), `today` (YYYY-MM-DD: freeze the bank's date),
    `fixture` (another dsop.yaml).
    """
    if unknown:
        raise TypeError(f"unknown dsop-control option(s): {', '.join(sorted(unknown))}")
    loaded = Fixture.load(Path(fixture)) if fixture else None
    bank = build_bank(
        context,
        fixture=loaded,
        rate_limit=rate_limit,
        page_size=page_size,
        accounts_page_size=accounts_page_size,
        today=today,
    )
    return build_app(bank, context, environment=environment)
