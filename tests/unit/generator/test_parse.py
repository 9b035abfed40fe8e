"""Load, validate and parse on small documents: the IR they give, and the diagnostics for what the
generator refuses (Swagger 2.0, unknown versions, authored contracts that fail lint) or does not
support (warnings with a JSON pointer, best-effort output, never a traceback)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kontrakt.diagnostics import Level
from kontrakt.generator.ir import Api, ModelsModule
from kontrakt.generator.load import Document
from kontrakt.generator.parse import parse, plan_hoisting
from kontrakt.generator.pipeline import Built, build
from kontrakt.specfile import SpecFile

REPO = Path(__file__).resolve().parents[3]
GOLDEN = REPO / "tests" / "golden" / "specs"

HEAD = """\
openapi: 3.1.0
info: {title: Test, version: '1'}
"""


def _build(tmp_path: Path, body: str, head: str = HEAD, name: str = "doc.yaml") -> Built:
    path = tmp_path / name
    path.write_text(head + textwrap.dedent(body), encoding="utf-8")
    return build(path)


def _api(built: Built) -> Api:
    errors = [d.format() for d in built.diagnostics if d.level is Level.ERROR]
    assert not errors, errors
    assert built.api is not None
    return built.api


def _warnings(built: Built) -> dict[str, str]:
    return {d.pointer: d.message for d in built.diagnostics if d.level is Level.WARNING}


def test_swagger_2_is_refused_with_how_to_convert(tmp_path: Path) -> None:
    built = _build(
        tmp_path, "paths: {}\n", head="swagger: '2.0'\ninfo: {title: Old, version: '1'}\n"
    )
    assert built.package is None
    [diagnostic] = built.diagnostics
    assert diagnostic.level is Level.ERROR
    assert diagnostic.pointer == "/swagger"
    assert diagnostic.line == 1
    assert "Swagger 2.0" in diagnostic.message
    assert "swagger2openapi" in diagnostic.message


@pytest.mark.parametrize("version", ["2.0", "3.2.0", ""])
def test_other_versions_are_refused(tmp_path: Path, version: str) -> None:
    built = _build(
        tmp_path, "paths: {}\n", head=f"openapi: '{version}'\ninfo: {{title: T, version: '1'}}\n"
    )
    assert built.package is None
    assert [d.pointer for d in built.diagnostics] == ["/openapi"]
    assert "3.0.x and 3.1.x" in built.diagnostics[0].message


def test_unreadable_document_is_a_diagnostic(tmp_path: Path) -> None:
    built = _build(tmp_path, "paths: [unclosed\n")
    assert built.package is None
    assert built.diagnostics[0].level is Level.ERROR
    assert "not valid YAML" in built.diagnostics[0].message


def test_authored_contract_failing_lint_stops_generation(tmp_path: Path) -> None:
    text = (GOLDEN / "kontrakt-rules.yaml").read_text(encoding="utf-8")
    broken = text.replace("              trigger: not-found\n", "              trigger: lost\n")
    assert broken != text
    path = tmp_path / "rules.yaml"
    path.write_text(broken, encoding="utf-8")
    built = build(path)
    assert built.package is None
    assert any(d.level is Level.ERROR and d.check == "extension-schema" for d in built.diagnostics)


def test_foreign_lint_errors_become_warnings(tmp_path: Path) -> None:
    built = _build(
        tmp_path,
        """\
        paths:
          /a:
            get:
              responses:
                200:
                  description: ok
        components:
          schemas:
            Unused: {type: string}
        """,
    )
    api = _api(built)
    warnings = _warnings(built)
    assert api.operations[0].operation_id == "getA"
    assert "derived from its method and path" in warnings["/paths/~1a/get"]
    assert "bare numbers" in warnings["/paths/~1a/get/responses/200"]
    assert "never used" in warnings["/components/schemas/Unused"]
    assert api.operations[0].responses[0].status == "200"


def test_unresolvable_reference_stops_a_foreign_document(tmp_path: Path) -> None:
    built = _build(
        tmp_path,
        """\
        paths:
          /a:
            get:
              operationId: a
              responses:
                '200': {$ref: '#/components/responses/Missing'}
        """,
    )
    assert built.package is None
    assert [d.check for d in built.diagnostics if d.level is Level.ERROR] == ["refs"]


def test_external_reference_is_a_warning_and_any_value(tmp_path: Path) -> None:
    (tmp_path / "other.yaml").write_text("Thing: {type: string}\n", encoding="utf-8")
    built = _build(
        tmp_path,
        """\
        paths:
          /a:
            get:
              operationId: a
              responses:
                '200':
                  description: ok
                  content:
                    application/json:
                      schema: {$ref: 'other.yaml#/Thing'}
        components:
          schemas:
            Box:
              type: object
              properties:
                thing: {$ref: 'other.yaml#/Thing'}
        """,
    )
    api = _api(built)
    warnings = _warnings(built)
    assert (
        "outside the document"
        in warnings["/paths/~1a/get/responses/200/content/application~1json/schema/$ref"]
    )
    assert "outside the document" in warnings["/components/schemas/Box/properties/thing/$ref"]
    [content] = api.operations[0].responses[0].contents
    assert content.type is not None and content.type.annotation == "typing.Any"
    assert "class Box(BaseModel)" in api.models.source


def test_types_of_parameters_and_bodies(tmp_path: Path) -> None:
    built = _build(
        tmp_path,
        """\
        paths:
          /items/{id}:
            parameters:
              - {name: id, in: path, required: true, schema: {type: integer, minimum: 1}}
            post:
              operationId: saveItem
              parameters:
                - {name: when, in: query, schema: {type: string, format: date-time}}
                - {name: kind, in: query, schema: {$ref: '#/components/schemas/Kind'}}
                - {name: code, in: header, schema: {$ref: '#/components/schemas/Code'}}
                - {name: tags, in: query, explode: false, schema: {type: array, items: {type: string}}}
                - {name: note, in: query, schema: {type: [string, 'null'], maxLength: 5, default: x}}
                - {name: mode, in: query, schema: {enum: [a, b]}}
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      type: object
                      properties:
                        name: {type: string}
              responses:
                '200':
                  description: ok
                  content:
                    application/json:
                      schema: {type: array, items: {$ref: '#/components/schemas/Code'}}
                    text/plain:
                      schema: {type: string}
        components:
          schemas:
            Kind: {type: string, enum: [small, large]}
            Code: {type: string, pattern: '^[A-Z]+$'}
        """,
    )
    op = _api(built).operations[0]
    params = {p.name: p for p in op.parameters}
    assert list(params) == ["id", "when", "kind", "code", "tags", "note", "mode"]
    assert (
        params["id"].required and params["id"].location == "path" and params["id"].style == "simple"
    )
    assert params["id"].type.annotation == "int"
    assert params["id"].type.constraints == (("minimum", 1),)
    assert params["when"].type.annotation == "datetime.datetime"
    assert params["when"].style == "form" and params["when"].explode
    assert params["kind"].type.annotation == "Kind" and params["kind"].type.model == "Kind"
    # A constrained string component stays a plain str for a parameter (its class is named too).
    assert params["code"].type.annotation == "str" and params["code"].type.model == "Code"
    assert params["code"].type.constraints == (("pattern", "^[A-Z]+$"),)
    assert params["tags"].type.annotation == "list[str]" and not params["tags"].explode
    assert params["note"].type.annotation == "str | None" and params["note"].type.nullable
    assert params["note"].type.default_json == '"x"'
    assert params["mode"].type.annotation == 'typing.Literal["a", "b"]'
    assert op.request_body is not None and op.request_body.required
    [body] = op.request_body.contents
    assert body.type is not None and body.type.model == "SaveItemRequest"
    assert "class SaveItemRequest(BaseModel)" in _api(built).models.source
    json_body, text_body = op.responses[0].contents
    assert json_body.type is not None and json_body.type.annotation == "list[Code]"
    assert text_body.type is not None and text_body.type.annotation == "str"


def test_allof_with_a_required_list_names_the_composed_class(tmp_path: Path) -> None:
    # Sdir's AdditionalCompetenceV1Record: allOf [$ref to an anyOf, {required: [...]}] gives a
    # helper class with only the required members under the same pointer, emitted first; the
    # response must be typed with the class named after the component, or the client and the
    # server would drop every other member.
    built = _build(
        tmp_path,
        """\
        paths:
          /items:
            get:
              operationId: getItem
              responses:
                '200':
                  description: ok
                  content:
                    application/json:
                      schema: {$ref: '#/components/schemas/Record'}
        components:
          schemas:
            Item:
              type: object
              anyOf:
                - required: [a]
                - required: [b]
              properties:
                a: {type: string}
                b: {type: string}
                uid: {type: string}
            Record:
              allOf:
                - $ref: '#/components/schemas/Item'
                - required: [uid]
        """,
    )
    [content] = _api(built).operations[0].responses[0].contents
    assert content.type is not None and content.type.model == "Record"


def test_openapi_30_nullable(tmp_path: Path) -> None:
    built = _build(
        tmp_path,
        """\
        paths:
          /a:
            get:
              operationId: a
              parameters:
                - {name: q, in: query, schema: {type: string, nullable: true}}
                - {name: n, in: query, schema: {type: number, minimum: 0, exclusiveMinimum: true}}
              responses:
                '204': {description: none}
        """,
        head="openapi: 3.0.3\ninfo: {title: T, version: '1'}\n",
    )
    q, n = _api(built).operations[0].parameters
    assert q.type.annotation == "str | None" and q.type.nullable
    assert n.type.constraints == (("exclusiveMinimum", 0),)


def test_unsupported_constructs_are_warnings_with_pointers(tmp_path: Path) -> None:
    built = build(GOLDEN / "edge-cases-31.yaml")
    api = _api(built)
    warnings = _warnings(built)
    get = "/paths/~1kontoer~1{kontoId}~1bevegelser/get"
    assert "not supported" in warnings["/paths/~1dyr/post/callbacks"]
    assert "is not supported" in warnings[f"{get}/parameters/7/content"]
    assert "ignored" in warnings[f"{get}/parameters/6"]
    assert "get_file_2" in warnings["/paths/~1filer~1{id}/put/operationId"]
    by_id = {op.operation_id: op for op in api.operations}
    assert set(by_id) == {"meta/root", "hentKontoØkonomi", "postDyr", "getFile", "get_file"}
    assert by_id["meta/root"].python_name == "meta_root"
    assert by_id["hentKontoØkonomi"].python_name == "hent_konto_oekonomi"
    assert by_id["postDyr"].derived_id
    assert by_id["get_file"].python_name == "get_file_2"
    names = [p.python_name for p in by_id["hentKontoØkonomi"].parameters]
    # Path-level parameters come first; keywords and collisions get suffixes; Accept is dropped.
    assert names == [
        "konto_id",
        "class_",
        "from_date",
        "from_date_2",
        "x_request_id",
        "status",
        "sesjon",
        "filter",
    ]
    [webhook] = api.webhooks
    assert (
        webhook.webhook and webhook.path == "dyrEndret" and webhook.python_name == "on_dyr_endret"
    )


def test_security_requirements_and_schemes() -> None:
    api = _api(build(GOLDEN / "edge-cases-31.yaml"))
    schemes = {s.name: s for s in api.security_schemes}
    assert schemes["bearer"].kind == "http" and schemes["bearer"].scheme == "bearer"
    assert (schemes["apiKey"].key_name, schemes["apiKey"].key_location) == ("X-API-Key", "header")
    oauth = schemes["oauth"]
    assert [f.kind for f in oauth.flows] == ["clientCredentials", "authorizationCode"]
    assert oauth.flows[0].scopes == (("filer:les", "Read files."), ("filer:skriv", "Write files."))
    assert [r.schemes for r in api.security] == [(("bearer", ()),), (("apiKey", ()),), ()]
    by_id = {op.operation_id: op for op in api.operations}
    assert by_id["meta/root"].security == ()
    assert by_id["postDyr"].security == api.security
    [both] = by_id["get_file"].security
    assert both.schemes == (("oauth", ("filer:skriv",)), ("apiKey", ()))


def test_kontrakt_rules_reach_the_ir() -> None:
    api = _api(build(GOLDEN / "kontrakt-rules.yaml"))
    assert (api.package, api.api_id, api.family) == (
        "golden_rules_v1",
        "golden-rules/v1.0",
        "other",
    )
    catalogue = api.error_catalogue
    assert catalogue is not None
    assert (catalogue.code_pointer, catalogue.code_type) == ("/error/code", "string")
    assert {c.code: c.statuses for c in catalogue.codes}["ORD-404"] == (404, 410)
    assert [r.rule_id for r in api.rules][:2] == ["GOLD-AUTH-401", "GOLD-PAGE-LINKS"]
    ops = {op.operation_id: op for op in api.operations}
    listing = ops["listOrders"]
    assert listing.rules == ("GOLD-AUTH-401", "GOLD-PAGE-LINKS")
    assert listing.pagination is not None and listing.pagination.rels == ("next",)
    ok = listing.responses[0]
    assert [(m.media_type, m.environments) for m in ok.contents] == [
        ("application/json", ()),
        ("application/jose", ("production",)),
    ]
    unauthorized = listing.responses[1]
    assert unauthorized.component == "Unauthorized"
    assert [(e.code, e.trigger, e.rule) for e in unauthorized.errors] == [
        ("ORD-401", "unauthenticated", "GOLD-AUTH-401")
    ]
    create = ops["createOrders"]
    assert create.batch is not None and (create.batch.atomic, create.batch.max_items) == (True, 50)
    assert create.security[0].schemes == (("clientCredentials", ("orders:write",)),)
    submit = ops["submitOrder"]
    assert submit.lifecycle is not None
    assert (submit.lifecycle.requires, submit.lifecycle.moves_to, submit.lifecycle.otherwise) == (
        ("DRAFT",),
        "SUBMITTED",
        409,
    )
    assert submit.roles is not None and submit.roles.any_of == ("{orderId}_owner",)
    errors = {r.status: r.errors for r in submit.responses}
    assert errors["404"][0].parameters == ("orderId",)
    [life] = api.lifecycles
    assert (life.initial, life.unknown_states, life.schema) == (
        "DRAFT",
        "non-terminal",
        "#/components/schemas/OrderState",
    )
    assert dict(life.transitions)["DRAFT"] == ("SUBMITTED",)
    assert [s.name for s in life.states if s.terminal] == ["DONE"]
    [service] = api.services
    assert service.operations == ("listOrders",)
    assert (service.outside_status, service.outside_code) == (400, "ORD-400")
    assert service.constraints.additional_reference_id_type == ""  # null: the header must be absent
    assert service.constraints.period is not None and service.constraints.period.max_years_back == 3


def test_ir_is_hashable_and_equal_across_runs() -> None:
    first = _api(build(GOLDEN / "kontrakt-rules.yaml"))
    second = _api(build(GOLDEN / "kontrakt-rules.yaml"))
    assert first == second
    assert hash(first) == hash(second)


def test_defaults_of_the_wrong_type_are_converted_or_dropped(tmp_path: Path) -> None:
    built = _build(
        tmp_path,
        """\
        paths: {}
        components:
          schemas:
            Options:
              type: object
              properties:
                size: {type: integer, default: "50"}
                flag: {type: boolean, default: "false"}
                ratio: {type: number, default: "lots"}
        """,
    )
    api = _api(built)
    warnings = _warnings(built)
    assert "50 is used" in warnings["/components/schemas/Options/properties/size/default"]
    assert "False is used" in warnings["/components/schemas/Options/properties/flag/default"]
    assert "left out" in warnings["/components/schemas/Options/properties/ratio/default"]
    assert "size: int = 50" in api.models.source
    assert "flag: bool = False" in api.models.source
    assert "ratio: float | None = None" in api.models.source


def test_non_ascii_names_become_ascii_in_models() -> None:
    api = _api(build(GOLDEN / "edge-cases-31.yaml"))
    source = api.models.source
    assert "class Stoerrelse(BaseModel)" in source
    assert "beloep: Annotated[float, Field(alias='beløp', gt=0.0)]" in source
    assert source.isascii() is False  # aliases keep the document's names...
    for line in source.splitlines():
        name = line.strip().split(":")[0]
        if line.startswith("    ") and name.isidentifier():
            assert name.isascii(), line  # ...but every Python name is ASCII
    classes = {c.pointer: c.name for c in api.models.classes}
    assert classes["#/components/schemas/Størrelse"] == "Stoerrelse"


def test_models_failure_is_reported_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datamodel_code_generator

    def explode(*args: object, **kwargs: object) -> str:
        raise RuntimeError("boom at #/components/schemas/A")

    monkeypatch.setattr(datamodel_code_generator, "generate", explode)
    built = _build(tmp_path, "paths: {}\ncomponents:\n  schemas:\n    A: {type: string}\n")
    assert built.package is None
    [error] = [d for d in built.diagnostics if d.level is Level.ERROR]
    assert error.check == "models"
    assert "boom" in error.message


def test_malformed_document_gives_warnings_not_a_traceback(tmp_path: Path) -> None:
    built = _build(
        tmp_path,
        """\
        paths:
          /a:
            parameters: notalist
            get:
              operationId: 5
              parameters:
                - name: x
                - {name: y, in: query, schema: "string"}
                - {name: z, in: path, schema: {type: [integer, string]}}
              requestBody: [1, 2]
              responses:
                '200':
                  description: ok
                  content:
                    application/json: nope
                    text/plain:
                      schema: {type: string, enum: [a, 1, null, [x]]}
              security: {a: b}
              x-kontrakt-batch: {atomic: yes, max-items: "10"}
          /b: 42
        components:
          schemas:
            S: 5
          securitySchemes:
            s: {type: weird}
        x-kontrakt-error-catalogue: {codes: {A: {status: [400, x]}, B: 5}}
        x-kontrakt-services: {X: {operations: 5, constraints: {period: 3}}}
        x-kontrakt-lifecycles: {L: {states: [1], transitions: 5}}
        """,
    )
    api = _api(built)
    warnings = _warnings(built)
    for ptr in (
        "/paths/~1a/parameters",
        "/paths/~1a/get/parameters/0",
        "/paths/~1a/get/parameters/1/schema",
        "/paths/~1a/get/requestBody",
        "/paths/~1a/get/responses/200/content/application~1json",
        "/paths/~1a/get/security",
        "/paths/~1b",
        "/components/schemas/S",
        "/components/securitySchemes/s",
    ):
        assert ptr in warnings, ptr
    [op] = api.operations
    assert [p.python_name for p in op.parameters] == ["y", "z"]
    assert op.parameters[1].type.annotation == "int | str"
    assert op.responses[0].contents[0].type is not None
    assert op.responses[0].contents[0].type.enum == ("a", 1, None)
    assert op.batch is None
    assert api.error_catalogue is not None and [c.statuses for c in api.error_catalogue.codes] == [
        (400,),
        (),
    ]


_KEYS = [
    "operationId", "parameters", "requestBody", "responses", "security", "callbacks", "tags",
    "name", "in", "required", "schema", "content", "type", "items", "properties", "enum",
    "oneOf", "allOf", "nullable", "default", "format", "$ref", "200", "default", "headers",
    "application/json", "x-kontrakt-errors", "x-kontrakt-pagination", "x-kontrakt-batch",
    "x-kontrakt-lifecycle", "x-kontrakt-roles", "x-kontrakt-rules", "x-kontrakt-services",
    "x-kontrakt-lifecycles", "x-kontrakt-error-catalogue", "flows", "scopes",
]  # fmt: skip

# -- property: the parser never raises, whatever shape the document's parts have ------------------
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 600)
    | st.sampled_from(["", "x", "#/components/schemas/A", "string"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(_KEYS), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    operation=st.dictionaries(st.sampled_from(_KEYS), _json, max_size=6),
    components=st.dictionaries(
        st.sampled_from(["schemas", "parameters", "responses", "requestBodies", "securitySchemes"]),
        st.dictionaries(st.sampled_from(["A", "B", "Ø"]), _json, max_size=3),
        max_size=3,
    ),
    document_keys=st.dictionaries(
        st.sampled_from([k for k in _KEYS if k.startswith("x-") or k == "security"]),
        _json,
        max_size=3,
    ),
)
def test_parse_never_raises(
    operation: dict[str, Any], components: dict[str, Any], document_keys: dict[str, Any]
) -> None:
    data = {
        "openapi": "3.1.0",
        "info": {"title": "T", "version": "1"},
        "paths": {"/p/{id}": {"get": operation, "parameters": operation.get("parameters")}},
        "components": components,
        **document_keys,
    }
    document = Document(
        SpecFile(Path("fuzz.yaml"), data), "3.1.0", authored=False, source="fuzz.yaml"
    )
    plan_hoisting(document)
    api = parse(document, ModelsModule("", ()))
    assert len(api.operations) == 1
    assert all(d.level is Level.WARNING for d in document.found)
