"""report.html and matrix.html in a real browser (headless Chromium driven by Playwright).

Real reports of the levels profile (failures, assumption warnings, both levels) from providers on
127.0.0.1. Each page loads with no console error, shows the counts report.json holds, its failure
links land on their rule opened, the filter hides and shows rows, the page reads without script,
and a screenshot is kept in the test's tmp folder. Debian's `chromium` is the browser
(Playwright's own download is not used); without it the tests skip with the install hint, except
under CI (the `CI` variable set), where they fail: CI must not pass without having looked.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kontrakt.cli import app
from tests.e2e._reports import BROKEN, certify
from tests.e2e._support import serve
from tests.e2e.levels_profile import Behaviour, levels_app

HINT = (
    "headless Chromium is needed: apt-get install -y chromium (Debian/Ubuntu) and "
    "pip install -e '.[dev]' (Playwright); or set KONTRAKT_CHROMIUM=/path/to/chromium"
)


def _chromium() -> str | None:
    given = os.environ.get("KONTRAKT_CHROMIUM")
    if given:
        return given if Path(given).is_file() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip): {HINT}")
    pytest.skip(f"{reason}: {HINT}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed")
    executable = _chromium()
    if executable is None:
        _unavailable("no chromium executable")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("browser-reports")
    with serve(levels_app(Behaviour(**BROKEN))) as broken, serve(levels_app(Behaviour())) as fine:  # type: ignore[arg-type]
        return {
            "broken": certify(root / "broken-bank", broken),
            "fixed": certify(root / "fixed-bank", fine),
        }


class _Page:
    """A page with its console errors and uncaught exceptions collected."""

    def __init__(self, browser: Any, url: str, *, script: bool = True) -> None:
        self.context = browser.new_context(java_script_enabled=script)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url)

    def close(self) -> None:
        self.context.close()


def _in_view(page: Any, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    height = page.viewport_size["height"]
    return box is not None and box["y"] < height and box["y"] + box["height"] > 0


def test_report_page_counts_links_filters_and_screenshot(
    browser: Any, reports: dict[str, Path], tmp_path: Path
) -> None:
    report = reports["broken"]
    data = json.loads(report.read_text())
    shown = _Page(browser, report.with_name("report.html").as_uri())
    page = shown.page
    try:
        assert page.locator("#verdict").get_attribute("data-verdict") == data["verdict"]
        for level, found in data["levels"].items():
            for verdict, count in found["counts"].items():
                cell = page.locator(f'[data-count="{level}:{verdict}"]')
                assert cell.inner_text() == str(count), (level, verdict)
        failing = [r["id"] for r in data["rules"] if r["verdict"] in ("fail", "error")]
        assert failing, "the broken provider must fail something"
        links = page.locator("#failure-links a")
        assert links.count() == len(failing)
        for index in range(links.count()):
            link = links.nth(index)
            rule_id = link.inner_text()
            link.click()
            assert page.evaluate("location.hash") == f"#rule-{rule_id}"
            target = f"#rule-{rule_id}"
            assert page.locator(target).evaluate("d => d.open") is True
            assert page.locator(target).is_visible() and _in_view(page, target)
        # An assumption warning links to a rule among the collapsed ones: it opens on arrival.
        warned = page.locator("#assumption-warnings a").first
        warned_id = warned.inner_text()
        assert page.locator(f"#rule-{warned_id}").evaluate("d => d.open") is False
        warned.click()
        assert page.locator(f"#rule-{warned_id}").evaluate("d => d.open") is True
        assert _in_view(page, f"#rule-{warned_id}")
        # The filter: no fail rows without "fail", back with it; severity likewise.
        rows = page.locator("details.rule")
        assert rows.count() == len(data["rules"])
        fail_box = page.locator('#filters input[name="verdict"][value="fail"]')
        fail_box.uncheck()
        assert all(not page.locator(f"#rule-{r}").is_visible() for r in failing)
        assert page.locator(f"#rule-{warned_id}").is_visible()
        assert f"{len(data['rules']) - data['counts']['fail']} of" in page.inner_text("#shown")
        fail_box.check()
        assert all(page.locator(f"#rule-{r}").is_visible() for r in failing)
        page.locator('#filters input[name="severity"][value="MUST"]').uncheck()
        assert page.locator("details.rule:visible").count() == sum(
            1 for r in data["rules"] if r["severity"] != "MUST"
        )
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        assert (tmp_path / "report.png").stat().st_size > 10_000
        assert shown.errors == []
    finally:
        shown.close()


def test_report_page_reads_fully_without_script(browser: Any, reports: dict[str, Path]) -> None:
    report = reports["broken"]
    data = json.loads(report.read_text())
    shown = _Page(browser, report.with_name("report.html").as_uri(), script=False)
    page = shown.page
    try:
        assert not page.locator("#filters").is_visible()  # no dead controls without script
        assert page.locator("details.rule").count() == len(data["rules"])
        for rule in data["rules"]:
            opened = page.locator(f"#rule-{rule['id']}").evaluate("d => d.open")
            assert opened is (rule["verdict"] in ("fail", "error")), rule["id"]
        assert "export KONTRAKT_TOKEN=..." in page.inner_text("#exports")
    finally:
        shown.close()


def test_matrix_page_totals_links_filters_and_screenshot(
    browser: Any, reports: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "matrix.html"
    done = CliRunner().invoke(
        app, ["matrix", str(reports["broken"]), str(reports["fixed"]), "-o", str(out)]
    )
    assert done.exit_code == 0, done.output
    shown = _Page(browser, out.as_uri())
    page = shown.page
    try:
        for name, report in (("broken-bank", reports["broken"]), ("fixed-bank", reports["fixed"])):
            counts = json.loads(report.read_text())["counts"]
            row = page.locator(f'#providers tr[data-provider="{name}"]')
            for verdict in ("pass", "fail", "warn", "not-applicable", "waived", "error"):
                cell = row.locator(f'[data-count="{verdict}"]')
                assert cell.inner_text() == str(counts[verdict]), (name, verdict)
        broken = json.loads(reports["broken"].read_text())
        assert page.locator("#matrix tr[data-verdicts]").count() == len(broken["rules"])
        # Only rows with a failing cell stay when only "fail" is ticked.
        for box in page.locator('#filters input[name="verdict"]').all():
            if box.get_attribute("value") != "fail":
                box.uncheck()
        visible = page.locator("#matrix tr[data-verdicts]:visible")
        failing = sorted(r["id"] for r in broken["rules"] if r["verdict"] == "fail")
        assert (
            sorted(
                (visible.nth(i).get_attribute("id") or "").removeprefix("row-")
                for i in range(visible.count())
            )
            == failing
        )
        page.screenshot(path=str(tmp_path / "matrix.png"), full_page=True)
        assert (tmp_path / "matrix.png").stat().st_size > 5_000
        # A failing cell leads to the rule in that provider's report, opened.
        page.locator("#row-LVL-ROLE td.fail a").click()
        page.wait_for_load_state()
        assert page.url.endswith("broken-bank/report.html#rule-LVL-ROLE")
        assert page.locator("#rule-LVL-ROLE").evaluate("d => d.open") is True
        assert shown.errors == []
    finally:
        shown.close()
