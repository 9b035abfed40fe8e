"""Generic OpenAPI compatibility checks: paths, operations, parameters, bodies, responses, security.

The rule table `GENERIC_RULES` is the single list of what is breaking, allowed or a warning for
any OpenAPI document; docs/diff-policy.md gives the reason for each verdict. Where oasdiff has a
corresponding check its id is named, so our verdicts can be compared with that tool's.

Operations are compared wherever they live: under ``paths``, as webhooks (``webhooks``, or
``x-webhooks`` in 3.0) and as each operation's callbacks. In a webhook or callback the provider
sends the request and the consumer answers, so every direction is reversed (``GEN-HOOK-*``).
Removals are judged by ``deprecated`` with an ``x-sunset`` date (as of the date given to
`check_document`) and by ``x-stability-level`` (draft and alpha promise nothing). The same module
checks kontrakt's own extensions that are not tied to one publisher: the error catalogue,
lifecycles (status machines), batch and pagination promises.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from kontrakt.diff.checks_schema import SCHEMA_RULES, SchemaContext, SchemaDiff
from kontrakt.diff.emit import Emitter
from kontrakt.diff.load import Document, join, schema_types
from kontrakt.diff.model import Direction, MajorVersion, Rule, Verdict

__all__ = [
    "GENERIC_RULES",
    "ErrorCatalogue",
    "ErrorCode",
    "check_catalogues",
    "check_document",
    "detect_major",
    "error_catalogue",
    "error_codes_from_snapshot",
    "operations",
]

B, W, A = Verdict.BREAKING, Verdict.WARN, Verdict.ALLOWED
REQ, RESP = Direction.REQUEST, Direction.RESPONSE
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace", "query")


def _rules(*rows: tuple[str, Verdict, str, str]) -> dict[str, Rule]:
    return {r[0]: Rule(r[0], r[1], r[2], r[3]) for r in rows}


# fmt: off
GENERIC_RULES: dict[str, Rule] = _rules(
    # -- paths and operations
    ("GEN-PATH-REMOVED", B, "A client calling the path now gets 404.", "api-path-removed-without-deprecation"),
    ("GEN-PATH-REMOVED-DEPRECATED", W, "Removed after a deprecation mark; check the announced sunset date.", "api-path-removed-with-deprecation"),
    ("GEN-PATH-ADDED", A, "New paths do not affect existing clients.", "endpoint-added"),
    ("GEN-OPERATION-REMOVED", B, "A client using the method now gets 404/405.", "api-removed-without-deprecation"),
    ("GEN-OPERATION-REMOVED-DEPRECATED", W, "Removed after a deprecation mark; check the announced sunset date.", "api-removed-with-deprecation"),
    ("GEN-OPERATION-ADDED", A, "New operations do not affect existing clients.", "endpoint-added"),
    ("GEN-OPERATION-DEPRECATED", A, "A deprecation mark warns clients; nothing breaks yet.", "endpoint-deprecated"),
    ("GEN-OPERATION-REACTIVATED", A, "No longer deprecated; nothing changes for clients.", "endpoint-reactivated"),
    ("GEN-PATH-REMOVED-BEFORE-SUNSET", B, "Deprecated, but removed before the sunset date it announced (x-sunset, judged as of --as-of).", "api-path-removed-before-sunset"),
    ("GEN-PATH-REMOVED-AFTER-SUNSET", A, "Deprecated and removed on or after the announced sunset date: clients had their notice.", ""),
    ("GEN-PATH-REMOVED-UNSTABLE", A, "Every operation of the path was draft or alpha (x-stability-level): no compatibility was promised.", ""),
    ("GEN-OPERATION-REMOVED-BEFORE-SUNSET", B, "Deprecated, but removed before the sunset date it announced (x-sunset, judged as of --as-of).", "api-removed-before-sunset"),
    ("GEN-OPERATION-REMOVED-AFTER-SUNSET", A, "Deprecated and removed on or after the announced sunset date: clients had their notice.", ""),
    ("GEN-OPERATION-REMOVED-UNSTABLE", A, "A draft or alpha operation (x-stability-level) promised no compatibility.", ""),
    # -- deprecation dates (x-sunset) and stability levels (x-stability-level), as oasdiff reads them
    ("GEN-SUNSET-INVALID", W, "x-sunset is not a date (YYYY-MM-DD or RFC 3339): a defect of the document; a removal it announces is judged as undated (oasdiff: ERR).", "api-path-sunset-parse, api-deprecated-sunset-parse, request-parameter-sunset-parse"),
    ("GEN-SUNSET-TOO-SOON", B, "Deprecated with a sunset date already past: clients get no notice period.", "api-sunset-date-too-small, request-parameter-sunset-date-too-small"),
    ("GEN-SUNSET-REMOVED", B, "Still deprecated, but the announced sunset date is gone: clients no longer know how long they have.", "sunset-deleted, request-parameter-sunset-deleted"),
    ("GEN-SUNSET-EARLIER", B, "The announced sunset moved earlier: clients planned against the old date.", "api-sunset-date-changed-too-small, request-parameter-sunset-date-changed-too-small"),
    ("GEN-SUNSET-LATER", A, "The announced sunset moved later: clients get more time.", ""),
    ("GEN-SUNSET-ADDED", A, "A deprecated element now announces its sunset date.", ""),
    ("GEN-STABILITY-DECREASED", B, "x-stability-level lowered (stable -> beta, beta -> alpha ...): the operation promises less than clients relied on.", "api-stability-decreased"),
    ("GEN-STABILITY-DECLARED", A, "An operation without x-stability-level now says beta: every check still applies to it, so clients lose nothing.", ""),
    ("GEN-STABILITY-INCREASED", A, "x-stability-level raised: the operation promises more.", "api-stability-increased"),
    ("GEN-STABILITY-INVALID", B, "x-stability-level is not draft, alpha, beta or stable: what the operation promises cannot be read (oasdiff: ERR).", "api-invalid-stability-level"),
    ("GEN-UNSTABLE-CHANGED", A, "A draft or alpha operation (x-stability-level) promises no compatibility; the change would otherwise fall under the rule named in its text.", ""),
    # -- webhooks (OpenAPI 3.1) and callbacks: the provider sends the request, the consumer answers
    ("GEN-WEBHOOK-REMOVED", B, "Consumers relying on the event no longer receive it.", "webhook-removed"),
    ("GEN-WEBHOOK-ADDED", A, "A new event; consumers that do not subscribe are unaffected.", "webhook-added"),
    ("GEN-CALLBACK-REMOVED", B, "Clients relying on the callback are no longer called back.", ""),
    ("GEN-CALLBACK-ADDED", A, "A new callback; clients that do not use it are unaffected.", ""),
    ("GEN-HOOK-OPERATION-REMOVED", B, "Webhook/callback: consumers relying on that call no longer receive it.", ""),
    ("GEN-HOOK-OPERATION-ADDED", A, "Webhook/callback: a new call consumers may receive.", ""),
    ("GEN-HOOK-PARAM-ADDED", A, "Webhook/callback: the provider sends one more parameter; consumers may ignore it.", ""),
    ("GEN-HOOK-PARAM-REMOVED-REQUIRED", B, "Webhook/callback: consumers reading the always-sent parameter no longer get it.", ""),
    ("GEN-HOOK-PARAM-REMOVED-OPTIONAL", W, "Webhook/callback: an optional parameter is gone; consumers should have coped with its absence.", ""),
    ("GEN-HOOK-PARAM-BECAME-REQUIRED", A, "Webhook/callback: the parameter is now always sent.", ""),
    ("GEN-HOOK-PARAM-BECAME-OPTIONAL", B, "Webhook/callback: consumers relying on the parameter may not get it.", ""),
    ("GEN-HOOK-BODY-ADDED", A, "Webhook/callback: the provider now sends a body; consumers may ignore it.", ""),
    ("GEN-HOOK-BODY-REMOVED", B, "Webhook/callback: consumers reading the body no longer get it.", ""),
    ("GEN-HOOK-BODY-BECAME-REQUIRED", A, "Webhook/callback: the body is now always sent.", ""),
    ("GEN-HOOK-BODY-BECAME-OPTIONAL", B, "Webhook/callback: consumers relying on the body may not get it.", ""),
    ("GEN-HOOK-REQ-MEDIA-TYPE-REMOVED", A, "Webhook/callback: the provider sends one representation fewer.", ""),
    ("GEN-HOOK-REQ-MEDIA-TYPE-ADDED", B, "Webhook/callback: the provider may send a representation consumers cannot read (no content negotiation).", ""),
    ("GEN-HOOK-RESP-MEDIA-TYPE-REMOVED", B, "Webhook/callback: consumers answering in that media type are no longer understood.", ""),
    ("GEN-HOOK-STATUS-REMOVED", B, "Webhook/callback: consumers answering with that status are no longer understood.", ""),
    ("GEN-HOOK-STATUS-ADDED", A, "Webhook/callback: one more answer consumers may give.", ""),
    ("GEN-HOOK-RESP-HEADER-REMOVED", W, "Webhook/callback: consumers still send the header; the provider may ignore or reject it.", ""),
    ("GEN-HOOK-RESP-HEADER-ADDED", A, "Webhook/callback: consumers may send one more optional header.", ""),
    ("GEN-HOOK-RESP-HEADER-ADDED-REQUIRED", B, "Webhook/callback: consumers' answers lack the new required header.", ""),
    ("GEN-HOOK-RESP-HEADER-BECAME-REQUIRED", B, "Webhook/callback: consumers' answers without the header are no longer accepted.", ""),
    ("GEN-HOOK-RESP-HEADER-BECAME-OPTIONAL", A, "Webhook/callback: consumers may leave the header out.", ""),
    ("GEN-HOOK-SECURITY-STRONGER", A, "Webhook/callback: the provider presents more credentials or scopes; consumers that do not check them are unaffected.", ""),
    ("GEN-HOOK-SECURITY-WEAKER", B, "Webhook/callback: the provider presents fewer credentials or scopes than consumers verify.", ""),
    ("GEN-HOOK-SECURITY-ALTERNATIVE-ADDED", B, "Webhook/callback: the provider may authenticate in a way consumers do not verify.", ""),
    ("GEN-HOOK-SECURITY-ALTERNATIVE-REMOVED", A, "Webhook/callback: the provider authenticates in one way fewer.", ""),
    ("GEN-OPERATION-ID-CHANGED", W, "Wire-compatible, but generated clients rename the method (oasdiff: INFO).", "api-operation-id-removed"),
    # -- parameters
    ("GEN-PARAM-ADDED-REQUIRED", B, "Old requests lack the new required parameter.", "new-required-request-parameter"),
    ("GEN-PARAM-ADDED-OPTIONAL", A, "Old requests stay valid without the optional parameter.", "new-optional-request-parameter"),
    ("GEN-PARAM-REMOVED", W, "Old requests still send it; the server may ignore or reject it.", "request-parameter-removed"),
    ("GEN-PARAM-BECAME-REQUIRED", B, "Old requests that omit it are now rejected.", "request-parameter-became-required"),
    ("GEN-PARAM-BECAME-OPTIONAL", A, "Every old request stays valid.", "request-parameter-became-optional"),
    ("GEN-PARAM-MOVED", B, "Same name, other location (header/query/path/cookie): old requests send it in the wrong place.", ""),
    ("GEN-PARAM-STYLE-CHANGED", B, "The wire serialisation (style/explode) of the parameter changed.", ""),
    ("GEN-PARAM-BECAME-ARRAY", A, "A scalar became an exploded form array (?a=1&a=2): the old single value is a valid one-item array.", "request-parameter-type-generalized"),
    ("GEN-PARAM-BECAME-ARRAY-UNEXPLODED", W, "A scalar became a comma-separated form array (explode: false): an old value holding a comma now splits.", ""),
    ("GEN-PARAM-DEPRECATED", A, "A deprecation mark warns clients; nothing breaks yet.", "request-parameter-deprecated"),
    ("GEN-PARAM-REACTIVATED", A, "No longer deprecated.", "request-parameter-reactivated"),
    ("GEN-PARAM-REMOVED-DEPRECATED", W, "Removed after a deprecation mark that never said when (oasdiff: INFO).", "request-parameter-removed-with-deprecation"),
    ("GEN-PARAM-REMOVED-BEFORE-SUNSET", B, "Deprecated, but removed before the sunset date it announced.", "request-parameter-removed-before-sunset"),
    ("GEN-PARAM-REMOVED-AFTER-SUNSET", A, "Deprecated and removed on or after the announced sunset date.", ""),
    # -- request bodies
    ("GEN-BODY-ADDED-REQUIRED", B, "Old requests have no body.", "added-required-request-body"),
    ("GEN-BODY-ADDED-OPTIONAL", A, "Old requests stay valid without a body.", "added-optional-request-body"),
    ("GEN-BODY-REMOVED", B, "Old requests send a body the operation no longer declares.", "request-body-removed"),
    ("GEN-BODY-BECAME-REQUIRED", B, "Old requests without a body are now rejected.", "request-body-became-required"),
    ("GEN-BODY-BECAME-OPTIONAL", A, "Every old request stays valid.", "request-body-became-optional"),
    ("GEN-REQ-MEDIA-TYPE-REMOVED", B, "Old requests in that media type are rejected (415).", "request-body-media-type-removed"),
    ("GEN-REQ-MEDIA-TYPE-SPECIALISED", B, "The request accepts a narrower media range than before.", "request-body-media-type-removed"),
    ("GEN-REQ-MEDIA-TYPE-GENERALISED", A, "The request accepts a wider media range than before.", "request-body-media-type-added"),
    ("GEN-REQ-MEDIA-TYPE-ADDED", A, "An extra accepted media type changes nothing for old clients.", "request-body-media-type-added"),
    ("GEN-MEDIA-PARAMS-CHANGED", W, "Media-type parameters added, removed or changed (; version=2): parties negotiating on them break, most do not look (oasdiff: INFO).", "response-media-type-name-changed"),
    ("GEN-MEDIA-CHARSET-UTF8", A, "charset=utf-8 added to or dropped from a JSON media type: JSON is UTF-8 (RFC 8259).", "response-media-type-name-changed"),
    ("GEN-REQ-SCHEMA-ADDED", B, "A body that was free-form is now constrained.", "request-body-media-type-schema-added"),
    ("GEN-REQ-SCHEMA-REMOVED", A, "The request body is no longer constrained.", "request-body-media-type-schema-removed"),
    # -- responses
    ("GEN-RESP-STATUS-REMOVED", B, "Clients expecting the success status no longer get it.", "response-success-status-removed"),
    ("GEN-RESP-ERROR-STATUS-REMOVED", W, "No request fails, but the condition the error status signalled is now answered another way (oasdiff: INFO).", "response-non-success-status-removed"),
    ("GEN-RESP-STATUS-ADDED", A, "Issue #8: added status codes are allowed; clients treat unknown codes by class.", "response-non-success-status-added"),
    ("GEN-RESP-MEDIA-TYPE-REMOVED", B, "Clients asking for that representation no longer get it (406).", "response-media-type-removed"),
    ("GEN-RESP-MEDIA-TYPE-SPECIALISED", A, "The response media range got narrower (*/* -> application/json); old readers accepted it.", "response-media-type-name-specialized"),
    ("GEN-RESP-MEDIA-TYPE-GENERALISED", B, "The response may come in media types old readers do not expect.", "response-media-type-name-generalized"),
    ("GEN-RESP-MEDIA-TYPE-ADDED", A, "An extra representation changes nothing for old clients.", "response-media-type-added"),
    ("GEN-RESP-SCHEMA-REMOVED", B, "The response body is no longer described.", "response-body-media-type-schema-removed"),
    ("GEN-RESP-SCHEMA-ADDED", A, "The response body is now described.", "response-body-media-type-schema-added"),
    ("GEN-RESP-HEADER-REMOVED-REQUIRED", B, "Clients reading the required header no longer get it.", "required-response-header-removed"),
    ("GEN-RESP-HEADER-REMOVED-OPTIONAL", W, "An optional header is gone; readers should have coped with its absence.", "optional-response-header-removed"),
    ("GEN-RESP-HEADER-ADDED", A, "New response headers do not affect old readers.", ""),
    ("GEN-RESP-HEADER-BECAME-OPTIONAL", B, "Readers relying on the header may not get it.", "response-header-became-optional"),
    ("GEN-RESP-HEADER-BECAME-REQUIRED", A, "The header is now always sent.", ""),
    ("GEN-RESP-ERROR-CODE-ADDED", A, "x-kontrakt-errors: a response may carry a new domain code from the catalogue.", ""),
    ("GEN-RESP-ERROR-CODE-REMOVED", A, "x-kontrakt-errors: a response no longer carries a code (narrower response).", ""),
    # -- schemas, request side
    ("GEN-REQ-TYPE-NARROWED", B, "The request value space shrank or changed type; old requests may be rejected.", "request-property-type-changed"),
    ("GEN-REQ-TYPE-WIDENED", A, "The request accepts more types than before.", "request-property-type-generalized"),
    ("GEN-REQ-FORMAT-NARROWED", B, "A stricter (or different) request format rejects old values.", "request-parameter-type-changed"),
    ("GEN-REQ-FORMAT-WIDENED", A, "The request format constraint was relaxed.", "request-parameter-type-generalized"),
    ("GEN-REQ-BECAME-NOT-NULLABLE", B, "Old requests sending null are rejected.", "request-property-became-not-nullable"),
    ("GEN-REQ-BECAME-NULLABLE", A, "The request accepts null as well.", "request-property-became-nullable"),
    ("GEN-REQ-ENUM-VALUE-REMOVED", B, "Old requests using the value are rejected.", "request-property-enum-value-removed"),
    ("GEN-REQ-ENUM-VALUE-ADDED", A, "Issue #8: new enum values in requests are allowed.", "request-property-enum-value-added"),
    ("GEN-REQ-BECAME-ENUM", B, "A free value is now limited to a list.", "request-property-became-enum"),
    ("GEN-REQ-ENUM-DROPPED", A, "The request value is no longer limited to a list.", ""),
    ("GEN-REQ-PROPERTY-ADDED-REQUIRED", B, "Old request bodies lack the new required property.", "new-required-request-property"),
    ("GEN-REQ-PROPERTY-ADDED", A, "New optional request properties do not affect old requests.", "new-optional-request-property"),
    ("GEN-REQ-PROPERTY-REMOVED", W, "Old requests still send it; the server may ignore or reject it.", "request-property-removed"),
    ("GEN-REQ-PROPERTY-RENAMED", B, "Old requests send the old name, which is no longer read.", ""),
    ("GEN-REQ-PROPERTY-BECAME-REQUIRED", B, "Old requests that omit it are rejected.", "request-property-became-required"),
    ("GEN-REQ-PROPERTY-BECAME-OPTIONAL", A, "Every old request stays valid.", "request-property-became-optional"),
    ("GEN-REQ-CONSTRAINT-NARROWED", B, "A tighter bound rejects old request values.", "request-property-max-length-decreased"),
    ("GEN-REQ-CONSTRAINT-WIDENED", A, "A looser bound accepts every old request value.", "request-property-max-length-increased"),
    ("GEN-REQ-PATTERN-ADDED", B, "A new pattern rejects old request values.", "request-property-pattern-added"),
    ("GEN-REQ-PATTERN-REMOVED", A, "The request pattern constraint was removed.", "request-property-pattern-removed"),
    ("GEN-PATTERN-CHANGED", W, "A changed pattern may accept different values; review it.", "request-property-pattern-changed"),
    ("GEN-REQ-ADDITIONAL-CLOSED", B, "Undeclared request properties are now rejected.", ""),
    ("GEN-REQ-ADDITIONAL-OPENED", A, "The request object now admits undeclared properties.", ""),
    ("GEN-REQ-VARIANT-REMOVED", B, "Old requests in the removed shape are rejected.", "request-body-one-of-removed"),
    ("GEN-REQ-VARIANT-ADDED", A, "The request accepts one more shape.", "request-body-one-of-added"),
    ("GEN-REQ-ALTERNATIVES-LIFTED", A, "The request is no longer limited to a set of alternatives (anyOf/oneOf dropped).", "request-body-any-of-removed"),
    ("GEN-REQ-ALTERNATIVES-IMPOSED", B, "The request must now match one of a set of alternatives.", "request-body-one-of-added"),
    ("GEN-REQ-DEFAULT-CHANGED", W, "Clients omitting the value get another behaviour (oasdiff: INFO).", "request-parameter-default-value-changed"),
    # -- schemas, response side
    ("GEN-RESP-TYPE-WIDENED", B, "The response may now hold values old readers cannot parse.", "response-property-type-changed"),
    ("GEN-RESP-TYPE-NARROWED", A, "The response returns a subset of the old types.", "response-property-type-specialized"),
    ("GEN-RESP-FORMAT-WIDENED", B, "The response format is looser or different; old readers may fail.", "response-property-type-changed"),
    ("GEN-RESP-FORMAT-NARROWED", A, "The response format got stricter.", "response-property-type-specialized"),
    ("GEN-RESP-BECAME-NULLABLE", B, "Old readers may not expect null.", "response-property-became-nullable"),
    ("GEN-RESP-BECAME-NOT-NULLABLE", A, "The response no longer contains null there.", "response-property-became-not-nullable"),
    ("GEN-RESP-ENUM-VALUE-REMOVED", B, "Issue #8: an enum value removed from a response breaks clients that map it (oasdiff: INFO).", "response-property-enum-value-removed"),
    ("GEN-RESP-ENUM-VALUE-ADDED", W, "Readers with a closed list of values may meet an unknown one.", "response-property-enum-value-added"),
    ("GEN-RESP-ENUM-VALUE-ADDED-OPEN", A, "x-kontrakt-open-enum: readers must already tolerate new values.", "response-property-enum-value-added"),
    ("GEN-RESP-BECAME-ENUM", A, "The response value is now limited to a list.", ""),
    ("GEN-RESP-ENUM-DROPPED", W, "The response value is no longer limited to the list readers know.", ""),
    ("GEN-RESP-PROPERTY-ADDED", A, "Issue #8: new response properties are allowed; clients are tolerant readers.", "response-optional-property-added"),
    ("GEN-RESP-PROPERTY-REMOVED", B, "Issue #8: readers of the property no longer get it (oasdiff: ERR if required).", "response-required-property-removed"),
    ("GEN-RESP-PROPERTY-RENAMED", B, "Readers of the old name no longer get it.", "response-required-property-removed"),
    ("GEN-RESP-PROPERTY-BECAME-OPTIONAL", B, "Readers relying on the property may not get it.", "response-property-became-optional"),
    ("GEN-RESP-PROPERTY-BECAME-REQUIRED", A, "The property is now always present.", "response-property-became-required"),
    ("GEN-RESP-CONSTRAINT-WIDENED", B, "The response may exceed bounds old readers rely on.", "response-property-max-length-increased"),
    ("GEN-RESP-CONSTRAINT-NARROWED", A, "The response stays within the old bounds.", "response-property-max-length-decreased"),
    ("GEN-RESP-PATTERN-ADDED", A, "The response value is now constrained by a pattern.", ""),
    ("GEN-RESP-PATTERN-REMOVED", W, "The response value is no longer constrained by the pattern readers knew.", ""),
    ("GEN-RESP-ADDITIONAL-OPENED", W, "The response object may now carry undeclared properties.", ""),
    ("GEN-RESP-ADDITIONAL-CLOSED", A, "The response object no longer carries undeclared properties.", ""),
    ("GEN-RESP-VARIANT-ADDED", B, "The response may have a shape old readers do not know.", "response-body-one-of-added"),
    ("GEN-RESP-ALTERNATIVES-LIFTED", W, "The response is no longer limited to the alternatives readers know.", "response-body-one-of-removed"),
    ("GEN-RESP-ALTERNATIVES-IMPOSED", A, "The response now matches one of a set of alternatives.", "response-body-one-of-added"),
    ("GEN-RESP-VARIANT-REMOVED", A, "The response has one shape fewer.", "response-body-one-of-removed"),
    # -- security
    ("GEN-SECURITY-REQUIRED", B, "Issue #8: a security requirement was added; old credentials no longer suffice.", "api-security-removed"),
    ("GEN-SECURITY-ALTERNATIVE-REMOVED", B, "A way of authenticating that clients used is no longer accepted.", "api-security-removed"),
    ("GEN-SECURITY-ALTERNATIVE-ADDED", A, "One more accepted way of authenticating.", "api-security-added"),
    ("GEN-SECURITY-RELAXED", A, "Fewer credentials are required than before.", "api-security-removed"),
    ("GEN-SECURITY-SCOPE-ADDED", B, "Old tokens lack the new scope.", "api-security-scope-added"),
    ("GEN-SECURITY-SCOPE-REMOVED", A, "Old tokens still carry enough scopes.", "api-security-scope-removed"),
    ("GEN-SECURITY-SCHEME-CHANGED", B, "How credentials are presented changed (type, location, name or scheme).", "api-security-component-type-updated"),
    # -- version and servers
    ("GEN-MAJOR-VERSION", A, "A new major version may break; the report lists what a client must change.", "api-major-version-not-bumped"),
    ("GEN-SERVER-REMOVED", W, "A server URL clients may be configured with is gone.", ""),
    # -- kontrakt extensions: error catalogue
    ("GEN-ERROR-CODE-ADDED", A, "New domain error codes may be added.", ""),
    ("GEN-ERROR-CODE-REMOVED", B, "A domain error code clients handle is gone.", ""),
    ("GEN-ERROR-CODE-RENUMBERED", B, "The same error now has another code.", ""),
    ("GEN-ERROR-CODE-NAME-CHANGED", B, "The code's name changed: clients matching it by name break.", ""),
    ("GEN-ERROR-CODE-TEXT-CHANGED", W, "Only the wording of the code's title or description changed.", ""),
    ("GEN-ERROR-CODE-STATUS-CHANGED", B, "The code comes with another HTTP status than before.", ""),
    ("GEN-ERROR-CODE-STATUS-ADDED", W, "The code may now also come with another HTTP status.", ""),
    ("GEN-ERROR-FORMAT-CHANGED", B, "Where or how the code sits in the error body changed.", ""),
    # -- kontrakt extensions: lifecycles (status codes)
    ("GEN-LIFECYCLE-ADDED", A, "A new status machine.", ""),
    ("GEN-LIFECYCLE-REMOVED", B, "A status machine clients follow is gone.", ""),
    ("GEN-STATE-ADDED", A, "New state; readers treat unknown states as non-terminal (unknown-states).", ""),
    ("GEN-STATE-ADDED-CLOSED", W, "New state in a lifecycle whose readers reject unknown states.", ""),
    ("GEN-STATE-REMOVED", B, "A state (status code) clients know is gone.", ""),
    ("GEN-STATE-RENAMED", B, "The same status code now has another name.", ""),
    ("GEN-STATE-RENUMBERED", B, "The state now has another numeric code.", ""),
    ("GEN-STATE-TERMINAL-CHANGED", B, "Whether the state is final changed; polling clients stop or loop wrongly.", ""),
    ("GEN-STATE-TEXT-CHANGED", W, "Only the description of the state changed.", ""),
    ("GEN-TRANSITION-ADDED", W, "A new move between states; clients may see an unexpected sequence.", ""),
    ("GEN-TRANSITION-REMOVED", A, "A move between states no longer happens.", ""),
    # -- kontrakt extensions: batches and pagination
    ("GEN-BATCH-WEAKENED", B, "A batch promise (atomicity, order, size, error index) was weakened.", ""),
    ("GEN-BATCH-RELAXED", A, "A batch accepts more items than before.", ""),
    ("GEN-PAGINATION-CHANGED", B, "Clients page through results another way.", ""),
    ("GEN-PAGINATION-ADDED", A, "Results are now paged in a declared way.", ""),
)
# fmt: on
# Schema rules live beside the schema comparison; they add rows and override moved verdicts.
GENERIC_RULES.update(SCHEMA_RULES)

_VERSION_SEGMENT = re.compile(r"^v?(\d+)(?:\.\d+)*$")
_PATH_VERSION = re.compile(r"^/(v\d+)(?=/|$)")


# -- versions ---------------------------------------------------------------------------


def _server_version(doc: Document) -> tuple[str, str] | None:
    for i, server in enumerate(_as_list(doc.data.get("servers"))):
        url = str(server.get("url", "")) if isinstance(server, dict) else ""
        segments = [s for s in re.sub(r"^[a-z]+://[^/]*", "", url).split("/") if s]
        for segment in reversed(segments):
            if _VERSION_SEGMENT.match(segment):
                return segment, f"/servers/{i}/url"
    return None


def _path_version(doc: Document) -> str | None:
    paths = [str(p) for p in _mapping(doc.data.get("paths"))]
    found = {m.group(1) for p in paths if (m := _PATH_VERSION.match(p))}
    if paths and len(found) == 1 and all(_PATH_VERSION.match(p) for p in paths):
        return found.pop()
    return None


def _major(token: str) -> int | None:
    m = _VERSION_SEGMENT.match(token.strip())
    return int(m.group(1)) if m else None


def detect_major(old: Document, new: Document, *, info_counts: bool) -> MajorVersion | None:
    """A new major version between the documents: the URL version (servers or a ``/vN`` prefix on
    every path) first; ``info.version`` only when ``info_counts`` (generic rules)."""
    for source, ov, nv in (
        ("servers", _server_version(old), _server_version(new)),
        ("paths", _path_version(old), _path_version(new)),
    ):
        o_tok = ov[0] if isinstance(ov, tuple) else ov
        n_tok = nv[0] if isinstance(nv, tuple) else nv
        if o_tok and n_tok:
            om, nm = _major(o_tok), _major(n_tok)
            if om is not None and nm is not None and om != nm:
                return MajorVersion(o_tok, n_tok, source)
    if info_counts:
        o_info = str(_mapping(old.data.get("info")).get("version", ""))
        n_info = str(_mapping(new.data.get("info")).get("version", ""))
        om, nm = _major(o_info.split(".")[0]), _major(n_info.split(".")[0])
        if om is not None and nm is not None and om != nm:
            return MajorVersion(o_info, n_info, "info.version")
    return None


def _path_key(path: str, strip_version: bool) -> str:
    if strip_version:
        path = _PATH_VERSION.sub("", path) or "/"
    return re.sub(r"\{[^}]*\}", "{}", path.rstrip("/") or "/")


# -- operations -------------------------------------------------------------------------

STABILITY_LEVELS = ("draft", "alpha", "beta", "stable")
"""``x-stability-level`` values, least stable first (oasdiff's extension and order)."""
UNSTABLE = frozenset({"draft", "alpha"})
"""Levels that promise nothing: changes to such an operation never break (oasdiff's default)."""


@dataclass
class Operation:
    """One operation with its path-level parameters merged in.

    ``path`` is the path template; for a webhook it is the webhook's name and for a callback its
    runtime expression. ``hook`` marks a webhook or callback operation: the provider sends its
    request and the consumer answers, so every direction is the reverse of an ordinary operation's.
    """

    method: str
    path: str
    ptr: str
    node: dict[str, Any]
    params: dict[tuple[str, str], tuple[dict[str, Any], str]]
    scope: str = ""
    hook: bool = False

    @property
    def label(self) -> str:
        """The scope of the operation's change ids: ``<METHOD> <path>``, ``WEBHOOK <name> <METHOD>``
        or ``<METHOD> <path> CALLBACK <name> <METHOD> <expression>``."""
        return self.scope or f"{self.method.upper()} {self.path}"


@dataclass
class _Item:
    """The operations of one path item: a path, a webhook, or one expression of a callback."""

    scope: str
    """The scope of item-level changes (``/items``, ``WEBHOOK created``, ...)."""
    ptr: str
    """Where the item is listed (its entry under ``paths``, ``webhooks`` or the callback)."""
    node_ptr: str
    """Where its operations are, after a ``$ref``."""
    ops: dict[str, Operation]


def _param_key(param: Mapping[str, Any], path: str) -> tuple[str, str]:
    where = str(param.get("in", ""))
    name = str(param.get("name", ""))
    if where == "path":
        # Path parameters are matched by position, so renaming {ref} to {accountRef} is no change.
        names = re.findall(r"\{([^}]*)\}", path)
        return ("path", str(names.index(name)) if name in names else name)
    if where == "header":
        return ("header", name.lower())
    return (where, name)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _item(
    doc: Document,
    name: str,
    raw: Any,
    ptr: str,
    scope: str,
    label: tuple[str, str] | None = None,
    *,
    hook: bool = False,
) -> _Item:
    """Read one path item; ``label`` is what goes before and after the method (upper case) in an
    operation's scope, when that is not ``<METHOD> <path>``."""
    node, node_ptr = doc.deref(raw, ptr)
    ops: dict[str, Operation] = {}
    if isinstance(node, dict):
        shared: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        for i, raw_param in enumerate(_as_list(node.get("parameters"))):
            param, param_ptr = doc.deref(raw_param, join(node_ptr, "parameters", i))
            if isinstance(param, dict):
                shared[_param_key(param, name)] = (param, param_ptr)
        for method in METHODS:
            op = node.get(method)
            if not isinstance(op, dict):
                continue
            op_ptr = join(node_ptr, method)
            params = dict(shared)
            for i, raw_param in enumerate(_as_list(op.get("parameters"))):
                param, param_ptr = doc.deref(raw_param, join(op_ptr, "parameters", i))
                if isinstance(param, dict):
                    params[_param_key(param, name)] = (param, param_ptr)
            op_scope = f"{label[0]}{method.upper()}{label[1]}" if label else ""
            ops[method] = Operation(method, name, op_ptr, op, params, op_scope, hook)
    return _Item(scope, ptr, node_ptr, ops)


def _paths(doc: Document, strip_version: bool) -> dict[str, _Item]:
    """Path items by normalised path key (templates that differ only in names are one key)."""
    result: dict[str, _Item] = {}
    paths = doc.data.get("paths")
    for path, raw in (paths if isinstance(paths, dict) else {}).items():
        item = _item(doc, path, raw, join("", "paths", path), path)
        key = _path_key(path, strip_version)
        if key in result:
            result[key].ops.update(item.ops)
        else:
            result[key] = item
    return result


def _webhooks(doc: Document) -> dict[str, _Item]:
    """Webhooks by name: OpenAPI 3.1 ``webhooks``, and ``x-webhooks``, the same object under the
    extension name 3.0 documents use for it (GitHub's REST description, Redocly)."""
    result: dict[str, _Item] = {}
    for key in ("webhooks", "x-webhooks"):
        for name, raw in _mapping(doc.data.get(key)).items():
            if name in result:
                continue
            result[name] = _item(
                doc,
                name,
                raw,
                join("", key, name),
                f"WEBHOOK {name}",
                (f"WEBHOOK {name} ", ""),
                hook=True,
            )
    return result


def _callbacks(doc: Document, op: Operation) -> dict[str, _Item]:
    """The callbacks of an operation, by ``<name> <expression>``."""
    result: dict[str, _Item] = {}
    callbacks = op.node.get("callbacks")
    for name, raw in (callbacks if isinstance(callbacks, dict) else {}).items():
        callback, cb_ptr = doc.deref(raw, join(op.ptr, "callbacks", name))
        if not isinstance(callback, dict):
            continue
        for expression, item in callback.items():
            if expression.startswith("x-"):
                continue
            scope = f"{op.label} CALLBACK {name} {expression}"
            result[f"{name} {expression}"] = _item(
                doc,
                expression,
                item,
                join(cb_ptr, expression),
                scope,
                (f"{op.label} CALLBACK {name} ", f" {expression}"),
                hook=True,
            )
    return result


def operations(doc: Document, strip_version: bool) -> dict[str, dict[str, Operation]]:
    """Operations by normalised path key and method."""
    return {key: item.ops for key, item in _paths(doc, strip_version).items()}


def _date(value: Any) -> dt.date | None:
    """An ``x-sunset`` value as a date: ``YYYY-MM-DD`` or an RFC 3339 timestamp; None otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        return None


# What each family of path items calls an added or removed item and operation.
_FAMILY_RULES = {
    "path": ("GEN-PATH-REMOVED", "GEN-PATH-ADDED", "GEN-OPERATION-REMOVED", "GEN-OPERATION-ADDED"),
    "webhook": (
        "GEN-WEBHOOK-REMOVED",
        "GEN-WEBHOOK-ADDED",
        "GEN-HOOK-OPERATION-REMOVED",
        "GEN-HOOK-OPERATION-ADDED",
    ),
    "callback": (
        "GEN-CALLBACK-REMOVED",
        "GEN-CALLBACK-ADDED",
        "GEN-HOOK-OPERATION-REMOVED",
        "GEN-HOOK-OPERATION-ADDED",
    ),
}
# How the removal of something deprecated or unstable is judged, worst first.
_REMOVAL_ORDER = (
    "plain",
    "before-sunset",
    "sunset-invalid",
    "deprecated",
    "after-sunset",
    "unstable",
)
_PATH_REMOVAL = {
    "sunset-invalid": "GEN-SUNSET-INVALID",
    "before-sunset": "GEN-PATH-REMOVED-BEFORE-SUNSET",
    "deprecated": "GEN-PATH-REMOVED-DEPRECATED",
    "after-sunset": "GEN-PATH-REMOVED-AFTER-SUNSET",
    "unstable": "GEN-PATH-REMOVED-UNSTABLE",
}
_OPERATION_REMOVAL = {
    "sunset-invalid": "GEN-SUNSET-INVALID",
    "before-sunset": "GEN-OPERATION-REMOVED-BEFORE-SUNSET",
    "deprecated": "GEN-OPERATION-REMOVED-DEPRECATED",
    "after-sunset": "GEN-OPERATION-REMOVED-AFTER-SUNSET",
    "unstable": "GEN-OPERATION-REMOVED-UNSTABLE",
}
_PARAM_REMOVAL = {
    "sunset-invalid": "GEN-SUNSET-INVALID",
    "before-sunset": "GEN-PARAM-REMOVED-BEFORE-SUNSET",
    "deprecated": "GEN-PARAM-REMOVED-DEPRECATED",
    "after-sunset": "GEN-PARAM-REMOVED-AFTER-SUNSET",
}
# Media-type rules by body side and whether the operation is a webhook or callback. A hook's
# request reaches the consumer as a response reaches a client, and its response leaves the
# consumer as a request leaves a client.
_MEDIA_RULES: dict[tuple[str, bool], dict[str, str]] = {
    ("request", False): {
        "removed": "GEN-REQ-MEDIA-TYPE-REMOVED",
        "added": "GEN-REQ-MEDIA-TYPE-ADDED",
        "specialised": "GEN-REQ-MEDIA-TYPE-SPECIALISED",
        "generalised": "GEN-REQ-MEDIA-TYPE-GENERALISED",
        "params": "GEN-MEDIA-PARAMS-CHANGED",
        "charset": "GEN-MEDIA-CHARSET-UTF8",
        "schema-added": "GEN-REQ-SCHEMA-ADDED",
        "schema-removed": "GEN-REQ-SCHEMA-REMOVED",
    },
    ("response", False): {
        "removed": "GEN-RESP-MEDIA-TYPE-REMOVED",
        "added": "GEN-RESP-MEDIA-TYPE-ADDED",
        "specialised": "GEN-RESP-MEDIA-TYPE-SPECIALISED",
        "generalised": "GEN-RESP-MEDIA-TYPE-GENERALISED",
        "params": "GEN-MEDIA-PARAMS-CHANGED",
        "charset": "GEN-MEDIA-CHARSET-UTF8",
        "schema-added": "GEN-RESP-SCHEMA-ADDED",
        "schema-removed": "GEN-RESP-SCHEMA-REMOVED",
    },
}
_MEDIA_RULES[("request", True)] = {
    **_MEDIA_RULES[("response", False)],
    "removed": "GEN-HOOK-REQ-MEDIA-TYPE-REMOVED",
    "added": "GEN-HOOK-REQ-MEDIA-TYPE-ADDED",
}
_MEDIA_RULES[("response", True)] = {
    **_MEDIA_RULES[("request", False)],
    "removed": "GEN-HOOK-RESP-MEDIA-TYPE-REMOVED",
}
# Security seen from a consumer that receives a webhook or callback: stronger credentials on the
# provider's request change nothing for it, weaker ones fail its checks.
_HOOK_SECURITY = {
    "GEN-SECURITY-REQUIRED": "GEN-HOOK-SECURITY-STRONGER",
    "GEN-SECURITY-SCOPE-ADDED": "GEN-HOOK-SECURITY-STRONGER",
    "GEN-SECURITY-RELAXED": "GEN-HOOK-SECURITY-WEAKER",
    "GEN-SECURITY-SCOPE-REMOVED": "GEN-HOOK-SECURITY-WEAKER",
    "GEN-SECURITY-ALTERNATIVE-ADDED": "GEN-HOOK-SECURITY-ALTERNATIVE-ADDED",
    "GEN-SECURITY-ALTERNATIVE-REMOVED": "GEN-HOOK-SECURITY-ALTERNATIVE-REMOVED",
}


def _success(status: str) -> bool:
    """2xx and 3xx count as success (docs/diff-policy.md); ``default`` and 4xx/5xx do not."""
    return status[:1] in ("2", "3")


class _OperationDiff:
    """Compares the operations (paths, webhooks, callbacks) and security of two documents."""

    def __init__(
        self, old: Document, new: Document, em: Emitter, strip_version: bool, on: dt.date
    ) -> None:
        self.old, self.new, self.em = old, new, em
        self.schemas = SchemaDiff(old, new, em)
        self.strip_version = strip_version
        self.on = on
        self.hook = False
        """True while comparing a webhook or callback operation (directions reversed)."""
        self.scheme_names = self._scheme_renames()

    def run(self) -> None:
        self.items(
            _paths(self.old, self.strip_version),
            _paths(self.new, self.strip_version),
            "path",
            "/paths",
            "/paths",
        )
        self.items(_webhooks(self.old), _webhooks(self.new), "webhook", "/webhooks", "/webhooks")
        self.security_schemes()

    def _r(self, rule: str, hook_rule: str) -> str:
        """The rule for an ordinary operation, or for a webhook or callback one."""
        return hook_rule if self.hook else rule

    def _dir(self, direction: Direction) -> Direction:
        """Which way the data flows: a hook's request is received by the consumer."""
        if not self.hook:
            return direction
        return RESP if direction is REQ else REQ

    # -- paths, webhooks, callbacks ----------------------------------------------------------

    def items(
        self,
        old_items: dict[str, _Item],
        new_items: dict[str, _Item],
        family: str,
        o_parent: str,
        n_parent: str,
    ) -> None:
        """Pair path items (paths, webhooks, or one operation's callbacks) and their operations."""
        _, added_rule, op_removed, op_added = _FAMILY_RULES[family]
        for key, o_item in old_items.items():
            n_item = new_items.get(key)
            if not o_item.ops:
                continue  # nothing a client could call
            if n_item is None or not n_item.ops:
                self._item_removed(o_item, n_item.ptr if n_item else n_parent, family)
                continue
            for method, o_op in o_item.ops.items():
                n_op = n_item.ops.get(method)
                if n_op is None:
                    category, detail = self._removal(o_op)
                    rule = op_removed if category == "plain" else _OPERATION_REMOVAL[category]
                    self.em.emit(
                        "operation-removed",
                        rule,
                        o_op.label,
                        "",
                        o_op.ptr,
                        n_item.node_ptr,
                        "operation removed" + (f"; {detail}" if detail else ""),
                        operation=o_op.label,
                    )
                else:
                    self.operation(o_op, n_op)
            for method, n_op in n_item.ops.items():
                if method not in o_item.ops:
                    self.em.emit(
                        "operation-added",
                        op_added,
                        n_op.label,
                        "",
                        o_item.node_ptr,
                        n_op.ptr,
                        "operation added",
                        operation=n_op.label,
                    )
        for key, n_item in new_items.items():
            o_old = old_items.get(key)
            if not n_item.ops or (o_old is not None and o_old.ops):
                continue
            self.em.emit(
                f"{family}-added",
                added_rule,
                n_item.scope,
                "",
                o_old.ptr if o_old is not None else o_parent,
                n_item.ptr,
                f"{family} added ({', '.join(m.upper() for m in n_item.ops)})",
                operation=n_item.scope,
            )

    def _item_removed(self, item: _Item, n_ptr: str, family: str) -> None:
        judged = [self._removal(op) for op in item.ops.values()]
        category, detail = min(judged, key=lambda c: _REMOVAL_ORDER.index(c[0]))
        if category == "plain":
            rule = _FAMILY_RULES[family][0]
        else:
            rule = (_PATH_REMOVAL if family == "path" else _OPERATION_REMOVAL)[category]
        methods = ", ".join(m.upper() for m in item.ops)
        self.em.emit(
            f"{family}-removed",
            rule,
            item.scope,
            "",
            item.ptr,
            n_ptr,
            f"{family} removed ({methods})" + (f"; {detail}" if detail else ""),
            operation=item.scope,
        )

    def _removal(self, op: Operation) -> tuple[str, str]:
        """How the removal of ``op`` is judged: a category of `_REMOVAL_ORDER` and a few words."""
        level = op.node.get("x-stability-level")
        if isinstance(level, str) and level in UNSTABLE:
            return "unstable", f"x-stability-level {level}"
        return self._deprecation_state(op.node)

    def _deprecation_state(self, node: Mapping[str, Any]) -> tuple[str, str]:
        """``plain``, ``deprecated``, ``sunset-invalid``, ``before-sunset`` or ``after-sunset``."""
        if node.get("deprecated") is not True:
            return "plain", ""
        if "x-sunset" not in node:
            return "deprecated", "deprecated, no sunset date"
        date = _date(node["x-sunset"])
        if date is None:
            return "sunset-invalid", f"x-sunset {node['x-sunset']!r} is not a date"
        if self.on < date:
            return (
                "before-sunset",
                f"deprecated, removed before its sunset {date} (as of {self.on})",
            )
        return "after-sunset", f"deprecated, sunset {date} passed"

    # -- one operation ---------------------------------------------------------------------

    def operation(self, o: Operation, n: Operation) -> None:
        outer = self.hook
        self.hook = o.hook
        start = len(self.em.changes)
        try:
            self._operation(o, n)
        finally:
            self.hook = outer
        self.stability(o, n, start)

    def _operation(self, o: Operation, n: Operation) -> None:
        scope = o.label
        o_id, n_id = o.node.get("operationId"), n.node.get("operationId")
        if o_id and o_id != n_id:
            self.em.emit(
                "operation-id-changed",
                "GEN-OPERATION-ID-CHANGED",
                scope,
                "",
                join(o.ptr, "operationId"),
                join(n.ptr, "operationId") if n_id else n.ptr,
                f"operationId {o_id} -> {n_id or 'none'}",
                operation=scope,
            )
        self.deprecation(o.node, o.ptr, n.node, n.ptr, scope, "", "operation")
        self.parameters(o, n)
        self.request_body(o, n)
        self.responses(o, n)
        self.security(o, n)
        self.extensions(o, n)
        if not o.hook:
            n_parent = join(n.ptr, "callbacks") if "callbacks" in n.node else n.ptr
            o_parent = join(o.ptr, "callbacks") if "callbacks" in o.node else o.ptr
            self.items(
                _callbacks(self.old, o), _callbacks(self.new, n), "callback", o_parent, n_parent
            )

    def deprecation(
        self,
        o_node: Mapping[str, Any],
        o_ptr: str,
        n_node: Mapping[str, Any],
        n_ptr: str,
        scope: str,
        where: str,
        subject: str,
    ) -> None:
        """``deprecated`` and ``x-sunset`` of an operation or parameter (``subject``)."""
        kind = "operation" if subject == "operation" else "request-parameter"
        rule_base = "GEN-OPERATION" if subject == "operation" else "GEN-PARAM"
        direction = Direction.NONE if subject == "operation" else self._dir(REQ)
        o_dep, n_dep = o_node.get("deprecated") is True, n_node.get("deprecated") is True
        o_has, n_has = "x-sunset" in o_node, "x-sunset" in n_node
        n_date = _date(n_node.get("x-sunset"))

        def emit(what: str, rule: str, o_at: str, n_at: str, text: str) -> None:
            self.em.emit(
                f"{kind}-{what}",
                rule,
                scope,
                where,
                o_at,
                n_at,
                text,
                operation=scope,
                direction=direction,
            )

        def sunset_ptr(node: Mapping[str, Any], ptr: str) -> str:
            return join(ptr, "x-sunset") if "x-sunset" in node else ptr

        if (
            n_dep
            and n_has
            and n_date is None
            and (not o_has or o_node.get("x-sunset") != n_node.get("x-sunset"))
        ):
            emit(
                "sunset-invalid",
                "GEN-SUNSET-INVALID",
                sunset_ptr(o_node, o_ptr),
                join(n_ptr, "x-sunset"),
                f"x-sunset {n_node.get('x-sunset')!r} is not a date",
            )
            return
        if n_dep and not o_dep:
            if n_date is not None and n_date < self.on:
                emit(
                    "sunset-too-soon",
                    "GEN-SUNSET-TOO-SOON",
                    o_ptr,
                    join(n_ptr, "x-sunset"),
                    f"deprecated with a sunset date already past ({n_date}, as of {self.on})",
                )
            else:
                emit(
                    "deprecated",
                    f"{rule_base}-DEPRECATED",
                    o_ptr,
                    join(n_ptr, "deprecated"),
                    "marked deprecated" + (f", sunset {n_date}" if n_date else ""),
                )
            return
        if o_dep and not n_dep:
            emit(
                "reactivated",
                f"{rule_base}-REACTIVATED",
                join(o_ptr, "deprecated"),
                n_ptr,
                "no longer deprecated",
            )
            return
        if not n_dep:
            return
        o_date = _date(o_node.get("x-sunset"))
        if o_has and not n_has:
            emit(
                "sunset-removed",
                "GEN-SUNSET-REMOVED",
                join(o_ptr, "x-sunset"),
                n_ptr,
                "still deprecated, but the sunset date is gone",
            )
        elif o_has and n_has and o_node.get("x-sunset") != n_node.get("x-sunset"):
            if o_date is None or n_date is None:
                emit(
                    "sunset-invalid",
                    "GEN-SUNSET-INVALID",
                    join(o_ptr, "x-sunset"),
                    join(n_ptr, "x-sunset"),
                    f"x-sunset {o_node.get('x-sunset')!r} was not a date",
                )
            elif n_date < o_date:
                emit(
                    "sunset-changed",
                    "GEN-SUNSET-EARLIER",
                    join(o_ptr, "x-sunset"),
                    join(n_ptr, "x-sunset"),
                    f"sunset moved earlier, {o_date} -> {n_date}",
                )
            elif n_date > o_date:
                emit(
                    "sunset-changed",
                    "GEN-SUNSET-LATER",
                    join(o_ptr, "x-sunset"),
                    join(n_ptr, "x-sunset"),
                    f"sunset moved later, {o_date} -> {n_date}",
                )
        elif n_has and not o_has and n_date is not None:
            rule = "GEN-SUNSET-TOO-SOON" if n_date < self.on else "GEN-SUNSET-ADDED"
            emit(
                "sunset-added",
                rule,
                o_ptr,
                join(n_ptr, "x-sunset"),
                f"sunset date {n_date} announced",
            )

    def stability(self, o: Operation, n: Operation, start: int) -> None:
        """``x-stability-level``: a draft or alpha operation promises nothing, so what changed in it
        (from ``start`` in the emitter's list) is allowed; lowering the level is breaking."""
        o_raw, n_raw = o.node.get("x-stability-level"), n.node.get("x-stability-level")
        o_level = "stable" if o_raw is None else o_raw
        n_level = "stable" if n_raw is None else n_raw
        unstable = next(
            (lv for lv in (o_level, n_level) if isinstance(lv, str) and lv in UNSTABLE), None
        )
        if unstable is not None:
            rule = self.em.rule("GEN-UNSTABLE-CHANGED")
            for i in range(start, len(self.em.changes)):
                change = self.em.changes[i]
                if change.verdict is Verdict.ALLOWED:
                    continue
                note = f" ({change.rule} not enforced: x-stability-level {unstable})"
                self.em.changes[i] = replace(
                    change,
                    verdict=rule.verdict,
                    rule=rule.id,
                    text=change.text + note,
                    message=change.message + note,
                )
        if o_raw == n_raw:
            return
        scope = o.label
        o_at = join(o.ptr, "x-stability-level") if o_raw is not None else o.ptr
        n_at = join(n.ptr, "x-stability-level") if n_raw is not None else n.ptr
        invalid = [v for v in (o_raw, n_raw) if v is not None and v not in STABILITY_LEVELS]
        if invalid:
            self.em.emit(
                "stability-level-invalid",
                "GEN-STABILITY-INVALID",
                scope,
                "",
                o_at,
                n_at,
                f"x-stability-level {invalid[-1]!r} is not one of {', '.join(STABILITY_LEVELS)}",
                operation=scope,
            )
            return
        o_rank, n_rank = STABILITY_LEVELS.index(o_level), STABILITY_LEVELS.index(n_level)
        if o_raw is None and n_level == "beta":
            # No level stated before; beta keeps every check of this tool (only draft and alpha
            # are exempt), so stating it withdraws nothing a client relied on.
            rule_id, kind = "GEN-STABILITY-DECLARED", "stability-declared"
        elif n_rank < o_rank:
            rule_id = "GEN-UNSTABLE-CHANGED" if o_level in UNSTABLE else "GEN-STABILITY-DECREASED"
            kind = "stability-decreased"
        elif n_rank > o_rank:
            rule_id, kind = "GEN-STABILITY-INCREASED", "stability-increased"
        else:
            return
        self.em.emit(
            kind,
            rule_id,
            scope,
            "",
            o_at,
            n_at,
            f"x-stability-level {o_level} -> {n_level}",
            operation=scope,
        )

    def parameters(self, o: Operation, n: Operation) -> None:
        scope = o.label
        direction = self._dir(REQ)
        removed = [k for k in o.params if k not in n.params]
        added = [k for k in n.params if k not in o.params]
        for key in list(removed):
            o_param, o_ptr = o.params[key]
            moved = [k for k in added if k[1] == key[1] and k[0] != "path" and key[0] != "path"]
            if moved:
                n_param, n_ptr = n.params[moved[0]]
                removed.remove(key)
                added.remove(moved[0])
                self.em.emit(
                    "request-parameter-moved",
                    "GEN-PARAM-MOVED",
                    scope,
                    f"parameter {o_param.get('name')}",
                    o_ptr,
                    n_ptr,
                    f"moved from {key[0]} to {moved[0][0]}",
                    operation=scope,
                    direction=direction,
                )
        for key in removed:
            if key[0] == "path":
                continue  # the path template decides; it matched
            param, ptr = o.params[key]
            where = f"parameter {param.get('in')} {param.get('name')}"
            category, detail = self._deprecation_state(param)
            if category == "plain":
                required = param.get("required") is True
                rule = self._r(
                    "GEN-PARAM-REMOVED",
                    "GEN-HOOK-PARAM-REMOVED-REQUIRED"
                    if required
                    else "GEN-HOOK-PARAM-REMOVED-OPTIONAL",
                )
            else:
                rule = _PARAM_REMOVAL[category]
            self.em.emit(
                "request-parameter-removed",
                rule,
                scope,
                where,
                ptr,
                join(n.ptr, "parameters"),
                "removed" + (f"; {detail}" if detail else ""),
                operation=scope,
                direction=direction,
            )
        for key in added:
            if key[0] == "path":
                continue
            param, ptr = n.params[key]
            where = f"parameter {param.get('in')} {param.get('name')}"
            required = param.get("required") is True
            self.em.emit(
                "request-parameter-added",
                self._r(
                    "GEN-PARAM-ADDED-REQUIRED" if required else "GEN-PARAM-ADDED-OPTIONAL",
                    "GEN-HOOK-PARAM-ADDED",
                ),
                scope,
                where,
                join(o.ptr, "parameters"),
                ptr,
                f"{'required' if required else 'optional'} parameter added",
                operation=scope,
                direction=direction,
            )
        for key, (o_param, o_ptr) in o.params.items():
            if key not in n.params:
                continue
            n_param, n_ptr = n.params[key]
            self.parameter(o, o_param, o_ptr, n_param, n_ptr)

    def parameter(
        self, o: Operation, o_param: dict[str, Any], o_ptr: str, n_param: dict[str, Any], n_ptr: str
    ) -> None:
        """One parameter present on both sides."""
        scope = o.label
        direction = self._dir(REQ)
        where = f"parameter {o_param.get('in')} {o_param.get('name')}"
        o_req, n_req = o_param.get("required") is True, n_param.get("required") is True
        if o_req != n_req:
            if n_req:
                rule = self._r("GEN-PARAM-BECAME-REQUIRED", "GEN-HOOK-PARAM-BECAME-REQUIRED")
            else:
                rule = self._r("GEN-PARAM-BECAME-OPTIONAL", "GEN-HOOK-PARAM-BECAME-OPTIONAL")
            self.em.emit(
                "request-parameter-became-required"
                if n_req
                else "request-parameter-became-optional",
                rule,
                scope,
                where,
                join(o_ptr, "required") if "required" in o_param else o_ptr,
                join(n_ptr, "required") if "required" in n_param else n_ptr,
                f"became {'required' if n_req else 'optional'}",
                operation=scope,
                direction=direction,
            )
        self.deprecation(o_param, o_ptr, n_param, n_ptr, scope, where, "parameter")
        ctx = SchemaContext(direction, scope, where, "parameter")
        o_schema, _ = self.old.deref(o_param.get("schema"), join(o_ptr, "schema"))
        n_schema, n_sptr = self.new.deref(n_param.get("schema"), join(n_ptr, "schema"))
        array_style = (
            None if self.hook else self._became_array(o_param, o_schema, n_param, n_schema)
        )
        if array_style is not None:
            # A scalar's explode setting means nothing, so this is no style change.
            exploded = array_style == "form/explode"
            self.em.emit(
                "request-parameter-became-array",
                "GEN-PARAM-BECAME-ARRAY" if exploded else "GEN-PARAM-BECAME-ARRAY-UNEXPLODED",
                scope,
                where,
                join(o_ptr, "schema"),
                join(n_sptr, "type"),
                "now an exploded form array: a single value is still a valid one-item array"
                if exploded
                else "now a comma-separated form array: an old value holding a comma is split",
                operation=scope,
                direction=direction,
            )
            self.schemas.compare(
                self._as_text(o_schema, n_schema["items"]),
                join(o_ptr, "schema"),
                n_schema["items"],
                join(n_sptr, "items"),
                ctx,
            )
            return
        if _style(o_param) != _style(n_param):
            self.em.emit(
                "request-parameter-style-changed",
                "GEN-PARAM-STYLE-CHANGED",
                scope,
                where,
                o_ptr,
                n_ptr,
                f"serialised as {_style(o_param)} -> {_style(n_param)}",
                operation=scope,
                direction=direction,
            )
        if "schema" in o_param and "schema" in n_param:
            self.schemas.compare(
                o_param["schema"],
                join(o_ptr, "schema"),
                n_param["schema"],
                join(n_ptr, "schema"),
                ctx,
            )
        elif "content" in o_param and "content" in n_param:
            self.content(
                o_param["content"],
                join(o_ptr, "content"),
                n_param["content"],
                join(n_ptr, "content"),
                ctx,
                "request",
            )

    def _as_text(self, o_schema: dict[str, Any], n_items: Any) -> dict[str, Any]:
        """The old scalar as the new string items see it: a query value is text on the wire, so
        ``type: [string, integer]`` sent as ``?a=5`` is a valid string item (oasdiff's reading)."""
        items, _ = self.new.deref(n_items, "")
        o_types = schema_types(o_schema, self.old.is_31)
        if not isinstance(items, dict) or o_types is None:
            return o_schema
        if (schema_types(items, self.new.is_31) or frozenset()) - {"null"} != {"string"}:
            return o_schema
        if not o_types - {"null"} <= {"string", "integer", "number", "boolean"}:
            return o_schema
        text: Any = ["string", "null"] if "null" in o_types and self.old.is_31 else "string"
        return {**o_schema, "type": text}

    def _became_array(
        self, o_param: Mapping[str, Any], o_schema: Any, n_param: Mapping[str, Any], n_schema: Any
    ) -> str | None:
        """The new form style when a scalar query or cookie parameter became an array (oasdiff's
        rule: under ``form`` with ``explode`` the old single value is a valid one-item array)."""
        if "schema" not in o_param or "schema" not in n_param:
            return None
        if not isinstance(o_schema, dict) or not isinstance(n_schema, dict):
            return None
        style = _style(n_param)
        if not style.startswith("form/") or not isinstance(n_schema.get("items"), dict):
            return None
        o_types = schema_types(o_schema, self.old.is_31)
        n_types = schema_types(n_schema, self.new.is_31)
        if o_types is None or n_types is None:
            return None
        o_types, n_types = o_types - {"null"}, n_types - {"null"}
        if o_types and "array" not in o_types and n_types == {"array"}:
            return style
        return None

    def content(
        self, o_content: Any, o_ptr: str, n_content: Any, n_ptr: str, ctx: SchemaContext, side: str
    ) -> None:
        """Compare the media types of a body (``side`` is ``request`` or ``response``).

        Each media type pairs with the same one on the other side; else with the same type whose
        parameters differ (``; charset=utf-8``, ``; version=2``); else with one its range covers
        or that covers it (``*/*``, ``application/*``, ``application/json`` for
        ``application/problem+json``). A pair is one change, judged by the direction.
        """
        o_content = o_content if isinstance(o_content, dict) else {}
        n_content = n_content if isinstance(n_content, dict) else {}
        rules = _MEDIA_RULES[(side, self.hook)]
        o_types: dict[str, str] = {}
        for raw in o_content:
            o_types.setdefault(_media_label(raw), raw)
        n_types: dict[str, str] = {}
        for raw in n_content:
            n_types.setdefault(_media_label(raw), raw)
        pairs: dict[str, tuple[str, str]] = {m: (m, "same") for m in o_types if m in n_types}
        free = [m for m in n_types if m not in o_types]
        for media in o_types:
            if media in pairs:
                continue
            found = [
                (0 if rel in ("params", "charset") else 1, i, m, rel)
                for i, m in enumerate(free)
                if (rel := _media_relation(media, m)) is not None
            ]
            if not found:
                continue
            _, _, match, relation = min(found)
            free.remove(match)
            pairs[media] = (match, relation)
            kind = (
                "media-type-parameters-changed"
                if relation in ("params", "charset")
                else "media-type-changed"
            )
            self.em.emit(
                f"{side}-{kind}",
                rules[relation],
                ctx.scope,
                f"{ctx.where} {media}",
                join(o_ptr, o_types[media]),
                join(n_ptr, n_types[match]),
                f"media type {media} -> {match}",
                operation=ctx.scope,
                direction=ctx.direction,
            )
        for media, raw in o_types.items():
            if media not in pairs:
                self.em.emit(
                    f"{side}-media-type-removed",
                    rules["removed"],
                    ctx.scope,
                    f"{ctx.where} {media}",
                    join(o_ptr, raw),
                    n_ptr,
                    "media type removed",
                    operation=ctx.scope,
                    direction=ctx.direction,
                )
        for media in free:
            self.em.emit(
                f"{side}-media-type-added",
                rules["added"],
                ctx.scope,
                f"{ctx.where} {media}",
                o_ptr,
                join(n_ptr, n_types[media]),
                "media type added",
                operation=ctx.scope,
                direction=ctx.direction,
            )
        for media, (match, _) in pairs.items():
            o_raw, n_raw = o_types[media], n_types[match]
            o_mt, n_mt = o_content[o_raw], n_content[n_raw]
            o_mt = o_mt if isinstance(o_mt, dict) else {}
            n_mt = n_mt if isinstance(n_mt, dict) else {}
            o_mptr, n_mptr = join(o_ptr, o_raw), join(n_ptr, n_raw)
            sub = SchemaContext(
                ctx.direction,
                ctx.scope,
                f"{ctx.where} {media}",
                ctx.root,
                "body",
                xml=_media_type(media)[0].endswith(("/xml", "+xml")),
            )
            o_has, n_has = "schema" in o_mt, "schema" in n_mt
            if o_has and n_has:
                self.schemas.compare(
                    o_mt["schema"],
                    join(o_mptr, "schema"),
                    n_mt["schema"],
                    join(n_mptr, "schema"),
                    sub,
                )
            elif o_has != n_has:
                what = "schema-added" if n_has else "schema-removed"
                self.em.emit(
                    f"{side}-body-{what}",
                    rules[what],
                    ctx.scope,
                    f"{ctx.where} {media}",
                    join(o_mptr, "schema") if o_has else o_mptr,
                    join(n_mptr, "schema") if n_has else n_mptr,
                    f"body schema {'added' if n_has else 'removed'}",
                    operation=ctx.scope,
                    direction=ctx.direction,
                )

    def request_body(self, o: Operation, n: Operation) -> None:
        scope = o.label
        direction = self._dir(REQ)
        o_body, o_ptr = self.old.deref(o.node.get("requestBody"), join(o.ptr, "requestBody"))
        n_body, n_ptr = self.new.deref(n.node.get("requestBody"), join(n.ptr, "requestBody"))
        o_body = o_body if isinstance(o_body, dict) else None
        n_body = n_body if isinstance(n_body, dict) else None
        if not o_body and not n_body:
            return
        if not o_body:
            assert n_body is not None
            required = n_body.get("required") is True
            self.em.emit(
                "request-body-added",
                self._r(
                    "GEN-BODY-ADDED-REQUIRED" if required else "GEN-BODY-ADDED-OPTIONAL",
                    "GEN-HOOK-BODY-ADDED",
                ),
                scope,
                "request",
                o.ptr,
                n_ptr,
                f"{'required' if required else 'optional'} request body added",
                operation=scope,
                direction=direction,
            )
            return
        if not n_body:
            self.em.emit(
                "request-body-removed",
                self._r("GEN-BODY-REMOVED", "GEN-HOOK-BODY-REMOVED"),
                scope,
                "request",
                o_ptr,
                n.ptr,
                "request body removed",
                operation=scope,
                direction=direction,
            )
            return
        o_req, n_req = o_body.get("required") is True, n_body.get("required") is True
        if o_req != n_req:
            if n_req:
                rule = self._r("GEN-BODY-BECAME-REQUIRED", "GEN-HOOK-BODY-BECAME-REQUIRED")
            else:
                rule = self._r("GEN-BODY-BECAME-OPTIONAL", "GEN-HOOK-BODY-BECAME-OPTIONAL")
            self.em.emit(
                "request-body-became-required" if n_req else "request-body-became-optional",
                rule,
                scope,
                "request",
                join(o_ptr, "required") if "required" in o_body else o_ptr,
                join(n_ptr, "required") if "required" in n_body else n_ptr,
                f"request body became {'required' if n_req else 'optional'}",
                operation=scope,
                direction=direction,
            )
        ctx = SchemaContext(direction, scope, "request", "body")
        self.content(
            o_body.get("content"),
            join(o_ptr, "content"),
            n_body.get("content"),
            join(n_ptr, "content"),
            ctx,
            "request",
        )

    def responses(self, o: Operation, n: Operation) -> None:
        scope = o.label
        direction = self._dir(RESP)
        o_all = o.node.get("responses")
        n_all = n.node.get("responses")
        o_all = o_all if isinstance(o_all, dict) else {}
        n_all = n_all if isinstance(n_all, dict) else {}
        o_resps = {str(k).upper(): k for k in o_all}
        n_resps = {str(k).upper(): k for k in n_all}
        o_base, n_base = join(o.ptr, "responses"), join(n.ptr, "responses")
        for status, raw in o_resps.items():
            if status not in n_resps:
                rule = self._r(
                    "GEN-RESP-STATUS-REMOVED"
                    if _success(status)
                    else "GEN-RESP-ERROR-STATUS-REMOVED",
                    "GEN-HOOK-STATUS-REMOVED",
                )
                self.em.emit(
                    "response-status-removed",
                    rule,
                    scope,
                    f"response {status.lower()}",
                    join(o_base, raw),
                    n_base,
                    "response status removed",
                    operation=scope,
                    direction=direction,
                )
        for status, raw in n_resps.items():
            if status not in o_resps:
                codes = self._error_codes(n_all[raw], join(n_base, raw), self.new)
                extra = f" (codes {', '.join(dict.fromkeys(codes))})" if codes else ""
                self.em.emit(
                    "response-status-added",
                    self._r("GEN-RESP-STATUS-ADDED", "GEN-HOOK-STATUS-ADDED"),
                    scope,
                    f"response {status.lower()}",
                    o_base,
                    join(n_base, raw),
                    f"response status added{extra}",
                    operation=scope,
                    direction=direction,
                )
        for status, o_raw in o_resps.items():
            if status not in n_resps:
                continue
            n_raw = n_resps[status]
            o_resp, o_ptr = self.old.deref(o_all[o_raw], join(o_base, o_raw))
            n_resp, n_ptr = self.new.deref(n_all[n_raw], join(n_base, n_raw))
            if not isinstance(o_resp, dict) or not isinstance(n_resp, dict):
                continue
            where = f"response {status.lower()}"
            ctx = SchemaContext(direction, scope, where, "body")
            self.content(
                o_resp.get("content"),
                join(o_ptr, "content"),
                n_resp.get("content"),
                join(n_ptr, "content"),
                ctx,
                "response",
            )
            self.headers(o_resp, o_ptr, n_resp, n_ptr, scope, where)
            o_codes = self._error_codes(o_resp, o_ptr, self.old)
            n_codes = self._error_codes(n_resp, n_ptr, self.new)
            for code in o_codes:
                if code not in n_codes:
                    self.em.emit(
                        "response-error-code-removed",
                        "GEN-RESP-ERROR-CODE-REMOVED",
                        scope,
                        f"{where} {code}",
                        join(o_ptr, "x-kontrakt-errors"),
                        join(n_ptr, "x-kontrakt-errors") if n_codes else n_ptr,
                        "domain code no longer listed",
                        operation=scope,
                        direction=direction,
                    )
            for code in n_codes:
                if code not in o_codes:
                    self.em.emit(
                        "response-error-code-added",
                        "GEN-RESP-ERROR-CODE-ADDED",
                        scope,
                        f"{where} {code}",
                        join(o_ptr, "x-kontrakt-errors") if o_codes else o_ptr,
                        join(n_ptr, "x-kontrakt-errors"),
                        "domain code may now be returned",
                        operation=scope,
                        direction=direction,
                    )

    @staticmethod
    def _error_codes(resp: Any, ptr: str, doc: Document) -> list[str]:
        resp, _ = doc.deref(resp, ptr)
        if not isinstance(resp, dict):
            return []
        uses = _as_list(resp.get("x-kontrakt-errors"))
        return [str(u.get("code")) for u in uses if isinstance(u, dict) and "code" in u]

    def headers(
        self,
        o_resp: dict[str, Any],
        o_ptr: str,
        n_resp: dict[str, Any],
        n_ptr: str,
        scope: str,
        where: str,
    ) -> None:
        direction = self._dir(RESP)
        o_all, n_all = o_resp.get("headers"), n_resp.get("headers")
        o_all = o_all if isinstance(o_all, dict) else {}
        n_all = n_all if isinstance(n_all, dict) else {}
        o_h = {k.lower(): k for k in o_all}
        n_h = {k.lower(): k for k in n_all}
        for low, raw in o_h.items():
            o_head, oh_ptr = self.old.deref(o_all[raw], join(o_ptr, "headers", raw))
            required = isinstance(o_head, dict) and o_head.get("required") is True
            if low not in n_h:
                rule = self._r(
                    "GEN-RESP-HEADER-REMOVED-REQUIRED"
                    if required
                    else "GEN-RESP-HEADER-REMOVED-OPTIONAL",
                    "GEN-HOOK-RESP-HEADER-REMOVED",
                )
                self.em.emit(
                    "response-header-removed",
                    rule,
                    scope,
                    f"{where} header {raw}",
                    oh_ptr,
                    join(n_ptr, "headers") if n_h else n_ptr,
                    f"{'required' if required else 'optional'} header removed",
                    operation=scope,
                    direction=direction,
                )
                continue
            n_raw = n_h[low]
            n_head, nh_ptr = self.new.deref(n_all[n_raw], join(n_ptr, "headers", n_raw))
            if not isinstance(o_head, dict) or not isinstance(n_head, dict):
                continue
            n_required = n_head.get("required") is True
            if required != n_required:
                if n_required:
                    rule = self._r(
                        "GEN-RESP-HEADER-BECAME-REQUIRED", "GEN-HOOK-RESP-HEADER-BECAME-REQUIRED"
                    )
                else:
                    rule = self._r(
                        "GEN-RESP-HEADER-BECAME-OPTIONAL", "GEN-HOOK-RESP-HEADER-BECAME-OPTIONAL"
                    )
                self.em.emit(
                    "response-header-became-required"
                    if n_required
                    else "response-header-became-optional",
                    rule,
                    scope,
                    f"{where} header {raw}",
                    oh_ptr,
                    nh_ptr,
                    f"header became {'required' if n_required else 'optional'}",
                    operation=scope,
                    direction=direction,
                )
            if "schema" in o_head and "schema" in n_head:
                ctx = SchemaContext(direction, scope, f"{where} header {raw}", "header")
                self.schemas.compare(
                    o_head["schema"],
                    join(oh_ptr, "schema"),
                    n_head["schema"],
                    join(nh_ptr, "schema"),
                    ctx,
                )
        for low, raw in n_h.items():
            if low not in o_h:
                n_head, _ = self.new.deref(n_all[raw], join(n_ptr, "headers", raw))
                required = isinstance(n_head, dict) and n_head.get("required") is True
                rule = self._r(
                    "GEN-RESP-HEADER-ADDED",
                    "GEN-HOOK-RESP-HEADER-ADDED-REQUIRED"
                    if required
                    else "GEN-HOOK-RESP-HEADER-ADDED",
                )
                self.em.emit(
                    "response-header-added",
                    rule,
                    scope,
                    f"{where} header {raw}",
                    join(o_ptr, "headers") if o_h else o_ptr,
                    join(n_ptr, "headers", raw),
                    "header added",
                    operation=scope,
                    direction=direction,
                )

    # -- security ----------------------------------------------------------------------------

    @staticmethod
    def _scheme_descriptor(scheme: Any) -> tuple[str, ...]:
        if not isinstance(scheme, dict):
            return ()
        kind = str(scheme.get("type", ""))
        location = str(scheme.get("in", ""))
        name = str(scheme.get("name", ""))
        if location == "header":
            name = name.lower()
        flows = tuple(sorted(_mapping(scheme.get("flows"))))
        return (kind, str(scheme.get("scheme", "")).lower(), location, name, *flows)

    def _schemes(self, doc: Document) -> dict[str, tuple[str, ...]]:
        raw = _mapping(_mapping(doc.data.get("components")).get("securitySchemes"))
        result = {}
        for name, node in raw.items():
            scheme, _ = doc.deref(node, join("", "components", "securitySchemes", name))
            result[name] = self._scheme_descriptor(scheme)
        return result

    def _scheme_renames(self) -> dict[str, str]:
        """New scheme name for each old one: the same name, or a renamed identical definition."""
        old, new = self._schemes(self.old), self._schemes(self.new)
        mapping = {name: name for name in old if name in new}
        for name, desc in old.items():
            if name in mapping:
                continue
            same = [n for n, d in new.items() if d == desc and n not in mapping.values()]
            if len(same) == 1:
                mapping[name] = same[0]
        return mapping

    def security_schemes(self) -> None:
        old, new = self._schemes(self.old), self._schemes(self.new)
        for name, new_name in self.scheme_names.items():
            if old[name] != new[new_name]:
                self.em.emit(
                    "security-scheme-changed",
                    "GEN-SECURITY-SCHEME-CHANGED",
                    "security",
                    name,
                    join("", "components", "securitySchemes", name),
                    join("", "components", "securitySchemes", new_name),
                    f"{'/'.join(old[name])} -> {'/'.join(new[new_name])}",
                )

    def _requirements(
        self, doc: Document, op: Operation, rename: bool
    ) -> tuple[list[dict[str, frozenset[str]]], str]:
        if "security" in op.node:
            reqs, ptr = op.node.get("security"), join(op.ptr, "security")
        elif op.hook:
            # The document's security is how clients call the API, not how it calls them back.
            return [{}], op.ptr
        else:
            reqs, ptr = doc.data.get("security"), "/security"
        if not reqs or not isinstance(reqs, list):
            return [{}], ptr
        result: list[dict[str, frozenset[str]]] = []
        for req in reqs:
            if isinstance(req, dict):
                alt: dict[str, frozenset[str]] = {}
                for name, scopes in req.items():
                    key = str(self.scheme_names.get(name, name) if rename else name)
                    alt[key] = frozenset(str(s) for s in _as_list(scopes))
                if alt not in result:  # a repeated alternative adds no way in
                    result.append(alt)
        return result or [{}], ptr

    def security(self, o: Operation, n: Operation) -> None:
        scope = o.label
        direction = self._dir(REQ)

        def rule(rule_id: str) -> str:
            return _HOOK_SECURITY.get(rule_id, rule_id) if self.hook else rule_id

        o_alts, o_ptr = self._requirements(self.old, o, rename=True)
        n_alts, n_ptr = self._requirements(self.new, n, rename=False)
        matched_new: set[int] = set()

        def names(alt: dict[str, frozenset[str]]) -> str:
            return " + ".join(sorted(alt)) or "anonymous"

        # An alternative kept as it was pairs first, so a second one on the same scheme with other
        # scopes is not read as its scopes changing.
        exact: dict[int, int] = {}
        for i, alt in enumerate(o_alts):
            j = next((j for j, b in enumerate(n_alts) if b == alt and j not in exact.values()), -1)
            if j >= 0:
                exact[i] = j
        matched_new.update(exact.values())
        for i, alt in enumerate(o_alts):
            if i in exact:
                continue
            same = [j for j, b in enumerate(n_alts) if set(b) == set(alt) and j not in matched_new]
            same = same or [j for j, b in enumerate(n_alts) if set(b) == set(alt)]
            if same:
                j = same[0]
                matched_new.add(j)
                for scheme, scopes in alt.items():
                    for s in sorted(n_alts[j][scheme] - scopes):
                        self.em.emit(
                            "security-scope-added",
                            rule("GEN-SECURITY-SCOPE-ADDED"),
                            scope,
                            f"security {scheme} {s}",
                            o_ptr,
                            n_ptr,
                            "scope now also required",
                            operation=scope,
                            direction=direction,
                        )
                    for s in sorted(scopes - n_alts[j][scheme]):
                        self.em.emit(
                            "security-scope-removed",
                            rule("GEN-SECURITY-SCOPE-REMOVED"),
                            scope,
                            f"security {scheme} {s}",
                            o_ptr,
                            n_ptr,
                            "scope no longer required",
                            operation=scope,
                            direction=direction,
                        )
                continue
            relaxed = [
                j
                for j, b in enumerate(n_alts)
                if set(b) < set(alt) and all(b[k] <= alt[k] for k in b)
            ]
            stricter = [j for j, b in enumerate(n_alts) if set(b) > set(alt)]
            if relaxed:
                matched_new.update(relaxed)
                self.em.emit(
                    "security-relaxed",
                    rule("GEN-SECURITY-RELAXED"),
                    scope,
                    f"security {names(alt)}",
                    o_ptr,
                    n_ptr,
                    f"{names(alt)} -> {names(n_alts[relaxed[0]])} (fewer credentials)",
                    operation=scope,
                    direction=direction,
                )
            elif stricter:
                matched_new.update(stricter)
                extra = sorted(set(n_alts[stricter[0]]) - set(alt))
                self.em.emit(
                    "security-requirement-added",
                    rule("GEN-SECURITY-REQUIRED"),
                    scope,
                    f"security {names(alt)}",
                    o_ptr,
                    n_ptr,
                    f"now also requires {', '.join(extra)}",
                    operation=scope,
                    direction=direction,
                )
            elif not alt:
                self.em.emit(
                    "security-requirement-added",
                    rule("GEN-SECURITY-REQUIRED"),
                    scope,
                    "security anonymous",
                    o_ptr,
                    n_ptr,
                    f"now requires authentication ({' or '.join(names(b) for b in n_alts)})",
                    operation=scope,
                    direction=direction,
                )
            else:
                self.em.emit(
                    "security-alternative-removed",
                    rule("GEN-SECURITY-ALTERNATIVE-REMOVED"),
                    scope,
                    f"security {names(alt)}",
                    o_ptr,
                    n_ptr,
                    "this way of authenticating is no longer accepted",
                    operation=scope,
                    direction=direction,
                )
        for j, alt in enumerate(n_alts):
            if j not in matched_new and alt:
                self.em.emit(
                    "security-alternative-added",
                    rule("GEN-SECURITY-ALTERNATIVE-ADDED"),
                    scope,
                    f"security {names(alt)}",
                    o_ptr,
                    n_ptr,
                    "one more accepted way of authenticating",
                    operation=scope,
                    direction=direction,
                )

    # -- kontrakt operation extensions -------------------------------------------------------

    def extensions(self, o: Operation, n: Operation) -> None:
        scope = o.label
        ob, nb = o.node.get("x-kontrakt-batch"), n.node.get("x-kontrakt-batch")
        if isinstance(ob, dict) and isinstance(nb, dict):
            o_ptr, n_ptr = join(o.ptr, "x-kontrakt-batch"), join(n.ptr, "x-kontrakt-batch")
            for key in ("atomic", "order-preserved"):
                if ob.get(key) is True and nb.get(key) is not True:
                    self.em.emit(
                        "batch-changed",
                        "GEN-BATCH-WEAKENED",
                        scope,
                        f"batch {key}",
                        join(o_ptr, key),
                        n_ptr,
                        "no longer promised",
                        operation=scope,
                        direction=REQ,
                    )
            for key in ("index-pointer", "too-large-status"):
                if key in ob and ob.get(key) != nb.get(key):
                    self.em.emit(
                        "batch-changed",
                        "GEN-BATCH-WEAKENED",
                        scope,
                        f"batch {key}",
                        join(o_ptr, key),
                        n_ptr,
                        f"{ob.get(key)} -> {nb.get(key)}",
                        operation=scope,
                        direction=REQ,
                    )
            o_max, n_max = ob.get("max-items"), nb.get("max-items")
            if isinstance(o_max, int) and isinstance(n_max, int) and o_max != n_max:
                self.em.emit(
                    "batch-changed",
                    "GEN-BATCH-WEAKENED" if n_max < o_max else "GEN-BATCH-RELAXED",
                    scope,
                    "batch max-items",
                    join(o_ptr, "max-items"),
                    join(n_ptr, "max-items"),
                    f"{o_max} -> {n_max}",
                    operation=scope,
                    direction=REQ,
                )
        op_, np_ = o.node.get("x-kontrakt-pagination"), n.node.get("x-kontrakt-pagination")
        if isinstance(op_, dict) or isinstance(np_, dict):
            o_ptr, n_ptr = (
                join(o.ptr, "x-kontrakt-pagination"),
                join(n.ptr, "x-kontrakt-pagination"),
            )
            if not isinstance(op_, dict):
                self.em.emit(
                    "pagination-changed",
                    "GEN-PAGINATION-ADDED",
                    scope,
                    "pagination",
                    o.ptr,
                    n_ptr,
                    f"results are now paged ({np_.get('style') if isinstance(np_, dict) else ''})",
                    operation=scope,
                    direction=RESP,
                )
            else:
                nd = np_ if isinstance(np_, dict) else {}
                for key in ("style", "items", "links", "rels", "relative", "parameters"):
                    if op_.get(key) != nd.get(key):
                        self.em.emit(
                            "pagination-changed",
                            "GEN-PAGINATION-CHANGED",
                            scope,
                            f"pagination {key}",
                            join(o_ptr, key) if key in op_ else o_ptr,
                            join(n_ptr, key) if key in nd else (n_ptr if nd else n.ptr),
                            f"{op_.get(key)!r} -> {nd.get(key)!r}",
                            operation=scope,
                            direction=RESP,
                        )


def _media_type(raw: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A media type key as (essence, sorted parameters), lower-cased where case does not count."""
    essence, *rest = raw.split(";")
    params: list[tuple[str, str]] = []
    for part in rest:
        name, _, value = part.partition("=")
        name, value = name.strip().lower(), value.strip().strip('"')
        if name:
            params.append((name, value.lower() if name == "charset" else value))
    return essence.strip().lower(), tuple(sorted(params))


def _media_label(raw: str) -> str:
    """The canonical spelling of a media type key: ``application/json; charset=utf-8``."""
    essence, params = _media_type(raw)
    return essence + "".join(f"; {k}={v}" for k, v in params)


def _covers(wide: str, narrow: str) -> bool:
    """Whether the media range ``wide`` strictly includes ``narrow``: ``*/*``, ``application/*``,
    ``application/*+json``, or a base type for its structured-syntax suffix (``application/json``
    includes ``application/problem+json``, as oasdiff reads it)."""
    if wide == narrow:
        return False
    if wide == "*/*":
        return True
    w_type, _, w_sub = wide.partition("/")
    n_type, _, n_sub = narrow.partition("/")
    if w_type != n_type or n_sub == "*":
        return False
    if w_sub == "*":
        return True
    _, plus, suffix = n_sub.rpartition("+")
    if not plus:
        return False
    if w_sub.startswith("*+"):
        return suffix == w_sub[2:]
    return "+" not in w_sub and suffix == w_sub


def _media_relation(old: str, new: str) -> str | None:
    """How two media type labels relate: only ``charset=utf-8`` added or dropped on a JSON type
    (``charset``), other parameters differing (``params``), a narrower (``specialised``) or wider
    (``generalised``) range; None when they are unrelated."""
    (o_ess, o_params), (n_ess, n_params) = _media_type(old), _media_type(new)
    o_set, n_set = set(o_params), set(n_params)
    if o_ess == n_ess:
        if o_set == n_set:
            return None
        json = o_ess.endswith(("/json", "+json"))
        if json and o_set ^ n_set == {("charset", "utf-8")}:
            return "charset"
        return "params"
    if o_set <= n_set and _covers(o_ess, n_ess):
        return "specialised"
    if n_set <= o_set and _covers(n_ess, o_ess):
        return "generalised"
    return None


def _style(param: Mapping[str, Any]) -> str:
    where = param.get("in")
    default = "form" if where in ("query", "cookie") else "simple"
    style = str(param.get("style", default))
    explode = param.get("explode", style == "form")
    return f"{style}/{'explode' if explode else 'no-explode'}"


def _servers(old: Document, new: Document, em: Emitter, major: MajorVersion | None) -> None:
    def base(url: str) -> str:
        url = url.rstrip("/")
        return re.sub(r"/v?\d+(\.\d+)*$", "", url) if major else url

    o_urls = [
        str(s.get("url", "")) for s in _as_list(old.data.get("servers")) if isinstance(s, dict)
    ]
    n_urls = {
        base(str(s.get("url", "")))
        for s in _as_list(new.data.get("servers"))
        if isinstance(s, dict)
    }
    for i, url in enumerate(o_urls):
        if n_urls and base(url) not in n_urls:
            em.emit(
                "server-removed",
                "GEN-SERVER-REMOVED",
                "servers",
                url,
                join("", "servers", i),
                "/servers",
                "server no longer listed",
            )


def check_document(
    old: Document,
    new: Document,
    em: Emitter,
    major: MajorVersion | None,
    on: dt.date | None = None,
) -> None:
    """All generic checks of two OpenAPI documents; sunset dates are judged as of ``on`` (today
    when not given)."""
    if major is not None:
        where = {"servers": "/servers", "paths": "/paths", "info.version": "/info/version"}[
            major.source
        ]
        em.emit(
            "api-major-version-changed",
            "GEN-MAJOR-VERSION",
            "api",
            f"{major.old}->{major.new}",
            where,
            where,
            f"new major version {major.label} (read from {major.source}): the breaking changes below are "
            "what a client must change to move to it",
        )
    strip = _path_version(old) is not None and _path_version(new) is not None
    _OperationDiff(old, new, em, strip, on or dt.date.today()).run()
    _servers(old, new, em, major)
    check_catalogues(error_catalogue(old), error_catalogue(new), em, full=True)
    check_lifecycles(old, new, em)


# -- error catalogue ------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorCode:
    """One domain error code, read from x-kontrakt-error-catalogue or a DAN /errorcodes snapshot."""

    code: str
    ptr: str
    statuses: frozenset[int] = frozenset()
    name: str = ""
    text: str = ""


@dataclass
class ErrorCatalogue:
    codes: dict[str, ErrorCode]
    ptr: str
    pointer: str | None = None
    code_type: str | None = None


def error_catalogue(doc: Document) -> ErrorCatalogue | None:
    cat = doc.data.get("x-kontrakt-error-catalogue")
    if not isinstance(cat, dict):
        return None
    base = "/x-kontrakt-error-catalogue/codes"
    codes = {}
    for code, entry in (cat.get("codes") or {}).items():
        entry = entry if isinstance(entry, dict) else {}
        status = entry.get("status")
        statuses = frozenset(
            status if isinstance(status, list) else [status] if isinstance(status, int) else []
        )
        text = " / ".join(str(entry[k]) for k in ("title", "description") if entry.get(k))
        codes[str(code)] = ErrorCode(
            str(code), join(base, code), statuses, str(entry.get("name", "")), text
        )
    return ErrorCatalogue(
        codes,
        "/x-kontrakt-error-catalogue",
        cat.get("code-pointer"),
        cat.get("code-type", "string"),
    )


def error_codes_from_snapshot(data: list[Any], base: str = "") -> ErrorCatalogue:
    """DAN ``/public/metadata/errorcodes``: ``[{code, description}]``."""
    codes = {}
    for i, item in enumerate(data):
        if isinstance(item, dict) and "code" in item:
            codes[str(item["code"])] = ErrorCode(
                str(item["code"]), join(base, i), text=str(item.get("description", ""))
            )
    return ErrorCatalogue(codes, base or "/")


def check_catalogues(
    old: ErrorCatalogue | None, new: ErrorCatalogue | None, em: Emitter, *, full: bool
) -> None:
    """Error codes: additions allowed; removal, renumbering or a changed name breaking; changed
    wording a warning. ``full`` compares statuses and wording too (same kind of source)."""
    if old is None and new is None:
        return
    old = old or ErrorCatalogue({}, "/")
    new = new or ErrorCatalogue({}, "/")
    scope = "error-catalogue"
    if full and old.codes and new.codes:
        for key, label in (("pointer", "code-pointer"), ("code_type", "code-type")):
            ov, nv = getattr(old, key), getattr(new, key)
            if ov != nv:
                em.emit(
                    "error-format-changed",
                    "GEN-ERROR-FORMAT-CHANGED",
                    scope,
                    label,
                    join(old.ptr, label),
                    join(new.ptr, label),
                    f"{ov} -> {nv}",
                )
    removed = [c for c in old.codes if c not in new.codes]
    added = [c for c in new.codes if c not in old.codes]
    for code in list(removed):
        entry = old.codes[code]
        ident = entry.name or entry.text
        twins = [c for c in added if ident and (new.codes[c].name or new.codes[c].text) == ident]
        if len(twins) == 1:
            removed.remove(code)
            added.remove(twins[0])
            em.emit(
                "error-code-renumbered",
                "GEN-ERROR-CODE-RENUMBERED",
                scope,
                code,
                entry.ptr,
                new.codes[twins[0]].ptr,
                f"renumbered to {twins[0]} ({ident})",
            )
    for code in removed:
        em.emit(
            "error-code-removed",
            "GEN-ERROR-CODE-REMOVED",
            scope,
            code,
            old.codes[code].ptr,
            new.ptr,
            f"removed ({old.codes[code].name or old.codes[code].text})",
        )
    for code in added:
        em.emit(
            "error-code-added",
            "GEN-ERROR-CODE-ADDED",
            scope,
            code,
            old.ptr,
            new.codes[code].ptr,
            f"added ({new.codes[code].name or new.codes[code].text})",
        )
    if not full:
        return
    for code, o in old.codes.items():
        n = new.codes.get(code)
        if n is None:
            continue
        if o.name != n.name and (o.name or n.name):
            em.emit(
                "error-code-name-changed",
                "GEN-ERROR-CODE-NAME-CHANGED",
                scope,
                code,
                o.ptr,
                n.ptr,
                f"name {o.name or 'none'} -> {n.name or 'none'}",
            )
        if o.text != n.text:
            em.emit(
                "error-code-text-changed",
                "GEN-ERROR-CODE-TEXT-CHANGED",
                scope,
                code,
                o.ptr,
                n.ptr,
                f"wording changed: {o.text!r} -> {n.text!r}",
            )
        if o.statuses != n.statuses and o.statuses and n.statuses:
            rule = (
                "GEN-ERROR-CODE-STATUS-ADDED"
                if o.statuses < n.statuses
                else "GEN-ERROR-CODE-STATUS-CHANGED"
            )
            em.emit(
                "error-code-status-changed",
                rule,
                scope,
                code,
                join(o.ptr, "status"),
                join(n.ptr, "status"),
                f"HTTP status {sorted(o.statuses)} -> {sorted(n.statuses)}",
            )


# -- lifecycles (status machines, DAN status codes) -----------------------------------------


def _lifecycles(doc: Document) -> dict[str, Any]:
    raw = doc.data.get("x-kontrakt-lifecycles")
    return raw if isinstance(raw, dict) else {}


def _states(lc: Any) -> dict[str, dict[str, Any]]:
    states = lc.get("states") if isinstance(lc, dict) else None
    return {k: (v if isinstance(v, dict) else {}) for k, v in (states or {}).items()}


def _transitions(lc: Any) -> Iterator[tuple[str, str]]:
    for src, targets in ((lc.get("transitions") if isinstance(lc, dict) else None) or {}).items():
        for dst in targets or []:
            yield str(src), str(dst)


def check_lifecycles(old: Document, new: Document, em: Emitter) -> None:
    """Lifecycle states are status codes: only added, never removed, renamed or renumbered."""
    o_all, n_all = _lifecycles(old), _lifecycles(new)
    base = "/x-kontrakt-lifecycles"
    for name in o_all:
        if name not in n_all:
            em.emit(
                "lifecycle-removed",
                "GEN-LIFECYCLE-REMOVED",
                f"lifecycle {name}",
                "",
                join(base, name),
                base if n_all else "",
                "lifecycle removed",
            )
    for name in n_all:
        if name not in o_all:
            em.emit(
                "lifecycle-added",
                "GEN-LIFECYCLE-ADDED",
                f"lifecycle {name}",
                "",
                base if o_all else "",
                join(base, name),
                "lifecycle added",
            )
    for name, o_lc in o_all.items():
        if name not in n_all:
            continue
        n_lc = n_all[name]
        scope = f"lifecycle {name}"
        o_ptr, n_ptr = join(base, name, "states"), join(base, name, "states")
        os_, ns = _states(o_lc), _states(n_lc)
        removed = [s for s in os_ if s not in ns]
        added = [s for s in ns if s not in os_]
        for state in list(removed):
            code = os_[state].get("code")
            twins = [s for s in added if code is not None and ns[s].get("code") == code]
            if len(twins) == 1:
                removed.remove(state)
                added.remove(twins[0])
                em.emit(
                    "lifecycle-state-renamed",
                    "GEN-STATE-RENAMED",
                    scope,
                    state,
                    join(o_ptr, state),
                    join(n_ptr, twins[0]),
                    f"state (code {code}) renamed to {twins[0]}",
                )
        for state in removed:
            em.emit(
                "lifecycle-state-removed",
                "GEN-STATE-REMOVED",
                scope,
                state,
                join(o_ptr, state),
                n_ptr,
                "state removed" + _code_note(os_[state]),
            )
        open_states = isinstance(n_lc, dict) and n_lc.get("unknown-states") == "non-terminal"
        for state in added:
            em.emit(
                "lifecycle-state-added",
                "GEN-STATE-ADDED" if open_states else "GEN-STATE-ADDED-CLOSED",
                scope,
                state,
                o_ptr,
                join(n_ptr, state),
                "state added" + _code_note(ns[state]),
            )
        for state, o_state in os_.items():
            n_state = ns.get(state)
            if n_state is None:
                continue
            sp_o, sp_n = join(o_ptr, state), join(n_ptr, state)
            if o_state.get("code") != n_state.get("code"):
                em.emit(
                    "lifecycle-state-renumbered",
                    "GEN-STATE-RENUMBERED",
                    scope,
                    state,
                    join(sp_o, "code"),
                    join(sp_n, "code"),
                    f"code {o_state.get('code')} -> {n_state.get('code')}",
                )
            if bool(o_state.get("terminal")) != bool(n_state.get("terminal")):
                em.emit(
                    "lifecycle-state-terminal-changed",
                    "GEN-STATE-TERMINAL-CHANGED",
                    scope,
                    state,
                    join(sp_o, "terminal"),
                    join(sp_n, "terminal"),
                    f"{'now' if n_state.get('terminal') else 'no longer'} terminal",
                )
            if o_state.get("description") != n_state.get("description"):
                em.emit(
                    "lifecycle-state-text-changed",
                    "GEN-STATE-TEXT-CHANGED",
                    scope,
                    state,
                    join(sp_o, "description"),
                    join(sp_n, "description"),
                    "description changed",
                )
        o_tr, n_tr = set(_transitions(o_lc)), set(_transitions(n_lc))
        t_ptr = join(base, name, "transitions")
        for src, dst in sorted(n_tr - o_tr):
            if src in os_ and dst in os_:
                em.emit(
                    "lifecycle-transition-added",
                    "GEN-TRANSITION-ADDED",
                    scope,
                    f"{src}->{dst}",
                    t_ptr,
                    join(t_ptr, src),
                    "new transition",
                )
        for src, dst in sorted(o_tr - n_tr):
            if src in ns and dst in ns:
                em.emit(
                    "lifecycle-transition-removed",
                    "GEN-TRANSITION-REMOVED",
                    scope,
                    f"{src}->{dst}",
                    join(t_ptr, src),
                    t_ptr,
                    "transition no longer happens",
                )


def _code_note(state: Mapping[str, Any]) -> str:
    return f" (code {state['code']})" if "code" in state else ""
