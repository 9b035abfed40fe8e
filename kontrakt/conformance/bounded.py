"""Reading answers of providers we do not control: bounded in bytes and in time.

Two things httpx alone does not bound. Its decoders inflate a whole network read at once, so a
1,827-byte `Content-Encoding: gzip, gzip` answer becomes a gigabyte before anyone counts it; here
the raw bytes are inflated by `zlib` with an output limit per call, counted against the cap as they
come, and stacked encodings are refused. Its timeouts are per socket operation, so a provider
dripping one header byte a second never times out; here a `Deadline` shuts the connection's socket
down when the request's overall time is up, whatever phase it is in.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = [
    "ACCEPT_ENCODING",
    "BodyTooLarge",
    "Deadline",
    "EncodingRefused",
    "decoded",
]

# What the suite asks for: the encodings it can inflate within a bound.
ACCEPT_ENCODING = "gzip, deflate"


class BodyTooLarge(Exception):
    """The decoded body passed the cap (the caller keeps what it read so far)."""


class EncodingRefused(Exception):
    """A Content-Encoding the suite does not inflate (stacked, unknown or corrupt)."""


def _encodings(header: str) -> list[str]:
    found = [e.strip().lower() for e in header.split(",") if e.strip()]
    return [e for e in found if e != "identity"]


def decoded(raw: Iterable[bytes], content_encoding: str, cap: int) -> Iterator[bytes]:
    """The body of `raw` chunks decoded per `content_encoding`, never holding more than `cap`
    decoded bytes: `BodyTooLarge` as soon as the output passes it."""
    encodings = _encodings(content_encoding)
    if len(encodings) > 1:
        raise EncodingRefused(
            f"stacked content encodings ({content_encoding}) are refused: a provider has no need "
            "to compress twice"
        )
    if not encodings:
        yield from _counted(raw, cap)
        return
    encoding = encodings[0]
    if encoding in ("gzip", "x-gzip"):
        yield from _inflate(raw, zlib.MAX_WBITS | 16, cap)
    elif encoding == "deflate":
        yield from _inflate(raw, zlib.MAX_WBITS, cap, raw_fallback=True)
    else:
        raise EncodingRefused(
            f"Content-Encoding {encoding!r} was not asked for (Accept-Encoding: {ACCEPT_ENCODING})"
        )


def _counted(raw: Iterable[bytes], cap: int) -> Iterator[bytes]:
    size = 0
    for chunk in raw:
        size += len(chunk)
        if size > cap:
            yield chunk[: max(0, len(chunk) - (size - cap - 1))]
            raise BodyTooLarge
        yield chunk


def _inflate(
    raw: Iterable[bytes], wbits: int, cap: int, *, raw_fallback: bool = False
) -> Iterator[bytes]:
    inflater: Any = zlib.decompressobj(wbits)
    first = True
    size = 0
    over = False

    def emit(data: bytes) -> bytes:
        nonlocal size, over
        size += len(data)
        over = size > cap
        return data

    try:
        for chunk in raw:
            if first and raw_fallback:
                first = False
                try:
                    data = inflater.decompress(chunk, cap - size + 1)
                except zlib.error:
                    # "deflate" is often sent as a raw stream without the zlib header.
                    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                    data = inflater.decompress(chunk, cap - size + 1)
            else:
                data = inflater.decompress(chunk, cap - size + 1)
            yield emit(data)
            if over:
                raise BodyTooLarge
            while inflater.unconsumed_tail:
                data = inflater.decompress(inflater.unconsumed_tail, cap - size + 1)
                if not data:
                    break
                yield emit(data)
                if over:
                    raise BodyTooLarge
        yield emit(inflater.flush(cap - size + 1))
        if over:
            raise BodyTooLarge
    except zlib.error as exc:
        raise EncodingRefused(f"the compressed body is corrupt ({exc})") from None


class Deadline:
    """One overall time limit for a request: connect, headers and body together.

    Pass `trace` as the request's `trace` extension: it keeps the socket of every connection the
    client opens. When the time is up the sockets are shut down, so a blocked read returns at
    once; `expired` tells the caller that this, not the provider, ended the read. Connections
    shut down in the pool are reopened by the client on the next request.
    """

    def __init__(self) -> None:
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self.expired = False

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event in ("connection.connect_tcp.complete", "connection.connect_unix_socket.complete"):
            stream = info.get("return_value")
            getter: Callable[[str], Any] | None = getattr(stream, "get_extra_info", None)
            found = getter("socket") if getter is not None else None
            if isinstance(found, socket.socket):
                with self._lock:
                    self._sockets = [s for s in self._sockets if s.fileno() != -1]
                    self._sockets.append(found)

    def start(self, seconds: float) -> None:
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        self.expired = True
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
