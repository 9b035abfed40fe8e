"""action.yml and the CI examples are what GitHub and GitLab accept: checked against the schemas
of GitHub actions, GitHub workflows and GitLab CI that check-jsonschema carries (offline)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

CHECKER = Path(sys.executable).parent / "check-jsonschema"
FILES = {
    "action.yml": "vendor.github-actions",
    "docs/ci/github-certify-matrix.yml": "vendor.github-workflows",
    "docs/ci/gitlab-certify.yml": "vendor.gitlab-ci",
}


@pytest.mark.parametrize("path", FILES)
def test_the_file_is_valid_for_its_ci(path: str) -> None:
    done = subprocess.run(
        [str(CHECKER), "--builtin-schema", FILES[path], str(REPO / path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_checker_rejects_a_broken_action(tmp_path: Path) -> None:
    # The check is live: an action whose step has neither `run` nor `uses` is refused.
    broken = tmp_path / "action.yml"
    broken.write_text(
        "name: x\ndescription: x\nruns:\n  using: composite\n  steps:\n    - name: nothing\n"
    )
    done = subprocess.run(
        [str(CHECKER), "--builtin-schema", "vendor.github-actions", str(broken)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stdout
