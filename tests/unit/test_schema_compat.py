"""Every schema change stays backward compatible with the previous released version."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pipeline.consumer import decode
from pipeline.events import split_events
from pipeline.extract import extract_article
from pipeline.models import SCHEMA_VERSION, Event
from pipeline.schema_compat import check, incompatibilities, latest_release, releases
from pipeline.schemas import CONTRACT, schema_of
from pipeline.settings import Settings
from tests.conftest import REPO_ROOT, SEED

RELEASED = REPO_ROOT / "schemas" / "released"
FIRST = RELEASED / "1.0.0"  # before occurred_at_precision, and closed to unknown properties


def _released(name: str, release: Path = FIRST) -> dict[str, Any]:
    return json.loads((release / f"{name}.schema.json").read_text())


@pytest.mark.parametrize("release", releases(RELEASED), ids=lambda p: p.name)
def test_current_schemas_are_compatible_with_every_release(release: Path) -> None:
    report = check(REPO_ROOT / "schemas", release)
    assert {"article.schema.json", "event.schema.json", "dead_letter.schema.json"} <= set(report)
    assert report == {name: [] for name in report}


def test_the_latest_release_is_what_the_models_export() -> None:
    latest = latest_release(RELEASED)
    assert latest.name == SCHEMA_VERSION
    for name, model in CONTRACT.items():
        assert json.loads((latest / name).read_text()) == schema_of(model), name


def test_schemas_since_1_1_do_not_forbid_unknown_properties() -> None:
    """Forward compatibility: a reader of this version meets what a later minor version
    adds; the released 1.0.0 forbade it (its readers had to upgrade once)."""
    for name in CONTRACT:
        text = (REPO_ROOT / "schemas" / name).read_text()
        assert '"additionalProperties": false' not in text, name
    assert '"additionalProperties": false' in (FIRST / "event.schema.json").read_text()
    old = _released("event", latest_release(RELEASED))
    assert "closed" in " ".join(incompatibilities(old, {**old, "additionalProperties": False}))


def test_a_later_minor_version_is_read_by_this_one() -> None:
    """A 1.2.0 event, with properties this version does not know (top level and nested),
    is valid under the current schema and read by the consumer's decoder."""
    article = extract_article((SEED / "article.html").read_bytes(), "https://example.org/seed")
    event = split_events(article)[0]
    later = event.model_dump(mode="json")
    later.update(schema_version="1.2.0", sentiment=0.2)
    later["details"]["tone"] = "warning"
    later["article"]["paywalled"] = False
    jsonschema.validate(
        later, json.loads((REPO_ROOT / "schemas" / "event.schema.json").read_text())
    )
    read = decode(Settings().topic_statements, {}, later, Settings())
    assert isinstance(read, Event) and read.event_id == event.event_id
    with pytest.raises(ValueError):
        Event.model_validate(later)  # the producer's own models stay strict


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
