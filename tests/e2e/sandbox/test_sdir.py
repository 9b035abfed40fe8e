"""The Sdir additional competence sandbox (v1 and v2) end to end, on a real socket.

The provider runs with the token issuer through `Sandbox.start(["sdir"])`; happy paths get their
tokens from the issuer over HTTP (client credentials), the many negative cases mint them
directly. Calls go through the generated clients of both versions; raw httpx only where the
client cannot go (a wrong Content-Type, malformed JSON, the other version's body, headers).
Batch atomicity is proven by reading back: after a failed batch none of its items exists (row
count unchanged, resubmitting the good items alone succeeds).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from kontrakt.generated.sdir_additional_competence_v1 import Client as V1Client
from kontrakt.generated.sdir_additional_competence_v1 import models as m1
from kontrakt.generated.sdir_additional_competence_v2 import Client as V2Client
from kontrakt.generated.sdir_additional_competence_v2 import models as m2
from kontrakt.runtime.client import ApiError, ApiKey, BearerToken, ClientCredentials, MultiAuth
from kontrakt.sandbox.identifiers import synthetic_national_id, with_national_id_check_digits
from kontrakt.sandbox.launch import Sandbox
from kontrakt.sandbox.sdir import SdirApp
from kontrakt.sandbox.sdir.core import SpecLimits

WRITE = "sdir:seafarer.additionalcompetance.write"
READ_ONLY = "sdir:seafarer.read"
CLIENT_ID, SECRET = "sdir-supplier-test", "sandbox-sdir-secret"
KEY, SECONDARY, REVOKED = (
    "sdir-sandbox-primary-key",
    "sdir-sandbox-secondary-key",
    "sdir-sandbox-revoked-key",
)
ORG, CUSTOMER, OTHER = (
    "310000116",
    "310000159",
    "310000167",
)  # see kontrakt/sandbox/fixtures/sdir.yaml
OWN_IMO, OWN_IMO_2, CUSTOMER_IMO, OTHER_IMO = "1000100", "1000203", "1000306", "1000409"
PIN = synthetic_national_id(12, 3, 1989)
SEEDED_V1, FOREIGN_V1 = (
    "0c1d5e2a-6b7f-4d10-9a31-5e8f2b4c7d01",
    "0c1d5e2a-6b7f-4d10-9a31-5e8f2b4c7d02",
)
SEEDED_V2, FOREIGN_V2 = (
    "7a2b9c4d-1e3f-4a5b-8c6d-9e0f1a2b3c01",
    "7a2b9c4d-1e3f-4a5b-8c6d-9e0f1a2b3c02",
)
LIMIT = SpecLimits.read("specs/sdir-additional-competence/v1/openapi.yaml").batches[
    "createAdditionalCompetenceBatch"
][0]
PROBLEM = "application/problem+json"
KEY_HEADER = "Ocp-Apim-Subscription-Key"

_days = itertools.count()


def fresh_day() -> str:
    """A period start no other test uses, so that reports never collide by accident."""
    return (date(2000, 1, 1) + timedelta(days=next(_days))).isoformat()


def flat(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "personalIdentityNumber": PIN,
        "organizationNumber": ORG,
        "vesselImoNumber": OWN_IMO,
        "competenceCode": "BV",
        "periodStartDate": fresh_day(),
    }
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


def nested(**over: Any) -> dict[str, Any]:
    """A v2 body; keyword `a__b=v` sets member b of a (None removes it)."""
    body: dict[str, Any] = {
        "seafarer": {"personalIdentityNumber": PIN, "firstName": "Kari", "lastName": "Testesen"},
        "organization": {"organisationNumber": ORG},
        "vessel": {"imoNumber": OWN_IMO},
        "competence": {"competenceCode": "BV", "periodStartDate": fresh_day()},
    }
    for path, value in over.items():
        *parents, name = path.split("__")
        holder = body
        for parent in parents:
            holder = holder[parent]
        if value is None:
            holder.pop(name, None)
        else:
            holder[name] = value
    return body


def v1_one(data: dict[str, Any]) -> m1.AdditionalCompetenceV1:
    return m1.AdditionalCompetenceV1.model_validate(data)


def v1_batch(items: list[dict[str, Any]]) -> m1.AdditionalCompetenceV1Batch:
    return m1.AdditionalCompetenceV1Batch.model_validate(items)


def v2_batch(items: list[dict[str, Any]]) -> m2.AdditionalCompetenceV2Batch:
    return m2.AdditionalCompetenceV2Batch.model_validate(items)


# --- the sandbox and its clients -------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.start(["sdir"]) as sb:
        yield sb


@pytest.fixture(scope="module")
def app(sandbox: Sandbox) -> SdirApp:
    provider = sandbox.apps["sdir"]
    assert isinstance(provider, SdirApp)
    return provider


def mint(sandbox: Sandbox, scopes: tuple[str, ...] = (WRITE,), **extra: Any) -> str:
    client = sandbox.context.registry.get(CLIENT_ID)
    assert client is not None
    token, _ = sandbox.context.issuer.mint(client, scopes, sandbox.url("sdir"), extra=extra)
    return token


def http_auth(sandbox: Sandbox, key: str = KEY) -> MultiAuth:
    """The subscription key plus a token from the issuer's /token over HTTP."""
    tokens = ClientCredentials(
        sandbox.token_url, CLIENT_ID, SECRET, scope=WRITE, resource=sandbox.url("sdir")
    )
    return MultiAuth(ApiKey(key), tokens)


@pytest.fixture(scope="module")
def v1(sandbox: Sandbox) -> Iterator[V1Client]:
    with V1Client(sandbox.url("sdir"), auth=http_auth(sandbox), retry=None) as client:
        yield client


@pytest.fixture(scope="module")
def v2(sandbox: Sandbox) -> Iterator[V2Client]:
    with V2Client(sandbox.url("sdir"), auth=http_auth(sandbox), retry=None) as client:
        yield client


@pytest.fixture(scope="module")
def raw(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """Plain httpx with valid credentials, for what the generated clients cannot send."""
    headers = {KEY_HEADER: KEY, "Authorization": f"Bearer {mint(sandbox)}"}
    with httpx.Client(base_url=sandbox.url("sdir"), headers=headers) as client:
        yield client


def rows(app: SdirApp, version: int | None = None) -> int:
    where, args = ("WHERE version = ?", (version,)) if version else ("", ())
    found = app.database.one(f"SELECT COUNT(*) AS n FROM report {where}", args)
    assert found is not None
    return int(found["n"])


def stored_with_start(app: SdirApp, starts: list[str]) -> int:
    marks = ",".join("?" * len(starts))
    found = app.database.one(
        f"SELECT COUNT(*) AS n FROM report WHERE period_start IN ({marks})", starts
    )
    assert found is not None
    return int(found["n"])


def problem(caught: pytest.ExceptionInfo[ApiError], status: int, code: str) -> dict[str, Any]:
    """The error's problem body, after checking status, media type, code and RFC 9457 members."""
    error = caught.value
    assert error.status == status, error.body
    assert error.code == code, error.body
    assert error.response is not None
    assert error.response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = error.body
    assert body["status"] == status and body["title"] and body["errors"]
    return body


def assert_offset(value: datetime) -> None:
    assert value.utcoffset() is not None  # SDIR-DATETIME-OFFSET


# --- happy paths, v1 -------------------------------------------------------------------------------


def test_v1_codes_list_is_the_fixture_list(v1: V1Client) -> None:
    codes = [c.code.root for c in v1.list_competence_codes().root]
    assert codes[:3] == ["BS0", "BUNK3", "BV"] and "GOLALG" in codes
    assert len(codes) == len(set(codes)) == 11


def test_v1_create_one_then_read_it_back(v1: V1Client, raw: httpx.Client) -> None:
    sent = flat(periodStopDate="2025-03-28", vesselCallSign="LXSA1")
    created = v1.create_additional_competence(body=v1_one(sent)).root
    assert isinstance(created.uid.root if created.uid else None, uuid.UUID)
    assert created.created_at is not None
    assert_offset(created.created_at)
    assert created.period_start_date.isoformat() == sent["periodStartDate"]
    read = v1.get_additional_competence(uid=created.uid.root if created.uid else uuid.uuid4())
    assert read.root.model_dump(by_alias=True) == created.model_dump(by_alias=True)
    # SDIR-CREATE-LOCATION: the header resolves to the new report.
    response = raw.post("/v1/additionalcompetence", json=flat())
    assert response.status_code == 201
    location = response.headers["location"]
    assert location.endswith("/v1/additionalcompetence/" + response.json()["uid"])
    assert raw.get(location.removeprefix("/aps-additionalcompetence-external")).status_code == 200


def test_v1_create_with_call_sign_only(v1: V1Client) -> None:
    created = v1.create_additional_competence(
        body=v1_one(flat(vesselImoNumber=None, vesselCallSign="LXSD5"))
    ).root
    assert created.vessel_imo_number is None
    assert created.vessel_call_sign is not None and created.vessel_call_sign.root == "LXSD5"


def test_v1_read_several_in_parameter_order_leaving_out_unknown_and_foreign(
    v1: V1Client,
) -> None:
    made = v1.create_additional_competence_batch(body=v1_batch([flat(), flat()]))
    a, b = (r.root.uid.root for r in made if r.root.uid)
    asked = [b, uuid.uuid4(), uuid.UUID(FOREIGN_V1), a, uuid.UUID(SEEDED_V1)]
    found = v1.list_additional_competences_by_uid(uid=asked)
    assert [r.root.uid.root for r in found if r.root.uid] == [b, a, uuid.UUID(SEEDED_V1)]


def test_v1_update_one_replaces_all_but_uid_and_created_at(v1: V1Client) -> None:
    created = v1.create_additional_competence(body=v1_one(flat(periodStopDate="2030-01-01")))
    uid = created.root.uid.root if created.root.uid else uuid.uuid4()
    changed = flat(competenceCode="MV", vesselImoNumber=OWN_IMO_2, uid=str(uid))
    updated = v1.update_additional_competence(uid=uid, body=v1_one(changed)).root
    assert updated.competence_code.root == "MV"
    assert updated.vessel_imo_number is not None and updated.vessel_imo_number.root == OWN_IMO_2
    assert updated.period_stop_date is None  # A-SDIR-020: left out means cleared
    assert updated.created_at == created.root.created_at
    assert v1.get_additional_competence(uid=uid).root.competence_code.root == "MV"


def test_v1_batch_create_keeps_order_and_gives_each_item_a_uid(v1: V1Client, app: SdirApp) -> None:
    before = rows(app)
    items = [flat(competenceCode=code) for code in ("BV", "MV", "UTMOB8", "GOLALG")]
    made = [r.root for r in v1.create_additional_competence_batch(body=v1_batch(items))]
    assert [r.competence_code.root for r in made] == ["BV", "MV", "UTMOB8", "GOLALG"]
    assert [r.period_start_date.isoformat() for r in made] == [i["periodStartDate"] for i in items]
    uids = [r.uid.root for r in made if r.uid]
    assert len(set(uids)) == 4 and all(u.version == 4 for u in uids)
    assert rows(app) == before + 4


def test_v1_batch_update_replaces_every_item(v1: V1Client) -> None:
    made = [r.root for r in v1.create_additional_competence_batch(body=v1_batch([flat(), flat()]))]
    replacements = [
        flat(uid=str(r.uid.root if r.uid else ""), competenceCode="BVSJEKK") for r in made
    ]
    body = m1.AdditionalCompetenceV1UpdateBatch.model_validate(replacements)
    updated = [r.root for r in v1.update_additional_competence_batch(body=body)]
    assert [r.uid for r in updated] == [r.uid for r in made]
    assert {r.competence_code.root for r in updated} == {"BVSJEKK"}


def test_a_batch_of_exactly_the_limit_is_accepted(v1: V1Client) -> None:
    made = v1.create_additional_competence_batch(body=v1_batch([flat() for _ in range(LIMIT)]))
    assert len(made) == LIMIT


# --- happy paths, v2 -------------------------------------------------------------------------------


def test_v2_codes_list(v2: V2Client) -> None:
    assert [c.code.root for c in v2.list_competence_codes().root][:2] == ["BS0", "BUNK3"]


def test_v2_batch_create_then_read_back_and_list(v2: V2Client, app: SdirApp) -> None:
    before = v2.list_additional_competences(limit=1).count
    items = [
        nested(competence__periodStopDate="2030-12-31"),
        nested(
            vessel={"callSign": "LXSD5"},
            seafarer__middleName="Prøve",
            competence__competenceCode="MV",
        ),
        nested(competence__completionDate="2031-02-01", competence__competenceCode="UTMOB8"),
    ]
    made = v2.create_additional_competence_batch(body=v2_batch(items))
    assert [r.competence.competence_code.root for r in made] == ["BV", "MV", "UTMOB8"]
    assert len({r.uid.root for r in made}) == 3
    assert made[1].seafarer.middle_name == "Prøve"
    for record in made:
        assert_offset(record.created_at)
        assert v2.get_additional_competence(uid=record.uid.root) == record
    page = v2.list_additional_competences(offset=before, limit=100)
    assert page.count == before + 3
    listed = {r.uid.root for r in page.items}
    assert {r.uid.root for r in made} <= listed
    assert uuid.UUID(FOREIGN_V2) not in listed  # SDIR-READ-OWN-ONLY


def test_v2_list_pages_with_offset_and_limit(v2: V2Client) -> None:
    v2.create_additional_competence_batch(body=v2_batch([nested() for _ in range(3)]))
    whole = v2.list_additional_competences(limit=100)
    assert whole.offset == 0 and whole.limit == 100 and whole.count == len(whole.items)
    default = v2.list_additional_competences()
    assert default.limit == 20 and default.offset == 0  # the spec's defaults
    walked: list[uuid.UUID] = []
    for start in range(0, whole.count, 2):
        page = v2.list_additional_competences(offset=start, limit=2)
        assert page.count == whole.count and len(page.items) <= 2
        walked += [r.uid.root for r in page.items]
    assert walked == [r.uid.root for r in whole.items]  # SDIR-LIST-ORDER
    assert v2.list_additional_competences(organisation_number=ORG).count == whole.count


def test_v2_list_from_date(v2: V2Client) -> None:
    everything = v2.list_additional_competences(limit=100).count
    # The seeded report was stored 2025-04-02; everything else today.
    assert v2.list_additional_competences(from_date=date(2025, 4, 1)).count == everything
    recent = v2.list_additional_competences(from_date=date(2025, 4, 3), limit=100)
    assert uuid.UUID(SEEDED_V2) not in {r.uid.root for r in recent.items}
    assert recent.count == everything - 1
    assert v2.list_additional_competences(from_date=date(2999, 1, 1)).count == 0


def test_v2_prevalidate_says_valid_and_stores_nothing(v2: V2Client, app: SdirApp) -> None:
    items = [nested(), nested()]
    before = rows(app, 2)
    assert v2.prevalidate_additional_competence_batch(body=v2_batch(items)).valid is True
    assert rows(app, 2) == before
    # The same body can be created afterwards (SDIR-PREVALIDATE-NO-STORE).
    assert len(v2.create_additional_competence_batch(body=v2_batch(items))) == 2


def test_a_delegated_token_reports_for_the_customer(sandbox: Sandbox) -> None:
    # SDIR-AUTH-DELEGATION: consumer is the ship owner, the supplier uses its own key.
    token = mint(
        sandbox,
        consumer={"authority": "iso6523-actorid-upis", "ID": f"0192:{CUSTOMER}"},
        supplier={"authority": "iso6523-actorid-upis", "ID": f"0192:{ORG}"},
    )
    auth = MultiAuth(ApiKey(SECONDARY), BearerToken(token))
    with V2Client(sandbox.url("sdir"), auth=auth, retry=None) as client:
        made = client.create_additional_competence_batch(
            body=v2_batch(
                [
                    nested(
                        organization__organisationNumber=CUSTOMER,
                        vessel={"imoNumber": CUSTOMER_IMO},
                    )
                ]
            )
        )
        assert made[0].organization.organisation_number.root == CUSTOMER
        assert client.list_additional_competences().count == 1


# --- batch atomicity ---------------------------------------------------------------------------------


def _spoil(kind: str, version: int) -> dict[str, Any]:
    """One bad item: an unknown code (400, found before writing) or a stored report (409, found
    while writing, so the items before it are rolled back)."""
    if version == 1:
        if kind == "unknown-code":
            return flat(competenceCode="NOPE")
        return flat(periodStartDate="2025-01-06", personalIdentityNumber="12838910031")
    if kind == "unknown-code":
        return nested(competence__competenceCode="NOPE")
    return nested(
        seafarer__personalIdentityNumber="04879510053",
        vessel={"callSign": "LXSD5"},
        competence={"competenceCode": "UTMOB8", "periodStartDate": "2025-02-10"},
    )


EXPECTED = {
    "unknown-code": (400, "UNKNOWN_COMPETENCE_CODE"),
    "duplicate": (409, "DUPLICATE_REPORT"),
}


@pytest.mark.parametrize("kind", ["unknown-code", "duplicate"])
@pytest.mark.parametrize("position", ["first", "middle", "last"])
@pytest.mark.parametrize("version", [1, 2])
def test_a_bad_item_at_index_k_fails_the_whole_batch(
    v1: V1Client, v2: V2Client, app: SdirApp, version: int, position: str, kind: str
) -> None:
    size = 5
    k = {"first": 0, "middle": size // 2, "last": size - 1}[position]
    good = [flat() if version == 1 else nested() for _ in range(size - 1)]
    items = [*good[:k], _spoil(kind, version), *good[k:]]
    starts = [
        i["periodStartDate"] if version == 1 else i["competence"]["periodStartDate"] for i in good
    ]
    before = rows(app)
    with pytest.raises(ApiError) as caught:
        if version == 1:
            v1.create_additional_competence_batch(body=v1_batch(items))
        else:
            v2.create_additional_competence_batch(body=v2_batch(items))
    status, code = EXPECTED[kind]
    body = problem(caught, status, code)
    assert [e["index"] for e in body["errors"]] == [k]
    if kind == "unknown-code":
        field = "competenceCode" if version == 1 else "competence.competenceCode"
        assert body["errors"][0]["field"] == field
    # Read back: nothing of the batch exists, the row count is unchanged ...
    assert rows(app) == before
    assert stored_with_start(app, starts) == 0
    # ... and the good items alone are new reports, not duplicates of a half-stored batch.
    if version == 1:
        assert len(v1.create_additional_competence_batch(body=v1_batch(good))) == size - 1
    else:
        assert len(v2.create_additional_competence_batch(body=v2_batch(good))) == size - 1
    assert rows(app) == before + size - 1


@pytest.mark.parametrize("k", [0, 1, 2])
def test_v1_batch_update_with_an_unknown_uid_changes_nothing(v1: V1Client, k: int) -> None:
    made = [r.root for r in v1.create_additional_competence_batch(body=v1_batch([flat(), flat()]))]
    uids = [str(r.uid.root) for r in made if r.uid]
    uids.insert(k, str(uuid.uuid4()))
    replacements = [flat(uid=uid, competenceCode="MV") for uid in uids]
    with pytest.raises(ApiError) as caught:
        v1.update_additional_competence_batch(
            body=m1.AdditionalCompetenceV1UpdateBatch.model_validate(replacements)
        )
    body = problem(caught, 404, "NOT_FOUND")
    assert [(e["index"], e["field"]) for e in body["errors"]] == [(k, "uid")]
    # SDIR-BATCH-ATOMIC: no update of the batch is visible.
    read = v1.list_additional_competences_by_uid(uid=[r.uid.root for r in made if r.uid])
    assert {r.root.competence_code.root for r in read} == {"BV"}


def test_a_repeated_item_within_one_batch_names_the_later_one(v2: V2Client, app: SdirApp) -> None:
    first = nested()
    before = rows(app)
    with pytest.raises(ApiError) as caught:
        v2.create_additional_competence_batch(body=v2_batch([first, nested(), first]))
    assert [e["index"] for e in problem(caught, 409, "DUPLICATE_REPORT")["errors"]] == [2]
    assert rows(app) == before


@pytest.mark.parametrize(
    ("version", "method", "path", "item"),
    [
        (1, "POST", "/v1/additionalcompetence/batch", flat),
        (1, "PUT", "/v1/additionalcompetence/batch", lambda: flat(uid=str(uuid.uuid4()))),
        (2, "POST", "/v2/additionalcompetence/batch", nested),
        (2, "POST", "/v2/additionalcompetence/prevalidate", nested),
    ],
)
def test_one_item_over_the_limit_is_413(
    raw: httpx.Client, app: SdirApp, version: int, method: str, path: str, item: Any
) -> None:
    before = rows(app)
    response = raw.request(method, path, json=[item() for _ in range(LIMIT + 1)])
    assert response.status_code == 413
    assert response.headers["content-type"].startswith(PROBLEM)
    assert [e["code"] for e in response.json()["errors"]] == ["BATCH_TOO_LARGE"]
    assert rows(app) == before


def test_the_generated_client_gets_413_too(v2: V2Client) -> None:
    items = [nested() for _ in range(LIMIT + 1)]
    body = m2.AdditionalCompetenceV2Batch.model_construct(
        root=[m2.AdditionalCompetenceV2.model_validate(i) for i in items]
    )
    with pytest.raises(ApiError) as caught:
        v2.create_additional_competence_batch(body=body)
    problem(caught, 413, "BATCH_TOO_LARGE")


def test_an_empty_batch_is_400(raw: httpx.Client) -> None:
    for path in ("/v1/additionalcompetence/batch", "/v2/additionalcompetence/batch"):
        response = raw.post(path, json=[])
        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "VALIDATION_FAILED"


def test_a_400_wins_over_a_403_in_one_batch(v1: V1Client) -> None:
    # SDIR-ERROR-PRECEDENCE: codes and period before organisation and ship owner.
    items = [flat(vesselImoNumber=OTHER_IMO), flat(competenceCode="NOPE")]
    with pytest.raises(ApiError) as caught:
        v1.create_additional_competence_batch(body=v1_batch(items))
    assert [e["index"] for e in problem(caught, 400, "UNKNOWN_COMPETENCE_CODE")["errors"]] == [1]


# --- validation and business rules -------------------------------------------------------------------

REAL_FORM = with_national_id_check_digits("120389100")  # valid check digits, a real month
BAD_DIGITS = PIN[:-1] + str((int(PIN[-1]) + 1) % 10)

RULES = [
    # (case, v1 member overrides, v2 overrides, status, code, v1 field, v2 field)
    (
        "unknown code",
        {"competenceCode": "XYZ"},
        {"competence__competenceCode": "XYZ"},
        400,
        "UNKNOWN_COMPETENCE_CODE",
        "competenceCode",
        "competence.competenceCode",
    ),
    (
        "stop before start",
        {"periodStartDate": "2031-05-02", "periodStopDate": "2031-05-01"},
        {"competence__periodStartDate": "2031-05-02", "competence__periodStopDate": "2031-05-01"},
        400,
        "INVALID_PERIOD",
        "periodStopDate",
        "competence.periodStopDate",
    ),
    (
        "fnr check digits",
        {"personalIdentityNumber": BAD_DIGITS},
        {"seafarer__personalIdentityNumber": BAD_DIGITS},
        400,
        "VALIDATION_FAILED",
        "personalIdentityNumber",
        "seafarer.personalIdentityNumber",
    ),
    (
        "not synthetic",
        {"personalIdentityNumber": REAL_FORM},
        {"seafarer__personalIdentityNumber": REAL_FORM},
        400,
        "VALIDATION_FAILED",
        "personalIdentityNumber",
        "seafarer.personalIdentityNumber",
    ),
    (
        "org check digit",
        {"organizationNumber": "310000117"},
        {"organization__organisationNumber": "310000117"},
        400,
        "VALIDATION_FAILED",
        "organizationNumber",
        "organization.organisationNumber",
    ),
    (
        "imo check digit",
        {"vesselImoNumber": "1000101"},
        {"vessel": {"imoNumber": "1000101"}},
        400,
        "VALIDATION_FAILED",
        "vesselImoNumber",
        "vessel.imoNumber",
    ),
    (
        "uid on create",
        {"uid": str(uuid.uuid4())},
        {"uid": str(uuid.uuid4())},
        400,
        "VALIDATION_FAILED",
        "uid",
        "uid",
    ),
    (
        "another organisation",
        {"organizationNumber": OTHER, "vesselImoNumber": OTHER_IMO},
        {"organization__organisationNumber": OTHER, "vessel": {"imoNumber": OTHER_IMO}},
        403,
        "ORGANIZATION_MISMATCH",
        "organizationNumber",
        "organization.organisationNumber",
    ),
    (
        "not the ship owner",
        {"vesselImoNumber": OTHER_IMO},
        {"vessel": {"imoNumber": OTHER_IMO}},
        403,
        "NOT_SHIP_OWNER",
        "vesselImoNumber",
        "vessel.imoNumber",
    ),
    (
        "vessel not registered",
        {"vesselImoNumber": None, "vesselCallSign": "LXZZ9"},
        {"vessel": {"callSign": "LXZZ9"}},
        403,
        "NOT_SHIP_OWNER",
        "vesselCallSign",
        "vessel.callSign",
    ),
]


@pytest.mark.parametrize(
    ("case", "over1", "over2", "status", "code", "field1", "field2"),
    RULES,
    ids=[r[0] for r in RULES],
)
def test_rules_give_their_code_and_field_in_both_versions(
    v1: V1Client,
    v2: V2Client,
    app: SdirApp,
    case: str,
    over1: dict[str, Any],
    over2: dict[str, Any],
    status: int,
    code: str,
    field1: str,
    field2: str,
) -> None:
    before = rows(app)
    with pytest.raises(ApiError) as caught:
        v1.create_additional_competence(body=v1_one(flat(**over1)))
    [error] = problem(caught, status, code)["errors"]
    assert error["field"] == field1 and "index" not in error, case
    with pytest.raises(ApiError) as caught:
        v2.create_additional_competence_batch(body=v2_batch([nested(), nested(**over2)]))
    [error] = problem(caught, status, code)["errors"]
    assert (error["index"], error["field"]) == (1, field2), case
    # prevalidate answers exactly what batch create answers (SDIR-PREVALIDATE-CONSISTENT).
    with pytest.raises(ApiError) as again:
        v2.prevalidate_additional_competence_batch(body=v2_batch([nested(), nested(**over2)]))
    assert again.value.status == status and again.value.body["errors"] == [error]
    assert rows(app) == before


def test_v2_completion_before_start_is_an_invalid_period(v2: V2Client) -> None:
    body = nested(competence__periodStartDate="2031-05-02", competence__completionDate="2031-05-01")
    with pytest.raises(ApiError) as caught:
        v2.create_additional_competence_batch(body=v2_batch([body]))
    [error] = problem(caught, 400, "INVALID_PERIOD")["errors"]
    assert error["field"] == "competence.completionDate"


def test_v1_stored_report_again_is_409(v1: V1Client) -> None:
    again = flat(periodStartDate="2025-01-06", personalIdentityNumber="12838910031")
    with pytest.raises(ApiError) as caught:
        v1.create_additional_competence(body=v1_one(again))
    problem(caught, 409, "DUPLICATE_REPORT")


def test_v1_update_with_another_uid_in_the_body_is_400(v1: V1Client) -> None:
    made = v1.create_additional_competence(body=v1_one(flat())).root
    assert made.uid is not None
    body = flat(uid=str(uuid.uuid4()))
    with pytest.raises(ApiError) as caught:
        v1.update_additional_competence(uid=made.uid.root, body=v1_one(body))
    assert problem(caught, 400, "UID_MISMATCH")["errors"][0]["field"] == "uid"


def test_v1_batch_update_item_without_uid_is_400(raw: httpx.Client) -> None:
    response = raw.put("/v1/additionalcompetence/batch", json=[flat(uid=SEEDED_V1), flat()])
    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(1, "uid")]


@pytest.mark.parametrize("uid", [uuid.uuid4(), uuid.UUID(FOREIGN_V1)], ids=["unknown", "foreign"])
def test_v1_unknown_or_foreign_uid_is_404(v1: V1Client, uid: uuid.UUID) -> None:
    with pytest.raises(ApiError) as caught:
        v1.get_additional_competence(uid=uid)
    assert problem(caught, 404, "NOT_FOUND")["errors"][0]["field"] == "uid"
    with pytest.raises(ApiError) as caught:
        v1.update_additional_competence(uid=uid, body=v1_one(flat()))
    problem(caught, 404, "NOT_FOUND")


@pytest.mark.parametrize("uid", [uuid.uuid4(), uuid.UUID(FOREIGN_V2)], ids=["unknown", "foreign"])
def test_v2_unknown_or_foreign_uid_is_404(v2: V2Client, uid: uuid.UUID) -> None:
    with pytest.raises(ApiError) as caught:
        v2.get_additional_competence(uid=uid)
    problem(caught, 404, "NOT_FOUND")


def test_reports_stay_in_their_version(v2: V2Client) -> None:
    with pytest.raises(ApiError) as caught:
        v2.get_additional_competence(uid=uuid.UUID(SEEDED_V1))
    problem(caught, 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"offset": -1}, "offset"),
        ({"organisation_number": "31000011"}, "organisationNumber"),
    ],
)
def test_v2_list_parameters_out_of_range_are_400(
    v2: V2Client, query: dict[str, Any], field: str
) -> None:
    with pytest.raises(ApiError) as caught:
        v2.list_additional_competences(**query)
    assert problem(caught, 400, "VALIDATION_FAILED")["errors"][0]["field"] == field


def test_v2_list_of_another_organisation_is_403(v2: V2Client) -> None:
    with pytest.raises(ApiError) as caught:
        v2.list_additional_competences(organisation_number=OTHER)
    problem(caught, 403, "ORGANIZATION_MISMATCH")


def test_v1_more_uids_than_allowed_is_400(v1: V1Client) -> None:
    with pytest.raises(ApiError) as caught:
        v1.list_additional_competences_by_uid(uid=[uuid.uuid4() for _ in range(LIMIT + 1)])
    problem(caught, 400, "VALIDATION_FAILED")


# --- schema: each version its own body ---------------------------------------------------------------


def test_v2_refuses_the_flat_v1_body(raw: httpx.Client, app: SdirApp) -> None:
    before = rows(app)
    response = raw.post("/v2/additionalcompetence/batch", json=[flat()])
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(PROBLEM)
    errors = response.json()["errors"]
    assert {e["code"] for e in errors} == {"VALIDATION_FAILED"}
    assert {e["field"] for e in errors} >= {"seafarer", "organization", "vessel", "competence"}
    assert {e["index"] for e in errors} == {0}
    assert rows(app) == before


def test_v1_refuses_the_nested_v2_body(raw: httpx.Client, app: SdirApp) -> None:
    before = rows(app)
    for path, body in (
        ("/v1/additionalcompetence", nested()),
        ("/v1/additionalcompetence/batch", [nested()]),
    ):
        response = raw.post(path, json=body)
        assert response.status_code == 400
        assert {e["code"] for e in response.json()["errors"]} == {"VALIDATION_FAILED"}
    assert rows(app) == before


# --- transport: media type, JSON syntax, 404/405/406 ---------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/additionalcompetence"),
        ("PUT", f"/v1/additionalcompetence/{SEEDED_V1}"),
        ("POST", "/v1/additionalcompetence/batch"),
        ("PUT", "/v1/additionalcompetence/batch"),
        ("POST", "/v2/additionalcompetence/batch"),
        ("POST", "/v2/additionalcompetence/prevalidate"),
    ],
)
def test_a_non_json_body_is_415(raw: httpx.Client, app: SdirApp, method: str, path: str) -> None:
    before = rows(app)
    for content_type in ("text/plain", "application/xml"):
        response = raw.request(
            method, path, content=b'{"a": 1}', headers={"Content-Type": content_type}
        )
        assert response.status_code == 415, content_type
        assert response.headers["content-type"].startswith(PROBLEM)
        assert response.json()["errors"][0]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert rows(app) == before


def test_malformed_json_is_400_malformed_json(raw: httpx.Client) -> None:
    for path in ("/v1/additionalcompetence", "/v2/additionalcompetence/batch"):
        response = raw.post(path, content=b'[{"a": ', headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "MALFORMED_JSON"


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "code"),
    [
        ("DELETE", "/v1/additionalcompetence/codes", {}, 405, "METHOD_NOT_ALLOWED"),
        ("PUT", "/v2/additionalcompetence/batch", {}, 405, "METHOD_NOT_ALLOWED"),
        ("GET", "/v2/additionalcompetence/codes", {"Accept": "text/html"}, 406, "NOT_ACCEPTABLE"),
        ("GET", "/v1/nothing-here", {}, 404, "NOT_FOUND"),
        ("GET", "/v3/additionalcompetence/codes", {}, 404, "NOT_FOUND"),
        ("GET", "/v2/additionalcompetence/not-a-uuid", {}, 400, "VALIDATION_FAILED"),
    ],
)
def test_runtime_answers_in_the_spec_codes(
    raw: httpx.Client, method: str, path: str, headers: dict[str, str], status: int, code: str
) -> None:
    response = raw.request(method, path, headers=headers)
    assert response.status_code == status
    assert response.json()["errors"][0]["code"] == code


# --- subscription key and token ----------------------------------------------------------------------


def _codes(sandbox: Sandbox, version: int, auth: httpx.Auth | None) -> None:
    client: V1Client | V2Client
    if version == 1:
        client = V1Client(sandbox.url("sdir"), auth=auth, retry=None)
    else:
        client = V2Client(sandbox.url("sdir"), auth=auth, retry=None)
    with client:
        client.list_competence_codes()


def test_a_token_from_the_issuer_and_either_key_work(sandbox: Sandbox) -> None:
    for key in (KEY, SECONDARY):
        _codes(sandbox, 1, http_auth(sandbox, key))
        _codes(sandbox, 2, http_auth(sandbox, key))


GATEWAY = [
    ("no key", None, "missing subscription key"),
    ("revoked key", REVOKED, "invalid subscription key"),
    ("unknown key", "not-a-key", "invalid subscription key"),
]


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize(("case", "key", "text"), GATEWAY, ids=[g[0] for g in GATEWAY])
def test_the_gateway_refuses_a_missing_or_bad_key_with_its_own_body(
    sandbox: Sandbox, version: int, case: str, key: str | None, text: str
) -> None:
    token = BearerToken(mint(sandbox))
    auth: httpx.Auth = MultiAuth(ApiKey(key), token) if key else token
    with pytest.raises(ApiError) as caught:
        _codes(sandbox, version, auth)
    error = caught.value
    assert error.status == 401 and error.code is None
    assert error.response is not None
    assert error.response.headers["content-type"].startswith("application/json")
    assert error.body["statusCode"] == 401 and text in error.body["message"]


@pytest.mark.parametrize("version", [1, 2])
def test_a_missing_or_bad_key_is_refused_on_writes_too(
    sandbox: Sandbox, app: SdirApp, version: int
) -> None:
    before = rows(app)
    path = "/v1/additionalcompetence" if version == 1 else "/v2/additionalcompetence/batch"
    body: Any = flat() if version == 1 else [nested()]
    headers = {"Authorization": f"Bearer {mint(sandbox)}"}
    for key in (None, REVOKED):
        sent = {**headers, KEY_HEADER: key} if key else headers
        response = httpx.post(sandbox.url("sdir") + path, json=body, headers=sent)
        assert response.status_code == 401
    assert rows(app) == before


def _token_cases(sandbox: Sandbox) -> dict[str, tuple[str | None, int, str]]:
    now = int(datetime.now().timestamp())
    return {
        "no token": (None, 401, "INVALID_TOKEN"),
        "expired": (
            mint(sandbox, iat=now - 600, nbf=now - 600, exp=now - 300),
            401,
            "INVALID_TOKEN",
        ),
        "other audience": (mint(sandbox, aud="http://127.0.0.1:1/elsewhere"), 401, "INVALID_TOKEN"),
        "other issuer": (mint(sandbox, iss="https://maskinporten.no/"), 401, "INVALID_TOKEN"),
        "tampered": (mint(sandbox)[:-4] + "AAAA", 401, "INVALID_TOKEN"),
        "read scope only": (mint(sandbox, (READ_ONLY,)), 403, "INSUFFICIENT_SCOPE"),
        "no scope": (mint(sandbox, ()), 403, "INSUFFICIENT_SCOPE"),
    }


TOKEN_CASES = [
    "no token",
    "expired",
    "other audience",
    "other issuer",
    "tampered",
    "read scope only",
    "no scope",
]


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("case", TOKEN_CASES)
def test_the_token_is_checked_after_the_key(
    sandbox: Sandbox, app: SdirApp, version: int, case: str
) -> None:
    token, status, code = _token_cases(sandbox)[case]
    auth: httpx.Auth = MultiAuth(ApiKey(KEY), BearerToken(token)) if token else ApiKey(KEY)
    with pytest.raises(ApiError) as caught:
        _codes(sandbox, version, auth)
    problem(caught, status, code)
    # A write is refused the same way, and stores nothing.
    before = rows(app)
    with pytest.raises(ApiError) as caught:
        if version == 1:
            with V1Client(sandbox.url("sdir"), auth=auth, retry=None) as c1:
                c1.create_additional_competence_batch(body=v1_batch([flat()]))
        else:
            with V2Client(sandbox.url("sdir"), auth=auth, retry=None) as c2:
                c2.create_additional_competence_batch(body=v2_batch([nested()]))
    problem(caught, status, code)
    assert rows(app) == before


def test_without_the_gateway_the_service_answers_key_failures_as_problems() -> None:
    # apim_gateway=False: the generated ApiKeyScheme refuses, with the catalogue's codes.
    with Sandbox.start(["sdir"], options={"sdir": {"apim_gateway": False}}) as sb:
        token = BearerToken(mint(sb))
        for auth, code in (
            (token, "MISSING_SUBSCRIPTION_KEY"),
            (MultiAuth(ApiKey(REVOKED), token), "INVALID_SUBSCRIPTION_KEY"),
        ):
            with pytest.raises(ApiError) as caught:
                _codes(sb, 1, auth)
            problem(caught, 401, code)
        _codes(sb, 2, MultiAuth(ApiKey(KEY), token))
