"""DAN rules: frozen dataset fields, 12-month retirement, codes only added (x-kontrakt and snapshots)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from kontrakt.diff import Verdict, diff_documents, load_document
from tests.unit.diff.helpers import base, diff, only

B, W, A = Verdict.BREAKING, Verdict.WARN, Verdict.ALLOWED
ON = dt.date(2026, 6, 1)
DS = "/x-kontrakt-datasets/Unit"


def with_datasets(**extra: Any) -> dict[str, Any]:
    doc = base()
    doc["x-kontrakt-datasets"] = {
        "Unit": {
            "requires-consent": False,
            "source": {"doc": "X", "section": "1"},
            "values": [
                {"name": "OrganizationNumber", "value-type": "Number"},
                {"name": "OrganizationName", "value-type": "String"},
                {"name": "IsBankrupt", "value-type": "Boolean"},
            ],
            **extra,
        }
    }
    return doc


def unit(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["x-kontrakt-datasets"]["Unit"]  # type: ignore[no-any-return]


CASES = [
    ("value added", lambda d: unit(d)["values"].append({"name": "Extra", "value-type": "String"}), "dataset-value-added", B, DS + "/values", DS + "/values/3"),
    ("value removed", lambda d: unit(d)["values"].pop(2), "dataset-value-removed", B, DS + "/values/2", DS + "/values"),
    ("value renamed", lambda d: unit(d)["values"][1].__setitem__("name", "Name"), "dataset-value-renamed", B, DS + "/values/1", DS + "/values/1"),
    ("value type changed", lambda d: unit(d)["values"][0].__setitem__("value-type", "String"), "dataset-value-type-changed", B, DS + "/values/0", DS + "/values/0"),
    ("authorization changed", lambda d: unit(d).__setitem__("requires-consent", True), "dataset-authorization-changed", A, DS, DS),
    ("deprecated", lambda d: unit(d).__setitem__("deprecated", {"notice": "2026-01-01", "valid-to": "2027-01-01"}), "dataset-deprecated", A, DS, DS),
    ("dataset added", lambda d: d["x-kontrakt-datasets"].__setitem__("Other", {"values": [{"name": "v", "value-type": "Uri"}], "source": {}}), "dataset-added", A, "/x-kontrakt-datasets", "/x-kontrakt-datasets/Other"),
    ("dataset removed without notice", lambda d: d["x-kontrakt-datasets"].pop("Unit"), "dataset-removed", B, DS, "/x-kontrakt-datasets"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "change", "kind", "verdict", "old_ptr", "new_ptr"), CASES, ids=[c[0] for c in CASES]
)
def test_dataset_rules(
    name: str, change: Any, kind: str, verdict: Verdict, old_ptr: str, new_ptr: str
) -> None:
    old = with_datasets()
    new = copy.deepcopy(old)
    change(new)
    change_found = only(diff(old, new, "dan", on=ON), kind)
    assert change_found.verdict is verdict
    assert (change_found.old_pointer, change_found.new_pointer) == (old_ptr, new_ptr)
    assert change_found.rule.startswith("DAN-")


@pytest.mark.parametrize(
    ("notice", "valid_to", "verdict", "rule"),
    [
        ("2026-01-01", "2026-03-01", W, "DAN-DATASET-RETIRED-EARLY"),  # notice 5 months ago
        ("2025-01-01", "2025-06-01", A, "DAN-DATASET-RETIRED"),  # 17 months ago
        (
            "2025-01-01",
            "2026-12-31",
            W,
            "DAN-DATASET-RETIRED-EARLY",
        ),  # still promised until valid-to
    ],
)
def test_retirement_after_notice_and_twelve_months(
    notice: str, valid_to: str, verdict: Verdict, rule: str
) -> None:
    old = with_datasets(deprecated={"notice": notice, "valid-to": valid_to})
    new = copy.deepcopy(old)
    new["x-kontrakt-datasets"].pop("Unit")
    change = only(diff(old, new, "dan", on=ON), "dataset-removed")
    assert (change.verdict, change.rule) == (verdict, rule)


def test_generic_rules_point_at_dan_for_datasets() -> None:
    old = with_datasets()
    new = copy.deepcopy(old)
    unit(new)["values"].pop()
    result = diff(old, new)
    assert result.changes == []
    assert any("--rules dan" in note for note in result.notes)


def test_status_codes_as_lifecycle_states_under_dan() -> None:
    old, new = base(), base()
    new["x-kontrakt-lifecycles"]["job"]["states"]["finished"] = new["x-kontrakt-lifecycles"]["job"][
        "states"
    ].pop("done")
    new["x-kontrakt-lifecycles"]["job"]["transitions"] = {"queued": ["finished"]}
    change = only(diff(old, new, "dan"), "lifecycle-state-renamed")
    assert (change.verdict, change.rule) == (B, "DAN-CODES-FROZEN")


def _write(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def _evidencecodes(values: list[tuple[str, str]], **extra: Any) -> list[dict[str, Any]]:
    return [
        {
            "evidenceCodeName": "UnitBasicInformation",
            "values": [{"evidenceValueName": n, "valueType": t} for n, t in values],
            "authorizationRequirements": [],
            **extra,
        }
    ]


def test_evidencecodes_snapshots(tmp_path: Path) -> None:
    old = load_document(
        _write(
            tmp_path, "old.json", _evidencecodes([("orgname", "string"), ("isBankrupt", "boolean")])
        )
    )
    new = load_document(
        _write(
            tmp_path, "new.json", _evidencecodes([("orgname", "string"), ("isBankrupt", "string")])
        )
    )
    result = diff_documents(old, new, "dan", on=ON)
    change = only(result, "dataset-value-type-changed")
    assert (change.old_pointer, change.new_pointer) == ("/0/values/1", "/0/values/1")
    assert result.fails("breaking")
    with pytest.raises(ValueError, match="--rules dan"):
        diff_documents(old, new, "generic")


def test_snapshot_retirement_uses_valid_to(tmp_path: Path) -> None:
    old = load_document(
        _write(
            tmp_path,
            "old.json",
            _evidencecodes(
                [("a", "string")], deprecationWarning="going", validTo="2026-01-31T00:00:00"
            ),
        )
    )
    new = load_document(_write(tmp_path, "evidencecodes-new.json", []))
    assert new.kind != "openapi"
    change = only(diff_documents(old, new, "dan", on=ON), "dataset-removed")
    assert change.verdict is A and "notice date is unknown" in change.message


def test_our_datasets_against_a_live_snapshot(tmp_path: Path) -> None:
    spec = with_datasets()
    snapshot = [
        {
            "evidenceCodeName": "Unit",
            "values": [
                {"evidenceValueName": "OrganizationNumber", "valueType": "number"},
                {"evidenceValueName": "OrganizationName", "valueType": "string"},
            ],
        }
    ]
    old = load_document(_write(tmp_path, "spec.json", spec))
    new = load_document(_write(tmp_path, "evidencecodes.json", snapshot))
    result = diff_documents(old, new, "dan", on=ON)
    assert [c.kind for c in result.changes] == [
        "dataset-value-removed"
    ]  # value types compare case-insensitively


def test_status_and_error_code_snapshots(tmp_path: Path) -> None:
    old = load_document(
        _write(
            tmp_path,
            "statuscodes-old.json",
            [{"code": 1, "description": "Available"}, {"code": 2, "description": "Pending"}],
        )
    )
    new = load_document(
        _write(
            tmp_path,
            "statuscodes-new.json",
            [{"code": 1, "description": "Ready"}, {"code": 5, "description": "Waiting"}],
        )
    )
    result = diff_documents(old, new, "dan")
    assert {(c.kind, c.verdict) for c in result.changes} == {
        ("status-code-removed", B),
        ("status-code-added", A),
        ("status-code-text-changed", W),
    }
    old = load_document(
        _write(tmp_path, "errorcodes-old.json", [{"code": 1001, "description": "Bad requestor"}])
    )
    new = load_document(
        _write(
            tmp_path,
            "errorcodes-new.json",
            [
                {"code": 1001, "description": "Invalid requestor"},
                {"code": 1030, "description": "New"},
            ],
        )
    )
    result = diff_documents(old, new, "dan")
    assert {(c.kind, c.rule) for c in result.changes} == {
        ("error-code-text-changed", "DAN-CODES-WORDING"),
        ("error-code-added", "DAN-CODES-ADDED"),
    }


def test_metadata_bundle(tmp_path: Path) -> None:
    bundle = {
        "evidencecodes": _evidencecodes([("a", "string")]),
        "errorcodes": [{"code": 1001, "description": "x"}],
        "statuscodes": [{"code": 1, "description": "ok"}],
    }
    changed = copy.deepcopy(bundle)
    changed["errorcodes"] = []
    old = load_document(_write(tmp_path, "a.json", bundle))
    new = load_document(_write(tmp_path, "b.json", changed))
    change = only(diff_documents(old, new, "dan"), "error-code-removed")
    assert change.old_pointer == "/errorcodes/0" and change.rule == "DAN-CODES-FROZEN"
