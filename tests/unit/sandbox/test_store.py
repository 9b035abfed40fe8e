"""The SQLite store: a transaction commits whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from kontrakt.sandbox.store import Database

SCHEMA = """
CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE note (item_id INTEGER NOT NULL REFERENCES item(id), text TEXT);
"""


def test_commit_and_rollback(tmp_path: Path) -> None:
    db = Database(tmp_path / "t.sqlite3", SCHEMA)
    with db.transaction() as tx:
        tx.execute("INSERT INTO item (name) VALUES (?)", ("a",))
    with pytest.raises(RuntimeError), db.transaction() as tx:
        tx.execute("INSERT INTO item (name) VALUES (?)", ("b",))
        tx.execute("INSERT INTO item (name) VALUES (?)", ("c",))
        raise RuntimeError("the third item is bad")
    assert [r["name"] for r in db.query("SELECT name FROM item ORDER BY id")] == ["a"]


def test_a_failing_statement_rolls_back_the_earlier_ones() -> None:
    db = Database(schema=SCHEMA)
    with pytest.raises(Exception, match="UNIQUE"), db.transaction() as tx:
        tx.executemany("INSERT INTO item (name) VALUES (?)", [("x",), ("y",), ("x",)])
    assert db.one("SELECT count(*) AS n FROM item")["n"] == 0  # type: ignore[index]


def test_foreign_keys_are_enforced() -> None:
    db = Database(schema=SCHEMA)
    with pytest.raises(Exception, match="FOREIGN KEY"), db.transaction() as tx:
        tx.execute("INSERT INTO note (item_id, text) VALUES (?, ?)", (42, "orphan"))


def test_incomplete_schema_is_an_error() -> None:
    with pytest.raises(ValueError, match="incomplete"):
        Database(schema="CREATE TABLE t (id INTEGER")
