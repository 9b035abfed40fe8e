"""Proof that the DAN v1 rules work: the sandbox passes them, its bad twins fail them.

The known-good sandbox (`Sandbox.start`, the committed manifest pointed at it) passes every
automated rule of `kontrakt/conformance/rules/dan_v1.py`. Each known-bad variant of
`tests/e2e/dan_v1_bad_variants.py` is run with exactly the rules it targets plus a few it must leave
alone: the targets fail (warn, for SHOULD rules), the others pass. The rewrites sit in front of
one running sandbox and are switched per test, so the module starts the sandbox once (plus once
per `spec` variant). Every automated rule is killed by at least one variant, and
docs/dan-rule-proofs.md is the table generated from these data
(`python -m tests.e2e.test_dan_v1_rules` rewrites it).
"""

from __future__ import annotations

import fnmatch
import io
import socket
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr
from rich.console import Console
from starlette.types import ASGIApp, Receive, Scope, Send

from kontrakt.conformance.manifest import Manifest, load_manifest
from kontrakt.conformance.profile import load_profile
from kontrakt.conformance.runner import RunResult, run_profile
from kontrakt.sandbox.dan.contract import DEFAULT_SPEC
from kontrakt.sandbox.launch import Sandbox
from kontrakt.selfcert import sandbox_environment
from tests.e2e import dan_v1_bad_variants as bad
from tests.e2e import dan_v1_good_variants as good

PROFILE = "dan/v1"
MANIFEST = bad.REPO / "kontrakt" / "conformance" / "manifests" / "sandbox-dan.yaml"
PROOFS = bad.REPO / "docs" / "dan-rule-proofs.md"
QUIET = Console(file=io.StringIO(), force_terminal=False)
CLIENT_ID = "dan-consumer-test"
SCOPES = ["altinn:dataaltinnno", "altinn:dataaltinnno/sandbox"]

ALL_VARIANTS: tuple[bad.Variant | bad.SpecVariant, ...] = (*bad.VARIANTS, *bad.SPEC_VARIANTS)

# Rules the whole-profile run against the sandbox cannot judge, and why.
EXPECTED_NOT_APPLICABLE: dict[str, str] = {
    "DAN-HARVEST-ASYNC-1016": "the sandbox offers no asynchronous dataset (variants add one)",
}


class Switch:
    """The sandbox app behind whichever bad variant is active (none: the known-good one)."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None
        self.active: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = self.active or self.app
        assert target is not None
        await target(scope, receive, send)


SWITCH = Switch()


class SwitchedSandbox(Sandbox):
    """The sandbox with its DAN app behind `SWITCH`, answering without delayed-ACK stalls."""

    @classmethod
    def build(cls, names: Sequence[str], **kwargs: Any) -> Sandbox:
        built = super().build(names, **kwargs)
        SWITCH.app = built.apps["dan"]
        built.apps["dan"] = SWITCH
        for sock in built.sockets.values():
            # uvicorn writes headers and body apart; without this each answer waits ~40 ms.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return built


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with SwitchedSandbox.start(["dan"]) as started:
        yield started
    SWITCH.app = SWITCH.active = None


@pytest.fixture(scope="module")
def manifest(sandbox: Sandbox) -> Manifest:
    return load_manifest(MANIFEST, env=sandbox_environment(sandbox))


def variant_context(sandbox: Sandbox, manifest: Manifest) -> bad.Context:
    issuer = sandbox.context.issuer
    client = issuer.registry.get(CLIENT_ID)
    assert client is not None

    def token() -> str:
        return issuer.mint(client, SCOPES, sandbox.url("dan"))[0]

    key = next(a.value.get_secret_value() for a in manifest.auth if a.type == "api-key")
    return bad.Context(key=key, token=token)


def with_fixtures(manifest: Manifest, fixtures: Mapping[str, Any]) -> Manifest:
    """`manifest` with `fixtures` added (None removes one)."""
    merged = {**manifest.fixtures, **fixtures}
    return manifest.model_copy(
        update={"fixtures": {k: v for k, v in merged.items() if v is not None}}
    )


def run(manifest: Manifest, patterns: Sequence[str] | None = None) -> RunResult:
    profile = load_profile(PROFILE, patterns=list(patterns) if patterns else None)
    return run_profile(profile, manifest, console=QUIET, progress=False)


def verdicts(result: RunResult) -> dict[str, str]:
    return {r.id: r.verdict for r in result.results}


def explain(result: RunResult) -> str:
    return "\n".join(f"{r.id}: {r.verdict} {r.message}" for r in result.results)


def broken(result: RunResult, rule_id: str) -> str:
    """The verdict a broken rule must get: fail for MUST rules, warn otherwise."""
    severity = result_severity(rule_id)
    return "fail" if severity == "MUST" else "warn"


def result_severity(rule_id: str) -> str:
    return load_profile(PROFILE).spec.rules[rule_id].severity


def test_good_sandbox_passes(sandbox: Sandbox, manifest: Manifest) -> None:
    SWITCH.active = None
    result = run(manifest)
    found = verdicts(result)
    not_applicable = {r.id: r.message for r in result.results if r.verdict == "not-applicable"}
    assert set(not_applicable) == set(EXPECTED_NOT_APPLICABLE), not_applicable
    others = {k: v for k, v in found.items() if v != "pass" and k not in not_applicable}
    assert not others, explain(result)
    assert result.passed


@pytest.mark.parametrize("variant", bad.VARIANTS, ids=[v.name for v in bad.VARIANTS])
def test_variant_fails_exactly_its_rules(
    sandbox: Sandbox, manifest: Manifest, variant: bad.Variant
) -> None:
    assert SWITCH.app is not None
    SWITCH.active = variant.wrap(SWITCH.app, variant_context(sandbox, manifest))
    try:
        result = run(with_fixtures(manifest, variant.fixtures), [*variant.kills, *variant.keeps])
    finally:
        SWITCH.active = None
    found = verdicts(result)
    levels = {r.id: r.verdicts for r in result.results}
    for rule_id in variant.kills:
        wanted = variant.verdict or broken(result, rule_id)
        # Every known-bad variant breaks a published demand: the same verdict at both levels.
        assert found[rule_id] == wanted, explain(result)
        assert levels[rule_id] == {"default": wanted, "strict": wanted}, explain(result)
    for rule_id in variant.keeps:
        assert found[rule_id] == "pass", explain(result)


@pytest.mark.parametrize("variant", bad.SPEC_VARIANTS, ids=[v.name for v in bad.SPEC_VARIANTS])
def test_spec_variant_fails_its_rules(tmp_path: Path, variant: bad.SpecVariant) -> None:
    data = yaml.safe_load(DEFAULT_SPEC.read_text(encoding="utf-8"))
    variant.edit(data)
    changed = tmp_path / "openapi.yaml"
    changed.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with Sandbox.start(["dan"], options={"dan": {"spec": str(changed)}}) as started:
        manifest = load_manifest(MANIFEST, env=sandbox_environment(started))
        result = run(manifest, [*variant.kills, *variant.keeps])
    found = verdicts(result)
    for rule_id in variant.kills:
        assert found[rule_id] == broken(result, rule_id), explain(result)
    for rule_id in variant.keeps:
        assert found[rule_id] == "pass", explain(result)


def own_snapshot(manifest: Manifest, path: Path) -> Manifest:
    """`manifest` comparing with a snapshot just recorded from the provider itself."""
    profile = load_profile(PROFILE, patterns=["DAN-META-SERVICECONTEXTS"])
    recorded = run_profile(profile, manifest, console=QUIET, progress=False, snapshot_out=path)
    assert recorded.snapshot_error is None, recorded.snapshot_error
    return manifest.model_copy(update={"metadata_snapshot": path})


def check_good(result: RunResult, strict: Sequence[str]) -> None:
    """Default: no rule fails or errs and the run passes; strict: exactly `strict` deviate (and
    fail, warn for SHOULD rules); every other rule keeps its verdict."""
    assert result.passed_at("default"), explain(result)
    for r in result.results:
        assert r.verdicts["default"] not in ("fail", "error"), explain(result)
        if r.id in strict:
            assert r.deviations, explain(result)
            cited = {d.assumption for d in r.deviations}
            assert cited <= set(CHECK_ASSUMPTIONS.get(r.id, ())), (r.id, cited)
            assert r.verdicts["strict"] == broken(result, r.id), explain(result)
        else:
            assert not r.deviations, f"{r.id}: {[d.text for d in r.deviations]}"
            assert r.verdicts["strict"] == r.verdicts["default"], explain(result)
    assert {r.id for r in result.results if r.deviations} == set(strict)


@pytest.mark.parametrize("variant", good.VARIANTS, ids=[v.name for v in good.VARIANTS])
def test_good_variant_passes(
    sandbox: Sandbox, manifest: Manifest, variant: good.GoodVariant, tmp_path: Path
) -> None:
    assert SWITCH.app is not None
    SWITCH.active = variant.wrap(SWITCH.app, variant_context(sandbox, manifest))
    try:
        chosen = with_fixtures(manifest, variant.fixtures)
        if variant.own_snapshot:
            chosen = own_snapshot(chosen, tmp_path / "snapshot.json")
        result = run(chosen, variant.touches)
    finally:
        SWITCH.active = None
    check_good(result, variant.strict)


def test_one_provider_making_every_good_choice_passes(
    sandbox: Sandbox, manifest: Manifest, tmp_path: Path
) -> None:
    assert SWITCH.app is not None
    chosen = tuple(v for v in good.VARIANTS if v.compatible)
    SWITCH.active = good.compose(chosen, SWITCH.app, variant_context(sandbox, manifest))
    fixtures: dict[str, Any] = {}
    for variant in chosen:
        fixtures.update(variant.fixtures)
    try:
        combined = own_snapshot(with_fixtures(manifest, fixtures), tmp_path / "snapshot.json")
        result = run(combined)
    finally:
        SWITCH.active = None
    assert result.passed_at("default"), explain(result)
    bad_verdicts = {r.id: r.verdict for r in result.results if r.verdict in ("fail", "error")}
    assert not bad_verdicts, explain(result)
    expected = {rule for v in chosen for rule in v.strict}
    assert {r.id for r in result.results if r.deviations} == expected, explain(result)


def test_versioning_without_a_snapshot_names_the_command(manifest: Manifest) -> None:
    SWITCH.active = None
    result = run(manifest.model_copy(update={"metadata_snapshot": None}), ["DAN-VERSION-*"])
    for r in result.results:
        if r.id == "DAN-VERSION-DATASET-RETIREMENT":
            # the sandbox's deprecated dataset is still judged on its notice
            assert r.verdict == "pass", explain(result)
            continue
        assert r.verdict == "not-applicable", explain(result)
        assert "--snapshot-out" in r.message


def test_a_wrong_subscription_key_cannot_run(manifest: Manifest) -> None:
    SWITCH.active = None
    wrong = [
        a.model_copy(update={"value": SecretStr("kontrakt-wrong-key")})
        if a.type == "api-key"
        else a
        for a in manifest.auth
    ]
    result = run(manifest.model_copy(update={"auth": wrong}), ["DAN-FLOW-ACCREDITATION"])
    assert result.cannot_run and result.preflight is not None
    assert "HTTP 401" in result.preflight.diagnosis
    assert not result.passed_at("default")


def test_every_automated_rule_is_killed_by_a_variant() -> None:
    automated = set(load_profile(PROFILE).rule_set.functions)
    killed = {r for v in ALL_VARIANTS for r in v.kills}
    assert automated - killed == set()
    assert killed - automated == set()


# The checks inside a rule that rest on kontrakt's own assumptions (they deviate, never fail at
# the default level): rule -> the A-ids its checks cite. The rest of each rule is published.
CHECK_ASSUMPTIONS: dict[str, tuple[str, ...]] = {
    "DAN-AUTH-SUBSCRIPTION-KEY": ("A-DAN-002",),
    "DAN-AUTH-KEY-AND-TOKEN": ("A-DAN-002",),
    "DAN-ACCR-CREATE-200": ("A-DAN-014",),
    "DAN-STATUS-LIST": ("A-DAN-014", "A-DAN-011"),
    "DAN-LIST-SCOPE": ("A-DAN-014",),
    "DAN-META-EVIDENCECODES": ("A-DAN-014",),
    "DAN-META-EVIDENCECODES-CONTEXT": ("A-DAN-014",),
    "DAN-META-SERVICECONTEXTS": ("A-DAN-014",),
    "DAN-META-STATUSCODES": ("A-DAN-014",),
    "DAN-META-ERRORCODES": ("A-DAN-014",),
    "DAN-ERR-DESCRIPTION": ("A-DAN-019",),
    "DAN-REMINDER-UNKNOWN-403": ("A-DAN-001",),
    "DAN-REMINDER-PRECONDITIONS": ("A-DAN-001",),
    "DAN-REMINDER-RATE-LIMIT": ("A-DAN-001",),
}


def _basis(info: Any) -> str:
    source = info.source or {}
    text = f"{source.get('doc', '')} {source.get('section', '')}".strip()
    checks = CHECK_ASSUMPTIONS.get(info.id, ())
    if info.basis == "assumption":
        return f"assumption {info.assumption_id}"
    recorded = f"; records {info.assumption_id}" if info.assumption_id else ""
    if checks:
        return f"published ({text}){recorded}; checks on {', '.join(checks)} deviate"
    return f"published ({text}){recorded}"


def proof_table() -> str:
    """docs/dan-rule-proofs.md, generated from the profile and the variants."""
    profile = load_profile(PROFILE)
    variants = ALL_VARIANTS
    lines = [
        "# DAN v1 rule proofs",
        "",
        "Generated by `python -m tests.e2e.test_dan_v1_rules` from `kontrakt/conformance/rules/dan_v1.py`,",
        "`tests/e2e/dan_v1_bad_variants.py` and `tests/e2e/dan_v1_good_variants.py`;",
        "`tests/e2e/test_dan_v1_rules.py` checks it is current.",
        "",
        "Every automated rule passes against the sandbox (`test_good_sandbox_passes`). Each",
        "known-bad variant breaks a published demand: the rules it kills fail (warn, for SHOULD/MAY",
        "rules) at both levels, default and strict (`test_variant_fails_exactly_its_rules[<variant>]`,",
        "`test_spec_variant_fails_its_rules`). Each known-good variant makes another permitted",
        "choice: at the default level none of the rules it touches fails and the run passes; at",
        "strict exactly the rules listed under it (those leaning on the assumption it departs from)",
        "fail, warn for SHOULD rules (`test_good_variant_passes[<variant>]`). One provider making",
        "every good choice at once passes the whole profile at default",
        "(`test_one_provider_making_every_good_choice_passes`).",
        "",
        "Basis: `published` cites the clause the rule stands on (FACTS = reference/dan/FACTS.md,",
        "DOCS = DAN's consumer documentation); a check resting on one of kontrakt's assumptions",
        "(`A-DAN-...`, recorded in specs/dan/v1/openapi.yaml) only deviates: `warn` at default,",
        "`fail` at strict.",
        "",
        "| rule | severity | basis | known-bad (default = strict) | known-good |",
        "|---|---|---|---|---|",
    ]
    for rule in profile.rules:
        killers = ", ".join(f"`{v.name}`" for v in variants if rule.id in v.kills)
        goods = []
        for g in good.VARIANTS:
            if not any(fnmatch.fnmatchcase(rule.id, t) for t in g.touches):
                continue
            goods.append(f"`{g.name}`" + (" (strict: fails)" if rule.id in g.strict else ""))
        lines.append(
            f"| {rule.id} | {rule.info.severity} | {_basis(rule.info)} | {killers} | "
            f"{', '.join(goods)} |"
        )
    lines += ["", "## Not automated", "", "| rule | severity | title |", "|---|---|---|"]
    for info in profile.not_automated:
        lines.append(f"| {info.id} | {info.severity} | {info.title} |")
    lines += ["", "## Known-bad variants", "", "| variant | what it breaks |", "|---|---|"]
    for v in variants:
        lines.append(f"| `{v.name}` | {v.description} |")
    lines += [
        "",
        "## Known-good variants",
        "",
        "| variant | the choice | basis | rules it touches | at strict |",
        "|---|---|---|---|---|",
    ]
    for g in good.VARIANTS:
        strict = ", ".join(g.strict) if g.strict else "no change (a published choice)"
        touches = ", ".join(f"`{t}`" for t in g.touches)
        lines.append(f"| `{g.name}` | {g.choice} | {g.basis} | {touches} | {strict} |")
    return "\n".join(lines) + "\n"


def test_the_proof_table_is_up_to_date() -> None:
    assert PROOFS.read_text(encoding="utf-8") == proof_table(), (
        "run `python -m tests.e2e.test_dan_v1_rules` to regenerate docs/dan-rule-proofs.md"
    )


if __name__ == "__main__":  # pragma: no cover - regenerates the docs table
    PROOFS.write_text(proof_table(), encoding="utf-8")
    sys.exit(0)
