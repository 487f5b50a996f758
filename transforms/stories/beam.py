"""Beam wrapper for story clustering: every tagged article gets its story id and kind.

Three steps. `Prepare` (fingerprints, buckets, URL key, headline markers: most of the CPU) runs
per article wherever the article is, so with several workers it spreads like tagging; `Pack`
then pickles each article with its features into batches (`Batch`: why).
When the runner runs several bundles at once (`parts` > 1: worker processes or threads),
`Partition` then looks at the whole cycle once, through a sketch of each article (id, time,
URL key, buckets: not its fingerprints), and splits it into `parts` groups of articles that
share nothing a decision looks at (partition.py). Each group is decided in publication order
on whichever worker gets it (its articles picked out of the cycle's batches), drafted without
the store's lock and saved under it (index.py): two copies of a new story arriving in the
same cycle are in one group and see each other, the order decides which is "first", and the
result is what deciding the whole cycle at once gives.
With one bundle at a time (the in-process engine) the cycle is one group, as it always was:
no partition step, one draft and one commit per cycle.

Each part's worker picks its pairs out of the whole cycle's batches, which reach it as a side
input. When every worker runs on this machine (the local engine's worker processes), the
batches go through files in a folder they share (`exchange`) and the side input carries only
their paths: see `_AssignPartDoFn`."""

from __future__ import annotations

import os
import pickle
import uuid
from typing import Callable, Iterable, NamedTuple

import apache_beam as beam
from apache_beam.pvalue import AsIter, PCollection, TaggedOutput
from apache_beam.transforms.window import GlobalWindows
from apache_beam.utils.windowed_value import WindowedValue

from wirewatch.transforms.beam_support.metrics import Counters
from wirewatch.transforms.config import Config
from wirewatch.transforms.model import TaggedArticle
from wirewatch.transforms.state.beam import StoreDoFn
from wirewatch.transforms.stories import StoryIndex, StorySettings
from wirewatch.transforms.stories.batch import Prepared
from wirewatch.transforms.stories.index import Siblings, prepare
from wirewatch.transforms.stories.partition import Sketch, partition

Pair = tuple[TaggedArticle, Prepared]
BATCH = 1000  # pairs per element on their way from Prepare to Assign


class Batch(NamedTuple):
    """Up to BATCH pairs, each pickled, with their articles' ids.

    Why: between Prepare and Assign a cycle's articles cross stage boundaries, and on each
    the local engine's driver decodes every element and encodes it again, as the workers do
    on both sides. A batch crosses as one element, pickled once; each pair stays pickled
    until its story is decided."""

    ids: list[str]
    pairs: list[bytes]


def _prepare(tagged: TaggedArticle, settings: StorySettings) -> Pair:
    """With its prepared features (the article travels once, in `tagged`)."""
    return tagged, prepare(tagged.article, tagged.entities, settings)._replace(article=None)


class _PackDoFn(beam.DoFn):
    """Pairs into Batches (pickled; with an `exchange` folder, each written to a file there
    and its path sent instead). With `sketches`, also each batch's sketches (pickled,
    SKETCHES) under the one key the whole cycle meets at, for Partition."""

    SKETCHES = "sketches"

    def __init__(self, sketches: bool, exchange: str | None = None):
        super().__init__()
        self.with_sketches, self.exchange = sketches, exchange

    def start_bundle(self) -> None:
        self.batch, self.sketches = Batch([], []), []

    def process(self, pair: Pair) -> Iterable[bytes | str | TaggedOutput]:
        tagged, prepared = pair
        if self.with_sketches:
            self.sketches.append(Sketch.of(prepared._replace(article=tagged.article)))
        self.batch.ids.append(tagged.article.id)
        self.batch.pairs.append(pickle.dumps(pair, pickle.HIGHEST_PROTOCOL))
        if len(self.batch.pairs) >= BATCH:
            yield from self._take()

    def finish_bundle(self) -> Iterable[WindowedValue | TaggedOutput]:
        if self.batch.pairs:
            yield from self._take(GlobalWindows.windowed_value)

    def _take(self, wrap: Callable = lambda value: value) -> Iterable:
        """The batch held so far (and its sketches), each value `wrap`ped."""
        batch, sketches = self.batch, self.sketches
        self.batch, self.sketches = Batch([], []), []
        packed = pickle.dumps(batch, pickle.HIGHEST_PROTOCOL)
        if self.exchange is None:
            yield wrap(packed)
        else:  # read only after this stage ends: a failed bundle's file is never named
            os.makedirs(self.exchange, exist_ok=True)  # the driver removes it after a run
            path = os.path.join(self.exchange, f"{uuid.uuid4().hex}.batch")
            with open(path, "wb") as out:
                out.write(packed)
            yield wrap(path)
        if sketches:
            packed = pickle.dumps(sketches, pickle.HIGHEST_PROTOCOL)
            yield TaggedOutput(self.SKETCHES, wrap((0, packed)))


class _IndexDoFn(StoreDoFn):
    """A DoFn with the story index of its worker's store."""

    def __init__(self, config: Config, state_dir: str):
        super().__init__(state_dir)
        self.settings = config.stories

    def setup(self) -> None:
        super().setup()
        self.index = StoryIndex(self.store, self.settings)


class _PartitionDoFn(_IndexDoFn):
    """The whole cycle's sketches in; out, keyed by part, its Siblings (the store's mark from
    before the partition looked at it, and a token of this partition's own) and the ids of
    the part's articles."""

    def process(
        self, keyed: tuple[int, Iterable[bytes]], parts: int
    ) -> Iterable[tuple[int, tuple[Siblings, list[str]]]]:
        sketches = [sketch for packed in keyed[1] for sketch in pickle.loads(packed)]
        mark = self.store.story_mark()  # before components() reads: what they all saw
        siblings = Siblings(mark, uuid.uuid4().hex)
        in_part: list[list[str]] = [[] for _ in range(parts)]
        for part, sketch in zip(partition(self.index.components(sketches), parts), sketches):
            in_part[part].append(sketch.article_id)
        for part, ids in enumerate(in_part):
            if ids:
                yield part, (siblings, ids)


class _AssignDoFn(_IndexDoFn):
    """One part's pairs in (its batches), decided together; out, its articles with their
    stories."""

    def __init__(self, config: Config, state_dir: str):
        super().__init__(config, state_dir)
        self.count = Counters("stories_new", "stories_copy", "stories_update")

    def process(self, keyed: tuple[int, Iterable[bytes]]) -> Iterable[TaggedArticle]:
        batches = (pickle.loads(packed) for packed in keyed[1])
        return self._assign([pickle.loads(pair) for batch in batches for pair in batch.pairs])

    def _assign(
        self, pairs: list[Pair], siblings: Siblings | None = None
    ) -> Iterable[TaggedArticle]:
        assignments = self.index.assign_prepared(
            [prepared._replace(article=tagged.article) for tagged, prepared in pairs], siblings
        )
        for (item, _), story in zip(pairs, assignments):
            self.count[f"stories_{story.kind}"].inc()
            yield item.model_copy(update={"story_id": story.story_id, "story_kind": story.kind})


class _AssignPartDoFn(_AssignDoFn):
    """One part's ids in (Partition's lists), its pairs picked from the whole cycle's
    batches (a side input, read once: each batch as bytes, or the path of the file that
    holds them; only the part's pairs are decoded).

    Why not group the pairs by part: only a worker that has read a batch can split it, and
    that re-keying step, a stage of its own, moved every pair through the driver twice more:
    with the per-element coding it saved, 0.5-0.8 s of a 10,000-article cycle on two
    workers. Each worker reading the whole cycle's batches instead, 18 MB there, waited
    0.3 s for them to come through the driver, which had first received them from the
    tagging workers: both workers at once, with nothing else to do. Through files on the
    same machine, the wait is milliseconds and the batches never cross the driver."""

    def process(
        self,
        keyed: tuple[int, Iterable[tuple[Siblings, list[str]]]],
        batches: Iterable[bytes | str],
    ) -> Iterable[TaggedArticle]:
        [(siblings, ids)] = keyed[1]  # one per part
        wanted, pairs = set(ids), []
        for packed in batches:
            if isinstance(packed, str):  # a file in the exchange folder
                with open(packed, "rb") as handed:
                    packed = handed.read()
            batch = pickle.loads(packed)
            pairs += [pickle.loads(p) for i, p in zip(batch.ids, batch.pairs) if i in wanted]
        return self._assign(pairs, siblings)


class AssignStories(beam.PTransform):
    """PCollection[TaggedArticle] -> the same articles with story_id and story_kind set.

    `parts`: how many bundles the runner runs at once (options.parallel_bundles). `exchange`:
    a folder every worker can read and write, when all of them run on this machine; the
    caller empties it after each run."""

    def __init__(self, config: Config, state_dir: str, parts: int = 1, exchange: str | None = None):
        super().__init__()
        self.config, self.state_dir, self.parts = config, state_dir, parts
        self.exchange = exchange

    def expand(self, tagged: PCollection[TaggedArticle]) -> PCollection[TaggedArticle]:
        if not tagged.windowing.is_default():  # Pack's last batch goes out in finish_bundle
            raise ValueError(
                "AssignStories: expected articles in the global window (a cycle's stories are "
                f"decided together), got {tagged.windowing.windowfn!r}"
            )
        config, state_dir = self.config, self.state_dir
        packed = (
            tagged
            | "Prepare" >> beam.Map(_prepare, config.stories)
            | "Pack"
            >> beam.ParDo(
                _PackDoFn(self.parts > 1, self.exchange if self.parts > 1 else None)
            ).with_outputs(_PackDoFn.SKETCHES, main="batches")
        )
        if self.parts == 1:
            return (
                packed.batches
                | "InOnePart" >> beam.Map(lambda batch: (0, batch))
                | "ByPart" >> beam.GroupByKey()
                | "Assign" >> beam.ParDo(_AssignDoFn(config, state_dir))
            )
        return (
            packed[_PackDoFn.SKETCHES]
            | "WholeCycle" >> beam.GroupByKey()
            | "Partition" >> beam.ParDo(_PartitionDoFn(config, state_dir), self.parts)
            | "ByPart" >> beam.GroupByKey()
            | "Assign" >> beam.ParDo(_AssignPartDoFn(config, state_dir), AsIter(packed.batches))
        )
