"""`trusted` must build what `model_construct` builds (it copies pydantic's own steps)."""

import pytest

from wirewatch.transforms.model import EntityTag, TaggedArticle, TopicTag
from wirewatch.transforms.tagging.trusted import trusted

from .conftest import article


def _same(cls, values):
    made, reference = trusted(cls, dict(values)), cls.model_construct(**values)
    assert made == reference
    assert hash(made) == hash(reference)
    assert made.model_fields_set == reference.model_fields_set
    assert made.model_dump() == reference.model_dump()
    assert made.model_dump_json() == reference.model_dump_json()
    assert repr(made) == repr(reference)


def test_topic_tag_is_what_model_construct_makes():
    _same(TopicTag, {"id": "sport", "label": "Sport", "score": 0.71, "evidence": ("goal",)})


def test_entity_tag_is_what_model_construct_makes():
    _same(
        EntityTag,
        {
            "id": "united-states",
            "name": "United States",
            "type": "PLACE",
            "count": 2,
            "mentions": ("U.S.", "Washington"),
            "wikidata": "Q30",
            "source": "gazetteer",
        },
    )


def test_tags_from_the_tagger_carry_every_field_in_order(small_tagger):
    """A field added to TaggedArticle, TopicTag or EntityTag must be added where the tagger
    builds them; the article is what validating the same values makes."""
    source = article("Mexico deports migrants", "The minister and Mexican police")
    tagged = small_tagger.tag(source)
    assert tagged.topics and tagged.entities
    for made in (tagged, *tagged.topics, *tagged.entities):
        assert list(made.__dict__) == list(type(made).model_fields)
    validated = TaggedArticle(article=source, topics=tagged.topics, entities=tagged.entities)
    assert tagged == validated
    assert tagged.model_dump_json() == validated.model_dump_json()


def test_models_share_one_fields_set_so_only_frozen_ones_are_built():
    from pydantic import BaseModel

    class Loose(BaseModel):
        x: int = 0

    with pytest.raises(TypeError, match="frozen"):  # it could change the set all share
        trusted(Loose, {"x": 1})
    one = trusted(TopicTag, {"id": "a", "label": "A", "score": 0.5, "evidence": ()})
    two = one.model_copy(update={"score": 0.6})
    assert two.model_fields_set == one.model_fields_set == set(TopicTag.model_fields)
