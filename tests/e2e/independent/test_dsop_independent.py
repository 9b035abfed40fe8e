"""`kontrakt certify` against a DSOP Control v2.0 provider kontrakt did not write.

The provider (tests/e2e/independent/dsop_provider.py) and its token issuer (tiny_issuer.py) were
written from the publisher's documents only; the manifest below is what a bank's engineer fills
in from `kontrakt init dsop-control/v2.0` and `kontrakt manifest-schema`. Both run on 127.0.0.1
under real uvicorn. At the default level the verdict must be PASSED: a correct provider that
made other permitted choices (ACC-003 for an unknown reference, ACC-500 for an outage, cursor
pagination, extra error members, both Skatt mandate spellings, ...) is not failed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from joserfc import jwe
from joserfc.jwe import JWERegistry
from joserfc.jwk import RSAKey
from rich.console import Console

from kontrakt.conformance.manifest import Manifest
from kontrakt.conformance.profile import load_profile
from kontrakt.conformance.runner import RunResult, run_profile
from tests.e2e._support import serve
from tests.e2e.independent import dsop_provider as bank
from tests.e2e.independent.tiny_issuer import Client, TinyIssuer

PROFILE = "dsop-control/v2.0"
SCOPE = "bits:kontoinformasjon"
MANDATE = "Skatteforvaltningsloven § 10-2 første ledd, jf. skatteforvaltningsforskriften § 10-2-1"
QUIET = Console(file=io.StringIO(), force_terminal=False)
CLIENTS = {
    "skatt-test": Client("skatt-secret", bank.SKATTEETATEN, frozenset({SCOPE})),
    "skatt-throttled": Client("throttled-secret", bank.SKATTEETATEN, frozenset({SCOPE})),
    "skatt-kundeforhold": Client(
        "kundeforhold-secret", bank.SKATTEETATEN, frozenset({"bits:kundeforhold"})
    ),
    "namsmannen-test": Client("namsmannen-secret", bank.SKATTEETATEN, frozenset({SCOPE})),
    "digdir-oed-test": Client("oed-secret", "974720760", frozenset({SCOPE})),
    "srf-verge-test": Client("verge-secret", "986186999", frozenset({SCOPE})),
    "brreg-konkurs-test": Client("konkurs-secret", "974760673", frozenset({SCOPE})),
    "politi-test": Client("politi-secret", "915429785", frozenset({SCOPE})),
}
ORDER_KID = "politi-finans-test-1"
REASONS = {  # each mandate's fixed reason sentence (ours: the real ones are not public)
    "Straffeprosessloven §210 (3) første punktum": "Opplysningene trengs i en straffesak.",
    "Straffeprosessloven §210 (3) andre punktum": "Opplysningene trengs for å finne en savnet.",
}


def _certificate(
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer: x509.Name,
    signer: rsa.RSAPrivateKey,
    *,
    ca: bool,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(signer, hashes.SHA256())
    )


def _politi_trust(keys: Path) -> bank.PolitiTrust:
    """A TEST root and Politiet's TEST order-signing certificate under it (F§6.1 subject)."""
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Testrot for banken")])
    root = _certificate(root_name, root_key, root_name, root_key, ca=True)
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Påtalemyndigheten"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Godkjenning av utleveringspålegg TEST"),
        ]
    )
    leaf = _certificate(leaf_name, leaf_key, root_name, root_key, ca=False)
    _pem(leaf_key, keys / "politi-eo.pem")
    (keys / "politi-eo.crt.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    return bank.PolitiTrust({ORDER_KID: leaf_key.public_key()}, root, dict(REASONS))


ENCRYPTION_ORGS = {
    "skatteetaten": (bank.SKATTEETATEN,),
    "digdir": bank.DIGDIR,
    "srf": ("986186999",),
    "brreg": ("974760673",),
    "politiet": ("915429785",),
}
# The credential role of each further consumer -> its organisation's key file.
DECRYPTION_KEYS = {
    "oed": "digdir",
    "vergekontroll": "srf",
    "konkursbehandling": "brreg",
    "politi_utlevering": "politiet",
}


@dataclass
class World:
    base_url: str
    token_url: str
    issuer: TinyIssuer
    provider: bank.Bank
    keys: Path


def _pem(key: rsa.RSAPrivateKey, path: Path) -> str:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(path)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    keys = tmp_path_factory.mktemp("independent-dsop-keys")
    signing = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _pem(signing, keys / "issuer.pem")
    # Each consumer organisation's encryption certificate (what CertPub would hand the bank).
    certificates: dict[str, dict[str, Any]] = {}
    for name, orgs in ENCRYPTION_ORGS.items():
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _pem(private, keys / f"{name}-enc.pem")
        public_jwk = dict(RSAKey.import_key(private.public_key()).as_dict(private=False))
        public_jwk["kid"] = f"certpub-{name}-1"
        certificates.update(dict.fromkeys(orgs, public_jwk))
    issuer = TinyIssuer(signing, CLIENTS)
    with serve(issuer.app()) as issuer_url:
        issuer.issuer = issuer_url + "/"
        config = bank.BankConfig(
            issuer=issuer.issuer,
            audience="",
            jwks_url=issuer_url + "/jwks",
            encryption_keys=certificates,
            rate_limits={"skatt-throttled": 5},
            politi=_politi_trust(keys),
        )
        app = bank.create_app(config)
        with serve(app) as provider_url:
            config.audience = provider_url + "/v2"
            issuer.default_audience = config.audience
            yield World(config.audience, issuer_url + "/token", issuer, app.state.bank, keys)


def _references(world: World, party: str) -> dict[str, str]:
    """accountIdentifier -> accountReference as the bank lists them (the engineer's lookup)."""
    token = world.issuer.mint("skatt-test", [SCOPE], world.base_url)
    response = httpx.get(
        world.base_url + "/accounts",
        params={"OnlyPrimaryOwner": "true", "fromDate": "2017-01-01"},
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/jose",
            "AccountInfoRequestID": str(uuid.uuid4()),
            "CorrelationID": str(uuid.uuid4()),
            "Legal-Mandate": urllib.parse.quote(MANDATE),
            "RequesterID": "saksbehandler-7",
            "PartyID": party,
        },
    )
    response.raise_for_status()
    key = RSAKey.import_key((world.keys / "skatteetaten-enc.pem").read_bytes())
    registry = JWERegistry(algorithms=["RSA-OAEP-256", "A256GCM"])
    body = json.loads(jwe.decrypt_compact(response.text, key, registry=registry).plaintext or b"")
    return {a["accountIdentifier"]: a["accountReference"] for a in body["accounts"]}


def _client(world: World, client_id: str, scope: str = SCOPE) -> dict[str, Any]:
    return {
        "type": "oauth2-client-credentials",
        "token_url": world.token_url,
        "client_id": client_id,
        "client_secret": CLIENTS[client_id].secret,
        "scope": scope,
    }


def manifest(world: World, **overrides: Any) -> Manifest:
    """The manifest a bank's engineer writes for this provider (from `kontrakt init`)."""
    kari = {a.number: a for a in world.provider.accounts if a.owner == bank.KARI}
    refs = _references(world, bank.KARI)
    ward = _references(world, bank.WARD)
    died, ruled = bank.DEATHS[bank.ARNE], bank.RULINGS[bank.BANKRUPT]
    salary, closed = next(iter(kari)), list(kari)[2]
    from_date = world.provider.today - dt.timedelta(days=390)
    expected = sum(1 for t in kari[salary].transactions if t["_day"] >= from_date)
    data: dict[str, Any] = {
        "profile": PROFILE,
        "base_url": world.base_url,
        "environment": "test",
        "level": "default",
        "auth": _client(world, "skatt-test"),
        "credentials": {
            "throttled": _client(world, "skatt-throttled"),
            "wrong_scope": _client(world, "skatt-kundeforhold", "bits:kundeforhold"),
            "fi_utlegg": _client(world, "namsmannen-test"),
            "oed": _client(world, "digdir-oed-test"),
            "vergekontroll": _client(world, "srf-verge-test"),
            "konkursbehandling": _client(world, "brreg-konkurs-test"),
            "politi_utlevering": _client(world, "politi-test"),
        },
        "decryption_key": str(world.keys / "skatteetaten-enc.pem"),
        "decryption_keys": {
            role: str(world.keys / f"{name}-enc.pem") for role, name in DECRYPTION_KEYS.items()
        },
        "negative_auth": {
            "signing_key": str(world.keys / "issuer.pem"),
            "kid": TinyIssuer.kid,
        },
        "fixtures": {
            "service": "Skatt-Kontroll",
            "party_with_accounts": bank.KARI,
            "party_without_accounts": bank.NOBODY,
            "account_reference": refs[salary],
            "closed_account_reference": refs[closed],
            "expected_transactions": expected,
            "from_date": from_date.isoformat(),
            "requester_id": "saksbehandler-7",
            "party_guarantor": bank.GUARANTOR,
            "party_co_borrower": bank.CO_BORROWER,
            "party_shielded": bank.SHIELDED,
            "party_partial": bank.PARTIAL,
            "fault_party": bank.FAULTY,
            "load_requests": 20,
            "extradition_order_key": str(world.keys / "politi-eo.pem"),
            "extradition_order_certificates": [str(world.keys / "politi-eo.crt.pem")],
            "extradition_order_kid": ORDER_KID,
            "extradition_order_reasons": REASONS,
            "consumers": {
                "Politi-Utlevering": {"party_with_accounts": bank.KARI},
                "FI-Utlegg": {"party_with_accounts": bank.KARI},
                "OED": {
                    "party_with_accounts": bank.ARNE,
                    "from_date": (died - dt.timedelta(days=80)).isoformat(),
                },
                "Vergekontroll": {
                    "party_with_accounts": bank.WARD,
                    "additional_reference_id": bank.GUARDIAN,
                    "unmanaged_account_reference": ward[bank.account_number("9710", 200)],
                },
                "Konkursbehandling": {
                    "party_with_accounts": bank.BANKRUPT,
                    "from_date": (ruled - dt.timedelta(days=300)).isoformat(),
                    "party_without_ruling": bank.KARI,
                    "unconfirmed_account_reference": refs[salary],
                },
            },
        },
        "capabilities": [
            "endpoint:listAccounts",
            "endpoint:listTransactions",
            "endpoint:showAccountById",
            "fault-injection",
            "load",
            "service:Skatt-Kontroll",
            "service:FI-Utlegg",
            "service:OED",
            "service:Vergekontroll",
            "service:Konkursbehandling",
            "service:Politi-Utlevering",
            "services",
        ],
    }
    data.update(overrides)
    return Manifest.model_validate(data)


def certify(world: World, patterns: list[str] | None = None, **overrides: Any) -> RunResult:
    profile = load_profile(PROFILE, patterns=patterns)
    return run_profile(profile, manifest(world, **overrides), console=QUIET, progress=False)


def broken(result: RunResult) -> dict[str, str]:
    return {
        r.id: f"{r.verdict}: {r.message}"
        for r in result.results
        if r.verdict in ("fail", "warn", "error")
    }


def test_certify_passes_the_independent_provider(world: World) -> None:
    result = certify(world)
    verdicts = {r.id: r.verdict for r in result.results}
    assert result.complete and result.passed, broken(result)
    assert broken(result) == {}
    assert sum(1 for v in verdicts.values() if v == "pass") >= 60, verdicts


def production(world: World, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The bank switched to production (JWE only); the manifest's overrides for it."""
    monkeypatch.setattr(world.provider, "config", dataclasses.replace(world.provider.config))
    world.provider.config.environment = "production"
    capabilities = manifest(world).capabilities or []
    return {"environment": "production", "capabilities": [*capabilities, "environment:production"]}


def test_certify_passes_the_independent_provider_in_production(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every answer is a JWE to the consumer organisation's own certificate, named in kid, with
    A256GCM; the transactions pages hold 1000 (each JWE far above 64 KiB)."""
    overrides = production(world, monkeypatch)
    result = certify(world, **overrides)
    verdicts = {r.id: r.verdict for r in result.results}
    assert result.complete and result.passed, broken(result)
    assert broken(result) == {}
    assert verdicts["DSOP-JWE-CERTPUB"] == verdicts["DSOP-SERVICE-OED"] == "pass", verdicts


def test_certify_fails_answers_encrypted_to_another_consumer(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Skatteetaten's answers encrypted to Digdir's certificate: the suite holds Digdir's key
    (decryption_keys.oed) and could read them, yet DSOP-JWE-CERTPUB fails."""
    written = manifest(world, **production(world, monkeypatch))
    keys = dict(world.provider.config.encryption_keys)
    keys[bank.SKATTEETATEN] = keys[bank.DIGDIR[0]]
    world.provider.config.encryption_keys = keys
    profile = load_profile(PROFILE, patterns=["DSOP-JWE-CERTPUB"])
    result = run_profile(profile, written, console=QUIET, progress=False)
    assert [r.verdict for r in result.results] == ["fail"], broken(result)


# --- broken twins of the independent bank: certify must fail each -----------------------------


def _missing_header_403(original: Any) -> Any:
    def common(request: Any, caller: Any, endpoint: str) -> Any:
        try:
            return original(request, caller, endpoint)
        except bank.ProviderError as exc:
            if "mangler" in exc.message:
                raise bank.ProviderError(403, "ACC-011", exc.message) from None
            raise

    return common


def _expired_accepted(provider: bank.Bank, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provider, "config", dataclasses.replace(provider.config))
    provider.config.leeway_seconds = 10 * 24 * 3600


def _oed_serves_cards(provider: bank.Bank, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        bank.ENDPOINTS_BY_SERVICE, "OED", {*bank.ENDPOINTS_BY_SERVICE["OED"], "cards"}
    )


def _bankruptcy_unconfirmed(provider: bank.Bank, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(bank.RULINGS, bank.KARI, bank.RULINGS[bank.BANKRUPT])


def _guardian_sees_all(provider: bank.Bank, monkeypatch: pytest.MonkeyPatch) -> None:
    pair = (bank.WARD, bank.GUARDIAN)
    every = {a.number for a in provider.accounts if a.owner == bank.WARD}
    monkeypatch.setitem(bank.GUARDIANSHIPS, pair, every)


def _any_scope(original: Any) -> Any:
    def authenticate(request: Any) -> Any:
        try:
            return original(request)
        except bank.ProviderError as exc:
            if exc.status != 403:
                raise
            return bank.Caller(bank.SKATTEETATEN, "anyone")

    return authenticate


def _leaks_other_party(original: Any) -> Any:
    def list_accounts(request: Any, caller: Any) -> Any:
        body = original(request, caller)
        if not body["accounts"] and request.headers.get("PartyID") == bank.NOBODY:
            kari = [a for a in body_of(bank.KARI)]
            body["accounts"] = kari
        return body

    def body_of(party: str) -> list[dict[str, Any]]:
        provider: bank.Bank = list_accounts.provider  # type: ignore[attr-defined]
        owned = [a for a in provider.accounts if a.owner == party]
        return [provider._account(a, party, provider.today) for a in owned]

    return list_accounts


def _throttle_503(original: Any) -> Any:
    def throttle(caller: Any) -> None:
        try:
            original(caller)
        except bank.ProviderError as exc:
            raise bank.ProviderError(503, "", "") from exc

    return throttle


def _order_unverified(original: Any) -> Any:
    """Reads the extradition order without checking its signature or chain."""

    def verify_order(token: str, mandate: str) -> dict[str, Any]:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
        claims["_from"] = dt.date.fromisoformat(str(claims["fromDate"]))
        claims["_to"] = dt.date.fromisoformat(str(claims["toDate"]))
        return claims

    return verify_order


def _order_flags_ignored(original: Any) -> Any:
    def verify_order(token: str, mandate: str) -> dict[str, Any]:
        claims: dict[str, Any] = original(token, mandate)
        return {**claims, **dict.fromkeys(bank.ORDER_FLAGS.values(), True)}

    return verify_order


def _order_party_ignored(original: Any) -> Any:
    def party_checks(call: Any, party: str) -> None:
        if call.order is not None:
            call = dataclasses.replace(call, order={**call.order, "partyID": party})
        original(call, party)

    return party_checks


def _period_ignored(original: Any) -> Any:
    """Lists the account's transactions of every period, whatever fromDate/toDate ask."""

    def list_transactions(request: Any, caller: Any) -> Any:
        body = original(request, caller)
        provider: bank.Bank = list_transactions.provider  # type: ignore[attr-defined]
        call = provider.common(request, caller, "transactions")
        account, _ = provider.account_for(request, call)
        if "pageToken" not in request.query_params:
            every = account.transactions[: provider.config.page_size]
            body["transactions"] = [{k: v for k, v in t.items() if k != "_day"} for t in every]
        return body

    return list_transactions


@dataclass(frozen=True)
class Defect:
    name: str
    method: str | None
    wrap: Any
    rules: tuple[str, ...]
    verdict: str = "fail"  # "warn" for a SHOULD of the publisher


DEFECTS = (
    Defect("missing-header-403", "common", _missing_header_403, ("DSOP-ACC-400-MISSING-*",)),
    Defect("expired-token-accepted", None, _expired_accepted, ("DSOP-ACC-401-EXPIRED-TOKEN",)),
    Defect("any-scope-accepted", "authenticate", _any_scope, ("DSOP-ACC-403-WRONG-SCOPE",)),
    Defect(
        "lists-another-partys-accounts",
        "list_accounts",
        _leaks_other_party,
        ("DSOP-EMPTY-ACCOUNTS-200",),
    ),
    Defect("throttled-503-without-body", "throttle", _throttle_503, ("DSOP-ACC-429",)),
    Defect(
        "transactions-outside-period", "list_transactions", _period_ignored, ("DSOP-EMPTY-LIST*",)
    ),
    Defect("oed-serves-cards", None, _oed_serves_cards, ("DSOP-SERVICE-OED",)),
    # The Konkurs page: the bank "should" confirm the bankruptcy - a SHOULD, so a warning.
    Defect(
        "konkurs-serves-without-ruling",
        None,
        _bankruptcy_unconfirmed,
        ("DSOP-KONKURS-*",),
        verdict="warn",
    ),
    Defect("guardian-sees-unmanaged", None, _guardian_sees_all, ("DSOP-VERGE-SCOPE",)),
    Defect(
        "order-signature-unchecked", "verify_order", _order_unverified, ("DSOP-POLITI-EO-SIG*",)
    ),
    Defect("order-flags-ignored", "verify_order", _order_flags_ignored, ("DSOP-ACC-403-EO-*",)),
    Defect(
        "order-party-ignored", "party_checks", _order_party_ignored, ("DSOP-POLITI-EO-REQUEST*",)
    ),
)


@pytest.mark.parametrize("defect", DEFECTS, ids=lambda d: d.name)
def test_certify_fails_a_broken_twin(
    world: World, defect: Defect, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = world.provider
    if defect.method is None:
        defect.wrap(provider, monkeypatch)
    else:
        wrapped = defect.wrap(getattr(provider, defect.method))
        wrapped.provider = provider
        monkeypatch.setattr(provider, defect.method, wrapped)
    monkeypatch.setattr(provider, "windows", {})
    result = certify(world, list(defect.rules))
    verdicts = {r.id: r.verdict for r in result.results}
    assert defect.verdict in verdicts.values(), broken(result)
    assert "error" not in verdicts.values(), broken(result)
    assert result.passed == (defect.verdict == "warn"), broken(result)
