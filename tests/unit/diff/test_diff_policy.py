"""docs/diff-policy.md is the policy the engine follows: every rule has a row there, and each row's
verdict is the rule's verdict, or the row says which verdict the engine still gives ("pending")."""

from __future__ import annotations

import re

from kontrakt.diff.engine import all_rules
from tests.diff import score

CELL = re.compile(
    r"`((?:GEN|DAN|SDIR)-[A-Z0-9-]+)` (breaking|warn|allowed)(?: \(engine: (breaking|warn|allowed), pending\))?"
)


def _cells() -> dict[str, tuple[str, str | None]]:
    cells: dict[str, tuple[str, str | None]] = {}
    for line in score.POLICY.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| "):
            continue
        for rid, verdict, pending in CELL.findall(line):
            assert rid not in cells or cells[rid] == (verdict, pending or None), (
                f"{rid}: two verdicts"
            )
            cells[rid] = (verdict, pending or None)
    return cells


def test_every_rule_has_a_row() -> None:
    cells = _cells()
    missing = sorted(set(all_rules()) - set(cells))
    assert not missing, (
        f"rules without a row in docs/diff-policy.md: {missing} "
        "(draft them with python -m tests.diff.policy_table /path/to/oasdiff --missing)"
    )


def test_rows_name_only_existing_rules() -> None:
    unknown = sorted(set(_cells()) - set(all_rules()))
    assert not unknown, f"docs/diff-policy.md names rules the engine does not have: {unknown}"


def test_engine_gives_the_policy_verdict() -> None:
    wrong = []
    for rid, (verdict, pending) in _cells().items():
        rule = all_rules().get(rid)
        if rule is not None and rule.verdict.value not in {verdict, pending}:
            wrong.append(f"{rid}: policy {verdict}, engine {rule.verdict.value}")
    assert not wrong, wrong


def test_the_decisions_are_written() -> None:
    sections = score.policy_sections()
    for anchor in (
        "request-parameter-default-changed",
        "response-enum-value-removed",
        "security-requirement-or-scope-added",
        "oasdiff-test-scope",
    ):
        assert anchor in sections, anchor
