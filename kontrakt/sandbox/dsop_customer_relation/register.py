"""The sandbox's stand-in for Bits' KAR and KFR registers: banks, relationships, account owners.

`Register.load(path)` reads `kontrakt/sandbox/fixtures/dsop-register.yaml`. A NICS bank there names
a DSOP Control fixture (`dsop.yaml`, `dsop-bank2.yaml`); its relationships are derived from that
fixture's account roles, so every bank the register names for a party holds that party's accounts
in the DSOP Control sandbox serving that fixture. A KFR bank (outside NICS) lists its
relationships in the register file itself and has no accounts the register can see.

Rules (FACTS §7; choices where v2.0 is silent are marked ASSUMPTION):
- a relationship counts for a period when its [from, to] interval overlaps [fromDate, toDate];
- ASSUMPTION (A-CRO, OwnershipType): a party is `primaryOwner` at a bank when one of its
  overlapping relationships is a primary role (`primary: true`), otherwise `notPrimaryOwner`;
- `activeAccount` is true only when toDate is today, the bank is in NICS, and the party holds a
  primary or right-to-use role, valid today, on an open account that can be credited through NICS
  (ASSUMPTION: every account type except `loanAccount` and `accountWithoutBalance`); always false
  for a KFR bank;
- `accountServicingProvider` knows exactly the account numbers of the NICS banks' fixtures.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kontrakt.sandbox.dsop_control.data import resolve_date

__all__ = ["REGISTER", "BankEntry", "Register", "Relationship"]

REGISTER = Path(__file__).resolve().parent.parent / "fixtures" / "dsop-register.yaml"
NOT_CREDITABLE = frozenset({"loanAccount", "accountWithoutBalance"})
USE_PERMISSIONS = frozenset({"rightToUseAlone", "rightToUseWithOther"})


@dataclass(frozen=True)
class Relationship:
    """One party's relationship with one bank over [start, end] (end None: still open)."""

    party: str
    primary: bool
    start: datetime.date
    end: datetime.date | None
    creditable: bool  # a usable role on an open account creditable through NICS

    def overlaps(self, first: datetime.date, last: datetime.date) -> bool:
        return self.start <= last and (self.end is None or self.end >= first)

    def valid_on(self, day: datetime.date) -> bool:
        return self.overlaps(day, day)


@dataclass(frozen=True)
class BankEntry:
    """A bank the register knows: organisation number, name, NICS or KFR, its relationships."""

    organisation: str
    name: str
    nics: bool
    fixture: Path | None
    relationships: tuple[Relationship, ...]
    accounts: frozenset[str]


def _date(value: Any, today: datetime.date) -> datetime.date:
    return resolve_date(value, today)


def _from_fixture(path: Path, nics: bool, today: datetime.date) -> BankEntry:
    data: Mapping[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    relationships: list[Relationship] = []
    numbers: set[str] = set()
    for account in data.get("accounts", ()):
        number = str(account["number"])
        numbers.add(number)
        closed = _date(account["closed"], today) if account.get("closed") is not None else None
        open_account = str(account.get("status", "enabled")) != "disabled"
        kind = str(account.get("type", ""))
        for role in account.get("roles", ()):
            end = _date(role["to"], today) if role.get("to") is not None else None
            if closed is not None and (end is None or end > closed):
                end = closed
            usable = bool(role.get("primary")) or role.get("permission") in USE_PERMISSIONS
            relationships.append(
                Relationship(
                    party=str(role["party"]),
                    primary=bool(role.get("primary", False)),
                    start=_date(role["from"], today),
                    end=end,
                    creditable=nics and usable and open_account and kind not in NOT_CREDITABLE,
                )
            )
    bank = data["bank"]
    return BankEntry(
        str(bank["organisation"]),
        str(bank["name"]),
        nics,
        path,
        tuple(relationships),
        frozenset(numbers),
    )


def _listed(entry: Mapping[str, Any], today: datetime.date) -> BankEntry:
    relationships = tuple(
        Relationship(
            party=str(r["party"]),
            primary=bool(r.get("primary", False)),
            start=_date(r["from"], today),
            end=_date(r["to"], today) if r.get("to") is not None else None,
            creditable=False,  # KFR: never an account creditable through NICS
        )
        for r in entry.get("relationships", ())
    )
    return BankEntry(
        str(entry["organisation"]),
        str(entry["name"]),
        bool(entry.get("nics", False)),
        None,
        relationships,
        frozenset(str(a) for a in entry.get("accounts", ())),
    )


@dataclass(frozen=True)
class Relation:
    """One line of a customerRelationships answer, before it becomes the generated model."""

    organisation: str
    name: str
    active_account: bool
    primary_owner: bool


class Register:
    """The banks and their relationships, with the two queries the API answers."""

    def __init__(self, banks: Sequence[BankEntry]) -> None:
        self.banks = tuple(banks)

    @classmethod
    def load(cls, path: Path = REGISTER, *, today: datetime.date | None = None) -> Register:
        day = today or datetime.date.today()
        data: Mapping[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        banks: list[BankEntry] = []
        for entry in data.get("banks", ()):
            if entry.get("fixture"):
                fixture = (path.parent / str(entry["fixture"])).resolve()
                banks.append(_from_fixture(fixture, bool(entry.get("nics", True)), day))
            else:
                banks.append(_listed(entry, day))
        return cls(banks)

    def relations(
        self,
        party: str,
        first: datetime.date,
        last: datetime.date,
        today: datetime.date,
    ) -> list[Relation]:
        """The banks `party` had a relationship with in [first, last], in register order."""
        found: list[Relation] = []
        for bank in self.banks:
            mine = [r for r in bank.relationships if r.party == party and r.overlaps(first, last)]
            if not mine:
                continue
            active = (
                bank.nics
                and last == today
                and any(r.creditable and r.valid_on(today) for r in mine)
            )
            found.append(
                Relation(bank.organisation, bank.name, active, any(r.primary for r in mine))
            )
        return found

    def servicing(self, account: str) -> BankEntry | None:
        """The bank servicing `account`, or None when no bank in the register holds it."""
        return next((b for b in self.banks if account in b.accounts), None)
