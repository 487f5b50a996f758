"""`TagArticles`: the Beam wrapper around the pure Tagger.

The transform carries only the config (plain, picklable data). Each worker compiles the Tagger
in `DoFn.setup()`: the automaton is a C object that must not travel with the graph, and
compiling it per element would cost far more than tagging.
"""

from __future__ import annotations

import logging
from typing import Iterable

import apache_beam as beam
from apache_beam.pvalue import PCollection

from wirewatch.transforms.beam_support.cache import ref
from wirewatch.transforms.beam_support.metrics import Counters
from wirewatch.transforms.beam_support.taggers import tagger_for
from wirewatch.transforms.model import Article, TaggedArticle
from wirewatch.transforms.tagging.tagger import Tagger

_LOG = logging.getLogger(__name__)


class _TagDoFn(beam.DoFn):
    def __init__(self, config):
        self._config = ref(config)  # decoded once per process, not once per cycle
        self._tagger: Tagger | None = None
        self.count = Counters(
            "articles_tagged",
            "articles_with_topics",
            "articles_without_topics",
            "articles_with_entities",
            "entity_mentions",
            "tagging_failed",
        )

    def setup(self) -> None:
        self._tagger = tagger_for(self._config)

    def process(self, article: Article) -> Iterable[TaggedArticle]:
        try:
            tagged = self._tagger.tag(article)
        except Exception:  # noqa: BLE001 - a tagger bug must not drop the article or the cycle
            # The article still reaches the rules (keyword rules keep working), untagged, and
            # the failure is counted and logged with the article id for a bug report.
            self.count.tagging_failed.inc()
            _LOG.exception("tagging failed for article %s (feed %s)", article.id, article.feed_id)
            yield TaggedArticle(article=article)
            return
        count = self.count
        count.articles_tagged.inc()
        (count.articles_with_topics if tagged.topics else count.articles_without_topics).inc()
        if tagged.entities:
            count.articles_with_entities.inc()
            count.entity_mentions.inc(sum(e.count for e in tagged.entities))
        yield tagged


class TagArticles(beam.PTransform):
    """PCollection[Article] -> PCollection[TaggedArticle] (topics with evidence, entities)."""

    def __init__(self, config, label: str | None = None):
        super().__init__(label)
        if not hasattr(config, "taxonomy") or not hasattr(config, "entities"):
            raise TypeError(
                f"TagArticles(config): expected a wirewatch.transforms.config.Config with "
                f"'taxonomy' and 'entities', got {type(config).__name__}"
            )
        self._config = config

    def expand(self, articles: PCollection[Article]) -> PCollection[TaggedArticle]:
        return articles | "Tag" >> beam.ParDo(_TagDoFn(self._config))
