"""What a running server needs to answer errors: the API's error style and its code tables."""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from fastapi.routing import APIRoute
from starlette.requests import HTTPConnection
from starlette.responses import Response

from kontrakt.runtime.server.codes import ErrorTable
from kontrakt.runtime.server.errors import (
    TRIGGER_STATUS,
    ApiProblem,
    Code,
    ErrorItem,
    ErrorStyle,
    render_errors,
)

__all__ = ["DEFAULT_SENSITIVE_HEADERS", "ServerConfig", "operation_id_of"]

logger = logging.getLogger("kontrakt.runtime.server")

DEFAULT_SENSITIVE_HEADERS: frozenset[str] = frozenset(
    {"authorization", "proxy-authorization", "cookie", "ocp-apim-subscription-key", "x-api-key"}
)
"""Headers whose values never reach an error message, even as a validator's quote."""


def operation_id_of(connection: HTTPConnection) -> str | None:
    """The matched route's operationId (generated routes set it), else its name, else None."""
    route = connection.scope.get("route")
    if isinstance(route, APIRoute):
        return route.operation_id or route.name
    return None


@dataclass(frozen=True)
class ServerConfig:
    """The error style, the API's code table and the per-operation tables that refine it."""

    style: ErrorStyle
    table: ErrorTable
    operation_tables: Mapping[str, ErrorTable] = field(default_factory=dict)
    max_body_size: int | None = None
    sensitive_headers: frozenset[str] = DEFAULT_SENSITIVE_HEADERS

    @property
    def has_codes(self) -> bool:
        """Whether the document names any error code (x-kontrakt-errors or catalogue defaults)."""
        return any(table.has_codes for table in (self.table, *self.operation_tables.values()))

    def tables(self, operation_id: str | None) -> tuple[ErrorTable, ...]:
        """The tables to consult for an operation: its own first, then the API's."""
        own = self.operation_tables.get(operation_id) if operation_id else None
        return (own, self.table) if own is not None else (self.table,)

    def resolve(
        self,
        trigger: str,
        *,
        operation_id: str | None = None,
        parameter: str | None = None,
        situation: str | None = None,
        status: int | None = None,
    ) -> tuple[int, Code | None]:
        """The status and code for a trigger; the trigger's usual status and no code if unnamed.

        With `status`, only entries of that status count (the response status is already fixed).
        """
        for table in self.tables(operation_id):
            found = table.find(trigger, parameter, situation=situation, status=status)
            if found is not None:
                return found
        # Worth a warning only where the document has codes at all: a document without
        # x-kontrakt error codes answers every error without one, by design.
        if self.has_codes:
            logger.warning("no error code for trigger %s (operation %s)", trigger, operation_id)
        else:
            logger.debug("no error code for trigger %s (operation %s)", trigger, operation_id)
        return status or TRIGGER_STATUS[trigger], None

    def render_problem(self, problem: ApiProblem, operation_id: str | None = None) -> Response:
        """The response for a raised `ApiProblem`."""
        if problem.trigger is not None:
            status, code = self.resolve(
                problem.trigger,
                operation_id=operation_id,
                parameter=problem.parameter,
                situation=problem.situation,
                status=problem.trigger_status,
            )
        else:
            assert problem.status is not None
            status, code = problem.status, problem.code
        return render_errors(
            self.style, status, problem.error_items(code), headers=problem.headers or None
        )

    def render_trigger(
        self,
        trigger: str,
        message: str,
        *,
        operation_id: str | None = None,
        parameter: str | None = None,
        situation: str | None = None,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """The response for a trigger the runtime answers itself (405, 413, 500...)."""
        status, code = self.resolve(
            trigger,
            operation_id=operation_id,
            parameter=parameter,
            situation=situation,
            status=status,
        )
        return render_errors(self.style, status, [ErrorItem(code, message)], headers=headers)
