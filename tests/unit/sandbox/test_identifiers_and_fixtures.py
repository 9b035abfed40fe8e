"""Check digits, and the promise that every identifier in kontrakt/sandbox/fixtures is synthetic.

Fixtures are scanned as text: any 11-digit run must be either a valid account number or a
synthetic identity number (Tenor form, month + 80), and any 9-digit organisation number must have
a valid check digit. A real-looking identity number (valid check digits, real month) fails.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kontrakt.sandbox.identifiers import (
    is_account_number,
    is_national_id,
    is_organisation_number,
    is_synthetic_national_id,
    mod11,
    synthetic_national_id,
    with_account_check_digit,
    with_national_id_check_digits,
    with_organisation_check_digit,
)

FIXTURES = Path(__file__).resolve().parents[3] / "kontrakt" / "sandbox" / "fixtures"
TEXT_FIXTURES = sorted(p for p in FIXTURES.rglob("*") if p.suffix in {".yaml", ".yml", ".json"})


def test_known_check_digits() -> None:
    # Brønnøysund's own example of the MOD11 rule, and the weights for account numbers.
    assert with_organisation_check_digit("97476107") == "974761076"
    assert is_organisation_number("974761076")
    assert not is_organisation_number("974761077")
    assert is_account_number(with_account_check_digit("1503000000"))
    assert mod11("00000000", (3, 2, 7, 6, 5, 4, 3, 2)) == 0


@given(st.integers(1, 28), st.integers(1, 12), st.integers(1900, 2025), st.integers(100, 899))
def test_synthetic_national_ids_are_valid_and_never_real(
    day: int, month: int, year: int, serial: int
) -> None:
    number = synthetic_national_id(day, month, year, serial)
    assert is_national_id(number)
    assert is_synthetic_national_id(number)
    assert int(number[2:4]) == month + 80


@given(st.text("0123456789", min_size=9, max_size=9))
def test_national_id_check_digits_round_trip(body: str) -> None:
    try:
        number = with_national_id_check_digits(body)
    except ValueError:
        return
    assert is_national_id(number)
    assert not is_national_id(number[:10] + str((int(number[10]) + 1) % 10))


def test_a_real_form_number_is_not_synthetic() -> None:
    real_form = with_national_id_check_digits("010170123")
    assert is_national_id(real_form)
    assert not is_synthetic_national_id(real_form)


@pytest.mark.parametrize("path", TEXT_FIXTURES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_identifiers_are_synthetic(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for number in re.findall(r"(?<![\d.-])\d{11}(?![\d.-])", text):
        assert is_account_number(number) or is_synthetic_national_id(number), (
            f"{path.name}: {number} is neither an account number nor a synthetic identity number"
        )
    for number in re.findall(r"(?<![\d.:-])\d{9}(?![\d.-])", text):
        assert is_organisation_number(number), f"{path.name}: {number} has a bad check digit"


def test_there_are_fixtures_to_check() -> None:
    assert any(p.name == "clients.yaml" for p in TEXT_FIXTURES)
