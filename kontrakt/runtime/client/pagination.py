"""Following `next` links page by page (the `links` style of `x-kontrakt-pagination`).

DSOP answers large result sets with a `links` array of `{rel, href}` objects; a `next` link is
present while more pages exist and its absence ends the list. Its hrefs are relative references,
resolved here per RFC 3986 section 5 against the URL of the request that produced the page.

One DSOP-specific wrinkle: the documents show hrefs such as `/accounts/{ref}/transactions?...`
for a server whose base URL is `https://host/v2`, i.e. relative to the API base rather than the
host. When `base_url` is given, an absolute-path href that does not already start with the base
path is taken as relative to the base (`/accounts/..` -> `/v2/accounts/..`); one that does
(`/v2/accounts/..`) is used as is. With a base path of `/` both readings coincide.

Guards: a `next` URL seen before raises `PaginationError` (a provider that links a page to itself
would otherwise loop forever), as do more than `max_pages` pages and a link to another origin (the
request's credentials must not follow it).
"""

from __future__ import annotations

from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Generator,
    Iterable,
    Iterator,
)
from typing import Any

import httpx

from kontrakt.runtime.client import _pointer
from kontrakt.runtime.client.errors import PaginationError

__all__ = ["aiter_items", "aiter_link_pages", "iter_items", "iter_link_pages", "next_link"]

Decode = Callable[[httpx.Response], Any]

# Headers that describe one particular request or body and must not be copied to the next page.
_NOT_CARRIED = frozenset({"host", "content-length", "content-type", "transfer-encoding", "cookie"})


def _json(response: httpx.Response) -> Any:
    return response.json()


def next_link(
    body: Any,
    *,
    links_pointer: str = "/links",
    rel: str = "next",
) -> str | None:
    """The href of the `rel` link in a page body, or None.

    Reads an array of `{rel, href}` objects (DSOP; `rel` may hold several space-separated
    relations, RFC 8288) or an object keyed by relation (`{"next": {"href": ..}}`, HAL style).
    """
    links = _pointer.find_first(body, links_pointer)
    if isinstance(links, list):
        for link in links:
            if not isinstance(link, dict):
                continue
            rels = link.get("rel")
            if isinstance(rels, str) and rel in rels.split():
                href = link.get("href")
                if isinstance(href, str) and href.strip():
                    return href.strip()
    elif isinstance(links, dict):
        link = links.get(rel)
        href = link.get("href") if isinstance(link, dict) else link
        if isinstance(href, str) and href.strip():
            return href.strip()
    return None


def _resolve(request_url: httpx.URL, href: str, base_url: httpx.URL | None) -> httpx.URL:
    if base_url is not None and href.startswith("/") and not href.startswith("//"):
        base_path = base_url.raw_path.decode("ascii").split("?", 1)[0].rstrip("/")
        path = href.split("?", 1)[0].split("#", 1)[0]
        if base_path and not (path == base_path or path.startswith(base_path + "/")):
            href = base_path + href
    try:
        return request_url.join(href)
    except httpx.InvalidURL as exc:
        raise PaginationError(f"the next link {href!r} is not a valid URL reference") from exc


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port if url.port is not None else default


class _Walker:
    """The state shared by the sync and async walks: seen URLs, page count, origin."""

    def __init__(
        self,
        first_url: httpx.URL,
        *,
        links_pointer: str,
        rel: str,
        base_url: httpx.URL | str | None,
        max_pages: int,
        decode: Decode | None,
    ) -> None:
        if max_pages < 1:
            raise ValueError("max_pages must be at least 1")
        _pointer.split(links_pointer)  # fail early on a malformed pointer
        self.links_pointer = links_pointer
        self.rel = rel
        self.base_url = httpx.URL(str(base_url)) if base_url is not None else None
        self.max_pages = max_pages
        self.decode = decode or _json
        self.origin = _origin(first_url)
        self.seen = {str(first_url)}
        self.pages = 1

    def next_request(
        self, client: httpx.Client | httpx.AsyncClient, page: httpx.Response
    ) -> httpx.Request | None:
        if not page.is_success:
            return None  # the caller turns the page into an ApiError
        try:
            body = self.decode(page)
        except ValueError:
            return None
        href = next_link(body, links_pointer=self.links_pointer, rel=self.rel)
        if href is None:
            return None
        url = _resolve(page.request.url, href, self.base_url)
        if _origin(url) != self.origin:
            raise PaginationError(f"the next link {href!r} leaves the API's origin")
        if str(url) in self.seen:
            raise PaginationError(f"the next link {href!r} points to a page already fetched")
        if self.pages >= self.max_pages:
            raise PaginationError(f"more than {self.max_pages} pages; giving up")
        self.seen.add(str(url))
        self.pages += 1
        headers = [
            (k, v) for k, v in page.request.headers.multi_items() if k.lower() not in _NOT_CARRIED
        ]
        return client.build_request("GET", url, headers=headers)


def iter_link_pages(
    client: httpx.Client,
    first: httpx.Request | httpx.Response,
    *,
    links_pointer: str = "/links",
    rel: str = "next",
    base_url: httpx.URL | str | None = None,
    max_pages: int = 1000,
    prepare: Callable[[httpx.Request], None] | None = None,
    decode: Decode | None = None,
) -> Generator[httpx.Response, None, None]:
    """Yield the first page and every page its `next` links lead to, as read responses.

    `first` is the request for the first page (sent here) or its response. Follow-up requests
    are GETs carrying the previous request's headers; `prepare` may change each one before it is
    sent (DSOP wants a fresh CorrelationID per page). `decode` turns a response into the JSON
    holding the links (default `response.json()`). Iteration stops after a page without a `next`
    link or a page that is not 2xx (yielded, so the caller can raise for it).
    """
    url = first.url if isinstance(first, httpx.Request) else first.request.url
    walker = _Walker(
        url,
        links_pointer=links_pointer,
        rel=rel,
        base_url=base_url,
        max_pages=max_pages,
        decode=decode,
    )
    page = client.send(first) if isinstance(first, httpx.Request) else first
    while True:
        yield page
        request = walker.next_request(client, page)
        if request is None:
            return
        if prepare is not None:
            prepare(request)
        page = client.send(request)


async def aiter_link_pages(
    client: httpx.AsyncClient,
    first: httpx.Request | httpx.Response,
    *,
    links_pointer: str = "/links",
    rel: str = "next",
    base_url: httpx.URL | str | None = None,
    max_pages: int = 1000,
    prepare: Callable[[httpx.Request], None] | None = None,
    decode: Decode | None = None,
) -> AsyncGenerator[httpx.Response, None]:
    """The async twin of `iter_link_pages`."""
    url = first.url if isinstance(first, httpx.Request) else first.request.url
    walker = _Walker(
        url,
        links_pointer=links_pointer,
        rel=rel,
        base_url=base_url,
        max_pages=max_pages,
        decode=decode,
    )
    page = await client.send(first) if isinstance(first, httpx.Request) else first
    while True:
        yield page
        request = walker.next_request(client, page)
        if request is None:
            return
        if prepare is not None:
            prepare(request)
        page = await client.send(request)


def _items(body: Any, items_pointer: str) -> list[Any]:
    value = _pointer.find_first(body, items_pointer)
    if value is _pointer.MISSING or value is None:
        return []  # tolerant reader: an empty last page may leave the array out
    if not isinstance(value, list):
        raise PaginationError(f"{items_pointer} in a page is not an array")
    return value


def iter_items(
    pages: Iterable[httpx.Response | Any],
    items_pointer: str,
    *,
    decode: Decode | None = None,
) -> Iterator[Any]:
    """The items of every page, in order; `pages` are responses or already decoded bodies."""
    read = decode or _json
    for page in pages:
        body = read(page) if isinstance(page, httpx.Response) else page
        yield from _items(body, items_pointer)


async def aiter_items(
    pages: AsyncIterable[httpx.Response | Any],
    items_pointer: str,
    *,
    decode: Decode | None = None,
) -> AsyncIterator[Any]:
    """The async twin of `iter_items`."""
    read = decode or _json
    async for page in pages:
        body = read(page) if isinstance(page, httpx.Response) else page
        for item in _items(body, items_pointer):
            yield item
