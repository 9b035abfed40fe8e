"""Following DSOP-style `links`: relative hrefs, loops, limits, and errors in the middle."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from kontrakt.runtime.client import (
    ApiError,
    AsyncBaseClient,
    BaseClient,
    PaginationError,
    aiter_items,
    aiter_link_pages,
    iter_items,
    iter_link_pages,
    parse_json,
)
from kontrakt.runtime.client.pagination import next_link

Pages = dict[str, tuple[int, dict[str, Any]]]


def bank(pages: Pages, seen: list[httpx.Request]) -> httpx.MockTransport:
    """A bank at https://bank.test/v2 answering `path?query` keys from `pages`."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        key = request.url.raw_path.decode()
        status, body = pages.get(key, (404, {"code": "ACC-002", "message": key}))
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handler)


def page(items: list[int], next_href: str | None = None) -> tuple[int, dict[str, Any]]:
    links = [{"rel": "self", "href": "/ignored"}]
    if next_href is not None:
        links.append({"rel": "next", "href": next_href})
    return 200, {"transactions": [{"amount": i} for i in items], "links": links}


THREE_PAGES: Pages = {
    # DSOP shows hrefs relative to the API base (/v2), not to the host.
    "/v2/accounts/ref%2F1/transactions?fromDate=2024-01-01": page(
        [1, 2], "/accounts/ref%2F1/transactions?fromDate=2024-01-01&page=2"
    ),
    # ...a bank may also repeat the base path; both must work.
    "/v2/accounts/ref%2F1/transactions?fromDate=2024-01-01&page=2": page(
        [3, 4], "/v2/accounts/ref%2F1/transactions?fromDate=2024-01-01&page=3"
    ),
    "/v2/accounts/ref%2F1/transactions?fromDate=2024-01-01&page=3": page([5]),
}


class Transaction(BaseModel):
    amount: int


class Transactions(BaseModel):
    transactions: list[Transaction]


class Bank(BaseClient):
    _error_code_pointer = "/code"

    def iter_transactions(self, ref: str, **kwargs: Any) -> Any:
        return self._iter_pages(
            "/accounts/{accountReference}/transactions",
            path_params={"accountReference": ref},
            query={"fromDate": "2024-01-01"},
            headers={"CorrelationID": "first", "Legal-Mandate": "mandate"},
            expected={200: parse_json(Transactions)},
            **kwargs,
        )


def fresh_correlation_id(request: httpx.Request) -> None:
    request.headers["CorrelationID"] = str(uuid.uuid4())


def test_three_pages_with_relative_links() -> None:
    seen: list[httpx.Request] = []
    with Bank("https://bank.test/v2", transport=bank(THREE_PAGES, seen)) as client:
        pages = list(client.iter_transactions("ref/1", prepare=fresh_correlation_id))
    assert [t.amount for p in pages for t in p.transactions] == [1, 2, 3, 4, 5]
    assert [r.url.raw_path.decode() for r in seen] == list(THREE_PAGES)
    assert all(r.method == "GET" and r.headers["Legal-Mandate"] == "mandate" for r in seen)
    ids = [r.headers["CorrelationID"] for r in seen]
    assert ids[0] == "first" and len(set(ids)) == 3  # DSOP: a new CorrelationID per page


def test_relative_href_without_a_leading_slash() -> None:
    pages: Pages = {
        "/api/list": page([1], "list?cursor=b"),
        "/api/list?cursor=b": page([2], "./list?cursor=c"),
        "/api/list?cursor=c": page([3]),
    }
    seen: list[httpx.Request] = []
    with httpx.Client(transport=bank(pages, seen)) as http:
        first = http.build_request("GET", "https://bank.test/api/list")
        items = list(iter_items(iter_link_pages(http, first), "/transactions"))
    assert [i["amount"] for i in items] == [1, 2, 3]


def test_without_base_url_hrefs_resolve_against_the_host() -> None:
    seen: list[httpx.Request] = []
    pages: Pages = {"/v2/a": page([1], "/b"), "/b": page([2])}
    with httpx.Client(transport=bank(pages, seen)) as http:
        list(iter_link_pages(http, http.build_request("GET", "https://bank.test/v2/a")))
    assert [r.url.path for r in seen] == ["/v2/a", "/b"]  # RFC 3986 5.2


@pytest.mark.parametrize(
    ("pages", "match"),
    [
        ({"/v2/a": page([1], "/a")}, "already fetched"),  # links to itself
        ({"/v2/a": page([1], "/b"), "/v2/b": page([2], "/a")}, "already fetched"),
        ({"/v2/a": page([1], "https://evil.test/v2/b")}, "leaves the API's origin"),
        ({"/v2/a": page([1], "http://bank.test/v2/b")}, "leaves the API's origin"),
        ({"/v2/a": page([1], "http://[::1")}, "not a valid URL"),
    ],
)
def test_guards(pages: Pages, match: str) -> None:
    seen: list[httpx.Request] = []
    with httpx.Client(transport=bank(pages, seen)) as http:
        first = http.build_request("GET", "https://bank.test/v2/a")
        with pytest.raises(PaginationError, match=match):
            list(iter_link_pages(http, first, base_url="https://bank.test/v2"))
    assert len(seen) <= 2


def test_page_cap() -> None:
    pages: Pages = {f"/p{n}": page([n], f"/p{n + 1}") for n in range(10)}
    with httpx.Client(transport=bank(pages, [])) as http:
        walked = iter_link_pages(
            http, http.build_request("GET", "https://bank.test/p0"), max_pages=3
        )
        assert len([next(walked) for _ in range(3)]) == 3
        with pytest.raises(PaginationError, match="more than 3 pages"):
            next(walked)


def test_error_page_in_the_middle_raises_api_error() -> None:
    pages = dict(THREE_PAGES)
    del pages["/v2/accounts/ref%2F1/transactions?fromDate=2024-01-01&page=2"]
    seen: list[httpx.Request] = []
    with Bank("https://bank.test/v2", transport=bank(pages, seen)) as client:
        walked = client.iter_transactions("ref/1")
        assert [t.amount for t in next(walked).transactions] == [1, 2]
        with pytest.raises(ApiError) as caught:
            next(walked)
    assert (caught.value.status, caught.value.code) == (404, "ACC-002")
    assert len(seen) == 2


def test_starting_from_a_response() -> None:
    pages: Pages = {"/a": page([1], "/b"), "/b": page([2])}
    with httpx.Client(transport=bank(pages, [])) as http:
        first = http.get("https://bank.test/a")
        assert [i["amount"] for i in iter_items(iter_link_pages(http, first), "/transactions")] == [
            1,
            2,
        ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"links": [{"rel": "prev next", "href": "/n"}]}, "/n"),  # RFC 8288: several relations
        ({"links": [{"rel": "next", "href": " "}, {"rel": "next", "href": "/2"}]}, "/2"),
        ({"links": [{"rel": "next"}, "junk", None]}, None),
        ({"links": {"next": {"href": "/hal"}}}, "/hal"),
        ({"links": {"next": "/plain"}}, "/plain"),
        ({"links": "nope"}, None),
        ({}, None),
        ([1, 2], None),
    ],
)
def test_next_link_shapes(body: Any, expected: str | None) -> None:
    assert next_link(body) == expected


@pytest.mark.parametrize(
    ("body", "items"),
    [
        ({"transactions": [1, 2]}, [1, 2]),
        ({"transactions": None}, []),
        ({}, []),
    ],
)
def test_iter_items_tolerates_absent_arrays(body: Any, items: list[Any]) -> None:
    assert list(iter_items([body], "/transactions")) == items


def test_iter_items_rejects_a_non_array() -> None:
    with pytest.raises(PaginationError):
        list(iter_items([{"transactions": {"a": 1}}], "/transactions"))


def test_custom_decode_for_non_json_pages() -> None:
    # DSOP production pages are JWE; a decoder turns them into JSON before links are read.
    pages = {"/a": (200, {"wrapped": {"links": [{"rel": "next", "href": "/b"}], "items": [1]}})}
    pages["/b"] = (200, {"wrapped": {"items": [2]}})

    def unwrap(response: httpx.Response) -> Any:
        return response.json()["wrapped"]

    with httpx.Client(transport=bank(pages, [])) as http:
        walked = iter_link_pages(http, http.build_request("GET", "https://b.test/a"), decode=unwrap)
        assert list(iter_items(walked, "/items", decode=unwrap)) == [1, 2]


def test_invalid_arguments() -> None:
    with httpx.Client(transport=bank({}, [])) as http:
        request = http.build_request("GET", "https://b.test/a")
        for kwargs in ({"max_pages": 0}, {"links_pointer": "links"}):
            with pytest.raises(ValueError):
                next(iter_link_pages(http, request, **kwargs))


# -- async ----------------------------------------------------------------------------------------


class AsyncBank(AsyncBaseClient):
    _error_code_pointer = "/code"


@pytest.mark.anyio
async def test_async_three_pages_and_items() -> None:
    seen: list[httpx.Request] = []
    async with AsyncBank("https://bank.test/v2", transport=bank(THREE_PAGES, seen)) as client:
        parsed = [
            p
            async for p in client._iter_pages(
                "/accounts/{ref}/transactions",
                path_params={"ref": "ref/1"},
                query={"fromDate": "2024-01-01"},
                expected={200: parse_json(Transactions)},
                prepare=fresh_correlation_id,
            )
        ]
        assert [t.amount for p in parsed for t in p.transactions] == [1, 2, 3, 4, 5]
        http = client._http
        request = http.build_request(
            "GET", "https://bank.test/v2/accounts/ref%2F1/transactions?fromDate=2024-01-01"
        )
        pages = aiter_link_pages(http, request, base_url=http.base_url)
        amounts = [i["amount"] async for i in aiter_items(pages, "/transactions")]
    assert amounts == [1, 2, 3, 4, 5]
    assert len(seen) == 6


@pytest.mark.anyio
async def test_async_loop_detection_and_error_page() -> None:
    pages: Pages = {"/v2/a": page([1], "/a")}
    async with AsyncBank("https://bank.test/v2", transport=bank(pages, [])) as client:

        def walked() -> Any:
            return client._iter_pages("/a", expected={200: parse_json(dict)})

        with pytest.raises(PaginationError):
            _ = [p async for p in walked()]
        with pytest.raises(ApiError) as caught:
            _ = [p async for p in client._iter_pages("/missing", expected={200: parse_json(dict)})]
    assert caught.value.code == "ACC-002"
