"""The optional spaCy NER (`pip install wirewatch[ner]`: spaCy; the model ships with wirewatch;
CI installs the extra). Tests of the pure helpers run without spaCy; the others skip cleanly
when spaCy is not installed."""

import fnmatch
import subprocess
import sys
from pathlib import Path

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


def test_the_model_files_are_package_data():
    """Every file of the shipped model matches a package-data glob, so the wheel carries it."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    root = Path(__file__).resolve().parents[2]
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["wirewatch.transforms"]
    model = root / "transforms" / "tagging" / "ner_model"
    files = [f.relative_to(root / "transforms").as_posix() for f in model.rglob("*") if f.is_file()]
    assert "tagging/ner_model/ner/model" in files
    assert [f for f in files if not any(fnmatch.fnmatch(f, g) for g in globs)] == []


@pytest.fixture(scope="module")
def ner_tagger():
    pytest.importorskip("spacy")
    settings = TaggingSettings(ner=NerSettings(enabled=True))
    return Tagger(SMALL_TOPICS, SMALL_ENTITIES, settings)


def found(tagger, title: str, body: str = "") -> dict[str, tuple[str, str]]:
    """entity id -> (type, source)."""
    return {e.id: (e.type, e.source) for e in tagger.tag(article(title, body)).entities}


def test_the_shipped_model_is_the_default_and_loads_offline():
    pytest.importorskip("spacy")
    from wirewatch.transforms.tagging.ner import BUILTIN_PATH, load_model

    assert NerSettings().model == "builtin"
    nlp = load_model("builtin")  # a folder inside the package: nothing to download
    assert nlp.pipe_names == ["ner"]
    assert {"PER", "ORG", "LOC"} <= set(nlp.get_pipe("ner").labels)
    size = sum(f.stat().st_size for f in BUILTIN_PATH.rglob("*") if f.is_file())
    assert size < 12_000_000


def test_missing_model_is_an_actionable_error():
    pytest.importorskip("spacy")
    from wirewatch.transforms.tagging.ner import NerUnavailable

    settings = TaggingSettings(ner=NerSettings(enabled=True, model="no_such_model_pkg"))
    with pytest.raises(NerUnavailable, match="not installed. Fix: pip install"):
        Tagger(SMALL_TOPICS, SMALL_ENTITIES, settings)


def test_an_unusable_model_is_one_config_line_and_exit_2(tmp_path, capsys):
    """With or without spaCy installed: `wirewatch check` says what to install, no traceback."""
    from wirewatch.pipelines.cli import main

    config = tmp_path / "wirewatch.yaml"
    config.write_text("tagging:\n  ner: {enabled: true, model: no_such_model_pkg}\n")
    assert main(["check", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("config error: tagging.ner.") and ". Fix: " in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


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


@pytest.mark.parametrize(
    "title, body, expected",
    [
        (
            "Lagarde warns on euro zone growth",
            "European Central Bank President Christine Lagarde told lawmakers in Strasbourg on "
            "Monday that growth would stay weak.",
            {"person:christine-lagarde": "PERSON", "org:european-central-bank": "ORG",
             "place:strasbourg": "PLACE"},
        ),
        (
            "Siemens wins train order",
            "Siemens said on Tuesday that Deutsche Bahn had ordered 20 trains, chief executive "
            "Roland Busch told reporters in Munich.",
            {"org:siemens": "ORG", "org:deutsche-bahn": "ORG", "person:roland-busch": "PERSON",
             "place:munich": "PLACE"},
        ),
    ],
)  # fmt: skip
def test_made_up_news_people_organisations_places(ner_tagger, title, body, expected):
    tags = found(ner_tagger, title, body)
    assert {k: tags[k] for k in expected if k in tags} == {
        k: (t, "ner") for k, t in expected.items()
    }


def test_a_longer_name_read_by_the_model_replaces_the_place_inside_it(ner_tagger):
    tags = found(ner_tagger, "Rates", "The Bank of Mexico raised rates, Mexican officials said.")
    assert tags["org:bank-of-mexico"] == ("ORG", "ner")
    assert tags["mexico"] == ("PLACE", "gazetteer")  # the demonym "Mexican" still counts
    tags = found(ner_tagger, "Rates", "The Bank of Mexico raised rates on Thursday.")
    assert "mexico" not in tags


def test_titles_are_not_organisations(ner_tagger):
    tags = found(
        ner_tagger,
        "Rubio meets Faeser",
        "Secretary of State Marco Rubio met German Interior Minister Nancy Faeser in Berlin on "
        "Friday, and the Minister of the Interior said the talks went well.",
    )
    assert not [k for k in tags if k.startswith("org:")], tags
    assert tags["person:marco-rubio"] == ("PERSON", "ner")


def test_credit_lines_are_not_people(ner_tagger):
    tags = found(
        ner_tagger,
        "Factory output falls",
        "Factory output in Germany fell in October, Klaus Weber of the statistics office "
        "said. (Reporting by Maria Martinez in Berlin; Editing by Hugh Lawson and Toby Chopra)",
    )
    people = {k for k, (t, _) in tags.items() if t == "PERSON"}
    assert people == {"person:klaus-weber"}


def test_clubs_in_a_results_table_are_not_people(ner_tagger):
    tags = found(
        ner_tagger,
        "SOCCER - ENGLISH PREMIER LEAGUE RESULTS",
        "Results of English premier league matches on Saturday: Arsenal 2 Everton 0, "
        "Leeds 1 Wimbledon 1, Nottingham Forest 0 Southampton 3.",
    )
    assert not [k for k, (t, _) in tags.items() if t == "PERSON"], tags


def test_ner_on_all_caps_headline(ner_tagger):
    tagged = ner_tagger.tag(article("ANGELA MERKEL VISITS PARIS FOR TALKS", ""))
    types = {e.type for e in tagged.entities}
    assert "PERSON" in types
