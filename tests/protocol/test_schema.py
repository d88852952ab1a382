"""docs/protocol.schema.json is the schema generated from the model, and describes the seed."""

from __future__ import annotations

import json

from leerid.protocol.schema import json_schema_text
from tests.protocol.helpers import ROOT, seed


def test_committed_schema_equals_the_generated_one() -> None:
    committed = (ROOT / "docs" / "protocol.schema.json").read_text(encoding="utf-8")
    assert committed == json_schema_text(), (
        "docs/protocol.schema.json is stale: run "
        "leerid protocol schema --out docs/protocol.schema.json"
    )


def test_schema_names_every_top_level_field_of_the_seed() -> None:
    schema = json.loads(json_schema_text())
    assert schema["$schema"].endswith("2020-12/schema")
    assert set(seed().model_dump()) == set(schema["properties"])
    assert set(schema["required"]) <= set(schema["properties"])
    retention = schema["$defs"]["Retention"]["properties"]["period"]
    assert retention["type"] == "string" and "pattern" in retention
