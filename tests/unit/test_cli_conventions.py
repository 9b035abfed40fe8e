"""The command line's conventions: readable `--help`, no colour on request, CI-friendly certify.

`--help` of every command shows no `<bool>` for a flag and ends with examples; `NO_COLOR` and
`--no-color` leave no ANSI escape in help or certify output (FORCE_COLOR proves there would be
some); without a terminal, certify prints one line per rule as the rule ends (a slow rule shows the
earlier ones already out while the run goes on) and never wraps a long `curl` line.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from starlette.types import ASGIApp, Receive, Scope, Send
from typer.testing import CliRunner

from kontrakt.cli import EXAMPLES, app
from tests.e2e import levels_profile
from tests.e2e._support import serve
from tests.e2e.levels_profile import LIMITED, TOKEN, Behaviour, levels_app

REPO = Path(__file__).resolve().parents[2]
KONTRAKT = Path(sys.executable).parent / "kontrakt"
ESC = "\x1b["
RULE_LINE = re.compile(
    r"^(LVL-[A-Z]+) +(pass|fail|warn|error|not-applicable|waived) +(\d+\.\d\d)s$"
)
LONG = "x" * 150  # a header value that makes every curl line far wider than 80 columns
RULES = ["LVL-REFUSE", "LVL-ORDER", "LVL-NAMES", "LVL-FIXTURE", "LVL-ROLE", "LVL-SNAPSHOT"]
SLOW = 1.0  # seconds the provider holds the wrong-scope request (rule LVL-ROLE)


def _commands() -> list[str]:
    return [
        info.name or info.callback.__name__ for info in app.registered_commands if info.callback
    ]


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    return subprocess.run(
        [str(KONTRAKT), *args],
        capture_output=True,
        text=True,
        env={**clean, "PYTHONPATH": str(REPO), **env},
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("command", _commands())
def test_help_shows_types_not_bool_and_ends_with_examples(command: str) -> None:
    shown = CliRunner().invoke(app, [command, "--help"], terminal_width=100)
    assert shown.exit_code == 0, shown.output
    assert "<bool>" not in shown.output
    options = shown.output.split("Options")[-1]
    assert "<list[" not in options  # a repeatable option shows its item type: <str>...
    assert "Example" in options, f"{command} --help has no example"


def test_help_of_the_app_and_certify_name_types_and_defaults() -> None:
    top = CliRunner().invoke(app, ["--help"], terminal_width=100).output
    assert "--no-color" in top and "--version" in top and "<bool>" not in top
    certify = CliRunner().invoke(app, ["certify", "--help"], terminal_width=120).output
    assert re.search(r"--seed +<int>", certify) and "[default: reports]" in certify
    assert re.search(r"--header +-H +<str>\.\.\.", certify)
    assert re.search(r"--quiet +-q ", certify)
    assert set(EXAMPLES) <= set(_commands())  # no example for a command that is gone
    version = CliRunner().invoke(app, ["--version"])
    assert version.exit_code == 0 and version.output.startswith("kontrakt ")


def test_no_color_and_NO_COLOR_leave_no_escape_in_help() -> None:
    assert ESC not in _run("certify", "--help", FORCE_COLOR="1", NO_COLOR="1").stdout
    assert ESC not in _run("--no-color", "certify", "--help", FORCE_COLOR="1").stdout
    assert ESC not in _run("--help", "--no-color", FORCE_COLOR="1").stdout
    assert ESC in _run("--help", FORCE_COLOR="1", NO_COLOR="").stdout  # forced, "" is not set


def _slow_wrong_scope(inner: ASGIApp) -> ASGIApp:
    """The levels provider, holding the wrong-scope request (the 5th rule) for SLOW seconds."""
    limited = f"Bearer {LIMITED}".encode()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (b"authorization", limited) in scope["headers"]:
            await asyncio.sleep(SLOW)
        await inner(scope, receive, send)

    return app


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    # accept_any_token: LVL-ROLE fails, so the summary prints its curl line.
    with serve(_slow_wrong_scope(levels_app(Behaviour(accept_any_token=True)))) as url:
        path = tmp_path_factory.mktemp("conventions") / "provider.yaml"
        data = {
            "profile": str(levels_profile.SPEC),
            "base_url": url,
            "auth": {"type": "bearer", "token": TOKEN},
            "credentials": {"wrong_scope": {"type": "bearer", "token": LIMITED}},
            "headers": {"X-Trace": LONG},
        }
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        yield path


def _certify(manifest: Path, *options: str, app_options: tuple[str, ...] = ()) -> list[str]:
    return [
        *app_options,
        "certify",
        str(manifest),
        "--rule-module",
        "tests.e2e.levels_profile",
        "--out",
        str(manifest.parent / "reports"),
        *options,
    ]


def test_certify_without_a_terminal_prints_a_line_per_rule_as_it_ends(manifest: Path) -> None:
    # Without PYTHONUNBUFFERED, as in most CI: stdout to a pipe is block-buffered unless flushed.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env.update(PYTHONPATH=str(REPO), FORCE_COLOR="1", NO_COLOR="1")
    process = subprocess.Popen(
        [str(KONTRAKT), *_certify(manifest)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=manifest.parent,
    )
    assert process.stdout is not None
    early: list[str] = []
    try:
        for line in process.stdout:
            early.append(line.rstrip("\n"))
            if line.startswith("LVL-NAMES"):
                arrived = time.monotonic()
                break
        # The rest through the same reader: communicate() would read the pipe underneath it and
        # lose what the reader has already buffered.
        rest = process.stdout.read()
        ended = time.monotonic()
        assert process.stderr is not None
        errors = process.stderr.read()
        process.wait(timeout=60)
    finally:
        process.kill()
    # LVL-ROLE is held SLOW seconds after LVL-NAMES ends: its line came out before that wait.
    assert ended - arrived > SLOW / 2, "rule lines arrived only when the run ended"
    lines = early + rest.splitlines()
    assert process.returncode == 1, errors  # LVL-ROLE fails
    ruled = [m.groups() for m in map(RULE_LINE.match, lines) if m]
    assert [rule for rule, _, _ in ruled] == RULES
    verdicts = {rule: (verdict, float(seconds)) for rule, verdict, seconds in ruled}
    assert verdicts["LVL-REFUSE"][0] == "pass" and verdicts["LVL-ROLE"][0] == "fail"
    assert verdicts["LVL-ROLE"][1] >= SLOW  # the seconds are the rule's own
    curl = [line for line in lines if line.lstrip().startswith("curl ")]
    assert curl and all(LONG in line for line in curl), "a curl line was wrapped"
    assert any(line.startswith("profile levels/v1: FAILED") for line in lines)
    assert ESC not in rest + errors + "".join(early)


def test_certify_quiet_keeps_only_the_summary(manifest: Path) -> None:
    done = _run(*_certify(manifest, "--quiet", app_options=("--no-color",)), FORCE_COLOR="1")
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert not [line for line in lines if RULE_LINE.match(line)]
    assert any(line.startswith("profile levels/v1: FAILED") for line in lines)
    assert "FAIL LVL-ROLE" in done.stdout
    assert ESC not in done.stdout + done.stderr


def test_the_readme_of_a_generated_folder_names_the_users_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kontrakt.generator.pipeline import generate

    monkeypatch.chdir(tmp_path)
    document = tmp_path / "contracts" / "my-api.yaml"
    document.parent.mkdir()
    document.write_bytes((REPO / "tests/golden/specs/petstore-expanded.yaml").read_bytes())
    assert generate([Path("contracts/my-api.yaml")], Path("src/gen"), jobs=1).written
    readme = (tmp_path / "src/gen/README.md").read_text(encoding="utf-8")
    assert "kontrakt generate contracts/my-api.yaml --out src/gen" in readme
    assert re.search(r"^\| `\w+` \| `contracts/my-api\.yaml` \|$", readme, re.MULTILINE)
    assert "`pip install kontrakt`" in readme
    assert "specs/" not in readme and "make " not in readme
    init = (tmp_path / "src/gen/__init__.py").read_text(encoding="utf-8")
    assert "specs/" not in init and "make " not in init
