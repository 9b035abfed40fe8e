"""The DSOP Control v2.0 rules pass banks that choose differently where the publisher allows it.

Each known-good variant of `tests/e2e/dsop_good_variants.py` is run with the rules it touches: at
the default level none of them fails or errors and the run passes; at strict exactly the rules
the variant documents fail (those leaning on the assumption it departs from). One bank making
every compatible choice at once passes the whole profile at the default level.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kontrakt.sandbox.launch import Sandbox
from tests.e2e import dsop_bad_variants as bad
from tests.e2e import dsop_good_variants as good
from tests.e2e.test_dsop_rules import _broken, run, serve_fast, variant_manifest


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.start(["dsop-control"]) as started:
        bad.register_throttled_client(started.context)
        yield started


@pytest.fixture(scope="module")
def router(sandbox: Sandbox) -> Iterator[str]:
    with serve_fast(bad.Router(sandbox.context, good.all_built())) as url:
        yield url


@pytest.mark.parametrize("variant", good.GOOD, ids=lambda v: v.name)
def test_good_variant_passes_and_strict_flags_its_assumptions(
    sandbox: Sandbox, router: str, variant: good.GoodVariant
) -> None:
    manifest = variant_manifest(sandbox, router, good.built(variant))
    result = run(manifest, variant.touches)
    assert result.results, variant.name
    assert result.preflight is None or result.preflight.status != "cannot-run", result.preflight
    broken = {
        r.id: (r.verdict, r.message) for r in result.results if r.verdict in ("fail", "error")
    }
    assert broken == {}, broken
    assert result.passed, _broken(result)
    judged = [r.id for r in result.results if r.verdict in ("pass", "warn")]
    assert judged, f"{variant.name}: no rule it touches judged anything"
    for outcome in result.results:
        cited = {d.assumption for d in outcome.deviations}
        assert cited <= set(bad.DEVIATION_SITES.get(outcome.id, ())), (outcome.id, cited)
    strict = {r.id for r in result.results if r.verdicts.get("strict") == "fail"}
    assert strict == set(variant.strict), {
        r.id: (r.verdicts, r.message)
        for r in result.results
        if r.id in strict ^ set(variant.strict)
    }


def test_a_bank_making_every_good_choice_passes_the_profile(sandbox: Sandbox, router: str) -> None:
    result = run(variant_manifest(sandbox, router, good.COMBINED), None)
    broken = {
        r.id: (r.verdict, r.message) for r in result.results if r.verdict in ("fail", "error")
    }
    assert broken == {}, broken
    assert result.passed


def test_every_good_variant_is_named_once() -> None:
    names = [v.name for v in good.all_built()] + [v.name for v in bad.all_variants()]
    assert len(names) == len(set(names))
    assert len(good.GOOD) >= 10
