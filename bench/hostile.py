"""Worst cases of hostile providers and documents: peak memory and wall time, measured, not asserted.

    .venv/bin/python bench/hostile.py [--repo PATH] [--out bench/HOSTILE.md]

Each case runs in a child process importing kontrakt from `--repo` (default: this checkout; give
an older checkout, e.g. a `git worktree` of an earlier commit, to measure "before"), against the
hostile provider of `tests/e2e/hostile_provider.py` served from this process on 127.0.0.1. The
child's peak RSS comes from `getrusage(RUSAGE_CHILDREN)`; a case that passes its time or memory
limit is stopped and reported as such.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from tests.e2e.hostile_provider import hostile_provider  # noqa: E402
from tests.unit.hostile.test_large_documents import document  # noqa: E402

LIMIT_S = 90
LIMIT_MB = 4096
LARGE_LIMIT_S = 600  # the 100 MB document before the linear validator: stopped here

PROBE = """
import json, sys, time
try:
    from kontrakt.conformance.manifest import Limits
    from kontrakt.conformance.probe import Probe, ProbeError
except ImportError:  # a checkout from before the kontrakt.* namespace
    from conformance.manifest import Limits
    from conformance.probe import Probe, ProbeError
started = time.monotonic()
try:
    answer = Probe(sys.argv[1], limits=Limits(timeout_seconds=float(sys.argv[3]))).get(sys.argv[2])
    outcome = f"HTTP {answer.status}, {len(answer.content)} bytes read"
except ProbeError as exc:
    outcome = f"{exc.kind}: {exc.message[:90]}"
print(json.dumps({"outcome": outcome, "seconds": time.monotonic() - started}))
"""

TOKEN = """
import json, sys, time
try:
    from kontrakt.conformance.auth import AuthUnavailable, Credentials
    from kontrakt.conformance.manifest import Manifest
    from kontrakt.conformance.redact import Redactor
except ImportError:  # a checkout from before the kontrakt.* namespace
    from conformance.auth import AuthUnavailable, Credentials
    from conformance.manifest import Manifest
    from conformance.redact import Redactor
manifest = Manifest.model_validate({"profile": "dps/v1", "base_url": sys.argv[1] + "/ok",
    "auth": {"type": "oauth2-client-credentials", "token_url": sys.argv[1] + sys.argv[2],
             "client_id": "c", "client_secret": "s3cret"}, "limits": {"timeout_seconds": 3}})
started = time.monotonic()
try:
    Credentials(manifest, Redactor()).token()
    outcome = "token accepted"
except AuthUnavailable as exc:
    outcome = f"refused: {str(exc)[:90]}"
except Exception as exc:
    outcome = f"{type(exc).__name__}: {str(exc)[:80]}"
print(json.dumps({"outcome": outcome, "seconds": time.monotonic() - started}))
"""

LINT = """
import json, sys, time
from kontrakt.lint import lint_paths
from pathlib import Path
started = time.monotonic()
found = lint_paths([Path(sys.argv[1])], authored=False)
first = found[0].message[:90] if found else "no finding"
print(json.dumps({"outcome": f"{len(found)} finding(s): {first}",
                  "seconds": time.monotonic() - started}))
"""


def _bomb(path: Path) -> None:
    lines = ["openapi: 3.1.0", "info: {title: bomb, version: '1'}", "paths: {}"]
    lines.append("a0: &a0 [" + ", ".join(["lol"] * 10) + "]")
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    path.write_text("\n".join(lines) + "\n")


def _large(path: Path, operations: int) -> None:
    """A valid document of `operations` GETs, each answering its own 20-property schema (about
    2 KB per operation: 4,000 make 8 MB, 50,000 make 100 MB)."""
    path.write_text(json.dumps(document(operations, properties=20, padding=40)))


def _run(repo: Path, script: str, *args: str, limit_s: int = LIMIT_S) -> dict[str, object]:
    """Run one case under /usr/bin/time -v: its own peak RSS, whatever way it ends."""
    env = {**os.environ, "PYTHONPATH": str(repo)}
    started = time.monotonic()

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (LIMIT_MB << 20, LIMIT_MB << 20))

    with tempfile.NamedTemporaryFile("r", suffix=".time") as timing:
        command = ["/usr/bin/time", "-v", "-o", timing.name, sys.executable, "-c", script, *args]
        child = subprocess.Popen(
            command,
            cwd=repo,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # a process group: a stopped case leaves nothing behind
            preexec_fn=limit,  # a memory cap for the child alone
        )
        try:
            stdout, stderr = child.communicate(timeout=limit_s)
            if child.returncode != 0:
                last = (stderr.strip().splitlines() or ["?"])[-1][:90]
                result: dict[str, object] = {"outcome": f"crashed: {last}"}
            else:
                result = json.loads(stdout.strip().splitlines()[-1])
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
            result = {"outcome": f"still running after {limit_s} s: stopped"}
        wall = time.monotonic() - started
        peak = "?"
        for line in Path(timing.name).read_text().splitlines():
            if "Maximum resident set size" in line:
                peak = str(round(int(line.rsplit(":", 1)[1]) / 1024))
    result["wall_s"] = round(wall, 2)
    result["peak_rss_mb"] = peak if peak != "?" else "n/a (stopped)"
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=REPO)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--large", action="store_true", help="also lint 8 MB and 100 MB documents (minutes)"
    )
    args = parser.parse_args()
    repo = args.repo.resolve()
    rows: list[tuple[str, dict[str, object]]] = []
    with hostile_provider() as url, tempfile.TemporaryDirectory() as folder:
        bomb = Path(folder) / "openapi.yaml"
        _bomb(bomb)
        sizes = {"8": 4_000, "100": 50_000} if args.large else {}
        for megabytes, operations in sizes.items():
            _large(Path(folder) / f"large-{megabytes}.json", operations)
        cases: list[tuple[str, str, tuple[str, ...], int]] = [
            *[
                (
                    f"lint --foreign: {mb} MB document ({ops:,} operations)",
                    LINT,
                    (str(Path(folder) / f"large-{mb}.json"),),
                    LARGE_LIMIT_S,
                )
                for mb, ops in sizes.items()
            ],
            ("lint: 578-byte YAML alias bomb", LINT, (str(bomb),), LIMIT_S),
            ("probe: gzip of gzip (1 GiB of zeros)", PROBE, (url, "/gzip-gzip-1g", "10"), LIMIT_S),
            ("probe: gzip bomb (200 MiB of zeros)", PROBE, (url, "/gzip-bomb", "10"), LIMIT_S),
            (
                "probe: headers dripped 1 byte / 0.2 s, timeout 3 s",
                PROBE,
                (url, "/drip", "3"),
                LIMIT_S,
            ),
            ("token endpoint: gzip bomb (200 MiB)", TOKEN, (url, "/gzip-bomb"), LIMIT_S),
            ("token endpoint: headers dripped, timeout 3 s", TOKEN, (url, "/drip"), LIMIT_S),
        ]
        for name, script, case_args, limit_s in cases:
            result = _run(repo, script, *case_args, limit_s=limit_s)
            rows.append((name, result))
            print(f"{name}: {result}", flush=True)
    lines = [
        f"# Hostile inputs, measured ({time.strftime('%Y-%m-%d')}, kontrakt from {repo.name})",
        "",
        "| case | outcome | wall s | peak RSS MB |",
        "|---|---|---|---|",
        *[f"| {name} | {r['outcome']} | {r['wall_s']} | {r['peak_rss_mb']} |" for name, r in rows],
        "",
    ]
    if args.out is not None:
        args.out.write_text("\n".join(lines))
    else:
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
