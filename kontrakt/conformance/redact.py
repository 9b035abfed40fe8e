"""Redaction of secrets and Norwegian national identity numbers from everything certify writes.

Evidence, curl lines, reports and log text all pass through one `Redactor` per run. It removes:

* values of credential headers (`Authorization`, API-key headers, cookies, anything named like a
  key, token, secret or credential) by header name;
* every secret it was told about (tokens, client secrets, API keys, assertions), also in their
  URL-encoded forms, wherever they appear;
* anything that looks like a JWT/JWS/JWE (`eyJ...` segments joined by dots), `Bearer ...` values,
  and `access_token=`/`"client_secret":`-style pairs in JSON, form and query text (in prose,
  `token: value` only when the value is not a plain word);
* national identity numbers: any digit run of 11 or more digits containing an 11-digit window that
  passes the two mod-11 check digits of a fødselsnummer or D-number, also when the digits
  are grouped by spaces, dashes or dots (`DDMMYY NNNNN`, `DDMMYY-NNNNN`, `DDMMYY.NNNNN`).

Redaction works inside values: it replaces the secret, the token or the identity number, never a
whole message or `expected` text because a name in it looks sensitive ("access_token: expected
a JWT" keeps every word).

Bank account numbers (also 11 digits, one different check digit) are left alone unless they
happen to pass the identity-number check too: evidence stays readable, identity numbers do not
leak.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus

__all__ = [
    "NIN_MASK",
    "SECRET_MASK",
    "Redactor",
    "is_national_id",
    "sensitive_header",
]

SECRET_MASK = "[REDACTED]"
NIN_MASK = "[REDACTED-NIN]"
_JWT_MASK = "[REDACTED-JWT]"

_SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "apikey",
        "ocp-apim-subscription-key",
        "x-amz-security-token",
    }
)
# Parts of a name that make it a credential wherever they appear in it ("X-Api-Token",
# "clientSecret") ...
_SENSITIVE_PARTS = (
    "token",
    "secret",
    "password",
    "passwd",
    "apikey",
    "api-key",
    "api_key",
    "signature",
    "credential",
    "authorization",
)
# ... and words that do only as whole words of the name: "X-Auth" and "subscription_key" are
# credentials, "author", "authority", "keyword" and "possession" are not.
_SENSITIVE_WORDS = frozenset({"key", "auth", "session", "cookie"})
_NAME_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")

# Three or five base64url segments starting with a JSON header ("eyJ" is base64 of '{"').
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){1,4}")
# A credential after the scheme word: long, and not a word of prose ("bearer token", "Bearer
# access_token"): it holds a digit or one of . ~ + / = -, or is a long run of letters.
_BEARER = re.compile(
    r"(?i)\b(bearer|basic)\s+(?=\S*[0-9.~+/=-]|[A-Za-z_]{24,})[A-Za-z0-9._~+/=-]{8,}"
)
_PAIR_NAMES = (
    r"(?:access_token|refresh_token|id_token|client_secret|assertion|password|"
    r"api[_-]?key|subscription[_-]?key|token)"
)
# Data: a JSON member (`"token": "..."`) or a form/query pair (`token=...`): always a value.
_PAIR = re.compile(rf"(?i)(\"{_PAIR_NAMES}\"\s*:\s*\"?|{_PAIR_NAMES}=)([^\"&\s,;}}]+)")
# Prose or YAML (`token: ...`, `password = ...`): a value only when it is not a plain word, so
# that "access_token: expected a JWT" keeps its words.
_PROSE_PAIR = re.compile(
    rf"(?i)({_PAIR_NAMES}\s*[:=]\s*\"?)(?![A-Za-z]+(?:[\s,.;:!?)\"']|$))([^\"&\s,;}}]+)"
)
# Digit groups joined by one space, dash or dot: `12858510048`, `128585 10048`,
# `128585-10048`, `128585.10048`, and runs around them.
_DIGITS = re.compile(r"\d+(?:[ \u00a0.\-]\d+)*")
_SEPARATORS = str.maketrans("", "", " \u00a0.-")

_W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_MIN_SECRET = 4


def _check_digit(digits: str, weights: tuple[int, ...]) -> int | None:
    remainder = sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11
    check = (11 - remainder) % 11
    return None if check == 10 else check


def is_national_id(value: str) -> bool:
    """Whether `value` is 11 digits whose two mod-11 check digits are those of an identity number.

    Covers fødselsnummer, D-numbers and synthetic test numbers alike: only the check digits are
    verified, not the date, so no real-looking number escapes because of an unusual date.
    """
    if len(value) != 11 or not value.isdigit():
        return False
    k1 = _check_digit(value[:9], _W1)
    if k1 is None or k1 != int(value[9]):
        return False
    k2 = _check_digit(value[:10], _W2)
    return k2 is not None and k2 == int(value[10])


def sensitive_header(name: str, extra: Iterable[str] = ()) -> bool:
    """Whether a header's (or a manifest field's) value is a credential that must never be
    shown: named like a key, token, secret or credential. Ordinary words that merely contain
    one ("author", "keyword") are not."""
    lowered = name.lower()
    if lowered in _SENSITIVE_HEADERS or lowered in {e.lower() for e in extra}:
        return True
    if any(part in lowered for part in _SENSITIVE_PARTS):
        return True
    words = {w.lower() for w in _NAME_WORDS.findall(name)}
    return any(
        w in _SENSITIVE_WORDS or (w[:-1] in _SENSITIVE_WORDS and w[-1] == "s") for w in words
    )


def _redact_digit_run(match: re.Match[str]) -> str:
    run = match.group(0)
    digits = run.translate(_SEPARATORS)
    for start in range(len(digits) - 10):
        if is_national_id(digits[start : start + 11]):
            return NIN_MASK
    return run


class Redactor:
    """Removes known secrets, token-shaped strings and identity numbers from text and headers."""

    def __init__(self, secrets: Iterable[str] = (), *, headers: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._headers: set[str] = {h.lower() for h in headers}
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Remember a secret value (and its URL-encoded forms); short values are ignored."""
        if not secret or len(secret) < _MIN_SECRET:
            return
        self._secrets.update({secret, quote(secret, safe=""), quote_plus(secret)})

    def add_header(self, name: str) -> None:
        """Treat the header `name` as a credential header (e.g. a manifest's API-key header)."""
        self._headers.add(name.lower())

    def is_sensitive_header(self, name: str) -> bool:
        return sensitive_header(name, self._headers)

    def text(self, value: str) -> str:
        """`value` with every secret and identity number replaced by a mask."""
        if not value:
            return value
        # Longest first, so a secret containing another one is removed whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in value:
                value = value.replace(secret, SECRET_MASK)
        value = _JWT.sub(_JWT_MASK, value)
        value = _BEARER.sub(lambda m: f"{m.group(1)} {SECRET_MASK}", value)
        value = _PAIR.sub(lambda m: m.group(1) + SECRET_MASK, value)
        value = _PROSE_PAIR.sub(lambda m: m.group(1) + SECRET_MASK, value)
        return _DIGITS.sub(_redact_digit_run, value)

    def header_value(self, name: str, value: str) -> str:
        if self.is_sensitive_header(name):
            scheme, _, rest = value.partition(" ")
            if name.lower() in ("authorization", "proxy-authorization") and rest:
                return f"{scheme} {SECRET_MASK}"
            return SECRET_MASK
        return self.text(value)

    def headers(self, headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[list[str]]:
        """Header pairs with credential values masked and the rest redacted as text."""
        items = headers.items() if isinstance(headers, Mapping) else headers
        return [[self.text(name), self.header_value(name, value)] for name, value in items]
