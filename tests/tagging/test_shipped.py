"""The shipped taxonomy and gazetteer, loaded through load_config as the pipeline does."""

import pycountry

from tests.tagging.conftest import article
from wirewatch.transforms.config import load_config

STORY = """Secretary of State Rex Tillerson and Homeland Security Secretary John Kelly met with
Mexican Foreign Affairs Minister Luis Videgaray and Interior Minister Miguel Angel Osorio Chong in
Mexico City to discuss immigration, deportations, border security and trade. "No use of military
force in immigration operations," Kelly said. At the White House, spokesman Sean Spicer said
President Donald Trump hadn't been speaking literally. "We shared our concerns about foreigners
being deported to Mexico," Chong said. Videgaray, the foreign minister, said immigration policy
can't be unilateral. President Enrique Pena Nieto has vowed to use Mexico's network of consulates
and embassies. Tillerson and Kelly also met privately with Pena Nieto. Trump's envoys agreed to
deepen diplomatic dialogue with their Mexican counterparts."""

OFFICIALS = {
    "rex-tillerson": {"Rex Tillerson", "Tillerson"},
    "john-f-kelly": {"John Kelly", "Kelly"},
    "luis-videgaray": {"Luis Videgaray", "Videgaray"},
    "miguel-angel-osorio-chong": {"Miguel Angel Osorio Chong", "Chong"},
    "sean-spicer": {"Sean Spicer"},
    "donald-trump": {"Donald Trump", "Trump"},
    "enrique-pena-nieto": {"Enrique Pena Nieto", "Pena Nieto"},
}


def test_shipped_configs_load_and_cover_every_country(shipped_config_path):
    config = load_config(shipped_config_path)
    names = {e.name for e in config.entities}
    assert {"Mexico", "Mexico City", "Texas", "United Nations", "Microsoft"} <= names
    places = {e.id: e for e in config.entities if e.type == "PLACE"}
    assert len(places) >= len(pycountry.countries)
    assert "Mexican" in places["mexico"].demonyms
    roots = {t.id: t for t in config.taxonomy if t.parent is None}
    assert len(roots) == 17 and all(t.iptc and t.iptc.startswith("medtop:") for t in roots.values())
    assert {"immigration", "trade", "elections", "diplomacy", "markets"} <= {
        t.id for t in config.taxonomy if t.parent
    }


def test_every_official_resolves_to_one_canonical_entity(shipped_tagger):
    tagged = shipped_tagger.tag(article("U.S., Mexican voices hopeful after meeting", STORY))
    found = {e.id: e for e in tagged.entities}
    for entity_id, mentions in OFFICIALS.items():
        assert set(found[entity_id].mentions) == mentions, entity_id
    assert found["mexico-city"].type == "PLACE" and "mexico" in found
    people = [e for e in tagged.entities if e.type == "PERSON"]
    assert {e.id for e in people} == set(OFFICIALS)
    top = [t.id for t in tagged.topics]
    assert "immigration" in top and "diplomacy" in top
    assert all(t.evidence for t in tagged.topics)


def test_common_words_are_not_entities(shipped_tagger):
    tagged = shipped_tagger.tag(
        article(
            "Tell us who will target the turkey",
            "It is a shell of a plan; we will chad it and may reading be nice.",
        )
    )
    assert tagged.entities == ()
