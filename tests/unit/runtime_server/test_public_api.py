"""The runtime's public names are pinned: generated servers import them."""

from __future__ import annotations

import kontrakt.runtime.server as runtime

PUBLIC = {
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
    "Code",
    "ContentTypeGuard",
    "Encoder",
    "ErrorItem",
    "ErrorStyle",
    "ErrorTable",
    "ErrorUse",
    "ErrorUseData",
    "JwksCache",
    "JwtVerifier",
    "KontraktRoute",
    "MissingTriggerError",
    "Negotiator",
    "Reply",
    "RoleRequirement",
    "SecurityRequirement",
    "SecurityScheme",
    "ServerConfig",
    "ServerErrorMiddleware",
    "TokenError",
    "choose_media_type",
    "claim_at",
    "coerce_code",
    "empty_response",
    "create_app",
    "create_router",
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
    "BodyReader",
    "QueryParam",
    "InvalidResult",
    "check_result",
    "Unchecked",
    "token_roles",
    "token_scopes",
}


def test_public_names_are_pinned() -> None:
    assert set(runtime.__all__) == PUBLIC
    for name in runtime.__all__:
        assert hasattr(runtime, name), name


def test_server_triggers_are_in_the_vocabulary() -> None:
    assert set(runtime.SERVER_TRIGGERS) <= runtime.TRIGGERS
