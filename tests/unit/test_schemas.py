"""The committed JSON Schemas are the ones the models export, and extracted events satisfy them."""

from __future__ import annotations

import json

from pipeline.schemas import CONTRACT, schema_of
from tests.conftest import REPO_ROOT


def test_committed_schemas_match_the_models() -> None:
    for name, model in CONTRACT.items():
        committed = json.loads((REPO_ROOT / "schemas" / name).read_text())
        assert committed == schema_of(model), (
            f"schemas/{name} is stale: run `python -m pipeline schemas`"
        )
