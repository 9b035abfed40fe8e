"""The DPS v1 profile (`conformance/rules/dps_v1.py`) proven on the sandbox and its bad variants.

The sandbox passes every automated MUST rule (and the SHOULD/MAY ones) with the committed manifest,
in write mode and in read-only mode; for every automated rule a known-bad variant
(`tests/e2e/dps_v1_bad_variants.py`) makes exactly that rule fail or warn while its control rules
still pass. Each variant runs on a fresh sandbox (pipeline steps of 80 ms, webhook retries after
50 ms) with only its rules selected. `docs/dps-rule-proofs.md` is generated from these tables.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

import sandbox.dps.webhooks as webhooks_module
from conformance.manifest import Manifest, load_manifest
from conformance.profile import load_profile
from conformance.rules.dps_v1 import rules
from conformance.runner import RuleResult, run_profile
from kontrakt.selfcert import sandbox_environment
from sandbox.launch import Sandbox
from tests.e2e.dps_v1_bad_variants import VARIANTS, Outgoing, Rewrite, Variant

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "conformance" / "manifests" / "sandbox-dps.yaml"
PROOFS = REPO / "docs" / "dps-rule-proofs.md"
OPTIONS = {"step_delay": 0.08, "webhook_retry_delay": 0.05, "webhook_max_attempts": 3}
FAST = {
    "poll_interval_seconds": 0.02,
    "poll_timeout_seconds": 10,
    "webhook_wait_seconds": 3,
    "webhook_retry_wait_seconds": 3,
}
# Rules the sandbox cannot pass in read-only mode because they need a write (by design).
WRITE_ONLY = {r for r in rules.functions if r.startswith(("DPS-WH-", "DPS-STATE-"))}


@contextmanager
def running(variant: Variant | None = None) -> Iterator[Sandbox]:
    """A fresh DPS sandbox on free ports, its app wrapped in the variant's middleware."""
    sandbox = Sandbox.build(["dps"], options={"dps": OPTIONS})
    if variant is not None and variant.edit is not None:
        sandbox.apps["dps"] = Rewrite(sandbox.apps["dps"], variant.edit)
    thread = threading.Thread(target=asyncio.run, args=(sandbox.serve(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not sandbox.started:
        assert thread.is_alive() and time.monotonic() < deadline, "sandbox did not start"
        time.sleep(0.01)
    try:
        yield sandbox
    finally:
        sandbox.stop()
        thread.join(timeout=15)
        for sock in sandbox.sockets.values():
            sock.close()


def manifest_for(sandbox: Sandbox, **limits: Any) -> Manifest:
    manifest = load_manifest(MANIFEST, env=sandbox_environment(sandbox))
    update: dict[str, Any] = {"fixtures": {**manifest.fixtures, **FAST}}
    if limits:
        update["limits"] = manifest.limits.model_copy(update=limits)
    return manifest.model_copy(update=update)


def certify(manifest: Manifest, patterns: list[str] | None = None) -> dict[str, RuleResult]:
    profile = load_profile(manifest.profile, patterns=patterns)
    result = run_profile(profile, manifest, progress=False)
    return {r.info.id: r for r in result.results}


def explain(results: dict[str, RuleResult], ids: set[str] | None = None) -> str:
    return "\n".join(
        f"{i}: {r.verdict} {r.message}"
        for i, r in results.items()
        if (ids is None or i in ids) and r.verdict != "pass"
    )


@contextmanager
def outgoing(monkeypatch: pytest.MonkeyPatch, mangle: Any) -> Iterator[None]:
    """Route the sandbox's webhook deliveries through `mangle` (a sender-side defect)."""
    out = Outgoing(mangle, sign=webhooks_module.sign)
    original_sign = webhooks_module.sign

    def recording_sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
        out.secrets.append(secret)
        return original_sign(secret, webhook_id, timestamp, body)

    class Client(httpx.AsyncClient):
        async def post(self, url: Any, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
            changed = out.mangle(dict(kwargs["headers"]), kwargs["content"], out)
            if changed is None:
                return httpx.Response(204)
            headers, content = changed
            return await super().post(url, headers=headers, content=content)

    monkeypatch.setattr(webhooks_module, "sign", recording_sign)
    monkeypatch.setattr(
        webhooks_module, "httpx", SimpleNamespace(AsyncClient=Client, HTTPError=httpx.HTTPError)
    )
    yield


# --- the sandbox passes --------------------------------------------------------------------------------


def test_the_sandbox_passes_every_automated_rule() -> None:
    with running() as sandbox:
        results = certify(manifest_for(sandbox))
    assert set(results) == set(rules.functions)
    failing = {i for i, r in results.items() if r.verdict != "pass"}
    assert not failing, explain(results)


def test_read_only_mode_reads_fixtures_only_and_passes() -> None:
    with running() as sandbox:
        manifest = manifest_for(sandbox, read_only=True)
        results = certify(manifest)
    bad = {i for i, r in results.items() if r.verdict in ("fail", "error", "warn")}
    assert not bad, explain(results, bad)
    passed = {i for i, r in results.items() if r.verdict == "pass"}
    # The reads of the fixtures are judged; every rule needing a write is not applicable.
    assert {
        "DPS-AUTH-401",
        "DPS-AUTH-READ-ROLE",
        "DPS-AUTH-OTHER-CONTRACT-403",
        "DPS-AUTH-READ-ONLY-CLIENT",
        "DPS-STATUS-GET-200",
        "DPS-STATUS-GET-FILE-200",
        "DPS-NOT-FOUND-SUBMISSION-404",
        "DPS-LIFECYCLE-TERMINAL",
        "DPS-LIST-PAGE-ENVELOPE",
        "DPS-ERROR-ENVELOPE",
    } <= passed
    for rule_id in WRITE_ONLY | {"DPS-STATUS-CREATE-201", "DPS-BODY-400"}:
        assert results[rule_id].verdict == "not-applicable", rule_id
    for result in results.values():
        for exchange in result.evidence:
            assert exchange.method in ("GET", "HEAD", "OPTIONS", "PATCH"), exchange.url


# --- every rule fails on a bad variant -----------------------------------------------------------------


def test_every_automated_rule_has_a_failing_variant() -> None:
    killed = {rule_id for v in VARIANTS for rule_id in v.kills}
    assert set(rules.functions) <= killed, sorted(set(rules.functions) - killed)
    assert killed <= set(rules.functions)
    assert len({v.name for v in VARIANTS}) == len(VARIANTS)


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_the_variant_fails_its_rules(variant: Variant, monkeypatch: pytest.MonkeyPatch) -> None:
    with contextmanager_or_null(variant, monkeypatch), running(variant) as sandbox:
        results = certify(manifest_for(sandbox), [*variant.kills, *variant.controls])
    for rule_id in variant.kills:
        assert results[rule_id].verdict in ("fail", "warn"), explain(results)
    for rule_id in variant.controls:
        assert results[rule_id].verdict == "pass", explain(results)


@contextmanager
def contextmanager_or_null(variant: Variant, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    if variant.outgoing is None:
        yield
        return
    with outgoing(monkeypatch, variant.outgoing):
        yield


# --- the proof table ----------------------------------------------------------------------------------


def proof_table() -> str:
    """docs/dps-rule-proofs.md: rule id -> passing test, failing variants."""
    lines = [
        "# DPS v1 rule proofs",
        "",
        "Generated from `tests/e2e/test_dps_v1_rules.py` and `tests/e2e/dps_v1_bad_variants.py`",
        "(`test_the_proof_table_is_up_to_date` checks it; rewrite with",
        "`KONTRAKT_WRITE_PROOFS=1 .venv/bin/pytest tests/e2e/test_dps_v1_rules.py -k proof`).",
        "Every automated rule passes on the sandbox in",
        "`test_the_sandbox_passes_every_automated_rule` and fails (or warns, SHOULD/MAY) on each",
        "variant listed, in `test_the_variant_fails_its_rules[<variant>]`.",
        "",
        "| rule | severity | failing variants |",
        "|---|---|---|",
    ]
    catalogue = rules.spec.rules
    for rule_id in catalogue:
        if rule_id not in rules.functions:
            continue
        names = [f"`{v.name}` ({v.description})" for v in VARIANTS if rule_id in v.kills]
        lines.append(f"| {rule_id} | {catalogue[rule_id].severity} | {'<br>'.join(names)} |")
    missing = [i for i in catalogue if i not in rules.functions]
    lines += ["", f"Not automated ({len(missing)}): " + ", ".join(missing) + ".", ""]
    return "\n".join(lines)


def test_the_proof_table_is_up_to_date() -> None:
    import os

    text = proof_table()
    if os.environ.get("KONTRAKT_WRITE_PROOFS"):
        PROOFS.write_text(text, encoding="utf-8")
    assert PROOFS.read_text(encoding="utf-8") == text
