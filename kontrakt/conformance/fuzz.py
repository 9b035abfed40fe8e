"""Tier 2: schemathesis through its Python API, with its failures turned into one rule's verdict.

The profile names the rule (`RuleSet.schema_rule("DSOP-SCHEMA-200", checks=[...])`); the run is
reproducible and bounded: hypothesis with the run's seed, `max_examples` per operation, no example
database, one worker, no shrinking (each failure is kept as first found, so the request count
stays within the budget). Requests go through the run's `Probe`, so limits, redaction, evidence and
curl lines are those of every other rule. Under `limits.read_only` only safe methods are fuzzed.

Tier 3 (hypothesis stateful runs over links and lifecycles) is opt-in and not built yet:
`run_stateful` says so as a `not-applicable` verdict, and the run's seed is in every report so a
later stateful failure replays.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from kontrakt.conformance.probe import SAFE_METHODS, BudgetExhausted, Exchange, ProbeError
from kontrakt.conformance.registry import Failure, NotApplicable, RuleContext

__all__ = ["CHECKS", "SchemaFinding", "run_schemathesis", "run_stateful"]

# The schemathesis checks a profile may name, by their schemathesis names.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
)
MAX_FINDINGS = 10


class SchemaFinding:
    """One distinct schemathesis failure and the exchange that provoked it."""

    def __init__(
        self, operation: str, code: str, title: str, message: str, exchange: Exchange | None
    ):
        self.operation = operation
        self.code = code
        self.title = title
        self.message = message
        self.exchange = exchange

    def summary(self) -> str:
        first = self.message.strip().splitlines()[0] if self.message.strip() else ""
        return f"{self.operation}: {self.code} {self.title}" + (f" ({first})" if first else "")


def _check_functions(names: Sequence[str]) -> list[Callable[..., Any]]:
    from schemathesis import checks as core_checks
    from schemathesis.specs.openapi import checks as openapi_checks

    found = []
    for name in names:
        if name not in CHECKS:
            raise ValueError(f"unknown schemathesis check {name!r}; known: {', '.join(CHECKS)}")
        func = getattr(openapi_checks, name, None) or getattr(core_checks, name)
        found.append(func)
    return found


def run_schemathesis(
    ctx: RuleContext,
    *,
    checks: Sequence[str] = ("response_schema_conformance",),
    operations: Sequence[str] | None = None,
    max_examples: int = 10,
    negative: bool = False,
) -> list[SchemaFinding]:
    """Fuzz the operations (all, or those operationIds) and raise `Failure` on any finding."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from schemathesis.core.failures import Failure as StFailure
    from schemathesis.core.failures import FailureGroup

    functions = _check_functions(checks)
    schema = schemathesis.openapi.from_dict(copy.deepcopy(ctx.spec.data))
    findings: list[SchemaFinding] = []
    seen: set[tuple[str, str, str]] = set()
    budget: list[BudgetExhausted] = []
    fixed_headers = dict(ctx.manifest.headers)
    credential_headers = {"authorization", *(h.lower() for h in ctx.manifest.credential_headers())}
    mode = (
        schemathesis.GenerationMode.NEGATIVE if negative else schemathesis.GenerationMode.POSITIVE
    )
    tried = 0

    def _make_test(op_id: str) -> Callable[[Any], None]:
        def test(case: Any) -> None:
            if budget or len(findings) >= MAX_FINDINGS:
                return
            kwargs = case.as_transport_kwargs(base_url=ctx.probe.base_url)
            content: bytes | str | None = None
            json_body: Any = None
            if "json" in kwargs:
                json_body = kwargs["json"]
            elif isinstance(kwargs.get("data"), bytes | str):
                content = kwargs["data"]
            # The manifest's credentials, never generated ones: schemathesis fills security
            # headers from the schemes (an empty `Bearer ` with some seeds), which would replace
            # the real token and judge the provider on a request no client sends.
            headers = {
                str(k): str(v)
                for k, v in (kwargs.get("headers") or {}).items()
                if str(k).lower() not in credential_headers
            }
            try:
                answer = ctx.probe.request(
                    kwargs["method"],
                    kwargs["url"],
                    headers=headers,
                    params=kwargs.get("params"),
                    json_body=json_body,
                    content=content,
                    expect_rejection=negative,
                )
            except BudgetExhausted as exc:
                budget.append(exc)
                return
            except ProbeError as exc:
                key: tuple[str, str, str] = (op_id, str(exc.kind), "")
                if key not in seen:
                    seen.add(key)
                    findings.append(
                        SchemaFinding(op_id, exc.kind, "request failed", exc.message, exc.exchange)
                    )
                return
            request = httpx.Request(
                kwargs["method"], kwargs["url"], headers=headers, params=kwargs.get("params")
            )
            response = httpx.Response(
                answer.status, headers=answer.headers, content=answer.content, request=request
            )
            response.elapsed = dt.timedelta(seconds=answer.elapsed)
            try:
                case.validate_response(response, checks=functions)
            except FailureGroup as group:
                failures: Sequence[StFailure] = group.exceptions
            except StFailure as single:
                failures = [single]
            else:
                return
            for failure in failures:
                key = (op_id, str(failure.code), str(failure.title))
                if key in seen:
                    continue
                seen.add(key)
                findings.append(
                    SchemaFinding(
                        op_id,
                        failure.code,
                        failure.title,
                        ctx.probe.redactor.text(failure.message),
                        answer.exchange,
                    )
                )

        return test

    from schemathesis.core.result import Ok

    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            # An operation schemathesis cannot load is a finding of its own.
            error = result.err()
            findings.append(SchemaFinding("?", "load", "operation not loadable", str(error), None))
            continue
        operation = result.ok()
        op_id = operation.definition.raw.get("operationId") or operation.label
        if operations is not None and op_id not in operations:
            continue
        if ctx.manifest.limits.read_only and operation.method.upper() not in SAFE_METHODS:
            ctx.note(f"{op_id}: not fuzzed (limits.read_only)")
            continue
        tried += 1
        strategy = operation.as_strategy(generation_mode=mode, headers=fixed_headers or None)

        test = _make_test(op_id)
        wrapped = given(case=strategy)(test)
        wrapped = settings(
            max_examples=max_examples,
            database=None,
            deadline=None,
            derandomize=False,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
        )(wrapped)
        wrapped = hypothesis_seed(ctx.seed)(wrapped)
        wrapped()
    if budget:
        raise budget[0]
    if tried == 0:
        raise NotApplicable("no operation to fuzz (none selected, or all unsafe under read_only)")
    ctx.note(
        f"schemathesis: {tried} operation(s), up to {max_examples} example(s) each, seed {ctx.seed}"
    )
    if findings:
        lines = [f.summary() for f in findings]
        raise Failure(
            f"schemathesis found {len(findings)} distinct problem(s): " + "; ".join(lines),
            evidence=[f.exchange for f in findings if f.exchange is not None],
            rule_id=ctx.rule.id,
        )
    return findings


def run_stateful(ctx: RuleContext, *, max_steps: int = 20) -> None:
    """Tier 3 hook: hypothesis stateful exploration (opt-in). Not built yet."""
    raise NotApplicable(
        f"tier 3 (stateful exploration, seed {ctx.seed}, {max_steps} steps) is not built yet"
    )
