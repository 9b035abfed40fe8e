"""The provider manifest: what `kontrakt certify` needs to know about the provider under test.

A manifest is YAML (schema: `kontrakt manifest-schema`). Every string may use `${ENV_VAR}` or
`${ENV_VAR:-default}` (`$${` writes a literal `${`), so secrets stay in the environment; file paths
are relative to the manifest. `load_manifest` reports every problem at once, each with its key
path (`auth.client_secret: environment variable BANK_SECRET is not set`), before any request is
sent, and never echoes a value: a mistyped secret must not end up in a CI log.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
)

from kontrakt.safeyaml import YamlBudgetError, safe_load

__all__ = [
    "ApiKeyAuth",
    "AuthConfig",
    "BearerAuth",
    "ClientCredentialsAuth",
    "Explore",
    "JwtBearerAuth",
    "Limits",
    "Manifest",
    "ManifestError",
    "NegativeAuth",
    "Waiver",
    "WrongScope",
    "load_manifest",
    "manifest_schema",
]


class _Loader(yaml.SafeLoader):
    """Safe YAML with dates left as text: pydantic parses them and reports bad ones by path."""


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    assert isinstance(node, yaml.ScalarNode)
    return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)

_ENV = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BearerAuth(_Model):
    """A fixed access token, e.g. one fetched out of band."""

    type: Literal["bearer"]
    token: SecretStr = Field(min_length=1)


class ClientCredentialsAuth(_Model):
    """OAuth 2.0 client credentials grant (RFC 6749 section 4.4) at `token_url`."""

    type: Literal["oauth2-client-credentials"]
    token_url: str
    client_id: str = Field(min_length=1)
    client_secret: SecretStr = Field(min_length=1)
    scope: str | None = None
    resource: str | None = None
    audience: str | None = None
    auth_method: Literal["client_secret_post", "client_secret_basic"] = "client_secret_post"


class JwtBearerAuth(_Model):
    """RFC 7523 JWT bearer grant with an RS256-signed client assertion (Maskinporten style)."""

    type: Literal["jwt-bearer"]
    token_url: str
    client_id: str = Field(min_length=1)
    key_file: Path = Field(
        description="PEM private key signing the assertion (relative paths: to the manifest)"
    )
    kid: str | None = None
    scope: str | None = None
    resource: str | None = Field(
        default=None, description="audience of the access token (RFC 8707)"
    )
    issuer: str | None = Field(
        default=None,
        description="the authorization server's issuer identifier: the assertion's aud "
        "(default: token_url)",
    )
    audience: str | None = Field(default=None, description="alias of issuer, if both given it wins")
    algorithm: Literal["RS256", "RS384", "RS512", "ES256", "ES384"] = "RS256"


class ApiKeyAuth(_Model):
    """An API key in a header (Azure API Management's `Ocp-Apim-Subscription-Key` by default)."""

    type: Literal["api-key"]
    header: str = "Ocp-Apim-Subscription-Key"
    value: SecretStr = Field(min_length=1)


AuthConfig = Annotated[
    BearerAuth | ClientCredentialsAuth | JwtBearerAuth | ApiKeyAuth, Field(discriminator="type")
]


class WrongScope(_Model):
    scope: str


class NegativeAuth(_Model):
    """Credentials for the 401/403 rules.

    `signing_key` (test identity providers only) lets the suite mint correctly signed tokens that
    are expired or carry a wrong audience or issuer; `issuer` and `audience` are the values the
    provider accepts (default: read from a real token).
    """

    wrong_scope: WrongScope | None = None
    signing_key: Path | None = None
    kid: str | None = None
    issuer: str | None = None
    audience: str | None = None


class Limits(_Model):
    """What the suite may do to the provider."""

    max_requests: int | None = Field(default=None, ge=1)
    requests_per_second: float | None = Field(default=None, gt=0)
    read_only: bool = True
    timeout_seconds: float = Field(default=10.0, gt=0)
    max_body_bytes: int = Field(default=5_000_000, ge=1024)


class Explore(_Model):
    """Tier 3, the exploratory stateful run: off unless `enabled` or `certify --explore`."""

    enabled: bool = False
    max_examples: int = Field(default=10, ge=1, description="sequences hypothesis tries")
    max_steps: int = Field(default=10, ge=1, description="requests per sequence at most")


class Waiver(_Model):
    """A known deviation the provider's owner accepts until `expires`."""

    rule: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    expires: dt.date


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, Mapping) else value


FixtureValue = str | int | float | bool | None | list[Any] | dict[str, Any]


class Manifest(_Model):
    """A provider manifest, validated; paths are absolute, `${...}` substituted."""

    profile: str = Field(
        min_length=1,
        description="spec + rule profile, e.g. dsop-control/v2.0 (specs/<api>/<version>/"
        "openapi.yaml), or a path to an OpenAPI document",
    )
    base_url: str
    auth: Annotated[list[AuthConfig], BeforeValidator(_as_list)] = Field(default_factory=list)
    credentials: dict[str, Annotated[list[AuthConfig], BeforeValidator(_as_list)]] = Field(
        default_factory=dict,
        description="further named credentials (e.g. read_only: a client holding only read "
        "roles) that a profile's rules ask for by name; each replaces auth for the requests "
        "that use it",
    )
    headers: dict[str, str] = Field(default_factory=dict)
    decryption_key: Path | None = None
    decryption_keys: dict[str, Path] = Field(
        default_factory=dict,
        description="the private keys (PEM) of further consumers' encryption certificates, by "
        "credential role (e.g. oed: keys/digdir-enc.pem): a bank encrypts each consumer's "
        "answers to that consumer's own certificate; tried after decryption_key",
    )
    negative_auth: NegativeAuth = Field(default_factory=NegativeAuth)
    fixtures: dict[str, FixtureValue] = Field(default_factory=dict)
    capabilities: list[str] | None = None
    limits: Limits = Field(default_factory=Limits)
    waivers: list[Waiver] = Field(default_factory=list)
    explore: Explore = Field(default_factory=Explore)
    environment: Literal["test", "production"] = "test"
    level: Literal["default", "strict"] = Field(
        default="default",
        description="default: a check resting only on kontrakt's own assumption warns; strict: "
        "it fails like a check of the publisher's text (certify --level overrides)",
    )
    metadata_snapshot: Path | None = Field(
        default=None,
        description="an earlier snapshot of this provider (certify --snapshot-out FILE) that "
        "the versioning rules compare the provider with; without it they are not-applicable",
    )

    @field_validator("base_url")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value) or " " in value.strip():
            raise ValueError("must be a URL without spaces or control characters (CR, LF, ...)")
        try:
            url = httpx.URL(value)
        except httpx.InvalidURL:
            raise ValueError("must be an absolute http(s) URL") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("must be an absolute http(s) URL")
        return value.rstrip("/")

    @field_validator("headers")
    @classmethod
    def _header_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name):
                raise ValueError(f"{name!r} is not a valid header name")
        return value

    # The folder relative paths are read from: the manifest file's, else the working directory.
    _base: Path = PrivateAttr(default_factory=Path.cwd)
    # The file it was read from (None: built from flags or in code); reports record it for replay.
    _source: Path | None = PrivateAttr(default=None)

    @property
    def source(self) -> Path | None:
        """The manifest file this was read from, absolute (None when built from flags or code)."""
        return self._source

    def path(self, value: str | Path) -> Path:
        """A path written in the manifest (e.g. a file fixture), relative to the manifest's folder."""
        given = Path(value)
        return given if given.is_absolute() else self._base / given

    def secrets(self) -> list[str]:
        """Every secret value in the manifest, for the redactor."""
        found: list[str] = []
        for auth in [*self.auth, *(a for named in self.credentials.values() for a in named)]:
            if isinstance(auth, BearerAuth):
                found.append(auth.token.get_secret_value())
            elif isinstance(auth, ClientCredentialsAuth):
                found.append(auth.client_secret.get_secret_value())
            elif isinstance(auth, ApiKeyAuth):
                found.append(auth.value.get_secret_value())
        # Credentials the manifest declares elsewhere, whatever the provider calls them: header
        # values and fixtures named like a key, token, secret or credential.
        from kontrakt.conformance.redact import sensitive_header

        found.extend(v for k, v in self.headers.items() if sensitive_header(k))
        found.extend(
            v for k, v in self.fixtures.items() if isinstance(v, str) and sensitive_header(k)
        )
        return found

    def credential_headers(self) -> list[str]:
        named = [a for entries in self.credentials.values() for a in entries]
        return [a.header for a in [*self.auth, *named] if isinstance(a, ApiKeyAuth)]


class ManifestError(Exception):
    """The manifest is unusable; `problems` are `key.path: message` lines, all of them."""

    def __init__(self, problems: Sequence[str], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        where = f" in {source}" if source else ""
        super().__init__(f"{len(self.problems)} problem(s){where}:\n" + "\n".join(self.problems))


def _join(path: Sequence[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(manifest)"


def _substitute(
    value: Any, path: list[str | int], problems: list[str], env: Mapping[str, str]
) -> Any:
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            problems.append(f"{_join(path)}: environment variable {name} is not set")
            return ""

        return _ENV.sub(replace, value)
    if isinstance(value, dict):
        return {str(k): _substitute(v, [*path, str(k)], problems, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, [*path, i], problems, env) for i, v in enumerate(value)]
    return value


_AUTH_TAGS = {"bearer", "oauth2-client-credentials", "jwt-bearer", "api-key"}


def _error_path(loc: Sequence[str | int], single_auth: bool) -> list[str | int]:
    parts = list(loc)
    if parts and parts[0] == "auth":
        # A discriminated union puts the tag into the location; the reader never wrote it.
        parts = [p for i, p in enumerate(parts) if not (i == 2 and p in _AUTH_TAGS)]
        if single_auth and len(parts) > 1 and parts[1] == 0:
            del parts[1]
    if parts and parts[0] == "credentials":
        parts = [p for i, p in enumerate(parts) if not (i == 3 and p in _AUTH_TAGS)]
    if parts and parts[0] == "fixtures":
        # Free-form values: the union's member names mean nothing to the reader.
        parts = parts[:2]
    return parts


def _message(error: Mapping[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known key"
    if kind == "union_tag_invalid":
        return "type must be one of bearer, oauth2-client-credentials, jwt-bearer, api-key"
    if kind == "union_tag_not_found":
        return "needs a type (bearer, oauth2-client-credentials, jwt-bearer, api-key)"
    message = str(error.get("msg", "is invalid"))
    # Pydantic's messages never contain the input, but value errors are prefixed.
    return message.removeprefix("Value error, ")


def _is_private_key(path: Path) -> bool:
    """Whether `path` holds an unencrypted PEM private key (checked before any request)."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        data = path.read_bytes()
        if len(data) > 1_000_000:
            return False
        load_pem_private_key(data, password=None)
    except Exception:  # OSError, ValueError, TypeError, or cryptography's UnsupportedAlgorithm
        return False
    return True


def _paths(manifest: Manifest, base: Path, problems: list[str], single_auth: bool) -> Manifest:
    """Resolve file paths against the manifest's folder; report missing files."""

    def resolve(path: Path, where: str, *, private_key: bool = False) -> Path:
        full = path if path.is_absolute() else (base / path)
        if not full.is_file():
            problems.append(f"{where}: file {path} does not exist")
        elif private_key and not _is_private_key(full):
            problems.append(f"{where}: file {path} is not a PEM private key (unencrypted)")
        return full

    auth: list[Any] = []
    for index, item in enumerate(manifest.auth):
        if isinstance(item, JwtBearerAuth):
            where = "auth.key_file" if single_auth else f"auth[{index}].key_file"
            item = item.model_copy(
                update={"key_file": resolve(item.key_file, where, private_key=True)}
            )
        auth.append(item)
    update: dict[str, Any] = {"auth": auth}
    if manifest.credentials:
        named: dict[str, list[Any]] = {}
        for name, entries in manifest.credentials.items():
            named[name] = [
                item.model_copy(
                    update={
                        "key_file": resolve(
                            item.key_file,
                            f"credentials.{name}[{index}].key_file",
                            private_key=True,
                        )
                    }
                )
                if isinstance(item, JwtBearerAuth)
                else item
                for index, item in enumerate(entries)
            ]
        update["credentials"] = named
    if manifest.decryption_key is not None:
        update["decryption_key"] = resolve(
            manifest.decryption_key, "decryption_key", private_key=True
        )
    if manifest.decryption_keys:
        update["decryption_keys"] = {
            role: resolve(path, f"decryption_keys.{role}", private_key=True)
            for role, path in manifest.decryption_keys.items()
        }
    if manifest.metadata_snapshot is not None:
        update["metadata_snapshot"] = resolve(manifest.metadata_snapshot, "metadata_snapshot")
    if manifest.negative_auth.signing_key is not None:
        negative = manifest.negative_auth.model_copy(
            update={
                "signing_key": resolve(
                    manifest.negative_auth.signing_key,
                    "negative_auth.signing_key",
                    private_key=True,
                )
            }
        )
        update["negative_auth"] = negative
    return manifest.model_copy(update=update)


def load_manifest(
    path: Path | None = None,
    *,
    profile: str | None = None,
    base_url: str | None = None,
    headers: Mapping[str, str] | None = None,
    bearer: str | None = None,
    fixtures: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Manifest:
    """Read and validate a manifest; command-line values override (or replace) the file.

    Raises `ManifestError` with every problem found.
    """
    environ = os.environ if env is None else env
    problems: list[str] = []
    raw: Any = {}
    source = str(path) if path is not None else None
    if path is not None:
        try:
            raw = safe_load(path.read_text(encoding="utf-8"), _Loader)
        except OSError as exc:
            raise ManifestError(
                [f"(manifest): cannot read {path}: {exc.strerror}"], source
            ) from None
        except YamlBudgetError as exc:
            raise ManifestError([f"(manifest): not usable YAML: {exc}"], source) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" (line {mark.line + 1})" if mark is not None else ""
            raise ManifestError([f"(manifest): not valid YAML{line}"], source) from None
        except UnicodeDecodeError:
            raise ManifestError(["(manifest): not UTF-8 text"], source) from None
        except RecursionError:
            raise ManifestError(["(manifest): nested too deeply"], source) from None
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise ManifestError(["(manifest): must be a mapping of keys"], source)
    data: dict[str, Any] = _substitute(raw, [], problems, environ)
    if profile is not None:
        data["profile"] = profile
    if base_url is not None:
        data["base_url"] = base_url
    if fixtures:
        data["fixtures"] = {**(data.get("fixtures") or {}), **fixtures}
    if headers:
        data["headers"] = {**(data.get("headers") or {}), **headers}
    if bearer is not None:
        existing = _as_list(data.get("auth") or [])
        kept = [a for a in existing if not (isinstance(a, dict) and a.get("type") == "bearer")]
        data["auth"] = [*kept, {"type": "bearer", "token": bearer}]
    single_auth = isinstance(data.get("auth"), dict)
    env_problem_paths = {p.split(":", 1)[0] for p in problems}
    manifest: Manifest | None = None
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_input=False, include_url=False):
            where = _join(_error_path(error["loc"], single_auth))
            if where in env_problem_paths:
                continue  # already reported: the variable is not set
            problems.append(f"{where}: {_message(error)}")
    if manifest is not None:
        base = path.parent if path is not None else Path.cwd()
        manifest = _paths(manifest, base.resolve(), problems, single_auth)
        manifest._base = base.resolve()
        manifest._source = path.resolve() if path is not None else None
    if problems or manifest is None:
        raise ManifestError(sorted(dict.fromkeys(problems)), source)
    return manifest


def manifest_schema() -> dict[str, Any]:
    """The JSON Schema of a manifest file (`kontrakt manifest-schema`)."""
    schema = Manifest.model_json_schema()
    auth = schema["properties"]["auth"]
    items = auth["items"]
    # One auth or a list of them: the loader accepts both.
    schema["properties"]["auth"] = {
        "anyOf": [items, {"type": "array", "items": items}],
        "description": "one credential or a list of them (combined on every request)",
    }
    named = schema["properties"].get("credentials")
    if isinstance(named, dict) and isinstance(named.get("additionalProperties"), dict):
        named["additionalProperties"] = schema["properties"]["auth"]
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "kontrakt provider manifest"
    return schema
