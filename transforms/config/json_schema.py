"""The config's JSON Schema, as `wirewatch schema` prints it and configs/wirewatch.schema.json
ships it: pydantic's schema of a config file, named (`$id`, a title that says what it is, not
`ConfigFragment`) and dated (`$schema`: the draft pydantic writes), so editors and CI linters
take it as it is. Only standard keywords: pydantic's OpenAPI `discriminator` is taken out (the
sinks' `oneOf` on a `const` type says the same), and bounds are `minimum`/`exclusiveMinimum`.
Every property has a description (tests/test_config_schema.py walks them)."""

from __future__ import annotations

from wirewatch.transforms.config.models import ConfigFragment

SCHEMA_ID = "https://github.com/wirewatch/wirewatch/raw/main/configs/wirewatch.schema.json"


def config_schema() -> dict:
    body = _standard(ConfigFragment.model_json_schema(by_alias=True))
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


def _standard(node):
    """The schema without the keywords JSON Schema does not define (`discriminator`)."""
    if isinstance(node, list):
        return [_standard(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        key: ({k: _standard(v) for k, v in value.items()} if key in _NAMED else _standard(value))
        for key, value in node.items()
        if key != "discriminator"
    }


_NAMED = ("properties", "$defs")  # their keys are names, not keywords
