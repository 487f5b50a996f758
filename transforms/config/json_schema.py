"""The config's JSON Schema, as `wirewatch schema` prints it and configs/wirewatch.schema.json
ships it: pydantic's schema of a config file, named (`$id`, a title that says what it is, not
`ConfigFragment`) and dated (`$schema`: the draft pydantic writes), so editors and CI linters
take it as it is."""

from __future__ import annotations

from wirewatch.transforms.config.models import ConfigFragment

SCHEMA_ID = "https://github.com/wirewatch/wirewatch/raw/main/configs/wirewatch.schema.json"


def config_schema() -> dict:
    body = ConfigFragment.model_json_schema(by_alias=True)
    body.pop("title", None)
    body.pop("description", None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "wirewatch config",
        "description": "A wirewatch config file: the main file, or a file it includes "
        "(which may not hold the main file's settings). Reference: README.md",
        **body,
    }
