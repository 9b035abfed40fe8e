"""The DSOP services (Skatt-Kontroll, Politi-Utlevering, OED, ...) as the spec defines them.

Everything here is read from `x-kontrakt-services` of the DSOP Control v2.0 document at start:
which operations a service may call and what answers a call outside them, its legal mandates,
which OnlyPrimaryOwner values it accepts, the AdditionalReferenceIDType it needs, whether
RequesterID is required, and its period rule (also a limit counted from a date in another
register, `event` and `max-months-before-event`). Python holds only the logic that applies them; the
sandbox fixture adds nothing but the TEST consumer organisation of each service.
"""

from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kontrakt.generated.dsop_control_v2 import api
from kontrakt.resources import bundled_spec

__all__ = [
    "SPEC_PATH",
    "Outside",
    "Period",
    "Service",
    "ServiceCatalogue",
    "months_before",
    "normalise_mandate",
    "years_before",
]

SPEC_PATH = bundled_spec(api.SOURCE)  # specs/dsop-control/v2.0/openapi.yaml, the package's source


def normalise_mandate(text: str) -> str:
    """A mandate compared as Unicode NFC text (the header is URL-decoded before this)."""
    return unicodedata.normalize("NFC", text)


def months_before(day: datetime.date, months: int) -> datetime.date:
    """`day` minus whole calendar months, the day clamped to the target month's length."""
    index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(index, 12)
    month += 1
    following = datetime.date(year + (month == 12), month % 12 + 1, 1)
    last = (following - datetime.timedelta(days=1)).day
    return datetime.date(year, month, min(day.day, last))


def years_before(day: datetime.date, years: int) -> datetime.date:
    return months_before(day, 12 * years)


@dataclass(frozen=True)
class Outside:
    """What a call outside the service's operations is answered with (`outside` in the spec)."""

    status: int
    code: str


@dataclass(frozen=True)
class Period:
    """`constraints.period`: how far back fromDate may reach and which days from/to must be."""

    max_years_back: int | None
    from_date: str  # any | today | start-of-last-year
    to_date: str  # any | today | end-of-last-year
    note: str = ""
    event: str | None = None  # date-of-death | bankruptcy-ruling: the party's date counted from
    max_months_before_event: int | None = None  # fromDate at most this many months before it


@dataclass(frozen=True)
class Service:
    """One entry of `x-kontrakt-services`."""

    name: str
    title: str
    operations: frozenset[str]
    outside: Outside
    legal_mandates: tuple[str, ...]
    only_primary_owner: frozenset[bool]
    additional_reference_id_type: str | None
    requester_id: str  # required | optional
    period: Period

    @property
    def requires_requester_id(self) -> bool:
        return self.requester_id == "required"

    def allows(self, operation_id: str) -> bool:
        return operation_id in self.operations


def _service(name: str, entry: Mapping[str, Any]) -> Service:
    constraints = entry.get("constraints", {})
    period = constraints.get("period", {})
    outside = entry["outside"]
    return Service(
        name=name,
        title=str(entry.get("title", name)),
        operations=frozenset(entry["operations"]),
        outside=Outside(int(outside["status"]), str(outside["code"])),
        legal_mandates=tuple(
            normalise_mandate(str(m)) for m in constraints.get("legal-mandates", ())
        ),
        only_primary_owner=frozenset(
            bool(v) for v in constraints.get("only-primary-owner", (True, False))
        ),
        additional_reference_id_type=constraints.get("additional-reference-id-type"),
        requester_id=str(constraints.get("requester-id", "optional")),
        period=Period(
            max_years_back=period.get("max-years-back"),
            from_date=str(period.get("from-date", "any")),
            to_date=str(period.get("to-date", "any")),
            note=str(period.get("note", "")),
            event=str(period["event"]) if period.get("event") else None,
            max_months_before_event=(
                int(period["max-months-before-event"])
                if period.get("max-months-before-event") is not None
                else None
            ),
        ),
    )


class ServiceCatalogue:
    """The spec's services by name and by legal mandate."""

    def __init__(self, services: Sequence[Service]) -> None:
        self.services = {s.name: s for s in services}
        self._by_mandate: dict[str, Service] = {}
        for service in services:
            for mandate in service.legal_mandates:
                if mandate in self._by_mandate:
                    raise ValueError(f"mandate {mandate!r} belongs to two services")
                self._by_mandate[mandate] = service

    @classmethod
    def from_spec(cls, path: Path = SPEC_PATH) -> ServiceCatalogue:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        entries = document.get("x-kontrakt-services") or {}
        return cls([_service(name, entry) for name, entry in entries.items()])

    def by_mandate(self, mandate: str) -> Service | None:
        """The service whose legal mandates include the (URL-decoded) text, or None."""
        return self._by_mandate.get(normalise_mandate(mandate))

    def __getitem__(self, name: str) -> Service:
        return self.services[name]

    def __iter__(self) -> Any:
        return iter(self.services.values())
