"""`dsop-control-2`: a second DSOP Control v2.0 sandbox bank, so the register's answers lead somewhere.

The same reference bank as `dsop-control` (`kontrakt.sandbox.dsop_control`) over another fixture,
`kontrakt/sandbox/fixtures/dsop-bank2.yaml` (Kontrakt Andrebank ASA, 310000213), with its own base
URL and therefore its own token audience. Its database is always in memory (the first bank's file
name in a state folder is `dsop-control.sqlite3`; this one must not replace it).

`bank_catalogue(base_urls)` is the small catalogue a consumer uses to find each bank's base URL
(standing in for Digdir's API catalogue): bank organisation number -> base URL of the DSOP Control
provider serving it, for every DSOP Control provider in `base_urls`.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from starlette.types import ASGIApp

from kontrakt.sandbox.dsop_control import FIXTURE, Fixture, build_app, build_bank
from kontrakt.sandbox.launch import SandboxContext

__all__ = ["BANK_FIXTURES", "NAME", "bank_catalogue", "create_app"]

NAME = "dsop-control-2"
FIXTURE_2 = FIXTURE.with_name("dsop-bank2.yaml")
BANK_FIXTURES: Mapping[str, Path] = {"dsop-control": FIXTURE, NAME: FIXTURE_2}


def bank_catalogue(
    base_urls: Mapping[str, str], fixtures: Mapping[str, Path] | None = None
) -> dict[str, dict[str, str]]:
    """Organisation number -> {name, provider, baseUrl} for each DSOP Control bank served."""
    chosen = {**BANK_FIXTURES, **(fixtures or {})}
    catalogue: dict[str, dict[str, str]] = {}
    for provider, path in chosen.items():
        if provider not in base_urls:
            continue
        bank = yaml.safe_load(Path(path).read_text(encoding="utf-8"))["bank"]
        catalogue[str(bank["organisation"])] = {
            "name": str(bank["name"]),
            "provider": provider,
            "baseUrl": base_urls[provider],
        }
    return dict(sorted(catalogue.items()))


def create_app(
    context: SandboxContext,
    *,
    environment: str = "test",
    rate_limit: int | None = None,
    page_size: int = 1000,
    accounts_page_size: int = 1000,
    today: datetime.date | str | None = None,
    fixture: str | Path | None = None,
    **unknown: Any,
) -> ASGIApp:
    """`kontrakt serve dsop-control-2`: the options of `dsop-control`, another default fixture."""
    if unknown:
        raise TypeError(f"unknown {NAME} option(s): {', '.join(sorted(unknown))}")
    # The reference bank's wiring names its provider "dsop-control"; give it this bank's URL
    # (its token audience) under that name and keep the database in memory.
    own = dataclasses.replace(
        context,
        base_urls={**context.base_urls, "dsop-control": context.base_urls[NAME]},
        state_dir=None,
    )
    bank = build_bank(
        own,
        fixture=Fixture.load(Path(fixture) if fixture else FIXTURE_2),
        rate_limit=rate_limit,
        page_size=page_size,
        accounts_page_size=accounts_page_size,
        today=today,
    )
    return build_app(bank, own, environment=environment)
