"""Structural fidelity of our specs to the publishers' documents, difference by explained difference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO, require_shared
from tests.fidelity.structure import compare, load

ALLOWLISTS = sorted((Path(__file__).parent / "allowlists").glob("*.yaml"))


def _read_allowlist(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path}: expected a mapping"
    for key in ("ours", "upstream", "allow"):
        assert key in data, f"{path}: missing key {key!r}"
    for index, entry in enumerate(data["allow"] or []):
        assert set(entry) == {"diff", "reason"}, f"{path}: allow[{index}] needs diff and reason"
        assert len(str(entry["reason"]).strip()) >= 10, f"{path}: allow[{index}] has no real reason"
    return data


def test_every_fidelity_pair_has_an_allowlist() -> None:
    names = {p.stem for p in ALLOWLISTS}
    assert {"dsop-control-v2.0", "dsop-control-v1.1.1", "dps-v1"} <= names


@pytest.mark.fidelity
@pytest.mark.parametrize("allowlist", ALLOWLISTS, ids=lambda p: p.stem)
def test_differences_are_exactly_the_allowlisted_ones(allowlist: Path) -> None:
    shared = require_shared()
    spec = _read_allowlist(allowlist)
    ours = load(REPO / spec["ours"])
    upstream = load(shared / spec["upstream"])
    found = compare(
        ours,
        upstream,
        renames=spec.get("renames") or {},
        only_upstream_operations=bool(spec.get("only-upstream-operations", False)),
    )
    allowed = [entry["diff"] for entry in spec["allow"] or []]
    duplicates = sorted({d for d in allowed if allowed.count(d) > 1})
    unexplained = [d for d in found if d not in set(allowed)]
    stale = [d for d in allowed if d not in set(found)]
    problems = []
    if unexplained:
        problems.append("unexplained differences:\n  " + "\n  ".join(unexplained))
    if stale:
        problems.append(
            "allow-list entries that no longer match a difference:\n  " + "\n  ".join(stale)
        )
    if duplicates:
        problems.append("duplicate allow-list entries:\n  " + "\n  ".join(duplicates))
    assert not problems, f"{allowlist.name}:\n" + "\n".join(problems)
