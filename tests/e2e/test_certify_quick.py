"""A quick run without a manifest file: --profile, --base-url, --bearer and --fixture flags.

DSOP rules need to know whose view they test (the `service` and its test data), so a quick run
names those fixtures on the command line; without them the rules cannot be judged (error), with
them the DSOP sandbox passes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from kontrakt.cli import app
from kontrakt.sandbox.launch import Sandbox

FIXTURES = [
    "service=Skatt-Kontroll",
    "requester_id=kontrakt-quick-1",
    "party_with_accounts=12858510048",
    "party_without_accounts=03889010281",
    "account_reference=2b9ccb6c-3d5d-4eef-9814-ddae9c5fafcd",
]


@pytest.fixture(scope="module")
def bank() -> Iterator[tuple[str, str]]:
    with Sandbox.start(["dsop-control"]) as sandbox:
        form = {
            "grant_type": "client_credentials",
            "client_id": "skatt-kontroll-test",
            "client_secret": "sandbox-skatt-secret",
            "scope": "bits:kontoinformasjon",
            "resource": "dsop-control",
        }
        token = httpx.post(sandbox.token_url, data=form, timeout=10).json()["access_token"]
        yield sandbox.url("dsop-control"), token


def certify(url: str, token: str, out: Path, *extra: str) -> tuple[int, dict[str, str]]:
    args = ["certify", "--profile", "dsop-control/v2.0", "--base-url", url, "--bearer", token]
    # Not 403: the wrong-scope rule needs a second credential, which only a manifest can name.
    args += ["--out", str(out), "--rules", "DSOP-ACC-40[0-25-9]*", *extra]
    result = CliRunner().invoke(app, args)
    report = json.loads((out / "report.json").read_text())
    return result.exit_code, {r["id"]: r["verdict"] for r in report["rules"]}


def test_quick_run_with_fixture_flags_passes(bank: tuple[str, str], tmp_path: Path) -> None:
    flags = [item for fixture in FIXTURES for item in ("--fixture", fixture)]
    code, verdicts = certify(*bank, tmp_path, *flags)
    assert code == 0, verdicts
    assert verdicts["DSOP-ACC-405"] == "pass"
    assert verdicts["DSOP-ACC-400-MISSING-HEADER"] == "pass"
    assert "fail" not in verdicts.values() and "error" not in verdicts.values()


def test_quick_run_without_fixtures_cannot_judge(bank: tuple[str, str], tmp_path: Path) -> None:
    code, verdicts = certify(*bank, tmp_path)
    assert code == 1
    assert verdicts["DSOP-ACC-405"] == "error"


def test_a_fixture_flag_needs_a_name(bank: tuple[str, str]) -> None:
    url, token = bank
    args = ["certify", "--profile", "dsop-control/v2.0", "--base-url", url, "--bearer", token]
    result = CliRunner().invoke(app, [*args, "--fixture", "=x"])
    assert result.exit_code == 2
