"""Known-bad twins of the DSOP sandbox bank, one per way a real bank can break a rule.

Each `Variant` wraps the sandbox's own app (`sandbox.dsop_control.build_app` over `build_bank`):
either an ASGI middleware rewriting requests or responses (`Rewrite`), or one method of the
`DsopBank` instance replaced (`patched`). `kills` is the set of rule ids the variant must make
fail (or warn, for SHOULD rules) when exactly those rules are run against it; the proof test
asserts that set, and that the union of all `kills` is every automated rule of the profile.

`GOOD_RUNS` are the known-good configurations whose runs must pass; `proof_table()` renders
docs/dsop-rule-proofs.md from both (`python -m tests.e2e.dsop_bad_variants` rewrites it).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import time
import uuid
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwe
from joserfc.jwk import KeySet, RSAKey
from starlette.types import ASGIApp, Receive, Scope, Send

from kontrakt.conformance import auth as tokens
from kontrakt.sandbox.dsop_control import DsopBank, build_app, build_bank
from kontrakt.sandbox.dsop_control.extradition import ENDPOINT_FLAGS, ExtraditionOrder
from kontrakt.sandbox.launch import SandboxContext
from tests.e2e._variants import buffered, header, send_response, with_header

REPO = Path(__file__).resolve().parents[2]
KEYS = REPO / "kontrakt" / "sandbox" / "fixtures" / "keys"
DOC = REPO / "docs" / "dsop-rule-proofs.md"
PROVIDER = "dsop-control"
SCOPE = "bits:kontoinformasjon"
KARI = "12858510048"
SKATT_SHORT_MANDATE = (
    "Skatteforvaltningsloven §10-2 første ledd, jf. skatteforvaltningsforskriften §10-2-1"
)

# --- request and response surgery -------------------------------------------------------------


@dataclass
class Reply:
    """An answer a request hook gives instead of calling the bank."""

    status: int
    body: Any
    content_type: str = "application/json"


def query(scope: Scope) -> list[tuple[str, str]]:
    return parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)


def with_query(scope: Scope, pairs: Sequence[tuple[str, str]]) -> Scope:
    return {**scope, "query_string": urlencode(list(pairs)).encode("latin-1")}


def param(scope: Scope, name: str) -> str | None:
    found = [v for k, v in query(scope) if k == name]
    return found[-1] if found else None


def with_param(scope: Scope, name: str, value: str | None) -> Scope:
    pairs = [(k, v) for k, v in query(scope) if k != name]
    if value is not None:
        pairs.append((name, value))
    return with_query(scope, pairs)


RequestHook = Callable[[Scope], "Scope | Reply"]
ResponseHook = Callable[[Scope, int, str, bytes], "tuple[int, str, bytes] | None"]
JsonHook = Callable[[Scope, int, Any], "tuple[int, Any] | None"]


def _encode(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


class Rewrite:
    """ASGI middleware: a request hook before the bank, a response hook after it."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        request: RequestHook | None = None,
        response: ResponseHook | None = None,
    ) -> None:
        self.app = app
        self.request = request
        self.response = response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.request is not None:
            changed = self.request(scope)
            if isinstance(changed, Reply):
                await _send(send, changed.status, changed.content_type, _encode(changed.body), [])
                return
            scope = changed
        if self.response is None:
            await self.app(scope, receive, send)
            return
        status, headers, body = await buffered(self.app, scope, receive)
        content_type = next(
            (v.decode("latin-1") for k, v in headers if k.lower() == b"content-type"), ""
        )
        changed_answer = self.response(scope, status, content_type.split(";")[0].strip(), body)
        if changed_answer is not None:
            status, content_type, body = changed_answer
        kept = [(k, v) for k, v in headers if k.lower() not in (b"content-type", b"content-length")]
        await _send(send, status, content_type, body, kept)


async def _send(
    send: Send, status: int, content_type: str, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    length = str(len(body)).encode()
    kind = content_type.encode("latin-1")
    await send_response(
        send, status, [*headers, (b"content-type", kind), (b"content-length", length)], body
    )


def json_hook(hook: JsonHook) -> ResponseHook:
    """A response hook over JSON bodies (other bodies pass unchanged)."""

    def run(
        scope: Scope, status: int, content_type: str, body: bytes
    ) -> tuple[int, str, bytes] | None:
        if content_type != "application/json" or not body:
            return None
        changed = hook(scope, status, json.loads(body))
        if changed is None:
            return None
        return changed[0], "application/json", _encode(changed[1])

    return run


def on_200(path_test: Callable[[str], bool], edit: Callable[[Any], None]) -> ResponseHook:
    """Edit the 200 JSON bodies of the paths `path_test` accepts, in place."""

    def hook(scope: Scope, status: int, body: Any) -> tuple[int, Any] | None:
        if status != 200 or not path_test(str(scope["path"])):
            return None
        edit(body)
        return status, body

    return json_hook(hook)


def is_accounts(path: str) -> bool:
    return path.rstrip("/").endswith("/accounts")


def is_details(path: str) -> bool:
    parts = path.rstrip("/").split("/")
    return len(parts) >= 2 and parts[-2] == "accounts"


def ends(suffix: str) -> Callable[[str], bool]:
    return lambda path: path.rstrip("/").endswith(suffix)


def any_path(path: str) -> bool:
    return True


def each(items: Any) -> list[Any]:
    return items if isinstance(items, list) else []


# --- tokens -------------------------------------------------------------------------------------


class Tokens:
    """Fresh, valid tokens of the sandbox issuer, for the middlewares that accept bad ones."""

    def __init__(self, context: SandboxContext) -> None:
        self.context = context
        self.public = context.issuer.signing_key.public_key()

    def fresh(self, client_id: str | None = None) -> str:
        registry = self.context.registry
        client = registry.get(client_id or "") or registry.get("skatt-kontroll-test")
        assert client is not None
        token, _ = self.context.issuer.mint(client, [SCOPE], self.context.base_urls[PROVIDER])
        return token

    def claims(self, scope: Scope) -> dict[str, Any] | None:
        value = header(scope, "authorization") or ""
        if not value.lower().startswith("bearer "):
            return None
        try:
            return tokens.claims_of(value[7:])
        except ValueError:
            return None

    def signature_ok(self, scope: Scope) -> bool:
        value = (header(scope, "authorization") or "")[7:]
        try:
            jwt.decode(
                value,
                self.public,
                algorithms=["RS256"],
                options={"verify_aud": False, "verify_exp": False, "verify_iss": False},
            )
        except jwt.PyJWTError:
            return False
        return True

    def accept_if(self, bad: Callable[[Scope, dict[str, Any]], bool]) -> RequestHook:
        """A request hook swapping a token `bad` says the careless bank accepts for a good one."""

        def hook(scope: Scope) -> Scope | Reply:
            claims = self.claims(scope)
            if claims is not None and bad(scope, claims):
                return with_header(scope, "authorization", f"Bearer {self.fresh()}")
            return scope

        return hook


# --- JWE ----------------------------------------------------------------------------------------


def _client_key() -> RSAKey:
    return RSAKey.import_key((KEYS / "client.pem").read_bytes())


def _encrypt(plaintext: bytes, key: RSAKey) -> bytes:
    protected = {"alg": "RSA-OAEP-256", "enc": "A128CBC-HS256", "cty": "application/json"}
    return jwe.encrypt_compact(
        protected, plaintext, key, algorithms=["RSA-OAEP-256", "A128CBC-HS256"]
    ).encode()


def _decrypt(body: bytes) -> bytes:
    # joserfc takes RSA-OAEP-256 / A128CBC-HS256 only when allowed (without, the variant's hook
    # crashed and the bank answered 500: the variants failed for the wrong reason).
    algorithms = ["RSA-OAEP-256", "A128CBC-HS256"]
    result = jwe.decrypt_compact(body.strip(), KeySet([_client_key()]), algorithms=algorithms)
    assert result.plaintext is not None
    return result.plaintext


def _other_key() -> RSAKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return RSAKey.import_key(pem)


def jwe_hook(edit: Callable[[bytes], bytes]) -> ResponseHook:
    def run(
        scope: Scope, status: int, content_type: str, body: bytes
    ) -> tuple[int, str, bytes] | None:
        if status != 200 or content_type != "application/jose":
            return None
        return status, content_type, edit(body)

    return run


def jwe_without_details(body: bytes) -> bytes:
    document = json.loads(_decrypt(body))
    document.pop("responseDetails", None)
    return _encrypt(_encode(document), _client_key())


def jwe_to_other_key(body: bytes) -> bytes:
    return _encrypt(_decrypt(body), _other_key())


# --- the variants -----------------------------------------------------------------------------

Patch = Callable[[DsopBank], None]


@dataclass(frozen=True)
class Variant:
    """A known-bad twin: how it is built, which rules must fail against it.

    `deviates` names the kills that break only one of kontrakt's assumptions: they warn at the
    default level and fail (MUST) at strict. `throttled` adds the client the variant's bank
    throttles to the manifest (credentials.throttled).
    """

    name: str
    description: str
    kills: tuple[str, ...]
    request: Callable[[SandboxContext], RequestHook] | None = None
    response: Callable[[SandboxContext], ResponseHook] | None = None
    patch: Patch | None = None
    manifest: str = "skatt"  # skatt | oed | production
    environment: str = "test"
    base_path: str = "/v2"
    bank: Mapping[str, Any] = field(default_factory=dict)
    fixtures: Mapping[str, Any] = field(default_factory=dict)
    deviates: tuple[str, ...] = ()
    throttled: bool = False
    decryption_keys: Mapping[str, Path] = field(default_factory=dict)  # manifest, by role

    def app(self, context: SandboxContext) -> ASGIApp:
        options = {"page_size": 10, "accounts_page_size": 5, **self.bank}
        bank = build_bank(context, **options)
        if self.patch is not None:
            self.patch(bank)
        app = build_app(bank, context, environment=self.environment, base_path=self.base_path)
        if self.request is None and self.response is None:
            return app
        return Rewrite(
            app,
            request=self.request(context) if self.request else None,
            response=self.response(context) if self.response else None,
        )


@dataclass(frozen=True)
class GoodRun:
    """A known-good configuration and the rules it must pass."""

    name: str
    description: str
    rules: tuple[str, ...]  # glob patterns; () = the whole profile against the real sandbox
    variant: Variant | None = None
    not_applicable: Mapping[str, str] = field(default_factory=dict)  # rule id -> why


def _set(bank: DsopBank, name: str, value: Any) -> None:
    setattr(bank, name, value)


def patched(**methods: Callable[[DsopBank], Any]) -> Patch:
    """Replace methods of the bank: each value receives the bank and returns the new callable."""

    def apply(bank: DsopBank) -> None:
        for name, make in methods.items():
            _set(bank, name, make(bank))

    return apply


def _noop(bank: DsopBank) -> Callable[..., None]:
    return lambda *args, **kwargs: None


def _no_service_period(bank: DsopBank) -> Callable[..., None]:
    original = bank.check_period

    def check(service: Any, period_from: Any, period_to: Any, today: Any) -> None:
        loose = dataclasses.replace(
            service, period=dataclasses.replace(service.period, max_years_back=None)
        )
        original(loose, period_from, period_to, today)

    return check


def _default_mandate(bank: DsopBank) -> Callable[[str], Any]:
    original = bank.service_for
    skatt = next(s for s in bank.services if s.name == "Skatt-Kontroll")

    def service_for(legal_mandate: str) -> Any:
        try:
            return original(legal_mandate)
        except Exception:
            return skatt

    return service_for


def _no_additional_reference(bank: DsopBank) -> Callable[..., tuple[None, None]]:
    return lambda *args, **kwargs: (None, None)


def _balances_of_today(bank: DsopBank) -> Callable[[Any, Any], Any]:
    original = bank.balances

    def balances(call: Any, account: Any) -> Any:
        return original(dataclasses.replace(call, period_to=call.today), account)

    return balances


def _duplicating_pages(bank: DsopBank) -> Callable[..., Any]:
    original = bank.paginate

    def paginate(items: Sequence[Any], path: str, parameters: Any, size: int) -> Any:
        page, links = original(items, path, parameters, size)
        from kontrakt.sandbox.dsop_control.handlers import current_request

        number = int(current_request().param("page") or 1)
        if number > 1 and items:
            page = [items[(number - 1) * size - 1], *page]
        return page, links

    return paginate


# A client of the Skatt-Kontroll organisation that the throttling variants' banks limit to a few
# requests a minute (registered with the test sandbox's issuer by `register_throttled_client`).
THROTTLED_CLIENT = ("skatt-throttled-test", "sandbox-throttled-secret")
THROTTLED_LIMIT = 3


def register_throttled_client(context: SandboxContext) -> None:
    """Register THROTTLED_CLIENT (organisation of skatt-kontroll-test) with the issuer."""
    import hashlib

    from kontrakt.sandbox.clients import Client

    skatt = context.registry.clients["skatt-kontroll-test"]
    client_id, secret = THROTTLED_CLIENT
    context.registry.clients[client_id] = Client(
        client_id=client_id,
        organisation=skatt.organisation,
        scopes=skatt.scopes,
        secret_sha256=hashlib.sha256(secret.encode()).hexdigest(),
        description="Skatt-Kontroll client the bank throttles (tests only)",
    )


def _throttle_one_client(bank: DsopBank) -> Callable[[Any], None]:
    """429 ACC-022 for THROTTLED_CLIENT over THROTTLED_LIMIT requests a minute, others free."""
    from kontrakt.sandbox.dsop_control.handlers import RateLimiter

    limiter = RateLimiter(THROTTLED_LIMIT)

    def check(auth: Any) -> None:
        if auth.claim("client_id") != THROTTLED_CLIENT[0]:
            return
        wait = limiter.hit(THROTTLED_CLIENT[0])
        if wait is not None:
            from kontrakt.runtime import server as rt

            raise rt.ApiProblem.from_trigger(
                "rate-limited",
                f"More than {THROTTLED_LIMIT} requests per minute; retry in {wait} s.",
                headers={"Retry-After": str(wait)},
            )

    return check


def _end_after_period(body: Any) -> None:
    account = body.get("account") if isinstance(body, dict) else None
    if isinstance(account, dict) and "endDate" not in account and account.get("startDate"):
        account["endDate"] = "2099-12-31"


def _throttle_as_503(scope: Scope, status: int, content_type: str, body: bytes) -> Any:
    """The gateway's answer to a throttled client: 503 without a body."""
    if status == 429:
        return 503, "", b""
    return None


def _silent(scope: Scope) -> Scope | Reply:
    """200 {} to everything (nothing to judge anywhere)."""
    return Reply(200, {})


def _identify_by_client_id(context: SandboxContext) -> RequestHook:
    minted = Tokens(context)

    def hook(scope: Scope) -> Scope | Reply:
        claims = minted.claims(scope)
        if claims is None:
            return scope
        client = context.registry.get(str(claims.get("client_id", "")))
        if client is None:
            return scope
        return with_header(scope, "authorization", f"Bearer {minted.fresh(client.client_id)}")

    return hook


def _one_time_tokens(context: SandboxContext) -> RequestHook:
    seen: set[str] = set()

    def hook(scope: Scope) -> Scope | Reply:
        value = header(scope, "authorization") or ""
        if value in seen:
            return Reply(401, {"code": "ACC-010", "message": "This token was used already."})
        seen.add(value)
        return scope

    return hook


def _reference_is_number(context: SandboxContext) -> tuple[RequestHook, ResponseHook]:
    numbers: dict[str, str] = {}

    def swap(body: Any) -> None:
        items = [*each(body.get("accounts"))]
        if isinstance(body.get("account"), dict):
            items.append(body["account"])
        for item in items:
            if isinstance(item, dict) and "accountIdentifier" in item:
                numbers[item["accountIdentifier"]] = item["accountReference"]
                item["accountReference"] = item["accountIdentifier"]

    def request(scope: Scope) -> Scope | Reply:
        parts = str(scope["path"]).split("/")
        if "accounts" in parts:
            index = parts.index("accounts") + 1
            if index < len(parts) and parts[index] in numbers:
                parts[index] = numbers[parts[index]]
                path = "/".join(parts)
                return {**scope, "path": path, "raw_path": path.encode()}
        return scope

    return request, on_200(any_path, swap)


_REFERENCE_SWAP: dict[int, tuple[RequestHook, ResponseHook]] = {}


def _swap_for(context: SandboxContext) -> tuple[RequestHook, ResponseHook]:
    if id(context) not in _REFERENCE_SWAP:
        _REFERENCE_SWAP[id(context)] = _reference_is_number(context)
    return _REFERENCE_SWAP[id(context)]


def _absolute_links(scope: Scope, status: int, body: Any) -> tuple[int, Any] | None:
    if status != 200:
        return None
    host, port = scope.get("server") or ("127.0.0.1", 80)
    prefix = str(scope.get("kontrakt.prefix", "")) + "/v2"
    for link in each(body.get("links")):
        link["href"] = f"http://{host}:{port}{prefix}{link['href']}"
    return status, body


def _looping_next(body: Any) -> None:
    links = each(body.get("links"))
    if links and not any(x.get("rel") == "next" for x in links):
        own = next((x["href"] for x in links if x.get("rel") == "self"), links[0]["href"])
        links.append({"rel": "next", "href": own})


def _partial_while_paging(body: Any) -> None:
    if any(x.get("rel") == "next" for x in each(body.get("links"))):
        body["responseDetails"] = {"status": "partial", "message": "More on the next page."}


def _party_as_kari(party: str) -> RequestHook:
    def hook(scope: Scope) -> Scope | Reply:
        if header(scope, "PartyID") == party:
            return with_header(scope, "PartyID", KARI)
        return scope

    return hook


def _today() -> str:
    return time.strftime("%Y-%m-%d")


def _days_ago(days: int) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(time.time() - days * 86400))


def _uuid_or_fresh(scope: Scope) -> Scope:
    for name in ("AccountInfoRequestID", "CorrelationID"):
        value = header(scope, name)
        if value is not None:
            try:
                uuid.UUID(value)
                if len(value) != 36:
                    raise ValueError(value)
            except ValueError:
                scope = with_header(scope, name, str(uuid.uuid4()))
    return scope


def _drop_bad_dates(scope: Scope) -> Scope:
    import re

    for name in ("fromDate", "toDate"):
        value = param(scope, name)
        if value is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])-\d{2}", value):
            scope = with_param(scope, name, None)
    return scope


def _swap_period(scope: Scope) -> Scope:
    start, end = param(scope, "fromDate"), param(scope, "toDate")
    if start and end and start > end:
        scope = with_param(with_param(scope, "fromDate", end), "toDate", start)
    return scope


def _lenient_owner(scope: Scope) -> Scope:
    if is_accounts(str(scope["path"])) and param(scope, "OnlyPrimaryOwner") not in (
        "true",
        "false",
    ):
        return with_param(scope, "OnlyPrimaryOwner", "false")
    return scope


def _undated_last_month(scope: Scope) -> Scope:
    if param(scope, "toDate") is None and param(scope, "fromDate") is None:
        return with_param(with_param(scope, "fromDate", _days_ago(40)), "toDate", _days_ago(10))
    return scope


def _skatt_one_mandate(scope: Scope) -> Scope:
    if header(scope, "Legal-Mandate") == quote(SKATT_SHORT_MANDATE, safe=""):
        return with_header(scope, "Legal-Mandate", "unknown")
    return scope


def _error_edit(edit: Callable[[int, Any], tuple[int, Any]]) -> ResponseHook:
    def hook(scope: Scope, status: int, body: Any) -> tuple[int, Any] | None:
        if status < 400:
            return None
        return edit(status, body)

    return json_hook(hook)


def _errors_encrypted(
    scope: Scope, status: int, content_type: str, body: bytes
) -> tuple[int, str, bytes] | None:
    if status < 400 or "jose" not in (header(scope, "accept") or ""):
        return None
    return status, "application/jose", _encrypt(body, _client_key())


def _errors_as_text(
    scope: Scope, status: int, content_type: str, body: bytes
) -> tuple[int, str, bytes] | None:
    return (status, "text/plain", body) if status >= 400 else None


def _list_to_404(keys: Sequence[str], path_test: Callable[[str], bool]) -> ResponseHook:
    def hook(scope: Scope, status: int, body: Any) -> tuple[int, Any] | None:
        if status != 200 or not path_test(str(scope["path"])):
            return None
        if any(k in body and not body[k] for k in keys):
            return 404, {"code": "ACC-002", "message": "Nothing found."}
        return None

    return json_hook(hook)


def _whole_history(scope: Scope) -> Scope:
    """A one-day /transactions request widened to the last ten years (the period ignored)."""
    start, end = param(scope, "fromDate"), param(scope, "toDate")
    if not str(scope["path"]).rstrip("/").endswith("/transactions") or start is None:
        return scope
    if start != end:
        return scope
    today = datetime.date.today()
    widened = with_param(scope, "fromDate", (today - datetime.timedelta(days=3600)).isoformat())
    return with_param(widened, "toDate", today.isoformat())


def _per_account_path(path: str) -> bool:
    return path.rstrip("/").rsplit("/", 1)[-1] in ("transactions", "cards", "roles")


def _balances(edit: Callable[[Scope, dict[str, Any]], None]) -> ResponseHook:
    def hook(scope: Scope, status: int, body: Any) -> tuple[int, Any] | None:
        if status != 200 or not is_details(str(scope["path"])):
            return None
        if isinstance(body.get("account"), dict):
            edit(scope, body["account"])
        return status, body

    return json_hook(hook)


def _drop_available(scope: Scope, account: dict[str, Any]) -> None:
    account["balances"] = [
        b for b in each(account.get("balances")) if b.get("type") != "availableBalance"
    ]


def _no_history(scope: Scope, account: dict[str, Any]) -> None:
    to = param(scope, "toDate")
    if to is not None and to < _today():
        account["balances"] = []


def _balance_on_closed(scope: Scope, account: dict[str, Any]) -> None:
    if account.get("endDate") and not account.get("balances"):
        account["balances"] = [
            {"type": "bookedBalance", "amount": 1.0, "creditDebitIndicator": "credit"}
        ]


def _transactions(edit: Callable[[dict[str, Any]], None]) -> ResponseHook:
    def run(body: Any) -> None:
        for item in each(body.get("transactions")):
            edit(item)

    return on_200(ends("/transactions"), run)


def _signed(item: dict[str, Any]) -> None:
    if item.get("creditDebitIndicator") == "debit" and isinstance(item.get("amount"), int | float):
        item["amount"] = -item["amount"]


def _cards(edit: Callable[[dict[str, Any]], None]) -> ResponseHook:
    def run(body: Any) -> None:
        for item in each(body.get("paymentCards")):
            edit(item)

    return on_200(ends("/cards"), run)


def _accounts_items(edit: Callable[[dict[str, Any]], None]) -> ResponseHook:
    def run(body: Any) -> None:
        for item in each(body.get("accounts")):
            edit(item)

    return on_200(is_accounts, run)


def _unusable(item: dict[str, Any]) -> None:
    item["accountReference"] = str(item["accountReference"]) + "-gone"


def _links(edit: Callable[[dict[str, Any]], None]) -> ResponseHook:
    def run(body: Any) -> None:
        for link in each(body.get("links")):
            edit(link)

    return on_200(any_path, run)


def _drop_next(body: Any) -> None:
    body["links"] = [x for x in each(body.get("links")) if x.get("rel") != "next"]


def _r(hook: RequestHook) -> Callable[[SandboxContext], RequestHook]:
    return lambda context: hook


def _w(hook: ResponseHook) -> Callable[[SandboxContext], ResponseHook]:
    return lambda context: hook


def _fresh_when(
    bad: Callable[[Scope, dict[str, Any]], bool],
) -> Callable[[SandboxContext], RequestHook]:
    return lambda context: Tokens(context).accept_if(bad)


def _no_token(context: SandboxContext) -> RequestHook:
    minted = Tokens(context)

    def hook(scope: Scope) -> Scope | Reply:
        if not (header(scope, "authorization") or "").lower().startswith("bearer "):
            return with_header(scope, "authorization", f"Bearer {minted.fresh()}")
        return scope

    return hook


def _bad_signature(context: SandboxContext) -> RequestHook:
    minted = Tokens(context)
    return minted.accept_if(lambda scope, claims: not minted.signature_ok(scope))


def _non_get_200(scope: Scope) -> Scope | Reply:
    if scope["method"] != "GET":
        return Reply(200, {"responseDetails": {"status": "complete"}})
    return scope


def _any_accept(scope: Scope) -> Scope:
    accept = header(scope, "accept") or ""
    if "json" not in accept and "jose" not in accept:
        return with_header(scope, "accept", "application/json")
    return scope


def _plaintext_always(scope: Scope) -> Scope:
    if "jose" in (header(scope, "accept") or ""):
        return with_header(scope, "accept", "application/json")
    return scope


def _header_default(name: str, value: Callable[[], str]) -> RequestHook:
    def hook(scope: Scope) -> Scope | Reply:
        if header(scope, name) is None:
            return with_header(scope, name, value())
        return scope

    return hook


def _set_key(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(item: dict[str, Any]) -> None:
        if key in item:
            item[key] = value(item[key]) if callable(value) else value

    return edit


def _details_edit(edit: Callable[[Any], None]) -> ResponseHook:
    return on_200(any_path, edit)


def _long_message(body: Any) -> None:
    if isinstance(body.get("responseDetails"), dict):
        body["responseDetails"]["message"] = "x" * 600


def _partial_silent(body: Any) -> None:
    details = body.get("responseDetails")
    if isinstance(details, dict) and details.get("status") == "partial":
        details.pop("message", None)


def _open_with_end(body: Any) -> None:
    account = body.get("account")
    if isinstance(account, dict) and not account.get("endDate"):
        account["endDate"] = "2000-01-01"


def _outage_as_partial(status: int, body: Any) -> tuple[int, Any]:
    if status >= 500:
        return 200, {"responseDetails": {"status": "partial", "message": "Back end down."}}
    return status, body


def _wrong_500_code(status: int, body: Any) -> tuple[int, Any]:
    if status >= 500:
        body["code"] = "ACC-999"
    return status, body


def _drop_code(status: int, body: Any) -> tuple[int, Any]:
    body.pop("code", None)
    return status, body


def _numeric_400_code(status: int, body: Any) -> tuple[int, Any]:
    if status == 400:
        body["code"] = 1
    return status, body


def _unknown_reference_200(scope: Scope, status: int, body: Any) -> tuple[int, Any] | None:
    if status == 404:
        return 200, {"responseDetails": {"status": "complete"}}
    return None


def _rename_self(link: dict[str, Any]) -> None:
    if link.get("rel") == "self":
        link["rel"] = "current"


# --- per-service and extradition-order twins ----------------------------------------------------


def _lenient_for(service_name: str, method: str, allowed: Callable[..., bool]) -> Patch:
    """Skip the bank's `method` check for one service when `allowed(*args)` says so."""

    def apply(bank: DsopBank) -> None:
        original = getattr(bank, method)

        def check(*args: Any) -> Any:
            service = args[0] if hasattr(args[0], "operations") else args[0].service
            if service.name == service_name and allowed(*args):
                return None
            return original(*args)

        _set(bank, method, check)

    return apply


def _without_guardian(method: str) -> Patch:
    """The bank's `method(call, ...)` judges the call as if no guardian were named (Vergekontroll
    then sees every account of the ward)."""

    def apply(bank: DsopBank) -> None:
        original = getattr(bank, method)

        def check(call: Any, *args: Any) -> Any:
            return original(dataclasses.replace(call, guardian=None), *args)

        _set(bank, method, check)

    return apply


def _with_order(method: str, edit: Callable[[Any], Any]) -> Patch:
    """The bank's `method(call, ...)` judges a copy of the call whose order `edit` changed."""

    def apply(bank: DsopBank) -> None:
        original = getattr(bank, method)

        def check(call: Any, *args: Any) -> Any:
            if call.order is not None:
                call = dataclasses.replace(call, order=edit(call.order))
            return original(call, *args)

        _set(bank, method, check)

    return apply


def _all_flags_true(order: Any) -> Any:
    return dataclasses.replace(
        order, claims={**order.claims, **{flag: True for flag in ENDPOINT_FLAGS.values()}}
    )


def _any_period(order: Any) -> Any:
    return dataclasses.replace(
        order, from_date=datetime.date(1900, 1, 1), to_date=datetime.date(2999, 12, 31)
    )


def _owner_unrestricted(order: Any) -> Any:
    return dataclasses.replace(order, only_primary_owner=False)


def _unverified_signature(bank: DsopBank) -> None:
    verifier = bank.orders

    def verify(token: str, *, today: datetime.date, now: float | None = None) -> Any:
        claims = jwt.decode(token, options={"verify_signature": False})
        return verifier._check_content(claims, today=today, now=time.time() if now is None else now)

    _set(verifier, "verify", verify)


def _unchecked_chain(bank: DsopBank) -> None:
    _set(bank.orders, "_check_chain", lambda *args: None)


def _unchecked_content(bank: DsopBank) -> None:
    def content(claims: dict[str, Any], *, today: datetime.date, now: float) -> Any:
        return ExtraditionOrder(
            claims={flag: True for flag in ENDPOINT_FLAGS.values()} | claims,
            party_id=str(claims.get("partyID")),
            mandate=str(claims.get("mandate")),
            from_date=datetime.date.fromisoformat(str(claims.get("fromDate"))),
            to_date=datetime.date.fromisoformat(str(claims.get("toDate"))),
            only_primary_owner=bool(claims.get("onlyPrimaryOwner")),
        )

    _set(bank.orders, "_check_content", content)


def _unbounded_validity(bank: DsopBank) -> None:
    _set(bank.orders, "max_validity_days", 100_000)


def _hyphenless_uuid_ok(scope: Scope) -> Scope:
    """Accepts the 32 hex digits of a UUID without hyphens (rewritten into 8-4-4-4-12)."""
    for name in ("AccountInfoRequestID", "CorrelationID"):
        value = header(scope, name)
        if value is not None and len(value) == 32:
            try:
                scope = with_header(scope, name, str(uuid.UUID(hex=value)))
            except ValueError:
                continue
    return scope


VARIANTS: tuple[Variant, ...] = (
    Variant(
        "minor-version-path",
        "serves the API under /v2.0",
        ("DSOP-BASE-PATH-MAJOR",),
        base_path="/v2.0",
    ),
    Variant(
        "non-get-200",
        "answers 200 to POST, PUT, DELETE...",
        ("DSOP-ACC-405",),
        request=_r(_non_get_200),
    ),
    Variant(
        "any-accept",
        "serves JSON whatever the Accept header",
        ("DSOP-ACC-406",),
        request=_r(_any_accept),
        deviates=("DSOP-ACC-406",),
    ),
    Variant(
        "jwe-invalid-payload",
        "production: a JWE whose plaintext lacks responseDetails",
        ("DSOP-JWE-PRODUCTION",),
        response=_w(jwe_hook(jwe_without_details)),
        manifest="production",
        environment="production",
    ),
    Variant(
        "jwe-wrong-key",
        "production: encrypts to a key that is not the consumer's",
        ("DSOP-JWE-PRODUCTION", "DSOP-JWE-CERTPUB"),
        response=_w(jwe_hook(jwe_to_other_key)),
        manifest="production",
        environment="production",
    ),
    Variant(
        "plaintext-in-production",
        "production manifest, but plain JSON is served on request",
        ("DSOP-PLAINTEXT-TEST-ONLY",),
        manifest="production",
    ),
    Variant(
        "plaintext-unasked",
        "test: plain JSON even when the consumer asks for application/jose",
        ("DSOP-PLAINTEXT-TEST-ONLY",),
        request=_r(_plaintext_always),
    ),
    Variant(
        "missing-transaction-id",
        "transactions without transactionIdentifier (schema)",
        ("DSOP-SCHEMA-200",),
        response=_w(_transactions(lambda t: t.pop("transactionIdentifier", None))),
    ),
    Variant(
        "numeric-error-code",
        "400 bodies carry a number as code (schemathesis, tier 2)",
        ("DSOP-SCHEMA-200",),
        response=_w(_error_edit(_numeric_400_code)),
        fixtures={"schemathesis_examples": 3},
    ),
    Variant(
        "error-without-code",
        "error bodies without code",
        ("DSOP-ERROR-BODY",),
        response=_w(_error_edit(_drop_code)),
        deviates=("DSOP-ERROR-BODY",),
    ),
    Variant(
        "encrypted-errors",
        "errors encrypted when the consumer accepts JOSE",
        ("DSOP-ERROR-UNENCRYPTED",),
        response=_w(_errors_encrypted),
    ),
    Variant(
        "errors-as-text",
        "errors served as text/plain",
        ("DSOP-ERROR-UNENCRYPTED",),
        response=_w(_errors_as_text),
    ),
    Variant(
        "no-token-needed",
        "serves requests without a bearer token",
        ("DSOP-ACC-401-MISSING-TOKEN",),
        request=_no_token,
    ),
    Variant(
        "accepts-expired",
        "accepts expired tokens",
        ("DSOP-ACC-401-EXPIRED-TOKEN",),
        request=_fresh_when(lambda s, c: int(c.get("exp", 0)) < time.time()),
    ),
    Variant(
        "ignores-signature",
        "does not verify token signatures",
        ("DSOP-ACC-401-BAD-SIGNATURE",),
        request=_bad_signature,
    ),
    Variant(
        "ignores-audience",
        "accepts tokens for any audience",
        ("DSOP-ACC-401-WRONG-AUDIENCE",),
        request=_fresh_when(lambda s, c: c.get("aud") == tokens.WRONG_AUDIENCE),
    ),
    Variant(
        "ignores-issuer",
        "accepts tokens of any issuer",
        ("DSOP-ACC-401-WRONG-ISSUER",),
        request=_fresh_when(lambda s, c: c.get("iss") == tokens.WRONG_ISSUER),
    ),
    Variant(
        "ignores-scope",
        "accepts tokens without bits:kontoinformasjon",
        ("DSOP-ACC-403-WRONG-SCOPE",),
        request=_fresh_when(lambda s, c: SCOPE not in str(c.get("scope", "")).split()),
    ),
    Variant(
        "any-consumer",
        "lets any consumer use any service's mandate",
        ("DSOP-ACC-403-CONSUMER-NOT-ALLOWED",),
        patch=patched(check_consumer=_noop),
    ),
    Variant(
        "client-id-identifies",
        "identifies the consumer by client_id",
        ("DSOP-TOKEN-CONSUMER-CLAIM",),
        request=_identify_by_client_id,
    ),
    Variant(
        "one-time-tokens",
        "refuses a token the second time",
        ("DSOP-TOKEN-REUSE",),
        request=_one_time_tokens,
    ),
    Variant(
        "missing-correlation-id-ok",
        "accepts a missing CorrelationID (and other headers)",
        ("DSOP-ACC-400-MISSING-HEADER",),
        request=_r(_header_default("CorrelationID", lambda: str(uuid.uuid4()))),
    ),
    Variant(
        "malformed-uuid-ok",
        "accepts IDs that are not UUIDs",
        ("DSOP-ACC-400-MALFORMED-UUID",),
        request=_r(_uuid_or_fresh),
    ),
    Variant(
        "hyphenless-uuid-ok",
        "accepts UUIDs written as 32 hex digits without hyphens",
        ("DSOP-ACC-400-MALFORMED-UUID",),
        request=_r(_hyphenless_uuid_ok),
        deviates=("DSOP-ACC-400-MALFORMED-UUID",),
    ),
    Variant(
        "politi-no-requester",
        "Politi-Utlevering: no RequesterID needed",
        ("DSOP-SERVICE-POLITI-UTLEVERING",),
        patch=_lenient_for("Politi-Utlevering", "check_requester", lambda *a: True),
    ),
    Variant(
        "verge-serves-cards",
        "Vergekontroll: serves cards too",
        ("DSOP-SERVICE-VERGEKONTROLL",),
        patch=_lenient_for("Vergekontroll", "check_operation", lambda s, op: op == "listCards"),
    ),
    Variant(
        "konkurs-any-owner",
        "Konkursbehandling: accepts OnlyPrimaryOwner=false",
        ("DSOP-SERVICE-KONKURSBEHANDLING",),
        patch=_lenient_for("Konkursbehandling", "check_primary_owner_rule", lambda c, v: True),
    ),
    Variant(
        "verge-lists-unmanaged",
        "Vergekontroll: lists every account of the ward, also those the guardian does not manage",
        ("DSOP-VERGE-SCOPE",),
        patch=_without_guardian("visible_accounts"),
    ),
    Variant(
        "verge-serves-unmanaged",
        "Vergekontroll: serves an account of the ward the guardian does not manage",
        ("DSOP-VERGE-SCOPE",),
        patch=_without_guardian("check_account_scope"),
    ),
    Variant(
        "konkurs-unconfirmed-listed",
        "Konkursbehandling: lists the accounts of a party without a bankruptcy ruling",
        ("DSOP-KONKURS-CONFIRM",),
        patch=_lenient_for(
            "Konkursbehandling",
            "check_event_period",
            lambda call, party, party_id: party is None or party.bankruptcy_ruling_date is None,
        ),
    ),
    Variant(
        "konkurs-unconfirmed-served",
        "Konkursbehandling: serves an account whose owner has no bankruptcy ruling",
        ("DSOP-KONKURS-CONFIRM",),
        patch=_lenient_for("Konkursbehandling", "check_account_scope", lambda call, account: True),
    ),
    Variant(
        "fi-utlegg-serves-transactions",
        "FI-Utlegg: serves transactions too",
        ("DSOP-SERVICE-FI-UTLEGG",),
        patch=_lenient_for("FI-Utlegg", "check_operation", lambda s, op: op == "listTransactions"),
    ),
    Variant(
        "eo-ignores-flags",
        "Politi: serves an endpoint whose order flag is false",
        ("DSOP-ACC-403-EO-ENDPOINT",),
        patch=_with_order("check_order", _all_flags_true),
    ),
    Variant(
        "eo-unverified-signature",
        "Politi: reads the order without verifying its signature or chain",
        ("DSOP-POLITI-EO-SIGNATURE",),
        patch=_unverified_signature,
    ),
    Variant(
        "eo-ignores-chain",
        "Politi: verifies the signature, not the x5c chain",
        ("DSOP-POLITI-EO-SIGNATURE",),
        patch=_unchecked_chain,
    ),
    Variant(
        "eo-no-content-check",
        "Politi: no check of the order's content (reason, version, dates, fields)",
        ("DSOP-POLITI-EO-CONTENT",),
        patch=_unchecked_content,
    ),
    Variant(
        "eo-unbounded-validity",
        "Politi: orders valid for any number of days",
        ("DSOP-POLITI-EO-CONTENT",),
        patch=_unbounded_validity,
    ),
    Variant(
        "eo-ignores-period",
        "Politi: serves periods outside the order's",
        ("DSOP-POLITI-EO-REQUEST-MATCH",),
        patch=_with_order("check_order", _any_period),
    ),
    Variant(
        "eo-loosens-owner",
        "Politi: OnlyPrimaryOwner=false under an order for primary owners only",
        ("DSOP-POLITI-EO-REQUEST-MATCH",),
        patch=_with_order("check_primary_owner_rule", _owner_unrestricted),
    ),
    Variant(
        "default-party",
        "answers /accounts without PartyID for a default party",
        ("DSOP-ACC-400-MISSING-PARTY",),
        request=_r(_header_default("PartyID", lambda: KARI)),
    ),
    Variant(
        "lenient-owner-flag",
        "treats a missing or odd OnlyPrimaryOwner as false",
        ("DSOP-ACC-400-ONLY-PRIMARY-OWNER",),
        request=_r(_lenient_owner),
    ),
    Variant(
        "drops-bad-dates",
        "ignores dates it cannot parse",
        ("DSOP-ACC-400-DATE-FORMAT",),
        request=_r(_drop_bad_dates),
    ),
    Variant(
        "swaps-period",
        "swaps fromDate and toDate when reversed",
        ("DSOP-ACC-400-PERIOD-ORDER",),
        request=_r(_swap_period),
    ),
    Variant(
        "no-service-period",
        "no max-years-back check",
        ("DSOP-ACC-400-PERIOD-SERVICE",),
        patch=patched(check_period=_no_service_period),
    ),
    Variant(
        "default-mandate",
        "an unknown Legal-Mandate counts as Skatt-Kontroll",
        ("DSOP-ACC-400-LEGAL-MANDATE",),
        patch=patched(service_for=_default_mandate),
    ),
    Variant(
        "ignores-additional-reference",
        "never checks AdditionalReferenceIDType/ID",
        ("DSOP-ACC-400-ADDITIONAL-REFERENCE",),
        patch=patched(check_additional_reference=_no_additional_reference),
    ),
    Variant(
        "no-requester-check",
        "does not require RequesterID",
        ("DSOP-ACC-400-REQUESTER-ID",),
        patch=patched(check_requester=_noop),
    ),
    Variant(
        "oed-any-owner",
        "OED: accepts OnlyPrimaryOwner=false",
        ("DSOP-ACC-400-SERVICE-PRIMARY-OWNER", "DSOP-SERVICE-OED"),
        patch=patched(check_primary_owner_rule=_noop),
        manifest="oed",
    ),
    Variant(
        "oed-every-endpoint",
        "OED: serves cards and roles too",
        ("DSOP-ACC-400-SERVICE-ENDPOINT", "DSOP-SERVICE-OED"),
        patch=patched(check_operation=_noop),
        manifest="oed",
    ),
    Variant(
        "skatt-one-mandate",
        "knows only one of the two Skatt mandate texts",
        ("DSOP-SERVICE-SKATT-KONTROLL",),
        request=_r(_skatt_one_mandate),
        deviates=("DSOP-SERVICE-SKATT-KONTROLL",),
    ),
    Variant(
        "unknown-reference-200",
        "answers 200 for an unknown accountReference",
        ("DSOP-ACC-404-UNKNOWN-REFERENCE",),
        response=_w(json_hook(_unknown_reference_200)),
    ),
    Variant(
        "no-accounts-404",
        "answers 404 instead of an empty account list",
        ("DSOP-EMPTY-ACCOUNTS-200", "DSOP-GUARANTOR-EMPTY", "DSOP-SHIELDED-EMPTY"),
        response=_w(_list_to_404(("accounts",), is_accounts)),
    ),
    Variant(
        "empty-list-404",
        "answers 404 instead of empty transactions, cards or roles",
        ("DSOP-EMPTY-LIST-200",),
        response=_w(_list_to_404(("transactions", "paymentCards", "roles"), _per_account_path)),
    ),
    Variant(
        "transactions-outside-period",
        "answers a one-day transactions request with the account's transactions of ten years",
        ("DSOP-EMPTY-LIST-200",),
        request=_r(_whole_history),
    ),
    Variant(
        "open-with-end-date",
        "lists an endDate after the period for accounts still open at its end",
        ("DSOP-END-AFTER-START",),
        response=_w(_details_edit(_end_after_period)),
        deviates=("DSOP-END-AFTER-START",),
    ),
    Variant(
        "no-rate-limit",
        "never limits a consumer",
        ("DSOP-ACC-429",),
        fixtures={"load_requests": 15},
    ),
    Variant(
        "throttled-503",
        "answers the throttled client 503 without a body once over its limit",
        ("DSOP-ACC-429",),
        patch=patched(check_rate_limit=_throttle_one_client),
        response=_w(_throttle_as_503),
        throttled=True,
    ),
    Variant(
        "throttled-never-limited",
        "never limits the client its test environment says it throttles",
        ("DSOP-ACC-429",),
        throttled=True,
        fixtures={"load_requests": 10},
    ),
    Variant(
        "wrong-500-code",
        "a back-end failure with a code outside the catalogue",
        ("DSOP-ACC-500-SERVER-ERROR",),
        response=_w(_error_edit(_wrong_500_code)),
        deviates=("DSOP-ACC-500-SERVER-ERROR",),
    ),
    Variant(
        "outage-as-partial",
        "a back-end failure as 200 partial",
        ("DSOP-ACC-500-SERVER-ERROR", "DSOP-PARTIAL-NOT-FOR-OUTAGES"),
        response=_w(_error_edit(_outage_as_partial)),
    ),
    Variant(
        "long-message",
        "responseDetails.message of 600 characters",
        ("DSOP-RESPONSE-DETAILS",),
        response=_w(_details_edit(_long_message)),
    ),
    Variant(
        "silent-partial",
        "partial without a message",
        ("DSOP-PARTIAL-MESSAGE",),
        response=_w(_details_edit(_partial_silent)),
    ),
    Variant(
        "partial-while-paging",
        "partial on every page with a next link",
        ("DSOP-PAGE-NOT-BY-STATUS",),
        response=_w(_details_edit(_partial_while_paging)),
    ),
    Variant(
        "unknown-account-type",
        "an account type outside the enum",
        ("DSOP-ENUMS",),
        response=_w(_accounts_items(_set_key("type", "checkingAccount"))),
    ),
    Variant(
        "lower-case-currency",
        "currency codes in lower case",
        ("DSOP-PATTERNS",),
        response=_w(_accounts_items(_set_key("currency", str.lower))),
    ),
    Variant(
        "space-in-timestamps",
        "bookingDate as 'YYYY-MM-DD hh:mm:ss'",
        ("DSOP-DATE-FORMATS",),
        response=_w(
            _transactions(_set_key("bookingDate", lambda v: str(v).replace("T", " ").rstrip("Z")))
        ),
    ),
    Variant(
        "signed-amounts",
        "negative amounts for debits",
        ("DSOP-AMOUNT-SIGN",),
        response=_w(_transactions(_signed)),
    ),
    Variant(
        "unmasked-cards",
        "full card numbers",
        ("DSOP-CARD-MASKED",),
        response=_w(_cards(_set_key("cardIdentifier", "4000001234567899"))),
    ),
    Variant(
        "long-card-version",
        "versionNumber of two characters",
        ("DSOP-CARD-DATES",),
        response=_w(_cards(_set_key("versionNumber", "12"))),
    ),
    Variant(
        "end-before-start",
        "open accounts with an endDate before their startDate",
        ("DSOP-END-AFTER-START",),
        response=_w(_details_edit(_open_with_end)),
    ),
    Variant(
        "undated-means-last-month",
        "no dates means a period ending 10 days ago",
        ("DSOP-PERIOD-DEFAULT-TODAY",),
        request=_r(_undated_last_month),
    ),
    Variant(
        "balance-ignores-period",
        "balances of today for a historical period",
        ("DSOP-PERIOD-END-VALUE",),
        patch=patched(balances=_balances_of_today),
        deviates=("DSOP-PERIOD-END-VALUE",),
    ),
    Variant(
        "reference-is-account-number",
        "accountReference = account number",
        ("DSOP-ACCOUNT-REFERENCE-OPAQUE",),
        request=lambda c: _swap_for(c)[0],
        response=lambda c: _swap_for(c)[1],
    ),
    Variant(
        "unusable-references",
        "lists references its other endpoints do not know",
        ("DSOP-ACCOUNT-REFERENCE-USABLE",),
        response=_w(_accounts_items(_unusable)),
    ),
    Variant(
        "ignores-owner-filter",
        "treats OnlyPrimaryOwner=true as false",
        ("DSOP-ONLY-PRIMARY-OWNER-FILTER",),
        request=_r(
            lambda s: (
                with_param(s, "OnlyPrimaryOwner", "false")
                if param(s, "OnlyPrimaryOwner") == "true"
                else s
            )
        ),
    ),
    Variant(
        "lists-for-guarantor",
        "lists the guaranteed accounts for a guarantor",
        ("DSOP-GUARANTOR-EMPTY",),
        request=_r(_party_as_kari("09896610055")),
    ),
    Variant(
        "loans-for-co-borrower",
        "lists the loan for its co-borrower",
        ("DSOP-CO-BORROWER-NO-LOANS",),
        request=_r(_party_as_kari("14847910071")),
    ),
    Variant(
        "lists-for-shielded",
        "lists accounts of a person with a confidential address",
        ("DSOP-SHIELDED-EMPTY",),
        request=_r(_party_as_kari("30868210059")),
    ),
    Variant(
        "no-available-balance",
        "no availableBalance on today-requests",
        ("DSOP-BALANCES-TODAY",),
        response=_w(_balances(_drop_available)),
    ),
    Variant(
        "no-historical-balance",
        "no balance for a period in the past",
        ("DSOP-BALANCES-HISTORICAL",),
        response=_w(_balances(_no_history)),
    ),
    Variant(
        "balance-on-closed",
        "a balance on an account closed in the period",
        ("DSOP-BALANCES-CLOSED",),
        response=_w(_balances(_balance_on_closed)),
    ),
    Variant(
        "no-transaction-status",
        "transactions without status",
        ("DSOP-TRANSACTION-STATUS",),
        response=_w(_transactions(lambda t: t.pop("status", None))),
    ),
    Variant(
        "no-next-links",
        "pages without next links",
        ("DSOP-PAGINATE-TRANSACTIONS",),
        response=_w(_details_edit(_drop_next)),
    ),
    Variant("small-pages", "10 transactions per page (SHOULD: at least 1000)", ("DSOP-PAGE-SIZE",)),
    Variant(
        "absolute-links",
        "absolute URLs in links",
        ("DSOP-PAGE-LINKS-RELATIVE",),
        response=_w(json_hook(_absolute_links)),
    ),
    Variant(
        "unknown-rel",
        "rel=current instead of self",
        ("DSOP-PAGE-RELS",),
        response=_w(_links(_rename_self)),
    ),
    Variant(
        "next-loops",
        "the last page links to itself as next",
        ("DSOP-PAGE-NEXT-TERMINATES",),
        response=_w(_details_edit(_looping_next)),
    ),
    Variant(
        "duplicates-across-pages",
        "each page repeats the last item of the one before",
        ("DSOP-PAGE-NO-DUPLICATES",),
        patch=patched(paginate=_duplicating_pages),
    ),
)

GOOD_RUNS: tuple[GoodRun, ...] = (
    GoodRun(
        "sandbox",
        "the sandbox as `kontrakt serve` starts it, the committed manifest, whole profile",
        (),
        # What the whole-profile run cannot judge, and where it is proven instead.
        not_applicable={
            "DSOP-JWE-PRODUCTION": "environment:production (run `production`)",
            "DSOP-JWE-CERTPUB": "environment:production (run `production`)",
            "DSOP-ACC-400-SERVICE-PRIMARY-OWNER": "Skatt-Kontroll allows both values (run `oed`)",
            "DSOP-ACC-400-SERVICE-ENDPOINT": "Skatt-Kontroll has every endpoint (run `oed`)",
            "DSOP-ACC-429": "the manifest allows no load (run `rate-limited`)",
            "DSOP-PAGE-NOT-BY-STATUS": "every list fits one page by default (run `paged`)",
            "DSOP-PAGE-NEXT-TERMINATES": "every list fits one page by default (run `paged`)",
            "DSOP-PAGE-NO-DUPLICATES": "every list fits one page by default (run `paged`)",
            "DSOP-PAGE-SIZE": "every list fits one page by default (good variant "
            "`thousand-per-page`)",
        },
    ),
    GoodRun(
        "paged",
        "10 transactions and 5 accounts per page",
        (
            "DSOP-PAGE-NOT-BY-STATUS",
            "DSOP-PAGE-LINKS-RELATIVE",
            "DSOP-PAGE-RELS",
            "DSOP-PAGE-NEXT-TERMINATES",
            "DSOP-PAGE-NO-DUPLICATES",
            "DSOP-PAGINATE-TRANSACTIONS",
            "DSOP-RESPONSE-DETAILS",
            "DSOP-ACCOUNT-REFERENCE-*",
            "DSOP-BALANCES-*",
            "DSOP-SCHEMA-200",
        ),
        Variant("paged", "", ()),
    ),
    GoodRun(
        "oed",
        "an OED consumer",
        ("DSOP-SERVICE-OED", "DSOP-ACC-400-SERVICE-*"),
        Variant("oed", "", (), manifest="oed"),
    ),
    GoodRun(
        "production",
        "environment production (JWE only)",
        ("DSOP-JWE-*", "DSOP-PLAINTEXT-TEST-ONLY"),
        Variant("production", "", (), manifest="production", environment="production"),
    ),
    GoodRun(
        "rate-limited",
        "5 requests per minute per consumer",
        ("DSOP-ACC-429",),
        Variant("rate-limited", "", (), bank={"rate_limit": 5}, fixtures={"load_requests": 15}),
    ),
    GoodRun(
        "throttled-client",
        f"credentials.throttled: a client the bank limits to {THROTTLED_LIMIT} requests a minute",
        ("DSOP-ACC-429",),
        Variant(
            "throttled-client",
            "",
            (),
            patch=patched(check_rate_limit=_throttle_one_client),
            throttled=True,
        ),
    ),
)

# Providers the preflight must stop (cannot-run) with a diagnosis naming the real cause.
PREFLIGHT_VARIANTS: tuple[Variant, ...] = (
    Variant(
        "refuses-json-406",
        "answers 406 ACC-013 to every request (no plain JSON in its test environment)",
        (),
        request=_r(lambda s: Reply(406, {"code": "ACC-013", "message": "Not acceptable."})),
    ),
    Variant(
        "refuses-every-token",
        "answers 401 ACC-010 to every request (the token's audience is not its own)",
        (),
        request=_r(lambda s: Reply(401, {"code": "ACC-010", "message": "Invalid token."})),
    ),
)

# A provider answering 200 {} to every request: no rule may pass against it (each finds nothing
# to judge, or fails where the manifest promises data, e.g. party_with_accounts' accounts).
SILENT = Variant("empty-everywhere", "answers 200 {} to every request", (), request=_r(_silent))


# --- serving every variant from one server ------------------------------------------------------


class Router:
    """Serves `/<variant>/...` from each variant's app, built on first use."""

    def __init__(self, context: SandboxContext, variants: Sequence[Variant]) -> None:
        self.context = context
        self.variants = {v.name: v for v in variants}
        self.apps: dict[str, ASGIApp] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        _, name, *rest = str(scope["path"]).split("/", 2)
        if name not in self.variants:
            await _send(send, 404, "text/plain", b"no such variant", [])
            return
        if name not in self.apps:
            self.apps[name] = self.variants[name].app(self.context)
        path = "/" + (rest[0] if rest else "")
        inner: MutableMapping[str, Any] = {
            **scope,
            "path": path,
            "raw_path": path.encode(),
            "kontrakt.prefix": f"/{name}",
        }
        await self.apps[name](inner, receive, send)


def all_variants() -> list[Variant]:
    good = [g.variant for g in GOOD_RUNS if g.variant is not None]
    return [*VARIANTS, *good, SILENT, *PREFLIGHT_VARIANTS]


# --- the proof table ------------------------------------------------------------------------------


# The assumptions each rule's checks may deviate under (warn at default, fail at strict); the
# variant tests assert that every deviation seen is listed here. A refusal's status is the
# publisher's; its code is judged only against the publisher's matrix (A-DSOP-040: a body
# without a code, A-DSOP-010/005/007/009/011: the situation -> code mapping).
_REFUSAL = ("A-DSOP-040",)
_400 = ("A-DSOP-010", "A-DSOP-040")
DEVIATION_SITES: dict[str, tuple[str, ...]] = {
    "DSOP-ACC-405": _REFUSAL,
    "DSOP-ACC-406": ("A-DSOP-009", *_REFUSAL),
    "DSOP-PLAINTEXT-TEST-ONLY": ("A-DSOP-009", "A-DSOP-027", *_REFUSAL),
    "DSOP-ERROR-BODY": _REFUSAL,
    "DSOP-ACC-401-MISSING-TOKEN": _REFUSAL,
    "DSOP-ACC-401-EXPIRED-TOKEN": _REFUSAL,
    "DSOP-ACC-401-BAD-SIGNATURE": _REFUSAL,
    "DSOP-ACC-401-WRONG-AUDIENCE": _REFUSAL,
    "DSOP-ACC-401-WRONG-ISSUER": _REFUSAL,
    "DSOP-ACC-403-WRONG-SCOPE": _REFUSAL,
    "DSOP-ACC-403-CONSUMER-NOT-ALLOWED": _400,
    "DSOP-ACC-400-MISSING-HEADER": _400,
    "DSOP-ACC-400-MALFORMED-UUID": ("A-DSOP-042", *_400),
    "DSOP-ACC-400-MISSING-PARTY": _400,
    "DSOP-ACC-400-ONLY-PRIMARY-OWNER": ("A-DSOP-042", *_400),
    "DSOP-ACC-400-DATE-FORMAT": ("A-DSOP-042", *_400),
    "DSOP-ACC-400-PERIOD-ORDER": _400,
    "DSOP-ACC-400-PERIOD-SERVICE": _400,
    "DSOP-ACC-400-LEGAL-MANDATE": _400,
    "DSOP-ACC-400-ADDITIONAL-REFERENCE": ("A-DSOP-029", *_400),
    "DSOP-ACC-400-REQUESTER-ID": _400,
    "DSOP-ACC-400-SERVICE-PRIMARY-OWNER": _400,
    "DSOP-ACC-400-SERVICE-ENDPOINT": _400,
    "DSOP-ACC-404-UNKNOWN-REFERENCE": ("A-DSOP-005", *_400),
    "DSOP-ACC-429": ("A-DSOP-011", *_REFUSAL),
    "DSOP-ACC-500-SERVER-ERROR": ("A-DSOP-001", "A-DSOP-007", *_REFUSAL),
    "DSOP-AMOUNT-SIGN": ("A-DSOP-041",),
    "DSOP-END-AFTER-START": ("A-DSOP-036",),
    "DSOP-PERIOD-END-VALUE": ("A-DSOP-033",),
    "DSOP-SERVICE-SKATT-KONTROLL": ("A-DSOP-015", *_400),
    "DSOP-SERVICE-POLITI-UTLEVERING": _400,
    "DSOP-SERVICE-OED": _400,
    "DSOP-SERVICE-VERGEKONTROLL": _400,
    "DSOP-SERVICE-KONKURSBEHANDLING": _400,
    "DSOP-SERVICE-FI-UTLEGG": _400,
    "DSOP-VERGE-SCOPE": ("A-DSOP-005", "A-DSOP-006", *_REFUSAL),
    "DSOP-KONKURS-CONFIRM": ("A-DSOP-032", "A-DSOP-005", "A-DSOP-006", *_400),
    "DSOP-POLITI-EO-SIGNATURE": ("A-DSOP-021", *_400),
    "DSOP-POLITI-EO-CONTENT": ("A-DSOP-021", "A-DSOP-038", *_400),
    "DSOP-POLITI-EO-REQUEST-MATCH": ("A-DSOP-021", *_400),
    "DSOP-ACC-403-EO-ENDPOINT": _REFUSAL,
}
# Rules whose checks rest wholly on an assumption (their only finding is a deviation).
ASSUMPTION_RULES = frozenset({"DSOP-PERIOD-END-VALUE"})


def basis_of(rule_id: str) -> str:
    """`published`, `assumption` or `mixed` (published checks, some deviating under A-ids)."""
    if rule_id in ASSUMPTION_RULES:
        return "assumption (" + ", ".join(DEVIATION_SITES[rule_id]) + ")"
    sites = DEVIATION_SITES.get(rule_id)
    return "mixed (" + ", ".join(sites) + ")" if sites else "published"


def proof_table(automated: Mapping[str, str], not_automated: Sequence[str]) -> str:
    """docs/dsop-rule-proofs.md: rule id -> its basis, the good runs and known-good variants it
    passes, the variants that fail it (warn at default, fail at strict: marked)."""
    import fnmatch

    from tests.e2e.dsop_good_variants import GOOD, good_table

    good: dict[str, list[str]] = {}

    for run in GOOD_RUNS:
        for rule_id in automated:
            if rule_id in run.not_applicable:
                continue
            if not run.rules or any(fnmatch.fnmatchcase(rule_id, p) for p in run.rules):
                good.setdefault(rule_id, []).append(run.name)
    lines = [
        "# DSOP Control v2.0: rule proofs",
        "",
        "Generated by `python -m tests.e2e.dsop_bad_variants` from `tests/e2e/dsop_bad_variants.py`;",
        "`tests/e2e/test_dsop_rules.py` checks that it is up to date and runs every row.",
        "",
        "Each automated rule passes in the known-good runs named (all in test",
        "`test_good_sandbox_passes`) and the known-good variants named (test",
        "`tests/e2e/test_dsop_good_variants.py`), and fails against each known-bad variant named",
        "(test `test_variant_fails_exactly_its_rules[<variant>]`, which runs exactly the rules the",
        "variant kills and asserts that exactly those fail, or warn for SHOULD rules). A bad",
        "variant marked *(assumption)* breaks only kontrakt's proposal: it warns at the default",
        "level and fails at `level: strict`.",
        "",
        "Basis: `published` - every check rests on the publisher's text (the source column of",
        "x-kontrakt-rules); `mixed` - the demand is published, some checks only compare with the",
        "A-ids named (a difference there is a deviation: warn at default, fail at strict);",
        "`assumption` - the rule's only check rests on the A-id.",
        "",
        "| rule | severity | basis | passes in | known-good variants | fails against (variant: what it does) |",
        "|---|---|---|---|---|---|",
    ]
    for rule_id, severity in automated.items():
        killers = [
            f"`{v.name}`: {v.description}" + (" *(assumption)*" if rule_id in v.deviates else "")
            for v in VARIANTS
            if rule_id in v.kills
        ]
        passes = ", ".join(f"`{g}`" for g in good.get(rule_id, ())) or "-"
        twins = [
            f"`{g.name}`" + (" (strict: fail)" if rule_id in g.strict else "")
            for g in GOOD
            if any(fnmatch.fnmatchcase(rule_id, p) for p in g.touches)
        ]
        lines.append(
            f"| {rule_id} | {severity} | {basis_of(rule_id)} | {passes} | "
            f"{', '.join(twins) or '-'} | {'<br>'.join(killers) or '-'} |"
        )
    lines += [
        "",
        "Good runs:",
        "",
        *(f"- `{g.name}`: {g.description}" for g in GOOD_RUNS),
        "",
        "Not applicable in the `sandbox` run (proven in the run named):",
        "",
        *(f"- {rule_id}: {why}" for rule_id, why in GOOD_RUNS[0].not_applicable.items()),
        "",
        "Detection of nothing to judge: against `empty-everywhere` (200 {} to every request)",
        "no rule passes (test `test_no_rule_passes_against_a_provider_that_says_nothing`): each",
        "is not-applicable, or fails where the manifest promises data (the accounts of",
        "party_with_accounts). The preflight stops `refuses-json-406` and `refuses-every-token`",
        "as cannot-run, naming the Accept header and the credentials (test",
        "`test_preflight_names_the_cause`).",
        "",
        *good_table(),
        f"Not automated ({len(not_automated)}; reported as such in every certify run): "
        + ", ".join(not_automated)
        + ".",
        "",
    ]
    return "\n".join(lines)


def render() -> str:
    from kontrakt.conformance.profile import load_profile

    profile = load_profile("dsop-control/v2.0")
    automated = {r.id: r.info.severity for r in profile.rules}
    return proof_table(automated, [i.id for i in profile.not_automated])


if __name__ == "__main__":  # pragma: no cover
    DOC.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC.relative_to(REPO)}")
