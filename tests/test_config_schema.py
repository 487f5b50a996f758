"""The config's JSON Schema as editors and CI linters take it: standard, described, in step with
the models (the jsonschema package judges the shipped configs, the starter `init` writes and
every error fixture the schema can see), and one duration type everywhere."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

jsonschema = pytest.importorskip("jsonschema")  # the dev extra installs it

from wirewatch.pipelines.cli import main  # noqa: E402
from wirewatch.transforms.config import load_config  # noqa: E402
from wirewatch.transforms.config.json_schema import config_schema  # noqa: E402
from wirewatch.transforms.duration import PATTERN  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "config"
SCHEMA = config_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
KEYWORDS = {  # JSON Schema 2020-12 keywords this schema may use
    *("$schema", "$id", "$defs", "$ref", "title", "description", "default", "type", "enum"),
    *("const", "properties", "additionalProperties", "required", "items", "anyOf", "oneOf"),
    *("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength"),
    *("pattern", "format", "writeOnly"),
}
# Error fixtures the schema can see (a type, an enum, a bound, an unknown or missing field, a
# secret written in the file); the others need the file system, the environment, YAML itself
# or more than one section (cross-references), which only `wirewatch check` judges.
SCHEMA_LEVEL = {
    "bad_severity",
    "bad_sink_type",
    "duration_overflow",
    "include_not_string",
    "literal_secret",
    "missing_field",
    "not_mapping",
    "number_overflow",
    "settings_overflow",
    "unknown_key",
}
BEYOND_THE_SCHEMA = {
    "deep_nesting",
    "deep_nesting_block",
    "duplicate_id",
    "duplicate_key",
    "include_device",
    "include_directory",
    "include_duplicate_id",
    "include_duplicate_key",
    "include_missing",
    "missing_env",
    "route_left_out",
    "slack_without_credentials",
    "stories_bands_huge",
    "stories_num_perm",
    "unknown_sink_in_route",
    "unknown_sink_in_rule",
    "unknown_topic_parent",
    "webhook_url_ftp",
    "webhook_url_no_host",
    "webhook_url_no_scheme",
    "yaml_syntax",
}


def schemas(node, where="#"):
    """Every (location, subschema) in the schema."""
    yield where, node
    for key, value in node.items():
        if key in ("properties", "$defs"):
            for name, sub in value.items():
                yield from schemas(sub, f"{where}/{key}/{name}")
        elif isinstance(value, dict) and key in ("items", "additionalProperties"):
            yield from schemas(value, f"{where}/{key}")
        elif isinstance(value, list) and key in ("anyOf", "oneOf"):
            for i, sub in enumerate(value):
                yield from schemas(sub, f"{where}/{key}/{i}")


def test_the_schema_is_named_dated_and_standard():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"].endswith("/configs/wirewatch.schema.json")
    assert SCHEMA["title"] == "wirewatch config"
    used = {key for _, node in schemas(SCHEMA) for key in node}
    assert used - KEYWORDS == set()  # no "ge", no OpenAPI "discriminator"


def test_every_property_has_a_description():
    properties = [
        (f"{where}/properties/{name}", prop)
        for where, node in schemas(SCHEMA)
        for name, prop in node.get("properties", {}).items()
    ]
    assert len(properties) > 100
    assert [where for where, prop in properties if not prop.get("description")] == []


def shipped_configs() -> list[Path]:
    configs = ROOT / "configs"
    return [
        configs / "wirewatch.yaml",
        configs / "starter.yaml",
        *sorted(configs.glob("taxonomy/*.yaml")),
        *sorted(configs.glob("entities/*.yaml")),
    ]


@pytest.mark.parametrize("path", shipped_configs(), ids=lambda p: p.name)
def test_the_schema_accepts_the_shipped_configs(path):
    assert list(VALIDATOR.iter_errors(yaml.safe_load(path.read_text()))) == []


def test_the_schema_accepts_the_config_init_writes(tmp_path):
    assert main(["init", str(tmp_path)]) == 0
    written = yaml.safe_load((tmp_path / "wirewatch.yaml").read_text())
    assert list(VALIDATOR.iter_errors(written)) == []
    assert json.loads((tmp_path / "wirewatch.schema.json").read_text()) == SCHEMA


def test_every_error_fixture_is_classified():
    assert SCHEMA_LEVEL | BEYOND_THE_SCHEMA == {p.stem for p in FIXTURES.glob("*.yaml")}
    assert not SCHEMA_LEVEL & BEYOND_THE_SCHEMA


@pytest.mark.parametrize("name", sorted(SCHEMA_LEVEL))
def test_the_schema_rejects_each_schema_level_error_fixture(name):
    data = yaml.safe_load((FIXTURES / f"{name}.yaml").read_text())
    assert list(VALIDATOR.iter_errors(data)), f"{name}.yaml passes the JSON Schema"


# Names that say "a length of time": each must take the one duration type (quiet_hours is a
# daily window, not a length).
TIME_NAMES = re.compile(
    r"(interval|_wait|_after|timeout|deadline|backoff|^pace$|_hours$|_days$|_minutes$|_seconds$)"
)
NOT_A_LENGTH = {"quiet_hours"}


def test_every_duration_field_takes_a_number_or_a_duration_string():
    durations = {
        f"{where}/{name}": prop
        for where, node in schemas(SCHEMA)
        for name, prop in node.get("properties", {}).items()
        if TIME_NAMES.search(name) and name not in NOT_A_LENGTH
    }
    assert len(durations) >= 20
    for where, prop in durations.items():
        kinds = {json.dumps(s, sort_keys=True) for s in prop["anyOf"]}
        assert json.dumps({"type": "string", "pattern": PATTERN}, sort_keys=True) in kinds, where
        for value in (30, "30", "30s", "5m", "1h", " 2d "):
            assert jsonschema.Draft202012Validator(prop).is_valid(value), (where, value)
        assert not jsonschema.Draft202012Validator(prop).is_valid("5 minutes"), where


def test_durations_load_in_the_unit_of_their_field(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "feeds:\n  - {id: a, url: 'https://example.org/a', interval: 5m, stale_after: 2h,"
        " backfill_hours: 2d}\n"
        "rules:\n  - {id: r, query: x}\n"
        "routes:\n  - {sinks: [hook], group_wait: 30s, group_interval: '1h', repeat_interval: 90}\n"
        "sinks:\n  hook: {type: webhook, url: 'https://example.org/h', timeout: 30s,"
        " retry_backoff: 1m, max_retry_after: 2m, auto_redeliver_hours: 1d}\n"
        "fetch: {connect_timeout: 2s, deadline: 1m, cycle_deadline: 3m}\n"
        "seen_retention_days: 12h\nlease_seconds: 2m\n"
        "stories: {window_hours: 3d, retain_hours: 7d, prune_every_minutes: 1h}\n"
    )
    config = load_config(path)
    feed, route, hook = config.feeds[0], config.routes[0], config.sinks["hook"]
    assert (feed.interval, feed.stale_after, feed.backfill_hours) == (300, 7200, 48)
    assert (route.group_wait, route.group_interval, route.repeat_interval) == (30, 3600, 90)
    assert (hook.timeout, hook.retry_backoff, hook.max_retry_after) == (30, 60, 120)
    assert hook.auto_redeliver_hours == 24
    assert (config.fetch.connect_timeout, config.fetch.deadline) == (2, 60)
    assert (config.seen_retention_days, config.lease_seconds) == (0.5, 120)
    stories = config.stories
    assert (stories.window_hours, stories.retain_hours, stories.prune_every_minutes) == (
        72,
        168,
        60,
    )
    assert isinstance(feed.interval, int)
