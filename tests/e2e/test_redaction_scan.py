"""Every artefact of a run against a provider that echoes what it gets holds no secret and no
identity number, in any written form, also where an excerpt is cut."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from kontrakt.conformance.manifest import Manifest
from kontrakt.conformance.probe import EXCERPT_BYTES
from kontrakt.conformance.profile import load_profile
from kontrakt.conformance.redact import is_national_id
from kontrakt.conformance.report import write_reports
from kontrakt.conformance.runner import run_profile
from tests.e2e import levels_profile
from tests.e2e._support import serve

GATEWAY_KEY = "gw-secret-value-0123"
IDENTITIES = ["128585-10048", "128585.10048", "128585 10048", "12858510048"]


def _echo_app() -> Starlette:
    async def items(request: Request) -> Response:
        echoed = dict(request.headers)
        if "x-case" not in request.headers:
            # A secret and an identity number straddling the excerpt's cut.
            filler = "x" * (EXCERPT_BYTES - 6)
            text = filler + IDENTITIES[0] + " " + request.headers.get("authorization", "")
            return PlainTextResponse(text, status_code=400)
        return JSONResponse(
            {"items": [{"id": 1, "name": "first"}], "echo": echoed, "people": IDENTITIES},
            headers={"X-Echo-Key": GATEWAY_KEY, "X-Person": IDENTITIES[1]},
        )

    return Starlette(routes=[Route("/items", items)])


def _identity_numbers(text: str) -> list[str]:
    found = []
    for match in re.finditer(r"\d+(?:[ \u00a0.\-]\d+)*", text):
        digits = re.sub(r"[ \u00a0.\-]", "", match.group(0))
        found += [
            digits[i : i + 11]
            for i in range(len(digits) - 10)
            if is_national_id(digits[i : i + 11])
        ]
    return found


def test_no_secret_or_identity_number_in_any_artefact(tmp_path: Path) -> None:
    with serve(_echo_app()) as url:
        manifest = Manifest.model_validate(
            {
                "profile": str(levels_profile.SPEC),
                "base_url": url,
                "auth": {"type": "bearer", "token": levels_profile.TOKEN},
                "credentials": {"wrong_scope": {"type": "bearer", "token": levels_profile.LIMITED}},
                "headers": {"X-Gateway-Key": GATEWAY_KEY},
                "fixtures": {"item_name": "first"},
            }
        )
        console = io.StringIO()
        result = run_profile(
            load_profile("levels", rule_set=levels_profile.rules),
            manifest,
            console=Console(file=console, force_terminal=False),
        )
    write_reports(result, tmp_path, ("json", "junit", "html"))
    assert result.requests_sent > 3
    texts = {p.name: p.read_text() for p in tmp_path.iterdir()}
    texts["console"] = console.getvalue()
    for name, text in texts.items():
        for secret in (levels_profile.TOKEN, levels_profile.LIMITED, GATEWAY_KEY):
            assert secret not in text, f"{secret} in {name}"
            assert secret[:12] not in text, f"a prefix of {secret} in {name}"
        assert _identity_numbers(text) == [], name
        assert "128585" not in text, f"a prefix of an identity number in {name}"
