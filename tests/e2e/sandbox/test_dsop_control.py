"""The DSOP Control v2.0 sandbox bank end to end: real sockets, real tokens, the generated client.

The provider (`kontrakt/sandbox/dsop_control`) runs under `Sandbox.start(["dsop-control"])` with small
page sizes; tokens come from the sandbox issuer over HTTP (client credentials, and the RFC 7523
JWT-bearer grant signed with `kontrakt/sandbox/fixtures/keys/client.pem`), and the generated
`generated.dsop_control_v2` client drives every call. Covered: each service's happy path and
endpoint restrictions (read from the spec's `x-kontrakt-services`), every ACC code of the
catalogue, the Politi extradition-order checks, pagination walked to the end, balances, masking,
roles, the JWE round trip and the rate limit.
"""

from __future__ import annotations

import datetime
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import jwt
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from joserfc import jwe
from joserfc.jwk import RSAKey
from jsonschema import Draft202012Validator

from kontrakt.generated.dsop_control_v2 import (
    AccountDetails,
    Accounts,
    AsyncClient,
    Cards,
    Client,
    Roles,
    Transactions,
)
from kontrakt.runtime.client import ApiError, ClientCredentials, JwtBearerGrant
from kontrakt.sandbox.clients import load_private_key
from kontrakt.sandbox.dsop_control import (
    CONTENT_ENCRYPTION,
    KEY_ENCRYPTION,
    Fixture,
    ServiceCatalogue,
    account_reference,
    build_app,
    build_bank,
    mask_card_number,
    order_claims,
    sign_extradition_order,
)
from kontrakt.sandbox.dsop_control.handlers import DsopBank
from kontrakt.sandbox.dsop_control.services import SPEC_PATH, months_before, years_before
from kontrakt.sandbox.issuer import TokenIssuer
from kontrakt.sandbox.keys import COMMITTED as KEYS
from kontrakt.sandbox.launch import Sandbox, in_process_context

SCOPE = "bits:kontoinformasjon"
TODAY = datetime.date.today()
SERVICES = ServiceCatalogue.from_spec()
FIXTURE = Fixture.load()
SECRET = str(FIXTURE.bank["reference_secret"])
SPEC = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))

# Fixture parties (kontrakt/sandbox/fixtures/dsop.yaml; all synthetic).
KARI = "12858510048"  # every account type, co-owner and viewer of two more
OLA_NO_ACCOUNTS = "03889010281"
MONA_CO_BORROWER = "14847910071"
KARE_GUARANTOR = "09896610055"
ARNE_DECEASED = "15814810035"  # died 2026-09-14
KONKURSBO = "310000132"  # bankruptcy ruling 2026-10-05
VERA_WARD = "21820910068"
GUNNAR_GUARDIAN = "07877210051"
SIRI_SHIELDED = "30868210059"
FAULT_100 = "02919110190"
FAULT_500 = "19837510093"
PER_PARTIAL = "11906910014"
KARI_SALARY = "97100000028"  # 27 weekly transactions + 1 pending + 1 info
KARI_CLOSED = "97100000133"  # closed today-45
KARI_CREDIT_CARD = "97100000095"
KARI_LOAN = "97100000044"
JONAS_JOINT = "97100000141"  # Kari co-owner
JONAS_SALARY = "97100000168"  # Kari view only
ARNE_SALARY = "97100000184"
VERA_MANAGED = "97100000222"
VERA_OWN = "97100000230"
FAULTY_100 = "97100000273"
FAULTY_500 = "97100000281"

# The sandbox's TEST consumer organisations (clients.yaml) per DSOP service.
CLIENTS = {
    "Skatt-Kontroll": ("skatt-kontroll-test", "sandbox-skatt-secret"),
    "Politi-Utlevering": ("politi-utlevering-test", "sandbox-politi-secret"),
    "OED": ("oed-test", "sandbox-oed-secret"),
    "Vergekontroll": ("vergekontroll-test", "sandbox-verge-secret"),
    "Konkursbehandling": ("konkurs-test", "sandbox-konkurs-secret"),
    "FI-Utlegg": ("fi-utlegg-test", "sandbox-fi-utlegg-secret"),
}
UNREGISTERED = ("unregistered-consumer-test", "sandbox-unregistered-secret")
PAGE_SIZE = 10

LAST_YEAR = (datetime.date(TODAY.year - 1, 1, 1), datetime.date(TODAY.year - 1, 12, 31))
OPERATIONS = ("listAccounts", "showAccountById", "listTransactions", "listCards", "listRoles")
PER_ACCOUNT = OPERATIONS[1:]


def _days(n: int) -> datetime.date:
    return TODAY - datetime.timedelta(days=n)


def ref(number: str) -> str:
    return account_reference(SECRET, number)


def encoded(mandate: str) -> str:
    """The Legal-Mandate header value: the spec's mandate text, URL-encoded."""
    return quote(mandate, safe="")


def mandate_of(service: str, index: int = 0) -> str:
    return encoded(SERVICES[service].legal_mandates[index])


def ids() -> dict[str, Any]:
    return {"account_info_request_id": uuid.uuid4(), "correlation_id": uuid.uuid4()}


def politi_order(party: str = KARI, **kwargs: Any) -> str:
    kwargs.setdefault("from_date", TODAY - datetime.timedelta(days=365))
    kwargs.setdefault("to_date", TODAY)
    return sign_extradition_order(order_claims(party, **kwargs))


def service_args(service: str, **overrides: Any) -> dict[str, Any]:
    """Valid common arguments for a service: mandate, RequesterID, reference and period."""
    args: dict[str, Any] = {**ids(), "legal_mandate": mandate_of(service)}
    if SERVICES[service].requires_requester_id:
        args["requester_id"] = "saksbehandler-0001"
    if service == "Politi-Utlevering":
        args.update(
            additional_reference_id_type="pol1",
            additional_reference_id=politi_order(),
            from_date=TODAY - datetime.timedelta(days=180),
            to_date=TODAY,
        )
    elif service == "Vergekontroll":
        args.update(
            additional_reference_id_type="srf",
            additional_reference_id=GUNNAR_GUARDIAN,
            from_date=LAST_YEAR[0],
            to_date=LAST_YEAR[1],
        )
    elif service == "OED":
        args.update(from_date=months_before(datetime.date(2026, 9, 14), 3), to_date=TODAY)
    elif service == "Konkursbehandling":
        args.update(from_date=months_before(datetime.date(2026, 10, 5), 12), to_date=TODAY)
    elif service == "FI-Utlegg":
        args.update(from_date=TODAY, to_date=TODAY)
    else:
        args.update(from_date=TODAY - datetime.timedelta(days=365), to_date=TODAY)
    args.update(overrides)
    return args


# --- the sandbox, tokens and clients ----------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    options = {"dsop-control": {"page_size": PAGE_SIZE, "accounts_page_size": PAGE_SIZE}}
    with Sandbox.start(["dsop-control"], options=options) as started:
        yield started


@pytest.fixture(scope="module")
def auths(sandbox: Sandbox) -> dict[str, ClientCredentials]:
    """One client-credentials auth per service consumer: real tokens from the issuer over HTTP."""
    url = sandbox.url("dsop-control")
    return {
        service: ClientCredentials(sandbox.token_url, cid, secret, scope=SCOPE, resource=url)
        for service, (cid, secret) in {**CLIENTS, "unregistered": UNREGISTERED}.items()
    }


@pytest.fixture(scope="module")
def bank(
    sandbox: Sandbox, auths: dict[str, ClientCredentials]
) -> Iterator[Callable[[str], Client]]:
    clients: dict[str, Client] = {}

    def client(service: str) -> Client:
        if service not in clients:
            clients[service] = Client(sandbox.url("dsop-control"), auth=auths[service], retry=None)
        return clients[service]

    yield client
    for c in clients.values():
        c.close()


def minted(sandbox: Sandbox, client_id: str = "skatt-kontroll-test", **kwargs: Any) -> str:
    """A token minted directly by the sandbox issuer (for the many negative cases)."""
    issuer = sandbox.context.issuer
    client = issuer.registry.get(client_id)
    assert client is not None
    audience = kwargs.pop("audience", sandbox.url("dsop-control"))
    scopes = kwargs.pop("scopes", [SCOPE])
    token, _ = issuer.mint(client, scopes, audience, **kwargs)
    return token


def raw(
    sandbox: Sandbox,
    path: str,
    *,
    token: str | None,
    method: str = "GET",
    params: dict[str, str] | None = None,
    headers: dict[str, str | bytes] | None = None,
) -> httpx.Response:
    """A hand-built request, for what the typed client cannot send (bad formats, methods)."""
    sent: dict[str, str | bytes] = {
        "AccountInfoRequestID": str(uuid.uuid4()),
        "CorrelationID": str(uuid.uuid4()),
        "Legal-Mandate": mandate_of("Skatt-Kontroll"),
        "RequesterID": "saksbehandler-0001",
        "PartyID": KARI,
        "Accept": "application/json",
    }
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    sent.update(headers or {})
    sent = {k: v for k, v in sent.items() if v != ""}
    return httpx.request(
        method, sandbox.url("dsop-control") + path, params=params, headers=sent, timeout=10
    )


def fails(call: Callable[[], Any], status: int, code: str) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call()
    error = caught.value
    assert (error.status, error.code) == (status, code), error.body
    assert isinstance(error.message, str) and error.message
    return error


def schema_errors(name: str, body: Any) -> list[str]:
    schema = {"$ref": f"#/components/schemas/{name}", "components": SPEC["components"]}
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]


# --- tokens -----------------------------------------------------------------------------------


def test_jwt_bearer_grant_and_client_credentials_both_get_in(sandbox: Sandbox) -> None:
    url = sandbox.url("dsop-control")
    grant = JwtBearerGrant(
        sandbox.token_url,
        "skatt-kontroll-test",
        audience=sandbox.issuer_url,
        private_key=(KEYS / "client.pem").read_bytes(),
        scope=SCOPE,
        resource=url,
    )
    secret = ClientCredentials(
        sandbox.token_url, "skatt-kontroll-test", "sandbox-skatt-secret", scope=SCOPE, resource=url
    )
    for auth in (grant, secret):
        with Client(url, auth=auth, retry=None) as client:
            for _ in range(2):  # DSOP-TOKEN-REUSE: the same token serves several requests
                body = client.list_accounts(
                    **service_args("Skatt-Kontroll"), party_id=KARI, only_primary_owner=True
                )
                assert body.accounts


# --- every service's happy path ---------------------------------------------------------------


HAPPY = {
    # service -> (party, an account of it, operations it may call)
    "Skatt-Kontroll": (KARI, KARI_SALARY),
    "Politi-Utlevering": (KARI, KARI_SALARY),
    "OED": (ARNE_DECEASED, ARNE_SALARY),
    "Vergekontroll": (VERA_WARD, VERA_MANAGED),
    "Konkursbehandling": (KONKURSBO, "97100000206"),
    "FI-Utlegg": (KARI, KARI_SALARY),
}


@pytest.mark.parametrize("service", list(HAPPY))
def test_every_allowed_endpoint_of_every_service(
    bank: Callable[[str], Client], service: str
) -> None:
    party, number = HAPPY[service]
    client = bank(service)
    accounts = client.list_accounts(
        **service_args(service), party_id=party, only_primary_owner=True
    )
    assert isinstance(accounts, Accounts)
    assert accounts.response_details.status.value == "complete"
    listed = {a.account_identifier.root: a.account_reference.root for a in accounts.accounts or []}
    assert listed[number] == ref(number)  # DSOP-ACCOUNT-REFERENCE-USABLE
    allowed = SERVICES[service].operations
    calls: dict[str, tuple[Callable[..., Any], type]] = {
        "showAccountById": (client.show_account_by_id, AccountDetails),
        "listTransactions": (client.list_transactions, Transactions),
        "listCards": (client.list_cards, Cards),
        "listRoles": (client.list_roles, Roles),
    }
    for operation, (call, model) in calls.items():
        if operation in allowed:
            body = call(**service_args(service), account_reference=listed[number])
            assert isinstance(body, model)
            assert body.response_details.status.value == "complete"


def test_vergekontroll_sees_only_accounts_the_guardian_manages(
    bank: Callable[[str], Client],
) -> None:
    body = bank("Vergekontroll").list_accounts(
        **service_args("Vergekontroll"), party_id=VERA_WARD, only_primary_owner=True
    )
    assert [a.account_identifier.root for a in body.accounts or []] == [VERA_MANAGED]
    txs = bank("Vergekontroll").list_transactions(
        **service_args("Vergekontroll"), account_reference=ref(VERA_MANAGED)
    )
    assert [t.transaction_identifier for t in txs.transactions or []] == [
        "TX-VERA-1",
        "TX-VERA-2",
        "TX-VERA-3",
    ]
    # The ward's own account is outside the guardianship: 404 ACC-003 (relation not found).
    fails(
        lambda: bank("Vergekontroll").show_account_by_id(
            **service_args("Vergekontroll"), account_reference=ref(VERA_OWN)
        ),
        404,
        "ACC-003",
    )


# --- endpoints outside a service (DSOP-ACC-400-SERVICE-ENDPOINT) ------------------------------


OUTSIDE = [(s.name, op) for s in SERVICES for op in OPERATIONS if not s.allows(op)]


def test_the_spec_restricts_some_services() -> None:
    assert ("OED", "listCards") in OUTSIDE and ("FI-Utlegg", "listTransactions") in OUTSIDE


@pytest.mark.parametrize(("service", "operation"), OUTSIDE)
def test_endpoint_outside_the_service_gets_the_specs_outside_answer(
    bank: Callable[[str], Client], service: str, operation: str
) -> None:
    client = bank(service)
    method = getattr(
        client,
        {
            "showAccountById": "show_account_by_id",
            "listTransactions": "list_transactions",
            "listCards": "list_cards",
            "listRoles": "list_roles",
        }[operation],
    )
    outside = SERVICES[service].outside
    fails(
        lambda: method(**service_args(service), account_reference=ref(HAPPY[service][1])),
        outside.status,
        outside.code,
    )


@pytest.mark.parametrize("operation", PER_ACCOUNT)
def test_politi_endpoint_flag_false_is_403_acc_011(
    bank: Callable[[str], Client], operation: str
) -> None:
    from kontrakt.sandbox.dsop_control.extradition import ENDPOINT_FLAGS

    order = politi_order(flags={ENDPOINT_FLAGS[operation]: False})
    client = bank("Politi-Utlevering")
    name = {
        "showAccountById": "show_account_by_id",
        "listTransactions": "list_transactions",
        "listCards": "list_cards",
        "listRoles": "list_roles",
    }[operation]
    args = service_args("Politi-Utlevering", additional_reference_id=order)
    fails(lambda: getattr(client, name)(**args, account_reference=ref(KARI_SALARY)), 403, "ACC-011")
    # The other endpoints of the same order still answer.
    other = next(op for op in PER_ACCOUNT if op != operation)
    other_name = {
        "showAccountById": "show_account_by_id",
        "listTransactions": "list_transactions",
        "listCards": "list_cards",
        "listRoles": "list_roles",
    }[other]
    getattr(client, other_name)(**args, account_reference=ref(KARI_SALARY))


# --- the Politi extradition order (DSOP-POLITI-EO-*) ------------------------------------------


def _self_signed(subject_cn: str) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Påtalemyndigheten"),
            x509.NameAttribute(NameOID.COMMON_NAME, subject_cn),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _bad_orders() -> dict[str, Callable[[], str]]:
    second = SERVICES["Politi-Utlevering"].legal_mandates[1]
    claims = lambda **kw: order_claims(  # noqa: E731
        KARI, from_date=TODAY - datetime.timedelta(days=365), to_date=TODAY, **kw
    )
    forged_key, forged_cert = _self_signed("Godkjenning av utleveringspålegg TEST")
    now = int(time.time())
    return {
        "not a JWS": lambda: "not-a-jws",
        "signed by another key": lambda: sign_extradition_order(claims(), private_key=forged_key),
        "self-signed x5c": lambda: sign_extradition_order(
            claims(), private_key=forged_key, certificate=forged_cert
        ),
        "unknown kid": lambda: sign_extradition_order(claims(), kid="politi-unknown"),
        "RS256 not PS256": lambda: sign_extradition_order(claims(), algorithm="RS256"),
        "expired": lambda: sign_extradition_order(claims(now=now - 40 * 86400, valid_days=30)),
        "valid more than 90 days": lambda: sign_extradition_order(claims(valid_days=120)),
        "missing caseID": lambda: sign_extradition_order(
            {k: v for k, v in claims().items() if k != "caseID"}
        ),
        "wrong version": lambda: sign_extradition_order(claims(version="2.0.0")),
        "mandate not §210 (3)": lambda: sign_extradition_order(
            claims(mandate=SERVICES["Skatt-Kontroll"].legal_mandates[0])
        ),
        "reason does not match mandate": lambda: sign_extradition_order(
            claims(reason=FIXTURE.extradition_orders["reasons"][second])
        ),
        "more than 10 years back": lambda: sign_extradition_order(
            order_claims(KARI, from_date=years_before(TODAY, 11), to_date=TODAY)
        ),
        "accountList false": lambda: sign_extradition_order(claims(accountList=False)),
        "another party": lambda: sign_extradition_order(
            order_claims(MONA_CO_BORROWER, from_date=_days(365), to_date=TODAY)
        ),
        "period shorter than the request": lambda: sign_extradition_order(
            order_claims(KARI, from_date=TODAY - datetime.timedelta(days=30), to_date=TODAY)
        ),
        "other mandate than the header": lambda: sign_extradition_order(claims(mandate=second)),
    }


BAD_ORDERS = _bad_orders()
# What each broken order must be refused for (the message names the failed check).
ORDER_REASONS = {
    "not a JWS": "not a JWS",
    "signed by another key": "signature does not verify",
    "self-signed x5c": "x5c leaf",
    "unknown kid": "kid",
    "RS256 not PS256": "PS256",
    "expired": "expired",
    "valid more than 90 days": "90 days",
    "missing caseID": "lacks caseID",
    "wrong version": "version",
    "mandate not §210 (3)": "§210 (3) mandate",
    "reason does not match mandate": "reason",
    "more than 10 years back": "10 years back",
    "accountList false": "accountList",
    "another party": "PartyID",
    "period shorter than the request": "outside the extradition order's period",
    "other mandate than the header": "not the mandate of the extradition order",
}


@pytest.mark.parametrize("case", list(BAD_ORDERS))
def test_invalid_extradition_order_is_400_acc_001(bank: Callable[[str], Client], case: str) -> None:
    args = service_args("Politi-Utlevering", additional_reference_id=BAD_ORDERS[case]())
    error = fails(
        lambda: bank("Politi-Utlevering").list_accounts(
            **args, party_id=KARI, only_primary_owner=False
        ),
        400,
        "ACC-001",
    )
    assert ORDER_REASONS[case] in (error.message or ""), error.message


def test_order_only_primary_owner_is_not_loosened(bank: Callable[[str], Client]) -> None:
    client = bank("Politi-Utlevering")
    args = service_args(
        "Politi-Utlevering", additional_reference_id=politi_order(only_primary_owner=True)
    )
    fails(
        lambda: client.list_accounts(**args, party_id=KARI, only_primary_owner=False),
        400,
        "ACC-001",
    )
    assert client.list_accounts(**args, party_id=KARI, only_primary_owner=True).accounts
    # Without the order's type, or with the guardian type, the mandate is not satisfied.
    for changed in (
        {"additional_reference_id_type": None},
        {"additional_reference_id_type": "srf"},
    ):
        broken = {**args, **changed}
        fails(
            lambda b=broken: client.list_accounts(**b, party_id=KARI, only_primary_owner=True),
            400,
            "ACC-001",
        )


def test_order_party_must_hold_a_role_on_the_account(bank: Callable[[str], Client]) -> None:
    fails(
        lambda: bank("Politi-Utlevering").list_roles(
            **service_args("Politi-Utlevering"), account_reference=ref(ARNE_SALARY)
        ),
        404,
        "ACC-003",
    )


# --- ACC-001: headers, formats, combinations and service rules --------------------------------


def test_missing_headers_through_the_client(bank: Callable[[str], Client]) -> None:
    client = bank("Skatt-Kontroll")
    for missing in ("account_info_request_id", "correlation_id", "legal_mandate", "requester_id"):
        args = {**service_args("Skatt-Kontroll"), missing: None}
        fails(
            lambda a=args: client.list_accounts(**a, party_id=KARI, only_primary_owner=True),
            400,
            "ACC-001",
        )
        fails(
            lambda a=args: client.list_roles(**a, account_reference=ref(KARI_SALARY)),
            400,
            "ACC-001",
        )


RAW_400 = {
    "no PartyID": ("/accounts", {"OnlyPrimaryOwner": "true"}, {"PartyID": ""}),
    "no OnlyPrimaryOwner": ("/accounts", {}, {}),
    "OnlyPrimaryOwner=yes": ("/accounts", {"OnlyPrimaryOwner": "yes"}, {}),
    "OnlyPrimaryOwner=1": ("/accounts", {"OnlyPrimaryOwner": "1"}, {}),
    "CorrelationID not a UUID": (
        "/accounts",
        {"OnlyPrimaryOwner": "true"},
        {"CorrelationID": "abc"},
    ),
    "UUID without hyphens": (
        "/accounts",
        {"OnlyPrimaryOwner": "true"},
        {"AccountInfoRequestID": uuid.uuid4().hex},
    ),
    "month 13": ("/accounts", {"OnlyPrimaryOwner": "true", "fromDate": "2026-13-01"}, {}),
    "date without dashes": ("/accounts", {"OnlyPrimaryOwner": "true", "toDate": "20261201"}, {}),
    "date-time for a date": (
        f"/accounts/{ref(KARI_SALARY)}",
        {"fromDate": f"{TODAY}T00:00:00"},
        {},
    ),
    "PartyID not an identifier": ("/accounts", {"OnlyPrimaryOwner": "true"}, {"PartyID": "12345"}),
    "unknown mandate": (
        "/accounts",
        {"OnlyPrimaryOwner": "true"},
        {"Legal-Mandate": "Ingen%20lov"},
    ),
    "mandate sent unencoded (UTF-8 bytes)": (
        "/accounts",
        {"OnlyPrimaryOwner": "true"},
        {"Legal-Mandate": SERVICES["Skatt-Kontroll"].legal_mandates[0].encode()},
    ),
    "unknown AdditionalReferenceIDType": (
        "/accounts",
        {"OnlyPrimaryOwner": "true"},
        {"AdditionalReferenceIDType": "pol2", "AdditionalReferenceID": "x"},
    ),
    "page beyond the last": (
        f"/accounts/{ref(KARI_SALARY)}/transactions",
        {"page": "9"},
        {},
    ),
    "page not a number": ("/accounts", {"OnlyPrimaryOwner": "true", "page": "two"}, {}),
}


@pytest.mark.parametrize("case", list(RAW_400))
def test_malformed_requests_are_400_acc_001(sandbox: Sandbox, case: str) -> None:
    path, params, headers = RAW_400[case]
    response = raw(sandbox, path, token=minted(sandbox), params=params, headers=headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["code"] == "ACC-001"


SERVICE_400 = {
    # case -> (service, party, only_primary_owner, argument overrides)
    "fromDate after toDate": (
        "Skatt-Kontroll",
        KARI,
        True,
        {"from_date": TODAY, "to_date": _days(1)},
    ),
    "Skatt: 11 years back": ("Skatt-Kontroll", KARI, True, {"from_date": years_before(TODAY, 11)}),
    "Skatt: no RequesterID": ("Skatt-Kontroll", KARI, True, {"requester_id": None}),
    "Skatt: an AdditionalReferenceID it does not take": (
        "Skatt-Kontroll",
        KARI,
        True,
        {"additional_reference_id_type": "srf", "additional_reference_id": GUNNAR_GUARDIAN},
    ),
    "Politi: no RequesterID": ("Politi-Utlevering", KARI, False, {"requester_id": None}),
    "OED: OnlyPrimaryOwner=false": ("OED", ARNE_DECEASED, False, {}),
    "OED: fromDate before death - 3 months": (
        "OED",
        ARNE_DECEASED,
        True,
        {"from_date": months_before(datetime.date(2026, 9, 14), 3) - datetime.timedelta(days=1)},
    ),
    "OED: toDate not today": ("OED", ARNE_DECEASED, True, {"to_date": _days(1)}),
    "OED: party not deceased": ("OED", KARI, True, {}),
    "Vergekontroll: no guardian": (
        "Vergekontroll",
        VERA_WARD,
        True,
        {"additional_reference_id_type": None, "additional_reference_id": None},
    ),
    "Vergekontroll: guardian not an identity number": (
        "Vergekontroll",
        VERA_WARD,
        True,
        {"additional_reference_id": "12345678901"},
    ),
    "Vergekontroll: this year": (
        "Vergekontroll",
        VERA_WARD,
        True,
        {"to_date": TODAY, "from_date": _days(30)},
    ),
    "Vergekontroll: OnlyPrimaryOwner=false": ("Vergekontroll", VERA_WARD, False, {}),
    "Konkurs: fromDate 13 months before the ruling": (
        "Konkursbehandling",
        KONKURSBO,
        True,
        {"from_date": months_before(datetime.date(2026, 10, 5), 13)},
    ),
    "Konkurs: no bankruptcy registered": ("Konkursbehandling", KARI, True, {}),
    "FI-Utlegg: yesterday": ("FI-Utlegg", KARI, True, {"from_date": _days(1)}),
    "FI-Utlegg: OnlyPrimaryOwner=false": ("FI-Utlegg", KARI, False, {}),
}


@pytest.mark.parametrize("case", list(SERVICE_400))
def test_service_rules_are_400_acc_001(bank: Callable[[str], Client], case: str) -> None:
    service, party, only_primary_owner, overrides = SERVICE_400[case]
    args = service_args(service, **overrides)
    fails(
        lambda: bank(service).list_accounts(
            **args, party_id=party, only_primary_owner=only_primary_owner
        ),
        400,
        "ACC-001",
    )


def test_every_spec_mandate_selects_its_service(bank: Callable[[str], Client]) -> None:
    """Both Skatt mandate texts of the spec are accepted (A-DSOP-015)."""
    for index in range(len(SERVICES["Skatt-Kontroll"].legal_mandates)):
        args = service_args("Skatt-Kontroll", legal_mandate=mandate_of("Skatt-Kontroll", index))
        assert (
            bank("Skatt-Kontroll")
            .list_accounts(**args, party_id=KARI, only_primary_owner=True)
            .accounts
        )


# --- ACC-010 and ACC-011 ----------------------------------------------------------------------


def _bad_tokens(sandbox: Sandbox) -> dict[str, str | None]:
    issuer = sandbox.context.issuer
    client = issuer.registry.get("skatt-kontroll-test")
    assert client is not None
    _, claims = issuer.mint(client, [SCOPE], sandbox.url("dsop-control"))
    other_issuer = TokenIssuer(issuer.registry, "http://127.0.0.1:9/not-maskinporten/")
    return {
        "no token": None,
        "expired": minted(sandbox, now=time.time() - 600),
        "bad signature": jwt.encode(
            claims,
            load_private_key(KEYS / "client.pem"),
            algorithm="RS256",
            headers={"kid": issuer.kid},
        ),
        "wrong audience": minted(sandbox, audience="http://127.0.0.1:9/v2"),
        "wrong issuer": other_issuer.mint(client, [SCOPE], sandbox.url("dsop-control"))[0],
        "not a JWT": "not.a.jwt",
    }


@pytest.mark.parametrize(
    "case", ["no token", "expired", "bad signature", "wrong audience", "wrong issuer", "not a JWT"]
)
@pytest.mark.parametrize(
    "path", ["/accounts?OnlyPrimaryOwner=true", f"/accounts/{ref(KARI_SALARY)}/cards"]
)
def test_bad_tokens_are_401_acc_010(sandbox: Sandbox, case: str, path: str) -> None:
    response = raw(sandbox, path, token=_bad_tokens(sandbox)[case])
    assert response.status_code == 401
    assert response.json()["code"] == "ACC-010"


def test_wrong_scope_over_http_is_403_acc_011(sandbox: Sandbox) -> None:
    auth = ClientCredentials(
        sandbox.token_url,
        "skatt-kontroll-test",
        "sandbox-skatt-secret",
        scope="bits:kundeforhold",
        resource=sandbox.url("dsop-control"),
    )
    with Client(sandbox.url("dsop-control"), auth=auth, retry=None) as client:
        fails(
            lambda: client.list_accounts(
                **service_args("Skatt-Kontroll"), party_id=KARI, only_primary_owner=True
            ),
            403,
            "ACC-011",
        )


@pytest.mark.parametrize(
    ("consumer", "service"),
    [
        ("unregistered", "Skatt-Kontroll"),
        ("OED", "Skatt-Kontroll"),
        ("Skatt-Kontroll", "FI-Utlegg"),
        ("Vergekontroll", "Politi-Utlevering"),
    ],
)
def test_consumer_not_entitled_to_the_mandate_is_403_acc_011(
    bank: Callable[[str], Client], consumer: str, service: str
) -> None:
    party = HAPPY[service][0]
    fails(
        lambda: bank(consumer).list_accounts(
            **service_args(service), party_id=party, only_primary_owner=True
        ),
        403,
        "ACC-011",
    )


# --- ACC-002 / ACC-003, ACC-012, ACC-013, ACC-100 / ACC-500 ------------------------------------


@pytest.mark.parametrize(
    "operation", ["show_account_by_id", "list_transactions", "list_cards", "list_roles"]
)
def test_unknown_account_reference_is_404_acc_002(
    bank: Callable[[str], Client], operation: str
) -> None:
    client = bank("Skatt-Kontroll")
    for reference in (str(uuid.uuid4()), KARI_SALARY, "dataNotDelivered"):
        fails(
            lambda r=reference: getattr(client, operation)(
                **service_args("Skatt-Kontroll"), account_reference=r
            ),
            404,
            "ACC-002",
        )


def test_account_outside_the_estate_is_404_acc_003(bank: Callable[[str], Client]) -> None:
    fails(
        lambda: bank("OED").show_account_by_id(
            **service_args("OED"), account_reference=ref(KARI_SALARY)
        ),
        404,
        "ACC-003",
    )


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@pytest.mark.parametrize(
    "path", ["/accounts", f"/accounts/{ref(KARI_SALARY)}", f"/accounts/{ref(KARI_SALARY)}/roles"]
)
def test_other_methods_are_405_acc_012(sandbox: Sandbox, method: str, path: str) -> None:
    response = raw(sandbox, path, token=minted(sandbox), method=method)
    assert response.status_code == 405
    assert response.json()["code"] == "ACC-012"
    assert response.headers["allow"] == "GET"


def test_unsupported_accept_is_406_acc_013(sandbox: Sandbox) -> None:
    response = raw(
        sandbox,
        "/accounts",
        token=minted(sandbox),
        params={"OnlyPrimaryOwner": "true"},
        headers={"Accept": "text/csv"},
    )
    assert (response.status_code, response.json()["code"]) == (406, "ACC-013")


@pytest.mark.parametrize(("party", "code"), [(FAULT_100, "ACC-100"), (FAULT_500, "ACC-500")])
def test_failing_party_lookup_is_500(bank: Callable[[str], Client], party: str, code: str) -> None:
    fails(
        lambda: bank("Skatt-Kontroll").list_accounts(
            **service_args("Skatt-Kontroll"), party_id=party, only_primary_owner=True
        ),
        500,
        code,
    )


@pytest.mark.parametrize(("number", "code"), [(FAULTY_100, "ACC-100"), (FAULTY_500, "ACC-500")])
@pytest.mark.parametrize(
    "operation", ["show_account_by_id", "list_transactions", "list_cards", "list_roles"]
)
def test_failing_account_lookup_is_500(
    bank: Callable[[str], Client], number: str, code: str, operation: str
) -> None:
    client = bank("Skatt-Kontroll")
    fails(
        lambda: getattr(client, operation)(
            **service_args("Skatt-Kontroll"), account_reference=ref(number)
        ),
        500,
        code,
    )


def test_every_catalogue_code_is_exercised_here() -> None:
    """This module asserts each code of x-kontrakt-error-catalogue (see the tests above)."""
    exercised = {
        "ACC-001",
        "ACC-002",
        "ACC-003",
        "ACC-010",
        "ACC-011",
        "ACC-012",
        "ACC-013",
        "ACC-022",
        "ACC-100",
        "ACC-500",
    }
    assert set(SPEC["x-kontrakt-error-catalogue"]["codes"]) == exercised


# --- pagination -------------------------------------------------------------------------------


def test_transactions_walk_three_pages_without_duplicates(bank: Callable[[str], Client]) -> None:
    args = service_args("Skatt-Kontroll", from_date=_days(365))
    pages = list(
        bank("Skatt-Kontroll").iter_list_transactions(**args, account_reference=ref(KARI_SALARY))
    )
    assert len(pages) == 3
    ids_ = [t.transaction_identifier for p in pages for t in p.transactions or []]
    assert len(ids_) == len(set(ids_)) == 27 + 2  # the series, one pending and one info
    assert [len(p.transactions or []) for p in pages] == [10, 10, 9]
    for number, page in enumerate(pages, start=1):
        links = {link.rel: link.href for link in page.links or []}
        assert set(links) <= {"next", "prev", "self", "last"}
        assert all(
            h.startswith(f"/accounts/{ref(KARI_SALARY)}/transactions?") for h in links.values()
        )
        assert links["self"].endswith(f"page={number}") and links["last"].endswith("page=3")
        assert ("next" in links) == (number < 3) and ("prev" in links) == (number > 1)
    statuses = {t.status.value for p in pages for t in p.transactions or [] if t.status}
    assert statuses == {"booked", "pending", "info"}


@pytest.mark.anyio
async def test_accounts_walk_two_pages_with_the_async_client(
    sandbox: Sandbox, auths: dict[str, ClientCredentials]
) -> None:
    async with AsyncClient(
        sandbox.url("dsop-control"), auth=auths["Skatt-Kontroll"], retry=None
    ) as client:
        pages = [
            page
            async for page in client.aiter_list_accounts(
                **service_args("Skatt-Kontroll", from_date=_days(365)),
                party_id=KARI,
                only_primary_owner=False,
            )
        ]
    numbers = [a.account_identifier.root for p in pages for a in p.accounts or []]
    assert len(pages) == 2 and len(numbers) == len(set(numbers)) == 14
    assert not any(link.rel == "next" for link in pages[-1].links or [])


# --- content rules ----------------------------------------------------------------------------


def _listed(
    bank: Callable[[str], Client], party: str, only_primary_owner: bool, **overrides: Any
) -> list[Any]:
    pages = bank("Skatt-Kontroll").iter_list_accounts(
        **service_args("Skatt-Kontroll", **overrides),
        party_id=party,
        only_primary_owner=only_primary_owner,
    )
    return [a for page in pages for a in page.accounts or []]


def test_account_types_owner_filter_and_opaque_references(bank: Callable[[str], Client]) -> None:
    owned = _listed(bank, KARI, True, from_date=TODAY)
    every_role = _listed(bank, KARI, False, from_date=TODAY)
    enum = set(SPEC["components"]["schemas"]["AccountType"]["enum"])
    assert {a.type.value for a in owned} == enum  # every account type of the spec
    owned_numbers = {a.account_identifier.root for a in owned}
    assert {a.account_identifier.root for a in every_role} - owned_numbers == {
        JONAS_JOINT,
        JONAS_SALARY,
    }
    assert KARI_CLOSED not in owned_numbers  # closed before today
    for account in every_role:
        number, reference = account.account_identifier.root, account.account_reference.root
        assert reference != number and number not in reference.replace("-", "")
        assert account.primary_owner is not None and account.servicer is not None


@pytest.mark.parametrize(
    ("party", "expected"),
    [
        (OLA_NO_ACCOUNTS, []),
        ("23819410186", []),  # a valid identity number the bank does not know
        (KARE_GUARANTOR, []),  # DSOP-GUARANTOR-EMPTY
        (SIRI_SHIELDED, []),  # DSOP-SHIELDED-EMPTY
        (MONA_CO_BORROWER, ["97100000176"]),  # DSOP-CO-BORROWER-NO-LOANS
    ],
)
def test_parties_without_deliverable_accounts_get_200(
    bank: Callable[[str], Client], party: str, expected: list[str]
) -> None:
    body = bank("Skatt-Kontroll").list_accounts(
        **service_args("Skatt-Kontroll"), party_id=party, only_primary_owner=False
    )
    assert [a.account_identifier.root for a in body.accounts or []] == expected
    assert body.response_details.status.value == "complete"


def test_partial_response_explains_itself(bank: Callable[[str], Client]) -> None:
    body = bank("Skatt-Kontroll").list_accounts(
        **service_args("Skatt-Kontroll"), party_id=PER_PARTIAL, only_primary_owner=True
    )
    assert body.response_details.status.value == "partial"
    assert body.response_details.message and 1 <= len(body.response_details.message) <= 500
    assert body.accounts


def _balances(body: AccountDetails) -> dict[str, Any]:
    assert body.account is not None
    return {b.type.value: b for b in body.account.balances or [] if b.type}


def test_balances_today_historical_and_closed(bank: Callable[[str], Client]) -> None:
    client = bank("Skatt-Kontroll")
    today = client.show_account_by_id(
        **service_args("Skatt-Kontroll", from_date=TODAY), account_reference=ref(KARI_SALARY)
    )
    balances = _balances(today)
    assert set(balances) == {"availableBalance", "bookedBalance"}  # DSOP-BALANCES-TODAY
    booked, available = balances["bookedBalance"], balances["availableBalance"]
    assert available.amount.root == pytest.approx(
        booked.amount.root - 420.00
    )  # the reserved card purchase
    assert today.account is not None and today.account.end_date is None
    past = client.show_account_by_id(
        **service_args("Skatt-Kontroll", from_date=_days(400), to_date=_days(100)),
        account_reference=ref(KARI_SALARY),
    )
    assert set(_balances(past)) == {"bookedBalance"}  # DSOP-BALANCES-HISTORICAL
    assert _balances(past)["bookedBalance"].amount.root < booked.amount.root
    closed = client.show_account_by_id(
        **service_args("Skatt-Kontroll", from_date=_days(90)), account_reference=ref(KARI_CLOSED)
    )
    assert closed.account is not None
    assert not closed.account.balances  # DSOP-BALANCES-CLOSED
    assert closed.account.end_date is not None and closed.account.start_date is not None
    assert closed.account.end_date.root > closed.account.start_date.root
    assert closed.account.status is not None and closed.account.status.value == "deleted"
    loan = client.show_account_by_id(
        **service_args("Skatt-Kontroll"), account_reference=ref(KARI_LOAN)
    )
    for balance in _balances(loan).values():  # DSOP-AMOUNT-SIGN
        assert balance.amount.root >= 0 and balance.credit_debit_indicator.value == "debit"
    card = client.show_account_by_id(
        **service_args("Skatt-Kontroll"), account_reference=ref(KARI_CREDIT_CARD)
    )
    assert all(b.credit_line_amount is not None for b in _balances(card).values())


def test_cards_are_masked_and_roles_carry_their_periods(bank: Callable[[str], Client]) -> None:
    client = bank("Skatt-Kontroll")
    args = service_args("Skatt-Kontroll", from_date=years_before(TODAY, 10))
    cards = client.list_cards(**args, account_reference=ref(KARI_SALARY)).payment_cards or []
    assert [c.card_identifier.root for c in cards] == ["400000XXXXXX7899", "400000XXXXXX1120"]
    assert mask_card_number("4000 0012 3456 7899") == "400000XXXXXX7899"
    roles = client.list_roles(**args, account_reference=ref(KARI_SALARY)).roles or []
    by_party = {r.identifier.value: r for r in roles if r.identifier}
    assert by_party[KARI].end_date is None  # still held
    assert by_party["05858310042"].end_date is not None  # the former viewer
    loan_roles = client.list_roles(**args, account_reference=ref(KARI_LOAN)).roles or []
    assert KARE_GUARANTOR not in {r.identifier.value for r in loan_roles if r.identifier}
    assert (
        client.list_cards(
            **service_args("Skatt-Kontroll"), account_reference=ref(JONAS_JOINT)
        ).payment_cards
        == []
    )


def test_every_200_body_validates_against_the_spec(sandbox: Sandbox) -> None:
    """DSOP-SCHEMA-200 on the wire bytes of every operation, for every account of two parties."""
    token = minted(sandbox)
    wide = {"fromDate": str(years_before(TODAY, 10)), "toDate": str(TODAY)}
    checked = 0
    for party in (KARI, KONKURSBO):
        for opo in ("true", "false"):
            listing = raw(
                sandbox,
                "/accounts",
                token=token,
                params={"OnlyPrimaryOwner": opo, **wide},
                headers={"PartyID": party},
            )
            assert listing.status_code == 200 and not schema_errors("Accounts", listing.json())
        for account in listing.json()["accounts"]:
            base = f"/accounts/{account['accountReference']}"
            for suffix, schema in (
                ("", "AccountDetails"),
                ("/transactions", "Transactions"),
                ("/cards", "Cards"),
                ("/roles", "Roles"),
            ):
                for params in (wide, {}):
                    response = raw(sandbox, base + suffix, token=token, params=params)
                    assert response.status_code == 200, response.text
                    assert not schema_errors(schema, response.json()), (
                        base + suffix,
                        schema_errors(schema, response.json()),
                    )
                    checked += 1
    assert checked >= 90


# --- JWE and environments ---------------------------------------------------------------------


def _decrypt(token: str) -> tuple[dict[str, Any], bytes]:
    key = RSAKey.import_key((KEYS / "client.pem").read_bytes())
    message = jwe.decrypt_compact(token, key, algorithms=[KEY_ENCRYPTION, CONTENT_ENCRYPTION])
    return dict(message.protected), message.plaintext or b""


@pytest.mark.parametrize(
    "path",
    [
        "/accounts?OnlyPrimaryOwner=true",
        f"/accounts/{ref(KARI_SALARY)}/roles",
        f"/accounts/{ref(KARI_SALARY)}/transactions",
    ],
)
def test_jwe_round_trip_equals_the_plain_body(sandbox: Sandbox, path: str) -> None:
    token = minted(sandbox)
    plain = raw(sandbox, path, token=token)
    jose = raw(sandbox, path, token=token, headers={"Accept": "application/jose"})
    assert plain.status_code == jose.status_code == 200
    assert jose.headers["content-type"] == "application/jose"
    assert jose.text.count(".") == 4  # DSOP-JWE-PRODUCTION: compact serialisation
    header, plaintext = _decrypt(jose.text)
    assert (header["alg"], header["enc"]) == (KEY_ENCRYPTION, CONTENT_ENCRYPTION)
    assert json.loads(plaintext) == plain.json()
    # Errors are never encrypted (DSOP-ERROR-UNENCRYPTED).
    error = raw(
        sandbox, "/accounts/nope/roles", token=token, headers={"Accept": "application/jose"}
    )
    assert error.status_code == 404 and error.headers["content-type"].startswith("application/json")


def test_production_serves_only_jwe() -> None:
    options = {"dsop-control": {"environment": "production"}}
    with Sandbox.start(["dsop-control"], options=options) as prod:
        token = minted(prod)
        path = "/accounts?OnlyPrimaryOwner=true"
        plain = raw(prod, path, token=token)
        assert (plain.status_code, plain.json()["code"]) == (406, "ACC-013")
        jose = raw(prod, path, token=token, headers={"Accept": "application/jose"})
        assert jose.status_code == 200 and jose.headers["content-type"] == "application/jose"
        assert json.loads(_decrypt(jose.text)[1])["accounts"]


# --- rate limit -------------------------------------------------------------------------------


def test_rate_limit_is_429_acc_022_with_retry_after() -> None:
    with Sandbox.start(["dsop-control"], options={"dsop-control": {"rate_limit": 3}}) as limited:
        token = minted(limited)
        path = f"/accounts/{ref(KARI_SALARY)}/roles"
        assert [raw(limited, path, token=token).status_code for _ in range(3)] == [200] * 3
        refused = raw(limited, path, token=token)
        assert (refused.status_code, refused.json()["code"]) == (429, "ACC-022")
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        # The limit is per consumer organisation: another consumer still gets through.
        other = raw(
            limited,
            path,
            token=minted(limited, "politi-utlevering-test"),
            headers={
                "Legal-Mandate": mandate_of("Politi-Utlevering"),
                "AdditionalReferenceIDType": "pol1",
                "AdditionalReferenceID": politi_order(),
            },
        )
        assert other.status_code == 200, other.text


# --- exposed pieces: the request log, and a known-bad twin -----------------------------------


def test_requests_are_logged_and_a_subclass_makes_a_bad_twin() -> None:
    import anyio

    context = in_process_context(["dsop-control"])
    client = context.registry.get("skatt-kontroll-test")
    assert client is not None
    token, _ = context.issuer.mint(client, [SCOPE], context.base_urls["dsop-control"])
    headers = {
        "Authorization": f"Bearer {token}",
        "AccountInfoRequestID": str(uuid.uuid4()),
        "CorrelationID": str(uuid.uuid4()),
        "Legal-Mandate": mandate_of("Skatt-Kontroll"),
        "RequesterID": "saksbehandler-0001",
    }

    class Unmasked(DsopBank):
        def card_body(self, card: Any) -> dict[str, Any]:
            return {**super().card_body(card), "cardIdentifier": card.pan}

    good = build_bank(context)
    bad = Unmasked(good.data, good.services, consumers=good.consumers, orders=good.orders)

    async def fetch(which: DsopBank) -> httpx.Response:
        app = build_app(which, context)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url=context.base_urls["dsop-control"]
        ) as http:
            return await http.get(f"/accounts/{ref(KARI_SALARY)}/cards", headers=headers)

    masked = anyio.run(fetch, good).json()["paymentCards"][0]["cardIdentifier"]
    unmasked = anyio.run(fetch, bad).json()["paymentCards"][0]["cardIdentifier"]
    assert masked == "400000XXXXXX7899" and unmasked == "4000001234567899"
    log = good.data.request_log()
    assert [row["correlation_id"] for row in log] == [headers["CorrelationID"]] * 2
    assert all(
        row["legal_mandate"] == headers["Legal-Mandate"] and row["status"] == 200 for row in log
    )


def test_fixture_paths_exist() -> None:
    config = FIXTURE.extradition_orders
    for key in ("certificate", "private_key", "trust_anchor"):
        assert Path(FIXTURE.key_path(config[key])).is_file()
