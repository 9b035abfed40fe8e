"""The sandbox's TEST keys: generated on first start into a state folder, never shipped.

A clone of the repository keeps a committed set in `kontrakt/sandbox/fixtures/keys/` (the tests
and the committed manifests name those files); an installed kontrakt has none and writes a fresh
set on first use into `$KONTRAKT_SANDBOX_KEYS`, else `$XDG_STATE_HOME/kontrakt/sandbox-keys`
(default `~/.local/state/kontrakt/sandbox-keys`). The set: the token issuer's signing key, the
registered test client's key (RFC 7523 assertions, DSOP's JWE encryption certificate), and
Politiet's stand-ins for extradition orders (a signing key, its certificate and a root CA, in
place of the Buypass TEST root). Fixture files name them `keys/<file>`; `resolve_key` maps that
to whichever folder is in use.
"""

from __future__ import annotations

import datetime as dt
import os
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

__all__ = ["COMMITTED", "ensure_keys", "keys_dir", "resolve_key"]

COMMITTED = Path(__file__).resolve().parent / "fixtures" / "keys"
_FILES = (
    "issuer.pem",
    "issuer.pub.pem",
    "client.pem",
    "client.pub.pem",
    "politi-eo-test.pem",
    "politi-eo-test.crt.pem",
    "politi-test-root.crt.pem",
)


def _state_folder() -> Path:
    explicit = os.environ.get("KONTRAKT_SANDBOX_KEYS")
    if explicit:
        return Path(explicit).expanduser()
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "kontrakt" / "sandbox-keys"


@cache
def keys_dir() -> Path:
    """The folder holding the sandbox's keys: the clone's committed set, else a generated one."""
    if not os.environ.get("KONTRAKT_SANDBOX_KEYS") and all(
        (COMMITTED / name).is_file() for name in _FILES
    ):
        return COMMITTED
    return ensure_keys(_state_folder())


def resolve_key(relative: str, fixture_folder: Path) -> Path:
    """A key file a fixture names: `keys/<file>` is in `keys_dir()`, anything else is relative
    to the fixture's folder."""
    parts = Path(relative).parts
    if len(parts) == 2 and parts[0] == "keys":
        return keys_dir() / parts[1]
    return (fixture_folder / relative).resolve()


def _write(path: Path, data: bytes, *, private: bool) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    descriptor = os.open(temporary, flags, 0o600 if private else 0o644)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    temporary.replace(path)


def _private_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _name(*parts: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in parts])


def _certificates(leaf_key: rsa.RSAPrivateKey) -> tuple[bytes, bytes]:
    """A root CA and the leaf certificate it signs for `leaf_key`, both valid for a century."""
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=1)
    until = now + dt.timedelta(days=36500)
    root_name = _name(
        (NameOID.COUNTRY_NAME, "NO"),
        (NameOID.ORGANIZATION_NAME, "kontrakt sandbox (TEST ONLY)"),
        (NameOID.COMMON_NAME, "kontrakt sandbox TEST police root CA"),
    )
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(root_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(
            _name(
                (NameOID.COUNTRY_NAME, "NO"),
                (NameOID.ORGANIZATION_NAME, "Politiet (kontrakt sandbox TEST ONLY)"),
                (NameOID.ORGANIZATIONAL_UNIT_NAME, "Påtalemyndigheten"),
                (NameOID.COMMON_NAME, "Godkjenning av utleveringspålegg TEST"),
            )
        )
        .issuer_name(root_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .sign(root_key, hashes.SHA256())
    )
    encoding = serialization.Encoding.PEM
    return leaf.public_bytes(encoding), root.public_bytes(encoding)


def ensure_keys(folder: Path) -> Path:
    """Write whatever of the key set `folder` lacks (a set is written whole or reused whole)."""
    if all((folder / name).is_file() for name in _FILES):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for stem in ("issuer", "client"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _write(folder / f"{stem}.pem", _private_pem(key), private=True)
        _write(folder / f"{stem}.pub.pem", _public_pem(key), private=False)
    politi = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf, root = _certificates(politi)
    _write(folder / "politi-eo-test.pem", _private_pem(politi), private=True)
    _write(folder / "politi-eo-test.crt.pem", leaf, private=False)
    _write(folder / "politi-test-root.crt.pem", root, private=False)
    return folder
