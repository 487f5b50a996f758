"""Context rules: what the text around a one-word name says about it."""

import pytest

from tests.tagging.conftest import article
from wirewatch.transforms.tagging.schema import EntityConfig, TopicConfig
from wirewatch.transforms.tagging.tagger import Tagger

ENTITIES = [
    EntityConfig(id="jordan", name="Jordan", type="PLACE", subtype="country"),
    EntityConfig(id="china", name="China", type="PLACE", subtype="country"),
    EntityConfig(id="america", name="America", type="PLACE", subtype="country"),
    EntityConfig(id="chicago", name="Chicago", type="PLACE", subtype="city"),
    EntityConfig(id="milwaukee", name="Milwaukee", type="PLACE", subtype="city"),
    EntityConfig(
        id="new-york-city", name="New York City", type="PLACE", subtype="city", aliases=["New York"]
    ),
    EntityConfig(id="united-states", name="United States", type="PLACE", aliases=["U.S."]),
]
TOPICS = [
    TopicConfig(id="sport", label="Sport", terms=["baseball^3", "innings^3", "season"]),
    TopicConfig(id="trade", label="Trade", terms=["trade war^3", "tariffs^2"]),
    TopicConfig(id="conflict", label="Conflict", terms=["war^2"]),
]


@pytest.fixture(scope="module")
def tagger():
    return Tagger(TOPICS, ENTITIES)


def ids(tagger, title, body=""):
    return {e.id: e for e in tagger.tag(article(title, body)).entities}


def test_a_name_that_ends_with_a_place_word_is_not_the_place(tagger):
    found = ids(tagger, "", "Director Neil Jordan spoke in China. Later Jordan said no.")
    assert set(found) == {"china"}


def test_a_name_that_starts_with_a_place_word_is_not_the_place(tagger):
    assert ids(tagger, "", "He read the China Daily and watched the U.S. Open.") == {}
    found = ids(tagger, "", "The U.S. Open ended. U.S. officials left China, a U.S. ally.")
    assert found["united-states"].count == 2 and "china" in found


def test_titles_and_days_after_a_place_keep_it(tagger):
    assert set(ids(tagger, "", "U.S. President Biden met China Monday.")) == {
        "united-states",
        "china",
    }


def test_headline_case_titles_keep_their_places(tagger):
    found = ids(tagger, "Beijing Doesn't Want America to See China Pain", "")
    assert set(found) == {"america", "china"}


def test_hyphenated_modifier_still_names_the_place(tagger):
    found = ids(tagger, "", "A New York-based group said so.")
    assert found["new-york-city"].mentions == ("New York",)


def test_cities_with_scores_in_sport_articles_are_clubs(tagger):
    found = ids(
        tagger,
        "BASEBALL - RESULTS",
        "Baseball innings this season: CHICAGO 5 "
        "Milwaukee 3. Milwaukee beat Chicago again. In Chicago fans cheered.",
    )
    assert found["org:chicago"].type == "ORG" and found["org:chicago"].count == 2
    assert found["org:milwaukee"].count == 2
    assert found["chicago"].type == "PLACE" and found["chicago"].count == 1


def test_cities_outside_sport_stay_places(tagger):
    found = ids(tagger, "Tariffs", "Chicago 5 years on: tariffs bite.")
    assert set(found) == {"chicago"}


def test_phrase_terms_hide_the_words_inside_them(tagger):
    topics = {
        t.id for t in tagger.tag(article("China trade war", "tariffs and a trade war")).topics
    }
    assert "trade" in topics and "conflict" not in topics


def test_acronyms_after_capitalized_words_stay(tagger):
    found = ids(tagger, "", "Top U.S. and Chinese officials met. The U.S. said China agreed.")
    assert found["united-states"].count == 2


def test_a_final_dot_may_end_the_sentence(tagger):
    found = ids(tagger, "", "They came to the U.S. But Jordan left the U.S. China agreed.")
    assert found["united-states"].count == 2 and "china" in found
