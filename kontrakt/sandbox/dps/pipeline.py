"""The DPS sandbox's background work: the ingest pipeline after finalize and the dissemination
pipeline after an order, each an asyncio task that takes one step every `step_delay` seconds.

Submission (x-kontrakt-lifecycles.submission): UPLOAD_COMPLETED -> TRANSFERRING -> VALIDATING ->
ARCHIVING -> PRESERVED, or REJECTED from VALIDATING when a file's bytes do not have the MD5 given
at registration (reason FILE_CHECKSUM_MISMATCH with the filePath, A-DPS-013) or a file marked
isPackaged is neither TAR nor ZIP. The AIP (with its archiveId) is created on entering ARCHIVING;
the submission shows the archiveId once PRESERVED (A-DPS-017). Webhooks: submission.preserved,
submission.rejected.

Dissemination (x-kontrakt-lifecycles.dissemination): RECEIVED -> QUEUED ->
DOWNLOADING_FROM_REPOSITORY -> FIXITY_CHECK -> UPLOADING_TO_S3 -> DISSEMINATED, which sends
dissemination.delivered with a presigned link to one TAR of the package. A fixture AIP with fault
`refuse` ends REJECTED after QUEUED and one with fault `fixity` ends FAILED at FIXITY_CHECK;
neither sends a webhook (FACTS §11.4: no dissemination.failed).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import itertools
import json
import logging
import tarfile
import uuid
import zipfile
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any

from kontrakt.generated.dps_v1 import (
    DeliveredFile,
    DisseminationDeliveredData,
    DisseminationDeliveredEvent,
    RejectionReason,
    SubmissionPreservedData,
    SubmissionPreservedEvent,
    SubmissionRejectedData,
    SubmissionRejectedEvent,
)
from kontrakt.sandbox.dps.objects import ObjectStore
from kontrakt.sandbox.dps.records import store_object
from kontrakt.sandbox.dps.webhooks import Webhooks
from kontrakt.sandbox.store import Database, Transaction

__all__ = ["DISSEMINATION_STEPS", "SUBMISSION_STEPS", "Pipeline", "Tasks"]

logger = logging.getLogger("kontrakt.sandbox.dps.pipeline")

# The happy paths through the spec's lifecycles; tests check each step is a declared transition.
SUBMISSION_STEPS = ("UPLOAD_COMPLETED", "TRANSFERRING", "VALIDATING", "ARCHIVING", "PRESERVED")
DISSEMINATION_STEPS = (
    "RECEIVED",
    "QUEUED",
    "DOWNLOADING_FROM_REPOSITORY",
    "FIXITY_CHECK",
    "UPLOADING_TO_S3",
    "DISSEMINATED",
)


class Tasks:
    """The provider's background tasks, cancelled when the app shuts down."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("background task %s failed", task.get_name(), exc_info=task.exception())

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _now() -> datetime:
    return datetime.now(UTC)


def _is_archive(data: bytes) -> bool:
    if zipfile.is_zipfile(io.BytesIO(data)):
        return True
    try:
        with tarfile.open(fileobj=io.BytesIO(data)):
            return True
    except tarfile.TarError:
        return False


def _tar(members: list[tuple[str, bytes]]) -> bytes:
    """A deterministic TAR (fixed times and owners) of `(path, bytes)`, sorted by path."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, data in sorted(members):
            info = tarfile.TarInfo(path)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class Pipeline:
    """Advances submissions and disseminations; `step_delay` seconds between two statuses."""

    def __init__(
        self,
        db: Database,
        tasks: Tasks,
        objects: ObjectStore,
        webhooks: Webhooks,
        *,
        step_delay: float,
    ) -> None:
        self.db = db
        self.tasks = tasks
        self.objects = objects
        self.webhooks = webhooks
        self.step_delay = step_delay

    def start_submission(self, submission_id: str) -> None:
        self.tasks.spawn(self._submission(submission_id), f"submission {submission_id}")

    def start_dissemination(self, dissemination_id: str) -> None:
        self.tasks.spawn(self._dissemination(dissemination_id), f"dissemination {dissemination_id}")

    @staticmethod
    def _move(tx: Transaction, table: str, key: str, ident: str, old: str, new: str) -> None:
        # DPS-LIFECYCLE-FORWARD: a status only moves forward, from the one this step expects.
        moved = tx.execute(
            f"UPDATE {table} SET status = ? WHERE {key} = ? AND status = ?",
            (new, ident, old),
        ).rowcount
        if moved != 1:
            raise RuntimeError(f"{table} {ident} is not {old}; cannot move it to {new}")

    def _submission_step(self, ident: str, old: str, new: str) -> None:
        with self.db.transaction() as tx:
            self._move(tx, "submissions", "submission_id", ident, old, new)

    def _dissemination_step(self, ident: str, old: str, new: str) -> None:
        with self.db.transaction() as tx:
            self._move(tx, "disseminations", "dissemination_id", ident, old, new)

    # --- submissions ----------------------------------------------------------------------------

    async def _submission(self, submission_id: str) -> None:
        for old, new in itertools.pairwise(SUBMISSION_STEPS[:3]):
            await asyncio.sleep(self.step_delay)
            self._submission_step(submission_id, old, new)
        await asyncio.sleep(self.step_delay)
        reasons = self._validate(submission_id)
        if reasons:
            self._reject(submission_id, reasons)
            return
        archive_id = str(uuid.uuid4())
        with self.db.transaction() as tx:
            self._move(tx, "submissions", "submission_id", submission_id, "VALIDATING", "ARCHIVING")
            tx.execute(
                "INSERT INTO archives (archive_id, submission_id, contract_id, object_id, status)"
                " SELECT ?, submission_id, contract_id, object_id, 'ARCHIVING' FROM submissions"
                " WHERE submission_id = ?",
                (archive_id, submission_id),
            )
        await asyncio.sleep(self.step_delay)
        with self.db.transaction() as tx:
            self._move(tx, "submissions", "submission_id", submission_id, "ARCHIVING", "PRESERVED")
            tx.execute(
                "UPDATE submissions SET archive_id = ? WHERE submission_id = ?",
                (archive_id, submission_id),
            )
            tx.execute(
                "UPDATE archives SET status = 'PRESERVED' WHERE archive_id = ?", (archive_id,)
            )
            row = tx.one("SELECT * FROM submissions WHERE submission_id = ?", (submission_id,))
        assert row is not None
        # DPS-WH-PRESERVED-CONSISTENT: sent only after the submission reads PRESERVED.
        event = SubmissionPreservedEvent(
            type="submission.preserved",
            timestamp=_now(),
            data=SubmissionPreservedData(
                contract_id=row["contract_id"], submission_id=submission_id, archive_id=archive_id
            ),
        )
        self.webhooks.emit("submission.preserved", event, row["client_id"])

    def _validate(self, submission_id: str) -> list[RejectionReason]:
        """What is wrong with the uploaded package (empty: nothing)."""
        reasons: list[RejectionReason] = []
        rows = self.db.query(
            "SELECT f.file_path, f.checksum, f.is_packaged, o.md5, o.data FROM files f"
            " LEFT JOIN objects o USING (object_key) WHERE f.submission_id = ? ORDER BY f.rowid",
            (submission_id,),
        )
        for row in rows:
            path = row["file_path"]
            if row["md5"] is None:
                reasons.append(
                    RejectionReason(
                        code="FILE_MISSING", message="The file was not uploaded.", file_path=path
                    )
                )
            elif row["md5"] != row["checksum"]:
                # FACTS §7: the bytes must have the MD5 given at registration; FACTS §11.4 code.
                reasons.append(
                    RejectionReason(
                        code="FILE_CHECKSUM_MISMATCH",
                        message=f"The uploaded bytes have MD5 {row['md5']}, not the registered"
                        f" {row['checksum']}.",
                        file_path=path,
                    )
                )
            elif row["is_packaged"] and not _is_archive(bytes(row["data"])):
                # FACTS §5.3 / spec isPackaged: a transport wrapper is a TAR or ZIP (STR).
                reasons.append(
                    RejectionReason(
                        code="PACKAGE_FORMAT_INVALID",
                        message="A file marked isPackaged is neither a TAR nor a ZIP archive.",
                        file_path=path,
                    )
                )
        return reasons

    def _reject(self, submission_id: str, reasons: list[RejectionReason]) -> None:
        dumped = [r.model_dump(mode="json", by_alias=True, exclude_none=True) for r in reasons]
        with self.db.transaction() as tx:
            self._move(tx, "submissions", "submission_id", submission_id, "VALIDATING", "REJECTED")
            tx.execute(
                "UPDATE submissions SET reasons = ? WHERE submission_id = ?",
                (json.dumps(dumped), submission_id),
            )
            row = tx.one("SELECT * FROM submissions WHERE submission_id = ?", (submission_id,))
        assert row is not None
        # DPS-WH-REJECTED-REASONS: after the submission reads REJECTED, at least one reason;
        # A-DPS-037: no archiveId, the package never got one.
        event = SubmissionRejectedEvent(
            type="submission.rejected",
            timestamp=_now(),
            data=SubmissionRejectedData(
                contract_id=row["contract_id"], submission_id=submission_id, reasons=reasons
            ),
        )
        self.webhooks.emit("submission.rejected", event, row["client_id"])

    # --- disseminations -------------------------------------------------------------------------

    async def _dissemination(self, dissemination_id: str) -> None:
        steps = itertools.pairwise(DISSEMINATION_STEPS)
        row = self.db.one(
            "SELECT d.*, a.fault, a.submission_id FROM disseminations d"
            " JOIN archives a USING (archive_id) WHERE d.dissemination_id = ?",
            (dissemination_id,),
        )
        assert row is not None
        await asyncio.sleep(self.step_delay)
        self._dissemination_step(dissemination_id, *next(steps))  # -> QUEUED
        await asyncio.sleep(self.step_delay)
        if row["fault"] == "refuse":
            # A-DPS-027: REJECTED follows only RECEIVED or QUEUED; no webhook.
            self._dissemination_step(dissemination_id, "QUEUED", "REJECTED")
            return
        self._dissemination_step(dissemination_id, *next(steps))  # -> DOWNLOADING_FROM_REPOSITORY
        files = self.db.query(
            "SELECT f.file_path, f.checksum, o.data FROM files f JOIN objects o USING (object_key)"
            " WHERE f.submission_id = ? ORDER BY f.rowid",
            (row["submission_id"],),
        )
        await asyncio.sleep(self.step_delay)
        self._dissemination_step(dissemination_id, *next(steps))  # -> FIXITY_CHECK
        await asyncio.sleep(self.step_delay)
        if any(hashlib.md5(bytes(f["data"])).hexdigest() != f["checksum"] for f in files):
            self._dissemination_step(dissemination_id, "FIXITY_CHECK", "FAILED")
            return
        self._dissemination_step(dissemination_id, *next(steps))  # -> UPLOADING_TO_S3
        data = _tar([(f["file_path"], bytes(f["data"])) for f in files])
        filename = f"{row['object_id']}.tar"
        key = f"disseminations/{dissemination_id}/{filename}"
        with self.db.transaction() as tx:
            checksum = store_object(tx, key, data)
        await asyncio.sleep(self.step_delay)
        self._dissemination_step(dissemination_id, *next(steps))  # -> DISSEMINATED
        url, expires = self.objects.download_url(key)
        # DPS-WH-DELIVERED-FILES: sent once the dissemination reads DISSEMINATED.
        event = DisseminationDeliveredEvent(
            type="dissemination.delivered",
            timestamp=_now(),
            data=DisseminationDeliveredData.model_validate(
                {
                    "archiveId": row["archive_id"],
                    "disseminationId": dissemination_id,
                    "objectId": row["object_id"],
                    "clientId": row["client_id"],
                    "contractId": row["contract_id"],
                    "sumSizeInBytes": len(data),
                    "files": [
                        DeliveredFile.model_validate(
                            {
                                "downloadURL": url,
                                "filename": filename,
                                "filesize": len(data),
                                "expirationDate": expires,
                                "checksum": checksum,
                                "checksumAlgorithm": "MD5",
                            }
                        )
                    ],
                }
            ),
        )
        self.webhooks.emit("dissemination.delivered", event, row["client_id"])
