"""Runs a profile against a provider: each rule in isolation, in catalogue order, to a verdict.

Verdicts: `pass`, `fail` (a MUST rule broken), `warn` (a SHOULD/MAY rule broken, or `Warn`, or
only kontrakt's assumptions differ), `not-applicable`, `waived` (a valid manifest waiver covers a
non-pass), `error` (the rule could not be judged: a missing fixture or credential, an exhausted
request budget, or a bug in the rule, whose traceback is summarised). An exception in one rule
never stops the others; Ctrl-C (or SIGTERM, under `kontrakt certify`) stops the run and the
partial result is marked `complete: false`
so that a report is still written.

Levels. Each rule gets a verdict at both levels from one run: at `default` a deviation from one of
kontrakt's assumptions (see `conformance.registry`) warns; at `strict` it fails a MUST rule. The
run's `level` (manifest `level`, `certify --level`) decides the exit status; reports show both.

Preflight. Before the first rule the suite fetches every token and sends the profile's plain valid
request. When that fails the run's verdict is `cannot-run` with a diagnosis and no rule runs: a
wrong secret is not forty failed rules.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kontrakt.conformance.auth import AuthUnavailable, Credentials
from kontrakt.conformance.manifest import Manifest, Waiver
from kontrakt.conformance.preflight import preflight_info, run_preflight
from kontrakt.conformance.probe import (
    BudgetExhausted,
    Exchange,
    Probe,
    ProbeError,
    ProviderUnreachable,
    ReadOnlyViolation,
)
from kontrakt.conformance.profile import Profile
from kontrakt.conformance.redact import Redactor
from kontrakt.conformance.registry import (
    Deviation,
    Failure,
    Level,
    NotApplicable,
    RuleContext,
    RuleError,
    RuleFunction,
    Warn,
)
from kontrakt.conformance.spec import RuleInfo

if TYPE_CHECKING:
    from kontrakt.conformance.explore import ExploreSettings
    from kontrakt.conformance.registry import ExploreRule

__all__ = [
    "VERDICTS",
    "Preflight",
    "RuleResult",
    "RunResult",
    "Verdict",
    "WaiverStatus",
    "error_result",
    "run_profile",
    "tool_version",
]

Verdict = Literal["pass", "fail", "warn", "not-applicable", "waived", "error"]
VERDICTS: tuple[Verdict, ...] = ("pass", "fail", "warn", "not-applicable", "waived", "error")
MAX_EVIDENCE = 5


def tool_version() -> str:
    try:
        return importlib.metadata.version("kontrakt")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - source checkout
        return "0+unknown"


@dataclass
class RuleResult:
    """The verdict of one rule, with what shows it."""

    info: RuleInfo
    verdict: Verdict
    message: str = ""
    evidence: list[Exchange] = field(default_factory=list)
    function: str | None = None
    capability: str | None = None
    duration_s: float = 0.0
    requests: int = 0
    notes: list[str] = field(default_factory=list)
    outcome: Verdict | None = None  # the verdict a waiver replaced
    waiver: Waiver | None = None
    exploration: dict[str, Any] | None = None  # tier 3: seed, budget, finding, sequence
    deviations: list[Deviation] = field(default_factory=list)
    readings: list[str] = field(default_factory=list)
    # The verdict at each level (before waivers); `verdict` is the run's level's, waived or not.
    verdicts: dict[str, Verdict] = field(default_factory=dict)

    @classmethod
    def of(cls, rule: RuleFunction, verdict: Verdict, message: str = "") -> RuleResult:
        """`rule`'s verdict, naming its function and capability."""
        return cls(rule.info, verdict, message, function=rule.name, capability=rule.capability)

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def severity(self) -> str:
        return self.info.severity

    @property
    def basis(self) -> str:
        """What the verdict rests on: `assumption` when only kontrakt's assumptions differ (or
        the whole rule is one), else `published`."""
        if self.info.basis == "assumption":
            return "assumption"
        if self.deviations and self.verdicts.get("default") in ("pass", "warn"):
            return "assumption"
        return "published"


@dataclass
class Preflight:
    """The plain valid request before the first rule: `ok`, `cannot-run` or `skipped`."""

    status: Literal["ok", "cannot-run", "skipped"]
    diagnosis: str = ""
    evidence: list[Exchange] = field(default_factory=list)


@dataclass
class WaiverStatus:
    waiver: Waiver
    status: Literal["applied", "expired", "unused", "unknown-rule"]


def _rule_module(profile: Profile) -> str | None:
    """The module of the profile's rules when it is not one of kontrakt's own (`--rule-module`)."""
    for rule in profile.rules:
        module = getattr(rule.func, "__module__", None)
        if module and not module.startswith("kontrakt."):
            return str(module)
    return None


@dataclass
class RunResult:
    """A whole run: what was checked against what, every rule's verdict, the profile verdict."""

    profile: str
    spec_path: str
    spec_sha256: str
    base_url: str
    environment: str
    seed: int
    started_at: dt.datetime
    tool_version: str = field(default_factory=tool_version)
    finished_at: dt.datetime | None = None
    complete: bool = True
    stop_reason: str | None = None
    results: list[RuleResult] = field(default_factory=list)
    not_automated: list[RuleInfo] = field(default_factory=list)
    waivers: list[WaiverStatus] = field(default_factory=list)
    requests_sent: int = 0
    rule_filter: list[str] = field(default_factory=list)
    explore: ExploreSettings | None = None
    level: Level = "default"
    preflight: Preflight | None = None
    snapshot_path: str | None = None
    snapshot_error: str | None = None
    unreachable: bool = False  # the run stopped early: the provider stopped answering
    # What `kontrakt replay` needs to run a rule again: the manifest file and a rule module
    # outside kontrakt's own rule package (None: built in code / kontrakt's own rules).
    manifest_path: str | None = None
    rule_module: str | None = None

    @classmethod
    def begin(
        cls,
        profile: Profile,
        manifest: Manifest,
        *,
        seed: int,
        started_at: dt.datetime,
        **more: Any,
    ) -> RunResult:
        """A run of `profile` against the manifest's provider, with no verdicts yet."""
        return cls(
            profile=profile.id,
            spec_path=str(profile.spec.path or ""),
            spec_sha256=profile.spec.sha256,
            base_url=manifest.base_url,
            environment=manifest.environment,
            seed=seed,
            started_at=started_at,
            not_automated=list(profile.not_automated),
            manifest_path=str(manifest.source) if manifest.source is not None else None,
            rule_module=_rule_module(profile),
            **more,
        )

    def counts(self, level: Level | None = None) -> dict[str, int]:
        """Rules per verdict at `level` (default: the run's level; waivers applied)."""
        counter = Counter(self._verdict(r, level) for r in self.results)
        return {verdict: counter.get(verdict, 0) for verdict in VERDICTS}

    def _verdict(self, rule: RuleResult, level: Level | None) -> Verdict:
        if level is None or level == self.level or not rule.verdicts:
            return rule.verdict
        found = rule.verdicts.get(level, rule.verdict)
        if rule.waiver is not None and found in ("fail", "warn", "error"):
            return "waived"
        return found

    @property
    def cannot_run(self) -> bool:
        return self.preflight is not None and self.preflight.status == "cannot-run"

    @property
    def verdict(self) -> Literal["passed", "failed", "cannot-run", "provider-unreachable"]:
        if self.cannot_run:
            return "cannot-run"
        if self.unreachable:
            return "provider-unreachable"
        return "passed" if self.passed else "failed"

    def passed_at(self, level: Level | None = None) -> bool:
        """The pass policy at `level`: complete, and no MUST rule failed or could not be judged.

        A run that judged nothing (no rule automated or selected, or every rule not applicable),
        or could not run, certifies nothing.
        """
        if not self.complete or not self.results or self.cannot_run or self.unreachable:
            return False
        verdicts = [(r.severity, self._verdict(r, level)) for r in self.results]
        if not any(v in ("pass", "warn", "waived") for _, v in verdicts):
            return False  # every rule not applicable: nothing was judged
        return not any(s == "MUST" and v in ("fail", "error") for s, v in verdicts)

    @property
    def passed(self) -> bool:
        """The pass policy at the run's level."""
        return self.passed_at(None)

    @property
    def duration_s(self) -> float:
        end = self.finished_at or dt.datetime.now(dt.UTC)
        return (end - self.started_at).total_seconds()


def _summarise(exc: BaseException, redactor: Redactor) -> str:
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-4)
    return redactor.text("".join(lines).strip())[-2000:]


def _verdict_for_failure(info: RuleInfo) -> Verdict:
    return "fail" if info.severity == "MUST" else "warn"


def _waiver_for(
    rule_id: str, waivers: list[Waiver], today: dt.date
) -> tuple[Waiver | None, Waiver | None]:
    """(valid waiver, expired waiver) for a rule."""
    valid = expired = None
    for waiver in waivers:
        if waiver.rule != rule_id:
            continue
        if waiver.expires >= today:
            valid = valid or waiver
        else:
            expired = expired or waiver
    return valid, expired


def _assumed_failure(exc: Failure, info: RuleInfo) -> str | None:
    """The assumption a failure rests on: its own, or the rule's when the rule is one."""
    if exc.assumption is not None:
        return exc.assumption
    if info.basis == "assumption":
        return info.assumption_id
    return None


def _judge_levels(result: RuleResult, ctx: RuleContext) -> None:
    """The verdict at both levels from the published outcome and the deviations; `verdict`
    becomes the one of the run's level."""
    result.deviations = list(ctx.deviations)
    result.readings = list(ctx.readings)
    published = result.verdict
    if result.deviations and published in ("pass", "warn"):
        texts = "; ".join(d.text for d in result.deviations[:3])
        more = len(result.deviations) - 3
        if more > 0:
            texts += f" (+{more} more)"
        message = texts if published == "pass" else f"{result.message}; {texts}"
        strict: Verdict = _verdict_for_failure(result.info)
        result.verdicts = {"default": "warn", "strict": strict}
        result.message = message
        if not result.evidence:
            result.evidence = [e for d in result.deviations for e in d.evidence]
    else:
        if (result.deviations and published == "fail") or result.deviations:
            result.notes.extend(d.text for d in result.deviations)
        result.verdicts = {"default": published, "strict": published}
    result.verdict = result.verdicts[ctx.level]


def _run_one(rule: RuleFunction, ctx: RuleContext, redactor: Redactor) -> RuleResult:
    result = RuleResult.of(rule, "pass")
    try:
        _call(rule, ctx, result, redactor)
    finally:
        _judge_levels(result, ctx)
    return result


def _call(rule: RuleFunction, ctx: RuleContext, result: RuleResult, redactor: Redactor) -> None:
    info = rule.info
    try:
        rule.func(ctx)
    except Failure as exc:
        assumed = _assumed_failure(exc, info)
        if assumed is not None:
            ctx.deviations.append(Deviation(assumed, exc.message, tuple(exc.evidence)))
            return
        result.verdict = _verdict_for_failure(info)
        result.message = exc.message
        result.evidence = exc.evidence
    except Warn as exc:
        result.verdict = "warn"
        result.message = exc.message
        result.evidence = exc.evidence
    except NotApplicable as exc:
        result.verdict = "not-applicable"
        result.message = exc.reason
    except BudgetExhausted:
        raise
    except ProbeError as exc:
        message = f"{exc.kind}: {exc.message}"
        evidence = [exc.exchange] if exc.exchange is not None else []
        if info.basis == "assumption" and info.assumption_id is not None:
            ctx.deviations.append(Deviation(info.assumption_id, message, tuple(evidence)))
            return
        result.verdict = _verdict_for_failure(info)
        result.message = message
        result.evidence = evidence
    except (RuleError, AuthUnavailable, ReadOnlyViolation) as exc:
        result.verdict = "error"
        result.message = str(exc)
    except Exception as exc:
        result.verdict = "error"
        result.message = f"the rule raised {type(exc).__name__}: {exc}"
        result.notes.append(_summarise(exc, redactor))


def _explore(
    outcome: RuleResult,
    entry: ExploreRule,
    ctx: RuleContext,
    redactor: Redactor,
    settings: ExploreSettings,
) -> None:
    """Tier 3 after the rule's own function: a finding fails the rule (warns for SHOULD/MAY)."""
    before = outcome.verdict
    try:
        _explore_into(outcome, entry, ctx, redactor, settings)
    finally:
        if outcome.verdict != before:
            outcome.verdicts = {"default": outcome.verdict, "strict": outcome.verdict}


def _explore_into(
    outcome: RuleResult,
    entry: ExploreRule,
    ctx: RuleContext,
    redactor: Redactor,
    settings: ExploreSettings,
) -> None:
    from kontrakt.conformance.explore import ExplorationFailure, run_exploration

    judged = outcome.verdict in ("pass", "not-applicable")
    try:
        outcome.exploration = run_exploration(
            ctx, settings, known=entry.known, operations=entry.operations
        )
    except ExplorationFailure as exc:
        outcome.exploration = exc.exploration
        replay = (
            f"replay: --explore --seed {ctx.seed} "
            f"--explore-budget {settings.max_examples}x{settings.max_steps}"
        )
        if judged:
            outcome.verdict = _verdict_for_failure(outcome.info)
            outcome.message = exc.message
            outcome.evidence = exc.evidence
        else:
            outcome.notes.append(exc.message)
            outcome.evidence = [*outcome.evidence[:2], *exc.evidence]
        outcome.notes.append(replay)
    except NotApplicable as exc:
        outcome.notes.append(f"exploration not applicable: {exc.reason}")
    except BudgetExhausted:
        raise
    except (RuleError, AuthUnavailable, ReadOnlyViolation) as exc:
        if judged:
            outcome.verdict, outcome.message = "error", f"exploration: {exc}"
        else:
            outcome.notes.append(f"exploration could not run: {exc}")
    except Exception as exc:
        if judged:
            outcome.verdict = "error"
            outcome.message = f"the exploration raised {type(exc).__name__}: {exc}"
        outcome.notes.append(_summarise(exc, redactor))
    else:
        if outcome.verdict == "not-applicable" and outcome.function == _explored_only(entry):
            outcome.verdict, outcome.message = "pass", ""


def _explored_only(entry: ExploreRule) -> str:
    return f"explore_{entry.id.lower().replace('-', '_')}"


def run_profile(
    profile: Profile,
    manifest: Manifest,
    *,
    seed: int = 0,
    transport: httpx.BaseTransport | None = None,
    token_transport: httpx.BaseTransport | None = None,
    progress: bool | None = None,
    console: Console | None = None,
    today: dt.date | None = None,
    on_result: Callable[[RuleResult], None] | None = None,
    explore: ExploreSettings | None = None,
    level: Level | None = None,
    snapshot_out: Path | None = None,
    preflight: bool = True,
    keep_evidence: bool = False,
) -> RunResult:
    """Run every rule of `profile` against the manifest's provider and judge it.

    `progress=None` shows a progress bar when `console` is a terminal. `transport` replaces the
    network (tests); `token_transport` does the same for token endpoints. `explore` runs tier 3
    (the exploratory stateful run) after each rule the profile gave it (`explore_rule`).
    `level` overrides the manifest's. `snapshot_out` records the profile's snapshot of the
    provider after the preflight. `preflight=False` skips the preflight (tests of one rule).
    `keep_evidence=True` keeps the exchanges of passing rules too (`kontrakt replay` shows them).
    """
    console = console or Console(stderr=True)
    today = today or dt.date.today()
    started = dt.datetime.now(dt.UTC)
    chosen_level: Level = level or manifest.level
    result = RunResult.begin(
        profile, manifest, seed=seed, started_at=started, explore=explore, level=chosen_level
    )
    explore_rules = profile.rule_set.explore_rules if explore is not None else {}
    redactor = Redactor(manifest.secrets(), headers=manifest.credential_headers())
    credentials = Credentials(manifest, redactor, transport=token_transport or transport)
    probe = Probe(
        manifest.base_url,
        credentials=credentials,
        headers=manifest.headers,
        limits=manifest.limits,
        redactor=redactor,
        transport=transport,
        decryption_key=manifest.decryption_key,
        decryption_keys=list(manifest.decryption_keys.values()),
    )
    applied: set[int] = set()
    expired_seen: set[int] = set()
    stopped: str | None = None
    show = console.is_terminal if progress is None else progress
    bar = Progress(
        TextColumn("[bold]certify[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not show,
    )

    def context(info: RuleInfo) -> RuleContext:
        return RuleContext(
            rule=info,
            spec=profile.spec,
            manifest=manifest,
            probe=probe,
            credentials=credentials,
            seed=seed,
            level=chosen_level,
            rule_set=profile.rule_set,
        )

    try:
        if preflight or snapshot_out is not None:
            result.preflight = run_preflight(profile, context(preflight_info(profile.spec)))
            probe.take_exchanges()
            if result.cannot_run:
                return result
        if snapshot_out is not None:
            try:
                result.snapshot_path = str(
                    _take_snapshot(profile, context(preflight_info(profile.spec)), snapshot_out)
                )
            except (ProbeError, RuleError, NotApplicable, Failure, OSError) as exc:
                result.snapshot_error = redactor.text(str(exc))
            probe.take_exchanges()
        with bar:
            task = bar.add_task(profile.id, total=len(profile.rules))
            for rule in profile.rules:
                bar.update(task, description=rule.id)
                ctx = context(rule.info)
                clock = time.monotonic()
                before = probe.sent
                if stopped is not None:
                    outcome = RuleResult.of(rule, "error", f"not run: {stopped}")
                elif rule.capability and not ctx.has_capability(rule.capability):
                    outcome = RuleResult.of(
                        rule,
                        "not-applicable",
                        f"capability {rule.capability!r} is not among the manifest's capabilities",
                    )
                else:
                    try:
                        outcome = _run_one(rule, ctx, redactor)
                        if explore is not None and rule.id in explore_rules:
                            _explore(outcome, explore_rules[rule.id], ctx, redactor, explore)
                    except BudgetExhausted as exc:
                        stopped = exc.message
                        result.unreachable = isinstance(exc, ProviderUnreachable)
                        outcome = RuleResult.of(rule, "error", exc.message)
                    except KeyboardInterrupt:
                        result.complete = False
                        result.stop_reason = f"interrupted (Ctrl-C or SIGTERM) during {rule.id}"
                        break
                exchanges = probe.take_exchanges()
                outcome.notes = ctx.notes + outcome.notes
                outcome.requests = probe.sent - before
                if not outcome.evidence and (
                    keep_evidence or outcome.verdict in ("fail", "warn", "error")
                ):
                    outcome.evidence = exchanges[-MAX_EVIDENCE:]
                outcome.evidence = outcome.evidence[:MAX_EVIDENCE]
                outcome.message = redactor.text(outcome.message)
                outcome.notes = [redactor.text(n) for n in outcome.notes]
                outcome.duration_s = time.monotonic() - clock
                valid, expired = _waiver_for(rule.id, manifest.waivers, today)
                if outcome.verdict in ("fail", "warn", "error") and valid is not None:
                    applied.add(id(valid))
                    outcome.outcome, outcome.verdict, outcome.waiver = (
                        outcome.verdict,
                        "waived",
                        valid,
                    )
                    outcome.notes.append(f"waived until {valid.expires}: {valid.reason}")
                if expired is not None:
                    expired_seen.add(id(expired))
                    outcome.notes.append(
                        f"a waiver expired on {expired.expires} and was not applied"
                    )
                result.results.append(outcome)
                if on_result is not None:
                    on_result(outcome)
                bar.advance(task)
    except KeyboardInterrupt:
        result.complete = False
        result.stop_reason = result.stop_reason or "interrupted (Ctrl-C or SIGTERM)"
    finally:
        probe.close()
        credentials.close()
        _close(result, probe, stopped, manifest, profile, applied, today)
    return result


def _close(
    result: RunResult,
    probe: Probe,
    stopped: str | None,
    manifest: Manifest,
    profile: Profile,
    applied: set[int],
    today: dt.date,
) -> None:
    result.requests_sent = probe.sent
    result.finished_at = dt.datetime.now(dt.UTC)
    if stopped is not None and result.stop_reason is None:
        result.stop_reason = stopped
    catalogue = profile.spec.rules
    for waiver in manifest.waivers:
        if waiver.rule not in catalogue:
            status: Any = "unknown-rule"
        elif id(waiver) in applied:
            status = "applied"
        elif waiver.expires < today:
            status = "expired"
        else:
            status = "unused"
        result.waivers.append(WaiverStatus(waiver, status))


def _take_snapshot(profile: Profile, ctx: RuleContext, path: Path) -> Path:
    """Record the profile's snapshot of the provider (`certify --snapshot-out`) as JSON."""
    taker = profile.rule_set.snapshot_taker
    if taker is None:
        raise RuleError(f"profile {profile.id} records no snapshot")
    data = taker(ctx)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def error_result(profile: Profile, manifest: Manifest, message: str, *, seed: int = 0) -> RunResult:
    """A run that could not start: every rule an `error` with `message`, for the report."""
    now = dt.datetime.now(dt.UTC)
    result = RunResult.begin(
        profile,
        manifest,
        seed=seed,
        started_at=now,
        finished_at=now,
        complete=False,
        stop_reason=message,
    )
    for rule in profile.rules:
        result.results.append(RuleResult.of(rule, "error", message))
    return result
