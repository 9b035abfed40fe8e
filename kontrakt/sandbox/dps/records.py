"""The DPS provider's SQLite schema, identifiers, fixture loading and row -> model mapping.

Everything the provider keeps lives in one `sandbox.store.Database`: submissions and their file
registrations, the uploaded bytes (the local object store), archived packages (AIPs),
disseminations, events, webhook subscriptions and webhook deliveries.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import sqlite3
import string
import zoneinfo
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import yaml

from kontrakt.generated.dps_v1 import Dissemination, FileResponse, SubmissionResponse
from kontrakt.sandbox.clients import FIXTURES
from kontrakt.sandbox.store import Database, Transaction

__all__ = [
    "FIXTURE",
    "SCHEMA",
    "base62_id",
    "dissemination_model",
    "file_model",
    "load_fixtures",
    "now_rfc3339",
    "object_key",
    "store_object",
    "submission_model",
]

FIXTURE = FIXTURES / "dps.yaml"

SCHEMA = """
CREATE TABLE submissions (
    submission_id TEXT PRIMARY KEY,
    contract_id   TEXT NOT NULL,
    object_id     TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    status        TEXT NOT NULL,
    priority      INTEGER NOT NULL,
    metadata      TEXT NOT NULL,
    archive_id    TEXT,
    sum_size      INTEGER,
    reasons       TEXT,
    created_at    TEXT NOT NULL,
    UNIQUE (contract_id, object_id)
);
CREATE TABLE files (
    file_id       TEXT PRIMARY KEY,
    submission_id TEXT NOT NULL REFERENCES submissions ON DELETE CASCADE,
    file_path     TEXT NOT NULL,
    checksum      TEXT NOT NULL,
    is_packaged   INTEGER NOT NULL,
    object_key    TEXT NOT NULL,
    upload_url    TEXT NOT NULL,
    UNIQUE (submission_id, file_path)
);
CREATE TABLE objects (
    object_key TEXT PRIMARY KEY,
    data       BLOB NOT NULL,
    md5        TEXT NOT NULL,
    size       INTEGER NOT NULL
);
CREATE TABLE events (
    event_id      INTEGER PRIMARY KEY,
    submission_id TEXT NOT NULL REFERENCES submissions ON DELETE CASCADE,
    body          TEXT NOT NULL
);
CREATE TABLE archives (
    archive_id    TEXT PRIMARY KEY,
    submission_id TEXT NOT NULL UNIQUE REFERENCES submissions,
    contract_id   TEXT NOT NULL,
    object_id     TEXT NOT NULL,
    status        TEXT NOT NULL,
    fault         TEXT
);
CREATE TABLE disseminations (
    dissemination_id TEXT PRIMARY KEY,
    archive_id       TEXT NOT NULL REFERENCES archives,
    client_id        TEXT NOT NULL,
    contract_id      TEXT NOT NULL,
    object_id        TEXT NOT NULL,
    sum_size         INTEGER NOT NULL,
    status           TEXT NOT NULL,
    priority         INTEGER NOT NULL,
    date_created     TEXT NOT NULL
);
CREATE TABLE subscriptions (
    subscription_id TEXT PRIMARY KEY,
    url             TEXT NOT NULL,
    secret          TEXT NOT NULL,
    events          TEXT NOT NULL,
    client_id       TEXT
);
CREATE TABLE deliveries (
    webhook_id      TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL REFERENCES subscriptions ON DELETE CASCADE,
    event_type      TEXT NOT NULL,
    body            BLOB NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      TEXT NOT NULL
);
"""

_BASE62 = string.digits + string.ascii_letters


def base62_id() -> str:
    """A fresh 22-character Base62 identifier (FACTS §3: submissionId, fileId, disseminationId)."""
    return "".join(secrets.choice(_BASE62) for _ in range(22))


def _local_zone() -> tzinfo:
    try:
        return zoneinfo.ZoneInfo("Europe/Oslo")
    except zoneinfo.ZoneInfoNotFoundError:  # no tz database: UTC still has an offset
        return UTC


def now_rfc3339() -> str:
    """Now in Norwegian time, RFC 3339 with offset and fractional seconds, as NB's examples
    (`2025-09-09T12:34:56.123456+01:00`, FACTS §9 dateCreated)."""
    return datetime.now(_local_zone()).isoformat(timespec="microseconds")


def object_key(client_id: str, contract_id: str, submission_id: str, file_path: str) -> str:
    """The upload object's key; the layout of NB's examples (DPS-S3-OBJECT-KEY-LAYOUT)."""
    return f"{client_id}/{contract_id}/{submission_id}/{file_path}"


def file_model(row: sqlite3.Row) -> FileResponse:
    return FileResponse.model_validate(
        {
            "fileId": row["file_id"],
            "filePath": row["file_path"],
            "s3ObjectKey": row["object_key"],
            "checksum": row["checksum"],
            "isPackaged": bool(row["is_packaged"]),
            "uploadUrl": row["upload_url"],
        }
    )


def submission_model(
    row: sqlite3.Row, files: list[sqlite3.Row] | None = None
) -> SubmissionResponse:
    """A submission as the API shows it; `files` only from finalize on (the spec's `files`)."""
    data: dict[str, Any] = {
        "contractId": row["contract_id"],
        "submissionId": row["submission_id"],
        "objectId": row["object_id"],
        "clientId": row["client_id"],
        "archiveId": row["archive_id"],
        "status": row["status"],
        "priority": row["priority"],
        "sumSizeInBytes": row["sum_size"],
    }
    if files is not None:
        data["files"] = [file_model(f).model_dump(by_alias=True, mode="json") for f in files]
    return SubmissionResponse.model_validate(data)


def dissemination_model(row: sqlite3.Row) -> Dissemination:
    return Dissemination.model_validate(
        {
            "disseminationId": row["dissemination_id"],
            "archiveId": row["archive_id"],
            "clientId": row["client_id"],
            "contractId": row["contract_id"],
            "objectId": row["object_id"],
            "sumSizeInBytes": row["sum_size"],
            "status": row["status"],
            "priority": row["priority"],
            "dateCreated": row["date_created"],
        }
    )


_ID = re.compile(r"^[0-9a-zA-Z]{22}$")


def _store_object(tx: Transaction, key: str, data: bytes, md5: str | None = None) -> None:
    tx.execute(
        "INSERT OR REPLACE INTO objects (object_key, data, md5, size) VALUES (?, ?, ?, ?)",
        (key, data, md5 or hashlib.md5(data).hexdigest(), len(data)),
    )


def load_fixtures(db: Database, upload_url: Any, path: Path = FIXTURE) -> int:
    """Store the seed submissions of `path`; `upload_url(key, file_id)` signs each file's URL.

    Returns the number of submissions loaded. A fixture fault `fixity` stores bytes that no
    longer match the registered checksum (the archived copy is damaged).
    """
    data: Mapping[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    count = 0
    with db.transaction() as tx:
        for entry in data.get("submissions", []):
            submission_id = entry["submissionId"]
            if not _ID.match(submission_id):
                raise ValueError(f"{path.name}: submissionId {submission_id!r} is not Base62/22")
            contract_id, client_id = entry["contractId"], entry["clientId"]
            archive = entry.get("archive")
            total = sum(len(str(f["content"]).encode("utf-8")) for f in entry.get("files", []))
            tx.execute(
                "INSERT INTO submissions (submission_id, contract_id, object_id, client_id,"
                " status, priority, metadata, archive_id, sum_size, reasons, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    submission_id,
                    contract_id,
                    entry["objectId"],
                    client_id,
                    entry["status"],
                    entry.get("priority", 50),
                    json.dumps(entry.get("metadata", {})),
                    # A-DPS-017: the submission shows its archiveId once PRESERVED, not before.
                    archive["archiveId"] if archive and entry["status"] == "PRESERVED" else None,
                    total if entry["status"] != "REGISTERED" else None,
                    json.dumps(entry["reasons"]) if entry.get("reasons") else None,
                    now_rfc3339(),
                ),
            )
            for item in entry.get("files", []):
                content = str(item["content"]).encode("utf-8")
                checksum = hashlib.md5(content).hexdigest()
                key = object_key(client_id, contract_id, submission_id, item["filePath"])
                tx.execute(
                    "INSERT INTO files (file_id, submission_id, file_path, checksum,"
                    " is_packaged, object_key, upload_url) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        item["fileId"],
                        submission_id,
                        item["filePath"],
                        checksum,
                        int(bool(item.get("isPackaged", False))),
                        key,
                        upload_url(key, item["fileId"]),
                    ),
                )
                fault = archive.get("fault") if archive else None
                stored = content + b" (damaged)" if fault == "fixity" else content
                _store_object(tx, key, stored, hashlib.md5(stored).hexdigest())
            if archive:
                tx.execute(
                    "INSERT INTO archives (archive_id, submission_id, contract_id, object_id,"
                    " status, fault) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        archive["archiveId"],
                        submission_id,
                        contract_id,
                        entry["objectId"],
                        archive["status"],
                        archive.get("fault"),
                    ),
                )
            count += 1
    return count


def store_object(tx: Transaction, key: str, data: bytes) -> str:
    """Store (or replace) an object's bytes; returns their MD5."""
    md5 = hashlib.md5(data).hexdigest()
    _store_object(tx, key, data, md5)
    return md5
