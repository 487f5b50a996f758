import pytest
from pydantic import ValidationError

from tests.tagging.conftest import article
from wirewatch.transforms.config import Config
from wirewatch.transforms.tagging.schema import TaggingSettings, TopicConfig
from wirewatch.transforms.tagging.tagger import Tagger


def topics(tagger, title, body=""):
    return {t.id: t for t in tagger.tag(article(title, body)).topics}


def test_scores_with_evidence_and_parent_inherits_child(small_tagger):
    found = topics(
        small_tagger,
        "Deportations rise",
        "The minister defends immigration policy "
        "at the border; the government says deportations continue.",
    )
    assert set(found) == {"politics", "immigration"}
    assert found["politics"].score > found["immigration"].score > 0.35
    assert found["immigration"].evidence[:2] == ("deportations", "immigration")
    assert "minister" in found["politics"].evidence and "deportations" in found["politics"].evidence
    tags = small_tagger.tag(article("Deportations rise", "immigration minister")).topics
    assert [t.score for t in tags] == sorted((t.score for t in tags), reverse=True)


def test_title_counts_more_than_body():
    config = Config(taxonomy=[TopicConfig(id="sport", label="Sport", terms=["football"])])
    tagger = Tagger.from_config(config)
    in_title = tagger.scorer.raw(tagger.analyze("football", "")[1])["sport"]
    in_body = tagger.scorer.raw(tagger.analyze("", "football")[1])["sport"]
    assert in_title > 1.3 * in_body


def test_repetition_saturates():
    tagger = Tagger.from_config(Config(taxonomy=[TopicConfig(id="s", label="S", terms=["goal"])]))
    once = tagger.scorer.raw(tagger.analyze("", "goal")[1])["s"]
    many = tagger.scorer.raw(tagger.analyze("", "goal " * 50)[1])["s"]
    assert many < 2.3 * once


def test_threshold_and_per_topic_threshold():
    config = Config(
        taxonomy=[
            TopicConfig(id="a", label="A", terms=["alpha"]),
            TopicConfig(id="b", label="B", terms=["beta"], threshold=0.99),
        ]
    )
    tagger = Tagger(config.taxonomy, [], TaggingSettings(threshold=0.1))
    assert [t.id for t in tagger.tag(article("alpha beta")).topics] == ["a"]
    strict = Tagger(config.taxonomy, [], TaggingSettings(threshold=0.9))
    assert strict.tag(article("alpha beta")).topics == ()


def test_prefix_terms_match_word_starts_only(small_tagger):
    assert "sport" in topics(small_tagger, "Goalkeeper saves", "football goals")
    assert "sport" not in topics(small_tagger, "", "the subgoal")


def test_term_weight_shorthand_and_errors():
    topic = TopicConfig(id="x", label="X", terms=["a^2", {"term": "b", "weight": 0.5}, "c"])
    assert [(t.term, t.weight) for t in topic.weighted_terms()] == [("a", 2), ("b", 0.5), ("c", 1)]
    with pytest.raises(ValidationError, match="must be a number"):
        TopicConfig(id="x", label="X", terms=["a^lots"])
