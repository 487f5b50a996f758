"""Beam wrapper for story clustering: every tagged article gets its story id and kind.

Three steps. `Prepare` (fingerprints, buckets, URL key, headline markers: most of the CPU) runs
per article wherever the article is, so with several workers it spreads like tagging.
When the runner runs several bundles at once (`parts` > 1: worker processes or threads),
`Partition` then looks at the whole cycle once, through a sketch of each article (id, time,
URL key, buckets: not its fingerprints), and splits it into `parts` groups of articles that
share nothing a decision looks at (partition.py). Each group is decided in publication order
on whichever worker gets it, drafted without the store's lock and saved under it (index.py):
two copies of a new story arriving in the same cycle are in one group and see each other, the
order decides which is "first", and the result is what deciding the whole cycle at once gives.
With one bundle at a time (the in-process engine) the cycle is one group, as it always was:
no partition step, one draft and one commit per cycle.
"""

from __future__ import annotations

import pickle
from typing import Iterable

import apache_beam as beam
from apache_beam.pvalue import AsSingleton, PCollection

from wirewatch.transforms.beam_support.metrics import Counters
from wirewatch.transforms.config import Config
from wirewatch.transforms.model import TaggedArticle
from wirewatch.transforms.state.beam import StoreDoFn
from wirewatch.transforms.stories import StoryIndex, StorySettings
from wirewatch.transforms.stories.batch import Prepared
from wirewatch.transforms.stories.index import prepare
from wirewatch.transforms.stories.partition import Sketch, partition

Pair = tuple[TaggedArticle, Prepared]
Packed = tuple[str, bytes]  # the article's id, its Pair pickled


def _pack(pair: Pair) -> Packed:
    """Why: between Prepare and Assign the pair crosses two stage boundaries (to the re-keying
    step, then grouped by part), and every crossing decoded and encoded it with Beam's
    per-field coders: 86 µs an article in the re-keying step alone, which only needs the id.
    Pickled once here, it travels as bytes and is decoded once, where its story is decided."""
    return pair[0].article.id, pickle.dumps(pair, pickle.HIGHEST_PROTOCOL)


def _prepare(tagged: TaggedArticle, settings: StorySettings) -> Pair:
    """With its prepared features (the article travels once, in `tagged`)."""
    return tagged, prepare(tagged.article, tagged.entities, settings)._replace(article=None)


def _sketch(pair: Pair) -> tuple[int, Sketch]:
    """Under the one key the whole cycle meets at."""
    tagged, prepared = pair
    return 0, Sketch.of(prepared._replace(article=tagged.article))


def _in_part(packed: Packed, parts: dict[str, int]) -> tuple[int, bytes]:
    """Keyed by its part (`parts` has every article of the cycle, or is empty: one part)."""
    article_id, pair = packed
    return parts[article_id] if parts else 0, pair


class _IndexDoFn(StoreDoFn):
    """A DoFn with the story index of its worker's store."""

    def __init__(self, config: Config, state_dir: str):
        super().__init__(state_dir)
        self.settings = config.stories

    def setup(self) -> None:
        super().setup()
        self.index = StoryIndex(self.store, self.settings)


class _PartitionDoFn(_IndexDoFn):
    def process(self, keyed: tuple[int, Iterable[Sketch]], parts: int) -> Iterable[dict[str, int]]:
        _, sketches = keyed
        sketches = list(sketches)
        part_of = partition(self.index.components(sketches), parts)
        yield {s.article_id: part for s, part in zip(sketches, part_of)}


class _AssignDoFn(_IndexDoFn):
    def __init__(self, config: Config, state_dir: str):
        super().__init__(config, state_dir)
        self.count = Counters("stories_new", "stories_copy", "stories_update")

    def process(self, keyed: tuple[int, Iterable[bytes]]) -> Iterable[TaggedArticle]:
        _, packed = keyed
        pairs: list[Pair] = [pickle.loads(pair) for pair in packed]
        assignments = self.index.assign_prepared(
            [prepared._replace(article=tagged.article) for tagged, prepared in pairs]
        )
        for (item, _), story in zip(pairs, assignments):
            self.count[f"stories_{story.kind}"].inc()
            yield item.model_copy(update={"story_id": story.story_id, "story_kind": story.kind})


class AssignStories(beam.PTransform):
    """PCollection[TaggedArticle] -> the same articles with story_id and story_kind set."""

    def __init__(self, config: Config, state_dir: str, parts: int = 1):
        super().__init__()
        self.config, self.state_dir, self.parts = config, state_dir, parts

    def expand(self, tagged: PCollection[TaggedArticle]) -> PCollection[TaggedArticle]:
        prepared = tagged | "Prepare" >> beam.Map(_prepare, self.config.stories)
        packed = prepared | "Pack" >> beam.Map(_pack)
        if self.parts == 1:
            keyed = packed | "InOnePart" >> beam.Map(_in_part, {})
        else:
            part_of = (
                prepared
                | "Sketch" >> beam.Map(_sketch)
                | "WholeCycle" >> beam.GroupByKey()
                | "Partition" >> beam.ParDo(_PartitionDoFn(self.config, self.state_dir), self.parts)
            )
            keyed = packed | "InPart" >> beam.Map(_in_part, AsSingleton(part_of, default_value={}))
        return (
            keyed
            | "ByPart" >> beam.GroupByKey()
            | "Assign" >> beam.ParDo(_AssignDoFn(self.config, self.state_dir))
        )
