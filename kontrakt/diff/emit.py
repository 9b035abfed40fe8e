"""Turning a detected difference into a `Change`: id scheme, rule lookup, rule-set overlays.

Checks never pick a verdict themselves; they name the rule that applies and the `Emitter` takes the
verdict and citation from the active rule table. A rule set (DAN, Sdir) may replace a generic rule
with its own through an overlay, which changes the citation and possibly the verdict, never the id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kontrakt.diff.model import Change, Direction, Rule

__all__ = ["Emitter", "change_id"]


def change_id(kind: str, scope: str, location: str = "") -> str:
    """``<kind>:<scope>[:<location>]``; see `kontrakt.diff.model` for the scheme."""
    return f"{kind}:{scope}" + (f":{location}" if location else "")


@dataclass
class Emitter:
    """Collects changes; resolves rule ids through the overlay of the active rule set."""

    rules: Mapping[str, Rule]
    overlay: Mapping[str, str] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    _ids: set[str] = field(default_factory=set)

    def rule(self, rule_id: str) -> Rule:
        return self.rules[self.overlay.get(rule_id, rule_id)]

    def emit(
        self,
        kind: str,
        rule_id: str,
        scope: str,
        location: str,
        old_pointer: str | None,
        new_pointer: str | None,
        text: str,
        *,
        operation: str = "",
        direction: Direction = Direction.NONE,
        where: str | None = None,
    ) -> None:
        """Record one change; a second report of the same id is dropped.

        ``text`` says what happened in a few words; the full message adds scope and place.
        ``where`` is the place without detail (the location minus an enum value, say).
        """
        cid = change_id(kind, scope, location)
        if cid in self._ids:
            return
        self._ids.add(cid)
        rule = self.rule(rule_id)
        where = location if where is None else where
        message = ": ".join(part for part in (scope, where, text) if part)
        self.changes.append(
            Change(
                id=cid,
                kind=kind,
                verdict=rule.verdict,
                rule=rule.id,
                old_pointer=old_pointer,
                new_pointer=new_pointer,
                message=message,
                operation=operation,
                direction=direction,
                where=where,
                text=text,
            )
        )
