"""Which sandbox providers exist, and how they are started on 127.0.0.1 (`kontrakt serve`).

Each provider is a module in `kontrakt/sandbox/` with `create_app(context, **options) -> ASGI app`; the
app serves the API below its base path (the path of the document's server URL, e.g. `/v2` for
DSOP) and verifies tokens through the issuer's JWKS. `Sandbox` binds the sockets first, so that
every base URL (which is also each API's token audience) is known before any app is built, then
runs the issuer and the providers with uvicorn in one event loop: in the foreground for the CLI,
or in a background thread for tests (`with Sandbox.start([...]) as sandbox:`).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import uvicorn
from starlette.types import ASGIApp

from kontrakt.runtime import server as rt
from kontrakt.sandbox.clients import Registry
from kontrakt.sandbox.issuer import TokenIssuer, create_issuer_app, default_issuer
from kontrakt.sandbox.providers import PROVIDERS, ProviderInfo

__all__ = ["PROVIDERS", "ProviderFactory", "ProviderInfo", "Sandbox", "SandboxContext"]

HOST = "127.0.0.1"


@dataclass
class SandboxContext:
    """What a provider needs from the sandbox: its URL, the issuer and the clients."""

    issuer: TokenIssuer
    base_urls: dict[str, str]  # provider name -> base URL; also its tokens' `aud`
    registry: Registry
    state_dir: Path | None = None  # SQLite files; None keeps every database in memory
    in_process: bool = False  # True: keys from the issuer object, not over HTTP

    def verifier(self, name: str) -> rt.JwtVerifier:
        """A JWT verifier for provider `name`: the issuer's JWKS, issuer and its own audience."""
        if self.in_process:
            keys = rt.JwksCache(jwks=self.issuer.jwks)
        else:
            keys = rt.JwksCache(self.issuer.jwks_url)
        return rt.JwtVerifier(keys, self.issuer.issuer_url, self.base_urls[name])

    def database_path(self, name: str) -> str:
        if self.state_dir is None:
            return ":memory:"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = self.state_dir / f"{name}.sqlite3"
        path.unlink(missing_ok=True)  # a fresh start gives the same data every time
        return str(path)


class ProviderFactory(Protocol):
    def __call__(self, context: SandboxContext, **options: Any) -> ASGIApp: ...


def factory(name: str) -> ProviderFactory:
    """The `create_app` of provider `name` (imported on demand: each pulls in its package)."""
    info = PROVIDERS[name]
    module = importlib.import_module(info.module)
    create: ProviderFactory = module.create_app
    return create


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it every loopback answer waits ~40 ms for
    # Nagle's algorithm against the client's delayed ACK (uvicorn writes headers and body apart).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    return sock


def in_process_context(names: Sequence[str] = tuple(PROVIDERS)) -> SandboxContext:
    """A context for apps driven through `httpx.ASGITransport` (no sockets): fixed test URLs."""
    urls = {n: f"http://{n}.sandbox.test{PROVIDERS[n].base_path}" for n in names}
    issuer = default_issuer("http://issuer.sandbox.test/", urls)
    return SandboxContext(issuer, urls, issuer.registry, in_process=True)


@dataclass
class Sandbox:
    """The issuer and a set of providers on real sockets of 127.0.0.1."""

    names: tuple[str, ...]
    context: SandboxContext
    apps: dict[str, ASGIApp]
    sockets: dict[str, socket.socket]
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    _servers: list[uvicorn.Server] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        names: Sequence[str],
        *,
        host: str = HOST,
        port: int = 0,
        state_dir: Path | None = None,
        options: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Sandbox:
        """Bind every socket (port 0: free ports), then build the issuer and the apps."""
        unknown = [n for n in names if n not in PROVIDERS]
        if unknown:
            raise ValueError(
                f"unknown sandbox provider {unknown[0]!r}; known: {', '.join(PROVIDERS)}"
            )
        sockets: dict[str, socket.socket] = {}
        try:
            sockets["issuer"] = _bind(host, port)
            for name in names:
                offset = PROVIDERS[name].port_offset
                sockets[name] = _bind(host, port + offset if port else 0)
        except OSError:
            for sock in sockets.values():
                sock.close()
            raise
        url = {k: f"http://{host}:{s.getsockname()[1]}" for k, s in sockets.items()}
        base_urls = {n: url[n] + PROVIDERS[n].base_path for n in names}
        issuer = default_issuer(url["issuer"] + "/", base_urls)
        context = SandboxContext(issuer, base_urls, issuer.registry, state_dir=state_dir)
        apps: dict[str, ASGIApp] = {"issuer": create_issuer_app(issuer)}
        for name in names:
            apps[name] = factory(name)(context, **dict((options or {}).get(name, {})))
        return cls(tuple(names), context, apps, sockets, dict(options or {}))

    @property
    def issuer_url(self) -> str:
        return self.context.issuer.issuer_url

    @property
    def token_url(self) -> str:
        return self.context.issuer.token_url

    def url(self, name: str) -> str:
        """The base URL of provider `name` (its token audience too)."""
        return self.context.base_urls[name]

    def bank_catalogue(self) -> dict[str, Any]:
        """The DSOP bank catalogue (Digdir's API catalogue's stand-in) for the banks served.

        `{"banks": {orgno: {"name", "provider", "baseUrl"}}, "customerRelation": URL | None}`:
        every DSOP Control provider served, by the organisation number of its fixture's bank.
        """
        from kontrakt.sandbox.dsop_customer_relation.second_bank import bank_catalogue

        fixtures = {
            name: Path(str(opts["fixture"]))
            for name, opts in self.options.items()
            if name in ("dsop-control", "dsop-control-2") and opts.get("fixture")
        }
        return {
            "banks": bank_catalogue(self.context.base_urls, fixtures),
            "customerRelation": self.context.base_urls.get("dsop-customer-relation"),
        }

    def write_bank_catalogue(self, path: Path) -> Path:
        """Write `bank_catalogue()` as JSON (sorted keys) to `path`; returns the path."""
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.bank_catalogue(), indent=2, sort_keys=True) + "\n"
        path.write_text(text, encoding="utf-8")
        return path

    async def serve(self) -> None:
        """Run every server until one stops or the task is cancelled."""
        self._servers = [
            uvicorn.Server(
                uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
            )
            for app in self.apps.values()
        ]
        tasks = [
            asyncio.ensure_future(server.serve(sockets=[sock]))
            for server, sock in zip(self._servers, self.sockets.values(), strict=True)
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for server in self._servers:
                server.should_exit = True

    def stop(self) -> None:
        for server in self._servers:
            server.should_exit = True

    @property
    def started(self) -> bool:
        return bool(self._servers) and all(s.started for s in self._servers)

    @classmethod
    @contextmanager
    def start(cls, names: Sequence[str], **kwargs: Any) -> Iterator[Sandbox]:
        """Serve in a background thread (tests); stops and closes the sockets on exit."""
        sandbox = cls.build(names, **kwargs)
        thread = threading.Thread(target=asyncio.run, args=(sandbox.serve(),), daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while not sandbox.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                sandbox.stop()
                raise RuntimeError("the sandbox servers did not start")
            time.sleep(0.01)
        try:
            yield sandbox
        finally:
            sandbox.stop()
            thread.join(timeout=15)
            for sock in sandbox.sockets.values():
                sock.close()
