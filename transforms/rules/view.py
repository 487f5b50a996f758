"""An article prepared once for every rule: tokens, positions, stems and tags, indexed.

Why a view: 10,000 rules look at the same article; tokenizing, folding and indexing it once
and answering "where does this word occur" with a dict lookup is what keeps each rule's own
cost to a few microseconds. Stems and prefix lookups are computed only if a rule asks for them.
"""

from __future__ import annotations

from bisect import bisect_left
from functools import cached_property
from typing import Iterable, TypeVar

from wirewatch.transforms.model import EntityTag, TaggedArticle
from wirewatch.transforms.rules.text import StemCache, nfc, token_spans, tokenize
from wirewatch.transforms.tagging.text import fold

T = TypeVar("T")
_STEMS = StemCache()  # a memo of a pure function, shared by every view in the process
AUTHOR_GAP = "\x00"  # a token no term equals: phrases never run from one author into the next


class FieldView:
    """One text field: folded tokens, the set of distinct ones (all a plain word needs), and on
    demand their character spans and a token -> positions index (phrases, NEAR, evidence)."""

    __slots__ = (
        "text",
        "folded",
        "tokens",
        "vocab",
        "_spans",
        "_index",
        "_stems",
        "_stem_vocab",
        "_stem_positions",
        "_prefixes",
        "_sorted",
        "_joined",
    )

    def __init__(
        self, text: str, tokens: list[str] | None = None, spans: list[tuple[int, int]] | None = None
    ):
        self.text = text
        if tokens is None:
            self.folded = fold(nfc(text))
            tokens = self.folded.split()
        self.tokens, self._spans = tokens, spans
        self.vocab = set(tokens)
        self._index: dict[str, list[int]] | None = None
        self._stems: set[str] | None = None
        self._stem_vocab: dict[str, tuple[str, ...] | list[str]] | None = None
        self._joined: str | None = None
        self._stem_positions: dict[str, list[int]] = {}
        self._prefixes: dict[str, list[int]] = {}
        self._sorted: list[str] | None = None

    @property
    def index(self) -> dict[str, list[int]]:
        if self._index is None:
            self._index = _grouped((token, pos) for pos, token in enumerate(self.tokens))
        return self._index

    @property
    def spans(self) -> list[tuple[int, int]]:
        """Character offsets of the tokens: only needed for evidence, so computed on demand."""
        if self._spans is None:
            self._spans = token_spans(self.folded)
        return self._spans

    def joined(self) -> str:
        """ " tok1 tok2 ... ": a plain phrase occurs iff " w1 w2 " is a substring."""
        if self._joined is None:
            self._joined = " " + " ".join(self.tokens) + " "
        return self._joined

    def stems(self) -> set[str]:
        """The distinct stems: all a stemmed word's yes/no needs (one lookup a token)."""
        if self._stems is None:
            self._stems = set(map(_STEMS.__getitem__, self.vocab))
        return self._stems

    def stem_vocab(self) -> dict[str, tuple[str, ...] | list[str]]:
        """The distinct stems, each with the distinct tokens that have it: all a stemmed word
        needs to know whether it occurs, and which words to look for where."""
        if self._stem_vocab is None:
            vocab = list(self.vocab)
            stems = list(map(_STEMS.__getitem__, vocab))
            grouped = dict(zip(stems, zip(vocab)))  # stem -> (token,): in C, as most stems
            if len(grouped) < len(vocab):  # have one token; some have more: group them
                grouped = _grouped(zip(stems, vocab))
            self._stem_vocab = grouped
        return self._stem_vocab

    def has_prefix(self, prefix: str) -> bool:
        ordered = self.sorted_vocab()
        i = bisect_left(ordered, prefix)
        return i < len(ordered) and ordered[i].startswith(prefix)

    def sorted_vocab(self) -> list[str]:
        if self._sorted is None:
            self._sorted = sorted(self.vocab)
        return self._sorted

    def stem_positions(self, stem: str) -> list[int]:
        """Positions of the tokens with this stem, in order: those of its tokens, merged."""
        found = self._stem_positions.get(stem)
        if found is None:
            tokens = self.stem_vocab().get(stem, ())
            if len(tokens) == 1:
                found = self.index[tokens[0]]
            else:
                found = sorted([pos for token in tokens for pos in self.index[token]])
            self._stem_positions[stem] = found
        return found

    def prefix_positions(self, prefix: str) -> list[int]:
        """Positions of tokens starting with `prefix`: a range of the sorted distinct tokens."""
        found = self._prefixes.get(prefix)
        if found is None:
            ordered = self.sorted_vocab()
            found = []
            for i in range(bisect_left(ordered, prefix), len(ordered)):
                if not ordered[i].startswith(prefix):
                    break
                found += self.index[ordered[i]]
            found.sort()
            self._prefixes[prefix] = found
        return found


def _grouped(pairs: Iterable[tuple[str, T]]) -> dict[str, list[T]]:
    """Each key with its values, in order of first appearance."""
    grouped: dict[str, list[T]] = {}
    for key, value in pairs:
        if key in grouped:
            grouped[key].append(value)
        else:
            grouped[key] = [value]
    return grouped


def _author_field(authors: tuple[str, ...]) -> FieldView:
    tokens: list[str] = []
    spans: list[tuple[int, int]] = []
    for author in authors:
        if tokens:
            tokens.append(AUTHOR_GAP)
            spans.append((-1, -1))
        toks, _ = tokenize(author)
        tokens += toks
        spans += [(-1, -1)] * len(toks)  # offsets would index no single text: evidence only
    return FieldView("", tokens, spans)


_NO_AUTHORS = FieldView("", [], [])  # shared: an empty field's answers are the same for all


class ArticleView:
    """What rules read: text fields by name, topic scores, entities, feed and language."""

    def __init__(self, tagged: TaggedArticle):
        article = tagged.article
        self.tagged = tagged
        self.title = FieldView(article.title)
        self.text = FieldView(article.summary)
        self.author = _author_field(article.authors) if article.authors else _NO_AUTHORS
        self.fields = {"title": self.title, "text": self.text, "author": self.author}
        # the distinct tokens of some fields together, by the fields' names (see vocab_of)
        self._vocabs: dict[tuple[str, ...], set[str] | frozenset[str]] = {}
        self.topics: dict[str, float] = {}
        for topic in tagged.topics:
            self.topics[topic.id] = max(topic.score, self.topics.get(topic.id, topic.score))
        self.entities: tuple[EntityTag, ...] = tagged.entities
        self.feed = article.feed_id.casefold()
        self.lang = (article.language or "").casefold().replace("_", "-")

    @cached_property
    def tag_values(self) -> dict[str, tuple[tuple[str, float, str], ...]]:
        """Per tag kind: (id, the value a threshold compares, the detail its evidence shows).
        Made when a tag rule is tested: most articles are matched by words alone."""
        return {
            "topic": tuple((t, score, f"{score:.2f}") for t, score in self.topics.items()),
            "entity": tuple((e.id, e.count, e.name) for e in self.entities),
        }

    def field(self, name: str) -> FieldView:
        return self.fields[name]

    def vocab_of(self, names: tuple[str, ...]) -> set[str] | frozenset[str]:
        """The tokens of any of the fields `names`: a word of the default fields (title and
        text) is one set lookup, not one per field."""
        found = self._vocabs.get(names)
        if found is None:
            fields = self.fields
            found = self._vocabs[names] = set().union(*[fields[name].vocab for name in names])
        return found

    def stems_of(self, names: tuple[str, ...]) -> set[str]:
        """The stems of the tokens of any of the fields `names` (as vocab_of)."""
        key = ("stems", *names)
        found = self._vocabs.get(key)
        if found is None:
            fields = self.fields
            found = self._vocabs[key] = set().union(*[fields[name].stems() for name in names])
        return found

    def topic_labels(self) -> dict[str, str]:
        return {t.id: t.label for t in self.tagged.topics}
