"""Nothing to judge is never a pass: every profile against providers that say nothing.

Two providers that no publisher's document describes: one answers `200 {}` to every request, one
answers an HTML error page with 500. Run with each shipped profile's committed manifest (the
preflight off, so that every rule runs), no rule may `pass`: a rule either finds the provider
wrong (fail) or finds nothing to judge (not-applicable, or an error naming what it needs). A rule
that passes here would certify a provider that does nothing.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from kontrakt.conformance.manifest import Limits, load_manifest
from kontrakt.conformance.profile import load_profile
from kontrakt.conformance.runner import run_profile
from tests.e2e._support import serve

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "kontrakt" / "conformance" / "manifests"
QUIET = Console(file=io.StringIO(), force_terminal=False)
PROFILES = {
    "dsop-control": ("sandbox-dsop-control.yaml", "/v2"),
    "dps": ("sandbox-dps.yaml", "/dps-submission"),
    "dan": ("sandbox-dan.yaml", "/v1"),
    "sdir-v1": ("sandbox-sdir-v1.yaml", "/aps-additionalcompetence-external"),
    "sdir-v2": ("sandbox-sdir.yaml", "/aps-additionalcompetence-external"),
}
# Rules judged on something other than the provider's answers.
NOT_FROM_ANSWERS = {
    "DSOP-BASE-PATH-MAJOR": "judges the manifest's base_url (the bank's path ends in /v2)",
}
TOKEN = {"access_token": "vacuous-token-0123456789", "token_type": "Bearer", "expires_in": 300}


def _silent_app(kind: str) -> Starlette:
    async def token(request: Request) -> Response:
        return JSONResponse(TOKEN)

    async def anything(request: Request) -> Response:
        await request.body()
        if kind == "html-500":
            return HTMLResponse("<html><body><h1>500</h1>Server Error</body></html>", 500)
        return JSONResponse({})

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    return Starlette(
        routes=[
            Route("/token", token, methods=["POST"]),
            Route("/{path:path}", anything, methods=methods),
        ]
    )


@pytest.fixture(scope="module", params=["empty-200", "html-500"])
def silent(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    with serve(_silent_app(request.param)) as url:
        yield request.param, url


def _environment(url: str) -> dict[str, str]:
    env = {"KONTRAKT_SANDBOX_TOKEN_URL": f"{url}/token", "KONTRAKT_SANDBOX_ISSUER": url}
    for name, (_, base) in PROFILES.items():
        variable = "KONTRAKT_SANDBOX_" + name.split("-v")[0].replace("-", "_").upper()
        env[variable] = f"{url}{base}"
    return env


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_no_rule_passes_against_a_provider_that_says_nothing(
    silent: tuple[str, str], name: str
) -> None:
    kind, url = silent
    manifest = load_manifest(MANIFESTS / PROFILES[name][0], env=_environment(url))
    manifest = manifest.model_copy(
        update={"limits": Limits(read_only=False, timeout_seconds=2, max_requests=4000)}
    )
    result = run_profile(load_profile(manifest.profile), manifest, console=QUIET, preflight=False)
    passed = sorted(
        r.id
        for r in result.results
        if r.verdicts.get("default") == "pass" and r.id not in NOT_FROM_ANSWERS
    )
    assert passed == [], f"{kind}: rules passing against a provider that says nothing: {passed}"
    assert not result.passed
