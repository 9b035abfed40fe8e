"""DAN's token check (FACTS §1 Token validation): issuer and signature, but not the audience.

DAN Core matches the token's issuer against Maskinporten's and Altinn Platform's discovery
documents and checks the signature with that issuer's keys; it does not validate `aud`
(DAN-AUTH-ISSUER). When the issuer's keys cannot be fetched the call answers 1013 (503,
DAN-AUTH-IDP-UNAVAILABLE-503) rather than a token error.
"""

from __future__ import annotations

from typing import Any

import jwt

from kontrakt.runtime import server as rt
from kontrakt.sandbox.dan.contract import Contract

__all__ = ["DanTokenVerifier"]


class DanTokenVerifier(rt.JwtVerifier):
    """A JwtVerifier over the sandbox issuer's JWKS that accepts any audience."""

    def __init__(self, base: rt.JwtVerifier, contract: Contract) -> None:
        super().__init__(
            base.jwks,
            base.issuer,
            base.audience,
            algorithms=base.algorithms,
            leeway=base.leeway,
            required_claims=tuple(c for c in base.required_claims if c != "aud"),
            max_token_length=base.max_token_length,
        )
        self.base = base
        self.contract = contract

    async def verify(self, token: str) -> dict[str, Any]:
        try:
            audience = jwt.decode(token, options={"verify_signature": False}).get("aud")
        except jwt.PyJWTError:
            audience = None
        checker: rt.JwtVerifier = self.base
        if isinstance(audience, str | list) and audience:
            # Verify against the token's own audience: everything but `aud` is checked.
            checker = rt.JwtVerifier(
                self.jwks,
                self.issuer,
                audience,
                algorithms=self.algorithms,
                leeway=self.leeway,
                required_claims=self.required_claims,
                max_token_length=self.max_token_length,
            )
        try:
            return await checker.verify(token)
        except rt.TokenError as exc:
            if exc.reason == "keys-unavailable":
                raise self.contract.problem(
                    "ServiceNotAvailableException", "the token issuer's keys cannot be fetched"
                ) from None
            raise
