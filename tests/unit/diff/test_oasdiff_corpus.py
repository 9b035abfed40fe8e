"""oasdiff's own checker test pairs, one case each: our verdict agrees with oasdiff's, or the
difference is argued in docs/diff-policy.md (tests/diff/oasdiff/argued.json names the section).

A pair on tests/diff/oasdiff/untriaged.json that still disagrees is an expected failure ("not yet
triaged"); any other disagreement, a crash, or an argued entry whose section is missing fails.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.diff import score

EXPECTATIONS = score.expectations()
ARGUED = score.argued()
UNTRIAGED = score.untriaged()
IDS = score.id_map()


def test_corpus_is_there() -> None:
    assert len(EXPECTATIONS) >= 200
    for entry in EXPECTATIONS:
        assert (score.DATA / entry["base"]).is_file(), entry["base"]
        assert (score.DATA / entry["revision"]).is_file(), entry["revision"]


def test_every_argued_difference_names_a_policy_section() -> None:
    sections = score.policy_sections()
    pairs = {entry["pair"] for entry in EXPECTATIONS}
    for claim in ARGUED.values():
        assert claim["pair"] in pairs, claim["pair"]
        assert claim["policy"] in sections, (
            f"{claim['pair']}: no section #{claim['policy']} in docs/diff-policy.md"
        )
        assert claim["ours"] != claim["oasdiff"], claim["pair"]


def test_lists_do_not_overlap() -> None:
    assert not set(ARGUED) & set(UNTRIAGED)


@pytest.mark.parametrize("entry", EXPECTATIONS, ids=[e["pair"] for e in EXPECTATIONS])
def test_pair(entry: dict[str, Any]) -> None:
    outcome = score.score_pair(entry, ARGUED, IDS)
    if outcome.category in (score.AGREE, score.ARGUED):
        return
    message = (
        f"{outcome.category}: ours {outcome.ours or '-'}, oasdiff {outcome.oasdiff} "
        f"(asserted {[e['id'] for e in entry['expected']]}; our rules {outcome.rules}) {outcome.error}"
    )
    if entry["pair"] in UNTRIAGED and outcome.category != score.CRASH:
        pytest.xfail(f"{UNTRIAGED[entry['pair']]['reason']}: {message}")
    pytest.fail(message)
