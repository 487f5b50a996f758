"""`wirewatch init [DIR]`: start a config. Writes DIR/wirewatch.yaml, a commented starter (one
public feed, two example rules, console alerts), and DIR/wirewatch.schema.json beside it, which
the starter's yaml-language-server modeline names, so an editor completes and checks every key
offline. Both come from the package data (configs/starter.yaml, configs/wirewatch.schema.json).
Refuses to overwrite an existing file unless --force. Reads no config, opens no store.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from wirewatch.transforms.config.locate import FILENAME, SCHEMA_FILENAME, data_dir
from wirewatch.transforms.errors import Problem, WirewatchError

NAME = "init"
HELP = "write a commented starter config (and its JSON Schema) into DIR (default: here), then exit"
NEEDS_CONFIG = False
STARTER = "starter.yaml"


def add_arguments(parser) -> None:
    parser.add_argument("dir", nargs="?", default=".", metavar="DIR", help="folder to write into")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")


def run(args) -> int:
    folder = Path(args.dir)
    config, schema = folder / FILENAME, folder / SCHEMA_FILENAME
    existing = [path for path in (config, schema) if path.exists()]
    if existing and not args.force:
        raise WirewatchError(
            [
                Problem(str(path), message="already exists", fix="edit it, or pass --force")
                for path in existing
            ]
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data_dir() / STARTER, config)
        shutil.copyfile(data_dir() / SCHEMA_FILENAME, schema)
    except OSError as exc:
        where = exc.filename or folder
        fix = "pass a DIR this user can write"
        problem = Problem(str(where), message=f"cannot write: {exc.strerror}", fix=fix)
        raise WirewatchError([problem]) from None
    named = "" if folder.resolve() == Path.cwd() else f" --config {config}"  # found unnamed
    print(
        f"wrote {config} and {schema}; next: wirewatch check{named}, then wirewatch run --once{named}"
    )
    return 0
