"""The parse cache (transforms/config/parse_cache.py) gives what reading the YAML gives, on a
miss and on a hit; keeps no secret and nothing but the long sections; and any damage to a
cache file is a miss, never a crash."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

from tests.test_config import FIXTURES, expected_messages
from tests.test_config_yaml_read import TEXTS, _outcome
from wirewatch.transforms.config import ConfigError, load_config, parse_cache, yaml_read
from wirewatch.transforms.config.loader import inspect_config

BIG = """\
feeds:
  - {id: a, url: https://example.org/a}
rules:
  - {id: quake, query: earthquake, severity: critical}
  - id: flood
    query: flood*
    examples: {match: [Floods close roads]}
routes:
  - {sinks: [hook, chat]}
sinks:
  hook: {type: webhook, url: 'https://hooks.example/literal-token'}
  chat: {type: slack, webhook_url: '${WIREWATCH_TEST_HOOK}'}
entities:
  - {id: acme, name: Acme Corp, type: ORG}
"""


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """Every text is cached (MIN_BYTES 0), into a folder of this test; parses counted."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("WIREWATCH_TEST_HOOK", "https://hooks.example/env-secret")
    monkeypatch.setattr(parse_cache, "MIN_BYTES", 0)
    return tmp_path / "xdg" / "wirewatch" / "config"


@pytest.fixture
def whole_parses(monkeypatch) -> list[str]:
    """The texts yaml_read.parse is given (the real reader, counted)."""
    texts: list[str] = []
    parse = yaml_read.parse

    def counted(text):
        texts.append(text)
        return parse(text)

    monkeypatch.setattr(yaml_read, "parse", counted)
    return texts


def write(folder: Path, text: str) -> Path:
    path = folder / "wirewatch.yaml"
    path.write_text(text)
    return path


def test_a_hit_reads_only_the_rest_and_gives_the_same_config(tmp_path, cache, whole_parses):
    path = write(tmp_path, BIG)
    first = load_config(path)
    assert parse_cache._key(BIG) in [p.name for p in cache.iterdir()]
    assert BIG in whole_parses
    whole_parses.clear()
    second = load_config(path)
    assert BIG not in whole_parses and "earthquake" not in "".join(whole_parses)
    assert second.model_dump() == first.model_dump()
    data, duplicates = parse_cache.parse(BIG)
    assert list(data) == ["feeds", "rules", "routes", "sinks", "entities"] and duplicates == []


def test_the_cache_holds_no_secret_and_changed_variables_take_effect(tmp_path, cache, monkeypatch):
    path = write(tmp_path, BIG)
    load_config(path)
    monkeypatch.setenv("WIREWATCH_TEST_HOOK", "https://hooks.example/changed")
    config = load_config(path)
    assert config.sinks["chat"].webhook_url.get_secret_value() == "https://hooks.example/changed"
    entry = cache / parse_cache._key(BIG)
    stored = entry.read_bytes()
    assert b"earthquake" in stored
    for text in (
        b"env-secret",
        b"changed",
        b"literal-token",
        b"WIREWATCH_TEST_HOOK",
        b"hooks.example",
    ):
        assert text not in stored
    assert entry.stat().st_mode & 0o777 == 0o600 and cache.stat().st_mode & 0o777 == 0o700


def test_problems_are_the_same_on_a_hit(tmp_path, cache, monkeypatch):
    path = write(tmp_path, BIG)
    load_config(path)
    monkeypatch.delenv("WIREWATCH_TEST_HOOK")
    for _ in range(2):
        with pytest.raises(ConfigError) as err:
            load_config(path)
        assert [str(p) for p in err.value.problems] == [
            f"{path}: sinks.chat.webhook_url: environment variable WIREWATCH_TEST_HOOK is not "
            "set. Fix: export WIREWATCH_TEST_HOOK=..., or write ${WIREWATCH_TEST_HOOK:-} for an empty default "
            "(a sink's secret: mark the sink `optional: true` too, or it refuses the empty value)"
        ]


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_fixture_says_the_same_on_a_miss_and_a_hit(fixture, cache, monkeypatch):
    monkeypatch.delenv("WIREWATCH_TEST_UNSET_TOKEN", raising=False)
    monkeypatch.delenv("WIREWATCH_TEST_UNSET_HOOK", raising=False)
    monkeypatch.setattr(parse_cache, "MIN_BYTES", 10**9)
    uncached = _inspection(fixture, require_secrets=False)
    monkeypatch.setattr(parse_cache, "MIN_BYTES", 0)
    for _ in range(2):  # a miss (the cache is written), then a hit where it was
        with pytest.raises(ConfigError) as err:
            load_config(fixture)
        assert [str(p) for p in err.value.problems] == expected_messages(fixture)
        assert _inspection(fixture, require_secrets=False) == uncached


def _inspection(path: Path, **options) -> tuple:
    """What `check` shows: problems and warnings in order, the config, the built-in counts."""
    found = inspect_config(path, **options)
    config = found.config.redacted() if found.config is not None else None
    return (
        [str(p) for p in found.ordered(found.problems)],
        [str(p) for p in found.ordered(found.warnings)],
        config,
        found.builtin,
    )


ODD = [
    BIG.replace("\n", "\r\n"),
    "rules:x: 1\nrules: [{id: a, query: b}]\n'rules': 2\n",
    "# a comment\n---\nrules:\n# inside\n- {id: a, query: b}\n...\n",
    "entities: &e [{id: a, name: A, type: ORG}]\nrules: []\n",
    "rules: [{id: a,\nquery: b}]\nfeeds: []\n",  # a flow list going on at column 0
]


@pytest.mark.parametrize("text", TEXTS + [BIG] + ODD)
def test_the_same_data_as_the_reader(text, cache):
    for _ in range(2):
        assert _outcome(parse_cache.parse, text) == _outcome(yaml_read.parse, text)


@pytest.mark.parametrize(
    "text",
    [
        "rules: [{id: a, query: b}]\nrules: [{id: c, query: d}]\n",  # a key given twice
        "{rules: [{id: a, query: b}], feeds: []}\n",  # flow style at the top
        "rules:\n- &r {id: a, query: b}\nroutes:\n- rules: [*r]\n",  # an alias across the cut
        "rules:\n- {id: a, query: b, description: 2026-11-30}\n",  # a date: not plain data
        "feeds: []\n",  # nothing to cut
        "- rules: [a]\n",  # not a mapping
    ],
)
def test_what_is_not_cached_reads_as_before(text, cache):
    assert _outcome(parse_cache.parse, text) == _outcome(yaml_read.parse, text)
    assert not cache.exists() or not list(cache.iterdir())


def _truncate(entry: Path) -> None:
    entry.write_bytes(entry.read_bytes()[:100])


def _garbage(entry: Path) -> None:
    entry.write_bytes(os.urandom(4096))


def _empty(entry: Path) -> None:
    entry.write_bytes(b"")


def _other_key(entry: Path) -> None:
    import marshal

    key, *rest = marshal.loads(entry.read_bytes())
    entry.write_bytes(marshal.dumps(("0" * 64, *rest)))


def _bad_spans(entry: Path) -> None:
    import marshal

    key, _, order, sections = marshal.loads(entry.read_bytes())
    entry.write_bytes(marshal.dumps((key, [("rules", 5, 10**9)], order, sections)))


def _wrong_shape(entry: Path) -> None:
    import marshal

    entry.write_bytes(marshal.dumps({"not": "a tuple"}))


def _a_folder(entry: Path) -> None:
    entry.unlink()
    entry.mkdir()


@pytest.mark.parametrize(
    "damage", [_truncate, _garbage, _empty, _other_key, _bad_spans, _wrong_shape, _a_folder]
)
def test_a_damaged_cache_file_is_a_miss(tmp_path, cache, damage):
    path = write(tmp_path, BIG)
    expected = load_config(path).model_dump()
    entry = cache / parse_cache._key(BIG)
    damage(entry)
    assert load_config(path).model_dump() == expected
    if damage is not _a_folder:  # written again, and read
        assert load_config(path).model_dump() == expected
        assert parse_cache._cached(parse_cache._key(BIG), BIG) is not None


def test_other_code_or_versions_are_another_key(tmp_path, cache, monkeypatch, whole_parses):
    path = write(tmp_path, BIG)
    load_config(path)
    monkeypatch.setattr(parse_cache, "_FORMAT", parse_cache._FORMAT + 1)
    whole_parses.clear()
    load_config(path)
    assert BIG in whole_parses
    assert len(list(cache.iterdir())) == 2


def test_an_unwritable_cache_folder_is_skipped(tmp_path, cache, monkeypatch):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    path = write(tmp_path, BIG)
    assert [r.id for r in load_config(path).rules] == ["quake", "flood"]


def test_at_most_keep_entries(tmp_path, cache, monkeypatch):
    monkeypatch.setattr(parse_cache, "KEEP", 2)
    for i in range(4):
        load_config(write(tmp_path, BIG.replace("quake", f"quake{i}")))
    assert len(list(cache.iterdir())) == 2


def test_small_files_are_not_cached(tmp_path, cache, monkeypatch):
    monkeypatch.setattr(parse_cache, "MIN_BYTES", len(BIG) + 1)
    load_config(write(tmp_path, BIG))
    assert not cache.exists()


def test_the_collector_runs_again_after_a_load(tmp_path):
    path = write(tmp_path, "rules: [{id: a, query: b}]\n")
    assert gc.isenabled()
    load_config(path)
    assert gc.isenabled()
    gc.disable()
    try:
        load_config(path)
        assert not gc.isenabled()
    finally:
        gc.enable()
