from hypothesis import given, settings
from hypothesis import strategies as st

from tests.tagging.conftest import article


def entities(tagger, title, body=""):
    return {e.id: e for e in tagger.tag(article(title, body)).entities}


def test_longest_match_wins(small_tagger):
    found = entities(small_tagger, "Talks in Mexico City")
    assert set(found) == {"mexico-city"}


def test_case_and_accent_insensitive_for_multi_word_names(small_tagger):
    found = entities(small_tagger, "ENRIQUE PENA NIETO speaks", "Enrique Peña Nieto said")
    assert found["enrique-pena-nieto"].count == 2
    assert found["enrique-pena-nieto"].mentions == ("ENRIQUE PENA NIETO", "Enrique Peña Nieto")
    assert found["enrique-pena-nieto"].wikidata == "Q4184"


def test_word_boundaries(small_tagger):
    assert entities(small_tagger, "Omania and Romania and Turkeys") == {}


def test_single_words_must_be_capitalized_and_acronyms_exact(small_tagger):
    assert entities(small_tagger, "Roast turkey for us", "tell us more") == {}
    found = entities(small_tagger, "Turkey and the US", "Nato and NATO")
    assert set(found) == {"turkey", "united-states", "nato"}
    assert found["nato"].count == 2


def test_lowercase_text_still_matches_single_words(small_tagger):
    assert "turkey" in entities(small_tagger, "talks in turkey", "all lower case text")


def test_demonyms_point_at_the_country(small_tagger):
    found = entities(small_tagger, "Mexican officials", "Mexicans and Mexico")
    assert found["mexico"].count == 3


def test_surname_resolves_to_the_person_named_in_full(small_tagger):
    found = entities(
        small_tagger,
        "Kelly visits",
        "John Kelly met Pena Nieto. Kelly said "
        "no. Enrique Pena Nieto agreed; Chong and Miguel Angel Osorio Chong too.",
    )
    assert found["john-kelly"].count == 3
    assert found["john-kelly"].mentions == ("Kelly", "John Kelly")
    assert found["enrique-pena-nieto"].count == 2
    assert found["osorio-chong"].count == 2
    assert "megyn-kelly" not in found


def test_surname_alone_or_shared_does_not_resolve(small_tagger):
    assert entities(small_tagger, "Kelly said", "Nieto agreed") == {}
    found = entities(small_tagger, "John Kelly and Megyn Kelly", "Kelly said")
    assert found["john-kelly"].count == 1 and found["megyn-kelly"].count == 1


def test_ambiguous_alias_needs_context_or_full_mention(small_tagger):
    assert set(entities(small_tagger, "Georgia votes")) == {"georgia"}
    assert set(entities(small_tagger, "Georgia votes", "Atlanta polls")) == {"georgia-us-state"}
    assert set(entities(small_tagger, "Washington said")) == {"washington"}
    found = entities(small_tagger, "Washington state fires", "Washington burns")
    assert set(found) == {"washington-us-state"} and found["washington-us-state"].count == 2


def test_phrases_do_not_match_across_title_and_body_or_punctuation(small_tagger):
    assert set(entities(small_tagger, "In Mexico", "City officials")) == {"mexico"}
    assert set(entities(small_tagger, "", "In Mexico. City officials")) == {"mexico"}
    assert set(entities(small_tagger, "", "Mexico\n  City")) == {"mexico-city"}


def test_entities_sorted_by_count(small_tagger):
    found = small_tagger.tag(article("Turkey", "Mexico, Mexico and Mexico City")).entities
    assert [e.id for e in found] == ["mexico", "turkey", "mexico-city"]
    assert all(e.source == "gazetteer" for e in found)


@settings(max_examples=150, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("Mexico City Kelly John .,-'\n\tÑñ US us 5 AT")), max_size=80
    ),
    st.text(max_size=40),
)
def test_any_text_tags_without_error_and_mentions_are_real_spans(small_tagger, body, title):
    tagged = small_tagger.tag(article(title, body))
    text = " ".join(f"{title} {body}".split())
    for entity in tagged.entities:
        assert entity.count >= len(entity.mentions) >= 1
        assert all(" ".join(m.split()) in text for m in entity.mentions)
