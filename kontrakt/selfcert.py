"""`make certify`: certify kontrakt's own sandbox providers with `kontrakt certify`'s library.

The sandbox (issuer and providers) starts on free ports of 127.0.0.1; each manifest
`kontrakt/conformance/manifests/sandbox-<provider>.yaml` is loaded with the running URLs in its
`${KONTRAKT_SANDBOX_...}` variables and run as a provider's own manifest would be, and the
reports go to `<out>/<provider>/`, with a certificate per provider that passed: signed with
`--sign-key KEY.pem`, or with `--demo-key` by a throwaway Ed25519 key generated into `<out>/`
(`make demo`), else unsigned. This module is the one place that joins `kontrakt/sandbox/` and
`kontrakt/conformance/` (which never import each other): a user certifying their own API needs neither.

Output follows `kontrakt certify`'s: no colour with NO_COLOR, and without a terminal (CI) one
line per finished rule instead of a progress bar, lines never wrapped.

Exit status 0 when every profile passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import re
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from kontrakt.conformance.certificate import CertificateError, issue_certificate, load_signer
from kontrakt.conformance.command import print_certificate, rule_lines
from kontrakt.conformance.manifest import ManifestError, load_manifest
from kontrakt.conformance.profile import load_profile
from kontrakt.conformance.report import FORMATS, print_summary, write_reports
from kontrakt.conformance.runner import run_profile
from kontrakt.sandbox.keys import keys_dir
from kontrakt.sandbox.launch import PROVIDERS, Sandbox
from kontrakt.terminal import make_console, stdout_is_terminal

if TYPE_CHECKING:
    from securesystemslib.signer import CryptoSigner

__all__ = ["main", "provider_of", "sandbox_environment", "sandbox_manifest", "write_matrix"]

MANIFESTS = Path(__file__).resolve().parent / "conformance" / "manifests"

# Provider options for a certification run: the DPS worker and webhook retries keep their
# human-scale defaults under `kontrakt serve`, but a run need not wait 2 s per lifecycle step or
# 30 s for the retry the webhook rules provoke.
OPTIONS: dict[str, dict[str, object]] = {
    "dps": {"step_delay": 0.2, "webhook_retry_delay": 1.0},
}


def _variable(name: str) -> str:
    return "KONTRAKT_SANDBOX_" + name.upper().replace("-", "_")


def sandbox_environment(sandbox: Sandbox) -> dict[str, str]:
    """The variables a sandbox manifest reads: the issuer's URLs, its key folder and each
    provider's base URL."""
    env = {
        "KONTRAKT_SANDBOX_ISSUER": sandbox.issuer_url,
        "KONTRAKT_SANDBOX_TOKEN_URL": sandbox.token_url,
        # The sandbox's TEST keys (a clone's committed set, else the generated one).
        "KONTRAKT_SANDBOX_KEYS": str(keys_dir()),
    }
    for name in sandbox.names:
        env[_variable(name)] = sandbox.url(name)
    return env


def _absolute(folder: Path, match: re.Match[str]) -> str:
    return f"{match.group(1)}{(folder / match.group(2)).resolve()}}}"


def sandbox_manifest(profile: str) -> str | None:
    """The manifest that certifies kontrakt's own sandbox (as `kontrakt serve all` starts it) for
    `profile`, ready to save anywhere: its key folder and relative files made absolute. None when
    no sandbox provider serves the profile.

    The URLs keep their `${KONTRAKT_SANDBOX_*:-...}` defaults for `kontrakt serve all` on port
    8000; `kontrakt init PROFILE --sandbox` writes it.
    """
    for path in sorted(MANIFESTS.glob("sandbox-*.yaml")):
        text = path.read_text(encoding="utf-8")
        if not re.search(rf"^profile:\s*{re.escape(profile)}\s*$", text, re.M):
            continue
        text = text.replace(
            "${KONTRAKT_SANDBOX_KEYS:-../../sandbox/fixtures/keys}",
            "${KONTRAKT_SANDBOX_KEYS:-" + str(keys_dir()) + "}",
        )
        # Files named beside the packaged manifest (DAN's metadata snapshot).
        return re.sub(
            r"(\$\{[A-Z_]+:-)([\w.-]+\.json)\}",
            partial(_absolute, path.parent),
            text,
        )
    return None


def provider_of(path: Path) -> str | None:
    """The provider a manifest `sandbox-<provider>[-<suffix>].yaml` certifies (None: unknown).

    A suffix lets one provider have several manifests (`sandbox-sdir-v1.yaml` next to
    `sandbox-sdir.yaml`: Sdir serves two URL versions); the longest matching name wins.
    """
    name = path.stem.removeprefix("sandbox-")
    known = [p for p in PROVIDERS if name == p or name.startswith(p + "-")]
    return max(known, key=len) if known else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kontrakt.selfcert", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("reports"))
    parser.add_argument("--seed", type=int, default=0)
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument(
        "--sign-key", type=Path, help="sign each certificate with this PEM private key"
    )
    keys.add_argument(
        "--demo-key",
        action="store_true",
        help="generate a throwaway Ed25519 certifier key into --out and sign with it",
    )
    args = parser.parse_args(argv)
    console = make_console()
    lines = not stdout_is_terminal()  # a CI log: one line per finished rule, no bar
    try:
        signer, public = _signer(args.sign_key, args.out if args.demo_key else None)
    except CertificateError as exc:
        console.print(f"--sign-key: {exc}", markup=False)
        return 2
    manifests = {
        path.stem.removeprefix("sandbox-"): path
        for path in sorted(MANIFESTS.glob("sandbox-*.yaml"))
        if provider_of(path) is not None
    }
    providers = {name: provider_of(path) or name for name, path in manifests.items()}
    # A numbered provider (`dsop-control-2`, a second bank) runs the same code as its first one.
    missing = [
        name
        for name in PROVIDERS
        if name not in providers.values() and re.sub(r"-\d+$", "", name) not in providers.values()
    ]
    if not manifests:
        console.print("no sandbox manifests in kontrakt/conformance/manifests/", markup=False)
        return 1
    passed = True
    certified: list[Path] = []
    names = list(dict.fromkeys(providers.values()))
    with Sandbox.start(names, options={n: OPTIONS.get(n, {}) for n in names}) as sandbox:
        env = sandbox_environment(sandbox)
        for name, path in manifests.items():
            console.rule(f"{name}: {PROVIDERS[providers[name]].title}")
            try:
                manifest = load_manifest(path, env=env)
            except ManifestError as exc:
                for problem in exc.problems:
                    console.print(f"{path}: {problem}", markup=False)
                passed = False
                continue
            profile = load_profile(manifest.profile)
            result = run_profile(
                profile,
                manifest,
                seed=args.seed,
                console=console,
                progress=False if lines else None,
                on_result=rule_lines(profile) if lines else None,
            )
            written = write_reports(result, args.out / name, list(FORMATS))
            issued = issue_certificate(result, profile, manifest, args.out / name, signer=signer)
            print_summary(console, result, written)
            print_certificate(console, issued)
            if issued.path is not None and issued.signed:
                certified.append(issued.path)
            passed = passed and result.passed
    if missing:
        console.print(
            f"No conformance profile yet for: {', '.join(missing)} (issue #7).", markup=False
        )
    console.print(f"Reports: {args.out}/<provider>/report.html", markup=False)
    write_matrix(console, args.out, [args.out / name / "report.json" for name in manifests])
    if certified and public is not None:
        console.print(
            f"Signed certificates: {len(certified)}. Verify one with:\n"
            f"  kontrakt verify {certified[0]} --key {public}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    return 0 if passed else 1


def write_matrix(console: Console, out: Path, reports: list[Path]) -> None:
    """The cross-provider matrix of this run's reports: `<out>/matrix.html` and `matrix.md`."""
    from kontrakt.conformance.matrix import load_reports, matrix_data, render_matrix

    found = [path for path in reports if path.is_file()]
    if not found:
        return
    matrix = matrix_data(load_reports(found), base=out.resolve())
    for suffix in ("html", "md"):
        (out / f"matrix.{suffix}").write_text(render_matrix(matrix, suffix), encoding="utf-8")
    console.print(
        f"Matrix of {len(found)} provider(s): {out}/matrix.html ({out}/matrix.md for a job "
        "summary; `kontrakt matrix` makes one from any reports)",
        markup=False,
        highlight=False,
    )


def _signer(path: Path | None, demo_dir: Path | None) -> tuple[CryptoSigner | None, Path | None]:
    """The certifier: a given key (its public half is named `<key>.pub.pem` when that file is
    there), a fresh demo key pair written into `demo_dir`, or none (unsigned certificates)."""
    if path is not None:
        public = path.with_suffix(".pub.pem")
        return load_signer(path), public if public.is_file() else path
    if demo_dir is None:
        return None, None
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    demo_dir.mkdir(parents=True, exist_ok=True)
    private = demo_dir / "demo-certifier.pem"
    # A throwaway key for `make demo`; the reports folder is never committed (.gitignore).
    private.touch(mode=0o600)
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = demo_dir / "demo-certifier.pub.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return load_signer(private), public


if __name__ == "__main__":  # pragma: no cover - `make certify`
    sys.exit(main())
