"""Where the state store lives: --state-dir, else the config's state_dir, else the user state dir."""

from __future__ import annotations

from wirewatch.transforms.config import Config


def resolve_state_dir(cli_value: str | None, config: Config) -> str:
    if cli_value:
        return cli_value
    if config.state_dir:
        return config.state_dir
    from platformdirs import user_state_dir

    return user_state_dir("wirewatch")
