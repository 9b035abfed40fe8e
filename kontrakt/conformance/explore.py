"""Tier 3: the exploratory stateful run (opt-in: `kontrakt certify --explore`).

A hypothesis stateful run over schemathesis' state machine for the spec: schemathesis 4 infers
the links between operations from the response and parameter schemas (our specs declare no
`links`), so a sequence can take an `accountReference` out of a listAccounts body into
`/accounts/{accountReference}/cards`, a DPS `submissionId` out of createSubmission into finalize,
an Sdir `uid` or a DAN accreditation id into the calls that use them. Every request goes through
the run's `Probe` (limits, `read_only`, redaction, evidence and curl lines as for every rule);
under `limits.read_only` only safe methods are explored.

Each step is judged by the contract alone: the status is declared for the operation, the body
has a declared media type and validates against the schema of that status, an error response
that the spec gives catalogue codes carries a code of `x-kontrakt-error-catalogue` mapped to its
status, and nothing answers 5xx. The profile names the rule whose verdict the findings become
(`RuleSet.explore_rule("DSOP-SCHEMA-200", known=...)`) and may give the header and query values
a valid request of the manifest's consumer carries (mandates, parties, periods), which a random
value would only ever get refused.

Replay: hypothesis runs with the run's seed (`@seed`), no example database, no deadline, one
worker; after a failure hypothesis shrinks the sequence and replays the minimal one last, which is
what the report gives, one request a line. `kontrakt certify ... --explore --seed N` with the same
budget sends the same sequence again (against a provider that answers the same way).
"""

from __future__ import annotations

import copy
import datetime as dt
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from kontrakt.conformance.probe import BudgetExhausted, Exchange, ProbeError, ProbeResponse
from kontrakt.conformance.registry import Failure, NotApplicable, RuleContext
from kontrakt.conformance.spec import Operation, Spec

__all__ = [
    "DEFAULT_MAX_EXAMPLES",
    "DEFAULT_MAX_STEPS",
    "ExplorationFailure",
    "ExploreSettings",
    "KnownValues",
    "Step",
    "judge_step",
    "run_exploration",
]

DEFAULT_MAX_EXAMPLES = 10
DEFAULT_MAX_STEPS = 10
MAX_EVIDENCE = 5
# Shrinking replays candidate sequences against the provider; this bounds the requests a whole
# exploration may send, as a multiple of its budget (examples x steps).
REQUEST_FACTOR = 50

KnownValues = Callable[[RuleContext, Operation], Mapping[str, Mapping[str, Any]]]
"""`known(ctx, operation)` -> `{"headers": {...}, "query": {...}, "path": {...}}`: values a valid
request of the manifest's consumer carries; they replace generated ones and values taken from
earlier responses (None removes a header or parameter). Give in `path` only what no response
supplies (a DPS contractId), or the sequence has nothing to find."""


@dataclass(frozen=True)
class ExploreSettings:
    """The budget of one exploration: sequences (hypothesis examples) and steps per sequence."""

    max_examples: int = DEFAULT_MAX_EXAMPLES
    max_steps: int = DEFAULT_MAX_STEPS

    @property
    def max_requests(self) -> int:
        return max(self.max_examples * self.max_steps * REQUEST_FACTOR, 20)


@dataclass
class Step:
    """One request of a sequence: what was sent, what came back, what was wrong with it."""

    operation: str
    method: str
    url: str
    status: int | None
    exchange: Exchange | None
    problems: list[str] = field(default_factory=list)

    def text(self, base_url: str) -> str:
        url = self.url[len(base_url) :] if self.url.startswith(base_url) else self.url
        answer = f"HTTP {self.status}" if self.status is not None else "no response"
        line = f"{self.method} {url or '/'} ({self.operation}) -> {answer}"
        if self.problems:
            line += ": " + "; ".join(self.problems)
        return line


class ExplorationFailure(Failure):
    """A finding of the exploration: the failure plus the replayable sequence."""

    def __init__(
        self,
        message: str,
        *,
        evidence: list[Exchange],
        rule_id: str,
        exploration: dict[str, Any],
    ) -> None:
        super().__init__(message, evidence=evidence, rule_id=rule_id)
        self.exploration = exploration


class _Finding(AssertionError):
    """A step broke the contract (raised inside hypothesis so that it shrinks the sequence)."""


class _Stop(Exception):
    """The request budget is used up: no more requests (hypothesis unwinds with this)."""


def _declared(op: Operation, status: int) -> str | None:
    """The response key of `op` covering `status` (`"404"`, `"4XX"`, `"default"`), if any."""
    for key in (str(status), f"{status // 100}XX", f"{status // 100}xx", "default"):
        if key in op.responses:
            return key
    return None


def _json_like(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def judge_step(spec: Spec, op: Operation, answer: ProbeResponse) -> list[str]:
    """What is wrong with `answer` to `op` by the contract alone (empty: nothing)."""
    status = answer.status
    problems: list[str] = []
    if status >= 500:
        problems.append(f"server error {status}")
    key = _declared(op, status)
    if key is None:
        declared = ", ".join(op.statuses) or "none"
        problems.append(f"status {status} is not declared (declared: {declared})")
        return problems
    response = op.responses[key]
    content = response.get("content") or {}
    media_type = answer.content_type
    if not answer.content or not content:
        return problems
    if media_type not in content:
        problems.append(f"content type {media_type or 'none'!r} is not declared for {key}")
        return problems
    if not _json_like(media_type):
        return problems
    try:
        body = answer.json()
    except ProbeError as exc:
        problems.append(exc.message)
        return problems
    schema = (content.get(media_type) or {}).get("schema")
    # Where the error bodies and codes are kontrakt's proposal (a catalogue-level assumption such
    # as A-SDIR-005), an error answer is judged by its status alone: the exploration has no
    # default/strict levels, and a provider's own error shape is no finding.
    ours = status >= 400 and spec.code_assumption is not None
    if isinstance(schema, Mapping) and not ours:
        violations = spec.validate(op.id, body, key, media_type)
        if violations:
            shown = "; ".join(violations[:3])
            more = f" (+{len(violations) - 3} more)" if len(violations) > 3 else ""
            problems.append(f"{key} body violates its schema: {shown}{more}")
    if status >= 400 and response.get("x-kontrakt-errors") and not ours:
        catalogue = spec.error_catalogue.get("codes") or {}
        codes = spec.code_of(body)
        if not codes:
            problems.append(f"error body has no code at {spec.code_pointer}")
        for code in codes:
            if str(code) not in {str(c) for c in catalogue}:
                problems.append(f"code {code} is not in the error catalogue")
            elif (mapped := spec.code_status(code)) and status not in mapped:
                wanted = "/".join(str(s) for s in mapped)
                problems.append(f"code {code} maps to HTTP {wanted}, not {status}")
    return problems


def _apply(target: Any, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        for existing in [k for k in list(target) if str(k).lower() == name.lower()]:
            del target[existing]
        if value is not None:
            target[name] = value


def run_exploration(
    ctx: RuleContext,
    settings: ExploreSettings,
    *,
    known: KnownValues | None = None,
    operations: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Explore the provider; return the exploration's summary or raise `ExplorationFailure`.

    `NotApplicable` when schemathesis finds nothing to chain (no operation left, no link).
    """
    import hypothesis
    import schemathesis
    from hypothesis import HealthCheck, Phase
    from schemathesis.core.transport import Response as StResponse
    from schemathesis.generation.stateful.state_machine import APIStateMachine

    spec = ctx.spec
    probe = ctx.probe
    by_path = {(op.method.upper(), op.path): op for op in spec.operations}
    schema: Any = schemathesis.openapi.from_dict(copy.deepcopy(spec.data))
    if ctx.manifest.limits.read_only:
        schema = schema.include(method=["GET", "HEAD", "OPTIONS"])
        ctx.note("exploration: safe methods only (limits.read_only)")
    if operations is not None:
        schema = schema.include(operation_id=list(operations))
    try:
        base: type[APIStateMachine] = schema.as_state_machine()
    except Exception as exc:
        raise NotApplicable(f"nothing to explore: {type(exc).__name__}: {exc}") from None

    credential_headers = {"authorization", *(h.lower() for h in ctx.manifest.credential_headers())}
    traces: list[list[Step]] = []
    state: dict[str, Any] = {"requests": 0, "stopped": None, "steps": 0}
    cap = settings.max_requests

    class Explorer(base):  # type: ignore[valid-type, misc]
        def setup(self) -> None:
            self.trace: list[Step] = []
            self.last: ProbeResponse | None = None
            traces.append(self.trace)
            del traces[:-2]

        def before_call(self, case: Any) -> None:
            op = by_path.get((str(case.method).upper(), str(case.path)))
            if known is None or op is None:
                return
            values = known(ctx, op)
            _apply(case.headers, values.get("headers") or {})
            if case.query is None:
                case.query = {}
            _apply(case.query, values.get("query") or {})
            if case.path_parameters is None:
                case.path_parameters = {}
            _apply(case.path_parameters, values.get("path") or {})

        def call(self, case: Any, **kwargs: Any) -> Any:
            op = by_path.get((str(case.method).upper(), str(case.path)))
            op_id = op.id if op is not None else f"{case.method} {case.path}"
            if state["stopped"] is not None:
                raise _Stop()
            if state["requests"] >= cap:
                state["stopped"] = f"the exploration's request bound ({cap}) is reached"
                raise _Stop()
            sent = case.as_transport_kwargs(base_url=probe.base_url)
            # The manifest's credentials, never generated ones (schemathesis fills security
            # schemes with random values).
            headers = {
                str(k): str(v)
                for k, v in (sent.get("headers") or {}).items()
                if str(k).lower() not in credential_headers
            }
            json_body = sent.get("json")
            content = sent.get("data") if isinstance(sent.get("data"), bytes | str) else None
            state["requests"] += 1
            state["steps"] += 1
            try:
                answer = probe.request(
                    sent["method"],
                    sent["url"],
                    headers=headers,
                    params=sent.get("params"),
                    json_body=json_body,
                    content=content,
                )
            except BudgetExhausted as exc:
                state["stopped"] = exc
                raise _Stop() from None
            except ProbeError as exc:
                url = exc.exchange.url if exc.exchange is not None else str(sent["url"])
                step = Step(op_id, sent["method"], url, None, exc.exchange, [exc.message])
                self.trace.append(step)
                raise _Finding(f"{op_id}: {exc.kind}: {exc.message}") from None
            step = Step(op_id, answer.exchange.method, answer.exchange.url, answer.status, None)
            step.exchange = answer.exchange
            self.trace.append(step)
            self.last = answer
            request = httpx.Request(
                sent["method"], sent["url"], headers=headers, params=sent.get("params")
            )
            response = httpx.Response(
                answer.status, headers=answer.headers, content=answer.content, request=request
            )
            response.elapsed = dt.timedelta(seconds=answer.elapsed)
            return StResponse.from_httpx(response, verify=False)

        def validate_response(self, response: Any, case: Any, *args: Any, **kwargs: Any) -> None:
            op = by_path.get((str(case.method).upper(), str(case.path)))
            if op is None or self.last is None or not self.trace:
                return
            problems = judge_step(spec, op, self.last)
            if problems:
                self.trace[-1].problems = [probe.redactor.text(p) for p in problems]
                raise _Finding(f"{op.id}: " + "; ".join(self.trace[-1].problems))

    Explorer.__name__ = Explorer.__qualname__ = "KontraktExplorer"
    hypothesis_settings = hypothesis.settings(
        max_examples=settings.max_examples,
        stateful_step_count=settings.max_steps,
        database=None,
        deadline=None,
        derandomize=False,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        print_blob=False,
    )
    machine = hypothesis.seed(ctx.seed)(Explorer)
    clock = time.monotonic()
    error: BaseException | None = None
    try:
        machine.run(settings=hypothesis_settings)
    except (_Finding, _Stop) as exc:
        error = exc
    except Exception as exc:
        if type(exc).__name__ == "NoLinksFound":
            raise NotApplicable(f"nothing to explore: {exc}".splitlines()[0]) from None
        # hypothesis wraps a failure it cannot reproduce (a provider that answers differently
        # on replay) as Flaky*: still a finding, with what was seen last.
        name = type(exc).__name__
        if "Flaky" not in name and not isinstance(exc, AssertionError):
            raise
        error = exc
    summary: dict[str, Any] = {
        "seed": ctx.seed,
        "max_examples": settings.max_examples,
        "max_steps": settings.max_steps,
        "requests": state["requests"],
        "duration_s": round(time.monotonic() - clock, 3),
        "finding": None,
        "sequence": [],
    }
    stopped = state["stopped"]
    if isinstance(stopped, BudgetExhausted):
        raise stopped
    if isinstance(error, _Stop) or (error is None and stopped is not None):
        ctx.note(f"exploration stopped early: {stopped}")
        error = None if isinstance(error, _Stop) else error
    ctx.note(
        f"exploration: seed {ctx.seed}, up to {settings.max_examples} sequence(s) of "
        f"{settings.max_steps} step(s), {state['requests']} request(s)"
    )
    if error is None:
        return summary
    trace = next((t for t in reversed(traces) if any(s.problems for s in t)), traces[-1])
    last = max((i for i, s in enumerate(trace) if s.problems), default=len(trace) - 1)
    trace = trace[: last + 1]
    lines = [f"{n}. {s.text(probe.base_url)}" for n, s in enumerate(trace, 1)]
    finding = probe.redactor.text(str(error).strip().splitlines()[0] if str(error) else "")
    summary["finding"] = finding
    summary["sequence"] = lines
    evidence = [s.exchange for s in trace if s.exchange is not None][-MAX_EVIDENCE:]
    message = (
        f"exploration (seed {ctx.seed}) found: {finding}; minimal sequence of "
        f"{len(lines)} step(s): " + " | ".join(lines)
    )
    raise ExplorationFailure(message, evidence=evidence, rule_id=ctx.rule.id, exploration=summary)
