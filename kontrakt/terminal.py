"""How kontrakt writes to a terminal or to a log: colour, line width, and per-rule progress lines.

Colour is off when `kontrakt --no-color` was given or the `NO_COLOR` environment variable holds
any non-empty value (https://no-color.org); then no ANSI escape is written at all, neither by
kontrakt's own rich consoles nor by typer's help. Without a terminal (a pipe, a CI log) a console
never wraps a line: a `curl` reproduction line must stay copyable in one piece.
"""

from __future__ import annotations

import os
import sys
from typing import IO, TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "color_disabled",
    "disable_color",
    "make_console",
    "rule_line",
    "stdout_is_terminal",
    "use_color_env",
]

_NO_COLOR = {"flag": False}  # set by `kontrakt --no-color`


def color_disabled() -> bool:
    """True when colour is off: `--no-color`, or `NO_COLOR` set to anything but ``""``."""
    return _NO_COLOR["flag"] or os.environ.get("NO_COLOR", "") != ""


def disable_color() -> None:
    """Turn colour off for the rest of the process (`--no-color`), typer's help included."""
    _NO_COLOR["flag"] = True
    use_color_env()


def use_color_env() -> None:
    """Make typer's help and error panels follow `color_disabled()` (called before parsing)."""
    if not color_disabled():
        return
    try:
        from typer import rich_utils
    except ImportError:  # pragma: no cover - typer without rich renders plain text anyway
        return
    # typer reads this module setting each time it builds a console; None writes no styles
    # (rich's own NO_COLOR handling keeps bold and dim, which are escapes too).
    rich_utils.COLOR_SYSTEM = None


def make_console(
    *, stderr: bool = False, file: TextIO | None = None, highlight: bool = True
) -> Console:
    """A rich console on stdout (or stderr, or `file`) that follows the colour setting and, when
    it is not a terminal, prints every line whole (no wrapping at 80 columns)."""
    from rich.console import Console

    off = color_disabled()
    console = Console(
        file=file,
        stderr=stderr,
        color_system=None if off else "auto",
        no_color=True if off else None,
        highlight=highlight,
    )
    # Not `console.is_terminal`: FORCE_COLOR makes rich call a CI log a terminal, and the log
    # still must not be wrapped at rich's default 80 columns.
    if not _isatty(console.file):
        console.soft_wrap = True
    return console


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def rule_line(rule_id: str, verdict: str, seconds: float, width: int = 0) -> str:
    """One finished rule as a plain log line: `DSOP-ACC-401  pass  0.12s`."""
    return f"{rule_id:<{width}}  {verdict:<14}  {seconds:.2f}s"


def stdout_is_terminal() -> bool:
    """Whether stdout is an interactive terminal (not a pipe, a file or a CI log)."""
    return _isatty(sys.stdout)
