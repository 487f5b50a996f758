"""Beam wrapper for story clustering: every tagged article gets its story id and kind.

Assignment runs in publication order on one worker per cycle (all articles under one key): two
copies of a new story arriving in the same cycle must see each other, and the order decides
which is "first". The index itself (transforms/stories) is what scales; this step is cheap.
"""

from __future__ import annotations

from typing import Iterable

import apache_beam as beam
from apache_beam.metrics import Metrics

from wirewatch.transforms.beam_support.metrics import NS
from wirewatch.transforms.config import Config
from wirewatch.transforms.model import TaggedArticle
from wirewatch.transforms.state.beam import StoreDoFn


class _AssignDoFn(StoreDoFn):
    def __init__(self, config: Config, state_dir: str):
        super().__init__(state_dir)
        self.settings = config.stories

    def setup(self):
        from wirewatch.transforms.stories import StoryIndex

        super().setup()
        self.index = StoryIndex(self.store, self.settings)

    def process(self, keyed) -> Iterable[TaggedArticle]:
        _, tagged = keyed
        ordered = sorted(tagged, key=lambda t: (t.article.published, t.article.id))
        assignments = self.index.assign_many([(t.article, t.entities) for t in ordered])
        for item, story in zip(ordered, assignments):
            Metrics.counter(NS, f"stories_{story.kind}").inc()
            yield item.model_copy(update={"story_id": story.story_id, "story_kind": story.kind})


class AssignStories(beam.PTransform):
    """PCollection[TaggedArticle] -> the same articles with story_id and story_kind set."""

    def __init__(self, config: Config, state_dir: str):
        super().__init__()
        self.config, self.state_dir = config, state_dir

    def expand(self, tagged):
        return (
            tagged
            | "OneKey" >> beam.Map(lambda t: (0, t))
            | "InOneGroup" >> beam.GroupByKey()
            | "Assign" >> beam.ParDo(_AssignDoFn(self.config, self.state_dir))
        )
