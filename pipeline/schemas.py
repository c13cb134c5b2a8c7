"""JSON Schema export of the event contract (``schemas/`` in the repository)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from pipeline.models import Article, DeadLetter, Event, OccurrenceState, ReviewItem

CONTRACT: dict[str, type[BaseModel]] = {
    "event.schema.json": Event,
    "article.schema.json": Article,
    "dead_letter.schema.json": DeadLetter,
    "occurrence.schema.json": OccurrenceState,
    "review.schema.json": ReviewItem,
}


def _open(node: Any) -> Any:
    """``node`` without ``additionalProperties: false``: the models are strict when we
    write, the published schemas let readers meet properties a later minor version adds
    (see :mod:`pipeline.schema_compat`)."""
    if isinstance(node, dict):
        return {
            k: _open(v) for k, v in node.items() if not (k == "additionalProperties" and v is False)
        }
    if isinstance(node, list):
        return [_open(v) for v in node]
    return node


def schema_of(model: type[BaseModel]) -> dict[str, object]:
    schema = _open(model.model_json_schema())
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def write_schemas(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in CONTRACT.items():
        path = out / name
        path.write_text(json.dumps(schema_of(model), indent=2, ensure_ascii=False) + "\n")
        written.append(path)
    return written
