"""Hostile YAML in documents and manifests: an alias bomb, an alias cycle, deep nesting, binary.

Each is refused with the command's documented exit status and a one-line message naming the
file, quickly and without a traceback; nothing is generated.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kontrakt.cli import app
from kontrakt.conformance.manifest import ManifestError, load_manifest


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


REF_CYCLE = """openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /a:
    get:
      operationId: getA
      parameters:
        - $ref: '#/components/parameters/P'
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/S'}
components:
  parameters:
    P: {$ref: '#/components/parameters/Q'}
    Q: {$ref: '#/components/parameters/P'}
  schemas:
    S: {$ref: '#/components/schemas/S'}
"""


def test_reference_cycles_are_findings_not_tracebacks(tmp_path: Path) -> None:
    document = tmp_path / "openapi.yaml"
    document.write_text(REF_CYCLE)
    lint = CliRunner().invoke(app, ["lint", "--foreign", str(document)])
    assert lint.exit_code == 1 and "in a circle" in lint.output
    assert "Traceback" not in lint.output and "RecursionError" not in lint.output
    out = tmp_path / "out"
    generate = CliRunner().invoke(app, ["generate", str(document), "--out", str(out)])
    assert generate.exit_code == 1 and "RecursionError" not in generate.output


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "negative_auth: {signing_key: key.pem}\n",
            "negative_auth.signing_key: file key.pem is not a PEM",
        ),
        ("decryption_key: key.pem\n", "decryption_key: file key.pem is not a PEM"),
    ],
)
def test_a_key_that_is_not_pem_is_a_manifest_problem(
    extra: str, expected: str, tmp_path: Path
) -> None:
    (tmp_path / "key.pem").write_bytes(b"\x00\x01 not a key")
    manifest = tmp_path / "provider.yaml"
    manifest.write_text("profile: dps/v1\nbase_url: http://127.0.0.1:1\n" + extra)
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest, env={})
    assert any(expected in p for p in caught.value.problems)


def test_a_base_url_with_crlf_is_a_manifest_problem(tmp_path: Path) -> None:
    manifest = tmp_path / "provider.yaml"
    manifest.write_text('profile: dps/v1\nbase_url: "http://127.0.0.1:1/\\r\\nX-Evil: 1"\n')
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest, env={})
    assert any("control characters" in p for p in caught.value.problems)
    result = CliRunner().invoke(app, ["certify", str(manifest)])
    assert result.exit_code == 2 and "Traceback" not in result.output
