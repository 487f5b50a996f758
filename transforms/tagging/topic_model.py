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
work is one dict lookup done by `map` in C; counting is one `bincount`, the sublinear tf one
table lookup (`_LOG_TF`), and the five logits and the L2 norm two dot products over the whole
(2,000-term) vocabulary: a few large array operations cost less than a dozen small ones over
the article's distinct terms, each of which pays numpy's per-call overhead. The five-way
softmax is plain Python for the same reason.

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


def _log_tf(size: int) -> np.ndarray:
    """Scikit-learn's sublinear tf by count: 0 for 0, else 1 + log(count)."""
    table = np.zeros(size + 1)
    table[1:] = 1.0 + np.log(np.arange(1, size + 1))
    return table


_LOG_TF = _log_tf(4096)  # counts up to here (any article under 4,096 tokens) by lookup


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
        # weight * idf per term: the logits need sum(tf * idf * w), the norm sum((tf * idf)^2).
        # One extra all-zero row for the unknown id, so the whole count vector can be used.
        scaled = np.asarray(weights, dtype=np.float64).reshape(len(self._idf), len(self.topics))
        self._scaled = np.vstack([scaled * self._idf[:, None], np.zeros((1, scaled.shape[1]))])
        self._idf2 = np.append(self._idf**2, 0.0)
        self._intercepts = [float(b) for b in intercepts]

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
        unknown = self._unknown
        ids = np.fromiter(map(self._index.get, words, repeat(unknown)), np.intp, len(words))
        counts = np.bincount(ids, minlength=unknown + 1)
        known = len(words) - int(counts[unknown])
        logits = self._intercepts
        if known:
            # 1 + log(count) for the terms present, 0 for the others and for the unknown id
            tf = (_LOG_TF if len(words) < len(_LOG_TF) else _log_tf(len(words)))[counts]
            norm = math.sqrt((tf * tf) @ self._idf2)
            logits = [b + raw / norm for b, raw in zip(logits, (tf @ self._scaled).tolist())]
        top = max(logits)
        exps = [math.exp(v - top) for v in logits]
        total = sum(exps)
        return {topic: e / total for topic, e in zip(self.topics, exps)}, known

    def probabilities(self, folded: str) -> dict[str, float]:
        """Taxonomy topic id -> probability (they sum to 1 over the model's topics)."""
        return self.predict(folded)[0]


@lru_cache(maxsize=4)
def load(path: str | None = None) -> TopicModel:
    """The model in `path` (default: the one shipped beside this module), parsed once."""
    with open(path or MODEL_PATH, encoding="utf-8") as handle:
        return TopicModel.from_json(json.load(handle))
