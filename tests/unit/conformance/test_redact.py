"""Redaction: no secret, token or valid national identity number survives, whatever surrounds it."""

from __future__ import annotations

import random
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from kontrakt.conformance.redact import NIN_MASK, Redactor, is_national_id, sensitive_header
from tests.unit.conformance._nin import complete, synthetic_nin

SECRETS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=8, max_size=40)
FILLER = st.text(max_size=60)


def _nins() -> st.SearchStrategy[str]:
    return st.integers(0, 2**32).map(lambda n: synthetic_nin(random.Random(n)))


def _no_nin_left(text: str) -> bool:
    for run in re.findall(r"\d{11,}", text):
        if any(is_national_id(run[i : i + 11]) for i in range(len(run) - 10)):
            return False
    return True


@settings(max_examples=300, deadline=None)
@given(before=FILLER, after=FILLER, secret=SECRETS, nin=_nins(), spaced=st.booleans())
def test_no_secret_or_identity_number_survives(
    before: str, after: str, secret: str, nin: str, spaced: bool
) -> None:
    shown = f"{nin[:6]} {nin[6:]}" if spaced else nin
    text = f"{before}{secret}{after} id={shown}{before}"
    out = Redactor([secret]).text(text)
    assert secret not in out
    assert _no_nin_left(out)
    assert nin not in out.replace(" ", "")


def test_the_check_digits_are_those_of_an_identity_number() -> None:
    rng = random.Random(7)
    for _ in range(50):
        number = synthetic_nin(rng)
        assert is_national_id(number)
        broken = number[:10] + str((int(number[10]) + 1) % 10)
        assert not is_national_id(broken)
    # A bank account number with its own (different) mod-11 digit stays readable.
    assert Redactor().text("account 12345678903") == "account 12345678903"
    assert complete("000000000") == "00000000000"  # the helper computes, not guesses


def test_tokens_headers_and_pairs_are_masked() -> None:
    jwt_like = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    redactor = Redactor(headers=["X-Gateway-Key"])
    assert jwt_like not in redactor.text(f"token {jwt_like} seen")
    assert redactor.header_value("Authorization", "Bearer abc.def") == "Bearer [REDACTED]"
    assert redactor.header_value("X-Gateway-Key", "k3y") == "[REDACTED]"
    text = redactor.text('{"access_token": "opaque-value-123", "client_secret=s3cr3t&x=1"}')
    assert "opaque-value-123" not in text and "s3cr3t" not in text
    assert redactor.text("Bearer 0123456789abcdef") == "Bearer [REDACTED]"
    # Prose about bearer tokens is left alone.
    assert redactor.text("without an Authorization bearer token") == (
        "without an Authorization bearer token"
    )


def test_url_encoded_secrets_are_masked() -> None:
    redactor = Redactor(["p@ss w/rd+secret"])
    assert "p%40ss" not in redactor.text("client_id=x&pw=p%40ss%20w%2Frd%2Bsecret")
    assert NIN_MASK in redactor.text(synthetic_nin(random.Random(1)))


def test_messages_keep_their_words() -> None:
    """Redaction removes the secret inside a value, never the words of a message or its
    `expected` text because a name in it looks sensitive (issue 14)."""
    redactor = Redactor(["opaque-secret-42"])
    for prose in (
        "access_token: expected a JWT, got none",
        "the answer's token: expected in the body",
        "api_key = expected header; password: must be 12 characters",
        'the field token: "expected" was missing',
        "without an Authorization header: Bearer access_token expected",
    ):
        assert redactor.text(prose) == prose
    # The values themselves still go, in data and in prose.
    assert redactor.text('{"token": "expected"}') == '{"token": "[REDACTED]"}'
    assert redactor.text("token=expected&x=1") == "token=[REDACTED]&x=1"
    assert redactor.text("token: abc123def, expected none") == "token: [REDACTED], expected none"
    assert (
        redactor.text("expected opaque-secret-42 to be refused")
        == "expected [REDACTED] to be refused"
    )
    nin = synthetic_nin(random.Random(3))
    assert redactor.text(f"expected party {nin} to be refused") == (
        f"expected party {NIN_MASK} to be refused"
    )


def test_ordinary_names_are_not_credentials() -> None:
    for name in ("author", "authority", "keyword", "possession", "monkey_count"):
        assert not sensitive_header(name), name
    for name in (
        "Authorization",
        "X-Auth",
        "X-Authorization-Context",
        "subscription_key",
        "apiKey",
        "client_secret",
        "session_id",
        "Set-Cookie",
        "keys",
    ):
        assert sensitive_header(name), name
    # A manifest fixture named like an ordinary word is not a secret to mask everywhere.
    from kontrakt.conformance.manifest import Manifest

    manifest = Manifest.model_validate(
        {
            "profile": "tiny/v1",
            "base_url": "http://127.0.0.1:1",
            "fixtures": {"authority": "Skatteetaten", "revoked_key": "sdir-revoked-key"},
        }
    )
    assert manifest.secrets() == ["sdir-revoked-key"]
    redactor = Redactor(manifest.secrets())
    assert redactor.text("expected Skatteetaten as the authority") == (
        "expected Skatteetaten as the authority"
    )
