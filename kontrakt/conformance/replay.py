"""`kontrakt replay REPORT RULE-ID`: run one rule of a report again, with fresh credentials.

The fix-verify loop of a provider's engineer: a certify run failed a rule, the engineer fixed the
provider, and wants to know whether that one rule passes now without a whole run. Replay loads
the manifest the report recorded (or `--manifest`), selects the one rule and runs it as certify
does: a new token from the manifest's auth, and every deliberately bad token the rule sends
(expired, wrong audience, wrong scope, tampered) minted afresh by `conformance.auth`, since an old
token from the report would be expired or revoked for other reasons than the rule tests. It prints
the old and the new verdict and the new exchanges as curl lines; the report is not changed.

Exit status: 0 the rule passes now (or is not applicable / waived), 1 it still fails, warns or
errs, 2 bad input (unreadable report, unknown rule, no manifest, a manifest for another profile),
3 the provider cannot be judged (preflight `cannot-run`, or it stopped answering).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from kontrakt.conformance.registry import Level

__all__ = ["EXIT_CANNOT_RUN", "replay_command"]

EXIT_CANNOT_RUN = 3
_PASSING = ("pass", "not-applicable", "waived")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"kontrakt replay: {message}", err=True)
    return typer.Exit(2)


def _read_report(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _fail(f"cannot read {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, ValueError):
        raise _fail(f"{path} is not a report.json (not JSON)") from None
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise _fail(f"{path} is not a report.json of kontrakt certify (no rules)")
    return data


def replay_command(
    report: Annotated[Path, typer.Argument(help="report.json of an earlier certify run.")],
    rule_id: Annotated[str, typer.Argument(help="The rule to run again (e.g. TINY-405).")],
    manifest: Annotated[
        Path | None,
        typer.Option("--manifest", help="Manifest to use instead of the one the report records."),
    ] = None,
    rule_module: Annotated[
        str | None,
        typer.Option("--rule-module", help="Import the rules from this module (as certify)."),
    ] = None,
    specs: Annotated[
        Path | None,
        typer.Option("--specs", help="Look for the profile's contract here first (as certify)."),
    ] = None,
) -> None:
    """Run one rule of a report again with fresh credentials and print the new verdict.

    Exit status: 0 it passes now, 1 it still fails (or warns, or errs), 2 bad input, 3 the
    provider cannot be judged.
    """
    from kontrakt.conformance.manifest import ManifestError, load_manifest
    from kontrakt.conformance.profile import load_profile
    from kontrakt.conformance.reproduce import export_lines, variables_in
    from kontrakt.conformance.runner import run_profile
    from kontrakt.conformance.spec import SpecError
    from kontrakt.terminal import make_console

    data = _read_report(report)
    old = next((r for r in data["rules"] if isinstance(r, dict) and r.get("id") == rule_id), None)
    if old is None:
        manual = {r.get("id") for r in data.get("not_automated") or [] if isinstance(r, dict)}
        if rule_id in manual:
            raise _fail(f"{rule_id} is not automated: a person checks it, nothing to replay")
        known = ", ".join(str(r.get("id")) for r in data["rules"] if isinstance(r, dict))
        raise _fail(f"{rule_id} is not a rule of {report} (its rules: {known or 'none'})")
    recorded = data.get("manifest")
    chosen = manifest or (Path(recorded) if isinstance(recorded, str) else None)
    if chosen is None:
        raise _fail(
            f"{report} records no manifest (the run was given --profile/--base-url); "
            "give --manifest MANIFEST"
        )
    try:
        loaded = load_manifest(chosen)
    except ManifestError as exc:
        raise _fail(f"the manifest is not usable ({chosen}): {'; '.join(exc.problems)}") from None
    module = rule_module or data.get("rule_module")
    try:
        profile = load_profile(
            loaded.profile,
            patterns=[rule_id],
            module=module if isinstance(module, str) else None,
            specs_dir=specs,
        )
    except (SpecError, ImportError) as exc:
        raise _fail(str(exc)) from None
    if profile.id != data.get("profile"):
        raise _fail(f"{chosen} certifies {profile.id}, the report is of {data.get('profile')}")
    if not profile.rules:
        raise _fail(f"{rule_id}: the profile {profile.id} has no automated rule of that id")
    level: Level = "strict" if data.get("level") == "strict" else "default"
    recorded_seed = data.get("seed")
    seed = recorded_seed if isinstance(recorded_seed, int) else 0
    err = make_console(stderr=True)
    result = run_profile(
        profile, loaded, seed=seed, console=err, level=level, progress=False, keep_evidence=True
    )
    out = make_console(file=sys.stdout, highlight=False)
    out.soft_wrap = True  # a reproduction line is copied whole, terminal or not
    was = f"{old.get('verdict')} ({data.get('finished_at') or data.get('started_at')})"
    if result.cannot_run or result.unreachable or not result.results:
        diagnosis = result.preflight.diagnosis if result.preflight is not None else None
        out.print(
            f"{rule_id}: was {was}; cannot judge it now: "
            f"{diagnosis or result.stop_reason or 'the rule did not run'}",
            markup=False,
        )
        raise typer.Exit(EXIT_CANNOT_RUN)
    new = result.results[0]
    out.print(
        f"{rule_id}: was {was}, now {new.verdict} at level {result.level} "
        f"against {result.base_url}",
        markup=False,
    )
    if new.message:
        out.print(f"  {new.message}", markup=False)
    for line in export_lines(variables_in(e.curl for e in new.evidence)):
        out.print(line, markup=False)
    for exchange in new.evidence:
        answer = f"HTTP {exchange.status}" if exchange.status is not None else exchange.error
        out.print(f"  {exchange.curl}\n    -> {answer}", markup=False)
    raise typer.Exit(0 if new.verdict in _PASSING else 1)
