"""`wirewatch check` as a user meets it: every problem in one pass, by file and line; warnings
that do not fail it; `--show` that counts the built-in lists; and secrets that only the
commands that deliver need."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wirewatch.pipelines.cli import main
from wirewatch.transforms.state import open_store

SAMPLE = Path(__file__).resolve().parents[1] / "configs" / "samples" / "world-wire.xml"

SIX_FAULTS = """\
include: [more/*.yaml]
feeds:
  - {id: a, url: https://example.org/a.xml, interva: 60}
rules:
  - id: quake
    query: 'earthquake AND'
  - id: jobs
    query: layoffs
    severity: urgent
  - id: floods
    query: flood
    sinks: [pagr]
routes:
  - {rules: [quake, nothere], sinks: [console]}
sinks:
  console: {type: console}
  pager: {type: pagerduty}
"""
INCLUDED = """\
rules:
  - id: inc1
    query: 'topic:nosuchtopic'
  - {id: inc2, query: storm, sevrity: info}
"""


@pytest.fixture
def six(tmp_path):
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "rules.yaml").write_text(INCLUDED)
    path = tmp_path / "wirewatch.yaml"
    path.write_text(SIX_FAULTS)
    return path


def test_check_reports_every_problem_in_one_pass_by_file_and_line(six, capsys):
    """YAML-level, schema, cross-reference and rule syntax problems of two files: one run."""
    assert main(["check", "--config", str(six)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    more = six.parent / "more" / "rules.yaml"
    heads = [line.split(". Fix:")[0] for line in err.splitlines() if "config error" in line]
    assert heads == [
        f"config error: {six}: feeds[a].interva: unknown field 'interva' (did you mean "
        "'interval'?)",
        f"config error: {six}: rules[quake].query: column 15: the query ends where a term is "
        "expected",
        f"config error: {six}: rules[jobs].severity: Input should be 'info', 'warning' or "
        "'critical'",
        f"config error: {six}: rules[floods].sinks: rule 'floods' names sink 'pagr', which is "
        "not defined (did you mean 'pager'?)",
        f"config error: {six}: routes[0].rules: route 0 names rule 'nothere', which is not defined",
        f"config error: {six}: sinks.pager: sink type must be one of console, jsonl, slack, "
        "webhook",
        f"config error: {more}: rules[inc1].query: column 7: unknown topic 'nosuchtopic'",
        f"config error: {more}: rules[inc2].sevrity: unknown field 'sevrity' (did you mean "
        "'severity'?)",
    ]


def test_check_json_lists_the_same_problems_as_structured_data(six, capsys):
    assert main(["check", "--config", str(six)]) == 2
    text = [line for line in capsys.readouterr().err.splitlines() if "config error" in line]
    assert main(["check", "--json", "--config", str(six)]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["warnings"] == []
    assert [f"config error: {p['text'].splitlines()[0]}" for p in report["problems"]] == text
    first = report["problems"][0]
    assert {k: first[k] for k in ("file", "field", "message", "fix")} == {
        "file": str(six),
        "field": "feeds[a].interva",
        "message": "unknown field 'interva' (did you mean 'interval'?)",
        "fix": "remove it or correct the spelling",
    }
    # the line of each field, where the YAML says (it was always null)
    lines = six.read_text().splitlines()
    assert "interva" in lines[first["line"] - 1]
    included = [p for p in report["problems"] if p["file"].endswith("rules.yaml")]
    more = (six.parent / "more" / "rules.yaml").read_text().splitlines()
    assert [more[p["line"] - 1].strip() for p in included] == [
        "query: 'topic:nosuchtopic'",
        "- {id: inc2, query: storm, sevrity: info}",
    ]


def test_an_entry_left_out_for_its_own_problem_is_not_also_undefined(tmp_path, capsys):
    """A sink with a bad type and a rule with a bad severity: a route naming them gets no
    second problem (one mistake, one line), and routing is not judged on what is left."""
    path = tmp_path / "c.yaml"
    path.write_text(
        "rules:\n  - {id: r, query: x, severity: urgent}\n"
        "routes:\n  - {rules: [r], sinks: [pager]}\n"
        "sinks:\n  pager: {type: pagerduty}\n"
    )
    assert main(["check", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    errors = [line.split(": ")[2] for line in err.splitlines() if "config error" in line]
    assert errors == ["rules[r].severity", "sinks.pager"]


def test_a_problem_of_an_included_rule_names_the_included_file(tmp_path):
    from wirewatch.transforms.config import ConfigError, load_config

    (tmp_path / "rules.yaml").write_text("rules:\n  - {id: r2, query: x, sinks: [nope]}\n")
    path = tmp_path / "c.yaml"
    path.write_text("include: [rules.yaml]\nsinks:\n  console: {type: console}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    [problem] = err.value.problems
    assert (problem.file, problem.field) == (str(tmp_path / "rules.yaml"), "rules[r2].sinks")


def test_warnings_do_not_fail_check_unless_strict(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text("feeds:\n  - {id: saved, url: saved/feed.xml}\n")
    assert main(["check", "--config", str(path)]) == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == [  # the file as a whole first, then by line
        f"config warning: {path}: rules: no rules: nothing can match, so no alert is ever sent. "
        "Fix: add rules (see the README's Config section, or `wirewatch init`)",
        f"config warning: {path}: feeds[saved].url: local feed file {tmp_path}/saved/feed.xml "
        "does not exist: every poll would fail. Fix: correct the path (relative to the config "
        "file) or create the file",
    ]
    assert out.startswith(f"{path}: ok, 2 warning(s) (1 feeds, ")
    assert main(["check", "--strict", "--config", str(path)]) == 2
    capsys.readouterr()
    assert main(["check", "--strict", "--json", "--config", str(path)]) == 2
    report = json.loads(capsys.readouterr().out)
    assert (report["ok"], report["problems"], len(report["warnings"])) == (False, [], 2)
    (tmp_path / "saved").mkdir()
    (tmp_path / "saved" / "feed.xml").write_text("<rss/>")
    path.write_text(path.read_text() + "rules:\n  - {id: r, query: x}\n")
    path.write_text(path.read_text() + "routes:\n  - {sinks: [c]}\nsinks:\n  c: {type: console}\n")
    assert main(["check", "--strict", "--config", str(path)]) == 0


def test_an_empty_config_warns_that_nothing_is_polled_or_matched(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text("# nothing yet\n")
    assert main(["check", "--config", str(path)]) == 0
    err = capsys.readouterr().err
    assert [line.split(": ")[2] for line in err.splitlines()] == ["feeds", "rules"]


def test_check_show_counts_the_built_in_lists_unless_full(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text(
        "feeds:\n  - {id: w, url: " + str(SAMPLE) + "}\nrules:\n  - {id: r, query: x}\n"
        "routes:\n  - {sinks: [c]}\nsinks:\n  c: {type: console}\n"
        "entities:\n  - {id: acme, name: Acme, type: ORG}\n"
    )
    assert main(["check", "--show", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    shown = json.loads(out[: out.rindex("}") + 1])
    summary, own = shown["entities"]
    assert summary.startswith(f"{len(_full(path)['entities']):,} entities: ")
    assert "from the built-in lists (companies.yaml " in summary and "1 of your own" in summary
    assert own["id"] == "acme"
    assert shown["taxonomy"][0].endswith("0 of your own; `check --show --full` lists them all")
    assert len(out.splitlines()) < 200


def _full(path: Path) -> dict:
    from wirewatch.transforms.config import load_config

    return load_config(path).redacted()


SECRETS = """\
feeds:
  - {{id: w, url: {sample}}}
rules:
  - {{id: quake, query: earthquake}}
routes:
  - {{sinks: [slack, bot, hook]}}
sinks:
  slack: {{type: slack, webhook_url: '${{SLACK_WEBHOOK_URL}}'}}
  bot: {{type: slack, token: '${{WIREWATCH_TEST_TOKEN}}', channel: '${{WIREWATCH_TEST_CHANNEL}}'}}
  hook: {{type: webhook, url: '${{WIREWATCH_TEST_HOOK}}', secret: '${{WIREWATCH_TEST_SECRET}}'}}
"""
UNSET = (
    "SLACK_WEBHOOK_URL",
    "WIREWATCH_TEST_TOKEN",
    "WIREWATCH_TEST_CHANNEL",
    "WIREWATCH_TEST_HOOK",
    "WIREWATCH_TEST_SECRET",
)


@pytest.fixture
def no_secrets(tmp_path, monkeypatch):
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "wirewatch.yaml"
    path.write_text(SECRETS.format(sample=SAMPLE))
    open_store(tmp_path).close()  # `state` shows a store that exists
    return path, f"sqlite:///{tmp_path}/state.sqlite3"


@pytest.mark.parametrize(
    "command",
    [
        ["check"],
        ["check", "--json"],
        ["try-rule", "earthquake", str(SAMPLE)],
        ["state"],
        ["preview", "quake", str(SAMPLE)],
        ["tag", str(SAMPLE)],
        ["stories"],
        ["rules", "test"],
        ["schema"],
        ["parse", str(SAMPLE)],
    ],
    ids=lambda c: " ".join(c[:2]).replace(str(SAMPLE), "FILE"),
)
def test_commands_that_deliver_nothing_run_without_the_secrets(command, no_secrets, capsys):
    path, state = no_secrets
    extra = ["--state", state] if command[0] in ("state", "stories") else []
    assert main([*command, "--config", str(path), *extra]) == 0
    out, err = capsys.readouterr()
    assert "config error" not in err and "is not set. Fix" not in err


def test_check_shows_an_unset_secret_as_unset_and_warns_that_run_needs_it(no_secrets, capsys):
    path, _ = no_secrets
    assert main(["check", "--show", "--config", str(path)]) == 0
    out, err = capsys.readouterr()
    sinks = json.loads(out[: out.rindex("}") + 1])["sinks"]
    assert sinks["slack"]["webhook_url"] == "<unset>"
    assert (sinks["bot"]["token"], sinks["bot"]["channel"]) == ("<unset>", "<unset>")
    assert (sinks["hook"]["url"], sinks["hook"]["secret"]) == ("<unset>", "<unset>")
    assert [line.split(": ")[2] for line in err.splitlines()] == [
        "sinks.slack.webhook_url",
        "sinks.bot.token",
        "sinks.bot.channel",
        "sinks.hook.url",
        "sinks.hook.secret",
    ]
    assert "`run` and `redeliver` refuse to start without it" in err


@pytest.mark.parametrize("command", [["run", "--once"], ["redeliver"]])
def test_commands_that_deliver_refuse_to_start_without_a_secret(command, no_secrets, capsys):
    path, state = no_secrets
    assert main([*command, "--config", str(path), "--state", state]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[0] == (
        f"config error: {path}: sinks.slack.webhook_url: environment variable SLACK_WEBHOOK_URL "
        "is not set. Fix: export SLACK_WEBHOOK_URL=..., or write ${SLACK_WEBHOOK_URL:-} for an empty "
        "default (a sink's secret: mark the sink `optional: true` too, or it refuses the empty "
        "value)"
    )


def test_secrets_from_files_relative_to_the_config_and_only_delivery_needs_them(tmp_path, capsys):
    """`token_file:` (a mounted Docker or Kubernetes secret) instead of ${ENV}."""
    from wirewatch.transforms.config import ConfigError, load_config

    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "token").write_text("xoxb-file-marker-7\n")
    path = tmp_path / "wirewatch.yaml"
    path.write_text(
        "sinks:\n  bot: {type: slack, token_file: secrets/token, channel: '#alerts'}\n"
        "  hook: {type: webhook, url: 'https://example.org/h', secret_file: secrets/hmac}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert [str(p) for p in err.value.problems] == [
        f"{path}: sinks.hook: cannot read secret_file {tmp_path}/secrets/hmac: No such file or "
        "directory. Fix: point it at a readable file, or let this user read it"
    ]
    config = load_config(path, require_secrets=False)
    assert config.sinks["bot"].token.get_secret_value() == "xoxb-file-marker-7"
    assert config.sinks["bot"].token_file == str(tmp_path / "secrets" / "token")
    assert main(["check", "--show", "--config", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "file-marker" not in out + err
    sinks = json.loads(out[: out.rindex("}") + 1])["sinks"]
    assert (sinks["bot"]["token"], sinks["hook"]["secret"]) == ("<secret>", "<unset>")
    assert err.splitlines()[-1].startswith(  # after: no feeds, no rules
        f"config warning: {path}: sinks.hook.secret_file: cannot read {tmp_path}/secrets/hmac: "
    )
    (tmp_path / "secrets" / "hmac").write_text("k3y")
    assert load_config(path).sinks["hook"].secret.get_secret_value() == "k3y"
    path.write_text("sinks:\n  bot: {type: slack, token: '${X}', token_file: t, channel: c}\n")
    with pytest.raises(ConfigError, match="gives both token and token_file. Fix: keep one"):
        load_config(path)


def failed_check(tmp_path, capsys, text: str) -> tuple[Path, list[str]]:
    """`check` of a config holding `text`: it fails (exit 2); the file and stderr's lines."""
    path = tmp_path / "c.yaml"
    path.write_text(text)
    assert main(["check", "--config", str(path)]) == 2
    return path, capsys.readouterr().err.splitlines()


def test_dead_letters_naming_a_folder_is_a_config_error(tmp_path, capsys):
    """It loaded, then every cycle failed at its first dead letter, with Beam's traceback."""
    (tmp_path / "letters").mkdir()
    path, errors = failed_check(
        tmp_path, capsys, "dead_letters: letters\nrules:\n  - {id: r, query: x}\n"
    )
    assert (
        f"config error: {path}: dead_letters: {tmp_path}/letters is a folder. Fix: name a "
        f"file, e.g. {tmp_path}/letters/dead-letters.jsonl"
    ) in errors


@pytest.mark.parametrize("given", ["secret: '${WIREWATCH_TEST_EMPTY}'", "secret_file: empty.key"])
def test_an_empty_webhook_signing_key_is_a_config_error(given, tmp_path, monkeypatch, capsys):
    """Signing was silently off: alerts went out unsigned."""
    monkeypatch.setenv("WIREWATCH_TEST_EMPTY", "")
    (tmp_path / "empty.key").write_text("\n")
    path, errors = failed_check(
        tmp_path,
        capsys,
        "rules:\n  - {id: r, query: x}\nroutes:\n  - {sinks: [hook]}\nsinks:\n"
        f"  hook: {{type: webhook, url: 'https://example.org/h', {given}}}\n",
    )
    assert errors[0] == (
        f"config error: {path}: sinks.hook: secret is empty: requests would go out unsigned. "
        "Fix: give the receiver's key, or remove secret (and secret_file) to send unsigned"
    )


def test_a_feed_url_the_fetch_always_refuses_is_a_config_error(tmp_path, capsys):
    """`check` passed them; every poll then dead-lettered the feed as bad_url."""
    path, errors = failed_check(
        tmp_path,
        capsys,
        "feeds:\n  - {id: a, url: 'ftp://example.org/feed'}\n  - {id: b, url: 'http:///feed'}\n"
        "  - {id: c, url: 'https://example.org/feed'}\nrules:\n  - {id: r, query: x}\n",
    )
    fix = "Fix: write http(s)://HOST/PATH, or the path of a local feed file"
    assert (
        f"config error: {path}: feeds[a].url: only http(s) URLs and local files are "
        f"fetched, not ftp:. {fix}" in errors
    )
    assert f"config error: {path}: feeds[b].url: the URL has no host. {fix}" in errors
    assert not [line for line in errors if "feeds[c]" in line]


def test_a_silence_naming_nothing_the_config_defines_is_a_config_error(tmp_path, capsys):
    """A typo in a silence muted nothing and passed check."""
    path, errors = failed_check(
        tmp_path,
        capsys,
        "feeds:\n  - {id: a, url: 'https://example.org/feed'}\nrules:\n  - {id: r, query: x}\n"
        "routes:\n  - {sinks: [c]}\nsinks:\n  c: {type: console}\nsilences:\n"
        "  - {entity: volkswagon, until: 2030-01-01}\n  - {rule: nosuchrule, until: 2030-01-01}\n"
        "  - {entity: Volkswagen, topic: economy, feed: a, rule: r, until: 2030-01-01}\n",
    )
    assert errors == [
        f"config error: {path}: silences[0].entity: unknown entity 'volkswagon' (did you mean "
        "'volkswagen'?): it mutes nothing. Fix: name an entity the config defines (its id or "
        "name)",
        f"config error: {path}: silences[1].rule: unknown rule 'nosuchrule': it mutes nothing. "
        "Fix: name a rule the config defines (its id)",
    ]


def test_a_yaml_flag_where_a_number_goes_is_a_config_error(tmp_path, capsys):
    """pydantic reads true as 1: `interval: true` polled every second, `max_bytes: yes` took
    one byte, and check said ok."""
    path, errors = failed_check(
        tmp_path,
        capsys,
        "feeds:\n  - {id: a, url: 'https://example.org/feed', interval: true}\n"
        "fetch: {max_bytes: yes, per_host: on}\nrules:\n  - {id: r, query: x}\n"
        "routes:\n  - {sinks: [c], max_alerts: false}\nsinks:\n  c: {type: console}\n",
    )
    said = "true or false (yes, no, on, off) is not a number. Fix: write a number"
    assert errors == [
        f"config error: {path}: feeds[a]: interval: {said}",
        f"config error: {path}: fetch: max_bytes, per_host: {said}",
        f"config error: {path}: routes[0]: max_alerts: {said}",
    ]
