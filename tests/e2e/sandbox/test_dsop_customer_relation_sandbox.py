"""The DSOP Customer Relation Overview v2.0 sandbox register end to end, with the two banks it names.

`Sandbox.start` serves the register (`dsop-customer-relation`) and both DSOP Control banks
(`dsop-control`, `dsop-control-2`) on 127.0.0.1; tokens come from the sandbox issuer over HTTP and
the generated clients drive every call. Covered: both operations, both scopes (the other scope is
403 ERR-001), the mandate check, period filtering, onlyPrimaryOwner, the activeAccount rules (NICS,
toDate = today, KFR always false), the error codes, and that every bank the register names for a
party lists that party's accounts at its catalogue base URL.
"""

from __future__ import annotations

import datetime
import json
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from kontrakt.generated.dsop_control_v2 import Client as BankClient
from kontrakt.generated.dsop_customer_relation_v2 import Client
from kontrakt.runtime.client import ApiError, ClientCredentials
from kontrakt.sandbox.dsop_control import ServiceCatalogue
from kontrakt.sandbox.dsop_customer_relation.second_bank import bank_catalogue
from kontrakt.sandbox.launch import Sandbox

TODAY = datetime.date.today()
REGISTER = "dsop-customer-relation"
SKATT = ("skatt-kontroll-test", "sandbox-skatt-secret")  # all three scopes
POLITI = ("politi-utlevering-test", "sandbox-politi-secret")  # no bits:kundeforhold.konto
MANDATE = quote(ServiceCatalogue.from_spec()["Skatt-Kontroll"].legal_mandates[0], safe="")
POLITI_MANDATE = quote(ServiceCatalogue.from_spec()["Politi-Utlevering"].legal_mandates[0], safe="")

KARI = "12858510048"  # both NICS banks (primary owner) and the KFR bank
OLA = "03889010281"  # no accounts; a former non-primary KFR relationship 2020-2022
KAARE = "09896610055"  # guarantor at bank 1 since 2019-06, primary owner at bank 2 since 2022-09
BANK_1, BANK_2, KFR = "310000124", "310000213", "310000248"
KARI_SALARY_1, KARI_SALARY_2 = "97100000028", "97200000017"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.start([REGISTER, "dsop-control", "dsop-control-2"]) as started:
        yield started


def register(sandbox: Sandbox, scope: str, who: tuple[str, str] = SKATT) -> Client:
    url = sandbox.url(REGISTER)
    auth = ClientCredentials(sandbox.token_url, *who, scope=scope, resource=url)
    return Client(url, auth=auth, retry=None)


def relations(
    client: Client,
    party: str,
    first: datetime.date,
    last: datetime.date = TODAY,
    only_primary_owner: bool | None = None,
    mandate: str = MANDATE,
) -> dict[str, tuple[bool, str | None]]:
    answer = client.get_customer_relation(
        customer_id=party,
        correlation_id=uuid.uuid4(),
        legal_mandate=mandate,
        account_info_request_id=uuid.uuid4(),
        from_date=first,
        to_date=last,
        only_primary_owner=only_primary_owner,
    )
    return {
        b.organization_id.root: (b.active_account, b.ownership_type and b.ownership_type.value)
        for b in answer.banks
    }


def servicing(client: Client, account: str) -> str:
    answer = client.get_account_servicing_provider(
        account_id=account,
        correlation_id=uuid.uuid4(),
        legal_mandate=MANDATE,
        account_info_request_id=uuid.uuid4(),
    )
    return answer.organization_id.root


def test_relationships_today_active_only_at_nics_banks(sandbox: Sandbox) -> None:
    with register(sandbox, "bits:kundeforhold") as client:
        found = relations(client, KARI, datetime.date(2020, 1, 1))
    assert found == {BANK_1: (True, None), BANK_2: (True, None), KFR: (False, None)}


def test_active_account_false_when_period_ends_before_today(sandbox: Sandbox) -> None:
    with register(sandbox, "bits:kundeforhold") as client:
        found = relations(client, KARI, datetime.date(2022, 1, 1), TODAY - datetime.timedelta(1))
    assert found == {BANK_1: (False, None), BANK_2: (False, None), KFR: (False, None)}


def test_period_filtering(sandbox: Sandbox) -> None:
    with register(sandbox, "bits:kundeforhold") as client:
        # Kåre: guarantor at bank 1 since 2019-06-01, primary owner at bank 2 since 2022-09-01.
        assert relations(client, KAARE, datetime.date(2018, 1, 1), datetime.date(2019, 5, 31)) == {}
        assert relations(client, KAARE, datetime.date(2020, 1, 1), datetime.date(2022, 8, 31)) == {
            BANK_1: (False, None)
        }
        assert relations(client, KAARE, datetime.date(2023, 1, 1)) == {
            BANK_1: (False, None),
            BANK_2: (True, None),
        }
        # Ola: only the KFR relationship 2020-2022, never active.
        assert relations(client, OLA, datetime.date(2021, 1, 1), datetime.date(2021, 12, 31)) == {
            KFR: (False, None)
        }
        assert relations(client, OLA, datetime.date(2023, 1, 1)) == {}


def test_only_primary_owner(sandbox: Sandbox) -> None:
    with register(sandbox, "bits:kundeforhold") as client:
        first = datetime.date(2020, 1, 1)
        assert relations(client, KAARE, first, only_primary_owner=False) == {
            BANK_1: (False, "notPrimaryOwner"),
            BANK_2: (True, "primaryOwner"),
        }
        assert relations(client, KAARE, first, only_primary_owner=True) == {
            BANK_2: (True, "primaryOwner")
        }
        assert relations(client, OLA, first, only_primary_owner=True) == {}
        assert relations(client, OLA, first, only_primary_owner=False) == {
            KFR: (False, "notPrimaryOwner")
        }


def test_account_servicing_provider(sandbox: Sandbox) -> None:
    with register(sandbox, "bits:kundeforhold.konto") as client:
        assert servicing(client, KARI_SALARY_1) == BANK_1
        assert servicing(client, KARI_SALARY_2) == BANK_2
        with pytest.raises(ApiError) as caught:
            servicing(client, "12345678901")  # no bank; A-CRO-011: no MOD11 check either
        assert (caught.value.status, caught.value.code) == (400, "ERR-004")


@pytest.mark.parametrize(
    ("held", "operation"),
    [("bits:kundeforhold.konto", "relationships"), ("bits:kundeforhold", "account")],
)
def test_wrong_scope_is_403(sandbox: Sandbox, held: str, operation: str) -> None:
    with register(sandbox, held) as client, pytest.raises(ApiError) as caught:
        if operation == "relationships":
            relations(client, KARI, datetime.date(2020, 1, 1))
        else:
            servicing(client, KARI_SALARY_1)
    assert (caught.value.status, caught.value.code) == (403, "ERR-001")


def test_mandate_of_another_service_is_403(sandbox: Sandbox) -> None:
    with register(sandbox, "bits:kundeforhold") as client, pytest.raises(ApiError) as caught:
        relations(client, KARI, datetime.date(2020, 1, 1), mandate=POLITI_MANDATE)
    assert (caught.value.status, caught.value.code) == (403, "ERR-001")


def headers(token: str | None, **extra: str) -> dict[str, str]:
    base = {
        "CorrelationID": str(uuid.uuid4()),
        "AccountInfoRequestID": str(uuid.uuid4()),
        "Legal-Mandate": MANDATE,
        "CustomerID": KARI,
    }
    if token:
        base["Authorization"] = f"Bearer {token}"
    return {**base, **extra}


@pytest.mark.parametrize(
    ("query", "extra", "status", "code"),
    [
        ({"fromDate": "2020-01-01", "toDate": "2019-01-01"}, {}, 400, "ERR-003"),
        ({"fromDate": "2020-13-01", "toDate": "2021-01-01"}, {}, 400, "ERR-003"),
        ({"fromDate": "2020-01-01"}, {}, 400, "ERR-003"),
        (
            {"fromDate": "2020-01-01", "toDate": "2021-01-01"},
            {"CustomerID": "1234"},
            400,
            "ERR-002",
        ),
        (
            {"fromDate": "2020-01-01", "toDate": "2021-01-01"},
            {"CorrelationID": "x"},
            400,
            "UNDOCUMENTED",
        ),
        (
            {"fromDate": "2020-01-01", "toDate": "2021-01-01", "onlyPrimaryOwner": "maybe"},
            {},
            400,
            "UNDOCUMENTED",
        ),
        (
            {"fromDate": "2020-01-01", "toDate": "2021-01-01", "onlyPrimaryOwner": "yes"},
            {},
            400,
            "UNDOCUMENTED",
        ),
        (
            {"fromDate": "2020-01-01", "toDate": "2021-01-01", "onlyPrimaryOwner": "1"},
            {},
            400,
            "UNDOCUMENTED",
        ),
    ],
)
def test_relationship_errors(
    sandbox: Sandbox, query: dict[str, str], extra: dict[str, str], status: int, code: str
) -> None:
    url = sandbox.url(REGISTER)
    auth = ClientCredentials(sandbox.token_url, *SKATT, scope="bits:kundeforhold", resource=url)
    with httpx.Client(auth=auth) as http:
        answer = http.get(
            url + "/customers/customerRelationships", params=query, headers=headers(None, **extra)
        )
    assert answer.status_code == status
    body = answer.json()
    assert body["errorCode"] == code
    assert set(body) == {"errorCode", "errorMessage", "timestamp"}


def test_no_token_is_401(sandbox: Sandbox) -> None:
    url = sandbox.url(REGISTER) + "/customers/customerRelationships"
    answer = httpx.get(
        url, params={"fromDate": "2020-01-01", "toDate": "2021-01-01"}, headers=headers(None)
    )
    assert answer.status_code == 401
    answer = httpx.get(
        url, params={"fromDate": "2020-01-01", "toDate": "2021-01-01"}, headers=headers("not.a.jwt")
    )
    assert answer.status_code == 401


def test_register_leads_to_banks_holding_the_accounts(sandbox: Sandbox) -> None:
    catalogue = bank_catalogue(sandbox.context.base_urls)
    assert set(catalogue) == {BANK_1, BANK_2}
    assert catalogue[BANK_1]["baseUrl"] != catalogue[BANK_2]["baseUrl"]
    with register(sandbox, "bits:kundeforhold") as client:
        found = relations(client, KARI, datetime.date(2020, 1, 1))
    listed: dict[str, set[str]] = {}
    for org in (o for o in found if o in catalogue):
        url = catalogue[org]["baseUrl"]
        auth = ClientCredentials(
            sandbox.token_url, *SKATT, scope="bits:kontoinformasjon", resource=url
        )
        with BankClient(url, auth=auth, retry=None) as bank:
            accounts = bank.list_accounts(
                party_id=KARI,
                correlation_id=uuid.uuid4(),
                legal_mandate=MANDATE,
                account_info_request_id=uuid.uuid4(),
                only_primary_owner=False,
                requester_id="saksbehandler-0001",
                from_date=datetime.date(2020, 1, 1),
                to_date=TODAY,
            )
        listed[org] = {str(a.account_identifier.root) for a in accounts.accounts or ()}
    assert set(listed) == {BANK_1, BANK_2}
    assert KARI_SALARY_1 in listed[BANK_1] and KARI_SALARY_1 not in listed[BANK_2]
    assert KARI_SALARY_2 in listed[BANK_2] and KARI_SALARY_2 not in listed[BANK_1]
    with register(sandbox, "bits:kundeforhold.konto") as client:
        for org, numbers in listed.items():
            assert {servicing(client, n) for n in numbers} == {org}


def test_serve_all_starts_two_banks_and_writes_the_catalogue(tmp_path: Path) -> None:
    """`kontrakt serve all` as a user runs it: two DSOP Control banks, the register, the catalogue."""
    catalogue_path = tmp_path / "banks.json"
    command = [str(Path(sys.executable).with_name("kontrakt")), "serve", "all", "--port", "0"]
    command += ["--catalogue", str(catalogue_path)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip())
            if line.startswith("Ctrl-C stops"):
                break
        assert lines and lines[-1].startswith("Ctrl-C stops"), lines
        threading.Thread(target=process.stdout.read, daemon=True).start()
        urls = {line.split()[0]: line.split()[1] for line in lines if "http://127.0.0.1:" in line}
        issuer = next(line.split()[2] for line in lines if line.startswith("token issuer"))
        assert f"bank catalogue {catalogue_path}" in "\n".join(lines)
        catalogue = json.loads(catalogue_path.read_text(encoding="utf-8"))
        assert catalogue["customerRelation"] == urls[REGISTER]
        assert {org: b["baseUrl"] for org, b in catalogue["banks"].items()} == {
            BANK_1: urls["dsop-control"],
            BANK_2: urls["dsop-control-2"],
        }
        token_url = issuer.rstrip("/") + "/token"
        auth = ClientCredentials(
            token_url, *SKATT, scope="bits:kundeforhold.konto", resource=urls[REGISTER]
        )
        with Client(urls[REGISTER], auth=auth, retry=None) as client:
            for org, bank in catalogue["banks"].items():
                bank_auth = ClientCredentials(
                    token_url, *SKATT, scope="bits:kontoinformasjon", resource=bank["baseUrl"]
                )
                with BankClient(bank["baseUrl"], auth=bank_auth, retry=None) as bank_client:
                    accounts = bank_client.list_accounts(
                        party_id=KARI,
                        correlation_id=uuid.uuid4(),
                        legal_mandate=MANDATE,
                        account_info_request_id=uuid.uuid4(),
                        only_primary_owner=False,
                        requester_id="saksbehandler-0001",
                    )
                numbers = {str(a.account_identifier.root) for a in accounts.accounts or ()}
                assert numbers
                assert {servicing(client, n) for n in numbers} == {org}
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
