"""`kontrakt certify`, `kontrakt init` and `kontrakt manifest-schema`: thin shells over the
conformance library.

certify's exit status: 0 when the profile passed at the run's level, 1 when it failed (or the
run was interrupted), 2 for a bad manifest or bad usage (nothing was sent), 3 when the suite
could not judge the provider: the preflight found it cannot run (no token, unreachable, the plain
valid request refused: no rule ran), or the provider stopped answering during the run
(`provider-unreachable`: several requests in a row without an answer; the rules not yet run are
`error`). A report is written whenever the run started; a certificate (signed with `--sign-key`)
only when the whole profile passed with every rule judged (see `conformance.certificate`).

Progress: on a terminal a progress bar (stderr); without one (a pipe, a CI log) one plain line per
finished rule on stdout, written as the rule ends: `DSOP-ACC-401  pass  0.12s`. `--quiet` drops
both; the summary with its verdict line and every error is always printed, and never wrapped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kontrakt.conformance.report.formats import FORMATS

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console

    from kontrakt.conformance.certificate import Issued
    from kontrakt.conformance.explore import ExploreSettings
    from kontrakt.conformance.manifest import Manifest
    from kontrakt.conformance.profile import Profile
    from kontrakt.conformance.runner import RuleResult

__all__ = [
    "EXIT_CANNOT_RUN",
    "certify_command",
    "init_command",
    "manifest_schema_command",
    "print_certificate",
    "rule_lines",
]

EXIT_CANNOT_RUN = 3


def _headers(values: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition(":")
        if not sep or not name.strip():
            raise typer.BadParameter(f"expected NAME:VALUE, got {value!r}", param_hint="--header")
        found[name.strip()] = text.strip()
    return found


def _fixtures(values: list[str]) -> dict[str, object]:
    """`--fixture NAME=VALUE` items; a value is read as YAML (`27`, `[a, b]`, `{k: v}`)."""
    import yaml

    found: dict[str, object] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"expected NAME=VALUE, got {value!r}", param_hint="--fixture")
        try:
            found[name.strip()] = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError:
            raise typer.BadParameter(f"{name}: not a YAML value", param_hint="--fixture") from None
    return found


def _explore_settings(manifest: Manifest, flag: bool, budget: str | None) -> ExploreSettings | None:
    """Tier 3's budget: `--explore-budget` over the manifest's `explore`; None when off."""
    from kontrakt.conformance.explore import ExploreSettings

    if not (flag or manifest.explore.enabled):
        return None
    examples, steps = manifest.explore.max_examples, manifest.explore.max_steps
    if budget is not None:
        first, sep, second = budget.lower().partition("x")
        if not first.strip().isdigit() or (sep and not second.strip().isdigit()):
            raise ValueError(f"expected N or NxM (positive integers), got {budget!r}")
        examples = int(first)
        steps = int(second) if sep else steps
        if examples < 1 or steps < 1:
            raise ValueError(f"expected positive integers, got {budget!r}")
    return ExploreSettings(max_examples=examples, max_steps=steps)


def _sigterm_as_interrupt() -> None:
    """SIGTERM (CI cancellation, `timeout`, `docker stop`) ends a run like Ctrl-C: the partial
    report is written, marked incomplete, and the exit status is 1."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set from the main thread (e.g. not under a runner)

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def rule_lines(profile: Profile) -> Callable[[RuleResult], None]:
    """A runner callback printing one plain line per finished rule on stdout, flushed at once
    (a CI log shows each rule as it ends, not all of them at exit)."""
    from kontrakt.terminal import rule_line

    width = max((len(rule.id) for rule in profile.rules), default=0)

    def done(result: RuleResult) -> None:
        print(rule_line(result.id, result.verdict, result.duration_s, width), flush=True)

    return done


def certify_command(
    manifest: Annotated[
        Path | None,
        typer.Argument(help="Provider manifest (YAML); optional with --profile and --base-url."),
    ] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", help="Profile id (dsop-control/v2.0) or document.")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Base URL of the provider under test.")
    ] = None,
    header: Annotated[
        list[str] | None,
        typer.Option("--header", "-H", help="Extra header NAME:VALUE on every call (repeatable)."),
    ] = None,
    bearer: Annotated[
        str | None,
        typer.Option("--bearer", help="A bearer token to send (replaces a bearer auth)."),
    ] = None,
    fixture: Annotated[
        list[str] | None,
        typer.Option(
            "--fixture", help="A test-data fixture NAME=VALUE (YAML value; repeatable, wins)."
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Report directory.")] = Path("reports"),
    seed: Annotated[int, typer.Option("--seed", help="Seed of tiers 2 and 3 (recorded).")] = 0,
    rules: Annotated[
        list[str] | None,
        typer.Option("--rules", help="Only rules whose id matches this glob (repeatable)."),
    ] = None,
    rule_module: Annotated[
        str | None,
        typer.Option("--rule-module", help="Import the profile's rules from this module."),
    ] = None,
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="Comma-separated reports: json,junit,html,sarif (json is always written).",
        ),
    ] = ",".join(FORMATS),
    explore: Annotated[
        bool,
        typer.Option(
            "--explore", help="Also run tier 3, the exploratory stateful run (opt-in, seeded)."
        ),
    ] = False,
    explore_budget: Annotated[
        str | None,
        typer.Option(
            "--explore-budget",
            help="Tier 3 budget: N sequences, or NxM (N sequences of at most M steps).",
        ),
    ] = None,
    level: Annotated[
        str | None,
        typer.Option(
            "--level",
            help="default: checks resting only on kontrakt's own assumptions warn; strict: they "
            "fail. Overrides the manifest's level.",
        ),
    ] = None,
    snapshot_out: Annotated[
        Path | None,
        typer.Option(
            "--snapshot-out",
            help="Record the provider's snapshot (e.g. DAN metadata) to this JSON file, for the "
            "versioning rules of a later run (manifest metadata_snapshot).",
        ),
    ] = None,
    specs: Annotated[
        Path | None,
        typer.Option(
            "--specs",
            help="Look for the profile's contract here first (DIR/<api>/<version>/openapi.yaml), "
            "then in ./specs, then in the contracts kontrakt ships.",
        ),
    ] = None,
    sign_key: Annotated[
        Path | None,
        typer.Option(
            "--sign-key",
            help="Sign the certificate with this PEM private key (Ed25519, ECDSA P-256 or RSA); "
            "without it the certificate is written unsigned.",
        ),
    ] = None,
    valid_days: Annotated[
        int,
        typer.Option("--valid-days", min=1, help="Days the certificate stays valid."),
    ] = 365,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="No progress (bar or per-rule lines); the summary, verdict and errors still print.",
        ),
    ] = False,
) -> None:
    """Certify a provider against a rule profile; exit 0 only when the profile passes.

    Exit status: 0 passed, 1 failed, 2 bad manifest or usage, 3 cannot run (preflight) or the
    provider stopped answering.
    """
    from kontrakt.conformance.certificate import CertificateError, issue_certificate, load_signer
    from kontrakt.conformance.manifest import ManifestError, load_manifest
    from kontrakt.conformance.profile import load_profile
    from kontrakt.conformance.report.writers import print_summary, write_reports
    from kontrakt.conformance.runner import run_profile
    from kontrakt.conformance.spec import SpecError
    from kontrakt.resources import local_copy_note
    from kontrakt.terminal import make_console, stdout_is_terminal

    err = make_console(stderr=True)
    try:
        signer = load_signer(sign_key) if sign_key is not None else None
    except CertificateError as exc:
        err.print(f"kontrakt certify: --sign-key: {exc}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    formats = [f.strip() for f in output_format.split(",") if f.strip()]
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        err.print(f"kontrakt certify: unknown --format {', '.join(unknown)}", markup=False)
        raise typer.Exit(2)
    if level is not None and level not in ("default", "strict"):
        err.print(f"kontrakt certify: --level must be default or strict, not {level!r}")
        raise typer.Exit(2)
    if manifest is None and (profile is None or base_url is None):
        err.print("kontrakt certify: give a manifest, or --profile and --base-url", markup=False)
        raise typer.Exit(2)
    overrides = _fixtures(fixture or [])
    try:
        loaded = load_manifest(
            manifest,
            profile=profile,
            base_url=base_url,
            headers=_headers(header or []),
            bearer=bearer,
            fixtures=overrides,
        )
    except ManifestError as exc:
        err.print(
            f"kontrakt certify: the manifest is not usable ({exc.source or 'flags'}):", markup=False
        )
        for problem in exc.problems:
            err.print(f"  {problem}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    try:
        chosen = load_profile(
            loaded.profile, patterns=rules or None, module=rule_module, specs_dir=specs
        )
    except (SpecError, ImportError) as exc:
        err.print(f"kontrakt certify: {exc}", markup=False)
        raise typer.Exit(2) from None
    note = local_copy_note(chosen.spec.path, chosen.spec.id) if chosen.spec.path else None
    if note is not None:
        err.print(f"kontrakt certify: note: {note}", markup=False, highlight=False)
    unknown_waivers = [w.rule for w in loaded.waivers if w.rule not in chosen.catalogue]
    if unknown_waivers:
        err.print(
            f"kontrakt certify: waivers name rules the profile does not have: "
            f"{', '.join(unknown_waivers)}",
            markup=False,
        )
        raise typer.Exit(2)
    try:
        settings = _explore_settings(loaded, explore, explore_budget)
    except ValueError as exc:
        err.print(f"kontrakt certify: --explore-budget: {exc}", markup=False)
        raise typer.Exit(2) from None
    if snapshot_out is not None and chosen.rule_set.snapshot_taker is None:
        err.print(
            f"kontrakt certify: profile {chosen.id} records no snapshot (--snapshot-out)",
            markup=False,
        )
        raise typer.Exit(2)
    _sigterm_as_interrupt()
    # Without a terminal, one line per rule on stdout instead of a bar nobody sees.
    lines = not quiet and not stdout_is_terminal()
    result = run_profile(
        chosen,
        loaded,
        seed=seed,
        console=err,
        progress=False if quiet or lines else None,
        on_result=rule_lines(chosen) if lines else None,
        explore=settings,
        level="strict" if level == "strict" else ("default" if level else None),
        snapshot_out=snapshot_out,
    )
    result.rule_filter = list(rules or [])
    written = write_reports(result, out, formats)
    issued = issue_certificate(
        result,
        chosen,
        loaded,
        out,
        signer=signer,
        fixture_overrides=overrides,
        valid_days=valid_days,
    )
    stdout = make_console(file=sys.stdout)
    print_summary(stdout, result, written)
    print_certificate(stdout, issued)
    if result.cannot_run or result.unreachable:
        raise typer.Exit(EXIT_CANNOT_RUN)
    raise typer.Exit(0 if result.passed else 1)


def print_certificate(console: Console, issued: Issued) -> None:
    """One line on the certificate: where, signed or not, until when; or why there is none."""
    if issued.path is None:
        console.print(
            f"no certificate: {issued.reason}", markup=False, highlight=False, soft_wrap=True
        )
    elif issued.signed:
        console.print(
            f"  certificate: {issued.path} (signed, key id {issued.keyid}; expires "
            f"{issued.expires_at}); check it with `kontrakt verify {issued.path} --key PUB.pem`",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    else:
        console.print(
            f"  certificate: {issued.path} (UNSIGNED: nothing vouches for it; sign with "
            "--sign-key KEY.pem)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def manifest_schema_command(
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            help="Describe this profile's fixtures, credential roles and capabilities too.",
        ),
    ] = None,
) -> None:
    """Print the JSON Schema of a provider manifest (of one profile's, with --profile)."""
    from kontrakt.conformance.manifest import manifest_schema

    if profile is None:
        typer.echo(json.dumps(manifest_schema(), indent=2, ensure_ascii=False))
        return
    from kontrakt.conformance.manifest_docs import profile_manifest_schema

    chosen = _profile_or_exit(profile, "manifest-schema")
    schema = profile_manifest_schema(chosen)
    typer.echo(json.dumps(schema, indent=2, ensure_ascii=False))


def _profile_or_exit(profile: str, command: str) -> Profile:
    from kontrakt.conformance.profile import load_profile
    from kontrakt.conformance.spec import SpecError
    from kontrakt.terminal import make_console

    try:
        return load_profile(profile)
    except (SpecError, ImportError) as exc:
        make_console(stderr=True).print(f"kontrakt {command}: {exc}", markup=False)
        raise typer.Exit(2) from None


def init_command(
    profile: Annotated[str, typer.Argument(help="Profile id, e.g. dsop-control/v2.0.")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the manifest here (default: stdout)."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing output file.")
    ] = False,
    sandbox: Annotated[
        bool,
        typer.Option(
            "--sandbox",
            help="A filled-in manifest for kontrakt's own sandbox (`kontrakt serve all`) instead "
            "of a starting one: try certify before pointing it at your provider.",
        ),
    ] = False,
) -> None:
    """Write a commented starting manifest for a profile: every credential role, fixture and
    capability its rules use, what each is for and which rules need it."""
    from kontrakt.conformance.manifest_docs import starter_manifest

    chosen = _profile_or_exit(profile, "init")
    if sandbox:
        # The one place certify's CLI reaches into the sandbox: through the module joining them.
        from kontrakt.selfcert import sandbox_manifest

        filled = sandbox_manifest(chosen.spec.id)
        if filled is None:
            typer.echo(f"kontrakt init: no sandbox provider serves {chosen.spec.id}", err=True)
            raise typer.Exit(2)
        text = filled
    else:
        text = starter_manifest(chosen)
    if output is None:
        typer.echo(text, nl=False)
        return
    if output.exists() and not force:
        typer.echo(f"kontrakt init: {output} exists (use --force to overwrite)", err=True)
        raise typer.Exit(2)
    output.write_text(text, encoding="utf-8")
    if sandbox:
        typer.echo(
            f"wrote {output}: start `kontrakt serve all`, then run `kontrakt certify {output}`"
        )
    else:
        typer.echo(
            f"wrote {output}: fill in the values marked FILL IN, then run "
            f"`kontrakt certify {output}`"
        )
