"""Synthetic Norwegian national identity numbers with valid check digits, for fixtures only."""

from __future__ import annotations

import random

W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _check(digits: str, weights: tuple[int, ...]) -> int | None:
    value = (11 - sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11) % 11
    return None if value == 10 else value


def complete(nine: str) -> str | None:
    """The 11-digit number with `nine` as its first digits, or None when no check digit fits."""
    k1 = _check(nine, W1)
    if k1 is None:
        return None
    k2 = _check(nine + str(k1), W2)
    return None if k2 is None else f"{nine}{k1}{k2}"


def synthetic_nin(rng: random.Random) -> str:
    """A synthetic number: day 41-71 (a D-number range no person is born on), valid check digits."""
    while True:
        nine = f"{rng.randint(41, 71):02d}{rng.randint(1, 12):02d}{rng.randint(0, 99):02d}"
        nine += f"{rng.randint(0, 999):03d}"
        number = complete(nine)
        if number is not None:
            return number
