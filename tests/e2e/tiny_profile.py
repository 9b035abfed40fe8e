"""A tiny example profile for the harness tests: rules against tests/.../fixtures/tiny.yaml.

It shows what a rule author writes: small functions, codes read from the spec, never repeated.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from kontrakt.conformance.registry import Failure, RuleContext, RuleSet

SPEC = Path(__file__).resolve().parents[1] / "unit" / "conformance" / "fixtures" / "tiny.yaml"

rules = RuleSet(str(SPEC))
rule = rules.rule


def _case() -> dict[str, str | None]:
    return {"X-Case": str(uuid.uuid4())}


@rule("TINY-ITEMS-200")
def items_answer_200(ctx: RuleContext) -> None:
    answer = ctx.probe.get("/items", headers=_case())
    ctx.expect_status(answer, 200)
    if answer.content_type != "application/json":
        raise Failure(
            f"Content-Type {answer.content_type!r}, not application/json", evidence=[answer]
        )
    ctx.expect_valid(answer, "listItems")


@rule("TINY-405")
def other_methods_answer_405(ctx: RuleContext) -> None:
    codes = ctx.spec.error_codes(trigger="method-not-allowed", operation="listItems")
    declared = ctx.spec.methods("/items")
    for method in ("DELETE", "PUT", "PATCH"):
        if method.lower() in declared:
            continue
        answer = ctx.probe.request(method, "/items", headers=_case(), expect_rejection=True)
        ctx.expect_status(answer, 405)
        ctx.expect_code(answer, codes)


@rule("TINY-MISSING-HEADER")
def missing_header_answers_400(ctx: RuleContext) -> None:
    for use in ctx.spec.errors(rule=ctx.rule.id, trigger="missing-parameter"):
        for name in use.parameters:
            answer = ctx.probe.get("/items", headers={name: None})
            ctx.expect_status(answer, int(use.status))
            ctx.expect_code(answer, {use.code})


@rule("TINY-ADMIN")
def admin_exists(ctx: RuleContext) -> None:
    ctx.expect_status(ctx.probe.get("/admin"), 200)


rules.schema_rule(
    "TINY-SCHEMA",
    checks=("response_schema_conformance", "status_code_conformance", "not_a_server_error"),
    max_examples=5,
)
