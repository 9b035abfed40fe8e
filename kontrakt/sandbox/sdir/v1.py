"""Sdir additional competence, URL version v1 (flat body): the handlers of the generated stub.

Single and batch create, update by uid (single and batch) and reads by one or several uids
(specs/sdir-additional-competence/v1). The generated layer has already checked the key, token,
scope, media type and the flat schema (a nested v2 body misses its required members: 400
VALIDATION_FAILED, SDIR-VALIDATION-VERSION-SCHEMA); everything else is `core.Service`.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Mapping
from typing import Any

from kontrakt.generated.sdir_additional_competence_v1 import api
from kontrakt.generated.sdir_additional_competence_v1 import models as m
from kontrakt.generated.sdir_additional_competence_v1 import server as stub
from kontrakt.runtime import server as rt
from kontrakt.sandbox.sdir.core import (
    ErrorCodes,
    Fields,
    Found,
    Report,
    Service,
    SpecLimits,
    write_uses,
)

__all__ = ["FIELDS", "SPEC", "Handlers", "record", "report"]

SPEC = api.SOURCE
FIELDS = Fields(
    uid="uid",
    personal_identity_number="personalIdentityNumber",
    organisation="organizationNumber",
    imo="vesselImoNumber",
    call_sign="vesselCallSign",
    code="competenceCode",
    start="periodStartDate",
    stop="periodStopDate",
    completion="periodStopDate",  # v1 has no completionDate
)

Body = (
    m.AdditionalCompetenceV11
    | m.AdditionalCompetenceV12
    | m.AdditionalCompetenceV1Update4
    | m.AdditionalCompetenceV1Update5
)

# Every (operation, trigger, code) this module names; checked against the spec at start.
WRITES = (
    "createAdditionalCompetence",
    "createAdditionalCompetenceBatch",
    "updateAdditionalCompetence",
    "updateAdditionalCompetenceBatch",
)
USES = [
    *write_uses(WRITES),
    ("updateAdditionalCompetence", "invalid-combination", "UID_MISMATCH"),
    ("updateAdditionalCompetence", "not-found", "NOT_FOUND"),
    ("updateAdditionalCompetenceBatch", "not-found", "NOT_FOUND"),
]


def report(body: Body) -> Report:
    """A flat v1 body as a version-neutral report."""
    return Report(
        personal_identity_number=body.personal_identity_number.root,
        organisation=body.organization_number.root,
        imo=body.vessel_imo_number.root if body.vessel_imo_number else None,
        call_sign=body.vessel_call_sign.root if body.vessel_call_sign else None,
        code=body.competence_code.root,
        start=body.period_start_date,
        stop=body.period_stop_date,
        uid=body.uid.root if body.uid else None,
    )


def record(row: sqlite3.Row | Mapping[str, Any]) -> m.AdditionalCompetenceV1Record:
    """A stored row in the v1 record shape (absent optional members left out)."""
    data = {
        "uid": row["uid"],
        "personalIdentityNumber": row["personal_identity_number"],
        "organizationNumber": row["organisation"],
        "vesselImoNumber": row["vessel_imo"],
        "vesselCallSign": row["vessel_call_sign"],
        "competenceCode": row["competence_code"],
        "periodStartDate": row["period_start"],
        "periodStopDate": row["period_stop"],
        "createdAt": row["created_at"],
    }
    return m.AdditionalCompetenceV1Record.model_validate(
        {k: v for k, v in data.items() if v is not None}
    )


class Handlers:
    """`stub.Handlers` over one `Service` (version 1)."""

    def __init__(self, service: Service, limits: SpecLimits, *, location: str = "") -> None:
        self.service = service
        self.limits = limits
        # The collection's URL path (below the provider's base path): the 201's Location prefix.
        self.location = location.rstrip("/")
        service.codes.require(USES)

    async def list_competence_codes(self, *, auth: rt.AuthContext) -> m.CompetenceCodeList:
        return m.CompetenceCodeList.model_validate(self.service.competence_codes())

    async def list_additional_competences_by_uid(
        self, *, uid: list[uuid.UUID], auth: rt.AuthContext
    ) -> list[m.AdditionalCompetenceV1Record]:
        # A-SDIR-014: 1 to maxItems uids (the parameter schema's limit).
        most = self.limits.parameter("listAdditionalCompetencesByUid", "uid").get("maxItems")
        if most is not None and len(uid) > int(most):
            raise rt.ApiProblem.from_trigger(
                "invalid-parameter",
                f"At most {most} uid parameters may be given; {len(uid)} were.",
                parameter="uid",
                field="uid",
            )
        return [record(row) for row in self.service.many(uid, auth)]

    async def create_additional_competence(
        self, *, body: m.AdditionalCompetenceV1, auth: rt.AuthContext
    ) -> rt.Reply[m.AdditionalCompetenceV1Record]:
        [row] = self.service.create(
            "createAdditionalCompetence", [report(body.root)], auth, batch=False
        )
        # SDIR-CREATE-LOCATION: the 201 names the new report (a required response header).
        location = f"{self.location}/{uuid.UUID(str(row['uid']))}"
        return rt.Reply(record(row), headers={"Location": location})

    async def get_additional_competence(
        self, *, uid: uuid.UUID, auth: rt.AuthContext
    ) -> m.AdditionalCompetenceV1Record:
        return record(self.service.get(uid, auth))

    async def update_additional_competence(
        self, *, uid: uuid.UUID, body: m.AdditionalCompetenceV1, auth: rt.AuthContext
    ) -> m.AdditionalCompetenceV1Record:
        operation = "updateAdditionalCompetence"
        item = report(body.root)
        mismatch = Found(operation, self.service.codes)
        if item.uid is not None and item.uid != uid:
            # SDIR-UPDATE-UID-MATCH: a 400 of the first level, beside the other body checks.
            mismatch.add(
                "invalid-combination",
                "UID_MISMATCH",
                "The body uid differs from the uid in the path.",
                field=FIELDS.uid,
            )
        [row] = self.service.update(operation, [(uid, item)], auth, batch=False, extra=mismatch)
        return record(row)

    async def update_additional_competence_batch(
        self, *, body: m.AdditionalCompetenceV1UpdateBatch, auth: rt.AuthContext
    ) -> list[m.AdditionalCompetenceV1Record]:
        operation = "updateAdditionalCompetenceBatch"
        items = [report(entry.root) for entry in body.root]
        missing = Found(operation, self.service.codes)
        for i, item in enumerate(items):
            if item.uid is None:
                # SDIR-VALIDATION-REQUIRED: a batch-update item names the report it replaces.
                missing.invalid_body(
                    "A batch-update item needs the uid of the report it replaces.",
                    field=FIELDS.uid,
                    index=i,
                )
        pairs = [(item.uid or uuid.UUID(int=0), item) for item in items]
        rows = self.service.update(operation, pairs, auth, batch=True, extra=missing)
        return [record(row) for row in rows]

    async def create_additional_competence_batch(
        self, *, body: m.AdditionalCompetenceV1Batch, auth: rt.AuthContext
    ) -> list[m.AdditionalCompetenceV1Record]:
        items = [report(entry.root) for entry in body.root]
        rows = self.service.create("createAdditionalCompetenceBatch", items, auth, batch=True)
        return [record(row) for row in rows]


def new_codes() -> ErrorCodes:
    return ErrorCodes(stub.OPERATION_ERRORS)
