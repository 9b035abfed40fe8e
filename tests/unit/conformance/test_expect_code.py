"""RuleContext.expect_code compares codes as the catalogue names them, whatever the body's type.

DAN's catalogue keys are strings (`"1001"`) while its ErrorModel carries integers (`1001`); a
rule comparing the two must see the same code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from kontrakt.conformance.manifest import Manifest
from kontrakt.conformance.probe import Exchange, ProbeResponse
from kontrakt.conformance.registry import Failure, RuleContext
from kontrakt.conformance.spec import Spec

REPO = Path(__file__).resolve().parents[3]


def answer(body: Any) -> ProbeResponse:
    exchange = Exchange("GET", "http://provider.test/x", [], None, "curl http://provider.test/x")
    headers = httpx.Headers({"content-type": "application/json"})
    return ProbeResponse(400, headers, json.dumps(body).encode(), exchange, 0.0)


def context(spec: str) -> RuleContext:
    loaded = Spec.from_path(REPO / "specs" / spec / "openapi.yaml")
    rule = next(iter(loaded.rules.values()))
    manifest = Manifest.model_validate({"profile": spec, "base_url": "http://provider.test"})
    return RuleContext(rule, loaded, manifest, cast(Any, None), cast(Any, None))


def test_integer_codes_match_string_catalogue_keys() -> None:
    ctx = context("dan/v1")
    ctx.expect_code(answer({"code": 1001, "description": "x"}), {"1001"})
    with pytest.raises(Failure, match="expected code 1004"):
        ctx.expect_code(answer({"code": 1001, "description": "x"}), {"1004"})


def test_string_codes_still_match() -> None:
    ctx = context("dsop-control/v2.0")
    ctx.expect_code(answer({"code": "ACC-001", "message": "x"}), {"ACC-001"})
    with pytest.raises(Failure, match="got no code"):
        ctx.expect_code(answer({"message": "no code member"}), {"ACC-001"})
