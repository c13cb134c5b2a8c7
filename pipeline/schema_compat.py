"""Backward compatibility of the contract's JSON Schemas.

A new schema is backward compatible with a released one when every document valid under
the released schema is still valid under the new one (consumers upgraded to the new schema
still read everything already on the topics): no property removed, no new required
property, no type, enum or bound narrowed, no object closed to unknown properties.

Since 1.1.0 the schemas are also forward compatible: they do not forbid properties they do
not list (the contract's readers ignore them), so a reader of 1.1.0 reads what a later minor
version, which may only add optional properties, writes. 1.0.0 forbade them. ``python -m pipeline.schema_compat`` checks the
schemas in ``schemas/`` against every release in ``schemas/released/``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
Schema = dict[str, Any]


def _resolve(node: Schema, root: Schema) -> Schema:
    while "$ref" in node:
        name = node["$ref"].split("/")[-1]
        node = root.get("$defs", {})[name]
    return node


def _types(node: Schema, root: Schema) -> set[str]:
    """The JSON types a (resolved) schema node admits; 'any' when it does not say."""
    node = _resolve(node, root)
    if "anyOf" in node or "oneOf" in node:
        found: set[str] = set()
        for option in node.get("anyOf", node.get("oneOf", [])):
            found |= _types(option, root)
        return found
    if "const" in node:
        return {type(node["const"]).__name__}
    kind = node.get("type")
    if kind is None:
        return {"any"}
    return set(kind) if isinstance(kind, list) else {kind}


def incompatibilities(old: Schema, new: Schema) -> list[str]:
    """Why ``new`` cannot read every document valid under ``old`` (empty when it can)."""
    problems: list[str] = []
    _compare(old, old, new, new, "$", problems)
    return problems


def _compare(
    old: Schema, old_root: Schema, new: Schema, new_root: Schema, path: str, out: list[str]
) -> None:
    old, new = _resolve(old, old_root), _resolve(new, new_root)
    old_types, new_types = _types(old, old_root), _types(new, new_root)
    if "any" not in new_types:
        widened = {"integer"} if "number" in new_types else set()
        missing = old_types - new_types - widened
        if missing:
            out.append(f"{path}: type narrowed, no longer accepts {sorted(missing)}")
    if "enum" in new:
        lost = set(map(str, old.get("enum", []))) - set(map(str, new["enum"]))
        if "enum" not in old or lost:
            out.append(f"{path}: enum narrowed (lost {sorted(lost) or 'unrestricted values'})")
    for bound, tighter in (
        ("minimum", max),
        ("maximum", min),
        ("minLength", max),
        ("maxLength", min),
    ):
        if bound in new and (bound not in old or tighter(old[bound], new[bound]) != old[bound]):
            out.append(f"{path}: {bound} tightened to {new[bound]}")
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    closes = (
        old.get("additionalProperties") is not False and new.get("additionalProperties") is False
    )
    if old_props and closes:
        out.append(f"{path}: closed to properties it does not list")
    for name in old_props:
        if name not in new_props:
            out.append(f"{path}.{name}: property removed")  # consumers may rely on it
            continue
        _compare(old_props[name], old_root, new_props[name], new_root, f"{path}.{name}", out)
    for name in set(new.get("required", [])) - set(old.get("required", [])):
        out.append(f"{path}.{name}: newly required")
    if "items" in old and "items" in new:
        _compare(old["items"], old_root, new["items"], new_root, f"{path}[]", out)
    for key in ("anyOf", "oneOf"):
        if key in old and key in new:
            for i, option in enumerate(old[key]):
                # each old option must still be admitted by some new option
                if not any(
                    not _probe(option, old_root, candidate, new_root) for candidate in new[key]
                ):
                    out.append(f"{path}: {key} option {i} no longer admitted")


def _probe(old: Schema, old_root: Schema, new: Schema, new_root: Schema) -> list[str]:
    found: list[str] = []
    _compare(old, old_root, new, new_root, "", found)
    return found


def latest_release(released: Path = SCHEMAS / "released") -> Path:
    def key(p: Path) -> tuple[int, ...]:
        return tuple(int(x) for x in p.name.split("."))

    return max((p for p in released.iterdir() if p.is_dir()), key=key)


def check(current: Path = SCHEMAS, release: Path | None = None) -> dict[str, list[str]]:
    release = release or latest_release(current / "released")
    report = {}
    for old_file in sorted(release.glob("*.schema.json")):
        new_file = current / old_file.name
        if not new_file.exists():
            report[old_file.name] = ["schema removed"]
            continue
        report[old_file.name] = incompatibilities(
            json.loads(old_file.read_text()), json.loads(new_file.read_text())
        )
    return report


def releases(released: Path = SCHEMAS / "released") -> list[Path]:
    """Every released version's directory, oldest first."""
    dirs = [p for p in released.iterdir() if p.is_dir()]
    return sorted(dirs, key=lambda p: tuple(int(x) for x in p.name.split(".")))


def main() -> int:
    """Check the current schemas against every release (transitively compatible)."""
    failed = False
    for release in releases():
        report = check(SCHEMAS, release)
        for name, problems in report.items():
            print(f"{release.name} {name}: {'compatible' if not problems else ''}")
            for problem in problems:
                print(f"  - {problem}")
        failed = failed or any(report.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
