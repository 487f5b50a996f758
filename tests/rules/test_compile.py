"""compile_rules: every problem in every rule at once, each naming file, rule and column."""

import pytest

from tests.rules.helpers import config, tagged
from wirewatch.transforms.config import ConfigError
from wirewatch.transforms.model import Hit
from wirewatch.transforms.rules.errors import RuleError
from wirewatch.transforms.rules.ruleset import compile_rules
from wirewatch.transforms.rules.schema import RuleConfig


def test_rule_error_is_a_config_error_listing_every_bad_rule():
    cfg = config(
        RuleConfig(id="ok", query="wall"),
        RuleConfig(id="topic-typo", query="wall AND topic:imigration"),
        RuleConfig(id="entity-typo", query='entity:"Rex Tilerson" OR entity:pemx'),
        RuleConfig(id="syntax", query="wall AND (fence"),
    )
    with pytest.raises(RuleError) as info:
        compile_rules(cfg)
    assert isinstance(info.value, ConfigError)
    problems = [str(p) for p in info.value.problems]
    assert len(problems) == 4
    assert problems[0] == (
        "test.yaml: rules[topic-typo].query: column 16: unknown topic 'imigration'. Fix: did you "
        "mean 'immigration'? topic: takes an id defined under taxonomy\n"
        "    wall AND topic:imigration\n"
        "                   ^^^^^^^^^^"
    )
    assert problems[1].startswith(
        "test.yaml: rules[entity-typo].query: column 8: unknown entity "
        "'Rex Tilerson'. Fix: did you mean 'Rex Tillerson'?"
    )
    assert problems[1].endswith("\n    " + " " * 7 + "^" * 14)
    assert "column 33: unknown entity 'pemx'" in problems[2]
    assert "did you mean 'pemex'?" in problems[2]
    assert problems[3].startswith(
        "test.yaml: rules[syntax].query: column 10: this '(' is never closed"
    )


def test_unknown_topic_without_a_close_match_still_says_where_ids_come_from():
    with pytest.raises(RuleError) as info:
        compile_rules(config("topic:zzzz"))
    assert "unknown topic 'zzzz'. Fix: topic: takes an id defined under taxonomy" in str(info.value)


def test_match_carries_severity_labels_and_evidence():
    cfg = config(
        RuleConfig(
            id="wall",
            query='"border wall" AND topic:immigration AND entity:"rex tillerson"',
            severity="critical",
            labels={"desk": "americas"},
        )
    )
    article = tagged(
        "The Border  Wall",
        "More on the border wall.",
        topics={"immigration.border": 0.7},
        entities=[("tillerson", "Rex Tillerson", "PERSON")],
    )
    [match] = compile_rules(cfg).match(article)
    assert (match.rule_id, match.severity, match.labels) == (
        "wall",
        "critical",
        {"desk": "americas"},
    )
    assert match.article == article
    assert match.hits == (
        Hit(field="entity", term="tillerson", detail="Rex Tillerson"),
        Hit(field="text", term="border wall", start=12, end=23),
        Hit(field="title", term="border wall", start=4, end=16),
        Hit(field="topic", term="immigration.border", detail="0.70"),
    )
    assert article.article.title[4:16] == "Border  Wall"


def test_evidence_spans_index_the_original_text_with_accents():
    [match] = compile_rules(config("pena NEAR/2 nieto")).match(
        tagged("", "Enrique Peña Nieto said")
    )
    assert [(h.start, h.end) for h in match.hits] == [(8, 12), (13, 18)]


def test_topic_includes_children_and_entity_accepts_id_name_or_alias():
    rules = compile_rules(
        config(
            "topic:immigration", "entity:Tillerson", 'entity:"Rex Tillerson"', "entity:tillerson"
        )
    )
    article = tagged(
        "x",
        topics={"immigration.border.wall": 0.9},
        entities=[("tillerson", "Rex Tillerson", "PERSON")],
    )
    assert [m.rule_id for m in rules.match(article)] == ["r0", "r1", "r2", "r3"]


def test_no_rules_is_an_empty_rule_set():
    rules = compile_rules(config())
    assert len(rules) == 0 and rules.match(tagged("wall")) == []


def test_hits_that_tie_on_field_start_and_term_keep_one_order_in_every_process():
    names = ["Zoe Quist", "Amy Brown", "Max Ortiz", "Ida Lund", "Bo Chen", "Eva Marsh"]
    article = tagged(
        "Six people",
        "Six people.",
        entities=[(name.split()[1].lower(), name, "PERSON") for name in names],
    )
    [match] = compile_rules(config(RuleConfig(id="people", query="type:PERSON"))).match(article)
    # same field, start and term for every hit: the order is by what follows, not by hashing
    details = [h.detail for h in match.hits]
    assert len(details) == 6 and details == sorted(details)
