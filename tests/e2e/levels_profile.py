"""A small profile and a configurable provider for the tests of levels, preflight and manifests.

The rules show each way a check gets its basis: a published status with a code that is only our
proposal (`LVL-REFUSE`), a whole rule resting on an assumption (`LVL-ORDER`), a published check
that must have something to judge (`LVL-NAMES`), a declared optional fixture (`LVL-FIXTURE`), a
declared credential role (`LVL-ROLE`) and a comparison with an earlier snapshot of the same
provider (`LVL-SNAPSHOT`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from kontrakt.conformance.preflight import expect_plain
from kontrakt.conformance.registry import RuleContext, RuleSet

SPEC = Path(__file__).resolve().parents[1] / "unit" / "conformance" / "fixtures" / "levels.yaml"
TOKEN = "levels-main-token-0123456789"
LIMITED = "levels-limited-token-0123456789"

rules = RuleSet(str(SPEC))
rule = rules.rule

rules.fixture(
    "item_name",
    "the name of an item the provider's test environment holds",
    rules=["LVL-FIXTURE"],
    required=False,
    example="first",
)
rules.role(
    "wrong_scope",
    "a client of the provider that lacks the scope of the API",
    rules=["LVL-ROLE"],
    scope="other:scope",
)


def _items(ctx: RuleContext) -> list[dict[str, Any]]:
    answer = ctx.probe.get("/items", headers={"X-Case": "1"})
    ctx.expect_status(answer, 200)
    items = answer.json().get("items")
    return items if isinstance(items, list) else []


@rules.preflight
def plain(ctx: RuleContext) -> None:
    expect_plain(ctx, ctx.probe.get("/items", headers={"X-Case": "1"}), 200)


@rules.snapshot
def names(ctx: RuleContext) -> dict[str, Any]:
    return {"names": sorted(str(i.get("name")) for i in _items(ctx))}


@rule("LVL-REFUSE")
def refuse(ctx: RuleContext) -> None:
    answer = ctx.probe.get("/items")
    ctx.expect_status(answer, 400)
    ctx.expect_code(answer, {"L-400"})


@rule("LVL-ORDER")
def order(ctx: RuleContext) -> None:
    ids = [i.get("id") for i in _items(ctx)]
    ctx.judged(ids, "items")
    if ids != sorted(ids):
        raise ctx.fail(f"items are not ordered by id: {ids}")


@rule("LVL-NAMES")
def names_present(ctx: RuleContext) -> None:
    items = _items(ctx)
    ctx.judged(items, "items")
    for item in items:
        if not item.get("name"):
            raise ctx.fail(f"item {item.get('id')} has no name")


@rule("LVL-FIXTURE")
def fixture_item(ctx: RuleContext) -> None:
    wanted = ctx.fixture("item_name")
    if wanted not in {i.get("name") for i in _items(ctx)}:
        raise ctx.fail(f"no item named {wanted!r}")


@rule("LVL-ROLE")
def wrong_scope(ctx: RuleContext) -> None:
    token = ctx.role_token("wrong_scope")
    answer = ctx.probe.get("/items", headers={"X-Case": "1"}, auth=token)
    ctx.expect_status(answer, 403)


@rule("LVL-SNAPSHOT")
def nothing_gone(ctx: RuleContext) -> None:
    before = set(ctx.snapshot().get("names", []))
    gone = before - {str(i.get("name")) for i in _items(ctx)}
    if gone:
        raise ctx.fail(f"items gone since the snapshot: {sorted(gone)}")


@dataclass
class Behaviour:
    """How the provider answers: each field one permitted (or broken) choice."""

    code: str | None = "L-400"  # None: a 400 without a code
    html_errors: bool = False
    order: list[int] = field(default_factory=lambda: [1, 2, 3])
    nameless: bool = False
    empty: bool = False
    accept_any_token: bool = False
    status_plain: int = 200


def levels_app(behaviour: Behaviour) -> Starlette:
    async def items(request: Request) -> Response:
        auth = request.headers.get("authorization")
        if auth == f"Bearer {LIMITED}" and not behaviour.accept_any_token:
            return JSONResponse({"code": "L-403"}, status_code=403)
        if auth not in (f"Bearer {TOKEN}", f"Bearer {LIMITED}"):
            return JSONResponse({"message": "unauthorised"}, status_code=401)
        if behaviour.status_plain != 200:
            return JSONResponse({"message": "no"}, status_code=behaviour.status_plain)
        if "x-case" not in request.headers:
            if behaviour.html_errors:
                return HTMLResponse("<html><body>Bad request</body></html>", status_code=400)
            body = {"message": "X-Case missing"}
            if behaviour.code is not None:
                body["code"] = behaviour.code
            return JSONResponse(body, status_code=400)
        if behaviour.empty:
            return JSONResponse({"items": []})
        names = {1: "first", 2: "second", 3: "third"}
        found = [
            {"id": i, **({} if behaviour.nameless else {"name": names.get(i, f"n{i}")})}
            for i in behaviour.order
        ]
        return JSONResponse({"items": found})

    return Starlette(routes=[Route("/items", items, methods=["GET"])])
