"""`create_app` of the DPS v1 sandbox provider: the generated server below `/dps-submission`, the
local object store at `/_objects/...` and the sandbox-only webhook admin at `/_sandbox/webhooks`.

Options (`kontrakt serve dps --set dps.step_delay=0.2`):

    step_delay             seconds between two statuses of the background pipelines (2.0)
    upload_url_ttl         lifetime of an upload URL in seconds (3600, FACTS §7)
    download_url_ttl       lifetime of a dissemination download URL (86400, FACTS §11.4)
    max_upload_bytes       largest accepted upload (5 GiB, FACTS §7)
    max_body_bytes         largest API request body, else 413 PAYLOAD_TOO_LARGE (1 MiB)
    webhook_url            subscribe this endpoint to every event at start (None)
    webhook_secret         its whsec_ secret (None: a fresh one, see GET /_sandbox/webhooks)
    webhook_retry_delay    first retry after this many seconds, then doubling (30.0, WH0)
    webhook_max_delay      longest wait between two attempts (86400.0)
    webhook_max_attempts   attempts per message, the first included (16: about 5 days)
    webhook_timeout        seconds the receiver has to answer (10.0, DPS-WHR-RESPOND-2XX)
    webhook_any_host       deliver to hosts other than 127.0.0.1/localhost (False)
    fixtures               the seed file (kontrakt/sandbox/fixtures/dps.yaml)
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import ASGIApp

from kontrakt.generated.dps_v1 import create_app as create_api
from kontrakt.generated.dps_v1.server import ERROR_STYLE
from kontrakt.runtime import server as rt
from kontrakt.sandbox.dps.handlers import DpsHandlers
from kontrakt.sandbox.dps.objects import ObjectStore
from kontrakt.sandbox.dps.pipeline import Pipeline, Tasks
from kontrakt.sandbox.dps.records import FIXTURE, SCHEMA, load_fixtures
from kontrakt.sandbox.dps.webhooks import RetryPolicy, Webhooks
from kontrakt.sandbox.launch import SandboxContext
from kontrakt.sandbox.store import Database

__all__ = ["create_app"]

logger = logging.getLogger("kontrakt.sandbox.dps")


async def _outside(request: Request, exc: Exception) -> Response:
    # Paths outside the API and the sandbox routes still answer in DPS's envelope.
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(status, "INTERNAL_ERROR")
    return rt.render_error(ERROR_STYLE, status, code, "There is nothing at this path.")


def create_app(
    context: SandboxContext,
    *,
    step_delay: float = 2.0,
    upload_url_ttl: float = 3600.0,
    download_url_ttl: float = 86400.0,
    max_upload_bytes: int = 5 * 1024**3,
    max_body_bytes: int = 1024**2,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    webhook_retry_delay: float = 30.0,
    webhook_max_delay: float = 86400.0,
    webhook_max_attempts: int = 16,
    webhook_timeout: float = 10.0,
    webhook_any_host: bool = False,
    fixtures: str | Path = FIXTURE,
) -> ASGIApp:
    """The DPS provider: API, object store and webhook admin on one ASGI app."""
    base_url = context.base_urls["dps"]
    parts = urlsplit(base_url)
    db = Database(context.database_path("dps"), SCHEMA)
    tasks = Tasks()
    objects = ObjectStore(
        db,
        f"{parts.scheme}://{parts.netloc}",
        upload_ttl=float(upload_url_ttl),
        download_ttl=float(download_url_ttl),
        max_upload_bytes=int(max_upload_bytes),
    )
    policy = RetryPolicy(
        first_delay=float(webhook_retry_delay),
        max_delay=float(webhook_max_delay),
        max_attempts=int(webhook_max_attempts),
        timeout=float(webhook_timeout),
    )
    webhooks = Webhooks(db, tasks.spawn, policy, any_host=bool(webhook_any_host))
    pipeline = Pipeline(db, tasks, objects, webhooks, step_delay=float(step_delay))
    load_fixtures(db, objects.upload_url, Path(fixtures))
    if webhook_url:
        webhooks.subscribe(webhook_url, secret=webhook_secret)

    api = create_api(
        DpsHandlers(db, objects, pipeline),
        {"oauth2": rt.BearerScheme(context.verifier("dps"))},
        # File content goes to the upload URL, never to the API (catalogue PAYLOAD_TOO_LARGE).
        max_body_size=int(max_body_bytes),
        title="DPS v1 (kontrakt sandbox)",
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await tasks.close()
            db.close()

    routes = [
        *objects.routes(),
        *webhooks.routes(),
        Mount(parts.path or "/", app=api),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: _outside, 405: _outside},
    )
