"""Sjøfartsdirektoratet (Sdir) versioning rules on top of the generic ones.

Sdir's developer portal (restated in FACTS §3) puts the major version in the URL (``/v1/``,
``/v2/``): a major change bumps it, the old version stays available for a limited time, and minor
changes must be non-breaking. Its batch endpoints are all-or-nothing. Sdir publishes no OpenAPI of
its own, so these rules judge our proposed contracts (FACTS §10) as a provider would be judged.
"""

from __future__ import annotations

from kontrakt.diff.model import Rule, Verdict

__all__ = ["SDIR_NOTES", "SDIR_OVERLAY", "SDIR_RULES"]

_SECTION = "Sdir developer portal, REST API conventions (FACTS §3)"

SDIR_RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule(
            "SDIR-VER-URL-MAJOR",
            Verdict.ALLOWED,
            f"{_SECTION}, Versioning: a major change bumps the URL version (/v1/ -> /v2/); "
            "the old version stays available for a limited time.",
        ),
        Rule(
            "SDIR-BATCH-ATOMIC",
            Verdict.BREAKING,
            f"{_SECTION}, Batch: if one item fails the whole batch is aborted and nothing is "
            "stored; size limit, order and error index per FACTS §10.",
        ),
    )
}

SDIR_OVERLAY: dict[str, str] = {
    "GEN-MAJOR-VERSION": "SDIR-VER-URL-MAJOR",
    "GEN-BATCH-WEAKENED": "SDIR-BATCH-ATOMIC",
}

SDIR_NOTES = (
    "Sdir (FACTS §3): inside a URL version only minor, non-breaking changes are allowed; "
    "a breaking change needs the next /vN and the old version kept for a while.",
)
