"""The consumer-flow example (examples/dsop_consumer_flow.py) against `kontrakt serve all`.

The sandbox runs as a user runs it (a subprocess on 127.0.0.1, free ports, its own catalogue
file, DSOP Control pages of 10 so pagination is followed); the example runs as a subprocess too.
Its output must be consistent: every bank the register names is queried or reported as missing
from the catalogue, the pages add up, and the fault accounts' ACC codes are handled.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "dsop_consumer_flow.py"
BIN = Path(sys.executable).parent


@dataclass
class Served:
    catalogue: Path
    token_url: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    catalogue = tmp_path_factory.mktemp("flow") / "banks.json"
    command = [str(BIN / "kontrakt"), "serve", "all", "--port", "0", "--catalogue", str(catalogue)]
    command += ["--set", "dsop-control.page_size=10", "--set", "dsop-control.accounts_page_size=5"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        lines: list[str] = []
        for line in process.stdout:
            lines.append(line.rstrip())
            if line.startswith("Ctrl-C stops"):
                break
        assert lines and lines[-1].startswith("Ctrl-C stops"), lines
        threading.Thread(target=process.stdout.read, daemon=True).start()
        token_url = next(line.split()[4].rstrip(",") for line in lines if "token issuer" in line)
        yield Served(catalogue, token_url)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def run_example(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(EXAMPLE), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=REPO)


def test_the_flow_reaches_every_bank_follows_pages_and_handles_acc_codes(served: Served) -> None:
    done = run_example("--catalogue", str(served.catalogue), "--token-url", served.token_url)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    catalogue = json.loads(served.catalogue.read_text(encoding="utf-8"))
    # Every bank the register names is either queried (it has an endpoint) or reported missing.
    named = [line for line in lines if re.match(r"  bank \d{9} ", line)]
    said = {
        int(m.group(1))
        for line in lines
        if (m := re.search(r"the register names (\d+) bank", line))
    }
    assert sum(said) == len(named) >= 3, done.stdout
    for line in named:
        org = line.split()[1]
        if org in catalogue["banks"]:
            assert "account(s) in" in line or "refused" in line, line
        else:
            assert "no DSOP Control endpoint in the catalogue" in line, line
    assert {line.split()[1] for line in named} >= set(catalogue["banks"]), done.stdout
    # Pagination followed: with pages of 10 transactions / 5 accounts some list spans pages.
    pages = [int(m.group(1)) for line in lines if (m := re.search(r"in (\d+) page", line))]
    assert max(pages) >= 2, done.stdout
    # The fault accounts' ACC codes are handled, not raised.
    assert "ACC-100 -> bank back end unavailable" in done.stdout
    assert "ACC-500 -> bank internal error" in done.stdout
    summary = lines[-1]
    assert summary.startswith("summary: ") and "errors ACC-100=1,ACC-500=1" in summary, summary
    counted = sum(
        int(m.group(1)) for line in lines if (m := re.search(r": (\d+) transaction", line))
    )
    assert f"transactions {counted}," in summary, summary


def test_the_flow_refuses_bad_input_with_a_line() -> None:
    done = run_example()
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "give --sandbox" in done.stderr
    missing = run_example("--catalogue", "/nonexistent/banks.json", "--token-url", "http://x/")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr, missing.stderr
