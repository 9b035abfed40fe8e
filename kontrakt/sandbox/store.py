"""SQLite persistence for the sandbox providers: one database per provider, real transactions.

Every write a provider makes runs inside `Database.transaction()`: `BEGIN IMMEDIATE`, then
`COMMIT` when the block ends normally and `ROLLBACK` when it raises, so an atomic batch (Sdir)
either stores every item or none. Seed data comes from YAML fixtures in `kontrakt/sandbox/fixtures/`; a
fresh start (an in-memory database, or a new file) gives the same data every time.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["Database"]


class Database:
    """A SQLite connection shared by one provider's handlers, serialised by a lock.

    The providers are asyncio applications: handlers run on one event loop, and the lock guards
    the rare case of a worker thread (or a second server thread in tests) using the same
    database. Autocommit is off in the sqlite3 sense: transactions are explicit.
    """

    def __init__(self, path: str | Path = ":memory:", schema: str = "") -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA foreign_keys = ON")
        if self.path != ":memory:":
            self._conn.execute("PRAGMA journal_mode = WAL")
        if schema:
            with self.transaction() as tx:
                tx.executescript_in_tx(schema)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Rows of a read-only statement (its own implicit transaction)."""
        with self._lock:
            return list(self._conn.execute(sql, parameters))

    def one(self, sql: str, parameters: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = self.query(sql, parameters)
        return rows[0] if rows else None

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class Transaction:
    """The statements of one open transaction (see `Database.transaction`)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, parameters)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> sqlite3.Cursor:
        return self._conn.executemany(sql, rows)

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return list(self._conn.execute(sql, parameters))

    def one(self, sql: str, parameters: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = self.query(sql, parameters)
        return rows[0] if rows else None

    def executescript_in_tx(self, script: str) -> None:
        """Run `;`-separated DDL inside this transaction (sqlite3's executescript would commit)."""
        for statement in _statements(script):
            self._conn.execute(statement)


def _statements(script: str) -> Iterator[str]:
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                yield buffer.strip()
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement: {buffer.strip()[:60]!r}")
