"""Score topics from term hits: weighted, title-boosted, saturating, multi-label.

Per topic, each distinct term contributes `weight * tf * (k + 1) / (tf + k)` where `tf` counts
title hits `title_weight` times and body hits `body_weight` times (BM25's saturation: the tenth
"goal" adds little over the third, so one repetitive term cannot carry a topic). A child topic's
evidence also counts for its ancestors. The raw sum is squashed to 0..1 with
`1 - exp(-raw / saturation)` so that one threshold means the same on short and long articles,
and every tag keeps the terms that fired, strongest first, so an alert can say why.
"""

from __future__ import annotations

import math
from collections import defaultdict

from transforms.model import TopicTag
from transforms.tagging.schema import TaggingSettings, TopicConfig

_K = 1.2
# (topic index, term weight, term as configured, hit is in the title, word shown as evidence)
TermHit = tuple[int, float, str, bool, str]
_EVIDENCE = 8


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
        self.thresholds = [t.threshold if t.threshold is not None else settings.threshold
                           for t in self.topics]

    def raw(self, term_hits: list[TermHit]) -> dict[int, dict[str, float]]:
        """topic -> {evidence word: contribution}, ancestors included."""
        tf: dict[tuple[int, str], float] = defaultdict(float)
        weights: dict[tuple[int, str], float] = {}
        words: dict[tuple[int, str], str] = {}
        tw, bw = self.settings.title_weight, self.settings.body_weight
        for topic, weight, term, in_title, word in term_hits:
            tf[topic, term] += tw if in_title else bw
            weights[topic, term] = weight
            words.setdefault((topic, term), word)
        evidence: dict[int, dict[str, float]] = defaultdict(dict)
        for (topic, term), count in tf.items():
            value = weights[topic, term] * count * (_K + 1) / (count + _K)
            word = words[topic, term]
            for target in self.lineage[topic]:
                bucket = evidence[target]
                bucket[word] = bucket.get(word, 0.0) + value
        return evidence

    def score(self, term_hits: list[TermHit]) -> list[TopicTag]:
        tags = []
        saturation = self.settings.saturation
        for topic, terms in self.raw(term_hits).items():
            raw = sum(terms.values())
            if raw <= 0:
                continue
            score = 1.0 - math.exp(-raw / saturation)
            if score < self.thresholds[topic]:
                continue
            config = self.topics[topic]
            strongest = sorted(terms.items(), key=lambda kv: (-kv[1], kv[0]))[:_EVIDENCE]
            tags.append(TopicTag(id=config.id, label=config.label, score=round(score, 4),
                                 evidence=tuple(term for term, _ in strongest)))
        tags.sort(key=lambda t: (-t.score, t.id))
        return tags[:self.settings.max_topics]
