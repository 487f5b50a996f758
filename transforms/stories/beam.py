"""Beam wrapper for story clustering: every tagged article gets its story id and kind.

Two steps. `Prepare` (fingerprints, buckets, URL key, headline markers: most of the CPU) runs
per article wherever the article is, so with several workers it spreads like tagging. The
decisions then run in publication order on one worker per cycle (all articles under one key):
two copies of a new story arriving in the same cycle must see each other, and the order
decides which is "first". The store's story lock makes them exact across workers and
processes too, so the single key is a matter of order, not of safety.
"""

from __future__ import annotations

from typing import Iterable

import apache_beam as beam
from apache_beam.pvalue import PCollection

from wirewatch.transforms.beam_support.metrics import Counters
from wirewatch.transforms.config import Config
from wirewatch.transforms.model import TaggedArticle
from wirewatch.transforms.state.beam import StoreDoFn
from wirewatch.transforms.stories import StoryIndex, StorySettings
from wirewatch.transforms.stories.batch import Prepared
from wirewatch.transforms.stories.index import prepare

Keyed = tuple[int, tuple[TaggedArticle, Prepared]]


def _prepare(tagged: TaggedArticle, settings: StorySettings) -> Keyed:
    """Under the one key, with its prepared features (the article travels once, in `tagged`)."""
    prepared = prepare(tagged.article, tagged.entities, settings)
    return 0, (tagged, prepared._replace(article=None))


class _AssignDoFn(StoreDoFn):
    def __init__(self, config: Config, state_dir: str):
        super().__init__(state_dir)
        self.settings = config.stories
        self.count = Counters("stories_new", "stories_copy", "stories_update")

    def setup(self) -> None:
        super().setup()
        self.index = StoryIndex(self.store, self.settings)

    def process(
        self, keyed: tuple[int, Iterable[tuple[TaggedArticle, Prepared]]]
    ) -> Iterable[TaggedArticle]:
        _, pairs = keyed
        ordered = sorted(pairs, key=lambda pair: (pair[0].article.published, pair[0].article.id))
        assignments = self.index.assign_prepared(
            [prepared._replace(article=tagged.article) for tagged, prepared in ordered]
        )
        for (item, _), story in zip(ordered, assignments):
            self.count[f"stories_{story.kind}"].inc()
            yield item.model_copy(update={"story_id": story.story_id, "story_kind": story.kind})


class AssignStories(beam.PTransform):
    """PCollection[TaggedArticle] -> the same articles with story_id and story_kind set."""

    def __init__(self, config: Config, state_dir: str):
        super().__init__()
        self.config, self.state_dir = config, state_dir

    def expand(self, tagged: PCollection[TaggedArticle]) -> PCollection[TaggedArticle]:
        return (
            tagged
            | "Prepare" >> beam.Map(_prepare, self.config.stories)
            | "InOneGroup" >> beam.GroupByKey()
            | "Assign" >> beam.ParDo(_AssignDoFn(self.config, self.state_dir))
        )
