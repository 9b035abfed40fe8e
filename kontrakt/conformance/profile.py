"""A profile: one spec, the rule functions registered for it, and the pass policy.

Pass policy (issue #6): the profile passes when every MUST rule that ran passed (or is waived,
not applicable, or only warned) and the run completed. A failing SHOULD or MAY rule is reported
as a warning. Rule ids of the catalogue without a function are "not automated": counted and
listed in every report, never silently dropped.
"""

from __future__ import annotations

import fnmatch
import importlib
import pkgutil
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kontrakt.conformance.registry import RuleFunction, RuleSet, resolve_spec_path
from kontrakt.conformance.spec import RuleInfo, Spec, SpecError

__all__ = [
    "Profile",
    "discover_rule_sets",
    "load_profile",
    "module_name",
]

RULES_PACKAGE = "kontrakt.conformance.rules"


def module_name(profile_id: str) -> str:
    """The rule module of a profile id: `dsop-control/v2.0` -> `dsop_control_v2`."""
    text = profile_id.lower()
    text = re.sub(r"(\.0)+$", "", text)
    text = re.sub(r"(\.0)+(?=/)", "", text)
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


@dataclass(frozen=True)
class Profile:
    """What `certify` runs: the spec, the selected rule functions in catalogue order."""

    spec: Spec
    rules: tuple[RuleFunction, ...]
    not_automated: tuple[RuleInfo, ...]
    rule_set: RuleSet

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def catalogue(self) -> dict[str, RuleInfo]:
        return self.spec.rules


def discover_rule_sets(package: str = RULES_PACKAGE) -> list[RuleSet]:
    """Every `RuleSet` defined at module level in the rule package."""
    found: list[RuleSet] = []
    root = importlib.import_module(package)
    for info in pkgutil.iter_modules(getattr(root, "__path__", [])):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        found.extend(v for v in vars(module).values() if isinstance(v, RuleSet))
    return found


def _find_rule_set(spec: Spec, package: str) -> RuleSet | None:
    name = f"{package}.{module_name(spec.id)}"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
    else:
        for value in vars(module).values():
            if isinstance(value, RuleSet) and value.profile == spec.id:
                return value
    for rule_set in discover_rule_sets(package):
        if rule_set.profile == spec.id:
            return rule_set
    return None


def load_profile(
    profile: str,
    *,
    rule_set: RuleSet | None = None,
    patterns: Sequence[str] | None = None,
    specs_dir: Path | None = None,
    package: str = RULES_PACKAGE,
    module: str | None = None,
) -> Profile:
    """The profile named by an id (or document path), with its rule functions.

    `rule_set` bypasses discovery (tests, plugins shipping their own rules). `patterns` (globs)
    select rules; the unselected ones are neither run nor counted as not automated. `module`
    names a module outside `kontrakt/conformance/rules` holding the profile's `RuleSet` (a provider's own
    extra rules, or a test profile).
    """
    if rule_set is None and module is not None:
        spec_path = resolve_spec_path(profile, specs_dir=specs_dir)
        candidates = [
            v for v in vars(importlib.import_module(module)).values() if isinstance(v, RuleSet)
        ]
        wanted = Spec.from_path(spec_path).id
        rule_set = next((c for c in candidates if c.profile == wanted), None)
        if rule_set is None:
            raise SpecError(f"module {module} defines no RuleSet for profile {wanted!r}")
    if rule_set is None:
        spec = Spec.from_path(resolve_spec_path(profile, specs_dir=specs_dir))
        if not spec.rules:
            raise SpecError(f"{spec.path}: no x-kontrakt-rules, so there is no profile to run")
        rule_set = _find_rule_set(spec, package) or RuleSet(spec)
    spec = rule_set.spec
    selected = rule_set.select(patterns)
    registered = set(rule_set.functions)

    def chosen(rule_id: str) -> bool:
        if not patterns:
            return True
        return any(fnmatch.fnmatchcase(rule_id, p) for p in patterns)

    missing = tuple(
        info
        for rule_id, info in spec.rules.items()
        if rule_id not in registered and chosen(rule_id)
    )
    return Profile(spec=spec, rules=tuple(selected), not_automated=missing, rule_set=rule_set)
