"""The optional spaCy NER (`pip install wirewatch[ner]` plus the model package; CI installs
both). Tests of the pure helpers run without spaCy."""

import subprocess
import sys

import pytest

from tests.tagging.conftest import SMALL_ENTITIES, SMALL_TOPICS, article
from wirewatch.transforms.tagging.ner import repair_case, slug
from wirewatch.transforms.tagging.schema import NerSettings, TaggingSettings
from wirewatch.transforms.tagging.tagger import Tagger


def test_repair_case_title_cases_shouting_and_keeps_length():
    text = " LEICESTERSHIRE TAKE OVER AT TOP | Phil Simmons took four. NATO "
    fixed = repair_case(text)
    assert len(fixed) == len(text)
    assert fixed.startswith(" Leicestershire Take Over At Top |")
    assert "Phil Simmons took four. NATO" in fixed


def test_generated_ids_are_normalized_names():
    assert slug("José  Peña-Díaz") == "jose-pena-diaz"


def test_default_config_never_imports_spacy():
    code = (
        "import sys; from wirewatch.transforms.config import Config; "
        "from wirewatch.transforms.tagging.tagger import Tagger; "
        "from tests.tagging.conftest import SMALL_TOPICS, SMALL_ENTITIES, article; "
        "t = Tagger.from_config(Config(taxonomy=SMALL_TOPICS, entities=SMALL_ENTITIES)); "
        "t.tag(article('Mexico', 'John Kelly')); "
        "assert 'spacy' not in sys.modules"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def ner_tagger():
    pytest.importorskip("spacy")
    settings = TaggingSettings(ner=NerSettings(enabled=True))
    return Tagger(SMALL_TOPICS, SMALL_ENTITIES, settings)


def test_missing_model_is_an_actionable_error():
    pytest.importorskip("spacy")
    from wirewatch.transforms.tagging.ner import NerUnavailable

    settings = TaggingSettings(ner=NerSettings(enabled=True, model="no_such_model_pkg"))
    with pytest.raises(NerUnavailable, match="not installed. Fix: pip install"):
        Tagger(SMALL_TOPICS, SMALL_ENTITIES, settings)


def test_ner_fills_gaps_and_gazetteer_wins(ner_tagger):
    tagged = ner_tagger.tag(
        article(
            "John Kelly meets Microsoft chief",
            "Homeland Security Secretary John Kelly met Microsoft president Brad Smith in Mexico "
            "City on Tuesday. Smith said the company would open an office in Guadalajara. "
            "Kelly thanked him.",
        )
    )
    found = {e.id: e for e in tagged.entities}
    assert found["john-kelly"].source == "gazetteer" and found["john-kelly"].count == 3
    assert found["mexico-city"].source == "gazetteer"
    smith = found["person:brad-smith"]
    assert smith.source == "ner" and smith.type == "PERSON" and smith.count == 2
    assert set(smith.mentions) == {"Brad Smith", "Smith"}
    assert found["org:microsoft"].type == "ORG"
    assert found["place:guadalajara"].type == "PLACE"


def test_ner_on_all_caps_headline(ner_tagger):
    tagged = ner_tagger.tag(article("ANGELA MERKEL VISITS PARIS FOR TALKS", ""))
    types = {e.type for e in tagged.entities}
    assert "PERSON" in types
