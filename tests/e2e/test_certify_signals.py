"""SIGTERM (CI cancellation, `timeout`, `docker stop`) ends a certify run like Ctrl-C does:
a partial report marked incomplete and exit status 1, never a missing report."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.e2e import levels_profile
from tests.e2e._support import serve

REPO = Path(__file__).resolve().parents[2]


def _slow_app() -> Starlette:
    async def items(request: Request) -> Response:
        await asyncio.sleep(1.0)
        return JSONResponse({"items": [{"id": 1, "name": "first"}]})

    return Starlette(routes=[Route("/items", items)])


def test_sigterm_writes_a_partial_report(tmp_path: Path) -> None:
    with serve(_slow_app()) as url:
        manifest = tmp_path / "provider.yaml"
        manifest.write_text(
            yaml.safe_dump(
                {
                    "profile": str(levels_profile.SPEC),
                    "base_url": url,
                    "auth": {"type": "bearer", "token": levels_profile.TOKEN},
                }
            )
        )
        out = tmp_path / "reports"
        command = [
            sys.executable,
            "-c",
            "from kontrakt.cli import main; main()",
            "certify",
            str(manifest),
            "--out",
            str(out),
            "--rule-module",
            "tests.e2e.levels_profile",
        ]
        process = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        time.sleep(2.5)  # the preflight and the first rule are under way
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 1, stdout + stderr
    assert "Traceback" not in stdout + stderr
    report = json.loads((out / "report.json").read_text())
    assert report["complete"] is False
    assert "SIGTERM" in report["stop_reason"]
    assert not (out / "certificate.json").exists()
