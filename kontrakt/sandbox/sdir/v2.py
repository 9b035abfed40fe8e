"""Sdir additional competence, URL version v2 (nested body): the handlers of the generated stub.

Create-and-read only (specs/sdir-additional-competence/v2): batch create (one report is a batch
of one), prevalidate, read one, and a paged list of the organisation's reports. The generated
layer refuses the flat v1 body by schema (its required `seafarer`, `organization`, `vessel` and
`competence` are missing: 400 VALIDATION_FAILED, SDIR-VALIDATION-VERSION-SCHEMA).
"""

from __future__ import annotations

import datetime
import sqlite3
import uuid
from collections.abc import Mapping
from typing import Any

import pydantic

from kontrakt.generated.sdir_additional_competence_v2 import api
from kontrakt.generated.sdir_additional_competence_v2 import models as m
from kontrakt.generated.sdir_additional_competence_v2 import server as stub
from kontrakt.runtime import server as rt
from kontrakt.sandbox.sdir.core import ErrorCodes, Fields, Report, Service, SpecLimits, write_uses

__all__ = ["FIELDS", "SPEC", "Handlers", "record", "report"]

SPEC = api.SOURCE
FIELDS = Fields(
    uid="uid",
    personal_identity_number="seafarer.personalIdentityNumber",
    organisation="organization.organisationNumber",
    imo="vessel.imoNumber",
    call_sign="vessel.callSign",
    code="competence.competenceCode",
    start="competence.periodStartDate",
    stop="competence.periodStopDate",
    completion="competence.completionDate",
)

LIST = "listAdditionalCompetences"
WRITES = ("createAdditionalCompetenceBatch", "prevalidateAdditionalCompetenceBatch")
USES = [*write_uses(WRITES), (LIST, "forbidden", "ORGANIZATION_MISMATCH")]


def report(body: m.AdditionalCompetenceV2) -> Report:
    """A nested v2 body as a version-neutral report."""
    vessel = body.vessel.root
    return Report(
        personal_identity_number=body.seafarer.personal_identity_number.root,
        organisation=body.organization.organisation_number.root,
        imo=vessel.imo_number.root if vessel.imo_number else None,
        call_sign=vessel.call_sign.root if vessel.call_sign else None,
        code=body.competence.competence_code.root,
        start=body.competence.period_start_date,
        stop=body.competence.period_stop_date,
        completion=body.competence.completion_date,
        first_name=body.seafarer.first_name,
        middle_name=body.seafarer.middle_name,
        last_name=body.seafarer.last_name,
        uid=body.uid.root if body.uid else None,
    )


def _present(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def record(row: sqlite3.Row | Mapping[str, Any]) -> m.AdditionalCompetenceV2Record:
    """A stored row in the v2 record shape (absent optional members left out)."""
    return m.AdditionalCompetenceV2Record.model_validate(
        {
            "uid": row["uid"],
            "seafarer": _present(
                {
                    "personalIdentityNumber": row["personal_identity_number"],
                    "firstName": row["first_name"],
                    "middleName": row["middle_name"],
                    "lastName": row["last_name"],
                }
            ),
            "organization": {"organisationNumber": row["organisation"]},
            "vessel": _present(
                {"imoNumber": row["vessel_imo"], "callSign": row["vessel_call_sign"]}
            ),
            "competence": _present(
                {
                    "competenceCode": row["competence_code"],
                    "periodStartDate": row["period_start"],
                    "periodStopDate": row["period_stop"],
                    "completionDate": row["completion_date"],
                }
            ),
            "createdAt": row["created_at"],
        }
    )


class Handlers:
    """`stub.Handlers` over one `Service` (version 2)."""

    def __init__(self, service: Service, limits: SpecLimits) -> None:
        self.service = service
        self.limits = limits
        service.codes.require(USES)

    async def list_competence_codes(self, *, auth: rt.AuthContext) -> m.CompetenceCodeList:
        return m.CompetenceCodeList.model_validate(self.service.competence_codes())

    async def create_additional_competence_batch(
        self, *, body: m.AdditionalCompetenceV2Batch, auth: rt.AuthContext
    ) -> list[m.AdditionalCompetenceV2Record]:
        items = [report(entry) for entry in body.root]
        rows = self.service.create("createAdditionalCompetenceBatch", items, auth, batch=True)
        return [record(row) for row in rows]

    async def prevalidate_additional_competence_batch(
        self, *, body: m.AdditionalCompetenceV2Batch, auth: rt.AuthContext
    ) -> m.PrevalidationResult:
        # SDIR-PREVALIDATE-CONSISTENT: the very path of batch create, rolled back at the end.
        items = [report(entry) for entry in body.root]
        self.service.create(
            "prevalidateAdditionalCompetenceBatch", items, auth, batch=True, store=False
        )
        return m.PrevalidationResult(valid=True)

    async def get_additional_competence(
        self, *, uid: uuid.UUID, auth: rt.AuthContext
    ) -> m.AdditionalCompetenceV2Record:
        return record(self.service.get(uid, auth))

    async def list_additional_competences(
        self,
        *,
        organisation_number: str | None,
        from_date: datetime.date | None,
        offset: int | None,
        limit: int | None,
        auth: rt.AuthContext,
    ) -> m.AdditionalCompetenceV2Page:
        if organisation_number is not None:
            try:
                m.OrganizationNumber.model_validate(organisation_number)
            except pydantic.ValidationError:
                raise self._bad(
                    "organisationNumber", "is not a 9-digit organisation number"
                ) from None
        start = self._bounded("offset", offset)
        size = self._bounded("limit", limit)
        organisation = self.service.organisation(auth)
        if organisation is None or organisation_number not in (None, organisation):
            # A-SDIR-016: the filter may only name the token's own organisation.
            raise rt.ApiProblem.from_trigger(
                "forbidden",
                f"Organisation {organisation_number} is not the organisation of the token.",
                parameter="organisationNumber",
                field="organisationNumber",
            )
        count, rows = self.service.page(organisation, from_date, start, size)
        return m.AdditionalCompetenceV2Page(
            count=count, offset=start, limit=size, items=[record(row) for row in rows]
        )

    def _bounded(self, name: str, value: int | None) -> int:
        """`value` within the parameter schema's minimum/maximum, or its default (A-SDIR-019)."""
        schema = self.limits.parameter(LIST, name)
        if value is None:
            return int(schema["default"])
        if "minimum" in schema and value < schema["minimum"]:
            raise self._bad(name, f"must be at least {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise self._bad(name, f"must be at most {schema['maximum']}")
        return value

    @staticmethod
    def _bad(name: str, what: str) -> rt.ApiProblem:
        return rt.ApiProblem.from_trigger(
            "invalid-parameter", f"{name} {what}.", parameter=name, field=name
        )


def new_codes() -> ErrorCodes:
    return ErrorCodes(stub.OPERATION_ERRORS)
