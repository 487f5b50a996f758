"""Which config a command reads, the built-in lists every config starts from, `wirewatch init`,
and the JSON Schema shipped as package data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wirewatch.pipelines.cli import main
from wirewatch.transforms.config import find_config, load_config
from wirewatch.transforms.config.json_schema import config_schema
from wirewatch.transforms.config.locate import builtin_config, builtin_schema, data_dir
from wirewatch.transforms.rules.ruleset import compile_rules

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def places(tmp_path, monkeypatch):
    """An empty working folder and an empty user config folder."""
    work, user = tmp_path / "work", tmp_path / "xdg"
    work.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(user))
    monkeypatch.delenv("WIREWATCH_CONFIG", raising=False)
    return work, user / "wirewatch" / "wirewatch.yaml"


def test_the_config_is_found_in_the_documented_order(places):
    work, user_file = places
    env = {"WIREWATCH_CONFIG": "from-env.yaml"}
    found = find_config(None, {}, work)
    assert (found.path, found.explicit) == (str(builtin_config()), False)
    user_file.parent.mkdir(parents=True)
    user_file.write_text("")
    assert find_config(None, {}, work).path == str(user_file)
    (work / "configs").mkdir()
    (work / "configs" / "wirewatch.yaml").write_text("")
    assert find_config(None, {}, work).path == str(work / "configs" / "wirewatch.yaml")
    (work / "wirewatch.yaml").write_text("")
    assert find_config(None, {}, work).path == str(work / "wirewatch.yaml")
    assert find_config(None, env, work).path == "from-env.yaml"
    assert find_config("given.yaml", env, work) == find_config("given.yaml", {}, work)
    assert find_config("given.yaml", env, work).explicit


def test_the_cli_says_which_config_it_found(places, monkeypatch, capsys):
    work, _ = places
    monkeypatch.chdir(work)
    assert main(["check"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"wirewatch: config {builtin_config()} (the built-in sample config; "
        "`wirewatch init` starts one)"
    ]


def test_a_config_without_include_can_use_topics_and_entities(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("rules:\n  - {id: r, query: 'topic:immigration AND entity:mexico'}\n")
    config = load_config(path)
    assert {"immigration", "mexico"} <= {t.id for t in config.taxonomy} | {
        e.id for e in config.entities
    }
    compile_rules(config)  # no "unknown topic" / "unknown entity"


def test_own_entries_extend_the_built_in_lists_and_replace_one_with_the_same_id(tmp_path):
    (tmp_path / "mine.yaml").write_text(
        "entities:\n  - {id: acme, name: Acme Corp, type: ORG}\n"
        "  - {id: mexico, name: Mexico, type: PLACE, aliases: [Méjico]}\n"
    )
    path = tmp_path / "c.yaml"
    path.write_text("include: [mine.yaml]\n")
    entities = load_config(path).entities
    by_id = {e.id: e for e in entities}
    assert len(by_id) == len(entities)  # the replaced built-in entry is gone, not doubled
    assert by_id["mexico"].aliases == ["Méjico"] and "acme" in by_id and "canada" in by_id


def test_builtin_lists_false_leaves_them_out(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("builtin_lists: false\nentities:\n  - {id: acme, name: Acme, type: ORG}\n")
    config = load_config(path)
    assert [e.id for e in config.entities] == ["acme"] and config.taxonomy == []


def test_a_duplicate_among_own_entries_is_still_an_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "entities:\n  - {id: acme, name: Acme, type: ORG}\n  - {id: acme, name: Acme, type: ORG}\n"
    )
    with pytest.raises(Exception, match="duplicate id 'acme'"):
        load_config(path)


def test_init_writes_a_starter_that_checks_and_its_schema(tmp_path, capsys):
    target = tmp_path / "new"
    assert main(["init", str(target)]) == 0
    config, schema = target / "wirewatch.yaml", target / "wirewatch.schema.json"
    assert config.read_text().splitlines()[0] == (
        "# yaml-language-server: $schema=wirewatch.schema.json"
    )
    assert json.loads(schema.read_text()) == json.loads(builtin_schema().read_text())
    out = capsys.readouterr().out
    assert out.strip() == (
        f"wrote {config} and {schema}; next: wirewatch check --config {config}, then "
        f"wirewatch run --once --config {config}"
    )
    assert main(["check", "--config", str(config)]) == 0
    assert main(["init", str(target), "--force"]) == 0


def test_the_shipped_schema_is_the_models_schema():
    """Regenerate with `wirewatch schema > configs/wirewatch.schema.json`."""
    shipped = json.loads((ROOT / "configs" / "wirewatch.schema.json").read_text())
    assert shipped == config_schema(), (
        "configs/wirewatch.schema.json is stale (the config models changed): regenerate it with "
        "`wirewatch schema > configs/wirewatch.schema.json`"
    )
    assert (shipped["$schema"], shipped["title"]) == (
        "https://json-schema.org/draft/2020-12/schema",
        "wirewatch config",
    )


def test_the_shipped_data_is_found_through_the_package():
    assert (data_dir() / "taxonomy" / "iptc.yaml").is_file()
    assert (data_dir() / "samples" / "world-wire.xml").is_file()
