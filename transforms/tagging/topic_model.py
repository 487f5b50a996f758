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
from collections import Counter
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
    rows: dict[str, tuple[float, ...]]  # token -> (idf, weight per category...)

    @classmethod
    def from_json(cls, data: dict) -> TopicModel:
        categories = tuple(data["categories"])
        return cls(
            categories=categories,
            topics=tuple(data["labels"][c] for c in categories),
            intercepts=tuple(data["intercepts"]),
            rows={t: (idf, *w) for t, idf, w in data["terms"]},
        )

    def probabilities(self, folded: str) -> dict[str, float]:
        """Taxonomy topic id -> probability (they sum to 1 over the model's topics).

        One-letter tokens are never in the vocabulary, so a plain split gives `tokens()`'s
        features. The shipped model has five categories; their sums are unrolled (twice as
        fast as a loop over categories, and this runs once per article).
        """
        rows = self.rows
        counts = Counter([t for t in folded.split() if t in rows])
        logits = list(self.intercepts)
        if counts:
            if len(logits) == 5:
                ss = d0 = d1 = d2 = d3 = d4 = 0.0
                for token, n in counts.items():
                    idf, w0, w1, w2, w3, w4 = rows[token]
                    v = idf if n == 1 else (1.0 + math.log(n)) * idf
                    ss += v * v
                    d0 += v * w0
                    d1 += v * w1
                    d2 += v * w2
                    d3 += v * w3
                    d4 += v * w4
                dots = (d0, d1, d2, d3, d4)
            else:
                ss, dots = 0.0, [0.0] * len(logits)
                for token, n in counts.items():
                    idf, *weights = rows[token]
                    v = idf if n == 1 else (1.0 + math.log(n)) * idf
                    ss += v * v
                    dots = [d + v * w for d, w in zip(dots, weights)]
            scale = 1.0 / math.sqrt(ss)
            logits = [b + scale * d for b, d in zip(logits, dots)]
        top = max(logits)
        exps = [math.exp(v - top) for v in logits]
        total = sum(exps)
        return {topic: e / total for topic, e in zip(self.topics, exps)}


@lru_cache(maxsize=4)
def load(path: str | None = None) -> TopicModel:
    """The model in `path` (default: the one shipped beside this module), parsed once."""
    with open(path or MODEL_PATH, encoding="utf-8") as handle:
        return TopicModel.from_json(json.load(handle))
