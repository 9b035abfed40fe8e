"""Curl lines a provider's engineer can run: each redacted secret is a `${KONTRAKT_...}` variable
that the shell expands, every other character stays literal, and the export lines name the
variables without ever holding a secret."""

from __future__ import annotations

import subprocess

from kontrakt.conformance.redact import Redactor
from kontrakt.conformance.reproduce import (
    TEST_TOKEN,
    curl_line,
    export_lines,
    variables_in,
)

SECRET = "s3cr3t-token-value-123"
API_KEY = "key-abcdef-987654"
CLIENT_SECRET = "client-secret-xyz-42"


def _argv(line: str, env: dict[str, str]) -> list[str]:
    """The words bash makes of `line` (with `env`), without running curl."""
    script = "set -- " + line.removeprefix("curl ") + '\nprintf "%s\\0" "$@"'
    done = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.split("\0")[:-1]


def _line(**kwargs: object) -> str:
    redactor = Redactor([SECRET, API_KEY, CLIENT_SECRET], headers=["X-Api-Key"])
    return curl_line(
        "POST",
        "https://provider.test/token?x=$HOME&y=`id`",
        [
            ("Authorization", f"Bearer {SECRET}"),
            ("X-Api-Key", API_KEY),
            ("X-Note", 'a "quoted" $value'),
        ],
        redactor.text(f"grant_type=client_credentials&client_secret={CLIENT_SECRET}"),
        redactor,
        **kwargs,  # type: ignore[arg-type]
    )


def test_every_secret_is_a_variable_the_shell_expands() -> None:
    line = _line()
    for secret in (SECRET, API_KEY, CLIENT_SECRET):
        assert secret not in line
    assert "[REDACTED]" not in line
    names = variables_in([line])
    assert names == ["KONTRAKT_TOKEN", "KONTRAKT_X_API_KEY", "KONTRAKT_CLIENT_SECRET"]
    argv = _argv(
        line,
        {
            "PATH": "/usr/bin:/bin",
            "KONTRAKT_TOKEN": "T1",
            "KONTRAKT_X_API_KEY": "K1",
            "KONTRAKT_CLIENT_SECRET": "C1",
        },
    )
    assert "Authorization: Bearer T1" in argv
    assert "X-Api-Key: K1" in argv
    assert "grant_type=client_credentials&client_secret=C1" in argv
    # Everything that is not one of our variables stays literal: no expansion, no command.
    assert "https://provider.test/token?x=$HOME&y=`id`" in argv
    assert 'X-Note: a "quoted" $value' in argv


def test_a_rules_own_bad_token_has_its_own_variable() -> None:
    line = _line(token_variable=TEST_TOKEN)
    assert '"Authorization: Bearer ${KONTRAKT_TEST_TOKEN}"' in line
    assert "KONTRAKT_TOKEN}" not in line


def test_export_lines_are_placeholders_never_secrets() -> None:
    lines = export_lines(variables_in([_line()]))
    assert [line.split("=", 1)[0] for line in lines] == [
        "export KONTRAKT_TOKEN",
        "export KONTRAKT_X_API_KEY",
        "export KONTRAKT_CLIENT_SECRET",
    ]
    assert all(line.split("=", 1)[1].startswith("...  # ") for line in lines)
    assert "x-api-key header" in lines[1]
    for secret in (SECRET, API_KEY, CLIENT_SECRET):
        assert not any(secret in line for line in lines)


def test_a_key_the_rule_chose_itself_is_not_the_manifests() -> None:
    line = _line(chosen_headers={"x-api-key"})
    assert '"X-Api-Key: ${KONTRAKT_TEST_X_API_KEY}"' in line
    assert '"Authorization: Bearer ${KONTRAKT_TOKEN}"' in line
    (described,) = export_lines(["KONTRAKT_TEST_X_API_KEY"])
    assert "sent on purpose in the x-api-key header" in described
