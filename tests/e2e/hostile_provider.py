"""A hostile HTTP provider on a raw socket of 127.0.0.1: answers no framework would send.

Modes (the request path names one): `/gzip-gzip` a body gzipped twice (64 MiB of zeros in a few
hundred bytes on the wire; `/gzip-gzip-1g` 1 GiB, for the benchmark), `/gzip-bomb` 200 MiB of zeros gzipped once, `/deflate-raw` a small
JSON body as a raw deflate stream, `/drip` response headers one byte every 0.2 s for ever, `/silent` the
connection accepted and never answered, `/ok` a plain JSON answer.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

__all__ = ["hostile_provider"]


@cache
def _zeros_gzip(megabytes: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = b"\0" * (1 << 20)
    parts = [compressor.compress(block) for _ in range(megabytes)]
    parts.append(compressor.flush())
    return b"".join(parts)


@cache
def _double_gzip(megabytes: int = 64) -> bytes:
    return gzip.compress(_zeros_gzip(megabytes), 9)


def _answer(path: str, conn: socket.socket, stop: threading.Event) -> None:
    def send(status: str, headers: dict[str, str], body: bytes) -> None:
        head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        conn.sendall(head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)

    if path.startswith("/gzip-gzip"):
        body = _double_gzip(1024 if path.startswith("/gzip-gzip-1g") else 64)
        send("200 OK", {"Content-Type": "application/json", "Content-Encoding": "gzip, gzip"}, body)
    elif path.startswith("/gzip-bomb"):
        body = _zeros_gzip(200)
        send("200 OK", {"Content-Type": "application/json", "Content-Encoding": "gzip"}, body)
    elif path.startswith("/deflate-raw"):
        compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        body = compressor.compress(b'{"items": [1, 2, 3]}') + compressor.flush()
        send("200 OK", {"Content-Type": "application/json", "Content-Encoding": "deflate"}, body)
    elif path.startswith("/drip"):
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
            if stop.is_set():
                return
            conn.sendall(bytes([byte]))
            time.sleep(0.2)
    elif path.startswith("/silent"):
        stop.wait(120)
    else:
        send("200 OK", {"Content-Type": "application/json"}, b'{"items": []}')


def _serve(server: socket.socket, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            conn, _ = server.accept()
        except OSError:
            return
        threading.Thread(target=_handle, args=(conn, stop), daemon=True).start()


def _handle(conn: socket.socket, stop: threading.Event) -> None:
    with conn:
        try:
            while not stop.is_set():
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    request += chunk
                path = request.split(b" ", 2)[1].decode("latin-1")
                _answer(path, conn, stop)
        except OSError:
            return


@contextmanager
def hostile_provider() -> Iterator[str]:
    """Serve the hostile modes on a free port of 127.0.0.1; yield the base URL."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(server, stop), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        with contextlib.suppress(OSError):
            server.shutdown(socket.SHUT_RDWR)  # wakes the accept() of the serving thread
        server.close()
        thread.join(timeout=5)
