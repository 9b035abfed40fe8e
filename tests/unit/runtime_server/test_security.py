"""JWT verification against a JWKS, the JWKS cache, API keys, scopes and templated roles."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import jwt
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kontrakt.runtime.server import (
    ApiKeyVerifier,
    JwksCache,
    JwtVerifier,
    TokenError,
    claim_at,
    expand_roles,
    has_any_role,
    has_scopes,
    token_scopes,
)
from tests.unit.runtime_server.helpers import (
    AUDIENCE,
    ISSUER,
    KID,
    Keys,
    b64,
    hs256_with_public_key,
    token,
    unsigned_token,
    verifier,
)


def verify(v: JwtVerifier, raw: str) -> dict[str, Any]:
    return asyncio.run(v.verify(raw))


def refused(v: JwtVerifier, raw: str) -> str:
    with pytest.raises(TokenError) as caught:
        verify(v, raw)
    # The refusal never quotes the token, not even a part of it.
    for part in raw.split("."):
        if len(part) > 8:
            assert part not in str(caught.value)
    return caught.value.reason


def test_valid_token_gives_claims(keys: Keys) -> None:
    claims = verify(verifier(keys), token(keys))
    assert claims["iss"] == ISSUER and claims["aud"] == AUDIENCE
    assert claims["consumer"]["ID"] == "0192:974761076"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda k: token(k, key=k.attacker), "signature"),
        (lambda k: unsigned_token(), "malformed"),
        (lambda k: unsigned_token(signature=b64(b"anything")), "algorithm"),
        (lambda k: hs256_with_public_key(k), "algorithm"),
        (lambda k: token(k, exp=int(time.time()) - 10), "expired"),
        (lambda k: token(k, nbf=int(time.time()) + 300), "not-yet-valid"),
        (lambda k: token(k, iat=int(time.time()) + 300), "not-yet-valid"),
        (lambda k: token(k, aud="https://other-bank.example/v2"), "audience"),
        (lambda k: token(k, iss="https://evil.example/"), "issuer"),
        (lambda k: token(k, kid="no-such-key"), "unknown-key"),
        (lambda k: token(k, exp=None), "claims"),
        (lambda k: token(k, aud=None), "claims"),
        # Cutting 20 characters leaves a base64url length that decodes or not depending on the
        # random last character's spare bits: refused as malformed or as a bad signature.
        (lambda k: token(k)[:-20], ("malformed", "signature")),
        (lambda k: token(k).rsplit(".", 1)[0], "malformed"),
        (lambda k: token(k) + ".x.y", "malformed"),
        (lambda k: "", "malformed"),
        (lambda k: "not a token", "malformed"),
    ],
    ids=[
        "forged-signature",
        "alg-none",
        "alg-none-with-signature",
        "hs256-key-confusion",
        "expired",
        "nbf-future",
        "iat-future",
        "wrong-aud",
        "wrong-iss",
        "unknown-kid",
        "no-exp",
        "no-aud",
        "truncated",
        "no-signature",
        "five-parts",
        "empty",
        "garbage",
    ],
)
def test_refusals(keys: Keys, make: Any, reason: str | tuple[str, ...]) -> None:
    expected = reason if isinstance(reason, tuple) else (reason,)
    assert refused(verifier(keys), make(keys)) in expected


def test_tampered_payload(keys: Keys) -> None:
    header, payload, signature = token(keys).split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["scope"] = "bits:kontoinformasjon bits:admin"
    forged = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
    assert refused(verifier(keys), forged) == "signature"


def test_embedded_jwk_header_is_not_trusted(keys: Keys) -> None:
    attacker_jwk = jwt.algorithms.RSAAlgorithm.to_jwk(keys.attacker.public_key(), as_dict=True)
    raw = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "iat": int(time.time()), "exp": int(time.time()) + 60},
        keys.attacker,
        algorithm="RS256",
        headers={"kid": KID, "jwk": attacker_jwk},
    )
    assert refused(verifier(keys), raw) == "signature"


def test_crit_header_refused(keys: Keys) -> None:
    raw = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "iat": int(time.time()), "exp": int(time.time()) + 60},
        keys.signing,
        algorithm="RS256",
        headers={"kid": KID, "crit": ["exp"]},
    )
    assert refused(verifier(keys), raw) == "malformed"


def test_leeway_and_audience_list(keys: Keys) -> None:
    just_expired = token(keys, exp=int(time.time()) - 5)
    assert verify(verifier(keys, leeway=30), just_expired)["iss"] == ISSUER
    several = JwtVerifier(JwksCache(jwks=keys.jwks()), [ISSUER], ["https://x.example", AUDIENCE])
    assert verify(several, token(keys))["aud"] == AUDIENCE


def test_kidless_token_with_single_key(keys: Keys) -> None:
    assert verify(verifier(keys), token(keys, kid=None))["iss"] == ISSUER
    two = JwtVerifier(JwksCache(jwks=keys.jwks(with_other=True)), ISSUER, AUDIENCE)
    assert refused(two, token(keys, kid=None)) == "unknown-key"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"algorithms": ("HS256",)},
        {"algorithms": ("none",)},
        {"algorithms": ()},
        {"leeway": 31},
        {"leeway": -1},
    ],
)
def test_verifier_refuses_unsafe_settings(keys: Keys, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        verifier(keys, **kwargs)


TOKEN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ "


@given(data=st.data())
@settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_any_single_change_is_refused(keys: Keys, data: st.DataObject) -> None:
    """Replacing, deleting or inserting one character anywhere in a valid token is refused."""
    original = token(keys)
    position = data.draw(st.integers(min_value=0, max_value=len(original) - 1))
    edit = data.draw(st.sampled_from(["replace", "delete", "insert"]))
    char = data.draw(st.sampled_from(TOKEN_CHARS))
    if edit == "replace":
        assume(original[position] != char)
        tampered = original[:position] + char + original[position + 1 :]
    elif edit == "delete":
        tampered = original[:position] + original[position + 1 :]
    else:
        tampered = original[:position] + char + original[position:]
    assume(tampered != original)
    with pytest.raises(TokenError):
        verify(verifier(keys), tampered)


# --- JWKS cache ----------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def serving(documents: list[dict[str, Any]], hits: list[str]) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        hits.append(str(request.url))
        document = documents[min(len(hits), len(documents)) - 1]
        return httpx.Response(200, json=document)

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def test_jwks_fetched_once_and_reused(keys: Keys) -> None:
    hits: list[str] = []

    async def go() -> None:
        client = serving([keys.jwks()], hits)
        cache = JwksCache("https://issuer.test/jwks", client=client, clock=FakeClock())
        v = JwtVerifier(cache, ISSUER, AUDIENCE)
        for _ in range(3):
            await v.verify(token(keys))

    asyncio.run(go())
    assert hits == ["https://issuer.test/jwks"]


def test_unknown_kid_refetches_within_limits(keys: Keys) -> None:
    hits: list[str] = []
    clock = FakeClock()

    async def go() -> None:
        client = serving([keys.jwks(), keys.jwks(with_other=True)], hits)
        cache = JwksCache(
            "https://issuer.test/jwks", client=client, clock=clock, min_refresh_interval=30
        )
        v = JwtVerifier(cache, ISSUER, AUDIENCE)
        await v.verify(token(keys))
        rotated = token(keys, key=keys.other, kid="signing-key-2")
        # Just fetched: an unknown kid does not refetch yet.
        with pytest.raises(TokenError) as caught:
            await v.verify(rotated)
        assert caught.value.reason == "unknown-key"
        assert len(hits) == 1
        clock.now += 31
        assert (await v.verify(rotated))["iss"] == ISSUER
        assert len(hits) == 2
        # Invented kids cannot make the cache fetch again within the interval.
        for n in range(5):
            with pytest.raises(TokenError):
                await v.verify(token(keys, kid=f"invented-{n}"))
        assert len(hits) == 2

    asyncio.run(go())


def test_jwks_stale_after_max_age(keys: Keys) -> None:
    hits: list[str] = []
    clock = FakeClock()

    async def go() -> None:
        cache = JwksCache(
            "https://issuer.test/jwks", client=serving([keys.jwks()], hits), clock=clock, max_age=60
        )
        await cache.key(KID)
        clock.now += 61
        await cache.key(KID)

    asyncio.run(go())
    assert len(hits) == 2


def test_jwks_unreachable(keys: Keys) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async def go() -> str:
        client = httpx.AsyncClient(transport=httpx.MockTransport(down))
        v = JwtVerifier(JwksCache("https://issuer.test/jwks", client=client), ISSUER, AUDIENCE)
        with pytest.raises(TokenError) as caught:
            await v.verify(token(keys))
        return caught.value.reason

    assert asyncio.run(go()) == "keys-unavailable"


def test_jwks_skips_symmetric_and_encryption_keys(keys: Keys) -> None:
    document = keys.jwks()
    document["keys"] += [
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
        {**document["keys"][0], "kid": "enc", "use": "enc"},
    ]
    cache = JwksCache(jwks=document)
    assert cache.kids == {KID}
    with pytest.raises(ValueError):
        JwksCache(jwks={"not": "a jwks"})
    with pytest.raises(ValueError):
        JwksCache()


# --- API keys, scopes, roles -----------------------------------------------------------------------


def test_api_key_verifier() -> None:
    verifier_ = ApiKeyVerifier("Ocp-Apim-Subscription-Key", ["primary-key", "secondary-key"])
    assert verifier_.verify("primary-key") and verifier_.verify("secondary-key")
    assert not verifier_.verify("primary-keyX")
    assert not verifier_.verify("")
    assert not verifier_.verify(None)
    by_function = ApiKeyVerifier("X-Api-Key", lambda key: key.startswith("ok-"))
    assert by_function.verify("ok-1") and not by_function.verify("no")
    with pytest.raises(TypeError):
        ApiKeyVerifier("X-Api-Key", "one-key")


def test_scopes() -> None:
    assert token_scopes({"scope": "a b  c"}) == {"a", "b", "c"}
    assert token_scopes({"scp": ["x", "y"], "scope": "a"}) == {"a", "x", "y"}
    assert has_scopes({"scope": "bits:kontoinformasjon"}, ["bits:kontoinformasjon"])
    assert not has_scopes({"scope": "bits:kundeforhold"}, ["bits:kontoinformasjon"])
    assert not has_scopes({"scope": "bits:kontoinformasjon.oed"}, ["bits:kontoinformasjon"])
    assert has_scopes({}, [])


def test_roles() -> None:
    claims = {"realm_access": {"roles": ["a1f3_R", "b2c4_W"]}}
    assert claim_at(claims, "realm_access.roles") == ["a1f3_R", "b2c4_W"]
    assert claim_at(claims, "realm_access.missing") is None
    assert expand_roles(["{contractId}_W"], {"contractId": "a1f3"}) == ("a1f3_W",)
    with pytest.raises(ValueError, match="contractId"):
        expand_roles(["{contractId}_W"], {})
    read = ["{contractId}_R", "{contractId}_W"]
    assert has_any_role(
        claims, read, claim="realm_access.roles", path_params={"contractId": "a1f3"}
    )
    assert not has_any_role(
        claims, ["{contractId}_W"], claim="realm_access.roles", path_params={"contractId": "a1f3"}
    )
    assert has_any_role({"roles": "admin ops"}, ["ops"])


def test_concurrent_first_requests_share_one_fetch_and_all_succeed(keys: Keys) -> None:
    """A fresh server's first burst: every request waits for the one fetch under way."""
    hits: list[str] = []

    async def slow(request: httpx.Request) -> httpx.Response:
        hits.append(str(request.url))
        await asyncio.sleep(0.2)
        return httpx.Response(200, json=keys.jwks())

    async def go() -> list[Any]:
        client = httpx.AsyncClient(transport=httpx.MockTransport(slow))
        cache = JwksCache("https://issuer.test/jwks", client=client)
        v = JwtVerifier(cache, ISSUER, AUDIENCE)
        raw = token(keys)
        return await asyncio.gather(*(v.verify(raw) for _ in range(20)), return_exceptions=True)

    results = asyncio.run(go())
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert hits == ["https://issuer.test/jwks"]


def test_a_hanging_key_set_fetch_bounds_the_wait(keys: Keys) -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200, json=keys.jwks())

    async def go() -> float:
        client = httpx.AsyncClient(transport=httpx.MockTransport(hang))
        cache = JwksCache("https://issuer.test/jwks", client=client, timeout=0.2)
        started = time.monotonic()
        with pytest.raises(TokenError) as caught:
            await JwtVerifier(cache, ISSUER, AUDIENCE).verify(token(keys))
        assert caught.value.reason == "keys-unavailable"
        return time.monotonic() - started

    assert asyncio.run(go()) < 5
