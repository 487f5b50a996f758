"""Small configs built in the tests, and the shipped configs loaded the way the pipeline does."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from wirewatch.transforms.config import Config, load_config
from wirewatch.transforms.model import Article
from wirewatch.transforms.tagging.schema import EntityConfig, TopicConfig
from wirewatch.transforms.tagging.tagger import Tagger

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def article(title: str, body: str = "", **extra) -> Article:
    return Article(
        id=extra.pop("id", "a1"),
        feed_id="test",
        title=title,
        summary=body,
        published=datetime(2026, 1, 1, tzinfo=timezone.utc),
        **extra,
    )


SMALL_TOPICS = [
    TopicConfig(
        id="politics",
        label="Politics",
        iptc="medtop:11000000",
        terms=["government", "minister^2", "parliament"],
    ),
    TopicConfig(
        id="immigration",
        label="Immigration",
        parent="politics",
        terms=["immigration^3", "deport*^3", "border"],
    ),
    TopicConfig(id="sport", label="Sport", terms=["football^3", "goal*", "match"]),
]

SMALL_ENTITIES = [
    EntityConfig(id="mexico", name="Mexico", type="PLACE", demonyms=["Mexican", "Mexicans"]),
    EntityConfig(id="mexico-city", name="Mexico City", type="PLACE"),
    EntityConfig(id="turkey", name="Turkey", type="PLACE"),
    EntityConfig(id="oman", name="Oman", type="PLACE"),
    EntityConfig(id="united-states", name="United States", type="PLACE", aliases=["US", "U.S."]),
    EntityConfig(
        id="nato", name="NATO", type="ORG", aliases=["North Atlantic Treaty Organization"]
    ),
    EntityConfig(id="john-kelly", name="John Kelly", type="PERSON"),
    EntityConfig(id="megyn-kelly", name="Megyn Kelly", type="PERSON"),
    EntityConfig(
        id="enrique-pena-nieto", name="Enrique Peña Nieto", type="PERSON", wikidata="Q4184"
    ),
    EntityConfig(id="osorio-chong", name="Miguel Ángel Osorio Chong", type="PERSON"),
    EntityConfig(id="georgia", name="Georgia", type="PLACE"),
    EntityConfig(
        id="georgia-us-state",
        name="Georgia",
        type="PLACE",
        aliases=["Georgia state"],
        ambiguous=["Georgia"],
        context=["Atlanta"],
    ),
    EntityConfig(id="washington", name="Washington", type="PLACE", aliases=["Washington, D.C."]),
    EntityConfig(
        id="washington-us-state",
        name="Washington",
        type="PLACE",
        aliases=["Washington state"],
        ambiguous=["Washington"],
        context=["Seattle"],
    ),
]


@pytest.fixture(scope="session")
def small_config() -> Config:
    return Config(taxonomy=SMALL_TOPICS, entities=SMALL_ENTITIES)


@pytest.fixture(scope="session")
def small_tagger(small_config) -> Tagger:
    return Tagger.from_config(small_config)


def write_main_config(directory: Path) -> Path:
    main = directory / "wirewatch.yaml"
    main.write_text(f"include:\n  - {CONFIGS}/taxonomy/*.yaml\n  - {CONFIGS}/entities/*.yaml\n")
    return main


@pytest.fixture(scope="session")
def shipped_config_path(tmp_path_factory) -> Path:
    return write_main_config(tmp_path_factory.mktemp("shipped"))


@pytest.fixture(scope="session")
def shipped_tagger(shipped_config_path) -> Tagger:
    return Tagger.from_config(load_config(shipped_config_path))
