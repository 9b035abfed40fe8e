"""data.altinn.no (DAN) v1 conformance profile: one function per `x-kontrakt-rules` id.

Every code, HTTP status, lifecycle state and schema a rule checks is read from
`specs/dan/v1/openapi.yaml` (`x-kontrakt-error-catalogue`, `x-kontrakt-errors`,
`x-kontrakt-lifecycles.consent`, the component schemas); what a provider seeds (datasets,
subjects, keys, a consent-answer hook) comes from the manifest. Rules that need requests
the outside world cannot make (an identity provider going down, Altinn's consent page, the
12-month support of a superseded version, logging of consent use) have no function and are
reported as "not automated".

Credentials: the manifest's `auth` combines the subscription key (`type: api-key`, header
`Ocp-Apim-Subscription-Key`) with a token flow; rules drop one or the other per request.
`negative_auth.signing_key` (test identity providers only) lets the suite mint expired,
wrong-issuer, wrong-audience, scope-less and consumer-less tokens and tokens of another
organisation; without it those rules are `not-applicable`, unless the manifest names a separate
client for the role (`credentials.other_owner`, `credentials.wrong_scope`). The preflight lists
the caller's own accreditations (key and token, no test data).

Basis: a rule fails only on the publisher's text. Checks resting on kontrakt's own assumptions
deviate (`warn` at the default level, `fail` at strict): our required members of response
models (A-DAN-014), the gateway's status and code for a refused key (A-DAN-002), the error
description format (A-DAN-019), the reminders' path (A-DAN-001), POST and GET status lists
answering alike (A-DAN-011). The gateway's own rejections are never judged as Core's ErrorModel,
and a rule that finds nothing to judge (no JSON error body, no dataset) is `not-applicable`.

Writes: the accreditation rules create (and some delete) accreditations; under
`limits.read_only: true` they are `not-applicable`.

Fixtures, credential roles and capabilities are declared on the rule set below (`rules.fixture`,
`rules.role`, `rules.capability`): `kontrakt init dan/v1` and `kontrakt manifest-schema --profile
dan/v1` are written from them. Every dataset a rule names is one of the provider's own (a fixture
or its live `/public/metadata/evidencecodes`), never the spec's `x-kontrakt-datasets`, which
describes DAN's production catalogue and the sandbox's. The versioning rules compare the provider
with an earlier snapshot of itself (`kontrakt certify MANIFEST --snapshot-out snap.json`, then
`metadata_snapshot: snap.json` in the manifest).

Capabilities: the catalogue's (`auth`, `metadata`, `accreditations`, `consent`, `envelope`,
`errors`, `versioning`, `harvest`, `direct-harvest`, `service-context`, `reminders`,
`endpoint:<operationId>`); without a `capabilities` list every rule applies.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import re
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from kontrakt.conformance import auth as tokens
from kontrakt.conformance.manifest import ApiKeyAuth
from kontrakt.conformance.preflight import expect_plain
from kontrakt.conformance.probe import Probe, ProbeResponse
from kontrakt.conformance.registry import NotApplicable, RuleContext, RuleError, RuleSet, Warn
from kontrakt.conformance.spec import Spec
from kontrakt.diff.checks_dan import DAN_OVERLAY, check_dan
from kontrakt.diff.emit import Emitter
from kontrakt.diff.engine import all_rules
from kontrakt.diff.load import KIND_DAN_METADATA, Document
from kontrakt.diff.model import Change, Verdict

__all__ = ["rules"]

rules = RuleSet("dan/v1")
rule = rules.rule

CREATE, STATUS, STATUS_POST, HARVEST = (
    "createAccreditation",
    "getEvidenceStatus",
    "getEvidenceStatusByPost",
    "harvestEvidence",
)
DIRECT, DIRECT_POST, LIST, DELETE = (
    "directHarvest",
    "directHarvestByPost",
    "listAccreditations",
    "deleteAccreditation",
)
REMINDERS, SEND_REMINDER = "listConsentReminders", "sendConsentReminder"
META_EVIDENCE, META_CONTEXT, META_CONTEXTS = (
    "listEvidenceCodes",
    "listEvidenceCodesForServiceContext",
    "listServiceContexts",
)
META_STATUS, META_ERRORS = "listStatusCodes", "listErrorCodes"
METADATA = (META_EVIDENCE, META_CONTEXTS, META_STATUS, META_ERRORS)
UNKNOWN_ID = "00000000-0000-4000-8000-00000000dead"
BAD_QUERY = "[?"  # not a JMESPath expression
CAMEL = re.compile(r"^[a-z][A-Za-z0-9]*$")
NO_KEY = "no subscription key"
# Answers of the API Management gateway, not of DAN Core: the error-model rules do not judge them
# (FACTS §7: "APIM-level rejections ... come from APIM, not Core"; A-DAN-002).
GATEWAY = frozenset({NO_KEY})
# FACTS §3.8: "<source>-<n>" or "ES-<n>"; a source's name may itself hold hyphens.
DETAIL_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*-\d+$")


# --- the spec's data ----------------------------------------------------------------------------


def _codes(values: Iterable[str | int]) -> set[int]:
    return {int(v) for v in values}


def _rule_codes(ctx: RuleContext, rule_id: str | None = None) -> set[int]:
    """The codes a rule names (catalogue entry, else its error uses)."""
    info = ctx.spec.rules[rule_id] if rule_id else ctx.rule
    found = _codes(info.codes) or _codes(ctx.spec.error_codes(rule=info.id))
    if not found:
        raise RuleError(f"{info.id} names no error code in the spec")
    return found


def _lifecycle(spec: Spec) -> Mapping[str, Any]:
    consent: Mapping[str, Any] = (spec.extension("lifecycles") or {})["consent"]
    return consent


def _state_code(spec: Spec, state: str) -> int:
    return int(_lifecycle(spec)["states"][state]["code"])


def _unlisted_status_codes(spec: Spec) -> set[int]:
    """The lifecycle codes /statuscodes leaves out: the consent states marked `listed: false`."""
    states = _lifecycle(spec)["states"]
    return {int(s["code"]) for s in states.values() if s.get("listed") is False}


def _listed_status_codes(spec: Spec) -> dict[int, str]:
    states = _lifecycle(spec)["states"]
    hidden = _unlisted_status_codes(spec)
    return {int(s["code"]): name for name, s in states.items() if int(s["code"]) not in hidden}


def _catalogue(spec: Spec) -> dict[int, Mapping[str, Any]]:
    return {int(k): v for k, v in (spec.error_catalogue.get("codes") or {}).items()}


def _schema(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _valid(ctx: RuleContext, resp: ProbeResponse, operation: str) -> Any:
    """The body, validated against the operation's response schema. A member missing from our
    required lists is a deviation (A-DAN-014: DAN's models mark few members required); any other
    schema problem (a wrong type, an unknown enum value) is a failure."""
    body = resp.json()
    schema = ctx.spec.response_schema(operation)
    failed: list[str] = []
    missing: list[str] = []
    for error in ctx.spec.validator(schema).iter_errors(body):
        where = "/" + "/".join(str(p) for p in error.absolute_path)
        (missing if error.validator == "required" else failed).append(f"{where}: {error.message}")
    if failed:
        raise ctx.fail(f"{operation} body violates its schema: {'; '.join(failed[:5])}", resp)
    if missing:
        ctx.deviate("A-DAN-014", f"{operation}: {'; '.join(missing[:3])}", resp)
    return body


def _problems(ctx: RuleContext, schema_name: str, body: Any) -> list[str]:
    validator = ctx.spec.validator(_schema(schema_name))
    return [
        "/" + "/".join(str(p) for p in e.absolute_path) + f": {e.message}"
        for e in validator.iter_errors(body)
    ][:5]


# --- fixtures and credentials -------------------------------------------------------------------


def _fixture(ctx: RuleContext, name: str, reason: str) -> Any:
    value = ctx.fixture(name)
    if value in (None, "", {}, []):
        raise NotApplicable(f"the manifest gives an empty fixture {name!r} ({reason})")
    return value


def _dataset(ctx: RuleContext) -> str:
    """The provider's own synchronous, consent-free dataset (never one of our spec's)."""
    return str(ctx.fixture("dataset"))


def _consent_dataset(ctx: RuleContext) -> str:
    return str(_fixture(ctx, "consent_dataset", "a dataset with a consent requirement"))


def _subject(ctx: RuleContext) -> str:
    return str(ctx.fixture("subject"))


def _requestor(ctx: RuleContext) -> str:
    if ctx.has_fixture("requestor") and ctx.fixture("requestor"):
        return str(ctx.fixture("requestor"))
    consumer = tokens.claims_of(ctx.credentials.token()).get("consumer")
    ident = consumer.get("ID") if isinstance(consumer, Mapping) else None
    if isinstance(ident, str) and ":" in ident:
        return ident.split(":", 1)[1]
    raise RuleError("the token has no consumer claim to take the requestor from; set `requestor`")


def _key_header(ctx: RuleContext) -> str:
    for config in ctx.manifest.auth:
        if isinstance(config, ApiKeyAuth):
            return config.header
    scheme = ctx.spec.pointer("/components/securitySchemes/SubscriptionKey")
    return str(scheme["name"])


def _key_only(ctx: RuleContext) -> dict[str, str | None]:
    return {"Authorization": None}


def _token_only(ctx: RuleContext) -> dict[str, str | None]:
    return {_key_header(ctx): None}


def _writes(ctx: RuleContext) -> None:
    if ctx.manifest.limits.read_only:
        raise NotApplicable("limits.read_only: this rule creates accreditations")


def _minter(ctx: RuleContext) -> tuple[tokens.Minter, dict[str, Any], str | None]:
    """The signing key's minter, the real token's claims and kid (proven to be trusted)."""
    minter = ctx.credentials.minter
    if minter is None:
        raise NotApplicable("needs negative_auth.signing_key to mint correctly signed tokens")
    template = ctx.credentials.token()
    claims = {k: v for k, v in tokens.claims_of(template).items() if k != "jti"}
    kid = tokens.header_of(template).get("kid")
    control = ctx.probe.request("GET", "/accreditations", auth=minter.valid(template))
    if control.status != 200:
        raise RuleError(
            f"a token minted with negative_auth.signing_key is refused (HTTP {control.status})"
        )
    return minter, claims, kid


def _mint(ctx: RuleContext, **changes: Any) -> str:
    """A correctly signed token like the real one with `changes` (None removes a claim)."""
    minter, claims, kid = _minter(ctx)
    now = int(dt.datetime.now(dt.UTC).timestamp())
    merged = {**claims, "iat": now, "exp": now + 120, **changes}
    return minter.mint({k: v for k, v in merged.items() if v is not None}, kid=kid)


def _other_org_token(ctx: RuleContext) -> str:
    """A token of another organisation: the `other_owner` client, else one minted with the
    signing key for `other_organisation` (A-DAN-027)."""
    if ctx.has_role("other_owner"):
        return ctx.role_token("other_owner")
    if ctx.credentials.minter is None:
        raise NotApplicable(
            "needs credentials.other_owner (a client of another organisation), or "
            "negative_auth.signing_key with fixtures.other_organisation"
        )
    other = str(_fixture(ctx, "other_organisation", "another organisation's token"))
    return _mint(ctx, consumer={"authority": "iso6523-actorid-upis", "ID": f"0192:{other}"})


# Norwegian organisation numbers (FACTS §3.4): nine digits, MOD11 with weights 3,2,7,6,5,4,3,2.
MOD11_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)


def _mod11_digit(first8: str) -> int | None:
    """The check digit of eight digits, or None when no digit makes the number valid."""
    rest = sum(int(d) * w for d, w in zip(first8, MOD11_WEIGHTS, strict=True)) % 11
    digit = (11 - rest) % 11
    return None if digit == 10 else digit


def _wrong_check_digit(ctx: RuleContext) -> str | None:
    """An organisation number the suite makes from a valid one (the subject, else the requestor)
    by changing its check digit: the CCR cannot know it and MOD11 must refuse it (DAN 1004)."""
    for candidate in (ctx.fixture("subject"), ctx.fixtures.get("requestor")):
        number = str(candidate or "")
        if len(number) == 9 and number.isdigit() and _mod11_digit(number[:8]) == int(number[8]):
            return number[:8] + str((int(number[8]) + 1) % 10)
    return None


# --- requests -----------------------------------------------------------------------------------


def _is_json(resp: ProbeResponse) -> bool:
    """A JSON media type (application/json, or any structured `+json` type)."""
    return resp.content_type == "application/json" or resp.content_type.endswith("+json")


def _body(resp: ProbeResponse) -> Any:
    return resp.json()


def _code(resp: ProbeResponse) -> int | None:
    try:
        body = resp.json()
    except Exception:
        return None
    found = [c for c in (body.get("code"),) if isinstance(c, int)] if isinstance(body, dict) else []
    return found[0] if found else None


def _expect_error(ctx: RuleContext, resp: ProbeResponse, codes: set[int], what: str) -> None:
    """The answer carries one of `codes` with the catalogue's HTTP status for it."""
    code = _code(resp)
    statuses = {s for c in codes for s in ctx.spec.code_status(c)}
    if code not in codes:
        wanted = ", ".join(str(c) for c in sorted(codes))
        raise ctx.fail(
            f"{what}: expected code {wanted} (HTTP {'/'.join(map(str, sorted(statuses)))}), "
            f"got HTTP {resp.status} with code {code}",
            resp,
        )
    if resp.status not in ctx.spec.code_status(code):
        raise ctx.fail(
            f"{what}: code {code} answered HTTP {resp.status}, the catalogue maps it to "
            f"{'/'.join(map(str, ctx.spec.code_status(code)))}",
            resp,
        )


def _expect_ok(ctx: RuleContext, resp: ProbeResponse, what: str, *statuses: int) -> None:
    if resp.status not in (statuses or (200,)):
        raise ctx.fail(f"{what}: expected HTTP {statuses or 200}, got {resp.status}", resp)


def _create(
    ctx: RuleContext,
    datasets: Iterable[str],
    *,
    consent: bool = False,
    subject: str | None = None,
    auth: bool | str = True,
    **fields: Any,
) -> ProbeResponse:
    _writes(ctx)
    body = {
        "requestor": _requestor(ctx),
        "subject": subject or _subject(ctx),
        "evidenceRequests": [
            {"evidenceCodeName": name, **({"requestConsent": True} if consent else {})}
            for name in datasets
        ],
        **fields,
    }
    return ctx.probe.request(
        "POST",
        "/authorization",
        json_body={k: v for k, v in body.items() if v is not None},
        auth=auth,
    )


def _created(ctx: RuleContext, datasets: Iterable[str], **kwargs: Any) -> dict[str, Any]:
    resp = _create(ctx, datasets, **kwargs)
    if resp.status != 200:
        raise ctx.fail(f"creating an accreditation answered HTTP {resp.status}", resp)
    body = resp.json()
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        raise ctx.fail("the created accreditation has no id", resp)
    body["__response__"] = resp
    return body


def _statuses(ctx: RuleContext, accreditation_id: str) -> tuple[dict[str, int], ProbeResponse]:
    resp = ctx.probe.request("GET", f"/evidence/{accreditation_id}")
    _expect_ok(ctx, resp, "the status list")
    body = resp.json()
    if not isinstance(body, list):
        raise ctx.fail("the status list is not an array", resp)
    found = {}
    for item in body:
        if isinstance(item, dict) and isinstance(item.get("status"), dict):
            found[str(item.get("evidenceCodeName"))] = item["status"].get("code")
    return found, resp


def _harvest(ctx: RuleContext, accreditation_id: str, dataset: str, **params: str) -> ProbeResponse:
    return ctx.probe.request(
        "GET", f"/evidence/{accreditation_id}/{dataset}", params=params or None
    )


def _direct(ctx: RuleContext, dataset: str | None = None, **params: str) -> ProbeResponse:
    params.setdefault("subject", _subject(ctx))
    return ctx.probe.request("GET", f"/directharvest/{dataset or _dataset(ctx)}", params=params)


def _answer_consent(ctx: RuleContext, accreditation_id: str, state: str) -> ProbeResponse:
    hook = ctx.fixture("consent_answer") if ctx.has_fixture("consent_answer") else None
    if not isinstance(hook, Mapping) or not hook.get("url"):
        raise NotApplicable(
            "the manifest names no consent_answer hook: answering a consent request needs the "
            "subject's representative in Altinn"
        )
    bodies = hook.get("bodies") or {}
    if state not in bodies:
        raise NotApplicable(f"the consent_answer hook has no body for {state}")
    url = urljoin(
        ctx.manifest.base_url + "/", str(hook["url"]).format(accreditationId=accreditation_id)
    )
    resp = ctx.probe.request(
        str(hook.get("method", "POST")), url, json_body=bodies[state], auth=False
    )
    if resp.status >= 300:
        raise RuleError(f"the consent_answer hook refused the answer {state} (HTTP {resp.status})")
    return resp


# --- a shared corpus of error answers -----------------------------------------------------------


@dataclass
class Corpus:
    """Error answers provoked once per run and judged by the error-model rules."""

    errors: list[tuple[str, ProbeResponse]] = field(default_factory=list)
    ok: list[tuple[str, ProbeResponse]] = field(default_factory=list)
    error_texts: dict[int, str] | None = None


_CORPORA: weakref.WeakKeyDictionary[Probe, Corpus] = weakref.WeakKeyDictionary()


def _corpus(ctx: RuleContext) -> Corpus:
    if ctx.probe in _CORPORA:
        return _CORPORA[ctx.probe]
    corpus = Corpus()
    probe = ctx.probe
    # Shared by several rules: the fixtures are read from the manifest as they are (each rule that
    # uses the corpus is declared for them).
    dataset = str(ctx.fixtures.get("dataset", ""))
    subject = ctx.fixtures.get("subject")
    send: list[tuple[str, Callable[[], ProbeResponse]]] = [
        ("no token", lambda: probe.request("GET", "/accreditations", headers=_key_only(ctx))),
        (
            "a tampered token",
            lambda: probe.request(
                "GET", "/accreditations", auth=tokens.altered_signature(ctx.credentials.token())
            ),
        ),
        (NO_KEY, lambda: probe.request("GET", "/accreditations", headers=_token_only(ctx))),
        ("an unknown accreditation", lambda: probe.request("GET", f"/evidence/{UNKNOWN_ID}")),
        (
            "an unknown dataset",
            lambda: probe.request(
                "GET", "/directharvest/KontraktNoSuchDataset", params={"subject": str(subject)}
            ),
        ),
        (
            "a bad query",
            lambda: probe.request(
                "GET", "/public/metadata/statuscodes", params={"query": BAD_QUERY}
            ),
        ),
        (
            "an unparseable subject",
            lambda: probe.request("GET", f"/directharvest/{dataset}", params={"subject": "x1"}),
        ),
    ]
    if not ctx.manifest.limits.read_only:
        send += [
            (
                "an unreadable authorization request",
                lambda: probe.request(
                    "POST",
                    "/authorization",
                    content=b"{not json",
                    headers={"Content-Type": "application/json"},
                ),
            ),
            (
                "no evidence requests",
                lambda: probe.request(
                    "POST",
                    "/authorization",
                    json_body={
                        "requestor": _requestor(ctx),
                        "subject": subject,
                        "evidenceRequests": [],
                    },
                ),
            ),
        ]
    for label, call in send:
        corpus.errors.append((label, call()))
    for operation in METADATA:
        path = ctx.spec.operation(operation).path
        corpus.ok.append((operation, probe.request("GET", path, headers=_key_only(ctx))))
    sources = ctx.fixtures.get("source_error_subjects")
    if isinstance(sources, Mapping):
        for code, who in sources.items():
            corpus.errors.append(
                (
                    f"a source error {code}",
                    probe.request("GET", f"/directharvest/{dataset}", params={"subject": str(who)}),
                )
            )
    _CORPORA[ctx.probe] = corpus
    return corpus


def _core_errors(corpus: Corpus) -> list[tuple[str, ProbeResponse]]:
    """The error answers DAN Core produced (the gateway's rejections left out)."""
    return [(label, resp) for label, resp in corpus.errors if label not in GATEWAY]


def _json_errors(
    corpus: Corpus, ctx: RuleContext | None = None
) -> list[tuple[str, ProbeResponse, dict[str, Any]]]:
    """Core's error answers whose body is a JSON object. With `ctx`, none makes the rule
    `not-applicable`: an HTML 500 page has no members to judge, so it must not pass a body check."""
    found = []
    for label, resp in _core_errors(corpus):
        try:
            body = resp.json()
        except Exception:
            continue
        if isinstance(body, dict):
            found.append((label, resp, body))
    if ctx is not None:
        ctx.judged(found, "error answers with a JSON body")
        ctx.note(f"{len(found)} of {len(corpus.errors)} error answers judged")
    return found


def _error_texts(ctx: RuleContext) -> dict[int, str]:
    corpus = _corpus(ctx)
    if corpus.error_texts is None:
        resp = ctx.probe.request("GET", "/public/metadata/errorcodes", headers=_key_only(ctx))
        texts = {}
        if resp.status == 200 and isinstance(resp.json(), list):
            for item in resp.json():
                if isinstance(item, dict) and isinstance(item.get("code"), int):
                    texts[item["code"]] = str(item.get("description", ""))
        corpus.error_texts = texts
    return corpus.error_texts


# --- authentication, gateway, service context ---------------------------------------------------


def _gateway_refusal(ctx: RuleContext, resp: ProbeResponse, what: str) -> None:
    """A request the gateway must refuse for its subscription key. Refused (4xx) is the
    publisher's demand; 401 and, when the body carries one, code 1023 are kontrakt's reading of
    the unpublished gateway answer (A-DAN-002)."""
    if resp.status < 400 or resp.status >= 500:
        raise ctx.fail(f"{what}: expected a refusal, got HTTP {resp.status}", resp)
    statuses = ctx.spec.error_statuses(rule="DAN-AUTH-SUBSCRIPTION-KEY") or {401}
    if resp.status not in statuses:
        ctx.deviate("A-DAN-002", f"{what}: refused with HTTP {resp.status}, not 401", resp)
    code = _code(resp)
    codes = _codes(ctx.spec.error_codes(rule="DAN-AUTH-SUBSCRIPTION-KEY"))
    if code is not None and code not in codes:
        ctx.deviate("A-DAN-002", f"{what}: the body names code {code}, not {sorted(codes)}", resp)
    elif code is None:
        ctx.reading("the gateway refuses a missing or unknown key with a body of its own")


@rule("DAN-AUTH-SUBSCRIPTION-KEY")
def subscription_key(ctx: RuleContext) -> None:
    """A missing or unknown key is refused on protected operations; the public metadata may be
    served with or without one (DOCS: the metadata API needs no authentication or authorization;
    FACTS §1: the key on every call)."""
    key = _key_header(ctx)
    for headers, what in (
        ({key: None}, "a protected operation without the key"),
        ({key: "kontrakt-not-a-key"}, "a protected operation with an unknown key"),
    ):
        _gateway_refusal(ctx, ctx.probe.request("GET", "/accreditations", headers=headers), what)
    resp = ctx.probe.request(
        "GET", "/public/metadata/errorcodes", headers={key: None, "Authorization": None}
    )
    if resp.status == 200:
        ctx.reading("the public metadata is served without a subscription key")
    else:
        _gateway_refusal(ctx, resp, "metadata without the key")
        ctx.reading("the public metadata, too, needs the subscription key")


@rule("DAN-AUTH-KEY-AND-TOKEN")
def key_and_token(ctx: RuleContext) -> None:
    both = ctx.probe.request("GET", "/accreditations")
    _expect_ok(ctx, both, "the key and a token together")
    alone = ctx.probe.request("GET", "/accreditations", headers=_key_only(ctx))
    if alone.status != 401:
        raise ctx.fail(f"the key alone must be refused with 401, got {alone.status}", alone)
    # Without the key the gateway refuses before Core runs: its status is APIM's (A-DAN-002).
    token_only = ctx.probe.request("GET", "/accreditations", headers=_token_only(ctx))
    _gateway_refusal(ctx, token_only, "a token alone")


@rule("DAN-AUTH-TOKEN-MISSING-401")
def token_missing(ctx: RuleContext) -> None:
    codes = _rule_codes(ctx)
    checks: list[tuple[str, str, Any]] = [
        ("GET", "/accreditations", None),
        ("GET", f"/evidence/{UNKNOWN_ID}", None),
    ]
    checks.append(("GET", f"/directharvest/{_dataset(ctx)}", None))
    if not ctx.manifest.limits.read_only:
        checks.append(("POST", "/authorization", {"requestor": "x"}))
    for method, path, body in checks:
        resp = ctx.probe.request(method, path, headers=_key_only(ctx), json_body=body)
        _expect_error(ctx, resp, codes, f"{method} {path} without a token")


@rule("DAN-AUTH-TOKEN-INVALID-401")
def token_invalid(ctx: RuleContext) -> None:
    codes = _rule_codes(ctx)
    real = ctx.credentials.token()
    bad = {
        "an altered signature": tokens.altered_signature(real),
        "alg none": tokens.alg_none(real),
        "a truncated signature": tokens.truncated(real),
        "edited claims": tokens.edited_claims(real),
    }
    if ctx.credentials.minter is not None:
        bad["an expired lifetime"] = ctx.credentials.minter.expired(real)
    for what, token in bad.items():
        resp = ctx.probe.request("GET", "/accreditations", auth=token)
        _expect_error(ctx, resp, codes, f"a token with {what}")


def _challenge(ctx: RuleContext) -> tuple[str, str]:
    """(the realm challenge, the invalid-token addition) from the spec's WWW-Authenticate."""
    example = str(ctx.spec.pointer("/components/headers/WwwAuthenticate/example"))
    realm, _, extra = example.partition(",")
    return realm.strip(), extra.strip()


CHALLENGE_PARAM = re.compile(
    r'\s*([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]+))\s*,?'
)


def _challenge_params(value: str) -> tuple[str, dict[str, str]] | None:
    """(scheme, parameters) of one RFC 7235 challenge; parameter names case-insensitive, their
    order, spacing and quoting free (RFC 6750 §3)."""
    scheme, _, rest = value.strip().partition(" ")
    params: dict[str, str] = {}
    position = 0
    rest = rest.strip()
    while position < len(rest):
        match = CHALLENGE_PARAM.match(rest, position)
        if match is None or match.end() == position:
            return None
        params[match.group(1).lower()] = (
            match.group(2) if match.group(2) is not None else match.group(3)
        )
        position = match.end()
    return scheme, params


@rule("DAN-AUTH-WWW-AUTHENTICATE")
def www_authenticate(ctx: RuleContext) -> None:
    realm, extra = _challenge(ctx)
    wanted_realm = _challenge_params(realm)
    wanted_extra = _challenge_params("Bearer " + extra)
    if wanted_realm is None or wanted_extra is None:
        raise RuleError("components/headers/WwwAuthenticate/example is no challenge")
    missing = ctx.probe.request("GET", "/accreditations", headers=_key_only(ctx))
    invalid = ctx.probe.request(
        "GET", "/accreditations", auth=tokens.altered_signature(ctx.credentials.token())
    )
    for resp, demanded in (
        (missing, wanted_realm[1]),
        (invalid, {**wanted_realm[1], **wanted_extra[1]}),
    ):
        if resp.status != 401:
            raise ctx.fail(f"expected a 401, got {resp.status}", resp)
        header = resp.header("www-authenticate") or ""
        parsed = _challenge_params(header)
        if parsed is None or parsed[0].lower() != wanted_realm[0].lower():
            raise ctx.fail(f"WWW-Authenticate {header!r} is no Bearer challenge", resp)
        wrong = {k: v for k, v in demanded.items() if parsed[1].get(k) != v}
        if wrong:
            raise ctx.fail(
                f"WWW-Authenticate {header!r} lacks {', '.join(f'{k}={v!r}' for k, v in wrong.items())}",
                resp,
            )


@rule("DAN-AUTH-ISSUER")
def token_issuer(ctx: RuleContext) -> None:
    codes = _rule_codes(ctx)
    wrong = _mint(ctx, iss=tokens.WRONG_ISSUER)
    resp = ctx.probe.request("GET", "/accreditations", auth=wrong)
    _expect_error(ctx, resp, codes, "a correctly signed token from an untrusted issuer")
    other_aud = _mint(ctx, aud=tokens.WRONG_AUDIENCE)
    resp = ctx.probe.request("GET", "/accreditations", auth=other_aud)
    _expect_ok(ctx, resp, "a token for another audience (DAN does not check the audience)")


@rule("DAN-AUTH-SCOPE-PREFIX")
def scope_prefix(ctx: RuleContext) -> None:
    codes = _rule_codes(ctx)
    if ctx.has_role("wrong_scope"):
        token = ctx.role_token("wrong_scope")
    else:
        token = _mint(ctx, scope="kontrakt:not-a-dan-scope")
    resp = ctx.probe.request("GET", "/accreditations", auth=token)
    _expect_error(ctx, resp, codes, "a token without an altinn:dataaltinnno or dan: scope")
    if ctx.credentials.minter is None:
        ctx.note("no negative_auth.signing_key: a token holding only a dan: scope was not tried")
        return
    prefixed = _mint(ctx, scope="dan:kontrakt-conformance")
    resp = ctx.probe.request("GET", "/accreditations", auth=prefixed)
    _expect_ok(ctx, resp, "a token whose only scope starts with dan:")


@rule("DAN-AUTH-CONSUMER-CLAIM")
def consumer_claim(ctx: RuleContext) -> None:
    codes = _rule_codes(ctx)
    resp = ctx.probe.request("GET", "/accreditations", auth=_mint(ctx, consumer=None))
    _expect_error(ctx, resp, codes, "a token without a consumer claim")


@rule("DAN-AUTH-METADATA-KEY-ONLY")
def metadata_key_only(ctx: RuleContext) -> None:
    for operation in (op for op in ctx.spec.operations if op.id in METADATA):
        resp = ctx.probe.request("GET", operation.path, headers=_key_only(ctx))
        _expect_ok(ctx, resp, f"{operation.id} with the key and no token")
        if not isinstance(resp.json(), list):
            raise ctx.fail(f"{operation.id} with the key and no token answers no list", resp)


@rule("DAN-CTX-DATASET-IN-CONTEXT")
def dataset_in_context(ctx: RuleContext) -> None:
    outside = _fixture(ctx, "outside_context", "a key and a dataset outside its service context")
    if not isinstance(outside, Mapping) or not outside.get("subscription_key"):
        raise RuleError("fixture outside_context needs subscription_key and dataset")
    headers = {_key_header(ctx): str(outside["subscription_key"])}
    dataset = str(outside["dataset"])
    codes = _rule_codes(ctx)
    resp = ctx.probe.request(
        "GET", f"/directharvest/{dataset}", params={"subject": _subject(ctx)}, headers=headers
    )
    _expect_error(ctx, resp, codes, f"direct harvest of {dataset} outside the key's context")
    if not ctx.manifest.limits.read_only:
        body = {
            "requestor": _requestor(ctx),
            "subject": _subject(ctx),
            "evidenceRequests": [{"evidenceCodeName": dataset}],
        }
        resp = ctx.probe.request("POST", "/authorization", json_body=body, headers=headers)
        _expect_error(ctx, resp, codes, f"an accreditation for {dataset} outside the context")


@rule("DAN-CTX-SERVICE-CONTEXT")
def service_context(ctx: RuleContext) -> None:
    key = str(_fixture(ctx, "unbound_subscription_key", "a key without a service context"))
    codes = _rule_codes(ctx)
    resp = ctx.probe.request("GET", "/accreditations", headers={_key_header(ctx): key})
    _expect_error(ctx, resp, codes, "a key whose product has no service context")


# --- the accreditation flow ----------------------------------------------------------------------


@rule("DAN-FLOW-ACCREDITATION")
def accreditation_flow(ctx: RuleContext) -> None:
    """create -> status Available -> harvest -> listed -> delete -> gone."""
    dataset = _dataset(ctx)
    created = _created(ctx, [dataset])
    accreditation = created["id"]
    found, resp = _statuses(ctx, accreditation)
    available = _state_code(ctx.spec, "Available")
    if found.get(dataset) != available:
        raise ctx.fail(f"{dataset} reports status {found.get(dataset)}, not {available}", resp)
    harvested = _harvest(ctx, accreditation, dataset)
    _expect_ok(ctx, harvested, "harvesting the accreditation's dataset")
    listed = ctx.probe.request("GET", "/accreditations")
    _expect_ok(ctx, listed, "listing accreditations")
    if accreditation not in [a.get("id") for a in listed.json() if isinstance(a, dict)]:
        raise ctx.fail("the new accreditation is not listed", listed)
    deleted = ctx.probe.request("DELETE", f"/accreditations/{accreditation}")
    _expect_ok(ctx, deleted, "deleting the accreditation", 204)
    gone = ctx.probe.request("GET", f"/evidence/{accreditation}")
    _expect_error(ctx, gone, _rule_codes(ctx, "DAN-ACCR-UNKNOWN-1002"), "a deleted accreditation")


@rule("DAN-ACCR-CREATE-200")
def create_200(ctx: RuleContext) -> None:
    resp = _create(ctx, [_dataset(ctx)])
    ctx.expect_status(resp, 200)
    _valid(ctx, resp, CREATE)


@rule("DAN-ACCR-LOCATION-HEADER")
def location_header(ctx: RuleContext) -> None:
    created = _created(ctx, [_dataset(ctx)])
    resp: ProbeResponse = created["__response__"]
    location = resp.header("location")
    if not location:
        raise ctx.fail("the 200 carries no Location header", resp)
    wanted = urlsplit(ctx.manifest.base_url).path.rstrip("/") + f"/evidence/{created['id']}"
    if urlsplit(urljoin(ctx.manifest.base_url + "/", location)).path != wanted:
        raise ctx.fail(f"Location {location!r} is not the URL of {wanted}", resp)


@rule("DAN-ACCR-BODY-1014")
def body_1014(ctx: RuleContext) -> None:
    _writes(ctx)
    codes = _rule_codes(ctx)
    for content, what in ((b"{not json", "an unreadable body"), (b"", "no body")):
        resp = ctx.probe.request(
            "POST", "/authorization", content=content, headers={"Content-Type": "application/json"}
        )
        _expect_error(ctx, resp, codes, what)


def _create_error(ctx: RuleContext, what: str, **fields: Any) -> None:
    base = {
        "requestor": _requestor(ctx),
        "subject": _subject(ctx),
        "evidenceRequests": [{"evidenceCodeName": _dataset(ctx)}],
    }
    base.update(fields)
    body = {k: v for k, v in base.items() if v is not None}
    resp = ctx.probe.request("POST", "/authorization", json_body=body)
    _expect_error(ctx, resp, _rule_codes(ctx), what)


@rule("DAN-ACCR-REQUESTOR-1001")
def requestor_1001(ctx: RuleContext) -> None:
    _writes(ctx)
    _create_error(ctx, "a missing requestor", requestor=None)
    _create_error(ctx, "an unparseable requestor", requestor="not-a-party")


@rule("DAN-ACCR-SUBJECT-1004")
def subject_1004(ctx: RuleContext) -> None:
    _writes(ctx)
    _create_error(ctx, "an unparseable subject", subject="310000000-x")
    wrong = _wrong_check_digit(ctx)
    if wrong is not None:
        _create_error(
            ctx, f"organisation number {wrong} (a wrong MOD11 check digit)", subject=wrong
        )
    else:
        ctx.note("no nine-digit subject or requestor to derive a wrong check digit from")
    for name in ("unknown_subject", "deleted_subject"):
        if ctx.has_fixture(name):
            _create_error(ctx, f"the {name.replace('_', ' ')}", subject=str(ctx.fixture(name)))
        else:
            ctx.note(f"fixture {name} not given: that case was not checked")


@rule("DAN-ACCR-LEGAL-BASIS-1008")
def legal_basis_1008(ctx: RuleContext) -> None:
    _writes(ctx)
    basis = {"id": "lb-1", "type": "espd", "content": "<espd/>"}
    _create_error(ctx, "an unreferenced legal basis", legalBasisList=[basis])
    incomplete = {"id": "lb-2", "type": "espd", "content": ""}
    _create_error(
        ctx,
        "a legal basis without content",
        legalBasisList=[incomplete],
        evidenceRequests=[{"evidenceCodeName": _dataset(ctx), "legalBasisId": "lb-2"}],
    )


@rule("DAN-ACCR-EVIDENCE-REQUESTS-1006")
def evidence_requests_1006(ctx: RuleContext) -> None:
    _writes(ctx)
    dataset = _dataset(ctx)
    _create_error(ctx, "an empty evidenceRequests list", evidenceRequests=[])
    twice = [{"evidenceCodeName": dataset}, {"evidenceCodeName": dataset}]
    _create_error(ctx, "the same dataset twice", evidenceRequests=twice)


@rule("DAN-ACCR-UNKNOWN-DATASET-1007")
def unknown_dataset_1007(ctx: RuleContext) -> None:
    codes = _rule_codes(ctx)
    if not ctx.manifest.limits.read_only:
        _create_error(
            ctx, "an unknown dataset", evidenceRequests=[{"evidenceCodeName": "KontraktNoSuch"}]
        )
    resp = _direct(ctx, "KontraktNoSuchDataset")
    _expect_error(ctx, resp, codes, "direct harvest of an unknown dataset")


def _parameter_free(ctx: RuleContext, dataset: str) -> bool:
    resp = ctx.probe.request("GET", "/public/metadata/evidencecodes", headers=_key_only(ctx))
    if resp.status != 200 or not isinstance(resp.json(), list):
        raise RuleError("the dataset list cannot be read to learn the dataset's parameters")
    entry = next((e for e in resp.json() if e.get("evidenceCodeName") == dataset), None)
    return entry is not None and not entry.get("parameters")


@rule("DAN-ACCR-PARAMETERS-1017")
def parameters_1017(ctx: RuleContext) -> None:
    dataset = _dataset(ctx)
    if not _parameter_free(ctx, dataset):
        raise NotApplicable(f"{dataset} defines parameters; give a parameter-free `dataset`")
    given = [{"evidenceParamName": "KontraktUnexpected", "value": "1"}]
    if not ctx.manifest.limits.read_only:
        _create_error(
            ctx,
            "a parameter for a dataset that takes none",
            evidenceRequests=[{"evidenceCodeName": dataset, "parameters": given}],
        )
    resp = _direct(ctx, dataset, KontraktUnexpected="1")
    _expect_error(ctx, resp, _rule_codes(ctx), "direct harvest with an unexpected parameter")


@rule("DAN-ACCR-VALIDTO-1018")
def valid_to_1018(ctx: RuleContext) -> None:
    _writes(ctx)
    now = dt.datetime.now(dt.UTC)
    past = (now - dt.timedelta(days=1)).isoformat()
    far = (now + dt.timedelta(days=365 * 20)).isoformat()
    _create_error(ctx, "a validTo in the past", validTo=past)
    _create_error(ctx, "a validTo twenty years ahead", validTo=far)


def _default_valid_days(spec: Spec) -> int:
    """The validity of an accreditation without validTo (`x-kontrakt-default-offset` of validTo)."""
    validto = spec.pointer("/components/schemas/AuthorizationRequest/properties/validTo")
    offset = validto.get("x-kontrakt-default-offset") or {}
    if not isinstance(offset.get("days"), int):
        raise RuleError("AuthorizationRequest.validTo has no x-kontrakt-default-offset days")
    return int(offset["days"])


@rule("DAN-ACCR-VALIDTO-DEFAULT")
def valid_to_default(ctx: RuleContext) -> None:
    dataset = _dataset(ctx)
    resp = ctx.probe.request("GET", "/public/metadata/evidencecodes", headers=_key_only(ctx))
    entry: dict[str, Any] = next(
        (e for e in resp.json() if e.get("evidenceCodeName") == dataset), {}
    )
    # FACTS §2.1 step 8: 90 days, or the lowest maxValidDays - of the requested datasets or of
    # every registered one; both readings are accepted.
    registered: list[int] = [
        e["maxValidDays"]
        for e in resp.json()
        if isinstance(e, dict) and isinstance(e.get("maxValidDays"), int)
    ]
    readings = {
        _default_valid_days(ctx.spec): "the default validity",
        **({min(registered): "the lowest maxValidDays of all datasets"} if registered else {}),
        **(
            {entry["maxValidDays"]: "the requested dataset's maxValidDays"}
            if isinstance(entry.get("maxValidDays"), int)
            else {}
        ),
    }
    created = _created(ctx, [dataset])
    issued = dt.datetime.fromisoformat(created["issued"])
    valid_to = dt.datetime.fromisoformat(created["validTo"])
    for days, reading in readings.items():
        if abs((valid_to - issued) - dt.timedelta(days=days)) <= dt.timedelta(minutes=5):
            ctx.reading(f"without validTo the accreditation runs {days} days ({reading})")
            return
    wanted = " or ".join(str(d) for d in sorted(readings))
    raise ctx.fail(
        f"without validTo the accreditation runs {valid_to - issued}, not {wanted} days",
        created["__response__"],
    )


@rule("DAN-ACCR-LANGUAGE-1014")
def language_1014(ctx: RuleContext) -> None:
    _writes(ctx)
    _create_error(ctx, "a languageCode outside the allowed set", languageCode="xx-kontrakt")
    created = _created(ctx, [_dataset(ctx)], languageCode="EN")
    if created.get("languageCode") != "en":
        raise ctx.fail(
            f"languageCode EN is stored as {created.get('languageCode')!r}, not lower-cased",
            created["__response__"],
        )


@rule("DAN-ACCR-CONSENT-REQUEST")
def consent_request(ctx: RuleContext) -> None:
    created = _created(ctx, [_consent_dataset(ctx)], consent=True)
    if not (created.get("altinnConsentUrl") or created.get("altinn3ConsentId")):
        raise ctx.fail(
            "a consent dataset requested with requestConsent true produced no consent request "
            "(neither altinnConsentUrl nor altinn3ConsentId)",
            created["__response__"],
        )


def _hidden_names(ctx: RuleContext) -> set[str]:
    """Every `x-kontrakt-hidden-members` name of the component schemas, case-folded."""
    schemas = ctx.spec.pointer("/components/schemas")
    names = {
        str(name).casefold()
        for schema in schemas.values()
        if isinstance(schema, Mapping)
        for name in schema.get("x-kontrakt-hidden-members") or ()
    }
    if not names:
        raise RuleError("no component schema names x-kontrakt-hidden-members")
    return names


def _members(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _members(value)
    elif isinstance(node, list):
        for item in node:
            yield from _members(item)


@rule("DAN-ACCR-HIDDEN-FIELDS")
def hidden_fields(ctx: RuleContext) -> None:
    hidden = _hidden_names(ctx)
    meta = ctx.probe.request("GET", "/public/metadata/evidencecodes", headers=_key_only(ctx))
    answers = [meta]
    if not ctx.manifest.limits.read_only:
        created = _created(ctx, [_dataset(ctx)])
        answers.append(created["__response__"])
        for code in created.get("evidenceCodes") or []:
            if code.get("authorizationRequirements"):
                raise ctx.fail(
                    "an accreditation's evidenceCodes keep their authorization requirements",
                    created["__response__"],
                )
    for resp in answers:
        leaked = sorted({m for m in _members(resp.json()) if m.casefold() in hidden})
        if leaked:
            raise ctx.fail(f"internal members in the response: {', '.join(leaked)}", resp)


def _party_examples(spec: Spec) -> tuple[str, str]:
    """(organisation scheme, id prefix) from the Party schema's examples."""
    party = spec.pointer("/components/schemas/Party/properties")
    scheme = str(party["scheme"]["examples"][0])
    prefix = str(party["id"]["examples"][0]).split(":", 1)[0]
    return scheme, prefix


@rule("DAN-IDENTIFIER-FORMS")
def identifier_forms(ctx: RuleContext) -> None:
    scheme, icd = _party_examples(ctx.spec)
    requestor, subject = _requestor(ctx), _subject(ctx)
    created = _created(
        ctx,
        [_dataset(ctx)],
        requestor=f"{scheme}::{icd}:{requestor}",
        subject=subject,
    )
    resp: ProbeResponse = created["__response__"]
    if created.get("requestor") != requestor:
        raise ctx.fail(
            f"requestor {scheme}::{icd}:{requestor} is stored as {created.get('requestor')!r}, "
            f"not normalised to {requestor}",
            resp,
        )
    for member, number in (("requestorParty", requestor), ("subjectParty", subject)):
        party = created.get(member) or {}
        if len(number) == 11:  # a national identity number (FACTS §3.4: scheme nor-freg)
            if party.get("scheme") != "nor-freg":
                raise ctx.fail(f"{member} is {party}, expected the scheme nor-freg", resp)
            continue
        wanted = {"scheme": scheme, "id": f"{icd}:{number}"}
        if {k: party.get(k) for k in wanted} != wanted:
            raise ctx.fail(f"{member} is {party}, expected {wanted}", resp)
        # norwegianOrganizationNumber is optional (FACTS §3.4); when sent it names the number.
        extra = party.get("norwegianOrganizationNumber")
        if extra is not None and extra != number:
            raise ctx.fail(f"{member}.norwegianOrganizationNumber is {extra!r}, not {number}", resp)


@rule("DAN-ACCR-REQUIREMENTS-1019")
def requirements_1019(ctx: RuleContext) -> None:
    setting = _fixture(ctx, "requirement_failure", "a subject failing a hard requirement")
    if not isinstance(setting, Mapping):
        raise RuleError("fixture requirement_failure needs subject and dataset")
    subject, dataset = str(setting["subject"]), str(setting["dataset"])
    codes = _rule_codes(ctx)
    resp = _direct(ctx, dataset, subject=subject)
    _expect_error(ctx, resp, codes, f"direct harvest of {dataset} for a subject it refuses")
    if not ctx.manifest.limits.read_only:
        resp = _create(ctx, [dataset], subject=subject)
        _expect_error(ctx, resp, codes, f"an accreditation of {dataset} for that subject")


@rule("DAN-ACCR-SKIPPED-DATASETS")
def skipped_datasets(ctx: RuleContext) -> None:
    setting = _fixture(ctx, "skipped", "a subject for which a soft requirement drops a dataset")
    if not isinstance(setting, Mapping):
        raise RuleError("fixture skipped needs subject, dataset and with")
    subject, dataset, kept = (str(setting[k]) for k in ("subject", "dataset", "with"))
    created = _created(ctx, [kept, dataset], subject=subject)
    resp: ProbeResponse = created["__response__"]
    names = [c.get("evidenceCodeName") for c in created.get("evidenceCodes") or []]
    if names != [kept] or dataset not in (created.get("skippedEvidenceCodes") or {}):
        raise ctx.fail(f"{dataset} must be dropped and listed in skippedEvidenceCodes", resp)
    alone = _create(ctx, [dataset], subject=subject)
    _expect_error(ctx, alone, _rule_codes(ctx), "an accreditation whose every dataset is skipped")


@rule("DAN-ACCR-UNKNOWN-1002")
def unknown_1002(ctx: RuleContext) -> None:
    codes = _rule_codes(ctx)
    for path in (f"/evidence/{UNKNOWN_ID}", f"/evidence/{UNKNOWN_ID}/{_dataset(ctx)}"):
        _expect_error(ctx, ctx.probe.request("GET", path), codes, f"GET {path}")


@rule("DAN-ACCR-OWNER-SCOPED")
def owner_scoped(ctx: RuleContext) -> None:
    token = _other_org_token(ctx)
    created = _created(ctx, [_dataset(ctx)])
    accreditation = created["id"]
    codes = _rule_codes(ctx)
    for path in (f"/evidence/{accreditation}", f"/evidence/{accreditation}/{_dataset(ctx)}"):
        resp = ctx.probe.request("GET", path, auth=token)
        _expect_error(ctx, resp, codes, f"another organisation's GET {path}")
    resp = ctx.probe.request("DELETE", f"/accreditations/{accreditation}", auth=token)
    if resp.status != 404:
        raise ctx.fail(f"another organisation's DELETE answered {resp.status}, not 404", resp)
    _statuses(ctx, accreditation)  # still there for its owner


# --- status and consent --------------------------------------------------------------------------


@rule("DAN-STATUS-LIST")
def status_list(ctx: RuleContext) -> None:
    dataset = _dataset(ctx)
    created = _created(ctx, [dataset])
    _, resp = _statuses(ctx, created["id"])
    body = _valid(ctx, resp, STATUS)
    if [s.get("evidenceCodeName") for s in body] != [dataset]:
        raise ctx.fail(f"expected one status entry for {dataset}", resp)
    entry = body[0]
    for member, wanted in (("validFrom", "issued"), ("validTo", "validTo")):
        if dt.datetime.fromisoformat(entry[member]) != dt.datetime.fromisoformat(created[wanted]):
            raise ctx.fail(f"{member} {entry[member]} is not the accreditation's {wanted}", resp)
    by_post = ctx.probe.request("POST", f"/evidence/{created['id']}")
    _expect_ok(ctx, by_post, "the POST status variant")
    if by_post.json() != body:
        # FACTS §2.2 lists GET|POST on one function; the same answer is our reading (A-DAN-011).
        ctx.deviate("A-DAN-011", "the POST variant answers something else than GET", by_post)


def _withdrawn_accreditation(ctx: RuleContext) -> tuple[str, str]:
    """(dataset, accreditation id) for the provider's withdrawn dataset. A provider may refuse to
    accredit a withdrawn dataset at all (503 1013, the harvest's own answer, or 1007 when it left
    the catalogue): then there is no accreditation to judge."""
    withdrawn = str(_fixture(ctx, "withdrawn_dataset", "a dataset withdrawn from its source"))
    resp = _create(ctx, [withdrawn])
    if resp.status != 200:
        code = _code(resp)
        refused = _rule_codes(ctx, "DAN-HARVEST-WITHDRAWN-1013") | _rule_codes(
            ctx, "DAN-ACCR-UNKNOWN-DATASET-1007"
        )
        if code in refused and resp.status in ctx.spec.code_status(code):
            ctx.reading(f"a withdrawn dataset is refused when accredited (code {code})")
            if ctx.rule.id == "DAN-HARVEST-WITHDRAWN-1013" and code in _rule_codes(ctx):
                raise _Judged()
            raise NotApplicable(
                f"the provider refuses to accredit withdrawn {withdrawn} (code {code}): "
                "no accreditation holds it"
            )
        raise ctx.fail(f"creating an accreditation answered HTTP {resp.status}", resp)
    body = resp.json()
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        raise ctx.fail("the created accreditation has no id", resp)
    return withdrawn, body["id"]


class _Judged(Exception):
    """The rule has judged what it needed before its main path (ends it as a pass)."""


@rule("DAN-STATUS-LOCAL-CHECKS")
def status_local_checks(ctx: RuleContext) -> None:
    withdrawn, accreditation = _withdrawn_accreditation(ctx)
    created = {"id": accreditation}
    found, resp = _statuses(ctx, created["id"])
    wanted = _state_code(ctx.spec, "Unavailable")
    if found.get(withdrawn) != wanted:
        raise ctx.fail(f"withdrawn {withdrawn} reports {found.get(withdrawn)}, not {wanted}", resp)


@rule("DAN-CONSENT-PENDING-UNTIL-ANSWERED")
def consent_pending_until_answered(ctx: RuleContext) -> None:
    dataset = _consent_dataset(ctx)
    pending = _state_code(ctx.spec, "PendingConsent")
    refused = _rule_codes(ctx, "DAN-HARVEST-CONSENT-1010")
    checked: list[str] = []
    for state in ("Available", "Denied", "Expired"):
        created = _created(ctx, [dataset], consent=True)
        found, resp = _statuses(ctx, created["id"])
        if found.get(dataset) != pending:
            raise ctx.fail(
                f"a new consent dataset reports {found.get(dataset)}, not {pending}", resp
            )
        again, resp = _statuses(ctx, created["id"])
        if again.get(dataset) != pending:
            raise ctx.fail("the consent dataset left PendingConsent without an answer", resp)
        try:
            _answer_consent(ctx, created["id"], state)
        except NotApplicable as exc:
            if checked:
                ctx.note(f"the answer {state} was not checked: {exc.reason}")
                continue
            raise NotApplicable(
                f"PendingConsent verified; the answered states not: {exc.reason}"
            ) from None
        found, resp = _statuses(ctx, created["id"])
        wanted = _state_code(ctx.spec, state)
        if found.get(dataset) != wanted:
            raise ctx.fail(
                f"after the answer {state} the dataset reports {found.get(dataset)}, not {wanted}",
                resp,
            )
        harvested = _harvest(ctx, created["id"], dataset)
        if state == "Available":
            _expect_ok(ctx, harvested, "harvesting after consent was granted")
        else:
            _expect_error(ctx, harvested, refused, f"harvesting after the answer {state}")
        checked.append(state)


@rule("DAN-HARVEST-CONSENT-1010")
def harvest_consent_1010(ctx: RuleContext) -> None:
    dataset = _consent_dataset(ctx)
    codes = _rule_codes(ctx)
    created = _created(ctx, [dataset], consent=True)
    _expect_error(ctx, _harvest(ctx, created["id"], dataset), codes, "harvest while pending")
    denied = _created(ctx, [dataset], consent=True)
    try:
        _answer_consent(ctx, denied["id"], "Denied")
    except NotApplicable as exc:
        ctx.note(f"denied consent not checked: {exc.reason}")
        return
    _expect_error(ctx, _harvest(ctx, denied["id"], dataset), codes, "harvest after a denial")


@rule("DAN-STATUS-AGGREGATE")
def status_aggregate(ctx: RuleContext) -> None:
    dataset = _dataset(ctx)
    created = _created(ctx, [dataset])
    initial = created.get("aggregateStatus") or {}
    if initial.get("code") == _state_code(ctx.spec, "Unknown") and initial.get("description"):
        raise ctx.fail(
            "aggregateStatus code 0 must have an empty description", created["__response__"]
        )
    wanted = {created["id"]: _state_code(ctx.spec, "Available")}
    if not ctx.manifest.limits.read_only:
        try:
            mixed = _created(ctx, [_consent_dataset(ctx), dataset], consent=True)
            wanted[mixed["id"]] = _state_code(ctx.spec, "PendingConsent")
        except NotApplicable:
            pass
    listed = ctx.probe.request("GET", "/accreditations")
    _expect_ok(ctx, listed, "listing accreditations")
    by_id = {a.get("id"): a for a in listed.json() if isinstance(a, dict)}
    for accreditation, code in wanted.items():
        got = (by_id.get(accreditation, {}).get("aggregateStatus") or {}).get("code")
        if got != code:
            raise ctx.fail(
                f"accreditation {accreditation} lists aggregateStatus {got}, not {code}", listed
            )


# --- harvest and envelope ------------------------------------------------------------------------


def _evidence(ctx: RuleContext, resp: ProbeResponse, what: str) -> dict[str, Any]:
    if resp.status != 200 or not _is_json(resp):
        raise ctx.fail(f"{what}: expected a 200 application/json envelope", resp)
    body = resp.json()
    problems = _problems(ctx, "Evidence", body)
    if problems:
        raise ctx.fail(f"{what}: not an Evidence envelope: {'; '.join(problems)}", resp)
    assert isinstance(body, dict)
    return body


def _values(envelope: Mapping[str, Any]) -> dict[str, Any]:
    return {
        v["evidenceValueName"]: v.get("value") for v in envelope["evidenceValues"] if "value" in v
    }


@rule("DAN-HARVEST-ENVELOPE-DEFAULT")
def envelope_default(ctx: RuleContext) -> None:
    for params, what in (
        ({}, "no envelope"),
        ({"envelope": "true"}, "envelope=true"),
        ({"envelope": "yes"}, "envelope=yes"),
    ):
        _evidence(ctx, _direct(ctx, **params), f"direct harvest with {what}")
    if not ctx.manifest.limits.read_only:
        created = _created(ctx, [_dataset(ctx)])
        _evidence(ctx, _harvest(ctx, created["id"], _dataset(ctx)), "harvest without envelope")


@rule("DAN-HARVEST-ENVELOPE-FALSE")
def envelope_false(ctx: RuleContext) -> None:
    envelope = _evidence(ctx, _direct(ctx), "the enveloped harvest")
    wanted = _values(envelope)
    for flag in ("false", "0"):
        resp = _direct(ctx, envelope=flag)
        _expect_ok(ctx, resp, f"envelope={flag}")
        raw = resp.json()
        if raw != wanted:
            raise ctx.fail(
                f"envelope={flag} must answer the object of value name to value "
                f"({len(wanted)} values), got {type(raw).__name__}",
                resp,
            )


@rule("DAN-HARVEST-SIGNATURE")
def harvest_signature(ctx: RuleContext) -> None:
    for params in ({}, {"envelope": "false"}):
        resp = _direct(ctx, **params)
        _expect_ok(ctx, resp, "a JSON dataset")
        signature = resp.header("x-signature-jwt")
        if not signature:
            raise ctx.fail("the JSON dataset carries no X-Signature-JWT", resp)
        try:
            header, claims = tokens.header_of(signature), tokens.claims_of(signature)
        except ValueError as exc:
            raise ctx.fail(f"X-Signature-JWT is not a compact JWS ({exc})", resp) from None
        if header.get("alg") != "RS256":
            raise ctx.fail(f"X-Signature-JWT is signed with {header.get('alg')}, not RS256", resp)
        digest = hashlib.sha256(resp.content).hexdigest()
        if claims.get("SHA256PayloadDigest") != digest:
            raise ctx.fail("SHA256PayloadDigest is not the SHA-256 of the exact body", resp)


@rule("DAN-QUERY-JMESPATH")
def query_jmespath(ctx: RuleContext) -> None:
    codes = _rule_codes(ctx)
    envelope = _evidence(ctx, _direct(ctx), "the enveloped harvest")
    name, value = next(iter(_values(envelope).items()))
    resp = _direct(ctx, envelope="false", query=name)
    _expect_ok(ctx, resp, f"envelope=false&query={name}")
    if resp.json() != value:
        raise ctx.fail(f"query={name} must answer that value ({value!r})", resp)
    ignored = _direct(ctx, query=name)
    _evidence(ctx, ignored, "an enveloped harvest with a query (the query must be ignored)")
    meta = ctx.probe.request(
        "GET", "/public/metadata/statuscodes", params={"query": "[*].code"}, headers=_key_only(ctx)
    )
    _expect_ok(ctx, meta, "a query on metadata")
    if not isinstance(meta.json(), list) or not all(isinstance(c, int) for c in meta.json()):
        raise ctx.fail("query=[*].code on /statuscodes must answer the list of codes", meta)
    for resp, what in (
        (_direct(ctx, envelope="false", query=BAD_QUERY), "a bad query on a raw harvest"),
        (
            ctx.probe.request(
                "GET",
                "/public/metadata/statuscodes",
                params={"query": BAD_QUERY},
                headers=_key_only(ctx),
            ),
            "a bad query on metadata",
        ),
    ):
        _expect_error(ctx, resp, codes, what)


@rule("DAN-QUERY-BOOLEAN-PARSING")
def boolean_parsing(ctx: RuleContext) -> None:
    for flag, enveloped in (
        ("false", False),
        ("0", False),
        ("1", True),
        ("yes", True),
        ("no", True),
        ("", True),
    ):
        resp = _direct(ctx, envelope=flag)
        _expect_ok(ctx, resp, f"envelope={flag!r}")
        is_envelope = not _problems(ctx, "Evidence", resp.json())
        if is_envelope != enveloped:
            raise ctx.fail(
                f"envelope={flag!r} must count as {'true' if enveloped else 'false'}", resp
            )


@rule("DAN-HARVEST-NOT-IN-ACCREDITATION-1006")
def harvest_not_in_accreditation(ctx: RuleContext) -> None:
    dataset = _dataset(ctx)
    # Another dataset of the provider's own catalogue (never our spec's).
    listed = _meta(ctx, META_EVIDENCE).json()
    others = [
        str(e.get("evidenceCodeName"))
        for e in listed
        if isinstance(listed, list) and isinstance(e, dict)
        if e.get("evidenceCodeName") and str(e["evidenceCodeName"]).casefold() != dataset.casefold()
    ]
    if not others:
        raise NotApplicable("the provider's catalogue lists only one dataset")
    created = _created(ctx, [dataset])
    resp = _harvest(ctx, created["id"], others[0])
    _expect_error(ctx, resp, _rule_codes(ctx), f"harvesting {others[0]}, not in the accreditation")
    folded = _harvest(ctx, created["id"], dataset.lower())
    _expect_ok(ctx, folded, f"harvesting {dataset.lower()} (names match case-insensitively)")


@rule("DAN-HARVEST-WITHDRAWN-1013")
def harvest_withdrawn(ctx: RuleContext) -> None:
    try:
        withdrawn, accreditation = _withdrawn_accreditation(ctx)
    except _Judged:
        return
    resp = _harvest(ctx, accreditation, withdrawn)
    _expect_error(ctx, resp, _rule_codes(ctx), f"harvesting withdrawn {withdrawn}")


@rule("DAN-HARVEST-ASYNC-1016")
def harvest_async(ctx: RuleContext) -> None:
    """An asynchronous dataset harvested before its source has produced the data answers 503
    with 1016 (FACTS §2.3), never a 200. With `async_dataset.subject` (a subject whose data the
    source keeps waiting) any 200 is premature; without it the harvest follows the creation at
    once, and a 200 must at least report the dataset Available."""
    setting = _fixture(ctx, "async_dataset", "an asynchronous dataset of the provider")
    if isinstance(setting, Mapping):
        dataset, waiting = str(setting["dataset"]), setting.get("subject")
    else:
        dataset, waiting = str(setting), None
    entry = next(
        (
            e
            for e in _meta(ctx, META_EVIDENCE).json()
            if isinstance(e, dict)
            and str(e.get("evidenceCodeName")).casefold() == dataset.casefold()
        ),
        None,
    )
    if entry is not None and entry.get("isAsynchronous") is False:
        raise RuleError(f"fixture async_dataset: the provider lists {dataset} as synchronous")
    created = _created(ctx, [dataset], subject=str(waiting) if waiting else None)
    found, listed = _statuses(ctx, created["id"])
    resp = _harvest(ctx, created["id"], dataset)
    available = _state_code(ctx.spec, "Available")
    if resp.status == 200:
        if waiting:
            raise ctx.fail(
                f"{dataset} answered 200 for {waiting}, whose data the source has not produced",
                resp,
            )
        body = resp.json() if _is_json(resp) else None
        status = ((body or {}).get("evidenceStatus") or {}).get("status") or {}
        if isinstance(body, dict) and status.get("code") not in (None, available):
            raise ctx.fail(
                f"{dataset} answered 200 while its envelope reports status {status.get('code')}",
                resp,
            )
        raise NotApplicable(
            f"{dataset} was ready at once: nothing not yet ready to judge (name a subject whose "
            "data the source keeps waiting in fixtures.async_dataset.subject)"
        )
    _expect_error(ctx, resp, _rule_codes(ctx), f"harvesting {dataset} before it is ready")
    if found.get(dataset) == available:
        raise ctx.fail(
            f"the status list reports {dataset} Available, but its harvest is not ready", listed
        )
    ctx.reading(f"the status list reports the waiting dataset as {found.get(dataset)}")


@rule("DAN-HARVEST-REVALIDATE")
def harvest_revalidate(ctx: RuleContext) -> None:
    setting = _fixture(ctx, "revalidate", "a dataset whose requirement a narrower token fails")
    if not isinstance(setting, Mapping):
        raise RuleError("fixture revalidate needs dataset and scope")
    dataset, scope = str(setting["dataset"]), str(setting["scope"])
    consent = bool(setting.get("consent")) or (ctx.fixtures.get("consent_dataset") == dataset)
    created = _created(ctx, [dataset], consent=consent)
    if consent:
        _answer_consent(ctx, created["id"], "Available")
    _expect_ok(ctx, _harvest(ctx, created["id"], dataset), "harvest with the full token")
    narrow = _mint(ctx, scope=scope)
    resp = ctx.probe.request("GET", f"/evidence/{created['id']}/{dataset}", auth=narrow)
    _expect_error(ctx, resp, _rule_codes(ctx), f"harvest with a token holding only {scope}")


@rule("DAN-HARVEST-REPEATABLE")
def harvest_repeatable(ctx: RuleContext) -> None:
    dataset = _dataset(ctx)
    created = _created(ctx, [dataset])
    for attempt in (1, 2, 3):
        _expect_ok(ctx, _harvest(ctx, created["id"], dataset), f"harvest number {attempt}")


def _source_subjects(ctx: RuleContext) -> dict[int, str]:
    found = _fixture(ctx, "source_error_subjects", "subjects whose source fails on purpose")
    if not isinstance(found, Mapping):
        raise RuleError("fixture source_error_subjects must map codes to subjects")
    return {int(k): str(v) for k, v in found.items()}


@rule("DAN-HARVEST-SOURCE-ERRORS")
def source_errors(ctx: RuleContext) -> None:
    wanted = _rule_codes(ctx)
    subjects = {c: s for c, s in _source_subjects(ctx).items() if c in wanted}
    if not subjects:
        raise NotApplicable("source_error_subjects names no 3001/3002/3003 subject")
    for code, subject in subjects.items():
        resp = _direct(ctx, subject=subject)
        _expect_error(ctx, resp, {code}, f"direct harvest for {subject}")
        detail = resp.json().get("detailCode")
        if not isinstance(detail, str) or not DETAIL_CODE.match(detail):
            raise ctx.fail(f"source error {code} has detailCode {detail!r}", resp)
    missing = sorted(wanted - set(subjects))
    if missing:
        ctx.note(f"not provoked (no subject in source_error_subjects): {missing}")


@rule("DAN-ERR-UPSTREAM-1013")
def upstream_1013(ctx: RuleContext) -> None:
    codes = _rule_codes(ctx)
    subjects = {c: s for c, s in _source_subjects(ctx).items() if c in codes}
    if not subjects:
        raise NotApplicable("source_error_subjects names no subject for 1013")
    for code, subject in subjects.items():
        _expect_error(ctx, _direct(ctx, subject=subject), {code}, f"direct harvest for {subject}")


# --- direct harvest ------------------------------------------------------------------------------


@rule("DAN-DIRECT-SYNC-NO-CONSENT")
def direct_sync_no_consent(ctx: RuleContext) -> None:
    resp = _direct(ctx, _consent_dataset(ctx))
    _expect_error(ctx, resp, _rule_codes(ctx), "direct harvest of a consent dataset")


@rule("DAN-DIRECT-NO-ACCREDITATION")
def direct_no_accreditation(ctx: RuleContext) -> None:
    before = ctx.probe.request("GET", "/accreditations")
    _expect_ok(ctx, before, "listing accreditations")
    _evidence(ctx, _direct(ctx), "direct harvest")
    after = ctx.probe.request("GET", "/accreditations")
    _expect_ok(ctx, after, "listing accreditations")
    if not isinstance(before.json(), list) or not isinstance(after.json(), list):
        raise ctx.fail("GET /accreditations answers no list", after)
    old = {a.get("id") for a in before.json() if isinstance(a, dict)}
    new = [a.get("id") for a in after.json() if isinstance(a, dict) and a.get("id") not in old]
    if new:
        raise ctx.fail(f"direct harvest stored accreditation(s) {new}", after)


@rule("DAN-DIRECT-VALIDATION")
def direct_validation(ctx: RuleContext) -> None:
    def codes_of(rule_id: str) -> set[int]:
        return _rule_codes(ctx, rule_id)

    cases = [
        (
            {"requestor": "not-a-party"},
            None,
            codes_of("DAN-ACCR-REQUESTOR-1001"),
            "a bad requestor",
        ),
        ({"subject": "x1"}, None, codes_of("DAN-ACCR-SUBJECT-1004"), "a bad subject"),
        (
            {},
            "KontraktNoSuchDataset",
            codes_of("DAN-ACCR-UNKNOWN-DATASET-1007"),
            "an unknown dataset",
        ),
    ]
    wrong = _wrong_check_digit(ctx)
    if wrong is not None:
        cases.append(
            ({"subject": wrong}, None, codes_of("DAN-ACCR-SUBJECT-1004"), "a wrong check digit")
        )
    if ctx.has_fixture("unknown_subject"):
        cases.append(
            (
                {"subject": str(ctx.fixture("unknown_subject"))},
                None,
                codes_of("DAN-ACCR-SUBJECT-1004"),
                "a subject unknown to the CCR",
            )
        )
    for params, dataset, codes, what in cases:
        _expect_error(ctx, _direct(ctx, dataset, **params), codes, f"direct harvest with {what}")


@rule("DAN-DIRECT-QUERY-AS-PARAMETERS")
def direct_query_parameters(ctx: RuleContext) -> None:
    dataset = _dataset(ctx)
    if not _parameter_free(ctx, dataset):
        raise NotApplicable(f"{dataset} defines parameters; give a parameter-free `dataset`")
    resp = _direct(ctx, dataset, KontraktExtra="1")
    _expect_error(ctx, resp, _rule_codes(ctx), "an extra query parameter (a dataset parameter)")
    reserved = {"code": "x", "reuseToken": "false", "TokenOnBehalfOfOwner": "false"}
    _expect_ok(ctx, _direct(ctx, dataset, **reserved), "reserved query names only")


@rule("DAN-DIRECT-SUBJECT-IN-BODY")
def direct_subject_in_body(ctx: RuleContext) -> None:
    dataset = _dataset(ctx)
    subject = _subject(ctx)
    by_get = _evidence(ctx, _direct(ctx, dataset), "GET direct harvest")
    posted = ctx.probe.request(
        "POST",
        f"/directharvest/{dataset}",
        json_body={"subject": subject},
        expect_rejection=ctx.manifest.limits.read_only,
    )
    if _values(_evidence(ctx, posted, "POST with the subject in the body")) != _values(by_get):
        raise ctx.fail("POST with the subject in the body answers other values than GET", posted)
    both = ctx.probe.request(
        "POST",
        f"/directharvest/{dataset}",
        params={"subject": subject},
        json_body={"subject": "not-a-party"},
        expect_rejection=ctx.manifest.limits.read_only,
    )
    _evidence(ctx, both, "the subject query parameter must win over the body")


# --- list and delete -----------------------------------------------------------------------------


@rule("DAN-LIST-SCOPE")
def list_scope(ctx: RuleContext) -> None:
    token = _other_org_token(ctx)
    mine = _created(ctx, [_dataset(ctx)])
    theirs = _created(ctx, [_dataset(ctx)], auth=token)
    listed = ctx.probe.request("GET", "/accreditations")
    _expect_ok(ctx, listed, "listing accreditations")
    ids = [a.get("id") for a in listed.json()]
    if mine["id"] not in ids or theirs["id"] in ids:
        raise ctx.fail("the list must hold the caller's accreditation and not the other's", listed)
    _valid(ctx, listed, LIST)


@rule("DAN-LIST-FILTERS")
def list_filters(ctx: RuleContext) -> None:
    created = _created(ctx, [_dataset(ctx)])
    accreditation = created["id"]
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)).isoformat()
    earlier = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat()
    cases = [
        ({"requestor": created["requestor"]}, True),
        ({"requestor": "kontrakt-nobody"}, False),
        ({"changedafter": earlier}, True),
        ({"changedafter": later}, False),
        ({"onlyavailable": "true"}, True),
    ]
    try:
        pending = _created(ctx, [_consent_dataset(ctx)], consent=True)
        cases.append(({"onlyavailable": "true", "__id": pending["id"]}, False))
    except NotApplicable:
        pass
    for params, expected in cases:
        wanted = str(params.pop("__id", accreditation))
        resp = ctx.probe.request("GET", "/accreditations", params=params)
        _expect_ok(ctx, resp, f"listing with {params}")
        present = wanted in [a.get("id") for a in resp.json()]
        if present != expected:
            raise ctx.fail(
                f"with {params} accreditation {wanted} is {'missing' if expected else 'listed'}",
                resp,
            )


@rule("DAN-DELETE-204")
def delete_204(ctx: RuleContext) -> None:
    created = _created(ctx, [_dataset(ctx)])
    resp = ctx.probe.request("DELETE", f"/accreditations/{created['id']}")
    ctx.expect_status(resp, 204)
    if resp.content:
        raise ctx.fail("the 204 has a body", resp)


@rule("DAN-DELETE-404-EMPTY")
def delete_404_empty(ctx: RuleContext) -> None:
    _writes(ctx)
    resp = ctx.probe.request("DELETE", f"/accreditations/{UNKNOWN_ID}")
    ctx.expect_status(resp, 404)
    if resp.content:
        raise ctx.fail("the 404 of DELETE must have an empty body (no ErrorModel)", resp)


# --- consent reminders ---------------------------------------------------------------------------


def _reminders_route(ctx: RuleContext) -> None:
    """The reminders' external path is only the function route (A-DAN-001: FACTS §2.7, not
    confirmed): a provider answering 404 for an accreditation of its own exposes them elsewhere
    or not at all, which differs from our assumption, not from the publisher's text."""
    if ctx.manifest.limits.read_only:
        return
    created = _created(ctx, [_dataset(ctx)])
    resp = ctx.probe.request("GET", f"/accreditations/{created['id']}/reminders")
    if resp.status in (404, 405):
        raise ctx.fail(
            f"the reminders of an own accreditation answered HTTP {resp.status}: no reminders at "
            "/accreditations/{id}/reminders",
            resp,
            assumption="A-DAN-001",
        )


@rule("DAN-REMINDER-UNKNOWN-403")
def reminder_unknown(ctx: RuleContext) -> None:
    _reminders_route(ctx)
    for method in ("GET", "POST"):
        if method == "POST":
            _writes(ctx)
        resp = ctx.probe.request(method, f"/accreditations/{UNKNOWN_ID}/reminders")
        ctx.expect_status(resp, 403)
        if resp.content:
            raise ctx.fail(f"{method} reminders of an unknown accreditation must be empty", resp)


def _state_uses(spec: Spec, operation: str) -> dict[str, set[int]]:
    """Lifecycle state -> the invalid-state codes the operation answers in it (error use `states`)."""
    found: dict[str, set[int]] = {}
    for response in spec.operation(operation).responses.values():
        for use in response.get("x-kontrakt-errors") or ():
            if use.get("trigger") == "invalid-state":
                for state in use.get("states") or ():
                    found.setdefault(str(state), set()).add(int(use["code"]))
    return found


@rule("DAN-REMINDER-PRECONDITIONS")
def reminder_preconditions(ctx: RuleContext) -> None:
    no_consent = _codes(ctx.spec.error_codes(operation=SEND_REMINDER, rule=ctx.rule.id, status=403))
    _reminders_route(ctx)
    plain = _created(ctx, [_dataset(ctx)])
    resp = ctx.probe.request("POST", f"/accreditations/{plain['id']}/reminders")
    _expect_error(ctx, resp, no_consent, "a reminder without consent datasets")
    by_state = _state_uses(ctx.spec, SEND_REMINDER)
    for state in ("Available", "Expired"):
        codes = by_state.get(state)
        if not codes:
            raise RuleError(f"no invalid-state use of {SEND_REMINDER} names the state {state}")
        answered = _created(ctx, [_consent_dataset(ctx)], consent=True)
        try:
            _answer_consent(ctx, answered["id"], state)
        except NotApplicable as exc:
            ctx.note(f"the answered-consent cases were not checked: {exc.reason}")
            return
        resp = ctx.probe.request("POST", f"/accreditations/{answered['id']}/reminders")
        _expect_error(ctx, resp, codes, f"a reminder after the consent answer {state}")


@rule("DAN-REMINDER-RATE-LIMIT")
def reminder_rate_limit(ctx: RuleContext) -> None:
    codes = _codes(ctx.spec.error_codes(operation=SEND_REMINDER, trigger="rate-limited"))
    created = _created(ctx, [_consent_dataset(ctx)], consent=True)
    _reminders_route(ctx)
    first = ctx.probe.request("POST", f"/accreditations/{created['id']}/reminders")
    _expect_ok(ctx, first, "the first reminder")
    second = ctx.probe.request("POST", f"/accreditations/{created['id']}/reminders")
    _expect_error(ctx, second, codes, "a second reminder within seven days")


# --- metadata ------------------------------------------------------------------------------------


def _meta(ctx: RuleContext, operation: str, path: str | None = None) -> ProbeResponse:
    resp = ctx.probe.request(
        "GET", path or ctx.spec.operation(operation).path, headers=_key_only(ctx)
    )
    _expect_ok(ctx, resp, operation)
    return resp


@rule("DAN-META-EVIDENCECODES")
def meta_evidencecodes(ctx: RuleContext) -> None:
    resp = _meta(ctx, META_EVIDENCE)
    body = _valid(ctx, resp, META_EVIDENCE)
    ctx.judged(body, "datasets in /public/metadata/evidencecodes", must_exist=True)


@rule("DAN-META-EVIDENCECODES-CONTEXT")
def meta_evidencecodes_context(ctx: RuleContext) -> None:
    context = str(_fixture(ctx, "service_context", "the service context of the key"))
    everything = _meta(ctx, META_EVIDENCE).json()
    resp = _meta(ctx, META_CONTEXT, f"/public/metadata/evidencecodes/{context.swapcase()}")
    body = _valid(ctx, resp, META_CONTEXT)
    ctx.judged(body, f"datasets of the service context {context}", must_exist=True)
    wanted = [
        e["evidenceCodeName"]
        for e in everything
        if context.casefold() in [c.casefold() for c in e.get("belongsToServiceContexts") or []]
    ]
    # The same datasets; their order is not published.
    if sorted(str(e.get("evidenceCodeName")) for e in body) != sorted(wanted):
        raise ctx.fail(f"the datasets of {context.swapcase()} are not those of {context}", resp)
    for entry in body:
        for requirement in entry.get("authorizationRequirements") or []:
            if not requirement.get("type"):
                raise ctx.fail(f"a requirement of {entry['evidenceCodeName']} has no type", resp)


@rule("DAN-META-SERVICECONTEXTS")
def meta_servicecontexts(ctx: RuleContext) -> None:
    resp = _meta(ctx, META_CONTEXTS)
    body = _valid(ctx, resp, META_CONTEXTS)
    # Every subscription key belongs to a service context, so the list cannot be empty.
    ctx.judged(body, "service contexts", must_exist=True)
    if ctx.has_fixture("service_context"):
        context = str(ctx.fixture("service_context"))
        if context.casefold() not in [str(c).casefold() for c in body]:
            raise ctx.fail(f"{context} is not listed", resp)


@rule("DAN-META-STATUSCODES")
def meta_statuscodes(ctx: RuleContext) -> None:
    resp = _meta(ctx, META_STATUS)
    body = _valid(ctx, resp, META_STATUS)
    listed = sorted(s["code"] for s in body)
    wanted = sorted(_listed_status_codes(ctx.spec))
    if listed != wanted:
        raise ctx.fail(f"/statuscodes lists {listed}, expected exactly {wanted}", resp)


@rule("DAN-META-ERRORCODES")
def meta_errorcodes(ctx: RuleContext) -> None:
    resp = _meta(ctx, META_ERRORS)
    body = _valid(ctx, resp, META_ERRORS)
    listed = {e["code"] for e in body}
    missing = sorted(set(_catalogue(ctx.spec)) - listed)
    if missing:
        raise ctx.fail(f"/errorcodes lacks {missing}", resp)
    internal = sorted(c for c in listed if 2000 <= c < 3000)
    if internal:
        raise ctx.fail(f"/errorcodes lists the internal 2xxx codes {internal}", resp)
    empty = sorted(e["code"] for e in body if not e.get("description"))
    if empty:
        raise ctx.fail(f"codes without a default description: {empty}", resp)


@rule("DAN-META-CORS")
def meta_cors(ctx: RuleContext) -> None:
    for operation in METADATA:
        headers = ctx.spec.operation(operation).responses["200"].get("headers") or {}
        declared = any(h.lower() == "access-control-allow-origin" for h in headers)
        resp = _meta(ctx, operation)
        value = resp.header("access-control-allow-origin")
        if declared and value != "*":
            raise ctx.fail(f"{operation}: Access-Control-Allow-Origin is {value!r}, not '*'", resp)
        if not declared and value is not None:
            # DAN's errorcodes happens to send none; nothing forbids it (FACTS §1 only observes).
            ctx.reading(f"{operation} also carries Access-Control-Allow-Origin")


# --- error model ---------------------------------------------------------------------------------


@rule("DAN-ERR-MODEL")
def error_model(ctx: RuleContext) -> None:
    corpus = _corpus(ctx)
    core = _core_errors(corpus)
    ctx.judged(core, "error answers produced by DAN Core")
    # The gateway's own rejections (a missing key) are APIM's, not Core's (FACTS §7).
    ctx.note(f"not judged (gateway answers): {', '.join(sorted(GATEWAY))}")
    for label, resp in core:
        if not _is_json(resp):
            raise ctx.fail(
                f"{label}: the error is {resp.content_type or 'no body'}, not JSON", resp
            )
        body = resp.json()
        problems = _problems(ctx, "ErrorModel", body)
        if problems:
            raise ctx.fail(f"{label}: not an ErrorModel: {'; '.join(problems)}", resp)
        nulls = sorted(k for k, v in body.items() if v is None)
        if nulls:
            raise ctx.fail(f"{label}: members without a value must be left out: {nulls}", resp)


@rule("DAN-ERR-HTTP-MAPPING")
def error_http_mapping(ctx: RuleContext) -> None:
    coded = [
        (label, resp, body["code"])
        for label, resp, body in _json_errors(_corpus(ctx))
        if isinstance(body.get("code"), int)
    ]
    ctx.judged(coded, "error answers carrying an integer code")
    for label, resp, code in coded:
        statuses = ctx.spec.code_status(code) or (500,)
        if resp.status not in statuses:
            raise ctx.fail(
                f"{label}: code {code} answered HTTP {resp.status}, not {statuses}", resp
            )
    ctx.note(f"{len(coded)} error answers judged against the catalogue mapping")


@rule("DAN-ERR-DESCRIPTION")
def error_description(ctx: RuleContext) -> None:
    texts = _error_texts(ctx)
    pairs = [
        (label, resp, str(body.get("description", "")), texts[body["code"]])
        for label, resp, body in _json_errors(_corpus(ctx))
        if isinstance(body.get("code"), int) and texts.get(body["code"])
    ]
    ctx.judged(pairs, "error answers whose code /errorcodes describes")
    for label, resp, text, default in pairs:
        stem = default.rstrip(". ")
        if text == default or text.startswith(stem):
            ctx.reading("the default message, optionally followed by a detail")
            continue
        if not text.strip():
            raise ctx.fail(f"{label}: the error has an empty description", resp)
        # The exact form "<default>: <detail>" is our reading of DAN Core (A-DAN-019).
        ctx.deviate(
            "A-DAN-019",
            f"{label}: description {text!r} does not start with the default message {default!r}",
            resp,
        )


@rule("DAN-ERR-INVOCATION-ID")
def error_invocation_id(ctx: RuleContext) -> None:
    carrying = [
        (label, resp, body)
        for label, resp, body in _json_errors(_corpus(ctx))
        if body.get("invocationId") is not None
    ]
    # invocationId is optional (left out when null, FACTS §3.8): none sent is nothing to judge.
    ctx.judged(carrying, "error bodies carrying invocationId")
    for label, resp, body in carrying:
        if body["invocationId"] != resp.header("x-invocationid"):
            raise ctx.fail(f"{label}: invocationId differs from the x-invocationId header", resp)


def _debug_members(spec: Spec) -> set[str]:
    properties = spec.pointer("/components/schemas/ErrorModel/properties")
    return {
        name
        for name, schema in properties.items()
        if "development environments only" in str(schema.get("description", "")).lower()
    }


@rule("DAN-ERR-NO-DEBUG-MEMBERS")
def error_no_debug_members(ctx: RuleContext) -> None:
    debug = _debug_members(ctx.spec)
    for label, resp, body in _json_errors(_corpus(ctx), ctx):
        leaked = sorted(debug & set(body))
        if leaked:
            raise ctx.fail(
                f"{label}: development members in a {ctx.manifest.environment} environment: {leaked}",
                resp,
            )


@rule("DAN-ERR-DETAIL-CODE")
def error_detail_code(ctx: RuleContext) -> None:
    sources = _rule_codes(ctx)
    for label, resp, body in _json_errors(_corpus(ctx), ctx):
        detail = body.get("detailCode")
        if body.get("code") in sources:
            if not isinstance(detail, str) or not DETAIL_CODE.match(detail):
                raise ctx.fail(f"{label}: a source error with detailCode {detail!r}", resp)
        elif detail is not None:
            raise ctx.fail(
                f"{label}: code {body.get('code')} is no source error but has a detailCode", resp
            )


@rule("DAN-ERR-LEGACY-NOT-RAISED")
def error_legacy_not_raised(ctx: RuleContext) -> None:
    legacy = _rule_codes(ctx)
    for label, resp, body in _json_errors(_corpus(ctx), ctx):
        if body.get("code") in legacy:
            raise ctx.fail(f"{label}: the legacy code {body['code']} was raised", resp)
    listed = _error_texts(ctx)
    missing = sorted(legacy - set(listed))
    if missing:
        raise ctx.fail(f"the legacy codes {missing} are no longer published")


@rule("DAN-HDR-DIAGNOSTICS")
def diagnostics_headers(ctx: RuleContext) -> None:
    corpus = _corpus(ctx)
    for label, resp in [*corpus.errors, *corpus.ok]:
        if label in GATEWAY:
            continue  # rejected by the gateway before Core runs (A-DAN-002)
        missing = [h for h in ("x-invocationId", "x-version") if not resp.header(h)]
        if missing:
            raise ctx.fail(f"{label}: the response lacks {', '.join(missing)}", resp)


def _walk(
    spec: Spec,
    schema: Any,
    body: Any,
    where: str,
    found: list[str],
    check: Callable[[str, str, Any, Mapping[str, Any]], str | None],
) -> None:
    schema = spec.resolve(schema) if isinstance(schema, Mapping) else {}
    if isinstance(body, list):
        items = schema.get("items") if isinstance(schema, Mapping) else None
        for i, item in enumerate(body):
            _walk(spec, items or {}, item, f"{where}/{i}", found, check)
        return
    if not isinstance(body, dict) or not isinstance(schema, Mapping):
        return
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return  # a free map (additionalProperties) or an unknown shape: its keys are data
    for key, value in body.items():
        problem = check(str(key), where, value, schema)
        if problem:
            found.append(problem)
        _walk(spec, properties.get(key) or {}, value, f"{where}/{key}", found, check)


def _json_bodies(ctx: RuleContext) -> list[tuple[str, ProbeResponse, Mapping[str, Any]]]:
    """(label, response, schema) of the JSON answers the serialisation rules judge."""
    corpus = _corpus(ctx)
    found: list[tuple[str, ProbeResponse, Mapping[str, Any]]] = []
    for operation, resp in corpus.ok:
        if resp.status == 200:
            found.append((operation, resp, ctx.spec.response_schema(operation)))
    for label, resp in _core_errors(corpus):
        if _is_json(resp):
            found.append((label, resp, _schema("ErrorModel")))
    if not ctx.manifest.limits.read_only:
        created = _created(ctx, [_dataset(ctx)])
        found.append((CREATE, created["__response__"], ctx.spec.response_schema(CREATE)))
    envelope = _direct(ctx)
    if envelope.status == 200:
        found.append(("an enveloped harvest", envelope, _schema("Evidence")))
    return found


@rule("DAN-JSON-CAMELCASE")
def json_camelcase(ctx: RuleContext) -> None:
    def check(key: str, where: str, value: Any, schema: Mapping[str, Any]) -> str | None:
        if key in (schema.get("properties") or {}) or CAMEL.match(key):
            return None
        return f"{where}/{key}"

    for label, resp, schema in _json_bodies(ctx):
        found: list[str] = []
        _walk(ctx.spec, schema, resp.json(), "", found, check)
        if found:
            raise ctx.fail(f"{label}: members not in camelCase: {found[:5]}", resp)
        problems = ctx.spec.validator(schema).iter_errors(resp.json())
        enums = [p.message for p in problems if p.validator == "enum"]
        if enums:
            raise ctx.fail(f"{label}: enum values outside the spec's spelling: {enums[:3]}", resp)


@rule("DAN-JSON-NULLS-OMITTED")
def json_nulls_omitted(ctx: RuleContext) -> None:
    def check(key: str, where: str, value: Any, schema: Mapping[str, Any]) -> str | None:
        if value is None and key not in (schema.get("required") or ()):
            return f"{where}/{key}"
        return None

    for label, resp, schema in _json_bodies(ctx):
        found: list[str] = []
        _walk(ctx.spec, schema, resp.json(), "", found, check)
        if found:
            raise ctx.fail(f"{label}: optional members sent as null: {found[:5]}", resp)


# --- versioning: the live metadata against an earlier snapshot of the same provider -------------


@dataclass
class Live:
    documents: dict[str, Any]
    responses: dict[str, ProbeResponse]


def _live(ctx: RuleContext) -> Live:
    documents: dict[str, Any] = {}
    responses: dict[str, ProbeResponse] = {}
    for key, operation in (
        ("evidencecodes", META_EVIDENCE),
        ("errorcodes", META_ERRORS),
        ("statuscodes", META_STATUS),
        ("servicecontexts", META_CONTEXTS),
    ):
        resp = _meta(ctx, operation)
        if not isinstance(resp.json(), list):
            raise ctx.fail(f"{operation} is not a JSON array", resp)
        documents[key] = resp.json()
        responses[key] = resp
    return Live(documents, responses)


@rules.snapshot
def metadata_snapshot(ctx: RuleContext) -> dict[str, Any]:
    """The provider's public metadata as `certify --snapshot-out` records it: its datasets with
    their value definitions, its status codes, error codes and service contexts."""
    return _live(ctx).documents


def _earlier(ctx: RuleContext) -> Document:
    """The manifest's `metadata_snapshot` (not-applicable without one, naming the command)."""
    data = ctx.snapshot()
    if not isinstance(data, dict) or not any(
        isinstance(data.get(k), list) for k in ("evidencecodes", "errorcodes", "statuscodes")
    ):
        raise RuleError(
            "metadata_snapshot holds no evidencecodes, errorcodes or statuscodes list: record it "
            "with `kontrakt certify MANIFEST --snapshot-out FILE`"
        )
    name = ctx.manifest.metadata_snapshot.name if ctx.manifest.metadata_snapshot else "snapshot"
    return Document(f"snapshot {name}", data, KIND_DAN_METADATA)


def _diff(old: Document, live: Live) -> list[Change]:
    new = Document("live /public/metadata", live.documents, KIND_DAN_METADATA)
    emitter = Emitter(all_rules(), DAN_OVERLAY)
    check_dan(old, new, emitter, dt.date.today())
    return emitter.changes


def _judge(ctx: RuleContext, live: Live, old: Document, rule_ids: set[str], evidence: str) -> None:
    """Changes of `rule_ids` (kontrakt diff's DAN rules) since `old`: breaking fails, warn warns."""
    warnings: list[str] = []
    for change in _diff(old, live):
        if change.rule not in rule_ids:
            continue
        text = f"against {old.source}: {change.message} ({change.rule})"
        if change.verdict is Verdict.BREAKING:
            raise ctx.fail(text, live.responses[evidence])
        if change.verdict is Verdict.WARN:
            warnings.append(text)
    if warnings:
        raise Warn("; ".join(warnings[:5]), evidence=[live.responses[evidence]])


def _recorded(old: Document, key: str) -> list[Any]:
    found = old.data.get(key) if isinstance(old.data, dict) else None
    return found if isinstance(found, list) else []


@rule("DAN-VERSION-CODES-ONLY-ADDED")
def codes_only_added(ctx: RuleContext) -> None:
    old = _earlier(ctx)
    ctx.judged(
        [*_recorded(old, "errorcodes"), *_recorded(old, "statuscodes")],
        "error or status codes in the snapshot",
    )
    live = _live(ctx)
    for evidence in ("errorcodes", "statuscodes"):
        _judge(ctx, live, old, {"DAN-CODES-FROZEN", "DAN-CODES-WORDING"}, evidence)


@rule("DAN-VERSION-DATASET-FIELDS-IMMUTABLE")
def dataset_fields_immutable(ctx: RuleContext) -> None:
    old = _earlier(ctx)
    live = _live(ctx)
    names = {
        e.get("evidenceCodeName") for e in live.documents["evidencecodes"] if isinstance(e, dict)
    }
    kept = [
        e
        for e in _recorded(old, "evidencecodes")
        if isinstance(e, dict) and e.get("evidenceCodeName") in names
    ]
    ctx.judged(kept, "datasets both in the snapshot and in the live catalogue")
    _judge(ctx, live, old, {"DAN-DATASET-FIELDS-FROZEN"}, "evidencecodes")


@rule("DAN-VERSION-DATASET-RETIREMENT")
def dataset_retirement(ctx: RuleContext) -> None:
    live = _live(ctx)
    ending = [
        e for e in live.documents["evidencecodes"] if isinstance(e, dict) and e.get("validTo")
    ]
    for entry in ending:
        if not entry.get("deprecationWarning"):
            raise ctx.fail(
                f"{entry.get('evidenceCodeName')} has an end of support but no deprecationWarning",
                live.responses["evidencecodes"],
            )
    try:
        old = _earlier(ctx)
    except NotApplicable as exc:
        if not ending:
            raise
        ctx.note(f"datasets removed since an earlier snapshot not checked: {exc.reason}")
        return
    ctx.judged(_recorded(old, "evidencecodes"), "datasets in the snapshot")
    retirement = {"DAN-DATASET-REMOVED", "DAN-DATASET-RETIRED-EARLY"}
    _judge(ctx, live, old, retirement, "evidencecodes")


# --- tier 3: the exploratory stateful run (certify --explore) -----------------------------------

rules.explore_rule("DAN-ERR-HTTP-MAPPING")


# --- the plain request, and what a manifest gives -------------------------------------------------


@rules.preflight
def plain_request(ctx: RuleContext) -> None:
    """One authenticated plain read that needs no test data: the caller's own accreditations
    (subscription key and token together, FACTS §2.5)."""
    expect_plain(ctx, ctx.probe.request("GET", "/accreditations"), 200)


def _automated(*extra: str, without: Iterable[str] = ()) -> list[str]:
    """`extra`, then the registered rules except `without` (globs), each once."""
    skipped = list(without)
    found = [r for r in rules.functions if not any(fnmatch.fnmatchcase(r, g) for g in skipped)]
    return list(dict.fromkeys([*extra, *found]))


# Rules that never create, harvest or provoke the shared error corpus.
_NO_TEST_DATA = (
    "DAN-AUTH-*",
    "DAN-CTX-SERVICE-CONTEXT",
    "DAN-META-*",
    "DAN-VERSION-*",
    "DAN-DELETE-404-EMPTY",
)
_CORPUS = [
    "DAN-ERR-MODEL",
    "DAN-ERR-HTTP-MAPPING",
    "DAN-ERR-DESCRIPTION",
    "DAN-ERR-INVOCATION-ID",
    "DAN-ERR-NO-DEBUG-MEMBERS",
    "DAN-ERR-DETAIL-CODE",
    "DAN-ERR-LEGACY-NOT-RAISED",
    "DAN-HDR-DIAGNOSTICS",
    "DAN-JSON-CAMELCASE",
    "DAN-JSON-NULLS-OMITTED",
]
_ORG = {"type": "string", "pattern": r"^\d{9}$"}

rules.fixture(
    "subject",
    "an organisation number (or national identity number) in your test environment for which "
    "`dataset` has data; the suite also derives a number with a wrong MOD11 check digit from it",
    rules=_automated("DAN-CTX-DATASET-IN-CONTEXT", without=_NO_TEST_DATA),
    example="310001120",
)
rules.fixture(
    "dataset",
    "one of your synchronous datasets without a consent requirement and without parameters "
    "(an evidenceCodeName of your /public/metadata/evidencecodes), with several values",
    rules=_automated("DAN-AUTH-TOKEN-MISSING-401", without=_NO_TEST_DATA),
    example="UnitBasicInformation",
)
rules.fixture(
    "requestor",
    "the requestor the suite sends; default: the organisation in the token's consumer claim",
    rules=_automated("DAN-CTX-DATASET-IN-CONTEXT", without=_NO_TEST_DATA),
    schema=_ORG,
    required=False,
    example="310000108",
)
rules.fixture(
    "consent_dataset",
    "one of your datasets with a consent requirement (requestConsent: true)",
    rules=[
        "DAN-ACCR-CONSENT-REQUEST",
        "DAN-CONSENT-PENDING-UNTIL-ANSWERED",
        "DAN-HARVEST-CONSENT-1010",
        "DAN-STATUS-AGGREGATE",
        "DAN-DIRECT-SYNC-NO-CONSENT",
        "DAN-LIST-FILTERS",
        "DAN-REMINDER-PRECONDITIONS",
        "DAN-REMINDER-RATE-LIMIT",
    ],
    required=False,
    example="RestanserV2",
)
rules.fixture(
    "consent_answer",
    "a hook of your test environment standing in for the subject answering a consent request "
    "in Altinn (A-DAN-023): url (may hold {accreditationId}; resolved against base_url), "
    "method, and one JSON body per answer Available, Denied, Expired (give those you support)",
    rules=[
        "DAN-CONSENT-PENDING-UNTIL-ANSWERED",
        "DAN-HARVEST-CONSENT-1010",
        "DAN-HARVEST-REVALIDATE",
        "DAN-REMINDER-PRECONDITIONS",
    ],
    schema={
        "type": "object",
        "required": ["url"],
        "properties": {
            "url": {"type": "string"},
            "method": {"type": "string"},
            "bodies": {"type": "object"},
        },
    },
    required=False,
    example={"url": "/test/consent/{accreditationId}", "method": "POST", "bodies": {}},
)
rules.fixture(
    "async_dataset",
    "one of your asynchronous datasets (isAsynchronous true), to prove a harvest before its "
    "source is ready answers 503 1016: {dataset, subject?}; subject is one whose data the source "
    "keeps waiting in your test environment (without it the harvest follows creation at once)",
    rules=["DAN-HARVEST-ASYNC-1016"],
    schema={
        "type": "object",
        "required": ["dataset"],
        "properties": {"dataset": {"type": "string"}, "subject": {"type": "string"}},
    },
    required=False,
    example={"dataset": "AsyncRegisterExtract", "subject": "310001120"},
)
rules.fixture(
    "unknown_subject",
    "an organisation number with a valid check digit that your CCR does not know (1004)",
    rules=["DAN-ACCR-SUBJECT-1004", "DAN-DIRECT-VALIDATION"],
    schema=_ORG,
    required=False,
)
rules.fixture(
    "deleted_subject",
    "an organisation marked deleted in your CCR (1004)",
    rules=["DAN-ACCR-SUBJECT-1004"],
    schema=_ORG,
    required=False,
)
rules.fixture(
    "other_organisation",
    "another organisation number, for tokens minted with negative_auth.signing_key when no "
    "credentials.other_owner client is given",
    rules=["DAN-ACCR-OWNER-SCOPED", "DAN-LIST-SCOPE"],
    schema=_ORG,
    required=False,
)
rules.fixture(
    "outside_context",
    "another product's subscription key and one of your datasets outside that product's "
    "service context: {subscription_key, dataset}",
    rules=["DAN-CTX-DATASET-IN-CONTEXT"],
    schema={
        "type": "object",
        "required": ["subscription_key", "dataset"],
        "properties": {"subscription_key": {"type": "string"}, "dataset": {"type": "string"}},
    },
    required=False,
)
rules.fixture(
    "requirement_failure",
    "a subject that fails a hard (deny) authorization requirement of one of your datasets: "
    "{subject, dataset}",
    rules=["DAN-ACCR-REQUIREMENTS-1019"],
    schema={"type": "object", "required": ["subject", "dataset"]},
    required=False,
)
rules.fixture(
    "skipped",
    "a subject for which a soft (skip) requirement drops `dataset`, and a dataset `with` that "
    "stays: {subject, dataset, with}",
    rules=["DAN-ACCR-SKIPPED-DATASETS"],
    schema={"type": "object", "required": ["subject", "dataset", "with"]},
    required=False,
)
rules.fixture(
    "revalidate",
    "a dataset whose requirement a token holding only `scope` fails (minted with the signing "
    "key): {dataset, scope, consent?}",
    rules=["DAN-HARVEST-REVALIDATE"],
    schema={"type": "object", "required": ["dataset", "scope"]},
    required=False,
)
rules.fixture(
    "unbound_subscription_key",
    "a subscription key whose product carries no service context (1025)",
    rules=["DAN-CTX-SERVICE-CONTEXT"],
    required=False,
)
rules.fixture(
    "service_context",
    "the service context of the manifest's subscription key",
    rules=["DAN-META-EVIDENCECODES-CONTEXT", "DAN-META-SERVICECONTEXTS"],
    required=False,
    example="eBevis",
)
rules.fixture(
    "withdrawn_dataset",
    "one of your datasets withdrawn from its source (status 7, harvest 1013)",
    rules=["DAN-STATUS-LOCAL-CHECKS", "DAN-HARVEST-WITHDRAWN-1013"],
    required=False,
)
rules.fixture(
    "source_error_subjects",
    "subjects whose harvest of `dataset` fails at the source on purpose, by code: "
    '{"3001": subject, "3002": ..., "3003": ..., "1013": ...}',
    rules=["DAN-HARVEST-SOURCE-ERRORS", "DAN-ERR-UPSTREAM-1013", *_CORPUS],
    schema={"type": "object", "additionalProperties": {"type": "string"}},
    required=False,
)
rules.role(
    "other_owner",
    "a client of another organisation (its token's consumer claim names another organisation) "
    "under the same subscription key; instead of minting one with the signing key",
    rules=["DAN-ACCR-OWNER-SCOPED", "DAN-LIST-SCOPE"],
)
rules.role(
    "wrong_scope",
    "a client whose token holds no altinn:dataaltinnno or dan: scope (403 1019); instead of "
    "minting one with the signing key",
    rules=["DAN-AUTH-SCOPE-PREFIX"],
)
for _name, _text in (
    ("auth", "the subscription key and Maskinporten token checks"),
    ("metadata", "the public metadata operations"),
    ("accreditations", "accreditations (create, status, harvest, delete)"),
    ("consent", "datasets with a consent requirement and their status lifecycle"),
    ("envelope", "the Evidence envelope, raw values and X-Signature-JWT"),
    ("errors", "the ErrorModel of DAN Core's errors"),
    ("versioning", "comparison with an earlier metadata snapshot of the same provider"),
    ("harvest", "data-source failures and token forwarding on harvest"),
    ("direct-harvest", "GET and POST /directharvest"),
    ("service-context", "products bound to service contexts"),
    ("reminders", "consent reminders (/accreditations/{id}/reminders, A-DAN-001)"),
):
    rules.capability(_name, _text)
