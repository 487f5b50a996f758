"""`check_rules`: rules (or parts) that can never match, reported with a caret."""

import pytest

from tests.rules.helpers import config
from wirewatch.pipelines.tooling.rule_check import check_rules as _check_rules
from wirewatch.transforms.config import FeedConfig
from wirewatch.transforms.rules.schema import RuleConfig


def check_rules(cfg):
    """The problems as the lines `wirewatch check` prints."""
    return [str(p) for p in _check_rules(cfg)]


FEEDS = [FeedConfig(id="reuters", url="https://example.com/rss")]


@pytest.mark.parametrize(
    "query, message",
    [
        ("wall AND NOT wall", "never matches: the query contradicts itself"),
        ("(wall OR fence) -wall -fence", "never matches: the query contradicts itself"),
        ("type:PERSN", "no entity has type 'PERSN' (did you mean 'PERSON'?)"),
        ("feed:reuter", "no configured feed is 'reuter' (did you mean 'reuters'?)"),
        ("feed:ap*", "no configured feed is 'ap'"),
        ("lang:english", "'english' is not a language code like en or en-US"),
        ("topic:immigration>=1.5", "topic scores are between 0 and 1, so >=1.5 never holds"),
        ("topic:immigration>1", "topic scores are between 0 and 1, so >1 never holds"),
        ("entity:tillerson<1", "an entity is only tagged when mentioned at least once"),
        ("&", "'&' has no letters or digits to match"),
    ],
)
def test_never_matching_rules_are_reported(query, message):
    problems = check_rules(config(RuleConfig(id="r", query=query), feeds=FEEDS))
    assert problems, query
    assert problems[0].startswith("test.yaml: rules[r].query: column ")
    assert message in problems[0]
    assert problems[0].count("\n") == 2  # the query and the caret line


@pytest.mark.parametrize("query", ["-sport", "NOT (sport OR football)", "NOT wall AND NOT fence"])
def test_rules_with_only_not_parts_are_reported(query):
    [problem] = check_rules(config(RuleConfig(id="r", query=query)))
    assert "matches every article that lacks these terms" in problem


def test_a_dead_part_of_a_live_rule_is_reported_alone():
    problems = check_rules(config(RuleConfig(id="r", query="wall OR type:PERSN"), feeds=FEEDS))
    assert len(problems) == 1
    assert problems[0].endswith("    wall OR type:PERSN\n            ^^^^^^^^^^")


def test_a_dead_part_that_kills_the_rule_says_so():
    problems = check_rules(config(RuleConfig(id="r", query="wall type:PERSN"), feeds=FEEDS))
    assert len(problems) == 2
    assert "the whole rule never matches because of the above" in problems[1]


@pytest.mark.parametrize(
    "query",
    [
        "wall",
        "wall -fence",
        "NOT wall AND fence",
        "type:PERSON",
        "type:ORG OR type:GPE",
        "feed:reuters",
        "feed:reu*",
        "lang:en",
        "lang:pt-BR",
        "topic:immigration>=0.9",
        "topic:immigration<0.9",
        "entity:tillerson<2",
        "wall OR NOT wall",
    ],
)
def test_live_rules_are_not_reported(query):
    assert check_rules(config(RuleConfig(id="r", query=query), feeds=FEEDS)) == []


def test_topic_below_the_tagging_threshold_never_holds():
    from wirewatch.transforms.tagging.schema import TopicConfig

    taxonomy = [TopicConfig(id="economy", label="Economy", threshold=0.4)]
    problems = check_rules(config("topic:economy<0.3", taxonomy=taxonomy))
    assert "topic 'economy' is only tagged from score 0.4, so <0.3 never holds" in problems[0]


def test_check_rules_also_runs_the_examples():
    from wirewatch.transforms.rules.schema import RuleExamples

    rule = RuleConfig(
        id="wall",
        query='"border wall"',
        examples=RuleExamples(
            match=["Border wall talks", "A wall on the border"], no_match=["Football"]
        ),
    )
    [problem] = check_rules(config(rule))
    assert problem.startswith(
        "test.yaml: rules[wall].examples.match[1]: expected a match, got none\n"
    )
    assert '✗ "border wall"' in problem


def test_an_empty_example_is_a_problem_not_the_config_folder():
    from wirewatch.transforms.rules.schema import RuleExamples

    rule = RuleConfig(id="wall", query="wall", examples=RuleExamples(match=["  ", "wall"]))
    assert check_rules(config(rule)) == ["test.yaml: rules[wall].examples.match[0]: empty input"]
