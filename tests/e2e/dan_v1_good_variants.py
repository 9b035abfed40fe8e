"""Known-good twins of the DAN sandbox: providers that make another permitted choice.

The dual of `tests/e2e/dan_v1_bad_variants.py`. Each `GoodVariant` rewrites the sandbox's answers
(ASGI middleware in front of the sandbox app, built like the bad variants) or the manifest so that
the provider differs from the sandbox only where DAN's documents leave the choice open, or only
from one of kontrakt's own assumptions (an `A-DAN-...` id). `certify` must pass each at the
default level; at `level: strict` exactly the rules in `strict` (those leaning on the assumption
the variant departs from) turn into failures (warnings, for SHOULD rules). `touches` are the
rules each variant is run with. Used by tests/e2e/test_dan_v1_rules.py, which also lists these
beside the known-bad variants in docs/dan-rule-proofs.md.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.types import ASGIApp, Scope

from tests.e2e._variants import header, with_header
from tests.e2e.dan_v1_bad_variants import (
    ASYNC_FIXTURES,
    KEY_HEADER,
    META,
    AsyncDataset,
    BodyHook,
    Context,
    Exchange,
    RequestHook,
    ResponseHook,
    Rewrite,
    answer,
    on,
)

__all__ = ["VARIANTS", "GoodVariant", "compose"]

SANDBOX_KEYS = {"sandbox-dan-drosjeloyve-key", "sandbox-dan-unbound-key"}


@dataclass(frozen=True)
class GoodVariant:
    """A provider making another permitted choice (see the module docstring)."""

    name: str
    choice: str
    basis: str  # the publisher's clause that allows it, or the A-id it departs from
    touches: tuple[str, ...]
    strict: tuple[str, ...] = ()  # rules failing (warning, for SHOULD) at level strict
    request: RequestHook | None = None
    response: ResponseHook | None = None
    body: BodyHook | None = None
    fixtures: Mapping[str, Any] = field(default_factory=dict)  # manifest changes (None removes)
    own_snapshot: bool = False  # compare with a snapshot recorded from this provider first
    compatible: bool = True  # part of the provider making every choice at once

    def wrap(self, app: ASGIApp, context: Context) -> ASGIApp:
        return Rewrite(app, context, self.request, self.response, self.body)


def compose(variants: tuple[GoodVariant, ...], app: ASGIApp, context: Context) -> ASGIApp:
    """Every variant's rewrite around `app`; the first one listed sees the client's request."""
    for variant in reversed(variants):
        app = variant.wrap(app, context)
    return app


# --- metadata without a key, and the gateway's own 401 body ---------------------------------------


def _metadata_open(scope: Scope, context: Context) -> Scope:
    """DOCS: the metadata API needs neither authentication nor authorization."""
    if "/public/metadata/" in scope["path"] and header(scope, KEY_HEADER) is None:
        return with_header(scope, KEY_HEADER, context.key)
    return scope


def _apim_rejection(scope: Scope, context: Context) -> Scope | Exchange:
    """Azure API Management refuses a missing or unknown key itself, with its own body."""
    key = header(scope, KEY_HEADER)
    if not str(scope["path"]).startswith("/v1/"):
        return scope
    if key is None:
        reason = "missing subscription key"
    elif key not in SANDBOX_KEYS | {context.key}:
        reason = "invalid subscription key"
    else:
        return scope
    return answer(
        401,
        {
            "statusCode": 401,
            "message": f"Access denied due to {reason}. Make sure to include a valid subscription "
            "key when making requests to an API.",
        },
    )


# --- error descriptions, challenges, headers ------------------------------------------------------


def _own_wording(exchange: Exchange, context: Context) -> None:
    if exchange.status >= 400 and exchange.code() is not None:
        body = exchange.json()
        body["description"] = f"Request could not be completed (DAN error {body['code']})"
        exchange.set_json(body)


def _challenge_reordered(exchange: Exchange, context: Context) -> None:
    value = exchange.header("www-authenticate")
    if value is None:
        return
    if "invalid_token" in value:
        exchange.set_header(
            "www-authenticate", 'bearer error="invalid_token", realm=data.altinn.no'
        )
    else:
        exchange.set_header("www-authenticate", "Bearer realm=data.altinn.no")


def _cors_everywhere(exchange: Exchange, context: Context) -> None:
    if exchange.status == 200:
        exchange.set_header("access-control-allow-origin", "*")


def _without_invocation_id(exchange: Exchange, context: Context) -> None:
    if exchange.status >= 400 and exchange.code() is not None:
        exchange.set_json({k: v for k, v in exchange.json().items() if k != "invocationId"})


def _absolute_location(exchange: Exchange, context: Context) -> None:
    location = exchange.header("location")
    if location:
        path = re.sub(r"^[a-z]+://[^/]+", "", location)
        exchange.set_header("location", "https://api.provider.example" + path)


def _without_last_changed(exchange: Exchange, context: Context) -> None:
    body = exchange.json() if exchange.status == 200 else None
    for item in body if isinstance(body, list) else [body]:
        if isinstance(item, dict):
            item.pop("lastChanged", None)
    if body is not None:
        exchange.set_json(body)


# --- withdrawn datasets refused at creation -------------------------------------------------------

WITHDRAWN = "SandboxUnitStatusLegacy"


def _withdrawn_refused(
    scope: Scope, raw: bytes, context: Context
) -> tuple[Scope, bytes] | Exchange:
    if scope["method"] != "POST" or not scope["path"].endswith("/authorization"):
        return scope, raw
    if header(scope, KEY_HEADER) != context.key:
        return scope, raw
    try:
        request = json.loads(raw)
        requests = request.get("evidenceRequests") or []
    except (ValueError, AttributeError):
        return scope, raw
    names = [r.get("evidenceCodeName") for r in requests if isinstance(r, dict)]
    # Requirements come first (FACTS §2.1 step 11): a person subject the dataset's skip
    # requirement drops is refused for that, as the sandbox does.
    if names == [WITHDRAWN] and len(str(request.get("subject", ""))) == 9:
        return answer(
            503, {"code": 1013, "description": "Service not available: the dataset is withdrawn"}
        )
    return scope, raw


# --- additions within the version -----------------------------------------------------------------


def _error_code_added(body: Any) -> Any:
    return [*body, {"code": 1030, "description": "A code added within v1"}]


def _dataset_added(body: Any) -> Any:
    base = next((e for e in body if e.get("evidenceCodeName") == "UnitBasicInformation"), None)
    if base is not None:
        body.append({**base, "evidenceCodeName": "KontraktNewDataset", "maxValidDays": 30})
    return body


def _json_hook(edit: Callable[[Any], Any]) -> ResponseHook:
    def hook(exchange: Exchange, context: Context) -> None:
        if exchange.status == 200:
            exchange.set_json(edit(exchange.json()))

    return hook


# --- another dataset catalogue --------------------------------------------------------------------

CATALOGUE = {
    "UnitBasicInformation": "EnhetsregisterGrunndata",
    "RestanserV2": "SkatteRestanser",
    "SandboxUnitStatusLegacy": "EnhetsstatusHistorisk",
}
_SIGNER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _rename(text: bytes, pairs: Mapping[str, str]) -> bytes:
    for old, new in pairs.items():
        text = re.sub(re.escape(old).encode(), new.encode(), text, flags=re.IGNORECASE)
    return text


_INWARD = {new: old for old, new in CATALOGUE.items()}


def _catalogue_in(scope: Scope, raw: bytes, context: Context) -> tuple[Scope, bytes]:
    path = _rename(str(scope["path"]).encode(), _INWARD).decode()
    query = _rename(scope.get("query_string", b""), _INWARD)
    scope = {**scope, "path": path, "raw_path": path.encode(), "query_string": query}
    return scope, _rename(raw, _INWARD)


def _catalogue_out(exchange: Exchange, context: Context) -> None:
    exchange.body = _rename(exchange.body, CATALOGUE)
    signature = exchange.header("x-signature-jwt")
    if signature:
        # The provider signs its own bodies (DAN: X-Signature-JWT over the exact body).
        claims = jwt.decode(signature, options={"verify_signature": False})
        claims["SHA256PayloadDigest"] = hashlib.sha256(exchange.body).hexdigest()
        exchange.set_header("x-signature-jwt", jwt.encode(claims, _SIGNER, algorithm="RS256"))


OWN_CATALOGUE_FIXTURES: Mapping[str, Any] = {
    "dataset": CATALOGUE["UnitBasicInformation"],
    "consent_dataset": CATALOGUE["RestanserV2"],
    "withdrawn_dataset": CATALOGUE["SandboxUnitStatusLegacy"],
    "outside_context": {
        "subscription_key": "sandbox-dan-drosjeloyve-key",
        "dataset": CATALOGUE["SandboxUnitStatusLegacy"],
    },
    "requirement_failure": {"subject": "15838510075", "dataset": CATALOGUE["UnitBasicInformation"]},
    "skipped": {
        "subject": "15838510075",
        "dataset": CATALOGUE["SandboxUnitStatusLegacy"],
        "with": CATALOGUE["RestanserV2"],
    },
    "revalidate": {"dataset": CATALOGUE["RestanserV2"], "scope": "altinn:dataaltinnno"},
}

PARTIAL_HOOK: Mapping[str, Any] = {
    "consent_answer": {
        "url": "/_sandbox/consent/{accreditationId}",
        "method": "POST",
        "bodies": {"Available": {"answer": "grant"}, "Denied": {"answer": "deny"}},
    }
}


def _party_without_number(exchange: Exchange, context: Context) -> None:
    body = exchange.json() if exchange.status == 200 else None
    if isinstance(body, dict):
        for member in ("requestorParty", "subjectParty"):
            if isinstance(body.get(member), dict):
                body[member].pop("norwegianOrganizationNumber", None)
        exchange.set_json(body)


def _context_list_reversed(exchange: Exchange, context: Context) -> None:
    body = exchange.json() if exchange.status == 200 else None
    if isinstance(body, list):
        exchange.set_json(list(reversed(body)))


def _hyphenated_detail_codes(exchange: Exchange, context: Context) -> None:
    if exchange.status >= 400 and exchange.code() is not None:
        body = exchange.json()
        if isinstance(body.get("detailCode"), str):
            body["detailCode"] = "Brreg-Enhetsregisteret-" + body["detailCode"].rsplit("-", 1)[-1]
            exchange.set_json(body)


def _no_reminders(scope: Scope, context: Context) -> Scope | Exchange:
    if re.search(r"/v1/accreditations/[^/]+/reminders$", scope["path"]):
        return answer(404)
    return scope


_ASYNC = AsyncDataset()

VARIANTS: tuple[GoodVariant, ...] = (
    GoodVariant(
        "metadata-without-key",
        "the public metadata is served without a subscription key",
        "DOCS (Miljøer): the metadata API needs neither authentication nor authorization",
        ("DAN-AUTH-SUBSCRIPTION-KEY", "DAN-AUTH-METADATA-KEY-ONLY", "DAN-META-*"),
        request=_metadata_open,
    ),
    GoodVariant(
        "apim-gateway-401",
        "a missing or unknown key is refused by the gateway with APIM's own 401 body "
        "({statusCode, message}) and without Core's diagnostics headers",
        "FACTS §7: gateway rejections come from API Management, not the ErrorModel (A-DAN-002)",
        (
            "DAN-AUTH-SUBSCRIPTION-KEY",
            "DAN-AUTH-KEY-AND-TOKEN",
            "DAN-ERR-*",
            "DAN-HDR-DIAGNOSTICS",
            "DAN-JSON-*",
        ),
        request=_apim_rejection,
    ),
    GoodVariant(
        "own-catalogue",
        "another dataset catalogue (the provider's own names), compared with a snapshot of the "
        "same provider",
        "DOCS (Datasett): the catalogue is the provider's; versioning compares it with itself",
        (
            "DAN-VERSION-*",
            "DAN-FLOW-ACCREDITATION",
            "DAN-META-EVIDENCECODES*",
            "DAN-HARVEST-*",
            "DAN-DIRECT-*",
            "DAN-STATUS-*",
            "DAN-CONSENT-PENDING-UNTIL-ANSWERED",
            "DAN-ACCR-SKIPPED-DATASETS",
            "DAN-CTX-DATASET-IN-CONTEXT",
        ),
        body=_catalogue_in,
        response=_catalogue_out,
        fixtures=OWN_CATALOGUE_FIXTURES,
        own_snapshot=True,
    ),
    GoodVariant(
        "descriptions-own-wording",
        "error descriptions in the provider's own words, not '<default message>: <detail>'",
        "departs from A-DAN-019 (the description format is our reading of DAN Core)",
        ("DAN-ERR-DESCRIPTION", "DAN-ERR-MODEL"),
        strict=("DAN-ERR-DESCRIPTION",),
        response=_own_wording,
    ),
    GoodVariant(
        "www-authenticate-reordered",
        "WWW-Authenticate with its parameters in another order, a lower-case scheme and an "
        "unquoted realm",
        "RFC 7235 §2.1 / RFC 6750 §3: scheme case-insensitive, parameters in any order",
        ("DAN-AUTH-WWW-AUTHENTICATE",),
        response=_challenge_reordered,
    ),
    GoodVariant(
        "cors-everywhere",
        "Access-Control-Allow-Origin * also on /errorcodes",
        "FACTS §1 only observes that errorcodes sends none; nothing forbids it",
        ("DAN-META-CORS",),
        response=on("GET", META + ".*", _cors_everywhere),
    ),
    GoodVariant(
        "invocation-id-absent",
        "error bodies leave the optional invocationId out",
        "FACTS §3.8: invocationId is optional (left out when null)",
        ("DAN-ERR-INVOCATION-ID", "DAN-ERR-MODEL"),
        response=_without_invocation_id,
    ),
    GoodVariant(
        "location-absolute",
        "the Location of a new accreditation is an absolute URL on the public gateway host",
        "FACTS §1: Location is the URL of /evidence/{id}; its host is the provider's",
        ("DAN-ACCR-LOCATION-HEADER",),
        response=on("POST", "/v1/authorization", _absolute_location),
    ),
    GoodVariant(
        "withdrawn-refused-at-creation",
        "a withdrawn dataset cannot be accredited at all (503 1013 on creation)",
        "FACTS §2.3: a withdrawn dataset answers 1013; §2.1 does not say creation accepts it",
        ("DAN-HARVEST-WITHDRAWN-1013", "DAN-STATUS-LOCAL-CHECKS"),
        body=_withdrawn_refused,
    ),
    GoodVariant(
        "last-changed-omitted",
        "accreditations leave lastChanged out",
        "departs from A-DAN-014 (our required lists of response models)",
        ("DAN-ACCR-CREATE-200", "DAN-LIST-SCOPE"),
        strict=("DAN-ACCR-CREATE-200", "DAN-LIST-SCOPE"),
        response=on(None, r"/v1/(authorization|accreditations)", _without_last_changed),
    ),
    GoodVariant(
        "error-code-added",
        "/errorcodes lists a new code 1030 since the earlier snapshot",
        "DOCS (Feil- og statuskoder): new codes may be added within a version",
        ("DAN-VERSION-CODES-ONLY-ADDED", "DAN-META-ERRORCODES"),
        response=on("GET", META + "errorcodes", _json_hook(_error_code_added)),
    ),
    GoodVariant(
        "dataset-added",
        "the catalogue gains a dataset since the earlier snapshot",
        "DOCS (Datasett): new datasets may appear within a version",
        ("DAN-VERSION-*", "DAN-META-EVIDENCECODES"),
        response=on("GET", META + r"evidencecodes(/[^/]+)?", _json_hook(_dataset_added)),
    ),
    GoodVariant(
        "consent-hook-partial",
        "the provider's consent hook answers only Available and Denied (no Expired)",
        "A-DAN-023: the hook is ours; a provider gives the answers it supports",
        (
            "DAN-CONSENT-PENDING-UNTIL-ANSWERED",
            "DAN-HARVEST-CONSENT-1010",
            "DAN-REMINDER-PRECONDITIONS",
        ),
        fixtures=PARTIAL_HOOK,
    ),
    GoodVariant(
        "party-without-organisation-number",
        "requestorParty and subjectParty leave the optional norwegianOrganizationNumber out",
        "FACTS §3.4: norwegianOrganizationNumber is optional in Party",
        ("DAN-IDENTIFIER-FORMS",),
        response=on("POST", "/v1/authorization", _party_without_number),
    ),
    GoodVariant(
        "context-list-order",
        "/evidencecodes/{serviceContext} lists its datasets in another order",
        "FACTS §2.8: the datasets of the context; no order is published",
        ("DAN-META-EVIDENCECODES-CONTEXT",),
        response=on("GET", META + "evidencecodes/[^/]+", _context_list_reversed),
    ),
    GoodVariant(
        "hyphenated-detail-codes",
        "data-source detail codes whose source name holds hyphens (Brreg-Enhetsregisteret-404)",
        "FACTS §3.8: detailCode is '<source>-<n>'; the source's name is the provider's",
        ("DAN-ERR-DETAIL-CODE", "DAN-HARVEST-SOURCE-ERRORS"),
        response=_hyphenated_detail_codes,
    ),
    GoodVariant(
        "no-reminders-route",
        "no consent reminders at /accreditations/{id}/reminders (404)",
        "departs from A-DAN-001 (the reminders' external path is only DAN's function route)",
        ("DAN-REMINDER-*",),
        strict=(
            "DAN-REMINDER-PRECONDITIONS",
            "DAN-REMINDER-RATE-LIMIT",
            "DAN-REMINDER-UNKNOWN-403",
        ),
        request=_no_reminders,
    ),
    GoodVariant(
        "async-dataset",
        "an asynchronous dataset that answers 503 1016 until its source is ready, and status 6 "
        "in the status list",
        "FACTS §2.2 and §2.3: async datasets report 6 locally and 1016 (503) when not ready",
        ("DAN-HARVEST-ASYNC-1016", "DAN-META-EVIDENCECODES", "DAN-DIRECT-SYNC-NO-CONSENT"),
        request=_ASYNC.request,
        response=_ASYNC.response,
        body=_ASYNC.body,
        fixtures=ASYNC_FIXTURES,
    ),
)
