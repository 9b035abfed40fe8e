"""DSOP Control v2.0 end to end: the generated client against the generated server.

Every operation round-trips to its typed model, in-process (httpx.ASGITransport) and over a real
uvicorn socket with the keys fetched from a JWKS endpoint; the `links` pagination iterator walks
three pages; and each rule the server layer enforces is shown passing and failing with the
document's own codes (ACC-001, ACC-010, ACC-011, ACC-012, ACC-013).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from kontrakt.generated.dsop_control_v2 import (
    AccountDetails,
    Accounts,
    AsyncClient,
    Cards,
    Client,
    Roles,
    Transactions,
    create_app,
)
from kontrakt.runtime import server as rt
from kontrakt.runtime.client import ApiError, BearerToken, RetryPolicy
from tests.e2e._support import Issuer, example, serve

SPEC = "dsop-control/v2.0"
SCOPE = "bits:kontoinformasjon"
ISSUER = Issuer("https://test.maskinporten.no/", "https://bank.example/dsop")
NO_RETRY: RetryPolicy | None = None


class Bank:
    """The provider's business logic: example bodies, and three pages of accounts."""

    def __init__(self) -> None:
        self.pages: dict[uuid.UUID, int] = {}

    async def list_accounts(
        self, *, correlation_id: uuid.UUID, only_primary_owner: bool, **_: Any
    ) -> Accounts:
        # The page number is the handler's own cursor: the next link's URL differs per page.
        page = self.pages[correlation_id] = self.pages.get(correlation_id, 0) + 1
        body = example(SPEC, "listAccounts", "200")
        owner = "true" if only_primary_owner else "false"
        body["links"] = [{"rel": "self", "href": f"/accounts?OnlyPrimaryOwner={owner}"}]
        if page < 3:
            href = f"/accounts?OnlyPrimaryOwner={owner}&page={page + 1}"
            body["links"].append({"rel": "next", "href": href})
        return Accounts.model_validate(body)

    async def show_account_by_id(self, **_: Any) -> AccountDetails:
        return AccountDetails.model_validate(example(SPEC, "showAccountById", "200"))

    async def list_transactions(self, **_: Any) -> Transactions:
        return Transactions.model_validate(example(SPEC, "listTransactions", "200"))

    async def list_cards(self, **_: Any) -> Cards:
        return Cards.model_validate(example(SPEC, "listCards", "200"))

    async def list_roles(self, **_: Any) -> Roles:
        return Roles.model_validate(example(SPEC, "listRoles", "200"))


def schemes(verifier: rt.JwtVerifier) -> dict[str, rt.SecurityScheme]:
    scheme = rt.BearerScheme(verifier)
    return {"maskinporten": scheme, "accountsAuth": scheme}


def app(verifier: rt.JwtVerifier | None = None, **kwargs: Any) -> Any:
    return create_app(Bank(), schemes(verifier or ISSUER.verifier()), environment="test", **kwargs)


def token(**claims: Any) -> str:
    return ISSUER.token(scope=SCOPE, consumer={"ID": "0192:910000000"}, **claims)


def common() -> dict[str, Any]:
    return {
        "account_info_request_id": uuid.uuid4(),
        "correlation_id": uuid.uuid4(),
        "legal_mandate": "Skatteforvaltningsloven-10-1",
    }


def headers(**extra: str) -> dict[str, str]:
    values = {
        "AccountInfoRequestID": str(uuid.uuid4()),
        "CorrelationID": str(uuid.uuid4()),
        "Legal-Mandate": "Skatteforvaltningsloven-10-1",
        "PartyID": "01017012345",
        "Authorization": f"Bearer {token()}",
    }
    values.update(extra)
    return values


@pytest.fixture(scope="module")
def socket_url() -> Iterator[str]:
    """The generated app on a real socket; its verifier fetches keys from a JWKS endpoint."""
    with serve(ISSUER.jwks_app()) as jwks, serve(app(ISSUER.verifier(f"{jwks}/jwks"))) as url:
        yield url


@pytest.fixture(params=["asgi", "socket"])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[AsyncClient]:
    auth = BearerToken(token())
    if request.param == "asgi":
        transport = httpx.ASGITransport(app=app())
        async with AsyncClient("http://bank.test", auth=auth, transport=transport) as c:
            yield c
    else:
        url = request.getfixturevalue("socket_url")
        async with AsyncClient(url, auth=auth) as c:
            yield c


@pytest.mark.anyio
async def test_every_operation_round_trips(client: AsyncClient) -> None:
    accounts = await client.list_accounts(
        **common(), party_id="01017012345", only_primary_owner=True
    )
    assert isinstance(accounts, Accounts) and accounts.accounts
    reference = "abc123"
    details = await client.show_account_by_id(**common(), account_reference=reference)
    assert isinstance(details, AccountDetails)
    transactions = await client.list_transactions(**common(), account_reference=reference)
    assert isinstance(transactions, Transactions)
    assert isinstance(await client.list_cards(**common(), account_reference=reference), Cards)
    assert isinstance(await client.list_roles(**common(), account_reference=reference), Roles)


@pytest.mark.anyio
async def test_async_pagination_walks_three_pages(client: AsyncClient) -> None:
    pages = [
        page
        async for page in client.aiter_list_accounts(
            **common(), party_id="01017012345", only_primary_owner=False
        )
    ]
    assert len(pages) == 3
    assert all(isinstance(page, Accounts) for page in pages)


def test_sync_client_over_socket(socket_url: str) -> None:
    with Client(socket_url, auth=BearerToken(token())) as client:
        pages = list(
            client.iter_list_accounts(**common(), party_id="01017012345", only_primary_owner=True)
        )
        assert [type(page) for page in pages] == [Accounts] * 3
        roles = client.list_roles(**common(), account_reference="abc123")
        assert isinstance(roles, Roles)


# --- the rules the server layer enforces, each passing and failing ------------------------------


def test_missing_header_is_acc_001(socket_url: str) -> None:
    with Client(socket_url, auth=BearerToken(token()), retry=NO_RETRY) as client:
        arguments = {**common(), "party_id": "01017012345", "only_primary_owner": True}
        assert isinstance(client.list_accounts(**arguments), Accounts)
        arguments["legal_mandate"] = None  # the client leaves the header out
        with pytest.raises(ApiError) as caught:
            client.list_accounts(**arguments)
    assert (caught.value.status, caught.value.code) == (400, "ACC-001")


def test_wrong_method_is_acc_012(socket_url: str) -> None:
    ok = httpx.get(f"{socket_url}/accounts?OnlyPrimaryOwner=true", headers=headers())
    assert ok.status_code == 200
    refused = httpx.post(f"{socket_url}/accounts?OnlyPrimaryOwner=true", headers=headers())
    assert refused.status_code == 405
    assert refused.json()["code"] == "ACC-012"
    assert refused.headers["allow"] == "GET"


def test_unsupported_accept_is_acc_013(socket_url: str) -> None:
    url = f"{socket_url}/accounts?OnlyPrimaryOwner=true"
    ok = httpx.get(url, headers=headers(Accept="application/json"))
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("application/json")
    refused = httpx.get(url, headers=headers(Accept="text/csv"))
    assert refused.status_code == 406
    assert refused.json()["code"] == "ACC-013"


@pytest.mark.parametrize(
    ("case", "credential"),
    [
        ("forged", lambda: token(forged=True)),
        ("expired", lambda: token(iat=1_600_000_000, exp=1_600_000_120)),
        ("wrong audience", lambda: token(aud="https://other-bank.example/dsop")),
    ],
)
def test_bad_tokens_are_acc_010(socket_url: str, case: str, credential: Any) -> None:
    with (
        Client(socket_url, auth=BearerToken(credential()), retry=NO_RETRY) as client,
        pytest.raises(ApiError) as caught,
    ):
        client.list_roles(**common(), account_reference="abc123")
    assert (caught.value.status, caught.value.code) == (401, "ACC-010"), case


def test_wrong_scope_is_acc_011(socket_url: str) -> None:
    credential = ISSUER.token(scope="bits:kundeforhold")
    with (
        Client(socket_url, auth=BearerToken(credential), retry=NO_RETRY) as client,
        pytest.raises(ApiError) as caught,
    ):
        client.list_roles(**common(), account_reference="abc123")
    assert (caught.value.status, caught.value.code) == (403, "ACC-011")


def test_production_serves_jose_through_the_providers_encoder() -> None:
    """Outside "test" only application/jose is served; the provider's encoder makes the JWE."""

    def encrypt(content: Any) -> bytes:
        return b"eyJhbGciOiJSU0EtT0FFUC0yNTYifQ.key.iv.cipher.tag"

    production = create_app(
        Bank(), schemes(ISSUER.verifier()), encoders={"application/jose": encrypt}
    )
    with serve(production) as url:
        target = f"{url}/accounts/abc123/roles"
        jose = httpx.get(target, headers=headers(Accept="application/jose"))
        assert jose.status_code == 200
        assert jose.headers["content-type"] == "application/jose"
        assert jose.content.count(b".") == 4
        plain = httpx.get(target, headers=headers(Accept="application/json"))
        assert (plain.status_code, plain.json()["code"]) == (406, "ACC-013")
