"""The certificate's contents and its refusals, without a provider: what a run that may not
certify says, what the statement records (digests that ignore secrets but not the setup, a spec
digest that ignores formatting), and signing keys refused with a one-line reason."""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from kontrakt.conformance.certificate import (
    CertificateError,
    build_statement,
    decode_document,
    issue_certificate,
    load_signer,
    refusal,
    spec_digest,
)
from kontrakt.conformance.manifest import Manifest, Waiver
from kontrakt.conformance.profile import Profile, load_profile
from kontrakt.conformance.runner import Preflight, RuleResult, RunResult, WaiverStatus
from tests.e2e import tiny_profile
from tests.unit.conformance._nin import synthetic_nin

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
SECRET = "very-secret-token-123"


def _profile() -> Profile:
    return load_profile("tiny", rule_set=tiny_profile.rules)


def _manifest(**extra: Any) -> Manifest:
    data: dict[str, Any] = {
        "profile": str(tiny_profile.SPEC),
        "base_url": "http://127.0.0.1:9",
        "auth": {"type": "bearer", "token": SECRET},
        **extra,
    }
    return Manifest.model_validate(data)


def _passed(profile: Profile) -> RunResult:
    result = RunResult.begin(profile, _manifest(), seed=4, started_at=NOW)
    result.finished_at = NOW + dt.timedelta(seconds=5)
    for rule in profile.rules:
        result.results.append(RuleResult.of(rule, "pass"))
    assert result.passed
    return result


def test_runs_that_may_not_certify_say_why() -> None:
    profile = _profile()
    assert refusal(_passed(profile)) is None
    cases: dict[str, Any] = {
        "cannot-run": lambda r: setattr(r, "preflight", Preflight("cannot-run", "no token")),
        "provider-unreachable": lambda r: setattr(r, "unreachable", True),
        "did not complete (SIGTERM)": lambda r: (
            setattr(r, "complete", False),
            setattr(r, "stop_reason", "SIGTERM"),
        ),
        "--rules TINY-4*": lambda r: setattr(r, "rule_filter", ["TINY-4*"]),
        "could not be judged (error): TINY-405": lambda r: setattr(
            r.results[1], "verdict", "error"
        ),
        "did not pass at level default (failed)": lambda r: setattr(
            r.results[0], "verdict", "fail"
        ),
        "waiver is past its date: TINY-ADMIN (expired 2020-01-01)": lambda r: r.waivers.append(
            WaiverStatus(
                Waiver(rule="TINY-ADMIN", reason="x", expires=dt.date(2020, 1, 1)), "expired"
            )
        ),
    }
    for expected, spoil in cases.items():
        result = _passed(profile)
        spoil(result)
        reason = refusal(result)
        assert reason is not None and expected in reason, (expected, reason)


def test_the_statement_records_the_setup_but_no_secret(tmp_path: Path) -> None:
    profile = _profile()
    nin = synthetic_nin(random.Random(5))
    manifest = _manifest(fixtures={"party": nin, "api_key": "k-0123456789"})
    result = _passed(profile)
    statement = build_statement(
        result, profile, manifest, fixture_overrides={"party": nin}, signed=False, now=NOW
    )
    text = json.dumps(statement)
    assert SECRET not in text and nin not in text and "k-0123456789" not in text
    predicate = statement["predicate"]
    assert predicate["manifest"]["fixture_overrides"] == {"party": "[REDACTED-NIN]"}
    assert predicate["expires_at"] == "2027-12-01T12:00:00Z"
    assert predicate["spec"]["publisher_version"] == "1.0.0"
    # The embedded spec decodes to the document (masked), whose digest is recorded.
    embedded = decode_document(predicate["spec"]["document"]["canonical_json"])
    assert embedded["x-kontrakt-api"]["id"] == "tiny/v1"

    def digest(m: Manifest) -> str:
        return str(
            build_statement(result, profile, m, signed=False)["predicate"]["manifest"]["sha256"]
        )

    # Another secret: same digest (secrets are not part of it); another setup: another digest.
    other_secret = _manifest(
        auth={"type": "bearer", "token": "another-secret-456"},
        fixtures={"party": nin, "api_key": "k-0123456789"},
    )
    assert digest(other_secret) == digest(manifest)
    assert digest(_manifest(fixtures={"party": nin, "limit": 3})) != digest(manifest)
    # Where a token comes from is setup, not a secret.
    moved = [
        _manifest(
            auth={
                "type": "oauth2-client-credentials",
                "token_url": url,
                "client_id": "c",
                "client_secret": SECRET,
            }
        )
        for url in ("http://127.0.0.1:1/token", "http://127.0.0.1:2/token")
    ]
    assert digest(moved[0]) != digest(moved[1])


def test_a_certificate_cannot_outlive_the_waiver_it_leans_on() -> None:
    profile = _profile()
    result = _passed(profile)
    waiver = Waiver(rule="TINY-ADMIN", reason="admin comes later", expires=dt.date(2027, 3, 1))
    result.waivers.append(WaiverStatus(waiver, "applied"))
    statement = build_statement(result, profile, _manifest(), signed=False, now=NOW)
    assert statement["predicate"]["expires_at"] == "2027-03-01T23:59:59Z"


def test_the_spec_digest_ignores_formatting_only() -> None:
    data = {"openapi": "3.1.0", "info": {"title": "T", "version": "1"}, "paths": {}}
    reordered = {"paths": {}, "info": {"version": "1", "title": "T"}, "openapi": "3.1.0"}
    assert spec_digest(data) == spec_digest(reordered)
    assert spec_digest(data) != spec_digest({**data, "info": {"title": "T", "version": "2"}})


def test_unusable_signing_keys_are_refused_in_one_line(tmp_path: Path) -> None:
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(
        ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pw"),
        )
    )
    p384 = tmp_path / "p384.pem"
    p384.write_bytes(
        ec.generate_private_key(ec.SECP384R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    text = tmp_path / "text.pem"
    text.write_text("hello")
    for path, expected in (
        (encrypted, "not an unencrypted PEM private key"),
        (p384, "must be on P-256"),
        (text, "not an unencrypted PEM private key"),
        (tmp_path / "missing.pem", "cannot read the signing key"),
    ):
        with pytest.raises(CertificateError, match=expected) as info:
            load_signer(path)
        assert "\n" not in str(info.value)


def test_an_unsigned_certificate_says_so(tmp_path: Path) -> None:
    profile = _profile()
    issued = issue_certificate(_passed(profile), profile, _manifest(), tmp_path)
    assert issued.path is not None and not issued.signed
    envelope = json.loads(issued.path.read_text())
    assert envelope["signatures"] == []
    assert json.loads(base64.b64decode(envelope["payload"]))["predicate"]["signed"] is False
    assert "**UNSIGNED**" in (tmp_path / "certificate.md").read_text()
