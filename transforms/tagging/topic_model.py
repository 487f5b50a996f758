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


# Tokens of an ASCII text are found and looked up with array operations, not one Python
# string per word: splitting 500 words into strings and hashing each for a dict lookup was
# a fifth of the tagger's instructions. Each word becomes a 64-bit polynomial hash of its
# bytes (from prefix sums, so the whole text is a handful of numpy calls), looked up in a
# perfect hash table of the vocabulary's hashes, made by the same function; a word counts
# only when its length matches too. Longer or non-ASCII text takes the dict lookup.
_LIMIT = 1 << 14  # characters
_LOG_TF = _log_tf(_LIMIT)  # counts below _LIMIT by lookup
_BASE = 0x9E3779B97F4A7C15  # odd, so it has an inverse modulo 2**64


def _powers(base: int, size: int) -> np.ndarray:
    """base**0 .. base**(size - 1) modulo 2**64 (uint64 products wrap)."""
    powers = np.ones(size, np.uint64)
    np.cumprod(np.full(size - 1, base, np.uint64), out=powers[1:])
    return powers


_POW = _powers(_BASE, _LIMIT)
_INV = _powers(pow(_BASE, -1, 1 << 64), _LIMIT)


def _word_keys(data: bytes, inverses: np.ndarray) -> np.ndarray:
    """The key of each word of `data`: folded ASCII text under _LIMIT that starts and ends
    with a space. Only spaces separate words (`text.fold` blanks every other separator), so
    the text is cut at every space: a piece is a word with the space after it (or that
    space alone, between two spaces in a row, which no term has). Its key is the 64-bit
    polynomial hash sum(code[i] * _BASE**i) of its bytes times a constant folded into
    `inverses` (1, or a table's multiplier), plus its length (the length check, folded in:
    pieces of other lengths, like those of the same length, meet only by a 64-bit
    coincidence): prefix sums over the whole text, and per piece the
    difference moved to position 0 by _BASE's inverse, so the whole text is a handful of
    numpy calls. (Cutting at spaces, not at word edges, saves two passes over the text.)"""
    codes = np.frombuffer(data, np.uint8)
    # Array methods, not np.flatnonzero / np.cumsum: those are Python wrappers around them.
    spaces = (codes == 32).nonzero()[0]
    sums = (codes * _POW[: len(codes)]).cumsum()  # wraps modulo 2**64, as meant
    at = sums.take(spaces)  # take: a third fewer instructions than indexing
    before = spaces[:-1]
    return (at[1:] - at[:-1]) * inverses.take(before) + (spaces[1:] - before).view(np.uint64)


_FIRST = _INV[1:]  # moves a word whose space before it is at index s to position 0


class _PerfectTable:
    """Word -> vocabulary id by one array lookup: a multiplier that sends every term's hash
    to its own slot (found when the model loads) makes the slot the term's, so a word is
    known when the term in its slot has its key. (A binary search among the
    sorted hashes was a quarter of the classifier's instructions.) 1 MB for 2,000 terms.
    The multiplier is folded into the inverse powers (`_word_keys`): one product less."""

    def __init__(self, terms: list[str], ids: np.ndarray, unknown: int):
        count = len(terms)
        texts = [  # texts under _LIMIT however large the vocabulary
            f" {' '.join(terms[i : i + 256])} ".encode() for i in range(0, count, 256)
        ]

        def keys_for(inverses: np.ndarray) -> np.ndarray:
            return np.concatenate(
                [np.zeros(0, np.uint64)] + [_word_keys(t, inverses) for t in texts]
            )

        if len(set(keys_for(_FIRST).tolist())) != count:
            raise ValueError("two vocabulary terms hash alike: change _BASE")
        bits = max(4, (count * count).bit_length() - 3)  # a few tries find a multiplier
        while True:
            for attempt in range(64):
                multiplier = np.uint64((_BASE * (2 * attempt + 1)) % (1 << 64))  # odd
                keys = keys_for(_FIRST * multiplier)
                slots = keys >> np.uint64(64 - bits)
                if len(np.unique(slots)) == count:
                    break
            else:
                bits += 1
                continue
            break
        self._inverses, self._shift = _FIRST * multiplier, np.uint64(64 - bits)
        # Slot -> row; the last row (key 0: no word) is every empty slot's.
        self._rows = np.full(1 << bits, count, np.int16 if count < 1 << 15 else np.intp)
        self._rows[slots.astype(np.intp)] = np.arange(count)
        self._keys = np.append(keys, np.uint64(0))
        self._ids = np.append(ids, unknown)

    def ids(self, data: bytes) -> np.ndarray:
        """The vocabulary ids of the words of `data` (as `_word_keys` takes it) that are terms."""
        keys = _word_keys(data, self._inverses)
        rows = self._rows.take((keys >> self._shift).view(np.intp))
        return self._ids.take(rows[self._keys.take(rows) == keys])


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
        # The ASCII terms' word hashes in a perfect hash table (see _ids_of; the others can
        # only occur in non-ASCII text, which takes the dict lookup).
        ascii_ids = np.array([i for i, t in enumerate(vocabulary) if t.isascii()], np.intp)
        self._table = _PerfectTable([vocabulary[i] for i in ascii_ids], ascii_ids, self._unknown)

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
        ids = self._ids_of(folded)
        counts = np.bincount(ids, minlength=self._unknown + 1)
        known = len(ids) - int(counts[self._unknown])
        logits = self._intercepts
        if known:
            # 1 + log(count) for the terms present, 0 for the others and for the unknown id
            size = len(folded)
            tf = (_LOG_TF if size < len(_LOG_TF) else _log_tf(size)).take(counts)
            norm = math.sqrt((tf * tf) @ self._idf2)
            logits = [b + raw / norm for b, raw in zip(logits, (tf @ self._scaled).tolist())]
        top = max(logits)
        exps = [math.exp(v - top) for v in logits]
        total = sum(exps)
        return {topic: e / total for topic, e in zip(self.topics, exps)}, known

    def _ids_of(self, folded: str) -> np.ndarray:
        """The vocabulary id of each known token; the others are left out, or (non-ASCII or
        long text, looked up word by word) given the id `_unknown`."""
        if folded[:1] != " " or folded[-1:] != " ":  # prepared text always is
            folded = f" {folded} "
        if len(folded) < _LIMIT and folded.isascii():
            return self._table.ids(folded.encode("ascii"))
        words = folded.split()
        unknown = self._unknown
        return np.fromiter(map(self._index.get, words, repeat(unknown)), np.intp, len(words))

    def probabilities(self, folded: str) -> dict[str, float]:
        """Taxonomy topic id -> probability (they sum to 1 over the model's topics)."""
        return self.predict(folded)[0]


@lru_cache(maxsize=4)
def load(path: str | None = None) -> TopicModel:
    """The model in `path` (default: the one shipped beside this module), parsed once."""
    with open(path or MODEL_PATH, encoding="utf-8") as handle:
        return TopicModel.from_json(json.load(handle))
