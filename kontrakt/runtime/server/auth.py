"""An operation's `security` requirements as a FastAPI dependency: OR of ANDs, then roles.

OpenAPI semantics: `security` is a list of alternatives; each alternative names schemes that
must all pass, with the scopes each needs. Credentials that are missing or invalid in every
alternative answer the document's `unauthenticated` code (401); valid credentials that lack a
scope or role answer its `forbidden` code (403).

Role templates are filled from the path parameters. A variable that is no path parameter (DPS
disseminations: the contract comes from the package behind the body's `archiveId`) cannot be
filled by the route: it then checks only that the token holds some role of the template's shape,
and the handler finishes the check with `AuthContext.require_roles(contractId=...)`.
"""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from kontrakt.runtime.server._guard import Guard
from kontrakt.runtime.server.errors import ApiProblem
from kontrakt.runtime.server.security import (
    ApiKeyVerifier,
    JwtVerifier,
    RoleRequirement,
    TokenError,
    claim_at,
    has_scopes,
    token_scopes,
)

__all__ = [
    "ApiKeyScheme",
    "AuthContext",
    "Authenticator",
    "BearerScheme",
    "SecurityRequirement",
    "SecurityScheme",
]

logger = logging.getLogger("kontrakt.runtime.server.auth")


@dataclass(frozen=True)
class BearerScheme:
    """An `oauth2`, `openIdConnect` or `http: bearer` scheme: a JWT in `Authorization: Bearer`."""

    verifier: JwtVerifier
    header_name: str = "Authorization"


@dataclass(frozen=True)
class ApiKeyScheme:
    """An `apiKey` scheme in a header."""

    verifier: ApiKeyVerifier

    @property
    def header_name(self) -> str:
        return self.verifier.header_name


SecurityScheme = BearerScheme | ApiKeyScheme


@dataclass(frozen=True)
class SecurityRequirement:
    """One security requirement object: scheme name -> the scopes it needs. `{}` is anonymous."""

    schemes: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthContext:
    """What passed: the schemes of the satisfied alternative and the bearer token's claims.

    `roles` is the operation's `x-kontrakt-roles` requirement and `path_params` the request's
    path parameters, so that a handler can finish a role check the route could not: see
    `require_roles`.
    """

    schemes: tuple[str, ...] = ()
    claims: Mapping[str, Any] = field(default_factory=dict)
    roles: RoleRequirement | None = None
    path_params: Mapping[str, str] = field(default_factory=dict)

    @property
    def scopes(self) -> frozenset[str]:
        return token_scopes(self.claims)

    def claim(self, path: str) -> Any:
        """A claim by dotted path (`consumer.ID`), or None."""
        return claim_at(self.claims, path)

    def has_roles(self, **values: str) -> bool:
        """Whether the token holds one of the operation's roles, its variables bound by the path
        parameters and `values` (named as in the template: `contractId="a1f3"`).

        True when the operation declares no roles.
        """
        if self.roles is None:
            return True
        return self.roles.held_by(self.claims, {**self.path_params, **values})

    def require_roles(self, **values: str) -> None:
        """Refuse with the operation's `forbidden` code (403) unless `has_roles(**values)`.

        For a role template naming a variable that is no path parameter (DPS: `{contractId}_R`
        on `POST /v1/disseminations`, where the contract is that of the `archiveId`), the route
        has only checked that the token holds some role of that shape; the handler calls this
        once it has looked the value up. Raises `ValueError` if a variable stays unbound.
        """
        if not self.has_roles(**values):
            raise ApiProblem.from_trigger(
                "forbidden", "The access token holds no role that permits this operation."
            )


@dataclass(frozen=True)
class _Passed:
    claims: Mapping[str, Any] | None  # None for an API key


def _unauthenticated(header: str, situation: str, message: str, *, bearer: bool) -> ApiProblem:
    headers = {}
    if bearer:
        # RFC 6750 3: a challenge, with error=invalid_token only when a token was presented.
        headers["WWW-Authenticate"] = (
            'Bearer error="invalid_token"' if situation == "invalid" else "Bearer"
        )
    return ApiProblem.from_trigger(
        "unauthenticated", message, parameter=header, situation=situation, headers=headers
    )


class Authenticator(Guard[AuthContext]):
    """The dependency a generated operation declares for its `security` and `x-kontrakt-roles`.

    `schemes` maps the document's securitySchemes names to configured schemes (issuer, audience
    and JWKS are deployment settings, not contract data); every name a requirement uses must be
    there, checked when the authenticator is built.
    """

    priority = 0

    def __init__(
        self,
        schemes: Mapping[str, SecurityScheme],
        requirements: Sequence[SecurityRequirement],
        *,
        roles: RoleRequirement | None = None,
    ) -> None:
        unknown = sorted(
            {name for requirement in requirements for name in requirement.schemes} - set(schemes)
        )
        if unknown:
            raise ValueError(f"security requirements name unconfigured schemes: {unknown}")
        self.schemes = dict(schemes)
        self.requirements = tuple(requirements)
        self.roles = roles

    @property
    def authenticates(self) -> bool:
        """Whether any credential is needed at all (no requirements, or `{}`, means anonymous)."""
        return bool(self.requirements) and all(r.schemes for r in self.requirements)

    @property
    def authorises(self) -> bool:
        """Whether a valid credential can still be refused (scopes or roles)."""
        return self.roles is not None or any(
            scopes for r in self.requirements for scopes in r.schemes.values()
        )

    async def run(self, request: Request) -> AuthContext:
        if not self.authenticates:
            return AuthContext()
        passed: dict[str, _Passed | ApiProblem] = {}
        unauthenticated: ApiProblem | None = None
        forbidden: ApiProblem | None = None
        for requirement in self.requirements:
            claims: Mapping[str, Any] | None = None
            refused = False
            for name, scopes in requirement.schemes.items():
                if name not in passed:
                    passed[name] = await self._check(name, request)
                outcome = passed[name]
                if isinstance(outcome, ApiProblem):
                    unauthenticated = unauthenticated or outcome
                    refused = True
                    break
                if outcome.claims is None:
                    continue
                if scopes and not has_scopes(outcome.claims, scopes):
                    forbidden = forbidden or ApiProblem.from_trigger(
                        "forbidden",
                        "The access token lacks a required scope.",
                        headers={
                            "WWW-Authenticate": 'Bearer error="insufficient_scope", '
                            f'scope="{" ".join(scopes)}"'
                        },
                    )
                    refused = True
                    break
                claims = claims if claims is not None else outcome.claims
            if refused:
                continue
            if self.roles is not None and not self.roles.satisfied_by(
                claims or {}, request.path_params
            ):
                forbidden = forbidden or ApiProblem.from_trigger(
                    "forbidden", "The access token holds no role that permits this operation."
                )
                continue
            return AuthContext(
                tuple(requirement.schemes),
                claims or {},
                roles=self.roles,
                path_params=dict(request.path_params),
            )
        # Valid credentials that fall short answer 403; otherwise the first refusal answers 401.
        problem = forbidden or unauthenticated
        assert problem is not None
        raise problem

    async def _check(self, name: str, request: Request) -> _Passed | ApiProblem:
        scheme = self.schemes[name]
        if isinstance(scheme, ApiKeyScheme):
            presented = request.headers.get(scheme.header_name)
            if not presented:
                return _unauthenticated(
                    scheme.header_name,
                    "missing",
                    f"The {scheme.header_name} header is required.",
                    bearer=False,
                )
            if not scheme.verifier.verify(presented):
                logger.info("API key refused for scheme %s", name)
                return _unauthenticated(
                    scheme.header_name, "invalid", "The API key is not valid.", bearer=False
                )
            return _Passed(None)
        value = request.headers.get(scheme.header_name, "")
        kind, _, token = value.strip().partition(" ")
        token = token.strip()
        if kind.lower() != "bearer" or not token:
            return _unauthenticated(
                scheme.header_name, "missing", "A bearer access token is required.", bearer=True
            )
        try:
            claims = await scheme.verifier.verify(token)
        except TokenError as exc:
            logger.info("bearer token refused for scheme %s: %s", name, exc.reason)
            return _unauthenticated(scheme.header_name, "invalid", exc.message, bearer=True)
        return _Passed(claims)
