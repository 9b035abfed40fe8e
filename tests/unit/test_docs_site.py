"""The documentation site's generated reference covers everything the code declares.

A rule, fixture, credential role, capability, manifest key or diff rule added later appears in
the site without an edit to the docs, or one of these tests fails. They call the generator
directly (no MkDocs build: `make docs` does that).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from kontrakt.conformance.manifest import manifest_schema
from kontrakt.conformance.manifest_docs import capabilities_of
from kontrakt.conformance.profile import Profile, load_profile
from kontrakt.docs_gen import (
    MANIFEST_DIR,
    RULES_DIR,
    expand_nav,
    fill_snippets,
    generate_pages,
    profile_ids,
    proof_page,
    read_proof_table,
    slug,
    snippets,
)

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
# The profiles the README promises; more may come, none may go missing.
PROMISED = {
    "dsop-control/v2.0",
    "dps/v1",
    "dan/v1",
    "sdir-additional-competence/v1",
    "sdir-additional-competence/v2",
}


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return generate_pages(DOCS)


@pytest.fixture(scope="module")
def profiles() -> list[Profile]:
    return [load_profile(p) for p in profile_ids()]


def test_every_promised_profile_has_a_rule_page_and_a_manifest_page(
    pages: dict[str, str],
) -> None:
    assert set(profile_ids()) >= PROMISED
    for profile_id in profile_ids():
        assert f"{RULES_DIR}/{slug(profile_id)}.md" in pages
        assert f"{MANIFEST_DIR}/{slug(profile_id)}.md" in pages
        assert (DOCS / proof_page(profile_id)).is_file(), proof_page(profile_id)


def test_the_rule_catalogue_has_every_rule_of_every_profile(
    pages: dict[str, str], profiles: list[Profile]
) -> None:
    for profile in profiles:
        page = pages[f"{RULES_DIR}/{slug(profile.id)}.md"]
        headings = re.findall(r"^## (\S+)$", page, flags=re.MULTILINE)
        rule_headings = [h for h in headings if h not in ("Assumptions", "Sources")]
        assert rule_headings == list(profile.catalogue), profile.id
        for rule_id, info in profile.catalogue.items():
            section = page.split(f"\n## {rule_id}\n", 1)[1].split("\n## ", 1)[0]
            assert f"**Severity:** {info.severity}" in section, rule_id
            assert f"**Basis:** {info.basis}" in re.sub(r"\[([^]]+)\]\([^)]+\)", r"\1", section)
            if info.assumption_id:
                assert info.assumption_id in section, rule_id
            if info.source.get("section"):
                assert "**Clause:**" in section, rule_id


def test_every_automated_rule_shows_the_variants_that_prove_it(
    pages: dict[str, str], profiles: list[Profile]
) -> None:
    for profile in profiles:
        proofs = read_proof_table(DOCS / proof_page(profile.id))
        page = pages[f"{RULES_DIR}/{slug(profile.id)}.md"]
        for rule_id in profile.rule_set.functions:
            assert rule_id in proofs.rows, f"{rule_id} has no row in {proofs.page}"
            section = page.split(f"\n## {rule_id}\n", 1)[1].split("\n## ", 1)[0]
            for _, cell in proofs.cells(rule_id, "known-bad", "fails against", "known-good"):
                assert cell in section, rule_id


def test_the_manifest_pages_name_every_fixture_role_and_capability(
    pages: dict[str, str], profiles: list[Profile]
) -> None:
    for profile in profiles:
        page = pages[f"{MANIFEST_DIR}/{slug(profile.id)}.md"]
        rule_set = profile.rule_set
        for name in [*rule_set.fixtures, *rule_set.roles, *capabilities_of(profile)]:
            rows = [line for line in page.splitlines() if line.startswith(f"| `{name}` |")]
            assert rows, f"{profile.id}: {name} missing"
        for spec in [*rule_set.fixtures.values(), *rule_set.roles.values()]:
            row = next(line for line in page.splitlines() if line.startswith(f"| `{spec.name}` |"))
            for rule_id in spec.rules:
                assert rule_id in row or rule_id == "PREFLIGHT", f"{spec.name}: {rule_id}"


def _is_credential(definition: Mapping[str, Any]) -> bool:
    return "const" in (definition.get("properties", {}).get("type") or {})


def _schema_paths(
    schema: Mapping[str, Any], defs: Mapping[str, Any], prefix: str = ""
) -> Iterator[str]:
    """Every property path of the schema, read independently of the generator."""
    for name, prop in (schema.get("properties") or {}).items():
        yield f"{prefix}{name}"
        options = [prop, prop.get("items") or {}, *(prop.get("anyOf") or ())]
        for option in options:
            ref = option.get("$ref")
            if ref and not _is_credential(defs[ref.rsplit("/", 1)[-1]]):
                array = "[]" if option is prop.get("items") else ""
                target = defs[ref.rsplit("/", 1)[-1]]
                yield from _schema_paths(target, defs, f"{prefix}{name}{array}.")


def test_the_manifest_reference_has_every_key_with_a_description(pages: dict[str, str]) -> None:
    schema = manifest_schema()
    defs = schema["$defs"]
    page = pages[f"{MANIFEST_DIR}/index.md"]
    rows = {
        line.split("|")[1].strip(): line for line in page.splitlines() if line.startswith("| `")
    }
    expected = list(_schema_paths(schema, defs))
    kinds = [name for name, definition in defs.items() if _is_credential(definition)]
    assert kinds
    for name in kinds:
        assert f"### {name}" in page
        section = page.split(f"### {name}\n", 1)[1].split("\n#", 1)[0]
        for path in _schema_paths(defs[name], defs):
            row = next((ln for ln in section.splitlines() if ln.startswith(f"| `{path}` |")), "")
            assert row, f"{name}.{path}"
            described = row.rstrip(" |").rsplit("|", 1)[1].strip()
            assert described and described != "-", f"{name}.{path} has no description"
    assert expected
    for path in expected:
        assert f"`{path}`" in rows, path
        described = rows[f"`{path}`"].rstrip(" |").rsplit("|", 1)[1].strip()
        assert described and described != "-", f"{path} has no description"


def test_the_diff_rules_page_has_every_rule_of_every_rule_set(pages: dict[str, str]) -> None:
    from kontrakt.diff.engine import all_rules

    page = pages["reference/diff-rules.md"]
    for rule_id, rule in all_rules().items():
        assert f"| `{rule_id}` | {rule.verdict.value} |" in page, rule_id


def test_the_pages_are_the_same_bytes_every_time(pages: dict[str, str]) -> None:
    assert generate_pages(DOCS) == pages


def test_the_nav_gets_one_page_per_profile() -> None:
    nav = [{"Reference": [{"Rules": f"{RULES_DIR}/index.md"}, {"Other": "other.md"}]}]
    expanded = expand_nav(nav, ["a/v1", "b/v2"])
    assert expanded == [
        {
            "Reference": [
                {
                    "Rules": [
                        f"{RULES_DIR}/index.md",
                        {"a/v1": f"{RULES_DIR}/a-v1.md"},
                        {"b/v2": f"{RULES_DIR}/b-v2.md"},
                    ]
                },
                {"Other": "other.md"},
            ]
        }
    ]


def test_every_marker_in_the_hand_written_pages_is_filled() -> None:
    pieces = snippets(ROOT, repository_url="https://github.com/kontrakt-dev/kontrakt")
    for path in sorted(DOCS.glob("*.md")):
        text = fill_snippets(path.read_text(encoding="utf-8"), pieces)
        assert "<!-- kontrakt:" not in text, path.name
    with pytest.raises(KeyError, match="no-such-piece"):
        fill_snippets("<!-- kontrakt:no-such-piece -->", pieces)
