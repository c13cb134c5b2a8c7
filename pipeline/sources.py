"""Source discovery: turn what the operator names into a list of pages to fetch.

A source is an http(s) URL, a saved page (``.html``, ``.htm``, ``.html.gz``), a folder of
saved pages, or a sources file (``.yaml``/``.yml`` with a ``sources:`` list of any of those,
or ``.txt`` with one per line; relative paths are read from the file's folder).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from pipeline.fetch import is_url

PAGE_SUFFIXES = (".html", ".htm", ".html.gz", ".htm.gz")
LIST_SUFFIXES = (".yaml", ".yml", ".txt")


def _is_page(path: Path) -> bool:
    return path.name.lower().endswith(PAGE_SUFFIXES)


def _read_list(path: Path) -> list[str]:
    if path.suffix in (".yaml", ".yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        entries = data.get("sources", []) if isinstance(data, dict) else data
        items = [
            e["url"]
            if isinstance(e, dict) and "url" in e
            else e["path"]
            if isinstance(e, dict) and "path" in e
            else e
            for e in entries
        ]
    else:
        items = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        items = [i for i in items if i and not i.startswith("#")]
    resolved: list[str] = []
    for item in items:
        item = str(item)
        if is_url(item) or "://" in item or Path(item).is_absolute():
            resolved.append(item)
        else:
            resolved.append(str(path.parent / item))
    return resolved


def discover(sources: list[str]) -> list[str]:
    """Expand sources into page sources, in order, without repeats.

    Unknown or missing paths are kept as they are: fetching them fails with a reason and
    they are accounted for as failures, never dropped here.
    """
    found: list[str] = []
    pending = list(sources)
    while pending:
        source = pending.pop(0)
        path = Path(source)
        if is_url(source) or "://" in source:
            found.append(source)
        elif path.is_dir():
            found.extend(str(p) for p in sorted(path.iterdir()) if p.is_file() and _is_page(p))
        elif path.is_file() and path.suffix in LIST_SUFFIXES:
            pending[:0] = _read_list(path)
        else:
            found.append(source)
    return list(dict.fromkeys(found))
