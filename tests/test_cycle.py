"""run_cycle's own housekeeping (the cycle itself is tested stage by stage and end to end)."""

from __future__ import annotations

import tempfile

import pytest

from wirewatch.pipelines import cycle
from wirewatch.transforms.config.loader import load_config


def test_a_cycle_whose_graph_fails_to_build_leaves_no_beam_temp_folder(tmp_path, monkeypatch):
    """Beam makes a temp folder for every Pipeline and only run() removes it."""
    config_file = tmp_path / "wirewatch.yaml"
    config_file.write_text("feeds: [{id: a, url: 'http://127.0.0.1:9/a.xml'}]\n")
    config = load_config(str(config_file))
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))

    def broken_build(*args):
        raise RuntimeError("a bug while building the graph")

    monkeypatch.setattr(cycle, "build_cycle", broken_build)
    with pytest.raises(RuntimeError, match="a bug while building"):
        cycle.run_cycle(config, config.feeds, str(tmp_path / "state"), [])
    assert list(temp.iterdir()) == []


def test_a_hold_that_cannot_be_taken_releases_the_ones_taken_before_it(tmp_path):
    """run_cycle keeps the config, then the polled bodies, in this process (cache.py): if the
    second cannot be kept, the first must not stay kept (pickled as a key only) for good."""
    from wirewatch.transforms.beam_support import cache

    config_file = tmp_path / "wirewatch.yaml"
    config_file.write_text("feeds: [{id: a, url: 'http://127.0.0.1:9/a.xml'}]\n")
    config = load_config(str(config_file))
    unpicklable = {"a": lambda: None}
    with pytest.raises(Exception, match="pickle"):
        cycle.run_cycle(config, config.feeds, str(tmp_path / "state"), [], polled=unpicklable)
    assert cache.ref(config).key not in cache._kept
