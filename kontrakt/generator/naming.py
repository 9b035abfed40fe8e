"""Python names for everything the generator emits: methods, parameters, classes, packages.

All naming happens here, in Python, with typed results; templates never build a name. The rules:

- Text is transliterated to ASCII first: æ/ø/å become ae/oe/aa (Æ/Ø/Å: Ae/Oe/Aa, or AE/OE/AA
  inside an upper-case word), other accented letters lose their accent (é -> e), and anything
  that is not a letter or digit separates words.
- Words are split at separators and at case changes: ``AccountInfoRequestID`` ->
  account/info/request/id, ``HTTPResponse`` -> http/response; digits stay with the word before
  them (``v2Accounts`` -> v2/accounts).
- ``snake_name`` joins lower-case words with ``_``; ``pascal_name`` capitalises and joins them. A
  name that would start with a digit gets a prefix, a Python keyword gets a trailing ``_``, an empty
  name becomes the fallback.
- An operation without an operationId is named from its method and path: ``GET
  /evidence/{accreditationId}`` -> ``get_evidence_by_accreditation_id``.
- Package names come from ``x-kontrakt-api.id`` (else the document path, see ``package_name``):
  lower case, non-alphanumerics become ``_``, and a version loses trailing ``.0`` groups:
  ``dsop-control/v2.0`` -> ``dsop_control_v2``, ``dsop-control/v1.1.1`` -> ``dsop_control_v1_1_1``.
- ``unique`` makes a list of names distinct with stable numeric suffixes (``name``, ``name_2``, ...):
  the first occurrence keeps its name, so adding a name later never renames an earlier one.
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from collections.abc import Iterable
from pathlib import PurePath

__all__ = [
    "camel_name",
    "derived_operation_id",
    "is_valid_identifier",
    "operation_name",
    "package_name",
    "pascal_name",
    "snake_name",
    "transliterate",
    "unique",
    "words",
]

_NORWEGIAN = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "Æ": "Ae", "Ø": "Oe", "Å": "Aa"})
# Upper-case runs before a capitalised word (HTTP|Response), capitalised or lower-case words, other
# upper-case runs; trailing digits stay with their word (v2, Auth2), a digit run takes the
# lower-case letters after it (2fa).
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+[0-9]*|[A-Z]+[0-9]*|[0-9]+[a-z]*[0-9]*")
_VERSION = re.compile(r"(?<![A-Za-z0-9])(v?[0-9]+)((?:\.[0-9]+)*)")
DOCUMENT_NAMES = ("openapi.yaml", "openapi.yml", "openapi.json")


def _spell_norwegian(text: str) -> str:
    # Upper-case Æ/Ø/Å inside an upper-case word spell as AE/OE/AA (ØKONOMI -> OEKONOMI), so
    # that the word is not split; otherwise as Ae/Oe/Aa (Økonomi -> Oekonomi).
    out: list[str] = []
    for index, char in enumerate(text):
        spelled = char.translate(_NORWEGIAN)
        if spelled != char and char.isupper():
            after = text[index + 1 : index + 2]
            before = text[index - 1 : index] if index else ""
            if after.isupper() or (not after.isalpha() and before.isupper()):
                spelled = spelled.upper()
        out.append(spelled)
    return "".join(out)


def transliterate(text: str) -> str:
    """``text`` in ASCII: Norwegian letters spelled out, accents dropped, other letters removed."""
    decomposed = unicodedata.normalize("NFKD", _spell_norwegian(text))
    return decomposed.encode("ascii", "ignore").decode("ascii")


def words(text: str) -> list[str]:
    """The words of ``text`` (see the module docstring), in their original case."""
    return _WORD.findall(transliterate(text))


def is_valid_identifier(name: str) -> bool:
    """An ASCII Python identifier that is not a keyword."""
    return name.isascii() and name.isidentifier() and not keyword.iskeyword(name)


def _finish(name: str, prefix: str, reserved: Iterable[str]) -> str:
    if name[:1].isdigit():
        name = f"{prefix}{name}"
    if keyword.iskeyword(name) or name in set(reserved):
        name = f"{name}_"
    return name


def snake_name(
    text: str, *, fallback: str = "value", prefix: str = "n_", reserved: Iterable[str] = ()
) -> str:
    """A snake_case identifier for ``text``: ``Legal-Mandate`` -> ``legal_mandate``."""
    name = "_".join(w.lower() for w in words(text)) or fallback
    return _finish(name, prefix, reserved)


def pascal_name(text: str, *, fallback: str = "Model", prefix: str = "N") -> str:
    """A PascalCase class name for ``text``: ``find pet by id`` -> ``FindPetById``."""
    name = "".join(w[:1].upper() + w[1:] for w in words(text)) or fallback
    return _finish(name, prefix, ())


def camel_name(text: str, *, fallback: str = "operation") -> str:
    """A camelCase name for ``text``: ``get /pets/{id}`` words -> ``getPetsId``."""
    pascal = pascal_name(text, fallback=fallback[:1].upper() + fallback[1:], prefix="N")
    return pascal[:1].lower() + pascal[1:]


def operation_name(operation_id: str) -> str:
    """The Python method name of an operation: ``listAccounts`` -> ``list_accounts``,
    ``meta/root`` -> ``meta_root``."""
    return snake_name(operation_id, fallback="operation", prefix="op_")


def derived_operation_id(method: str, path: str) -> str:
    """A stable camelCase operationId for an operation that has none, from its method and path.

    Path parameters read as ``by <name>``: ``GET /evidence/{accreditationId}`` ->
    ``getEvidenceByAccreditationId``; ``GET /`` -> ``getRoot``.
    """
    parts: list[str] = [method.lower()]
    for segment in path.split("/"):
        if not segment:
            continue
        if segment.startswith("{") and segment.endswith("}"):
            parts.extend(["by", segment[1:-1]])
        else:
            parts.append(segment)
    if len(parts) == 1:
        parts.append("root")
    return camel_name(" ".join(parts))


def _drop_zero_groups(match: re.Match[str]) -> str:
    head, tail = match.group(1), match.group(2)
    while tail.endswith(".0"):
        tail = tail[:-2]
    return head + tail


def package_name(api_id: str | None, path: PurePath | None = None) -> str:
    """The package name of a document: from ``x-kontrakt-api.id``, else from its path.

    Without an id, a file named ``openapi.yaml|yml|json`` is named after its two parent folders
    (``specs/dps/v1/openapi.yaml`` -> ``dps/v1``); any other file after its name without the
    suffix (``petstore-expanded.yaml`` -> ``petstore-expanded``). Then: versions lose trailing
    ``.0`` groups, letters are transliterated and lower-cased, every other character becomes
    ``_``, and a leading digit gets the prefix ``api_``.
    """
    if api_id:
        raw = api_id
    elif path is not None and path.name in DOCUMENT_NAMES and len(path.parts) >= 3:
        raw = f"{path.parent.parent.name}/{path.parent.name}"
    elif path is not None:
        raw = path.stem
    else:
        raw = ""
    raw = _VERSION.sub(_drop_zero_groups, transliterate(raw))
    name = re.sub(r"[^a-z0-9]+", "_", raw.lower()).strip("_") or "api"
    return _finish(name, "api_", ())


def unique(names: Iterable[str], *, taken: Iterable[str] = (), separator: str = "_") -> list[str]:
    """``names`` made distinct (from each other and from ``taken``) by stable numeric suffixes."""
    used = set(taken)
    result: list[str] = []
    for name in names:
        candidate, counter = name, 1
        while candidate in used:
            counter += 1
            candidate = f"{name}{separator}{counter}"
        used.add(candidate)
        result.append(candidate)
    return result
