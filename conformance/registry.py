"""Writing a rule: a plain function registered under its rule id, raising a typed outcome.

```python
from conformance.registry import Failure, NotApplicable, RuleContext, RuleSet

rules = RuleSet("dsop-control/v2.0")   # severity, title, source come from x-kontrakt-rules
rule = rules.rule


@rule("DSOP-ACC-405")
def method_not_allowed(ctx: RuleContext) -> None:
    codes = ctx.spec.error_codes(trigger="method-not-allowed", operation="listAccounts")
    answer = ctx.probe.request("DELETE", "/accounts", expect_rejection=True)
    ctx.expect_status(answer, 405)
    ctx.expect_code(answer, codes)
```

A rule returns (pass) or raises `Failure` (fail; a warning for SHOULD/MAY rules), `Warn`,
`NotApplicable` or `RuleError` (cannot be judged: an `error` verdict). A `ProbeError` escaping a
rule (timeout, reset, invalid JSON, body over the cap) is a failure of that rule, with the
exchange as evidence. Registering an id the spec's `x-kontrakt-rules` lacks fails at import.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance.probe import Exchange, Probe, ProbeResponse
from conformance.spec import RuleInfo, Spec, SpecError

if TYPE_CHECKING:
    from conformance.auth import Credentials
    from conformance.manifest import Manifest

__all__ = [
    "ExploreRule",
    "Failure",
    "NotApplicable",
    "RuleContext",
    "RuleError",
    "RuleFunction",
    "RuleSet",
    "Warn",
    "resolve_spec_path",
]

REPO = Path(__file__).resolve().parents[1]


def _evidence(items: Iterable[Exchange | ProbeResponse] | None) -> list[Exchange]:
    found: list[Exchange] = []
    for item in items or ():
        found.append(item.exchange if isinstance(item, ProbeResponse) else item)
    return found


class Failure(AssertionError):
    """The provider broke the rule. `evidence`: the exchanges (or responses) that show it."""

    def __init__(
        self,
        message: str,
        *,
        evidence: Iterable[Exchange | ProbeResponse] | None = None,
        rule_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.evidence = _evidence(evidence)
        self.rule_id = rule_id


class Warn(Exception):
    """The provider keeps the rule's letter but something deserves a look (never fails a run)."""

    def __init__(
        self, message: str, *, evidence: Iterable[Exchange | ProbeResponse] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.evidence = _evidence(evidence)


class NotApplicable(Exception):
    """The rule does not apply to this provider (capability, environment, nothing to check)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RuleError(Exception):
    """The rule cannot be judged (a fixture or credential the profile needs is missing)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class RuleContext:
    """Everything a rule function gets: the rule, the contract, the manifest and the probe."""

    rule: RuleInfo
    spec: Spec
    manifest: Manifest
    probe: Probe
    credentials: Credentials
    seed: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def fixtures(self) -> Mapping[str, Any]:
        return self.manifest.fixtures

    def fixture(self, name: str) -> Any:
        """A manifest fixture; a missing one makes the rule an `error` (it cannot be judged)."""
        if name not in self.manifest.fixtures:
            raise RuleError(f"the manifest provides no fixture {name!r}, which this rule needs")
        return self.manifest.fixtures[name]

    def fixture_path(self, name: str, value: Any = None) -> Path:
        """A file named by fixture `name` (or `value`, one item of it), read relative to the
        manifest's folder; a missing file makes the rule an `error`."""
        given = self.fixture(name) if value is None else value
        path = self.manifest.path(str(given))
        if not path.is_file():
            raise RuleError(
                f"fixture {name}: file {given} does not exist (relative to the manifest)"
            )
        return path

    def has_capability(self, capability: str) -> bool:
        """Whether the manifest claims `capability` (no `capabilities` list claims everything).

        `environment:<name>` capabilities are answered from the manifest's `environment`.
        """
        if capability.startswith("environment:"):
            return self.manifest.environment == capability.split(":", 1)[1]
        capabilities = self.manifest.capabilities
        return capabilities is None or capability in capabilities

    def note(self, text: str) -> None:
        """A line for the report beside the verdict (what was checked, what was skipped)."""
        self.notes.append(text)

    def fail(self, message: str, *evidence: Exchange | ProbeResponse) -> Failure:
        """A `Failure` of this rule, to `raise`: `raise ctx.fail("...", answer)`."""
        return Failure(message, evidence=evidence, rule_id=self.rule.id)

    # -- assertions rule authors use over and over -------------------------------------------

    def expect_status(self, response: ProbeResponse, *statuses: int) -> None:
        if response.status not in statuses:
            wanted = " or ".join(str(s) for s in statuses)
            raise Failure(
                f"expected HTTP {wanted}, got {response.status}",
                evidence=[response],
                rule_id=self.rule.id,
            )

    def expect_code(self, response: ProbeResponse, codes: Collection[str | int]) -> None:
        """The body carries one of `codes` at the catalogue's code pointer."""
        body = response.json()
        found = self.spec.code_of(body)
        # Catalogue keys are strings; DAN's bodies carry them as integers (code-type: integer).
        wanted_codes = {str(code) for code in codes}
        if not any(str(code) in wanted_codes for code in found):
            wanted = ", ".join(sorted(str(c) for c in codes))
            got = ", ".join(str(c) for c in found) or "no code"
            raise Failure(
                f"expected code {wanted} at {self.spec.code_pointer}, got {got}",
                evidence=[response],
                rule_id=self.rule.id,
            )

    def expect_valid(
        self, response: ProbeResponse, operation: str, status: str | int | None = None
    ) -> Any:
        """The body validates against the operation's schema for its status; returns the body."""
        body = response.json()
        problems = self.spec.validate(operation, body, status or response.status)
        if problems:
            shown = "; ".join(problems[:5]) + (
                f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
            )
            raise Failure(
                f"{operation} {response.status} body violates its schema: {shown}",
                evidence=[response],
                rule_id=self.rule.id,
            )
        return body


RuleCallable = Callable[[RuleContext], None]


@dataclass(frozen=True)
class ExploreRule:
    """A rule the exploratory run (tier 3, `--explore`) reports its findings under.

    `known(ctx, operation)` gives the header and query values of a valid request of the
    manifest's consumer (see `conformance.explore.KnownValues`); `operations` limits the run.
    """

    id: str
    known: Callable[[RuleContext, Any], Mapping[str, Mapping[str, Any]]] | None = None
    operations: tuple[str, ...] | None = None


@dataclass(frozen=True)
class RuleFunction:
    """A registered rule: its id, the function, its capability and its catalogue entry."""

    id: str
    func: RuleCallable
    info: RuleInfo
    capability: str | None

    @property
    def name(self) -> str:
        return getattr(self.func, "__name__", self.id)


def resolve_spec_path(profile: str, *, specs_dir: Path | None = None) -> Path:
    """The document of a profile id (`dsop-control/v2.0` -> specs/dsop-control/v2.0/openapi.yaml).

    A path to a document is accepted as it is. Relative ids are looked up in `specs_dir`, then in
    ./specs, then in the repository's specs/.
    """
    direct = Path(profile)
    if direct.suffix in (".yaml", ".yml", ".json") and direct.is_file():
        return direct.resolve()
    roots = [specs_dir] if specs_dir else []
    roots += [Path.cwd() / "specs", REPO / "specs"]
    for root in roots:
        for name in ("openapi.yaml", "openapi.yml", "openapi.json"):
            candidate = root / profile / name
            if candidate.is_file():
                return candidate.resolve()
    raise SpecError(
        f"no document for profile {profile!r} (looked for specs/{profile}/openapi.yaml)"
    )


class RuleSet:
    """The rule functions of one profile, checked against its spec's rule catalogue."""

    def __init__(self, profile: str | Spec, *, specs_dir: Path | None = None) -> None:
        if isinstance(profile, Spec):
            self.spec = profile
        else:
            self.spec = Spec.from_path(resolve_spec_path(profile, specs_dir=specs_dir))
        self.profile = self.spec.id
        self.functions: dict[str, RuleFunction] = {}
        self.schema_rules: dict[str, Mapping[str, Any]] = {}
        self.explore_rules: dict[str, ExploreRule] = {}

    def rule(
        self, rule_id: str, *, capability: str | None = None
    ) -> Callable[[RuleCallable], RuleCallable]:
        """Register the decorated function as the check of `rule_id`.

        `capability` overrides the catalogue's; without either the rule always applies.
        """
        info = self.spec.rules.get(rule_id)
        if info is None:
            raise SpecError(
                f"rule {rule_id!r} is not in x-kontrakt-rules of {self.spec.id} "
                f"({self.spec.path or 'document'})"
            )
        if rule_id in self.functions:
            raise SpecError(f"rule {rule_id!r} is registered twice")

        def register(func: RuleCallable) -> RuleCallable:
            self.functions[rule_id] = RuleFunction(
                rule_id, func, info, capability if capability is not None else info.capability
            )
            return func

        return register

    def schema_rule(
        self,
        rule_id: str,
        *,
        checks: Sequence[str] = ("response_schema_conformance",),
        operations: Sequence[str] | None = None,
        max_examples: int = 10,
        capability: str | None = None,
    ) -> None:
        """Register a tier-2 rule: schemathesis runs `checks`; its failures fail `rule_id`."""
        from conformance.fuzz import run_schemathesis

        settings = {"checks": tuple(checks), "operations": operations, "max_examples": max_examples}

        def schemathesis_rule(ctx: RuleContext) -> None:
            run_schemathesis(
                ctx,
                checks=tuple(checks),
                operations=operations,
                max_examples=max_examples,
            )

        schemathesis_rule.__name__ = f"schemathesis_{rule_id.lower().replace('-', '_')}"
        self.rule(rule_id, capability=capability)(schemathesis_rule)
        self.schema_rules[rule_id] = settings

    def explore_rule(
        self,
        rule_id: str,
        *,
        known: Callable[[RuleContext, Any], Mapping[str, Mapping[str, Any]]] | None = None,
        operations: Sequence[str] | None = None,
        capability: str | None = None,
    ) -> None:
        """Report the exploratory run's findings (tier 3, `certify --explore`) under `rule_id`.

        A rule with a function keeps it; the exploration runs after it and a finding fails the
        rule (a warning for SHOULD/MAY). A rule without one gets a function that is
        `not-applicable` unless the run explores.
        """
        if rule_id not in self.spec.rules:
            raise SpecError(
                f"rule {rule_id!r} is not in x-kontrakt-rules of {self.spec.id} "
                f"({self.spec.path or 'document'})"
            )
        if rule_id in self.explore_rules:
            raise SpecError(f"rule {rule_id!r} is given the exploration twice")
        if rule_id not in self.functions:

            def explored_only(ctx: RuleContext) -> None:
                raise NotApplicable("judged only by the exploratory run (certify --explore)")

            explored_only.__name__ = f"explore_{rule_id.lower().replace('-', '_')}"
            self.rule(rule_id, capability=capability)(explored_only)
        chosen = tuple(operations) if operations is not None else None
        self.explore_rules[rule_id] = ExploreRule(rule_id, known, chosen)

    def ordered(self) -> list[RuleFunction]:
        """The registered rules in the catalogue's order (deterministic runs and reports)."""
        return [self.functions[i] for i in self.spec.rules if i in self.functions]

    def select(self, patterns: Sequence[str] | None) -> list[RuleFunction]:
        """Rules whose id matches any glob (`DSOP-ACC-4*`); all of them without patterns."""
        ordered = self.ordered()
        if not patterns:
            return ordered
        return [r for r in ordered if any(fnmatch.fnmatchcase(r.id, p) for p in patterns)]
