"""The shipped top-level topic classifier, scored with numpy (no scikit-learn at run time).

Why a classifier: term lists alone over-fire on the top-level topics (one "won" in a currency
story is not sport), and their scores are not probabilities. A multinomial logistic regression
over TF-IDF features, trained on the BBC News set by `bench/train_topics.py`, decides between
five broad categories with probabilities a threshold can mean something for. The fitted model is
a small JSON file (vocabulary, idf, one weight per category and term); scoring is the exact
arithmetic of scikit-learn's `TfidfVectorizer(sublinear_tf=True)` followed by
`LogisticRegression.predict_proba`.

Why numpy: the model runs once per article over every token, and a Python loop over 500 tokens
with five multiply-adds each was a third of the tagger's time. Here the only per-token Python
work is one dict lookup done by `map` in C; counting, the sublinear tf, the L2 norm and the
five dot products are array operations over the article's distinct known terms.

`labels` in the file map the classifier's categories onto taxonomy topic ids; a taxonomy
without those ids simply does not use them.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from itertools import repeat
from pathlib import Path

import numpy as np

MODEL_PATH = Path(__file__).with_name("topic_model.json")


def tokens(folded: str) -> list[str]:
    """The classifier's tokens of text already folded by `text.fold` (training uses the same)."""
    return [t for t in folded.split() if len(t) > 1]


class TopicModel:
    """`categories`: the classifier's own labels (BBC's); `topics`: the taxonomy topic id of
    each. One-letter tokens are never in the vocabulary, so a plain split gives `tokens()`."""

    def __init__(self, categories, topics, intercepts, vocabulary, idf, weights):
        self.categories = tuple(categories)
        self.topics = tuple(topics)
        self._index = {term: i for i, term in enumerate(vocabulary)}
        self._unknown = len(self._index)  # the id of every token outside the vocabulary
        self._idf = np.asarray(idf, dtype=np.float64)
        # weight * idf per term: the logits need sum(tf * idf * w), the norm sum((tf * idf)^2)
        self._scaled = np.asarray(weights, dtype=np.float64) * self._idf[:, None]
        self._intercepts = np.asarray(intercepts, dtype=np.float64)

    @classmethod
    def from_json(cls, data: dict) -> TopicModel:
        categories = data["categories"]
        terms = data["terms"]
        return cls(
            categories=categories,
            topics=[data["labels"][c] for c in categories],
            intercepts=data["intercepts"],
            vocabulary=[t for t, _, _ in terms],
            idf=[idf for _, idf, _ in terms],
            weights=[w for _, _, w in terms] or np.zeros((0, len(categories))),
        )

    def predict(self, folded: str) -> tuple[dict[str, float], int]:
        """(taxonomy topic id -> probability, summing to 1; how many known tokens it saw)."""
        words = folded.split()
        ids = np.fromiter(map(self._index.get, words, repeat(self._unknown)), np.intp, len(words))
        counts = np.bincount(ids, minlength=self._unknown + 1)[: self._unknown]
        present = counts.nonzero()[0]
        logits = self._intercepts
        if len(present):
            tf = 1.0 + np.log(counts[present])
            values = tf * self._idf[present]
            logits = logits + (tf @ self._scaled[present]) / math.sqrt(values @ values)
        exps = np.exp(logits - logits.max())
        exps /= exps.sum()
        return dict(zip(self.topics, exps.tolist())), int(counts.sum())

    def probabilities(self, folded: str) -> dict[str, float]:
        """Taxonomy topic id -> probability (they sum to 1 over the model's topics)."""
        return self.predict(folded)[0]


@lru_cache(maxsize=4)
def load(path: str | None = None) -> TopicModel:
    """The model in `path` (default: the one shipped beside this module), parsed once."""
    with open(path or MODEL_PATH, encoding="utf-8") as handle:
        return TopicModel.from_json(json.load(handle))
