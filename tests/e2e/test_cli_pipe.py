"""A reader that stops early (`wirewatch try-rule ... | head`) is no error: the command ends
quietly with exit 0, no traceback, not even the interpreter's "Exception ignored" at exit."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e

ITEM = "<item><title>Talks {i} in Mexico</title><guid>g{i}</guid><description>{pad}</description></item>"


def test_a_closed_pipe_ends_try_rule_quietly(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("builtin_lists: false\n")
    feed = tmp_path / "feed.xml"
    items = "".join(ITEM.format(i=i, pad="x" * 200) for i in range(2000))  # far over a pipe buffer
    feed.write_text(f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>")
    command = [sys.executable, "-m", "wirewatch.pipelines.cli", "try-rule", "--json"]
    reader = subprocess.Popen(
        [*command, "--config", str(config), "mexico", str(feed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout.readline().startswith(b"{")
    reader.stdout.close()  # as `head -1` does
    err = reader.stderr.read().decode()
    assert reader.wait(timeout=120) == 0, err
    assert err == ""
