"""Table-driven pairs of small documents: one row per change kind, asserting verdict and pointers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from kontrakt.diff import Verdict
from tests.unit.diff.helpers import base, diff, only

Doc = dict[str, Any]
B, W, A = Verdict.BREAKING, Verdict.WARN, Verdict.ALLOWED
GET = "/paths/~1items~1{id}/get"
PUT = "/paths/~1items~1{id}/put"
ITEM = "/components/schemas/Item"
ITEM_IN = "/components/schemas/ItemIn"


def get(doc: Doc) -> Doc:
    return doc["paths"]["/items/{id}"]["get"]  # type: ignore[no-any-return]


def put(doc: Doc) -> Doc:
    return doc["paths"]["/items/{id}"]["put"]  # type: ignore[no-any-return]


def item(doc: Doc) -> Doc:
    return doc["components"]["schemas"]["Item"]  # type: ignore[no-any-return]


def item_in(doc: Doc) -> Doc:
    return doc["components"]["schemas"]["ItemIn"]  # type: ignore[no-any-return]


@dataclass
class Case:
    name: str
    change: Callable[[Doc], object]
    kind: str
    verdict: Verdict
    old_pointer: str | None
    new_pointer: str | None
    before: Callable[[Doc], object] | None = None
    """Applied to both sides first (to set up what the change then alters)."""
    rules: str = "generic"
    rule: str | None = None


def _set(target: Callable[[Doc], Doc], key: str, value: Any) -> Callable[[Doc], object]:
    return lambda d: target(d).__setitem__(key, value)


def _del(target: Callable[[Doc], Doc], key: str) -> Callable[[Doc], object]:
    return lambda d: target(d).pop(key)


def _param(i: int) -> Callable[[Doc], Doc]:
    return lambda d: get(d)["parameters"][i]  # type: ignore[no-any-return]


def _prop(schema: Callable[[Doc], Doc], name: str) -> Callable[[Doc], Doc]:
    return lambda d: schema(d)["properties"][name]  # type: ignore[no-any-return]


CASES = [
    # -- paths and operations
    Case(
        "path removed",
        lambda d: d["paths"].pop("/items/{id}"),
        "path-removed",
        B,
        "/paths/~1items~1{id}",
        "/paths",
    ),
    Case(
        "path added",
        lambda d: d["paths"].__setitem__(
            "/health", {"get": {"responses": {"200": {"description": "ok"}}}}
        ),
        "path-added",
        A,
        "/paths",
        "/paths/~1health",
    ),
    Case(
        "operation removed",
        lambda d: d["paths"]["/items/{id}"].pop("put"),
        "operation-removed",
        B,
        PUT,
        "/paths/~1items~1{id}",
    ),
    Case(
        "operation added",
        lambda d: d["paths"]["/items/{id}"].__setitem__(
            "delete", {"responses": {"204": {"description": "gone"}}}
        ),
        "operation-added",
        A,
        "/paths/~1items~1{id}",
        "/paths/~1items~1{id}/delete",
    ),
    Case(
        "operationId changed",
        _set(get, "operationId", "fetchItem"),
        "operation-id-changed",
        W,
        GET + "/operationId",
        GET + "/operationId",
    ),
    Case(
        "deprecated path removed",
        lambda d: d["paths"].pop("/items/{id}"),
        "path-removed",
        W,
        "/paths/~1items~1{id}",
        "/paths",
        before=lambda d: [
            get(d).__setitem__("deprecated", True),
            put(d).__setitem__("deprecated", True),
        ],
        rule="GEN-PATH-REMOVED-DEPRECATED",
    ),
    # -- parameters
    Case(
        "required parameter added",
        lambda d: get(d)["parameters"].append(
            {"name": "X-Tenant", "in": "header", "required": True, "schema": {"type": "string"}}
        ),
        "request-parameter-added",
        B,
        GET + "/parameters",
        GET + "/parameters/3",
    ),
    Case(
        "optional parameter added",
        lambda d: get(d)["parameters"].append(
            {"name": "page", "in": "query", "schema": {"type": "integer"}}
        ),
        "request-parameter-added",
        A,
        GET + "/parameters",
        GET + "/parameters/3",
    ),
    Case(
        "parameter made required",
        _set(_param(1), "required", True),
        "request-parameter-became-required",
        B,
        GET + "/parameters/1",
        GET + "/parameters/1/required",
    ),
    Case(
        "parameter made optional",
        _set(_param(1), "required", False),
        "request-parameter-became-optional",
        A,
        GET + "/parameters/1/required",
        GET + "/parameters/1/required",
        before=_set(_param(1), "required", True),
    ),
    Case(
        "parameter removed",
        lambda d: get(d)["parameters"].pop(1),
        "request-parameter-removed",
        W,
        GET + "/parameters/1",
        GET + "/parameters",
    ),
    Case(
        "parameter moved",
        _set(_param(1), "in", "header"),
        "request-parameter-moved",
        B,
        GET + "/parameters/1",
        GET + "/parameters/1",
    ),
    Case(
        "parameter type changed",
        _set(_param(1), "schema", {"type": "integer"}),
        "request-parameter-type-changed",
        B,
        GET + "/parameters/1/schema/type",
        GET + "/parameters/1/schema/type",
    ),
    Case(
        "parameter type widened",
        _set(_param(1), "schema", {"type": ["string", "integer"], "maxLength": 10}),
        "request-parameter-type-changed",
        A,
        GET + "/parameters/1/schema/type",
        GET + "/parameters/1/schema/type",
    ),
    Case(
        "parameter format narrowed",
        lambda d: _param(0)(d)["schema"].__setitem__("format", "uuid"),
        "request-parameter-format-changed",
        B,
        GET + "/parameters/0/schema",
        GET + "/parameters/0/schema/format",
    ),
    Case(
        "parameter enum narrowed",
        lambda d: _param(2)(d)["schema"].__setitem__("enum", ["a"]),
        "request-parameter-enum-value-removed",
        B,
        GET + "/parameters/2/schema/enum",
        GET + "/parameters/2/schema/enum",
    ),
    Case(
        "parameter enum widened",
        lambda d: _param(2)(d)["schema"].__setitem__("enum", ["a", "b", "c"]),
        "request-parameter-enum-value-added",
        A,
        GET + "/parameters/2/schema/enum",
        GET + "/parameters/2/schema/enum",
    ),
    Case(
        "parameter became enum",
        lambda d: _param(1)(d)["schema"].__setitem__("enum", ["x"]),
        "request-parameter-became-enum",
        B,
        GET + "/parameters/1/schema",
        GET + "/parameters/1/schema/enum",
    ),
    Case(
        "parameter maxLength decreased",
        lambda d: _param(1)(d)["schema"].__setitem__("maxLength", 5),
        "request-parameter-max-length-changed",
        B,
        GET + "/parameters/1/schema/maxLength",
        GET + "/parameters/1/schema/maxLength",
    ),
    Case(
        "parameter maxLength increased",
        lambda d: _param(1)(d)["schema"].__setitem__("maxLength", 50),
        "request-parameter-max-length-changed",
        A,
        GET + "/parameters/1/schema/maxLength",
        GET + "/parameters/1/schema/maxLength",
    ),
    Case(
        "parameter pattern added",
        lambda d: _param(1)(d)["schema"].__setitem__("pattern", "^[a-z]+$"),
        "request-parameter-pattern-added",
        B,
        GET + "/parameters/1/schema",
        GET + "/parameters/1/schema/pattern",
    ),
    Case(
        "parameter style changed",
        _set(_param(1), "explode", False),
        "request-parameter-style-changed",
        B,
        GET + "/parameters/1",
        GET + "/parameters/1",
    ),
    # -- request bodies
    Case(
        "request body made required",
        lambda d: put(d)["requestBody"].__setitem__("required", True),
        "request-body-became-required",
        B,
        PUT + "/requestBody",
        PUT + "/requestBody/required",
    ),
    Case(
        "request body removed",
        _del(put, "requestBody"),
        "request-body-removed",
        B,
        PUT + "/requestBody",
        PUT,
    ),
    Case(
        "required request body added",
        lambda d: get(d).__setitem__(
            "requestBody",
            {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
        ),
        "request-body-added",
        B,
        GET,
        GET + "/requestBody",
    ),
    Case(
        "request media type removed",
        lambda d: put(d)["requestBody"].__setitem__(
            "content", {"application/xml": put(d)["requestBody"]["content"]["application/json"]}
        ),
        "request-media-type-removed",
        B,
        PUT + "/requestBody/content/application~1json",
        PUT + "/requestBody/content",
    ),
    Case(
        "request media type added",
        lambda d: put(d)["requestBody"]["content"].__setitem__(
            "application/xml", {"schema": {"type": "string"}}
        ),
        "request-media-type-added",
        A,
        PUT + "/requestBody/content",
        PUT + "/requestBody/content/application~1xml",
    ),
    Case(
        "request property added required",
        lambda d: [
            item_in(d)["properties"].__setitem__("size", {"type": "integer"}),
            item_in(d)["required"].append("size"),
        ],
        "request-property-added",
        B,
        ITEM_IN + "/properties",
        ITEM_IN + "/properties/size",
    ),
    Case(
        "request property added optional",
        lambda d: item_in(d)["properties"].__setitem__("size", {"type": "integer"}),
        "request-property-added",
        A,
        ITEM_IN + "/properties",
        ITEM_IN + "/properties/size",
    ),
    Case(
        "request property made required",
        lambda d: item_in(d)["required"].append("note"),
        "request-property-became-required",
        B,
        ITEM_IN + "/required",
        ITEM_IN + "/required",
    ),
    Case(
        "request property removed",
        lambda d: item_in(d)["properties"].pop("note"),
        "request-property-removed",
        W,
        ITEM_IN + "/properties/note",
        ITEM_IN + "/properties",
    ),
    Case(
        "request enum value added",
        lambda d: _prop(item_in, "colour")(d).__setitem__("enum", ["red", "blue", "green"]),
        "request-property-enum-value-added",
        A,
        ITEM_IN + "/properties/colour/enum",
        ITEM_IN + "/properties/colour/enum",
    ),
    Case(
        "request enum value removed",
        lambda d: _prop(item_in, "colour")(d).__setitem__("enum", ["red"]),
        "request-property-enum-value-removed",
        B,
        ITEM_IN + "/properties/colour/enum",
        ITEM_IN + "/properties/colour/enum",
    ),
    Case(
        "request property became not nullable",
        lambda d: _prop(item_in, "note")(d).__setitem__("type", "string"),
        "request-property-became-not-nullable",
        B,
        ITEM_IN + "/properties/note",
        ITEM_IN + "/properties/note",
        before=lambda d: _prop(item_in, "note")(d).__setitem__("type", ["string", "null"]),
    ),
    # -- responses
    Case(
        "error response status removed (docs/diff-policy.md: warn)",
        lambda d: get(d)["responses"].pop("404"),
        "response-status-removed",
        W,
        GET + "/responses/404",
        GET + "/responses",
    ),
    Case(
        "response status added",
        lambda d: get(d)["responses"].__setitem__("406", {"description": "not acceptable"}),
        "response-status-added",
        A,
        GET + "/responses",
        GET + "/responses/406",
    ),
    Case(
        "response media type removed",
        lambda d: get(d)["responses"]["200"].__setitem__(
            "content", {"application/xml": {"schema": {"type": "string"}}}
        ),
        "response-media-type-removed",
        B,
        GET + "/responses/200/content/application~1json",
        GET + "/responses/200/content",
    ),
    Case(
        "response media range narrowed",
        lambda d: get(d)["responses"]["200"].__setitem__(
            "content", {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}
        ),
        "response-media-type-changed",
        A,
        GET + "/responses/200/content/*~1*",
        GET + "/responses/200/content/application~1json",
        before=lambda d: get(d)["responses"]["200"].__setitem__(
            "content", {"*/*": {"schema": {"$ref": "#/components/schemas/Item"}}}
        ),
    ),
    Case(
        "response property removed",
        lambda d: item(d)["properties"].pop("count"),
        "response-property-removed",
        W,  # optional: a tolerant reader copes (docs/diff-policy.md)
        ITEM + "/properties/count",
        ITEM + "/properties",
    ),
    Case(
        "response property renamed",
        lambda d: item(d)["properties"].__setitem__("total", item(d)["properties"].pop("count")),
        "response-property-renamed",
        B,
        ITEM + "/properties/count",
        ITEM + "/properties/total",
    ),
    Case(
        "response property type changed",
        lambda d: _prop(item, "count")(d).__setitem__("type", "string"),
        "response-property-type-changed",
        B,
        ITEM + "/properties/count/type",
        ITEM + "/properties/count/type",
    ),
    Case(
        "response property type narrowed",
        lambda d: _prop(item, "count")(d).__setitem__("type", "integer"),
        "response-property-type-changed",
        A,
        ITEM + "/properties/count/type",
        ITEM + "/properties/count/type",
        before=lambda d: _prop(item, "count")(d).__setitem__("type", "number"),
    ),
    Case(
        "response property added",
        lambda d: item(d)["properties"].__setitem__("colour", {"type": "string"}),
        "response-property-added",
        A,
        ITEM + "/properties",
        ITEM + "/properties/colour",
    ),
    Case(
        "response property made optional",
        lambda d: item(d)["required"].remove("name"),
        "response-property-became-optional",
        B,
        ITEM + "/required",
        ITEM + "/required",
    ),
    Case(
        "response property became nullable",
        lambda d: _prop(item, "count")(d).__setitem__("type", ["integer", "null"]),
        "response-property-became-nullable",
        B,
        ITEM + "/properties/count",
        ITEM + "/properties/count",
    ),
    Case(
        "response enum value removed",
        lambda d: _prop(item, "status")(d).__setitem__("enum", ["open"]),
        "response-property-enum-value-removed",
        A,  # a reader meets fewer values (docs/diff-policy.md)
        ITEM + "/properties/status/enum",
        ITEM + "/properties/status/enum",
    ),
    Case(
        "response enum value added",
        lambda d: _prop(item, "status")(d).__setitem__("enum", ["open", "closed", "held"]),
        "response-property-enum-value-added",
        W,
        ITEM + "/properties/status/enum",
        ITEM + "/properties/status/enum",
    ),
    Case(
        "response enum value added, open enum",
        lambda d: _prop(item, "status")(d).update(
            {"enum": ["open", "closed", "held"], "x-kontrakt-open-enum": True}
        ),
        "response-property-enum-value-added",
        A,
        ITEM + "/properties/status/enum",
        ITEM + "/properties/status/enum",
    ),
    Case(
        "response maxLength increased",
        lambda d: _prop(item, "name")(d).__setitem__("maxLength", 80),
        "response-property-max-length-changed",
        B,
        ITEM + "/properties/name/maxLength",
        ITEM + "/properties/name/maxLength",
    ),
    Case(
        "response alternative added",
        lambda d: _prop(item, "count")(d).update(
            {"type": None, "oneOf": [{"type": "integer"}, {"type": "string"}]}
        ),
        "response-property-variant-added",
        B,
        ITEM + "/properties/count",
        ITEM + "/properties/count/oneOf/1",
        before=lambda d: _prop(item, "count")(d).update({"oneOf": [{"type": "integer"}]}),
    ),
    Case(
        "request alternatives lifted",
        lambda d: item_in(d).pop("anyOf"),
        "request-body-alternatives-lifted",
        A,
        ITEM_IN + "/anyOf",
        ITEM_IN,
        before=lambda d: item_in(d).__setitem__(
            "anyOf", [{"required": ["note"]}, {"required": ["colour"]}]
        ),
    ),
    Case(
        "request alternatives imposed",
        lambda d: item_in(d).__setitem__(
            "anyOf", [{"required": ["note"]}, {"required": ["colour"]}]
        ),
        "request-body-alternatives-imposed",
        B,
        ITEM_IN,
        ITEM_IN + "/anyOf",
    ),
    Case(
        "required response header removed",
        lambda d: get(d)["responses"]["200"].pop("headers"),
        "response-header-removed",
        B,
        GET + "/responses/200/headers/X-Trace",
        GET + "/responses/200",
    ),
    # -- security
    Case(
        "security scope added",
        lambda d: d.__setitem__("security", [{"oauth": ["items.read", "items.write"]}]),
        "security-scope-added",
        B,
        "/security",
        "/security",
    ),
    Case(
        "security scope removed",
        lambda d: d.__setitem__("security", [{"oauth": []}]),
        "security-scope-removed",
        A,
        "/security",
        "/security",
    ),
    Case(
        "security requirement added",
        lambda d: d.__setitem__("security", [{"oauth": ["items.read"], "key": []}]),
        "security-requirement-added",
        B,
        "/security",
        "/security",
    ),
    Case(
        "security added to a public API",
        lambda d: d.__setitem__("security", [{"key": []}]),
        "security-requirement-added",
        B,
        "/security",
        "/security",
        before=lambda d: d.pop("security"),
    ),
    Case(
        "security alternative added",
        lambda d: d.__setitem__("security", [{"oauth": ["items.read"]}, {"key": []}]),
        "security-alternative-added",
        A,
        "/security",
        "/security",
    ),
    Case(
        "security scheme changed",
        lambda d: d["components"]["securitySchemes"]["key"].__setitem__("name", "X-Api-Key"),
        "security-scheme-changed",
        B,
        "/components/securitySchemes/key",
        "/components/securitySchemes/key",
    ),
    # -- versions and servers
    Case(
        "major URL version",
        lambda d: d.__setitem__("servers", [{"url": "https://api.example.no/v2"}]),
        "api-major-version-changed",
        A,
        "/servers",
        "/servers",
    ),
    Case(
        "server removed",
        lambda d: d.__setitem__("servers", [{"url": "https://other.example.no/v1"}]),
        "server-removed",
        W,
        "/servers/0",
        "/servers",
    ),
    # -- kontrakt extensions: error catalogue, lifecycles, batches, pagination
    Case(
        "error code added",
        lambda d: d["x-kontrakt-error-catalogue"]["codes"].__setitem__(
            "E-3", {"status": 406, "name": "NotAcceptable", "title": "Not acceptable"}
        ),
        "error-code-added",
        A,
        "/x-kontrakt-error-catalogue",
        "/x-kontrakt-error-catalogue/codes/E-3",
    ),
    Case(
        "error code removed",
        lambda d: d["x-kontrakt-error-catalogue"]["codes"].pop("E-2"),
        "error-code-removed",
        B,
        "/x-kontrakt-error-catalogue/codes/E-2",
        "/x-kontrakt-error-catalogue",
    ),
    Case(
        "error code renumbered",
        lambda d: d["x-kontrakt-error-catalogue"]["codes"].__setitem__(
            "E-9", d["x-kontrakt-error-catalogue"]["codes"].pop("E-2")
        ),
        "error-code-renumbered",
        B,
        "/x-kontrakt-error-catalogue/codes/E-2",
        "/x-kontrakt-error-catalogue/codes/E-9",
    ),
    Case(
        "error code name changed",
        lambda d: d["x-kontrakt-error-catalogue"]["codes"]["E-2"].__setitem__("name", "NotThere"),
        "error-code-name-changed",
        B,
        "/x-kontrakt-error-catalogue/codes/E-2",
        "/x-kontrakt-error-catalogue/codes/E-2",
    ),
    Case(
        "error code re-worded",
        lambda d: d["x-kontrakt-error-catalogue"]["codes"]["E-2"].__setitem__(
            "title", "No such item"
        ),
        "error-code-text-changed",
        W,
        "/x-kontrakt-error-catalogue/codes/E-2",
        "/x-kontrakt-error-catalogue/codes/E-2",
    ),
    Case(
        "error code status changed",
        lambda d: d["x-kontrakt-error-catalogue"]["codes"]["E-2"].__setitem__("status", 410),
        "error-code-status-changed",
        B,
        "/x-kontrakt-error-catalogue/codes/E-2/status",
        "/x-kontrakt-error-catalogue/codes/E-2/status",
    ),
    Case(
        "state removed",
        lambda d: [
            d["x-kontrakt-lifecycles"]["job"]["states"].pop("done"),
            d["x-kontrakt-lifecycles"]["job"]["transitions"].__setitem__("queued", []),
        ],
        "lifecycle-state-removed",
        B,
        "/x-kontrakt-lifecycles/job/states/done",
        "/x-kontrakt-lifecycles/job/states",
    ),
    Case(
        "state added",
        lambda d: d["x-kontrakt-lifecycles"]["job"]["states"].__setitem__(
            "held", {"code": 3, "terminal": False, "description": "paused"}
        ),
        "lifecycle-state-added",
        A,
        "/x-kontrakt-lifecycles/job/states",
        "/x-kontrakt-lifecycles/job/states/held",
    ),
    Case(
        "state renumbered",
        lambda d: d["x-kontrakt-lifecycles"]["job"]["states"]["done"].__setitem__("code", 9),
        "lifecycle-state-renumbered",
        B,
        "/x-kontrakt-lifecycles/job/states/done/code",
        "/x-kontrakt-lifecycles/job/states/done/code",
    ),
    Case(
        "batch no longer atomic",
        lambda d: put(d)["x-kontrakt-batch"].__setitem__("atomic", False),
        "batch-changed",
        B,
        PUT + "/x-kontrakt-batch/atomic",
        PUT + "/x-kontrakt-batch",
    ),
    Case(
        "batch no longer atomic (Sdir)",
        lambda d: put(d)["x-kontrakt-batch"].__setitem__("atomic", False),
        "batch-changed",
        B,
        PUT + "/x-kontrakt-batch/atomic",
        PUT + "/x-kontrakt-batch",
        rules="sdir",
        rule="SDIR-BATCH-ATOMIC",
    ),
    Case(
        "batch limit lowered",
        lambda d: put(d)["x-kontrakt-batch"].__setitem__("max-items", 10),
        "batch-changed",
        B,
        PUT + "/x-kontrakt-batch/max-items",
        PUT + "/x-kontrakt-batch/max-items",
    ),
    Case(
        "error code removed (DAN)",
        lambda d: d["x-kontrakt-error-catalogue"]["codes"].pop("E-2"),
        "error-code-removed",
        B,
        "/x-kontrakt-error-catalogue/codes/E-2",
        "/x-kontrakt-error-catalogue",
        rules="dan",
        rule="DAN-CODES-FROZEN",
    ),
    Case(
        "error code re-worded (DAN)",
        lambda d: d["x-kontrakt-error-catalogue"]["codes"]["E-2"].__setitem__(
            "title", "No such item"
        ),
        "error-code-text-changed",
        W,
        "/x-kontrakt-error-catalogue/codes/E-2",
        "/x-kontrakt-error-catalogue/codes/E-2",
        rules="dan",
        rule="DAN-CODES-WORDING",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_pair(case: Case) -> None:
    old, new = base(), base()
    if case.before is not None:
        case.before(old)
        case.before(new)
    case.change(new)
    result = diff(old, new, case.rules)
    found = [c for c in result.changes if c.kind == case.kind]
    assert found, f"no {case.kind}; got {[c.id for c in result.changes]}"
    for change in found:  # one per affected operation; all the same difference
        assert change.verdict is case.verdict, change
        assert (change.old_pointer, change.new_pointer) == (case.old_pointer, case.new_pointer), (
            change
        )
        if case.rule is not None:
            assert change.rule == case.rule
        assert change.rule in result.rules
        assert change.id.startswith(case.kind + ":")


def test_every_kind_named_by_the_issue_has_a_row() -> None:
    """Issue #8's list: generic breaking and allowed kinds, each covered above."""
    covered = {c.kind for c in CASES}
    required = {
        "path-removed", "operation-removed", "request-parameter-added",
        "request-parameter-became-required", "request-parameter-type-changed",
        "request-parameter-format-changed", "request-parameter-enum-value-removed",
        "request-body-became-required", "response-status-removed", "response-property-removed",
        "response-property-renamed", "response-property-type-changed",
        "response-property-enum-value-removed", "security-requirement-added",
        "security-scope-added", "response-media-type-removed", "request-media-type-removed",
        "operation-added", "response-property-added", "request-property-enum-value-added",
        "response-status-added", "error-code-added", "error-code-removed", "error-code-renumbered",
        "error-code-name-changed", "error-code-text-changed", "api-major-version-changed",
    }  # fmt: skip
    assert required <= covered, required - covered


def test_identical_documents_report_nothing() -> None:
    assert diff(base(), base()).changes == []


def test_sanctioned_by_major_version_and_exit_logic() -> None:
    old, new = base(), base()
    new["servers"] = [{"url": "https://api.example.no/v2"}]
    new["paths"]["/items/{id}"].pop("put")
    result = diff(old, new)
    removed = only(result, "operation-removed")
    assert removed.verdict is Verdict.BREAKING and removed.sanctioned
    assert result.major is not None and result.major.label == "v1 -> v2"
    assert not result.fails("breaking") and not result.fails("warn")
    same = base()
    same["paths"]["/items/{id}"].pop("put")
    result = diff(base(), same)
    assert result.fails("breaking") and not result.fails("never")


def test_fail_on_warn() -> None:
    new = base()
    get(new)["operationId"] = "fetchItem"
    result = diff(base(), new)
    assert not result.fails("breaking")
    assert result.fails("warn")


def test_info_version_alone_counts_for_generic_but_not_for_dan() -> None:
    new = base()
    new["info"]["version"] = "2.0.0"
    new["paths"]["/items/{id}"].pop("put")
    old, unversioned = base(), dict(new)
    old.pop("servers"), unversioned.pop("servers")
    assert diff(old, unversioned).major is not None  # no URL version: info.version counts
    assert diff(base(), new).major is None  # the servers URL stays /v1: it decides
    dan = diff(base(), new, "dan")
    assert dan.major is None and dan.fails("breaking")
    assert any("URL version" in note for note in dan.notes)


def test_path_parameter_rename_is_no_change() -> None:
    new = base()
    path = new["paths"].pop("/items/{id}")
    path["get"]["parameters"][0]["name"] = "itemId"
    new["paths"]["/items/{itemId}"] = path
    assert diff(base(), new).changes == []


def test_ids_are_stable_and_content_derived() -> None:
    new = base()
    item(new)["properties"].pop("count")
    get(new)["responses"].pop("404")
    first = [c.id for c in diff(base(), new).changes]
    again = [c.id for c in diff(base(), new).changes]
    assert first == again
    assert "response-status-removed:GET /items/{id}:response 404" in first
    assert (
        "response-property-removed:GET /items/{id}:response 200 application/json body.count"
        in first
    )
    # The same difference under another rule set keeps its id.
    assert [c.id for c in diff(base(), new, "dan").changes] == first
