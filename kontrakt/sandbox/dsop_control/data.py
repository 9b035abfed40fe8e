"""The sandbox bank's data: the `kontrakt/sandbox/fixtures/dsop.yaml` fixture loaded into SQLite.

Parties, accounts with their role holders, transactions, cards and guardianships are seeded in one
transaction at start (a fresh start gives the same data; relative fixture dates such as
`today-30` are resolved against the start day). The request log the DSOP logging duty asks for
(FACTS §4) is written here too, one row per request, each in its own transaction.

Account references are HMAC-SHA256 digests of the account number under the fixture's key, shaped
as a UUID: stable across starts, so a conformance manifest can name them, and never decodable to
the account number (DSOP-ACCOUNT-REFERENCE-OPAQUE).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kontrakt.sandbox.clients import FIXTURES
from kontrakt.sandbox.keys import resolve_key
from kontrakt.sandbox.store import Database

__all__ = [
    "FIXTURE",
    "AccountRow",
    "BankData",
    "CardRow",
    "Fixture",
    "Party",
    "RoleRow",
    "TransactionRow",
    "account_reference",
    "resolve_date",
]

FIXTURE = FIXTURES / "dsop.yaml"

SCHEMA = """
CREATE TABLE party (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('person', 'organisation')),
    death_date TEXT,
    bankruptcy_ruling_date TEXT,
    shielded INTEGER NOT NULL DEFAULT 0,
    fault TEXT,
    partial TEXT
);
CREATE TABLE account (
    number TEXT PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    position INTEGER NOT NULL,
    type TEXT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    opened TEXT NOT NULL,
    closed TEXT,
    opening_balance REAL NOT NULL,
    credit_line REAL,
    fault TEXT,
    CHECK (closed IS NULL OR closed > opened)
);
CREATE TABLE role (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL REFERENCES account (number),
    party TEXT NOT NULL REFERENCES party (id),
    permission TEXT NOT NULL,
    is_primary INTEGER NOT NULL,
    relation TEXT,
    start_date TEXT NOT NULL,
    end_date TEXT,
    CHECK (end_date IS NULL OR end_date > start_date)
);
CREATE TABLE txn (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL REFERENCES account (number),
    position INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('booked', 'pending', 'info')),
    day TEXT NOT NULL,
    booking_date TEXT,
    registered TEXT NOT NULL,
    amount REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX txn_by_account ON txn (account, day, position);
CREATE TABLE card (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL REFERENCES account (number),
    pan TEXT NOT NULL,
    holder TEXT,
    type TEXT,
    status TEXT,
    version TEXT,
    start_month TEXT,
    expiry_month TEXT
);
CREATE TABLE guardianship (
    id INTEGER PRIMARY KEY,
    ward TEXT NOT NULL REFERENCES party (id),
    guardian TEXT NOT NULL REFERENCES party (id),
    account TEXT NOT NULL REFERENCES account (number),
    start_date TEXT NOT NULL,
    end_date TEXT
);
CREATE TABLE request_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    operation TEXT NOT NULL,
    consumer TEXT,
    correlation_id TEXT,
    account_info_request_id TEXT,
    legal_mandate TEXT,
    additional_reference_id_type TEXT,
    additional_reference_id TEXT,
    status INTEGER,
    code TEXT
);
"""

_RELATIVE = re.compile(r"^today(?:([+-])(\d+))?$")
_IN_YEAR = re.compile(r"^(lastyear|thisyear)-(\d{2})-(\d{2})$")


def resolve_date(value: Any, today: datetime.date) -> datetime.date:
    """A fixture date: ISO, `today[+-N]`, or `lastyear-MM-DD` / `thisyear-MM-DD`."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = str(value).strip()
    match = _RELATIVE.match(text)
    if match:
        sign, days = match.groups()
        offset = int(days or 0) * (-1 if sign == "-" else 1)
        return today + datetime.timedelta(days=offset)
    match = _IN_YEAR.match(text)
    if match:
        which, month, day = match.groups()
        year = today.year - 1 if which == "lastyear" else today.year
        return datetime.date(year, int(month), int(day))
    return datetime.date.fromisoformat(text)


def _iso(value: Any, today: datetime.date) -> str | None:
    return None if value is None else resolve_date(value, today).isoformat()


def account_reference(secret: str, account_number: str) -> str:
    """The opaque reference of an account: HMAC-SHA256(secret, number) shaped as a UUID."""
    digest = hmac.new(secret.encode(), account_number.encode(), hashlib.sha256).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


@dataclass(frozen=True)
class Fixture:
    """The parsed fixture file (the parts that are configuration rather than rows)."""

    data: Mapping[str, Any]
    path: Path

    @classmethod
    def load(cls, path: Path = FIXTURE) -> Fixture:
        return cls(yaml.safe_load(path.read_text(encoding="utf-8")), path)

    @property
    def bank(self) -> Mapping[str, Any]:
        bank: Mapping[str, Any] = self.data["bank"]
        return bank

    @property
    def service_consumers(self) -> dict[str, frozenset[str]]:
        services: Mapping[str, Sequence[str]] = self.data.get("services", {})
        return {name: frozenset(str(o) for o in orgs) for name, orgs in services.items()}

    @property
    def extradition_orders(self) -> Mapping[str, Any]:
        orders: Mapping[str, Any] = self.data["extradition_orders"]
        return orders

    def key_path(self, relative: str) -> Path:
        return resolve_key(relative, self.path.parent)


@dataclass(frozen=True)
class Party:
    id: str
    name: str
    kind: str
    death_date: datetime.date | None
    bankruptcy_ruling_date: datetime.date | None
    shielded: bool
    fault: str | None
    partial: str | None

    @property
    def identifier_type(self) -> str:
        return (
            "countryIdentificationCode" if self.kind == "organisation" else "nationalIdentityNumber"
        )


@dataclass(frozen=True)
class AccountRow:
    number: str
    reference: str
    type: str
    currency: str
    status: str
    opened: datetime.date
    closed: datetime.date | None
    opening_balance: float
    credit_line: float | None
    fault: str | None


@dataclass(frozen=True)
class RoleRow:
    account: str
    party: Party
    permission: str
    is_primary: bool
    relation: str | None
    start: datetime.date
    end: datetime.date | None


@dataclass(frozen=True)
class TransactionRow:
    id: str
    account: str
    status: str
    day: datetime.date
    booking_date: datetime.date | None
    registered: str
    amount: float
    body: Mapping[str, Any]


@dataclass(frozen=True)
class CardRow:
    account: str
    pan: str
    holder: str | None
    type: str | None
    status: str | None
    version: str | None
    start_month: str | None
    expiry_month: str | None


def _date(value: str | None) -> datetime.date | None:
    return None if value is None else datetime.date.fromisoformat(value)


def _overlaps(
    start: datetime.date,
    end: datetime.date | None,
    period_from: datetime.date,
    period_to: datetime.date,
) -> bool:
    return start <= period_to and (end is None or end >= period_from)


class BankData:
    """Read access to the seeded bank, plus the request log."""

    def __init__(self, db: Database, fixture: Fixture) -> None:
        self.db = db
        self.fixture = fixture

    @classmethod
    def seed(cls, db: Database, fixture: Fixture, today: datetime.date | None = None) -> BankData:
        """Create the schema and load the fixture in one transaction."""
        today = today or datetime.date.today()
        secret = str(fixture.bank["reference_secret"])
        data = fixture.data
        with db.transaction() as tx:
            tx.executescript_in_tx(SCHEMA)
            for p in data.get("parties", ()):
                tx.execute(
                    "INSERT INTO party VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        str(p["id"]),
                        p["name"],
                        p.get("kind", "person"),
                        _iso(p.get("death_date"), today),
                        _iso(p.get("bankruptcy_ruling_date"), today),
                        int(bool(p.get("shielded", False))),
                        p.get("fault"),
                        p.get("partial"),
                    ),
                )
            for position, a in enumerate(data.get("accounts", ())):
                number = str(a["number"])
                tx.execute(
                    "INSERT INTO account VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        number,
                        account_reference(secret, number),
                        position,
                        a["type"],
                        a.get("currency", "NOK"),
                        a.get("status", "enabled"),
                        _iso(a["opened"], today),
                        _iso(a.get("closed"), today),
                        float(a.get("opening_balance", 0)),
                        a.get("credit_line"),
                        a.get("fault"),
                    ),
                )
                for r in a.get("roles", ()):
                    tx.execute(
                        "INSERT INTO role (account, party, permission, is_primary, relation,"
                        " start_date, end_date) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (
                            number,
                            str(r["party"]),
                            r["permission"],
                            int(bool(r.get("primary", False))),
                            r.get("relation"),
                            _iso(r["from"], today),
                            _iso(r.get("to"), today),
                        ),
                    )
                for c in a.get("cards", ()):
                    tx.execute(
                        "INSERT INTO card (account, pan, holder, type, status, version,"
                        " start_month, expiry_month) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            number,
                            str(c["pan"]),
                            c.get("holder"),
                            c.get("type"),
                            c.get("status"),
                            str(c["version"]) if "version" in c else None,
                            str(c["start"]) if "start" in c else None,
                            str(c["expiry"]) if "expiry" in c else None,
                        ),
                    )
                rows = list(_expand_transactions(a, today))
                for index, row in enumerate(rows):
                    tx.execute(
                        "INSERT INTO txn VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            row["id"],
                            number,
                            index,
                            row["status"],
                            row["day"],
                            row["booking_date"],
                            row["registered"],
                            row["amount"],
                            json.dumps(row["body"], ensure_ascii=False),
                        ),
                    )
            for g in data.get("guardianships", ()):
                for number in g["accounts"]:
                    tx.execute(
                        "INSERT INTO guardianship (ward, guardian, account, start_date, end_date)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (
                            str(g["ward"]),
                            str(g["guardian"]),
                            str(number),
                            _iso(g["from"], today),
                            _iso(g.get("to"), today),
                        ),
                    )
        return cls(db, fixture)

    # --- parties and accounts -----------------------------------------------------------------

    def party(self, party_id: str) -> Party | None:
        row = self.db.one("SELECT * FROM party WHERE id = ?", (party_id,))
        if row is None:
            return None
        return Party(
            id=row["id"],
            name=row["name"],
            kind=row["kind"],
            death_date=_date(row["death_date"]),
            bankruptcy_ruling_date=_date(row["bankruptcy_ruling_date"]),
            shielded=bool(row["shielded"]),
            fault=row["fault"],
            partial=row["partial"],
        )

    def account_by_reference(self, reference: str) -> AccountRow | None:
        row = self.db.one("SELECT * FROM account WHERE reference = ?", (reference,))
        return None if row is None else _account(row)

    def account(self, number: str) -> AccountRow | None:
        row = self.db.one("SELECT * FROM account WHERE number = ?", (number,))
        return None if row is None else _account(row)

    def accounts_for_party(
        self,
        party_id: str,
        period_from: datetime.date,
        period_to: datetime.date,
        *,
        only_primary_owner: bool,
    ) -> list[tuple[AccountRow, RoleRow]]:
        """Accounts on which the party held a role in the period, with that role, in fixture order.

        Guarantors see nothing and co-borrowers no loan accounts (DSOP-GUARANTOR-EMPTY,
        DSOP-CO-BORROWER-NO-LOANS); OnlyPrimaryOwner=true keeps primary ownership only.
        """
        rows = self.db.query(
            "SELECT a.*, r.id AS role_id FROM account a JOIN role r ON r.account = a.number"
            " WHERE r.party = ? ORDER BY a.position, r.id",
            (party_id,),
        )
        found: dict[str, tuple[AccountRow, RoleRow]] = {}
        for row in rows:
            account = _account(row)
            role = self._role(row["role_id"])
            if role.relation == "guarantor":
                continue
            if role.relation == "coBorrower" and account.type == "loanAccount":
                continue
            if only_primary_owner and not role.is_primary:
                continue
            if not _overlaps(account.opened, account.closed, period_from, period_to):
                continue
            if not _overlaps(role.start, role.end, period_from, period_to):
                continue
            found.setdefault(account.number, (account, role))
        return list(found.values())

    def _role(self, role_id: int) -> RoleRow:
        row = self.db.one(
            "SELECT r.*, p.id AS pid FROM role r JOIN party p ON p.id = r.party WHERE r.id = ?",
            (role_id,),
        )
        assert row is not None
        party = self.party(row["pid"])
        assert party is not None
        return RoleRow(
            account=row["account"],
            party=party,
            permission=row["permission"],
            is_primary=bool(row["is_primary"]),
            relation=row["relation"],
            start=datetime.date.fromisoformat(row["start_date"]),
            end=_date(row["end_date"]),
        )

    def roles(self, account: str) -> list[RoleRow]:
        """Every role on the account, in fixture order."""
        ids = self.db.query("SELECT id FROM role WHERE account = ? ORDER BY id", (account,))
        return [self._role(row["id"]) for row in ids]

    def roles_in_period(
        self, account: str, period_from: datetime.date, period_to: datetime.date
    ) -> list[RoleRow]:
        """Role holders in the period; a guarantor is no role holder on the account."""
        return [
            r
            for r in self.roles(account)
            if r.relation != "guarantor" and _overlaps(r.start, r.end, period_from, period_to)
        ]

    def primary_role(self, account: str, at: datetime.date) -> RoleRow | None:
        """The primary owner's role at `at`, else the latest primary role that began before it."""
        primaries = [r for r in self.roles(account) if r.is_primary]
        current = [r for r in primaries if r.start <= at and (r.end is None or r.end >= at)]
        if current:
            return current[-1]
        earlier = [r for r in primaries if r.start <= at]
        return max(earlier, key=lambda r: r.start) if earlier else None

    def has_role(
        self, account: str, party_id: str, period_from: datetime.date, period_to: datetime.date
    ) -> bool:
        return any(
            r.party.id == party_id for r in self.roles_in_period(account, period_from, period_to)
        )

    def guardian_manages(
        self,
        guardian: str,
        account: str,
        period_from: datetime.date,
        period_to: datetime.date,
        *,
        ward: str | None = None,
    ) -> bool:
        """Whether `guardian` managed `account` (for `ward`) at some time in the period."""
        sql = "SELECT start_date, end_date FROM guardianship WHERE guardian = ? AND account = ?"
        parameters: list[Any] = [guardian, account]
        if ward is not None:
            sql += " AND ward = ?"
            parameters.append(ward)
        return any(
            _overlaps(
                datetime.date.fromisoformat(row["start_date"]),
                _date(row["end_date"]),
                period_from,
                period_to,
            )
            for row in self.db.query(sql, parameters)
        )

    # --- transactions, balances, cards --------------------------------------------------------

    def transactions(
        self, account: str, period_from: datetime.date, period_to: datetime.date
    ) -> list[TransactionRow]:
        """The account's transactions dated in the period, in a stable order (day, position)."""
        rows = self.db.query(
            "SELECT * FROM txn WHERE account = ? AND day BETWEEN ? AND ? ORDER BY day, position",
            (account, period_from.isoformat(), period_to.isoformat()),
        )
        return [
            TransactionRow(
                id=row["id"],
                account=row["account"],
                status=row["status"],
                day=datetime.date.fromisoformat(row["day"]),
                booking_date=_date(row["booking_date"]),
                registered=row["registered"],
                amount=float(row["amount"]),
                body=json.loads(row["body"]),
            )
            for row in rows
        ]

    def booked_balance(self, account: AccountRow, at: datetime.date) -> float:
        """Opening balance plus every booked transaction up to and including `at`."""
        row = self.db.one(
            "SELECT COALESCE(SUM(amount), 0) AS total FROM txn"
            " WHERE account = ? AND status = 'booked' AND booking_date <= ?",
            (account.number, at.isoformat()),
        )
        total = float(row["total"]) if row is not None else 0.0
        return round(account.opening_balance + total, 2)

    def blocked_amount(self, account: AccountRow) -> float:
        """Reserved (pending) debits, which the available balance leaves out."""
        row = self.db.one(
            "SELECT COALESCE(SUM(-amount), 0) AS blocked FROM txn"
            " WHERE account = ? AND status = 'pending' AND amount < 0",
            (account.number,),
        )
        return round(float(row["blocked"]) if row is not None else 0.0, 2)

    def cards(self, account: str) -> list[CardRow]:
        rows = self.db.query("SELECT * FROM card WHERE account = ? ORDER BY id", (account,))
        return [
            CardRow(
                account=row["account"],
                pan=row["pan"],
                holder=row["holder"],
                type=row["type"],
                status=row["status"],
                version=row["version"],
                start_month=row["start_month"],
                expiry_month=row["expiry_month"],
            )
            for row in rows
        ]

    # --- the request log (FACTS §4, DSOP-LOG-REQUEST) -----------------------------------------

    def log_request(self, entry: Mapping[str, Any]) -> None:
        columns = (
            "at",
            "operation",
            "consumer",
            "correlation_id",
            "account_info_request_id",
            "legal_mandate",
            "additional_reference_id_type",
            "additional_reference_id",
            "status",
            "code",
        )
        with self.db.transaction() as tx:
            tx.execute(
                f"INSERT INTO request_log ({', '.join(columns)})"
                f" VALUES ({', '.join('?' for _ in columns)})",
                [entry.get(c) for c in columns],
            )

    def request_log(self) -> list[dict[str, Any]]:
        return [dict(row) for row in self.db.query("SELECT * FROM request_log ORDER BY id")]


def _account(row: Any) -> AccountRow:
    return AccountRow(
        number=row["number"],
        reference=row["reference"],
        type=row["type"],
        currency=row["currency"],
        status=row["status"],
        opened=datetime.date.fromisoformat(row["opened"]),
        closed=_date(row["closed"]),
        opening_balance=float(row["opening_balance"]),
        credit_line=row["credit_line"],
        fault=row["fault"],
    )


_BODY_KEYS = (
    "merchant",
    "code",
    "counterparty",
    "reference",
    "references",
    "info",
    "card",
    "exchange",
)


def _transaction(spec: Mapping[str, Any], today: datetime.date, *, tid: str) -> dict[str, Any]:
    status = spec.get("status", "booked")
    booked = _iso(spec.get("booked"), today)
    registered_day = _iso(spec.get("registered"), today) or booked
    if registered_day is None:
        raise ValueError(f"transaction {tid}: needs booked or registered")
    if status == "booked" and booked is None:
        raise ValueError(f"transaction {tid}: a booked transaction needs a booking date")
    body = {k: spec[k] for k in _BODY_KEYS if k in spec}
    return {
        "id": tid,
        "status": status,
        "day": booked or registered_day,
        "booking_date": booked,
        "registered": f"{registered_day}T10:15:00Z",
        "amount": round(float(spec["amount"]), 2),
        "body": body,
    }


def _expand_transactions(account: Mapping[str, Any], today: datetime.date) -> Any:
    for series in account.get("transaction_series", ()):
        first = resolve_date(series["first"], today)
        pattern = series["pattern"]
        for i in range(int(series["count"])):
            template = dict(pattern[i % len(pattern)])
            template["booked"] = first + datetime.timedelta(days=i * int(series["every_days"]))
            if "reference" in template:
                ref = dict(template["reference"])
                ref["value"] = f"{ref['value']}-{i + 1:04d}"
                template["reference"] = ref
            yield _transaction(template, today, tid=f"{series['prefix']}-{i + 1:04d}")
    for spec in account.get("transactions", ()):
        yield _transaction(spec, today, tid=str(spec["id"]))
