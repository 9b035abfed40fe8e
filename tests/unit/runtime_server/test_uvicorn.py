"""The DSOP-style server over a real socket: uvicorn on 127.0.0.1, JWKS fetched over HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from kontrakt.runtime.server import JwksCache
from tests.unit.runtime_server.helpers import Keys, dsop_app, dsop_headers, token


@pytest.fixture(scope="module")
def base_url(keys: Keys) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    # The issuer's key set is served by the same process, so the cache fetches it over the wire.
    app = dsop_app(keys, jwks=JwksCache(f"{url}/.well-known/jwks.json"))

    @app.get("/.well-known/jwks.json")
    async def jwks() -> dict[str, object]:
        return keys.jwks()

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_over_a_socket(base_url: str, keys: Keys) -> None:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        ok = client.get("/accounts", headers=dsop_headers(token(keys)))
        assert ok.status_code == 200
        assert ok.headers["content-type"] == "application/json"
        assert ok.json()["responseDetails"] == {"status": "complete"}

        no_token = client.get("/accounts", headers=dsop_headers(None))
        assert (no_token.status_code, no_token.json()["code"]) == (401, "ACC-010")

        wrong_method = client.post("/accounts", headers=dsop_headers(token(keys)))
        assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, "ACC-012")
        assert wrong_method.headers["allow"] == "GET"

        missing = dict(dsop_headers(token(keys)))
        del missing["CorrelationID"]
        bad_request = client.get("/accounts", headers=missing)
        assert (bad_request.status_code, bad_request.json()["code"]) == (400, "ACC-001")

        failing = client.get("/accounts", headers=dsop_headers(token(keys), PartyID="boom"))
        assert (failing.status_code, failing.json()["code"]) == (500, "ACC-100")
        assert "Traceback" not in failing.text
