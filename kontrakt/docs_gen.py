"""The reference pages of the documentation site, written from the code and the contracts.

`mkdocs build` calls `generate_pages` through `docs/hooks/generate.py`: the manifest reference
(from the manifest's JSON Schema and each profile's declared fixtures, credential roles and
capabilities), the rule catalogue of every profile (from `x-kontrakt-rules`, the registered rule
functions and the proof tables in `docs/*-rule-proofs.md`) and the versioning rules of
`kontrakt diff`. Nothing here is a second copy of a table: a rule, a fixture or a manifest field
added to the code appears in the site at the next build. `snippets` gives short generated pieces
that the hand-written guides embed (`<!-- kontrakt:NAME -->`), so their lists of formats and files
cannot fall behind either. Output is deterministic: same inputs, same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kontrakt.conformance.manifest import manifest_schema
from kontrakt.conformance.manifest_docs import capabilities_of
from kontrakt.conformance.profile import Profile, discover_rule_sets, load_profile
from kontrakt.conformance.spec import RuleInfo

__all__ = [
    "MANIFEST_DIR",
    "RULES_DIR",
    "ProofTable",
    "expand_nav",
    "fill_snippets",
    "generate_pages",
    "manifest_fields",
    "profile_ids",
    "proof_page",
    "read_proof_table",
    "slug",
    "snippets",
]

MANIFEST_DIR = "reference/manifest"
RULES_DIR = "reference/rules"
DIFF_RULES_PAGE = "reference/diff-rules.md"

# The proof tables are per API family; DSOP Control's is named after the family's short name.
_PROOF_FAMILY = {"dsop-control": "dsop"}
_ASSUMPTION_ID = re.compile(r"\bA-[A-Z]+-\d+\b")
_MARKER = re.compile(r"<!--\s*kontrakt:([a-z0-9-]+)\s*-->")


def profile_ids() -> list[str]:
    """Every profile kontrakt ships rules for, sorted (a new rule module adds one)."""
    return sorted({rule_set.profile for rule_set in discover_rule_sets()})


def slug(profile_id: str) -> str:
    """A page name for a profile id: `dsop-control/v2.0` -> `dsop-control-v2.0`."""
    return profile_id.replace("/", "-")


def proof_page(profile_id: str) -> str:
    """The proof table's file name under docs/ for a profile (one per API family)."""
    family = profile_id.split("/")[0]
    return f"{_PROOF_FAMILY.get(family, family)}-rule-proofs.md"


@dataclass(frozen=True)
class ProofTable:
    """One `docs/*-rule-proofs.md` table: its column names and each rule's row (cells as text)."""

    page: str
    columns: tuple[str, ...]
    rows: Mapping[str, Mapping[str, str]]

    def cells(self, rule_id: str, *words: str) -> list[tuple[str, str]]:
        """The non-empty cells of a rule's row whose column names contain any of `words`."""
        row = self.rows.get(rule_id, {})
        found = []
        for column in self.columns:
            value = row.get(column, "").strip()
            if value and value != "-" and any(w in column.lower() for w in words):
                found.append((column, value))
        return found


def _split_row(line: str) -> list[str]:
    # Cells are separated by unescaped pipes; the tables write none inside a cell.
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def read_proof_table(path: Path) -> ProofTable:
    """The first table of a proof page whose first column is `rule`; empty when the file lacks one."""
    columns: tuple[str, ...] = ()
    rows: dict[str, dict[str, str]] = {}
    if not path.is_file():
        return ProofTable(path.name, columns, rows)
    lines = path.read_text(encoding="utf-8").splitlines()
    for line in lines:
        if not columns:
            cells = _split_row(line) if line.startswith("|") else []
            if cells and cells[0].lower() == "rule":
                columns = tuple(cells)
            continue
        if not line.startswith("|"):
            break
        cells = _split_row(line)
        if set("".join(cells)) <= set("-: "):
            continue  # the separator row
        rows[cells[0]] = dict(zip(columns, cells, strict=False))
    return ProofTable(path.name, columns, rows)


# -- the manifest -----------------------------------------------------------------------------


def _credential_kinds(defs: Mapping[str, Any]) -> list[str]:
    """The definitions that are a credential kind: those a constant `type` selects."""
    return sorted(
        name
        for name, definition in defs.items()
        if "const" in ((definition.get("properties") or {}).get("type") or {})
    )


def _ref_name(schema: Mapping[str, Any]) -> str:
    return str(schema.get("$ref", "")).rsplit("/", 1)[-1]


def _type_text(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> str:
    if "$ref" in schema:
        name = _ref_name(schema)
        # Credential kinds have a section of their own on the manifest page.
        return f"[`{name}`](#{name.lower()})" if name in _credential_kinds(defs) else f"`{name}`"
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    if "enum" in schema:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = list(schema[key])
            if (
                len(options) == 2
                and options[1].get("type") == "array"
                and options[1].get("items") == options[0]
            ):
                return f"{_type_text(options[0], defs)}, or a list of them"
            parts = [_type_text(s, defs) for s in options]
            return " or ".join(dict.fromkeys(p for p in parts if p))
    kind = schema.get("type")
    if kind == "array":
        return f"list of {_type_text(schema.get('items') or {}, defs) or 'values'}"
    if kind == "object":
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping) and extra:
            return f"mapping of name to {_type_text(extra, defs)}"
        return "mapping"
    if kind == "string" and schema.get("format") == "path":
        return "path (relative to the manifest)"
    return str(kind or "")


def _constraints(schema: Mapping[str, Any]) -> str:
    words = {
        "minLength": "at least {} character(s)",
        "minimum": ">= {}",
        "exclusiveMinimum": "> {}",
        "maximum": "<= {}",
    }
    found = [text.format(schema[key]) for key, text in words.items() if key in schema]
    for option in schema.get("anyOf") or ():
        found.extend(text.format(option[key]) for key, text in words.items() if key in option)
    return ", ".join(found)


def _one_line(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


# What a key is for where the schema says nothing (the schema's own description wins; the
# better home for these is a `description=` on the model's field in conformance/manifest.py).
_FIELD_NOTES = {
    "base_url": "the provider's test environment: its base URL including the API's base path",
    "headers": "extra headers sent on every request (e.g. a RequesterID the API demands)",
    "decryption_key": "the consumer's private key (PEM) to read encrypted application/jose bodies",
    "decryption_keys": "further consumers' private keys (PEM) by credential role, tried after "
    "decryption_key",
    "fixtures": "test data in the provider's test environment; each profile's page lists the names",
    "capabilities": "what the provider offers (each profile's page lists them); leave out to "
    "claim every capability; a rule whose capability is not listed is not-applicable",
    "negative_auth.wrong_scope": "a scope the provider does not grant to this client",
    "negative_auth.wrong_scope.scope": "the scope to ask for",
    "negative_auth.signing_key": "a test identity provider's private key (PEM): the suite mints "
    "expired and wrong-audience tokens with it",
    "negative_auth.kid": "the key id to put in tokens signed with signing_key",
    "negative_auth.issuer": "the issuer the provider accepts (default: read from a real token)",
    "negative_auth.audience": "the audience the provider accepts (default: read from a real token)",
    "limits.max_requests": "stop the run after this many requests (the report says so)",
    "limits.requests_per_second": "pace the requests to at most this rate",
    "limits.read_only": "true: send no unsafe methods; rules that must write are not-applicable",
    "limits.timeout_seconds": "how long to wait for one answer",
    "limits.max_body_bytes": "read at most this much of one answer (a larger one fails the rule)",
    "waivers": "known deviations accepted until a date: the rule's verdict becomes waived",
    "waivers[].rule": "the rule id",
    "waivers[].reason": "why the deviation is accepted (shown in the report)",
    "waivers[].expires": "the last day the waiver applies (YYYY-MM-DD); after it the rule counts",
    "explore.enabled": "run tier 3 without `--explore`",
    # The credential kinds, by kind.
    "ApiKeyAuth.header": "the header that carries the key",
    "ApiKeyAuth.value": "the key (give it as `${VAR}`)",
    "BearerAuth.token": "the access token (give it as `${VAR}`)",
    "ClientCredentialsAuth.client_id": "the client's id at the identity provider",
    "ClientCredentialsAuth.client_secret": "the client's secret (give it as `${VAR}`)",
    "JwtBearerAuth.client_id": "the client's id (the assertion's `iss`)",
    "ClientCredentialsAuth.token_url": "the token endpoint",
    "ClientCredentialsAuth.scope": "the scopes to ask for, space-separated",
    "ClientCredentialsAuth.resource": "the token's audience as an RFC 8707 resource; only if the "
    "token endpoint needs one",
    "ClientCredentialsAuth.audience": "an `audience` parameter for token endpoints that take one",
    "ClientCredentialsAuth.auth_method": "how the client authenticates at the token endpoint: "
    "in the form body (post) or with HTTP Basic",
    "JwtBearerAuth.token_url": "the token endpoint (e.g. Maskinporten's)",
    "JwtBearerAuth.kid": "the key id in the assertion's header, if the identity provider wants one",
    "JwtBearerAuth.scope": "the scopes to ask for, space-separated",
    "JwtBearerAuth.algorithm": "the assertion's signing algorithm",
    "environment": "test or production: some rules apply to one environment only (e.g. "
    "plain JSON in test, JWE in production)",
}


@dataclass(frozen=True)
class Field:
    """One manifest key: its dotted path, type, whether required, default and description."""

    path: str
    type: str
    required: bool
    default: str
    description: str


def _fields_of(
    schema: Mapping[str, Any], defs: Mapping[str, Any], prefix: str, *, kind: str = ""
) -> Iterable[Field]:
    required = set(schema.get("required") or ())
    kinds = _credential_kinds(defs)
    for name, prop in (schema.get("properties") or {}).items():
        note = f"{kind}.{name}" if kind else f"{prefix}{name}"
        description = prop.get("description") or _FIELD_NOTES.get(note, "")
        if kind and name == "type" and "const" in prop:
            description = "selects this kind of credential"
        if "$ref" in prop and not description:
            target = defs.get(_ref_name(prop), {})
            description = target.get("description") or ""
        constraint = _constraints(prop)
        if constraint:
            description = f"{description} ({constraint})" if description else constraint
        default = ""
        if "default" in prop and prop["default"] not in (None, [], {}):
            default = f"`{json.dumps(prop['default'])}`"
        yield Field(
            f"{prefix}{name}",
            _type_text(prop, defs),
            name in required,
            default,
            _one_line(description),
        )
        if "$ref" in prop and _ref_name(prop) not in kinds:
            yield from _fields_of(defs.get(_ref_name(prop), {}), defs, f"{prefix}{name}.")
        elif prop.get("type") == "array" and "$ref" in (prop.get("items") or {}):
            target = defs.get(_ref_name(prop["items"]), {})
            yield from _fields_of(target, defs, f"{prefix}{name}[].")
        for option in prop.get("anyOf") or ():
            # An optional object (`X | None`): its keys too.
            if "$ref" in option and _ref_name(option) not in kinds:
                yield from _fields_of(defs.get(_ref_name(option), {}), defs, f"{prefix}{name}.")


def manifest_fields() -> dict[str, list[Field]]:
    """Every key of the manifest's JSON Schema: the top level and its nested objects under
    `manifest`, each credential kind (`auth` and `credentials.<role>` entries) under its name."""
    schema = manifest_schema()
    defs: Mapping[str, Any] = schema.get("$defs") or {}
    found: dict[str, list[Field]] = {"manifest": list(_fields_of(schema, defs, ""))}
    for name in _credential_kinds(defs):
        found[name] = list(_fields_of(defs[name], defs, "", kind=name))
    return found


def _field_table(fields: Sequence[Field]) -> list[str]:
    lines = ["| key | type | required | default | what it is |", "|---|---|---|---|---|"]
    for f in fields:
        lines.append(
            f"| `{f.path}` | {f.type} | {'yes' if f.required else ''} | {f.default} | "
            f"{f.description or '-'} |"
        )
    return lines


def _manifest_index(profiles: Sequence[Profile]) -> str:
    fields = manifest_fields()
    defs: Mapping[str, Any] = manifest_schema().get("$defs") or {}
    lines = [
        "# Manifest reference",
        "",
        "A manifest is the YAML file `kontrakt certify` reads: which profile, which provider, which",
        "credentials, which test data. This page is generated from the manifest's JSON Schema",
        "(`kontrakt manifest-schema`); each profile's page adds the fixtures, credential roles and",
        "capabilities its rules read (`kontrakt manifest-schema --profile PROFILE`).",
        "",
        "Every string may use `${VAR}` or `${VAR:-default}` (keep secrets in the environment;",
        "`$${` writes a literal `${`); file paths are relative to the manifest. A manifest with",
        "problems is refused before any request is sent, every problem named with its key path",
        "(exit status 2).",
        "",
        "## Profiles",
        "",
        "| profile | fixtures | credential roles | capabilities |",
        "|---|---|---|---|",
    ]
    for profile in profiles:
        rule_set = profile.rule_set
        lines.append(
            f"| [{profile.id}]({slug(profile.id)}.md) | {len(rule_set.fixtures)} | "
            f"{len(rule_set.roles)} | {len(capabilities_of(profile))} |"
        )
    lines += ["", "## Top-level keys", "", *_field_table(fields["manifest"]), ""]
    lines += [
        "## Credentials",
        "",
        "`auth` (the main client) and each `credentials.<role>` entry is one of these kinds, chosen",
        "by `type`, or a list of them (their headers are combined on every request).",
        "",
    ]
    for name, items in fields.items():
        if name == "manifest":
            continue
        kind = next((f.type for f in items if f.path == "type"), name)
        lines += [f"### {name}", ""]
        description = _one_line(defs.get(name, {}).get("description") or "")
        if description:
            lines += [f"{description} (`type: {kind.strip('`').strip(chr(34))}`)", ""]
        lines += [*_field_table(items), ""]
    return "\n".join(lines)


def _rule_links(rules: Iterable[str], profile_id: str, *, from_dir: str) -> str:
    target = f"../rules/{slug(profile_id)}.md" if from_dir == "manifest" else ""
    return ", ".join(f"[{r}]({target}#{r.lower()})" for r in rules if r != "PREFLIGHT") + (
        " and the preflight" if "PREFLIGHT" in rules else ""
    )


def _manifest_profile(profile: Profile) -> str:
    rule_set = profile.rule_set
    page = slug(profile.id)
    lines = [
        f"# Manifest for {profile.id}",
        "",
        f"What the rules of `{profile.id}` read from a manifest, beyond the [common keys](index.md).",
        f"`kontrakt init {profile.id} -o provider.yaml` writes all of it as a commented file;",
        f"`kontrakt manifest-schema --profile {profile.id}` prints it as JSON Schema. Rules are",
        f"listed in the [rule catalogue](../rules/{page}.md).",
        "",
        "## Fixtures",
        "",
        "Test data in the provider's test environment, under `fixtures:` (synthetic values only).",
        "A missing required fixture makes the rules that read it `error`; a missing optional one",
        "makes them `not-applicable`, naming the fixture to add.",
        "",
    ]
    if rule_set.fixtures:
        lines += [
            "| fixture | required | type | what it is | example | rules |",
            "|---|---|---|---|---|---|",
        ]
        for spec in sorted(rule_set.fixtures.values(), key=lambda s: (not s.required, s.name)):
            example = (
                f"`{json.dumps(spec.example, ensure_ascii=False)}`"
                if spec.example is not None
                else ""
            )
            lines.append(
                f"| `{spec.name}` | {'yes' if spec.required else 'no'} | "
                f"{_type_text(spec.schema, {})} | {_one_line(spec.description)} | "
                f"{_one_line(example)} | {_rule_links(spec.rules, profile.id, from_dir='manifest')} |"
            )
    else:
        lines.append("This profile reads no fixtures.")
    lines += [
        "",
        "## Credential roles",
        "",
        "Further clients of the provider's test environment, each a credential of its own, under",
        "`credentials.<role>:` (any kind from the [credentials](index.md#credentials) list).",
        "",
    ]
    if rule_set.roles:
        lines += [
            "| role | required | kind | scope | what it is | rules |",
            "|---|---|---|---|---|---|",
        ]
        for role in sorted(rule_set.roles.values(), key=lambda r: (not r.required, r.name)):
            lines.append(
                f"| `{role.name}` | {'yes' if role.required else 'no'} | `{role.auth_type}` | "
                f"{f'`{role.scope}`' if role.scope else ''} | {_one_line(role.description)} | "
                f"{_rule_links(role.rules, profile.id, from_dir='manifest')} |"
            )
    else:
        lines.append("This profile asks for no further credentials.")
    lines += [
        "",
        "## Capabilities",
        "",
        "What the provider offers, under `capabilities:`. Leave the list out to claim every one; a",
        "rule whose capability is not listed is `not-applicable`.",
        "",
    ]
    capabilities = capabilities_of(profile)
    if capabilities:
        lines += ["| capability | what it means | rules |", "|---|---|---|"]
        for name, entry in capabilities.items():
            lines.append(
                f"| `{name}` | {_one_line(entry['description'])} | "
                f"{_rule_links(entry['rules'], profile.id, from_dir='manifest')} |"
            )
    else:
        lines.append("Every rule of this profile always applies.")
    lines.append("")
    return "\n".join(lines)


# -- the rule catalogue -----------------------------------------------------------------------


def _source_text(info: RuleInfo, sources: Mapping[str, Any]) -> str:
    doc = str(info.source.get("doc", ""))
    section = str(info.source.get("section", ""))
    note = str(info.source.get("note", ""))
    known = sources.get(doc)
    name = f"`{doc}`" if doc else ""
    if isinstance(known, Mapping) and known.get("url"):
        name = f"[`{doc}`]({known['url']})"
    text = f"{name} {_one_line(section)}".strip()
    return text + (f" ({_one_line(note)})" if note else "")


def _assumptions(profile: Profile) -> dict[str, str]:
    """Each `x-kontrakt-assumption` of the profile's document: id -> statement."""
    found: dict[str, str] = {}

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            for key, child in value.items():
                if key in ("assumption", "x-kontrakt-assumption") and isinstance(child, Mapping):
                    if child.get("id"):
                        found.setdefault(str(child["id"]), str(child.get("statement", "")))
                else:
                    walk(child)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(profile.spec.data)
    return found


def _a_links(text: str, known: Mapping[str, str]) -> str:
    return _ASSUMPTION_ID.sub(
        lambda m: f"[{m.group(0)}](#{m.group(0).lower()})" if m.group(0) in known else m.group(0),
        text,
    )


def _rule_page(profile: Profile, proofs: ProofTable) -> str:
    rule_set = profile.rule_set
    page = slug(profile.id)
    api = profile.spec.data.get("x-kontrakt-api") or {}
    sources: Mapping[str, Any] = api.get("sources") or {}
    assumptions = _assumptions(profile)
    fixtures_of: dict[str, list[str]] = {}
    for spec in rule_set.fixtures.values():
        for rule_id in spec.rules:
            fixtures_of.setdefault(rule_id, []).append(spec.name)
    roles_of: dict[str, list[str]] = {}
    for role in rule_set.roles.values():
        for rule_id in role.rules:
            roles_of.setdefault(rule_id, []).append(role.name)
    title = str((profile.spec.data.get("info") or {}).get("title", profile.id))
    automated = sum(1 for r in profile.catalogue if r in rule_set.functions)
    severities = {
        s: sum(1 for r in profile.catalogue.values() if r.severity == s)
        for s in ("MUST", "SHOULD", "MAY")
    }
    lines = [
        f"# Rules of {profile.id}",
        "",
        f"{title}: {len(profile.catalogue)} rules ({severities['MUST']} MUST, "
        f"{severities['SHOULD']} SHOULD, {severities['MAY']} MAY), {automated} automated. "
        f"Generated from `x-kontrakt-rules` in the contract, the rule functions of the profile and "
        f"the proof table [{proofs.page}](../../{proofs.page}). What a manifest gives these rules: "
        f"[manifest for {profile.id}](../manifest/{page}.md).",
        "",
        "*Basis* `published`: the rule stands on the publisher's clause and a broken MUST rule fails",
        "at the default level. `assumption`: the rule stands on one of kontrakt's own proposals",
        "(an `A-...` id, listed at the end of this page) and only warns at the default level, failing",
        "at `level: strict`. A published rule may still hold checks that rest on an assumption; the",
        "proof table names them. See [what a certification rests on](../../certify-levels.md).",
        "",
        "| rule | severity | basis | automated | what it demands |",
        "|---|---|---|---|---|",
    ]
    for rule_id, info in profile.catalogue.items():
        basis = _basis_text(info)
        done = "yes" if rule_id in rule_set.functions else "**not automated**"
        lines.append(
            f"| [{rule_id}](#{rule_id.lower()}) | {info.severity} | {_a_links(basis, assumptions)} | "
            f"{done} | {_one_line(info.title)} |"
        )
    lines.append("")
    for rule_id, info in profile.catalogue.items():
        function = rule_set.functions.get(rule_id)
        lines += [f"## {rule_id}", "", _one_line(info.title).replace("\\|", "|"), ""]
        facts = [f"**Severity:** {info.severity}"]
        facts.append(f"**Basis:** {_a_links(_basis_text(info), assumptions)}")
        clause = _source_text(info, sources)
        if clause:
            facts.append(f"**Clause:** {clause}")
        if function is None:
            facts.append("**Automated:** no (counted as not automated in every report)")
        else:
            how = f"`{function.name}`"
            if rule_id in rule_set.schema_rules:
                checks = ", ".join(rule_set.schema_rules[rule_id]["checks"])
                how += f" (tier 2: schemathesis checks {checks})"
            if rule_id in rule_set.explore_rules:
                how += " (tier 3: the exploratory run, `certify --explore`)"
            facts.append(f"**Automated:** {how}")
        capability = function.capability if function is not None else info.capability
        if capability:
            facts.append(
                f"**Capability:** [`{capability}`](../manifest/{page}.md#capabilities)"
                if not capability.startswith("environment:")
                else f"**Applies to:** `{capability}`"
            )
        if info.codes:
            facts.append("**Codes:** " + ", ".join(f"`{c}`" for c in info.codes))
        if rule_id in fixtures_of:
            facts.append(
                "**Fixtures:** "
                + ", ".join(
                    f"[`{f}`](../manifest/{page}.md#fixtures)" for f in fixtures_of[rule_id]
                )
            )
        if rule_id in roles_of:
            facts.append(
                "**Credential roles:** "
                + ", ".join(
                    f"[`{r}`](../manifest/{page}.md#credential-roles)" for r in roles_of[rule_id]
                )
            )
        for column, value in proofs.cells(rule_id, "basis", "clause", "proposal", "passes in"):
            facts.append(f"**{column.capitalize()} (proof table):** {_a_links(value, assumptions)}")
        bad = proofs.cells(rule_id, "known-bad", "fails against")
        good = proofs.cells(rule_id, "known-good")
        for _, value in bad:
            facts.append(f"**Known-bad variants (must fail):** {value}")
        for _, value in good:
            facts.append(f"**Known-good variants (must pass at default):** {value}")
        if function is not None and not bad and rule_id not in proofs.rows:
            facts.append(f"**Proof:** no row in [{proofs.page}](../../{proofs.page}) yet")
        lines += [f"- {fact}" for fact in facts]
        lines.append("")
    lines += [
        "## Assumptions",
        "",
        f"kontrakt's own proposals in the {profile.id} contract "
        "(`kontrakt assumptions`): a rule or check resting on one warns at the default level.",
        "",
    ]
    if assumptions:
        lines += ["| id | statement |", "|---|---|"]
        for a_id in sorted(assumptions, key=_assumption_order):
            lines.append(
                f'| <span id="{a_id.lower()}"></span>{a_id} | {_one_line(assumptions[a_id])} |'
            )
    else:
        lines.append("None.")
    if sources:
        lines += ["", "## Sources", "", "| key | document |", "|---|---|"]
        for key, value in sources.items():
            if not isinstance(value, Mapping):
                continue
            text = _one_line(str(value.get("title", "")))
            if value.get("url"):
                text = f"[{text}]({value['url']})"
            lines.append(f"| `{key}` | {text} |")
    lines.append("")
    return "\n".join(lines)


def _basis_text(info: RuleInfo) -> str:
    """`published`, `published (records A-X-1)` or `assumption A-X-1`: what the rule stands on."""
    a_id = info.assumption_id
    if info.basis == "assumption":
        return f"assumption {a_id}" if a_id else "assumption"
    return f"published (records {a_id})" if a_id else "published"


def _assumption_order(a_id: str) -> tuple[str, int]:
    prefix, _, number = a_id.rpartition("-")
    return (prefix, int(number) if number.isdigit() else 0)


def _rules_index(profiles: Sequence[Profile]) -> str:
    lines = [
        "# Rule catalogue",
        "",
        "Every rule of every profile `kontrakt certify` runs: what it demands, what it stands on,",
        "what a manifest must give it and the sandbox variants that prove it (each automated rule",
        "passes on a provider that keeps it and fails on a known-bad twin that breaks it). Generated",
        "from the contracts' `x-kontrakt-rules`, the rule functions and `docs/*-rule-proofs.md`.",
        "",
        "| profile | rules | MUST | SHOULD | MAY | automated | basis assumption | proofs |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for profile in profiles:
        catalogue = profile.catalogue.values()
        count = {s: sum(1 for r in catalogue if r.severity == s) for s in ("MUST", "SHOULD", "MAY")}
        lines.append(
            f"| [{profile.id}]({slug(profile.id)}.md) | {len(profile.catalogue)} | {count['MUST']} | "
            f"{count['SHOULD']} | {count['MAY']} | "
            f"{sum(1 for r in profile.catalogue if r in profile.rule_set.functions)} | "
            f"{sum(1 for r in catalogue if r.basis == 'assumption')} | "
            f"[{proof_page(profile.id)}](../../{proof_page(profile.id)}) |"
        )
    lines.append("")
    return "\n".join(lines)


# -- kontrakt diff ----------------------------------------------------------------------------


def _diff_rules_page() -> str:
    from kontrakt.diff.checks_dan import DAN_OVERLAY, DAN_RULES
    from kontrakt.diff.checks_generic import GENERIC_RULES
    from kontrakt.diff.checks_sdir import SDIR_OVERLAY, SDIR_RULES

    lines = [
        "# Versioning rules of `kontrakt diff`",
        "",
        "Every rule `kontrakt diff` judges a change by, per rule set (`--rules`). Generated from the",
        "rule tables in `kontrakt/diff/`. A `breaking` change fails the check (exit 1) unless a new",
        "major URL version covers it; `warn` fails only with `--fail-on warn`. See the",
        "[diff guide](../diff.md).",
        "",
    ]
    sets: tuple[tuple[str, str, Mapping[str, Any], Mapping[str, str]], ...] = (
        ("generic", "every OpenAPI document (the default)", GENERIC_RULES, {}),
        ("dan", "DAN (data.altinn.no): generic plus these", DAN_RULES, DAN_OVERLAY),
        ("sdir", "Sdir: generic plus these", SDIR_RULES, SDIR_OVERLAY),
    )
    for name, what, rules, overlay in sets:
        lines += [f"## {name}", "", f"`--rules {name}`: {what}.", ""]
        lines += ["| rule | verdict | why | oasdiff check |", "|---|---|---|---|"]
        for rule_id in sorted(rules):
            rule = rules[rule_id]
            oasdiff = f"`{rule.oasdiff}`" if rule.oasdiff else ""
            lines.append(
                f"| `{rule_id}` | {rule.verdict.value} | {_one_line(rule.cites)} | {oasdiff} |"
            )
        if overlay:
            lines += [
                "",
                f"Under `--rules {name}` these generic rules are judged by the {name} rule "
                "named instead (its verdict and citation):",
                "",
                "| generic rule | replaced by |",
                "|---|---|",
            ]
            for generic, own in sorted(overlay.items()):
                lines.append(f"| `{generic}` | `{own}` |")
        lines.append("")
    return "\n".join(lines)


# -- the whole set ----------------------------------------------------------------------------


def generate_pages(docs_dir: Path) -> dict[str, str]:
    """Every generated page: its path under the docs folder -> its Markdown (sorted by path).

    `docs_dir` is where the proof tables (`*-rule-proofs.md`) are read from.
    """
    profiles = [load_profile(p) for p in profile_ids()]
    pages: dict[str, str] = {
        f"{MANIFEST_DIR}/index.md": _manifest_index(profiles),
        f"{RULES_DIR}/index.md": _rules_index(profiles),
        DIFF_RULES_PAGE: _diff_rules_page(),
    }
    for profile in profiles:
        proofs = read_proof_table(docs_dir / proof_page(profile.id))
        pages[f"{MANIFEST_DIR}/{slug(profile.id)}.md"] = _manifest_profile(profile)
        pages[f"{RULES_DIR}/{slug(profile.id)}.md"] = _rule_page(profile, proofs)
    return dict(sorted(pages.items()))


def expand_nav(nav: Any, ids: Sequence[str]) -> Any:
    """The site's nav with each generated index page (`reference/<x>/index.md`) turned into a
    section holding it and one page per profile, so a new profile needs no edit of mkdocs.yml."""
    if isinstance(nav, list):
        return [expand_nav(item, ids) for item in nav]
    if isinstance(nav, dict):
        expanded: dict[str, Any] = {}
        for title, value in nav.items():
            if value in (f"{MANIFEST_DIR}/index.md", f"{RULES_DIR}/index.md"):
                folder = str(value).rsplit("/", 1)[0]
                value = [value, *({p: f"{folder}/{slug(p)}.md"} for p in ids)]
            expanded[title] = expand_nav(value, ids)
        return expanded
    return nav


def _file_link(root: Path, path: str, site_url: str) -> str:
    exists = (root / path).is_file()
    if path.startswith("docs/"):
        target = f"[`{path}`]({path.removeprefix('docs/')})"
    else:
        target = f"[`{path}`]({site_url}{path})"
    return target if exists else f"`{path}` (not in this checkout yet)"


def _action_inputs(root: Path) -> str:
    import yaml

    path = root / "action.yml"
    if not path.is_file():
        return "*`action.yml` is not in this checkout yet.*"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    lines = ["| input | required | default | what it is |", "|---|---|---|---|"]
    for name, spec in (data.get("inputs") or {}).items():
        spec = spec or {}
        default = spec.get("default")
        lines.append(
            f"| `{name}` | {'yes' if spec.get('required') else 'no'} | "
            f"{'' if default in (None, '') else f'`{_one_line(str(default))}`'} | "
            f"{_one_line(str(spec.get('description', '')))} |"
        )
    outputs = data.get("outputs") or {}
    if outputs:
        lines += ["", "| output | what it is |", "|---|---|"]
        for name, spec in outputs.items():
            lines.append(f"| `{name}` | {_one_line(str((spec or {}).get('description', '')))} |")
    return "\n".join(lines)


# What each `kontrakt diff --format` is for (a format added to the code without a line here is
# still listed, with its name only).
_DIFF_FORMAT_NOTES = {
    "text": "for people: one entry per difference, the operations a shared schema change affects "
    "grouped, the rule applied and both JSON pointers (the default)",
    "json": "for tools: every change separately with its stable id, verdict, rule and pointers",
    "markdown": "the text report as Markdown, for a pull-request comment or a job summary",
    "junit": "JUnit XML: each change a test case that fails when it would fail CI, for CI dashboards",
    "yaml": "the JSON report as YAML",
    "html": "one self-contained page (no script, no external asset): summary counts, then each "
    "change, breaking first, with its rule, citation and oasdiff id",
    "sarif": "SARIF 2.1.0 for code scanning: each change a result on the side that has it (the "
    "new document, or the old one for a removal), at the line of its pointer when that side is "
    "a local file",
    "githubactions": "GitHub workflow commands: a summary notice, then one `::error`, `::warning` "
    "or `::notice` annotation per change at its file and line",
    "singleline": "a summary line, then one line per change (verdict, rule, message, id), for grep",
}


# What each report `kontrakt certify --format` writes is for, in CI.
_CERTIFY_REPORTS = {
    "json": ("report.json", "tools; always written (see the [report format](report-format.md))"),
    "junit": (
        "junit.xml",
        "test reports: one test case per rule (`failure` for fail, `error` for error, `skipped` "
        "for not-applicable and waived)",
    ),
    "html": ("report.html", "an artifact to open in a browser (self-contained)"),
    "sarif": (
        "report.sarif",
        "code scanning: the findings that map to a place in the contract, as SARIF 2.1.0",
    ),
}


def _certify_reports() -> str:
    from kontrakt.conformance.report.formats import FORMATS

    lines = ["| format | file | for |", "|---|---|---|"]
    for name in FORMATS:
        file, what = _CERTIFY_REPORTS.get(name, (name, "-"))
        lines.append(f"| `{name}` | `{file}` | {what} |")
    lines.append(
        "| | `certificate.json`, `certificate.md` | the proof of a passing run, to keep "
        "(only when the profile passed) |"
    )
    return "\n".join(lines)


def _ci_summary() -> str:
    # `kontrakt ci-summary` lives in kontrakt.ci (read without importing the whole CLI).
    import importlib.util

    if importlib.util.find_spec("kontrakt.ci") is None:
        return ""
    return (
        "Outside GitHub Actions the same summary comes from `kontrakt ci-summary "
        "REPORT.json [--summary FILE] [--annotations]`: the run as Markdown (for a job summary "
        "or a merge-request note) and, with `--annotations`, GitHub Actions annotations of the "
        "failing rules."
    )


def _fenced_file(root: Path, path: str, language: str) -> str:
    file = root / path
    if not file.is_file():
        return f"*`{path}` is not in this checkout yet.*"
    text = file.read_text(encoding="utf-8").rstrip("\n")
    return f"```{language}\n{text}\n```"


def _action_usage(root: Path, action: str) -> str:
    import yaml

    path = root / "action.yml"
    if not path.is_file():
        return "*`action.yml` is not in this checkout yet.*"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    lines = ["```yaml", f"- uses: {action}", "  with:"]
    for name, spec in (data.get("inputs") or {}).items():
        spec = spec or {}
        default = spec.get("default")
        if spec.get("required"):
            lines.append(f'    {name}: "..."  # required')
        elif default in (None, ""):
            lines.append(f'    # {name}: ""')
        else:
            lines.append(f"    {name}: {json.dumps(str(default))}")
    lines.append("```")
    return "\n".join(lines)


def snippets(root: Path, *, repository_url: str) -> dict[str, str]:
    """Generated pieces a hand-written page embeds with `<!-- kontrakt:NAME -->`, by name.

    `root` is the repository (for the CI files); `repository_url` links files outside docs/.
    """
    from kontrakt.conformance.report.formats import FORMATS as CERTIFY_FORMATS
    from kontrakt.diff.engine import RULESETS
    from kontrakt.diff.report import FORMATS as DIFF_FORMATS

    blob = repository_url.rstrip("/") + "/blob/main/"
    ci_files = ("action.yml", "docs/ci/github-certify-matrix.yml", "docs/ci/gitlab-certify.yml")
    return {
        "diff-formats": ", ".join(f"`{f}`" for f in DIFF_FORMATS),
        "diff-rulesets": ", ".join(f"`{r}`" for r in RULESETS),
        "certify-formats": ", ".join(f"`{f}`" for f in CERTIFY_FORMATS),
        "profiles": ", ".join(f"`{p}`" for p in profile_ids()),
        "ci-files": "\n".join(f"- {_file_link(root, p, blob)}" for p in ci_files),
        "diff-formats-table": "\n".join(
            ["| format | what it is |", "|---|---|"]
            + [f"| `{f}` | {_DIFF_FORMAT_NOTES.get(f, '-')} |" for f in DIFF_FORMATS]
        ),
        "action-inputs": _action_inputs(root),
        "certify-reports": _certify_reports(),
        "ci-summary": _ci_summary(),
        "action-usage": _action_usage(root, _action_name(repository_url)),
        "ci-github-example": _fenced_file(root, "docs/ci/github-certify-matrix.yml", "yaml"),
        "ci-gitlab-example": _fenced_file(root, "docs/ci/gitlab-certify.yml", "yaml"),
    }


def _action_name(repository_url: str) -> str:
    """`owner/name@vX.Y.Z` from the repository's URL and kontrakt's version (a workflow's
    `uses:`), so the action and the kontrakt it installs are of one release."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        tag = f"v{version('kontrakt')}"
    except PackageNotFoundError:  # pragma: no cover - a bare source tree
        tag = "main"
    parts = repository_url.rstrip("/").split("/")
    return "/".join(parts[-2:]) + f"@{tag}" if len(parts) >= 2 else "./"


def fill_snippets(markdown: str, pieces: Mapping[str, str]) -> str:
    """`markdown` with each `<!-- kontrakt:NAME -->` replaced; an unknown name is an error."""

    def piece(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in pieces:
            raise KeyError(f"unknown generated snippet {name!r} (known: {', '.join(pieces)})")
        return pieces[name]

    return _MARKER.sub(piece, markdown)
