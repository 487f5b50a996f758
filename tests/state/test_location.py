"""Which store a command opens: --state, --state-dir, the config's `state:` and `state_dir`,
and that a URL's password never shows in what the config prints."""

from __future__ import annotations

from pathlib import Path

from wirewatch.pipelines.cli import build_parser
from wirewatch.pipelines.state import local_dir, resolve_state
from wirewatch.transforms.config import load_config

URL = "postgresql://wire:s3cret@db.example:5432/wire"


def config_with(tmp_path: Path, text: str):
    path = tmp_path / "wirewatch.yaml"
    path.write_text(text)
    return load_config(path)


def test_the_command_line_wins_then_the_state_url_then_the_state_dir(tmp_path):
    both = config_with(tmp_path, f"state: {URL}\nstate_dir: kept\n")
    assert resolve_state(both, "sqlite:///x.db", "dir") == "sqlite:///x.db"
    assert resolve_state(both, None, "dir") == "dir"
    assert resolve_state(both) == URL
    only_dir = config_with(tmp_path, "state_dir: kept\n")
    assert resolve_state(only_dir) == str(tmp_path / "kept")


def test_the_state_url_comes_from_the_environment_and_is_never_printed(tmp_path, monkeypatch):
    monkeypatch.setenv("WIREWATCH_STATE", URL)
    config = config_with(tmp_path, "state: ${WIREWATCH_STATE}\n")
    assert config.state == URL
    assert config.redacted()["state"] == "postgresql://wire:***@db.example:5432/wire"
    assert "s3cret" not in repr(config) + repr(config.redacted())


def test_a_relative_sqlite_url_lives_beside_the_config(tmp_path):
    config = config_with(tmp_path, "state: sqlite:///data/state.sqlite3\n")
    assert config.state == f"sqlite:///{tmp_path / 'data' / 'state.sqlite3'}"
    assert local_dir(config.state) == str(tmp_path / "data")
    assert local_dir(str(tmp_path)) == str(tmp_path)
    assert local_dir(URL) != ""  # a shared store: files go to the user state directory


def test_every_command_that_opens_the_store_takes_state_and_state_dir():
    parser, _ = build_parser()
    for command in ("run", "redeliver", "state", "stories"):
        args, _ = parser.parse_known_args([command, "--state", URL, "--state-dir", "d"])
        assert (args.state, args.state_dir) == (URL, "d"), command
