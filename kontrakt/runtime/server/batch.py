"""The batch size an operation declares (`x-kontrakt-batch` max-items), checked before the body
is validated: an oversized batch answers the document's `payload-too-large` code (Sdir: 413
BATCH_TOO_LARGE) rather than the schema's maxItems as a 400 (SDIR-ERROR-PRECEDENCE: size before
schema), and the handler never runs."""

import json

from starlette.requests import Request

from kontrakt.runtime.server._guard import Guard
from kontrakt.runtime.server.errors import ApiProblem

__all__ = ["BatchLimit"]


class BatchLimit(Guard[None]):
    """Dependency refusing a batch body (a top-level JSON array) of more than `max_items` items.

    Runs after authentication, Accept and Content-Type (priority 30) and before FastAPI
    validates the body. `status` is the batch's `too-large-status`; the code is the operation's
    (else the API's) `payload-too-large` error use of that status. A body that is not JSON, or
    not an array, passes: body validation answers it.
    """

    priority = 30

    def __init__(self, max_items: int, *, status: int | None = None) -> None:
        if isinstance(max_items, bool) or max_items < 1:
            raise ValueError(f"max_items must be a positive integer, not {max_items!r}")
        self.max_items = max_items
        self.status = status

    async def run(self, request: Request) -> None:
        raw = await request.body()  # Starlette keeps it: FastAPI reads the same bytes again
        if not raw.lstrip().startswith(b"["):
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(data, list) or len(data) <= self.max_items:
            return None
        message = f"A batch may hold at most {self.max_items} items; this one holds {len(data)}."
        raise ApiProblem.from_trigger("payload-too-large", message, status=self.status)
