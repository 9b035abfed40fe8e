"""What a provider's engineer needs to write a manifest for one profile, from the profile itself.

`kontrakt init PROFILE` writes a commented starting manifest; `kontrakt manifest-schema --profile
PROFILE` gives the JSON Schema of the manifest with the profile's fixtures, credential roles and
capabilities described. Both read the declarations on the profile's rule set (`RuleSet.fixture`,
`RuleSet.role`, `RuleSet.capability`) and the spec's security schemes and rule catalogue, so they
cannot drift from what the rules read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from kontrakt.conformance.manifest import manifest_schema
from kontrakt.conformance.profile import Profile
from kontrakt.conformance.registry import FixtureSpec, RoleSpec

__all__ = ["capabilities_of", "profile_manifest_schema", "starter_manifest"]

FILL_IN = "FILL IN"


def capabilities_of(profile: Profile) -> dict[str, dict[str, Any]]:
    """Every capability the profile's rules depend on: its description and its rules."""
    found: dict[str, dict[str, Any]] = {}
    rule_set = profile.rule_set
    for function in rule_set.ordered():
        capability = function.capability
        if not capability or capability.startswith("environment:"):
            continue
        entry = found.setdefault(
            capability, {"description": rule_set.capabilities.get(capability, ""), "rules": []}
        )
        entry["rules"].append(function.id)
    for capability, description in rule_set.capabilities.items():
        found.setdefault(capability, {"description": description, "rules": []})
    for entry in found.values():
        if not entry["description"]:
            entry["description"] = _describe_capability(profile, entry["rules"])
    return dict(sorted(found.items()))


def _describe_capability(profile: Profile, rules: list[str]) -> str:
    if not rules:
        return "a capability the profile knows"
    first = profile.catalogue[rules[0]].title
    return f"claim it when the provider offers what these rules judge (e.g. {rules[0]}: {first})"


def _rules_text(rules: Iterable[str], limit: int = 8) -> str:
    items = list(rules)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _security(profile: Profile) -> list[dict[str, Any]]:
    """The spec's security schemes as manifest auth entries (values to fill in)."""
    schemes = ((profile.spec.data.get("components") or {}).get("securitySchemes")) or {}
    entries: list[dict[str, Any]] = []
    for name, scheme in schemes.items():
        if not isinstance(scheme, Mapping):
            continue
        kind = scheme.get("type")
        if kind == "apiKey" and scheme.get("in") == "header":
            entries.append(
                {
                    "_comment": f"{name}: the API key header the provider's gateway expects",
                    "type": "api-key",
                    "header": str(scheme.get("name", "Ocp-Apim-Subscription-Key")),
                    "value": "${PROVIDER_API_KEY}",
                }
            )
        elif kind == "oauth2":
            flows: Mapping[str, Any] = scheme.get("flows") or {}
            flow: Mapping[str, Any] = flows.get("clientCredentials") or next(
                iter(flows.values()), {}
            )
            scopes = " ".join(sorted((flow.get("scopes") or {}).keys()))
            entries.append(
                {
                    "_comment": f"{name}: OAuth 2.0 (client credentials; or type jwt-bearer "
                    "with key_file for a Maskinporten-style client assertion)",
                    "type": "oauth2-client-credentials",
                    "token_url": str(flow.get("tokenUrl") or FILL_IN),
                    "client_id": FILL_IN,
                    "client_secret": "${PROVIDER_CLIENT_SECRET}",
                    "scope": scopes or None,
                    "_resource": "optional: the token's audience (RFC 8707 resource), only if "
                    "the token endpoint needs one",
                }
            )
        elif kind == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
            entries.append(
                {
                    "_comment": f"{name}: a bearer token (a fixed token, or a token flow)",
                    "type": "bearer",
                    "token": "${PROVIDER_TOKEN}",
                }
            )
    # One entry per kind: a document may describe the same credential twice, and a token flow
    # makes a fixed bearer token redundant.
    unique: dict[str, dict[str, Any]] = {}
    for entry in entries:
        unique.setdefault(str(entry["type"]), entry)
    if "oauth2-client-credentials" in unique:
        unique.pop("bearer", None)
    return list(unique.values())


def _yaml_value(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1000)
    return text.strip().removesuffix("...").strip()


def _auth_lines(entry: Mapping[str, Any], indent: str, commented: bool = False) -> list[str]:
    lead = f"{indent}# " if commented else indent
    lines = []
    first = True
    for key, value in entry.items():
        if key.startswith("_") or value is None:
            continue
        prefix = "- " if first else "  "
        first = False
        lines.append(f"{lead}{prefix}{key}: {_yaml_value(value)}")
    if "_resource" in entry:
        lines.append(f"{lead}  # resource: ...   ({entry['_resource']})")
    return lines


def _fixture_lines(spec: FixtureSpec) -> list[str]:
    need = "required" if spec.required else "optional: without it these rules are not-applicable"
    lines = [
        f"  # {spec.name} ({need}): {spec.description}",
        f"  #   used by: {_rules_text(spec.rules)}",
    ]
    kind = spec.schema.get("type")
    value = spec.example if spec.example is not None else FILL_IN
    if spec.required:
        if spec.example is None and kind == "array":
            value = [FILL_IN]
        lines.append(f"  {spec.name}: {_yaml_value(value)}")
    else:
        lines.append(f"  # {spec.name}: {_yaml_value(value)}")
    return lines


def _role_lines(
    role: RoleSpec, template: Mapping[str, Any] | None, *, commented_key: bool = False
) -> list[str]:
    need = "required" if role.required else "optional: without it these rules are not-applicable"
    lines = [
        f"  # {role.name} ({need}): {role.description}",
        f"  #   used by: {_rules_text(role.rules)}",
    ]
    entry = dict(template or {"type": "oauth2-client-credentials"})
    if role.auth_type == "bearer":
        entry = {"type": "bearer", "token": "${" + f"PROVIDER_{role.name.upper()}_TOKEN" + "}"}
    elif role.auth_type == "api-key":
        entry = {"type": "api-key", "value": "${" + f"PROVIDER_{role.name.upper()}_KEY" + "}"}
    if entry.get("type") == "oauth2-client-credentials":
        entry["client_id"] = f"{FILL_IN} ({role.name} client)"
        entry["client_secret"] = "${" + f"PROVIDER_{role.name.upper()}_SECRET" + "}"
        entry["scope"] = role.scope or entry.get("scope")
        entry.pop("_resource", None)
    lines.append(f"  {'' if role.required else '# '}{role.name}:")
    lines.extend(_auth_lines(entry, "    ", commented=not role.required))
    if commented_key:
        # Under `credentials: {}` the lines are comments only (optional roles).
        lines = [
            line if line.lstrip().startswith("#") else "  # " + line.lstrip() for line in lines
        ]
    return lines


def starter_manifest(profile: Profile) -> str:
    """A commented manifest for `profile` that loads as is once the FILL IN values are set."""
    spec = profile.spec
    rule_set = profile.rule_set
    servers = [str(s.get("url")) for s in spec.data.get("servers") or [] if isinstance(s, Mapping)]
    title = str((spec.data.get("info") or {}).get("title", profile.id))
    auth = _security(profile)
    lines = [
        f"# kontrakt provider manifest: {title} ({profile.id})",
        "# Written by `kontrakt init`. Replace every FILL IN; keep secrets in the environment",
        "# (${VAR} or ${VAR:-default}). Full reference: kontrakt manifest-schema --profile "
        f"{profile.id}",
        f"profile: {profile.id}",
        "# The provider's test environment: the base URL including the API's base path"
        + (f" (the publisher's servers: {', '.join(servers)})" if servers else ""),
        f"base_url: {_yaml_value(servers[0] if servers else 'https://FILL-IN.invalid')}",
        "environment: test",
        "# default: checks resting only on kontrakt's own assumptions warn; strict: they fail",
        "level: default",
        "# The main client: every rule's requests carry these credentials.",
        "auth:",
    ]
    for entry in auth or [{"type": "bearer", "token": "${PROVIDER_TOKEN}"}]:
        lines.extend(f"  # {entry['_comment']}" for _ in [0] if "_comment" in entry)
        lines.extend(_auth_lines(entry, "  "))
    oauth = next((e for e in auth if e.get("type") == "oauth2-client-credentials"), None)
    roles = sorted(rule_set.roles.values(), key=lambda r: (not r.required, r.name))
    lines.append("# Further clients, one per role, each a credential of its own.")
    if any(role.required for role in roles):
        lines.append("credentials:")
    else:
        # Every role optional: an empty mapping, so the file loads with all of them commented.
        lines.append(
            "credentials: {}"
            + ("  # to give roles, replace {} by the entries below" if roles else "")
        )
    for role in roles:
        lines.extend(_role_lines(role, oauth, commented_key=not any(r.required for r in roles)))
    lines.extend(
        [
            "# Tokens the suite mints itself (expired, another audience, another issuer) for the",
            "# 401 rules: only with a TEST identity provider's signing key; without it those rules",
            "# are not-applicable.",
            "# negative_auth:",
            "#   signing_key: keys/test-idp.pem   # the test identity provider's private key (PEM)",
            f"#   kid: {FILL_IN}                 # the key id the provider finds it under",
        ]
    )
    if "application/jose" in json.dumps(spec.data.get("paths") or {}):
        lines.extend(
            [
                "# Encrypted bodies (application/jose, production): the private key of the main",
                "# consumer's encryption certificate, and of each further consumer's by its role.",
                "# decryption_key: keys/consumer-enc.pem",
                "# decryption_keys: {oed: keys/digdir-enc.pem}",
            ]
        )
    fixtures = sorted(rule_set.fixtures.values(), key=lambda f: (not f.required, f.name))
    lines.append("# Test data in the provider's test environment (synthetic values only).")
    if fixtures:
        lines.append("fixtures:")
        for fixture in fixtures:
            lines.extend(_fixture_lines(fixture))
    else:
        lines.append("fixtures: {}")
    capabilities = capabilities_of(profile)
    if capabilities:
        lines.append(
            "# What the provider offers. Leave the list out to claim every capability; a rule "
            "whose capability is not listed is not-applicable."
        )
        lines.append("capabilities:")
        for name, entry in capabilities.items():
            lines.append(f"  - {name}  # {entry['description']}")
            if entry["rules"]:
                lines.append(f"    # rules: {_rules_text(entry['rules'])}")
    lines.extend(
        [
            "# What the suite may do to the provider.",
            "limits:",
            "  read_only: false   # true: no writes (rules that must write are not-applicable)",
            "  timeout_seconds: 10",
            "  # max_requests: 5000",
            "  # requests_per_second: 20",
            "# Known deviations accepted until a date: - {rule: RULE-ID, reason: ..., "
            "expires: 2027-06-30}",
            "waivers: []",
            "",
        ]
    )
    return "\n".join(lines)


def profile_manifest_schema(profile: Profile) -> dict[str, Any]:
    """The manifest's JSON Schema narrowed to `profile`: its fixtures, roles, capabilities."""
    schema = manifest_schema()
    rule_set = profile.rule_set
    properties = schema["properties"]
    schema["title"] = f"kontrakt provider manifest for {profile.id}"
    properties["profile"] = {
        "const": profile.id,
        "description": properties["profile"].get("description", ""),
    }
    fixtures: dict[str, Any] = {}
    for spec in rule_set.fixtures.values():
        entry = dict(spec.schema)
        need = "required" if spec.required else "optional (rules not-applicable without it)"
        entry["description"] = f"{spec.description} ({need}; used by {', '.join(spec.rules)})"
        entry["x-kontrakt-rules"] = list(spec.rules)
        if spec.example is not None:
            entry["examples"] = [spec.example]
        fixtures[spec.name] = entry
    properties["fixtures"] = {
        "type": "object",
        "description": "test data the rules read; each entry says which rules need it",
        "properties": fixtures,
        "required": sorted(s.name for s in rule_set.fixtures.values() if s.required),
        "additionalProperties": True,
    }
    auth = properties["auth"]
    roles: dict[str, Any] = {}
    for role in rule_set.roles.values():
        need = "required" if role.required else "optional (rules not-applicable without it)"
        scope = f"; its scope: {role.scope}" if role.scope else ""
        roles[role.name] = {
            **auth,
            "description": f"{role.description} ({need}; used by {', '.join(role.rules)}{scope})",
            "x-kontrakt-rules": list(role.rules),
        }
    properties["credentials"] = {
        "type": "object",
        "description": "further clients, one per role the rules ask for by name",
        "properties": roles,
        "required": sorted(r.name for r in rule_set.roles.values() if r.required),
        "additionalProperties": auth,
    }
    capabilities = capabilities_of(profile)
    properties["capabilities"] = {
        "anyOf": [
            {
                "type": "array",
                "uniqueItems": True,
                "items": {
                    "anyOf": [
                        {
                            "const": name,
                            "description": entry["description"],
                            "x-kontrakt-rules": entry["rules"],
                        }
                        for name, entry in capabilities.items()
                    ]
                    or [{"type": "string"}]
                },
            },
            {"type": "null"},
        ],
        "description": "what the provider offers; leave out to claim every capability",
    }
    if rule_set.fixtures and any(s.required for s in rule_set.fixtures.values()):
        schema["required"] = sorted({*schema.get("required", []), "fixtures"})
    json.dumps(schema)  # fails loudly if a declaration is not JSON-able
    return schema
