"""Extract oasdiff's checker test pairs and what its tests assert about them, for our corpus.

Reads a checkout of https://github.com/oasdiff/oasdiff (its ``checker/*_test.go`` and ``data/``),
finds every Go test that loads one base and one revision document from files, diffs them once with
the default diff configuration and asserts which change ids the checks report (or that they report
none), and writes:

- the documents (and any file they ``$ref``) under ``tests/diff/oasdiff/data/``, upstream paths kept;
- ``tests/diff/oasdiff/expectations.json``: per pair, the tests that load it, the ids asserted
  present (with oasdiff's level for each, read from ``checker/rules.go``), ids asserted absent, the
  lowest level the tests listened at, and from that the verdicts of ours that agree with oasdiff.

Tests that edit a loaded document in Go, change the check configuration in ways that move levels
(stability level, deprecation days, severity overrides, attributes), diff more than once, or write
documents to a temporary folder are left out: their pair is not what the files say.

Run it again on a newer oasdiff (``git clone https://github.com/oasdiff/oasdiff``)::

    .venv/bin/python tests/diff/oasdiff/extract.py /path/to/oasdiff --commit <sha>
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
LEVELS = ("INFO", "WARN", "ERR")
LEVEL_RANK = {name: rank for rank, name in enumerate(LEVELS)}
# oasdiff's level for a change, as our verdict: ERR is breaking, WARN a warning, INFO allowed
# (which for a whole pair includes "nothing reported": neither asks anything of a client).
VERDICT_OF_LEVEL = {"ERR": "breaking", "WARN": "warn", "INFO": "allowed"}
ALL_VERDICTS = ("allowed", "warn", "breaking")

SKIP_MARKERS = (
    ".Spec.",
    "StabilityLevel",
    "WithDeprecation",
    "WithSeverityLevels",
    "WithAttributes",
    "TempDir",
    "WriteFile",
    "ProcessIgnored",
    "deleteParam(",
    "deleteResponseHeader(",
    "setRequestBodyType(",
    "setResponseBodyType(",
    "openapi3.NewLoader()",
    "stabilityChanges(",
    "versioningPolicyIds(",
    "crossFileTypeChange(",
    "loadFrom(",
    "responseHeaderSchema(",
)
NEGATIVE_CONTEXT = ("requireNoChange", "NotContains", "require.False", "NotEqual", "Zero(")

_FUNC = re.compile(r"^func (Test\w+)\(t \*testing\.T\) \{\n(.*?)^\}", re.M | re.S)
_HANDLE = re.compile(r"(\w+)\s*=\s*dataFileFn\(\"([^\"]+)\"\)")
_CONST = re.compile(r"^\s*(\w+)\s*=\s*\"(\.\./data/[^\"]+)\"", re.M)
_OPEN = re.compile(r"(\w+),\s*err\s*:?=\s*open\(([^()]*(?:\([^()]*\))?[^()]*)\)")
_L = re.compile(r"(\w+)\s*:?=\s*l\(t,\s*(\d+)")
_D = re.compile(r"(\w+)\s*:?=\s*d\(t,\s*diff\.NewConfig\(\),\s*(\d+),\s*(\d+)\)")
_NULLWRAP = re.compile(r"(\w+)\s*:?=\s*nullableWrapChanges\(t,\s*([^,]+),\s*([^)]+\)?)\)")
_DIFF = re.compile(r"GetWithOperationsSourcesMap\(([^,]+),\s*(\w+),\s*(\w+)\)")
_CHECK = re.compile(
    r"(\w+)\s*:?=\s*checker\.CheckBackwardCompatibility(UntilLevel)?\((.*?)\)\s*$", re.M
)
_ID_CONST = re.compile(r"^\s*(\w+Id)\s*=\s*\"([a-z0-9-]+)\"", re.M)
_RULE = re.compile(r"newBackwardCompatibilityRule\((\w+Id),\s*(ERR|WARN|INFO)\b")


@dataclass
class Pair:
    base: str
    revision: str
    tests: list[str] = field(default_factory=list)
    present: dict[str, str] = field(default_factory=dict)
    absent: set[str] = field(default_factory=set)
    empty_at: list[str] = field(default_factory=list)
    nonempty_at: list[str] = field(default_factory=list)
    listened_at: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.base} -> {self.revision}"

    def accepted(self) -> list[str] | None:
        """Our whole-pair verdicts that agree with oasdiff's tests, or None when they decide nothing.

        The pair's verdict is its worst change. Asserted ids give oasdiff's worst level; a test that
        asserts no change at a level rules out that level and those above; one that asserts some
        change at a level rules out those below.
        """
        if self.present:
            top = max(self.present.values(), key=LEVEL_RANK.__getitem__)
            return [VERDICT_OF_LEVEL[top]]
        accepted = set(ALL_VERDICTS)
        if self.nonempty_at:
            low = min(self.nonempty_at, key=LEVEL_RANK.__getitem__)
            accepted &= {VERDICT_OF_LEVEL[lv] for lv in LEVELS if LEVEL_RANK[lv] >= LEVEL_RANK[low]}
        if self.empty_at:
            high = max(self.empty_at, key=LEVEL_RANK.__getitem__)
            below = {VERDICT_OF_LEVEL[lv] for lv in LEVELS if LEVEL_RANK[lv] < LEVEL_RANK[high]}
            accepted &= below | {"allowed"}
        if not accepted or accepted == set(ALL_VERDICTS):
            return None
        return [v for v in ALL_VERDICTS if v in accepted]


def _go_string_arg(arg: str, handles: dict[str, str], consts: dict[str, str]) -> str | None:
    arg = arg.strip().split(",")[0].strip() if not arg.strip().startswith(tuple(handles)) else arg
    literal = re.fullmatch(r"\"(\.\./data/[^\"]+)\"", arg.strip())
    if literal:
        return literal.group(1)
    call = re.fullmatch(r"(\w+)\(\"([^\"]+)\"\)(?:,.*)?", arg.strip())
    if call and call.group(1) in handles:
        return f"../data/{handles[call.group(1)]}/{call.group(2)}"
    name = arg.strip()
    return consts.get(name)


def _data_path(go_path: str) -> str:
    assert go_path.startswith("../data/"), go_path
    return go_path[len("../data/") :]


def read_registry(repo: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Constant name -> id string, and id string -> level, from oasdiff's checker package."""
    names: dict[str, str] = {}
    for go in sorted((repo / "checker").glob("*.go")):
        if go.name.endswith("_test.go"):
            continue
        names.update(dict(_ID_CONST.findall(go.read_text())))
    levels: dict[str, str] = {}
    for const, level in _RULE.findall((repo / "checker" / "rules.go").read_text()):
        if const in names:
            levels[names[const]] = level
    return names, levels


def extract(repo: Path) -> tuple[dict[str, Pair], list[str]]:
    names, levels = read_registry(repo)
    texts = {p: p.read_text() for p in sorted((repo / "checker").glob("*_test.go"))}
    handles: dict[str, str] = {}
    consts: dict[str, str] = {}
    for text in texts.values():
        handles.update(dict(_HANDLE.findall(text)))
        consts.update(dict(_CONST.findall(text)))
    pairs: dict[str, Pair] = {}
    skipped: list[str] = []
    for path, text in texts.items():
        for name, body in _FUNC.findall(text):
            where = f"checker/{path.name}:{name}"
            if any(marker in body for marker in SKIP_MARKERS):
                skipped.append(f"{where}: edits or reconfigures")
                continue
            found = _pair_of(body, handles, consts)
            if found is None:
                skipped.append(f"{where}: no single file pair")
                continue
            base, revision, result_var, threshold = found
            if not all((repo / "data" / _data_path(p)).is_file() for p in (base, revision)):
                skipped.append(f"{where}: file missing")
                continue
            present, absent, unknown = _ids(body, names, levels)
            empty = bool(
                re.search(rf"require\.(Empty\(t, {result_var}\)|Len\(t, {result_var}, 0\))", body)
            )
            nonempty = bool(re.search(rf"require\.NotEmpty\(t, {result_var}\)", body)) or bool(
                re.search(rf"require\.Len\(t, {result_var}, [1-9]", body)
            )
            if unknown:
                skipped.append(f"{where}: ids without a level {sorted(unknown)}")
                continue
            if not present and not empty and not nonempty:
                skipped.append(f"{where}: asserts no change id")
                continue
            pair = pairs.setdefault(
                f"{_data_path(base)} -> {_data_path(revision)}",
                Pair(_data_path(base), _data_path(revision)),
            )
            pair.tests.append(where)
            pair.present.update(present)
            pair.absent |= absent
            pair.listened_at.append(threshold)
            if empty and not present:
                pair.empty_at.append(threshold)
            if nonempty and not present:
                pair.nonempty_at.append(threshold)
    for pair in pairs.values():
        pair.absent -= set(pair.present)
    return pairs, skipped


def _pair_of(
    body: str, handles: dict[str, str], consts: dict[str, str]
) -> tuple[str, str, str, str] | None:
    """(base, revision, result variable, lowest level listened at) for a one-diff test."""
    d_calls = _D.findall(body)
    wraps = _NULLWRAP.findall(body)
    diffs = _DIFF.findall(body)
    if len(d_calls) + len(wraps) + len(diffs) != 1:
        return None
    if d_calls:
        var, v1, v2 = d_calls[0]
        return f"../data/openapi-test{v1}.yaml", f"../data/openapi-test{v2}.yaml", var, "WARN"
    if wraps:
        var, a, b = wraps[0]
        base = _go_string_arg(a, handles, consts)
        revision = _go_string_arg(b, handles, consts)
        if base is None or revision is None:
            return None
        return base, revision, var, "INFO"
    config, left, right = diffs[0]
    if config.strip() != "diff.NewConfig()":
        return None
    files: dict[str, str] = {}
    for var, arg in _OPEN.findall(body):
        resolved = _go_string_arg(arg, handles, consts)
        if resolved is None:
            return None
        files[var] = resolved
    for var, number in _L.findall(body):
        files[var] = f"../data/openapi-test{number}.yaml"
    if left not in files or right not in files:
        return None
    checks = _CHECK.findall(body)
    if len(checks) != 1:
        return None
    var, until, args = checks[0]
    threshold = "WARN"
    if until:
        level = re.search(r"checker\.(ERR|WARN|INFO)\s*$", args.strip())
        if level is None:
            return None
        threshold = level.group(1)
    return files[left], files[right], var, threshold


def _ids(
    body: str, names: dict[str, str], levels: dict[str, str]
) -> tuple[dict[str, str], set[str], set[str]]:
    present: dict[str, str] = {}
    absent: set[str] = set()
    unknown: set[str] = set()
    known = set(names.values())
    for line in body.splitlines():
        found = [names[c] for c in re.findall(r"checker\.(\w+Id)\b", line) if c in names]
        found += [s for s in re.findall(r"\"([a-z0-9]+(?:-[a-z0-9]+)+)\"", line) if s in known]
        for change_id in found:
            if any(neg in line for neg in NEGATIVE_CONTEXT):
                absent.add(change_id)
            elif change_id in levels:
                present[change_id] = levels[change_id]
            else:
                unknown.add(change_id)
    return present, absent, unknown


_REF = re.compile(r"\$ref:\s*['\"]?([^'\"#\s]+)(?:#[^'\"\s]*)?['\"]?|\"\$ref\"\s*:\s*\"([^\"#]+)")


def referenced_files(data: Path, rel: str) -> set[str]:
    """The file and every file it reaches through a relative ``$ref``, as paths under data/."""
    seen: set[str] = set()
    todo = [rel]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        file = data / current
        if not file.is_file():
            continue
        seen.add(current)
        for a, b in _REF.findall(file.read_text(errors="replace")):
            target = a or b
            if not target or "://" in target:
                continue
            resolved = (file.parent / target).resolve()
            try:
                todo.append(str(resolved.relative_to(data.resolve())))
            except ValueError:
                continue
    return seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path, help="a checkout (or export) of oasdiff")
    parser.add_argument("--commit", required=True, help="the oasdiff commit the checkout is")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    repo: Path = args.repo
    if not (repo / "checker" / "rules.go").is_file():
        print(f"{repo}: not an oasdiff checkout (no checker/rules.go)", file=sys.stderr)
        return 2
    pairs, skipped = extract(repo)
    kept = {k: p for k, p in sorted(pairs.items()) if p.accepted() is not None}
    out_data = args.out / "data"
    if out_data.exists():
        shutil.rmtree(out_data)
    files: set[str] = set()
    for pair in kept.values():
        files |= referenced_files(repo / "data", pair.base)
        files |= referenced_files(repo / "data", pair.revision)
    for rel in sorted(files):
        target = out_data / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(repo / "data" / rel, target)
    document = {
        "source": "https://github.com/oasdiff/oasdiff",
        "commit": args.commit,
        "levels": VERDICT_OF_LEVEL,
        "pairs": [
            {
                "pair": key,
                "base": pair.base,
                "revision": pair.revision,
                "tests": sorted(set(pair.tests)),
                "expected": [{"id": i, "level": lv} for i, lv in sorted(pair.present.items())],
                "absent": sorted(pair.absent),
                "listened_at": sorted(set(pair.listened_at), key=LEVEL_RANK.__getitem__),
                "accepted": pair.accepted(),
            }
            for key, pair in kept.items()
        ],
        "skipped_tests": sorted(skipped),
    }
    (args.out / "expectations.json").write_text(json.dumps(document, indent=1) + "\n")
    print(
        f"{len(kept)} pairs from {sum(len(p.tests) for p in kept.values())} tests; "
        f"{len(files)} files; {len(skipped)} tests left out"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
