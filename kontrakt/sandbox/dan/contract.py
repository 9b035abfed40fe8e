"""What the DAN sandbox reads from the contract itself (specs/dan/v1/openapi.yaml), at start.

The public metadata must say exactly what the spec says (issue #7's live versioning checks compare
them): the error list comes from `x-kontrakt-error-catalogue`, the status list from the `consent`
lifecycle in `x-kontrakt-lifecycles`, and every dataset's value names and types from
`x-kontrakt-datasets`. Python keeps no copy of these tables; it names an error by the DAN
exception class name the catalogue records (`name`), and the code and HTTP status come from the
catalogue entry of that name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kontrakt.resources import bundled_spec
from kontrakt.runtime import server as rt

__all__ = [
    "DEFAULT_SPEC",
    "Contract",
    "DatasetSpec",
    "ErrorSpec",
    "StateSpec",
    "ValueSpec",
]

DEFAULT_SPEC = bundled_spec("dan/v1/openapi.yaml")


@dataclass(frozen=True)
class ErrorSpec:
    """One catalogue entry: the integer code, its HTTP status, DAN's exception name, its title."""

    code: int
    status: int
    name: str
    title: str

    def message(self, detail: str | None = None) -> str:
        """FACTS §3.8: the default message, or "<default message>: <specific detail>"."""
        if not detail:
            return self.title
        return f"{self.title.rstrip('.')}: {detail}"


@dataclass(frozen=True)
class ValueSpec:
    name: str
    value_type: str  # the wire form: number, string, dateTime, jsonSchema, ...
    description: str | None


@dataclass(frozen=True)
class DatasetSpec:
    """One `x-kontrakt-datasets` entry, as the sandbox serves it."""

    name: str
    description: str
    requires_consent: bool
    values: tuple[ValueSpec, ...]
    deprecation_warning: str | None
    valid_to: dt.datetime | None  # end of support of a deprecated dataset

    def value(self, name: str) -> ValueSpec | None:
        return next((v for v in self.values if v.name == name), None)

    def retired(self, now: dt.datetime) -> bool:
        """Past its announced end of support (FACTS §6 row 7: withdrawn from its source)."""
        return self.valid_to is not None and now >= self.valid_to


@dataclass(frozen=True)
class StateSpec:
    name: str
    code: int
    description: str
    terminal: bool
    listed: bool = True  # `listed: false`: left out of /public/metadata/statuscodes (FACTS §6)


def _wire_type(value_type: str) -> str:
    # x-kontrakt-datasets spells value types in PascalCase (the plugins' enum names); DAN sends
    # them lower-camel (DAN-JSON-CAMELCASE): DateTime -> dateTime, JsonSchema -> jsonSchema.
    return value_type[:1].lower() + value_type[1:]


def _end_of_day(value: Any) -> dt.datetime:
    day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


class Contract:
    """The DAN document's catalogues, read once."""

    def __init__(self, document: Mapping[str, Any], source: str = "") -> None:
        self.source = source
        catalogue = document["x-kontrakt-error-catalogue"]["codes"]
        self.errors: dict[int, ErrorSpec] = {}
        for key, entry in catalogue.items():
            status = entry["status"]
            first = status[0] if isinstance(status, list) else status
            spec = ErrorSpec(int(key), int(first), str(entry["name"]), str(entry["title"]))
            self.errors[spec.code] = spec
        self.by_name = {spec.name: spec for spec in self.errors.values()}

        lifecycle = document["x-kontrakt-lifecycles"]["consent"]
        self.states: dict[str, StateSpec] = {
            name: StateSpec(
                name,
                int(s["code"]),
                str(s["description"]),
                bool(s["terminal"]),
                s.get("listed") is not False,
            )
            for name, s in lifecycle["states"].items()
        }
        self.transitions: dict[str, tuple[str, ...]] = {
            name: tuple(targets) for name, targets in lifecycle["transitions"].items()
        }
        self.initial_state = str(lifecycle["initial"])
        # DAN-ACCR-VALIDTO-DEFAULT: validTo's x-kontrakt-default-offset (FACTS §2.1 step 8).
        request = document["components"]["schemas"]["AuthorizationRequest"]
        valid_to = request["properties"]["validTo"]
        self.default_valid_days = int(valid_to["x-kontrakt-default-offset"]["days"])

        self.datasets: dict[str, DatasetSpec] = {}
        for name, entry in document.get("x-kontrakt-datasets", {}).items():
            deprecated = entry.get("deprecated") or {}
            self.datasets[name] = DatasetSpec(
                name=name,
                description=" ".join(str(entry.get("description", "")).split()),
                requires_consent=bool(entry.get("requires-consent", False)),
                values=tuple(
                    ValueSpec(
                        str(v["name"]), _wire_type(str(v["value-type"])), v.get("description")
                    )
                    for v in entry["values"]
                ),
                deprecation_warning=deprecated.get("warning") if deprecated else None,
                valid_to=_end_of_day(deprecated["valid-to"]) if deprecated else None,
            )

    @classmethod
    def load(cls, path: str | Path | None = None) -> Contract:
        where = Path(path) if path else DEFAULT_SPEC
        return cls(yaml.safe_load(where.read_text(encoding="utf-8")), str(where))

    # --- errors --------------------------------------------------------------------------------

    def error(self, name: str) -> ErrorSpec:
        """The catalogue entry of DAN exception `name` (a KeyError names a spec/provider drift)."""
        try:
            return self.by_name[name]
        except KeyError:
            raise KeyError(f"{name} is not in {self.source}'s error catalogue") from None

    def problem(
        self, name: str, detail: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> rt.ApiProblem:
        """The ApiProblem for DAN exception `name`: code and status from the catalogue.

        The gateway layer prefixes the code's default message to the detail (FACTS §3.8), so the
        problem carries only the detail.
        """
        spec = self.error(name)
        return rt.ApiProblem(spec.status, spec.code, detail or "", headers=headers)

    def error_list(self) -> list[dict[str, Any]]:
        """/public/metadata/errorcodes: every catalogue code with its default message (§2.8)."""
        return [
            {"code": s.code, "description": s.title}
            for s in sorted(self.errors.values(), key=lambda s: s.code)
        ]

    # --- statuses ------------------------------------------------------------------------------

    def status(self, state: str) -> dict[str, Any]:
        """An EvidenceStatusCode for a lifecycle state; code 0 has an empty description (§3.3)."""
        spec = self.states[state]
        return {"code": spec.code, "description": "" if spec.code == 0 else spec.description}

    def status_list(self) -> list[dict[str, Any]]:
        """/public/metadata/statuscodes: the lifecycle's states, without those marked unlisted."""
        listed = [s for s in self.states.values() if s.listed]
        return [self.status(s.name) for s in sorted(listed, key=lambda s: s.code)]

    def may_move(self, current: str, target: str) -> bool:
        return target in self.transitions.get(current, ())
