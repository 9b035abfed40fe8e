"""The Customer Relation Overview v2.0 handlers over the sandbox register (`KundeforholdRegister`).

One overridable method per rule, so a test can build a known-bad twin by subclassing. Scopes are
checked by the generated route (`bits:kundeforhold` for customerRelationships,
`bits:kundeforhold.konto` for accountServicingProvider: 403 ERR-001); tokens are verified against
the local issuer by the runtime before a handler runs (401 ERR-001).

Choices where v2.0 is silent follow the contract's assumptions:
- A-CRO-014: the decoded Legal-Mandate must be a legal basis of a DSOP service whose consumers
  (the DSOP Control fixture's `services`) include the token's consumer organisation; otherwise
  403 ERR-001;
- A-CRO-012: fromDate and toDate are required (the generated route answers 400 ERR-003); a
  fromDate after toDate is 400 ERR-003;
- A-CRO-020: an account number no bank in the register services is 400 ERR-004;
- A-CRO-011: no MOD11 check on AccountID, only the 11-digit format of the route;
- without onlyPrimaryOwner every bank is listed with no ownershipType; with onlyPrimaryOwner=true
  only banks where the party is a primary owner are listed (ownershipType primaryOwner); with
  onlyPrimaryOwner=false every bank is listed with its ownershipType (ASSUMPTION).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping
from urllib.parse import unquote

from kontrakt.generated.dsop_customer_relation_v2.models import (
    AccountServicingProvider,
    CustomerRelation,
    CustomerRelationships,
    OrganizationNumber,
    OwnershipType,
)
from kontrakt.runtime import server as rt
from kontrakt.sandbox.dsop_control.services import ServiceCatalogue
from kontrakt.sandbox.dsop_customer_relation.register import Register, Relation

__all__ = ["KundeforholdRegister"]


class KundeforholdRegister:
    """Implements the generated `Handlers` Protocol of dsop_customer_relation_v2."""

    def __init__(
        self,
        register: Register,
        services: ServiceCatalogue,
        consumers: Mapping[str, frozenset[str]],
        *,
        today: datetime.date | None = None,
    ) -> None:
        self.register = register
        self.services = services
        self.consumers = dict(consumers)
        self.fixed_today = today

    def today(self) -> datetime.date:
        return self.fixed_today or datetime.date.today()

    # --- the two operations -------------------------------------------------------------------

    async def get_customer_relation(
        self,
        *,
        customer_id: str,
        correlation_id: uuid.UUID,
        legal_mandate: str,
        account_info_request_id: uuid.UUID,
        from_date: datetime.date,
        to_date: datetime.date,
        only_primary_owner: bool | None,
        auth: rt.AuthContext,
    ) -> CustomerRelationships:
        self.check_mandate(legal_mandate, auth)
        self.check_period(from_date, to_date)
        relations = self.register.relations(customer_id, from_date, to_date, self.today())
        if only_primary_owner:
            relations = [r for r in relations if r.primary_owner]
        return CustomerRelationships(
            banks=[self.relation(r, only_primary_owner) for r in relations]
        )

    async def get_account_servicing_provider(
        self,
        *,
        account_id: str,
        correlation_id: uuid.UUID,
        legal_mandate: str,
        account_info_request_id: uuid.UUID,
        auth: rt.AuthContext,
    ) -> AccountServicingProvider:
        self.check_mandate(legal_mandate, auth)
        bank = self.register.servicing(account_id)
        if bank is None:
            raise rt.ApiProblem.from_trigger(
                "not-found",
                "Ingen institusjon er registrert for kontonummeret.",
                parameter="AccountID",
            )
        return AccountServicingProvider(
            organization_id=OrganizationNumber(bank.organisation), bank_name=bank.name
        )

    # --- rules ---------------------------------------------------------------------------------

    @staticmethod
    def relation(relation: Relation, only_primary_owner: bool | None) -> CustomerRelation:
        ownership = None
        if only_primary_owner is not None:
            ownership = (
                OwnershipType.PRIMARY_OWNER
                if relation.primary_owner
                else OwnershipType.NOT_PRIMARY_OWNER
            )
        return CustomerRelation(
            organization_id=OrganizationNumber(relation.organisation),
            bank_name=relation.name,
            active_account=relation.active_account,
            ownership_type=ownership,
        )

    @staticmethod
    def check_period(from_date: datetime.date, to_date: datetime.date) -> None:
        if from_date > to_date:
            raise rt.ApiProblem.from_trigger(
                "invalid-combination",
                "Ugyldig periode: fromDate er etter toDate.",
                parameter="fromDate",
            )

    @staticmethod
    def consumer_of(auth: rt.AuthContext) -> str | None:
        """The organisation number of the token's consumer claim (`0192:<orgno>`)."""
        value = auth.claim("consumer.ID")
        if not isinstance(value, str):
            return None
        authority, _, number = value.partition(":")
        return number if authority == "0192" and number else None

    def check_mandate(self, legal_mandate: str, auth: rt.AuthContext) -> None:
        """A-CRO-014: a mandate the consumer organisation may not use is 403 ERR-001."""
        try:
            mandate = unquote(legal_mandate.strip(), errors="strict")
        except UnicodeDecodeError:
            raise rt.ApiProblem.from_trigger(
                "invalid-parameter",
                "Legal-Mandate is not valid URL-encoded UTF-8.",
                parameter="Legal-Mandate",
            ) from None
        service = self.services.by_mandate(mandate)
        consumer = self.consumer_of(auth)
        allowed = service is not None and consumer in self.consumers.get(service.name, frozenset())
        if not allowed:
            raise rt.ApiProblem.from_trigger(
                "forbidden", "Klienten har ikke tilgang med denne hjemmelen."
            )
