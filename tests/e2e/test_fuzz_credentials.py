"""Tier 2 sends the manifest's credentials, never the security headers schemathesis generates.

With seed 7 schemathesis fills `Authorization: Bearer ` (empty) from the security schemes; sent
as is, it replaced the real token and the DSOP sandbox was judged on a request no client sends.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kontrakt.conformance.manifest import load_manifest
from kontrakt.conformance.profile import load_profile
from kontrakt.conformance.runner import run_profile
from kontrakt.sandbox.launch import Sandbox
from kontrakt.selfcert import sandbox_environment

MANIFEST = (
    Path(__file__).resolve().parents[2] / "kontrakt/conformance/manifests/sandbox-dsop-control.yaml"
)


def test_generated_security_headers_never_replace_the_manifests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(MANIFEST.parents[3])  # key files are found from the manifest, not the cwd
    with Sandbox.start(["dsop-control"]) as sandbox:
        manifest = load_manifest(MANIFEST, env=sandbox_environment(sandbox))
        profile = load_profile(manifest.profile, patterns=["DSOP-SCHEMA-200"])
        result = run_profile(profile, manifest, seed=7)
    [verdict] = [r for r in result.results if r.id == "DSOP-SCHEMA-200"]
    assert verdict.verdict == "pass", verdict.message
