"""Reports of a certify run: report.json, junit.xml, report.html, the console.

`write_reports(result, out_dir)` writes every format asked for (and always `report.json`); the
signed certificate is `kontrakt.conformance.certificate`'s. Everything passes through the run's
redaction already; the writers only format. The writers (jinja2, rich, the runner) load on first use of their
names; `FORMATS` alone does not load them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kontrakt.conformance.report.formats import FORMATS

if TYPE_CHECKING:
    from kontrakt.conformance.report.writers import (
        print_summary,
        report_dict,
        write_reports,
    )

__all__ = ["FORMATS", "print_summary", "report_dict", "write_reports"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from kontrakt.conformance.report import writers

        value = getattr(writers, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
