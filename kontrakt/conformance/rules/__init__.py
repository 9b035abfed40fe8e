"""Rule modules, one per profile: `kontrakt/conformance/rules/<family>.py` (e.g. `dsop_control_v2.py`).

A module creates one `RuleSet` for its profile and registers a function per rule id with its
`rule` decorator; `conformance.profile.load_profile` imports the module named after the profile
id (`dsop-control/v2.0` -> `dsop_control_v2`) or finds the `RuleSet` in any module here.
"""

from kontrakt.conformance.registry import (
    Failure,
    NotApplicable,
    RuleContext,
    RuleError,
    RuleFunction,
    RuleSet,
    Warn,
)

__all__ = [
    "Failure",
    "NotApplicable",
    "RuleContext",
    "RuleError",
    "RuleFunction",
    "RuleSet",
    "Warn",
]
