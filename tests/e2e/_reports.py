"""Real certify reports with failures, warnings and both levels, for the report, replay and
matrix tests: the levels profile certified through the CLI (so the report records its manifest)
against providers on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from kontrakt.cli import app
from tests.e2e import levels_profile
from tests.e2e.levels_profile import LIMITED, TOKEN

MODULE = ["--rule-module", "tests.e2e.levels_profile"]
# Broken on purpose: the wrong-scope client is let in (LVL-ROLE fails, with the role's token in
# its evidence), items come unordered (LVL-ORDER rests on an assumption: warn, strict fail) and
# the 400 carries no code (LVL-REFUSE differs from the assumed catalogue).
BROKEN = {"accept_any_token": True, "order": [3, 1, 2], "code": None}


def write_manifest(path: Path, base_url: str) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "profile": str(levels_profile.SPEC),
                "base_url": base_url,
                "auth": {"type": "bearer", "token": TOKEN},
                "credentials": {"wrong_scope": {"type": "bearer", "token": LIMITED}},
            }
        ),
        encoding="utf-8",
    )
    return path


def certify(out: Path, base_url: str, *more: str) -> Path:
    """Certify the levels profile at `base_url` into `out`; returns the report.json."""
    out.mkdir(parents=True, exist_ok=True)
    manifest = write_manifest(out.parent / f"{out.name}-manifest.yaml", base_url)
    done = CliRunner().invoke(app, ["certify", str(manifest), "--out", str(out), *MODULE, *more])
    assert done.exit_code in (0, 1), done.output
    return out / "report.json"
