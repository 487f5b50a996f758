"""`wirewatch schema`: the JSON Schema of the config, for editors and CI linting."""

from __future__ import annotations

import json

from wirewatch.transforms.config import ConfigFragment

NAME = "schema"
HELP = "print the JSON Schema of the config file"
NEEDS_CONFIG = False


def add_arguments(parser) -> None:
    pass


def run(args) -> int:
    print(json.dumps(ConfigFragment.model_json_schema(by_alias=True), indent=2))
    return 0
