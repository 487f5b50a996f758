"""The presearch index: which rules could possibly match this article?

Why: evaluating 10,000 rules per article costs 10,000 tree walks, almost all of them for rules
whose words the article does not contain. Each rule gets an *anchor*: a set of keys (words,
stems, prefixes, tags) such that the rule can only match if the article has at least one of
them. One pass over the article's distinct tokens and tags (a set intersection, plus prefix
lookups) yields the candidate rules; only those are evaluated, so the cost follows the rules
that can match, not the size of the rule set. The result is exactly the naive evaluator's: an
anchor is a necessary condition, never a guess.

Anchors: a word is its own key; a phrase or NEAR anchors on its rarest-looking word; AND takes
its most selective child; OR needs all of its children's keys; NOT (and `feed:x*`, `lang:x*`)
cannot anchor, so a rule made of those alone is evaluated for every article.
"""

from __future__ import annotations

from transforms.rules import match as m
from transforms.rules.text import stem
from transforms.rules.view import ArticleView

STEM = "\x01"   # key prefixes: tokens never contain control characters (fold blanks them)
TAG = "\x02"
PREFIX = "\x03"

Anchor = frozenset[str] | None  # None: cannot anchor (always a candidate); empty: never matches


def _leaf_key(leaf: m.Leaf) -> str:
    if isinstance(leaf, m.Exact):
        return leaf.token
    if isinstance(leaf, m.Stemmed):
        return STEM + leaf.stem
    return PREFIX + leaf.prefix


def _key_cost(key: str) -> float:
    """How often a key is expected in an article (lower is better). A heuristic: long words are
    rare, tags and short prefixes common."""
    if key.startswith(TAG):
        return {"t": 0.3, "e": 0.1, "y": 0.6, "f": 0.2, "l": 0.9}[key[1]]
    if key.startswith(PREFIX):
        return 2.0 / max(len(key) - 1, 1)
    return 1.0 / max(len(key.lstrip(STEM)), 1)


def _unit_anchor(unit: m.Unit) -> Anchor:
    if not unit.leaves:
        return frozenset()
    return frozenset({min((_leaf_key(leaf) for leaf in unit.leaves), key=_key_cost)})


def _cost(anchor: Anchor) -> float:
    return float("inf") if anchor is None else sum(_key_cost(k) for k in anchor)


def anchor(node) -> Anchor:
    """Keys of which an article must have one for `node` to hold (see module doc)."""
    if isinstance(node, m.TextNode):
        return _unit_anchor(node.unit)
    if isinstance(node, m.NearNode):
        return min((_unit_anchor(node.left), _unit_anchor(node.right)), key=_cost)
    if isinstance(node, m.TopicNode):
        return frozenset(f"{TAG}t:{i}" for i in node.ids)
    if isinstance(node, m.EntityNode):
        return frozenset(f"{TAG}e:{i}" for i in node.ids)
    if isinstance(node, m.TypeNode):
        return frozenset({f"{TAG}y:{node.type}"})
    if isinstance(node, m.FeedNode):
        return None if node.prefix else frozenset({f"{TAG}f:{node.value}"})
    if isinstance(node, m.LangNode):
        return None if node.prefix else frozenset({f"{TAG}l:{node.value.split('-')[0]}"})
    if isinstance(node, m.NeverNode):
        return frozenset()
    if isinstance(node, m.NotNode):
        return None
    if isinstance(node, m.AndNode):
        return min((anchor(c) for c in node.children), key=_cost)
    if isinstance(node, m.OrNode):
        keys: set[str] = set()
        for child in node.children:
            found = anchor(child)
            if found is None:
                return None
            keys |= found
        return frozenset(keys)
    raise TypeError(f"no anchor rule for {type(node).__name__}")


class Presearch:
    """Rule indexes by anchor key; `candidates(view)` are the rules worth evaluating."""

    def __init__(self, nodes: list):
        self.words: dict[str, list[int]] = {}
        self.prefixes: dict[str, list[int]] = {}
        self.always: list[int] = []
        for i, node in enumerate(nodes):
            keys = anchor(node)
            if keys is None:
                self.always.append(i)
                continue
            for k in keys:
                if k.startswith(PREFIX):
                    self.prefixes.setdefault(k[1:], []).append(i)
                else:
                    self.words.setdefault(k, []).append(i)
        self.word_keys = frozenset(self.words)
        self.prefix_lengths = sorted({len(p) for p in self.prefixes})
        self.uses_stems = any(k.startswith(STEM) for k in self.words)
        self.uses_author = any(_uses_author(n) for n in nodes)

    def keys(self, view: ArticleView) -> tuple[set[str], set[str]]:
        """The article's distinct tokens, and its other keys: stems, tags, feed and language."""
        fields = [view.title, view.text] + ([view.author] if self.uses_author else [])
        tokens: set[str] = set()
        for fv in fields:
            tokens.update(fv.index)
        keys: set[str] = set()
        if self.uses_stems:
            keys.update(STEM + stem(t) for t in tokens)
        keys.update(f"{TAG}t:{t}" for t in view.topics)
        for e in view.entities:
            keys.add(f"{TAG}e:{e.id}")
            keys.add(f"{TAG}y:{e.type.upper()}")
        keys.add(f"{TAG}f:{view.feed}")
        keys.add(f"{TAG}l:{view.lang.split('-')[0]}")
        return tokens, keys

    def candidates(self, view: ArticleView) -> list[int]:
        tokens, keys = self.keys(view)
        found = set(self.always)
        words = self.words
        for k in tokens.intersection(self.word_keys):
            found.update(words[k])
        for k in keys.intersection(self.word_keys):
            found.update(words[k])
        if self.prefixes:
            prefixes = self.prefixes
            for token in tokens:
                for n in self.prefix_lengths:
                    if n > len(token):
                        break
                    ids = prefixes.get(token[:n])
                    if ids:
                        found.update(ids)
        return sorted(found)


def _uses_author(node) -> bool:
    if isinstance(node, (m.TextNode, m.NearNode)):
        return "author" in node.fields
    if isinstance(node, m.NotNode):
        return _uses_author(node.child)
    if isinstance(node, (m.AndNode, m.OrNode)):
        return any(_uses_author(c) for c in node.children)
    return False
