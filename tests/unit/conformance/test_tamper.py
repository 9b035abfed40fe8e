"""Token tampering: every bad token the suite makes is refused by the runtime's JwtVerifier,
while the token it started from (and a correctly minted one) is accepted, so the check can fail."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from kontrakt.conformance.auth import (
    Minter,
    alg_none,
    altered_signature,
    claims_of,
    edited_claims,
    header_of,
    truncated,
)
from kontrakt.runtime.server import TokenError
from tests.e2e._support import Issuer, _private_key

ISSUER = Issuer("https://test.maskinporten.no/", "https://bank.example/v2")


def _verify(token: str) -> dict[str, object]:
    return asyncio.run(ISSUER.verifier().verify(token))


def test_the_real_token_is_accepted() -> None:
    token = ISSUER.token(scope="bits:kontoinformasjon")
    assert _verify(token)["scope"] == "bits:kontoinformasjon"


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (altered_signature, "signature"),
        (alg_none, "malformed"),
        (edited_claims, "signature"),
        (truncated, None),
        (lambda t: edited_claims(t, {"aud": "https://evil.example/"}), "signature"),
    ],
    ids=["altered-signature", "alg-none", "edited-claims", "truncated", "edited-audience"],
)
def test_every_tampered_token_is_refused(tamper: object, reason: str | None) -> None:
    token = ISSUER.token(scope="bits:kontoinformasjon")
    assert callable(tamper)
    bad = tamper(token)
    assert bad != token
    with pytest.raises(TokenError) as refused:
        _verify(bad)
    if reason is not None:
        assert refused.value.reason in (reason, "malformed", "algorithm")


def test_edits_keep_what_they_should() -> None:
    token = ISSUER.token(scope="a")
    assert token.split(".")[2] == edited_claims(token).split(".")[2]
    assert claims_of(edited_claims(token))["exp"] > claims_of(token)["exp"]
    assert header_of(alg_none(token))["alg"] == "none" and alg_none(token).endswith(".")


def test_minted_tokens_from_the_idp_key(tmp_path: Path) -> None:
    key = tmp_path / "idp.pem"
    key.write_bytes(
        _private_key().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    minter = Minter.from_file(key)
    template = ISSUER.token(scope="bits:kontoinformasjon")
    # Signed with the right key and the template's kid: a fresh copy is accepted ...
    assert _verify(minter.valid(template))["scope"] == "bits:kontoinformasjon"
    # ... and each wrong claim is refused for exactly that reason.
    for token, reason in (
        (minter.expired(template), "expired"),
        (minter.wrong_audience(template), "audience"),
        (minter.wrong_issuer(template), "issuer"),
    ):
        with pytest.raises(TokenError) as refused:
            _verify(token)
        assert refused.value.reason == reason
