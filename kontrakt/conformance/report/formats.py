"""The report formats `kontrakt certify --format` knows; a module of its own so the CLI can name
them (in its option default) without loading the writers, jinja2 and the runner."""

from __future__ import annotations

__all__ = ["FORMATS"]

FORMATS = ("json", "junit", "html", "sarif")
