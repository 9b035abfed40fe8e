"""Sdir additional competence v1 conformance profile (`sdir-additional-competence/v1`).

The checks live once in `conformance/rules/_sdir.py` and are registered here for every rule id
of this document's `x-kontrakt-rules` that has one; the ids without a check are reported as
not automated. Fixtures, capabilities and the read_only behaviour: see `_sdir`'s docstring.

Fixtures: organisation, vessel_imo (or vessel_call_sign), seafarers, foreign_organisation,
foreign_vessel_imo, foreign_report_uid, own_report_uid, revoked_subscription_key,
delegated_organisation, delegated_vessel_imo.
Capabilities: endpoint:<operationId> of the optional operations the catalogue marks.
"""

from __future__ import annotations

from conformance.registry import RuleSet
from conformance.rules._sdir import register

__all__ = ["AUTOMATED", "rules"]

rules = RuleSet("sdir-additional-competence/v1")
AUTOMATED = tuple(register(rules))

# Tier 3: the exploratory stateful run (certify --explore).
rules.explore_rule("SDIR-ERROR-CODES")
