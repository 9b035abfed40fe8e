"""Webhooks (OpenAPI 3.1) and callbacks are compared as operations, with the directions reversed:
the provider sends the request and the consumer answers, so what widens the request breaks the
consumer and what narrows the consumer's answer breaks it too."""

from __future__ import annotations

import copy
from typing import Any

from kontrakt.diff import Verdict
from tests.unit.diff.helpers import base, diff, kinds, only

Doc = dict[str, Any]
B, W, A = Verdict.BREAKING, Verdict.WARN, Verdict.ALLOWED
HOOK = "/webhooks/itemCreated/post"


def with_webhook() -> Doc:
    doc = base()
    doc["webhooks"] = {
        "itemCreated": {
            "post": {
                "operationId": "itemCreated",
                "parameters": [
                    {
                        "name": "X-Event-Id",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    {"name": "X-Retry", "in": "header", "schema": {"type": "integer"}},
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["id"],
                                "properties": {
                                    "id": {"type": "string"},
                                    "status": {"type": "string", "enum": ["open", "closed"]},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "received",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"ok": {"type": "boolean"}},
                                }
                            }
                        },
                    },
                    "410": {"description": "unsubscribe"},
                },
            }
        }
    }
    return doc


def hook(doc: Doc) -> Doc:
    return doc["webhooks"]["itemCreated"]["post"]  # type: ignore[no-any-return]


def body(doc: Doc) -> Doc:
    return hook(doc)["requestBody"]["content"]["application/json"]["schema"]  # type: ignore[no-any-return]


def test_a_webhook_compared_with_itself_reports_nothing() -> None:
    assert diff(with_webhook(), with_webhook()).changes == []


def test_webhook_removed_is_breaking_and_added_is_allowed() -> None:
    old, new = with_webhook(), base()
    removed = only(diff(old, new), "webhook-removed")
    assert removed.verdict is B
    assert removed.id == "webhook-removed:WEBHOOK itemCreated"
    assert removed.old_pointer == "/webhooks/itemCreated"
    added = only(diff(new, old), "webhook-added")
    assert added.verdict is A
    assert added.new_pointer == "/webhooks/itemCreated"


def test_webhook_operation_scope_is_webhook_name_method() -> None:
    old, new = with_webhook(), with_webhook()
    body(new)["properties"]["status"]["enum"].append("archived")
    change = only(diff(old, new), "response-property-enum-value-added")
    assert change.id.startswith("response-property-enum-value-added:WEBHOOK itemCreated POST:")
    assert change.operation == "WEBHOOK itemCreated POST"
    assert change.old_pointer is not None and change.old_pointer.startswith(
        "/webhooks/itemCreated/post"
    )


def test_webhook_request_body_widening_breaks_the_consumer() -> None:
    """A new enum value in the payload reaches consumers that map the old ones (response rule)."""
    old, new = with_webhook(), with_webhook()
    body(new)["properties"]["status"]["enum"].append("archived")
    change = only(diff(old, new), "response-property-enum-value-added")
    assert change.verdict is W
    assert change.rule == "GEN-RESP-ENUM-VALUE-ADDED"


def test_webhook_request_body_enum_value_removed_follows_the_response_rule() -> None:
    """The payload is judged as a response: a value removed is GEN-RESP-ENUM-VALUE-REMOVED
    (whatever the policy says of responses), never the request rule an ordinary body gets."""
    old, new = with_webhook(), with_webhook()
    body(new)["properties"]["status"]["enum"].remove("closed")
    change = only(diff(old, new), "response-property-enum-value-removed")
    assert change.direction.value == "response"
    assert change.rule == "GEN-RESP-ENUM-VALUE-REMOVED"


def test_webhook_payload_property_removed_is_judged_as_a_response() -> None:
    old, new = with_webhook(), with_webhook()
    del body(new)["properties"]["status"]
    change = only(diff(old, new), "response-property-removed")
    assert change.verdict is W  # optional: a tolerant consumer copes (docs/diff-policy.md)


def test_webhook_body_became_optional_breaks_and_required_does_not() -> None:
    old, new = with_webhook(), with_webhook()
    hook(new)["requestBody"]["required"] = False
    assert only(diff(old, new), "request-body-became-optional").verdict is B
    assert only(diff(new, old), "request-body-became-required").verdict is A


def test_webhook_parameters_reversed() -> None:
    old, new = with_webhook(), with_webhook()
    hook(new)["parameters"].pop(0)  # the always-sent X-Event-Id
    assert (
        only(diff(old, new), "request-parameter-removed").rule == "GEN-HOOK-PARAM-REMOVED-REQUIRED"
    )
    assert only(diff(old, new), "request-parameter-removed").verdict is B
    # a new required parameter is one more thing the provider sends: allowed
    assert only(diff(new, old), "request-parameter-added").verdict is A
    old, new = with_webhook(), with_webhook()
    hook(new)["parameters"].pop(1)  # optional X-Retry
    assert only(diff(old, new), "request-parameter-removed").verdict is W
    old, new = with_webhook(), with_webhook()
    hook(new)["parameters"][0]["required"] = False
    assert only(diff(old, new), "request-parameter-became-optional").verdict is B
    assert only(diff(new, old), "request-parameter-became-required").verdict is A


def test_webhook_response_is_what_the_consumer_sends() -> None:
    """The consumer's answer is checked like a client's request."""
    old, new = with_webhook(), with_webhook()
    schema = hook(new)["responses"]["200"]["content"]["application/json"]["schema"]
    schema["required"] = ["ok"]
    change = only(diff(old, new), "request-property-became-required")
    assert change.verdict is B
    # an answer status the provider no longer understands
    old, new = with_webhook(), with_webhook()
    del hook(new)["responses"]["410"]
    change = only(diff(old, new), "response-status-removed")
    assert (change.rule, change.verdict) == ("GEN-HOOK-STATUS-REMOVED", B)
    assert only(diff(new, old), "response-status-added").verdict is A


def test_webhook_request_media_types_reversed() -> None:
    old, new = with_webhook(), with_webhook()
    content = hook(new)["requestBody"]["content"]
    content["application/xml"] = {"schema": {"type": "string"}}
    added = only(diff(old, new), "request-media-type-added")
    assert (added.rule, added.verdict) == ("GEN-HOOK-REQ-MEDIA-TYPE-ADDED", B)
    removed = only(diff(new, old), "request-media-type-removed")
    assert removed.verdict is A


def test_webhook_security_reversed() -> None:
    old, new = with_webhook(), with_webhook()
    hook(old)["security"] = [{"key": []}]
    hook(new)["security"] = [{"key": []}, {"oauth": ["items.read"]}]
    # one more way the provider may authenticate: consumers verifying the key are not ready
    change = only(diff(old, new), "security-alternative-added")
    assert change.verdict is B
    assert only(diff(new, old), "security-alternative-removed").verdict is A


def test_webhook_does_not_inherit_the_documents_security() -> None:
    old, new = with_webhook(), with_webhook()
    new["security"] = [{"oauth": ["items.read", "items.write"]}]
    found = diff(old, new)
    assert all(not c.operation.startswith("WEBHOOK") for c in found.changes)


def test_webhook_through_a_path_item_reference() -> None:
    old = with_webhook()
    new = copy.deepcopy(old)
    new["components"]["pathItems"] = {"Created": new["webhooks"]["itemCreated"]}
    new["webhooks"]["itemCreated"] = {"$ref": "#/components/pathItems/Created"}
    assert diff(old, new).changes == []
    body(old)["properties"]["status"]["enum"].remove("closed")
    change = only(diff(old, new), "response-property-enum-value-added")
    assert change.new_pointer is not None
    assert change.new_pointer.startswith("/components/pathItems/Created/post")


def with_callback(doc: Doc | None = None) -> Doc:
    doc = doc or base()
    doc["paths"]["/items/{id}"]["put"]["callbacks"] = {
        "onStored": {
            "{$request.body#/callbackUrl}": {
                "post": {
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["id"],
                                    "properties": {
                                        "id": {"type": "string"},
                                        "size": {"type": "integer"},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {"204": {"description": "ok"}},
                }
            }
        }
    }
    return doc


def callback(doc: Doc) -> Doc:
    item = doc["paths"]["/items/{id}"]["put"]["callbacks"]["onStored"]
    return item["{$request.body#/callbackUrl}"]["post"]  # type: ignore[no-any-return]


SCOPE = "PUT /items/{id} CALLBACK onStored POST {$request.body#/callbackUrl}"


def test_callback_removed_breaks_added_allowed() -> None:
    old, new = with_callback(), base()
    removed = only(diff(old, new), "callback-removed")
    assert removed.verdict is B
    assert (
        removed.id
        == "callback-removed:PUT /items/{id} CALLBACK onStored {$request.body#/callbackUrl}"
    )
    assert (
        removed.old_pointer
        == "/paths/~1items~1{id}/put/callbacks/onStored/{$request.body#~1callbackUrl}"
    )
    assert only(diff(new, old), "callback-added").verdict is A


def test_callback_operation_changes_are_reversed() -> None:
    old, new = with_callback(), with_callback()
    del callback(new)["requestBody"]["content"]["application/json"]["schema"]["properties"]["size"]
    change = only(diff(old, new), "response-property-removed")
    assert change.verdict is W  # optional property: warn, as in any response
    assert change.operation == SCOPE
    old, new = with_callback(), with_callback()
    callback(new)["requestBody"]["content"]["application/json"]["schema"]["properties"]["extra"] = {
        "type": "string"
    }
    assert only(diff(old, new), "response-property-added").verdict is A


def test_callback_method_removed_and_added() -> None:
    old, new = with_callback(), with_callback()
    item = new["paths"]["/items/{id}"]["put"]["callbacks"]["onStored"][
        "{$request.body#/callbackUrl}"
    ]
    item["put"] = item.pop("post")
    found = diff(old, new)
    assert only(found, "operation-removed").rule == "GEN-HOOK-OPERATION-REMOVED"
    assert only(found, "operation-removed").verdict is B
    assert only(found, "operation-added").verdict is A


def test_callback_through_a_components_reference() -> None:
    old = with_callback()
    new = copy.deepcopy(old)
    put = new["paths"]["/items/{id}"]["put"]
    new["components"]["callbacks"] = {"Stored": put["callbacks"]["onStored"]}
    put["callbacks"]["onStored"] = {"$ref": "#/components/callbacks/Stored"}
    assert diff(old, new).changes == []


def test_callbacks_of_a_removed_operation_are_not_reported_apart() -> None:
    old, new = with_callback(), with_callback()
    del new["paths"]["/items/{id}"]["put"]
    assert kinds(diff(old, new)) == {"operation-removed"}


def test_x_webhooks_of_a_30_document_are_webhooks_too() -> None:
    """GitHub's REST description (OpenAPI 3.0) lists its events under x-webhooks."""
    old, new = with_webhook(), with_webhook()
    for doc in (old, new):
        doc["openapi"] = "3.0.3"
        doc["x-webhooks"] = doc.pop("webhooks")
    del new["x-webhooks"]["itemCreated"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]["properties"]["status"]
    change = only(diff(old, new), "response-property-removed")
    assert change.verdict is W  # optional property: warn, as in any response
    assert change.operation == "WEBHOOK itemCreated POST"
    assert change.old_pointer is not None
    assert change.old_pointer.startswith("/x-webhooks/itemCreated/post/requestBody")
