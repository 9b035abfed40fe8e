"""`kontrakt certify` against an Sdir additional-competence provider kontrakt did not write.

The provider (sdir_provider.py) was written from Sdir's published pages and the fact sheet only;
its token issuer is the small Maskinporten stand-in below (not kontrakt's sandbox issuer). The
manifests are what the provider's engineer fills in from `kontrakt init
sdir-additional-competence/v1` (and /v2) and `kontrakt manifest-schema`. Everything runs on
127.0.0.1 under real uvicorn. At the default level both URL versions must pass: a correct
provider that made other permitted choices (ASP.NET validation problems with an `errors` object
and no codes, 400 for an oversized batch, newest-first lists, `fromDate` on the registration
day, no prevalidate endpoint, a base path of its own) is not failed. Three broken twins of the
same provider must fail.
"""

from __future__ import annotations

import base64
import io
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from rich.console import Console
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kontrakt.conformance.manifest import Manifest
from kontrakt.conformance.profile import load_profile
from kontrakt.conformance.runner import RunResult, run_profile
from tests.e2e._support import serve
from tests.e2e.independent import sdir_provider as sdir

QUIET = Console(file=io.StringIO(), force_terminal=False)
OTHER_SCOPE = "sdir:seafarer.course.write"  # another Sdir scope the wrong-scope integration holds


# --- synthetic test data, check digits computed here ----------------------------------------


def synthetic_fnr(day: int, month: int, year: int, individual: int) -> str:
    """A Tenor-style synthetic fødselsnummer (month + 80) with both MOD11 check digits."""
    for number in range(individual, individual + 50):
        base = f"{day:02d}{month + 80:02d}{year % 100:02d}{number:03d}"
        k1 = sdir._mod11(base, (3, 7, 6, 1, 8, 9, 4, 5, 2))
        k2 = None if k1 is None else sdir._mod11(base + str(k1), (5, 4, 3, 2, 7, 6, 5, 4, 3, 2))
        if k1 is not None and k2 is not None:
            return f"{base}{k1}{k2}"
    raise AssertionError("no valid number in range")


def orgno(first8: str) -> str:
    """An organisation number: the first valid MOD11 number from `first8` upwards."""
    for start in range(int(first8), int(first8) + 20):
        check = sdir._mod11(f"{start:08d}", (3, 2, 7, 6, 5, 4, 3, 2))
        if check is not None:
            return f"{start:08d}{check}"
    raise AssertionError("no valid number in range")


def imo(first6: str) -> str:
    total = sum(int(d) * w for d, w in zip(first6, (7, 6, 5, 4, 3, 2), strict=True))
    return f"{first6}{total % 10}"


OWNER = orgno("31555210")  # the supplier's client's organisation, owner of VESSEL and CALL_SIGN
CUSTOMER = orgno("31555220")  # delegates the scope to the supplier
RIVAL = orgno("31555230")  # another ship owner with a client of its own
VESSEL, CUSTOMER_VESSEL, RIVAL_VESSEL = imo("981402"), imo("981403"), imo("981404")
CALL_SIGN = "LM4821"
SEAFARERS = [
    {
        "personalIdentityNumber": synthetic_fnr(3, 8, 1971, 400),
        "firstName": "Sigrid",
        "lastName": "Havsund",
    },
    {
        "personalIdentityNumber": synthetic_fnr(17, 4, 1992, 410),
        "firstName": "Eirik",
        "lastName": "Bølgen",
    },
]
API_KEY, RIVAL_KEY = "3f1e0c9a-5b7d-4e21-9c44-0d6a1b2e8f10", "8a7c2d1e-0f3b-4c5a-9e6d-2b1a0c9f8e7d"


# --- a small Maskinporten stand-in ------------------------------------------------------------


@dataclass(frozen=True)
class Client:
    secret: str
    consumer: str
    scopes: frozenset[str]
    supplier: str | None = None  # set for a token got on behalf of `consumer`


CLIENTS = {
    "rederi-system": Client("s3cret-main", OWNER, frozenset({sdir.SCOPE})),
    "rederi-kurs": Client("s3cret-course", OWNER, frozenset({OTHER_SCOPE})),
    "rival-system": Client("s3cret-rival", RIVAL, frozenset({sdir.SCOPE})),
    "rederi-for-kunde": Client("s3cret-delegated", CUSTOMER, frozenset({sdir.SCOPE}), OWNER),
}


class Maskinporten:
    """`POST /token` (client credentials, form or Basic) and `GET /jwks`, RS256 tokens."""

    kid = "mp-test-2026"

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.issuer = ""

    def mint(self, client_id: str, scopes: list[str], *, lifetime: int = 120) -> str:
        client = CLIENTS[client_id]
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "client_id": client_id,
            "scope": " ".join(scopes),
            "consumer": {"authority": "iso6523-actorid-upis", "ID": f"0192:{client.consumer}"},
            "iat": now - (lifetime if lifetime < 0 else 0) * 2,
            "exp": now + lifetime,
            "jti": str(uuid.uuid4()),
        }
        if client.supplier:
            claims["supplier"] = {
                "authority": "iso6523-actorid-upis",
                "ID": f"0192:{client.supplier}",
            }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    async def token(self, request: Request) -> Response:
        form = await request.form()
        client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        client = CLIENTS.get(client_id)
        if client is None or client.secret != secret:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        asked = str(form.get("scope", "")).split()
        if not asked or not set(asked) <= client.scopes:
            return JSONResponse({"error": "invalid_scope"}, status_code=400)
        token = self.mint(client_id, asked)
        body = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 120,
            "scope": " ".join(asked),
        }
        return JSONResponse(body)

    async def jwks(self, request: Request) -> Response:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid=self.kid, alg="RS256", use="sig")
        return JSONResponse({"keys": [jwk]})

    def app(self) -> Starlette:
        return Starlette(
            routes=[Route("/token", self.token, methods=["POST"]), Route("/jwks", self.jwks)]
        )


# --- the world: issuer and provider on 127.0.0.1 ----------------------------------------------


@dataclass
class World:
    base_url: str
    token_url: str
    mp: Maskinporten
    issuer_key: Path
    provider: sdir.Provider
    own_reports: dict[str, str]  # URL version -> the uid of a report sent earlier


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    mp = Maskinporten()
    key_file = tmp_path_factory.mktemp("independent-sdir") / "mp-test.pem"
    key_file.write_bytes(
        mp.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with serve(mp.app()) as mp_url:
        mp.issuer = mp_url + "/"
        vessels = {VESSEL: OWNER, CALL_SIGN: OWNER, CUSTOMER_VESSEL: CUSTOMER, RIVAL_VESSEL: RIVAL}
        provider = sdir.Provider(
            api_keys={API_KEY, RIVAL_KEY},
            jwks_url=mp_url + "/jwks",
            issuer=mp.issuer,
            vessels=vessels,
        )
        with serve(provider.app()) as url:
            base = url + sdir.PREFIX
            # The engineer's earlier reports, read back by SDIR-DATETIME-OFFSET (own_report_uid).
            headers = {
                "Ocp-Apim-Subscription-Key": API_KEY,
                "Authorization": "Bearer " + mp.mint("rederi-system", [sdir.SCOPE]),
            }
            person = SEAFARERS[0]
            flat = {
                "personalIdentityNumber": person["personalIdentityNumber"],
                "organizationNumber": OWNER,
                "vesselImoNumber": VESSEL,
                "competenceCode": "BV",
                "periodStartDate": "2026-01-05",
                "periodStopDate": "2026-03-20",
            }
            nested = {
                "seafarer": person,
                "organization": {"organisationNumber": OWNER},
                "vessel": {"callSign": CALL_SIGN},
                "competence": {"competenceCode": "MV", "periodStartDate": "2025-09-01"},
            }
            own = {}
            for version, path, body in (("v1", "", flat), ("v2", "/batch", [nested])):
                answer = httpx.post(
                    f"{base}/{version}/additionalcompetence{path}", json=body, headers=headers
                )
                assert answer.status_code == 201, answer.text
                created = answer.json()
                own[version] = (created[0] if isinstance(created, list) else created)["uid"]
            yield World(base, mp_url + "/token", mp, key_file, provider, own)


def _client(world: World, client_id: str, key: str = API_KEY) -> list[dict[str, Any]]:
    return [
        {"type": "api-key", "header": "Ocp-Apim-Subscription-Key", "value": key},
        {
            "type": "oauth2-client-credentials",
            "token_url": world.token_url,
            "client_id": client_id,
            "client_secret": CLIENTS[client_id].secret,
            "scope": " ".join(sorted(CLIENTS[client_id].scopes)),
        },
    ]


def manifest(world: World, version: str) -> Manifest:
    """The manifest the provider's engineer writes from `kontrakt init` for `version`."""
    expired = world.mp.mint("rederi-system", [sdir.SCOPE], lifetime=-600)
    data: dict[str, Any] = {
        "profile": f"sdir-additional-competence/{version}",
        "base_url": world.base_url,
        "environment": "test",
        "level": "default",
        "auth": _client(world, "rederi-system"),
        "credentials": {
            "wrong_scope": _client(world, "rederi-kurs"),
            "other_owner": _client(world, "rival-system", RIVAL_KEY),
            "delegated": _client(world, "rederi-for-kunde"),
            "expired_token": [
                {"type": "api-key", "header": "Ocp-Apim-Subscription-Key", "value": API_KEY},
                {"type": "bearer", "token": expired},
            ],
        },
        "negative_auth": {"signing_key": str(world.issuer_key), "kid": Maskinporten.kid},
        "fixtures": {
            "organisation": OWNER,
            "seafarers": SEAFARERS,
            "vessel_imo": VESSEL,
            "vessel_call_sign": CALL_SIGN,
            "foreign_organisation": RIVAL,
            "foreign_vessel_imo": RIVAL_VESSEL,
            "delegated_organisation": CUSTOMER,
            "delegated_vessel_imo": CUSTOMER_VESSEL,
            "own_report_uid": world.own_reports[version],
            "revoked_subscription_key": "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
        },
        "limits": {"read_only": False, "timeout_seconds": 10},
    }
    if version == "v1":
        data["capabilities"] = [
            "endpoint:createAdditionalCompetence",
            "endpoint:listAdditionalCompetencesByUid",
            "endpoint:listCompetenceCodes",
            "endpoint:updateAdditionalCompetence",
            "endpoint:updateAdditionalCompetenceBatch",
        ]
    else:  # no prevalidate endpoint here
        data["capabilities"] = [
            "endpoint:listAdditionalCompetences",
            "endpoint:listCompetenceCodes",
        ]
    return Manifest.model_validate(data)


def certify(world: World, version: str, patterns: list[str] | None = None) -> RunResult:
    profile = load_profile(f"sdir-additional-competence/{version}", patterns=patterns)
    return run_profile(profile, manifest(world, version), console=QUIET, progress=False)


def broken(result: RunResult) -> dict[str, str]:
    return {
        r.id: f"{r.verdict}: {r.message}"
        for r in result.results
        if r.verdict in ("fail", "warn", "error")
    }


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_certify_passes_the_independent_provider(world: World, version: str) -> None:
    result = certify(world, version)
    verdicts = {r.id: r.verdict for r in result.results}
    assert result.complete and result.passed, broken(result)
    assert not [r for r, v in verdicts.items() if v in ("fail", "error")], broken(result)
    # A warning only ever says "differs from kontrakt's proposal A-SDIR-nnn", never more.
    for rule in result.results:
        if rule.verdict == "warn":
            assert rule.deviations, rule.id
            assert all(d.assumption.startswith("A-SDIR-") for d in rule.deviations), rule.id
    judged = ("SDIR-BATCH-ATOMIC", "SDIR-READ-OWN-ONLY", "SDIR-AUTH-KEY-VALID", "SDIR-AUTH-SCOPE")
    assert all(verdicts[r] in ("pass", "warn") for r in judged), broken(result)
    assert sum(1 for v in verdicts.values() if v == "pass") >= 14, verdicts


# --- broken twins of the same provider: certify must fail each ---------------------------------


@dataclass(frozen=True)
class Defect:
    flaw: str
    rules: tuple[str, ...]  # the rules that must fail (and only those run)
    order: str = "newest"  # the list order the twin serves
    versions: tuple[str, ...] = ("v1", "v2")


DEFECTS = (
    # A batch with one bad item keeps the valid items before it (REST page "Batch operations").
    Defect("partial-batch", ("SDIR-BATCH-ATOMIC",)),
    # The gateway lets any subscription key through (REST page "Authentication with API-key").
    Defect("any-key", ("SDIR-AUTH-KEY-VALID",)),
    # Another ship owner's reports are readable and listed (FACTS §4 [AC]: the owner reports).
    Defect("leak-other-owner", ("SDIR-READ-OWN-ONLY",)),
    # Expired tokens and tokens without the write scope are taken (FACTS §3, §8; [SCOPES]).
    Defect("expired-token", ("SDIR-AUTH-TOKEN-VALID",)),
    Defect("any-scope", ("SDIR-AUTH-SCOPE",)),
    # v1's several-by-uid read answers another owner's report; the read of one does not.
    Defect("many-leaks-other-owner", ("SDIR-READ-OWN-ONLY",), versions=("v1",)),
    # v1's updates replace another owner's report (FACTS §4 [FAQ]: only the ship owner reports).
    Defect("update-other-owner", ("SDIR-READ-OWN-ONLY",), versions=("v1",)),
)
TWINS = [(d, v) for d in DEFECTS for v in d.versions]
# The list alone leaks, oldest first and capped at 50 a page: the foreign report sits past the
# first page, so only a suite that walks the pages the provider really serves sees it (v2 only).
LIST_LEAK = Defect("list-leaks-other-owner", ("SDIR-READ-OWN-ONLY",), order="oldest")


def _certify_twin(
    world: World, defect: Defect, version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(world.provider, "flaws", frozenset({defect.flaw}))
    monkeypatch.setattr(world.provider, "order", defect.order)
    result = certify(world, version, list(defect.rules))
    verdicts = {r.id: r.verdict for r in result.results}
    assert not result.passed, verdicts
    assert {r: verdicts.get(r) for r in defect.rules} == dict.fromkeys(defect.rules, "fail"), (
        broken(result)
    )


@pytest.mark.parametrize(("defect", "version"), TWINS, ids=[f"{d.flaw}-{v}" for d, v in TWINS])
def test_certify_fails_a_broken_twin(
    world: World, defect: Defect, version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _certify_twin(world, defect, version, monkeypatch)


def test_certify_walks_the_pages_the_provider_serves(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # More own reports than one capped page holds, so the foreign one lands past page 1.
    nested = [
        {
            "seafarer": SEAFARERS[1],
            "organization": {"organisationNumber": OWNER},
            "vessel": {"imoNumber": VESSEL},
            "competence": {
                "competenceCode": "GOPOLFAR",
                "periodStartDate": f"2019-{1 + n // 28:02d}-{1 + n % 28:02d}",
            },
        }
        for n in range(sdir.MAX_LIMIT + 10)
    ]
    headers = {
        "Ocp-Apim-Subscription-Key": API_KEY,
        "Authorization": "Bearer " + world.mp.mint("rederi-system", [sdir.SCOPE]),
    }
    url = world.base_url + "/v2/additionalcompetence/batch"
    answer = httpx.post(url, json=nested, headers=headers)
    assert answer.status_code in (201, 409), answer.text  # 409: sent by an earlier run
    _certify_twin(world, LIST_LEAK, "v2", monkeypatch)
