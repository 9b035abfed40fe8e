"""Which version decides whether a breaking change is allowed, and every report naming it.

Where the servers URL or a `/vN` prefix of every path carries a major version (DSOP `/v2`, DAN
`/v1`), that URL version decides: a breaking change under the same URL major fails however far
info.version moved, and the report says info.version's step was not counted. Where neither does,
info.version counts (under the generic rules).
"""

from __future__ import annotations

import html
from typing import Any

import pytest

from kontrakt.diff import FORMATS, diff_documents, render
from kontrakt.diff.load import load_document
from tests.conftest import REPO
from tests.unit.diff.helpers import base, diff

BREAK = "PUT /items/{id}"


def broken(info: str = "2.0.0", server: str | None = "https://api.example.no/v1") -> dict[str, Any]:
    """`base()` with an operation removed (breaking), info.version set and the server replaced."""
    doc = base()
    doc["info"]["version"] = info
    doc["paths"]["/items/{id}"].pop("put")
    if server is None:
        doc.pop("servers")
    else:
        doc["servers"] = [{"url": server}]
    return doc


def unversioned(doc: dict[str, Any]) -> dict[str, Any]:
    doc.pop("servers", None)
    return doc


def versioned_paths(doc: dict[str, Any]) -> dict[str, Any]:
    doc.pop("servers", None)
    doc["paths"] = {"/v1" + path: item for path, item in doc["paths"].items()}
    return doc


def test_a_major_info_bump_under_the_same_url_major_fails() -> None:
    result = diff(base(), broken("2.0.0"))
    assert result.major is None and result.fails("breaking")
    assert result.versioning == "servers URL /v1"
    assert result.info_major_moved == "1.0.0 -> 2.0.0"
    assert any("URL version decides" in note for note in result.notes)
    assert not any(c.sanctioned for c in result.changes)


def test_the_same_under_a_version_prefix_of_every_path() -> None:
    result = diff(versioned_paths(base()), versioned_paths(broken("3.1.0", None)))
    assert result.major is None and result.fails("breaking")
    assert result.versioning == "paths /v1"
    assert result.info_major_moved == "1.0.0 -> 3.1.0"


def test_a_new_url_major_excuses_whatever_info_version_says() -> None:
    result = diff(base(), broken("1.0.1", "https://api.example.no/v2"))
    assert result.major is not None and result.major.source == "servers"
    assert not result.fails("breaking")
    assert result.versioning == "servers URL /v1 -> /v2"
    assert result.info_major_moved == "" and result.notes == []
    removed = [c for c in result.changes if c.operation == BREAK or BREAK in c.message]
    assert removed and all(c.sanctioned for c in removed)


def test_without_a_url_version_info_version_counts() -> None:
    result = diff(unversioned(base()), broken("2.0.0", None))
    assert result.major is not None and result.major.source == "info.version"
    assert result.versioning == "info.version 1.0.0 -> 2.0.0"
    assert not result.fails("breaking")
    same = diff(unversioned(base()), broken("1.9.0", None))
    assert same.major is None and same.fails("breaking")
    assert same.versioning == "info.version 1.9.0"


@pytest.mark.parametrize("rules", ["dan", "sdir"])
def test_url_only_rule_sets_never_count_info_version(rules: str) -> None:
    result = diff(unversioned(base()), broken("2.0.0", None), rules)
    assert result.major is None and result.fails("breaking")
    assert result.versioning.startswith(f"none ({rules} versions in the URL")
    assert any("versions in the URL only" in note for note in result.notes)
    under_url = diff(base(), broken("2.0.0"), rules)
    assert under_url.versioning == "servers URL /v1" and under_url.fails("breaking")


def test_no_version_anywhere() -> None:
    old, new = unversioned(base()), unversioned(base())
    old["info"].pop("version"), new["info"].pop("version")
    assert diff(old, new).versioning.startswith("none (no version in the servers URL")


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_names_the_source_and_the_ignored_bump(fmt: str) -> None:
    text = render(diff(base(), broken("2.0.0")), fmt)
    if fmt in ("html", "junit"):
        text = html.unescape(text)  # ``->`` is ``-&gt;`` in markup
    assert "servers URL /v1" in text
    assert "1.0.0 -> 2.0.0" in text
    assert "URL version decides" in text


def test_the_publishers_documents() -> None:
    spec = REPO / "specs"
    dsop = diff_documents(
        load_document(str(spec / "dsop-control" / "v1.1.1" / "openapi.yaml")),
        load_document(str(spec / "dsop-control" / "v2.0" / "openapi.yaml")),
    )
    assert dsop.versioning == "servers URL /v1 -> /v2"
    dan = load_document(str(spec / "dan" / "v1" / "openapi.yaml"))
    assert diff_documents(dan, dan, "dan").versioning == "servers URL /v1"
