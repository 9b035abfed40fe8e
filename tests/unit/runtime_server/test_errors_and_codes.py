"""Error bodies in each family's own shape, and the code lookup by trigger."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kontrakt.runtime.server import (
    SERVER_TRIGGERS,
    ApiProblem,
    ErrorItem,
    ErrorStyle,
    ErrorTable,
    ErrorUse,
    MissingTriggerError,
    error_body,
    render_error,
)
from tests.unit.runtime_server.helpers import (
    DAN_STYLE,
    DPS_STYLE,
    DSOP_ERRORS,
    DSOP_STYLE,
    SDIR_ERRORS,
    SDIR_STYLE,
)


def body_of(style: ErrorStyle, status: int, code: Any, message: str, **kw: Any) -> Any:
    response = render_error(style, status, code, message, **kw)
    assert response.status_code == status
    assert response.media_type == style.media_type
    return json.loads(bytes(response.body))


# --- the four styles, exact bodies --------------------------------------------------------------


def test_dsop_body() -> None:
    body = body_of(DSOP_STYLE, 400, "ACC-001", "Header CorrelationID is missing.")
    assert body == {"code": "ACC-001", "message": "Header CorrelationID is missing."}


def test_dsop_body_ignores_field_and_index() -> None:
    body = body_of(DSOP_STYLE, 400, "ACC-001", "bad", field="CorrelationID", index=2)
    assert body == {"code": "ACC-001", "message": "bad"}


def test_dps_envelope_with_details() -> None:
    body = body_of(DPS_STYLE, 400, "VALIDATION_ERROR", "objectId is required", field="objectId")
    assert body == {
        "error": {
            "code": "VALIDATION_ERROR",
            "message": "objectId is required",
            "details": "objectId",
        }
    }
    plain = body_of(DPS_STYLE, 401, "UNAUTHORIZED", "no token")
    assert plain == {"error": {"code": "UNAUTHORIZED", "message": "no token"}}
    explicit = body_of(DPS_STYLE, 409, "DUPLICATE_OBJECT_ID", "dup", details="objectId abc")
    assert explicit["error"]["details"] == "objectId abc"


def test_dan_integer_code_and_description() -> None:
    body = body_of(DAN_STYLE, 401, "1023", "Missing authentication")
    assert body == {"code": 1023, "description": "Missing authentication"}
    assert isinstance(body["code"], int)


def test_sdir_problem_with_errors_list() -> None:
    body = body_of(
        SDIR_STYLE,
        400,
        "UNKNOWN_COMPETENCE_CODE",
        "XYZ is unknown",
        field="competenceCode",
        index=1,
    )
    assert body == {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": "XYZ is unknown",
        "errors": [
            {
                "index": 1,
                "field": "competenceCode",
                "code": "UNKNOWN_COMPETENCE_CODE",
                "message": "XYZ is unknown",
            }
        ],
    }


def test_sdir_problem_without_field_or_index() -> None:
    body = body_of(SDIR_STYLE, 401, "INVALID_TOKEN", "expired")
    assert body["errors"] == [{"code": "INVALID_TOKEN", "message": "expired"}]
    assert body["status"] == 401 and body["title"] == "Unauthorized"


def test_problem_lists_every_item() -> None:
    items = [
        ErrorItem("VALIDATION_FAILED", "bad a", field="a", index=0),
        ErrorItem("VALIDATION_FAILED", "bad b", field="b", index=3),
    ]
    body = error_body(SDIR_STYLE, 400, items, message="2 items failed")
    assert body["detail"] == "2 items failed"
    assert [e["index"] for e in body["errors"]] == [0, 3]
    # A single-code style carries only the first.
    assert error_body(DSOP_STYLE, 400, items) == {"code": "VALIDATION_FAILED", "message": "bad a"}


def test_code_omitted_when_unnamed() -> None:
    assert body_of(DSOP_STYLE, 404, None, "No resource") == {"message": "No resource"}


def test_style_from_catalogue() -> None:
    style = ErrorStyle.from_catalogue(
        {"code-pointer": "/errors/*/code", "code-type": "string"},
        media_type="application/problem+json",
    )
    assert style.lists_items and style.is_problem
    dan = ErrorStyle.from_catalogue(
        {"code-pointer": "/code", "code-type": "integer"}, message_field="description"
    )
    assert dan == DAN_STYLE


@pytest.mark.parametrize("pointer", ["code", "/", "/*/code", "/errors/*", "/a/*/b/*/code"])
def test_style_rejects_bad_pointers(pointer: str) -> None:
    with pytest.raises(ValueError, match="pointer"):
        ErrorStyle(code_pointer=pointer)


def test_integer_style_refuses_non_numeric_codes() -> None:
    with pytest.raises(ValueError):
        render_error(DAN_STYLE, 400, "ACC-001", "x")


@given(
    code=st.text(min_size=1, max_size=20),
    message=st.text(max_size=200),
    field=st.none() | st.text(min_size=1, max_size=30),
    index=st.none() | st.integers(min_value=0, max_value=10_000),
)
@settings(max_examples=60, deadline=None, database=None)
def test_code_sits_at_the_pointer(
    code: str, message: str, field: str | None, index: int | None
) -> None:
    """Whatever the message, the code is found where the catalogue's code-pointer says."""
    for style, path in (
        (DSOP_STYLE, ["code"]),
        (DPS_STYLE, ["error", "code"]),
        (SDIR_STYLE, ["errors", 0, "code"]),
    ):
        response = render_error(style, 400, code, message, field=field, index=index)
        value: Any = json.loads(bytes(response.body))
        for step in path:
            value = value[step]
        assert value == code


def test_api_problem_from_trigger() -> None:
    problem = ApiProblem.from_trigger("not-found", "gone", parameter="accountReference")
    assert problem.status is None and problem.trigger == "not-found"
    assert problem.parameter == "accountReference"
    with pytest.raises(ValueError, match="unknown trigger"):
        ApiProblem.from_trigger("nope", "x")


# --- ErrorTable ----------------------------------------------------------------------------------


def test_lookup_by_trigger() -> None:
    table = ErrorTable(DSOP_ERRORS)
    assert table.for_trigger("missing-parameter", "CorrelationID") == (400, "ACC-001")
    assert table.for_trigger("method-not-allowed") == (405, "ACC-012")
    assert table.for_trigger("server-error") == (500, "ACC-100")
    assert table.for_trigger("not-found", "accountReference") == (404, "ACC-002")


def test_parameter_match_wins_and_header_names_fold_case() -> None:
    table = ErrorTable(
        {
            "invalid-parameter": [
                (400, "GENERIC", ()),
                (400, "BAD_DATE", ("fromDate", "toDate")),
                (400, "BAD_ID", ("CorrelationID",)),
            ]
        }
    )
    assert table.for_trigger("invalid-parameter", "toDate") == (400, "BAD_DATE")
    assert table.for_trigger("invalid-parameter", "correlationid") == (400, "BAD_ID")
    assert table.for_trigger("invalid-parameter", "other") == (400, "GENERIC")
    assert table.for_trigger("invalid-parameter") == (400, "GENERIC")


def test_situation_and_frequency() -> None:
    table = ErrorTable(SDIR_ERRORS)
    # Untagged lookups avoid the entry tagged for malformed bodies; the most used code wins.
    assert table.for_trigger("invalid-body") == (400, "VALIDATION_FAILED")
    assert table.for_trigger("invalid-body", situation="malformed") == (400, "MALFORMED_JSON")
    assert table.for_trigger("invalid-body", "competenceCode") == (400, "UNKNOWN_COMPETENCE_CODE")
    key = "Ocp-Apim-Subscription-Key"
    assert (
        table.for_trigger("unauthenticated", key, situation="missing")[1]
        == "MISSING_SUBSCRIPTION_KEY"
    )
    assert (
        table.for_trigger("unauthenticated", key, situation="invalid")[1]
        == "INVALID_SUBSCRIPTION_KEY"
    )
    assert (
        table.for_trigger("unauthenticated", "Authorization", situation="missing")[1]
        == "INVALID_TOKEN"
    )


def test_related_400_triggers_stand_in() -> None:
    table = ErrorTable({"invalid-parameter": [(400, "VALIDATION_ERROR", ())]})
    assert table.for_trigger("missing-parameter", "x") == (400, "VALIDATION_ERROR")
    assert table.for_trigger("invalid-body") == (400, "VALIDATION_ERROR")


def test_fallbacks() -> None:
    table = ErrorTable(
        {"invalid-body": [(400, "BAD", ())], "server-error": [(500, "ERR", ())]},
        fallbacks={"method-not-allowed": (405, "NOPE"), "upstream-error": "server-error"},
    )
    assert table.for_trigger("method-not-allowed") == (405, "NOPE")
    assert table.for_trigger("upstream-error") == (500, "ERR")
    assert table.for_status(405) == "NOPE"


def test_missing_trigger_is_a_build_time_error() -> None:
    with pytest.raises(MissingTriggerError) as caught:
        ErrorTable({"server-error": [(500, "X", ())]}, require=SERVER_TRIGGERS)
    assert "method-not-allowed" in str(caught.value)
    assert "server-error" not in caught.value.missing
    table = ErrorTable(DSOP_ERRORS)
    assert table.missing(SERVER_TRIGGERS) == ("unsupported-media-type", "payload-too-large")
    with pytest.raises(MissingTriggerError):
        table.for_trigger("conflict")
    assert table.find("conflict") is None


def test_data_errors() -> None:
    with pytest.raises(ValueError, match="unknown trigger"):
        ErrorTable({"missing-header": [(400, "X", ())]})
    with pytest.raises(ValueError, match="4xx/5xx"):
        ErrorTable({"invalid-body": [(200, "X", ())]})
    with pytest.raises(TypeError, match="sequence"):
        ErrorTable({"invalid-body": [(400, "X", "body")]})
    with pytest.raises(ValueError, match="situation"):
        ErrorUse(400, "X", (), "Some times")  # a word of the document: kebab-case


def test_mapping_entries_and_union() -> None:
    one = ErrorTable({"not-found": [{"status": 404, "code": "NF", "parameters": ["id"]}]})
    two = ErrorTable({"server-error": [ErrorUse(500, "ERR")]})
    both = ErrorTable.union([one, two])
    assert both.triggers == {"not-found", "server-error"}
    assert both.for_trigger("not-found", "id") == (404, "NF")


def test_status_filter() -> None:
    # DAN answers an unknown accreditation with 403 on the reminder operations, 404 elsewhere.
    table = ErrorTable(
        {
            "not-found": [
                (404, "1002", ()),
                (403, "1019", ()),
                (403, "1019", ()),
            ]
        }
    )
    assert table.for_trigger("not-found") == (403, "1019")
    assert table.for_trigger("not-found", status=404) == (404, "1002")
    assert table.find("not-found", status=410) is None
