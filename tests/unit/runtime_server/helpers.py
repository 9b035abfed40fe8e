"""Keys, tokens and four small servers built by hand the way generated `server.py` modules will be.

No `from __future__ import annotations` here: FastAPI evaluates endpoint annotations, and the
dependencies they name are local to the router factories.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Body, Depends, FastAPI, Header, Path, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from kontrakt.runtime.server import (
    ApiKeyScheme,
    ApiKeyVerifier,
    ApiProblem,
    AuthContext,
    Authenticator,
    BearerScheme,
    ContentTypeGuard,
    ErrorStyle,
    ErrorTable,
    JwksCache,
    JwtVerifier,
    Negotiator,
    RoleRequirement,
    SecurityRequirement,
    SecurityScheme,
    create_app,
    create_router,
    serialize,
)

ISSUER = "https://test.maskinporten.no/"
AUDIENCE = "https://bank.example/v2"
KID = "signing-key-1"
DSOP_SCOPE = "bits:kontoinformasjon"
SDIR_SCOPE = "sdir:seafarer.additionalcompetance.write"
API_KEY = "subscription-key-0123456789abcdef"
CORRELATION_ID = "7f1e4a52-9c3b-4d8e-8a61-2b5f0c9d3e17"
REQUEST_ID = "0b7d4e51-8c2a-4f3e-b1d9-5a6e7c8f9012"


# --- keys and tokens --------------------------------------------------------------------------


@dataclass(frozen=True)
class Keys:
    signing: rsa.RSAPrivateKey
    attacker: rsa.RSAPrivateKey
    other: rsa.RSAPrivateKey  # published under a second kid, for rotation tests

    def jwks(self, *, with_other: bool = False) -> dict[str, Any]:
        keys = [_jwk(self.signing, KID)]
        if with_other:
            keys.append(_jwk(self.other, "signing-key-2"))
        return {"keys": keys}

    def public_pem(self) -> bytes:
        return self.signing.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def _jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
    return jwk


def new_keys() -> Keys:
    def make() -> rsa.RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    return Keys(make(), make(), make())


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 120,
        "scope": DSOP_SCOPE,
        "consumer": {"authority": "iso6523-actorid-upis", "ID": "0192:974761076"},
        "client_id": "synthetic-client",
    }
    for name, value in overrides.items():
        if value is None:
            base.pop(name, None)
        else:
            base[name] = value
    return base


def token(
    keys: Keys,
    *,
    key: rsa.RSAPrivateKey | None = None,
    kid: str | None = KID,
    algorithm: str = "RS256",
    **overrides: Any,
) -> str:
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(
        claims(**overrides), key or keys.signing, algorithm=algorithm, headers=headers
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unsigned_token(signature: str = "", **overrides: Any) -> str:
    """An `alg: none` token (RFC 7519 6.1), which no verifier here may accept."""
    header = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": KID}).encode())
    payload = b64(json.dumps(claims(**overrides)).encode())
    return f"{header}.{payload}.{signature}"


def hs256_with_public_key(keys: Keys, **overrides: Any) -> str:
    """The key-confusion attack: HMAC-signed with the RSA public key as the shared secret."""
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": KID}).encode())
    payload = b64(json.dumps(claims(**overrides)).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = hmac.new(keys.public_pem(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


def verifier(keys: Keys, **kwargs: Any) -> JwtVerifier:
    return JwtVerifier(JwksCache(jwks=keys.jwks()), ISSUER, AUDIENCE, **kwargs)


# --- calling an app ---------------------------------------------------------------------------


def call(app: FastAPI, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request through httpx.ASGITransport, in a fresh event loop."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bank.test") as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(go())


def dsop_headers(bearer: str | None, **extra: str) -> dict[str, str]:
    headers = {
        "AccountInfoRequestID": REQUEST_ID,
        "CorrelationID": CORRELATION_ID,
        "Legal-Mandate": "Skatteforvaltningsloven%20%C2%A7%2010-2",
        "PartyID": "12838941247",
        "Accept": "application/json",
    }
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    headers.update(extra)
    return headers


# --- DSOP Control v2.0 ------------------------------------------------------------------------

DSOP_STYLE = ErrorStyle(code_pointer="/code", code_type="string", message_field="message")
# What the generator emits from the document's x-kontrakt-errors (abridged).
DSOP_ERRORS: Mapping[str, Sequence[Any]] = {
    "missing-parameter": [
        (400, "ACC-001", ("AccountInfoRequestID", "CorrelationID", "Legal-Mandate")),
        (400, "ACC-001", ("PartyID",)),
        (400, "ACC-001", ("OnlyPrimaryOwner",)),
    ],
    "invalid-parameter": [
        (400, "ACC-001", ("AccountInfoRequestID", "CorrelationID")),
        (400, "ACC-001", ("OnlyPrimaryOwner",)),
        (400, "ACC-001", ("fromDate", "toDate")),
    ],
    "unauthenticated": [(401, "ACC-010", ())],
    "forbidden": [(403, "ACC-011", ())],
    "not-found": [(404, "ACC-002", ("accountReference",)), (404, "ACC-003", ("accountReference",))],
    "method-not-allowed": [(405, "ACC-012", ())],
    "not-acceptable": [(406, "ACC-013", ())],
    "rate-limited": [(429, "ACC-022", ())],
    "server-error": [(500, "ACC-100", ()), (500, "ACC-500", ())],
}
DSOP_SECURITY = [
    SecurityRequirement({"maskinporten": (DSOP_SCOPE,)}),
    SecurityRequirement({"accountsAuth": (DSOP_SCOPE,)}),
]


class AccountSummary(BaseModel):
    account_reference: str = Field(alias="accountReference")
    status: str


class AccountList(BaseModel):
    accounts: list[AccountSummary]
    response_details: dict[str, str] = Field(alias="responseDetails")


def fake_jwe(content: Any) -> bytes:
    """Stands in for the JWE encryption a provider plugs in for application/jose."""
    return b".".join(b64(p).encode() for p in (b"{}", b"k", b"iv", b"ct", b"tag"))


def dsop_router(schemes: Mapping[str, SecurityScheme], *, environment: str = "test") -> Any:
    router = create_router()
    auth = Authenticator(schemes, DSOP_SECURITY)
    offered = ["application/jose"] + (["application/json"] if environment == "test" else [])
    negotiate = Negotiator(*offered)
    encoders = {"application/jose": fake_jwe}

    @router.get("/accounts", operation_id="listAccounts", response_class=Response)
    async def list_accounts(
        account_info_request_id: Annotated[UUID, Header(alias="AccountInfoRequestID")],
        correlation_id: Annotated[UUID, Header(alias="CorrelationID")],
        legal_mandate: Annotated[str, Header(alias="Legal-Mandate")],
        party_id: Annotated[str, Header(alias="PartyID")],
        context: Annotated[AuthContext, Depends(auth)],
        media_type: Annotated[str, Depends(negotiate)],
        only_primary_owner: Annotated[bool, Query(alias="OnlyPrimaryOwner")] = True,
    ) -> Response:
        if party_id == "boom":
            raise RuntimeError(f"back end down for token {context.claims.get('client_id')}")
        result = AccountList.model_validate(
            {
                "accounts": [{"accountReference": "ref-1", "status": "enabled"}],
                "responseDetails": {"status": "complete"},
            }
        )
        return serialize(
            result,
            media_type,
            headers={"CorrelationID": str(correlation_id)},
            encoders=encoders,
        )

    @router.get(
        "/accounts/{accountReference}", operation_id="showAccountById", response_class=Response
    )
    async def show_account(
        account_reference: Annotated[str, Path(alias="accountReference")],
        correlation_id: Annotated[UUID, Header(alias="CorrelationID")],
        context: Annotated[AuthContext, Depends(auth)],
        media_type: Annotated[str, Depends(negotiate)],
    ) -> Response:
        if account_reference != "ref-1":
            raise ApiProblem.from_trigger(
                "not-found",
                "No account matches the given accountReference.",
                parameter="accountReference",
            )
        return serialize({"accountReference": account_reference}, media_type, encoders=encoders)

    return router


def dsop_schemes(jwt_verifier: JwtVerifier) -> dict[str, SecurityScheme]:
    # Both DSOP schemes describe the same Maskinporten bearer token (A-DSOP-003).
    return {"maskinporten": BearerScheme(jwt_verifier), "accountsAuth": BearerScheme(jwt_verifier)}


def dsop_app(keys: Keys, *, environment: str = "test", jwks: JwksCache | None = None) -> FastAPI:
    jwt_verifier = JwtVerifier(jwks or JwksCache(jwks=keys.jwks()), ISSUER, AUDIENCE)
    return create_app(
        [dsop_router(dsop_schemes(jwt_verifier), environment=environment)],
        DSOP_STYLE,
        ErrorTable(DSOP_ERRORS),
    )


# --- DPS v1 -----------------------------------------------------------------------------------

DPS_STYLE = ErrorStyle(code_pointer="/error/code", message_field="message", details_field="details")
DPS_ERRORS: Mapping[str, Sequence[Any]] = {
    "invalid-parameter": [(400, "VALIDATION_ERROR", ("contractId",))],
    "invalid-body": [(400, "VALIDATION_ERROR", ())],
    "unauthenticated": [(401, "UNAUTHORIZED", ())],
    "forbidden": [(403, "FORBIDDEN", ())],
    "not-found": [(404, "NOT_FOUND", ())],
    "conflict": [(409, "DUPLICATE_OBJECT_ID", ())],
    "server-error": [(500, "INTERNAL_ERROR", ())],
}
DPS_ISSUER = "https://www.nb.no/authn/realms/dps"


class CreateSubmission(BaseModel):
    object_id: str = Field(alias="objectId", min_length=1)
    title: str


def dps_router(schemes: Mapping[str, SecurityScheme]) -> Any:
    router = create_router()
    security = [SecurityRequirement({"oauth2": ()})]
    write = Authenticator(
        schemes, security, roles=RoleRequirement(("{contractId}_W",), "realm_access.roles")
    )
    read = Authenticator(
        schemes,
        security,
        roles=RoleRequirement(("{contractId}_R", "{contractId}_W"), "realm_access.roles"),
    )
    contract = Annotated[str, Path(alias="contractId", pattern="^[0-9a-f]{4}$")]

    @router.post(
        "/v1/contracts/{contractId}/submissions",
        operation_id="createSubmission",
        response_class=Response,
        dependencies=[Depends(ContentTypeGuard("application/json"))],
    )
    async def create_submission(
        contract_id: contract,
        body: Annotated[CreateSubmission, Body()],
        context: Annotated[AuthContext, Depends(write)],
    ) -> Response:
        if body.object_id == "taken":
            raise ApiProblem(
                409, "DUPLICATE_OBJECT_ID", "objectId already used.", details="objectId"
            )
        return serialize(
            {"contractId": contract_id, "objectId": body.object_id, "status": "REGISTERED"},
            "application/json",
            status_code=201,
        )

    @router.get(
        "/v1/contracts/{contractId}/submissions",
        operation_id="listSubmissions",
        response_class=Response,
    )
    async def list_submissions(
        contract_id: contract, context: Annotated[AuthContext, Depends(read)]
    ) -> Response:
        return serialize({"content": [], "contractId": contract_id}, "application/json")

    return router


# DPS names no 405, 413 or 415 code; a generated server takes them from assumptions.
DPS_FALLBACKS: Mapping[str, tuple[int, str]] = {
    "method-not-allowed": (405, "METHOD_NOT_ALLOWED"),
    "payload-too-large": (413, "PAYLOAD_TOO_LARGE"),
    "unsupported-media-type": (415, "UNSUPPORTED_MEDIA_TYPE"),
}


def dps_app(
    keys: Keys, *, fallbacks: Mapping[str, tuple[int, str]] | None = DPS_FALLBACKS
) -> FastAPI:
    jwt_verifier = JwtVerifier(JwksCache(jwks=keys.jwks()), DPS_ISSUER, "dps-submission")
    return create_app(
        [dps_router({"oauth2": BearerScheme(jwt_verifier)})],
        DPS_STYLE,
        ErrorTable(DPS_ERRORS, fallbacks=fallbacks),
        max_body_size=1024,
    )


# --- Sdir additional competence v1 ------------------------------------------------------------

SDIR_STYLE = ErrorStyle(
    code_pointer="/errors/*/code", message_field="message", media_type="application/problem+json"
)
SDIR_ERRORS: Mapping[str, Sequence[Any]] = {
    "invalid-body": [
        (400, "MALFORMED_JSON", (), "malformed"),
        (400, "VALIDATION_FAILED", ()),
        (400, "VALIDATION_FAILED", ()),
        (400, "UNKNOWN_COMPETENCE_CODE", ("competenceCode",)),
    ],
    "missing-parameter": [(400, "VALIDATION_FAILED", ("uid",))],
    "invalid-parameter": [(400, "VALIDATION_FAILED", ("uid",))],
    "unauthenticated": [
        (401, "MISSING_SUBSCRIPTION_KEY", ("Ocp-Apim-Subscription-Key",), "missing"),
        (401, "INVALID_SUBSCRIPTION_KEY", ("Ocp-Apim-Subscription-Key",), "invalid"),
        (401, "INVALID_TOKEN", ("Authorization",)),
    ],
    "forbidden": [(403, "INSUFFICIENT_SCOPE", ()), (403, "ORGANIZATION_MISMATCH", ())],
    "not-found": [(404, "NOT_FOUND", ("uid",))],
    "payload-too-large": [(413, "BATCH_TOO_LARGE", ())],
    "unsupported-media-type": [(415, "UNSUPPORTED_MEDIA_TYPE", ())],
    "server-error": [(500, "INTERNAL_ERROR", ())],
}


class Competence(BaseModel):
    personal_identity_number: str = Field(alias="personalIdentityNumber", pattern=r"^\d{11}$")
    competence_code: str = Field(alias="competenceCode")


def sdir_router(schemes: Mapping[str, SecurityScheme]) -> Any:
    router = create_router()
    auth = Authenticator(
        schemes, [SecurityRequirement({"subscriptionKey": (), "maskinporten": (SDIR_SCOPE,)})]
    )
    json_only = ContentTypeGuard("application/json")

    @router.post(
        "/v1/additionalcompetence",
        operation_id="createAdditionalCompetence",
        response_class=Response,
        dependencies=[Depends(json_only)],
    )
    async def create(
        body: Annotated[Competence, Body()], context: Annotated[AuthContext, Depends(auth)]
    ) -> Response:
        return serialize(body, "application/json", status_code=201)

    @router.post(
        "/v1/additionalcompetence/batch",
        operation_id="createAdditionalCompetenceBatch",
        response_class=Response,
        dependencies=[Depends(json_only)],
    )
    async def create_batch(
        body: Annotated[list[Competence], Body()], context: Annotated[AuthContext, Depends(auth)]
    ) -> Response:
        return serialize(body, "application/json", status_code=201)

    return router


def sdir_app(keys: Keys) -> FastAPI:
    jwt_verifier = JwtVerifier(JwksCache(jwks=keys.jwks()), ISSUER, AUDIENCE)
    schemes: dict[str, SecurityScheme] = {
        "subscriptionKey": ApiKeyScheme(ApiKeyVerifier("Ocp-Apim-Subscription-Key", [API_KEY])),
        "maskinporten": BearerScheme(jwt_verifier),
    }
    # Sdir's document names no 405 code either; this one stands for an assumption.
    table = ErrorTable(SDIR_ERRORS, fallbacks={"method-not-allowed": (405, "METHOD_NOT_ALLOWED")})
    return create_app([sdir_router(schemes)], SDIR_STYLE, table, max_body_size=2048)


# --- DAN v1 -----------------------------------------------------------------------------------

DAN_STYLE = ErrorStyle(code_pointer="/code", code_type="integer", message_field="description")
DAN_ERRORS: Mapping[str, Sequence[Any]] = {
    "unauthenticated": [
        (401, "1023", ("Authorization",), "missing"),
        (401, "1024", ("Authorization",), "invalid"),
        (401, "1023", ("Ocp-Apim-Subscription-Key",)),
    ],
    "forbidden": [(403, "1019", ())],
    "not-found": [(404, "1002", ("accreditationId",))],
    "invalid-parameter": [(400, "1001", ())],
    "server-error": [(500, "1015", ())],
}


def dan_app(keys: Keys) -> FastAPI:
    jwt_verifier = JwtVerifier(JwksCache(jwks=keys.jwks()), ISSUER, AUDIENCE)
    schemes: dict[str, SecurityScheme] = {
        "SubscriptionKey": ApiKeyScheme(
            ApiKeyVerifier("Ocp-Apim-Subscription-Key", lambda key: key == API_KEY)
        ),
        "Maskinporten": BearerScheme(jwt_verifier),
    }
    router = create_router()
    auth = Authenticator(
        schemes, [SecurityRequirement({"SubscriptionKey": (), "Maskinporten": ()})]
    )

    @router.get(
        "/accreditations/{accreditationId}",
        operation_id="getAccreditation",
        response_class=Response,
    )
    async def get_accreditation(
        accreditation_id: Annotated[str, Path(alias="accreditationId")],
        context: Annotated[AuthContext, Depends(auth)],
    ) -> Response:
        raise ApiProblem.from_trigger(
            "not-found", "Accreditation not found", parameter="accreditationId"
        )

    # DAN's document names no 405 code: checking is off, and the 405 body carries no code.
    return create_app([router], DAN_STYLE, ErrorTable(DAN_ERRORS), check=False)
