"""Signed certificates end to end: `kontrakt certify --sign-key` against the tiny profile's
provider on 127.0.0.1, then `kontrakt verify`: valid as issued; invalid after any edited field,
with another key, outside its validity window, unsigned, or against a spec with a breaking
change; valid against a spec with only allowed changes (printed). Runs that may not issue one
(a rule filter, a rule in error, an expired waiver) issue none and say why."""

from __future__ import annotations

import base64
import copy
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from rich.console import Console
from typer.testing import CliRunner

from kontrakt.cli import app
from kontrakt.conformance.certificate import (
    PREDICATE_TYPE,
    canonical_json,
    issue_certificate,
    load_signer,
    read_statement,
    refusal,
)
from kontrakt.conformance.manifest import Manifest, Waiver
from kontrakt.conformance.profile import load_profile
from kontrakt.conformance.runner import RunResult, run_profile
from tests.e2e import tiny_profile
from tests.e2e._support import serve
from tests.e2e.certify_apps import TOKEN, tiny_app

NIN = "12858510048"  # a synthetic identity number (valid check digits)


def _write_key(path: Path, key: Any) -> tuple[Path, Path]:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = path.with_suffix(".pub.pem")
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path, public


@dataclass
class Certified:
    out: Path
    cert: Path
    public: Path
    stdout: str
    url: str
    keys: Path


@pytest.fixture(scope="module")
def good() -> Iterator[str]:
    with serve(tiny_app()) as url:
        yield url


def _certify(url: str, out: Path, *extra: str) -> Any:
    manifest = out.parent / f"{out.name}-manifest.yaml"
    manifest.write_text(
        yaml.safe_dump(
            {
                "profile": str(tiny_profile.SPEC),
                "base_url": url,
                "auth": {"type": "bearer", "token": TOKEN},
                "capabilities": ["items"],  # no admin endpoint: TINY-ADMIN is not applicable
            }
        )
    )
    args = ["certify", str(manifest), "--rule-module", "tests.e2e.tiny_profile"]
    args += ["--out", str(out), "--format", "json"]
    return CliRunner().invoke(app, [*args, *extra])


@pytest.fixture(scope="module")
def certified(good: str, tmp_path_factory: pytest.TempPathFactory) -> Certified:
    keys = tmp_path_factory.mktemp("keys")
    private, public = _write_key(keys / "certifier.pem", ed25519.Ed25519PrivateKey.generate())
    out = tmp_path_factory.mktemp("signed")
    run = _certify(good, out, "--sign-key", str(private), "--fixture", f"party={NIN}")
    assert run.exit_code == 0, run.output
    return Certified(out, out / "certificate.json", public, run.output, good, keys)


def _verify(*args: str) -> Any:
    return CliRunner().invoke(app, ["verify", *args])


def test_a_signed_certificate_verifies(certified: Certified) -> None:
    assert "signed, key id" in certified.stdout and "kontrakt verify" in certified.stdout
    result = _verify(str(certified.cert), "--key", str(certified.public))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("valid: tiny/v1 certified for http://127.0.0.1:")
    statement = read_statement(certified.cert)
    predicate = statement["predicate"]
    assert statement["predicateType"] == PREDICATE_TYPE
    assert predicate["signed"] is True and predicate["rules"]["passed"]
    assert predicate["spec"]["publisher_version"] == "1.0.0"
    assert predicate["manifest"]["fixture_overrides"] == {"party": "[REDACTED-NIN]"}
    assert len(predicate["rules"]["code_sha256"]) == 64
    assert "tests.e2e.tiny_profile" in predicate["rules"]["code_modules"]
    # Never a secret or an identity number, not even inside the embedded spec.
    text = certified.cert.read_text() + base64.b64decode(
        json.loads(certified.cert.read_text())["payload"]
    ).decode("utf-8")
    assert TOKEN not in text and NIN not in text
    assert "Signed (DSSE" in (certified.out / "certificate.md").read_text()


def _edited(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, list):
        return [*value, "x"]
    if isinstance(value, dict):
        return {**value, "edited": True}
    return "x"


def _with_statement(envelope: dict[str, Any], statement: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(envelope)
    changed["payload"] = base64.b64encode(canonical_json(statement)).decode()
    return changed


def test_editing_any_field_makes_it_invalid(certified: Certified, tmp_path: Path) -> None:
    envelope = json.loads(certified.cert.read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    variants: dict[str, dict[str, Any]] = {}
    for name in statement:
        edited = copy.deepcopy(statement)
        edited[name] = _edited(edited[name])
        variants[f"statement.{name}"] = _with_statement(envelope, edited)
    for name in statement["predicate"]:
        edited = copy.deepcopy(statement)
        edited["predicate"][name] = _edited(edited["predicate"][name])
        variants[f"predicate.{name}"] = _with_statement(envelope, edited)
    for name in ("payloadType",):
        changed = copy.deepcopy(envelope)
        changed[name] = _edited(changed[name])
        variants[name] = changed
    changed = copy.deepcopy(envelope)
    changed["signatures"][0]["keyid"] = "0" * 64
    variants["signatures.keyid"] = changed
    changed = copy.deepcopy(envelope)
    signature = bytearray(base64.b64decode(changed["signatures"][0]["sig"]))
    signature[0] ^= 1
    changed["signatures"][0]["sig"] = base64.b64encode(bytes(signature)).decode()
    variants["signatures.sig"] = changed
    assert len(variants) > 20
    for where, data in variants.items():
        path = tmp_path / "edited.json"
        path.write_text(json.dumps(data))
        result = _verify(str(path), "--key", str(certified.public))
        assert result.exit_code == 1, (where, result.output)
        assert result.output.startswith("invalid: "), (where, result.output)


def test_another_key_does_not_verify_it(certified: Certified, tmp_path: Path) -> None:
    _, other = _write_key(tmp_path / "other.pem", ed25519.Ed25519PrivateKey.generate())
    result = _verify(str(certified.cert), "--key", str(other))
    assert result.exit_code == 1 and "does not verify" in result.output


def test_ecdsa_p256_and_rsa_keys_sign_too(certified: Certified, tmp_path: Path) -> None:
    from securesystemslib.dsse import Envelope

    payload = base64.b64decode(json.loads(certified.cert.read_text())["payload"])
    for name, key in (
        ("p256", ec.generate_private_key(ec.SECP256R1())),
        ("rsa", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    ):
        private, public = _write_key(tmp_path / f"{name}.pem", key)
        envelope = Envelope(payload, "application/vnd.in-toto+json", {})
        envelope.sign(load_signer(private))
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(envelope.to_dict()))
        result = _verify(str(path), "--key", str(public))
        assert result.exit_code == 0, (name, result.output)
    private, _ = _write_key(tmp_path / "p384.pem", ec.generate_private_key(ec.SECP384R1()))
    result = _certify(certified.url, tmp_path / "x", "--sign-key", str(private))
    assert result.exit_code == 2 and "P-256" in result.output
    assert not (tmp_path / "x").exists()  # refused before anything was sent


def test_the_validity_window(certified: Certified) -> None:
    predicate = read_statement(certified.cert)["predicate"]
    expires = predicate["expires_at"]
    year = int(expires[:4])
    after = _verify(
        str(certified.cert), "--key", str(certified.public), "--at", f"{year + 1}-01-01"
    )
    assert after.exit_code == 1 and f"expired at {expires}" in after.output
    before = _verify(str(certified.cert), "--key", str(certified.public), "--at", "2000-01-01")
    assert before.exit_code == 1 and "not valid before" in before.output
    inside = _verify(str(certified.cert), "--key", str(certified.public), "--at", expires)
    assert inside.exit_code == 0, inside.output


def _spec_copy(tmp_path: Path, change: Any) -> Path:
    data = yaml.safe_load(tiny_profile.SPEC.read_text())
    change(data)
    path = tmp_path / "tiny-changed.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _require_limit(data: dict[str, Any]) -> None:
    for parameter in data["paths"]["/items"]["get"]["parameters"]:
        if parameter["name"] == "limit":
            parameter["required"] = True


def _add_operation(data: dict[str, Any]) -> None:
    data["paths"]["/health"] = {
        "get": {
            "operationId": "health",
            "responses": {"200": {"description": "Alive."}},
        }
    }


def test_against_specs(certified: Certified, tmp_path: Path) -> None:
    key = ["--key", str(certified.public)]
    same = _verify(str(certified.cert), *key, "--spec", str(tiny_profile.SPEC))
    assert same.exit_code == 0 and "the one certified" in same.output, same.output
    # Reformatted (YAML -> JSON, other key order): the same spec.
    as_json = tmp_path / "tiny.json"
    as_json.write_text(json.dumps(yaml.safe_load(tiny_profile.SPEC.read_text()), indent=1))
    reformatted = _verify(str(certified.cert), *key, "--spec", str(as_json))
    assert reformatted.exit_code == 0 and "the one certified" in reformatted.output

    breaking = _spec_copy(tmp_path, _require_limit)
    result = _verify(str(certified.cert), *key, "--spec", str(breaking))
    assert result.exit_code == 1, result.output
    assert "invalid: " in result.output and "breaking" in result.output
    assert "limit" in result.output

    allowed = _spec_copy(tmp_path, _add_operation)
    result = _verify(str(certified.cert), *key, "--spec", str(allowed))
    assert result.exit_code == 0, result.output
    assert "only by 1 change(s)" in result.output
    assert "allowed: " in result.output and "/health" in result.output

    other = _spec_copy(tmp_path, lambda d: d["x-kontrakt-api"].update(id="other/v1"))
    result = _verify(str(certified.cert), *key, "--spec", str(other))
    assert result.exit_code == 1 and "is profile other/v1" in result.output


def test_unreadable_inputs_exit_2(certified: Certified, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.json"
    garbage.write_text("not json")
    key = ["--key", str(certified.public)]
    for args in (
        [str(garbage), *key],
        [str(tmp_path / "missing.json"), *key],
        [str(certified.cert), "--key", str(garbage)],
        [str(certified.cert), *key, "--at", "someday"],
        [str(certified.cert), *key, "--spec", str(garbage)],
    ):
        result = _verify(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output


def test_without_a_key_the_certificate_is_unsigned(good: str, tmp_path: Path) -> None:
    run = _certify(good, tmp_path)
    assert run.exit_code == 0 and "UNSIGNED" in run.output, run.output
    assert "**UNSIGNED**" in (tmp_path / "certificate.md").read_text()
    assert read_statement(tmp_path / "certificate.json")["predicate"]["signed"] is False
    _, public = _write_key(tmp_path / "k.pem", ed25519.Ed25519PrivateKey.generate())
    result = _verify(str(tmp_path / "certificate.json"), "--key", str(public))
    assert result.exit_code == 1 and "unsigned" in result.output


def test_a_filtered_run_issues_none(certified: Certified, tmp_path: Path) -> None:
    out = tmp_path / "filtered"
    out.mkdir()
    (out / "certificate.json").write_text("{}")  # an older one must not survive
    run = _certify(
        certified.url,
        out,
        "--rules",
        "TINY-4*",
        "--sign-key",
        str(certified.keys / "certifier.pem"),
    )
    assert run.exit_code == 0, run.output
    assert "no certificate: a rule filter chose what ran (--rules TINY-4*)" in run.output
    assert not (out / "certificate.json").exists() and not (out / "certificate.md").exists()


QUIET = Console(file=io.StringIO())


def _passing_run(url: str, **extra: Any) -> tuple[RunResult, Any, Manifest]:
    profile = load_profile("tiny", rule_set=tiny_profile.rules)
    manifest = Manifest.model_validate(
        {
            "profile": str(tiny_profile.SPEC),
            "base_url": url,
            "auth": {"type": "bearer", "token": TOKEN},
            "capabilities": ["items"],
            **extra,
        }
    )
    result = run_profile(profile, manifest, seed=1, console=QUIET)
    assert result.passed
    return result, profile, manifest


def test_an_error_verdict_or_an_expired_waiver_issues_none(good: str, tmp_path: Path) -> None:
    result, profile, manifest = _passing_run(good)
    assert refusal(result) is None
    should = next(r for r in result.results if r.severity == "SHOULD")
    should.verdict = "error"  # a SHOULD rule in error still passes the profile...
    assert result.passed
    issued = issue_certificate(result, profile, manifest, tmp_path)
    assert issued.path is None and issued.reason is not None  # ...but certifies nothing
    assert f"could not be judged (error): {should.id}" in issued.reason
    assert not (tmp_path / "certificate.json").exists()

    stale = Waiver(rule="TINY-ADMIN", reason="later", expires="2020-01-01")  # type: ignore[arg-type]
    result, profile, manifest = _passing_run(good, waivers=[stale.model_dump()])
    issued = issue_certificate(result, profile, manifest, tmp_path)
    assert issued.reason == "a manifest waiver is past its date: TINY-ADMIN (expired 2020-01-01)"
