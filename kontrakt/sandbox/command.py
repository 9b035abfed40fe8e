"""`kontrakt serve`: start the token issuer and sandbox providers on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from kontrakt.sandbox.providers import PROVIDERS

__all__ = ["serve_command"]


def _options(values: list[str]) -> dict[str, dict[str, Any]]:
    import yaml

    options: dict[str, dict[str, Any]] = {}
    for item in values:
        target, sep, raw = item.partition("=")
        name, dot, key = target.partition(".")
        if not sep or not dot or name not in PROVIDERS or not key:
            raise typer.BadParameter(
                f"{item!r}: expected API.OPTION=VALUE, API one of {', '.join(PROVIDERS)}"
            )
        options.setdefault(name, {})[key.replace("-", "_")] = yaml.safe_load(raw)
    return options


def _state_catalogue() -> Path:
    import os

    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "kontrakt" / "sandbox" / "dsop-banks.json"


def serve_command(
    apis: Annotated[
        list[str] | None,
        typer.Argument(
            help=f"Providers to start: {', '.join(PROVIDERS)}, or all (default).",
            show_default=False,
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(help="The issuer's port; provider N listens on port + N (0: free ports)."),
    ] = 8000,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            help="Keep the SQLite databases here (recreated at each start); default in memory."
        ),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="A provider option, e.g. --set dsop-control.rate_limit=5 (repeatable)."
        ),
    ] = None,
    catalogue: Annotated[
        Path | None,
        typer.Option(
            help="Where to write the DSOP bank catalogue (bank org number -> base URL) when a DSOP"
            " Control bank is served; default STATE_DIR/dsop-banks.json, else"
            " $XDG_STATE_HOME/kontrakt/sandbox/dsop-banks.json.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Start the local token issuer and the reference providers (Ctrl-C stops them)."""
    import asyncio

    from kontrakt.sandbox.clients import FIXTURES
    from kontrakt.sandbox.keys import keys_dir
    from kontrakt.sandbox.launch import Sandbox

    names = list(PROVIDERS) if not apis or apis == ["all"] else apis
    unknown = [n for n in names if n not in PROVIDERS]
    if unknown:
        raise typer.BadParameter(
            f"unknown provider {unknown[0]!r}; known: {', '.join(PROVIDERS)}, all"
        )
    try:
        sandbox = Sandbox.build(
            names, host=host, port=port, state_dir=state_dir, options=_options(option or [])
        )
    except OSError as exc:
        typer.echo(f"kontrakt serve: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"token issuer   {sandbox.issuer_url}  (POST {sandbox.token_url}, GET {sandbox.issuer_url}jwks)"
    )
    for name in names:
        typer.echo(f"{name:<14} {sandbox.url(name)}  ({PROVIDERS[name].title})")
    if any(n in names for n in ("dsop-control", "dsop-control-2")):
        target = catalogue or (state_dir / "dsop-banks.json" if state_dir else _state_catalogue())
        try:
            written = sandbox.write_bank_catalogue(target)
        except OSError as exc:
            typer.echo(f"kontrakt serve: cannot write the bank catalogue: {exc}", err=True)
            raise typer.Exit(2) from None
        typer.echo(f"bank catalogue {written}  (DSOP bank org number -> base URL)")
    typer.echo(f"Clients and secrets: {FIXTURES / 'clients.yaml'}")
    typer.echo(f"TEST keys (issuer, client, Politi orders): {keys_dir()}")
    typer.echo("Ctrl-C stops.")
    try:
        asyncio.run(sandbox.serve())
    except KeyboardInterrupt:
        pass
    finally:
        for sock in sandbox.sockets.values():
            sock.close()
