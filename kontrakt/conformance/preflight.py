"""Preflight: can the suite talk to this provider at all? Asked once, before the first rule.

The suite fetches a token for every credential of `auth`, then sends the profile's plain valid
request (`@rules.preflight`). A wrong secret, a wrong token URL, an unreachable base URL or a
provider refusing the plain request would otherwise make every rule fail for the same reason; here
it ends the run as `cannot-run` with one diagnosis that names the cause (exit status 3).

Diagnoses say what the answer shows and nothing more: a 406 is about the Accept header, not the
signing key; a 404 on the plain request is about the base URL's path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kontrakt.conformance.auth import AuthUnavailable
from kontrakt.conformance.probe import ProbeError, ProbeResponse
from kontrakt.conformance.registry import Failure, NotApplicable, RuleContext, RuleError
from kontrakt.conformance.spec import RuleInfo, Spec

if TYPE_CHECKING:
    from kontrakt.conformance.profile import Profile
    from kontrakt.conformance.runner import Preflight

__all__ = ["PREFLIGHT_ID", "diagnose", "preflight_info", "run_preflight"]

PREFLIGHT_ID = "PREFLIGHT"


def preflight_info(spec: Spec) -> RuleInfo:
    """The pseudo rule the preflight runs under (never counted as a rule)."""
    return RuleInfo(
        id=PREFLIGHT_ID,
        title="The suite can get a token and the provider answers a plain valid request.",
        severity="MUST",
        source={"doc": spec.id, "section": "preflight"},
    )


def _token_diagnosis(message: str) -> str:
    text = message.lower()
    if "unreachable" in text:
        return f"cannot reach the token endpoint ({message}); check auth.token_url"
    if "invalid_client" in text or "unauthorized_client" in text:
        return (
            f"the token endpoint refused the client ({message}); check client_id and the "
            "client secret or key"
        )
    if "invalid_scope" in text:
        return f"the token endpoint refused the scope ({message}); check auth.scope"
    if "invalid_grant" in text:
        return (
            f"the token endpoint refused the grant ({message}); for jwt-bearer check the key, "
            "kid and the assertion's audience (auth.issuer)"
        )
    if "invalid_target" in text or "resource" in text:
        return f"the token endpoint refused the audience ({message}); check auth.resource"
    if "http 404" in text or "http 405" in text:
        return f"{message}; auth.token_url is probably not the token endpoint"
    return f"could not get a token: {message}"


def diagnose(response: ProbeResponse, wanted: tuple[int, ...]) -> str:
    """What a refused plain request most likely means, from its status alone."""
    status = response.status
    shown = f"HTTP {status} to {response.exchange.method} {response.exchange.url}"
    hints = {
        401: "the provider refused the credentials: check the token's audience (auth.resource) "
        "and issuer, and any API key header",
        403: "the provider refused this client: check the scope and the roles granted to it",
        404: "no such path: base_url is probably wrong (it must include the API's base path)",
        405: "the method is not allowed at this path: base_url is probably wrong",
        406: "the provider refuses the Accept header the suite sent (a media-type problem, not "
        "an authentication one)",
        415: "the provider refuses the request's Content-Type",
        429: "the provider throttles this client already: lower limits.requests_per_second",
    }
    if status in hints:
        hint = hints[status]
    elif status >= 500:
        hint = "the provider failed on a plain valid request"
    elif 300 <= status < 400:
        location = response.headers.get("location", "")
        hint = f"the provider redirects ({location or 'no Location'}): use the final base_url"
    else:
        hint = f"expected HTTP {' or '.join(str(w) for w in wanted)}"
    return f"{shown}: {hint}"


def expect_plain(ctx: RuleContext, response: ProbeResponse, *wanted: int) -> None:
    """In a profile's preflight: the plain request must be answered with one of `wanted`."""
    if response.status not in wanted:
        raise Failure(diagnose(response, wanted), evidence=[response])


def run_preflight(profile: Profile, ctx: RuleContext) -> Preflight:
    """Tokens for every credential of `auth`, then the profile's plain valid request."""
    from kontrakt.conformance.runner import Preflight

    try:
        if ctx.manifest.auth:
            ctx.credentials.headers()
    except AuthUnavailable as exc:
        return Preflight("cannot-run", _token_diagnosis(str(exc)))
    check = profile.rule_set.preflight_check
    if check is None:
        return Preflight("skipped", "the profile defines no plain request")
    try:
        check(ctx)
    except Failure as exc:
        return Preflight("cannot-run", exc.message, list(exc.evidence))
    except NotApplicable as exc:
        return Preflight("skipped", exc.reason)
    except AuthUnavailable as exc:
        return Preflight("cannot-run", _token_diagnosis(str(exc)))
    except ProbeError as exc:
        evidence = [exc.exchange] if exc.exchange is not None else []
        if exc.kind == "auth":
            return Preflight("cannot-run", _token_diagnosis(exc.message), evidence)
        if exc.kind in ("connection", "reset", "timeout"):
            message = f"cannot reach the provider at {ctx.manifest.base_url} ({exc.message})"
        else:
            message = f"the plain request failed: {exc.kind}: {exc.message}"
        return Preflight("cannot-run", message, evidence)
    except RuleError as exc:
        return Preflight("cannot-run", f"the manifest does not allow the plain request: {exc}")
    return Preflight("ok", "")
