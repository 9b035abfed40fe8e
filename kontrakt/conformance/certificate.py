"""Certificates of a passed certify run: an in-toto Statement v1 in a DSSE envelope, signed.

A certificate is what a provider shows a consumer or a regulator, so it must be checkable by
someone who trusts only the certifier's public key: `kontrakt verify` (`conformance.verify`)
checks the signature, the expiry and whether a spec is the one certified. The envelope and the
signatures come from securesystemslib (its `dsse.Envelope` and `CryptoSigner`); nothing here
does cryptography by hand.

What the statement holds is documented in docs/certificates.md (predicate type
`https://kontrakt.dev/certification/v1`). Never a secret or an identity number: the manifest is
digested after its secrets are removed, fixture overrides pass through the run's redaction, and
waiver reasons are redacted like report text.

No certificate is issued (and the reason is given) when the profile did not pass, when a rule
filter (`--rules`) chose what ran, when any rule could not be judged (`error`, waived or not),
when a manifest waiver is past its date, or when the run could not start or the provider stopped
answering. Without a signing key the certificate is written unsigned and says so.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import inspect
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kontrakt.conformance.redact import SECRET_MASK, Redactor, sensitive_header

if TYPE_CHECKING:
    from securesystemslib.signer import CryptoSigner

    from kontrakt.conformance.manifest import Manifest
    from kontrakt.conformance.profile import Profile
    from kontrakt.conformance.runner import RunResult

__all__ = [
    "CERTIFICATE_FILES",
    "CERTIFICATE_VERSION",
    "DEFAULT_VALID_DAYS",
    "PAYLOAD_TYPE",
    "PREDICATE_TYPE",
    "STATEMENT_TYPE",
    "CertificateError",
    "Issued",
    "build_statement",
    "canonical_json",
    "certificate_markdown",
    "decode_document",
    "encode_document",
    "issue_certificate",
    "load_signer",
    "read_statement",
    "refusal",
    "shareable_spec",
    "spec_digest",
]

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://kontrakt.dev/certification/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
CERTIFICATE_VERSION = "2"
DEFAULT_VALID_DAYS = 365
CERTIFICATE_FILES = ("certificate.json", "certificate.md")
_RULES_PACKAGE_DIR = Path(__file__).resolve().parent / "rules"
# Names that look like credentials but hold where to find one (token_url, key_file): kept, so the
# manifest digest still tells one setup from another (their text is redacted all the same).
_PLAIN_SUFFIXES = ("url", "uri", "file", "path")


class CertificateError(Exception):
    """A signing key or a certificate cannot be used; the message is one line for the user."""


@dataclass(frozen=True)
class Issued:
    """What `issue_certificate` did: the files written, or why none was issued."""

    path: Path | None
    reason: str | None = None
    signed: bool = False
    expires_at: str | None = None
    keyid: str | None = None


def canonical_json(value: Any) -> bytes:
    """The bytes digests are taken over: sorted keys, no whitespace, UTF-8."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode("utf-8")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def spec_digest(data: Mapping[str, Any]) -> str:
    """The canonical digest of a parsed spec: YAML or JSON, key order and comments do not count."""
    return _sha256(canonical_json(data))


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# -- why none ---------------------------------------------------------------------------------


def refusal(result: RunResult) -> str | None:
    """Why this run issues no certificate, or None when it may issue one."""
    if result.cannot_run:
        return "the run could not start (cannot-run): no rule was judged"
    if result.unreachable:
        return "the provider stopped answering (provider-unreachable)"
    if not result.complete:
        return f"the run did not complete ({result.stop_reason or 'interrupted'})"
    if result.rule_filter:
        return (
            f"a rule filter chose what ran (--rules {' '.join(result.rule_filter)}): a "
            "certificate covers the whole profile"
        )
    unjudged = [r.id for r in result.results if r.verdict == "error" or r.outcome == "error"]
    if unjudged:
        return f"rules could not be judged (error): {', '.join(unjudged)}"
    expired = [w for w in result.waivers if w.status == "expired"]
    if expired:
        names = ", ".join(f"{w.waiver.rule} (expired {w.waiver.expires})" for w in expired)
        return f"a manifest waiver is past its date: {names}"
    if not result.passed:
        return f"the profile did not pass at level {result.level} ({result.verdict})"
    return None


# -- what the statement holds -----------------------------------------------------------------


def _clean(value: Any, redactor: Redactor, key: str = "", *, by_key: bool = True) -> Any:
    """`value` with secrets and identity numbers removed: every string passed through the
    redactor and, `by_key`, values under credential-like keys masked."""
    if (
        by_key
        and key
        and sensitive_header(key)
        and not key.lower().endswith(_PLAIN_SUFFIXES)
        and isinstance(value, str | int | float)
    ):
        return SECRET_MASK if value != "" else value
    if isinstance(value, Mapping):
        return {str(k): _clean(v, redactor, str(k), by_key=by_key) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v, redactor, by_key=by_key) for v in value]
    if isinstance(value, str):
        return redactor.text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        shown = redactor.text(str(value))
        return value if shown == str(value) else shown
    return value


def _manifest_digest(manifest: Manifest, redactor: Redactor) -> str:
    dumped = manifest.model_dump(mode="json")  # SecretStr values dump as '**********'
    return _sha256(canonical_json(_clean(dumped, redactor)))


def _code_digest(profile: Profile, version: str) -> tuple[str, list[str]]:
    """sha256 over the tool version and the source of the modules holding the profile's rule
    functions and the shared rule helpers (kontrakt/conformance/rules/_*.py)."""
    files: dict[str, bytes] = {}
    modules = {getattr(r.func, "__module__", "") for r in profile.rules}
    for name in sorted(m for m in modules if m):
        module = sys.modules.get(name)
        try:
            source = inspect.getsourcefile(module) if module is not None else None
        except TypeError:
            source = None
        if source is not None:
            files[name] = Path(source).read_bytes()
    for helper in sorted(_RULES_PACKAGE_DIR.glob("_*.py")):
        files.setdefault(f"kontrakt.conformance.rules.{helper.stem}", helper.read_bytes())
    digest = hashlib.sha256(f"kontrakt {version}\n".encode())
    for name in sorted(files):
        digest.update(f"{name}\n{_sha256(files[name])}\n".encode())
    return digest.hexdigest(), sorted(files)


def shareable_spec(data: Mapping[str, Any]) -> Any:
    """The spec as a certificate carries it: identity numbers (contracts show example ones) and
    token-shaped strings masked, so `kontrakt verify --spec` can diff against it later."""
    return _clean(data, Redactor(), by_key=False)


def encode_document(data: Any) -> str:
    """gzip + base64 of the canonical JSON of `data` (the spec inside a certificate)."""
    return base64.b64encode(gzip.compress(canonical_json(data), mtime=0)).decode("ascii")


def decode_document(text: str) -> Any:
    """The inverse of `encode_document`; ValueError when it is not one."""
    try:
        return json.loads(gzip.decompress(base64.b64decode(text, validate=True)))
    except (OSError, EOFError, ValueError, TypeError) as exc:
        raise ValueError(f"the embedded spec is unreadable ({exc})") from None


def _publisher_version(data: Mapping[str, Any]) -> str | None:
    info = data.get("info")
    version = info.get("version") if isinstance(info, Mapping) else None
    return str(version) if version is not None else None


def build_statement(
    result: RunResult,
    profile: Profile,
    manifest: Manifest,
    *,
    fixture_overrides: Mapping[str, Any] | None = None,
    valid_days: int = DEFAULT_VALID_DAYS,
    signed: bool,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The in-toto Statement of a run that may issue a certificate (see `refusal`)."""
    from kontrakt.conformance.report.writers import report_dict

    report = report_dict(result)
    redactor = Redactor(manifest.secrets(), headers=manifest.credential_headers())
    issued = (now or result.finished_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    expires = issued + dt.timedelta(days=valid_days)
    applied = [w for w in result.waivers if w.status == "applied"]
    # A certificate leaning on a waiver cannot outlive it: it expires with the first waiver.
    for waiver in applied:
        ends = dt.datetime.combine(waiver.waiver.expires, dt.time(23, 59, 59), dt.UTC)
        expires = min(expires, ends)
    spec = profile.spec
    code_sha256, code_modules = _code_digest(profile, result.tool_version)
    catalogue = spec.data.get("x-kontrakt-rules") or {}
    manifest_sha256 = _manifest_digest(manifest, redactor)
    shared = shareable_spec(spec.data)
    predicate: dict[str, Any] = {
        "certificate_version": CERTIFICATE_VERSION,
        "signed": signed,
        "profile": result.profile,
        "provider": {"base_url": result.base_url, "environment": result.environment},
        "spec": {
            "title": str((spec.data.get("info") or {}).get("title", "")),
            "publisher_version": _publisher_version(spec.data),
            "sha256": spec_digest(spec.data),
            "raw_sha256": result.spec_sha256,
            # Shown with identity numbers masked; its own digest binds it to `sha256` above.
            "document": {
                "encoding": "gzip+base64",
                "masked_sha256": _sha256(canonical_json(shared)),
                "canonical_json": encode_document(shared),
            },
        },
        "rules": {
            "catalogue_sha256": _sha256(canonical_json(catalogue)),
            "catalogue_size": len(catalogue) if isinstance(catalogue, Mapping) else 0,
            "code_sha256": code_sha256,
            "code_modules": code_modules,
            "passed": [r.id for r in result.results if r.verdict == "pass"],
            "not_automated": [i.id for i in result.not_automated],
        },
        "tool": {"name": "kontrakt", "version": result.tool_version},
        "manifest": {
            "sha256": manifest_sha256,
            "fixture_overrides": _clean(dict(fixture_overrides or {}), redactor),
        },
        "level": result.level,
        "seed": result.seed,
        "date": issued.date().isoformat(),
        "issued_at": _iso(issued),
        "expires_at": _iso(expires),
        "run": {
            "started_at": report["started_at"],
            "finished_at": report["finished_at"],
            "requests_sent": result.requests_sent,
        },
        "counts": report["counts"],
        "levels": report["levels"],
        "assumption_warnings": sorted({d.assumption for r in result.results for d in r.deviations}),
        "waivers": [
            {
                "rule": w.waiver.rule,
                "reason": redactor.text(w.waiver.reason),
                "expires": w.waiver.expires.isoformat(),
                "status": w.status,
            }
            for w in result.waivers
        ],
    }
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": result.base_url, "digest": {"sha256": manifest_sha256}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    }


# -- signing ----------------------------------------------------------------------------------


def load_signer(path: Path) -> CryptoSigner:
    """A signer from a PEM private key (Ed25519, ECDSA P-256, or RSA); unencrypted PKCS#8 or
    traditional OpenSSL PEM."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from securesystemslib.signer import CryptoSigner

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CertificateError(f"cannot read the signing key {path}: {exc.strerror}") from None
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise CertificateError(
            f"{path}: not an unencrypted PEM private key ({str(exc).splitlines()[0]})"
        ) from None
    if isinstance(key, ec.EllipticCurvePrivateKey) and not isinstance(key.curve, ec.SECP256R1):
        raise CertificateError(f"{path}: ECDSA keys must be on P-256, not {key.curve.name}")
    if not isinstance(
        key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    ):
        raise CertificateError(f"{path}: use an Ed25519, ECDSA P-256 or RSA key")
    return CryptoSigner(key)


def _envelope(statement: Mapping[str, Any], signer: CryptoSigner | None) -> dict[str, Any]:
    from securesystemslib.dsse import Envelope

    envelope = Envelope(canonical_json(statement), PAYLOAD_TYPE, {})
    if signer is not None:
        envelope.sign(signer)
    data: dict[str, Any] = envelope.to_dict()
    return data


def certificate_markdown(statement: Mapping[str, Any], keyid: str | None) -> str:
    """The human-readable companion of certificate.json (not itself signed)."""
    p = statement["predicate"]
    banner = (
        f"Signed (DSSE, key id `{keyid}`). Check it with "
        "`kontrakt verify certificate.json --key CERTIFIER.pub.pem`."
        if keyid
        else "**UNSIGNED**: nothing vouches for this certificate; anyone could have written it. "
        "Certify with `--sign-key KEY.pem` for one that `kontrakt verify` accepts."
    )
    lines = [
        f"# kontrakt certificate: {p['profile']}",
        "",
        banner,
        "",
        f"- provider: {p['provider']['base_url']} ({p['provider']['environment']})",
        f"- issued: {p['issued_at']}; expires: {p['expires_at']}",
        f"- tool: kontrakt {p['tool']['version']} (rule code sha256 `{p['rules']['code_sha256']}`)",
        f"- spec: {p['spec']['title']} {p['spec']['publisher_version']} "
        f"(canonical sha256 `{p['spec']['sha256']}`)",
        f"- rule catalogue sha256: `{p['rules']['catalogue_sha256']}`",
        f"- manifest sha256 (secrets removed): `{p['manifest']['sha256']}`",
        f"- fixture overrides: {json.dumps(p['manifest']['fixture_overrides'], ensure_ascii=False)}",
        f"- level: {p['level']} (strict: "
        + ("passed" if p["levels"]["strict"]["passed"] else "not passed")
        + f"); seed: {p['seed']}",
        f"- counts: {', '.join(f'{k} {v}' for k, v in p['counts'].items())}",
        "- differs from kontrakt's own assumptions (warnings, not failures at the default "
        f"level): {', '.join(p['assumption_warnings']) or 'none'}",
        "- waivers: "
        + (
            ", ".join(f"{w['rule']} until {w['expires']} ({w['status']})" for w in p["waivers"])
            or "none"
        ),
        "",
        "Every MUST rule of the profile ran and passed, only warned, was not applicable or was "
        "waived. Rules passed:",
        "",
        *[f"- {rule_id}" for rule_id in p["rules"]["passed"]],
        "",
    ]
    return "\n".join(lines)


def issue_certificate(
    result: RunResult,
    profile: Profile,
    manifest: Manifest,
    out_dir: Path,
    *,
    signer: CryptoSigner | None = None,
    fixture_overrides: Mapping[str, Any] | None = None,
    valid_days: int = DEFAULT_VALID_DAYS,
) -> Issued:
    """Write certificate.json (the DSSE envelope) and certificate.md into `out_dir`, or remove
    an older pair and say why none is issued."""
    for stale in CERTIFICATE_FILES:
        # A certificate from an earlier run must not outlive a run that issues none.
        (out_dir / stale).unlink(missing_ok=True)
    reason = refusal(result)
    if reason is not None:
        return Issued(None, reason)
    statement = build_statement(
        result,
        profile,
        manifest,
        fixture_overrides=fixture_overrides,
        valid_days=valid_days,
        signed=signer is not None,
    )
    envelope = _envelope(statement, signer)
    keyid = signer.public_key.keyid if signer is not None else None
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "certificate.json"
    path.write_text(json.dumps(envelope, indent=2) + "\n", encoding="utf-8")
    (out_dir / "certificate.md").write_text(
        certificate_markdown(statement, keyid), encoding="utf-8"
    )
    return Issued(
        path,
        None,
        signed=signer is not None,
        expires_at=statement["predicate"]["expires_at"],
        keyid=keyid,
    )


def read_statement(path: Path) -> dict[str, Any]:
    """The statement inside a certificate file, NOT verified (for listing: the matrix, a
    summary); `kontrakt verify` is what checks it."""
    try:
        envelope = json.loads(path.read_text(encoding="utf-8"))
        payload = base64.b64decode(envelope["payload"], validate=True)
        statement = json.loads(payload)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise CertificateError(f"{path}: not a kontrakt certificate ({exc})") from None
    if not isinstance(statement, dict) or statement.get("predicateType") != PREDICATE_TYPE:
        raise CertificateError(f"{path}: not a kontrakt certificate (predicate type)")
    return statement
