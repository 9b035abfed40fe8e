"""Hand-built servers, as the generator will write them, answering in each API's own terms."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from kontrakt.runtime.server import MissingTriggerError
from tests.unit.runtime_server.helpers import (
    API_KEY,
    DPS_ISSUER,
    SDIR_SCOPE,
    Keys,
    call,
    dan_app,
    dps_app,
    dsop_app,
    dsop_headers,
    hs256_with_public_key,
    sdir_app,
    token,
    unsigned_token,
)


def without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != name}


# --- DSOP Control v2.0: ACC codes -----------------------------------------------------------------


@pytest.fixture(scope="module")
def dsop(keys: Keys) -> FastAPI:
    return dsop_app(keys)


def test_dsop_ok_plain_json_in_test(dsop: FastAPI, keys: Keys) -> None:
    response = call(dsop, "GET", "/accounts", headers=dsop_headers(token(keys)))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["accounts"][0]["accountReference"] == "ref-1"
    assert response.headers["CorrelationID"] == "7f1e4a52-9c3b-4d8e-8a61-2b5f0c9d3e17"


def test_dsop_jose_by_default(dsop: FastAPI, keys: Keys) -> None:
    for accept in (None, "*/*", "application/jose", "application/*"):
        headers = without(dsop_headers(token(keys)), "Accept")
        if accept:
            headers["Accept"] = accept
        response = call(dsop, "GET", "/accounts", headers=headers)
        assert response.status_code == 200, accept
        assert response.headers["content-type"] == "application/jose"
        assert response.text.count(".") == 4  # compact JWE: five parts


@pytest.mark.parametrize(
    "header", ["CorrelationID", "AccountInfoRequestID", "Legal-Mandate", "PartyID"]
)
def test_dsop_missing_header_is_acc_001(dsop: FastAPI, keys: Keys, header: str) -> None:
    response = call(dsop, "GET", "/accounts", headers=without(dsop_headers(token(keys)), header))
    assert response.status_code == 400
    assert response.json() == {
        "code": "ACC-001",
        "message": f"The header parameter {header} is missing.",
    }


def test_dsop_malformed_uuid_is_acc_001(dsop: FastAPI, keys: Keys) -> None:
    response = call(
        dsop, "GET", "/accounts", headers=dsop_headers(token(keys), CorrelationID="not-a-uuid")
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "ACC-001"
    assert body["message"].startswith("The header parameter CorrelationID is not valid")
    assert set(body) == {"code", "message"}


def test_dsop_malformed_query_is_acc_001(dsop: FastAPI, keys: Keys) -> None:
    response = call(
        dsop, "GET", "/accounts?OnlyPrimaryOwner=perhaps", headers=dsop_headers(token(keys))
    )
    assert response.status_code == 400
    assert response.json()["code"] == "ACC-001"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_dsop_other_methods_are_acc_012(dsop: FastAPI, keys: Keys, method: str) -> None:
    for path in ("/accounts", "/accounts/ref-1"):
        response = call(dsop, method, path, headers=dsop_headers(token(keys)))
        assert response.status_code == 405
        assert response.headers["Allow"] == "GET"
        assert response.json() == {
            "code": "ACC-012",
            "message": f"Method {method} is not allowed here; use GET.",
        }


@pytest.mark.parametrize(
    "accept", ["text/csv", "application/xml", "application/json;q=0, application/jose;q=0"]
)
def test_dsop_unsupported_accept_is_acc_013(dsop: FastAPI, keys: Keys, accept: str) -> None:
    response = call(dsop, "GET", "/accounts", headers=dsop_headers(token(keys), Accept=accept))
    assert response.status_code == 406
    assert response.json()["code"] == "ACC-013"
    assert response.headers["content-type"] == "application/json"


def test_dsop_plain_json_refused_in_production(keys: Keys) -> None:
    production = dsop_app(keys, environment="production")
    response = call(production, "GET", "/accounts", headers=dsop_headers(token(keys)))
    assert response.status_code == 406
    assert response.json()["code"] == "ACC-013"


def test_dsop_no_token_is_acc_010(dsop: FastAPI) -> None:
    for headers in (
        dsop_headers(None),
        {**dsop_headers(None), "Authorization": "Basic dXNlcjpwYXNz"},
        {**dsop_headers(None), "Authorization": "Bearer "},
    ):
        response = call(dsop, "GET", "/accounts", headers=headers)
        assert response.status_code == 401
        assert response.json() == {
            "code": "ACC-010",
            "message": "A bearer access token is required.",
        }
        assert response.headers["WWW-Authenticate"] == "Bearer"


BAD_TOKENS = {
    "forged-signature": lambda k: token(k, key=k.attacker),
    "alg-none": lambda k: unsigned_token(),
    "hs256-key-confusion": lambda k: hs256_with_public_key(k),
    "expired": lambda k: token(k, exp=int(time.time()) - 60, iat=int(time.time()) - 180),
    "wrong-aud": lambda k: token(k, aud="https://another-bank.example/v2"),
    "wrong-iss": lambda k: token(k, iss="https://maskinporten.no/"),
    "unknown-kid": lambda k: token(k, kid="rotated-away"),
    "truncated": lambda k: token(k)[:-10],
}


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_dsop_bad_token_is_acc_010(dsop: FastAPI, keys: Keys, kind: str) -> None:
    bad = BAD_TOKENS[kind](keys)
    response = call(dsop, "GET", "/accounts", headers=dsop_headers(bad))
    assert response.status_code == 401
    assert response.json()["code"] == "ACC-010"
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert_not_echoed(response, bad)


def test_dsop_wrong_scope_is_acc_011(dsop: FastAPI, keys: Keys) -> None:
    response = call(
        dsop, "GET", "/accounts", headers=dsop_headers(token(keys, scope="bits:kundeforhold"))
    )
    assert response.status_code == 403
    assert response.json() == {
        "code": "ACC-011",
        "message": "The access token lacks a required scope.",
    }
    assert "insufficient_scope" in response.headers["WWW-Authenticate"]


def test_dsop_authentication_comes_before_validation(dsop: FastAPI) -> None:
    headers = without(dsop_headers(None), "CorrelationID")
    response = call(dsop, "GET", "/accounts", headers=headers)
    assert response.status_code == 401


def test_dsop_not_found_codes(dsop: FastAPI, keys: Keys) -> None:
    response = call(dsop, "GET", "/accounts/unknown", headers=dsop_headers(token(keys)))
    assert response.status_code == 404
    assert response.json() == {
        "code": "ACC-002",
        "message": "No account matches the given accountReference.",
    }
    unknown_path = call(dsop, "GET", "/cards", headers=dsop_headers(token(keys)))
    assert unknown_path.status_code == 404
    assert set(unknown_path.json()) == {"code", "message"}


def test_dsop_handler_failure_is_acc_100_without_traceback(
    dsop: FastAPI, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    good = token(keys)
    response = call(dsop, "GET", "/accounts", headers=dsop_headers(good, PartyID="boom"))
    assert response.status_code == 500
    assert response.json() == {
        "code": "ACC-100",
        "message": "The server failed to process the request.",
    }
    for leak in ("Traceback", "RuntimeError", "back end down", "synthetic-client"):
        assert leak not in response.text
    assert_not_echoed(response, good)
    assert any("unhandled error" in record.message for record in caplog.records)


def assert_not_echoed(response: Any, secret: str) -> None:
    """Neither the token nor a recognisable piece of it appears anywhere in the response."""
    everything = response.text + "".join(f"{k}:{v}" for k, v in response.headers.items())
    assert secret not in everything
    for part in secret.split("."):
        if len(part) >= 12:
            assert part not in everything


def test_tokens_never_echoed_in_any_refusal(dsop: FastAPI, keys: Keys) -> None:
    good = token(keys)
    cases: Iterator[dict[str, str]] = iter(
        [
            dsop_headers(good, CorrelationID="x"),
            dsop_headers(good, Accept="text/csv"),
            dsop_headers(token(keys, scope="nothing")),
            {**dsop_headers(good), "Authorization": f"Bearer {good}x"},
            {**dsop_headers(good), "Authorization": f"Token {good}"},
        ]
    )
    for headers in cases:
        response = call(dsop, "GET", "/accounts", headers=headers)
        assert response.status_code >= 400
        assert_not_echoed(response, headers["Authorization"].split(" ", 1)[1])


# --- DPS: envelope, templated roles, build-time check -----------------------------------------------


def dps_token(keys: Keys, roles: list[str]) -> str:
    return token(
        keys,
        iss=DPS_ISSUER,
        aud="dps-submission",
        scope=None,
        realm_access={"roles": roles},
    )


@pytest.fixture(scope="module")
def dps(keys: Keys) -> FastAPI:
    return dps_app(keys)


SUBMISSION = {"objectId": "obj-1", "title": "Film 1"}


def test_dps_write_role(dps: FastAPI, keys: Keys) -> None:
    ok = call(
        dps,
        "POST",
        "/v1/contracts/a1f3/submissions",
        json=SUBMISSION,
        headers={"Authorization": f"Bearer {dps_token(keys, ['a1f3_W'])}"},
    )
    assert ok.status_code == 201
    assert ok.json()["status"] == "REGISTERED"


@pytest.mark.parametrize("roles", [["a1f3_R"], ["b2c4_W"], []])
def test_dps_missing_write_role_is_403(dps: FastAPI, keys: Keys, roles: list[str]) -> None:
    response = call(
        dps,
        "POST",
        "/v1/contracts/a1f3/submissions",
        json=SUBMISSION,
        headers={"Authorization": f"Bearer {dps_token(keys, roles)}"},
    )
    assert response.status_code == 403
    assert response.json() == {
        "error": {
            "code": "FORBIDDEN",
            "message": "The access token holds no role that permits this operation.",
        }
    }


def test_dps_read_accepts_read_or_write_role(dps: FastAPI, keys: Keys) -> None:
    for roles, status in ((["a1f3_R"], 200), (["a1f3_W"], 200), (["ffff_R"], 403)):
        response = call(
            dps,
            "GET",
            "/v1/contracts/a1f3/submissions",
            headers={"Authorization": f"Bearer {dps_token(keys, roles)}"},
        )
        assert response.status_code == status, roles


def test_dps_no_token_is_unauthorized(dps: FastAPI) -> None:
    response = call(dps, "POST", "/v1/contracts/a1f3/submissions", json=SUBMISSION)
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "UNAUTHORIZED", "message": "A bearer access token is required."}
    }


def test_dps_401_before_body_errors(dps: FastAPI) -> None:
    response = call(
        dps,
        "POST",
        "/v1/contracts/a1f3/submissions",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 401


def test_dps_validation_envelope(dps: FastAPI, keys: Keys) -> None:
    auth = {"Authorization": f"Bearer {dps_token(keys, ['a1f3_W', 'zzzz_W'])}"}
    missing = call(dps, "POST", "/v1/contracts/a1f3/submissions", json={"title": "x"}, headers=auth)
    assert missing.status_code == 400
    error = missing.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and error["details"] == "objectId"
    bad_path = call(dps, "POST", "/v1/contracts/zzzz/submissions", json=SUBMISSION, headers=auth)
    assert bad_path.status_code == 400
    assert bad_path.json()["error"]["details"] == "contractId"
    not_json = call(
        dps,
        "POST",
        "/v1/contracts/a1f3/submissions",
        content=b"{not json",
        headers={**auth, "Content-Type": "application/json"},
    )
    assert not_json.status_code == 400
    assert not_json.json()["error"]["message"] == "The request body is not valid JSON."


def test_dps_handler_problem_and_fallback_codes(dps: FastAPI, keys: Keys) -> None:
    auth = {"Authorization": f"Bearer {dps_token(keys, ['a1f3_W'])}"}
    taken = call(
        dps,
        "POST",
        "/v1/contracts/a1f3/submissions",
        json={"objectId": "taken", "title": "x"},
        headers=auth,
    )
    assert taken.status_code == 409
    assert taken.json() == {
        "error": {
            "code": "DUPLICATE_OBJECT_ID",
            "message": "objectId already used.",
            "details": "objectId",
        }
    }
    wrong_method = call(dps, "DELETE", "/v1/contracts/a1f3/submissions", headers=auth)
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"] == "GET, POST"
    assert wrong_method.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_dps_without_fallbacks_does_not_build(keys: Keys) -> None:
    with pytest.raises(MissingTriggerError) as caught:
        dps_app(keys, fallbacks=None)
    message = str(caught.value)
    for expected in (
        "method-not-allowed (the API)",
        "unsupported-media-type (operation createSubmission)",
        "payload-too-large (the body cap)",
    ):
        assert expected in message


# --- Sdir: problem+json, API key AND bearer, 413, 415 --------------------------------------------


@pytest.fixture(scope="module")
def sdir(keys: Keys) -> FastAPI:
    return sdir_app(keys)


COMPETENCE = {"personalIdentityNumber": "12838941247", "competenceCode": "BV"}


def sdir_headers(
    keys: Keys, *, key: str | None = API_KEY, bearer: str | None = "valid"
) -> dict[str, str]:
    headers = {}
    if key is not None:
        headers["Ocp-Apim-Subscription-Key"] = key
    if bearer == "valid":
        bearer = token(keys, scope=SDIR_SCOPE)
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    return headers


def problem_code(response: Any) -> str:
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == response.status_code
    code: str = body["errors"][0]["code"]
    return code


def test_sdir_key_and_bearer_both_required(sdir: FastAPI, keys: Keys) -> None:
    url = "/v1/additionalcompetence"
    both = call(sdir, "POST", url, json=COMPETENCE, headers=sdir_headers(keys))
    assert both.status_code == 201
    no_key = call(sdir, "POST", url, json=COMPETENCE, headers=sdir_headers(keys, key=None))
    assert no_key.status_code == 401 and problem_code(no_key) == "MISSING_SUBSCRIPTION_KEY"
    bad_key = call(sdir, "POST", url, json=COMPETENCE, headers=sdir_headers(keys, key="guess"))
    assert bad_key.status_code == 401 and problem_code(bad_key) == "INVALID_SUBSCRIPTION_KEY"
    no_token = call(sdir, "POST", url, json=COMPETENCE, headers=sdir_headers(keys, bearer=None))
    assert no_token.status_code == 401 and problem_code(no_token) == "INVALID_TOKEN"
    neither = call(sdir, "POST", url, json=COMPETENCE, headers={})
    assert neither.status_code == 401 and problem_code(neither) == "MISSING_SUBSCRIPTION_KEY"
    for response in (no_key, bad_key, no_token, neither):
        assert API_KEY not in response.text


def test_sdir_wrong_scope_is_403(sdir: FastAPI, keys: Keys) -> None:
    headers = sdir_headers(keys, bearer=token(keys, scope="sdir:other"))
    response = call(sdir, "POST", "/v1/additionalcompetence", json=COMPETENCE, headers=headers)
    assert response.status_code == 403 and problem_code(response) == "INSUFFICIENT_SCOPE"


def test_sdir_wrong_content_type_is_415(sdir: FastAPI, keys: Keys) -> None:
    for content_type in ("text/plain", "application/xml", None):
        headers = sdir_headers(keys)
        if content_type:
            headers["Content-Type"] = content_type
        response = call(
            sdir, "POST", "/v1/additionalcompetence", content=b'{"a": 1}', headers=headers
        )
        assert response.status_code == 415, content_type
        assert response.json() == {
            "type": "about:blank",
            "title": "Unsupported Media Type",
            "status": 415,
            "detail": "The request body must be sent as application/json."
            if content_type
            else "A request body needs a Content-Type (application/json).",
            "errors": [
                {
                    "code": "UNSUPPORTED_MEDIA_TYPE",
                    "message": "The request body must be sent as application/json."
                    if content_type
                    else "A request body needs a Content-Type (application/json).",
                }
            ],
        }


def test_sdir_oversized_body_is_413(sdir: FastAPI, keys: Keys) -> None:
    big = [COMPETENCE] * 100
    declared = call(
        sdir, "POST", "/v1/additionalcompetence/batch", json=big, headers=sdir_headers(keys)
    )
    assert declared.status_code == 413 and problem_code(declared) == "BATCH_TOO_LARGE"

    async def chunks() -> AsyncIterator[bytes]:
        # No Content-Length: the cap must hold for a chunked upload too.
        yield b"["
        for n in range(100):
            yield (
                b"," if n else b""
            ) + b'{"personalIdentityNumber":"12838941247","competenceCode":"BV"}'
        yield b"]"

    headers = {**sdir_headers(keys), "Content-Type": "application/json"}
    streamed = call(
        sdir, "POST", "/v1/additionalcompetence/batch", content=chunks(), headers=headers
    )
    assert streamed.status_code == 413 and problem_code(streamed) == "BATCH_TOO_LARGE"
    small = call(
        sdir,
        "POST",
        "/v1/additionalcompetence/batch",
        json=[COMPETENCE] * 3,
        headers=sdir_headers(keys),
    )
    assert small.status_code == 201 and len(small.json()) == 3


def test_sdir_body_errors(sdir: FastAPI, keys: Keys) -> None:
    malformed = call(
        sdir,
        "POST",
        "/v1/additionalcompetence",
        content=b'{"personalIdentityNumber": ',
        headers={**sdir_headers(keys), "Content-Type": "application/json"},
    )
    assert malformed.status_code == 400 and problem_code(malformed) == "MALFORMED_JSON"
    batch = [
        COMPETENCE,
        {"personalIdentityNumber": "123", "competenceCode": "BV"},
        {"competenceCode": "XYZ"},
    ]
    response = call(
        sdir, "POST", "/v1/additionalcompetence/batch", json=batch, headers=sdir_headers(keys)
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(e["index"], e["field"]) for e in errors] == [
        (1, "personalIdentityNumber"),
        (2, "personalIdentityNumber"),
    ]
    assert {e["code"] for e in errors} == {"VALIDATION_FAILED"}


# --- DAN: integer codes, description, missing vs invalid --------------------------------------------


@pytest.fixture(scope="module")
def dan(keys: Keys) -> FastAPI:
    return dan_app(keys)


def test_dan_error_model(dan: FastAPI, keys: Keys) -> None:
    url = "/accreditations/acc-1"
    key = {"Ocp-Apim-Subscription-Key": API_KEY}
    no_token = call(dan, "GET", url, headers=key)
    assert no_token.status_code == 401
    assert no_token.json() == {"code": 1023, "description": "A bearer access token is required."}
    bad_token = call(
        dan,
        "GET",
        url,
        headers={**key, "Authorization": f"Bearer {token(keys, key=keys.attacker)}"},
    )
    assert bad_token.status_code == 401
    assert bad_token.json() == {
        "code": 1024,
        "description": "The token's signature does not verify.",
    }
    no_key = call(dan, "GET", url, headers={"Authorization": f"Bearer {token(keys)}"})
    assert no_key.status_code == 401 and no_key.json()["code"] == 1023
    both = call(dan, "GET", url, headers={**key, "Authorization": f"Bearer {token(keys)}"})
    assert both.status_code == 404
    assert both.json() == {"code": 1002, "description": "Accreditation not found"}


def test_dan_method_without_code(dan: FastAPI) -> None:
    response = call(dan, "PUT", "/accreditations/acc-1")
    assert response.status_code == 405
    assert response.json() == {"description": "Method PUT is not allowed here; use GET."}


def test_guards_run_once_per_request() -> None:
    """A guard is both run early by KontraktRoute and resolved as a dependency: one check."""
    from fastapi import Depends

    from kontrakt.runtime.server import (
        ApiKeyScheme,
        ApiKeyVerifier,
        Authenticator,
        ErrorStyle,
        ErrorTable,
        SecurityRequirement,
        create_app,
        create_router,
    )

    seen: list[str] = []

    def check(key: str) -> bool:
        seen.append(key)
        return key == "k"

    auth = Authenticator(
        {"key": ApiKeyScheme(ApiKeyVerifier("X-Key", check))}, [SecurityRequirement({"key": ()})]
    )
    router = create_router()
    # This module uses postponed annotations, so the dependency goes in as a default value.
    auth_dependency = Depends(auth)

    @router.get("/thing", operation_id="getThing", dependencies=[auth_dependency])
    async def get_thing(context: Any = auth_dependency) -> dict[str, list[str]]:
        return {"schemes": list(context.schemes)}

    table = ErrorTable(
        {
            "unauthenticated": [(401, "NO", ())],
            "method-not-allowed": [(405, "METHOD", ())],
            "server-error": [(500, "ERR", ())],
        }
    )
    app = create_app([router], ErrorStyle(), table)
    response = call(app, "GET", "/thing", headers={"X-Key": "k"})
    assert response.json() == {"schemes": ["key"]}
    assert seen == ["k"]
    refused = call(app, "GET", "/thing", headers={"X-Key": "wrong"})
    assert refused.status_code == 401
    assert refused.json() == {"code": "NO", "message": "The API key is not valid."}
