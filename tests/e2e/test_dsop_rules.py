"""Proof that the DSOP Control v2.0 rules work: the sandbox passes them, its bad twins fail them.

The known-good sandbox (`Sandbox.start`, the committed manifest pointed at it) passes every
automated rule of `kontrakt/conformance/rules/dsop_control_v2.py`; other known-good configurations (paged,
OED consumer, production, rate-limited) pass the rules they exist for. Each known-bad variant of
`tests/e2e/dsop_bad_variants.py` is run with exactly the rules it targets, and exactly those fail
(warn, for SHOULD rules). Every automated rule is killed by at least one variant, and
docs/dsop-rule-proofs.md is the table generated from these data.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from pydantic import SecretStr
from rich.console import Console
from starlette.types import ASGIApp

from kontrakt.conformance.manifest import Manifest, load_manifest
from kontrakt.conformance.profile import load_profile
from kontrakt.conformance.rules.dsop_control_v2 import consumer_role
from kontrakt.conformance.runner import RunResult, run_profile
from kontrakt.sandbox.dsop_control import account_reference
from kontrakt.sandbox.launch import Sandbox
from kontrakt.selfcert import sandbox_environment
from tests.e2e import dsop_bad_variants as bad
from tests.e2e import dsop_good_variants as good

PROFILE = "dsop-control/v2.0"
MANIFEST = bad.REPO / "kontrakt" / "conformance" / "manifests" / "sandbox-dsop-control.yaml"
QUIET = Console(file=io.StringIO(), force_terminal=False)
SECRET = "kontrakt-sandbox-dsop-reference-key-not-a-secret"

EXPECTED_NOT_APPLICABLE = bad.GOOD_RUNS[0].not_applicable


@contextmanager
def serve_fast(app: ASGIApp) -> Iterator[str]:
    """uvicorn on a free port with TCP_NODELAY (without it every answer waits ~40 ms for the
    client's delayed ACK: uvicorn writes headers and body separately)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.start(["dsop-control"]) as started:
        bad.register_throttled_client(started.context)
        yield started


@pytest.fixture(scope="module")
def router(sandbox: Sandbox) -> Iterator[str]:
    with serve_fast(bad.Router(sandbox.context, [*bad.all_variants(), *good.all_built()])) as url:
        yield url


CLIENTS = {
    "skatt": ("skatt-kontroll-test", "sandbox-skatt-secret"),
    "production": ("skatt-kontroll-test", "sandbox-skatt-secret"),
    "oed": ("oed-test", "sandbox-oed-secret"),
}


# The other services' consumers (credentials.<service>) and their test data, as in the committed
# manifest; the Politi orders are signed with the sandbox's TEST key.
CONSUMERS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "Politi-Utlevering": (
        "politi-utlevering-test",
        "sandbox-politi-secret",
        {
            "party_with_accounts": bad.KARI,
            "account_reference": account_reference(SECRET, "97100000028"),
        },
    ),
    "OED": (
        "oed-test",
        "sandbox-oed-secret",
        {
            "party_with_accounts": "15814810035",
            "account_reference": account_reference(SECRET, "97100000184"),
            "from_date": "2026-06-20",
        },
    ),
    "Vergekontroll": (
        "vergekontroll-test",
        "sandbox-verge-secret",
        {
            "party_with_accounts": "21820910068",
            "additional_reference_id": "07877210051",
            "account_reference": account_reference(SECRET, "97100000222"),
            "unmanaged_account_reference": account_reference(SECRET, "97100000230"),
        },
    ),
    "Konkursbehandling": (
        "konkurs-test",
        "sandbox-konkurs-secret",
        {
            "party_with_accounts": "310000132",
            "account_reference": account_reference(SECRET, "97100000206"),
            "from_date": "2026-01-01",
            "party_without_ruling": bad.KARI,
            "unconfirmed_account_reference": account_reference(SECRET, "97100000028"),
        },
    ),
    "FI-Utlegg": (
        "fi-utlegg-test",
        "sandbox-fi-utlegg-secret",
        {
            "party_with_accounts": bad.KARI,
            "account_reference": account_reference(SECRET, "97100000028"),
        },
    ),
}
ORDERS = {
    "extradition_order_key": str(bad.KEYS / "politi-eo-test.pem"),
    "extradition_order_certificates": [str(bad.KEYS / "politi-eo-test.crt.pem")],
    "extradition_order_kid": "politi-sandbox-test-1",
    "extradition_order_reasons": {
        "Straffeprosessloven §210 (3) første punktum": (
            "Utlevering av kontoopplysninger i straffesak."
        ),
        "Straffeprosessloven §210 (3) andre punktum": (
            "Utlevering av kontoopplysninger ved leting etter savnet person."
        ),
    },
}


def _client(sandbox: Sandbox, client_id: str, secret: str) -> dict[str, Any]:
    return {
        "type": "oauth2-client-credentials",
        "token_url": sandbox.token_url,
        "client_id": client_id,
        "client_secret": secret,
        "scope": "bits:kontoinformasjon",
        "resource": sandbox.url("dsop-control"),
    }


def _fixtures(kind: str) -> dict[str, Any]:
    if kind == "oed":
        return {
            "service": "OED",
            "party_with_accounts": "15814810035",  # Arne Avdød, died 2026-09-14
            "account_reference": account_reference(SECRET, "97100000184"),
            "from_date": "2026-06-20",  # at most 3 months before the death
            "schemathesis_examples": 0,
        }
    return {
        "service": "Skatt-Kontroll",
        "requester_id": "kontrakt-conformance-1",
        "party_with_accounts": bad.KARI,
        "party_without_accounts": "03889010281",
        "account_reference": account_reference(SECRET, "97100000028"),
        "closed_account_reference": account_reference(SECRET, "97100000133"),
        "max_accounts": 4,
        "expected_transactions": 27,
        "party_guarantor": "09896610055",
        "party_co_borrower": "14847910071",
        "party_shielded": "30868210059",
        "party_partial": "11906910014",
        "fault_party": "02919110190",
        "schemathesis_examples": 0,
    }


def variant_manifest(
    sandbox: Sandbox, router: str, variant: bad.Variant, *, level: str = "default"
) -> Manifest:
    client_id, secret = CLIENTS[variant.manifest]
    credentials = {
        consumer_role(name): _client(sandbox, cid, sec) for name, (cid, sec, _) in CONSUMERS.items()
    }
    if variant.throttled:
        credentials["throttled"] = _client(sandbox, *bad.THROTTLED_CLIENT)
    return Manifest.model_validate(
        {
            "profile": PROFILE,
            "base_url": f"{router}/{variant.name}{variant.base_path}",
            "environment": "production" if variant.manifest == "production" else "test",
            "level": level,
            "auth": _client(sandbox, client_id, secret),
            "credentials": credentials,
            "decryption_key": str(bad.KEYS / "client.pem"),
            "decryption_keys": {role: str(path) for role, path in variant.decryption_keys.items()},
            "negative_auth": {
                "wrong_scope": {"scope": "bits:kundeforhold"},
                "signing_key": str(bad.KEYS / "issuer.pem"),
                "kid": "kontrakt-sandbox-1",
            },
            "fixtures": {
                **_fixtures(variant.manifest),
                "consumers": {name: data for name, (_, _, data) in CONSUMERS.items()},
                **ORDERS,
                **variant.fixtures,
            },
        }
    )


def run(manifest: Manifest, patterns: tuple[str, ...] | None) -> RunResult:
    profile = load_profile(PROFILE, patterns=list(patterns) if patterns else None)
    return run_profile(profile, manifest, console=QUIET, progress=False)


def _broken(result: RunResult) -> dict[str, str]:
    return {r.id: r.message for r in result.results if r.verdict in ("fail", "warn", "error")}


def test_good_sandbox_passes(
    sandbox: Sandbox, router: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The committed manifest against the real sandbox, every rule; then the other good runs."""
    monkeypatch.chdir(bad.REPO.parent)  # fixture paths are the manifest's, not the cwd's
    result = run(load_manifest(MANIFEST, env=sandbox_environment(sandbox)), None)
    assert result.complete and result.passed, _broken(result)
    assert _broken(result) == {}
    not_applicable = {r.id: r.message for r in result.results if r.verdict == "not-applicable"}
    assert set(not_applicable) == set(EXPECTED_NOT_APPLICABLE), not_applicable
    passed = {r.id for r in result.results if r.verdict == "pass"}

    for good_run in bad.GOOD_RUNS:
        if good_run.variant is None:
            continue
        outcome = run(variant_manifest(sandbox, router, good_run.variant), good_run.rules)
        assert outcome.results, good_run.name
        assert _broken(outcome) == {}, (good_run.name, _broken(outcome))
        passed |= {r.id for r in outcome.results if r.verdict == "pass"}
    # Pages of at least 1000 transactions: only a known-good variant has that many.
    thousand = next(g for g in good.GOOD if g.name == "thousand-per-page")
    outcome = run(variant_manifest(sandbox, router, good.built(thousand)), thousand.touches)
    assert _broken(outcome) == {}, _broken(outcome)
    passed |= {r.id for r in outcome.results if r.verdict == "pass"}

    automated = {r.id for r in load_profile(PROFILE).rules}
    assert automated - passed == set(), "rules that pass in no good configuration"


@pytest.mark.parametrize("variant", bad.VARIANTS, ids=lambda v: v.name)
def test_variant_fails_exactly_its_rules(
    sandbox: Sandbox, router: str, variant: bad.Variant
) -> None:
    """At the default level; a kill that breaks only kontrakt's assumption (`deviates`) warns
    there and fails at strict (the same run gives both levels)."""
    result = run(variant_manifest(sandbox, router, variant), variant.kills)
    verdicts = {r.id: r.verdict for r in result.results}
    assert set(verdicts) == set(variant.kills), "a kill names a rule that is not automated"
    assert "error" not in verdicts.values(), _broken(result)
    failed = {rule_id for rule_id, verdict in verdicts.items() if verdict in ("fail", "warn")}
    assert failed == set(variant.kills), {r.id: (r.verdict, r.message) for r in result.results}
    for outcome in result.results:
        must = "fail" if outcome.severity == "MUST" else "warn"
        expected = "warn" if outcome.id in variant.deviates else must
        assert outcome.verdict == expected and outcome.message, (outcome.id, outcome.message)
        assert outcome.verdicts["strict"] == must, (outcome.id, outcome.verdicts)
        if outcome.id in variant.deviates:
            assert outcome.deviations, outcome.id
        cited = {d.assumption for d in outcome.deviations}
        assert cited <= set(bad.DEVIATION_SITES.get(outcome.id, ())), (outcome.id, cited)


def test_no_rule_passes_against_a_provider_that_says_nothing(sandbox: Sandbox, router: str) -> None:
    """`empty-everywhere` answers 200 {} to every request: every rule is not-applicable or
    fails (where the manifest promises data), none passes, and the run does not pass."""
    result = run(variant_manifest(sandbox, router, bad.SILENT), None)
    passed = [r.id for r in result.results if "pass" in r.verdicts.values()]
    assert passed == ["DSOP-BASE-PATH-MAJOR"], passed  # judges the manifest's base_url only
    assert not result.passed
    failed = {r.id for r in result.results if r.verdict == "fail"}
    assert {"DSOP-ACCOUNT-REFERENCE-USABLE", "DSOP-ONLY-PRIMARY-OWNER-FILTER"} <= failed


def test_every_automated_rule_is_killed_by_a_variant() -> None:
    automated = {r.id for r in load_profile(PROFILE).rules}
    killed = {rule_id for variant in bad.VARIANTS for rule_id in variant.kills}
    assert automated - killed == set(), "automated rules no variant fails"
    assert killed - automated == set(), "variants kill rules that are not automated"
    names = [v.name for v in bad.all_variants()]
    assert len(names) == len(set(names))


def test_the_proof_table_is_up_to_date() -> None:
    assert bad.DOC.read_text(encoding="utf-8") == bad.render(), (
        "docs/dsop-rule-proofs.md is stale: run `python -m tests.e2e.dsop_bad_variants`"
    )


def test_the_manifest_schema_accepts_the_committed_manifest() -> None:
    manifest = load_manifest(MANIFEST, env={})
    assert manifest.base_url == "http://127.0.0.1:8001/v2"
    assert Path(str(manifest.decryption_key)).is_file()


def test_the_probe_decrypts_the_jwe_dsop_consumers_receive() -> None:
    """Harness fix: joserfc refuses RSA-OAEP-256 / A128CBC-HS256 unless they are allowed."""
    from kontrakt.conformance.probe import _jwe_decrypter

    body = bad._encrypt(b'{"responseDetails":{"status":"complete"}}', bad._client_key())
    assert _jwe_decrypter(bad.KEYS / "client.pem")(body) == (
        b'{"responseDetails":{"status":"complete"}}'
    )


@pytest.mark.parametrize(
    ("name", "cause"),
    [("refuses-json-406", "Accept"), ("refuses-every-token", "audience")],
)
def test_preflight_names_the_cause(sandbox: Sandbox, router: str, name: str, cause: str) -> None:
    """One plain GET /accounts before the first rule: refused, the run is cannot-run with a
    diagnosis that names the cause (a 406 is about Accept, not the credentials)."""
    variant = next(v for v in bad.PREFLIGHT_VARIANTS if v.name == name)
    result = run(variant_manifest(sandbox, router, variant), ("DSOP-ACC-4*",))
    assert result.preflight is not None and result.preflight.status == "cannot-run"
    assert cause in result.preflight.diagnosis, result.preflight.diagnosis
    assert result.results == [] and not result.passed


def test_preflight_names_a_wrong_secret(sandbox: Sandbox, router: str) -> None:
    manifest = variant_manifest(sandbox, router, bad.GOOD_RUNS[1].variant or bad.SILENT)
    auth = manifest.auth[0].model_copy(update={"client_secret": SecretStr("not-the-secret")})
    result = run(manifest.model_copy(update={"auth": [auth]}), ("DSOP-ACC-4*",))
    assert result.preflight is not None and result.preflight.status == "cannot-run"
    assert "client" in result.preflight.diagnosis, result.preflight.diagnosis
