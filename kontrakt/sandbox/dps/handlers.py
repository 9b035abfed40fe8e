"""The DPS v1 business logic on top of the generated server (`generated.dps_v1.server.Handlers`).

The generated routes have already checked the token (401), the contract role of the path (403,
`x-kontrakt-roles`), Accept, Content-Type and the bodies (400). The handlers add what only the
provider knows: path identifiers' patterns, which submissions, files and AIPs exist (404), the
lifecycle preconditions (409 INVALID_STATE), duplicates (409), finalize's upload check (400
UPLOAD_INCOMPLETE), the dissemination's contract role (403, resolved from the archiveId), and
422 for an AIP that is not preserved. Every refusal is `rt.ApiProblem.from_trigger`, so its
code comes from the spec's `x-kontrakt-errors`.
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Final

from kontrakt.generated.dps_v1 import (
    CreateDisseminationRequest,
    CreateSubmissionRequest,
    Dissemination,
    FileResponse,
    PageInfo,
    RegisterFileRequest,
    SubmissionEvent,
    SubmissionPage,
    SubmissionResponse,
)
from kontrakt.generated.dps_v1.client import TERMINAL_STATES
from kontrakt.runtime import server as rt
from kontrakt.sandbox.dps.objects import ObjectStore
from kontrakt.sandbox.dps.pipeline import Pipeline
from kontrakt.sandbox.dps.records import (
    base62_id,
    dissemination_model,
    file_model,
    now_rfc3339,
    object_key,
    submission_model,
)
from kontrakt.sandbox.store import Database, Transaction

__all__ = ["DEFAULT_PAGE_SIZE", "DpsHandlers"]

# spec components.parameters: ContractId ^[0-9a-f]{4}$ (A-DPS-032), the ids Base62/22 (FACTS §3).
# The generated routes check these patterns (DPS-ID-PATH-400) before a handler runs; the
# handlers check again, for callers that bypass the routes.
_PATTERNS: Final = {
    "contractId": re.compile(r"[0-9a-f]{4}"),
    "submissionId": re.compile(r"[0-9a-zA-Z]{22}"),
    "fileId": re.compile(r"[0-9a-zA-Z]{22}"),
    "disseminationId": re.compile(r"[0-9a-zA-Z]{22}"),
}
# NB publishes no default page size (spec Size parameter); the spec's list example uses 20.
DEFAULT_PAGE_SIZE: Final = 20
_REGISTERED: Final = "REGISTERED"


def _check(**values: str) -> None:
    for name, value in values.items():
        if not _PATTERNS[name].fullmatch(value):
            raise rt.ApiProblem.from_trigger(
                "invalid-parameter",
                f"The path parameter {name} is not valid: it does not match its pattern.",
                parameter=name,
                situation="invalid",
                details=name,
            )


def _client_id(auth: rt.AuthContext) -> str:
    # DPS-AUTH-CLIENTID-FROM-TOKEN: the clientId is the token's, never the request's.
    return str(auth.claim("client_id") or auth.claim("azp") or auth.claim("sub") or "unknown")


class DpsHandlers:
    """One method per operation of `generated.dps_v1.server.Handlers`."""

    def __init__(self, db: Database, objects: ObjectStore, pipeline: Pipeline) -> None:
        self.db = db
        self.objects = objects
        self.pipeline = pipeline

    # --- lookups ---------------------------------------------------------------------------------

    def _submission(self, tx: Transaction, contract_id: str, submission_id: str) -> sqlite3.Row:
        row = tx.one(
            "SELECT * FROM submissions WHERE contract_id = ? AND submission_id = ?",
            (contract_id, submission_id),
        )
        if row is None:
            # DPS-NOT-FOUND-SUBMISSION-404 (also for its sub-resources, A-DPS-031).
            raise rt.ApiProblem.from_trigger(
                "not-found", "No such submission in this contract.", details="submissionId"
            )
        return row

    @staticmethod
    def _require_registered(row: sqlite3.Row, what: str) -> None:
        # A-DPS-014 / A-DPS-015 (x-kontrakt-lifecycle requires REGISTERED, otherwise 409).
        if row["status"] != _REGISTERED:
            raise rt.ApiProblem.from_trigger(
                "invalid-state",
                f"{what} is allowed only while the submission is REGISTERED; it is"
                f" {row['status']}.",
                details="status",
            )

    def _files(self, tx: Transaction, submission_id: str) -> list[sqlite3.Row]:
        return tx.query(
            "SELECT * FROM files WHERE submission_id = ? ORDER BY rowid", (submission_id,)
        )

    def _view(self, tx: Transaction, row: sqlite3.Row) -> SubmissionResponse:
        # The spec's `files`: returned from finalize on, absent before.
        finalized = row["status"] != _REGISTERED
        return submission_model(row, self._files(tx, row["submission_id"]) if finalized else None)

    # --- submissions -----------------------------------------------------------------------------

    async def list_submissions(
        self, *, contract_id: str, page: int | None, size: int | None, auth: rt.AuthContext
    ) -> SubmissionPage:
        _check(contractId=contract_id)
        number = 0 if page is None else page
        per_page = DEFAULT_PAGE_SIZE if size is None else size
        # spec Page minimum 0, Size minimum 1 (DPS-ID-PATH-400 for the list's parameters).
        for name, value, low in (("page", number, 0), ("size", per_page, 1)):
            if value < low:
                raise rt.ApiProblem.from_trigger(
                    "invalid-parameter",
                    f"The query parameter {name} is not valid: it must be at least {low}.",
                    parameter=name,
                    situation="invalid",
                    details=name,
                )
        with self.db.transaction() as tx:
            total = tx.one(
                "SELECT count(*) AS n FROM submissions WHERE contract_id = ?", (contract_id,)
            )
            rows = tx.query(
                "SELECT * FROM submissions WHERE contract_id = ? ORDER BY rowid LIMIT ? OFFSET ?",
                (contract_id, per_page, number * per_page),
            )
            content = [self._view(tx, row) for row in rows]
        count = int(total["n"]) if total is not None else 0
        # DPS-LIST-PAGE-CONSISTENT: totalPages = ceil(totalElements / size).
        info = PageInfo(
            size=per_page, number=number, total_elements=count, total_pages=-(-count // per_page)
        )
        return SubmissionPage(content=content, page=info)

    async def create_submission(
        self, *, contract_id: str, body: CreateSubmissionRequest, auth: rt.AuthContext
    ) -> SubmissionResponse:
        _check(contractId=contract_id)
        submission_id = base62_id()
        try:
            with self.db.transaction() as tx:
                tx.execute(
                    "INSERT INTO submissions (submission_id, contract_id, object_id, client_id,"
                    " status, priority, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        submission_id,
                        contract_id,
                        body.object_id,
                        _client_id(auth),
                        # DPS-CREATE-INITIAL-STATE (x-kontrakt-lifecycle moves-to REGISTERED).
                        _REGISTERED,
                        body.priority,  # DPS-PRIORITY-DEFAULT: the model's default is 50
                        body.metadata.model_dump_json(by_alias=True, exclude_none=True),
                        now_rfc3339(),
                    ),
                )
                row = self._submission(tx, contract_id, submission_id)
        except sqlite3.IntegrityError:
            # DPS-CONFLICT-OBJECTID-409; A-DPS-011: only within the same contract.
            raise rt.ApiProblem.from_trigger(
                "conflict",
                "A submission with this objectId already exists in the contract.",
                details="objectId",
            ) from None
        return submission_model(row)

    async def get_submission_status(
        self, *, contract_id: str, submission_id: str, auth: rt.AuthContext
    ) -> SubmissionResponse:
        _check(contractId=contract_id, submissionId=submission_id)
        with self.db.transaction() as tx:
            return self._view(tx, self._submission(tx, contract_id, submission_id))

    async def delete_submission(
        self, *, contract_id: str, submission_id: str, auth: rt.AuthContext
    ) -> None:
        _check(contractId=contract_id, submissionId=submission_id)
        with self.db.transaction() as tx:
            row = self._submission(tx, contract_id, submission_id)
            self._require_registered(row, "Deleting a submission")  # A-DPS-015
            tx.execute(
                "DELETE FROM objects WHERE object_key IN"
                " (SELECT object_key FROM files WHERE submission_id = ?)",
                (submission_id,),
            )
            # A-DPS-012: gone completely; its objectId is free again. Files and events cascade.
            tx.execute("DELETE FROM submissions WHERE submission_id = ?", (submission_id,))

    # --- files -----------------------------------------------------------------------------------

    async def register_file(
        self,
        *,
        contract_id: str,
        submission_id: str,
        body: RegisterFileRequest,
        auth: rt.AuthContext,
    ) -> FileResponse:
        _check(contractId=contract_id, submissionId=submission_id)
        with self.db.transaction() as tx:
            row = self._submission(tx, contract_id, submission_id)
            self._require_registered(row, "Registering a file")  # A-DPS-014
            taken = tx.one(
                "SELECT 1 FROM files WHERE submission_id = ? AND file_path = ?",
                (submission_id, body.file_path),
            )
            if taken is not None:
                # DPS-CONFLICT-FILEPATH-409.
                raise rt.ApiProblem.from_trigger(
                    "conflict",
                    "A file with this filePath is already registered in the submission.",
                    details="filePath",
                )
            file_id = base62_id()
            key = object_key(row["client_id"], contract_id, submission_id, body.file_path)
            tx.execute(
                "INSERT INTO files (file_id, submission_id, file_path, checksum, is_packaged,"
                " object_key, upload_url) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    file_id,
                    submission_id,
                    body.file_path,
                    body.checksum,
                    int(body.is_packaged),
                    key,
                    self.objects.upload_url(key, file_id),
                ),
            )
            # DPS-UPLOAD-REREGISTER: a file registered again starts without bytes.
            tx.execute("DELETE FROM objects WHERE object_key = ?", (key,))
            created = tx.one("SELECT * FROM files WHERE file_id = ?", (file_id,))
        assert created is not None
        return file_model(created)

    def _file(
        self, tx: Transaction, contract_id: str, submission_id: str, file_id: str
    ) -> tuple[sqlite3.Row, sqlite3.Row]:
        submission = self._submission(tx, contract_id, submission_id)
        row = tx.one(
            "SELECT * FROM files WHERE submission_id = ? AND file_id = ?", (submission_id, file_id)
        )
        if row is None:
            # DPS-NOT-FOUND-FILE-404: unknown, or a file of another submission.
            raise rt.ApiProblem.from_trigger(
                "not-found", "No such file in this submission.", details="fileId"
            )
        return submission, row

    async def get_file(
        self, *, contract_id: str, submission_id: str, file_id: str, auth: rt.AuthContext
    ) -> FileResponse:
        _check(contractId=contract_id, submissionId=submission_id, fileId=file_id)
        with self.db.transaction() as tx:
            _, row = self._file(tx, contract_id, submission_id, file_id)
        return file_model(row)

    async def delete_file(
        self, *, contract_id: str, submission_id: str, file_id: str, auth: rt.AuthContext
    ) -> None:
        _check(contractId=contract_id, submissionId=submission_id, fileId=file_id)
        with self.db.transaction() as tx:
            submission, row = self._file(tx, contract_id, submission_id, file_id)
            self._require_registered(submission, "Deleting a file")  # A-DPS-014
            tx.execute("DELETE FROM objects WHERE object_key = ?", (row["object_key"],))
            tx.execute("DELETE FROM files WHERE file_id = ?", (file_id,))

    # --- finalize and events ---------------------------------------------------------------------

    async def finalize_submission(
        self, *, contract_id: str, submission_id: str, auth: rt.AuthContext
    ) -> SubmissionResponse:
        _check(contractId=contract_id, submissionId=submission_id)
        with self.db.transaction() as tx:
            row = self._submission(tx, contract_id, submission_id)
            # DPS-STATE-FINALIZE-ONCE-409: a second finalize is 409, not 200.
            self._require_registered(row, "Finalizing")
            files = tx.query(
                "SELECT f.file_path, o.size FROM files f LEFT JOIN objects o USING (object_key)"
                " WHERE f.submission_id = ? ORDER BY f.rowid",
                (submission_id,),
            )
            if not files:
                raise rt.ApiProblem.from_trigger(  # DPS-FINALIZE-NO-FILES-400
                    "business-rule", "No file is registered in the submission.", details="files"
                )
            missing = [f["file_path"] for f in files if f["size"] is None]
            if missing:
                raise rt.ApiProblem.from_trigger(  # DPS-FINALIZE-MISSING-UPLOAD-400
                    "business-rule",
                    f"{len(missing)} registered file(s) have not been uploaded.",
                    details=", ".join(missing),
                )
            # x-kontrakt-lifecycle moves-to UPLOAD_COMPLETED; DPS-FINALIZE-SUMSIZE.
            tx.execute(
                "UPDATE submissions SET status = 'UPLOAD_COMPLETED', sum_size = ?"
                " WHERE submission_id = ?",
                (sum(int(f["size"]) for f in files), submission_id),
            )
            result = self._view(tx, self._submission(tx, contract_id, submission_id))
        # DPS-FINALIZE-ASYNC-VALIDATION: transfer, validation and archiving happen afterwards.
        self.pipeline.start_submission(submission_id)
        return result

    async def create_submission_event(
        self,
        *,
        contract_id: str,
        submission_id: str,
        body: SubmissionEvent,
        auth: rt.AuthContext,
    ) -> SubmissionEvent:
        _check(contractId=contract_id, submissionId=submission_id)
        with self.db.transaction() as tx:
            row = self._submission(tx, contract_id, submission_id)
            # DPS-STATE-EVENTS-BEFORE-TERMINAL-409 (A-DPS-016).
            if row["status"] in TERMINAL_STATES["submission"]:
                raise rt.ApiProblem.from_trigger(
                    "invalid-state",
                    f"The submission is {row['status']} and takes no more events.",
                    details="status",
                )
            stored = body.model_dump_json(by_alias=True, exclude_none=True)
            tx.execute(
                "INSERT INTO events (submission_id, body) VALUES (?, ?)", (submission_id, stored)
            )
        # A-DPS-010: 201 with the stored event, in the same shape.
        return SubmissionEvent.model_validate(json.loads(stored))

    # --- disseminations --------------------------------------------------------------------------

    async def create_dissemination(
        self, *, body: CreateDisseminationRequest, auth: rt.AuthContext
    ) -> Dissemination:
        client_id = _client_id(auth)
        with self.db.transaction() as tx:
            archive = tx.one(
                "SELECT a.*, s.sum_size FROM archives a JOIN submissions s USING (submission_id)"
                " WHERE a.archive_id = ?",
                (body.archive_id,),
            )
            if archive is None:  # DPS-NOT-FOUND-ARCHIVE-404
                raise rt.ApiProblem.from_trigger(
                    "not-found", "No AIP has this archiveId.", details="archiveId"
                )
            # DPS-AUTH-DISSEMINATION-ROLE / A-DPS-029: {contractId}_R of the AIP's contract; the
            # route could only check that the token holds some *_R role.
            auth.require_roles(contractId=archive["contract_id"])
            if archive["status"] != "PRESERVED":  # DPS-AIP-NOT-PRESERVED-422
                raise rt.ApiProblem.from_trigger(
                    "unprocessable",
                    "The AIP behind this archiveId is not preserved yet.",
                    details="archiveId",
                )
            running = tx.one(
                "SELECT dissemination_id FROM disseminations WHERE archive_id = ?"
                " AND client_id = ? AND status NOT IN (?, ?, ?)",
                (body.archive_id, client_id, *TERMINAL_STATES["dissemination"]),
            )
            if running is not None:
                # DPS-CONFLICT-DISSEMINATION-409; A-DPS-019: only while not terminal.
                raise rt.ApiProblem.from_trigger(
                    "conflict",
                    "A dissemination of this archiveId for this client is in progress.",
                    details=running["dissemination_id"],
                )
            dissemination_id = base62_id()
            tx.execute(
                "INSERT INTO disseminations (dissemination_id, archive_id, client_id,"
                " contract_id, object_id, sum_size, status, priority, date_created)"
                " VALUES (?, ?, ?, ?, ?, ?, 'RECEIVED', ?, ?)",
                (
                    dissemination_id,
                    body.archive_id,
                    client_id,
                    archive["contract_id"],
                    archive["object_id"],
                    archive["sum_size"] or 0,
                    body.priority,  # DPS-PRIORITY-DEFAULT
                    now_rfc3339(),
                ),
            )
            row = tx.one(
                "SELECT * FROM disseminations WHERE dissemination_id = ?", (dissemination_id,)
            )
        assert row is not None
        self.pipeline.start_dissemination(dissemination_id)
        return dissemination_model(row)

    async def get_dissemination(
        self, *, dissemination_id: str, auth: rt.AuthContext
    ) -> Dissemination:
        _check(disseminationId=dissemination_id)
        row = self.db.one(
            "SELECT * FROM disseminations WHERE dissemination_id = ?", (dissemination_id,)
        )
        if row is None:  # DPS-NOT-FOUND-DISSEMINATION-404
            raise rt.ApiProblem.from_trigger(
                "not-found", "No such dissemination.", details="disseminationId"
            )
        # DPS-AUTH-DISSEMINATION-ROLE: the dissemination's (the AIP's) contract, A-DPS-029.
        auth.require_roles(contractId=row["contract_id"])
        return dissemination_model(row)
