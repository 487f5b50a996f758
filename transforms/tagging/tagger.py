"""The pure tagging core: an Article in, a TaggedArticle out. No Beam here.

Build it once per process (`Tagger.from_config`): construction compiles the gazetteer and the
taxonomy into one automaton (and loads the NER model when enabled), which is the expensive part;
`tag()` is then a single pass over the text plus a little bookkeeping.
"""

from __future__ import annotations

from wirewatch.transforms.model import Article, EntityTag, TaggedArticle
from wirewatch.transforms.tagging import context
from wirewatch.transforms.tagging.entities import Mention, resolve
from wirewatch.transforms.tagging.gazetteer import compile_gazetteer
from wirewatch.transforms.tagging.matcher import Matcher
from wirewatch.transforms.tagging.schema import EntityConfig, TaggingSettings, TopicConfig
from wirewatch.transforms.tagging.text import Prepared, prepare
from wirewatch.transforms.tagging.topics import TermCounts, TopicScorer
from wirewatch.transforms.tagging.trusted import trusted


class Tagger:
    def __init__(
        self,
        topics: list[TopicConfig],
        entities: list[EntityConfig],
        settings: TaggingSettings | None = None,
    ):
        self.settings = settings or TaggingSettings()
        self.gazetteer = compile_gazetteer(entities)
        self.scorer = TopicScorer(topics, self.settings)
        matcher = Matcher()
        for folded_key, refs in self.gazetteer.aliases.items():
            matcher.add_aliases(folded_key, refs)
        for folded_key, supported in self.gazetteer.context.items():
            matcher.add_context(folded_key, supported)
        for group, (folded_key, prefix) in enumerate(self.scorer.groups):
            matcher.add_term(folded_key, prefix, group)
        self.matcher = matcher.compile()
        self._subtypes = {e.id: e.subtype for e in self.gazetteer.entities}
        by_id = {e.id: e for e in self.gazetteer.entities}
        self._capitals = {
            e.id: by_id[e.capital_of] for e in self.gazetteer.entities if e.capital_of in by_id
        }
        topic_index = {t.id: i for i, t in enumerate(self.scorer.topics)}
        self._club_topic = topic_index.get(self.settings.club_topic or "")
        self.ner = None
        if self.settings.ner.enabled:
            from wirewatch.transforms.tagging.ner import NerModel

            self.ner = NerModel(self.settings.ner, self.gazetteer)

    @classmethod
    def from_config(cls, config) -> Tagger:
        """`config` is a transforms.config.Config; `config.tagging` is used when it exists."""
        settings = getattr(config, "tagging", None) or TaggingSettings()
        if isinstance(settings, dict):
            settings = TaggingSettings.model_validate(settings)
        return cls(list(config.taxonomy), list(config.entities), settings)

    def analyze(self, title: str, body: str) -> tuple[Prepared, TermCounts, list[Mention]]:
        """The prepared text, the topic term counts and the entity mentions (tag() and evals)."""
        text = prepare(title, body)
        term_hits, name_hits = self.matcher.scan(text.folded)
        counts = self.scorer.count(text, term_hits)
        mentions = resolve(text, name_hits, self.gazetteer)
        if mentions:
            mentions = context.apply(
                text, mentions, self._subtypes, self._is_sport(counts), self._capitals
            )
        if self.ner is not None:
            mentions = self.ner.merge(text, mentions)
        return text, counts, mentions

    def _is_sport(self, counts: TermCounts) -> bool:
        """Whether the article's strongest topic is the club topic (sport) or one of its kids."""
        if self._club_topic is None:
            return False
        best = self.scorer.best(counts)
        return best is not None and self._club_topic in self.scorer.lineage[best]

    def tag(self, article: Article) -> TaggedArticle:
        _, counts, mentions = self.analyze(article.title, article.summary)
        return trusted(  # a validated article and tags built from validated config
            TaggedArticle,
            {
                "article": article,
                "topics": tuple(self.scorer.score(counts)),
                "entities": tuple(aggregate(mentions)),
                "story_id": None,
                "story_kind": "new",
            },
        )


def aggregate(mentions: list[Mention]) -> list[EntityTag]:
    """One EntityTag per entity: mention count and distinct surface forms; most mentioned first."""
    groups: dict[str, list[Mention]] = {}
    for mention in mentions:
        group = groups.get(mention.id)
        if group is None:
            groups[mention.id] = [mention]
        else:
            group.append(mention)
    tags = []
    # Mentions come in text order, so the groups are in order of their first mention: a
    # stable sort by size alone keeps that order among equals (reverse=True is stable too).
    for group in sorted(groups.values(), key=len, reverse=True):
        first = group[0]
        surfaces = (
            (first.surface,)
            if len(group) == 1
            else tuple(dict.fromkeys([m.surface for m in group]))
        )
        tags.append(
            # Built from the gazetteer's validated entries: no need to validate ten times per
            # article what load_config already checked.
            trusted(
                EntityTag,
                {
                    "id": first.id,
                    "name": first.name,
                    "type": first.type,
                    "count": len(group),
                    "mentions": surfaces,
                    "wikidata": first.wikidata,
                    "source": first.source,
                },
            )
        )
    return tags
