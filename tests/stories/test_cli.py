"""`wirewatch stories` on a state store filled through the index."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.stories.conftest import fixture_feed
from wirewatch.pipelines.cli import main
from wirewatch.transforms.state import open_store
from wirewatch.transforms.stories import StoryIndex


def _fill(state_dir) -> None:
    store = open_store(state_dir)
    index = StoryIndex(store)
    for feed in ("wire", "ft", "paper"):
        index.assign_many(list(fixture_feed(feed).values()))
    store.close()


def _config(tmp_path):
    path = tmp_path / "wirewatch.yaml"
    path.write_text("feeds: []\n")
    return str(path)


def test_lists_merged_stories_with_their_members(tmp_path, capsys):
    _fill(tmp_path / "state")
    code = main(
        [
            "stories",
            "--config",
            _config(tmp_path),
            "--state-dir",
            str(tmp_path / "state"),
            "--merged",
            "--json",
        ]
    )
    assert code == 0
    stories = json.loads(capsys.readouterr().out)
    by_size = {s["size"]: s for s in stories}
    assert sorted(by_size) == [2, 3]
    assert [m["feed_id"] for m in by_size[3]["members"]] == ["wire", "ft", "paper"]
    assert [m["kind"] for m in by_size[2]["members"]] == ["new", "update"]


def test_text_output_and_unknown_story(tmp_path, capsys):
    _fill(tmp_path / "state")
    args = ["stories", "--config", _config(tmp_path), "--state-dir", str(tmp_path / "state")]
    assert main(args + ["--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert "copy   paper" in out and "text 0." in out
    assert main(args + ["--story", "s-nope"]) == 2
    assert "no stories with id s-nope" in capsys.readouterr().out


def test_command_does_not_import_beam():
    code = (
        "import sys; from wirewatch.pipelines.commands import stories; "
        "sys.exit('apache_beam' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
