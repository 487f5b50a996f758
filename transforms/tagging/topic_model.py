"""The shipped top-level topic classifier, scored in pure Python (no scikit-learn at run time).

Why a classifier: term lists alone over-fire on the top-level topics (one "won" in a currency
story is not sport), and their scores are not probabilities. A multinomial logistic regression
over TF-IDF features, trained on the BBC News set by `bench/train_topics.py`, decides between
five broad categories with probabilities a threshold can mean something for. The fitted model is
a small JSON file (vocabulary, idf, one weight per category and term), so scoring is a lookup
per token and a softmax: the exact arithmetic of scikit-learn's `TfidfVectorizer(sublinear_tf=
True)` followed by `LogisticRegression.predict_proba`.

`labels` in the file map the classifier's categories onto taxonomy topic ids; a taxonomy
without those ids simply does not use them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

MODEL_PATH = Path(__file__).with_name("topic_model.json")


def tokens(folded: str) -> list[str]:
    """The classifier's tokens of text already folded by `text.fold` (training uses the same)."""
    return [t for t in folded.split() if len(t) > 1]


@dataclass(frozen=True)
class TopicModel:
    categories: tuple[str, ...]  # the classifier's own labels (BBC's)
    topics: tuple[str, ...]  # the taxonomy topic id of each category
    intercepts: tuple[float, ...]
    weights: dict[str, tuple[float, tuple[float, ...]]]  # token -> (idf, weight per category)

    @classmethod
    def from_json(cls, data: dict) -> TopicModel:
        categories = tuple(data["categories"])
        return cls(
            categories=categories,
            topics=tuple(data["labels"][c] for c in categories),
            intercepts=tuple(data["intercepts"]),
            weights={t: (idf, tuple(w)) for t, idf, w in data["terms"]},
        )

    def probabilities(self, folded: str) -> dict[str, float]:
        """Taxonomy topic id -> probability (they sum to 1 over the model's topics)."""
        counts: dict[str, int] = {}
        weights = self.weights
        for token in tokens(folded):
            if token in weights:
                counts[token] = counts.get(token, 0) + 1
        logits = list(self.intercepts)
        if counts:
            features = []
            norm = 0.0
            for token, count in counts.items():
                idf, row = weights[token]
                value = (1.0 + math.log(count)) * idf
                norm += value * value
                features.append((value, row))
            scale = 1.0 / math.sqrt(norm)
            for value, row in features:
                value *= scale
                for i, w in enumerate(row):
                    logits[i] += value * w
        top = max(logits)
        exps = [math.exp(v - top) for v in logits]
        total = sum(exps)
        return {topic: e / total for topic, e in zip(self.topics, exps)}


@lru_cache(maxsize=4)
def load(path: str | None = None) -> TopicModel:
    """The model in `path` (default: the one shipped beside this module), parsed once."""
    with open(path or MODEL_PATH, encoding="utf-8") as handle:
        return TopicModel.from_json(json.load(handle))
