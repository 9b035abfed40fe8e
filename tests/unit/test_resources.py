"""Which copy of a contract certify uses: `--specs DIR`, then ./specs, then the shipped one.

A profile nobody has is an error naming every place looked in; a local copy that differs from the
shipped contract is used, with a note saying so; the shipped copy itself gives no note.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kontrakt.conformance.registry import resolve_spec_path
from kontrakt.conformance.spec import SpecError
from kontrakt.resources import bundled_spec, bundled_specs, local_copy_note, spec_roots


def test_lookup_order_and_the_error_names_every_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    labels = [label for label, _ in spec_roots(tmp_path / "mine")]
    assert labels[0] == f"--specs {tmp_path / 'mine'}" and labels[1] == "./specs"
    with pytest.raises(SpecError) as raised:
        resolve_spec_path("nosuch/v9", specs_dir=tmp_path / "mine")
    message = str(raised.value)
    assert "--specs" in message and "./specs" in message and str(bundled_specs()) in message


def test_the_shipped_copy_is_found_from_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    found = resolve_spec_path("dps/v1")
    assert found == bundled_spec("specs/dps/v1/openapi.yaml").resolve()
    assert local_copy_note(found, "dps/v1") is None


def test_a_differing_local_copy_wins_and_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    local = tmp_path / "specs" / "dps" / "v1" / "openapi.yaml"
    local.parent.mkdir(parents=True)
    shipped = bundled_spec("dps/v1/openapi.yaml").read_text()
    local.write_text(shipped)
    assert resolve_spec_path("dps/v1") == local.resolve()
    assert local_copy_note(local, "dps/v1") is None  # identical: nothing to say
    local.write_text(shipped + "\n# edited\n")
    note = local_copy_note(local, "dps/v1")
    assert note is not None and str(local) in note and "differs" in note
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "dps" / "v1").mkdir(parents=True)
    (elsewhere / "dps" / "v1" / "openapi.yaml").write_text(shipped)
    assert (
        resolve_spec_path("dps/v1", specs_dir=elsewhere)
        == (elsewhere / "dps" / "v1" / "openapi.yaml").resolve()
    )
