"""The sandbox providers `kontrakt serve` knows: name, title, module, port and base path.

A module of its own, with no imports of the providers or of uvicorn, so the CLI can list the
providers in its help text cheaply; `sandbox.launch` re-exports both names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["PROVIDERS", "ProviderInfo"]


@dataclass(frozen=True)
class ProviderInfo:
    """One sandbox provider: where its code is, its port after the issuer's, its base path."""

    name: str
    title: str
    module: str
    port_offset: int
    base_path: str


PROVIDERS: Mapping[str, ProviderInfo] = {
    p.name: p
    for p in (
        ProviderInfo(
            "dsop-control", "DSOP Control API v2.0", "kontrakt.sandbox.dsop_control", 1, "/v2"
        ),
        ProviderInfo("dps", "DPS v1", "kontrakt.sandbox.dps", 2, "/dps-submission"),
        ProviderInfo("dan", "DAN v1", "kontrakt.sandbox.dan", 3, "/v1"),
        ProviderInfo(
            "sdir",
            "Sdir additional competence v1 and v2",
            "kontrakt.sandbox.sdir",
            4,
            "/aps-additionalcompetence-external",
        ),
        ProviderInfo(
            "dsop-customer-relation",
            "DSOP Customer Relation Overview v2.0 (Bits register)",
            "kontrakt.sandbox.dsop_customer_relation",
            5,
            "/kar-ws/api/v1",
        ),
        ProviderInfo(
            "dsop-control-2",
            "DSOP Control API v2.0, second bank",
            "kontrakt.sandbox.dsop_customer_relation.second_bank",
            6,
            "/v2",
        ),
    )
}
