"""The event reader (transforms/config/yaml_read.py) gives exactly what PyYAML's safe loader
gives, and leaves what it does not handle to PyYAML (same data, same errors, same duplicates)."""

from __future__ import annotations

import datetime

import pytest
import yaml

from wirewatch.transforms.config import yaml_read

TEXTS = [
    "",
    "# only a comment\n",
    "a: 1\nb: -2\nc: 0x1f\nd: 1_000\ne: 3.5\nf: .inf\ng: -.Inf\nh: 1e3\ni: +12\n",
    "a: true\nb: False\nc: yes\nd: off\ne: null\nf: ~\ng:\nh: Null\n",
    "a: 2026-11-29\nb: 2026-11-29T23:11:00Z\nc: 2026-11-29 23:11:00.5 +01:00\n",
    "a: '1'\nb: \"true\"\nc: 'null'\nd: \"\\u2013 dash\"\ne: ''\n",
    "a: |\n  two\n  lines\nb: >\n  folded\n  text\nc: plain\n  continued\n",
    "list: [1, two, 'three', {x: y}, [nested]]\nmap: {a: 1, b: [true, ~]}\n",
    "- a\n- 1\n- {k: v}\n- - deep\n  - er\n",
    "1: int key\ntrue: bool key\n~: null key\n3.5: float key\n",
    'plain: text with: colon\nurl: http://example.com/a?b=c\nq: title:x OR "y z"~3\n',
    "rules:\n- id: a\n  query: x\n  stem: false\n- id: b\n  query: '\"p q\" OR r*'\n",
    "just a string\n",
    "42\n",
    "!!str 3\n",
    "a: !!str 3\nb: !!int '4'\n",
    "base: &b {x: 1}\nother: *b\n",
    "base: &b {x: 1}\nmerged:\n  <<: *b\n  y: 2\n",
    "a: 1\nb: 2\na: 3\n",
    "a:\n  k: 1\n  k: 2\n",
    "1: one\ntrue: also one\n",
    "? [complex]\n: key\n",
    "--- a\n--- b\n",
    "a: [unclosed\n",
    "a: b: c\n",
    "a: 2026-13-45\n",
    "=: value key\n",
    "[" * 100 + "]" * 100 + "\n",
]


def _outcome(read, text: str):
    try:
        return read(text)
    except yaml.YAMLError as exc:
        return type(exc), str(exc)
    except Exception as exc:  # noqa: BLE001 - compared, not handled
        return type(exc)


@pytest.mark.parametrize("text", TEXTS)
def test_same_as_pyyaml(text):
    assert _outcome(yaml_read.parse, text) == _outcome(yaml_read.pyyaml_parse, text)


def test_types_as_pyyaml():
    data, _ = yaml_read.parse(TEXTS[4])
    assert data == {
        "a": datetime.date(2026, 11, 29),
        "b": datetime.datetime(2026, 11, 29, 23, 11, tzinfo=datetime.timezone.utc),
        "c": yaml.safe_load(TEXTS[4])["c"],
    }
    assert type(yaml_read.parse("a: 1\n")[0]["a"]) is int


def test_duplicates_keep_their_lines():
    assert yaml_read.parse("a: 1\nb: 2\na: 3\n") == ({"a": 3, "b": 2}, [("a", 1, 3)])


def test_events_used_for_plain_config():
    if not yaml.__with_libyaml__:
        pytest.skip("no libyaml: the pure-Python loader reads everything")
    assert yaml_read._from_events(TEXTS[11]) == yaml.safe_load(TEXTS[11])
    with pytest.raises(yaml_read._Unusual):
        yaml_read._from_events(TEXTS[16])


def test_lines_of_every_field():
    assert yaml_read.lines("a: 1\nb:\n- x\n- y: 2\n") == {
        (): 1,
        ("a",): 1,
        ("b",): 2,
        ("b", 0): 3,
        ("b", 1): 4,
        ("b", 1, "y"): 4,
    }
