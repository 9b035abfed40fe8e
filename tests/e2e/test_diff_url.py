"""`kontrakt diff OLD URL` against real servers on 127.0.0.1: a provider's base URL is probed.

The DAN sandbox provider (the generated server, which serves its description at `/openapi.json`
below its base path) is found from its base URL; a base URL where nothing answers with a
description exits 2 naming every URL tried and what it answered; a redirect to anything but
http(s) is never followed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import jsonschema
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from typer.testing import CliRunner

from kontrakt.cli import app
from kontrakt.diff.load import WELL_KNOWN, probe_urls
from kontrakt.sandbox.launch import factory, in_process_context
from kontrakt.sandbox.providers import PROVIDERS
from tests.conftest import REPO
from tests.e2e._support import serve

DAN_SPEC = str(REPO / "specs" / "dan" / "v1" / "openapi.yaml")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["diff", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def dan_url() -> Iterator[str]:
    with serve(factory("dan")(in_process_context(["dan"]))) as url:
        yield url


def test_the_sandbox_provider_is_found_from_its_base_url(dan_url: str) -> None:
    code, out, err = run(DAN_SPEC, f"{dan_url}/v1", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["new"] == f"{dan_url}/v1/openapi.json"
    assert report["changes"] == []
    assert report["versioning_source"] == "servers URL /v1"
    schema = REPO / "tests" / "unit" / "ci" / "schema" / "sarif-schema-2.1.0.json"
    code, out, err = run(DAN_SPEC, f"{dan_url}/v1", "--format", "sarif", "--rules", "dan")
    assert code == 0, err
    log = json.loads(out)
    jsonschema.Draft4Validator(json.loads(schema.read_text())).validate(log)
    assert log["runs"][0]["properties"]["new"] == f"{dan_url}/v1/openapi.json"


def test_nothing_found_lists_every_url_tried_with_its_status(dan_url: str) -> None:
    base = f"{dan_url}/elsewhere/api"
    code, out, err = run(DAN_SPEC, base)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"kontrakt diff: {base}: no OpenAPI")
    tried = probe_urls(base)
    assert len(tried) == 1 + 2 * len(WELL_KNOWN)
    assert f"{dan_url}/elsewhere/api/.well-known/openapi.json" in tried
    assert f"{dan_url}/swagger.json" in tried and f"{dan_url}/v3/api-docs" in tried
    for url in tried:
        assert re.search(re.escape(url) + r" \(HTTP 404\)", err), url


def _swagger(request: Request) -> Response:
    return JSONResponse({"swagger": "2.0", "info": {"title": "old", "version": "1"}, "paths": {}})


def _html(request: Request) -> Response:
    return PlainTextResponse("<html>a portal</html>", media_type="text/html")


def _to_file(request: Request) -> Response:
    return RedirectResponse("file:///etc/passwd")


def _boom(request: Request) -> Response:
    return PlainTextResponse("down", status_code=503)


ODD = Starlette(
    routes=[
        Route("/legacy", _html),
        Route("/legacy/swagger.json", _swagger),
        Route("/legacy/openapi.json", _to_file),
        Route("/openapi.json", _boom),
    ]
)


def test_each_failure_is_named_and_file_redirects_are_not_followed() -> None:
    with serve(ODD) as url:
        code, out, err = run(DAN_SPEC, f"{url}/legacy")
    assert code == 2 and out == ""
    assert f"{url}/legacy (HTTP 200, neither an OpenAPI document nor DAN metadata)" in err
    assert re.search(re.escape(f"{url}/legacy/openapi.json") + r" \(cannot fetch: [^;]*\)", err)
    assert f"{url}/legacy/swagger.json (Swagger 2.0 is not supported" in err
    assert f"{url}/openapi.json (HTTP 503)" in err
    assert "root:" not in err  # /etc/passwd was never read


def test_a_host_that_does_not_answer_is_tried_once() -> None:
    with serve(ODD) as url:
        pass  # the port is free again: nothing listens there
    code, _, err = run(DAN_SPEC, f"{url}/v1")
    assert code == 2
    assert err.count(url) == 2  # the source, and the one URL tried
    assert "cannot fetch" in err


def test_only_http_urls_are_read() -> None:
    code, _, err = run(DAN_SPEC, "ftp://127.0.0.1/openapi.json")
    assert code == 2 and "only http(s) URLs and local files" in err


def test_the_sdir_sandbox_publishes_its_description_past_the_gateway_key() -> None:
    spec = str(REPO / "specs" / "sdir-additional-competence" / "v2" / "openapi.yaml")
    with serve(factory("sdir")(in_process_context(["sdir"]))) as root:
        url = root + PROVIDERS["sdir"].base_path
        code, out, err = run(spec, f"{url}/v2", "--format", "json", "--rules", "sdir")
        assert code == 0, err
        assert json.loads(out)["new"] == f"{url}/v2/openapi.json"
        v1 = spec.replace("/v2/", "/v1/")
        code, out, err = run(v1, f"{url}/v1", "--format", "json", "--rules", "sdir")
        assert (code, json.loads(out)["changes"]) == (0, []), err
        # Everything else still stops at the gateway without a key.
        assert httpx.get(f"{url}/v2/additionalcompetence").status_code == 401
