"""Config validation: one fixture per error case, each carrying its exact expected messages."""

import os
import threading
from pathlib import Path

import pytest

from wirewatch.transforms.config import ConfigError, Problem, load_config, loader
from wirewatch.transforms.config.checks import cross_check
from wirewatch.transforms.config.models import Config

FIXTURES = Path(__file__).parent / "fixtures" / "config"


def expected_messages(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    return [
        line.removeprefix("# expect: ")
        .replace("{file}", str(path))
        .replace("{dir}", str(path.parent))
        for line in lines
        if line.startswith("# expect: ")
    ]


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.yaml")), ids=lambda p: p.stem)
def test_each_bad_config_fails_with_its_exact_message(fixture, monkeypatch):
    monkeypatch.delenv("WIREWATCH_TEST_UNSET_TOKEN", raising=False)
    monkeypatch.delenv("WIREWATCH_TEST_UNSET_HOOK", raising=False)
    with pytest.raises(ConfigError) as err:
        load_config(fixture)
    assert [str(p) for p in err.value.problems] == expected_messages(fixture)


def test_problems_are_data_naming_file_field_message_and_fix():
    fixture = FIXTURES / "unknown_sink_in_rule.yaml"
    with pytest.raises(ConfigError) as err:
        load_config(fixture)
    [problem] = err.value.problems
    assert problem == Problem(
        file=str(fixture),
        field="rules[quake].sinks",
        message="rule 'quake' names sink 'slak', which is not defined (did you mean 'slack'?)",
        fix="define it under sinks or correct the name",
    )
    assert problem.as_json()["text"] == str(problem) == expected_messages(fixture)[0]
    assert str(err.value) == str(problem)


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "wirewatch.yaml"
    path.write_text(text)
    return path


def test_secrets_resolve_from_env_and_never_show_in_a_dump(tmp_path, monkeypatch):
    monkeypatch.setenv("HOOK", "https://hooks.example/secret-value")
    config = load_config(write(tmp_path, "sinks:\n  s: {type: slack, webhook_url: '${HOOK}'}\n"))
    assert config.sinks["s"].webhook_url.get_secret_value() == "https://hooks.example/secret-value"
    dumped = repr(config.redacted()) + repr(config)
    assert "secret-value" not in dumped
    assert config.redacted()["sinks"]["s"]["webhook_url"] == "<secret>"


def test_optional_slack_without_credentials_is_disabled(tmp_path):
    config = load_config(
        write(
            tmp_path,
            "sinks:\n  s: {type: slack, optional: true, webhook_url: '${WIREWATCH_NOPE:-}'}\n",
        )
    )
    assert config.sinks["s"].enabled is False


def test_relative_feed_paths_resolve_against_the_config_file(tmp_path):
    config = load_config(
        write(
            tmp_path,
            "feeds:\n  - {id: a, url: samples/a.xml}\n"
            "  - {id: b, url: 'file://samples/b.xml'}\n"
            "  - {id: c, url: 'https://example.org/c'}\n",
        )
    )
    assert [f.url for f in config.feeds] == [
        str(tmp_path / "samples/a.xml"),
        str(tmp_path / "samples/b.xml"),
        "https://example.org/c",
    ]


def test_includes_merge_sections_and_name_their_own_file_in_errors(tmp_path):
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "rules.yaml").write_text("rules:\n  - {id: r2, query: b, sevrity: info}\n")
    main = write(tmp_path, "include: [more/*.yaml]\nrules:\n  - {id: r1, query: a}\n")
    with pytest.raises(ConfigError) as err:
        load_config(main)
    assert [str(p) for p in err.value.problems] == [
        f"{tmp_path}/more/rules.yaml: rules[r2].sevrity: unknown field 'sevrity' (did you mean "
        f"'severity'?). Fix: remove it or correct the spelling"
    ]
    (tmp_path / "more" / "rules.yaml").write_text("rules:\n  - {id: r2, query: b}\n")
    assert [r.id for r in load_config(main).rules] == ["r1", "r2"]


def test_routes_choose_sinks_with_continue(tmp_path):
    config = load_config(
        write(
            tmp_path,
            """
rules:
  - {id: quake, query: earthquake, severity: critical}
  - {id: markets, query: stocks, labels: {desk: business}}
  - {id: direct, query: x, sinks: [file]}
routes:
  - {severity: [critical], sinks: [pager], continue: true}
  - {labels: {desk: business}, sinks: [file]}
  - {sinks: [console]}
sinks:
  console: {type: console}
  pager: {type: console}
  file: {type: jsonl, path: out.jsonl}
""",
        )
    )
    by_id = {r.id: config.sinks_for(r) for r in config.rules}
    assert by_id == {"quake": ["pager", "console"], "markets": ["file"], "direct": ["file"]}


def load_within(path: Path, seconds: float = 10.0):
    """load_config in a thread, failing (not hanging the suite) when it does not return."""
    outcome: dict = {}

    def run():
        try:
            outcome["config"] = load_config(path)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"load_config({path}) did not return within {seconds}s"
    return outcome


def test_a_fifo_include_is_refused_without_being_opened(tmp_path):
    fifo = tmp_path / "rules.yaml"
    os.mkfifo(fifo)
    outcome = load_within(write(tmp_path, "include: ['rules.yaml']\n"))
    error = outcome["error"]
    assert isinstance(error, ConfigError)
    assert [str(p) for p in error.problems] == [
        f"{fifo}: include: is a FIFO, not a regular file. Fix: include only regular YAML files"
    ]


def test_dev_zero_include_is_refused_without_being_read(tmp_path):
    outcome = load_within(write(tmp_path, "include: ['/dev/zero']\n"))
    assert [str(p) for p in outcome["error"].problems] == [
        "/dev/zero: include: is a character device, not a regular file. "
        "Fix: include only regular YAML files"
    ]


def test_files_over_the_size_cap_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "MAX_CONFIG_BYTES", 100)
    (tmp_path / "big.yml").write_text("rules: []\n" + "#" * 200 + "\n")
    main = write(tmp_path, "include: [big.yml]\n")
    with pytest.raises(ConfigError) as err:
        load_config(main)
    assert [str(p) for p in err.value.problems] == [
        f"{tmp_path}/big.yml: config file is larger than 100 bytes. "
        "Fix: split it or remove what is not config"
    ]
    main.write_text("rules: []\n" + "#" * 200 + "\n")
    with pytest.raises(ConfigError) as err:
        load_config(main)
    assert [str(p) for p in err.value.problems] == [
        f"{main}: config file is larger than 100 bytes. Fix: split it or remove what is not config"
    ]


def test_yaml_merge_keys_are_not_duplicates(tmp_path):
    config = load_config(
        write(
            tmp_path,
            "feeds:\n  - &a {id: a, url: 'https://example.org/a', interval: 600}\n"
            "  - {<<: *a, id: b}\n",
        )
    )
    assert [(f.id, f.interval) for f in config.feeds] == [("a", 600), ("b", 600)]


def test_bounds_keep_the_defaults_valid():
    config = Config()
    assert cross_check(config) == []
    assert (config.feeds, config.fetch.deadline, config.stories.num_perm) == ([], 30.0, 72)


def test_every_relative_path_is_relative_to_the_file_that_holds_it(tmp_path, monkeypatch):
    """Not to the current folder: includes, local feeds, a JSONL sink, the state, dead letters,
    the NER model, and a rule's example files (beside the included file that holds the rule)."""
    conf, elsewhere = tmp_path / "conf", tmp_path / "elsewhere"
    (conf / "more").mkdir(parents=True)
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    (conf / "more" / "quake.txt").write_text("Earthquake hits\nA strong quake.\n")
    (conf / "more" / "rules.yaml").write_text(
        "rules:\n  - {id: quake, query: earthquake, examples: {match: [quake.txt]}}\n"
        "feeds:\n  - {id: inc, url: inc.xml}\n"
        "sinks:\n  inc: {type: jsonl, path: inc.jsonl}\n"
    )
    main = conf / "wirewatch.yaml"
    main.write_text(
        "include: [more/*.yaml]\n"
        "feeds:\n  - {id: a, url: feeds/a.xml}\n"
        "sinks:\n  file: {type: jsonl, path: out/alerts.jsonl}\n"
        "  abs: {type: jsonl, path: /var/log/c.jsonl}\n"
        "state_dir: state\ndead_letters: dead.jsonl\n"
        "tagging: {ner: {model: models/ner}}\n"
    )
    config = load_config(main)
    assert [f.url for f in config.feeds] == [str(conf / "feeds/a.xml"), str(conf / "more/inc.xml")]
    assert config.sinks["file"].path == str(conf / "out/alerts.jsonl")
    assert config.sinks["inc"].path == str(conf / "more/inc.jsonl")
    assert config.sinks["abs"].path == "/var/log/c.jsonl"
    assert (config.state_dir, config.dead_letters) == (
        str(conf / "state"),
        str(conf / "dead.jsonl"),
    )
    assert config.tagging.ner.model == str(conf / "models/ner")
    assert config.rules[0].examples.match == [str(conf / "more/quake.txt")]
    main.write_text("state: sqlite:///db/state.sqlite3\n")
    assert load_config(main).state == f"sqlite:///{conf}/db/state.sqlite3"
