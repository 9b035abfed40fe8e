"""The DAN sandbox's business logic: the handlers of kontrakt/generated/dan_v1 over SQLite.

Accreditations are stored per owner (the consumer organisation of the token) and service context
(the subscription key's product); datasets come from the spec's `x-kontrakt-datasets` and the
offering settings and register values of `kontrakt/sandbox/fixtures/dan.yaml`. Each check cites the FACTS
clause it follows. Errors are raised by DAN exception name (`Contract.problem`) or trigger
(`rt.ApiProblem.from_trigger`), so every code and status comes from the spec.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import yaml

from kontrakt.generated.dan_v1.models import (
    Accreditation,
    AuthorizationRequest,
    DatasetBody,
    DirectHarvestBody,
    ErrorCodeEntry,
    Evidence,
    EvidenceCode,
    EvidenceStatus,
    EvidenceStatusCode,
    NotificationReminder,
    UnenvelopedEvidence,
)
from kontrakt.runtime import server as rt
from kontrakt.sandbox.clients import FIXTURES
from kontrakt.sandbox.dan import jmes
from kontrakt.sandbox.dan.contract import Contract, DatasetSpec
from kontrakt.sandbox.dan.gateway import current
from kontrakt.sandbox.identifiers import is_national_id, is_organisation_number
from kontrakt.sandbox.store import Database, Transaction

__all__ = ["ANSWERS", "ConsentError", "DanProvider", "Party", "parse_party"]

T = TypeVar("T")

DEFAULT_FIXTURE = FIXTURES / "dan.yaml"
DEFAULT_LANGUAGES = ("no-nb", "no-nn", "en")  # FACTS §2.1 step 10
DEFAULT_LANGUAGE = "no-nb"  # FACTS §3.1
SCOPE_PREFIXES = ("altinn:dataaltinnno", "dan:")  # FACTS §1 Scope
# FACTS §2.4: query names that are never dataset parameters (compared case-insensitively).
RESERVED_QUERY = frozenset(
    {"requestor", "subject", "code", "envelope", "query", "reusetoken", "tokenonbehalfofowner"}
)
FAULT_POINTS = frozenset({"ccr", "store", "consent", "reminder", "harvest"})
SOURCE_ERRORS = frozenset({3001, 3002, 3003})
# The sandbox consent answers (sandbox only; Altinn's consent page in DAN) -> lifecycle states.
ANSWERS: Mapping[str, str] = {"grant": "Available", "deny": "Denied", "expire": "Expired"}

SCHEMA = """
CREATE TABLE ccr (
    orgno TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    deleted INTEGER NOT NULL
);
CREATE TABLE register_data (
    subject TEXT NOT NULL,
    dataset TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (subject, dataset)
);
CREATE TABLE faults (
    subject TEXT NOT NULL,
    point TEXT NOT NULL,
    code INTEGER NOT NULL,
    detail_code TEXT,
    detail_description TEXT,
    PRIMARY KEY (subject, point)
);
CREATE TABLE accreditations (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    service_context TEXT NOT NULL,
    requestor TEXT,
    document TEXT NOT NULL,
    valid_to TEXT NOT NULL,
    last_changed TEXT NOT NULL,
    consent_state TEXT
);
CREATE TABLE reminders (
    accreditation_id TEXT NOT NULL REFERENCES accreditations (id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    notification_type TEXT NOT NULL,
    success INTEGER NOT NULL,
    description TEXT,
    recipient_count INTEGER
);
"""


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def _parse_time(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _flag(value: str | None) -> bool:
    """DAN-QUERY-BOOLEAN-PARSING: absent, "false" or "0" is false; anything else is true."""
    return value is not None and value.strip().casefold() not in ("false", "0")


# --- parties ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    """A parsed requestor or subject (FACTS §3.4)."""

    scheme: str
    id: str
    organisation: str | None = None
    person: str | None = None

    @property
    def kind(self) -> str:
        if self.organisation:
            return "organization"
        return "person" if self.person else "foreign"

    @property
    def normalised(self) -> str | None:
        """The identifier DAN stores in requestor/subject (null for a foreign party)."""
        return self.organisation or self.person

    @property
    def key(self) -> str:
        return self.normalised or self.id

    def wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {"scheme": self.scheme, "id": self.id}
        if self.organisation:
            body["norwegianOrganizationNumber"] = self.organisation
        if self.person:
            body["norwegianSocialSecurityNumber"] = self.person
        return body


def _organisation(number: str) -> Party:
    return Party("iso6523-actorid-upis", f"0192:{number}", organisation=number)


def _person(number: str) -> Party:
    return Party("nor-freg", number, person=number)


def parse_party(text: str | None) -> Party | None:
    """DAN-IDENTIFIER-FORMS: 9-digit org no., 11-digit id no., or the two scheme forms."""
    if text is None:
        return None
    value = text.strip()
    if is_organisation_number(value):
        return _organisation(value)
    if is_national_id(value):
        return _person(value)
    scheme, sep, ident = value.partition("::")
    if not sep:
        return None
    if scheme.casefold() == "nor-freg":
        return _person(ident) if is_national_id(ident) else None
    if scheme.casefold() == "iso6523-actorid-upis":
        icd, sep, number = ident.partition(":")
        if not sep or len(icd) != 4 or not icd.isdigit() or not number.strip():
            return None
        if icd == "0192":
            return _organisation(number) if is_organisation_number(number) else None
        return Party("iso6523-actorid-upis", f"{icd}:{number}")
    return None


# --- the fixture: offerings, requirements, faults ------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    """An authorization requirement of a dataset (FACTS §3.7 Requirement)."""

    type: str
    failure_action: str
    subject_types: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()

    def wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "failureAction": self.failure_action,
            "requiredOnEvidenceHarvester": True,
        }
        if self.subject_types:
            body["subjectTypes"] = list(self.subject_types)
        if self.scopes:
            body["scopes"] = list(self.scopes)
        return body

    def failure(self, subject: Party, scopes: frozenset[str]) -> str | None:
        """Why the requirement fails for this subject and token, or None."""
        if self.subject_types and subject.kind not in self.subject_types:
            return f"{self.type}: the subject must be one of {', '.join(self.subject_types)}"
        missing = [s for s in self.scopes if s not in scopes]
        if missing:
            return f"{self.type}: the token lacks the scope {missing[0]}"
        return None


CONSENT_REQUIREMENT = Requirement("ConsentRequirement", "deny")


@dataclass(frozen=True)
class Offering:
    """How the sandbox offers one dataset of the spec."""

    spec: DatasetSpec
    source: str
    service_contexts: tuple[str, ...]
    is_public: bool
    max_valid_days: int | None
    json_schema: str | None
    requirements: tuple[Requirement, ...]

    @property
    def name(self) -> str:
        return self.spec.name

    def in_context(self, context: str) -> bool:
        return any(c.casefold() == context.casefold() for c in self.service_contexts)

    def definition(self, *, for_accreditation: bool = False) -> dict[str, Any]:
        """The EvidenceCode (FACTS §3.7); in an accreditation its requirements are emptied."""
        values = []
        for value in self.spec.values:
            item: dict[str, Any] = {
                "evidenceValueName": value.name,
                "source": self.source,
                "valueType": value.value_type,
            }
            if value.value_type == "jsonSchema" and self.json_schema:
                item["jsonSchemaDefintion"] = self.json_schema
            values.append(item)
        body: dict[str, Any] = {
            "evidenceCodeName": self.name,
            "description": self.spec.description,
            "isAsynchronous": False,
            "values": values,
            "authorizationRequirements": (
                [] if for_accreditation else [r.wire() for r in self.requirements]
            ),
            "belongsToServiceContexts": list(self.service_contexts),
            "isPublic": self.is_public,
        }
        if self.max_valid_days is not None:
            body["maxValidDays"] = self.max_valid_days
        if self.spec.valid_to is not None:
            body["validTo"] = _iso(self.spec.valid_to)
        if self.spec.deprecation_warning:
            body["deprecationWarning"] = self.spec.deprecation_warning
        return body


@dataclass(frozen=True)
class Fault:
    code: int
    detail_code: str | None
    detail_description: str | None


class FixtureError(ValueError):
    """The fixture contradicts the spec (an unknown dataset or value name, a wrong type...)."""


def _check_value(where: str, value_type: str, value: Any) -> None:
    ok = {
        "boolean": isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "amount": isinstance(value, int | float) and not isinstance(value, bool),
        "string": isinstance(value, str),
        "uri": isinstance(value, str),
        "attachment": isinstance(value, str),
        "jsonSchema": isinstance(value, dict | list),
    }.get(value_type)
    if value_type == "dateTime":
        try:
            ok = isinstance(value, str) and _parse_time(value) is not None
        except ValueError:
            ok = False
    if not ok:
        raise FixtureError(f"{where}: {value!r} is not a {value_type} value")


@dataclass
class Fixture:
    """kontrakt/sandbox/fixtures/dan.yaml, checked against the contract."""

    contexts: dict[str, tuple[str, ...]]  # name -> allowed languages
    keys: dict[str, str | None]  # subscription key -> service context
    offerings: dict[str, Offering]
    subjects: dict[str, dict[str, Any]]

    @classmethod
    def load(cls, contract: Contract, path: Path) -> Fixture:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        contexts = {
            str(name): tuple(entry.get("languages") or DEFAULT_LANGUAGES)
            for name, entry in data["service-contexts"].items()
        }
        keys: dict[str, str | None] = {}
        for entry in data["subscription-keys"]:
            context = entry.get("service-context")
            if context is not None and context not in contexts:
                raise FixtureError(f"key {entry['key']}: unknown service context {context}")
            keys[str(entry["key"])] = context
        settings = data.get("datasets") or {}
        unknown = sorted(set(settings) - set(contract.datasets))
        if unknown:
            raise FixtureError(f"datasets not in the spec's x-kontrakt-datasets: {unknown}")
        offerings = {}
        for name, spec in contract.datasets.items():
            entry = settings.get(name) or {}
            requirements = [
                Requirement(
                    str(r["type"]),
                    str(r.get("failure-action", "deny")),
                    tuple(r.get("subject-types", ())),
                    tuple(r.get("scopes", ())),
                )
                for r in entry.get("requirements", ())
            ]
            if spec.requires_consent:
                requirements.insert(0, CONSENT_REQUIREMENT)
            schema = entry.get("json-schema")
            offerings[name] = Offering(
                spec=spec,
                source=str(entry.get("source", "Sandbox")),
                service_contexts=tuple(entry.get("service-contexts") or contexts),
                is_public=bool(entry.get("is-public", False)),
                max_valid_days=entry.get("max-valid-days"),
                json_schema=json.dumps(schema, separators=(",", ":")) if schema else None,
                requirements=tuple(requirements),
            )
        subjects = {str(k): dict(v or {}) for k, v in data["subjects"].items()}
        for subject, entry in subjects.items():
            for dataset, values in (entry.get("datasets") or {}).items():
                if dataset not in contract.datasets:
                    raise FixtureError(f"{subject}: {dataset} is not a dataset of the spec")
                for value_name, value in values.items():
                    value_spec = contract.datasets[dataset].value(value_name)
                    if value_spec is None:
                        raise FixtureError(
                            f"{subject}.{dataset}: no value {value_name} in the spec"
                        )
                    _check_value(f"{subject}.{dataset}.{value_name}", value_spec.value_type, value)
            for point, fault in (entry.get("faults") or {}).items():
                if point not in FAULT_POINTS or int(fault["code"]) not in contract.errors:
                    raise FixtureError(f"{subject}: bad fault {point}: {fault}")
        return cls(contexts, keys, offerings, subjects)


class ConsentError(Exception):
    """A sandbox consent answer that cannot be applied (status for the sandbox route)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Caller:
    organisation: str
    scopes: frozenset[str]
    service_context: str


@dataclass
class DanProvider:
    """Implements generated.dan_v1.server.Handlers."""

    contract: Contract
    fixture: Fixture
    db: Database
    base_url: str
    consent_url: str  # where the sandbox's consent answers are posted (stands in for Altinn)
    min_valid_days: int = 2  # FACTS §2.1 step 8: AccreditationMinimumValidDays
    max_valid_days: int = 1825  # AccreditationMaximumValidDays
    default_valid_days: int = 90
    reminder_interval_days: int = 7  # FACTS §2.7
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))

    @classmethod
    def build(
        cls, contract: Contract, fixture_path: Path, database: str, **settings: Any
    ) -> DanProvider:
        fixture = Fixture.load(contract, fixture_path)
        db = Database(database, SCHEMA)
        with db.transaction() as tx:
            for subject, entry in fixture.subjects.items():
                if is_organisation_number(subject):
                    tx.execute(
                        "INSERT INTO ccr VALUES (?, ?, ?)",
                        (subject, str(entry.get("name", "")), int(bool(entry.get("deleted")))),
                    )
                for dataset, values in (entry.get("datasets") or {}).items():
                    tx.execute(
                        "INSERT INTO register_data VALUES (?, ?, ?)",
                        (subject, dataset, json.dumps(values)),
                    )
                for point, fault in (entry.get("faults") or {}).items():
                    tx.execute(
                        "INSERT INTO faults VALUES (?, ?, ?, ?, ?)",
                        (
                            subject,
                            point,
                            int(fault["code"]),
                            fault.get("detail-code"),
                            fault.get("detail-description"),
                        ),
                    )
        return cls(contract, fixture, db, **settings)

    # --- shared checks -----------------------------------------------------------------------

    def now(self) -> dt.datetime:
        return self.clock()

    def service_context_of(self, key: str | None) -> str | None:
        return self.fixture.keys.get(key) if key else None

    def subscription_keys(self) -> list[str]:
        return list(self.fixture.keys)

    def _problem(self, name: str, detail: str | None = None) -> rt.ApiProblem:
        return self.contract.problem(name, detail)

    def _caller(self, auth: rt.AuthContext) -> Caller:
        # FACTS §1 Scope: at least one scope starting with altinn:dataaltinnno or dan: (1019).
        scopes = auth.scopes
        if not any(s.startswith(SCOPE_PREFIXES) for s in scopes):
            raise rt.ApiProblem.from_trigger("forbidden", "missing required scope(s)")
        # FACTS §1 Token validation: no usable consumer claim ends as an unexpected error (1015).
        consumer = auth.claim("consumer.ID")
        scheme, _, organisation = (
            consumer.partition(":") if isinstance(consumer, str) else ("", "", "")
        )
        if scheme != "0192" or not is_organisation_number(organisation):
            raise self._problem("InternalServerErrorException", "no usable consumer claim")
        # FACTS §0: a request reaching Core without a service context answers 1025.
        context = current().service_context
        if context is None:
            raise self._problem(
                "ServiceContextException", "the subscription key's product has no service context"
            )
        return Caller(organisation, scopes, context)

    def _query(self, query: str | None) -> None:
        if query is not None:
            try:
                jmes.compile_query(query)
            except jmes.QueryError as exc:
                raise self._problem("InvalidJmesPathExpressionException", str(exc)) from None

    def _queried(self, value: T, query: str | None) -> T:
        """DAN-QUERY-JMESPATH on a JSON answer (accreditations, statuses, metadata)."""
        if query is None:
            return value
        data = _jsonable(value)
        # The runtime serialises whatever the handler returns; the query's result has no model.
        return cast(T, rt.Unchecked(self._apply(query, data)))

    def _apply(self, query: str, data: Any) -> Any:
        """`query` on `data`; an expression failing at run time (a function on the wrong type)
        answers 1027 like one that does not compile."""
        try:
            return jmes.apply(query, data)
        except jmes.QueryError as exc:
            raise self._problem("InvalidJmesPathExpressionException", str(exc)) from None

    def _offering(self, name: str) -> Offering | None:
        folded = name.casefold()
        return next(
            (o for o in self.fixture.offerings.values() if o.name.casefold() == folded), None
        )

    def _fault(self, party: Party, point: str) -> Fault | None:
        row = self.db.one(
            "SELECT code, detail_code, detail_description FROM faults WHERE subject = ? AND point = ?",
            (party.key, point),
        )
        if row is None:
            return None
        return Fault(int(row["code"]), row["detail_code"], row["detail_description"])

    def _raise_fault(self, fault: Fault) -> None:
        spec = self.contract.errors[fault.code]
        info = current()
        if fault.code in SOURCE_ERRORS:
            # DAN-ERR-DETAIL-CODE: only data-source errors carry detailCode/detailDescription.
            info.detail_code = fault.detail_code
            info.detail_description = fault.detail_description
            raise self._problem(spec.name, "the data source reported an error")
        raise self._problem(spec.name, fault.detail_description)

    def _check_ccr(self, party: Party, role: str) -> None:
        """FACTS §2.1 step 9: a Norwegian organisation must be in the CCR and not deleted."""
        if not party.organisation:
            return
        fault = self._fault(party, "ccr")
        if fault is not None:
            self._raise_fault(fault)
        row = self.db.one("SELECT deleted FROM ccr WHERE orgno = ?", (party.organisation,))
        if row is None:
            raise self._problem("InvalidSubjectException", f"the {role} is not in the CCR")
        if row["deleted"]:
            raise self._problem("InvalidSubjectException", f"the {role} is deleted in the CCR")

    def _requirements(
        self, offerings: Iterable[Offering], subject: Party, scopes: frozenset[str]
    ) -> tuple[list[Offering], dict[str, dict[str, Any]]]:
        """FACTS §2.1 step 11: deny fails the request (1019), skip drops the dataset."""
        kept: list[Offering] = []
        skipped: dict[str, dict[str, Any]] = {}
        for offering in offerings:
            dropped = False
            for requirement in offering.requirements:
                reason = requirement.failure(subject, scopes)
                if reason is None:
                    continue
                if requirement.failure_action == "skip":
                    skipped[offering.name] = requirement.wire()
                    dropped = True
                    break
                raise self._problem("AuthorizationFailedException", reason)
            if not dropped:
                kept.append(offering)
        return kept, skipped

    def _parameters_given(self, name: str, parameters: object) -> None:
        # FACTS §2.1 step 7: the sandbox's datasets define no parameters, so any given is 1017.
        if parameters:
            raise self._problem(
                "InvalidEvidenceRequestParameterException", f"{name} takes no parameters"
            )

    # --- dataset state (the consent lifecycle) -----------------------------------------------

    def _state(self, offering: Offering | None, row: Mapping[str, Any], now: dt.datetime) -> str:
        if offering is None or offering.spec.retired(now):
            return "Unavailable"  # FACTS §6 row 7: withdrawn from its source
        if offering.spec.requires_consent:
            state = str(row["consent_state"])
            if state == "Available" and _parse_time(str(row["valid_to"])) <= now:
                return "Expired"
            return state
        return "Available"

    def _accreditation_row(self, accreditation_id: str, caller: Caller) -> Mapping[str, Any] | None:
        # DAN-ACCR-OWNER-SCOPED: another organisation's id behaves as an unknown id.
        row = self.db.one(
            "SELECT * FROM accreditations WHERE id = ? AND owner = ?",
            (accreditation_id, caller.organisation),
        )
        return dict(row) if row is not None else None

    def _statuses(self, row: Mapping[str, Any], now: dt.datetime) -> list[tuple[str, str]]:
        document = json.loads(row["document"])
        return [
            (
                code["evidenceCodeName"],
                self._state(self._offering(code["evidenceCodeName"]), row, now),
            )
            for code in document["evidenceCodes"]
        ]

    def _accreditation(self, row: Mapping[str, Any], now: dt.datetime) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(row["document"])
        states = [state for _, state in self._statuses(row, now)]
        # DAN-STATUS-AGGREGATE: the first non-Available dataset status, otherwise Available.
        aggregate = next((s for s in states if s != "Available"), "Available")
        document["aggregateStatus"] = self.contract.status(aggregate)
        document["lastChanged"] = row["last_changed"]
        return document

    # --- accreditations ----------------------------------------------------------------------

    async def create_accreditation(
        self, *, query: str | None, body: AuthorizationRequest, auth: rt.AuthContext
    ) -> rt.Reply[Accreditation]:
        caller = self._caller(auth)
        self._query(query)
        now = self.now()
        # FACTS §2.1 validation order; the first failing step decides the code.
        requestor = parse_party(body.requestor)
        if requestor is None:
            raise self._problem("InvalidRequestorException", "requestor is not a valid identifier")
        subject = parse_party(body.subject)
        if subject is None:
            raise self._problem(
                "InvalidSubjectException",
                "subject is missing"
                if body.subject is None
                else "subject is not a valid identifier",
            )
        requests = body.evidence_requests
        legal_ids = {basis.id for basis in body.legal_basis_list or ()}
        for basis in body.legal_basis_list or ():
            if not basis.id.strip() or not basis.content.strip():
                raise self._problem(
                    "InvalidLegalBasisException", "a legal basis needs id, type and content"
                )
            if not any(r.legal_basis_id == basis.id for r in requests):
                raise self._problem(
                    "InvalidLegalBasisException", f"legal basis {basis.id} is not referenced"
                )
        for request in requests:
            if request.legal_basis_id is not None and request.legal_basis_id not in legal_ids:
                raise self._problem(
                    "ErrorInLegalBasisReferenceException",
                    f"{request.evidence_code_name} refers to an unknown legal basis",
                )
        if not requests:
            raise self._problem("InvalidEvidenceRequestException", "no evidence requests")
        names = [r.evidence_code_name.casefold() for r in requests]
        if len(set(names)) != len(names):
            raise self._problem("InvalidEvidenceRequestException", "a dataset is requested twice")
        offerings: list[Offering] = []
        for request in requests:
            offering = self._offering(request.evidence_code_name)
            if offering is None:
                raise self._problem("UnknownEvidenceCodeException", request.evidence_code_name)
            if not offering.in_context(caller.service_context):
                raise self._problem(
                    "InvalidEvidenceRequestException",
                    f"{offering.name} is not part of the service context {caller.service_context}",
                )
            offerings.append(offering)
        for request, offering in zip(requests, offerings, strict=True):
            self._parameters_given(offering.name, request.parameters)
        limits = [o.max_valid_days for o in offerings if o.max_valid_days is not None]
        if body.valid_to is None:
            valid_to = now + dt.timedelta(days=min(limits, default=self.default_valid_days))
        else:
            valid_to = body.valid_to.astimezone(dt.UTC)
            earliest = now + dt.timedelta(days=self.min_valid_days)
            latest = now + dt.timedelta(days=min([self.max_valid_days, *limits]))
            if not earliest <= valid_to <= latest:
                raise self._problem(
                    "InvalidValidToDateTimeException",
                    f"validTo must lie between {_iso(earliest)} and {_iso(latest)}",
                )
        self._check_ccr(subject, "subject")
        self._check_ccr(requestor, "requestor")
        language = (body.language_code or DEFAULT_LANGUAGE).lower()
        allowed = self.fixture.contexts[caller.service_context]
        if language not in allowed:
            raise self._problem(
                "InvalidAuthorizationRequestException",
                f"languageCode must be one of {', '.join(allowed)}",
            )
        kept, skipped = self._requirements(offerings, subject, caller.scopes)
        if not kept:
            raise self._problem("AuthorizationFailedException", "every dataset was skipped")
        by_name = {r.evidence_code_name.casefold(): r for r in requests}
        consent = [o for o in kept if o.spec.requires_consent]
        consent_requested = any(by_name[o.name.casefold()].request_consent for o in consent)
        accreditation_id = str(uuid.uuid4())
        if consent_requested:
            # FACTS §2.1 side effects: the consent request to Altinn (simulated) can fail (1022).
            fault = self._fault(subject, "consent")
            if fault is not None:
                self._raise_fault(fault)
        codes = []
        for offering in kept:
            definition = offering.definition(for_accreditation=True)
            parameters = by_name[offering.name.casefold()].parameters
            if parameters is not None:
                definition["parameters"] = [
                    p.model_dump(by_alias=True, exclude_none=True) for p in parameters
                ]
            codes.append(definition)
        document: dict[str, Any] = {
            "id": accreditation_id,
            "requestor": requestor.normalised,
            "subject": subject.normalised,
            "subjectParty": subject.wire(),
            "requestorParty": requestor.wire(),
            "isDirectHarvest": False,
            "evidenceCodes": codes,
            "skippedEvidenceCodes": skipped,
            "issued": _iso(now),
            "validTo": _iso(valid_to),
            "languageCode": language,
            "serviceContext": caller.service_context,
        }
        optional = {
            "consentReference": body.consent_reference,
            "externalReference": body.external_reference,
            "consentReceiptRedirectUrl": body.consent_receipt_redirect_url,
            "altinnConsentUrl": f"{self.consent_url}/{accreditation_id}"
            if consent_requested
            else None,
        }
        document.update({k: v for k, v in optional.items() if v is not None})
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO accreditations VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    accreditation_id,
                    caller.organisation,
                    caller.service_context,
                    requestor.normalised,
                    json.dumps(document),
                    _iso(valid_to),
                    _iso(now),
                    # A-DAN-009: consent datasets start PendingConsent.
                    "PendingConsent" if consent else None,
                ),
            )
            fault = self._fault(subject, "store")
            if fault is not None:
                self._raise_fault(fault)  # rolls the insert back
        # DAN-STATUS-AGGREGATE: code 0 with an empty description before it is computed.
        created = dict(document, aggregateStatus=self.contract.status(self.contract.initial_state))
        created["lastChanged"] = _iso(now)
        # FACTS §1: Location points to the new accreditation's status resource.
        location = f"{self.base_url}/evidence/{accreditation_id}"
        return rt.Reply(
            self._queried(Accreditation.model_validate(created), query),
            headers={"Location": location},
        )

    async def list_accreditations(
        self,
        *,
        requestor: str | None,
        changedafter: str | None,
        onlyavailable: str | None,
        query: str | None,
        auth: rt.AuthContext,
    ) -> list[Accreditation]:
        caller = self._caller(auth)
        self._query(query)
        now = self.now()
        rows = self.db.query(
            "SELECT * FROM accreditations WHERE owner = ? AND service_context = ? ORDER BY rowid",
            (caller.organisation, caller.service_context),
        )
        after: dt.datetime | None = None
        if changedafter:
            try:
                after = _parse_time(changedafter.strip().replace(" ", "+"))
            except ValueError:
                after = None  # an unreadable date filters nothing (assumption for the lead)
        result = []
        for row in rows:
            if requestor is not None and row["requestor"] != requestor:
                continue
            if after is not None and _parse_time(row["last_changed"]) <= after:
                continue
            document = self._accreditation(dict(row), now)
            if _flag(onlyavailable) and document["aggregateStatus"]["code"] != 1:
                continue
            result.append(Accreditation.model_validate(document))
        return self._queried(result, query)

    async def delete_accreditation(self, *, accreditation_id: str, auth: rt.AuthContext) -> None:
        caller = self._caller(auth)
        with self.db.transaction() as tx:
            deleted = tx.execute(
                "DELETE FROM accreditations WHERE id = ? AND owner = ?",
                (accreditation_id, caller.organisation),
            ).rowcount
        if not deleted:
            current().empty_error_body = True  # DAN-DELETE-404-EMPTY
            raise rt.ApiProblem.from_trigger("not-found", f"no accreditation {accreditation_id}")

    # --- status and harvest ------------------------------------------------------------------

    def _own(self, accreditation_id: str, caller: Caller) -> Mapping[str, Any]:
        row = self._accreditation_row(accreditation_id, caller)
        if row is None:
            raise rt.ApiProblem.from_trigger(
                "not-found", f"no accreditation {accreditation_id}", parameter="accreditationId"
            )
        return row

    async def get_evidence_status(
        self, *, accreditation_id: str, query: str | None, auth: rt.AuthContext
    ) -> list[EvidenceStatus]:
        caller = self._caller(auth)
        self._query(query)
        row = self._own(accreditation_id, caller)
        now = self.now()
        statuses = [
            EvidenceStatus.model_validate(
                {
                    "evidenceCodeName": name,
                    "status": self.contract.status(state),
                    "validFrom": json.loads(row["document"])["issued"],
                    "validTo": row["valid_to"],
                }
            )
            for name, state in self._statuses(row, now)
        ]
        return self._queried(statuses, query)

    async def get_evidence_status_by_post(
        self, *, accreditation_id: str, query: str | None, auth: rt.AuthContext
    ) -> list[EvidenceStatus]:
        # A-DAN-011: the POST variant answers exactly what GET answers.
        return await self.get_evidence_status(
            accreditation_id=accreditation_id, query=query, auth=auth
        )

    def _dataset(
        self,
        offering: Offering,
        subject: Party,
        status: dict[str, Any],
        envelope: str | None,
        query: str | None,
    ) -> DatasetBody:
        """Fetch from the (simulated) source and shape it (FACTS §4)."""
        fault = self._fault(subject, "harvest")
        if fault is not None:
            self._raise_fault(fault)
        row = self.db.one(
            "SELECT document FROM register_data WHERE subject = ? AND dataset = ?",
            (subject.key, offering.name),
        )
        if row is None:
            info = current()
            info.detail_code = f"{offering.source}-404"
            info.detail_description = f"{offering.source} has no {offering.name} for the subject"
            raise self._problem("EvidenceSourcePermanentClientException", "no data for the subject")
        stored: dict[str, Any] = json.loads(row["document"])
        now = _iso(self.now())
        values: list[dict[str, Any]] = offering.definition()["values"]
        for spec, item in zip(offering.spec.values, values, strict=True):
            if spec.name in stored:
                raw = stored[spec.name]
                # jsonSchema values travel as JSON text inside the envelope (FACTS §3.6).
                item["value"] = (
                    json.dumps(raw, separators=(",", ":"))
                    if spec.value_type == "jsonSchema"
                    else raw
                )
                item["timestamp"] = now
        current().sign = True  # DAN-HARVEST-SIGNATURE
        if _flag(envelope) or envelope is None:
            evidence = {"evidenceStatus": status, "evidenceValues": values}
            return DatasetBody(Evidence.model_validate(evidence))
        # DAN-HARVEST-ENVELOPE-FALSE
        if len(offering.spec.values) == 1:
            only = offering.spec.values[0]
            raw_value: Any = stored.get(only.name)
        else:
            raw_value = {v.name: stored[v.name] for v in offering.spec.values if v.name in stored}
        if query is not None:
            raw_value = self._apply(query, raw_value)
        return DatasetBody(UnenvelopedEvidence(raw_value))

    async def harvest_evidence(
        self,
        *,
        accreditation_id: str,
        evidence_code_name: str,
        envelope: str | None,
        query: str | None,
        reuse_token: str | None,
        token_on_behalf_of_owner: str | None,
        x_forward_access_token: str | None,
        auth: rt.AuthContext,
    ) -> DatasetBody:
        caller = self._caller(auth)
        row = self._own(accreditation_id, caller)
        document = json.loads(row["document"])
        # FACTS §2.3: the dataset name is matched case-insensitively against the accreditation.
        folded = evidence_code_name.casefold()
        listed = next(
            (c for c in document["evidenceCodes"] if c["evidenceCodeName"].casefold() == folded),
            None,
        )
        if listed is None:
            raise rt.ApiProblem.from_trigger(
                "invalid-parameter",
                f"{evidence_code_name} is not part of the accreditation",
                parameter="evidenceCodeName",
            )
        if not _flag(envelope) and envelope is not None:
            self._query(query)  # the query applies to unenveloped answers only (FACTS §4)
        offering = self._offering(listed["evidenceCodeName"])
        now = self.now()
        state = self._state(offering, row, now)
        if offering is None or state == "Unavailable":
            raise self._problem("ServiceNotAvailableException", "the dataset has been withdrawn")
        if state != "Available":
            # DAN-HARVEST-CONSENT-1010: the message says which consent state stops the harvest.
            reason = {
                "PendingConsent": "consent is pending",
                "Denied": "consent was denied or withdrawn",
                "Expired": "consent has expired",
            }
            raise rt.ApiProblem.from_trigger("invalid-state", reason.get(state, state))
        subject = _party_of(document)
        # DAN-HARVEST-REVALIDATE: the requirements are checked again on every harvest.
        self._requirements([offering], subject, caller.scopes)
        status = {
            "evidenceCodeName": offering.name,
            "status": self.contract.status(state),
            "validFrom": document["issued"],
            "validTo": row["valid_to"],
        }
        return self._dataset(offering, subject, status, envelope, query)

    async def _direct(
        self,
        *,
        evidence_code_name: str,
        subject: str | None,
        requestor: str | None,
        envelope: str | None,
        query: str | None,
        dataset_parameters: Mapping[str, str] | None,
        auth: rt.AuthContext,
    ) -> DatasetBody:
        caller = self._caller(auth)
        if not _flag(envelope) and envelope is not None:
            self._query(query)
        now = self.now()
        # DAN-DIRECT-REQUESTOR-DEFAULT: without requestor the authenticated organisation asks.
        requesting = (
            parse_party(requestor) if requestor is not None else _organisation(caller.organisation)
        )
        if requesting is None:
            raise self._problem("InvalidRequestorException", "requestor is not a valid identifier")
        about = parse_party(subject)
        if about is None:
            raise self._problem(
                "InvalidSubjectException",
                "subject is missing" if subject is None else "subject is not a valid identifier",
            )
        offering = self._offering(evidence_code_name)
        if offering is None:
            raise self._problem("UnknownEvidenceCodeException", evidence_code_name)
        if not offering.in_context(caller.service_context):
            raise self._problem(
                "InvalidEvidenceRequestException",
                f"{offering.name} is not part of the service context {caller.service_context}",
            )
        if offering.spec.requires_consent:
            # DAN-DIRECT-SYNC-NO-CONSENT
            raise self._problem(
                "InvalidEvidenceRequestException",
                "Unable to directly harvest async or consent-based evidence code",
            )
        # DAN-DIRECT-QUERY-AS-PARAMETERS: every other query parameter is a dataset parameter.
        extra = {
            k: v
            for k, v in (dataset_parameters or {}).items()
            if k.casefold() not in RESERVED_QUERY
        }
        self._parameters_given(offering.name, extra)
        self._check_ccr(about, "subject")
        self._check_ccr(requesting, "requestor")
        self._requirements([offering], about, caller.scopes)
        if offering.spec.retired(now):
            raise self._problem("ServiceNotAvailableException", "the dataset has been withdrawn")
        status = {
            "evidenceCodeName": offering.name,
            "status": self.contract.status("Available"),
            "validFrom": _iso(now),
            "validTo": _iso(now + dt.timedelta(days=self.default_valid_days)),
        }
        # DAN-DIRECT-NO-ACCREDITATION: nothing is stored.
        return self._dataset(offering, about, status, envelope, query)

    async def direct_harvest(
        self,
        *,
        evidence_code_name: str,
        subject: str | None,
        requestor: str | None,
        envelope: str | None,
        query: str | None,
        reuse_token: str | None,
        token_on_behalf_of_owner: str | None,
        dataset_parameters: dict[str, str] | None,
        x_forward_access_token: str | None,
        auth: rt.AuthContext,
    ) -> DatasetBody:
        return await self._direct(
            evidence_code_name=evidence_code_name,
            subject=subject,
            requestor=requestor,
            envelope=envelope,
            query=query,
            dataset_parameters=dataset_parameters,
            auth=auth,
        )

    async def direct_harvest_by_post(
        self,
        *,
        evidence_code_name: str,
        subject: str | None,
        requestor: str | None,
        envelope: str | None,
        query: str | None,
        reuse_token: str | None,
        token_on_behalf_of_owner: str | None,
        dataset_parameters: dict[str, str] | None,
        x_forward_access_token: str | None,
        body: DirectHarvestBody | None,
        auth: rt.AuthContext,
    ) -> DatasetBody:
        # DAN-DIRECT-SUBJECT-IN-BODY: the query parameter wins when both are given.
        chosen = subject if subject is not None else (body.subject if body else None)
        return await self._direct(
            evidence_code_name=evidence_code_name,
            subject=chosen,
            requestor=requestor,
            envelope=envelope,
            query=query,
            dataset_parameters=dataset_parameters,
            auth=auth,
        )

    # --- consent reminders -------------------------------------------------------------------

    def _reminder_row(self, accreditation_id: str, caller: Caller) -> Mapping[str, Any]:
        row = self._accreditation_row(accreditation_id, caller)
        if row is None:
            current().empty_error_body = True  # DAN-REMINDER-UNKNOWN-403 (A-DAN-004)
            raise rt.ApiProblem.from_trigger("not-found", f"no accreditation {accreditation_id}")
        return row

    def _reminders(
        self, accreditation_id: str, since: dt.datetime | None = None
    ) -> list[NotificationReminder]:
        rows = self.db.query(
            "SELECT * FROM reminders WHERE accreditation_id = ? ORDER BY rowid", (accreditation_id,)
        )
        return [
            NotificationReminder.model_validate(
                {
                    "notificationType": r["notification_type"],
                    "success": bool(r["success"]),
                    "description": r["description"],
                    "recipientCount": r["recipient_count"],
                    "date": r["date"],
                }
            )
            for r in rows
            if since is None or _parse_time(r["date"]) >= since
        ]

    async def list_consent_reminders(
        self, *, accreditation_id: str, query: str | None, auth: rt.AuthContext
    ) -> list[NotificationReminder]:
        caller = self._caller(auth)
        self._query(query)
        self._reminder_row(accreditation_id, caller)
        return self._queried(self._reminders(accreditation_id), query)

    async def send_consent_reminder(
        self, *, accreditation_id: str, query: str | None, auth: rt.AuthContext
    ) -> list[NotificationReminder]:
        caller = self._caller(auth)
        self._query(query)
        row = self._reminder_row(accreditation_id, caller)
        now = self.now()
        document = json.loads(row["document"])
        # DAN-REMINDER-PRECONDITIONS, in FACTS §2.7's order.
        if row["consent_state"] is None:
            raise self._problem(
                "RequiresConsentException", "the accreditation has no dataset that needs consent"
            )
        state = str(row["consent_state"])
        if state in ("Available", "Denied"):
            raise self._problem(
                "ConsentAlreadyHandledException", "the consent request was answered"
            )
        if state == "Expired" or _parse_time(row["valid_to"]) <= now:
            raise self._problem("ExpiredConsentException", "the consent request has expired")
        if document["subject"] is None:
            raise self._problem("InvalidSubjectException", "a foreign subject cannot be notified")
        last = self.db.one(
            "SELECT date FROM reminders WHERE accreditation_id = ? AND success = 1 ORDER BY date DESC",
            (accreditation_id,),
        )
        if last is not None and _parse_time(last["date"]) > now - dt.timedelta(
            days=self.reminder_interval_days
        ):
            # DAN-REMINDER-RATE-LIMIT
            raise rt.ApiProblem.from_trigger(
                "rate-limited",
                f"a reminder was sent within the last {self.reminder_interval_days} days",
            )
        fault = self._fault(_party_of(document), "reminder")
        if fault is not None:
            self._raise_fault(fault)
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO reminders VALUES (?, ?, ?, ?, ?, ?)",
                (
                    accreditation_id,
                    _iso(now),
                    "email",
                    1,
                    "Reminder sent to the subject's notification address",
                    1,
                ),
            )
            _touch(tx, accreditation_id, now)
        return self._queried(self._reminders(accreditation_id, since=now), query)

    # --- metadata (key only) -----------------------------------------------------------------

    async def list_evidence_codes(
        self, *, query: str | None, auth: rt.AuthContext
    ) -> list[EvidenceCode]:
        self._query(query)
        current().cors = True
        codes = [
            EvidenceCode.model_validate(o.definition()) for o in self.fixture.offerings.values()
        ]
        return self._queried(codes, query)

    async def list_evidence_codes_for_service_context(
        self, *, service_context: str, query: str | None, auth: rt.AuthContext
    ) -> list[EvidenceCode]:
        self._query(query)
        current().cors = True
        codes = [
            EvidenceCode.model_validate(o.definition())
            for o in self.fixture.offerings.values()
            if o.in_context(service_context)
        ]
        return self._queried(codes, query)

    async def list_service_contexts(self, *, query: str | None, auth: rt.AuthContext) -> list[str]:
        self._query(query)
        current().cors = True
        return self._queried(list(self.fixture.contexts), query)

    async def list_status_codes(
        self, *, query: str | None, auth: rt.AuthContext
    ) -> list[EvidenceStatusCode]:
        self._query(query)
        current().cors = True
        codes = [EvidenceStatusCode.model_validate(s) for s in self.contract.status_list()]
        return self._queried(codes, query)

    async def list_error_codes(
        self, *, query: str | None, auth: rt.AuthContext
    ) -> list[ErrorCodeEntry]:
        self._query(query)
        codes = [ErrorCodeEntry.model_validate(e) for e in self.contract.error_list()]
        return self._queried(codes, query)

    # --- the sandbox-only consent answer (stands in for the subject answering in Altinn) -------

    def answer_consent(self, accreditation_id: str, answer: str) -> dict[str, Any]:
        """Move the accreditation's consent datasets to the state `answer` names.

        grant -> Available, deny -> Denied, expire -> Expired, allowed only along the spec's
        consent lifecycle transitions (PendingConsent -> Available/Denied/Expired, Available ->
        Denied (withdrawn) or Expired). Raises ConsentError (404 unknown id, 400 bad answer, 409
        no consent datasets or a transition the lifecycle does not allow).
        """
        target = ANSWERS.get(answer)
        if target is None:
            raise ConsentError(400, f"answer must be one of {', '.join(ANSWERS)}")
        now = self.now()
        with self.db.transaction() as tx:
            row = tx.one(
                "SELECT consent_state FROM accreditations WHERE id = ?", (accreditation_id,)
            )
            if row is None:
                raise ConsentError(404, f"no accreditation {accreditation_id}")
            state = row["consent_state"]
            if state is None:
                raise ConsentError(409, "the accreditation has no dataset that needs consent")
            if not self.contract.may_move(str(state), target):
                raise ConsentError(
                    409, f"the consent lifecycle does not move from {state} to {target}"
                )
            tx.execute(
                "UPDATE accreditations SET consent_state = ? WHERE id = ?",
                (target, accreditation_id),
            )
            _touch(tx, accreditation_id, now)
        return {
            "id": accreditation_id,
            "consentState": target,
            "code": self.contract.states[target].code,
        }


def _party_of(document: Mapping[str, Any]) -> Party:
    """The stored subject of an accreditation as a Party (foreign parties have no number)."""
    wire = document["subjectParty"]
    return Party(
        wire["scheme"],
        wire["id"],
        organisation=wire.get("norwegianOrganizationNumber"),
        person=wire.get("norwegianSocialSecurityNumber"),
    )


def _touch(tx: Transaction, accreditation_id: str, now: dt.datetime) -> None:
    tx.execute(
        "UPDATE accreditations SET last_changed = ? WHERE id = ?", (_iso(now), accreditation_id)
    )


def _jsonable(value: Any) -> Any:
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(value, by_alias=True, exclude_none=True)
