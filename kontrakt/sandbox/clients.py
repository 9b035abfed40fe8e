"""The sandbox's registered clients (`kontrakt/sandbox/fixtures/clients.yaml`) and its key files.

One registry serves the token issuer (who may ask for which scopes, with which secret or public
key, and which claims its tokens carry) and the providers that need a client's public key, as
DSOP banks look up a consumer's encryption certificate in CertPub.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kontrakt.sandbox.keys import resolve_key

__all__ = ["FIXTURES", "Client", "Registry", "load_private_key", "load_public_key"]

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@cache
def load_private_key(path: Path) -> rsa.RSAPrivateKey:
    """An RSA private key from a PEM file (the sandbox's own: `kontrakt.sandbox.keys`)."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path}: not an RSA private key")
    return key


@cache
def load_public_key(path: Path) -> rsa.RSAPublicKey:
    """An RSA public key from a PEM file."""
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError(f"{path}: not an RSA public key")
    return key


@dataclass(frozen=True)
class Client:
    """One registered client: its credentials, organisation, scopes and extra token claims."""

    client_id: str
    organisation: str
    scopes: frozenset[str]
    secret_sha256: str | None = None
    public_key: Path | None = None
    claims: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""

    def secret_matches(self, presented: str) -> bool:
        """Constant-time comparison of a presented secret with the registered digest."""
        if self.secret_sha256 is None:
            return False
        digest = hashlib.sha256(presented.encode("utf-8")).hexdigest()
        return hmac.compare_digest(digest, self.secret_sha256)

    def rsa_public_key(self) -> rsa.RSAPublicKey | None:
        return load_public_key(self.public_key) if self.public_key else None


class Registry:
    """The clients by id and by organisation number, read once from a YAML fixture."""

    def __init__(self, clients: list[Client]) -> None:
        self.clients = {c.client_id: c for c in clients}
        if len(self.clients) != len(clients):
            raise ValueError("duplicate client_id in the client registry")

    @classmethod
    def load(cls, path: Path = FIXTURES / "clients.yaml") -> Registry:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        clients = []
        for entry in data["clients"]:
            secret = entry.get("secret")
            key = entry.get("public_key")
            clients.append(
                Client(
                    client_id=entry["client_id"],
                    organisation=str(entry["organisation"]),
                    scopes=frozenset(entry.get("scopes", ())),
                    # Only a digest is kept in memory: the registry never holds the secret.
                    secret_sha256=hashlib.sha256(secret.encode()).hexdigest() if secret else None,
                    public_key=resolve_key(key, path.parent) if key else None,
                    claims=entry.get("claims", {}),
                    description=entry.get("description", ""),
                )
            )
        return cls(clients)

    def get(self, client_id: str) -> Client | None:
        return self.clients.get(client_id)

    def by_organisation(self, organisation: str) -> list[Client]:
        """Every client of one organisation (a consumer's CertPub lookup)."""
        return [c for c in self.clients.values() if c.organisation == organisation]
