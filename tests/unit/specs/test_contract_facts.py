"""The authored contracts still say what the publishers say (FACTS.md), fact by fact.

Lint proves a contract is coherent; the fidelity tests prove its structure matches the
publisher's OpenAPI where one exists. These tests pin the domain facts that live only in prose
sources (error matrices, lifecycles, services, batch limits), so an edit cannot drop them quietly.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from kontrakt.specfile import read_spec
from tests.conftest import REPO

METHODS = ("get", "put", "post", "delete", "patch")


@cache
def spec(name: str) -> dict[str, Any]:
    return read_spec(REPO / "specs" / name / "openapi.yaml").data


def operations(doc: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {
        op["operationId"]: (method, path, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def codes_for(doc: dict[str, Any], op: dict[str, Any], status: str) -> set[str]:
    response = op["responses"][status]
    if "$ref" in response:
        response = doc["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return {str(use["code"]) for use in response.get("x-kontrakt-errors", [])}


# -- DSOP Control v2.0 (FACTS §2, §5, §6) ------------------------------------------------------
DSOP_OPS = {"listAccounts", "showAccountById", "listTransactions", "listCards", "listRoles"}
ACC = {
    "400": {"ACC-001"},
    "401": {"ACC-010"},
    "403": {"ACC-011"},
    "404": {"ACC-002", "ACC-003"},
    "405": {"ACC-012"},
    "406": {"ACC-013"},
    "429": {"ACC-022"},
    "500": {"ACC-100", "ACC-500"},
}


def test_dsop_v2_has_the_five_get_operations_and_the_acc_matrix() -> None:
    doc = spec("dsop-control/v2.0")
    ops = operations(doc)
    assert set(ops) == DSOP_OPS
    for op_id, (method, _, op) in ops.items():
        assert method == "get"
        expected = {s for s in ACC if not (op_id == "listAccounts" and s == "404")}
        assert set(op["responses"]) == {"200", *expected}, op_id
        for status in expected:
            assert codes_for(doc, op, status) == ACC[status], (op_id, status)
        media = op["responses"]["200"]["content"]
        assert media["application/json"]["x-kontrakt-environments"] == ["test"]
        assert media["application/jose"]["x-kontrakt-environments"] == ["test", "production"]


def test_dsop_v1_has_no_406() -> None:
    for _, _, op in operations(spec("dsop-control/v1.1.1")).values():
        assert "406" not in op["responses"]


@pytest.mark.parametrize(
    ("service", "allowed"),
    [
        ("Skatt-Kontroll", DSOP_OPS),
        ("Politi-Utlevering", DSOP_OPS),
        ("OED", {"listAccounts", "showAccountById", "listTransactions"}),
        ("Vergekontroll", {"listAccounts", "showAccountById", "listTransactions", "listRoles"}),
        ("Konkursbehandling", {"listAccounts", "showAccountById", "listTransactions"}),
        ("FI-Utlegg", {"listAccounts", "showAccountById"}),
    ],
)
def test_dsop_services_allow_the_documented_endpoints(service: str, allowed: set[str]) -> None:
    entry = spec("dsop-control/v2.0")["x-kontrakt-services"][service]
    assert set(entry["operations"]) == allowed
    expected = ("403", "ACC-011") if service == "Politi-Utlevering" else ("400", "ACC-001")
    assert (str(entry["outside"]["status"]), entry["outside"]["code"]) == expected


# -- DPS (FACTS §6, §8, §9, §11) ---------------------------------------------------------------
def test_dps_lifecycles_and_error_envelope() -> None:
    doc = spec("dps/v1")
    life = doc["x-kontrakt-lifecycles"]["submission"]
    assert list(life["states"]) == [
        "REGISTERED",
        "UPLOAD_COMPLETED",
        "TRANSFERRING",
        "VALIDATING",
        "ARCHIVING",
        "PRESERVED",
        "REJECTED",
    ]
    assert {s for s, v in life["states"].items() if v["terminal"]} == {"PRESERVED", "REJECTED"}
    assert life["unknown-states"] == "non-terminal"
    dis = doc["x-kontrakt-lifecycles"]["dissemination"]["states"]
    assert {s for s, v in dis.items() if v["terminal"]} == {"DISSEMINATED", "FAILED", "REJECTED"}
    assert doc["x-kontrakt-error-catalogue"]["code-pointer"] == "/error/code"
    assert set(doc["webhooks"]) >= {
        "submission.preserved",
        "submission.rejected",
        "dissemination.delivered",
    }
    statuses = {s for _, _, op in operations(doc).values() for s in op["responses"]}
    assert {"200", "201", "400", "401", "403", "404", "409", "422", "500"} <= statuses


def test_dps_roles_on_every_operation() -> None:
    for op_id, (method, _, op) in operations(spec("dps/v1")).items():
        roles = set(op["x-kontrakt-roles"]["any-of"])
        if method == "get":
            assert any(r.endswith("_R") for r in roles), op_id
        elif "dissemination" not in op_id.lower():
            assert roles == {"{contractId}_W"}, op_id


# -- DAN (FACTS §6, §7) ------------------------------------------------------------------------
def test_dan_error_catalogue_and_status_codes() -> None:
    doc = spec("dan/v1")
    codes = doc["x-kontrakt-error-catalogue"]["codes"]
    assert set(codes) == {str(c) for c in [*range(1000, 1030), 3001, 3002, 3003]}
    http = {
        "1002": 404,
        "1010": 403,
        "1013": 503,
        "1015": 500,
        "1023": 401,
        "1024": 401,
        "3001": 503,
        "3002": 400,
        "3003": 502,
    }
    for code, status in http.items():
        mapped = codes[code]["status"]
        assert status in (mapped if isinstance(mapped, list) else [mapped]), code
    states = doc["x-kontrakt-lifecycles"]["consent"]["states"]
    assert [states[name]["code"] for name in states] == list(range(8))


def test_dan_protected_operations_need_key_and_token_together() -> None:
    doc = spec("dan/v1")
    for op_id, (_, path, op) in operations(doc).items():
        requirements = op.get("security", doc.get("security", []))
        if path.startswith("/public/metadata"):
            continue
        assert any(len(r) == 2 for r in requirements), op_id


# -- Sdir (FACTS §10) --------------------------------------------------------------------------
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_sdir_batches_are_atomic_and_capped_at_100(version: str) -> None:
    doc = spec(f"sdir-additional-competence/{version}")
    batches = [op for _, path, op in operations(doc).values() if path.endswith("/batch")]
    assert batches
    for op in batches:
        batch = op["x-kontrakt-batch"]
        assert (batch["atomic"], batch["max-items"], batch["too-large-status"]) == (True, 100, 413)
        assert batch["index-pointer"] == "/errors/*/index"
        assert "413" in op["responses"]
    schemes = doc["components"]["securitySchemes"]
    assert any(s.get("name") == "Ocp-Apim-Subscription-Key" for s in schemes.values())
