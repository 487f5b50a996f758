"""Beam wrapper for story clustering: every tagged article gets its story id and kind.

Assignment runs in publication order on one worker per cycle (all articles under one key): two
copies of a new story arriving in the same cycle must see each other, and the order decides
which is "first". The index itself (transforms/stories) is what scales; this step is cheap.
"""

from __future__ import annotations

from typing import Iterable

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import PCollection

from wirewatch.transforms.beam_support.metrics import NS
from wirewatch.transforms.config import Config
from wirewatch.transforms.model import TaggedArticle
from wirewatch.transforms.state.beam import StoreDoFn
from wirewatch.transforms.stories import StoryIndex


class _AssignDoFn(StoreDoFn):
    def __init__(self, config: Config, state_dir: str):
        super().__init__(state_dir)
        self.settings = config.stories
        self.new = Metrics.counter(NS, "stories_new")
        self.copy = Metrics.counter(NS, "stories_copy")
        self.update = Metrics.counter(NS, "stories_update")

    def setup(self) -> None:
        super().setup()
        self.index = StoryIndex(self.store, self.settings)
        self.by_kind = {"new": self.new, "copy": self.copy, "update": self.update}

    def process(self, keyed: tuple[int, Iterable[TaggedArticle]]) -> Iterable[TaggedArticle]:
        _, tagged = keyed
        ordered = sorted(tagged, key=lambda t: (t.article.published, t.article.id))
        assignments = self.index.assign_many([(t.article, t.entities) for t in ordered])
        for item, story in zip(ordered, assignments):
            self.by_kind[story.kind].inc()
            yield item.model_copy(update={"story_id": story.story_id, "story_kind": story.kind})


class AssignStories(beam.PTransform):
    """PCollection[TaggedArticle] -> the same articles with story_id and story_kind set."""

    def __init__(self, config: Config, state_dir: str):
        super().__init__()
        self.config, self.state_dir = config, state_dir

    def expand(self, tagged: PCollection[TaggedArticle]) -> PCollection[TaggedArticle]:
        return (
            tagged
            | "OneKey" >> beam.Map(lambda t: (0, t))
            | "InOneGroup" >> beam.GroupByKey()
            | "Assign" >> beam.ParDo(_AssignDoFn(self.config, self.state_dir))
        )
