"""The sandbox bank's business logic: the five DSOP Control handlers on top of the generated stub.

The generated server (`kontrakt/generated/dsop_control_v2/server.py`) has already checked the token
(401 ACC-010), the scope (403 ACC-011), Accept (406 ACC-013), the method (405 ACC-012) and the
declared parameters (400 ACC-001) when a handler runs. `DsopBank` adds what the contract leaves
to the bank, in this order (FACTS §6.2):

1. the rate limit per consumer organisation (429 ACC-022, with Retry-After);
2. what the generated parsing lets through but the contract forbids: UUIDs not in 8-4-4-4-12
   form, dates not in YYYY-MM-DD form, OnlyPrimaryOwner other than true/false (400 ACC-001);
3. the service, decided by the URL-decoded Legal-Mandate (unknown: 400 ACC-001) and the
   consumer organisation of the token's `consumer.ID`, which must be the service's consumer
   (403 ACC-011); the service's operations (outside: the spec's `outside` answer), RequesterID,
   AdditionalReferenceIDType/ID (the Politi extradition order is verified here), OnlyPrimaryOwner
   and period rules - all read from `x-kontrakt-services`;
4. the data: unknown accountReference 404 ACC-002, an account outside this request's party,
   guardian or estate 404 ACC-003, failures staged in the fixture 500 ACC-100 / ACC-500.

Every rule sits in its own method so that a test can subclass `DsopBank` into a known-bad twin.
Each request is logged (FACTS §4) with its outcome.
"""

from __future__ import annotations

import datetime
import math
import re
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from urllib.parse import unquote, urlencode

from kontrakt.generated.dsop_control_v2 import (
    AccountDetails,
    Accounts,
    Cards,
    Roles,
    Transactions,
)
from kontrakt.generated.dsop_control_v2.server import OPERATION_ERRORS
from kontrakt.runtime import server as rt
from kontrakt.sandbox.dsop_control.data import (
    AccountRow,
    BankData,
    CardRow,
    Party,
    RoleRow,
    TransactionRow,
)
from kontrakt.sandbox.dsop_control.extradition import (
    ENDPOINT_FLAGS,
    ExtraditionOrder,
    OrderError,
    OrderVerifier,
)
from kontrakt.sandbox.dsop_control.services import (
    Service,
    ServiceCatalogue,
    months_before,
    years_before,
)
from kontrakt.sandbox.identifiers import is_national_id, is_organisation_number

__all__ = [
    "EVENT_DATES",
    "Call",
    "DsopBank",
    "RateLimiter",
    "RequestState",
    "current_request",
    "mask_card_number",
    "request_state",
]

T = TypeVar("T")
ReferenceType = Literal["pol1", "srf"]

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# The spec's period events (`constraints.period.event`) -> the fixture party's date and its name.
# FACTS §6: OED counts from the date of death (Folkeregisteret), Konkursbehandling from the ruling
# date (Konkursvarsel API); how many months back comes from `max-months-before-event`.
EVENT_DATES: Mapping[str, tuple[str, str]] = {
    "date-of-death": ("death_date", "date of death"),
    "bankruptcy-ruling": ("bankruptcy_ruling_date", "bankruptcy ruling"),
}


# --- the request as the ASGI wrapper saw it ---------------------------------------------------


@dataclass
class RequestState:
    """Raw request data the handler Protocol does not pass (set per request by the app wrapper).

    The generated layer has parsed headers and query leniently (pydantic accepts `1` for a
    boolean, a UUID without hyphens); the raw values let the bank apply the contract's formats,
    read the paging cursor `page` (not a declared parameter) and remember the consumer for the
    JWE encoder, which runs after the handler.
    """

    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    query: Mapping[str, Sequence[str]] = field(default_factory=dict)
    consumer: str | None = None  # organisation number, once the handler has identified it

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None


request_state: ContextVar[RequestState | None] = ContextVar("dsop_request_state", default=None)


def current_request() -> RequestState:
    """The current request's state; an empty one outside the sandbox's ASGI wrapper."""
    state = request_state.get()
    if state is None:
        state = RequestState()
        request_state.set(state)
    return state


def mask_card_number(pan: str) -> str:
    """PCI DSS masking (DSOP-CARD-MASKED): the first 6 and last 4 digits, X between, no spaces."""
    digits = "".join(ch for ch in pan if ch.isdigit())
    if len(digits) <= 10:
        return "X" * len(digits)
    return digits[:6] + "X" * (len(digits) - 10) + digits[-4:]


class RateLimiter:
    """A sliding one-minute window of requests per key (the consumer organisation)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError("rate_limit must be at least 1 request per minute")
        self.per_minute = per_minute
        self.clock = clock
        self._hits: dict[str, deque[float]] = defaultdict(deque)

    def hit(self, key: str) -> int | None:
        """Record a request; None when allowed, else the seconds to wait (Retry-After)."""
        now = self.clock()
        window = self._hits[key]
        while window and now - window[0] >= 60.0:
            window.popleft()
        if len(window) >= self.per_minute:
            return max(1, math.ceil(60.0 - (now - window[0])))
        window.append(now)
        return None


@dataclass(frozen=True)
class Call:
    """One authorised request: who asks, under which service, for which period."""

    operation: str
    service: Service
    consumer: str
    period_from: datetime.date
    period_to: datetime.date
    today: datetime.date
    order: ExtraditionOrder | None = None  # Politi-Utlevering
    guardian: str | None = None  # Vergekontroll

    @property
    def is_today(self) -> bool:
        return self.period_to >= self.today


def _problem(trigger: str, message: str, parameter: str | None = None) -> rt.ApiProblem:
    return rt.ApiProblem.from_trigger(trigger, message, parameter=parameter)


class DsopBank:
    """The handlers of the DSOP Control API (the generated `Handlers` Protocol)."""

    def __init__(
        self,
        data: BankData,
        services: ServiceCatalogue,
        *,
        consumers: Mapping[str, frozenset[str]],
        orders: OrderVerifier,
        page_size: int = 1000,
        accounts_page_size: int = 1000,
        rate_limit: int | None = None,
        today: datetime.date | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if page_size < 1 or accounts_page_size < 1:
            raise ValueError("page sizes must be at least 1")
        self.data = data
        self.services = services
        self.consumers = dict(consumers)
        self.orders = orders
        self.page_size = page_size
        self.accounts_page_size = accounts_page_size
        self.limiter = RateLimiter(rate_limit, clock) if rate_limit else None
        self.fixed_today = today
        self.bank = data.fixture.bank
        self._tables = {op: rt.ErrorTable(table) for op, table in OPERATION_ERRORS.items()}

    # --- the five operations ------------------------------------------------------------------

    async def list_accounts(
        self,
        *,
        account_info_request_id: uuid.UUID,
        correlation_id: uuid.UUID,
        legal_mandate: str,
        party_id: str,
        only_primary_owner: bool,
        additional_reference_id: str | None,
        additional_reference_id_type: ReferenceType | None,
        requester_id: str | None,
        from_date: datetime.date | None,
        to_date: datetime.date | None,
        auth: rt.AuthContext,
    ) -> Accounts:
        async def work() -> Accounts:
            self.check_only_primary_owner_format()
            call = self.authorise(
                "listAccounts",
                auth=auth,
                legal_mandate=legal_mandate,
                additional_reference_id=additional_reference_id,
                additional_reference_id_type=additional_reference_id_type,
                requester_id=requester_id,
                from_date=from_date,
                to_date=to_date,
            )
            self.check_party_id(party_id)
            self.check_primary_owner_rule(call, only_primary_owner)
            party = self.data.party(party_id)
            if party is not None:
                self.check_fault("listAccounts", party.fault)
            self.check_event_period(call, party, party_id)
            if call.order is not None and call.order.party_id != party_id:
                raise _problem(
                    "invalid-combination",
                    "PartyID is not the party named in the extradition order.",
                    "AdditionalReferenceID",
                )
            return self.accounts_body(call, party, party_id, only_primary_owner)

        return await self._run(
            "listAccounts",
            auth,
            work,
            correlation_id=correlation_id,
            account_info_request_id=account_info_request_id,
            legal_mandate=legal_mandate,
            additional_reference_id=additional_reference_id,
            additional_reference_id_type=additional_reference_id_type,
        )

    async def show_account_by_id(
        self,
        *,
        account_reference: str,
        account_info_request_id: uuid.UUID,
        correlation_id: uuid.UUID,
        legal_mandate: str,
        additional_reference_id: str | None,
        additional_reference_id_type: ReferenceType | None,
        requester_id: str | None,
        from_date: datetime.date | None,
        to_date: datetime.date | None,
        auth: rt.AuthContext,
    ) -> AccountDetails:
        return await self._per_account(
            "showAccountById",
            self.details_body,
            account_reference=account_reference,
            account_info_request_id=account_info_request_id,
            correlation_id=correlation_id,
            legal_mandate=legal_mandate,
            additional_reference_id=additional_reference_id,
            additional_reference_id_type=additional_reference_id_type,
            requester_id=requester_id,
            from_date=from_date,
            to_date=to_date,
            auth=auth,
        )

    async def list_transactions(
        self,
        *,
        account_reference: str,
        account_info_request_id: uuid.UUID,
        correlation_id: uuid.UUID,
        legal_mandate: str,
        additional_reference_id: str | None,
        additional_reference_id_type: ReferenceType | None,
        requester_id: str | None,
        from_date: datetime.date | None,
        to_date: datetime.date | None,
        auth: rt.AuthContext,
    ) -> Transactions:
        return await self._per_account(
            "listTransactions",
            self.transactions_body,
            account_reference=account_reference,
            account_info_request_id=account_info_request_id,
            correlation_id=correlation_id,
            legal_mandate=legal_mandate,
            additional_reference_id=additional_reference_id,
            additional_reference_id_type=additional_reference_id_type,
            requester_id=requester_id,
            from_date=from_date,
            to_date=to_date,
            auth=auth,
        )

    async def list_cards(
        self,
        *,
        account_reference: str,
        account_info_request_id: uuid.UUID,
        correlation_id: uuid.UUID,
        legal_mandate: str,
        additional_reference_id: str | None,
        additional_reference_id_type: ReferenceType | None,
        requester_id: str | None,
        from_date: datetime.date | None,
        to_date: datetime.date | None,
        auth: rt.AuthContext,
    ) -> Cards:
        return await self._per_account(
            "listCards",
            self.cards_body,
            account_reference=account_reference,
            account_info_request_id=account_info_request_id,
            correlation_id=correlation_id,
            legal_mandate=legal_mandate,
            additional_reference_id=additional_reference_id,
            additional_reference_id_type=additional_reference_id_type,
            requester_id=requester_id,
            from_date=from_date,
            to_date=to_date,
            auth=auth,
        )

    async def list_roles(
        self,
        *,
        account_reference: str,
        account_info_request_id: uuid.UUID,
        correlation_id: uuid.UUID,
        legal_mandate: str,
        additional_reference_id: str | None,
        additional_reference_id_type: ReferenceType | None,
        requester_id: str | None,
        from_date: datetime.date | None,
        to_date: datetime.date | None,
        auth: rt.AuthContext,
    ) -> Roles:
        return await self._per_account(
            "listRoles",
            self.roles_body,
            account_reference=account_reference,
            account_info_request_id=account_info_request_id,
            correlation_id=correlation_id,
            legal_mandate=legal_mandate,
            additional_reference_id=additional_reference_id,
            additional_reference_id_type=additional_reference_id_type,
            requester_id=requester_id,
            from_date=from_date,
            to_date=to_date,
            auth=auth,
        )

    async def _per_account(
        self,
        operation: str,
        body: Callable[[Call, AccountRow], T],
        *,
        account_reference: str,
        account_info_request_id: uuid.UUID,
        correlation_id: uuid.UUID,
        legal_mandate: str,
        additional_reference_id: str | None,
        additional_reference_id_type: ReferenceType | None,
        requester_id: str | None,
        from_date: datetime.date | None,
        to_date: datetime.date | None,
        auth: rt.AuthContext,
    ) -> T:
        async def work() -> T:
            call = self.authorise(
                operation,
                auth=auth,
                legal_mandate=legal_mandate,
                additional_reference_id=additional_reference_id,
                additional_reference_id_type=additional_reference_id_type,
                requester_id=requester_id,
                from_date=from_date,
                to_date=to_date,
            )
            account = self.find_account(account_reference)
            self.check_fault(operation, account.fault)
            self.check_account_scope(call, account)
            return body(call, account)

        return await self._run(
            operation,
            auth,
            work,
            correlation_id=correlation_id,
            account_info_request_id=account_info_request_id,
            legal_mandate=legal_mandate,
            additional_reference_id=additional_reference_id,
            additional_reference_id_type=additional_reference_id_type,
        )

    # --- the frame: rate limit and request log ------------------------------------------------

    async def _run(
        self,
        operation: str,
        auth: rt.AuthContext,
        work: Callable[[], Awaitable[T]],
        **logged: Any,
    ) -> T:
        entry: dict[str, Any] = {
            "at": datetime.datetime.now(datetime.UTC).isoformat(),
            "operation": operation,
            "consumer": self.consumer_of(auth),
            **{k: (str(v) if v is not None else None) for k, v in logged.items()},
        }
        try:
            self.check_rate_limit(auth)
            self.check_raw_formats()
            result = await work()
        except rt.ApiProblem as problem:
            entry["status"], entry["code"] = self._outcome(operation, problem)
            self.data.log_request(entry)
            raise
        entry["status"], entry["code"] = 200, None
        self.data.log_request(entry)
        return result

    def _outcome(self, operation: str, problem: rt.ApiProblem) -> tuple[int | None, str | None]:
        if problem.trigger is None:
            return problem.status, str(problem.code) if problem.code is not None else None
        found = self._tables[operation].find(problem.trigger, problem.parameter)
        return (found[0], str(found[1])) if found else (None, None)

    def check_rate_limit(self, auth: rt.AuthContext) -> None:
        """429 ACC-022 with Retry-After once a consumer exceeds `rate_limit` per minute."""
        if self.limiter is None:
            return
        key = self.consumer_of(auth) or str(auth.claim("client_id"))
        wait = self.limiter.hit(key)
        if wait is not None:
            raise rt.ApiProblem.from_trigger(
                "rate-limited",
                f"More than {self.limiter.per_minute} requests per minute; retry in {wait} s.",
                headers={"Retry-After": str(wait)},
            )

    # --- formats the generated parsing accepts too leniently ---------------------------------

    def check_raw_formats(self) -> None:
        """UUID headers in 8-4-4-4-12 form, dates as YYYY-MM-DD (DSOP-ACC-400-MALFORMED-UUID, -DATE-FORMAT)."""
        state = current_request()
        for name in ("AccountInfoRequestID", "CorrelationID"):
            value = state.header(name)
            if value is not None and not _UUID.match(value.strip()):
                raise _problem("invalid-parameter", f"The header {name} is not a UUID.", name)
        for name in ("fromDate", "toDate"):
            value = state.param(name)
            if value is not None and not _DATE.match(value):
                raise _problem(
                    "invalid-parameter", f"The query parameter {name} is not YYYY-MM-DD.", name
                )

    def check_only_primary_owner_format(self) -> None:
        """OnlyPrimaryOwner is true or false, not 1/yes/on (DSOP-ACC-400-ONLY-PRIMARY-OWNER)."""
        value = current_request().param("OnlyPrimaryOwner")
        if value is not None and value.lower() not in ("true", "false"):
            raise _problem(
                "invalid-parameter", "OnlyPrimaryOwner must be true or false.", "OnlyPrimaryOwner"
            )

    def check_party_id(self, party_id: str) -> None:
        """PartyID is a national identity number, D-number or organisation number."""
        value = party_id.strip()
        if not (is_national_id(value) or is_organisation_number(value)):
            raise _problem(
                "invalid-parameter",
                "PartyID is neither a national identity number, a D-number nor an organisation number.",
                "PartyID",
            )

    # --- the service --------------------------------------------------------------------------

    def today(self) -> datetime.date:
        return self.fixed_today or datetime.date.today()

    @staticmethod
    def consumer_of(auth: rt.AuthContext) -> str | None:
        """The organisation number of the token's consumer claim (`0192:<orgno>`), DSOP-TOKEN-CONSUMER-CLAIM."""
        value = auth.claim("consumer.ID")
        if not isinstance(value, str):
            return None
        authority, _, number = value.partition(":")
        return number if authority == "0192" and number else None

    def decode_mandate(self, legal_mandate: str) -> str:
        """The URL-decoded Legal-Mandate; a malformed encoding is an unknown mandate."""
        try:
            return unquote(legal_mandate.strip(), errors="strict")
        except UnicodeDecodeError:
            raise _problem(
                "invalid-parameter",
                "Legal-Mandate is not valid URL-encoded UTF-8.",
                "Legal-Mandate",
            ) from None

    def service_for(self, legal_mandate: str) -> Service:
        service = self.services.by_mandate(self.decode_mandate(legal_mandate))
        if service is None:
            # A-DSOP-023: an unknown mandate is 400; a known one the consumer may not use is 403.
            raise _problem(
                "invalid-parameter",
                "Legal-Mandate is not a legal basis of any DSOP service.",
                "Legal-Mandate",
            )
        return service

    def check_consumer(self, service: Service, consumer: str | None) -> None:
        if consumer is None or consumer not in self.consumers.get(service.name, frozenset()):
            raise rt.ApiProblem.from_trigger(
                "forbidden",
                f"The consumer organisation is not entitled to the {service.name} service.",
            )

    def check_operation(self, service: Service, operation: str) -> None:
        """DSOP-ACC-400-SERVICE-ENDPOINT: the spec's `outside` answer for an endpoint not in the service."""
        if service.allows(operation):
            return
        message = f"{operation} is not part of the {service.name} service."
        trigger = {400: "service-not-allowed", 403: "forbidden"}.get(service.outside.status)
        if trigger is not None and self._tables[operation].find(trigger) == (
            service.outside.status,
            service.outside.code,
        ):
            raise rt.ApiProblem.from_trigger(trigger, message)
        raise rt.ApiProblem(service.outside.status, service.outside.code, message)

    def check_requester(self, service: Service, requester_id: str | None) -> None:
        if service.requires_requester_id and not (requester_id or "").strip():
            raise _problem(
                "missing-parameter",
                f"The {service.name} service requires the RequesterID header.",
                "RequesterID",
            )

    def check_additional_reference(
        self,
        service: Service,
        reference_type: str | None,
        reference_id: str | None,
        today: datetime.date,
    ) -> tuple[ExtraditionOrder | None, str | None]:
        """DSOP-ACC-400-ADDITIONAL-REFERENCE; for pol1 the order is verified (DSOP-POLITI-EO-*)."""
        expected = service.additional_reference_id_type
        value = unquote(reference_id.strip()) if reference_id is not None else None
        if expected is None:
            if reference_type is not None or value is not None:
                raise _problem(
                    "invalid-combination",
                    f"The {service.name} mandate takes no AdditionalReferenceID.",
                    "AdditionalReferenceIDType",
                )
            return None, None
        if reference_type != expected or not value:
            raise _problem(
                "invalid-combination",
                f"The {service.name} mandate needs AdditionalReferenceIDType {expected} "
                "with an AdditionalReferenceID.",
                "AdditionalReferenceIDType",
            )
        if expected == "srf":
            if not is_national_id(value):
                raise _problem(
                    "invalid-combination",
                    "AdditionalReferenceID (srf) must be the guardian's national identity number.",
                    "AdditionalReferenceID",
                )
            return None, value
        if expected == "pol1":
            try:
                return self.orders.verify(value, today=today), None
            except OrderError as exc:
                raise _problem(
                    "invalid-combination",
                    f"The extradition order is not valid: {exc}.",
                    "AdditionalReferenceID",
                ) from None
        return None, None

    def check_order(self, call: Call, mandate: str) -> None:
        """Politi: the order's mandate, endpoint flag (403 ACC-011) and period (DSOP-POLITI-EO-REQUEST-MATCH)."""
        order = call.order
        if order is None:
            return
        if order.mandate != mandate:
            raise _problem(
                "invalid-combination",
                "Legal-Mandate is not the mandate of the extradition order.",
                "AdditionalReferenceID",
            )
        if not order.allows(call.operation):
            raise rt.ApiProblem.from_trigger(
                "forbidden",
                f"The extradition order does not cover {ENDPOINT_FLAGS[call.operation]}.",
            )
        if call.period_from < order.from_date or call.period_to > order.to_date:
            raise _problem(
                "invalid-combination",
                "The requested period lies outside the extradition order's period.",
                "fromDate",
            )

    def check_period(
        self,
        service: Service,
        period_from: datetime.date,
        period_to: datetime.date,
        today: datetime.date,
    ) -> None:
        """DSOP-ACC-400-PERIOD-ORDER and -PERIOD-SERVICE (the spec's constraints.period)."""
        if period_from > period_to:
            raise _problem("invalid-combination", "fromDate is later than toDate.", "fromDate")
        rule = service.period
        if rule.max_years_back is not None and period_from < years_before(
            today, rule.max_years_back
        ):
            raise _problem(
                "invalid-combination",
                f"{service.name} allows at most {rule.max_years_back} years back.",
                "fromDate",
            )
        start_of_last_year = datetime.date(today.year - 1, 1, 1)
        end_of_last_year = datetime.date(today.year - 1, 12, 31)
        expected_from = {"today": today, "start-of-last-year": start_of_last_year}.get(
            rule.from_date
        )
        expected_to = {"today": today, "end-of-last-year": end_of_last_year}.get(rule.to_date)
        if expected_from is not None and period_from != expected_from:
            raise _problem(
                "invalid-combination",
                f"{service.name} requires fromDate {expected_from.isoformat()}.",
                "fromDate",
            )
        if expected_to is not None and period_to != expected_to:
            raise _problem(
                "invalid-combination",
                f"{service.name} requires toDate {expected_to.isoformat()}.",
                "toDate",
            )

    def authorise(
        self,
        operation: str,
        *,
        auth: rt.AuthContext,
        legal_mandate: str,
        additional_reference_id: str | None,
        additional_reference_id_type: str | None,
        requester_id: str | None,
        from_date: datetime.date | None,
        to_date: datetime.date | None,
    ) -> Call:
        """Service, consumer, endpoint, RequesterID, additional reference, period (FACTS §6.2)."""
        today = self.today()
        service = self.service_for(legal_mandate)
        consumer = self.consumer_of(auth)
        self.check_consumer(service, consumer)
        assert consumer is not None
        current_request().consumer = consumer  # the JWE encoder's CertPub lookup
        self.check_operation(service, operation)
        self.check_requester(service, requester_id)
        order, guardian = self.check_additional_reference(
            service, additional_reference_id_type, additional_reference_id, today
        )
        period_from = from_date or today  # DSOP-PERIOD-DEFAULT-TODAY
        period_to = to_date or today
        self.check_period(service, period_from, period_to, today)
        call = Call(operation, service, consumer, period_from, period_to, today, order, guardian)
        self.check_order(call, self.decode_mandate(legal_mandate))
        return call

    def check_primary_owner_rule(self, call: Call, only_primary_owner: bool) -> None:
        """DSOP-ACC-400-SERVICE-PRIMARY-OWNER, and for Politi not looser than the order."""
        if only_primary_owner not in call.service.only_primary_owner:
            raise _problem(
                "invalid-combination",
                f"{call.service.name} only allows OnlyPrimaryOwner="
                + "/".join(sorted(str(v).lower() for v in call.service.only_primary_owner))
                + ".",
                "OnlyPrimaryOwner",
            )
        if call.order is not None and call.order.only_primary_owner and not only_primary_owner:
            raise _problem(
                "invalid-combination",
                "The extradition order only covers accounts the party owns (OnlyPrimaryOwner=true).",
                "AdditionalReferenceID",
            )

    def check_event_period(self, call: Call, party: Party | None, party_id: str) -> None:
        """OED / Konkursbehandling: fromDate no earlier than N months before the party's event."""
        period = call.service.period
        if period.event is None or period.max_months_before_event is None:
            return
        attribute, what = EVENT_DATES[period.event]
        months = period.max_months_before_event
        event: datetime.date | None = getattr(party, attribute) if party is not None else None
        if event is None:
            raise _problem(
                "invalid-combination",
                f"No {what} is registered for the party; the {call.service.name} mandate does not apply.",
                "Legal-Mandate",
            )
        if call.period_from < months_before(event, months):
            raise _problem(
                "invalid-combination",
                f"{call.service.name}: fromDate may be at most {months} months before "
                f"{event.isoformat()}.",
                "fromDate",
            )

    # --- accounts and their scope -------------------------------------------------------------

    def find_account(self, reference: str) -> AccountRow:
        account = self.data.account_by_reference(reference)
        if account is None:
            raise _problem(
                "not-found", "No account matches the given accountReference.", "accountReference"
            )
        return account

    def check_fault(self, operation: str, fault: str | None) -> None:
        """Failures staged in the fixture (DSOP-ACC-500-SERVER-ERROR), never a 200 `partial`.

        `backend-unavailable` answers the first server-error code of the operation (ACC-100, "a
        back-end system fails"), `internal-error` the alternative one (ACC-500).
        """
        if fault is None:
            return
        uses = self._tables[operation].uses("server-error")
        use = uses[0] if fault == "backend-unavailable" else uses[-1]
        status, code = use.status, use.code
        message = {
            "backend-unavailable": "The account system is temporarily unavailable.",
        }.get(fault, "An internal error occurred at the bank.")
        raise rt.ApiProblem(int(status), code, message)

    def not_related(self, operation: str, message: str) -> rt.ApiProblem:
        """404 with the alternative not-found code (ACC-003): the account exists, not for this case.

        A-DSOP-006 reads ACC-003 as "party/relation not found"; the sandbox uses it when a known
        accountReference lies outside the request's extradition-order party, guardian or estate.
        """
        uses = self._tables[operation].uses("not-found")
        if len(uses) > 1:
            return rt.ApiProblem(uses[-1].status, uses[-1].code, message)
        return _problem("not-found", message, "accountReference")

    def check_account_scope(self, call: Call, account: AccountRow) -> None:
        """The account must belong to this case's party, guardian or estate (else 404 ACC-003)."""
        f, t = call.period_from, call.period_to
        if call.order is not None and not self.data.has_role(
            account.number, call.order.party_id, f, t
        ):
            raise self.not_related(
                call.operation, "The extradition order's party holds no role on this account."
            )
        if call.guardian is not None and not self.data.guardian_manages(
            call.guardian, account.number, f, t
        ):
            raise self.not_related(call.operation, "The guardian does not manage this account.")
        if call.service.period.event is not None:
            owner = self.data.primary_role(account.number, min(t, account.closed or t))
            party = owner.party if owner is not None else None
            attribute = EVENT_DATES[call.service.period.event][0]
            if party is None or getattr(party, attribute) is None:
                raise self.not_related(
                    call.operation,
                    f"The account's owner is not a party of a {call.service.name} case.",
                )
            self.check_event_period(call, party, party.id)

    # --- bodies -------------------------------------------------------------------------------

    def identifier(self, party: Party) -> dict[str, Any]:
        return {"value": party.id, "type": party.identifier_type, "countryOfResidence": "NO"}

    def servicer(self) -> dict[str, Any]:
        return {
            "identifier": {
                "value": str(self.bank["organisation"]),
                "type": "countryIdentificationCode",
                "countryOfResidence": "NO",
            },
            "name": str(self.bank["name"]),
        }

    def role_body(self, role: RoleRow, at: datetime.date) -> dict[str, Any]:
        body: dict[str, Any] = {
            "permission": role.permission,
            "identifier": self.identifier(role.party),
            "name": role.party.name,
            "startDate": role.start.isoformat(),
        }
        # DSOP-END-AFTER-START: no endDate while the role is held (at the end of the period).
        if role.end is not None and role.end <= at:
            body["endDate"] = role.end.isoformat()
        return body

    def account_status(self, account: AccountRow, at: datetime.date) -> str:
        """The status at the end of the period (DSOP-PERIOD-END-VALUE): a closed account is deleted."""
        if account.closed is not None and account.closed <= at:
            return "deleted"
        return account.status

    def account_body(
        self, account: AccountRow, call: Call, held_until: datetime.date | None = None
    ) -> dict[str, Any]:
        at = min(d for d in (call.period_to, held_until, account.closed) if d is not None)
        body: dict[str, Any] = {
            "accountIdentifier": account.number,
            "accountReference": account.reference,
            "status": self.account_status(account, call.period_to),
            "servicer": self.servicer(),
            "type": account.type,
            "currency": account.currency,
        }
        owner = self.data.primary_role(account.number, at)
        if owner is not None:
            body["primaryOwner"] = self.role_body(owner, call.period_to)
        return body

    def visible_accounts(
        self, call: Call, party: Party, only_primary_owner: bool
    ) -> list[tuple[AccountRow, RoleRow]]:
        found = self.data.accounts_for_party(
            party.id, call.period_from, call.period_to, only_primary_owner=only_primary_owner
        )
        if call.guardian is not None:
            # DSOP-VERGE-SCOPE: only the ward's accounts the guardian manages, while managed.
            found = [
                (a, r)
                for a, r in found
                if self.data.guardian_manages(
                    call.guardian, a.number, call.period_from, call.period_to, ward=party.id
                )
            ]
        return found

    def accounts_body(
        self, call: Call, party: Party | None, party_id: str, only_primary_owner: bool
    ) -> Accounts:
        details: dict[str, Any] = {"status": "complete"}
        found: list[tuple[AccountRow, RoleRow]] = []
        if party is not None and not party.shielded:  # DSOP-SHIELDED-EMPTY
            found = self.visible_accounts(call, party, only_primary_owner)
            if party.partial:
                details = {"status": "partial", "message": party.partial[:500]}
        items = [self.account_body(a, call, held_until=r.end) for a, r in found]
        page, links = self.paginate(
            items,
            "/accounts",
            [
                ("OnlyPrimaryOwner", "true" if only_primary_owner else "false"),
                ("fromDate", call.period_from.isoformat()),
                ("toDate", call.period_to.isoformat()),
            ],
            self.accounts_page_size,
        )
        return Accounts.model_validate(
            {"responseDetails": details, "accounts": page, "links": links}
        )

    def amount(self, value: float) -> tuple[float, str]:
        """DSOP-AMOUNT-SIGN: a non-negative amount and the direction (credit = money in)."""
        return abs(round(value, 2)), "credit" if value >= 0 else "debit"

    def balances(self, call: Call, account: AccountRow) -> list[dict[str, Any]]:
        """DSOP-BALANCES-TODAY / -HISTORICAL / -CLOSED."""
        if account.closed is not None and account.closed <= call.period_to:
            return []  # closed within (or before) the period: no balance
        if account.opened > call.period_to:
            return []
        extra: dict[str, Any] = {"creditLineIncluded": False, "currency": account.currency}
        if account.credit_line:
            extra.update(
                creditLineAmount=float(account.credit_line), creditLineCurrency=account.currency
            )

        def balance(kind: str, value: float, registered: str) -> dict[str, Any]:
            amount, indicator = self.amount(value)
            return {
                "type": kind,
                "amount": amount,
                "creditDebitIndicator": indicator,
                "registered": registered,
                **extra,
            }

        if call.is_today:
            now = datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()
            booked = self.data.booked_balance(account, call.today)
            available = booked - self.data.blocked_amount(account)
            return [
                balance("availableBalance", available, now),
                balance("bookedBalance", booked, now),
            ]
        booked = self.data.booked_balance(account, call.period_to)
        end_of_day = f"{call.period_to.isoformat()}T23:59:59Z"
        return [balance("bookedBalance", booked, end_of_day)]

    def details_body(self, call: Call, account: AccountRow) -> AccountDetails:
        body = self.account_body(account, call)
        body["startDate"] = account.opened.isoformat()
        if account.closed is not None and account.closed <= call.period_to:
            body["endDate"] = account.closed.isoformat()
        body["balances"] = self.balances(call, account)
        return AccountDetails.model_validate(
            {"responseDetails": {"status": "complete"}, "account": body}
        )

    def card_body(self, card: CardRow) -> dict[str, Any]:
        body: dict[str, Any] = {
            "cardIdentifier": mask_card_number(card.pan),
            "holderName": card.holder,
            "startDate": card.start_month,
            "expiryDate": card.expiry_month,
            "cardIssuerName": str(self.bank["name"]),
            "type": card.type,
            "cardStatus": card.status,
            "versionNumber": card.version,
            "cardIssuerIdentifier": self.servicer()["identifier"],
        }
        return {k: v for k, v in body.items() if v is not None}

    def transaction_body(
        self, row: TransactionRow, account: AccountRow, cards: Mapping[str, CardRow]
    ) -> dict[str, Any]:
        amount, indicator = self.amount(row.amount)
        extra = row.body
        body: dict[str, Any] = {
            "transactionIdentifier": row.id,
            "status": row.status,
            "creditDebitIndicator": indicator,
            "reversalIndicator": False,
            "amount": amount,
            "currency": account.currency,
            "registered": row.registered,
        }
        if row.booking_date is not None:
            body["bookingDate"] = f"{row.booking_date.isoformat()}T00:00:00Z"
            body["valueDate"] = f"{row.booking_date.isoformat()}T00:00:00Z"
        if "code" in extra:
            body["transactionCode"] = dict(extra["code"])
        if "merchant" in extra:
            body["merchant"] = extra["merchant"]
        if "info" in extra:
            body["additionalInfo"] = extra["info"]
        if "reference" in extra:
            body["references"] = [dict(extra["reference"])]
        if "exchange" in extra:
            body["currencyExchange"] = dict(extra["exchange"])
        if "counterparty" in extra:
            cp = extra["counterparty"]
            party: dict[str, Any] = {"type": cp["type"], "name": cp["name"]}
            if "account" in cp:
                party["accountIdentifier"] = str(cp["account"])
            if "organisation" in cp:
                party["identifier"] = {
                    "value": str(cp["organisation"]),
                    "type": "countryIdentificationCode",
                    "countryOfResidence": "NO",
                }
            body["counterParties"] = [party]
        if "card" in extra:
            pan = str(extra["card"])
            card = cards.get(pan)
            body["paymentCard"] = (
                self.card_body(card) if card else {"cardIdentifier": mask_card_number(pan)}
            )
        return body

    def transactions_body(self, call: Call, account: AccountRow) -> Transactions:
        cards = {c.pan: c for c in self.data.cards(account.number)}
        rows = self.data.transactions(account.number, call.period_from, call.period_to)
        items = [self.transaction_body(row, account, cards) for row in rows]
        page, links = self.paginate(
            items,
            f"/accounts/{account.reference}/transactions",
            [("fromDate", call.period_from.isoformat()), ("toDate", call.period_to.isoformat())],
            self.page_size,
        )
        return Transactions.model_validate(
            {"responseDetails": {"status": "complete"}, "transactions": page, "links": links}
        )

    def cards_body(self, call: Call, account: AccountRow) -> Cards:
        cards = []
        for card in self.data.cards(account.number):
            if not _card_in_period(card, call.period_from, call.period_to):
                continue
            cards.append(self.card_body(card))
        return Cards.model_validate(
            {"responseDetails": {"status": "complete"}, "paymentCards": cards}
        )

    def roles_body(self, call: Call, account: AccountRow) -> Roles:
        roles = [
            self.role_body(role, call.period_to)
            for role in self.data.roles_in_period(account.number, call.period_from, call.period_to)
        ]
        return Roles.model_validate({"responseDetails": {"status": "complete"}, "roles": roles})

    # --- paging -------------------------------------------------------------------------------

    def requested_page(self, last: int) -> int:
        raw = current_request().param("page")
        if raw is None:
            return 1
        if not raw.isdigit() or not 1 <= int(raw) <= last:
            raise _problem("invalid-parameter", f"page must be a number from 1 to {last}.", "page")
        return int(raw)

    def paginate(
        self,
        items: Sequence[dict[str, Any]],
        path: str,
        parameters: Sequence[tuple[str, str]],
        size: int,
    ) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        """One page and its relative links (DSOP-PAGE-LINKS-RELATIVE, -RELS, -NEXT-TERMINATES)."""
        last = max(1, math.ceil(len(items) / size))
        page = self.requested_page(last)

        def href(number: int) -> str:
            return f"{path}?{urlencode([*parameters, ('page', str(number))])}"

        links = [{"rel": "self", "href": href(page)}]
        if page > 1:
            links.append({"rel": "prev", "href": href(page - 1)})
        if page < last:
            links.append({"rel": "next", "href": href(page + 1)})
        links.append({"rel": "last", "href": href(last)})
        start = (page - 1) * size
        return list(items[start : start + size]), links


def _month_start(value: str) -> datetime.date:
    year, month = value.split("-")
    return datetime.date(int(year), int(month), 1)


def _card_in_period(card: CardRow, period_from: datetime.date, period_to: datetime.date) -> bool:
    """A card linked to the account at some time in the period (start month to expiry month)."""
    if card.start_month and _month_start(card.start_month) > period_to:
        return False
    if card.expiry_month:
        end = months_before(_month_start(card.expiry_month), -1) - datetime.timedelta(days=1)
        if end < period_from:
            return False
    return True
