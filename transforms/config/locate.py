"""Which config file a command reads, and where the shipped data lives.

The shipped data (`configs/` in a clone, the package `wirewatch.configs` in a wheel) is found
through importlib.resources, never through the current folder, so an installed wirewatch works
from any folder. The config is the first of: `--config PATH`, `$WIREWATCH_CONFIG`,
`./wirewatch.yaml`, `./configs/wirewatch.yaml` (a clone), the user config folder's
`wirewatch.yaml`, the built-in sample config. A path given explicitly (flag or variable) is
used even when it does not exist: reading it then fails with a message naming it, rather than
silently falling through to another file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Mapping

ENV_VAR = "WIREWATCH_CONFIG"
FILENAME = "wirewatch.yaml"
SCHEMA_FILENAME = "wirewatch.schema.json"
BUILTIN_LIST_FOLDERS = ("taxonomy", "entities")


def data_dir() -> Path:
    """The shipped data folder (a wheel installs it unzipped, so it is a real folder)."""
    return Path(str(resources.files("wirewatch.configs")))


def builtin_config() -> Path:
    return data_dir() / FILENAME


def builtin_schema() -> Path:
    return data_dir() / SCHEMA_FILENAME


def builtin_lists() -> list[Path]:
    """The IPTC taxonomy and the gazetteer files every config starts from."""
    root = data_dir()
    return [
        path for folder in BUILTIN_LIST_FOLDERS for path in sorted(root.glob(f"{folder}/*.yaml"))
    ]


def user_config() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("wirewatch")) / FILENAME


@dataclass(frozen=True)
class Found:
    """The config file to read and how it was chosen (for the one line the CLI prints)."""

    path: str
    how: str

    @property
    def explicit(self) -> bool:
        return self.how == "--config"


def find_config(
    given: str | None, environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Found:
    """The config a command reads; see the module docstring for the order."""
    environ = os.environ if environ is None else environ
    if given:
        return Found(given, "--config")
    if environ.get(ENV_VAR):
        return Found(environ[ENV_VAR], f"${ENV_VAR}")
    here = Path.cwd() if cwd is None else cwd
    for relative in (FILENAME, f"configs/{FILENAME}"):
        if (here / relative).is_file():
            return Found(relative if cwd is None else str(here / relative), "found in this folder")
    user = user_config()
    if user.is_file():
        return Found(str(user), "the user config folder")
    return Found(str(builtin_config()), "the built-in sample config; `wirewatch init` starts one")
