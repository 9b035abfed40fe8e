"""Time ``kontrakt generate`` against peer generators on the same specs; write bench/RESULTS.md.

Run it with ``make bench`` (or ``.venv/bin/python bench/run.py --help``). Peers are installed on
first use into their own virtual environments under ``bench/.venvs/``; GitHub's REST description
is fetched with ``npm pack`` into ``bench/.cache/``. See bench/README.md for what is measured.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import importlib.metadata
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
VENVS = BENCH / ".venvs"
CACHE = BENCH / ".cache"
LOGS = CACHE / "logs"
SHARED = Path(os.environ.get("KONTRAKT_SHARED", ROOT.parent / "shared"))

# GitHub's REST description, pinned so that runs on different days compare the same input.
OCTOKIT_PACKAGE = "@octokit/openapi"
OCTOKIT_VERSION = "23.0.2"
OCTOKIT_MEMBER = "package/generated/api.github.com.json"

# Issue #4: all of specs/ regenerated in under 2 seconds.
TARGET_SECONDS = 2.0
NAN = float("nan")

# The publishers' own documents (copies under ../shared/reference); each is timed where present.
PUBLISHER_DOCUMENTS = (
    ("DSOP Control v2.0.0 (publisher)", "reference/dsop/dsop-control-api-v2.0.0.yaml"),
    ("Bits KAR v1.1.2 (publisher)", "reference/dsop/kundeforhold-kar-api-v1.1.2.yaml"),
    (
        "DPS submission 1.0.0 (publisher)",
        "reference/dps/dps-submission-service-api-1.0.0.swagger.json",
    ),
    ("DAN 2018 draft (publisher)", "reference/dan/nadobe-openapi-spec-2018-draft.json"),
)

# First lines of tool output that are noise, not the error (JVM banners, pip/npm chatter).
NOISE = re.compile(r"^(WARNING: Location|npm warn|Picked up JAVA|#|\s*$)")
ERRORISH = re.compile(r"error|exception|failed|fatal|invalid|cannot|could not", re.IGNORECASE)


# --------------------------------------------------------------------------------------------
# Tools


@dataclass(frozen=True)
class Tool:
    """A generator under test: how to install it and how to call it on specs into a directory."""

    key: str
    produces: str
    # The pip distribution whose version is reported, and the requirements file that pins it
    # (None for kontrakt, which runs from the project's own .venv).
    distribution: str
    requirements: str | None
    # Builds argv for one call; ``specs`` has one element unless ``batch`` is true.
    argv: Callable[[Path, Sequence[Path], Path], list[str]]
    shown: str
    batch: bool = False
    needs: tuple[str, ...] = ()
    # Output lines that announce something left out of a generated client while exiting 0.
    warning: re.Pattern[str] | None = None

    @property
    def bin(self) -> Path:
        if self.requirements is None:
            # The interpreter running this file is the project's .venv (make bench uses $(BIN)/python).
            return Path(sys.executable).parent
        return VENVS / venv_name(self) / "bin"


def _kontrakt(bin_: Path, specs: Sequence[Path], out: Path) -> list[str]:
    # --no-cache: every timed call builds; scenario 4 times the cache on its own.
    return [str(bin_ / "kontrakt"), "generate", *map(str, specs), "--out", str(out), "--no-cache"]


def _kontrakt_cached(cache: Path) -> Callable[[Path, Sequence[Path], Path], list[str]]:
    def argv(bin_: Path, specs: Sequence[Path], out: Path) -> list[str]:
        command = [str(bin_ / "kontrakt"), "generate", *map(str, specs), "--out", str(out)]
        return [*command, "--cache-dir", str(cache)]

    return argv


def _openapi_python_client(bin_: Path, specs: Sequence[Path], out: Path) -> list[str]:
    # --meta none: a bare package, as kontrakt writes no packaging metadata either. Its default
    # post-hooks (ruff check --fix, ruff format) stay on, as a user would run it.
    (spec,) = specs
    return [
        str(bin_ / "openapi-python-client"),
        "generate",
        "--path",
        str(spec),
        "--output-path",
        str(out / "client"),
        "--meta",
        "none",
    ]


# datamodel-codegen is called with the options kontrakt passes to its Python API in
# generator/models.py (pydantic v2, Python 3.11, Annotated constraints, snake_case fields ...).
# kontrakt turns its formatters off and runs ruff once over all output; the CLI's default
# formatters (black + isort) are what a user gets, and FINDINGS.md shows `--formatters builtin`
# halving its time on GitHub's description, so both are timed as separate rows.
DATAMODEL_OPTIONS = (
    "--input-file-type",
    "openapi",
    "--output-model-type",
    "pydantic_v2.BaseModel",
    "--target-python-version",
    "3.11",
    "--target-pydantic-version",
    "2",
    "--disable-timestamp",
    "--use-annotated",
    "--field-constraints",
    "--use-schema-description",
    "--snake-case-field",
    "--allow-population-by-field-name",
    "--capitalise-enum-members",
    "--strict-nullable",
    "--use-standard-collections",
    "--use-union-operator",
)


def _datamodel_codegen(
    formatters: tuple[str, ...],
) -> Callable[[Path, Sequence[Path], Path], list[str]]:
    def argv(bin_: Path, specs: Sequence[Path], out: Path) -> list[str]:
        (spec,) = specs
        extra = ["--formatters", *formatters] if formatters else []
        return [
            str(bin_ / "datamodel-codegen"),
            "--input",
            str(spec),
            "--output",
            str(out / "models.py"),
            *DATAMODEL_OPTIONS,
            *extra,
        ]

    return argv


def _openapi_generator(bin_: Path, specs: Sequence[Path], out: Path) -> list[str]:
    (spec,) = specs
    return [
        str(bin_ / "openapi-generator-cli"),
        "generate",
        "-i",
        str(spec),
        "-g",
        "python",
        "-o",
        str(out),
    ]


def _fastapi_codegen(bin_: Path, specs: Sequence[Path], out: Path) -> list[str]:
    (spec,) = specs
    return [str(bin_ / "fastapi-codegen"), "--input", str(spec), "--output", str(out / "app")]


TOOLS: tuple[Tool, ...] = (
    Tool(
        "kontrakt",
        "models + contract data (+ client, server as issue #4 adds them)",
        "kontrakt",
        None,
        _kontrakt,
        "kontrakt generate SPECS... --out DIR --no-cache",
        batch=True,
    ),
    Tool(
        "openapi-python-client",
        "client + models",
        "openapi-python-client",
        "requirements-openapi-python-client.txt",
        _openapi_python_client,
        "openapi-python-client generate --path SPEC --output-path DIR/client --meta none",
        # FINDINGS.md: it exits 0 yet omits what it cannot parse. Each problem is printed as a
        # header line (one of these) followed by details; count the headers.
        warning=re.compile(
            r"^(WARNING parsing|Unable to parse this part|Problem creating|Endpoint requires a body)",
            re.MULTILINE,
        ),
    ),
    Tool(
        "datamodel-codegen",
        "models only",
        "datamodel-code-generator",
        "requirements-datamodel-codegen.txt",
        _datamodel_codegen(()),
        "datamodel-codegen --input SPEC --output DIR/models.py " + " ".join(DATAMODEL_OPTIONS),
    ),
    Tool(
        "datamodel-codegen-builtin",
        "models only",
        "datamodel-code-generator",
        "requirements-datamodel-codegen.txt",
        _datamodel_codegen(("builtin",)),
        "(same as datamodel-codegen) --formatters builtin",
    ),
    Tool(
        "openapi-generator-cli",
        "client + models",
        "openapi-generator-cli",
        "requirements-openapi-generator-cli.txt",
        _openapi_generator,
        "openapi-generator-cli generate -i SPEC -g python -o DIR",
        needs=("java",),
    ),
    Tool(
        "fastapi-code-generator",
        "server stub + models",
        "fastapi-code-generator",
        "requirements-fastapi-code-generator.txt",
        _fastapi_codegen,
        "fastapi-codegen --input SPEC --output DIR/app",
    ),
)
TOOL_KEYS = tuple(tool.key for tool in TOOLS)


def venv_name(tool: Tool) -> str:
    # Both datamodel-codegen rows share one environment: they are the same installed tool.
    return (
        tool.requirements.removeprefix("requirements-").removesuffix(".txt")
        if tool.requirements
        else ".venv"
    )


def ensure_installed(tool: Tool) -> str | None:
    """Install ``tool`` into bench/.venvs/<name> unless its pinned requirements are already there.

    Returns None when the tool is ready, else why it is not.
    """
    missing = [program for program in tool.needs if shutil.which(program) is None]
    if missing:
        return f"not run: {', '.join(missing)} not found on PATH"
    if tool.requirements is None:
        if not (tool.bin / "kontrakt").exists():
            return f"not run: {tool.bin / 'kontrakt'} does not exist"
        probe = run_quiet([str(tool.bin / "kontrakt"), "generate", "--help"])
        return None if probe.returncode == 0 else "not run: `kontrakt generate` does not exist yet"
    requirements = BENCH / tool.requirements
    venv = VENVS / venv_name(tool)
    stamp = venv / ".bench-installed"
    wanted = hashlib.sha256(requirements.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted:
        return None
    progress(f"installing {venv_name(tool)} into {venv.relative_to(ROOT)} ...")
    shutil.rmtree(venv, ignore_errors=True)
    steps = (
        [sys.executable, "-m", "venv", str(venv)],
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            str(requirements),
        ],
    )
    for step in steps:
        result = run_quiet(step)
        if result.returncode != 0:
            return "install failed: " + error_line(result.stderr or result.stdout)
    stamp.write_text(wanted)
    return None


def tool_version(tool: Tool) -> str:
    if tool.requirements is None:
        version = importlib.metadata.version(tool.distribution)
        commit = run_quiet(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]).stdout.strip()
        dirty = run_quiet(
            [
                "git",
                "-C",
                str(ROOT),
                "status",
                "--porcelain",
                "--",
                "kontrakt",
                "generator",
                "templates",
            ]
        )
        suffix = "+changes" if dirty.stdout.strip() else ""
        return f"{version} ({commit}{suffix})" if commit else version
    python = VENVS / venv_name(tool) / "bin" / "python"
    code = f"import importlib.metadata as m; print(m.version({tool.distribution!r}))"
    result = run_quiet([str(python), "-c", code])
    return result.stdout.strip() if result.returncode == 0 else "?"


# --------------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True)
class Document:
    """One input specification and where it comes from (ours, a publisher's, the large one)."""

    name: str
    path: Path
    origin: str


def our_documents() -> list[Document]:
    return [
        Document(f"{path.parent.parent.name} {path.parent.name}", path, "ours")
        for path in sorted(ROOT.glob("specs/*/*/openapi.yaml"))
    ]


def publisher_documents() -> list[Document]:
    found = [(name, SHARED / relative) for name, relative in PUBLISHER_DOCUMENTS]
    return [Document(name, path, "publisher") for name, path in found if path.exists()]


def github_document() -> Document | str:
    """GitHub's REST description from the pinned npm package, cached; or why it is unavailable."""
    target = CACHE / f"octokit-openapi-{OCTOKIT_VERSION}" / "api.github.com.json"
    name = f"GitHub REST ({OCTOKIT_PACKAGE} {OCTOKIT_VERSION})"
    if target.exists():
        return Document(name, target, "large")
    tarball = CACHE / f"octokit-openapi-{OCTOKIT_VERSION}.tgz"
    if not tarball.exists():
        npm = shutil.which("npm")
        if npm is None:
            return "npm not found on PATH"
        CACHE.mkdir(parents=True, exist_ok=True)
        progress(f"fetching {OCTOKIT_PACKAGE}@{OCTOKIT_VERSION} with npm pack (29 MB) ...")
        spec = f"{OCTOKIT_PACKAGE}@{OCTOKIT_VERSION}"
        result = run_quiet([npm, "pack", spec, "--pack-destination", str(CACHE)], cwd=CACHE)
        if result.returncode != 0 or not tarball.exists():
            return "npm pack failed: " + error_line(result.stderr or result.stdout)
    with tarfile.open(tarball) as archive:
        member = archive.extractfile(OCTOKIT_MEMBER)
        if member is None:
            return f"{OCTOKIT_MEMBER} missing from {tarball.name}"
        data = member.read()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return Document(name, target, "large")


def describe(document: Document) -> str:
    """Operation count and size of a JSON/YAML description, for the report's headings."""
    text = document.path.read_text(encoding="utf-8")
    if document.path.suffix == ".json":
        spec = json.loads(text)
    else:
        import yaml  # the project venv has pyyaml; only needed for YAML inputs

        spec = yaml.safe_load(text)
    methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    operations = sum(
        1
        for item in (spec.get("paths") or {}).values()
        if isinstance(item, dict)
        for key in item
        if key in methods
    )
    schemas = len(((spec.get("components") or {}).get("schemas")) or {})
    return f"{operations:,} operations, {schemas:,} schemas, {len(text.encode()) / 1e6:.1f} MB"


# --------------------------------------------------------------------------------------------
# Timing


@dataclass
class Cell:
    """The runs of one tool on one input: wall times, peak RSS, and how it ended."""

    tool: str
    subject: str
    status: str = "ok"  # ok | fails | timeout | not run
    error: str = ""
    seconds: list[float] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)
    py_files: int = 0
    py_lines: int = 0
    warnings: int = 0
    modules: tuple[str, ...] = ()

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else NAN

    @property
    def ok(self) -> bool:
        return self.status == "ok" and bool(self.seconds)


def run_quiet(argv: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, timeout=900, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(argv, 1, "", str(exc))


def error_line(text: str) -> str:
    """The line that says what went wrong: a traceback's last line, else the first error-ish line."""
    lines = [line.strip() for line in text.splitlines() if not NOISE.match(line)]
    if not lines:
        return "(no output)"
    if "Traceback (most recent call last):" in text:
        chosen = lines[-1]
    else:
        # The first error-ish line, with the two after it: tools often print a generic
        # "generation failed" first and the reason below it.
        first = next((i for i, line in enumerate(lines) if ERRORISH.search(line)), 0)
        chosen = " / ".join(lines[first : first + 3])
    return chosen if len(chosen) <= 220 else chosen[:217] + "..."


def tool_env(tool: Tool) -> dict[str, str]:
    env = dict(os.environ)
    # Tools that shell out (openapi-python-client runs ruff, the generator wrapper runs java)
    # must find their own environment's programs first, as if it were activated.
    env["PATH"] = f"{tool.bin}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(tool.bin.parent)
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


@dataclass(frozen=True)
class Run:
    """How one call ended."""

    status: str
    seconds: float
    rss_kb: int
    error: str = ""
    py_files: int = 0
    py_lines: int = 0
    warnings: int = 0
    modules: tuple[str, ...] = ()


def _cpu_times() -> tuple[int, int] | None:
    """(idle, total) jiffies of all CPUs since boot, from /proc/stat; None where there is none."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return fields[3] + (fields[4] if len(fields) > 4 else 0), sum(fields[:8])


@dataclass
class IdleGate:
    """Holds each timed call back until the CPUs are idle, and counts the calls it gave up on.

    Other work on the machine (another session's test run) stretches every figure, and wall times
    taken under it say more about that work than about the tool. Before each call the gate samples
    /proc/stat for ``window`` seconds until at least ``threshold`` of the CPU time was idle, for at
    most ``max_wait`` seconds; a call that starts on a busy machine anyway is counted, and the
    report says how many there were.
    """

    max_wait: float = 0.0
    threshold: float = 0.85
    window: float = 0.5
    calls: int = 0
    busy: int = 0

    def wait(self) -> None:
        self.calls += 1
        if self.max_wait <= 0:
            return
        deadline = time.monotonic() + self.max_wait
        while True:
            before = _cpu_times()
            time.sleep(self.window)
            after = _cpu_times()
            if before is None or after is None:
                return  # no /proc/stat: nothing to wait for
            total = after[1] - before[1]
            if total <= 0 or (after[0] - before[0]) / total >= self.threshold:
                return
            if time.monotonic() >= deadline:
                self.busy += 1
                return


IDLE = IdleGate()


def run_once(tool: Tool, specs: Sequence[Path], timeout: float) -> Run:
    """One cold call of ``tool`` on ``specs``, writing into a fresh temporary directory."""
    IDLE.wait()
    work = Path(tempfile.mkdtemp(prefix=f"kontrakt-bench-{tool.key}-"))
    out = work / "out"
    out.mkdir()
    argv = tool.argv(tool.bin, specs, out)
    timed_out = threading.Event()
    try:
        with (work / "stdout").open("wb") as stdout, (work / "stderr").open("wb") as stderr:
            start = time.perf_counter()
            try:
                proc = subprocess.Popen(
                    argv,
                    cwd=work,
                    env=tool_env(tool),
                    stdin=subprocess.DEVNULL,
                    stdout=stdout,
                    stderr=stderr,
                    start_new_session=True,  # its own process group, so a timeout kills the JVM too
                )
            except OSError as exc:
                return Run("fails", 0.0, 0, str(exc))

            def kill() -> None:
                timed_out.set()
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)

            timer = threading.Timer(timeout, kill)
            timer.start()
            try:
                # wait4 gives this child's resource usage; on Linux its ru_maxrss also covers the
                # descendants it waited for (the JVM under openapi-generator-cli, ruff under
                # openapi-python-client), which getrusage(RUSAGE_CHILDREN) cannot separate per run.
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                timer.cancel()
            elapsed = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
        rss = usage.ru_maxrss
        if timed_out.is_set():
            return Run("timeout", elapsed, rss, f"killed after {timeout:.0f} s")
        files, lines, modules = count_python(out)
        text = (
            (work / "stdout").read_text(errors="replace")
            + "\n"
            + (work / "stderr").read_text(errors="replace")
        )
        warnings = len(tool.warning.findall(text)) if tool.warning else 0
        if proc.returncode != 0 or files == 0:
            keep_log(tool, specs, work)
            errors = (work / "stderr").read_text(errors="replace").strip() or text
            why = (
                f"exit {proc.returncode}: {error_line(errors)}"
                if proc.returncode
                else "exit 0 but wrote no Python file"
            )
            return Run("fails", elapsed, rss, why, files, lines, warnings)
        return Run("ok", elapsed, rss, "", files, lines, warnings, modules)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def count_python(directory: Path) -> tuple[int, int, tuple[str, ...]]:
    """Python files and lines under ``directory``, and the module names found in them."""
    files = lines = 0
    modules: set[str] = set()
    for path in directory.rglob("*.py"):
        files += 1
        modules.add(path.name)
        with path.open("rb") as handle:
            lines += sum(1 for _ in handle)
    return files, lines, tuple(sorted(modules - {"__init__.py"}))


def keep_log(tool: Tool, specs: Sequence[Path], work: Path) -> None:
    LOGS.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9.-]+", "_", f"{tool.key}-{specs[0].parent.name}-{specs[0].stem}")[
        :120
    ]
    with (LOGS / f"{stem}.log").open("w") as log:
        log.write(f"$ {' '.join(tool.argv(tool.bin, specs, work / 'out'))}\n")
        for name in ("stdout", "stderr"):
            log.write(f"--- {name}\n{(work / name).read_text(errors='replace')}\n")


def measure(
    tool: Tool,
    subject: str,
    specs: Sequence[Path],
    runs: int,
    timeout: float,
    unavailable: str | None,
) -> Cell:
    """Time ``runs`` cold calls; a failure or timeout is recorded once and not repeated."""
    cell = Cell(tool.key, subject)
    if unavailable:
        cell.status, cell.error = "not run", unavailable
        return cell
    for index in range(runs):
        run = run_once(tool, specs, timeout)
        cell.seconds.append(run.seconds)
        cell.rss_kb.append(run.rss_kb)
        cell.py_files, cell.py_lines, cell.warnings = run.py_files, run.py_lines, run.warnings
        cell.modules = run.modules
        progress(
            f"  {tool.key:<26} {subject[:44]:<44} run {index + 1}/{runs}: "
            f"{run.status:<7} {run.seconds:7.2f} s {run.rss_kb / 1024:7.0f} MB"
        )
        if run.status != "ok":
            cell.status, cell.error = run.status, run.error
            break
    return cell


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Report


def fmt_seconds(cell: Cell, spread: bool = True) -> str:
    if cell.status == "not run":
        return "not run"
    if cell.status == "timeout":
        return f"timeout (>{cell.seconds[-1]:.0f} s)"
    if not cell.ok:
        return "fails"
    text = f"{cell.median:.2f} s"
    if spread and len(cell.seconds) > 1:
        text += f" ({min(cell.seconds):.2f}–{max(cell.seconds):.2f})"
    return text


def fmt_ratio(peer: float, ours: float) -> str:
    if math.isnan(peer) or math.isnan(ours) or ours <= 0:
        return "–"
    return f"{peer / ours:.1f}×"


def fmt_rss(kb: Sequence[int]) -> str:
    return f"{max(kb) / 1024:,.0f} MB" if kb else "–"


def machine_lines(loads: Sequence[tuple[float, float, float]]) -> list[str]:
    """nproc, CPU, memory, OS, interpreters, and the load average around the run."""
    cpu = "?"
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "?"
    with open("/proc/meminfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024**2:.0f} GiB"
                break
    java = run_quiet(["java", "-version"]) if shutil.which("java") else None
    java_line = java.stderr.splitlines()[0] if java and java.stderr else "not installed"
    return [
        f"- nproc: {len(os.sched_getaffinity(0))}; CPU: {cpu}; memory: {memory}",
        f"- OS: {platform.platform()}",
        f"- Python: {platform.python_version()} ({sys.executable.replace(str(ROOT) + '/', '')}); Java: {java_line}",
        # Other work on the 2 cores skews every figure; the load average shows whether there was any.
        "- load average (1, 5, 15 min) at start and end of the run: "
        + "; ".join(", ".join(f"{x:.2f}" for x in load) for load in loads),
        idle_line(),
    ]


def idle_line() -> str:
    """What the idle gate did: how many calls started while other work kept the CPUs busy."""
    if IDLE.max_wait <= 0:
        return "- idle wait: off (`--idle-wait 0`); calls started whatever else was running"
    return (
        f"- idle wait: each call waited (up to {IDLE.max_wait:.0f} s) for the CPUs to be "
        f"{IDLE.threshold:.0%} idle; {IDLE.busy} of {IDLE.calls} call(s) started while other work "
        "still kept them busy"
    )


def escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def write_report(
    path: Path,
    *,
    args: argparse.Namespace,
    tools: Sequence[Tool],
    versions: dict[str, str],
    ours: Sequence[Document],
    publisher: Sequence[Document],
    github: Document | str | None,
    batch: Cell | None,
    per_doc: dict[tuple[str, str], Cell],
    large: dict[str, Cell],
    cached: dict[str, Cell],
    started: datetime.datetime,
    elapsed: float,
    loads: Sequence[tuple[float, float, float]],
) -> None:
    """Write the Markdown report: machine, versions, the three scenarios, failures, warnings."""
    peers = [tool for tool in tools if tool.key != "kontrakt"]
    runs = f"{args.runs} cold process(es)"
    if isinstance(github, Document) and args.github_runs != args.runs:
        runs += f" ({args.github_runs} on GitHub's description)"
    out: list[str] = [
        "# Generator benchmark results",
        "",
        f"Written by `bench/run.py` on {started:%Y-%m-%d %H:%M} UTC; the run took "
        f"{elapsed / 60:.1f} min. Each cell: {runs}, each writing into a fresh directory; "
        "median wall time (min–max); peak RSS is the largest of the runs, over the process tree. "
        "Ratios are peer time / kontrakt time from this same run. Figures move by ±20 % from one "
        "run to the next on this machine, so compare figures from one file only. "
        "See bench/README.md for the method.",
        "",
        "## Machine",
        "",
        *machine_lines(loads),
        "",
        "## Tools",
        "",
        "| tool | version | produces | command |",
        "|---|---|---|---|",
    ]
    for tool in tools:
        version = versions.get(tool.key, "?")
        produces = produced(tool, batch if tool.key == "kontrakt" else None)
        out.append(f"| {tool.key} | {version} | {produces} | `{tool.shown}` |")

    # 1. all of specs/
    base_all = batch.median if batch is not None and batch.ok else NAN
    out += [
        "",
        f"## 1. All of `specs/` ({len(ours)} documents)",
        "",
        "kontrakt regenerates every document in one call; each peer is called once per document "
        "and its per-document medians (section 2) are added up.",
        "",
        "| tool | calls | time | ratio (peer / kontrakt) | peak RSS | failures |",
        "|---|---:|---:|---:|---:|---|",
    ]
    if batch is not None:
        ratio = "1.0×" if batch.ok else "–"
        failure = escape(batch.error) if not batch.ok else "–"
        out.append(
            f"| kontrakt | 1 | {fmt_seconds(batch)} | {ratio} | {fmt_rss(batch.rss_kb)} | {failure} |"
        )
    sums: dict[str, float] = {}
    incomplete: list[str] = []
    for tool in peers:
        cells = [per_doc[(tool.key, doc.name)] for doc in ours]
        if all(cell.status == "not run" for cell in cells):
            out.append(f"| {tool.key} | 0 | not run | – | – | {escape(cells[0].error)} |")
            continue
        total = sum(statistics.median(cell.seconds) for cell in cells if cell.seconds)
        sums[tool.key] = total
        failed = [cell.subject for cell in cells if not cell.ok]
        if failed:
            incomplete.append(tool.key)
        failures = f"{len(failed)} of {len(cells)}: {', '.join(failed)}" if failed else "–"
        rss = fmt_rss([kb for cell in cells for kb in cell.rss_kb])
        time_text = f"{total:.2f} s" + (" (incomplete)" if failed else "")
        ratio = fmt_ratio(total, base_all)
        out.append(f"| {tool.key} | {len(cells)} | {time_text} | {ratio} | {rss} | {failures} |")
    out += ["", verdict(batch, base_all, sums, incomplete)]

    # 2. per document
    documents = [*ours, *publisher]
    header = [
        "| document | " + " | ".join(t.key for t in tools) + " |",
        "|---|" + "---:|" * len(tools),
    ]
    out += [
        "",
        "## 2. Per document",
        "",
        "One call per document and tool: median wall time, and in brackets the ratio peer / "
        "kontrakt on the same document.",
        "",
        *header,
    ]
    for doc in documents:
        ours_cell = per_doc.get(("kontrakt", doc.name))
        base = ours_cell.median if ours_cell is not None and ours_cell.ok else NAN
        row = [doc.name]
        for tool in tools:
            cell = per_doc[(tool.key, doc.name)]
            text = fmt_seconds(cell, spread=False)
            if cell.ok and tool.key != "kontrakt" and not math.isnan(base):
                text += f" ({fmt_ratio(cell.median, base)})"
            row.append(text)
        out.append("| " + " | ".join(row) + " |")
    out += ["", "Peak RSS per document (largest run):", "", *header]
    for doc in documents:
        cells = [per_doc[(tool.key, doc.name)] for tool in tools]
        out.append(f"| {doc.name} | " + " | ".join(fmt_rss(cell.rss_kb) for cell in cells) + " |")

    # 3. GitHub
    out += ["", "## 3. A large real description: GitHub's REST API", ""]
    if github is None:
        out.append("Skipped in this run (`--no-github`).")
    elif isinstance(github, str):
        out.append(f"Not run: {escape(github)}.")
    else:
        base_cell = large.get("kontrakt")
        base = base_cell.median if base_cell is not None and base_cell.ok else NAN
        out += [
            f"`{github.path.relative_to(ROOT)}`, from the npm package {OCTOKIT_PACKAGE} "
            f"{OCTOKIT_VERSION}: {describe(github)}. Timeout {args.timeout:.0f} s per call.",
            "",
            "| tool | produces | time | ratio (peer / kontrakt) | peak RSS | Python files / lines |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for tool in tools:
            cell = large[tool.key]
            if not cell.ok:
                ratio = "–"
            elif tool.key == "kontrakt":
                ratio = "1.0×"
            else:
                ratio = fmt_ratio(cell.median, base)
            written = f"{cell.py_files:,} / {cell.py_lines:,}" if cell.ok else "–"
            out.append(
                f"| {tool.key} | {produced(tool, cell)} | {fmt_seconds(cell)} | {ratio} "
                f"| {fmt_rss(cell.rss_kb)} | {written} |"
            )

    out += ["", "## 4. Regenerating unchanged documents", ""]
    if not cached:
        out.append("Not run (kontrakt was not among the tools).")
    else:
        out += [
            "kontrakt keeps each finished package in a content-addressed cache (key: the document's "
            "bytes, path, generator sources and library versions, options; see "
            "`kontrakt/generator/cache.py`). One untimed call fills a cache folder of this run's "
            "own; the timed calls then regenerate the same documents into fresh folders. The "
            "peers have no cache: regenerating costs them what sections 1 and 3 show.",
            "",
            "| subject | built (no cache) | unchanged (cache hit) | peak RSS |",
            "|---|---:|---:|---:|",
        ]
        for subject, cell in cached.items():
            built = (
                batch if batch is not None and subject == batch.subject else large.get("kontrakt")
            )
            built_text = fmt_seconds(built) if built is not None else "–"
            out.append(
                f"| {subject} | {built_text} | {fmt_seconds(cell)} | {fmt_rss(cell.rss_kb)} |"
            )

    out += ["", "## Failures, skips and warnings", ""]
    out += failure_lines(
        [*([batch] if batch else []), *per_doc.values(), *large.values(), *cached.values()]
    )
    out.append("")
    path.write_text("\n".join(out), encoding="utf-8")


def produced(tool: Tool, cell: Cell | None) -> str:
    """What a tool generates; for kontrakt, the modules its output held in this run."""
    if tool.key == "kontrakt" and cell is not None and cell.ok and cell.modules:
        # What kontrakt writes grows with issue #4; report what this run's output held.
        return "per document: " + ", ".join(cell.modules)
    return tool.produces


def verdict(batch: Cell | None, base: float, sums: dict[str, float], incomplete: list[str]) -> str:
    """One sentence on issue #4's target: all of specs/ under 2 s and faster than every peer."""
    target = "Target of issue #4 (all of `specs/` in under 2 s and faster than every peer)"
    if batch is None:
        return f"{target}: not assessed, kontrakt was not among the tools timed."
    if not batch.ok:
        return (
            f"{target}: **not met**, kontrakt did not regenerate `specs/` ({escape(batch.error)})."
        )
    under = base < TARGET_SECONDS
    not_faster = [key for key, total in sums.items() if total <= base]
    met = under and not not_faster
    parts = [f"{base:.2f} s is {'under' if under else 'over'} {TARGET_SECONDS:.0f} s"]
    if not_faster:
        parts.append(f"not faster than {', '.join(not_faster)}")
    else:
        closest = min(sums, key=sums.__getitem__, default=None)
        if closest is not None:
            ratio = sums[closest] / base
            parts.append(f"faster than every peer row, the closest ({closest}) by {ratio:.1f}×")
    if incomplete:
        parts.append(
            f"{', '.join(incomplete)} failed on some documents and are summed as far as they ran"
        )
    return f"{target}: **{'met' if met else 'not met'}**: " + "; ".join(parts) + "."


def failure_lines(cells: Sequence[Cell]) -> list[str]:
    """Tools that did not run (once each), calls that failed or timed out, and silent omissions."""
    lines: list[str] = []
    not_run: dict[str, str] = {}
    for cell in cells:
        if cell.status == "not run":
            not_run.setdefault(cell.tool, cell.error)
    lines += [f"- {tool}: {escape(why)} (on every input)" for tool, why in not_run.items()]
    failed = [cell for cell in cells if cell.status in {"fails", "timeout"}]
    lines += [f"- {c.tool} on {c.subject}: **{c.status}**: {escape(c.error)}" for c in failed]
    warned = [cell for cell in cells if cell.ok and cell.warnings]
    lines += [
        f"- {c.tool} on {c.subject}: exit 0, but printed {c.warnings} warning(s) that part of the "
        "document was left out of the generated code"
        for c in warned
    ]
    if failed:
        lines += ["", "Full output of each failing call: `bench/.cache/logs/` (not committed)."]
    return lines or ["None."]


# --------------------------------------------------------------------------------------------
# Main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="cold runs per cell (default 3)")
    parser.add_argument(
        "--github-runs",
        type=int,
        default=None,
        help="runs on GitHub's description (default: --runs)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds before one call is killed (default 300)",
    )
    parser.add_argument(
        "--tools", nargs="+", choices=TOOL_KEYS, default=list(TOOL_KEYS), help="tools to time"
    )
    parser.add_argument(
        "--no-github", action="store_true", help="skip GitHub's REST description (scenario 3)"
    )
    parser.add_argument(
        "--no-publisher", action="store_true", help="skip the publishers' documents in ../shared"
    )
    parser.add_argument(
        "--idle-wait",
        type=float,
        default=60.0,
        help="seconds each call may wait for the CPUs to be idle (default 60; 0: do not wait)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=BENCH / "RESULTS.md",
        help="report path (default bench/RESULTS.md)",
    )
    args = parser.parse_args(argv)
    if args.github_runs is None:
        args.github_runs = args.runs
    if args.runs < 1 or args.github_runs < 1:
        parser.error("--runs and --github-runs must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    IDLE.max_wait = args.idle_wait
    started = datetime.datetime.now(datetime.UTC)
    load_at_start = os.getloadavg()
    clock = time.perf_counter()
    tools = [tool for tool in TOOLS if tool.key in args.tools]

    unavailable = {tool.key: ensure_installed(tool) for tool in tools}
    versions = {
        tool.key: (
            tool_version(tool) if not unavailable[tool.key] or tool.key == "kontrakt" else "–"
        )
        for tool in tools
    }
    for key, why in unavailable.items():
        if why:
            progress(f"{key}: {why}")

    ours = our_documents()
    publisher = [] if args.no_publisher else publisher_documents()
    github: Document | str | None = None if args.no_github else github_document()

    # One untimed call per tool first: it writes the bytecode of modules that pip did not compile
    # (kontrakt's editable install) and fills the page cache, which the first timed run would
    # otherwise pay alone. Every timed call is still a new process.
    smallest = min(ours, key=lambda doc: doc.path.stat().st_size)
    for tool in tools:
        if not unavailable[tool.key]:
            progress(f"warm-up: {tool.key} on {smallest.name}")
            run_once(tool, [smallest.path], args.timeout)

    batch: Cell | None = None
    kontrakt = next((tool for tool in tools if tool.key == "kontrakt"), None)
    if kontrakt is not None:
        progress(f"1. all of specs/ ({len(ours)} documents) in one kontrakt call")
        batch = measure(
            kontrakt,
            f"all of specs/ ({len(ours)} documents)",
            [d.path for d in ours],
            args.runs,
            args.timeout,
            unavailable["kontrakt"],
        )

    per_doc: dict[tuple[str, str], Cell] = {}
    progress("2. per document")
    for doc in [*ours, *publisher]:
        for tool in tools:
            per_doc[(tool.key, doc.name)] = measure(
                tool, doc.name, [doc.path], args.runs, args.timeout, unavailable[tool.key]
            )

    large: dict[str, Cell] = {}
    if isinstance(github, Document):
        progress(f"3. {github.name}")
        for tool in tools:
            large[tool.key] = measure(
                tool,
                github.name,
                [github.path],
                args.github_runs,
                args.timeout,
                unavailable[tool.key],
            )
    elif isinstance(github, str):
        progress(f"3. GitHub's description unavailable: {github}")

    # 4. Regenerating what did not change: kontrakt's cache, primed by one untimed call per subject
    # into a cache folder of this run's own.
    cached: dict[str, Cell] = {}
    if kontrakt is not None and not unavailable["kontrakt"]:
        progress("4. regenerating unchanged documents (kontrakt's cache)")
        with tempfile.TemporaryDirectory(prefix="kontrakt-bench-cache-") as folder:
            hit = replace(kontrakt, argv=_kontrakt_cached(Path(folder)))
            subjects = [(f"all of specs/ ({len(ours)} documents)", [d.path for d in ours])]
            if isinstance(github, Document):
                subjects.append((github.name, [github.path]))
            for subject, specs in subjects:
                run_once(hit, specs, args.timeout)  # fills the cache
                runs = (
                    args.github_runs
                    if isinstance(github, Document) and subject == github.name
                    else args.runs
                )
                cached[subject] = measure(hit, subject, specs, runs, args.timeout, None)

    write_report(
        args.output,
        args=args,
        tools=tools,
        versions=versions,
        ours=ours,
        publisher=publisher,
        github=github,
        batch=batch,
        per_doc=per_doc,
        large=large,
        cached=cached,
        started=started,
        elapsed=time.perf_counter() - clock,
        loads=[load_at_start, os.getloadavg()],
    )
    progress(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
