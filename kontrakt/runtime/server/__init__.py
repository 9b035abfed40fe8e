"""Runtime for generated FastAPI servers: the API's own error bodies and codes, authentication,
content negotiation and the checks every operation shares.

A generated `server.py` holds a handler Protocol per operation and a router factory; it passes the
document's data (error style, error uses by trigger, security requirements, roles, media types) to
the objects here, which hold the logic.
"""

from kontrakt.runtime.server.app import (
    KontraktRoute,
    create_app,
    create_router,
    install,
    required_triggers,
)
from kontrakt.runtime.server.auth import (
    ApiKeyScheme,
    AuthContext,
    Authenticator,
    BearerScheme,
    SecurityRequirement,
    SecurityScheme,
)
from kontrakt.runtime.server.batch import BatchLimit
from kontrakt.runtime.server.codes import (
    SERVER_TRIGGERS,
    SITUATIONS,
    TRIGGERS,
    ErrorTable,
    ErrorUse,
    ErrorUseData,
    MissingTriggerError,
)
from kontrakt.runtime.server.config import ServerConfig, operation_id_of
from kontrakt.runtime.server.errors import (
    PROBLEM_JSON,
    TRIGGER_STATUS,
    ApiProblem,
    Code,
    ErrorItem,
    ErrorStyle,
    coerce_code,
    error_body,
    render_error,
    render_errors,
)
from kontrakt.runtime.server.middleware import BodyLimitMiddleware, ServerErrorMiddleware
from kontrakt.runtime.server.negotiation import (
    ContentTypeGuard,
    Encoder,
    Negotiator,
    Reply,
    Unchecked,
    choose_media_type,
    empty_response,
    serialize,
)
from kontrakt.runtime.server.params import (
    BodyReader,
    InvalidResult,
    QueryParam,
    check_result,
    split_styled,
)
from kontrakt.runtime.server.security import (
    ApiKeyVerifier,
    JwksCache,
    JwtVerifier,
    RoleRequirement,
    TokenError,
    claim_at,
    expand_roles,
    has_any_role,
    has_scopes,
    token_roles,
    token_scopes,
)

__all__ = [
    "PROBLEM_JSON",
    "SERVER_TRIGGERS",
    "SITUATIONS",
    "TRIGGERS",
    "TRIGGER_STATUS",
    "ApiKeyScheme",
    "ApiKeyVerifier",
    "ApiProblem",
    "AuthContext",
    "Authenticator",
    "BatchLimit",
    "BearerScheme",
    "BodyLimitMiddleware",
    "BodyReader",
    "Code",
    "ContentTypeGuard",
    "Encoder",
    "ErrorItem",
    "ErrorStyle",
    "ErrorTable",
    "ErrorUse",
    "ErrorUseData",
    "InvalidResult",
    "JwksCache",
    "JwtVerifier",
    "KontraktRoute",
    "MissingTriggerError",
    "Negotiator",
    "QueryParam",
    "Reply",
    "RoleRequirement",
    "SecurityRequirement",
    "SecurityScheme",
    "ServerConfig",
    "ServerErrorMiddleware",
    "TokenError",
    "Unchecked",
    "check_result",
    "choose_media_type",
    "claim_at",
    "coerce_code",
    "create_app",
    "create_router",
    "empty_response",
    "error_body",
    "expand_roles",
    "has_any_role",
    "has_scopes",
    "install",
    "operation_id_of",
    "render_error",
    "render_errors",
    "required_triggers",
    "serialize",
    "split_styled",
    "token_roles",
    "token_scopes",
]
