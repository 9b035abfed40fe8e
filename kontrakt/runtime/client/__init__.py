"""Runtime of generated API clients: errors, auth, retries, pagination and status polling.

Generated `client.py` modules subclass `BaseClient` / `AsyncBaseClient` and contain one method per
operation; everything reusable lives here, written and tested once. Users meet the rest directly:
they pick an auth (`JwtBearerGrant` for Maskinporten, `ClientCredentials` for DPS, `ApiKey`,
`MultiAuth`), may tune a `RetryPolicy`, and catch `ApiError` (with `.status` and `.code`).
"""

from kontrakt.runtime.client.auth import (
    ApiKey,
    BearerToken,
    ClientCredentials,
    JwtBearerGrant,
    MultiAuth,
)
from kontrakt.runtime.client.base import (
    AsyncBaseClient,
    BaseClient,
    Styled,
    encode_body,
    no_content,
    parse_json,
    parse_json_as,
    raw_response,
    styled,
)
from kontrakt.runtime.client.errors import (
    ApiError,
    ClientError,
    InvalidResponse,
    PaginationError,
    PollTimeout,
    TokenError,
    TransportError,
)
from kontrakt.runtime.client.pagination import (
    aiter_items,
    aiter_link_pages,
    iter_items,
    iter_link_pages,
)
from kontrakt.runtime.client.polling import apoll, poll
from kontrakt.runtime.client.retry import (
    AsyncRetryTransport,
    RetryPolicy,
    RetryTransport,
    parse_retry_after,
)

__all__ = [
    "ApiError",
    "ApiKey",
    "AsyncBaseClient",
    "AsyncRetryTransport",
    "BaseClient",
    "BearerToken",
    "ClientCredentials",
    "ClientError",
    "InvalidResponse",
    "JwtBearerGrant",
    "MultiAuth",
    "PaginationError",
    "PollTimeout",
    "RetryPolicy",
    "RetryTransport",
    "Styled",
    "TokenError",
    "TransportError",
    "aiter_items",
    "aiter_link_pages",
    "apoll",
    "encode_body",
    "iter_items",
    "iter_link_pages",
    "no_content",
    "parse_json",
    "parse_json_as",
    "parse_retry_after",
    "poll",
    "raw_response",
    "styled",
]
