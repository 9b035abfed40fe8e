"""Sdir additional competence v2 conformance profile (`sdir-additional-competence/v2`).

The checks live once in `kontrakt/conformance/rules/_sdir.py` and are registered here for every rule id
of this document's `x-kontrakt-rules` that has one; the ids without a check are reported as
not automated. Fixtures, credential roles, capabilities and the preflight are declared in
`_sdir.declare` (`kontrakt init sdir-additional-competence/v2` lists them); the basis of each
check and the read_only behaviour: see `_sdir`'s docstring.
"""

from __future__ import annotations

from kontrakt.conformance.rules._sdir import profile

__all__ = ["AUTOMATED", "rules"]

rules, AUTOMATED = profile("sdir-additional-competence/v2")
