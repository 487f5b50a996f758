"""Score topics from term hits: weighted, title-boosted, saturating, multi-label.

Per topic, each distinct term contributes `weight * tf * (k + 1) / (tf + k)` where `tf` counts
title hits `title_weight` times and body hits `body_weight` times (BM25's saturation: the tenth
"goal" adds little over the third, so one repetitive term cannot carry a topic). A child topic's
evidence also counts for its ancestors. The raw sum is squashed to 0..1 with
`1 - exp(-raw / saturation)` so that one threshold applies to every topic, and every tag keeps
the words that fired, strongest first, so an alert can say why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from operator import itemgetter

from wirewatch.transforms.model import TopicTag
from wirewatch.transforms.tagging.schema import TaggingSettings, TopicConfig
from wirewatch.transforms.tagging.text import key

_K = 1.2
_EVIDENCE = 8


@dataclass(frozen=True)
class Term:
    topic: int
    weight: float
    text: str  # as configured, for messages
    key: str  # folded, without the trailing '*' (a prefix term's key ends with '*')
    prefix: bool


@dataclass
class TermCounts:
    """What one article's text gave the scorer: weighted counts per term id, and for prefix
    terms the first word they matched (shown as evidence instead of `deport*`)."""

    tf: dict[int, float] = field(default_factory=dict)
    words: dict[int, str] = field(default_factory=dict)
    _contributions: tuple | None = None  # cached by TopicScorer.contributions


class TopicScorer:
    def __init__(self, topics: list[TopicConfig], settings: TaggingSettings):
        self.topics = list(topics)
        self.settings = settings
        index = {t.id: i for i, t in enumerate(self.topics)}
        self.lineage: list[tuple[int, ...]] = []
        for topic in self.topics:
            chain, seen, parent = [index[topic.id]], {topic.id}, topic.parent
            while parent and parent in index and parent not in seen:
                chain.append(index[parent])
                seen.add(parent)
                parent = self.topics[index[parent]].parent
            self.lineage.append(tuple(chain))
        self.thresholds = [
            t.threshold if t.threshold is not None else settings.threshold for t in self.topics
        ]
        self.terms: list[Term] = []
        for i, topic in enumerate(self.topics):
            for term in topic.weighted_terms():
                text = term.term.strip()
                folded = key(text.rstrip("*"))
                if folded:
                    prefix = text.endswith("*")
                    self.terms.append(Term(i, term.weight, text, folded + "*" * prefix, prefix))
        # Where each term's evidence goes: straight into a topic's sum, or, where the same word
        # is also listed lower in that topic's tree, through a max (see contributions()).
        holders: dict[tuple[int, str], int] = {}
        for term in self.terms:
            for target in self.lineage[term.topic]:
                holders[target, term.key] = holders.get((target, term.key), 0) + 1
        # Per term id, looked up once per hit term and article: (weight, topics its evidence
        # goes straight into, topics it reaches through a max, its key) for the sums, and
        # (topics it is shown for, how it is shown) for the evidence.
        self._spread: list[tuple[float, tuple[int, ...], tuple[int, ...], str]] = []
        self._shown: list[tuple[tuple[int, ...], str]] = []
        for term in self.terms:
            targets = self.lineage[term.topic]
            shared = tuple(t for t in targets if holders[t, term.key] > 1)
            plain = tuple(t for t in targets if t not in shared)
            self._spread.append((term.weight, plain, shared, term.key))
            self._shown.append((targets, term.text))

    def contributions(self, counts: TermCounts) -> tuple[dict[int, float], dict[int, float]]:
        """(per term id, per topic with ancestors) raw evidence; computed once per article."""
        if counts._contributions is not None:
            return counts._contributions
        per_term: dict[int, float] = {}
        per_topic: dict[int, float] = {}
        best: dict[tuple[int, str], float] = {}
        spread, k1 = self._spread, _K + 1
        for tid, count in counts.tf.items():
            weight, plain, shared, term_key = spread[tid]
            per_term[tid] = value = weight * count * k1 / (count + _K)
            for target in plain:
                per_topic[target] = per_topic.get(target, 0.0) + value
            # A word listed by a topic and by its child (or by two children) counts once for
            # the topic they share, at its highest weight: no double counting up the tree.
            for target in shared:
                slot = (target, term_key)
                if value > best.get(slot, 0.0):
                    best[slot] = value
        for (target, _), value in best.items():
            per_topic[target] = per_topic.get(target, 0.0) + value
        counts._contributions = (per_term, per_topic)
        return per_term, per_topic

    def best(self, counts: TermCounts) -> int | None:
        """The index of the topic with the most evidence, or None."""
        per_topic = self.contributions(counts)[1]
        if not per_topic:
            return None
        top = max(per_topic, key=per_topic.get)
        return top if per_topic[top] > 0 else None

    def raw(self, counts: TermCounts) -> dict[str, float]:
        """Topic id -> raw evidence (children included): what evaluations rank by."""
        return {self.topics[t].id: v for t, v in self.contributions(counts)[1].items()}

    def score(self, counts: TermCounts) -> list[TopicTag]:
        per_term, per_topic = self.contributions(counts)
        saturation, thresholds, topics = self.settings.saturation, self.thresholds, self.topics
        kept = []
        for topic, raw in per_topic.items():
            if raw > 0:
                score = 1.0 - math.exp(-raw / saturation)
                if score >= thresholds[topic]:
                    kept.append((-score, topics[topic].id, topic, score))
        kept.sort()
        kept = kept[: self.settings.max_topics]
        # Evidence: each kept topic's strongest words, one pass over the terms from strongest
        # to weakest (a stable sort: ties keep text order, so the evidence is deterministic).
        evidence: dict[int, dict[str, None]] = {topic: {} for _, _, topic, _ in kept}
        words, shown = counts.words, self._shown
        for tid, value in sorted(per_term.items(), key=itemgetter(1), reverse=True):
            if value <= 0:
                break
            targets, text = shown[tid]
            word = words.get(tid, text)
            for target in targets:
                bucket = evidence.get(target)
                if bucket is not None and len(bucket) < _EVIDENCE:
                    bucket[word] = None
        tags = []
        for _, topic_id, topic, score in kept:
            tags.append(
                TopicTag(
                    id=topic_id,
                    label=topics[topic].label,
                    score=round(score, 4),
                    evidence=tuple(evidence[topic]),
                )
            )
        return tags
