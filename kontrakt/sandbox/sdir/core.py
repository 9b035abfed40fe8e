"""What Sdir's v1 and v2 share: fixtures, the SQLite store, the checks and the atomic batch engine.

Both URL versions judge a report the same way once its body has been read into a `Report`; only
the member paths named in `errors[].field` differ (`competenceCode` in v1,
`competence.competenceCode` in v2). Checks run in the order the specs fix (SDIR-ERROR-PRECEDENCE):
the generated layer does key, token, scope, media type, JSON syntax and schema; here follow batch
size, identifiers and code list and period (400), organisation and ship owner (403), existence
(404) and duplicates (409). Every check of one level runs over all items before the next level, so
a batch with one invalid item and one unknown uid answers 400; a failing item is named by its
0-based `errors[].index` (SDIR-BATCH-ERROR-INDEX).

A batch is written in one SQLite transaction (`Database.transaction()`): items are inserted in
request order and the first duplicate raises, which rolls back every row the batch already wrote.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from kontrakt.resources import bundled_spec
from kontrakt.runtime import server as rt
from kontrakt.sandbox.identifiers import (
    is_national_id,
    is_organisation_number,
    is_synthetic_national_id,
)
from kontrakt.sandbox.store import Database, Transaction

__all__ = [
    "FIXTURE",
    "OSLO",
    "WRITE_CODES",
    "ErrorCodes",
    "Fields",
    "Fixture",
    "Found",
    "Report",
    "Service",
    "SpecLimits",
    "is_imo_number",
    "open_database",
    "parse_created",
    "write_uses",
]

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "sdir.yaml"
OSLO = ZoneInfo("Europe/Oslo")  # FACTS §10: date-times with offset; Sdir is a Norwegian service

SCHEMA = """
CREATE TABLE competence_code (
    code TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    position INTEGER NOT NULL
);
CREATE TABLE vessel (
    imo TEXT UNIQUE,
    call_sign TEXT UNIQUE,
    name TEXT NOT NULL,
    owner TEXT NOT NULL
);
CREATE TABLE report (
    uid TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    organisation TEXT NOT NULL,
    personal_identity_number TEXT NOT NULL,
    first_name TEXT,
    middle_name TEXT,
    last_name TEXT,
    vessel_imo TEXT,
    vessel_call_sign TEXT,
    vessel_key TEXT NOT NULL,
    competence_code TEXT NOT NULL,
    period_start TEXT NOT NULL,
    period_stop TEXT,
    completion_date TEXT,
    created_at TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    created_day TEXT NOT NULL
);
-- A-SDIR-012: seafarer, competence code, vessel (IMO number, else call sign) and period start.
CREATE UNIQUE INDEX report_identity
    ON report (version, personal_identity_number, competence_code, vessel_key, period_start);
CREATE INDEX report_listing ON report (version, organisation, created_us, uid);
"""


def is_imo_number(value: str) -> bool:
    """Seven digits, the last the IMO check digit (weights 7 to 2, sum mod 10): SDIR-VALIDATION-CHECK-DIGITS."""
    if len(value) != 7 or not value.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(value[:6], (7, 6, 5, 4, 3, 2), strict=True))
    return total % 10 == int(value[6])


# --- the fixture ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fixture:
    """kontrakt/sandbox/fixtures/sdir.yaml, as read."""

    active_keys: tuple[str, ...]
    revoked_keys: tuple[str, ...]
    codes: tuple[tuple[str, str], ...]
    vessels: tuple[Mapping[str, Any], ...]
    reports: Mapping[str, tuple[Mapping[str, Any], ...]]

    @classmethod
    def load(cls, path: Path = FIXTURE) -> Fixture:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        keys = data["subscription_keys"]
        return cls(
            active_keys=tuple(k["key"] for k in keys if k["status"] == "active"),
            revoked_keys=tuple(k["key"] for k in keys if k["status"] != "active"),
            codes=tuple((c["code"], c["description"]) for c in data["competence_codes"]),
            vessels=tuple(data["vessels"]),
            reports={v: tuple(items or ()) for v, items in (data.get("reports") or {}).items()},
        )


# --- reports -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """One report in version-neutral form (v2's seafarer names are None for v1)."""

    personal_identity_number: str
    organisation: str
    imo: str | None
    call_sign: str | None
    code: str
    start: date
    stop: date | None = None
    completion: date | None = None
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    uid: uuid.UUID | None = None  # as the body carries it (refused on create, A-SDIR-011)

    @property
    def vessel_key(self) -> str:
        # A-SDIR-012: the vessel is its IMO number, else its call sign.
        return f"imo:{self.imo}" if self.imo else f"cs:{self.call_sign}"


@dataclass(frozen=True)
class Fields:
    """Where each member sits in a version's body (the dotted paths of `errors[].field`)."""

    uid: str
    personal_identity_number: str
    organisation: str
    imo: str
    call_sign: str
    code: str
    start: str
    stop: str
    completion: str


@dataclass(frozen=True)
class SpecLimits:
    """What the spec fixes for the batch operations and list parameters (read, never retyped)."""

    batches: Mapping[str, tuple[int, int]]  # operationId -> (max-items, too-large-status)
    parameters: Mapping[tuple[str, str], Mapping[str, Any]]  # (operationId, name) -> schema

    @classmethod
    @cache
    def read(cls, spec: str) -> SpecLimits:
        document = yaml.safe_load(bundled_spec(spec).read_text(encoding="utf-8"))
        batches: dict[str, tuple[int, int]] = {}
        parameters: dict[tuple[str, str], Mapping[str, Any]] = {}
        for item in document["paths"].values():
            for operation in item.values():
                if not isinstance(operation, dict) or "operationId" not in operation:
                    continue
                op = operation["operationId"]
                batch = operation.get("x-kontrakt-batch")
                if batch:
                    batches[op] = (int(batch["max-items"]), int(batch["too-large-status"]))
                for parameter in operation.get("parameters", ()):
                    if "$ref" not in parameter:
                        parameters[(op, parameter["name"])] = parameter.get("schema", {})
        return cls(batches, parameters)

    def parameter(self, operation: str, name: str) -> Mapping[str, Any]:
        return self.parameters[(operation, name)]


# --- errors --------------------------------------------------------------------------------------


class ErrorCodes:
    """Status and code of a (trigger, code) pair as the operation's x-kontrakt-errors declare it.

    Where one trigger carries several codes (business-rule: UNKNOWN_COMPETENCE_CODE, INVALID_PERIOD,
    NOT_SHIP_OWNER; forbidden: INSUFFICIENT_SCOPE, ORGANIZATION_MISMATCH), `from_trigger` cannot
    choose, so the code is named and checked against the document here; its status always comes
    from the document. Every pair a provider uses is checked when the provider is built.
    """

    def __init__(self, tables: Mapping[str, Mapping[str, Sequence[rt.ErrorUseData]]]) -> None:
        self._tables = {op: rt.ErrorTable(table) for op, table in tables.items()}

    def status(self, operation: str, trigger: str, code: str) -> int:
        for use in self._tables[operation].uses(trigger):
            if use.code == code:
                return use.status
        raise LookupError(f"{operation} declares no {trigger} error with code {code}")

    def require(self, pairs: Iterable[tuple[str, str, str]]) -> None:
        for operation, trigger, code in pairs:
            self.status(operation, trigger, code)


# The (trigger, code) pairs `Service.check` can raise on every write.
WRITE_CODES = (
    ("invalid-body", "VALIDATION_FAILED"),
    ("business-rule", "UNKNOWN_COMPETENCE_CODE"),
    ("business-rule", "INVALID_PERIOD"),
    ("business-rule", "NOT_SHIP_OWNER"),
    ("forbidden", "ORGANIZATION_MISMATCH"),
)


def write_uses(operations: Iterable[str]) -> list[tuple[str, str, str]]:
    """Every (operation, trigger, code) of `WRITE_CODES` for each of the write operations."""
    return [(op, trigger, code) for op in operations for trigger, code in WRITE_CODES]


@dataclass
class Found:
    """The failures of one check level, in item order."""

    operation: str
    codes: ErrorCodes
    items: list[tuple[int, rt.ErrorItem]] = field(default_factory=list)

    def add(
        self,
        trigger: str,
        code: str,
        message: str,
        *,
        field: str | None = None,
        index: int | None = None,
    ) -> None:
        status = self.codes.status(self.operation, trigger, code)
        self.items.append((status, rt.ErrorItem(code, message, field=field, index=index)))

    def invalid_body(self, message: str, *, field: str, index: int | None) -> None:
        """An `invalid-body` VALIDATION_FAILED failure."""
        self.add("invalid-body", "VALIDATION_FAILED", message, field=field, index=index)

    def raise_any(self, summary: str) -> None:
        if not self.items:
            return
        status = self.items[0][0]
        assert all(s == status for s, _ in self.items), "one check level, one status"
        items = [item for _, item in self.items]
        raise rt.ApiProblem(status, items[0].code, summary, items=items)


class _Rollback(Exception):
    """Raised inside a transaction to undo it on purpose (prevalidate stores nothing)."""


# --- the service ---------------------------------------------------------------------------------


def _oslo_now() -> datetime:
    return datetime.now(OSLO).replace(microsecond=0)


class Service:
    """Reports of one URL version: checks, atomic writes and reads over the shared database."""

    def __init__(
        self,
        database: Database,
        version: int,
        fields: Fields,
        codes: ErrorCodes,
        limits: SpecLimits,
        *,
        synthetic_only: bool = True,
    ) -> None:
        self.db = database
        self.version = version
        self.fields = fields
        self.codes = codes
        self.limits = limits
        self.synthetic_only = synthetic_only

    # -- reference data ----------------------------------------------------------------------
    def competence_codes(self) -> list[dict[str, str]]:
        rows = self.db.query("SELECT code, description FROM competence_code ORDER BY position")
        return [{"code": r["code"], "description": r["description"]} for r in rows]

    @staticmethod
    def organisation(auth: rt.AuthContext) -> str | None:
        """The calling organisation: the token's consumer (the customer for delegated tokens)."""
        consumer = auth.claim("consumer.ID")
        if isinstance(consumer, str) and consumer.startswith("0192:"):
            return consumer.removeprefix("0192:")
        return None

    # -- checks ------------------------------------------------------------------------------
    def check(
        self,
        operation: str,
        items: Sequence[Report],
        auth: rt.AuthContext,
        *,
        creating: bool,
        batch: bool,
        extra: Found | None = None,
    ) -> str:
        """The 400 and 403 levels over every item; the calling organisation when all pass."""
        f = self.fields
        invalid = extra or Found(operation, self.codes)
        known = {r["code"] for r in self.db.query("SELECT code FROM competence_code")}
        for i, item in enumerate(items):
            at = i if batch else None
            if creating and item.uid is not None:
                invalid.invalid_body(
                    "uid is assigned by the service; a new report must not carry one.",
                    field=f.uid,
                    index=at,
                )
            if not is_national_id(item.personal_identity_number):
                invalid.invalid_body(
                    "The fødselsnummer/D-number has wrong check digits.",
                    field=f.personal_identity_number,
                    index=at,
                )
            elif self.synthetic_only and not is_synthetic_national_id(
                item.personal_identity_number
            ):
                # Sandbox policy: no real person's number is ever stored here (synthetic_only).
                invalid.invalid_body(
                    "The sandbox accepts only synthetic identity numbers (Tenor form, month + 80).",
                    field=f.personal_identity_number,
                    index=at,
                )
            if not is_organisation_number(item.organisation):
                invalid.invalid_body(
                    "The organisation number has a wrong check digit.",
                    field=f.organisation,
                    index=at,
                )
            if item.imo is not None and not is_imo_number(item.imo):
                invalid.invalid_body(
                    "The IMO number has a wrong check digit.", field=f.imo, index=at
                )
            if item.code not in known:
                invalid.add(
                    "business-rule",
                    "UNKNOWN_COMPETENCE_CODE",
                    f"{item.code} is not a current competence code.",
                    field=f.code,
                    index=at,
                )
            if item.stop is not None and item.stop < item.start:
                invalid.add(
                    "business-rule",
                    "INVALID_PERIOD",
                    "periodStopDate lies before periodStartDate.",
                    field=f.stop,
                    index=at,
                )
            if item.completion is not None and item.completion < item.start:
                invalid.add(
                    "business-rule",
                    "INVALID_PERIOD",
                    "completionDate lies before periodStartDate.",
                    field=f.completion,
                    index=at,
                )
        invalid.raise_any(self._summary(batch, "is invalid"))

        organisation = self.organisation(auth)
        forbidden = Found(operation, self.codes)
        for i, item in enumerate(items):
            at = i if batch else None
            if item.organisation != organisation:
                # SDIR-AUTH-ORG-MATCH: the reporting organisation is the token's consumer.
                forbidden.add(
                    "forbidden",
                    "ORGANIZATION_MISMATCH",
                    f"Organisation {item.organisation} is not the organisation of the token.",
                    field=f.organisation,
                    index=at,
                )
                continue
            owner, where = self._owner(item)
            if owner != item.organisation:
                # SDIR-AUTH-SHIP-OWNER; a vessel missing from the register has no owner to match.
                vessel = f"IMO {item.imo}" if where == f.imo else f"call sign {item.call_sign}"
                forbidden.add(
                    "business-rule",
                    "NOT_SHIP_OWNER",
                    f"Organisation {item.organisation} is not the ship owner of vessel {vessel}.",
                    field=where,
                    index=at,
                )
        forbidden.raise_any(self._summary(batch, "may not be reported by this organisation"))
        assert organisation is not None
        return organisation

    def _owner(self, item: Report) -> tuple[str | None, str]:
        if item.imo is not None:
            row = self.db.one("SELECT owner FROM vessel WHERE imo = ?", (item.imo,))
            return (row["owner"] if row else None), self.fields.imo
        row = self.db.one("SELECT owner FROM vessel WHERE call_sign = ?", (item.call_sign,))
        return (row["owner"] if row else None), self.fields.call_sign

    @staticmethod
    def _summary(batch: bool, what: str) -> str:
        if batch:
            return f"An item {what}; no item of the batch was stored or changed."
        return f"The report {what}; nothing was stored or changed."

    # -- writes ------------------------------------------------------------------------------
    def create(
        self,
        operation: str,
        items: Sequence[Report],
        auth: rt.AuthContext,
        *,
        batch: bool,
        store: bool = True,
    ) -> list[sqlite3.Row]:
        """Check and insert every item in one transaction; the stored rows in request order."""
        self._size(operation, len(items), batch)
        organisation = self.check(operation, items, auth, creating=True, batch=batch)
        now = _oslo_now()
        uids = [str(uuid.uuid4()) for _ in items]
        rows: list[sqlite3.Row] = []
        try:
            with self.db.transaction() as tx:
                for i, (uid, item) in enumerate(zip(uids, items, strict=True)):
                    try:
                        self._insert(tx, uid, item, organisation, now)
                    except sqlite3.IntegrityError:
                        # Rolls back items 0..i-1 too (SDIR-BATCH-ATOMIC).
                        raise self._duplicate(i if batch else None, batch) from None
                rows = self._rows(tx, uids)
                if not store:
                    raise _Rollback
        except _Rollback:
            pass
        return rows

    def update(
        self,
        operation: str,
        items: Sequence[tuple[uuid.UUID, Report]],
        auth: rt.AuthContext,
        *,
        batch: bool,
        extra: Found | None = None,
    ) -> list[sqlite3.Row]:
        """Replace every named report in one transaction (A-SDIR-020: full replacement)."""
        self._size(operation, len(items), batch)
        organisation = self.check(
            operation, [r for _, r in items], auth, creating=False, batch=batch, extra=extra
        )
        uids = [str(uid) for uid, _ in items]
        with self.db.transaction() as tx:
            missing = Found(operation, self.codes)
            for i, uid in enumerate(uids):
                if self._own(tx, uid, organisation) is None:
                    missing.add(
                        "not-found",
                        "NOT_FOUND",
                        f"No report with uid {uid}.",
                        field=self.fields.uid,
                        index=i if batch else None,
                    )
            missing.raise_any(self._summary(batch, "names an unknown report"))
            for i, (uid, (_, item)) in enumerate(zip(uids, items, strict=True)):
                try:
                    self._replace(tx, uid, item)
                except sqlite3.IntegrityError:
                    raise self._duplicate(i if batch else None, batch) from None
            return self._rows(tx, uids)

    def _size(self, operation: str, count: int, batch: bool) -> None:
        # The generated route's rt.BatchLimit (x-kontrakt-batch max-items) stops a long batch
        # before its body is validated; this keeps the limit binding for any other caller.
        if batch and operation in self.limits.batches:
            most, _ = self.limits.batches[operation]
            if count > most:
                raise rt.ApiProblem.from_trigger(
                    "payload-too-large",
                    f"A batch may hold at most {most} items; this holds {count}.",
                )

    def _duplicate(self, index: int | None, batch: bool) -> rt.ApiProblem:
        where = f"Item {index}" if index is not None else "The report"
        rest = "no item of the batch was stored or changed" if batch else "nothing was stored"
        return rt.ApiProblem.from_trigger(
            "conflict",
            f"{where} repeats a stored report (seafarer, code, vessel, period start); {rest}.",
            index=index,
        )

    def _insert(
        self, tx: Transaction, uid: str, item: Report, organisation: str, now: datetime
    ) -> None:
        tx.execute(
            "INSERT INTO report (uid, version, organisation, personal_identity_number,"
            " first_name, middle_name, last_name, vessel_imo, vessel_call_sign, vessel_key,"
            " competence_code, period_start, period_stop, completion_date, created_at,"
            " created_us, created_day) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                uid,
                self.version,
                organisation,
                *self._columns(item),
                now.isoformat(),
                int(now.timestamp() * 1_000_000),
                now.astimezone(OSLO).date().isoformat(),
            ),
        )

    def _replace(self, tx: Transaction, uid: str, item: Report) -> None:
        tx.execute(
            "UPDATE report SET personal_identity_number = ?, first_name = ?, middle_name = ?,"
            " last_name = ?, vessel_imo = ?, vessel_call_sign = ?, vessel_key = ?,"
            " competence_code = ?, period_start = ?, period_stop = ?, completion_date = ?"
            " WHERE uid = ?",
            (*self._columns(item), uid),
        )

    @staticmethod
    def _columns(item: Report) -> tuple[Any, ...]:
        return (
            item.personal_identity_number,
            item.first_name,
            item.middle_name,
            item.last_name,
            item.imo,
            item.call_sign,
            item.vessel_key,
            item.code,
            item.start.isoformat(),
            item.stop.isoformat() if item.stop else None,
            item.completion.isoformat() if item.completion else None,
        )

    def _own(self, tx: Transaction, uid: str, organisation: str) -> sqlite3.Row | None:
        return tx.one(
            "SELECT * FROM report WHERE uid = ? AND version = ? AND organisation = ?",
            (uid, self.version, organisation),
        )

    @staticmethod
    def _rows(tx: Transaction, uids: Sequence[str]) -> list[sqlite3.Row]:
        rows = {
            r["uid"]: r
            for r in tx.query(
                f"SELECT * FROM report WHERE uid IN ({','.join('?' * len(uids))})", uids
            )
        }
        return [rows[uid] for uid in uids]

    # -- reads -------------------------------------------------------------------------------
    def get(self, uid: uuid.UUID, auth: rt.AuthContext) -> sqlite3.Row:
        # A-SDIR-013: another organisation's report is answered as if it did not exist.
        row = self.db.one(
            "SELECT * FROM report WHERE uid = ? AND version = ? AND organisation = ?",
            (str(uid), self.version, self.organisation(auth)),
        )
        if row is None:
            raise rt.ApiProblem.from_trigger(
                "not-found", f"No report with uid {uid}.", parameter="uid", field="uid"
            )
        return row

    def many(self, uids: Sequence[uuid.UUID], auth: rt.AuthContext) -> list[sqlite3.Row]:
        """The caller's reports among `uids`, in parameter order; unknown ones left out."""
        wanted = [str(u) for u in uids]
        rows = self.db.query(
            f"SELECT * FROM report WHERE version = ? AND organisation = ?"
            f" AND uid IN ({','.join('?' * len(wanted))})",
            (self.version, self.organisation(auth), *wanted),
        )
        by_uid = {r["uid"]: r for r in rows}
        return [by_uid[u] for u in dict.fromkeys(wanted) if u in by_uid]

    def page(
        self, organisation: str, from_day: date | None, offset: int, limit: int
    ) -> tuple[int, list[sqlite3.Row]]:
        where = "version = ? AND organisation = ?"
        args: list[Any] = [self.version, organisation]
        if from_day is not None:
            where += " AND created_day >= ?"
            args.append(from_day.isoformat())
        total = self.db.one(f"SELECT COUNT(*) AS n FROM report WHERE {where}", args)
        rows = self.db.query(
            f"SELECT * FROM report WHERE {where} ORDER BY created_us, uid LIMIT ? OFFSET ?",
            (*args, limit, offset),
        )
        return (int(total["n"]) if total else 0), rows

    # -- seeding -----------------------------------------------------------------------------
    def seed(self, reports: Iterable[tuple[uuid.UUID, Report, datetime]]) -> None:
        with self.db.transaction() as tx:
            for uid, item, created in reports:
                self._insert(tx, str(uid), item, item.organisation, created)


def open_database(path: str, fixture: Fixture) -> Database:
    """The provider's database with the code list and the vessel register loaded."""
    database = Database(path, SCHEMA)
    with database.transaction() as tx:
        tx.executemany(
            "INSERT INTO competence_code (code, description, position) VALUES (?, ?, ?)",
            [(code, text, i) for i, (code, text) in enumerate(fixture.codes)],
        )
        tx.executemany(
            "INSERT INTO vessel (imo, call_sign, name, owner) VALUES (?, ?, ?, ?)",
            [(v.get("imo"), v.get("call_sign"), v["name"], v["owner"]) for v in fixture.vessels],
        )
    return database


def parse_created(value: str) -> datetime:
    """A fixture's createdAt; it must carry its UTC offset (SDIR-DATETIME-OFFSET)."""
    created = datetime.fromisoformat(value)
    if created.tzinfo is None:
        raise ValueError(f"fixture createdAt {value!r} has no UTC offset")
    return created
