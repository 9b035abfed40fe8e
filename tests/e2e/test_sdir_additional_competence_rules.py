"""The Sdir additional competence profiles (v1 and v2) against the sandbox and its bad variants.

One sandbox serves both URL versions for the whole module, with a `Switch` in front of the Sdir
app: the committed manifests (`kontrakt/conformance/manifests/sandbox-sdir.yaml` for v2,
`sandbox-sdir-v1.yaml` for v1) pass every automated MUST rule on the sandbox, and each known-bad
variant (`sdir_additional_competence_bad_variants.py`) makes the rules it names fail while the
rules it lists as kept still pass. Only those rules run for a variant.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kontrakt.conformance.manifest import Limits, Manifest, NegativeAuth, load_manifest
from kontrakt.conformance.profile import load_profile
from kontrakt.conformance.rules import sdir_additional_competence_v1 as v1_rules
from kontrakt.conformance.rules import sdir_additional_competence_v2 as v2_rules
from kontrakt.conformance.runner import RuleResult, RunResult, run_profile
from kontrakt.sandbox.sdir import SdirApp
from kontrakt.selfcert import provider_of, sandbox_environment
from tests.e2e.sdir_additional_competence_bad_variants import (
    VARIANTS,
    Kit,
    Switch,
    SwitchedSandbox,
    Variant,
    by_name,
    switched,
)

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = {
    "v1": REPO / "kontrakt" / "conformance" / "manifests" / "sandbox-sdir-v1.yaml",
    "v2": REPO / "kontrakt" / "conformance" / "manifests" / "sandbox-sdir.yaml",
}
AUTOMATED = {"v1": set(v1_rules.AUTOMATED), "v2": set(v2_rules.AUTOMATED)}
PROOFS = REPO / "docs" / "sdir-additional-competence-rule-proofs.md"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SwitchedSandbox]:
    with SwitchedSandbox.start(["sdir"]) as running:
        assert isinstance(running, SwitchedSandbox)
        yield running


@pytest.fixture(scope="module")
def switch(sandbox: SwitchedSandbox) -> Switch:
    app = sandbox.apps["sdir"]
    assert isinstance(app, Switch)
    return app


def manifest(sandbox: SwitchedSandbox, version: str) -> Manifest:
    return load_manifest(MANIFESTS[version], env=sandbox_environment(sandbox))


def run(found: Manifest, patterns: list[str] | None = None) -> RunResult:
    return run_profile(load_profile(found.profile, patterns=patterns), found, progress=False)


def stored(switch: Switch) -> int:
    app = switch.default
    assert isinstance(app, SdirApp)
    row = app.database.one("SELECT COUNT(*) AS n FROM report")
    assert row is not None
    return int(row["n"])


def verdicts(result: RunResult) -> dict[str, str]:
    return {r.id: r.verdict for r in result.results}


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_the_sandbox_passes_every_rule(sandbox: SwitchedSandbox, version: str) -> None:
    result = run(manifest(sandbox, version))
    found = verdicts(result)
    assert set(found) == AUTOMATED[version]
    bad = {r.id: r.message for r in result.results if r.verdict != "pass"}
    assert not bad, bad  # every MUST and SHOULD passes; nothing is not-applicable
    assert result.passed and not result.not_automated


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_read_only_makes_the_writing_rules_not_applicable(
    sandbox: SwitchedSandbox, switch: Switch, version: str
) -> None:
    writable = manifest(sandbox, version)
    read_only = writable.model_copy(update={"limits": Limits(read_only=True)})
    before = stored(switch)
    result = run(read_only)
    assert stored(switch) == before  # under read_only no report was stored
    found = verdicts(result)
    assert "fail" not in found.values() and "error" not in found.values(), found
    not_applicable = {k for k, v in found.items() if v == "not-applicable"}
    assert {"SDIR-BATCH-ATOMIC", "SDIR-BATCH-MAX-ITEMS", "SDIR-CREATE-201"} <= not_applicable
    assert found["SDIR-BATCH-EMPTY"] == "pass"  # an empty array stores nothing
    assert found["SDIR-AUTH-KEY-REQUIRED"] == "pass"
    assert result.passed


def _cases() -> list[tuple[Variant, str]]:
    return [
        (variant, version)
        for variant in VARIANTS
        for version in variant.versions
        if any(k in AUTOMATED[version] for k in variant.kills)
    ]


@pytest.mark.parametrize(
    ("variant", "version"), _cases(), ids=[f"{v.name}-{ver}" for v, ver in _cases()]
)
def test_a_bad_variant_fails_exactly_its_rules(
    sandbox: SwitchedSandbox, switch: Switch, variant: Variant, version: str
) -> None:
    """Each kill fails at strict (warns, for SHOULD rules); at the default level it fails too,
    unless the variant breaks only kontrakt's proposals (`assumed`): then it warns. Keeps pass."""
    kills = [k for k in variant.kills if k in AUTOMATED[version]]
    keeps = [k for k in variant.keeps if k in AUTOMATED[version]]
    kit = Kit(sandbox)
    found_manifest = manifest(sandbox, version)
    if variant.manifest is not None:
        found_manifest = variant.manifest(found_manifest, kit)
    with switched(switch, variant.app(switch, kit)):
        result = run(found_manifest, [*kills, *keeps])
    levels = {r.id: r.verdicts for r in result.results}
    for rule_id in kills:
        should = result_of(result, rule_id).severity != "MUST"
        strict = "warn" if should else "fail"
        default = "warn" if should or variant.assumed else "fail"
        assert levels[rule_id] == {"default": default, "strict": strict}, (rule_id, levels)
    for rule_id in keeps:
        assert levels[rule_id]["default"] == "pass", (rule_id, result.results)


def result_of(result: RunResult, rule_id: str) -> RuleResult:
    return next(r for r in result.results if r.id == rule_id)


@pytest.mark.parametrize(
    "name", ["expired-token-accepted", "delegated-token-refused", "foreign-reports-readable"]
)
def test_a_gap_variant_goes_unseen_without_its_role(
    sandbox: SwitchedSandbox, switch: Switch, name: str
) -> None:
    """Without the role (and without a signing key or the fixture) the same provider is not
    caught: the rule is not-applicable or passes on what it could try, which is why the role
    exists."""
    variant = by_name(name)
    found = manifest(sandbox, "v2").model_copy(
        update={
            "negative_auth": NegativeAuth(),
            "fixtures": {
                k: v
                for k, v in manifest(sandbox, "v2").fixtures.items()
                if k != "foreign_report_uid"
            },
        }
    )
    with switched(switch, variant.app(switch, Kit(sandbox))):
        result = run(found, list(variant.kills))
    assert {r.verdicts["default"] for r in result.results} <= {"pass", "not-applicable"}


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_every_automated_rule_has_a_variant_that_fails_it(version: str) -> None:
    killed = {k for variant, ver in _cases() if ver == version for k in variant.kills}
    assert AUTOMATED[version] <= killed, AUTOMATED[version] - killed


# What each rule rests on: the publisher's clause it fails on, and the kontrakt proposals (A-ids)
# it only deviates from (warn at default, fail at strict). Where the two versions' documents
# number an assumption differently both are named (v1 / v2).
BASIS: dict[str, tuple[str, str]] = {
    "SDIR-AUTH-KEY-REQUIRED": ("GS: key on every request; APIM401: 401", "A-SDIR-007 (body)"),
    "SDIR-AUTH-KEY-VALID": ("GS; APIM401: unknown/revoked key 401", "A-SDIR-007 (body)"),
    "SDIR-AUTH-TOKEN-REQUIRED": (
        "GS: key and bearer on every request; KR: 401",
        "A-SDIR-007 (401 not another 4xx), A-SDIR-005 (code)",
    ),
    "SDIR-AUTH-TOKEN-VALID": (
        "MP: signature, exp, iss checked; KR: 401",
        "A-SDIR-007, A-SDIR-005",
    ),
    "SDIR-AUTH-SCOPE": (
        "SCOPES: writes need sdir:seafarer.additionalcompetance.write",
        "A-SDIR-004 (reads too), A-SDIR-030 (401 or 403)",
    ),
    "SDIR-AUTH-DELEGATION": (
        "GUIDE: a supplier acts for a customer by delegation",
        "A-SDIR-027 (claim names of a token the suite signs)",
    ),
    "SDIR-AUTH-ORG-MATCH": (
        "FAQ: only the ship owner reports (a report stored in another's name fails)",
        "A-SDIR-017 / A-SDIR-016 (refused, with 403), A-SDIR-005, A-SDIR-006 (index)",
    ),
    "SDIR-AUTH-SHIP-OWNER": (
        "FAQ: the ship owner connected to the vessel (2xx fails)",
        "A-SDIR-022 / A-SDIR-024 (403), A-SDIR-005",
    ),
    "SDIR-READ-OWN-ONLY": (
        "CRS: answered only for the organisation's own reports (2xx fails)",
        "A-SDIR-013 (404 not 403), A-SDIR-005",
    ),
    "SDIR-MEDIA-JSON": ("", "A-SDIR-032 (refused at all), A-SDIR-031, A-SDIR-005"),
    "SDIR-MEDIA-MALFORMED": (
        "REST: JSON bodies; a 2xx or 5xx fails",
        "A-SDIR-031 (400), A-SDIR-005",
    ),
    "SDIR-ERROR-PROBLEM": ("", "A-SDIR-034 (problem+json)"),
    "SDIR-ERROR-CODES": ("", "A-SDIR-005 (every finding)"),
    "SDIR-ERROR-PRECEDENCE": ("", "A-SDIR-016 / A-SDIR-015"),
    "SDIR-DATETIME-OFFSET": ("DT: output date-times carry an offset", ""),
    "SDIR-CODES-LIST": (
        "AC: the codes endpoint, the current list",
        "A-SDIR-019 / A-SDIR-018 (bare array of {code, description})",
    ),
    "SDIR-CODES-ACCEPTED": ("AC: the list is authoritative; DEVP: 201", ""),
    "SDIR-CODE-UNKNOWN": (
        "AC: the code must be in the list",
        "A-SDIR-031 (400), A-SDIR-005, A-SDIR-006 (field)",
    ),
    "SDIR-VALIDATION-REQUIRED": (
        "DEVP: failures name missing fields (text or field)",
        "A-SDIR-031, A-SDIR-005, A-SDIR-006",
    ),
    "SDIR-VALIDATION-FORMAT": (
        "DT: ISO 8601 dates; identifier digit counts",
        "A-SDIR-031 (400; 404 for a non-UUID uid is a reading), A-SDIR-005, A-SDIR-006",
    ),
    "SDIR-VALIDATION-CHECK-DIGITS": ("", "A-SDIR-018 / A-SDIR-017"),
    "SDIR-VALIDATION-VESSEL": (
        "FAQ: the vessel the competence was gained on",
        "A-SDIR-031, A-SDIR-005",
    ),
    "SDIR-VALIDATION-PERIOD": ("", "A-SDIR-035 / A-SDIR-022"),
    "SDIR-VALIDATION-NO-UID-ON-CREATE": ("", "A-SDIR-011"),
    "SDIR-VALIDATION-VERSION-SCHEMA": (
        "REST: the major version in the URL",
        "A-SDIR-031, A-SDIR-005, A-SDIR-006",
    ),
    "SDIR-CREATE-201": ("DEVP: 201 on insert; REST: UIDs", ""),
    "SDIR-CREATE-LOCATION": ("", "A-SDIR-036"),
    "SDIR-READ-BACK": ("AC: GET one by UID, the list of reported items", ""),
    "SDIR-NOT-FOUND": ("RFC 9110: 404 for an unknown resource", "A-SDIR-005"),
    "SDIR-DUPLICATE": ("", "A-SDIR-012"),
    "SDIR-UPDATE-REPLACE": ("AC 2020: PUT one (200 with the report or 204)", ""),
    "SDIR-UPDATE-UID-MATCH": (
        "REST: a refused update changes nothing",
        "A-SDIR-011 (refused at all), A-SDIR-031, A-SDIR-005",
    ),
    "SDIR-GET-MANY": ("AC 2020: GET several by UIDs", "A-SDIR-014 (order; one unknown uid)"),
    "SDIR-BATCH-UPDATE-UNKNOWN": (
        "REST: all-or-nothing batches",
        "A-SDIR-031 (404), A-SDIR-006 (index), A-SDIR-005",
    ),
    "SDIR-LIST-PAGE": (
        "AC 2021: the list of reported items (the document's page)",
        "A-SDIR-019 (a page capped below the limit asked)",
    ),
    "SDIR-LIST-ORDER": ("paging returns each report once", "A-SDIR-019 (order)"),
    "SDIR-LIST-LIMITS": (
        "DT: a fromDate that is no ISO date, an organisation number of 5 digits (2xx fails)",
        "A-SDIR-019 (offset/limit range refused), A-SDIR-031, A-SDIR-005, A-SDIR-006",
    ),
    "SDIR-LIST-FROM-DATE": ("", "A-SDIR-020"),
    "SDIR-BATCH-ATOMIC": ("REST: a failing batch stores nothing", ""),
    "SDIR-BATCH-ERROR-INDEX": ("", "A-SDIR-023 / A-SDIR-025"),
    "SDIR-BATCH-MAX-ITEMS": ("", "A-SDIR-008"),
    "SDIR-BATCH-EMPTY": ("", "A-SDIR-033"),
    "SDIR-BATCH-ORDER": ("REST/DEVP: every item processed, 201", "A-SDIR-008 (order)"),
    "SDIR-BATCH-NO-PARTIAL": ("REST: all or nothing", "A-SDIR-008 (order)"),
    "SDIR-PREVALIDATE-OK": ("FE: prevalidate (a good batch accepted)", "A-SDIR-021 ({valid})"),
    "SDIR-PREVALIDATE-NO-STORE": ("FE: prevalidate stores nothing", ""),
    "SDIR-PREVALIDATE-CONSISTENT": ("FE: the same payload as the batch", ""),
}


def basis_kind(rule_id: str) -> str:
    published, assumed = BASIS[rule_id]
    return "mixed" if published and assumed else ("published" if published else "assumption")


def proofs_table() -> str:
    from tests.e2e.sdir_additional_competence_good_variants import ALL_AT_ONCE, GOOD

    lines = [
        "# Sdir additional competence: rule proofs",
        "",
        "Generated from `tests/e2e/test_sdir_additional_competence_rules.py`,",
        "`tests/e2e/sdir_additional_competence_bad_variants.py` and",
        "`tests/e2e/sdir_additional_competence_good_variants.py` (`python -m",
        "tests.e2e.test_sdir_additional_competence_rules` rewrites it; a test checks it is current).",
        "",
        "Basis: *published* rules fail on the publisher's text (Sdir's prose: FACTS §3-§8); the",
        "A-ids are kontrakt's proposals (FACTS §10) a rule only deviates from: `warn` at the default",
        "level, `fail` at `--level strict`. *mixed* rules have both. Known-bad variants:",
        "`test_a_bad_variant_fails_exactly_its_rules[<variant>-<version>]`, shown as default/strict",
        "verdicts. Known-good variants: `test_a_good_variant_passes_and_strict_flags_exactly_its_",
        "assumptions[<variant>-<version>]`: each passes at default; *strict: fail* marks the rules",
        "`--level strict` flags for it, *accepted* a reading Sdir's text allows.",
        "",
        "| rule | v1 | v2 | basis | published clause | kontrakt's proposals | known-bad | known-good |",
        "|---|---|---|---|---|---|---|---|",
    ]
    every = sorted(AUTOMATED["v1"] | AUTOMATED["v2"])
    for rule_id in every:
        marks = ["yes" if rule_id in AUTOMATED[v] else "-" for v in ("v1", "v2")]
        bad: dict[str, list[str]] = {}
        for variant, ver in _cases():
            if rule_id in variant.kills:
                bad.setdefault(variant.name, []).append(ver)
        bad_text = []
        for name, versions in sorted(bad.items()):
            variant = by_name(name)
            levels = "warn/fail" if variant.assumed else "fail/fail"
            bad_text.append(f"`{name}` {'+'.join(versions)} ({levels})")
        good_text = []
        for good in GOOD:
            versions = [v for v in good.versions if rule_id in AUTOMATED[v]]
            if rule_id in good.touches and versions:
                flag = "strict: fail" if rule_id in good.strict else "accepted"
                good_text.append(f"`{good.name}` {'+'.join(versions)} ({flag})")
        published, assumed = BASIS[rule_id]
        lines.append(
            f"| {rule_id} | {marks[0]} | {marks[1]} | {basis_kind(rule_id)} | {published or '-'} "
            f"| {assumed or '-'} | {', '.join(bad_text) or '-'} | {', '.join(good_text) or '-'} |"
        )
    lines += [
        "",
        "## Known-good variants",
        "",
        "Each makes a choice Sdir's text leaves open and passes at the default level; the last",
        "column lists what `--level strict` flags for it (none: a reading the text allows).",
        "`test_one_provider_making_every_compatible_choice_passes[<version>]` runs one provider",
        "making the choices of " + ", ".join(f"`{n}`" for n in ALL_AT_ONCE) + " at once.",
        "",
        "| variant | versions | choice | basis | flagged at strict |",
        "|---|---|---|---|---|",
    ]
    for good in GOOD:
        flagged = ", ".join(good.strict) if good.strict else "none"
        lines.append(
            f"| `{good.name}` | {'+'.join(good.versions)} | {good.choice} | {good.basis} "
            f"| {flagged} |"
        )
    lines += [
        "",
        "## Detection gaps closed by credential roles",
        "",
        "Each variant is run without `negative_auth.signing_key` (the suite signs nothing) and is",
        "caught only through the role; `test_a_gap_variant_goes_unseen_without_its_role` shows the",
        "same provider unnoticed without it (the rule passes or is not applicable).",
        "",
        "| variant | rule | role |",
        "|---|---|---|",
    ]
    for variant in VARIANTS:
        if variant.manifest is not None:
            lines.append(
                f"| `{variant.name}` | {', '.join(variant.kills)} | {variant.notes.get('role', '')} |"
            )
    lines += [
        "",
        "`scope-ignored` is caught through `credentials.wrong_scope`, a client of its own (the",
        "committed manifests no longer ask the main client for another scope).",
    ]
    return "\n".join(lines) + "\n"


def test_the_proofs_document_is_current() -> None:
    assert PROOFS.read_text(encoding="utf-8") == proofs_table()


def test_every_rule_states_its_basis() -> None:
    assert set(BASIS) == AUTOMATED["v1"] | AUTOMATED["v2"]


def test_selfcert_maps_a_suffixed_manifest_to_its_provider() -> None:
    assert provider_of(Path("sandbox-sdir-v1.yaml")) == "sdir"
    assert provider_of(Path("sandbox-sdir.yaml")) == "sdir"
    assert provider_of(Path("sandbox-dsop-control.yaml")) == "dsop-control"
    assert provider_of(Path("sandbox-nobody.yaml")) is None


if __name__ == "__main__":  # pragma: no cover - regenerates the proofs document
    PROOFS.write_text(proofs_table(), encoding="utf-8")
