"""certify's SARIF report (`report.sarif`): each failed, erroring or warning rule as a
code-scanning result at the place that states the demand.

That place is the contract the profile ran (the spec file) and the line of the rule's entry in
`x-kontrakt-rules`, with the pointer `/x-kontrakt-rules/<id>` as the logical location. A preflight
that finds the provider cannot be judged is one result of its own (`PREFLIGHT`). The report is
built from the JSON report's dictionary, like every other certify format.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kontrakt.diagnostics import escape as escape_pointer
from kontrakt.sarif import Finding, RuleDescriptor, SarifLevel, dumps, sarif_log
from kontrakt.specfile import SpecLoadError, read_spec

__all__ = ["sarif_report"]

_SARIF_LEVEL: dict[str, SarifLevel] = {"fail": "error", "error": "error", "warn": "warning"}
_SEVERITY_LEVEL: dict[str, SarifLevel] = {"MUST": "error", "SHOULD": "warning", "MAY": "note"}


def _clause(source: dict[str, Any]) -> str:
    return ", ".join(str(v) for k, v in source.items() if v and k != "url")


def sarif_report(data: dict[str, Any]) -> str:
    """The SARIF 2.1.0 log of a run, from `report_dict`'s dictionary."""
    spec_path = data["spec"]["path"]
    lines: dict[str, int] = {}
    if spec_path:
        try:
            lines = read_spec(Path(spec_path)).lines
        except SpecLoadError:
            lines = {}
    findings: list[Finding] = []
    preflight = data.get("preflight") or {}
    if preflight.get("status") == "cannot-run":
        findings.append(
            Finding(
                rule="PREFLIGHT",
                level="error",
                message=f"cannot run: {preflight['diagnosis']}",
                file=spec_path,
                properties={"curl": [e["curl"] for e in preflight["evidence"][:1]]},
            )
        )
    for rule in data["rules"]:
        level = _SARIF_LEVEL.get(rule["verdict"])
        if level is None:
            continue
        pointer = "/x-kontrakt-rules/" + escape_pointer(rule["id"])
        findings.append(
            Finding(
                rule=rule["id"],
                level=level,
                message=f"{rule['verdict'].upper()} [{rule['severity']}, {rule['basis']}] "
                f"{rule['id']}: {rule['message'] or rule['title']}",
                file=spec_path,
                line=lines.get(pointer),
                pointer=pointer,
                properties={
                    "verdict": rule["verdict"],
                    "severity": rule["severity"],
                    "basis": rule["basis"],
                    "assumption": rule["assumption"],
                    "deviations": [d["assumption"] for d in rule["deviations"]],
                    "curl": [e["curl"] for e in rule["evidence"][:1]],
                    "baseUrl": data["provider"]["base_url"],
                },
            )
        )
    descriptors = [
        RuleDescriptor(
            id=rule["id"],
            title=rule["title"],
            description=_clause(rule["source"]),
            help_uri=rule["source"].get("url") or None,
            level=_SEVERITY_LEVEL.get(rule["severity"]),
            properties={"severity": rule["severity"], "basis": rule["basis"]},
        )
        for rule in data["rules"]
    ]
    log = sarif_log(
        f"kontrakt certify {data['profile']}",
        findings,
        descriptors,
        version=data["tool"]["version"],
        successful=data["verdict"] in ("passed", "failed"),
        properties={
            "profile": data["profile"],
            "baseUrl": data["provider"]["base_url"],
            "verdict": data["verdict"],
            "level": data["level"],
            "seed": data["seed"],
        },
    )
    return dumps(log)
