"""Writing a rule: a plain function registered under its rule id, raising a typed outcome.

```python
from kontrakt.conformance.registry import Failure, NotApplicable, RuleContext, RuleSet

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

Basis. Every check rests on the publisher's text (`published`) or on one of kontrakt's own
assumptions (an `A-...` id recorded in the spec). A check of the second kind never raises: it
calls `ctx.deviate("A-SDIR-005", "...", answer)` (or passes `assumption=` to `expect_code`,
`expect_status` or `fail`), and the rule goes on with its published checks. At the default level
a rule whose only findings are deviations warns ("differs from kontrakt's proposal A-SDIR-005");
at `level: strict` they are failures. A rule whose catalogue entry says `basis: assumption` turns
every failure into such a deviation. Where the publisher's text allows several readings the rule
accepts each and records the one it saw with `ctx.reading("...")`.

Nothing to judge is not a pass: `ctx.judged(items, "accounts")` makes the rule `not-applicable`
when a list it was about to check is empty (or a failure, with `must_exist=True`).

Fixtures and credential roles a rule reads are declared on the rule set (`rules.fixture(...)`,
`rules.role(...)`) with what each is for and which rules need it: `kontrakt init` and
`kontrakt manifest-schema --profile` are written from these declarations, and a rule reading an
undeclared one is an `error`, so the two cannot drift apart.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from kontrakt.conformance.probe import Exchange, Probe, ProbeError, ProbeResponse
from kontrakt.conformance.spec import RuleInfo, Spec, SpecError
from kontrakt.resources import spec_roots

if TYPE_CHECKING:
    from kontrakt.conformance.auth import Credentials
    from kontrakt.conformance.manifest import Manifest

__all__ = [
    "Deviation",
    "ExploreRule",
    "Failure",
    "FixtureSpec",
    "Level",
    "NotApplicable",
    "RoleSpec",
    "RuleContext",
    "RuleError",
    "RuleFunction",
    "RuleSet",
    "Warn",
    "resolve_spec_path",
]


def _evidence(items: Iterable[Exchange | ProbeResponse] | None) -> list[Exchange]:
    found: list[Exchange] = []
    for item in items or ():
        found.append(item.exchange if isinstance(item, ProbeResponse) else item)
    return found


Level = Literal["default", "strict"]


class Failure(AssertionError):
    """The provider broke the rule. `evidence`: the exchanges (or responses) that show it.

    With `assumption` (an `A-...` id) the broken demand is kontrakt's proposal, not the
    publisher's: the runner records it as a deviation (a warning at the default level).
    """

    def __init__(
        self,
        message: str,
        *,
        evidence: Iterable[Exchange | ProbeResponse] | None = None,
        rule_id: str | None = None,
        assumption: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.evidence = _evidence(evidence)
        self.rule_id = rule_id
        self.assumption = assumption


@dataclass(frozen=True)
class Deviation:
    """A check that rests only on kontrakt's assumption `assumption` found the provider differs."""

    assumption: str
    message: str
    evidence: tuple[Exchange, ...] = ()

    @property
    def text(self) -> str:
        return f"differs from kontrakt's proposal {self.assumption}: {self.message}"


@dataclass(frozen=True)
class FixtureSpec:
    """A test-data value a profile's rules read from the manifest's `fixtures`.

    `required`: without it the rules cannot be judged (an `error`); an optional one missing
    makes the rules that read it `not-applicable`, naming the fixture to add.
    """

    name: str
    description: str
    rules: tuple[str, ...]
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string"})
    required: bool = True
    example: Any = None


@dataclass(frozen=True)
class RoleSpec:
    """A credential role: a client of the provider's test environment that some rules need,
    given in the manifest as `credentials.<name>` (or, for `main`, `auth`)."""

    name: str
    description: str
    rules: tuple[str, ...]
    required: bool = False
    scope: str | None = None
    # The kind of credential `kontrakt init` suggests: a client of its own (the default), a
    # fixed bearer token (e.g. one that has expired) or an API key.
    auth_type: Literal["oauth2-client-credentials", "bearer", "api-key"] = (
        "oauth2-client-credentials"
    )


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
    level: Level = "default"
    deviations: list[Deviation] = field(default_factory=list)
    readings: list[str] = field(default_factory=list)
    rule_set: RuleSet | None = None

    @property
    def fixtures(self) -> Mapping[str, Any]:
        return self.manifest.fixtures

    def _declared_fixture(self, name: str) -> FixtureSpec | None:
        if self.rule_set is None or not self.rule_set.fixtures:
            return None
        spec = self.rule_set.fixtures.get(name)
        if spec is None or self.rule.id not in spec.rules:
            raise RuleError(
                f"rule {self.rule.id} reads fixture {name!r}, which its profile does not declare "
                "for it (a bug in the profile: RuleSet.fixture)"
            )
        return spec

    def fixture(self, name: str) -> Any:
        """A manifest fixture. A missing required one makes the rule an `error` (it cannot be
        judged); a missing optional one makes it `not-applicable`, naming the fixture."""
        declared = self._declared_fixture(name)
        if name not in self.manifest.fixtures:
            if declared is not None and not declared.required:
                raise NotApplicable(
                    f"the manifest gives no fixtures.{name} ({declared.description}); add it "
                    "to judge this rule"
                )
            raise RuleError(f"the manifest provides no fixture {name!r}, which this rule needs")
        return self.manifest.fixtures[name]

    def has_fixture(self, name: str) -> bool:
        """Whether the manifest gives fixture `name` (declared for this rule)."""
        self._declared_fixture(name)
        return name in self.manifest.fixtures

    def _declared_role(self, name: str) -> RoleSpec | None:
        if self.rule_set is None or not self.rule_set.roles:
            return None
        spec = self.rule_set.roles.get(name)
        if spec is None or self.rule.id not in spec.rules:
            raise RuleError(
                f"rule {self.rule.id} uses credential role {name!r}, which its profile does not "
                "declare for it (a bug in the profile: RuleSet.role)"
            )
        return spec

    def has_role(self, name: str) -> bool:
        """Whether the manifest names `credentials.<name>` (a role declared for this rule)."""
        self._declared_role(name)
        return bool(self.manifest.credentials.get(name))

    def role_headers(self, name: str) -> dict[str, str]:
        """The credential headers of role `name` (`credentials.<name>`). A missing optional role
        makes the rule `not-applicable`, a required one an `error`."""
        declared = self._declared_role(name)
        if not self.manifest.credentials.get(name):
            if declared is not None and not declared.required:
                raise NotApplicable(
                    f"the manifest names no credentials.{name} ({declared.description}); add it "
                    "to judge this rule"
                )
            raise RuleError(f"the manifest names no credentials.{name}, which this rule needs")
        return self.credentials.named_headers(name)

    def role_token(self, name: str) -> str:
        """The bearer token of role `name`; missing roles as in `role_headers`."""
        headers = self.role_headers(name)
        value = headers.get("authorization", "")
        if not value.lower().startswith("bearer "):
            raise RuleError(f"credentials.{name} yields no bearer token")
        return value[7:]

    def snapshot(self) -> Any:
        """The earlier snapshot of this provider the manifest names (`metadata_snapshot`),
        parsed; without one the rule is `not-applicable`, naming the command that records it."""
        path = self.manifest.metadata_snapshot
        if path is None:
            raise NotApplicable(
                "no earlier snapshot of this provider to compare with: record one with "
                "`kontrakt certify MANIFEST --snapshot-out snapshot.json` and name it as "
                "metadata_snapshot in the manifest of a later run"
            )
        import json

        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RuleError(f"metadata_snapshot {path.name}: not readable JSON ({exc})") from None

    # -- basis: published demands fail, assumptions only deviate -------------------------------

    def deviate(self, assumption: str, message: str, *evidence: Exchange | ProbeResponse) -> None:
        """Record that the provider differs from kontrakt's assumption `assumption` (an id the
        spec records). Never raises: the rule goes on with its published checks."""
        if assumption not in self.spec.assumptions:
            raise RuleError(
                f"rule {self.rule.id} cites assumption {assumption!r}, which {self.spec.id} "
                "does not record (a bug in the profile)"
            )
        self.deviations.append(Deviation(assumption, message, tuple(_evidence(evidence))))

    def reading(self, text: str) -> None:
        """The reading of an open clause the provider was seen to follow (one of several
        the publisher's text allows), for the report."""
        if text not in self.readings:
            self.readings.append(text)

    def judged(self, items: Collection[Any], what: str, *, must_exist: bool = False) -> None:
        """`items` are what the rule judges: none makes it `not-applicable` (nothing to judge),
        or a failure when the profile says they must exist."""
        if items:
            return
        if must_exist:
            raise self.fail(f"found no {what}, which the provider must have for this rule")
        raise NotApplicable(f"nothing to judge: found no {what}")

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

    def fail(
        self, message: str, *evidence: Exchange | ProbeResponse, assumption: str | None = None
    ) -> Failure:
        """A `Failure` of this rule, to `raise`: `raise ctx.fail("...", answer)`.

        With `assumption` the demand is kontrakt's proposal: the runner records a deviation
        (a warning at the default level) instead of a failure.
        """
        if assumption is not None and assumption not in self.spec.assumptions:
            raise RuleError(
                f"rule {self.rule.id} cites assumption {assumption!r}, which {self.spec.id} "
                "does not record (a bug in the profile)"
            )
        return Failure(message, evidence=evidence, rule_id=self.rule.id, assumption=assumption)

    # -- assertions rule authors use over and over -------------------------------------------

    def expect_status(
        self, response: ProbeResponse, *statuses: int, assumption: str | None = None
    ) -> bool:
        """The answer has one of `statuses`. With `assumption` (the statuses are kontrakt's
        proposal) a different status is a deviation and the call returns False."""
        if response.status in statuses:
            return True
        wanted = " or ".join(str(s) for s in statuses)
        message = f"expected HTTP {wanted}, got {response.status}"
        if assumption is not None:
            self.deviate(assumption, message, response)
            return False
        raise Failure(message, evidence=[response], rule_id=self.rule.id)

    def expect_code(
        self,
        response: ProbeResponse,
        codes: Collection[str | int],
        *,
        assumption: str | None = None,
        published: bool = False,
    ) -> bool:
        """The body carries one of `codes` at the catalogue's code pointer.

        The basis: `assumption` names the assumption the code (or the situation-to-code mapping)
        rests on; without it the catalogue's own assumption applies when the publisher names no
        codes (`x-kontrakt-error-catalogue.assumption`), unless `published`. A missing or other
        code is then a deviation (the call returns False), not a failure.
        """
        basis = assumption or (None if published else self.spec.code_assumption)
        try:
            body = response.json()
        except ProbeError:
            if basis is None:
                raise
            self.deviate(basis, "the error answer has no JSON body to carry a code", response)
            return False
        found = self.spec.code_of(body)
        # Catalogue keys are strings; DAN's bodies carry them as integers (code-type: integer).
        wanted_codes = {str(code) for code in codes}
        if any(str(code) in wanted_codes for code in found):
            return True
        wanted = ", ".join(sorted(str(c) for c in codes))
        got = ", ".join(str(c) for c in found) or "no code"
        message = f"expected code {wanted} at {self.spec.code_pointer}, got {got}"
        if basis is not None:
            self.deviate(basis, message, response)
            return False
        raise Failure(message, evidence=[response], rule_id=self.rule.id)

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
    ./specs, then in the contracts kontrakt ships (`kontrakt.resources.spec_roots`); the error
    names every place it looked.
    """
    direct = Path(profile)
    if direct.suffix in (".yaml", ".yml", ".json") and direct.is_file():
        return direct.resolve()
    roots = spec_roots(specs_dir)
    for _, root in roots:
        for name in ("openapi.yaml", "openapi.yml", "openapi.json"):
            candidate = root / profile / name
            if candidate.is_file():
                return candidate.resolve()
    looked = "; ".join(label for label, _ in roots)
    raise SpecError(
        f"no document for profile {profile!r}: looked for {profile}/openapi.yaml in {looked}"
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
        self.fixtures: dict[str, FixtureSpec] = {}
        self.roles: dict[str, RoleSpec] = {}
        self.capabilities: dict[str, str] = {}
        self.preflight_check: RuleCallable | None = None
        self.snapshot_taker: Callable[[RuleContext], Any] | None = None

    # -- what a manifest must give: declared once, read by init, manifest-schema and ctx ----

    def _known_rules(self, rules: Sequence[str], what: str) -> tuple[str, ...]:
        unknown = [r for r in rules if r not in self.spec.rules and r != "PREFLIGHT"]
        if unknown:
            raise SpecError(f"{what} names rules {self.spec.id} does not have: {unknown}")
        return tuple(rules)

    def fixture(
        self,
        name: str,
        description: str,
        *,
        rules: Sequence[str],
        schema: Mapping[str, Any] | None = None,
        required: bool = True,
        example: Any = None,
    ) -> None:
        """Declare a fixture the rules `rules` read (`ctx.fixture(name)`)."""
        if name in self.fixtures:
            raise SpecError(f"fixture {name!r} is declared twice")
        self.fixtures[name] = FixtureSpec(
            name,
            description,
            self._known_rules(rules, f"fixture {name!r}"),
            dict(schema) if schema is not None else {"type": "string"},
            required,
            example,
        )

    def role(
        self,
        name: str,
        description: str,
        *,
        rules: Sequence[str],
        required: bool = False,
        scope: str | None = None,
        auth_type: Literal["oauth2-client-credentials", "bearer", "api-key"] = (
            "oauth2-client-credentials"
        ),
    ) -> None:
        """Declare a credential role (`credentials.<name>` in the manifest) the rules `rules`
        use (`ctx.role_token(name)`, `ctx.role_headers(name)`)."""
        if name in self.roles:
            raise SpecError(f"credential role {name!r} is declared twice")
        self.roles[name] = RoleSpec(
            name,
            description,
            self._known_rules(rules, f"role {name!r}"),
            required,
            scope,
            auth_type,
        )

    def capability(self, name: str, description: str) -> None:
        """Describe a capability a manifest may claim (rules name it in the catalogue)."""
        self.capabilities[name] = description

    def preflight(self, func: RuleCallable) -> RuleCallable:
        """Register the profile's plain valid request, sent before the first rule: a failure
        ends the run as `cannot-run` (raise `Failure` with the diagnosis)."""
        self.preflight_check = func
        return func

    def snapshot(self, func: Callable[[RuleContext], Any]) -> Callable[[RuleContext], Any]:
        """Register what `certify --snapshot-out` records of the provider (JSON-able), for the
        versioning rules of a later run (`metadata_snapshot` in the manifest)."""
        self.snapshot_taker = func
        return func

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
        from kontrakt.conformance.fuzz import run_schemathesis

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
