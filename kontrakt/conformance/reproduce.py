"""Curl lines that reproduce an exchange: every redacted secret becomes a `$KONTRAKT_...` variable.

A curl line with `Bearer [REDACTED]` in it cannot be run. Here each secret the redaction removes
is named by what it is (`$KONTRAKT_TOKEN` for the manifest's bearer token, `$KONTRAKT_X_API_KEY`
for an `X-Api-Key` header, `$KONTRAKT_CLIENT_SECRET` in a token request body, ...), the words
holding one are double-quoted so that the shell expands them, and `export_lines` gives the line
that sets each variable, a placeholder and what to put there (never the secret itself). National
identity numbers stay masked: they are test data the provider's engineer already has, not a
credential.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Collection, Iterable, Mapping

from kontrakt.conformance.redact import Redactor

__all__ = [
    "TEST_TOKEN",
    "TOKEN",
    "VARIABLES",
    "curl_line",
    "export_lines",
    "header_variable",
    "variables_in",
]

TOKEN = "KONTRAKT_TOKEN"
TEST_TOKEN = "KONTRAKT_TEST_TOKEN"

# What each well-known variable holds; a header-named one (KONTRAKT_X_API_KEY) is described
# from its header name.
VARIABLES: dict[str, str] = {
    TOKEN: "an access token from the manifest's auth (the token the run used)",
    TEST_TOKEN: "the deliberately bad token this rule sent (expired, wrong audience or scope, "
    "tampered); `kontrakt replay` mints a fresh one",
    "KONTRAKT_BASIC": "the base64 user:password of the manifest's basic auth",
    "KONTRAKT_AUTHORIZATION": "the Authorization value of the manifest's auth",
    "KONTRAKT_CLIENT_SECRET": "the client secret of the manifest's client_credentials auth",
    "KONTRAKT_ASSERTION": "a signed client assertion (JWT) for the token endpoint",
    "KONTRAKT_PASSWORD": "the password the manifest names",
    "KONTRAKT_API_KEY": "the API key of the manifest's api_key auth",
    "KONTRAKT_JWT": "a JWT the run sent (a token or assertion from the manifest's auth)",
    "KONTRAKT_SECRET": "a secret from the manifest (a token, key or client secret)",
}

_PAIR_VARIABLES = {
    "access_token": TOKEN,
    "refresh_token": "KONTRAKT_REFRESH_TOKEN",
    "id_token": "KONTRAKT_ID_TOKEN",
    "token": TOKEN,
    "client_secret": "KONTRAKT_CLIENT_SECRET",
    "assertion": "KONTRAKT_ASSERTION",
    "client_assertion": "KONTRAKT_ASSERTION",
    "password": "KONTRAKT_PASSWORD",
    "api_key": "KONTRAKT_API_KEY",
    "apikey": "KONTRAKT_API_KEY",
    "api-key": "KONTRAKT_API_KEY",
    "subscription_key": "KONTRAKT_API_KEY",
    "subscription-key": "KONTRAKT_API_KEY",
}
# A masked pair (`client_secret=[REDACTED]`, `"access_token": "[REDACTED]"`), as redaction
# leaves it.
_MASKED_PAIR = re.compile(r"(?i)([\w-]+)(\"?\s*[:=]\s*\"?)\[REDACTED(?:-JWT)?\]")
_MASK = re.compile(r"\[REDACTED(-JWT)?\]")
# The shell form of a variable inside a double-quoted word; also how `variables_in` finds them.
_REFERENCE = re.compile(r"\$\{(KONTRAKT_[A-Z0-9_]+)\}")
# Stands for a variable while the word is built; cannot occur in redacted text.
_MARK = "\x00"


def _mark(name: str) -> str:
    return f"{_MARK}{name}{_MARK}"


def _variable_text(text: str) -> str:
    """Redacted text with each mask replaced by a variable mark."""

    def pair(match: re.Match[str]) -> str:
        name = _PAIR_VARIABLES.get(match.group(1).lower().replace('"', ""))
        if name is None:
            return match.group(0)
        return match.group(1) + match.group(2) + _mark(name)

    text = _MASKED_PAIR.sub(pair, text)
    return _MASK.sub(lambda m: _mark("KONTRAKT_JWT" if m.group(1) else "KONTRAKT_SECRET"), text)


def header_variable(name: str, *, chosen: bool = False) -> str:
    """The variable for a credential header's value: `KONTRAKT_X_API_KEY`, or with `chosen`
    (a value the rule sent on purpose) `KONTRAKT_TEST_X_API_KEY`."""
    stem = re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")
    return ("KONTRAKT_TEST_" if chosen else "KONTRAKT_") + stem


def _header_variable(name: str, value: str, token_variable: str, chosen: bool) -> str:
    """The header's value with its credential as a variable mark (`Bearer <mark>`)."""
    lowered = name.lower()
    if lowered in ("authorization", "proxy-authorization") and chosen:
        token_variable = TEST_TOKEN
    if lowered in ("authorization", "proxy-authorization"):
        scheme, _, rest = value.partition(" ")
        if not rest:
            return _mark("KONTRAKT_AUTHORIZATION")
        if scheme.lower() == "bearer":
            return f"{scheme} {_mark(token_variable)}"
        if scheme.lower() == "basic":
            return f"{scheme} {_mark('KONTRAKT_BASIC')}"
        return f"{scheme} {_mark('KONTRAKT_AUTHORIZATION')}"
    return _mark(header_variable(name, chosen=chosen))


def _word(value: str) -> str:
    """`value` as one shell word: single-quoted, or double-quoted around variable marks."""
    if _MARK not in value:
        return shlex.quote(value)
    pieces = value.split(_MARK)
    out = []
    for index, piece in enumerate(pieces):
        if index % 2:
            out.append("${" + piece + "}")
        else:
            out.append(re.sub(r'([\\"$`])', r"\\\1", piece))
    return '"' + "".join(out) + '"'


def curl_line(
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    body: str | None,
    redactor: Redactor,
    *,
    token_variable: str = TOKEN,
    chosen_headers: Collection[str] = (),
) -> str:
    """A curl command for one request: secrets as `${KONTRAKT_...}`, everything else redacted.

    `url` and header values are raw (they pass through `redactor` here), `body` is the redacted
    excerpt the evidence shows; `token_variable` names the
    bearer token (`TEST_TOKEN` when a rule sent a bad token of its own); `chosen_headers`
    (lower-case names) are credential headers whose value the rule chose itself (an unknown or
    revoked key), named `KONTRAKT_TEST_<HEADER>`.
    """
    parts = ["curl", "-sS", "-i", "-X", method, _variable_text(redactor.text(url))]
    for name, value in headers:
        if redactor.is_sensitive_header(name):
            chosen = name.lower() in chosen_headers
            shown = _header_variable(name, value, token_variable, chosen)
        else:
            shown = _variable_text(redactor.text(value))
        parts += ["-H", f"{name}: {shown}"]
    if body:
        parts += ["--data-binary", _variable_text(body)]
    return " ".join(_word(p) for p in parts)


def variables_in(lines: Iterable[str]) -> list[str]:
    """The `KONTRAKT_*` variables the curl lines use, in order of first use."""
    found: dict[str, None] = {}
    for line in lines:
        for match in _REFERENCE.finditer(line):
            found.setdefault(match.group(1), None)
    return list(found)


def export_lines(names: Iterable[str], described: Mapping[str, str] = VARIABLES) -> list[str]:
    """One `export NAME=...  # what it holds` line per variable: placeholders, never secrets."""
    lines = []
    for name in names:
        meaning = described.get(name)
        if meaning is None and name.startswith("KONTRAKT_TEST_"):
            header = name.removeprefix("KONTRAKT_TEST_").replace("_", "-").lower()
            meaning = (
                f"the value this rule sent on purpose in the {header} header (an unknown, "
                "revoked or otherwise wrong one: the rule's message says which)"
            )
        elif meaning is None:
            header = name.removeprefix("KONTRAKT_").replace("_", "-").lower()
            meaning = f"the value of the {header} header from the manifest"
        lines.append(f"export {name}=...  # {meaning}")
    return lines
