"""Every schema change stays backward compatible with the previous released version."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest

from pipeline.events import split_events
from pipeline.extract import extract_article
from pipeline.models import Event
from pipeline.schema_compat import check, incompatibilities, latest_release
from tests.conftest import REPO_ROOT, SEED

RELEASE = latest_release(REPO_ROOT / "schemas" / "released")


def _released(name: str) -> dict[str, Any]:
    return json.loads((RELEASE / f"{name}.schema.json").read_text())


def test_current_schemas_are_compatible_with_the_latest_release() -> None:
    report = check(REPO_ROOT / "schemas", RELEASE)
    assert set(report) == {"article.schema.json", "event.schema.json", "dead_letter.schema.json"}
    assert report == {name: [] for name in report}


def _as_released(document: Any, node: dict[str, Any], root: dict[str, Any]) -> Any:
    """``document`` without the properties the released schema does not know: what a producer
    of that release wrote."""
    while "$ref" in node:
        node = root["$defs"][node["$ref"].split("/")[-1]]
    if not isinstance(document, dict) or "properties" not in node:
        return document
    props = node["properties"]
    return {k: _as_released(v, props[k], root) for k, v in document.items() if k in props}


def test_events_valid_under_the_release_are_valid_under_the_current_schema() -> None:
    article = extract_article((SEED / "article.html").read_bytes(), "https://example.org/seed")
    current = json.loads((REPO_ROOT / "schemas" / "event.schema.json").read_text())
    released = _released("event")
    for event in split_events(article):
        document = event.model_dump(mode="json")
        jsonschema.validate(document, current)
        legacy = _as_released(document, released, released)
        assert "occurred_at_precision" not in legacy
        assert "published_at_source" not in legacy["article"]
        jsonschema.validate(legacy, released)
        jsonschema.validate(legacy, current)
        # The current model reads it too: a released date was always a day.
        read = Event.model_validate(legacy)
        assert read.occurred_at == event.occurred_at
        assert read.occurred_at_precision == ("day" if event.occurred_at else None)


def _mutate(schema: dict[str, Any], path: list[str], change: Any) -> dict[str, Any]:
    new = copy.deepcopy(schema)
    node = new
    for key in path[:-1]:
        node = node[key]
    if change is None:
        del node[path[-1]]
    else:
        node[path[-1]] = change(node.get(path[-1]))
    return new


@pytest.mark.parametrize(
    ("path", "change", "expected"),
    [
        (["properties", "confidence"], None, "property removed"),
        (["required"], lambda r: [*r, "occurred_at"], "newly required"),
        (
            ["properties", "event_type"],
            lambda p: {**p, "enum": ["statement", "commitment"]},
            "enum narrowed",
        ),
        (["properties", "confidence"], lambda p: {**p, "maximum": 0.9}, "maximum tightened"),
        (["properties", "event_id"], lambda p: {**p, "type": "integer"}, "type narrowed"),
    ],
)
def test_breaking_changes_are_caught(path: list[str], change: Any, expected: str) -> None:
    old = _released("event")
    problems = incompatibilities(old, _mutate(old, path, change))
    assert any(expected in p for p in problems), problems


def test_adding_an_optional_property_is_compatible() -> None:
    old = _released("event")
    new = _mutate(
        old, ["properties", "tags"], lambda _: {"type": "array", "items": {"type": "string"}}
    )
    assert incompatibilities(old, new) == []
