"""The DPS sandbox's local object store: presigned PUT (upload) and GET (download) URLs.

Real DPS hands out presigned S3 URLs (FACTS §7: one PUT of the raw bytes with Content-Length, no
Authorization header, valid about one hour, at most 5 GB) and presigned download links in
`dissemination.delivered` (about 24 hours). The sandbox serves both itself, on the same host as
the API but outside its base path: `/_objects/{key}?expires=..&file=..&signature=..`, where the
signature is an HMAC-SHA256 (a per-start secret) over method, key, expiry and file id. The bytes
live in the provider's SQLite database (`objects`). Errors answer as S3 does: an XML `<Error>`
with `AccessDenied`, `NoSuchKey`, `MissingContentLength`, `EntityTooLarge` or `IncompleteBody`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime
from urllib.parse import quote, urlencode
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kontrakt.sandbox.dps.records import store_object
from kontrakt.sandbox.store import Database

__all__ = ["PREFIX", "ObjectStore"]

PREFIX = "/_objects"


def _s3_error(status: int, code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
    )
    return Response(body, status_code=status, media_type="application/xml")


class ObjectStore:
    """Signs object URLs and serves them (`routes`); `origin` is the sandbox's scheme://host:port."""

    def __init__(
        self,
        db: Database,
        origin: str,
        *,
        upload_ttl: float,
        download_ttl: float,
        max_upload_bytes: int,
    ) -> None:
        self.db = db
        self.origin = origin.rstrip("/")
        self.upload_ttl = upload_ttl
        self.download_ttl = download_ttl
        self.max_upload_bytes = max_upload_bytes
        self._secret = secrets.token_bytes(32)

    # --- signing ------------------------------------------------------------------------------

    def _signature(self, method: str, key: str, expires: int, file_id: str) -> str:
        message = f"{method}\n{key}\n{expires}\n{file_id}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def _url(self, method: str, key: str, expires: int, file_id: str = "") -> str:
        query = {"expires": str(expires), "file": file_id} if file_id else {"expires": str(expires)}
        query["signature"] = self._signature(method, key, expires, file_id)
        return f"{self.origin}{PREFIX}/{quote(key, safe='/')}?{urlencode(query)}"

    def upload_url(self, key: str, file_id: str) -> str:
        """A presigned PUT URL for the registration `file_id` (FACTS §7: about one hour)."""
        return self._url("PUT", key, int(time.time() + self.upload_ttl), file_id)

    def download_url(self, key: str) -> tuple[str, datetime]:
        """A presigned GET URL and when it expires (the examples in FACTS §11.4: about 24 h)."""
        expires = int(time.time() + self.download_ttl)
        return self._url("GET", key, expires), datetime.fromtimestamp(expires, UTC)

    def _refused(self, request: Request, method: str, key: str) -> Response | None:
        query = request.query_params
        expires, signature = query.get("expires", ""), query.get("signature", "")
        if not expires.isdigit() or not signature:
            return _s3_error(403, "AccessDenied", "The URL is not a presigned URL of this store.")
        wanted = self._signature(method, key, int(expires), query.get("file", ""))
        if not hmac.compare_digest(wanted, signature):
            return _s3_error(403, "AccessDenied", "The request signature does not match.")
        if int(expires) < time.time():
            return _s3_error(403, "AccessDenied", "Request has expired.")
        return None

    # --- routes -------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [Route(PREFIX + "/{key:path}", self._serve, methods=["GET", "HEAD", "PUT"])]

    async def _serve(self, request: Request) -> Response:
        key = request.path_params["key"]
        if request.method == "PUT":
            return await self._put(request, key)
        refused = self._refused(request, "GET", key)
        if refused is not None:
            return refused
        row = self.db.one("SELECT data, md5 FROM objects WHERE object_key = ?", (key,))
        if row is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        data = bytes(row["data"])
        headers = {"ETag": f'"{row["md5"]}"'}
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(data))
            return Response(b"", headers=headers, media_type="application/octet-stream")
        return Response(data, headers=headers, media_type="application/octet-stream")

    async def _put(self, request: Request, key: str) -> Response:
        refused = self._refused(request, "PUT", key)
        if refused is not None:
            return refused
        file_id = request.query_params.get("file", "")
        length = request.headers.get("content-length")
        if length is None or not length.isdigit():
            # FACTS §7: the PUT carries Content-Length (S3 refuses chunked uploads to these URLs).
            return _s3_error(411, "MissingContentLength", "Content-Length is required.")
        if int(length) > self.max_upload_bytes:
            # DPS-UPLOAD-MAX-SIZE: at most 5 GB through a presigned URL.
            return _s3_error(
                400, "EntityTooLarge", f"An upload takes at most {self.max_upload_bytes} bytes."
            )
        data = await request.body()
        if len(data) != int(length):
            return _s3_error(400, "IncompleteBody", "The body is shorter than Content-Length.")
        with self.db.transaction() as tx:
            row = tx.one(
                "SELECT s.status FROM files f JOIN submissions s USING (submission_id)"
                " WHERE f.file_id = ? AND f.object_key = ?",
                (file_id, key),
            )
            if row is None:
                # The registration was deleted (FACTS §7: delete and register again): dead URL.
                return _s3_error(403, "AccessDenied", "The file registration no longer exists.")
            if row["status"] != "REGISTERED":
                # DPS-STATE-FROZEN-AFTER-FINALIZE: the file set is frozen after finalize.
                return _s3_error(403, "AccessDenied", "The submission has been finalized.")
            md5 = store_object(tx, key, data)
        # DPS-UPLOAD-RETRY-SAME-URL: another PUT on the same URL replaces the bytes.
        return Response(b"", status_code=200, headers={"ETag": f'"{md5}"'})
