"""The JSON Schema of the protocol file, generated from the model.

``docs/protocol.schema.json`` is this text; a test keeps the committed file equal to it.
Regenerate with ``leerid protocol schema --out docs/protocol.schema.json``.
"""

from __future__ import annotations

import json

from leerid.protocol.model import Protocol


def json_schema_text() -> str:
    """The JSON Schema (draft 2020-12) of a protocol file, as stable, indented JSON."""
    schema = Protocol.model_json_schema(mode="validation")
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
