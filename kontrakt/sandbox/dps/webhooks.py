"""DPS webhooks from the sandbox: Standard Webhooks signing, delivery with retries, subscriptions.

FACTS §11: DPS POSTs JSON to the endpoint NB registered for the client, signed per Standard
Webhooks - `webhook-id` (unique per message, the same on every retry), `webhook-timestamp` (Unix
seconds), `webhook-signature` = `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")) -
and retries failed deliveries with exponential backoff. The secret is a Standard Webhooks
`whsec_<base64>` string whose decoded bytes are the HMAC key (A-DPS-023).

NB registers endpoints manually and the spec has no subscription operation, so the sandbox
offers its own admin routes outside the API (`/_sandbox/webhooks`), and the provider option
`webhook_url` subscribes one endpoint at start. A subscription's response carries its secret, so
that a test or the conformance suite can verify the signatures.

Retries (A-DPS-024): 5xx, 408, 429, 3xx, timeouts and connection errors are retried; any other
4xx is permanent. The delays double from `first_delay` (NB's published schedule starts at 30 s)
up to `max_delay` (a day), for at most `max_attempts` attempts (16 reach about 5 days).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
import pydantic
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kontrakt.generated.dps_v1.server import ERROR_STYLE
from kontrakt.runtime import server as rt
from kontrakt.sandbox.dps.records import base62_id, now_rfc3339
from kontrakt.sandbox.store import Database

__all__ = [
    "ADMIN_PREFIX",
    "EVENTS",
    "RetryPolicy",
    "Webhooks",
    "new_secret",
    "secret_key",
    "sign",
]

logger = logging.getLogger("kontrakt.sandbox.dps.webhooks")

ADMIN_PREFIX = "/_sandbox/webhooks"
EventType = Literal["submission.preserved", "submission.rejected", "dissemination.delivered"]
EVENTS: tuple[EventType, ...] = (
    "submission.preserved",
    "submission.rejected",
    "dissemination.delivered",
)
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def new_secret() -> str:
    """A fresh Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_<base64>` secret (A-DPS-023); ValueError for another form."""
    if not secret.startswith("whsec_"):
        raise ValueError("a webhook secret has the form whsec_<base64>")
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except binascii.Error as exc:
        raise ValueError("the part after whsec_ is not base64") from exc
    if len(key) < 16:
        raise ValueError("a webhook secret needs at least 16 bytes of key")
    return key


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value (DPS-WH-SIGNATURE): `v1,<base64 HMAC-SHA256>`."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class RetryPolicy:
    """When to try a delivery again (DPS-WH-RETRY-5XX, DPS-WH-RETRY-SCHEDULE)."""

    first_delay: float = 30.0
    max_delay: float = 86400.0
    max_attempts: int = 16
    timeout: float = 10.0  # DPS-WHR-RESPOND-2XX: the receiver answers within 10 s

    def delay(self, failed: int) -> float:
        """Seconds to wait after the `failed`-th failed attempt: doubling, capped."""
        return float(min(self.first_delay * 2 ** (failed - 1), self.max_delay))

    @staticmethod
    def retryable(status: int | None) -> bool:
        """Whether a failed attempt (None: timeout or connection error) is tried again."""
        return status is None or not (400 <= status < 500) or status in (408, 429)


class SubscriptionRequest(BaseModel):
    """The body of `POST /_sandbox/webhooks`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    url: pydantic.AnyHttpUrl
    secret: str | None = None
    events: list[EventType] = Field(default_factory=lambda: list(EVENTS), min_length=1)
    client_id: str | None = Field(default=None, alias="clientId")


def _error(status: int, code: str, message: str, details: str | None = None) -> Response:
    return rt.render_error(ERROR_STYLE, status, code, message, details=details)


Spawn = Callable[[Coroutine[Any, Any, None], str], None]


class Webhooks:
    """Subscriptions and deliveries, both in the provider's database."""

    def __init__(
        self, db: Database, spawn: Spawn, policy: RetryPolicy, *, any_host: bool = False
    ) -> None:
        self.db = db
        self.spawn = spawn
        self.policy = policy
        self.any_host = any_host

    # --- subscriptions --------------------------------------------------------------------------

    def subscribe(
        self,
        url: str,
        *,
        secret: str | None = None,
        events: list[EventType] | None = None,
        client_id: str | None = None,
    ) -> dict[str, Any]:
        """Register an endpoint; ValueError for a bad secret or a non-loopback host."""
        secret = secret or new_secret()
        secret_key(secret)
        host = urlsplit(url).hostname or ""
        if not self.any_host and host not in _LOOPBACK:
            raise ValueError("the sandbox delivers webhooks to 127.0.0.1 or localhost only")
        subscription = {
            "subscriptionId": base62_id(),
            "url": url,
            "secret": secret,
            "events": list(events or EVENTS),
            "clientId": client_id,
        }
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO subscriptions (subscription_id, url, secret, events, client_id)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    subscription["subscriptionId"],
                    url,
                    secret,
                    json.dumps(subscription["events"]),
                    client_id,
                ),
            )
        return subscription

    def _subscription(self, row: Any) -> dict[str, Any]:
        return {
            "subscriptionId": row["subscription_id"],
            "url": row["url"],
            "secret": row["secret"],
            "events": json.loads(row["events"]),
            "clientId": row["client_id"],
        }

    # --- sending --------------------------------------------------------------------------------

    def emit(self, event_type: EventType, payload: BaseModel, client_id: str) -> list[str]:
        """Queue `payload` for every subscription of `event_type` (and of `client_id`, when the
        subscription names a client); returns the webhook ids. Deliveries run in the background.
        """
        body = json.dumps(
            payload.model_dump(mode="json", by_alias=True, exclude_none=True),
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8")
        ids: list[str] = []
        with self.db.transaction() as tx:
            for row in tx.query("SELECT * FROM subscriptions ORDER BY rowid"):
                if event_type not in json.loads(row["events"]):
                    continue
                if row["client_id"] is not None and row["client_id"] != client_id:
                    continue
                webhook_id = "msg_" + base62_id()
                tx.execute(
                    "INSERT INTO deliveries (webhook_id, subscription_id, event_type, body,"
                    " state, attempts, created_at) VALUES (?, ?, ?, ?, 'pending', 0, ?)",
                    (webhook_id, row["subscription_id"], event_type, body, now_rfc3339()),
                )
                ids.append(webhook_id)
        for webhook_id in ids:
            self.spawn(self._deliver(webhook_id), f"webhook {webhook_id}")
        return ids

    async def _deliver(self, webhook_id: str) -> None:
        async with httpx.AsyncClient(timeout=self.policy.timeout) as http:
            while True:
                row = self.db.one(
                    "SELECT d.body, d.attempts, s.url, s.secret FROM deliveries d"
                    " JOIN subscriptions s USING (subscription_id) WHERE d.webhook_id = ?",
                    (webhook_id,),
                )
                if row is None:
                    return  # the subscription was removed meanwhile
                body = bytes(row["body"])
                # DPS-WH-TIMESTAMP: the send time of this attempt; DPS-WH-ID-STABLE: same id.
                timestamp = int(time.time())
                headers = {
                    "Content-Type": "application/json",
                    "User-Agent": "kontrakt-sandbox-dps",
                    "webhook-id": webhook_id,
                    "webhook-timestamp": str(timestamp),
                    "webhook-signature": sign(row["secret"], webhook_id, timestamp, body),
                }
                status: int | None = None
                error: str | None = None
                try:
                    response = await http.post(row["url"], content=body, headers=headers)
                    status = response.status_code
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                attempts = row["attempts"] + 1
                if status is not None and 200 <= status < 300:
                    state = "delivered"
                elif self.policy.retryable(status) and attempts < self.policy.max_attempts:
                    state = "pending"
                else:
                    state = "failed"
                with self.db.transaction() as tx:
                    tx.execute(
                        "UPDATE deliveries SET state = ?, attempts = ?, last_status = ?,"
                        " last_error = ? WHERE webhook_id = ?",
                        (state, attempts, status, error, webhook_id),
                    )
                if state != "pending":
                    if state == "failed":
                        logger.warning(
                            "webhook %s undelivered after %d attempts", webhook_id, attempts
                        )
                    return
                await asyncio.sleep(self.policy.delay(attempts))

    # --- admin routes ---------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [
            Route(ADMIN_PREFIX, self._create, methods=["POST"]),
            Route(ADMIN_PREFIX, self._list, methods=["GET"]),
            Route(ADMIN_PREFIX + "/{subscriptionId}", self._read, methods=["GET"]),
            Route(ADMIN_PREFIX + "/{subscriptionId}", self._delete, methods=["DELETE"]),
            Route(ADMIN_PREFIX + "/{subscriptionId}/deliveries", self._deliveries, methods=["GET"]),
        ]

    async def _create(self, request: Request) -> Response:
        try:
            wanted = SubscriptionRequest.model_validate_json(await request.body())
            subscription = self.subscribe(
                str(wanted.url),
                secret=wanted.secret,
                events=wanted.events,
                client_id=wanted.client_id,
            )
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "body"
            return _error(400, "VALIDATION_ERROR", f"{where}: {first['msg']}", details=where)
        except ValueError as exc:
            return _error(400, "VALIDATION_ERROR", str(exc))
        return JSONResponse(subscription, status_code=201)

    async def _list(self, request: Request) -> Response:
        rows = self.db.query("SELECT * FROM subscriptions ORDER BY rowid")
        return JSONResponse({"subscriptions": [self._subscription(row) for row in rows]})

    def _find(self, request: Request) -> Any:
        return self.db.one(
            "SELECT * FROM subscriptions WHERE subscription_id = ?",
            (request.path_params["subscriptionId"],),
        )

    async def _read(self, request: Request) -> Response:
        row = self._find(request)
        if row is None:
            return _error(404, "NOT_FOUND", "No such webhook subscription.")
        return JSONResponse(self._subscription(row))

    async def _delete(self, request: Request) -> Response:
        with self.db.transaction() as tx:
            gone = tx.execute(
                "DELETE FROM subscriptions WHERE subscription_id = ?",
                (request.path_params["subscriptionId"],),
            ).rowcount
        if not gone:
            return _error(404, "NOT_FOUND", "No such webhook subscription.")
        return Response(status_code=204)

    async def _deliveries(self, request: Request) -> Response:
        if self._find(request) is None:
            return _error(404, "NOT_FOUND", "No such webhook subscription.")
        rows = self.db.query(
            "SELECT * FROM deliveries WHERE subscription_id = ? ORDER BY rowid",
            (request.path_params["subscriptionId"],),
        )
        items = [
            {
                "webhookId": row["webhook_id"],
                "type": row["event_type"],
                "state": row["state"],
                "attempts": row["attempts"],
                "lastStatus": row["last_status"],
                "lastError": row["last_error"],
                "createdAt": row["created_at"],
                "payload": json.loads(bytes(row["body"])),
            }
            for row in rows
        ]
        return JSONResponse({"deliveries": items})
