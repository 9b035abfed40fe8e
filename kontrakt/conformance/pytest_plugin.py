"""`pytest --kontrakt provider.yaml`: the profile's rules as pytest items, one per rule.

Registered through the `pytest11` entry point. Without `--kontrakt` the plugin only declares its
options: it imports nothing of the harness and adds no items. With it, each rule becomes an item
that passes (pass, warn), fails (fail, error) or is skipped (not applicable, waived); the verdicts
are judged exactly as `kontrakt certify` judges them, and `--kontrakt-out DIR` also writes the
reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from kontrakt.conformance.registry import RuleFunction

__all__ = ["KontraktItem"]

_STATE = pytest.StashKey[dict[str, Any]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kontrakt", "kontrakt certify (provider conformance)")
    group.addoption("--kontrakt", metavar="MANIFEST", default=None, help="certify this provider")
    group.addoption("--kontrakt-rules", action="append", default=None, metavar="GLOB")
    group.addoption("--kontrakt-seed", type=int, default=0, metavar="N")
    group.addoption("--kontrakt-out", default=None, metavar="DIR", help="also write reports here")
    group.addoption(
        "--kontrakt-rule-module", default=None, metavar="MODULE", help="module with the RuleSet"
    )


class KontraktItem(pytest.Item):
    """One rule of the profile."""

    def __init__(self, *, rule: RuleFunction, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rule = rule
        self.add_marker(pytest.mark.kontrakt)

    def runtest(self) -> None:
        from kontrakt.conformance.runner import run_profile

        state = self.config.stash[_STATE]
        profile = state["profile"]
        single = type(profile)(
            spec=profile.spec, rules=(self.rule,), not_automated=(), rule_set=profile.rule_set
        )
        checked = state.get("preflight")
        if checked is not None and checked.status == "cannot-run":
            raise _RuleFailed(f"CANNOT RUN (preflight): {checked.diagnosis}")
        run = run_profile(
            single,
            state["manifest"],
            seed=state["seed"],
            progress=False,
            transport=state.get("transport"),
            preflight=checked is None,
        )
        if checked is None:
            state["preflight"] = run.preflight
            if run.cannot_run and run.preflight is not None:
                raise _RuleFailed(f"CANNOT RUN (preflight): {run.preflight.diagnosis}")
        outcome = run.results[0] if run.results else None
        if outcome is None:
            raise KeyboardInterrupt
        state["results"].append(outcome)
        if outcome.verdict in ("not-applicable", "waived"):
            pytest.skip(f"{outcome.verdict}: {outcome.message}")
        if outcome.verdict in ("fail", "error"):
            lines = [
                f"{outcome.verdict.upper()} {outcome.id} [{outcome.severity}]: {outcome.message}"
            ]
            lines += [f"  {e.curl}" for e in outcome.evidence]
            lines += outcome.notes
            raise _RuleFailed("\n".join(lines))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, _RuleFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path | str, int | None, str]:
        return self.path, None, f"kontrakt: {self.rule.id}"


class _RuleFailed(Exception):
    pass


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("kontrakt") is None:
        return
    config.addinivalue_line("markers", "kontrakt: a rule of a kontrakt certify profile")


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    manifest_path = config.getoption("kontrakt")
    if manifest_path is None:
        return
    from kontrakt.conformance.manifest import ManifestError, load_manifest
    from kontrakt.conformance.profile import load_profile

    try:
        manifest = load_manifest(Path(manifest_path))
    except ManifestError as exc:
        raise pytest.UsageError(str(exc)) from None
    profile = load_profile(
        manifest.profile,
        patterns=config.getoption("kontrakt_rules"),
        module=config.getoption("kontrakt_rule_module"),
    )
    config.stash[_STATE] = {
        "manifest": manifest,
        "profile": profile,
        "seed": config.getoption("kontrakt_seed"),
        "results": [],
    }
    for rule in profile.rules:
        items.append(KontraktItem.from_parent(session, name=rule.id, rule=rule))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    out = config.getoption("kontrakt_out", None)
    state = config.stash.get(_STATE, None)
    if state is None or out is None:
        return
    import datetime as dt

    from kontrakt.conformance.report import write_reports
    from kontrakt.conformance.runner import RunResult

    profile, manifest = state["profile"], state["manifest"]
    result = RunResult.begin(
        profile,
        manifest,
        seed=state["seed"],
        started_at=dt.datetime.now(dt.UTC),
        results=list(state["results"]),
        complete=len(state["results"]) == len(profile.rules),
    )
    result.finished_at = result.started_at
    # Reports only: pytest may deselect items (-k) and runs no preflight, so a certificate comes
    # from `kontrakt certify` alone.
    write_reports(result, Path(out))
