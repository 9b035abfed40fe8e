"""Hostile YAML in documents and manifests: an alias bomb, an alias cycle, deep nesting, binary.

Each is refused with the command's documented exit status and a one-line message naming the
file, quickly and without a traceback; nothing is generated.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from conformance.manifest import ManifestError, load_manifest
from kontrakt.cli import app


def bomb(levels: int = 10) -> str:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * 10) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


HOSTILE = {
    "alias-bomb": "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n" + bomb(),
    "alias-cycle": "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\nx: &x [*x]\n",
    "deep-nesting": "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\nx: "
    + "[" * 5000
    + "]" * 5000
    + "\n",
}
EXPECTED = {
    "alias-bomb": "alias bomb",
    "alias-cycle": "cycle",
    "deep-nesting": "not valid YAML",
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_lint_refuses_hostile_yaml_in_one_line(kind: str, tmp_path: Path) -> None:
    document = tmp_path / "openapi.yaml"
    document.write_text(HOSTILE[kind])
    result = CliRunner().invoke(app, ["lint", "--foreign", str(document)])
    assert result.exit_code == 1, result.output
    assert EXPECTED[kind] in result.output and str(document) in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_generate_refuses_hostile_yaml_and_writes_nothing(kind: str, tmp_path: Path) -> None:
    document = tmp_path / "openapi.yaml"
    document.write_text(HOSTILE[kind])
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["generate", str(document), "--out", str(out)])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


def test_diff_refuses_an_alias_bomb(tmp_path: Path) -> None:
    old = tmp_path / "old.yaml"
    old.write_text(HOSTILE["alias-bomb"])
    result = CliRunner().invoke(app, ["diff", str(old), str(old)])
    assert result.exit_code == 2
    assert "alias bomb" in result.output


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("profile: dps/v1\nbase_url: http://127.0.0.1:1\n" + bomb(), "alias bomb"),
        ("profile: dps/v1\nx: &x [*x]\n", "cycle"),
        (b"\xff\xfe\x00binary\x00", "not UTF-8"),
    ],
    ids=["alias-bomb", "alias-cycle", "binary"],
)
def test_a_hostile_manifest_is_a_manifest_error(
    content: str | bytes, expected: str, tmp_path: Path
) -> None:
    manifest = tmp_path / "provider.yaml"
    if isinstance(content, bytes):
        manifest.write_bytes(content)
    else:
        manifest.write_text(content)
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest, env={})
    assert expected in "\n".join(caught.value.problems)
    result = CliRunner().invoke(app, ["certify", str(manifest)])
    assert result.exit_code == 2 and "Traceback" not in result.output
