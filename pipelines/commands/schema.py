"""`wirewatch schema`: the JSON Schema of the config, for editors and CI linting."""

from __future__ import annotations

import json

from wirewatch.transforms.config.json_schema import config_schema

NAME = "schema"
HELP = "print the JSON Schema of the config file"
NEEDS_CONFIG = False


def add_arguments(parser) -> None:
    pass


def run(args) -> int:
    print(json.dumps(config_schema(), indent=2))
    return 0
