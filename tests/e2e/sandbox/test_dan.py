"""DAN v1 sandbox end to end: a real socket (`Sandbox.start(["dan"])`), tokens from the real
issuer over HTTP, and the generated client `generated.dan_v1.Client`.

Covers the accreditation flow step by step, the consent flow to Available, Denied and Expired,
envelope vs `envelope=false`, every error code a request can trigger (HTTP status and ErrorModel
body), the public metadata compared with the spec's own extensions, and key-only vs key+token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
import yaml

from kontrakt.generated.dan_v1 import Client
from kontrakt.generated.dan_v1.models import (
    Accreditation,
    AuthorizationRequest,
    DatasetBody,
    DirectHarvestBody,
    Evidence,
    EvidenceRequest,
    LegalBasis,
)
from kontrakt.generated.dan_v1.server import OPERATION_ERRORS
from kontrakt.runtime.client import ApiError, ApiKey, BearerToken, ClientCredentials, MultiAuth
from kontrakt.sandbox.dan.contract import DEFAULT_SPEC
from kontrakt.sandbox.launch import Sandbox

KEY = "sandbox-dan-ebevis-key"
DROSJE_KEY = "sandbox-dan-drosjeloyve-key"
UNBOUND_KEY = "sandbox-dan-unbound-key"
CLIENT_ID, SECRET = "dan-consumer-test", "sandbox-dan-secret"
SCOPES = ["altinn:dataaltinnno", "altinn:dataaltinnno/sandbox"]
ME = "310000108"  # dan-consumer-test's organisation
BYGG, HANDEL, DELETED = "310001120", "310001139", "310001147"
NOT_IN_CCR = "310001252"  # valid check digit, unknown to the sandbox's CCR
PERSON = "15838510075"  # synthetic (Tenor form)
FOREIGN = "iso6523-actorid-upis::0060:000000000"
SPEC = yaml.safe_load(DEFAULT_SPEC.read_text(encoding="utf-8"))
CATALOGUE = SPEC["x-kontrakt-error-catalogue"]["codes"]


class Recorder(httpx.HTTPTransport):
    """Keeps the last response, so tests can read headers the typed client does not return."""

    last: httpx.Response

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.last = super().handle_request(request)
        return self.last


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.start(["dan"]) as started:
        yield started


@pytest.fixture(scope="module")
def token(sandbox: Sandbox) -> str:
    """A token from the issuer's token endpoint over HTTP (client_credentials)."""
    response = httpx.post(
        sandbox.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "scope": " ".join(SCOPES),
            "resource": "dan",
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def mint(sandbox: Sandbox, scopes: list[str] = SCOPES, **extra: Any) -> str:
    issuer = sandbox.context.issuer
    client = issuer.registry.get(CLIENT_ID)
    assert client is not None
    return issuer.mint(client, scopes, sandbox.url("dan"), extra=extra)[0]


def dan(sandbox: Sandbox, token: str | None, key: str | None = KEY) -> tuple[Client, Recorder]:
    auths: list[httpx.Auth] = []
    if key is not None:
        auths.append(ApiKey(key))
    if token is not None:
        auths.append(BearerToken(token))
    recorder = Recorder()
    client = Client(
        sandbox.url("dan"),
        auth=MultiAuth(*auths) if auths else None,
        retry=None,
        transport=recorder,
    )
    return client, recorder


@pytest.fixture
def api(sandbox: Sandbox, token: str) -> Iterator[Client]:
    client, _ = dan(sandbox, token)
    with client:
        yield client


def request(
    subject: str = BYGG, *codes: str, consent: bool = True, **fields: Any
) -> AuthorizationRequest:
    names = codes or ("UnitBasicInformation",)
    return AuthorizationRequest.model_validate(
        {
            "requestor": fields.pop("requestor", ME),
            "subject": subject,
            "evidenceRequests": [
                {"evidenceCodeName": name, **({"requestConsent": True} if consent else {})}
                for name in names
            ],
            **fields,
        }
    )


def answer(sandbox: Sandbox, accreditation_id: str, reply: str) -> httpx.Response:
    origin = sandbox.url("dan").rsplit("/v1", 1)[0]
    return httpx.post(f"{origin}/_sandbox/consent/{accreditation_id}", json={"answer": reply})


def assert_error(caught: pytest.ExceptionInfo[ApiError], code: int) -> dict[str, Any]:
    """The HTTP status is the catalogue's and the body is an ErrorModel (FACTS §3.8)."""
    error = caught.value
    assert error.code == code, error
    assert error.status == CATALOGUE[str(code)]["status"], error
    body = error.body
    assert isinstance(body, dict)
    assert body["code"] == code and isinstance(body["description"], str)
    assert body["description"].startswith(CATALOGUE[str(code)]["title"].rstrip("."))
    assert set(body) <= {"code", "description", "detailCode", "detailDescription", "invocationId"}
    assert error.response is not None
    assert body["invocationId"] == error.response.headers["x-invocationId"]
    return body


def as_evidence(body: DatasetBody) -> Evidence:
    """The envelope of a harvest answer.

    The generated DatasetBody is `Evidence | UnenvelopedEvidence` (anyOf in the spec); pydantic's
    smart union mode files every JSON answer under the unconstrained UnenvelopedEvidence, so the
    envelope is validated explicitly here (reported to the lead as a generator finding).
    """
    inner = body.root
    return inner if isinstance(inner, Evidence) else Evidence.model_validate(inner.root)


def raw(body: DatasetBody) -> Any:
    """The unenveloped value of a harvest answer."""
    inner = body.root
    assert not isinstance(inner, Evidence)
    return inner.root


def statuses(api: Client, accreditation_id: str) -> dict[str, int]:
    return {
        s.evidence_code_name: int(s.status.code)
        for s in api.get_evidence_status(accreditation_id=accreditation_id)
    }


# --- the accreditation flow -----------------------------------------------------------------------


def test_accreditation_flow_step_by_step(sandbox: Sandbox, token: str) -> None:
    client, recorder = dan(sandbox, token)
    with client as api:
        created = api.create_accreditation(
            body=request(BYGG, "UnitBasicInformation", consent=False, externalReference="case-1")
        )
        # DAN-ACCR-CREATE-200, DAN-ACCR-LOCATION-HEADER, DAN-STATUS-AGGREGATE (code 0 at first)
        assert recorder.last.status_code == 200
        assert recorder.last.headers["Location"] == f"{sandbox.url('dan')}/evidence/{created.id}"
        assert created.aggregate_status is not None and created.aggregate_status.code == 0
        assert created.aggregate_status.description == ""
        assert created.requestor == ME and created.subject == BYGG
        assert created.subject_party is not None and created.subject_party.id == f"0192:{BYGG}"
        assert created.external_reference == "case-1" and created.service_context == "eBevis"
        assert created.evidence_codes[0].authorization_requirements == []
        # DAN-ACCR-VALIDTO-DEFAULT: 90 days without a dataset limit.
        assert abs((created.valid_to - created.issued) - dt.timedelta(days=90)) < dt.timedelta(
            seconds=1
        )
        for header in ("x-invocationId", "x-version"):
            assert recorder.last.headers[header]

        status = api.get_evidence_status(accreditation_id=created.id)
        assert [(s.evidence_code_name, s.status.code) for s in status] == [
            ("UnitBasicInformation", 1)
        ]
        assert status[0].valid_from == created.issued and status[0].valid_to == created.valid_to
        assert api.get_evidence_status_by_post(accreditation_id=created.id) == status

        harvested = api.harvest_evidence(
            accreditation_id=created.id, evidence_code_name="unitbasicinformation"
        )
        values = {v.evidence_value_name: v.value for v in as_evidence(harvested).evidence_values}
        assert values["OrganizationName"] == "SANDBOX BYGG AS"
        assert values["OrganizationNumber"] == int(BYGG)
        # DAN-HARVEST-REPEATABLE
        again = api.harvest_evidence(
            accreditation_id=created.id, evidence_code_name="UnitBasicInformation"
        )
        assert as_evidence(again).evidence_status.status.code == 1

        listed = api.list_accreditations()
        mine = [a for a in listed if a.id == created.id]
        assert len(mine) == 1 and mine[0].aggregate_status is not None
        assert mine[0].aggregate_status.code == 1
        assert [a.id for a in api.list_accreditations(onlyavailable="true") if a.id == created.id]
        assert not [a for a in api.list_accreditations(requestor="310000019") if a.id == created.id]
        later = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).isoformat()
        assert not [a for a in api.list_accreditations(changedafter=later) if a.id == created.id]

        assert api.delete_accreditation(accreditation_id=created.id) is None
        assert recorder.last.status_code == 204 and recorder.last.content == b""
        assert created.id not in [a.id for a in api.list_accreditations()]
        with pytest.raises(ApiError) as caught:
            api.get_evidence_status(accreditation_id=created.id)
        assert_error(caught, 1002)


def test_client_credentials_auth_against_the_real_issuer(sandbox: Sandbox) -> None:
    auth = MultiAuth(
        ApiKey(KEY),
        ClientCredentials(sandbox.token_url, CLIENT_ID, SECRET, scope=SCOPES, resource="dan"),
    )
    with Client(sandbox.url("dan"), auth=auth, retry=None) as api:
        assert isinstance(api.list_accreditations(), list)


@pytest.mark.parametrize(
    ("reply", "code", "reason"),
    [("grant", 1, None), ("deny", 3, "denied"), ("expire", 4, "expired")],
)
def test_consent_flow(
    sandbox: Sandbox, api: Client, reply: str, code: int, reason: str | None
) -> None:
    created = api.create_accreditation(body=request(BYGG, "RestanserV2", "UnitBasicInformation"))
    assert created.altinn_consent_url is not None
    # DAN-CONSENT-PENDING-UNTIL-ANSWERED; RestanserV2's maxValidDays 90 bounds the default.
    assert statuses(api, created.id) == {"RestanserV2": 2, "UnitBasicInformation": 1}
    with pytest.raises(ApiError) as caught:
        api.harvest_evidence(accreditation_id=created.id, evidence_code_name="RestanserV2")
    assert "pending" in assert_error(caught, 1010)["description"]
    assert [
        a.aggregate_status.code
        for a in api.list_accreditations()
        if a.id == created.id and a.aggregate_status
    ] == [2]

    response = answer(sandbox, created.id, reply)
    assert response.status_code == 200 and response.json()["code"] == code
    assert statuses(api, created.id)["RestanserV2"] == code
    if reason is None:
        harvested = api.harvest_evidence(
            accreditation_id=created.id, evidence_code_name="RestanserV2"
        )
        (value,) = as_evidence(harvested).evidence_values
        assert value.value_type == "jsonSchema" and json.loads(value.value)["sumRestanser"] == 0
        assert value.json_schema_defintion is not None
        # Available -> Denied (withdrawn) is a lifecycle move; Denied is terminal afterwards.
        assert answer(sandbox, created.id, "deny").status_code == 200
        assert answer(sandbox, created.id, "grant").status_code == 409
    else:
        with pytest.raises(ApiError) as caught:
            api.harvest_evidence(accreditation_id=created.id, evidence_code_name="RestanserV2")
        assert reason in assert_error(caught, 1010)["description"]
        assert answer(sandbox, created.id, "grant").status_code == 409  # terminal


def test_consent_hook_and_sandbox_route_errors(sandbox: Sandbox, api: Client) -> None:
    plain = api.create_accreditation(body=request(BYGG, consent=False))
    assert answer(sandbox, plain.id, "grant").status_code == 409  # nothing needs consent
    assert answer(sandbox, "no-such-id", "grant").status_code == 404
    consent = api.create_accreditation(body=request(BYGG, "RestanserV2"))
    assert answer(sandbox, consent.id, "maybe").status_code == 400
    provider = sandbox.apps["dan"].state.dan  # type: ignore[attr-defined]
    assert provider.answer_consent(consent.id, "grant")["consentState"] == "Available"
    assert statuses(api, consent.id) == {"RestanserV2": 1}


def test_deprecated_dataset_past_valid_to_is_unavailable(api: Client) -> None:
    # SandboxUnitStatusLegacy's deprecated.valid-to (2026-06-01) lies in the past: FACTS §6 row 7.
    created = api.create_accreditation(body=request(BYGG, "SandboxUnitStatusLegacy", consent=False))
    assert statuses(api, created.id) == {"SandboxUnitStatusLegacy": 7}
    with pytest.raises(ApiError) as caught:
        api.harvest_evidence(
            accreditation_id=created.id, evidence_code_name="SandboxUnitStatusLegacy"
        )
    assert_error(caught, 1013)
    with pytest.raises(ApiError) as caught:
        api.direct_harvest(evidence_code_name="SandboxUnitStatusLegacy", subject=BYGG)
    assert_error(caught, 1013)


def test_skipped_dataset_is_listed(api: Client) -> None:
    created = api.create_accreditation(
        body=request(PERSON, "RestanserV2", "SandboxUnitStatusLegacy")
    )
    assert [c.evidence_code_name for c in created.evidence_codes] == ["RestanserV2"]
    assert created.skipped_evidence_codes is not None
    assert set(created.skipped_evidence_codes) == {"SandboxUnitStatusLegacy"}
    assert created.subject_party is not None and created.subject_party.scheme == "nor-freg"


# --- envelope vs envelope=false -------------------------------------------------------------------


def test_envelope_and_raw(sandbox: Sandbox, token: str) -> None:
    client, recorder = dan(sandbox, token)
    with client as api:
        created = api.create_accreditation(body=request(BYGG, consent=False))
        enveloped = api.harvest_evidence(
            accreditation_id=created.id, evidence_code_name="UnitBasicInformation", envelope="yes"
        )
        assert as_evidence(enveloped).evidence_status.status.code == 1
        signature = recorder.last.headers["X-Signature-JWT"]
        keys = httpx.get(sandbox.url("dan").rsplit("/v1", 1)[0] + "/_sandbox/jwks").json()
        key = jwt.PyJWK(keys["keys"][0])
        claims = jwt.decode(signature, key=key, algorithms=["RS256"])
        assert claims["SHA256PayloadDigest"] == hashlib.sha256(recorder.last.content).hexdigest()

        plain = api.harvest_evidence(
            accreditation_id=created.id, evidence_code_name="UnitBasicInformation", envelope="false"
        )
        unenveloped = raw(plain)
        assert "evidenceStatus" not in unenveloped
        assert unenveloped["OrganizationName"] == "SANDBOX BYGG AS"
        assert unenveloped["IsUnderBankruptcy"] is False
        assert "HomePage" in unenveloped and "CreatedInNonProfitRegistry" not in unenveloped
        assert "X-Signature-JWT" in recorder.last.headers
        # query is ignored for the envelope, applied with envelope=false (and 0).
        ignored = api.harvest_evidence(
            accreditation_id=created.id,
            evidence_code_name="UnitBasicInformation",
            query="OrganizationName",
        )
        assert as_evidence(ignored).evidence_status.evidence_code_name == "UnitBasicInformation"
        queried = api.harvest_evidence(
            accreditation_id=created.id,
            evidence_code_name="UnitBasicInformation",
            envelope="0",
            query="OrganizationName",
        )
        assert raw(queried) == "SANDBOX BYGG AS"

        direct = api.direct_harvest(
            evidence_code_name="UnitBasicInformation",
            subject=HANDEL,
            envelope="false",
            query="IsUnderBankruptcy",
        )
        assert raw(direct) is True
        posted = api.direct_harvest_by_post(
            evidence_code_name="UnitBasicInformation", body=DirectHarvestBody(subject=HANDEL)
        )
        assert {v.evidence_value_name: v.value for v in as_evidence(posted).evidence_values}[
            "OrganizationName"
        ] == "SANDBOX HANDEL AS"
        # DAN-DIRECT-SUBJECT-IN-BODY: the query parameter wins; DAN-DIRECT-NO-ACCREDITATION.
        before = len(api.list_accreditations())
        wins = api.direct_harvest_by_post(
            evidence_code_name="UnitBasicInformation",
            subject=BYGG,
            envelope="false",
            query="OrganizationName",
            body=DirectHarvestBody(subject=HANDEL),
        )
        assert raw(wins) == "SANDBOX BYGG AS"
        assert len(api.list_accreditations()) == before


def test_query_on_accreditation_status_and_metadata(sandbox: Sandbox, token: str) -> None:
    # DAN-QUERY-JMESPATH: the result has no model, so these are read without the typed client.
    headers = {"Ocp-Apim-Subscription-Key": KEY, "Authorization": f"Bearer {token}"}
    base = sandbox.url("dan")
    created = httpx.post(
        f"{base}/authorization",
        params={"query": "subjectParty.id"},
        json=request(BYGG, consent=False).model_dump(by_alias=True, exclude_none=True),
        headers=headers,
    )
    assert created.status_code == 200 and created.json() == f"0192:{BYGG}"
    accreditation_id = created.headers["Location"].rsplit("/", 1)[1]
    status = httpx.get(
        f"{base}/evidence/{accreditation_id}", params={"query": "[*].status.code"}, headers=headers
    )
    assert status.json() == [1]
    names = httpx.get(
        f"{base}/public/metadata/evidencecodes",
        params={"query": "[*].evidenceCodeName"},
        headers=headers,
    )
    assert names.json() == list(SPEC["x-kontrakt-datasets"])


# --- error codes ----------------------------------------------------------------------------------

LATE = (dt.datetime.now(dt.UTC) + dt.timedelta(days=400)).isoformat()
EARLY = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
CREATE_ERRORS = [
    pytest.param({"requestor": "123"}, 1001, id="1001-bad-requestor"),
    pytest.param({"subject": "999"}, 1004, id="1004-bad-subject"),
    pytest.param({"subject": NOT_IN_CCR}, 1004, id="1004-not-in-ccr"),
    pytest.param({"subject": DELETED}, 1004, id="1004-deleted-in-ccr"),
    pytest.param(
        {"legalBasisList": [{"id": "lb1", "type": "espd", "content": "x"}]},
        1008,
        id="1008-unreferenced",
    ),
    pytest.param(
        {
            "evidenceRequests": [
                {"evidenceCodeName": "UnitBasicInformation", "legalBasisId": "nope"}
            ]
        },
        1009,
        id="1009-bad-reference",
    ),
    pytest.param({"evidenceRequests": []}, 1006, id="1006-empty"),
    pytest.param(
        {
            "evidenceRequests": [
                {"evidenceCodeName": "UnitBasicInformation"},
                {"evidenceCodeName": "unitbasicinformation"},
            ]
        },
        1006,
        id="1006-duplicate",
    ),
    pytest.param(
        {"evidenceRequests": [{"evidenceCodeName": "NoSuchDataset"}]}, 1007, id="1007-unknown"
    ),
    pytest.param(
        {
            "evidenceRequests": [
                {
                    "evidenceCodeName": "UnitBasicInformation",
                    "parameters": [{"evidenceParamName": "x", "value": 1}],
                }
            ]
        },
        1017,
        id="1017-parameters",
    ),
    pytest.param(
        {"validTo": LATE, "evidenceRequests": [{"evidenceCodeName": "RestanserV2"}]},
        1018,
        id="1018-beyond-max-valid-days",
    ),
    pytest.param({"validTo": EARLY}, 1018, id="1018-too-early"),
    pytest.param({"languageCode": "de"}, 1014, id="1014-language"),
    pytest.param({"subject": PERSON}, 1019, id="1019-requirement"),
    pytest.param(
        {"subject": PERSON, "evidenceRequests": [{"evidenceCodeName": "SandboxUnitStatusLegacy"}]},
        1019,
        id="1019-all-skipped",
    ),
    pytest.param({"subject": "310001198"}, 1028, id="1028-ccr-upstream"),
    pytest.param({"subject": "310001201"}, 1029, id="1029-ccr-quota"),
    pytest.param({"subject": "310001228"}, 1026, id="1026-store"),
    pytest.param(
        {
            "subject": "310001236",
            "evidenceRequests": [{"evidenceCodeName": "RestanserV2", "requestConsent": True}],
        },
        1022,
        id="1022-consent-request",
    ),
]


@pytest.mark.parametrize(("fields", "code"), CREATE_ERRORS)
def test_create_errors(api: Client, fields: dict[str, Any], code: int) -> None:
    body = {
        "requestor": ME,
        "subject": BYGG,
        "evidenceRequests": [{"evidenceCodeName": "UnitBasicInformation"}],
        **fields,
    }
    before = len(api.list_accreditations())
    with pytest.raises(ApiError) as caught:
        api.create_accreditation(body=AuthorizationRequest.model_validate(body))
    assert_error(caught, code)
    assert any(
        use[1] == str(code)
        for uses in OPERATION_ERRORS["createAccreditation"].values()
        for use in uses
    )
    assert len(api.list_accreditations()) == before  # nothing stored (1026: rolled back)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param(b"{not json", 1014, id="1014-malformed"),
        pytest.param(b"[]", 1014, id="1014-not-an-object"),
        pytest.param(
            b'{"subject": "310001120", "evidenceRequests": []}', 1001, id="1001-missing-requestor"
        ),
        pytest.param(
            b'{"requestor": "310000108", "subject": 5, "evidenceRequests": []}',
            1004,
            id="1004-subject-type",
        ),
        pytest.param(
            b'{"requestor": "310000108", "subject": "310001120"}', 1006, id="1006-missing-requests"
        ),
        pytest.param(
            b'{"requestor": "310000108", "subject": "310001120", "evidenceRequests": [{}]}',
            1007,
            id="1007-no-name",
        ),
        pytest.param(
            b'{"requestor": "310000108", "legalBasisList": [{"id": "a"}], "evidenceRequests": []}',
            1008,
            id="1008-incomplete-basis",
        ),
        pytest.param(
            b'{"requestor": "310000108", "subject": "310001120", "evidenceRequests": [{"evidenceCodeName": "X"}], "validTo": "soon"}',
            1018,
            id="1018-not-a-date",
        ),
    ],
)
def test_create_body_validation_follows_dan_order(
    sandbox: Sandbox, token: str, body: bytes, code: int
) -> None:
    response = httpx.post(
        f"{sandbox.url('dan')}/authorization",
        content=body,
        headers={
            "Ocp-Apim-Subscription-Key": KEY,
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == CATALOGUE[str(code)]["status"]
    assert response.json()["code"] == code


@pytest.mark.parametrize(
    ("subject", "code", "detail"),
    [
        pytest.param("310001155", 3001, "Enhetsregisteret-503", id="3001"),
        pytest.param("310001163", 3003, "ES-2", id="3003"),
        pytest.param("310001171", 1013, None, id="1013-source-down"),
        pytest.param(HANDEL, 3002, "Skatteetaten-404", id="3002-no-data"),
    ],
)
def test_source_errors_on_harvest(
    sandbox: Sandbox, api: Client, subject: str, code: int, detail: str | None
) -> None:
    dataset = "RestanserV2" if code == 3002 else "UnitBasicInformation"
    created = api.create_accreditation(body=request(subject, dataset))
    answer(sandbox, created.id, "grant")
    with pytest.raises(ApiError) as caught:
        api.harvest_evidence(accreditation_id=created.id, evidence_code_name=dataset)
    body = assert_error(caught, code)
    assert body.get("detailCode") == detail  # DAN-ERR-DETAIL-CODE: source errors only
    assert ("detailDescription" in body) == (detail is not None)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        pytest.param({"subject": BYGG, "requestor": "12"}, 1001, id="1001"),
        pytest.param({"subject": "abc"}, 1004, id="1004-unparseable"),
        pytest.param({}, 1004, id="1004-missing"),
        pytest.param({"subject": NOT_IN_CCR}, 1004, id="1004-not-in-ccr"),
        pytest.param({"subject": BYGG, "evidence_code_name": "Nope"}, 1007, id="1007"),
        pytest.param(
            {"subject": BYGG, "evidence_code_name": "RestanserV2"}, 1006, id="1006-consent-dataset"
        ),
        pytest.param(
            {"subject": BYGG, "dataset_parameters": {"FraDato": "2025-01-01"}}, 1017, id="1017"
        ),
        pytest.param({"subject": PERSON}, 1019, id="1019-requirement"),
        pytest.param({"subject": "310001198"}, 1028, id="1028"),
        pytest.param({"subject": "310001201"}, 1029, id="1029"),
        pytest.param({"subject": "310001155"}, 3001, id="3001"),
        pytest.param({"subject": "310001163"}, 3003, id="3003"),
        pytest.param({"subject": "310001171"}, 1013, id="1013"),
        pytest.param({"subject": BYGG, "envelope": "false", "query": "a..b"}, 1027, id="1027"),
        # Compiles, but abs() of a non-number fails while it is applied: still 1027, never 500.
        pytest.param(
            {"subject": BYGG, "envelope": "false", "query": "abs(@)"}, 1027, id="1027-runtime"
        ),
    ],
)
def test_direct_harvest_errors(api: Client, kwargs: dict[str, Any], code: int) -> None:
    arguments = {"evidence_code_name": "UnitBasicInformation", **kwargs}
    with pytest.raises(ApiError) as caught:
        api.direct_harvest(**arguments)
    assert_error(caught, code)


def test_direct_harvest_dataset_outside_context(sandbox: Sandbox, token: str) -> None:
    client, _ = dan(sandbox, token, key=DROSJE_KEY)
    with client as api, pytest.raises(ApiError) as caught:
        api.direct_harvest(evidence_code_name="SandboxUnitStatusLegacy", subject=BYGG)
    assert_error(caught, 1006)
    with dan(sandbox, token, key=DROSJE_KEY)[0] as api, pytest.raises(ApiError) as caught:
        api.create_accreditation(body=request(BYGG, "SandboxUnitStatusLegacy"))
    assert_error(caught, 1006)


def test_harvest_errors(sandbox: Sandbox, api: Client) -> None:
    created = api.create_accreditation(body=request(BYGG, "UnitBasicInformation", "RestanserV2"))
    answer(sandbox, created.id, "grant")
    with pytest.raises(ApiError) as caught:
        api.harvest_evidence(
            accreditation_id=created.id, evidence_code_name="SandboxUnitStatusLegacy"
        )
    assert_error(caught, 1006)  # not part of the accreditation
    with pytest.raises(ApiError) as caught:
        api.harvest_evidence(
            accreditation_id="0f8fad5b-d9cb-469f-a165-70867728950e",
            evidence_code_name="RestanserV2",
        )
    assert_error(caught, 1002)
    with pytest.raises(ApiError) as caught:
        api.harvest_evidence(
            accreditation_id=created.id,
            evidence_code_name="UnitBasicInformation",
            envelope="false",
            query="[",
        )
    assert_error(caught, 1027)
    # DAN-HARVEST-REVALIDATE: without the sandbox scope RestanserV2's requirement fails now.
    narrow, _ = dan(sandbox, mint(sandbox, ["altinn:dataaltinnno"]))
    with narrow, pytest.raises(ApiError) as caught:
        narrow.harvest_evidence(accreditation_id=created.id, evidence_code_name="RestanserV2")
    assert_error(caught, 1019)


def test_another_organisations_accreditation_is_unknown(sandbox: Sandbox, api: Client) -> None:
    created = api.create_accreditation(body=request(BYGG, "RestanserV2"))
    other = mint(sandbox, consumer={"authority": "iso6523-actorid-upis", "ID": "0192:310000019"})
    client, recorder = dan(sandbox, other)
    with client as them:
        for call in (them.get_evidence_status, them.list_consent_reminders):
            with pytest.raises(ApiError) as caught:
                call(accreditation_id=created.id)
            assert caught.value.status in (403, 404)
        with pytest.raises(ApiError) as caught:
            them.delete_accreditation(accreditation_id=created.id)
        assert caught.value.status == 404 and recorder.last.content == b""  # DAN-DELETE-404-EMPTY
        assert created.id not in [a.id for a in them.list_accreditations()]
    assert statuses(api, created.id) == {"RestanserV2": 2}


@pytest.mark.parametrize(
    ("subject", "datasets", "before", "code"),
    [
        pytest.param(BYGG, ("UnitBasicInformation",), None, 1010, id="1010-no-consent-dataset"),
        pytest.param(BYGG, ("RestanserV2",), "grant", 1021, id="1021-answered"),
        pytest.param(BYGG, ("RestanserV2",), "expire", 1011, id="1011-expired"),
        pytest.param(FOREIGN, ("RestanserV2",), None, 1004, id="1004-foreign-subject"),
        pytest.param("310001244", ("RestanserV2",), None, 1022, id="1022-notification"),
    ],
)
def test_reminder_errors(
    sandbox: Sandbox,
    api: Client,
    subject: str,
    datasets: tuple[str, ...],
    before: str | None,
    code: int,
) -> None:
    created = api.create_accreditation(body=request(subject, *datasets))
    if before:
        answer(sandbox, created.id, before)
    with pytest.raises(ApiError) as caught:
        api.send_consent_reminder(accreditation_id=created.id)
    assert_error(caught, code)
    assert api.list_consent_reminders(accreditation_id=created.id) == []


def test_reminder_rate_limit_and_unknown(sandbox: Sandbox, token: str, api: Client) -> None:
    created = api.create_accreditation(body=request(BYGG, "RestanserV2"))
    sent = api.send_consent_reminder(accreditation_id=created.id)
    assert len(sent) == 1 and sent[0].success
    assert api.list_consent_reminders(accreditation_id=created.id) == sent
    with pytest.raises(ApiError) as caught:
        api.send_consent_reminder(accreditation_id=created.id)
    assert_error(caught, 1019)  # DAN-REMINDER-RATE-LIMIT
    client, recorder = dan(sandbox, token)
    with client as fresh:
        for call in (fresh.send_consent_reminder, fresh.list_consent_reminders):
            with pytest.raises(ApiError) as caught:
                call(accreditation_id="0f8fad5b-d9cb-469f-a165-70867728950e")
            assert caught.value.status == 403 and recorder.last.content == b""  # A-DAN-004


# --- authentication: key and token -------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "token_kind", "status", "code", "challenge"),
    [
        pytest.param(None, "good", 401, 1023, 'Bearer realm="data.altinn.no"', id="no-key"),
        pytest.param("wrong-key", "good", 401, 1023, 'Bearer realm="data.altinn.no"', id="bad-key"),
        pytest.param(KEY, None, 401, 1023, 'Bearer realm="data.altinn.no"', id="key-only"),
        pytest.param(
            KEY,
            "forged",
            401,
            1024,
            'Bearer realm="data.altinn.no",error="invalid_token"',
            id="bad-token",
        ),
        pytest.param(
            KEY,
            "expired",
            401,
            1024,
            'Bearer realm="data.altinn.no",error="invalid_token"',
            id="expired-token",
        ),
        pytest.param(KEY, "no-dan-scope", 403, 1019, None, id="scope-prefix"),
        pytest.param(KEY, "no-consumer", 500, 1015, None, id="no-consumer-claim"),
        pytest.param(UNBOUND_KEY, "good", 500, 1025, None, id="no-service-context"),
        pytest.param(KEY, "other-audience", 200, None, None, id="audience-not-checked"),
    ],
)
def test_protected_operations_need_key_and_token(
    sandbox: Sandbox,
    token: str,
    key: str | None,
    token_kind: str | None,
    status: int,
    code: int | None,
    challenge: str | None,
) -> None:
    tokens = {
        None: None,
        "good": token,
        "forged": token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"),
        "expired": mint(sandbox, exp=1, iat=0, nbf=0),
        "no-dan-scope": mint(sandbox, ["other:scope"]),
        "no-consumer": mint(sandbox, consumer=None),
        "other-audience": mint(sandbox, aud="https://somewhere.else.invalid"),
    }
    client, recorder = dan(sandbox, tokens[token_kind], key=key)
    with client as api:
        if code is None:
            assert isinstance(api.list_accreditations(), list)
            return
        with pytest.raises(ApiError) as caught:
            api.list_accreditations()
    assert caught.value.status == status
    assert_error(caught, code)
    assert recorder.last.headers.get("WWW-Authenticate") == challenge


def test_metadata_needs_only_the_key(sandbox: Sandbox, token: str) -> None:
    key_only, _ = dan(sandbox, None)
    with key_only as api:
        assert api.list_service_contexts() == ["eBevis", "Drosjeloyve"]
    both, _ = dan(sandbox, token)
    with both as api:
        assert api.list_service_contexts() == ["eBevis", "Drosjeloyve"]
    nothing, _ = dan(sandbox, None, key=None)
    with nothing as api, pytest.raises(ApiError) as caught:
        api.list_error_codes()
    assert_error(caught, 1023)


# --- metadata equals the spec -------------------------------------------------------------------


def test_errorcodes_are_the_spec_catalogue(sandbox: Sandbox) -> None:
    client, recorder = dan(sandbox, None)
    with client as api:
        listed = {e.code: e.description for e in api.list_error_codes()}
    assert listed == {int(code): entry["title"] for code, entry in CATALOGUE.items()}
    assert "Access-Control-Allow-Origin" not in recorder.last.headers  # DAN-META-CORS


def test_statuscodes_are_the_spec_lifecycle(sandbox: Sandbox) -> None:
    client, recorder = dan(sandbox, None)
    with client as api:
        listed = {int(s.code): s.description for s in api.list_status_codes()}
    states = SPEC["x-kontrakt-lifecycles"]["consent"]["states"].values()
    assert listed == {s["code"]: s["description"] for s in states if s["code"] not in (0, 6, 7)}
    assert recorder.last.headers["Access-Control-Allow-Origin"] == "*"


def test_evidencecodes_are_the_spec_datasets(sandbox: Sandbox) -> None:
    client, recorder = dan(sandbox, None)
    with client as api:
        codes = api.list_evidence_codes()
        drosje = api.list_evidence_codes_for_service_context(service_context="DROSJELOYVE")
    datasets = SPEC["x-kontrakt-datasets"]
    assert [c.evidence_code_name for c in codes] == list(datasets)
    for code in codes:
        spec = datasets[code.evidence_code_name]
        assert [(v.evidence_value_name, v.value_type.value) for v in code.values] == [
            (v["name"], v["value-type"][0].lower() + v["value-type"][1:]) for v in spec["values"]
        ]
        consent = any(r.type == "ConsentRequirement" for r in code.authorization_requirements or [])
        assert consent == spec["requires-consent"]
        assert (code.deprecation_warning is not None) == ("deprecated" in spec)
    assert "SandboxUnitStatusLegacy" not in [c.evidence_code_name for c in drosje]
    assert recorder.last.headers["Access-Control-Allow-Origin"] == "*"


def test_metadata_query_error(sandbox: Sandbox) -> None:
    client, _ = dan(sandbox, None)
    with client as api, pytest.raises(ApiError) as caught:
        api.list_status_codes(query="code ||")
    assert_error(caught, 1027)


def test_accreditation_model_round_trip(api: Client) -> None:
    body = AuthorizationRequest(
        requestor=f"iso6523-actorid-upis::0192:{ME}",
        subject=BYGG,
        evidence_requests=[
            EvidenceRequest(evidence_code_name="UnitBasicInformation", legal_basis_id="lb1")
        ],
        legal_basis_list=[LegalBasis(id="lb1", type="espd", content="<espd/>")],
        language_code="EN",
    )
    created = api.create_accreditation(body=body)
    assert isinstance(created, Accreditation)
    assert created.requestor == ME and created.language_code == "en"
