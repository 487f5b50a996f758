"""`trusted` must build what `model_construct` builds (it copies pydantic's own steps)."""

from wirewatch.transforms.model import EntityTag, TopicTag
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
    """A field added to TopicTag or EntityTag must be added where the tagger builds them."""
    tagged = small_tagger.tag(article("Mexico deports migrants", "The minister and Mexican police"))
    assert tagged.topics and tagged.entities
    for tag in tagged.topics + tagged.entities:
        assert list(tag.__dict__) == list(type(tag).model_fields)
