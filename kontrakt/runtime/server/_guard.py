"""Request checks that run before the body is read, once per request."""

from typing import Any, ClassVar, Generic, TypeVar

from starlette.requests import Request

T = TypeVar("T")

_CACHE_KEY = "kontrakt.guards"


class Guard(Generic[T]):
    """A check used as a FastAPI dependency whose result is computed once per request.

    `KontraktRoute` runs every guard of a route, lowest `priority` first, before FastAPI reads and
    validates the body, so a request without credentials is answered 401 even when its body is
    also malformed (DPS: "401 before any other check"). Used as a plain dependency, a guard still
    works; it then runs when FastAPI resolves dependencies.
    """

    priority: ClassVar[int] = 50

    async def run(self, request: Request) -> T:
        raise NotImplementedError

    async def resolve(self, request: Request) -> T:
        cache: dict[int, Any] = request.scope.setdefault(_CACHE_KEY, {})
        key = id(self)
        if key not in cache:
            cache[key] = await self.run(request)
        result: T = cache[key]
        return result

    async def __call__(self, request: Request) -> T:
        return await self.resolve(request)
