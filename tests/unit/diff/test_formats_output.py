"""Every `kontrakt diff --format`, parsed back: SARIF against the OASIS schema, HTML with
html.parser (structure, escaping, nothing external), workflow commands by regex (GitHub's
escaping), YAML equal to JSON, single lines; byte-identical on a second run; `--as-of`.

The pair has a change of each verdict (an operation removed, so the old side is cited; a
response enum value added; a request enum value added) and puts `%`, `:`, `,`, a newline and
markup in an enum value and in the file's folder name, so escaping is exercised.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from kontrakt.cli import app
from kontrakt.diff import FORMATS, Change, DiffResult, Verdict, render
from kontrakt.diff.report import _gh_data, _gh_property
from kontrakt.specfile import read_spec
from tests.conftest import REPO
from tests.unit.diff.helpers import base

NASTY = "50% off: a,b <script>alert('x')</script> & \"q\"\nline two"
SARIF_SCHEMA = json.loads(
    (REPO / "tests" / "unit" / "ci" / "schema" / "sarif-schema-2.1.0.json").read_text()
)


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["diff", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "a,b:c%d"
    folder.mkdir()
    old, new = base(), base()
    new["paths"]["/items/{id}"].pop("put")
    new["components"]["schemas"]["Item"]["properties"]["status"]["enum"].append(NASTY)
    new["paths"]["/items/{id}"]["get"]["parameters"][2]["schema"]["enum"].append("c")
    (folder / "old.yaml").write_text(yaml.safe_dump(old, sort_keys=False), encoding="utf-8")
    (folder / "new.yaml").write_text(yaml.safe_dump(new, sort_keys=False), encoding="utf-8")
    return folder / "old.yaml", folder / "new.yaml"


def report(pair: tuple[Path, Path], fmt: str) -> str:
    code, out, err = run(str(pair[0]), str(pair[1]), "--format", fmt)
    assert code == 1, err  # the removed operation fails the check
    return out.removesuffix("\n")


def test_help_lists_every_format() -> None:
    result = CliRunner().invoke(app, ["diff", "--help"], env={"COLUMNS": "200"})
    text = " ".join(result.stdout.replace("│", " ").split())
    assert f"{', '.join(FORMATS[:-1])} or {FORMATS[-1]}" in text
    assert {"githubactions", "html", "sarif", "yaml", "singleline"} <= set(FORMATS)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_is_deterministic_and_names_the_versioning_source(
    pair: tuple[Path, Path], fmt: str
) -> None:
    first = report(pair, fmt)
    assert first == report(pair, fmt)
    assert "servers URL /v1" in first


def test_json_and_yaml_say_the_same(pair: tuple[Path, Path]) -> None:
    as_json = json.loads(report(pair, "json"))
    assert yaml.safe_load(report(pair, "yaml")) == as_json
    assert as_json["summary"] == {"breaking": 1, "warn": 1, "allowed": 1}
    assert as_json["versioning_source"] == "servers URL /v1"
    assert as_json["info_version_major_ignored"] is None


GH_LINE = re.compile(r"^::(error|warning|notice)(?: ([a-z]+=[^,:]*(?:,[a-z]+=[^,:]*)*))?::(.*)$")


def _gh(line: str) -> tuple[str, dict[str, str], str]:
    match = GH_LINE.match(line)
    assert match, line
    props = dict(p.split("=", 1) for p in match.group(2).split(",")) if match.group(2) else {}
    return match.group(1), props, match.group(3)


def _gh_unescape(text: str) -> str:
    for raw, escaped in (("\r", "%0D"), ("\n", "%0A"), (":", "%3A"), (",", "%2C"), ("%", "%25")):
        text = text.replace(escaped, raw)
    return text


def test_githubactions_one_annotation_per_change_at_its_file_and_line(
    pair: tuple[Path, Path],
) -> None:
    new = pair[1]
    lines = report(pair, "githubactions").split("\n")
    assert len(lines) == 4  # the summary notice, then one per change
    head, *changes = [_gh(line) for line in lines]
    assert head[0] == "notice" and "file" not in head[1]
    assert "1 breaking" in head[2] and "versioning source: servers URL /v1" in head[2]
    by_level = {level: (props, message) for level, props, message in changes}
    assert set(by_level) == {"error", "warning", "notice"}

    # A removal sits where it was in the new document (its parent, the path item): that is the
    # file a pull request changes; only a change without a new side is placed in the old one.
    props, message = by_level["error"]
    assert _gh_unescape(props["file"]) == str(new)
    assert "%2C" in props["file"] and "%3A" in props["file"] and "%25" in props["file"]
    assert int(props["line"]) == read_spec(new).line("/paths/~1items~1{id}")
    assert _gh_unescape(props["title"]) == "GEN-OPERATION-REMOVED (breaking)"
    assert "PUT /items/{id}" in message and "\n" not in message

    props, message = by_level["warning"]  # the new enum value sits in the new document
    assert _gh_unescape(props["file"]) == str(new)
    pointer = "/components/schemas/Item/properties/status/enum"
    enum_line = read_spec(new).line(pointer)
    assert enum_line is not None and 0 <= int(props["line"]) - enum_line <= 4
    assert "50%25 off" in message and "%0Aline two" in message and "%0A" in message
    assert NASTY.replace("\n", "") not in message  # the newline did not survive raw


def test_github_escaping_rules() -> None:
    assert _gh_data("100%\r\n: ,") == "100%25%0D%0A: ,"
    assert _gh_property("a:b,c%d\ne") == "a%3Ab%2Cc%25d%0Ae"


def test_githubactions_levels_follow_fail_on_and_major_versions(pair: tuple[Path, Path]) -> None:
    code, out, _ = run(*map(str, pair), "--format", "githubactions", "--fail-on", "never")
    assert code == 0 and "::error" not in out and out.count("::warning") == 1
    code, out, _ = run(*map(str, pair), "--format", "githubactions", "--fail-on", "warn")
    assert code == 1 and out.count("::error") == 2


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.text: list[str] = []
        self.headings: list[str] = []
        self.cells: list[str] = []
        self.rows: dict[str, list[str]] = {}
        self._row: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in ("meta", "br"):
            self.stack.append(tag)
        if tag == "tr":
            self._row = dict(attrs).get("id")
            if self._row:
                self.rows[self._row] = []

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, (tag, self.stack)
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.stack and self.stack[-1] == "h2":
            self.headings.append(data)
        if self._row and "td" in self.stack:
            self.rows[self._row].append(data)


def test_html_is_one_escaped_self_contained_page(pair: tuple[Path, Path]) -> None:
    page_text = report(pair, "html")
    assert page_text.startswith("<!DOCTYPE html>")
    page = _Page()
    page.feed(page_text.removeprefix("<!DOCTYPE html>"))
    page.close()
    assert page.stack == []  # every element closed, in order
    names = [tag for tag, _ in page.tags]
    assert "script" not in names and "link" not in names and "img" not in names
    assert not [a for _, a in page.tags if "src" in a or "href" in a]  # nothing external
    assert [h.split(" ")[0] for h in page.headings] == ["Breaking", "Warnings", "Allowed"]
    text = "".join(page.text)
    assert NASTY in text  # the markup arrived as text, quotes and all
    assert "Versioning source: servers URL /v1." in text
    assert "<script>" not in page_text and "&lt;script&gt;" in page_text
    summary = json.loads(report(pair, "json"))
    assert set(page.rows) == {c["id"] for c in summary["changes"]}
    removed = next(c for c in summary["changes"] if c["rule"] == "GEN-OPERATION-REMOVED")
    cells = page.rows[removed["id"]]
    assert "GEN-OPERATION-REMOVED" in cells
    assert summary["rule_table"]["GEN-OPERATION-REMOVED"]["cites"] in cells
    assert summary["rule_table"]["GEN-OPERATION-REMOVED"]["oasdiff"] in cells


def test_singleline(pair: tuple[Path, Path]) -> None:
    head, *lines = report(pair, "singleline").split("\n")
    assert "1 breaking, 1 warning(s), 1 allowed" in head and head.endswith("fails")
    assert [line.split(" ")[0] for line in lines] == ["breaking", "warn", "allowed"]
    assert lines[0].startswith("breaking [GEN-OPERATION-REMOVED] PUT /items/{id}")
    assert all(line.endswith(")") for line in lines)


def _sarif(text: str) -> dict[str, Any]:
    log: dict[str, Any] = json.loads(text)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    return log


def test_sarif_is_valid_and_places_a_removal_where_it_was(pair: tuple[Path, Path]) -> None:
    run_ = _sarif(report(pair, "sarif"))["runs"][0]
    assert run_["properties"]["versioningSource"] == "servers URL /v1"
    results = {r["ruleId"]: r for r in run_["results"]}
    removed = results["GEN-OPERATION-REMOVED"]
    assert removed["level"] == "error"
    place = removed["locations"][0]["physicalLocation"]
    assert place["artifactLocation"]["uri"].endswith("new.yaml")
    assert place["region"]["startLine"] == read_spec(pair[1]).line("/paths/~1items~1{id}")
    assert removed["properties"]["oldPointer"] == "/paths/~1items~1{id}/put"
    levels = sorted(r["level"] for r in run_["results"])
    assert levels == ["error", "note", "warning"]


def test_a_change_without_a_new_side_is_placed_in_the_old_document(
    pair: tuple[Path, Path],
) -> None:
    old, new = pair
    gone = Change(
        "x-removed:catalogue",
        "x-removed",
        Verdict.BREAKING,
        "GEN-OPERATION-REMOVED",
        "/paths/~1items~1{id}/put",
        None,
        "catalogue: removed",
    )
    result = DiffResult(str(old), str(new), "generic", [gone], versioning="servers URL /v1")
    line = read_spec(old).line("/paths/~1items~1{id}/put")
    level, props, _ = _gh(render(result, "githubactions").split("\n")[1])
    assert level == "error" and _gh_unescape(props["file"]) == str(old)
    assert int(props["line"]) == line
    place = _sarif(render(result, "sarif"))["runs"][0]["results"][0]["locations"][0]
    assert place["physicalLocation"]["artifactLocation"]["uri"].endswith("old.yaml")
    assert place["physicalLocation"]["region"]["startLine"] == line


def test_as_of_judges_sunset_dates(tmp_path: Path) -> None:
    old, new = base(), base()
    old["paths"]["/items/{id}"]["put"].update({"deprecated": True, "x-sunset": "2030-01-01"})
    new["paths"]["/items/{id}"].pop("put")
    (tmp_path / "old.yaml").write_text(yaml.safe_dump(old), encoding="utf-8")
    (tmp_path / "new.yaml").write_text(yaml.safe_dump(new), encoding="utf-8")
    sides = [str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml")]
    assert run(*sides, "--as-of", "2029-12-31")[0] == 1  # removed before its sunset
    assert run(*sides, "--as-of", "2030-01-02")[0] == 0
    pinned = {"KONTRAKT_DIFF_TODAY": "2031-01-01"}
    assert run(*sides, env=pinned)[0] == 0  # the variable still pins today
    assert run(*sides, "--as-of", "2029-01-01", env=pinned)[0] == 1  # the option wins


@pytest.mark.parametrize("value", ["2030-13-01", "tomorrow", ""])
def test_a_bad_date_is_one_line_and_exit_2(tmp_path: Path, value: str) -> None:
    code, out, err = run("old.yaml", "new.yaml", "--as-of", value)
    assert code == 2 and out == ""
    assert err == f"kontrakt diff: --as-of must be a date as YYYY-MM-DD, not {value!r}\n"


def test_a_bad_pinned_today_is_one_line_and_exit_2(pair: tuple[Path, Path]) -> None:
    code, _, err = run(*map(str, pair), env={"KONTRAKT_DIFF_TODAY": "05.12.2026"})
    assert code == 2
    assert (
        err == "kontrakt diff: KONTRAKT_DIFF_TODAY must be a date as YYYY-MM-DD, not '05.12.2026'\n"
    )
