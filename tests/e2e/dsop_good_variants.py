"""Known-good twins of the DSOP sandbox bank: each makes another choice the publisher allows.

The dual of `tests/e2e/dsop_bad_variants.py`, built the same way (an ASGI rewrite in front of the
sandbox app, or one method of the `DsopBank` instance replaced). Each `GoodVariant` names

- `choice`: what the bank does differently from kontrakt's sandbox;
- `basis`: the publisher's clause that allows it, or the A-id of kontrakt's own proposal it
  departs from;
- `touches`: the rules (glob patterns) its test runs: none of them may `fail` or `error` at the
  default level, and the run must pass;
- `strict`: the rules that fail at `level: strict` (empty for a permitted published choice; the
  rules leaning on the assumption the variant departs from otherwise).

`COMBINED` is one bank making every compatible choice at once; the full profile must pass
against it at the default level. `python -m tests.e2e.dsop_bad_variants` writes both tables into
docs/dsop-rule-proofs.md.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from starlette.types import ASGIApp, Receive, Scope, Send

from kontrakt.runtime import server as rt
from kontrakt.sandbox.dsop_control import DsopBank
from kontrakt.sandbox.launch import SandboxContext
from tests.e2e import dsop_bad_variants as bad
from tests.e2e._variants import header, send_response, with_header

Hook = bad.RequestHook
Answer = bad.ResponseHook

SKATT_FULL = (
    "Skatteforvaltningsloven § 10-2 første ledd, jf. § 10-14, jf. "
    "skatteforvaltningsforskriften § 10-2-1"
)
SKATT_SHORT_SPACED = (
    "Skatteforvaltningsloven § 10-2 første ledd, jf. skatteforvaltningsforskriften § 10-2-1"
)


@dataclass(frozen=True)
class GoodVariant:
    """A differently-right twin: how it is built, what it chooses, what it must pass."""

    variant: bad.Variant
    choice: str
    basis: str
    touches: tuple[str, ...]
    strict: tuple[str, ...] = ()
    compatible: bool = True  # joins COMBINED (the test environment's Skatt consumer)

    @property
    def name(self) -> str:
        return self.variant.name


# --- request and response rewrites ---------------------------------------------------------------


def _mandate_of(scope: Scope) -> str | None:
    value = header(scope, "Legal-Mandate")
    return unquote(value) if value is not None else None


def _unknown_mandate(scope: Scope) -> bad.Reply:
    return bad.Reply(400, {"code": "ACC-001", "message": "Ukjent hjemmel (Legal-Mandate)."})


def _skatt_spaced(scope: Scope) -> Scope | bad.Reply:
    """Knows the short Skatt text only as written with a space after each §."""
    mandate = _mandate_of(scope)
    if mandate == bad.SKATT_SHORT_MANDATE:
        return _unknown_mandate(scope)
    if mandate == SKATT_SHORT_SPACED:
        return with_header(scope, "Legal-Mandate", quote(bad.SKATT_SHORT_MANDATE, safe=""))
    return scope


def _skatt_short_only(scope: Scope) -> Scope | bad.Reply:
    """Knows only the short Skatt text of the validation table (not the full one)."""
    if _mandate_of(scope) == SKATT_FULL:
        return _unknown_mandate(scope)
    return scope


def _error_body(edit: Callable[[int, Any], Any]) -> Answer:
    def hook(scope: Scope, status: int, body: Any) -> tuple[int, Any] | None:
        if status < 400:
            return None
        return status, edit(status, body)

    return bad.json_hook(hook)


def _gateway_401(status: int, body: Any) -> Any:
    if status != 401:
        return body
    return {"statusCode": 401, "message": "Access denied due to invalid or missing token."}


def _code_only(status: int, body: Any) -> Any:
    if isinstance(body, dict):
        body.pop("message", None)
    return body


def _recode(status: int, old: str, new: str) -> Answer:
    def edit(got: int, body: Any) -> Any:
        if got == status and isinstance(body, dict) and body.get("code") == old:
            body["code"] = new
        return body

    return _error_body(edit)


def _reference_format(scope: Scope) -> Scope | bad.Reply:
    """A reference that is not one of the bank's (UUIDs) is a wrong path parameter: 400."""
    import uuid

    parts = str(scope["path"]).rstrip("/").split("/")
    if "accounts" in parts:
        index = parts.index("accounts")
        if len(parts) > index + 1:
            try:
                uuid.UUID(parts[index + 1])
            except ValueError:
                return bad.Reply(
                    400, {"code": "ACC-001", "message": "accountReference har feil format."}
                )
    return scope


def _reverse_lists(scope: Scope, status: int, body: Any) -> tuple[int, Any] | None:
    if status != 200 or not isinstance(body, dict):
        return None
    for key in ("accounts", "transactions", "paymentCards", "roles"):
        if isinstance(body.get(key), list):
            body[key] = list(reversed(body[key]))
    return status, body


OPTIONAL_MEMBERS = {
    "Account": ("name", "servicer", "currency"),
    "AccountRole": ("name", "startDate"),
    "Transaction": ("references", "merchant", "additionalInfo", "registered", "counterParties"),
    "PaymentCard": ("holderName", "cardIssuerName", "startDate", "versionNumber"),
    "Balance": ("creditLineIncluded", "creditLineAmount", "creditLineCurrency"),
}


def _drop_optional(scope: Scope, status: int, body: Any) -> tuple[int, Any] | None:
    """Leaves out members the data model marks D (delivered when the bank has them)."""
    if status != 200 or not isinstance(body, dict):
        return None
    details = body.get("responseDetails")
    if isinstance(details, dict) and details.get("status") == "complete":
        details.pop("message", None)
    body["links"] = [x for x in bad.each(body.get("links")) if x.get("rel") == "next"]
    if not body["links"]:
        body.pop("links")
    accounts = [*bad.each(body.get("accounts")), body.get("account")]
    for account in accounts:
        if not isinstance(account, dict):
            continue
        for key in OPTIONAL_MEMBERS["Account"]:
            account.pop(key, None)
        owner = account.get("primaryOwner")
        if isinstance(owner, dict):
            for key in OPTIONAL_MEMBERS["AccountRole"]:
                owner.pop(key, None)
        for balance in bad.each(account.get("balances")):
            for key in OPTIONAL_MEMBERS["Balance"]:
                balance.pop(key, None)
    for kind, key in (("Transaction", "transactions"), ("PaymentCard", "paymentCards")):
        for item in bad.each(body.get(key)):
            for member in OPTIONAL_MEMBERS[kind]:
                item.pop(member, None)
    for role in bad.each(body.get("roles")):
        role.pop("name", None)
    return status, body


def _hour_offsets(scope: Scope, status: int, body: Any) -> tuple[int, Any] | None:
    """Timestamps as the data-model pages write them: `+01` offsets, and bookingDate /
    valueDate without an offset."""
    if status != 200 or not isinstance(body, dict):
        return None

    def walk(node: Any, key: str = "") -> Any:
        if isinstance(node, dict):
            return {k: walk(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, key) for v in node]
        if isinstance(node, str) and len(node) >= 20 and node[10:11] == "T" and node[4] == "-":
            clock = node[:19]
            if key in ("bookingDate", "valueDate"):
                return clock
            return clock + "+00"
        return node

    return status, walk(body)


def _closed_balances_null(scope: Scope, status: int, body: Any) -> tuple[int, Any] | None:
    """A closed account's balances sent as null (the data model: "null or omitted")."""
    account = body.get("account") if status == 200 and isinstance(body, dict) else None
    if not isinstance(account, dict) or "endDate" not in account:
        return None
    account["balances"] = None
    return status, body


def _head_and_options(app: ASGIApp) -> ASGIApp:
    """HEAD answered like GET without the body, OPTIONS with 204 and Allow: GET (RFC 9110)."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("HEAD", "OPTIONS"):
            if scope["method"] == "OPTIONS":
                await send_response(send, 204, [(b"allow", b"GET")], b"")
                return
            status, headers, _ = await bad.buffered(app, {**scope, "method": "GET"}, receive)
            kept = [(k, v) for k, v in headers if k.lower() != b"content-length"]
            await send_response(send, status, [*kept, (b"content-length", b"0")], b"")
            return
        await app(scope, receive, send)

    return wrapped


def _without_retry_after(app: ASGIApp) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        status, headers, body = await bad.buffered(app, scope, receive)
        kept = [(k, v) for k, v in headers if k.lower() != b"retry-after"]
        await send_response(send, status, kept, body)

    return wrapped


def _forbidden_instead(bank: DsopBank, method: str) -> Callable[..., Any]:
    """`method`'s refusals become 403 ACC-011 (not authorised)."""
    original = getattr(bank, method)

    def check(*args: Any, **kwargs: Any) -> Any:
        try:
            return original(*args, **kwargs)
        except rt.ApiProblem as problem:
            raise rt.ApiProblem.from_trigger("forbidden", problem.message) from None

    return check


def _invalid_instead(bank: DsopBank, method: str) -> Callable[..., Any]:
    """`method`'s refusals become 400 ACC-001 (an invalid mandate for this consumer)."""
    original = getattr(bank, method)

    def check(*args: Any, **kwargs: Any) -> Any:
        try:
            return original(*args, **kwargs)
        except rt.ApiProblem as problem:
            raise rt.ApiProblem.from_trigger(
                "invalid-parameter", problem.message, parameter="Legal-Mandate"
            ) from None

    return check


def _one_organisation_two_services(bank: DsopBank) -> Callable[..., Any]:
    """Entitles the consumer organisations of Skatt-Kontroll and FI-Utlegg to each other's
    mandate: the publisher names Skatteetaten (974761076) as the consumer of both."""
    original = bank.check_consumer
    shared = bank.consumers.get("Skatt-Kontroll", frozenset()) | bank.consumers.get(
        "FI-Utlegg", frozenset()
    )

    def check(service: Any, consumer: str | None) -> None:
        if service.name in ("Skatt-Kontroll", "FI-Utlegg") and consumer in shared:
            return
        original(service, consumer)

    return check


def _verge_forbidden(bank: DsopBank) -> Callable[..., Any]:
    original = bank.check_account_scope

    def check(call: Any, account: Any) -> Any:
        try:
            return original(call, account)
        except rt.ApiProblem as problem:
            if call.guardian is None:
                raise
            raise rt.ApiProblem.from_trigger("forbidden", problem.message) from None

    return check


SYNTHETIC = 1000


def _thousand_request(scope: Scope) -> Scope:
    if bad.param(scope, "kontrakt-page") is not None:
        return {**bad.with_param(scope, "kontrakt-page", None), "kontrakt.last-page": True}
    return scope


def _thousand_response(scope: Scope, status: int, body: Any) -> tuple[int, Any] | None:
    """Transactions in pages of 1000: a first page of 1000 (synthetic ones like the account's
    first) and a last page with the account's own."""
    path = str(scope["path"]).rstrip("/")
    if status != 200 or not path.endswith("/transactions") or not isinstance(body, dict):
        return None
    items = bad.each(body.get("transactions"))
    own = next((x["href"] for x in bad.each(body.get("links")) if x.get("rel") == "self"), None)
    if scope.get("kontrakt.last-page") or not items or not isinstance(own, str):
        return None
    body["transactions"] = [
        {**items[0], "transactionIdentifier": f"kontrakt-bulk-{n}"} for n in range(SYNTHETIC)
    ]
    separator = "&" if "?" in own else "?"
    body["links"] = [
        {"rel": "self", "href": own},
        {"rel": "next", "href": f"{own}{separator}kontrakt-page=2"},
    ]
    return status, body


def _jwe_named_key_thousand(scope: Scope, status: int, kind: str, body: bytes) -> Any:
    """Production: each encrypted 200 body re-encrypted with A256GCM and the consumer's
    certificate named by the bank's own CertPub identifier in `kid` (not a JWK thumbprint), and
    transactions paged 1000 at a time (an encrypted page far above 64 KiB)."""
    import json

    from joserfc import jwe

    if status != 200 or kind != "application/jose":
        return None
    document = json.loads(bad._decrypt(body))
    paged = _thousand_response(scope, status, document)
    if paged is not None:
        document = paged[1]
    protected = {
        "alg": "RSA-OAEP-256",
        "enc": "A256GCM",
        "kid": "certpub:0192:974761076:dsop-account-1",
    }
    token = jwe.encrypt_compact(
        protected,
        json.dumps(document).encode(),
        bad._client_key(),
        algorithms=["RSA-OAEP-256", "A256GCM"],
    )
    return status, kind, token.encode()


@cache
def _digdir_key() -> Path:
    """A second consumer certificate's private key (Digdir's, for OED), made once per run."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    folder = Path(tempfile.mkdtemp(prefix="kontrakt-digdir-key-"))
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = folder / "digdir-enc.pem"
    path.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def _own_key_per_consumer(scope: Scope, status: int, kind: str, body: bytes) -> Any:
    """Production: the OED consumer's (Digdir's) answers encrypted to Digdir's own certificate,
    not to the key the main (Skatteetaten) client reads."""
    from joserfc import jwe
    from joserfc.jwk import RSAKey

    from kontrakt.conformance import auth as tokens

    if status != 200 or kind != "application/jose":
        return None
    value = header(scope, "authorization") or ""
    try:
        consumer = tokens.claims_of(value[7:]).get("consumer") or {}
    except ValueError:
        return None
    # The sandbox's OED client holds the synthetic organisation 310000035 (clients.yaml).
    if str(consumer.get("ID", "")).rpartition(":")[2] not in ("310000035", "974720760"):
        return None
    key = RSAKey.import_key(_digdir_key().read_bytes())
    protected = {"alg": "RSA-OAEP-256", "enc": "A128CBC-HS256", "cty": "application/json"}
    token = jwe.encrypt_compact(
        protected, bad._decrypt(body), key, algorithms=["RSA-OAEP-256", "A128CBC-HS256"]
    )
    return status, kind, token.encode()


def _audience_list(context: SandboxContext) -> Hook:
    """The bank's gateway passes a valid token on with `aud` as a list holding its audience and
    another (RFC 7519 §4.1.3 allows an array); the bank accepts it when its own is among them."""
    import jwt

    from kontrakt.conformance import auth as tokens

    own = context.base_urls[bad.PROVIDER]

    def hook(scope: Scope) -> Scope:
        value = header(scope, "authorization") or ""
        if not value.lower().startswith("bearer "):
            return scope
        try:
            claims = tokens.claims_of(value[7:])
            jwt.decode(
                value[7:],
                context.issuer.signing_key.public_key(),
                algorithms=["RS256"],
                audience=own,
            )
        except (ValueError, jwt.PyJWTError):
            return scope  # refused as it is (expired, forged, wrong audience ...)
        claims["aud"] = [own, "urn:kontrakt:another-api"]
        token = jwt.encode(
            claims,
            context.issuer.signing_key,
            algorithm="RS256",
            headers={"kid": context.issuer.kid},
        )
        return with_header(scope, "authorization", f"Bearer {token}")

    return hook


def _dates_required(scope: Scope) -> Scope | bad.Reply:
    if bad.param(scope, "fromDate") is None or bad.param(scope, "toDate") is None:
        return bad.Reply(400, {"code": "ACC-001", "message": "fromDate og toDate mangler."})
    return scope


def _patches(**methods: Callable[[DsopBank], Any]) -> bad.Patch:
    return bad.patched(**methods)


# --- the variants ----------------------------------------------------------------------------------


def _v(name: str, **options: Any) -> bad.Variant:
    return bad.Variant(name, "", (), **options)


GOOD: tuple[GoodVariant, ...] = (
    GoodVariant(
        _v("skatt-mandate-spaced", request=bad._r(_skatt_spaced)),
        "knows the short Skatt-Kontroll mandate only written `§ 10-2` (a space after §)",
        "FACTS §6: the Skatt page writes the mandate with and without a space after § (A-DSOP-015)",
        ("DSOP-SERVICE-SKATT-KONTROLL", "DSOP-ACC-400-LEGAL-MANDATE"),
    ),
    GoodVariant(
        _v("skatt-short-mandate-only", request=bad._r(_skatt_short_only)),
        "knows only the short Skatt-Kontroll mandate of the validation table; the full text is "
        "400 ACC-001 (the preflight finds the short one and the run uses it)",
        "departs from A-DSOP-015 (both texts); FACTS §6 and §9: the page is inconsistent",
        (
            "DSOP-SERVICE-SKATT-KONTROLL",
            "DSOP-ACC-400-*",
            "DSOP-EMPTY-ACCOUNTS-200",
            "DSOP-ACCOUNT-REFERENCE-*",
            "DSOP-ONLY-PRIMARY-OWNER-FILTER",
        ),
        strict=("DSOP-SERVICE-SKATT-KONTROLL",),
    ),
    GoodVariant(
        _v(
            "consumer-not-allowed-400",
            patch=_patches(check_consumer=lambda b: _invalid_instead(b, "check_consumer")),
        ),
        "refuses a consumer not entitled to the mandate with 400 ACC-001 (an invalid mandate "
        "for this consumer), not 403 ACC-011",
        "FACTS §5 and §6.2: the mandate is checked for the consumer, the answer is not named "
        "(A-DSOP-023 accepts both)",
        ("DSOP-ACC-403-CONSUMER-NOT-ALLOWED", "DSOP-ACC-400-LEGAL-MANDATE"),
    ),
    GoodVariant(
        _v(
            "unknown-mandate-403",
            patch=_patches(service_for=lambda b: _forbidden_instead(b, "service_for")),
        ),
        "refuses an unknown Legal-Mandate with 403 ACC-011 (not authorised), not 400 ACC-001",
        "FACTS §5 rows 400 and 403 (A-DSOP-023 accepts both)",
        ("DSOP-ACC-400-LEGAL-MANDATE", "DSOP-ACC-403-CONSUMER-NOT-ALLOWED"),
    ),
    GoodVariant(
        _v("gateway-401-body", response=bad._w(_error_body(_gateway_401))),
        "an API gateway answers every 401 with its own JSON body (statusCode, message), no "
        "ACC code",
        "departs from A-DSOP-040; FACTS §5: the Error schemas require neither code nor message",
        ("DSOP-ACC-401-*", "DSOP-ERROR-BODY", "DSOP-ERROR-UNENCRYPTED"),
        strict=(
            "DSOP-ACC-401-MISSING-TOKEN",
            "DSOP-ACC-401-EXPIRED-TOKEN",
            "DSOP-ACC-401-BAD-SIGNATURE",
            "DSOP-ACC-401-WRONG-AUDIENCE",
            "DSOP-ACC-401-WRONG-ISSUER",
            "DSOP-ERROR-BODY",
        ),
    ),
    GoodVariant(
        _v("errors-without-message", response=bad._w(_error_body(_code_only))),
        "error bodies carry the ACC code and no message",
        "departs from A-DSOP-040; FACTS §5: message is not required in the Error schemas",
        ("DSOP-ERROR-BODY", "DSOP-ERROR-UNENCRYPTED", "DSOP-ACC-405"),
        strict=("DSOP-ERROR-BODY",),
    ),
    GoodVariant(
        _v("reference-format-400", request=bad._r(_reference_format)),
        "refuses an accountReference that is not in its own format (a UUID) with 400 ACC-001",
        "FACTS §5 row 400: wrong input parameters in the path are 400 ACC-001",
        ("DSOP-ACC-404-UNKNOWN-REFERENCE",),
    ),
    GoodVariant(
        _v("unknown-reference-acc-003", response=bad._w(_recode(404, "ACC-002", "ACC-003"))),
        "answers an unknown accountReference 404 ACC-003 instead of ACC-002",
        "OAS2 responses.404: ACC-002 or ACC-003",
        ("DSOP-ACC-404-UNKNOWN-REFERENCE", "DSOP-ERROR-BODY"),
    ),
    GoodVariant(
        _v("outage-acc-500", response=bad._w(_recode(500, "ACC-100", "ACC-500"))),
        "answers a back-end outage 500 ACC-500 instead of ACC-100",
        "OAS2 responses.500: ACC-100 or ACC-500",
        ("DSOP-ACC-500-SERVER-ERROR", "DSOP-PARTIAL-NOT-FOR-OUTAGES"),
    ),
    GoodVariant(
        _v("newest-first", response=bad._w(bad.json_hook(_reverse_lists))),
        "lists accounts, transactions, cards and roles in the reverse order",
        "FACTS §1 Versioning and §2.1: no order is published; consumers read tolerantly",
        (
            "DSOP-PAGE-*",
            "DSOP-ONLY-PRIMARY-OWNER-FILTER",
            "DSOP-ACCOUNT-REFERENCE-*",
            "DSOP-TRANSACTION-STATUS",
            "DSOP-PAGINATE-TRANSACTIONS",
            "DSOP-PERIOD-DEFAULT-TODAY",
        ),
    ),
    GoodVariant(
        _v("optional-members-omitted", response=bad._w(bad.json_hook(_drop_optional))),
        "leaves out every member the data model marks D (names, servicer, references, card "
        "holder, credit lines, the self link, the message of a complete answer)",
        "FACTS §3 delivery markers: D members may be left out",
        (
            "DSOP-SCHEMA-200",
            "DSOP-RESPONSE-DETAILS",
            "DSOP-ENUMS",
            "DSOP-PATTERNS",
            "DSOP-DATE-FORMATS",
            "DSOP-AMOUNT-SIGN",
            "DSOP-CARD-*",
            "DSOP-END-AFTER-START",
            "DSOP-BALANCES-*",
            "DSOP-ONLY-PRIMARY-OWNER-FILTER",
            "DSOP-PAGE-*",
            "DSOP-ACCOUNT-REFERENCE-*",
        ),
    ),
    GoodVariant(
        _v("timestamps-hour-offset", response=bad._w(bad.json_hook(_hour_offsets))),
        "writes timestamps with an hour offset (+00) and bookingDate/valueDate without one",
        "FACTS §3.1 ISODateTime: the pages write ...Z or ...+hh, and yyyy-mm-ddThh:mm:ss for "
        "bookingDate/valueDate",
        ("DSOP-DATE-FORMATS", "DSOP-SCHEMA-200", "DSOP-PERIOD-END-VALUE"),
    ),
    GoodVariant(
        _v("closed-balances-null", response=bad._w(bad.json_hook(_closed_balances_null))),
        "sends a closed account's balances as null instead of leaving the member out",
        "FACTS §3.3 (accountdetails page): an account closed within the period gets no balance, "
        "null or omitted; FACTS §1 Empty values: missing values are null or left out",
        ("DSOP-SCHEMA-200", "DSOP-BALANCES-*", "DSOP-END-AFTER-START"),
    ),
    GoodVariant(
        _v("head-options-answered"),
        "answers HEAD like GET without a body and OPTIONS with 204 Allow: GET",
        "RFC 9110 §9.3.2 and §9.3.7; no data is delivered to another method than GET",
        ("DSOP-ACC-405",),
    ),
    GoodVariant(
        _v("accept-disregarded", request=bad._r(bad._any_accept)),
        "disregards an Accept it cannot satisfy (text/html) and serves its JSON",
        "departs from A-DSOP-009; RFC 9110 §12.1 lets a server disregard Accept",
        ("DSOP-ACC-406",),
        strict=("DSOP-ACC-406",),
    ),
    GoodVariant(
        _v(
            "throttled-without-retry-after",
            patch=_patches(check_rate_limit=bad._throttle_one_client),
            throttled=True,
        ),
        "limits the throttled client with 429 ACC-022 and no Retry-After header",
        "A-DSOP-011: no Retry-After behaviour is published",
        ("DSOP-ACC-429",),
    ),
    GoodVariant(
        _v(
            "skatteetaten-serves-fi-utlegg",
            patch=_patches(check_consumer=_one_organisation_two_services),
        ),
        "serves the FI-Utlegg mandate to Skatteetaten's Skatt-Kontroll client (one consumer "
        "organisation, two services)",
        "FACTS §6: Skatteetaten (974761076) is the consumer of Skatt-Kontroll and, as "
        "Namsmannen, of FI-Utlegg; §6.2 asks only that the mandate be valid for the consumer",
        ("DSOP-ACC-403-CONSUMER-NOT-ALLOWED", "DSOP-ACC-400-LEGAL-MANDATE", "DSOP-SERVICE-*"),
    ),
    GoodVariant(
        _v("guardian-unmanaged-403", patch=_patches(check_account_scope=_verge_forbidden)),
        "refuses a Vergekontroll request for an account the guardian does not manage with 403 "
        "ACC-011 (not authorised), not 404",
        "A-DSOP-006: the answer for a known account outside the relation is not published",
        ("DSOP-VERGE-SCOPE", "DSOP-SERVICE-VERGEKONTROLL"),
    ),
    GoodVariant(
        _v("audience-as-list", request=_audience_list),
        "takes a token whose aud is a list holding its registered base URL (and another)",
        "FACTS §1.1: aud must be the bank's registered base URL; RFC 7519 §4.1.3 allows an "
        "array of audiences (the manifest needs no auth.resource beyond what its issuer wants)",
        ("DSOP-ACC-401-*", "DSOP-TOKEN-*", "DSOP-ACC-403-WRONG-SCOPE"),
    ),
    GoodVariant(
        _v("dates-required", request=bad._r(_dates_required)),
        "requires fromDate and toDate on every request (400 ACC-001 without them)",
        "FACTS §1.2: the data-model pages mark the dates M, OAS2 makes them optional "
        "(A-DSOP-012 reads OAS2)",
        ("DSOP-PERIOD-DEFAULT-TODAY", "DSOP-ACC-400-MISSING-HEADER", "DSOP-BALANCES-*"),
    ),
    GoodVariant(
        _v(
            "thousand-per-page",
            request=bad._r(_thousand_request),
            response=bad._w(bad.json_hook(_thousand_response)),
            bank={"page_size": 1000},
        ),
        "pages transactions 1000 at a time (the size the publisher asks for)",
        "DOCS specification_of_eoppslag.md, Large result sets: at least 1000 per page",
        (
            "DSOP-PAGE-*",
            "DSOP-PAGINATE-TRANSACTIONS",
            "DSOP-TRANSACTION-STATUS",
        ),
        compatible=False,  # its synthetic page is another bank's data
    ),
    GoodVariant(
        _v(
            "production-jose-for-json",
            manifest="production",
            environment="production",
            request=bad._r(lambda s: with_header(s, "accept", "application/jose")),
        ),
        "production: answers Accept: application/json with an encrypted application/jose body",
        "FACTS §1 Test-env plaintext: plaintext must not work in production (how is open)",
        ("DSOP-PLAINTEXT-TEST-ONLY", "DSOP-JWE-*"),
        compatible=False,  # the production environment
    ),
    GoodVariant(
        _v(
            "production-own-key-per-consumer",
            manifest="production",
            environment="production",
            response=lambda context: _own_key_per_consumer,
            decryption_keys={"oed": _digdir_key()},
        ),
        "production: encrypts the OED consumer's (Digdir's) answers to Digdir's own "
        "certificate; the manifest gives that key as decryption_keys.oed",
        "FACTS §1 JWE key discovery: the bank encrypts to the certificate CertPub holds for the "
        "consumer's organisation number",
        ("DSOP-SERVICE-OED", "DSOP-JWE-*"),
        compatible=False,  # the production environment
    ),
    GoodVariant(
        _v(
            "production-jwe-named-key-large-page",
            manifest="production",
            environment="production",
            request=bad._r(_thousand_request),
            response=lambda context: _jwe_named_key_thousand,
            bank={"page_size": 1000},
        ),
        "production: JWE bodies name the consumer's certificate in kid with the bank's own "
        "CertPub identifier, use A256GCM, and carry pages of 1000 transactions (> 64 KiB)",
        "FACTS §1 JWE algorithms (not public: any kid and enc) and DOCS "
        "specification_of_eoppslag.md, Large result sets (at least 1000 per page)",
        ("DSOP-JWE-*", "DSOP-PAGE-*", "DSOP-PAGINATE-TRANSACTIONS", "DSOP-SCHEMA-200"),
        compatible=False,  # the production environment, another bank's synthetic page
    ),
)


def _wrapped(variant: GoodVariant, app: ASGIApp) -> ASGIApp:
    if variant.name == "head-options-answered":
        return _head_and_options(app)
    if variant.name == "throttled-without-retry-after":
        return _without_retry_after(app)
    return app


@dataclass(frozen=True)
class Built(bad.Variant):
    """A variant whose app is wrapped once more (HEAD/OPTIONS, headers) after the rewrite."""

    parts: tuple[GoodVariant, ...] = field(default_factory=tuple)

    def app(self, context: SandboxContext) -> ASGIApp:
        if len(self.parts) == 1:
            return _wrapped(self.parts[0], self.parts[0].variant.app(context))
        options: dict[str, Any] = {"page_size": 10, "accounts_page_size": 5}
        for part in self.parts:
            options.update(part.variant.bank)
        bank = bad.build_bank(context, **options)
        for part in self.parts:
            if part.variant.patch is not None:
                part.variant.patch(bank)
        app = bad.build_app(bank, context, environment="test")
        requests = [p.variant.request(context) for p in self.parts if p.variant.request]
        responses = [p.variant.response(context) for p in self.parts if p.variant.response]
        app = bad.Rewrite(app, request=_chain_requests(requests), response=_chain(responses))
        for part in self.parts:
            app = _wrapped(part, app)
        return app


def _chain_requests(hooks: Sequence[Hook]) -> Hook:
    def run(scope: Scope) -> Scope | bad.Reply:
        for hook in hooks:
            changed = hook(scope)
            if isinstance(changed, bad.Reply):
                return changed
            scope = changed
        return scope

    return run


def _chain(hooks: Sequence[Answer]) -> Answer:
    def run(scope: Scope, status: int, kind: str, body: bytes) -> tuple[int, str, bytes] | None:
        changed = None
        for hook in hooks:
            result = hook(scope, status, kind, body)
            if result is not None:
                status, kind, body = result
                changed = result
        return (status, kind, body) if changed is not None else None

    return run


def built(variant: GoodVariant) -> bad.Variant:
    """The variant as the router serves it."""
    base = variant.variant
    return Built(**{f.name: getattr(base, f.name) for f in _fields(base)}, parts=(variant,))


def _fields(variant: bad.Variant) -> Any:
    import dataclasses

    return dataclasses.fields(variant)


COMBINED_PARTS = tuple(g for g in GOOD if g.compatible)
COMBINED = Built(
    "all-good-choices",
    "every compatible good choice at once",
    (),
    throttled=any(g.variant.throttled for g in COMBINED_PARTS),
    parts=COMBINED_PARTS,
)


def all_built() -> list[bad.Variant]:
    return [*(built(g) for g in GOOD), COMBINED]


def good_table() -> list[str]:
    """The known-good rows of docs/dsop-rule-proofs.md."""
    lines = [
        "## Known-good variants",
        "",
        "Each is a sandbox bank making another choice the publisher allows (test module",
        "`tests/e2e/test_dsop_good_variants.py`). At the default level none of the rules it",
        "touches fails and its run passes; at `level: strict` exactly the rules named fail",
        "(none for a choice the publisher's text permits). `all-good-choices` makes every",
        "choice marked compatible at once, and the whole profile passes against it.",
        "",
        "| variant | choice | basis | rules it touches | fails at strict |",
        "|---|---|---|---|---|",
    ]
    for good in GOOD:
        touches = ", ".join(good.touches)
        strict = ", ".join(good.strict) or "none"
        lines.append(f"| `{good.name}` | {good.choice} | {good.basis} | {touches} | {strict} |")
    lines.append("")
    return lines


__all__ = ["COMBINED", "GOOD", "GoodVariant", "all_built", "built", "good_table"]
