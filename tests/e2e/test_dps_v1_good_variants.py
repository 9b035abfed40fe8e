"""The DPS v1 profile passes providers that choose differently where NB's text allows it.

Each known-good variant (`tests/e2e/dps_v1_good_variants.py`) runs on a fresh sandbox with the
rules it touches: at the default level none of them fails or is an error and the run passes; at
`level: strict` exactly its `strict_fails` fail (the rules resting on the assumption it departs
from). One provider making every compatible choice at once passes the whole profile.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import pytest

from kontrakt.conformance.profile import load_profile
from kontrakt.conformance.rules.dps_v1 import rules
from kontrakt.conformance.runner import RunResult, run_profile
from kontrakt.sandbox.launch import Sandbox
from tests.e2e.dps_v1_bad_variants import Rewrite
from tests.e2e.dps_v1_good_variants import (
    GOOD_VARIANTS,
    AliasUploads,
    GoodVariant,
    all_at_once,
    audience_blind,
    compose,
    mangle_for,
)
from tests.e2e.test_dps_v1_rules import OPTIONS, manifest_for, outgoing


@contextmanager
def running(variant: GoodVariant) -> Iterator[Sandbox]:
    """A fresh DPS sandbox with the variant's answers, upload URLs and webhooks."""
    sandbox = Sandbox.build(["dps"], options={"dps": OPTIONS})
    app = sandbox.apps["dps"]
    edits = list(variant.edits)
    alias = AliasUploads() if variant.alias_urls else None
    if alias is not None:
        edits.append(alias.edit)
    if edits:
        app = Rewrite(app, compose(*edits))
    if alias is not None:
        app = alias.wrap(app)
    if variant.audience_blind:
        app = audience_blind(app)
    sandbox.apps["dps"] = app
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


def certify(
    variant: GoodVariant, monkeypatch: pytest.MonkeyPatch, patterns: list[str] | None
) -> RunResult:
    hooks = outgoing(monkeypatch, mangle_for(variant)) if variant.outgoing else nullcontext()
    with hooks, running(variant) as sandbox:
        manifest = manifest_for(sandbox)
        return run_profile(
            load_profile(manifest.profile, patterns=patterns), manifest, progress=False
        )


def explain(result: RunResult, level: str) -> str:
    return "\n".join(
        f"{r.id}: {r.verdicts.get(level)} {r.message} {r.notes}"
        for r in result.results
        if r.verdicts.get(level) != "pass"
    )


def test_the_variants_are_well_formed() -> None:
    assert len(GOOD_VARIANTS) >= 10
    assert len({v.name for v in GOOD_VARIANTS}) == len(GOOD_VARIANTS)
    for variant in GOOD_VARIANTS:
        assert set(variant.touches) <= set(rules.functions), variant.name
        assert set(variant.strict_fails) <= set(variant.touches), variant.name


@pytest.mark.parametrize("variant", GOOD_VARIANTS, ids=[v.name for v in GOOD_VARIANTS])
def test_the_good_variant_passes(variant: GoodVariant, monkeypatch: pytest.MonkeyPatch) -> None:
    result = certify(variant, monkeypatch, list(variant.touches))
    default = {r.id: r.verdicts["default"] for r in result.results}
    strict = {r.id: r.verdicts["strict"] for r in result.results}
    assert set(default) == set(variant.touches)
    broken = {i for i, v in default.items() if v in ("fail", "error")}
    assert not broken, explain(result, "default")
    assert result.passed_at("default"), explain(result, "default")
    failing = {i for i, v in strict.items() if v in ("fail", "error")}
    assert failing == set(variant.strict_fails), explain(result, "strict")
    assert result.passed_at("strict") == (not variant.strict_fails)


def test_all_compatible_choices_at_once_pass_the_whole_profile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    variant = all_at_once()
    result = certify(variant, monkeypatch, None)
    broken = {r.id for r in result.results if r.verdicts["default"] in ("fail", "error")}
    assert not broken, explain(result, "default")
    assert result.passed_at("default")
    # At strict, what fails is exactly what rests on kontrakt's assumptions: each such rule warned
    # at the default level with its deviations (the error-code vocabulary makes most error
    # rules strict failures here, beyond the single variants' lists).
    failing = [r for r in result.results if r.verdicts["strict"] in ("fail", "error")]
    assert set(variant.strict_fails) <= {r.id for r in failing}, explain(result, "strict")
    for found in failing:
        assert found.verdicts["default"] == "warn" and found.deviations, found.id
