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
from operator import mul
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
    idf: dict[str, float]  # token -> idf
    columns: tuple[dict[str, float], ...]  # per category: token -> weight

    @classmethod
    def from_json(cls, data: dict) -> TopicModel:
        categories = tuple(data["categories"])
        terms = data["terms"]  # [token, idf, [weight per category]]
        return cls(
            categories=categories,
            topics=tuple(data["labels"][c] for c in categories),
            intercepts=tuple(data["intercepts"]),
            idf={t: idf for t, idf, _ in terms},
            columns=tuple({t: w[i] for t, _, w in terms} for i in range(len(categories))),
        )

    def probabilities(self, folded: str) -> dict[str, float]:
        """Taxonomy topic id -> probability (they sum to 1 over the model's topics).

        One-letter tokens are never in the vocabulary, so a plain split gives `tokens()`'s
        features; the dot products run in C (map over lists), about as fast as numpy here.
        """
        idf = self.idf
        counts = Counter([t for t in folded.split() if t in idf])
        logits = list(self.intercepts)
        if counts:
            known = list(counts)
            values = [idf[t] if n == 1 else (1.0 + math.log(n)) * idf[t] for t, n in counts.items()]
            scale = 1.0 / math.sqrt(sum(map(mul, values, values)))
            for i, column in enumerate(self.columns):
                logits[i] += scale * sum(map(mul, values, map(column.__getitem__, known)))
        top = max(logits)
        exps = [math.exp(v - top) for v in logits]
        total = sum(exps)
        return {topic: e / total for topic, e in zip(self.topics, exps)}


@lru_cache(maxsize=4)
def load(path: str | None = None) -> TopicModel:
    """The model in `path` (default: the one shipped beside this module), parsed once."""
    with open(path or MODEL_PATH, encoding="utf-8") as handle:
        return TopicModel.from_json(json.load(handle))
