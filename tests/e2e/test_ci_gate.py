"""The GitHub composite action (action.yml) run as a script against the sandbox.

The action's `run:` steps are executed with bash as a runner would (`bash --noprofile --norc -eo
pipefail`), their `${{ inputs.* }}` and `${{ steps.*.outputs.* }}` replaced by this test; the
`uses:` steps (setup-python, upload-artifact) and the pip install are skipped, the repository's
virtual environment being on PATH. GITHUB_OUTPUT (one file per step, as on a runner) and
GITHUB_STEP_SUMMARY point at temporary files.

The provider is the DSOP sandbox bank with two known-bad twins of tests/e2e/dsop_bad_variants.py
stacked: it answers 200 to non-GET methods (DSOP-ACC-405 fails, a published MUST) and serves
JSON whatever the Accept header (DSOP-ACC-406 deviates only from kontrakt's assumption: a
warning at the default level). The gate must fail with certify's status 1, name the verdict in
the summary with the failure before the warning, and annotate both.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from kontrakt.sandbox.launch import Sandbox
from kontrakt.selfcert import sandbox_environment
from tests.e2e import dsop_bad_variants as bad
from tests.unit.ci.test_sarif import valid as valid_sarif

REPO = Path(__file__).resolve().parents[2]
ACTION = REPO / "action.yml"
MANIFEST = "kontrakt/conformance/manifests/sandbox-dsop-control.yaml"
SPEC = "specs/dsop-control/v2.0/openapi.yaml"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def _variant(name: str) -> bad.Variant:
    return next(v for v in bad.VARIANTS if v.name == name)


def _stacked(context: Any) -> Any:
    """non-get-200 then any-accept, one request hook after the other."""
    first = _variant("non-get-200").request
    second = _variant("any-accept").request
    assert first is not None and second is not None
    hooks = (first(context), second(context))

    def hook(scope: Any) -> Any:
        for each in hooks:
            scope = each(scope)
            if isinstance(scope, bad.Reply):
                return scope
        return scope

    return hook


class BrokenBank(Sandbox):
    """The sandbox with its DSOP bank replaced by the stacked bad twins."""

    @classmethod
    def build(cls, names: Sequence[str], **kwargs: Any) -> Sandbox:
        sandbox = super().build(names, **kwargs)
        variant = bad.Variant("ci-gate", "405 and 406 broken", (), request=_stacked)
        sandbox.apps[bad.PROVIDER] = variant.app(sandbox.context)
        return sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with BrokenBank.start([bad.PROVIDER]) as started:
        yield started


def _evaluate(text: str, inputs: Mapping[str, str], outputs: Mapping[str, dict[str, str]]) -> str:
    def value(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression.startswith("inputs."):
            return inputs[expression.removeprefix("inputs.")]
        if expression.startswith("steps."):
            _, step, _, key = expression.split(".", 3)
            return outputs.get(step, {}).get(key, "")
        raise AssertionError(f"the test does not evaluate ${{{{ {expression} }}}}")

    return EXPRESSION.sub(value, text)


def _read_outputs(path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, text = line.partition("=")
        if sep:
            found[key] = text
    return found


def run_action(
    with_: Mapping[str, str], env: Mapping[str, str], workdir: Path, summary: Path
) -> tuple[int, str, dict[str, dict[str, str]]]:
    """Run the action's shell steps in order: the last step's status, all stdout (then all stderr
    after a line `--- stderr`), the step outputs."""
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    unknown = set(with_) - set(inputs)
    assert not unknown, f"not inputs of the action: {unknown}"
    inputs.update(with_)
    outputs: dict[str, dict[str, str]] = {}
    log: list[str] = []
    errors: list[str] = []
    status = 0
    venv = Path(sys.executable).parent
    for position, step in enumerate(action["runs"]["steps"]):
        if "uses" in step or step.get("id") == "install":
            continue
        # Every step after Certify runs `if: always()`; none is conditional otherwise.
        assert step.get("if") in (None, "always()"), step
        assert step["shell"] == "bash"
        output_file = workdir / f"github-output-{position}"
        output_file.touch()
        step_env = {
            **os.environ,
            **env,
            "PATH": f"{venv}{os.pathsep}{os.environ.get('PATH', '')}",
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_ACTIONS": "true",
            "CI": "true",
        }
        for name, text in (step.get("env") or {}).items():
            step_env[name] = _evaluate(str(text), inputs, outputs)
        script = workdir / f"step-{position}.sh"
        script.write_text(_evaluate(step["run"], inputs, outputs), encoding="utf-8")
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=REPO,
            env=step_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        log.append(done.stdout)
        errors.append(done.stderr)
        assert done.returncode == 0 or step is action["runs"]["steps"][-1], (
            f"step {step['name']!r} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
        status = done.returncode
        if "id" in step:
            outputs[step["id"]] = _read_outputs(output_file)
    return status, "".join(log) + "\n--- stderr\n" + "".join(errors), outputs


def test_the_gate_fails_summarises_and_annotates_a_broken_bank(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    summary = tmp_path / "summary.md"
    status, stdout, outputs = run_action(
        {
            "manifest": MANIFEST,
            "rules": "DSOP-ACC-405 DSOP-ACC-406",
            "out": str(out),
        },
        sandbox_environment(sandbox),
        tmp_path,
        summary,
    )
    # certify's exit status passes through the last step: 1, the profile failed.
    assert status == 1, stdout
    assert outputs["certify"]["exit-code"] == "1"
    assert outputs["summary"]["verdict"] == "failed"
    assert outputs["summary"]["count-fail"] == "1"
    assert outputs["summary"]["count-warn"] == "1"
    for name in ("report.json", "junit.xml", "report.html", "report.sarif"):
        assert (out / name).is_file(), name
    sarif = valid_sarif((out / "report.sarif").read_text(encoding="utf-8"))
    levels = {r["ruleId"]: r["level"] for r in sarif["runs"][0]["results"]}
    assert levels == {"DSOP-ACC-405": "error", "DSOP-ACC-406": "warning"}

    text = summary.read_text(encoding="utf-8")
    assert "## kontrakt certify `dsop-control/v2.0`: FAILED" in text
    assert "### Failures (1)" in text and "### Warnings (1)" in text
    assert text.index("DSOP-ACC-405") < text.index("DSOP-ACC-406")
    failure_row = next(line for line in text.splitlines() if "`DSOP-ACC-405`" in line)
    assert "| fail | MUST | published |" in failure_row

    # The annotations point at the rule's entry in the contract (the checkout's ./specs copy).
    lines = yaml.compose((REPO / SPEC).read_text(encoding="utf-8"))
    assert lines is not None
    rules = next(v for k, v in lines.value if k.value == "x-kontrakt-rules")
    line_of = {k.value: k.start_mark.line + 1 for k, _ in rules.value}
    printed = stdout.split("\n--- stderr\n")[0].splitlines()
    errors = [line for line in printed if line.startswith("::error ")]
    warnings = [line for line in printed if line.startswith("::warning ")]
    assert len(errors) == 1 and len(warnings) == 1, stdout
    assert errors[0].startswith(f"::error file={SPEC},line={line_of['DSOP-ACC-405']},")
    assert "::FAIL DSOP-ACC-405 [MUST, published]" in errors[0]
    assert warnings[0].startswith(f"::warning file={SPEC},line={line_of['DSOP-ACC-406']},")
    assert "A-DSOP-" in warnings[0]


def test_the_gate_reports_an_unusable_manifest(tmp_path: Path) -> None:
    broken = tmp_path / "provider.yaml"
    broken.write_text("profile: dsop-control/v2.0\nbase_url: 42\n", encoding="utf-8")
    summary = tmp_path / "summary.md"
    status, stdout, outputs = run_action(
        {"manifest": str(broken), "out": str(tmp_path / "reports")}, {}, tmp_path, summary
    )
    assert status == 2
    assert outputs["certify"]["exit-code"] == "2"
    assert "NO REPORT" in summary.read_text(encoding="utf-8")
    assert (
        "::error title=kontrakt certify::kontrakt certify wrote no report (exit status 2)" in stdout
    )


def test_the_gitlab_template_runs_the_same_gate(sandbox: Sandbox, tmp_path: Path) -> None:
    """docs/ci/gitlab-certify.yml's job script, run with POSIX sh (no bash needed in the image),
    at level strict."""
    template = yaml.safe_load((REPO / "docs" / "ci" / "gitlab-certify.yml").read_text())
    job = template[".kontrakt-certify"]
    assert template["certify"]["extends"] == ".kontrakt-certify"
    assert template["certify"]["parallel"]["matrix"], "the example lists providers"
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["reports"]["junit"] == "$KONTRAKT_OUT/junit.xml"
    out = tmp_path / "reports"
    variables = {
        **{k: str(v) for k, v in job["variables"].items()},
        "KONTRAKT_MANIFEST": MANIFEST,
        "KONTRAKT_RULES": "DSOP-ACC-405 DSOP-ACC-406",
        "KONTRAKT_OUT": str(out),
        # At strict, the check that differs only from kontrakt's assumption fails too.
        "KONTRAKT_LEVEL": "strict",
    }
    venv = Path(sys.executable).parent
    env = {
        **os.environ,
        **sandbox_environment(sandbox),
        **variables,
        "PATH": f"{venv}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    (script,) = job["script"]
    done = subprocess.run(
        ["sh", "-e", "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "## kontrakt certify `dsop-control/v2.0`: FAILED" in done.stdout
    junit = (out / "junit.xml").read_text(encoding="utf-8")
    assert junit.count("<failure ") == 2, junit
    assert 'name="DSOP-ACC-405 [MUST]"' in junit and 'name="DSOP-ACC-406 [MUST]"' in junit
    assert (out / "report.sarif").is_file() and (out / "summary.md").is_file()


def test_the_github_matrix_example_uses_the_action_inputs() -> None:
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    workflow = yaml.safe_load((REPO / "docs" / "ci" / "github-certify-matrix.yml").read_text())
    job = workflow["jobs"]["certify"]
    assert job["strategy"]["fail-fast"] is False and len(job["strategy"]["matrix"]["include"]) > 1
    (gate,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith("kontrakt-dev/")]
    assert set(gate["with"]) <= set(action["inputs"]), set(gate["with"]) - set(action["inputs"])
    (upload,) = [s for s in job["steps"] if "upload-sarif" in str(s.get("uses", ""))]
    assert upload["with"]["sarif_file"] == gate["with"]["out"] + "/report.sarif"
    assert workflow["permissions"]["security-events"] == "write"
