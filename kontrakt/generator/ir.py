"""The intermediate representation: what one OpenAPI document declares, as frozen dataclasses.

`generator.parse` builds it from a loaded document; `generator.render` and the templates only read
it. Every collection is a tuple in document order, so two runs over the same document give equal
(and equally ordered) objects, and every object is hashable. Names meant for Python code (method
names, parameter names, model classes) are already decided here by `generator.naming`; templates
never compute a name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Api",
    "Batch",
    "ErrorCatalogue",
    "ErrorCode",
    "ErrorDefault",
    "ErrorUse",
    "Header",
    "HoistedSchema",
    "Lifecycle",
    "LifecycleState",
    "MediaType",
    "ModelClass",
    "ModelsModule",
    "OAuthFlow",
    "Operation",
    "OperationLifecycle",
    "Pagination",
    "Parameter",
    "RequestBody",
    "Response",
    "Roles",
    "Rule",
    "Scalar",
    "SecurityRequirement",
    "SecurityScheme",
    "Server",
    "Service",
    "ServiceConstraints",
    "ServicePeriod",
    "TypeInfo",
]

# A JSON scalar as it appears in `enum`, `const` or a constraint value.
Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class TypeInfo:
    """The type of a parameter, header or body, as much as a server or client needs to know.

    ``annotation`` is a Python annotation that stands on its own given ``import datetime, typing,
    uuid`` and the model classes of the package's ``models`` module (``model`` names the class when
    there is one). ``pointer`` is where the schema sits in the document (after following ``$ref``),
    so that a validator can go back to it.
    """

    annotation: str
    json_types: tuple[str, ...] = ()
    format: str | None = None
    nullable: bool = False
    model: str | None = None
    pointer: str | None = None
    enum: tuple[Scalar, ...] = ()
    constraints: tuple[tuple[str, Scalar], ...] = ()
    default_json: str | None = None
    items: TypeInfo | None = None


@dataclass(frozen=True)
class Parameter:
    """One operation parameter (path-level parameters are merged into each operation)."""

    name: str
    location: str  # path | query | header | cookie
    python_name: str
    required: bool
    style: str
    explode: bool
    type: TypeInfo
    description: str = ""
    deprecated: bool = False
    pointer: str = ""


@dataclass(frozen=True)
class MediaType:
    """One representation of a body: its media type, its schema, and where it may be served."""

    media_type: str
    type: TypeInfo | None
    environments: tuple[str, ...] = ()  # x-kontrakt-environments; () means everywhere


@dataclass(frozen=True)
class RequestBody:
    required: bool
    contents: tuple[MediaType, ...]
    description: str = ""


@dataclass(frozen=True)
class Header:
    name: str
    required: bool
    type: TypeInfo
    description: str = ""


@dataclass(frozen=True)
class ErrorUse:
    """A domain error code a response may carry and what triggers it (x-kontrakt-errors)."""

    code: str
    trigger: str
    when: str
    parameters: tuple[str, ...] = ()
    rule: str | None = None
    situation: str | None = None  # missing | invalid | malformed, or a word of the document


@dataclass(frozen=True)
class Response:
    status: str  # '200', '4XX' or 'default'
    description: str
    contents: tuple[MediaType, ...] = ()
    headers: tuple[Header, ...] = ()
    errors: tuple[ErrorUse, ...] = ()
    component: str | None = None  # name under components/responses when reached by $ref


@dataclass(frozen=True)
class OAuthFlow:
    kind: str  # clientCredentials | authorizationCode | implicit | password
    token_url: str | None = None
    authorization_url: str | None = None
    refresh_url: str | None = None
    scopes: tuple[tuple[str, str], ...] = ()  # (scope, description)


@dataclass(frozen=True)
class SecurityScheme:
    """A security scheme from components/securitySchemes."""

    name: str
    kind: str  # http | apiKey | oauth2 | openIdConnect | mutualTLS
    description: str = ""
    scheme: str | None = None  # http: bearer | basic | ...
    bearer_format: str | None = None
    key_name: str | None = None  # apiKey: the header, query or cookie name
    key_location: str | None = None  # apiKey: header | query | cookie
    flows: tuple[OAuthFlow, ...] = ()
    openid_connect_url: str | None = None


@dataclass(frozen=True)
class SecurityRequirement:
    """One alternative of a `security` list: every named scheme must be satisfied.

    An empty ``schemes`` tuple is the `{}` alternative: no authentication needed.
    """

    schemes: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (scheme name, required scopes)


@dataclass(frozen=True)
class Pagination:
    style: str  # links | offset-limit | page-size
    items: str
    links: str | None = None
    rels: tuple[str, ...] = ()
    relative: bool = False
    parameters: tuple[str, ...] = ()
    min_page_size: int | None = None


@dataclass(frozen=True)
class OperationLifecycle:
    lifecycle: str
    requires: tuple[str, ...] = ()
    moves_to: str | None = None
    otherwise: int | None = None


@dataclass(frozen=True)
class Roles:
    any_of: tuple[str, ...]
    claim: str | None = None


@dataclass(frozen=True)
class Batch:
    atomic: bool
    max_items: int
    too_large_status: int | None = None
    index_pointer: str | None = None
    order_preserved: bool | None = None


@dataclass(frozen=True)
class Operation:
    """One HTTP operation (or one webhook the API sends, when ``webhook`` is true)."""

    operation_id: str
    python_name: str
    method: str  # lower case: get, post, ...
    path: str  # the path template, or the webhook's name
    pointer: str
    webhook: bool = False
    derived_id: bool = False  # the document gave no operationId; this one is derived
    tags: tuple[str, ...] = ()
    summary: str = ""
    description: str = ""
    deprecated: bool = False
    parameters: tuple[Parameter, ...] = ()
    request_body: RequestBody | None = None
    responses: tuple[Response, ...] = ()
    # The effective alternatives (the operation's own `security`, else the document's).
    security: tuple[SecurityRequirement, ...] = ()
    rules: tuple[str, ...] = ()
    pagination: Pagination | None = None
    lifecycle: OperationLifecycle | None = None
    roles: Roles | None = None
    batch: Batch | None = None


@dataclass(frozen=True)
class ErrorCode:
    code: str
    statuses: tuple[int, ...]
    title: str
    description: str = ""
    deprecated: bool = False


@dataclass(frozen=True)
class ErrorDefault:
    """What the API answers for a situation no operation declares (catalogue ``defaults``)."""

    trigger: str
    status: int
    code: str | None = None  # None: the answer carries no domain code


@dataclass(frozen=True)
class ErrorCatalogue:
    """The error catalogue and the shape of an error body around the code.

    ``message_field``, ``details_field`` and ``media_type`` are read from the schema of the error
    responses: the member beside the code that carries the text, and the media type whose schema
    holds the code at ``code_pointer``.
    """

    code_pointer: str
    code_type: str  # string | integer
    codes: tuple[ErrorCode, ...]
    defaults: tuple[ErrorDefault, ...] = ()
    message_field: str = "message"
    details_field: str | None = None
    media_type: str = "application/json"


@dataclass(frozen=True)
class Rule:
    rule_id: str
    title: str
    severity: str  # MUST | SHOULD | MAY
    capability: str | None = None
    codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class LifecycleState:
    name: str
    terminal: bool
    description: str = ""
    code: int | None = None


@dataclass(frozen=True)
class Lifecycle:
    name: str
    states: tuple[LifecycleState, ...]
    transitions: tuple[tuple[str, tuple[str, ...]], ...]
    unknown_states: str  # non-terminal | error
    initial: str | None = None
    schema: str | None = None  # local $ref of the schema holding the state value
    description: str = ""
    # (schema pointer, property name) of every component schema with a property of ``schema``
    holders: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ServicePeriod:
    max_years_back: int | None = None
    max_months_back: int | None = None
    from_date: str | None = None
    to_date: str | None = None


@dataclass(frozen=True)
class ServiceConstraints:
    legal_mandates: tuple[str, ...] = ()
    only_primary_owner: tuple[bool, ...] = ()
    # None: no constraint; "" : the header must be absent (a JSON null in the document).
    additional_reference_id_type: str | None = None
    requester_id: str | None = None  # required | optional | absent
    period: ServicePeriod | None = None


@dataclass(frozen=True)
class Service:
    """A named consumer service that may call only some operations (x-kontrakt-services)."""

    name: str
    title: str
    operations: tuple[str, ...]
    consumer_name: str | None = None
    consumer_orgno: str | None = None
    outside_status: int | None = None
    outside_code: str | None = None
    constraints: ServiceConstraints = field(default_factory=ServiceConstraints)


@dataclass(frozen=True)
class Server:
    url: str
    description: str = ""


@dataclass(frozen=True)
class HoistedSchema:
    """An inline body schema that gets a model class of its own, and the class's base name.

    datamodel-code-generator only turns ``components/schemas`` into classes, so the generator
    copies each structured inline body schema there under ``name`` before calling it.
    """

    location: str  # JSON pointer of the inline schema in the document
    name: str


@dataclass(frozen=True)
class ModelClass:
    """A class in the generated ``models`` module and the schema it was generated from."""

    name: str
    pointer: str  # '#/components/schemas/Account', or a nested place for inline models


@dataclass(frozen=True)
class ModelsModule:
    """The pydantic models of one document, as produced by datamodel-code-generator."""

    source: str
    classes: tuple[ModelClass, ...]

    @property
    def public_names(self) -> tuple[str, ...]:
        return tuple(sorted({c.name for c in self.classes}))


@dataclass(frozen=True)
class Api:
    """Everything the generator knows about one document."""

    package: str
    source: str  # the document's path as shown in generated headers (never absolute)
    openapi: str
    title: str
    version: str
    models: ModelsModule
    api_id: str | None = None
    family: str | None = None
    publisher: str | None = None
    status: str | None = None
    summary: str = ""
    servers: tuple[Server, ...] = ()
    operations: tuple[Operation, ...] = ()
    webhooks: tuple[Operation, ...] = ()
    security_schemes: tuple[SecurityScheme, ...] = ()
    security: tuple[SecurityRequirement, ...] = ()
    error_catalogue: ErrorCatalogue | None = None
    rules: tuple[Rule, ...] = ()
    lifecycles: tuple[Lifecycle, ...] = ()
    services: tuple[Service, ...] = ()
