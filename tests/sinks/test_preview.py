"""`wirewatch preview`: exactly what each sink would receive, digests included."""

from __future__ import annotations

import json

from slack_sdk.models.blocks import Block

from wirewatch.pipelines.cli import main

CONFIG = """\
feeds:
  - {{id: wire, name: "The Wire", url: "https://example.org/wire.xml", stale_after: 1d}}
rules:
  - id: quake
    description: Strong earthquakes
    query: earthquake
    severity: warning
    labels: {{desk: world}}
routes:
  - {{sinks: [slack, console, file]{extra}}}
sinks:
  slack: {{type: slack, optional: true}}
  console: {{type: console}}
  file: {{type: jsonl, path: "{tmp}/alerts.jsonl"}}
"""


def _articles(tmp_path, count: int):
    lines = [
        json.dumps(
            {
                "id": f"wire:{i}",
                "feed_id": "wire",
                "title": f"Earthquake {i} shakes the coast",
                "summary": "A strong earthquake hit the coast.",
                "link": f"https://example.org/{i}",
                "published": f"2026-11-26T10:0{i}:00Z",
            }
        )
        for i in range(count)
    ]
    path = tmp_path / "past.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _preview(tmp_path, capsys, count: int, extra: str = "") -> list[dict]:
    config = tmp_path / "wirewatch.yaml"
    config.write_text(CONFIG.format(tmp=tmp_path, extra=extra), encoding="utf-8")
    code = main(["preview", "--json", "--config", str(config), "quake", _articles(tmp_path, count)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return [json.loads(line) for line in captured.out.splitlines()]


def test_a_burst_previews_as_the_one_digest_each_sink_would_receive(tmp_path, capsys):
    lines = _preview(tmp_path, capsys, 3)
    assert [(m["sink"], m["kind"], len(m["articles"])) for m in lines] == [
        ("slack", "digest", 3),
        ("console", "digest", 3),
        ("file", "digest", 3),
    ]
    slack = lines[0]["payload"]
    assert slack["unfurl_links"] is False
    for block in slack["blocks"]:
        assert Block.parse(block).to_dict() == block  # valid Block Kit within Slack's limits
    assert "3 alerts · rule:quake" in slack["text"]
    assert "The Wire" in json.dumps(slack)
    assert lines[1]["payload"].startswith("[digest] 3 alerts")
    assert lines[2]["payload"]["digest"] == "rule:quake"
    assert not (tmp_path / "alerts.jsonl").exists()  # a preview writes nothing


def test_without_group_wait_each_alert_is_its_own_message(tmp_path, capsys):
    lines = _preview(tmp_path, capsys, 2, extra=", group_wait: 0")
    assert [(m["sink"], m["kind"]) for m in lines] == [
        ("slack", "alert"),
        ("console", "alert"),
        ("file", "alert"),
    ] * 2
    slack = json.dumps(lines[0]["payload"], ensure_ascii=False)
    assert "*The Wire*" in slack and "Strong earthquakes" in slack and "desk: world" in slack
    assert "Old story" in slack  # published days before "now", the preview's poll time
    assert lines[2]["payload"]["display"]["feed_name"] == "The Wire"


def test_a_mistyped_rule_id_that_matches_nothing_says_it_was_read_as_a_query(tmp_path, capsys):
    """`preview quak ...` (the rule is `quake`) matched nothing, without a word why."""
    config = tmp_path / "wirewatch.yaml"
    config.write_text(CONFIG.format(tmp=tmp_path, extra=""), encoding="utf-8")
    assert main(["preview", "--config", str(config), "quak", _articles(tmp_path, 1)]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "no article matched 'preview' (quak); read as a query, not as a rule id (did you "
        "mean 'quake'?)"
    )


def test_a_broken_query_on_the_command_line_is_not_blamed_on_the_config(tmp_path, capsys):
    """It said `config error: wirewatch.yaml: rules[preview].query: ...`."""
    config = tmp_path / "wirewatch.yaml"
    config.write_text(CONFIG.format(tmp=tmp_path, extra=""), encoding="utf-8")
    assert main(["preview", "--config", str(config), "quake (", _articles(tmp_path, 1)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: column 7: this '(' is never closed. Fix: add a ')'",
        "    quake (",
        "          ^",
    ]
