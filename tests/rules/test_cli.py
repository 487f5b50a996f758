"""`wirewatch rules test` and `wirewatch try-rule`, end to end through the CLI entry point."""

import json

import pytest

from wirewatch.pipelines.cli import main

CONFIG = """\
builtin_lists: false
entities:
  - id: tillerson
    name: Rex Tillerson
    type: PERSON
    aliases: [Tillerson]
rules:
  - id: wall
    query: '"border wall" OR deport*'
    examples:
      match:
        - "Trump insists on the border wall\\nMexico says it will not pay."
        - examples/deportations.txt
      no_match: ["The Great Wall of China"]
  - id: tillerson
    query: 'entity:tillerson AND mexic*'
    severity: critical
    examples:
      match: ["Tillerson in Mexico City"]
      no_match: ["Tillerson visits Canada"]
  - id: plain
    query: layoffs
"""


@pytest.fixture
def cfg(tmp_path):
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "deportations.txt").write_text(
        "Deportations rise\nOfficials report more removals.\n", encoding="utf-8"
    )
    path = tmp_path / "wirewatch.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def _write_config(path, old, new):
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


def test_rules_test_passes(cfg, capsys):
    assert main(["rules", "test", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "ok    wall: 3 examples" in out
    assert "ok    tillerson: 2 examples" in out
    assert "-   plain: no examples" in out
    assert out.rstrip().endswith("5 examples, 0 failed")


def test_rules_test_fails_with_a_readable_diff(cfg, capsys):
    _write_config(cfg, '"Tillerson visits Canada"', '"Tillerson visits Mexico"')
    _write_config(cfg, '"Tillerson in Mexico City"', '"Tillerson in Ottawa"')
    assert main(["rules", "test", "--config", str(cfg)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  tillerson: 2 of 2 examples failed" in out
    assert "rules[tillerson].examples.match[0]: expected a match, got none" in out
    assert "✓ entity:tillerson" in out and "✗ mexic*" in out
    assert "rules[tillerson].examples.no_match[0]: expected no match, but it matched" in out
    assert 'title "Mexico"' in out
    assert "entities: Rex Tillerson (PERSON)" in out
    assert out.rstrip().endswith("5 examples, 2 failed")


def test_rules_test_json_and_rule_filter(cfg, capsys):
    assert (
        main(["--verbose", "rules", "test", "--config", str(cfg), "--rule", "wall", "--json"]) == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report == {"ok": True, "examples": 3, "failed": [], "problems": []}


def test_rules_test_missing_example_file_is_a_failure(cfg, capsys):
    _write_config(cfg, "examples/deportations.txt", "examples/missing.txt")
    assert main(["rules", "test", "--config", str(cfg)]) == 1
    out = capsys.readouterr().out
    assert "examples.match[1]: file 'examples/missing.txt' not found" in out


def test_rules_test_bad_rule_is_a_config_error(cfg, capsys):
    _write_config(cfg, "query: layoffs", "query: 'layoffs AND'")
    assert main(["rules", "test", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "config error: " in err and "rules[plain].query: column 12" in err


def test_try_rule_shows_match_evidence_and_tags(cfg, tmp_path, capsys):
    text = tmp_path / "a.txt"
    text.write_text("Tillerson visits Mexico\nTalks on the border wall.\n", encoding="utf-8")
    assert (
        main(["try-rule", "--config", str(cfg), '"border wall" AND entity:tillerson', str(text)])
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("MATCH")
    assert "text:  Talks on the [border wall]." in out
    assert "why:   entity:tillerson (Rex Tillerson), text:border wall" in out
    assert "entities: Rex Tillerson (PERSON)" in out


def test_try_rule_json_no_match(cfg, tmp_path, capsys):
    text = tmp_path / "a.txt"
    text.write_text("Nothing to see\n", encoding="utf-8")
    assert main(["try-rule", "--config", str(cfg), "--json", "wall", str(text)]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["matched"] is False and line["title"] == "Nothing to see"


def test_try_rule_query_error_exits_2_with_a_caret(cfg, capsys):
    assert main(["try-rule", "--config", str(cfg), "topic:immigration", "-"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "error: column 7: unknown topic 'immigration'. Fix: topic: takes an id defined under "
        "taxonomy",
        "    topic:immigration",
        "          ^^^^^^^^^^^",
    ]


def test_try_rule_backtests_an_archive(cfg, tmp_path, capsys):
    archive = tmp_path / "past.jsonl"
    lines = []
    for i, title in enumerate(["Border wall funding", "Football scores", "Deported again"]):
        lines.append(
            json.dumps(
                {
                    "id": f"a{i}",
                    "feed_id": "wire",
                    "title": title,
                    "published": f"2026-11-2{i}T10:00:00Z",
                }
            )
        )
    lines.append(json.dumps({"type": "error", "input": "x", "stage": "parse"}))
    archive.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert (
        main(
            [
                "try-rule",
                "--config",
                str(cfg),
                '"border wall" OR deport*',
                "--archive",
                str(archive),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "2 alerts would have been sent (2 top-level, 0 thread replies or more-sources, "
        "0 updates, 0 digests), from 2 distinct articles (2 saved copies)"
    )
    assert out[1] == "  replayed 1 snapshots: 3 entries, 3 distinct articles"
    assert out[2].startswith("  2026-11-22 10:00  wire") and out[2].endswith("Deported again")
    assert out[3] == '      why: title "Deported"'
    assert out[4].endswith("Border wall funding")


def test_try_rule_reads_feed_folders(cfg, capsys):
    import pathlib

    samples = pathlib.Path(__file__).resolve().parents[2] / "configs" / "samples"
    if not samples.is_dir():
        pytest.skip("no sample feeds")
    assert (
        main(["try-rule", "--config", str(cfg), "--json", "mexic*", "--archive", str(samples)]) == 0
    )
    report = json.loads(capsys.readouterr().out)
    # the samples are old news: a first poll marks them seen without alerting (backfill_hours)
    assert report["entries"] >= report["articles"] + report["backlog"] and report["backlog"] > 0
    assert report["matched"] <= report["articles"]


def test_try_rule_bad_input_is_a_partial_failure(cfg, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1}\nnot json\n', encoding="utf-8")
    assert main(["try-rule", "--config", str(cfg), "wall", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"input error: {bad}:1: not an article" in err
    assert f"input error: {bad}:2: invalid JSON" in err


def _routed(cfg):
    """The rules' config plus a catch-all route, so `check` has nothing to say about routing."""
    cfg.write_text(
        cfg.read_text(encoding="utf-8")
        + "routes:\n  - {sinks: [console]}\nsinks:\n  console: {type: console}\n",
        encoding="utf-8",
    )
    return cfg


def test_check_json_prints_structured_problems(cfg, capsys):
    _routed(cfg)
    _write_config(cfg, '"Tillerson in Mexico City"', '"Tillerson in Ottawa"')
    assert main(["check", "--json", "--config", str(cfg)]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["config"] == str(cfg) and report["rules"] == 3
    [problem] = report["problems"]
    assert 'match: ["Tillerson in Ottawa"]' in cfg.read_text().splitlines()[problem["line"] - 1]
    assert {k: problem[k] for k in ("file", "field", "message", "fix")} == {
        "file": str(cfg),
        "field": "rules[tillerson].examples.match[0]",
        "message": "expected a match, got none",
        "fix": "",
    }
    assert "✗ mexic*" in problem["detail"]
    assert problem["text"].startswith(f"{cfg}: rules[tillerson].examples.match[0]: expected")


def test_check_json_when_the_config_does_not_load(cfg, capsys):
    _write_config(_routed(cfg), "query: layoffs", "query: 'layoffs AND'")
    assert main(["check", "--json", "--config", str(cfg)]) == 2
    out, err = capsys.readouterr()
    assert err == ""
    [problem] = json.loads(out)["problems"]
    assert (problem["file"], problem["field"]) == (str(cfg), "rules[plain].query")
    assert problem["message"].startswith("column 12: ")
    assert problem["detail"].splitlines()[0] == "    layoffs AND"


def test_check_valid_config_exits_0_and_errors_are_lines_not_tracebacks(cfg, tmp_path, capsys):
    assert main(["check", "--json", "--config", str(_routed(cfg))]) == 0
    assert json.loads(capsys.readouterr().out)["problems"] == []
    assert main(["check", "--config", str(tmp_path / "missing.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"config error: {tmp_path}/missing.yaml: cannot read config: ")
    assert "Traceback" not in err and len(err.splitlines()) == 1
