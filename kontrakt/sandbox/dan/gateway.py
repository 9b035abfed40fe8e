"""The DAN sandbox's stand-in for Azure API Management plus DAN Core's response middleware.

FACTS §0/§1: the gateway binds each subscription key to a product and its service context and
passes that to Core; Core adds `x-invocationId` and `x-version` to every response, signs JSON
datasets in `X-Signature-JWT`, sets CORS headers on some metadata, `WWW-Authenticate: Bearer
realm="data.altinn.no"` on every 401, and writes every error as an ErrorModel whose description is
the code's default message plus a detail (§3.8) and whose `invocationId` equals the header. The
generated server renders `{code, description}` (and the `Location` the handler returns with
`rt.Reply` after POST /authorization); this ASGI layer completes the rest from what the handler
left in the request's `RequestInfo`.

It also replaces the generated app's body-validation handler for the two operations with bodies,
so that a schema failure answers the code of DAN's validation order (FACTS §2.1) instead of the
first code the trigger table names: a missing requestor is 1001, not 1014.
"""

from __future__ import annotations

import contextvars
import hashlib
import inspect
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kontrakt.runtime import server as rt
from kontrakt.sandbox.dan.contract import Contract

__all__ = ["DanGateway", "RequestInfo", "current", "install_validation"]

REALM = 'Bearer realm="data.altinn.no"'


@dataclass
class RequestInfo:
    """One request as the gateway saw it, and what the handler wants added to the response."""

    invocation_id: str
    subscription_key: str | None
    service_context: str | None
    sign: bool = False
    cors: bool = False
    empty_error_body: bool = False
    detail_code: str | None = None
    detail_description: str | None = None


_CURRENT: contextvars.ContextVar[RequestInfo] = contextvars.ContextVar("dan_request")


def current() -> RequestInfo:
    """The request being served (set by `DanGateway` before the API app runs)."""
    return _CURRENT.get()


class DanGateway:
    """Pure ASGI middleware around the provider app (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        contract: Contract,
        base_path: str,
        base_url: str,
        service_context_of: Callable[[str | None], str | None],
        signing_key: rsa.RSAPrivateKey,
        version: str,
    ) -> None:
        self.app = app
        self.contract = contract
        self.base_path = base_path
        self.base_url = base_url
        self.service_context_of = service_context_of
        self.signing_key = signing_key
        self.version = version

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        key = Headers(scope=scope).get("ocp-apim-subscription-key")
        info = RequestInfo(str(uuid.uuid4()), key, self.service_context_of(key))
        in_api = str(scope.get("path", "")).startswith(self.base_path)
        held: Message | None = None
        chunks: list[bytes] = []

        async def send_wrapped(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = Headers(raw=message.get("headers", []))
                is_json = "json" in headers.get("content-type", "")
                if in_api and (
                    (status >= 400 and (is_json or info.empty_error_body))
                    or (status == 200 and info.sign and is_json)
                ):
                    held = message
                    return
                await send(self._start(message, info, in_api))
                return
            if message["type"] == "http.response.body" and held is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                start, body = self._finish(held, b"".join(chunks), info)
                held = None
                await send(start)
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            await send(message)

        token = _CURRENT.set(info)
        try:
            await self.app(scope, receive, send_wrapped)
        finally:
            _CURRENT.reset(token)

    # --- headers and bodies --------------------------------------------------------------------

    def _headers(
        self, message: Message, info: RequestInfo, in_api: bool, extra: Mapping[str, str]
    ) -> list[tuple[bytes, bytes]]:
        drop = {name.lower().encode() for name in extra} | {b"x-invocationid", b"x-version"}
        raw = [(k, v) for k, v in message.get("headers", []) if k.lower() not in drop]
        added = {"x-invocationId": info.invocation_id, "x-version": self.version, **extra}
        if in_api and info.cors and int(message["status"]) == 200:
            # FACTS §1: evidencecodes, servicecontexts, statuscodes (not errorcodes).
            added["Access-Control-Allow-Origin"] = "*"
        raw.extend(
            (name.encode("latin-1"), value.encode("latin-1")) for name, value in added.items()
        )
        return raw

    def _start(self, message: Message, info: RequestInfo, in_api: bool) -> Message:
        return {**message, "headers": self._headers(message, info, in_api, {})}

    def _finish(self, start: Message, body: bytes, info: RequestInfo) -> tuple[Message, bytes]:
        status = int(start["status"])
        extra: dict[str, str] = {}
        if status >= 400:
            body, code = self._error_body(body, info)
            if status == 401:
                # FACTS §1 "401 header"; DAN-AUTH-WWW-AUTHENTICATE.
                extra["WWW-Authenticate"] = (
                    REALM + ',error="invalid_token"' if code == 1024 else REALM
                )
            if info.empty_error_body:
                # FACTS §2.6/§2.7: DELETE and reminders answer an unknown id with no body.
                body = b""
        elif info.sign:
            extra["X-Signature-JWT"] = self._signature(body)
        extra["content-length"] = str(len(body))
        headers = self._headers(start, info, True, extra)
        if not body:
            headers = [(k, v) for k, v in headers if k.lower() != b"content-type"]
        return {**start, "headers": headers}, body

    def _error_body(self, body: bytes, info: RequestInfo) -> tuple[bytes, int | None]:
        try:
            data = json.loads(body) if body else None
        except ValueError:
            return body, None
        if not isinstance(data, dict):
            return body, None
        code = data.get("code")
        spec = self.contract.errors.get(code) if isinstance(code, int) else None
        if spec is not None:
            description = str(data.get("description") or "")
            if not description.startswith(spec.title.rstrip(".")):
                data["description"] = spec.message(description or None)
        if info.detail_code is not None:
            data["detailCode"] = info.detail_code
        if info.detail_description is not None:
            data["detailDescription"] = info.detail_description
        data["invocationId"] = info.invocation_id  # DAN-ERR-INVOCATION-ID
        encoded = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return encoded, code if isinstance(code, int) else None

    def _signature(self, body: bytes) -> str:
        # FACTS §1: RS256 JWT whose SHA256PayloadDigest is the lower-hex SHA-256 of the body.
        now = int(time.time())
        claims = {
            "SHA256PayloadDigest": hashlib.sha256(body).hexdigest(),
            "iss": self.base_url,
            "iat": now,
        }
        return jwt.encode(
            claims, self.signing_key, algorithm="RS256", headers={"kid": "dan-sandbox-signing"}
        )


# --- body validation in DAN's order -------------------------------------------------------------

# FACTS §2.1 validation order: the first failing step decides the code. (step, exception name)
_FIELD_STEPS: Mapping[str, tuple[int, str]] = {
    "requestor": (2, "InvalidRequestorException"),
    "requestorParty": (2, "InvalidRequestorException"),
    "subject": (3, "InvalidSubjectException"),
    "subjectParty": (3, "InvalidSubjectException"),
    "legalBasisList": (4, "InvalidLegalBasisException"),
    "evidenceRequests": (5, "InvalidEvidenceRequestException"),
    "validTo": (8, "InvalidValidToDateTimeException"),
}
_REQUEST_FIELD_STEPS: Mapping[str, tuple[int, str]] = {
    "legalBasisId": (4, "ErrorInLegalBasisReferenceException"),
    "legalBasisReference": (4, "ErrorInLegalBasisReferenceException"),
    "evidenceCodeName": (6, "UnknownEvidenceCodeException"),
    "parameters": (7, "InvalidEvidenceRequestParameterException"),
}
_WHOLE_BODY = (1, "InvalidAuthorizationRequestException")
_OTHER_FIELD = (10, "InvalidAuthorizationRequestException")


def _step(error: Mapping[str, Any]) -> tuple[int, str]:
    loc = tuple(error.get("loc", ()))
    if error.get("type") == "json_invalid" or len(loc) < 2 or not isinstance(loc[1], str):
        return _WHOLE_BODY
    field = loc[1]
    if field == "evidenceRequests" and len(loc) >= 4 and isinstance(loc[3], str):
        return _REQUEST_FIELD_STEPS.get(loc[3], _FIELD_STEPS["evidenceRequests"])
    return _FIELD_STEPS.get(field, _OTHER_FIELD)


def install_validation(app: FastAPI, contract: Contract) -> None:
    """Answer body schema failures of the body operations with DAN's codes (see module doc)."""
    original = app.exception_handlers[RequestValidationError]

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        operation = rt.operation_id_of(request)
        body_errors = [e for e in exc.errors() if tuple(e.get("loc", ("",)))[:1] == ("body",)]
        if not body_errors or operation not in ("createAccreditation", "directHarvestByPost"):
            response = original(request, exc)
            return await response if inspect.isawaitable(response) else response
        if operation == "directHarvestByPost":
            # The only body member is the subject (FACTS §2.4): an unreadable body is 1004.
            name, detail = "InvalidSubjectException", 'the body must be {"subject": "..."}'
        else:
            _, name = min(_step(e) for e in body_errors)
            first = body_errors[0]
            where = ".".join(str(part) for part in tuple(first.get("loc", ()))[1:]) or "body"
            detail = f"{where}: {first.get('msg', 'invalid')}"
        config: rt.ServerConfig = request.app.state.kontrakt
        return config.render_problem(contract.problem(name, detail), operation)

    app.add_exception_handler(RequestValidationError, on_validation)
