"""certify's SARIF report (`report.sarif`): each failed, erroring or warning rule as a
code-scanning result at the place that states the demand.

That place is the contract the profile ran (the spec file) and the line of the rule's entry in
`x-kontrakt-rules`, with the pointer `/x-kontrakt-rules/<id>` as the logical location, when the
contract is in the working directory (a repository of contracts, a `--specs` copy). A provider's
repository usually holds only its manifest: there the results sit on the manifest, which is what
code scanning can show, and the contract's place stays in the logical location and the property
`documentUri`. With neither in the working directory, the shipped contract is written relative to
`KONTRAKT_SPECS`. A preflight that finds the provider cannot be judged is one result of its own
(`PREFLIGHT`). The report is built from the JSON report's dictionary, like every other certify
format.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kontrakt.diagnostics import escape as escape_pointer
from kontrakt.resources import bundled_specs
from kontrakt.sarif import Finding, RuleDescriptor, SarifLevel, dumps, sarif_log
from kontrakt.specfile import SpecLoadError, read_spec

__all__ = ["sarif_report"]

_SARIF_LEVEL: dict[str, SarifLevel] = {"fail": "error", "error": "error", "warn": "warning"}
_SEVERITY_LEVEL: dict[str, SarifLevel] = {"MUST": "error", "SHOULD": "warning", "MAY": "note"}


def _clause(source: dict[str, Any]) -> str:
    return ", ".join(str(v) for k, v in source.items() if v and k != "url")


def _below(path: str | None, base: Path) -> bool:
    if not path:
        return False
    full = Path(path) if Path(path).is_absolute() else base / path
    return full.resolve().is_relative_to(base)


def sarif_report(data: dict[str, Any], base: Path | None = None) -> str:
    """The SARIF 2.1.0 log of a run, from `report_dict`'s dictionary; ``base`` is the repository
    (the working directory)."""
    root = (base or Path.cwd()).resolve()
    spec_path = data["spec"]["path"] or None
    manifest = data.get("manifest")
    lines: dict[str, int] = {}
    if spec_path:
        try:
            lines = read_spec(Path(spec_path)).lines
        except SpecLoadError:
            lines = {}
    # Where the results sit: the contract in the repository, else the manifest there.
    on_manifest = not _below(spec_path, root) and _below(manifest, root)
    where = manifest if on_manifest else spec_path
    if on_manifest:
        lines = {}
    findings: list[Finding] = []
    preflight = data.get("preflight") or {}
    if preflight.get("status") == "cannot-run":
        findings.append(
            Finding(
                rule="PREFLIGHT",
                level="error",
                message=f"cannot run: {preflight['diagnosis']}",
                file=where,
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
                file=where,
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
                    "contract": spec_path,
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
        base=root,
        roots={"KONTRAKT_SPECS": bundled_specs()},
    )
    return dumps(log)
