"""`try-rule --archive`: a backtest counts the alerts the live pipeline would have sent from a
feed's saved history, not every saved copy of an article (the core: pipelines/tooling/backtest.py;
the same counts as a real replay through `wirewatch run`: tests/e2e/test_backtest_replay.py)."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from tests.rules.archive import Item, write_archive
from wirewatch.pipelines.cli import main
from wirewatch.pipelines.tooling.backtest import snapshots

T0 = datetime(2026, 11, 20, 22, 0, tzinfo=timezone.utc)
STEP = timedelta(minutes=15)

CONFIG = """\
builtin_lists: false
feeds:
  - {{id: wire, url: "https://news.example.org/rss", backfill_hours: 24}}
routes:
  - {{sinks: [{sink}], max_alerts: {max_alerts}, group_wait: {group_wait}, group_interval: 300}}
sinks:
  file: {{type: jsonl, path: "{tmp}/alerts.jsonl"}}
  bot: {{type: slack, token: "${{BACKTEST_TOKEN}}", channel: "#desk"}}
  hook: {{type: slack, webhook_url: "${{BACKTEST_HOOK}}"}}
"""


@pytest.fixture(autouse=True)
def slack_secrets(monkeypatch):
    """Sinks that are never called: a backtest records what it would have sent."""
    monkeypatch.setenv("BACKTEST_TOKEN", "xoxb-never-used")
    monkeypatch.setenv("BACKTEST_HOOK", "https://hooks.slack.invalid/services/T/B/X")


def write_config(tmp_path, sink="file", max_alerts=100, group_wait=0):
    path = tmp_path / "wirewatch.yaml"
    text = CONFIG.format(sink=sink, max_alerts=max_alerts, group_wait=group_wait, tmp=tmp_path)
    path.write_text(text, "utf-8")
    return path


def backtest(config, archive, *args, query="tariff*"):
    return main(["try-rule", "--config", str(config), "--json", query, "--archive", str(archive)])


def report(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def history(count: int = 8, listed: int = 5) -> tuple[list[Item], list[tuple[int, list[Item]]]]:
    """`count` items published STEP apart, every third about tariffs; poll k (STEP after item
    k) lists the latest `listed` items: each item is saved in up to `listed` snapshots."""
    items = [
        Item(
            f"n{k}",
            f"Tariff talks stall, round {k}" if k % 3 == 0 else f"Weather report number {k}",
            T0 + k * STEP,
            summary=f"Story {k} of the day with its own words {k * 7919}.",
        )
        for k in range(count)
    ]
    polls = [
        (
            int((T0 + k * STEP + timedelta(minutes=1)).timestamp()),
            items[max(0, k - listed + 1) : k + 1][::-1],
        )
        for k in range(count)
    ]
    return items, polls


def test_each_article_alerts_once_however_many_snapshots_saved_it(tmp_path, capsys):
    items, polls = history()
    write_archive(tmp_path / "archive", "wire", polls)
    assert backtest(write_config(tmp_path), tmp_path / "archive") == 0
    got = report(capsys)
    matching = {i.guid for i in items if i.title.startswith("Tariff")}
    copies = sum(1 for _, listed in polls for i in listed if i.guid in matching)
    assert len(matching) == 3 and copies > len(matching)  # the old count: every copy
    assert (got["snapshots"], got["entries"]) == (len(polls), sum(len(p[1]) for p in polls))
    assert (got["articles"], got["matched"], got["copies"]) == (len(items), 3, copies)
    assert got["alerts"] == {"total": 3, "top_level": 3, "replies": 0, "updates": 0, "digests": 0}
    assert {m["title"] for m in got["matches"]} == {i.title for i in items if i.guid in matching}


def test_the_summary_line_says_alerts_and_copies(tmp_path, capsys):
    _, polls = history()
    write_archive(tmp_path / "archive", "wire", polls)
    config = write_config(tmp_path)
    assert (
        main(
            ["try-rule", "--config", str(config), "tariff*", "--archive", str(tmp_path / "archive")]
        )
        == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "3 alerts would have been sent (3 top-level, 0 thread replies or more-sources, "
        "0 updates, 0 digests), from 3 distinct articles (12 saved copies)"
    )
    assert out[1] == "  replayed 8 snapshots: 30 entries, 8 distinct articles"


def test_flood_control_turns_a_burst_into_a_digest_on_the_next_poll(tmp_path, capsys):
    burst = [
        Item(
            f"b{k}", f"Tariff headline {k}", T0 + k * timedelta(minutes=1), f"Own text {k} {k * 31}"
        )
        for k in range(5)
    ]
    later = int((T0 + timedelta(hours=1)).timestamp())
    polls = [(int((T0 + timedelta(minutes=6)).timestamp()), burst), (later, burst)]
    write_archive(tmp_path / "archive", "wire", polls)
    assert backtest(write_config(tmp_path, max_alerts=2), tmp_path / "archive") == 0
    got = report(capsys)
    # two alerts go out, the other three wait for the window's end and go out as one digest
    assert got["alerts"] == {"total": 3, "top_level": 2, "replies": 0, "updates": 0, "digests": 1}
    assert (got["matched"], got["copies"]) == (5, 10)


def test_group_wait_turns_a_burst_into_one_digest(tmp_path, capsys):
    burst = [
        Item(f"b{k}", f"Tariff headline {k}", T0 + k * timedelta(minutes=1), f"Own text {k * 31}")
        for k in range(5)
    ]
    polls = [(int((T0 + timedelta(minutes=6)).timestamp()), burst)]
    write_archive(tmp_path / "archive", "wire", polls)
    assert backtest(write_config(tmp_path, group_wait=30), tmp_path / "archive") == 0
    got = report(capsys)  # held 30 s, then sent by the next cycle: here, after the last poll
    assert got["alerts"] == {"total": 1, "top_level": 0, "replies": 0, "updates": 0, "digests": 1}


@pytest.mark.parametrize("sink", ["bot", "hook"])
def test_a_second_source_for_a_story_is_a_reply_or_a_more_sources_message(tmp_path, capsys, sink):
    """The same story under another guid and link: a thread reply where the sink has threads
    (a bot token), else folded into a 'more sources' message after group_interval."""
    first = Item("s1", "Tariff war hits European carmakers hard", T0, "Carmakers warn of losses.")
    again = Item(
        "s2", "Tariff war hits European carmakers hard", T0 + STEP, "Carmakers warn of losses."
    )
    stamp = int(T0.timestamp())
    polls = [(stamp + 60, [first]), (stamp + 1000, [again, first]), (stamp + 2000, [again, first])]
    write_archive(tmp_path / "archive", "wire", polls)
    assert backtest(write_config(tmp_path, sink=sink), tmp_path / "archive") == 0
    got = report(capsys)
    assert got["alerts"] == {"total": 2, "top_level": 1, "replies": 1, "updates": 0, "digests": 0}
    assert (got["matched"], got["copies"]) == (2, 5)
    assert got["by_sink"] == {
        sink: {"alerts": 2, "top_level": 1, "replies": 1, "updates": 0, "digests": 0}
    }


def test_an_edited_headline_that_newly_matches_is_one_update(tmp_path, capsys):
    """As DropSeen and the Dispatcher do live: an entry edited so that the rule matches alerts
    once, as an update; listed again unchanged it is seen; a markup- and space-only change is
    no edit; an alerted headline edited alerts nothing (the rule already alerted its story)."""
    quiet = Item("e1", "Harbour cranes stand idle all week", T0, "Cranes stand still.")
    alerted = Item("e2", "Tariff row closes the container port", T0 + STEP, "Dockers strike.")
    edited = replace(quiet, title="Harbour cranes stand idle as tariffs bite")
    retitled = replace(alerted, title="Tariff row closes the container port for a week")
    markup = replace(edited, summary="<p>Cranes  stand <b>still</b>.</p>")
    stamp = int((T0 + 2 * STEP).timestamp())
    polls = [
        (stamp, [quiet, alerted]),
        (stamp + 900, [edited, alerted]),
        (stamp + 1800, [edited, retitled]),
        (stamp + 2700, [markup, retitled]),
    ]
    write_archive(tmp_path / "archive", "wire", polls)
    config = write_config(tmp_path, sink="bot")
    assert backtest(config, tmp_path / "archive") == 0
    got = report(capsys)
    assert got["alerts"] == {"total": 2, "top_level": 1, "replies": 0, "updates": 1, "digests": 0}
    assert (got["articles"], got["edited"], got["matched"], got["copies"]) == (2, 2, 2, 7)
    assert [d["updates"] for d in got["by_day"]] == [1]
    assert (
        main(
            ["try-rule", "--config", str(config), "tariff*", "--archive", str(tmp_path / "archive")]
        )
        == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("2 alerts would have been sent (1 top-level, 0 thread replies or ")
    assert "1 updates, 0 digests" in out[0]
    assert (
        out[1]
        == "  replayed 4 snapshots: 8 entries, 2 distinct articles, 2 edited entries evaluated again"
    )


def test_the_first_poll_backlog_is_marked_seen_not_alerted(tmp_path, capsys):
    old = Item("old", "Tariff news from last week", T0 - timedelta(days=7))
    new = Item("new", "Tariff news today", T0)
    stamp = int(T0.timestamp()) + 60
    write_archive(tmp_path / "archive", "wire", [(stamp, [new, old]), (stamp + 900, [new, old])])
    assert backtest(write_config(tmp_path), tmp_path / "archive") == 0
    got = report(capsys)
    assert (got["articles"], got["backlog"], got["matched"]) == (1, 1, 1)
    assert got["alerts"]["total"] == 1


def test_the_per_day_histogram(tmp_path, capsys):
    items, polls = history(count=12)  # 22:00 to 00:45: two days
    write_archive(tmp_path / "archive", "wire", polls)
    assert backtest(write_config(tmp_path), tmp_path / "archive") == 0
    got = report(capsys)
    assert [d["day"] for d in got["by_day"]] == ["2026-11-20", "2026-11-21"]
    assert sum(d["alerts"] for d in got["by_day"]) == got["alerts"]["total"] == 4
    assert [d["top_level"] for d in got["by_day"]] == [3, 1]  # 22:00, 22:45, 23:30; 00:15


def test_an_archive_under_a_hidden_folder_given_relative_or_absolute(tmp_path, capsys, monkeypatch):
    base = tmp_path / ".cache" / "wirewatch"
    _, polls = history()
    write_archive(base / "archive", "wire", polls)
    (base / "archive" / "wire" / ".00009_1999999999.xml.part").write_bytes(b"<rss><chann")
    (base / "archive" / ".trash").mkdir()
    (base / "archive" / ".trash" / "00001_1.xml").write_bytes(b"broken")
    config = write_config(tmp_path)
    assert backtest(config, base / "archive") == 0
    absolute = report(capsys)
    monkeypatch.chdir(base)
    assert backtest(config, "archive") == 0
    relative = report(capsys)
    monkeypatch.chdir(base / "archive")
    assert backtest(config, ".") == 0
    here = report(capsys)
    assert absolute["snapshots"] == relative["snapshots"] == here["snapshots"] == len(polls)
    assert absolute["alerts"] == relative["alerts"] == here["alerts"]
    assert absolute["alerts"]["total"] == 3


def test_an_empty_archive_is_one_line_and_exit_1(tmp_path, capsys):
    (tmp_path / "archive").mkdir()
    assert backtest(write_config(tmp_path), tmp_path / "archive") == 1
    err = capsys.readouterr().err
    assert "the folder holds no files" in err and "Traceback" not in err


def test_snapshots_go_in_poll_order_from_the_name_else_the_mtime(tmp_path):
    archive = tmp_path / "archive"
    (archive / "b").mkdir(parents=True)
    (archive / "b" / "00002_1700000100.xml").write_bytes(b"x")
    (archive / "b" / "00010_1700000050.xml").write_bytes(b"x")
    (archive / "top.xml").write_bytes(b"x")
    (archive / "a").mkdir()
    (archive / "a" / "saved.xml").write_bytes(b"x")
    os.utime(archive / "a" / "saved.xml", (1700000075, 1700000075))
    os.utime(archive / "top.xml", (1700000000, 1700000000))
    found = [(s.path.relative_to(archive).as_posix(), s.feed_id) for s in snapshots(archive)]
    assert found == [
        ("top.xml", "archive"),
        ("b/00010_1700000050.xml", "b"),
        ("a/saved.xml", "a"),
        ("b/00002_1700000100.xml", "b"),
    ]


def test_only_the_listed_matches_are_kept(tmp_path, capsys):
    """Bounded memory: the report keeps `--limit` matches; everything else is counts and keys."""
    _, polls = history(count=30)
    write_archive(tmp_path / "archive", "wire", polls)
    config = write_config(tmp_path)
    args = ["try-rule", "--config", str(config), "--json", "--limit", "2", "tariff*"]
    assert main([*args, "--archive", str(tmp_path / "archive")]) == 0
    got = report(capsys)
    assert got["matched"] == 10 and len(got["matches"]) == 2
    assert [m["title"] for m in got["matches"]] == [
        "Tariff talks stall, round 27",
        "Tariff talks stall, round 24",
    ]


def test_the_progress_line_ends_with_the_totals(capsys):
    from wirewatch.pipelines.commands.try_rule import _progress_line
    from wirewatch.pipelines.tooling.backtest import Report

    show, done = _progress_line(), Report(entries=120, articles=30)
    show(1, 2, done)
    show(2, 2, done)
    err = capsys.readouterr().err
    assert err.endswith("\rbacktest: 2/2 snapshots, 120 entries, 30 articles, 0 alerts\n")


def test_a_backtest_does_not_import_beam(tmp_path):
    """Replaying uses the cores, not the pipeline: no second of Beam import for a CLI command."""
    import subprocess
    import sys

    _, polls = history()
    write_archive(tmp_path / "archive", "wire", polls)
    config = write_config(tmp_path)
    code = (
        "import sys; from wirewatch.pipelines.cli import main; "
        f"main(['try-rule', '--config', {str(config)!r}, 'tariff*', "
        f"'--archive', {str(tmp_path / 'archive')!r}]); "
        "print(any(m.startswith('apache_beam') for m in sys.modules))"
    )
    env = {**os.environ, "BACKTEST_TOKEN": "x", "BACKTEST_HOOK": "https://h.invalid/x"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.splitlines()[0].startswith("3 alerts would have been sent")
    assert out.stdout.splitlines()[-1] == "False"


def test_an_archive_that_does_not_exist_is_one_line_and_exit_2(tmp_path, capsys):
    """A FileNotFoundError traceback before."""
    missing = tmp_path / "nonexistent"
    assert main(["try-rule", "earthquake", "--archive", str(missing)]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: {missing}: --archive: no such file or folder. Fix: give a folder of saved "
        "feed snapshots, or one snapshot file"
    )


def test_a_link_to_nothing_in_the_archive_is_an_input_error(tmp_path, capsys):
    """It was skipped without a word ("replayed 2 snapshots")."""
    _, polls = history()
    archive = tmp_path / "archive"
    write_archive(archive, "wire", polls)
    (archive / "wire" / "gone.xml").symlink_to(tmp_path / "nowhere.xml")
    assert backtest(write_config(tmp_path), archive) == 1
    err = capsys.readouterr().err
    assert f"input error: {archive / 'wire' / 'gone.xml'}: cannot read:" in err
