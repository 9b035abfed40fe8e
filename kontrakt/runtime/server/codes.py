"""Which domain code answers which failure: the document's error uses, looked up by trigger.

The generator emits, per API and per operation, the `x-kontrakt-errors` entries of the error
responses as plain data: `{trigger: [(status, code, parameters), ...]}`. The server never holds its
own copy of the codes; it asks the table for the code of a trigger (and the parameter concerned).
"""

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kontrakt.runtime.server.errors import TRIGGER_STATUS, Code

__all__ = [
    "SERVER_TRIGGERS",
    "SITUATIONS",
    "SITUATION_WORD",
    "TRIGGERS",
    "ErrorTable",
    "ErrorUse",
    "ErrorUseData",
    "MissingTriggerError",
]

TRIGGERS: frozenset[str] = frozenset(TRIGGER_STATUS)
"""Every trigger of the vocabulary in specs/README.md."""

SERVER_TRIGGERS: tuple[str, ...] = (
    "unauthenticated",
    "forbidden",
    "method-not-allowed",
    "not-acceptable",
    "missing-parameter",
    "invalid-parameter",
    "invalid-body",
    "unsupported-media-type",
    "payload-too-large",
    "server-error",
)
"""The triggers the runtime itself answers (validation, authentication, negotiation, failures)."""

SITUATIONS: tuple[str, ...] = ("missing", "invalid", "malformed")
"""Finer cases the runtime distinguishes within one trigger: a credential or parameter that is
absent (`missing`) or present but refused (`invalid`), and a body that does not parse
(`malformed`). An error use may carry one to win the lookup for that case (DAN 1023 vs 1024).

A document may also tag an error use with a situation word of its own (`source-transient`,
`unknown-dataset`: lower-case kebab-case, `SITUATION_WORD`); a handler names it in
`ApiProblem.from_trigger(trigger, message, situation=...)` to choose among codes that share a
trigger and status (DAN 3001 vs 1013 at 503). The runtime never asks for those itself, so for its
own failures an untagged entry wins over them."""

SITUATION_WORD = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
"""The form of a situation (the vocabulary schema's pattern for `situation`)."""

# A 400 is a 400: an API that names one code for bad input uses it for all three kinds.
_RELATED: Mapping[str, tuple[str, ...]] = {
    "missing-parameter": ("invalid-parameter", "invalid-body"),
    "invalid-parameter": ("missing-parameter", "invalid-body"),
    "invalid-body": ("invalid-parameter", "missing-parameter"),
}


@dataclass(frozen=True)
class ErrorUse:
    """One `x-kontrakt-errors` entry: the status and code, and the parameters it concerns."""

    status: int
    code: Code
    parameters: tuple[str, ...] = ()
    situation: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.status, bool) or not 400 <= int(self.status) <= 599:
            raise ValueError(f"error use {self.code!r}: status {self.status!r} is not 4xx/5xx")
        if self.situation is not None and not (
            isinstance(self.situation, str) and SITUATION_WORD.fullmatch(self.situation)
        ):
            raise ValueError(
                f"error use {self.code!r}: situation {self.situation!r} is not a lower-case "
                "kebab-case word"
            )

    def concerns(self, parameter: str) -> bool:
        """Whether the entry lists `parameter` (header names compare case-insensitively)."""
        folded = parameter.casefold()
        return any(name.casefold() == folded for name in self.parameters)


ErrorUseData = (
    ErrorUse
    | tuple[int, Code]
    | tuple[int, Code, Sequence[str]]
    | tuple[int, Code, Sequence[str], str | None]
    | Mapping[str, Any]
)
"""What the generator may emit for one entry: an `ErrorUse`, a tuple
`(status, code, parameters[, situation])`, or a mapping with those keys."""


def _to_use(data: ErrorUseData) -> ErrorUse:
    if isinstance(data, ErrorUse):
        return data
    if isinstance(data, Mapping):
        return ErrorUse(
            status=int(data["status"]),
            code=data["code"],
            parameters=tuple(data.get("parameters", ())),
            situation=data.get("situation"),
        )
    status, code = data[0], data[1]
    names: Any = data[2] if len(data) > 2 else ()
    situation: Any = data[3] if len(data) > 3 else None
    if isinstance(names, str):
        raise TypeError(f"error use {code!r}: parameters must be a sequence of names")
    return ErrorUse(int(status), code, tuple(names or ()), situation)


class MissingTriggerError(LookupError):
    """A trigger the server must answer has no code in the document (raised when building)."""

    def __init__(self, missing: Iterable[str], *, where: str = "") -> None:
        self.missing = tuple(missing)
        names = ", ".join(self.missing)
        place = f" {where}" if where else ""
        super().__init__(
            f"no error code for trigger(s) {names}{place}: add an x-kontrakt-errors entry with "
            "that trigger to a response of the right status, or pass fallbacks= to ErrorTable"
        )


class ErrorTable:
    """The codes one API (or one operation) answers, by trigger.

    A lookup prefers, in this order: an entry that lists the parameter concerned; an entry that
    lists no parameters; any entry. Within that, an entry tagged with the asked situation beats an
    untagged one, which beats one tagged for another situation. Among equally good entries the code
    used most often wins (Sdir's many VALIDATION_FAILED uses over one MALFORMED_JSON), then the
    first in document order.

    When a trigger has no entry, `fallbacks` (trigger -> another trigger, or an explicit
    `(status, code)` the generator took from an assumption) is tried, then the related 400
    triggers (`missing-parameter`, `invalid-parameter`, `invalid-body` stand in for each other).
    `require` lists triggers that must resolve, checked at once.
    """

    def __init__(
        self,
        uses: Mapping[str, Sequence[ErrorUseData]],
        *,
        require: Iterable[str] = (),
        fallbacks: Mapping[str, str | tuple[int, Code]] | None = None,
    ) -> None:
        table: dict[str, tuple[ErrorUse, ...]] = {}
        for trigger, entries in uses.items():
            _check_trigger(trigger)
            table[trigger] = tuple(_to_use(entry) for entry in entries)
        self._uses = table
        self.has_codes = any(table.values()) or bool(fallbacks)
        self._fallbacks: dict[str, str | ErrorUse] = {}
        for trigger, target in (fallbacks or {}).items():
            _check_trigger(trigger)
            if isinstance(target, str):
                _check_trigger(target)
                self._fallbacks[trigger] = target
            else:
                status, code = target
                self._fallbacks[trigger] = ErrorUse(int(status), code)
        self.require(require)

    @classmethod
    def union(cls, tables: Iterable["ErrorTable"]) -> "ErrorTable":
        """One table holding every table's entries (an API's table from its operations')."""
        merged: dict[str, list[ErrorUse]] = {}
        fallbacks: dict[str, str | tuple[int, Code]] = {}
        for table in tables:
            for trigger, entries in table._uses.items():
                merged.setdefault(trigger, []).extend(entries)
            for trigger, target in table._fallbacks.items():
                fallbacks.setdefault(
                    trigger, target if isinstance(target, str) else (target.status, target.code)
                )
        return cls(merged, fallbacks=fallbacks)

    @property
    def triggers(self) -> frozenset[str]:
        """Triggers with at least one entry of their own (fallbacks not counted)."""
        return frozenset(trigger for trigger, entries in self._uses.items() if entries)

    def uses(self, trigger: str) -> tuple[ErrorUse, ...]:
        """The entries for `trigger`, in document order."""
        return self._uses.get(trigger, ())

    def find(
        self,
        trigger: str,
        parameter: str | None = None,
        *,
        situation: str | None = None,
        status: int | None = None,
    ) -> tuple[int, Code] | None:
        """The `(status, code)` for a trigger, or None when neither it nor a fallback has one.

        `status` keeps only entries with that status (DAN answers some unknown ids with 403).
        """
        _check_trigger(trigger)
        return self._find(trigger, parameter, situation, status, seen=set())

    def for_trigger(
        self,
        trigger: str,
        parameter: str | None = None,
        *,
        situation: str | None = None,
        status: int | None = None,
    ) -> tuple[int, Code]:
        """The `(status, code)` for a trigger; `MissingTriggerError` when there is none."""
        found = self.find(trigger, parameter, situation=situation, status=status)
        if found is None:
            raise MissingTriggerError([trigger])
        return found

    def for_status(self, status: int) -> Code | None:
        """The first code any entry maps to `status` (for errors raised without a trigger)."""
        for entries in self._uses.values():
            for use in entries:
                if use.status == status:
                    return use.code
        for target in self._fallbacks.values():
            if isinstance(target, ErrorUse) and target.status == status:
                return target.code
        return None

    def missing(self, triggers: Iterable[str]) -> tuple[str, ...]:
        """The triggers among `triggers` that resolve to no code."""
        return tuple(trigger for trigger in triggers if self.find(trigger) is None)

    def require(self, triggers: Iterable[str], *, where: str = "") -> None:
        """Raise `MissingTriggerError` naming every trigger that resolves to no code."""
        missing = self.missing(triggers)
        if missing:
            raise MissingTriggerError(missing, where=where)

    def _find(
        self,
        trigger: str,
        parameter: str | None,
        situation: str | None,
        status: int | None,
        *,
        seen: set[str],
    ) -> tuple[int, Code] | None:
        seen.add(trigger)
        own = [u for u in self._uses.get(trigger, ()) if status is None or u.status == status]
        if own:
            use = _pick(own, parameter, situation)
            return use.status, use.code
        target = self._fallbacks.get(trigger)
        if isinstance(target, ErrorUse):
            if status is None or target.status == status:
                return target.status, target.code
            return None
        candidates = ((target,) if target else ()) + _RELATED.get(trigger, ())
        for other in candidates:
            if other not in seen:
                found = self._find(other, parameter, situation, status, seen=seen)
                if found is not None:
                    return found
        return None

    def __repr__(self) -> str:
        return f"ErrorTable({sorted(self.triggers)})"


def _check_trigger(trigger: str) -> None:
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r}; see specs/README.md for the vocabulary")


def _pick(uses: Sequence[ErrorUse], parameter: str | None, situation: str | None) -> ErrorUse:
    def score(use: ErrorUse) -> tuple[int, int]:
        if parameter is not None and use.concerns(parameter):
            by_parameter = 2
        elif not use.parameters:
            by_parameter = 1
        else:
            by_parameter = 0
        if situation is not None and use.situation == situation:
            by_situation = 2
        elif use.situation is None:
            by_situation = 1
        else:
            by_situation = 0
        return by_parameter, by_situation

    best = max(score(use) for use in uses)
    candidates = [use for use in uses if score(use) == best]
    counts = Counter(use.code for use in candidates)
    top = max(counts.values())
    return next(use for use in candidates if counts[use.code] == top)
