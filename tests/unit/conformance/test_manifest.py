"""The provider manifest: a good one loads; every problem is reported at once with its key path;
secrets come from the environment and never appear in an error message."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from kontrakt.cli import app
from kontrakt.conformance.manifest import (
    ApiKeyAuth,
    ClientCredentialsAuth,
    JwtBearerAuth,
    ManifestError,
    load_manifest,
    manifest_schema,
)

GOOD = """
profile: dsop-control/v2.0
base_url: http://127.0.0.1:8001/v2/
auth:
  - type: oauth2-client-credentials
    token_url: http://127.0.0.1:8000/token
    client_id: bank-test-client
    client_secret: ${BANK_SECRET}
    scope: bits:kontoinformasjon
  - type: api-key
    header: X-Gateway-Key
    value: ${GATEWAY_KEY:-fallback-key}
  - type: jwt-bearer
    token_url: http://127.0.0.1:8000/token
    client_id: mp-client
    key_file: keys/client.pem
    kid: k1
    scope: bits:kontoinformasjon
    resource: http://127.0.0.1:8001/v2
headers: {RequesterID: "${REQUESTER:-12345}"}
decryption_key: keys/client.pem
negative_auth:
  wrong_scope: {scope: bits:kundeforhold}
  signing_key: keys/client.pem
fixtures:
  party_with_accounts: "x"
  legal_mandates: {skatt: ["a", "b"]}
capabilities: [endpoint:listAccounts]
limits: {max_requests: 500, requests_per_second: 20, read_only: true}
waivers: [{rule: DSOP-ACC-429, reason: "no load in test", expires: 2099-06-30}]
environment: test
literal: $${NOT_A_VAR}
"""

TEST_KEY = (
    Path(__file__).resolve().parents[3]
    / "kontrakt"
    / "sandbox"
    / "fixtures"
    / "keys"
    / "client.pem"
)


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "keys").mkdir(exist_ok=True)
    # A real (test) private key: the loader checks that key files are PEM private keys.
    (tmp_path / "keys" / "client.pem").write_bytes(TEST_KEY.read_bytes())
    path = tmp_path / "provider.yaml"
    path.write_text(text)
    return path


def test_a_good_manifest_loads_with_substitution_and_resolved_paths(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("literal: $${NOT_A_VAR}\n", ""))
    manifest = load_manifest(path, env={"BANK_SECRET": "s3cr3t-value"})
    assert manifest.base_url == "http://127.0.0.1:8001/v2"
    cc, key, grant = manifest.auth
    assert isinstance(cc, ClientCredentialsAuth) and isinstance(key, ApiKeyAuth)
    assert cc.client_secret.get_secret_value() == "s3cr3t-value"
    assert key.value.get_secret_value() == "fallback-key"
    assert isinstance(grant, JwtBearerAuth) and grant.key_file == tmp_path / "keys" / "client.pem"
    assert manifest.headers == {"RequesterID": "12345"}
    assert manifest.negative_auth.signing_key == tmp_path / "keys" / "client.pem"
    assert str(manifest.waivers[0].expires) == "2099-06-30"
    assert "s3cr3t-value" not in repr(manifest)
    assert set(manifest.secrets()) == {"s3cr3t-value", "fallback-key"}


def test_every_problem_is_reported_with_its_key_path_and_no_secret(tmp_path: Path) -> None:
    text = """
profile: dsop-control/v2.0
base_url: not-a-url
auth:
  type: oauth2-client-credentials
  token_url: http://127.0.0.1:8000/token
  client_id: bank
  client_secret: ${BANK_SECRET}
  colour: blue
limits: {max_requests: 0, timeout_seconds: super-secret-typo}
waivers:
  - {rule: DSOP-ACC-429, reason: x, expires: 2026-13-45}
  - {rule: DSOP-ACC-405, expires: 2027-01-01}
environment: staging
"""
    with pytest.raises(ManifestError) as raised:
        load_manifest(_write(tmp_path, text), env={})
    problems = raised.value.problems
    paths = [p.split(":", 1)[0] for p in problems]
    assert "auth.client_secret: environment variable BANK_SECRET is not set" in problems
    for expected in (
        "base_url",
        "auth.colour",
        "limits.max_requests",
        "limits.timeout_seconds",
        "waivers[0].expires",
        "waivers[1].reason",
        "environment",
    ):
        assert expected in paths, (expected, problems)
    assert "super-secret-typo" not in str(raised.value)


def test_a_missing_variable_reported_once_and_secret_values_never_echoed(tmp_path: Path) -> None:
    text = "profile: p\nbase_url: http://x\nauth: {type: bearer, token: '${TOKEN}'}\n"
    with pytest.raises(ManifestError) as raised:
        load_manifest(_write(tmp_path, text), env={})
    assert raised.value.problems == ["auth.token: environment variable TOKEN is not set"]
    # A wrong type with a secret value: the message names the key, not the value.
    text = "profile: p\nbase_url: http://x\nauth: {type: api-key, value: [hunter2-secret]}\n"
    with pytest.raises(ManifestError) as raised:
        load_manifest(_write(tmp_path, text), env={})
    assert raised.value.problems[0].startswith("auth.value:")
    assert "hunter2-secret" not in str(raised.value)


def test_files_must_exist_and_flags_replace_the_file(tmp_path: Path) -> None:
    text = "profile: p\nbase_url: http://x\ndecryption_key: missing.pem\n"
    path = tmp_path / "m.yaml"
    path.write_text(text)
    with pytest.raises(ManifestError) as raised:
        load_manifest(path)
    assert raised.value.problems == ["decryption_key: file missing.pem does not exist"]
    manifest = load_manifest(
        None, profile="tiny/v1", base_url="http://127.0.0.1:1", headers={"A": "b"}, bearer="tok-1"
    )
    assert manifest.profile == "tiny/v1" and manifest.headers == {"A": "b"}
    assert manifest.secrets() == ["tok-1"]


def test_the_published_schema_accepts_the_example_and_the_cli_prints_it(tmp_path: Path) -> None:
    schema = manifest_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    import yaml

    example = yaml.safe_load(GOOD.replace("literal: $${NOT_A_VAR}\n", ""))
    example["waivers"][0]["expires"] = "2099-06-30"
    jsonschema.validate(example, schema)
    single = {**example, "auth": example["auth"][0]}
    jsonschema.validate(single, schema)
    result = CliRunner().invoke(app, ["manifest-schema"])
    assert (
        result.exit_code == 0 and json.loads(result.output)["title"] == "kontrakt provider manifest"
    )


def test_certify_exits_2_on_a_bad_manifest_before_sending_anything(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("profile: dsop-control/v2.0\nbase_url: http://127.0.0.1:9\nlimits: {x: 1}\n")
    result = CliRunner().invoke(app, ["certify", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "limits.x: is not a known key" in result.output
    assert not (tmp_path / "out").exists()
    result = CliRunner().invoke(app, ["certify", "--base-url", "http://127.0.0.1:9"])
    assert result.exit_code == 2


def test_named_credentials_load_resolve_paths_and_count_as_secrets(tmp_path: Path) -> None:
    text = GOOD.replace("literal: $${NOT_A_VAR}\n", "") + (
        "credentials:\n"
        "  read_only:\n"
        "    type: oauth2-client-credentials\n"
        "    token_url: http://127.0.0.1:8000/token\n"
        "    client_id: reader\n"
        "    client_secret: reader-secret-value\n"
        "  signed:\n"
        "    - {type: jwt-bearer, token_url: http://127.0.0.1:8000/token, client_id: mp,"
        " key_file: keys/client.pem}\n"
    )
    manifest = load_manifest(_write(tmp_path, text), env={"BANK_SECRET": "s3cret"})
    assert set(manifest.credentials) == {"read_only", "signed"}
    assert "reader-secret-value" in manifest.secrets()
    signed = manifest.credentials["signed"][0]
    assert isinstance(signed, JwtBearerAuth) and signed.key_file.is_absolute()
    bad = text.replace("    client_id: reader\n", "")
    with pytest.raises(ManifestError) as caught:
        load_manifest(_write(tmp_path, bad), env={"BANK_SECRET": "s3cret"})
    assert "credentials.read_only[0].client_id: is required" in caught.value.problems
    schema = manifest_schema()["properties"]["credentials"]["additionalProperties"]
    assert "anyOf" in schema


def test_paths_in_fixtures_are_read_from_the_manifests_folder(tmp_path: Path) -> None:
    folder = tmp_path / "provider"
    (folder / "keys").mkdir(parents=True)
    (folder / "keys" / "order.pem").write_text("test key")
    manifest_file = folder / "provider.yaml"
    manifest_file.write_text(
        "profile: dsop-control/v2.0\nbase_url: http://127.0.0.1:1/v2\n"
        "fixtures: {order_key: keys/order.pem, absolute: /etc/hostname}\n"
    )
    manifest = load_manifest(manifest_file, env={})
    assert manifest.path(manifest.fixtures["order_key"]) == (folder / "keys/order.pem").resolve()
    assert manifest.path("/etc/hostname") == Path("/etc/hostname")
    # Loaded without a file, relative paths are the working directory's.
    flags = load_manifest(profile="dsop-control/v2.0", base_url="http://127.0.0.1:1/v2", env={})
    assert flags.path("x.pem") == Path.cwd() / "x.pem"
