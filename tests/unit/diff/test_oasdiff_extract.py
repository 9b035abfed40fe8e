"""tests/diff/oasdiff/extract.py reads oasdiff's Go tests right: a miniature oasdiff checkout with a
test of each kind it must keep, merge or leave out, and the expectations it must write."""

from __future__ import annotations

import json
from pathlib import Path

from tests.diff import score
from tests.diff.oasdiff import extract

RULES_GO = """package checker
func rules() {
    newBackwardCompatibilityRule(ThingRemovedId, ERR, ThingRemovedCheck, DirectionRequest),
    newBackwardCompatibilityRule(ThingWarnedId, WARN, ThingWarnedCheck, DirectionRequest),
    newBackwardCompatibilityRule(ThingNotedId, INFO, ThingNotedCheck, DirectionRequest),
}
"""
IDS_GO = """package checker
const (
    ThingRemovedId = "thing-removed"
    ThingWarnedId = "thing-warned"
    ThingNotedId = "thing-noted"
    ThingUnknownId = "thing-unknown"
)
"""
TESTS_GO = """package checker_test

var (
    otherFile = dataFileFn("other")
)

func TestKeptErr(t *testing.T) {
\ts1, err := open("../data/checker/a_base.yaml")
\trequire.NoError(t, err)
\ts2, err := open("../data/checker/a_revision.yaml")
\trequire.NoError(t, err)
\td, osm, err := diff.GetWithOperationsSourcesMap(diff.NewConfig(), s1, s2)
\terrs := checker.CheckBackwardCompatibilityUntilLevel(singleCheckConfig(checker.ThingRemovedCheck), d, osm, checker.INFO)
\trequire.Equal(t, checker.ThingRemovedId, errs[0].GetId())
\trequireNoChange(t, errs, checker.ThingWarnedId)
}

func TestSamePairInfo(t *testing.T) {
\ts1, err := open("../data/checker/a_base.yaml")
\ts2, err := open("../data/checker/a_revision.yaml")
\td, osm, err := diff.GetWithOperationsSourcesMap(diff.NewConfig(), s1, s2)
\terrs := checker.CheckBackwardCompatibilityUntilLevel(allChecksConfig(), d, osm, checker.INFO)
\trequire.Contains(t, ids(errs), "thing-noted")
}

func TestReversedEmptyAtErr(t *testing.T) {
\tbase, err := open(otherFile("b.yaml"))
\trevision, err := open("../data/checker/a_base.yaml")
\td, osm, err := diff.GetWithOperationsSourcesMap(diff.NewConfig(), revision, base)
\terrs := checker.CheckBackwardCompatibilityUntilLevel(allChecksConfig(), d, osm, checker.ERR)
\trequire.Empty(t, errs)
}

func TestEditedInGo(t *testing.T) {
\ts1, err := open("../data/checker/a_base.yaml")
\ts2, err := open("../data/checker/a_base.yaml")
\ts2.Spec.Info.Version = "2.0"
\td, osm, err := diff.GetWithOperationsSourcesMap(diff.NewConfig(), s1, s2)
\terrs := checker.CheckBackwardCompatibility(allChecksConfig(), d, osm)
\trequire.Equal(t, checker.ThingWarnedId, errs[0].GetId())
}

func TestNumbered(t *testing.T) {
\terrs := d(t, diff.NewConfig(), 1, 3)
\trequire.NotEmpty(t, errs)
\trequire.Equal(t, checker.ThingWarnedId, errs[0].GetId())
}

func TestUnknownLevel(t *testing.T) {
\ts1, err := open("../data/other/b.yaml")
\ts2, err := open("../data/other/c.yaml")
\td, osm, err := diff.GetWithOperationsSourcesMap(diff.NewConfig(), s1, s2)
\terrs := checker.CheckBackwardCompatibility(allChecksConfig(), d, osm)
\trequire.Equal(t, checker.ThingUnknownId, errs[0].GetId())
}
"""


def _checkout(root: Path) -> Path:
    (root / "checker").mkdir(parents=True)
    (root / "checker" / "rules.go").write_text(RULES_GO)
    (root / "checker" / "ids.go").write_text(IDS_GO)
    (root / "checker" / "thing_test.go").write_text(TESTS_GO)
    files = {
        "checker/a_base.yaml": "openapi: 3.0.0\ncomponents:\n  schemas:\n    X:\n      $ref: 'shared/x.yaml#/X'\n",
        "checker/a_revision.yaml": "openapi: 3.0.0\n",
        "checker/shared/x.yaml": "X: {type: string}\n",
        "other/b.yaml": "openapi: 3.0.0\n",
        "other/c.yaml": "openapi: 3.0.0\n",
        "openapi-test1.yaml": "openapi: 3.0.0\n",
        "openapi-test3.yaml": "openapi: 3.0.0\n",
    }
    for rel, text in files.items():
        (root / "data" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "data" / rel).write_text(text)
    return root


def test_extract_keeps_merges_and_leaves_out(tmp_path: Path) -> None:
    repo = _checkout(tmp_path / "oasdiff")
    out = tmp_path / "out"
    out.mkdir()
    assert extract.main([str(repo), "--commit", "0" * 40, "--out", str(out)]) == 0
    written = json.loads((out / "expectations.json").read_text())
    pairs = {p["pair"]: p for p in written["pairs"]}
    assert set(pairs) == {
        "checker/a_base.yaml -> checker/a_revision.yaml",
        "checker/a_base.yaml -> other/b.yaml",
        "openapi-test1.yaml -> openapi-test3.yaml",
    }
    merged = pairs["checker/a_base.yaml -> checker/a_revision.yaml"]
    assert merged["expected"] == [
        {"id": "thing-noted", "level": "INFO"},
        {"id": "thing-removed", "level": "ERR"},
    ]
    assert merged["absent"] == ["thing-warned"]
    assert merged["accepted"] == ["breaking"]
    assert len(merged["tests"]) == 2
    # Nothing at ERR or above: breaking is ruled out, warn and allowed both agree.
    assert pairs["checker/a_base.yaml -> other/b.yaml"]["accepted"] == ["allowed", "warn"]
    assert pairs["openapi-test1.yaml -> openapi-test3.yaml"]["accepted"] == ["warn"]
    skipped = "\n".join(written["skipped_tests"])
    assert "TestEditedInGo: edits or reconfigures" in skipped
    assert "TestUnknownLevel: ids without a level" in skipped
    # The referenced file travels with the pair; files no kept pair uses do not.
    assert (out / "data" / "checker" / "shared" / "x.yaml").is_file()
    assert not (out / "data" / "other" / "c.yaml").exists()


def test_extract_refuses_what_is_not_oasdiff(tmp_path: Path) -> None:
    assert extract.main([str(tmp_path), "--commit", "x"]) == 2


def test_classify() -> None:
    assert score.classify("breaking", ["breaking"]) == score.AGREE
    assert score.classify("warn", ["breaking"]) == score.MISSED
    assert score.classify("allowed", ["breaking"]) == score.MISSED
    assert score.classify("breaking", ["allowed", "warn"]) == score.FALSE
    assert score.classify("warn", ["allowed"]) == score.WARN_DIFFERS
    assert score.classify("warn", ["allowed", "warn"]) == score.AGREE


def test_slug_matches_mkdocs_anchors() -> None:
    assert score.slug("Maximum, maxLength, exclusive bound or minItems set where none was") == (
        "maximum-maxlength-exclusive-bound-or-minitems-set-where-none-was"
    )
    assert score.slug("Discriminator propertyName renamed") == "discriminator-propertyname-renamed"
