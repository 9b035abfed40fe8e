"""Check digits of Norwegian identifiers, so that every fixture number is synthetic yet valid.

Fixtures use made-up national identity numbers (fødselsnummer/D-number), organisation numbers
and account numbers whose check digits are right: a provider under test validates them exactly
as it would real ones, while no number belongs to a real person. `tests/unit/sandbox` checks
every identifier in `kontrakt/sandbox/fixtures/` with these functions.
"""

from __future__ import annotations

__all__ = [
    "is_account_number",
    "is_national_id",
    "is_organisation_number",
    "is_synthetic_national_id",
    "mod11",
    "synthetic_national_id",
    "with_account_check_digit",
    "with_national_id_check_digits",
    "with_organisation_check_digit",
]

_ORG_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)
_ACCOUNT_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def mod11(digits: str, weights: tuple[int, ...]) -> int | None:
    """The modulus-11 check digit of `digits` under `weights`, or None when none exists (10)."""
    if len(digits) != len(weights) or not digits.isdigit():
        raise ValueError(f"expected {len(weights)} digits, got {digits!r}")
    remainder = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    check = 0 if remainder == 0 else 11 - remainder
    return None if check == 10 else check


def with_organisation_check_digit(body: str) -> str:
    """A 9-digit organisation number from its first 8 digits (Brønnøysund's MOD11)."""
    check = mod11(body, _ORG_WEIGHTS)
    if check is None:
        raise ValueError(f"{body!r} has no valid organisation check digit")
    return body + str(check)


def is_organisation_number(value: str) -> bool:
    """Whether `value` is 9 digits with a valid check digit."""
    if len(value) != 9 or not value.isdigit():
        return False
    return mod11(value[:8], _ORG_WEIGHTS) == int(value[8])


def with_account_check_digit(body: str) -> str:
    """An 11-digit Norwegian account number (BBAN) from its first 10 digits."""
    check = mod11(body, _ACCOUNT_WEIGHTS)
    if check is None:
        raise ValueError(f"{body!r} has no valid account check digit")
    return body + str(check)


def is_account_number(value: str) -> bool:
    """Whether `value` is an 11-digit account number with a valid check digit."""
    if len(value) != 11 or not value.isdigit():
        return False
    return mod11(value[:10], _ACCOUNT_WEIGHTS) == int(value[10])


def with_national_id_check_digits(body: str) -> str:
    """An 11-digit national identity number (or D-number) from its first 9 digits (k1, k2)."""
    k1 = mod11(body, _K1_WEIGHTS)
    if k1 is None:
        raise ValueError(f"{body!r} has no valid first check digit")
    k2 = mod11(body + str(k1), _K2_WEIGHTS)
    if k2 is None:
        raise ValueError(f"{body!r} has no valid second check digit")
    return f"{body}{k1}{k2}"


def is_national_id(value: str) -> bool:
    """Whether `value` is 11 digits whose two check digits are valid."""
    if len(value) != 11 or not value.isdigit():
        return False
    try:
        return with_national_id_check_digits(value[:9]) == value
    except ValueError:
        return False


def synthetic_national_id(day: int, month: int, year: int, serial: int = 100) -> str:
    """A synthetic identity number in Skatteetaten's test-data (Tenor) form: month + 80.

    No real person has a month above 12, so these never name anyone; the individual number is
    the first in `serial`.. that gives valid check digits.
    """
    for individual in range(serial, 1000):
        body = f"{day:02d}{month + 80:02d}{year % 100:02d}{individual:03d}"
        try:
            return with_national_id_check_digits(body)
        except ValueError:
            continue
    raise ValueError(f"no valid synthetic number for {day}.{month}.{year} from {serial}")


def is_synthetic_national_id(value: str) -> bool:
    """Whether `value` is a valid identity number in the synthetic (Tenor, month + 80) form."""
    return is_national_id(value) and 81 <= int(value[2:4]) <= 92
