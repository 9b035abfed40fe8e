"""`kontrakt verify`: is a certificate genuine, still valid, and about this spec?

Checks, in order: the DSSE signature against the certifier's public key (any edit of the
statement, its payload type or the signature's key id breaks it), the statement's type and
predicate type, the validity window at `--at` (default: now), and with `--spec` whether that
document is the one certified or differs from it only by changes `kontrakt diff` classifies as
allowed (each printed). A `warn` or `breaking` change, or a spec of another profile, makes the
certificate invalid for that spec.

Exit status: 0 valid, 1 invalid (one line saying why), 2 an input cannot be read (certificate,
key, spec, or a malformed --at).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from securesystemslib.signer import SSlibKey

__all__ = ["Unreadable", "Verification", "parse_at", "verify_certificate", "verify_command"]


class Unreadable(Exception):
    """An input of `kontrakt verify` cannot be read at all (exit status 2)."""


@dataclass
class Verification:
    """The outcome: valid or not, the one-line reason, what else is worth printing."""

    valid: bool
    reason: str
    statement: dict[str, Any] | None = None
    allowed_changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def parse_at(text: str) -> dt.datetime:
    """`--at`: an ISO date (midnight UTC) or date-time (UTC when no offset is given)."""
    try:
        if len(text) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), dt.UTC)
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Unreadable(f"--at {text!r}: not an ISO date or date-time") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _public_key(path: Path) -> SSlibKey:
    from cryptography.hazmat.primitives.serialization import (
        load_pem_private_key,
        load_pem_public_key,
    )
    from securesystemslib.signer import SSlibKey

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise Unreadable(f"cannot read the key {path}: {exc.strerror}") from None
    try:
        public = load_pem_public_key(data)
    except (ValueError, TypeError):
        try:  # the certifier's own private key also names its public half
            public = load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError):
            raise Unreadable(f"{path}: not a PEM public key") from None
    try:
        return SSlibKey.from_crypto(public)
    except ValueError as exc:
        raise Unreadable(f"{path}: unsupported key ({exc})") from None


def _envelope_data(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise Unreadable(f"cannot read {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, ValueError):
        raise Unreadable(f"{path}: not JSON") from None
    if not isinstance(data, dict) or not {"payload", "payloadType", "signatures"} <= set(data):
        raise Unreadable(f"{path}: not a DSSE envelope (payload, payloadType, signatures)")
    return data


def _diff_ruleset(data: Mapping[str, Any]) -> str:
    api = data.get("x-kontrakt-api")
    family = str(api.get("family", "")) if isinstance(api, Mapping) else ""
    return family if family in ("dan", "sdir") else "generic"


def _check_spec(predicate: Mapping[str, Any], spec_path: Path, result: Verification) -> None:
    from kontrakt.conformance.certificate import decode_document, shareable_spec, spec_digest
    from kontrakt.conformance.spec import Spec, SpecError
    from kontrakt.diff.engine import diff_documents
    from kontrakt.diff.load import KIND_OPENAPI, Document
    from kontrakt.diff.model import Verdict

    try:
        spec = Spec.from_path(spec_path)
    except SpecError as exc:
        raise Unreadable(f"--spec: {exc}") from None
    certified = predicate["spec"]
    if spec.id != predicate["profile"]:
        result.valid = False
        result.reason = f"{spec_path} is profile {spec.id}, the certificate {predicate['profile']}"
        return
    if spec_digest(spec.data) == certified["sha256"]:
        result.notes.append(f"spec {spec_path}: the one certified (sha256 {certified['sha256']})")
        return
    old = decode_document(certified["document"]["canonical_json"])
    new = shareable_spec(spec.data)
    if old == new:
        result.notes.append(
            f"spec {spec_path}: differs from the certified one only in masked values "
            "(identity-number or token-shaped examples)"
        )
        return
    diff = diff_documents(
        Document("certified", old, KIND_OPENAPI),
        Document(str(spec_path), new, KIND_OPENAPI),
        _diff_ruleset(spec.data),
    )
    worse = [c for c in diff.changes if c.verdict is not Verdict.ALLOWED]
    if worse:
        shown = "; ".join(f"{c.verdict.value} {c.id}: {c.message}" for c in worse[:3])
        more = f" (+{len(worse) - 3} more)" if len(worse) > 3 else ""
        result.valid = False
        result.reason = f"{spec_path} changed since the certification: {shown}{more}"
        return
    result.allowed_changes = [f"{c.id}: {c.message}" for c in diff.changes]
    result.notes.append(
        f"spec {spec_path}: differs from the certified one only by "
        f"{len(diff.changes)} change(s) kontrakt diff classifies as allowed"
    )


def verify_certificate(
    certificate: Path, key: Path, *, spec: Path | None = None, at: dt.datetime | None = None
) -> Verification:
    """Verify `certificate` with the public key in `key` (see the module docstring)."""
    from securesystemslib.dsse import Envelope
    from securesystemslib.exceptions import FormatError, VerificationError

    from kontrakt.conformance.certificate import PAYLOAD_TYPE, PREDICATE_TYPE, STATEMENT_TYPE

    data = _envelope_data(certificate)
    public = _public_key(key)
    when = at or dt.datetime.now(dt.UTC)
    if data["payloadType"] != PAYLOAD_TYPE:
        return Verification(False, f"payload type {data['payloadType']!r}, not {PAYLOAD_TYPE}")
    if not data["signatures"]:
        return Verification(False, "unsigned certificate: nothing vouches for it")
    try:
        envelope = Envelope.from_dict(json.loads(json.dumps(data)))  # from_dict edits its input
        envelope.verify([public], 1)
    except (VerificationError, FormatError, ValueError, KeyError, TypeError, AttributeError):
        return Verification(
            False,
            f"the signature does not verify with {key.name} (key id {public.keyid[:16]}...): "
            "another certifier's key, or the certificate was edited",
        )
    try:
        # What was verified, not a second decoding of the file.
        statement = json.loads(envelope.payload)
        predicate = statement["predicate"]
        if statement["_type"] != STATEMENT_TYPE or statement["predicateType"] != PREDICATE_TYPE:
            return Verification(False, "not a kontrakt certification statement", statement)
        issued = parse_at(predicate["issued_at"])
        expires = parse_at(predicate["expires_at"])
        if not isinstance(predicate.get("provider"), dict):
            raise TypeError("provider")
    except (ValueError, KeyError, TypeError, AttributeError, Unreadable):
        return Verification(False, "the signed statement is not a kontrakt certificate")
    if not predicate.get("signed"):
        return Verification(False, "the statement says it was issued unsigned", statement)
    result = Verification(
        True,
        f"{predicate['profile']} certified for {predicate['provider']['base_url']} at level "
        f"{predicate['level']}, issued {predicate['issued_at']}, expires {predicate['expires_at']}",
        statement,
    )
    if when > expires:
        return Verification(
            False, f"expired at {predicate['expires_at']} (checked at {when:%Y-%m-%dT%H:%M:%SZ})"
        )
    if when < issued:
        return Verification(False, f"not valid before {predicate['issued_at']}")
    if spec is not None:
        from kontrakt.diff.load import LoadError

        try:
            _check_spec(predicate, spec, result)
        except (KeyError, TypeError, ValueError, LoadError) as exc:
            return Verification(False, f"cannot compare {spec} with the certified spec ({exc})")
    return result


def verify_command(
    certificate: Annotated[
        Path, typer.Argument(help="certificate.json written by kontrakt certify.")
    ],
    key: Annotated[
        Path,
        typer.Option("--key", help="The certifier's public key (PEM: Ed25519, ECDSA P-256, RSA)."),
    ],
    spec: Annotated[
        Path | None,
        typer.Option(
            "--spec",
            help="Also check this OpenAPI document is the one certified, or differs from it "
            "only by changes kontrakt diff classifies as allowed.",
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="Check validity at this ISO date or date-time (default: now)."),
    ] = None,
) -> None:
    """Verify a certificate: signature, expiry and (with --spec) the spec it certifies.

    Exit status: 0 valid, 1 invalid (with the reason), 2 an input cannot be read.
    """
    try:
        when = parse_at(at) if at is not None else None
        outcome = verify_certificate(certificate, key, spec=spec, at=when)
    except Unreadable as exc:
        typer.echo(f"kontrakt verify: {exc}", err=True)
        raise typer.Exit(2) from None
    if not outcome.valid:
        typer.echo(f"invalid: {outcome.reason}")
        raise typer.Exit(1)
    typer.echo(f"valid: {outcome.reason}")
    for note in outcome.notes:
        typer.echo(f"  {note}")
    for change in outcome.allowed_changes:
        typer.echo(f"  allowed: {change}")
    raise typer.Exit(0)
