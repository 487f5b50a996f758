"""`wirewatch parse`: JSON lines, exit codes, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.ingest import feeds
from tests.ingest.loopback import reply
from wirewatch.pipelines.cli import main


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "wirewatch.yaml"
    path.write_text("feeds: []\n")
    return str(path)


def lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_files_parse_to_article_lines(tmp_path, config, capsys):
    path = tmp_path / "wire.xml"
    path.write_bytes(feeds.RSS20)
    assert main(["parse", "--config", config, str(path)]) == 0
    out = lines(capsys)
    assert [o["type"] for o in out] == ["article"] * 3
    assert out[0]["feed_id"] == "wire" and out[0]["title"] == "Talks resume in Mexico"


def test_errors_give_error_lines_and_exit_1(tmp_path, config, capsys, server):
    good = tmp_path / "good.xml"
    good.write_bytes(feeds.ATOM10)
    html = tmp_path / "page.html"
    html.write_bytes(b"<html><body>Sign in</body></html>")
    url = server.route("/feed", reply(200, feeds.RSS10))
    code = main(
        [
            "parse",
            "--config",
            config,
            str(good),
            str(html),
            str(tmp_path / "nope.xml"),
            url,
            server.url("/404"),
        ]
    )
    out = lines(capsys)
    assert code == 1
    errors = [(o["stage"], o["reason"]) for o in out if o["type"] == "error"]
    assert errors == [("parse", "not_a_feed"), ("fetch", "io_error"), ("fetch", "http_error")]
    assert sum(o["type"] == "article" for o in out) == 4


def test_bad_bytes_never_traceback(tmp_path):
    path = tmp_path / "junk.bin"
    path.write_bytes(b"\x00\xff\xfe<rss" * 100)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "wirewatch.pipelines.cli",
            "parse",
            "--config",
            str(tmp_path / "missing.yaml"),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr  # missing explicit config
    (tmp_path / "ok.yaml").write_text("feeds: []\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "wirewatch.pipelines.cli",
            "parse",
            "--config",
            str(tmp_path / "ok.yaml"),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert json.loads(done.stdout)["reason"] == "binary"
