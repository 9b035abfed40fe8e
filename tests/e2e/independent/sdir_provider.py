"""An Sdir "additional competence" (Tilleggskompetanse) API, v1 and v2, written from the
publisher's documents only, by an engineer who never saw kontrakt's specs.

Sources: the Sdir REST API page (developer.sdir.no/rest-api, in /work/shared/seeds) and the
fact sheet /work/shared/reference/sdir/FACTS.md. Sdir publishes no wire schema; the field names
and paths follow the contract proposed in FACTS §10 (the only written shape there is), and
everything else that the publisher leaves open is decided here, deliberately not always the
obvious way. Each open choice, with the clause it rests on:

1. Mounted under ``/aps-additionalcompetence-external`` (FACTS §4.1 "2026 (naming)"); the
   base URL a client is given carries that prefix.
2. Every call needs ``Ocp-Apim-Subscription-Key`` (REST page "Authentication with API-key") and
   ``Authorization: Bearer`` with a Maskinporten-style RS256 JWT (FACTS §3 [GS]). The token is
   checked against a JWKS: signature, ``exp`` (with ASP.NET Core's default 5-minute clock
   skew: Maskinporten's text sets no tolerance), ``iss``; ``aud`` is not required (Maskinporten
   sets it only when a resource is asked for, FACTS §8). A missing or unknown key answers 401 in
   the Azure APIM gateway's own shape ``{"statusCode": 401, "message": ...}`` (FACTS §8
   [APIM401]), checked before the token.
3. Scope ``sdir:seafarer.additionalcompetance.write`` (sic, FACTS §1 [SCOPES]) is required for
   reads too (read scopes: NOT FOUND, FACTS §9). Missing scope -> 403.
4. The reporter is the token's ``consumer`` organisation (``0192:<orgno>``, FACTS §8 [DAN]);
   with a delegated token that is the customer, not the supplier (FACTS §7 [GUIDE]). Only the
   ship owner may report, for a vessel it owns (FACTS §4 [AC] [FAQ]): a report whose
   organisation number is not the caller's, or naming a vessel the caller does not own, is
   refused with 403; a vessel the register does not know is a validation error (400). Reports of another organisation are invisible: 404 on GET by
   uid, left out of lists, 404 on update.
5. Error bodies: ASP.NET Core's validation problem (Sdir's backend is .NET behind APIM, FACTS §2,
   §6 [DAN-SJ]): ``application/problem+json`` with ``type``, ``title``, ``status``, ``traceId``
   and, for validation, ``errors`` as an OBJECT mapping a field path (``[2].competenceCode``) to
   messages. No error codes at all: the publisher defines none (FACTS §6 "Batch error
   responses: NOT FOUND"; [DEVP] "read the response message").
6. Status codes: 201 on create (FACTS §3 [DEVP]); 400 validation, malformed JSON and an empty
   or oversized batch (no size limit is published, FACTS §9; ours is 1000 items and answers 400,
   not 413); 415 for a body that is not JSON (REST page "Format"); 409 for a report identical to
   one already stored (person, code, vessel, period).
7. Batches are all-or-nothing (REST page "Batch operations"): every item is validated, and
   stored only if all are valid; the response lists the stored items in request order.
8. v1 (FACTS §4.2, 2020 operation list): codes, POST one (201 + Location), GET one, PUT one,
   GET several by ``?uid=`` (unknown uids left out; answered sorted by uid, not in the asked
   order), POST batch, PUT batch (an unknown uid -> 404 and nothing changes).
9. v2 (FACTS §4.2, 2021 list: create-and-read only): codes, POST batch, GET one, GET list.
   No PUT, no single POST, no prevalidate (optional in FACTS §10; left out).
10. v2 list: ``offset``/``limit`` (default 25, at most 50: a larger limit is clamped and the
    applied value answered, not refused; Sdir publishes no paging, FACTS §9), newest report first
    (FACTS gives no order; ``order="oldest"`` serves the other obvious choice), ``fromDate`` filters on the day the
    report was registered (``createdAt``), not on the competence period (the text allows both);
    ``organisationNumber`` other than the caller's -> 403.
11. Optional members absent are left out of responses (not null). ``createdAt`` is given in
    Norwegian local time with its offset (``+01:00``/``+02:00``; FACTS §3 [DT] only asks for an
    offset). v1 and v2 keep separate registers: a v1 report carries no seafarer names, which a
    v2 read must give (first tried shared; the v2 list then failed its schema, rightly).
12. Validation: fødselsnummer/D-nummer (11 digits, both MOD11 check digits; synthetic months
    +40/+80 allowed), organisation number (9 digits, MOD11), IMO number (7 digits, IMO check
    digit), call sign (3-7 letters/digits), code in the code list (FACTS §4.3), ISO dates, stop
    not before start.

``flaws`` switches on deliberately broken behaviour for the tests that prove certification
notices it; a correct provider runs with none.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PREFIX = "/aps-additionalcompetence-external"
SCOPE = "sdir:seafarer.additionalcompetance.write"
MAX_BATCH = 1000
MAX_LIMIT = 50
OSLO = ZoneInfo("Europe/Oslo")

# FACTS §4.3: the code list published on the additional-competence page (descriptions ours).
CODES: dict[str, str] = {
    "BS0": "Båtsmann",
    "BUNK3": "Deltatt i 3 bunkringsoperasjoner med lavflammepunktsdrivstoff",
    "BV": "Brovakt (STCW II/4)",
    "BVSJEKK": "Sjekkliste for brovakt",
    "GOIGF": "3 lasteoperasjoner på gasstankskip",
    "GOLALG": "Grunnleggende lasteoperasjoner, gasstankskip",
    "GOLALO": "Grunnleggende lasteoperasjoner, olje- og kjemikalietankskip",
    "GOPOLFAR": "Grunnleggende polarfarvann",
    "MV": "Maskinromsvakt (STCW III/4)",
    "UTMOB8": "MOB-båt og redningsfarkost, 8 timers utsjekk",
    "VOPOLFAR": "Videregående polarfarvann",
}

FLAWS = frozenset(
    {
        "partial-batch",
        "any-key",
        "leak-other-owner",
        "list-leaks-other-owner",
        "many-leaks-other-owner",
        "update-other-owner",
        "expired-token",
        "any-scope",
    }
)
MANY_LEAKS = frozenset({"leak-other-owner", "many-leaks-other-owner"})


# ---------------------------------------------------------------------------- check digits


def _mod11(digits: str, weights: tuple[int, ...]) -> int | None:
    rest = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    check = 0 if rest == 0 else 11 - rest
    return None if check == 10 else check


def valid_fnr(value: str) -> bool:
    """Fødselsnummer or D-nummer: 11 digits, a plausible date, both MOD11 check digits."""
    if not re.fullmatch(r"\d{11}", value):
        return False
    day, month = int(value[0:2]), int(value[2:4])
    if day > 40:
        day -= 40  # D-nummer
    if month > 80:
        month -= 80  # synthetic (Tenor) numbers
    elif month > 40:
        month -= 40  # H-nummer / synthetic
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return False
    k1 = _mod11(value[:9], (3, 7, 6, 1, 8, 9, 4, 5, 2))
    k2 = _mod11(value[:10], (5, 4, 3, 2, 7, 6, 5, 4, 3, 2))
    return k1 == int(value[9]) and k2 == int(value[10])


def valid_orgno(value: str) -> bool:
    """Organisation number: 9 digits with the MOD11 check digit (weights 3 2 7 6 5 4 3 2)."""
    if not re.fullmatch(r"\d{9}", value):
        return False
    return _mod11(value[:8], (3, 2, 7, 6, 5, 4, 3, 2)) == int(value[8])


def valid_imo(value: str) -> bool:
    """IMO ship number: 7 digits, the last being the weighted (7..2) sum's last digit."""
    if not re.fullmatch(r"\d{7}", value):
        return False
    total = sum(int(d) * w for d, w in zip(value[:6], (7, 6, 5, 4, 3, 2), strict=True))
    return total % 10 == int(value[6])


# ---------------------------------------------------------------------------- storage


@dataclass
class Report:
    """One stored report, version-neutral."""

    uid: str
    owner: str
    person_number: str
    first_name: str | None
    last_name: str | None
    middle_name: str | None
    imo: str | None
    call_sign: str | None
    code: str
    start: str
    stop: str | None
    completion: str | None
    created: dt.datetime
    version: str = "v1"

    def identity(self) -> tuple[Any, ...]:
        return (
            self.version,
            self.owner,
            self.person_number,
            self.code,
            self.imo,
            self.call_sign,
            self.start,
            self.stop,
        )

    def v1(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "uid": self.uid,
            "personalIdentityNumber": self.person_number,
            "organizationNumber": self.owner,
            "competenceCode": self.code,
            "periodStartDate": self.start,
            "createdAt": _stamp(self.created),
        }
        if self.imo:
            body["vesselImoNumber"] = self.imo
        if self.call_sign:
            body["vesselCallSign"] = self.call_sign
        if self.stop:
            body["periodStopDate"] = self.stop
        return body

    def v2(self) -> dict[str, Any]:
        seafarer: dict[str, Any] = {"personalIdentityNumber": self.person_number}
        for name, value in (
            ("firstName", self.first_name),
            ("middleName", self.middle_name),
            ("lastName", self.last_name),
        ):
            if value:
                seafarer[name] = value
        vessel: dict[str, Any] = {}
        if self.imo:
            vessel["imoNumber"] = self.imo
        if self.call_sign:
            vessel["callSign"] = self.call_sign
        competence: dict[str, Any] = {"competenceCode": self.code, "periodStartDate": self.start}
        if self.stop:
            competence["periodStopDate"] = self.stop
        if self.completion:
            competence["completionDate"] = self.completion
        return {
            "uid": self.uid,
            "seafarer": seafarer,
            "organization": {"organisationNumber": self.owner},
            "vessel": vessel,
            "competence": competence,
            "createdAt": _stamp(self.created),
        }


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(OSLO).isoformat(timespec="milliseconds")


@dataclass
class Register:
    reports: dict[str, Report] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


# ---------------------------------------------------------------------------- errors


class Problem(Exception):
    """An error answer in ASP.NET Core's problem shape (choice 5)."""

    titles: ClassVar[dict[int, str]] = {
        400: "One or more validation errors occurred.",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        405: "Method Not Allowed",
        409: "Conflict",
        415: "Unsupported Media Type",
    }

    def __init__(
        self, status: int, errors: dict[str, list[str]] | None = None, detail: str = ""
    ) -> None:
        super().__init__(detail or str(status))
        self.status = status
        self.errors = errors
        self.detail = detail

    def response(self) -> Response:
        body: dict[str, Any] = {
            "type": f"https://tools.ietf.org/html/rfc9110#section-15.5.{self.status - 399}",
            "title": self.titles.get(self.status, "Error"),
            "status": self.status,
            "traceId": f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00",
        }
        if self.detail:
            body["detail"] = self.detail
        if self.errors:
            body["errors"] = self.errors
        return JSONResponse(body, status_code=self.status, media_type="application/problem+json")


class _Errors:
    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.found.setdefault(path, []).append(message)


def _text(
    errors: _Errors, data: dict[str, Any], name: str, path: str, *, required: bool
) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            errors.add(path, f"The {name} field is required.")
        return None
    if not isinstance(value, str) or not value.strip():
        errors.add(path, f"The {name} field must be a non-empty string.")
        return None
    return value


def _date(
    errors: _Errors, data: dict[str, Any], name: str, path: str, *, required: bool
) -> str | None:
    value = _text(errors, data, name, path, required=required)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat() if len(value) == 10 else _bad_date(value)
    except ValueError:
        errors.add(path, f"The {name} field must be an ISO 8601 date (yyyy-mm-dd).")
        return None


def _bad_date(value: str) -> str:
    raise ValueError(value)


# ---------------------------------------------------------------------------- the app


Handler = Callable[[Request], Awaitable[Response]]


class Provider:
    """The two URL versions over one register, with the gateway's key check in front."""

    def __init__(
        self,
        *,
        api_keys: set[str],
        jwks_url: str,
        issuer: str,
        vessels: dict[str, str],
        order: str = "newest",
        flaws: frozenset[str] = frozenset(),
    ) -> None:
        unknown = flaws - FLAWS
        if unknown:
            raise ValueError(f"unknown flaws: {sorted(unknown)}")
        self.api_keys = api_keys
        self.issuer = issuer
        self.jwks = jwt.PyJWKClient(jwks_url, cache_keys=True)
        self.flaws = flaws
        self.order = order
        # ASP.NET Core's JwtBearer default ClockSkew (5 minutes): Sdir's backend is .NET and
        # Maskinporten's text sets no tolerance, so a token expired less long ago is still taken.
        self.leeway = 300
        self.vessels = vessels  # IMO number or call sign -> the owner's organisation number
        self.register = Register()

    # -- the gateway and the token --------------------------------------------------

    def _caller(self, request: Request) -> str:
        """The caller's organisation number, or a Problem/_Gateway raised."""
        key = request.headers.get("Ocp-Apim-Subscription-Key")
        if key is None:
            raise _Gateway(
                "Access denied due to missing subscription key. Make sure to include "
                "subscription key when making requests to an API."
            )
        if key not in self.api_keys and "any-key" not in self.flaws:
            raise _Gateway(
                "Access denied due to invalid subscription key. Make sure to provide "
                "a valid key for an active subscription."
            )
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Problem(401, detail="A bearer token is required.")
        try:
            signing = self.jwks.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                signing.key,
                algorithms=["RS256"],
                issuer=self.issuer,
                leeway=self.leeway,
                options={
                    "require": ["exp", "iss"],
                    "verify_aud": False,
                    "verify_exp": "expired-token" not in self.flaws,
                },
            )
        except (jwt.PyJWTError, jwt.PyJWKClientError) as error:
            raise Problem(401, detail=f"The bearer token was refused: {error}.") from None
        scopes = str(claims.get("scope", "")).split()
        if SCOPE not in scopes and "any-scope" not in self.flaws:
            raise Problem(403, detail=f"The token lacks the scope {SCOPE}.")
        consumer = claims.get("consumer")
        ident = consumer.get("ID", "") if isinstance(consumer, dict) else ""
        org = ident.removeprefix("0192:")
        if not valid_orgno(org):
            raise Problem(403, detail="The token names no organisation (consumer).")
        return org

    def endpoint(self, name: str) -> Handler:
        """The route for handler `name`, looked up per request (a test may swap a handler)."""

        async def run(request: Request) -> Response:
            handler: Callable[[Request, str], Awaitable[Response]] = getattr(self, name)
            try:
                org = self._caller(request)
                return await handler(request, org)
            except _Gateway as refusal:
                return JSONResponse(
                    {"statusCode": 401, "message": refusal.message}, status_code=401
                )
            except Problem as problem:
                return problem.response()

        return run

    # -- request bodies ---------------------------------------------------------------

    @staticmethod
    async def _json(request: Request) -> Any:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise Problem(415, detail="Send the body as application/json.")
        try:
            return json.loads(await request.body())
        except ValueError:
            raise Problem(400, {"$": ["The JSON value could not be read."]}) from None

    @staticmethod
    def _batch_list(body: Any) -> list[Any]:
        if not isinstance(body, list):
            raise Problem(400, {"$": ["A batch is a JSON array of reports."]})
        if not body:
            raise Problem(400, {"$": ["A batch holds at least one report."]})
        if len(body) > MAX_BATCH:
            raise Problem(400, {"$": [f"A batch holds at most {MAX_BATCH} reports."]})
        return body

    def _vessel(
        self, errors: _Errors, paths: tuple[str, str, str], imo: Any, call_sign: Any
    ) -> None:
        whole, imo_path, sign_path = paths
        if imo is None and call_sign is None:
            errors.add(whole, "Give the vessel's IMO number or its call sign.")
        if imo is not None and not (isinstance(imo, str) and valid_imo(imo)):
            errors.add(imo_path, "Not a valid IMO number.")
        if call_sign is not None and not (
            isinstance(call_sign, str) and re.fullmatch(r"[A-Z0-9]{3,7}", call_sign)
        ):
            errors.add(sign_path, "Not a valid call sign.")
        for value, path in ((imo, imo_path), (call_sign, sign_path)):
            if isinstance(value, str) and path not in errors.found and value not in self.vessels:
                errors.add(path, f"No registered vessel {value}.")

    def _owns(self, org: str, imo: str | None, call_sign: str | None) -> None:
        for value in (imo, call_sign):
            if value is not None and self.vessels.get(value) != org:
                raise Problem(403, detail=f"The vessel {value} is not owned by organisation {org}.")

    def _common(
        self,
        errors: _Errors,
        p: str,
        fnr: str | None,
        code: str | None,
        start: str | None,
        stop: str | None,
    ) -> None:
        if fnr is not None and not valid_fnr(fnr):
            errors.add(p + "personalIdentityNumber", "Not a valid fødselsnummer or D-nummer.")
        if code is not None and code not in CODES:
            errors.add(p + "competenceCode", f"Unknown competence code '{code}'.")
        if start and stop and stop < start:
            errors.add(p + "periodStopDate", "The period cannot end before it starts.")

    def _parse_v1(self, errors: _Errors, item: Any, p: str, org: str) -> Report | None:
        if not isinstance(item, dict):
            errors.add(p.rstrip("."), "A report is a JSON object.")
            return None
        fnr = _text(
            errors, item, "personalIdentityNumber", p + "personalIdentityNumber", required=True
        )
        owner = _text(errors, item, "organizationNumber", p + "organizationNumber", required=True)
        code = _text(errors, item, "competenceCode", p + "competenceCode", required=True)
        start = _date(errors, item, "periodStartDate", p + "periodStartDate", required=True)
        stop = _date(errors, item, "periodStopDate", p + "periodStopDate", required=False)
        imo, call_sign = item.get("vesselImoNumber"), item.get("vesselCallSign")
        self._vessel(
            errors, (p + "vessel", p + "vesselImoNumber", p + "vesselCallSign"), imo, call_sign
        )
        self._common(errors, p, fnr, code, start, stop)
        if owner is not None and not valid_orgno(owner):
            errors.add(p + "organizationNumber", "Not a valid organisation number.")
        if errors.found:
            return None
        if owner != org:
            raise Problem(403, detail="Only the ship owner may report for its organisation number.")
        self._owns(org, imo, call_sign)
        assert fnr and owner and code and start
        return Report(
            str(uuid.uuid4()),
            owner,
            fnr,
            None,
            None,
            None,
            imo,
            call_sign,
            code,
            start,
            stop,
            None,
            dt.datetime.now(dt.UTC),
        )

    def _parse_v2(self, errors: _Errors, item: Any, p: str, org: str) -> Report | None:
        if not isinstance(item, dict):
            errors.add(p.rstrip("."), "A report is a JSON object.")
            return None
        parts: dict[str, dict[str, Any]] = {}
        for name in ("seafarer", "organization", "vessel", "competence"):
            part = item.get(name)
            if not isinstance(part, dict):
                errors.add(p + name, f"The {name} object is required.")
                part = {}
            parts[name] = part
        s, o, v, c = parts["seafarer"], parts["organization"], parts["vessel"], parts["competence"]
        fnr = _text(
            errors,
            s,
            "personalIdentityNumber",
            p + "seafarer.personalIdentityNumber",
            required=True,
        )
        first = _text(errors, s, "firstName", p + "seafarer.firstName", required=True)
        last = _text(errors, s, "lastName", p + "seafarer.lastName", required=True)
        middle = _text(errors, s, "middleName", p + "seafarer.middleName", required=False)
        owner = _text(
            errors, o, "organisationNumber", p + "organization.organisationNumber", required=True
        )
        code = _text(errors, c, "competenceCode", p + "competence.competenceCode", required=True)
        start = _date(errors, c, "periodStartDate", p + "competence.periodStartDate", required=True)
        stop = _date(errors, c, "periodStopDate", p + "competence.periodStopDate", required=False)
        done = _date(errors, c, "completionDate", p + "competence.completionDate", required=False)
        self._vessel(
            errors,
            (p + "vessel", p + "vessel.imoNumber", p + "vessel.callSign"),
            v.get("imoNumber"),
            v.get("callSign"),
        )
        if owner is not None and not valid_orgno(owner):
            errors.add(p + "organization.organisationNumber", "Not a valid organisation number.")
        self._common(errors, p + "competence.", None, code, start, stop)
        if fnr is not None and not valid_fnr(fnr):
            errors.add(
                p + "seafarer.personalIdentityNumber", "Not a valid fødselsnummer or D-nummer."
            )
        if errors.found:
            return None
        if owner != org:
            raise Problem(403, detail="Only the ship owner may report for its organisation number.")
        self._owns(org, v.get("imoNumber"), v.get("callSign"))
        assert fnr and owner and code and start
        return Report(
            str(uuid.uuid4()),
            owner,
            fnr,
            first,
            last,
            middle,
            v.get("imoNumber"),
            v.get("callSign"),
            code,
            start,
            stop,
            done,
            dt.datetime.now(dt.UTC),
            "v2",
        )

    def _store(self, reports: list[Report]) -> None:
        """Store all or nothing (REST page "Batch operations"); a duplicate refuses the lot."""
        with self.register.lock:
            taken = {r.identity() for r in self.register.reports.values()}
            seen: set[tuple[Any, ...]] = set()
            for index, report in enumerate(reports):
                key = report.identity()
                if key in taken or key in seen:
                    raise Problem(409, {f"[{index}]": ["This report is already registered."]})
                seen.add(key)
            for report in reports:
                self.register.reports[report.uid] = report

    def _visible(self, uid: str, org: str, version: str) -> Report:
        report = self.register.reports.get(uid)
        if (
            report is None
            or report.version != version
            or (report.owner != org and "leak-other-owner" not in self.flaws)
        ):
            raise Problem(404, detail=f"No additional competence with uid {uid}.")
        return report

    def _create_batch(
        self, body: list[Any], org: str, parse: Callable[[_Errors, Any, str, str], Report | None]
    ) -> list[Report]:
        errors = _Errors()
        reports: list[Report] = []
        for index, item in enumerate(body):
            report = parse(errors, item, f"[{index}].", org)
            if report is not None:
                reports.append(report)
            elif "partial-batch" in self.flaws:
                break
        if errors.found:
            if "partial-batch" in self.flaws:
                self._store(reports)
            raise Problem(400, errors.found)
        self._store(reports)
        return reports

    # -- handlers shared by both versions ---------------------------------------------

    async def codes(self, request: Request, org: str) -> Response:
        return JSONResponse(
            [{"code": code, "description": text} for code, text in sorted(CODES.items())]
        )

    # -- v1 ---------------------------------------------------------------------------

    async def v1_post_one(self, request: Request, org: str) -> Response:
        body = await self._json(request)
        errors = _Errors()
        report = self._parse_v1(errors, body, "", org)
        if report is None:
            raise Problem(400, errors.found)
        self._store([report])
        return JSONResponse(
            report.v1(), status_code=201, headers={"Location": f"{request.url}/{report.uid}"}
        )

    async def v1_post_batch(self, request: Request, org: str) -> Response:
        items = self._batch_list(await self._json(request))
        reports = self._create_batch(items, org, self._parse_v1)
        return JSONResponse([r.v1() for r in reports], status_code=201)

    async def v1_get_one(self, request: Request, org: str) -> Response:
        return JSONResponse(self._visible(request.path_params["uid"], org, "v1").v1())

    async def v1_get_many(self, request: Request, org: str) -> Response:
        uids = request.query_params.getlist("uid")
        if not uids:
            raise Problem(400, {"uid": ["Give one or more uid parameters."]})
        found = []
        for uid in sorted(set(uids)):
            report = self.register.reports.get(uid)
            if (
                report is not None
                and report.version == "v1"
                and (report.owner == org or bool(MANY_LEAKS & self.flaws))
            ):
                found.append(report.v1())
        return JSONResponse(found)

    def _replacement(
        self, errors: _Errors, item: Any, p: str, org: str, uid: str | None
    ) -> tuple[str, Report] | None:
        if isinstance(item, dict) and uid is None:
            uid = item.get("uid") if isinstance(item.get("uid"), str) else None
            if uid is None:
                errors.add(p + "uid", "The uid field is required to update.")
        elif isinstance(item, dict) and item.get("uid") not in (None, uid):
            errors.add(p + "uid", "The uid in the body differs from the uid in the path.")
        report = self._parse_v1(errors, item, p, org)
        if report is None or uid is None:
            return None
        return uid, report

    def _replace(self, pairs: list[tuple[str, Report]], org: str) -> list[Report]:
        with self.register.lock:
            for uid, _ in pairs:
                owner = self.register.reports[uid].owner if uid in self.register.reports else org
                # 404 before anything changes (the flaw: overwrite another owner's report)
                self._visible(uid, owner if "update-other-owner" in self.flaws else org, "v1")
            done = []
            for uid, new in pairs:
                old = self.register.reports[uid]
                new.uid, new.created = uid, old.created
                self.register.reports[uid] = new
                done.append(new)
            return done

    async def v1_put_one(self, request: Request, org: str) -> Response:
        uid = request.path_params["uid"]
        body = await self._json(request)
        errors = _Errors()
        pair = self._replacement(errors, body, "", org, uid)
        if pair is None:
            self._visible(uid, org, "v1")
            raise Problem(400, errors.found)
        return JSONResponse(self._replace([pair], org)[0].v1())

    async def v1_put_batch(self, request: Request, org: str) -> Response:
        items = self._batch_list(await self._json(request))
        errors = _Errors()
        pairs = []
        for index, item in enumerate(items):
            pair = self._replacement(errors, item, f"[{index}].", org, None)
            if pair is not None:
                pairs.append(pair)
        if errors.found:
            raise Problem(400, errors.found)
        return JSONResponse([r.v1() for r in self._replace(pairs, org)])

    # -- v2 ---------------------------------------------------------------------------

    async def v2_post_batch(self, request: Request, org: str) -> Response:
        items = self._batch_list(await self._json(request))
        reports = self._create_batch(items, org, self._parse_v2)
        return JSONResponse([r.v2() for r in reports], status_code=201)

    async def v2_get_one(self, request: Request, org: str) -> Response:
        return JSONResponse(self._visible(request.path_params["uid"], org, "v2").v2())

    async def v2_list(self, request: Request, org: str) -> Response:
        query = request.query_params
        errors = _Errors()
        numbers: dict[str, int] = {}
        for name, default in (("offset", 0), ("limit", 25)):
            raw = query.get(name)
            try:
                numbers[name] = default if raw is None else int(raw)
                if numbers[name] < (0 if name == "offset" else 1):
                    raise ValueError(raw)
            except ValueError:
                errors.add(
                    name,
                    f"The {name} parameter must be a {'non-negative' if name == 'offset' else 'positive'} integer.",
                )
        since: dt.date | None = None
        if "fromDate" in query:
            try:
                since = dt.date.fromisoformat(query["fromDate"])
            except ValueError:
                errors.add("fromDate", "The fromDate parameter must be an ISO 8601 date.")
        wanted = query.get("organisationNumber")
        if wanted is not None and not valid_orgno(wanted):
            errors.add("organisationNumber", "Not a valid organisation number.")
        if errors.found:
            raise Problem(400, errors.found)
        if wanted is not None and wanted != org:
            raise Problem(403, detail="You can list only your own organisation's reports.")
        offset, limit = numbers["offset"], min(numbers["limit"], MAX_LIMIT)
        mine = [
            r
            for r in self.register.reports.values()
            if r.version == "v2"
            and (
                r.owner == org or bool({"leak-other-owner", "list-leaks-other-owner"} & self.flaws)
            )
            and (since is None or r.created.astimezone(OSLO).date() >= since)
        ]
        mine.sort(key=lambda r: (r.created, r.uid), reverse=self.order == "newest")
        page = mine[offset : offset + limit]
        return JSONResponse(
            {"count": len(mine), "offset": offset, "limit": limit, "items": [r.v2() for r in page]}
        )

    def app(self) -> Starlette:
        e = self.endpoint
        v1 = PREFIX + "/v1/additionalcompetence"
        v2 = PREFIX + "/v2/additionalcompetence"
        return Starlette(
            routes=[
                Route(v1 + "/codes", e("codes"), methods=["GET"]),
                Route(v1 + "/batch", e("v1_post_batch"), methods=["POST"]),
                Route(v1 + "/batch", e("v1_put_batch"), methods=["PUT"]),
                Route(v1 + "/{uid}", e("v1_get_one"), methods=["GET"]),
                Route(v1 + "/{uid}", e("v1_put_one"), methods=["PUT"]),
                Route(v1, e("v1_post_one"), methods=["POST"]),
                Route(v1, e("v1_get_many"), methods=["GET"]),
                Route(v2 + "/codes", e("codes"), methods=["GET"]),
                Route(v2 + "/batch", e("v2_post_batch"), methods=["POST"]),
                Route(v2 + "/{uid}", e("v2_get_one"), methods=["GET"]),
                Route(v2, e("v2_list"), methods=["GET"]),
            ]
        )


class _Gateway(Exception):
    """The APIM gateway's refusal, answered before the backend sees the call."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def create_app(
    *,
    api_keys: set[str],
    jwks_url: str,
    issuer: str,
    vessels: dict[str, str],
    flaws: frozenset[str] = frozenset(),
) -> Starlette:
    """The provider as an ASGI app; `vessels` maps an IMO number or call sign to its owner."""
    provider = Provider(
        api_keys=api_keys, jwks_url=jwks_url, issuer=issuer, vessels=vessels, flaws=flaws
    )
    return provider.app()
