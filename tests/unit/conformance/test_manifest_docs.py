"""`kontrakt init` and `kontrakt manifest-schema --profile` for every shipped profile.

A stranger's starting manifest must load once its secrets are in the environment, name every
credential role and fixture the profile declares (with the rules that need it), and the profile's
manifest schema must be a valid JSON Schema that describes the same declarations.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from kontrakt.cli import app
from kontrakt.conformance.manifest import load_manifest
from kontrakt.conformance.profile import discover_rule_sets, load_profile

PROFILES = sorted(r.profile for r in discover_rule_sets())
ENV = {
    "PROVIDER_CLIENT_SECRET": "x",
    "PROVIDER_API_KEY": "x",
    "PROVIDER_TOKEN": "x",
}


@pytest.mark.parametrize("profile", PROFILES)
def test_init_writes_a_manifest_that_loads_and_names_every_declaration(
    profile: str, tmp_path: Path
) -> None:
    out = tmp_path / "provider.yaml"
    result = CliRunner().invoke(app, ["init", profile, "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    env = dict(ENV)
    for role in load_profile(profile).rule_set.roles.values():
        env[f"PROVIDER_{role.name.upper()}_SECRET"] = "x"
    manifest = load_manifest(out, env=env)
    assert manifest.profile == profile
    rule_set = load_profile(profile).rule_set
    for name, fixture in rule_set.fixtures.items():
        assert f"{name} (" in text, name
        assert fixture.rules[0] in text
        if fixture.required:
            assert name in manifest.fixtures
    for name in rule_set.roles:
        assert f"# {name} (" in text, name
    again = CliRunner().invoke(app, ["init", profile, "-o", str(out)])
    assert again.exit_code == 2 and "exists" in again.output


@pytest.mark.parametrize("profile", PROFILES)
def test_manifest_schema_for_a_profile_describes_its_declarations(profile: str) -> None:
    result = CliRunner().invoke(app, ["manifest-schema", "--profile", profile])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.output)
    jsonschema.Draft202012Validator.check_schema(schema)
    rule_set = load_profile(profile).rule_set
    fixtures = schema["properties"]["fixtures"]["properties"]
    assert set(fixtures) == set(rule_set.fixtures)
    for name, entry in fixtures.items():
        assert entry["x-kontrakt-rules"] == list(rule_set.fixtures[name].rules)
        assert entry["description"]
    assert set(schema["properties"]["credentials"]["properties"]) == set(rule_set.roles)
    assert schema["properties"]["profile"] == {
        "const": profile,
        "description": schema["properties"]["profile"]["description"],
    }


def test_unknown_profile_is_a_one_line_error() -> None:
    result = CliRunner().invoke(app, ["init", "nope/v9"])
    assert result.exit_code == 2
    assert "nope/v9" in result.output and "Traceback" not in result.output


def test_init_to_stdout_is_yaml() -> None:
    result = CliRunner().invoke(app, ["init", PROFILES[0]])
    assert result.exit_code == 0
    assert yaml.safe_load(result.output)["profile"] == PROFILES[0]
