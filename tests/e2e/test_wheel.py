"""kontrakt as a user outside this repository gets it: a wheel, a fresh virtual environment, an
empty folder.

The wheel is built from this checkout into a temporary folder. Two environments get it:
- `core`: `pip install kontrakt-*.whl` with nothing else, as a team that only wants generated
  code would (its dependencies really come from the package index). `kontrakt --version` works,
  a package generated from a document of one's own imports and answers through its server and
  client, and `kontrakt certify` says which extra it needs instead of a traceback.
- `full`: the wheel without dependencies, its dependencies taken from the environment running
  the tests (a `.pth` line; this checkout itself is not on the path), so the test needs no
  second download of the certify stack. From an empty folder with no `specs/`: `kontrakt serve`
  starts with keys it generated into the state folder (the wheel ships none), `kontrakt init`
  writes a starting manifest for every profile and, with `--sandbox`, one that `kontrakt certify`
  passes against the running sandbox, and `kontrakt generate` writes a package from a document
  outside any checkout.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import sysconfig
import textwrap
import threading
import venv
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

DOCUMENT = textwrap.dedent(
    """\
    openapi: 3.1.0
    info: {title: Shelf, version: 1.0.0}
    paths:
      /books/{id}:
        get:
          operationId: getBook
          parameters:
            - {name: id, in: path, required: true, schema: {type: integer, minimum: 1}}
          responses:
            '200':
              description: one book
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/Book'}
            '404': {description: no such book}
    components:
      schemas:
        Book:
          type: object
          required: [id, title]
          properties:
            id: {type: integer}
            title: {type: string}
    """
)


def _run(
    command: list[str], cwd: Path, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (found,) = out.glob("kontrakt-*.whl")
    return found


def _environment(folder: Path) -> tuple[Path, dict[str, str]]:
    venv.EnvBuilder(with_pip=True, clear=True).create(folder)
    python = folder / "bin" / "python"
    home = folder.parent / f"{folder.name}-home"
    home.mkdir(exist_ok=True)
    env = {
        "PATH": f"{folder / 'bin'}:/usr/bin:/bin",
        "HOME": str(home),
        "XDG_STATE_HOME": str(home / "state"),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "NO_COLOR": "1",
    }
    for name in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_INDEX_URL", "LANG"):
        if name in os.environ:
            env[name] = os.environ[name]
    return python, env


@pytest.fixture(scope="module")
def full(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("full")
    python, env = _environment(root / "venv")
    installed = _run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)], root, env
    )
    assert installed.returncode == 0, installed.stderr
    # The test environment's packages (never this checkout: .pth files there are not read).
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            root,
            env,
        ).stdout.strip()
    )
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python, env


@pytest.fixture(scope="module")
def core(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("core")
    python, env = _environment(root / "venv")
    installed = _run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], root, env, 600)
    assert installed.returncode == 0, installed.stderr[-2000:]
    return python, env


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def test_the_wheel_holds_one_package_with_its_data_and_no_keys(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"kontrakt"}
    assert not [n for n in names if n.endswith(".pem")], "sandbox keys must not ship"
    for needed in (
        "kontrakt/_specs/dsop-control/v2.0/openapi.yaml",
        "kontrakt/_specs/dps/v1/openapi.yaml",
        "kontrakt/templates/package/client.py.jinja",
        "kontrakt/conformance/manifests/sandbox-dps.yaml",
        "kontrakt/conformance/report/report.html.j2",
        "kontrakt/conformance/report/report.schema.json",
        "kontrakt/schemas/x-kontrakt.schema.json",
        "kontrakt/sandbox/fixtures/clients.yaml",
        "kontrakt/py.typed",
    ):
        assert needed in names, needed
    metadata = (
        zipfile.ZipFile(wheel)
        .read(next(n for n in names if n.endswith(".dist-info/METADATA")))
        .decode()
    )
    assert "License-File: LICENSE" in metadata and "Project-URL: Source" in metadata


def test_core_install_runs_generated_code_and_names_missing_extras(
    core: tuple[Path, dict[str, str]], full: tuple[Path, dict[str, str]], empty: Path
) -> None:
    full_python, full_env = full
    (empty / "shelf.yaml").write_text(DOCUMENT)
    generated = _run(
        [str(full_python.parent / "kontrakt"), "generate", "shelf.yaml", "--out", "out"],
        empty,
        full_env,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    (package,) = [p.name for p in (empty / "out").iterdir() if (p / "client.py").is_file()]

    python, env = core
    kontrakt = str(python.parent / "kontrakt")
    version = _run([kontrakt, "--version"], empty, env)
    assert version.returncode == 0 and version.stdout.startswith("kontrakt "), version.stderr
    script = textwrap.dedent(
        f"""
        import httpx
        from {package} import Client, create_app
        from {package}.models import Book

        class Handlers:
            async def get_book(self, *, id: int, auth: object) -> Book:
                return Book(id=id, title="Kristin Lavransdatter")

        app = create_app(Handlers(), {{}})
        transport = httpx.ASGITransport(app=app)
        import asyncio

        async def main() -> None:
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as raw:
                answer = await raw.get("/books/7")
                assert answer.status_code == 200, answer.text
                assert answer.json() == {{"id": 7, "title": "Kristin Lavransdatter"}}
                refused = await raw.get("/books/0")
                assert refused.status_code == 400, refused.text
        asyncio.run(main())
        assert Client.__name__ == "Client"
        print("ok")
        """
    )
    ran = _run([str(python), "-c", script], empty, {**env, "PYTHONPATH": str(empty / "out")})
    assert ran.returncode == 0 and ran.stdout.strip() == "ok", ran.stdout + ran.stderr

    refused = _run(
        [kontrakt, "certify", "--profile", "dps/v1", "--base-url", "http://x"], empty, env
    )
    assert refused.returncode == 2
    assert "pip install 'kontrakt[certify]'" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr


PROFILES = (
    "dsop-control/v2.0",
    "dps/v1",
    "dan/v1",
    "sdir-additional-competence/v1",
    "sdir-additional-competence/v2",
)


@contextmanager
def _serving(python: Path, env: dict[str, str], cwd: Path) -> Iterator[list[str]]:
    """`kontrakt serve all` on free ports (DPS with the fast lifecycle `make certify` uses)."""
    command = [str(python.parent / "kontrakt"), "serve", "all", "--port", "0"]
    command += ["--set", "dps.step_delay=0.2", "--set", "dps.webhook_retry_delay=1.0"]
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip())
            if line.startswith("Ctrl-C stops"):
                break
        assert lines and lines[-1].startswith("Ctrl-C stops"), lines
        # Keep reading what the server logs, so a full pipe never blocks it mid-run.
        threading.Thread(target=process.stdout.read, daemon=True).start()
        yield lines
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def _sandbox_variables(lines: list[str]) -> dict[str, str]:
    """What the sandbox manifests read, from the URLs `kontrakt serve` printed."""
    found: dict[str, str] = {}
    for line in lines:
        name, _, rest = line.partition(" ")
        url = rest.split()[0] if rest.split() else ""
        if line.startswith("token issuer"):
            issuer = line.split()[2]
            found["KONTRAKT_SANDBOX_ISSUER"] = issuer
            found["KONTRAKT_SANDBOX_TOKEN_URL"] = issuer.rstrip("/") + "/token"
        elif url.startswith("http://127.0.0.1:"):
            found["KONTRAKT_SANDBOX_" + name.upper().replace("-", "_")] = url
    return found


def test_full_install_serves_inits_and_certifies_from_an_empty_folder(
    full: tuple[Path, dict[str, str]], empty: Path
) -> None:
    python, env = full
    kontrakt = str(python.parent / "kontrakt")
    missing = _run(
        [kontrakt, "certify", "--profile", "nosuch/v9", "--base-url", "http://x"], empty, env
    )
    assert missing.returncode == 2
    assert "./specs" in missing.stderr + missing.stdout and "Traceback" not in missing.stderr

    with _serving(python, env, empty) as lines:
        keys = Path(next(line for line in lines if line.startswith("TEST keys")).split(": ")[1])
        assert keys.is_relative_to(Path(env["XDG_STATE_HOME"])), keys
        assert (keys / "issuer.pem").is_file() and (keys / "politi-eo-test.crt.pem").is_file()
        variables = _sandbox_variables(lines)
        assert {"KONTRAKT_SANDBOX_DPS", "KONTRAKT_SANDBOX_SDIR"} <= set(variables), lines
        for profile in PROFILES:
            name = profile.replace("/", "-") + ".yaml"
            starter = _run([kontrakt, "init", profile, "-o", "starter-" + name], empty, env)
            assert starter.returncode == 0, starter.stderr
            assert f"profile: {profile}" in (empty / ("starter-" + name)).read_text()
            init = _run([kontrakt, "init", profile, "--sandbox", "-o", name], empty, env)
            assert init.returncode == 0, init.stderr
            certified = _run(
                [kontrakt, "certify", name, "--out", f"reports/{profile}"],
                empty,
                {**env, **variables},
            )
            report = json.loads((empty / "reports" / profile / "report.json").read_text())
            assert certified.returncode == 0, (profile, certified.stdout[-3000:])
            assert report["verdict"] == "passed", (profile, report["verdict"])
