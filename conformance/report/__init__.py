"""Reports of a certify run: report.json, junit.xml, report.html, the certificate, the console.

`write_reports(result, out_dir)` writes every format asked for (and always `report.json`), then
the certificate when the profile passed. Everything passes through the run's redaction already;
the writers only format.
"""

from conformance.report.writers import (
    FORMATS,
    certificate,
    print_summary,
    report_dict,
    write_reports,
)

__all__ = ["FORMATS", "certificate", "print_summary", "report_dict", "write_reports"]
