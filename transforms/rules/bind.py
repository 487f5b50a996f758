"""Bind a parsed query to the config: topic ids to their subtrees, entity names to ids, words to
folded tokens (and stems). Unknown ids are errors that point at the value, with "did you mean".

Why bind at compile time: a typo in `topic:imigration` must stop the config from loading, not
silently never match; and resolving names and subtrees once keeps matching to set lookups.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache

from wirewatch.transforms.rules import match as m
from wirewatch.transforms.rules import units as u
from wirewatch.transforms.rules.errors import QueryError
from wirewatch.transforms.rules.query import DEFAULT_FIELDS, And, Near, Node, Not, Tag, Term
from wirewatch.transforms.rules.text import stem, words
from wirewatch.transforms.tagging.text import key


@dataclass(frozen=True)
class Vocabulary:
    """What queries may name: topic ids (with their descendants) and entity ids and names."""

    topic_ids: tuple[str, ...]
    descendants: dict[str, frozenset[str]]
    entity_ids: tuple[str, ...]
    entity_keys: dict[str, frozenset[str]]  # folded id/name/alias -> ids
    entity_names: dict[str, str]  # folded id/name/alias -> as written in the config

    @classmethod
    def from_config(cls, config) -> Vocabulary:
        children: dict[str, list[str]] = {}
        for topic in config.taxonomy:
            if topic.parent:
                children.setdefault(topic.parent, []).append(topic.id)
        descendants = {}
        for topic in config.taxonomy:
            seen, todo = {topic.id}, [topic.id]
            while todo:
                for child in children.get(todo.pop(), ()):
                    if child not in seen:
                        seen.add(child)
                        todo.append(child)
            descendants[topic.id] = frozenset(seen)
        keys: dict[str, set[str]] = {}
        names: dict[str, str] = {}
        for entity in config.entities:
            for name in (entity.id, entity.name, *entity.aliases):
                keys.setdefault(key(name), set()).add(entity.id)
                names.setdefault(key(name), name)
        return cls(
            tuple(t.id for t in config.taxonomy),
            descendants,
            tuple(e.id for e in config.entities),
            {k: frozenset(v) for k, v in keys.items()},
            names,
        )


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'? " if close else ""


def bind(node: Node, vocab: Vocabulary, use_stems: bool, problems: list[QueryError]):
    """The executable node for `node`; problems are appended (binding goes on, to report all)."""
    if isinstance(node, Term):
        return term_node(node.text, node.field, node.phrase, node.prefix, node.slop, use_stems)
    if isinstance(node, Near):
        left, right = node.left, node.right
        return near_node(
            (left.text, left.phrase, left.prefix, left.slop),
            (right.text, right.phrase, right.prefix, right.slop),
            node.distance,
            left.field,
            use_stems,
        )
    if isinstance(node, Tag):
        return _tag(node, vocab, problems)
    if isinstance(node, Not):
        return m.NotNode(bind(node.child, vocab, use_stems, problems))
    children = tuple([bind(c, vocab, use_stems, problems) for c in node.children])
    if isinstance(node, And):
        return m.AndNode(children)
    return either(children)


def near_node(left: tuple, right: tuple, distance: int, field: str | None, use_stems: bool):
    """The node of `left NEAR/distance right`, each side a Term's text, phrase, prefix and
    slop (also for transforms.rules.onepass)."""
    return m.NearNode(
        _unit(*left, use_stems),
        _unit(*right, use_stems),
        distance,
        (field,) if field else DEFAULT_FIELDS,
        (_label(left[0], left[2]), _label(right[0], right[2])),
    )


def either(children: tuple):
    """The node of an OR of bound children (also for transforms.rules.onepass)."""
    return _any_word(children) or m.OrNode(children)


def _any_word(children: tuple) -> m.AnyWordNode | None:
    """The OR of plain words in the same fields as one node (see AnyWordNode), else None."""
    first = children[0]
    for c in children:
        if type(c) is not m.WordNode or c.fields != first.fields:
            return None
    labels = tuple([c.label for c in children])
    # a word written as its token (the usual case) is one string and the two tuples one: the
    # matcher reads fewer objects (memory reads are what matching 100,000 rules waits on)
    tokens = tuple([c.label if c.label == c.token else c.token for c in children])
    return m.AnyWordNode(labels if tokens == labels else tokens, labels, first.fields)


def _plain(text: str) -> bool:
    """Lower-case ASCII letters and digits, words apart by single spaces or not: what `words`
    leaves as it is, so each word is its own token (no fold or split needed)."""
    return text.isascii() and text.islower() and text.replace(" ", "").isalnum()


def _label(text: str, prefix: bool) -> str:
    return text + ("*" if prefix else "")


@lru_cache(maxsize=100_000)
def _unit(text: str, phrase: bool, prefix: bool, slop: int | None, use_stems: bool) -> u.Unit:
    """Cached, as `term_node` is: a rule set names the same words many times over."""
    plain = not prefix and _plain(text)  # a word or phrase of its own folded tokens (most are)
    if plain or not (phrase or prefix or "*" in text):  # or any word without a '*': no loop
        tokens = text.split() if plain else words(text)
        leaves = tuple(
            [u.Stemmed(stem(t)) if use_stems and t.isalpha() else u.Exact(t) for t in tokens]
        )
        if len(leaves) < 2:
            return u.Unit(leaves, None, None)
        if slop is not None or use_stems and any(type(x) is u.Stemmed for x in leaves):
            return u.Unit(leaves, slop, None)
        return u.Unit(leaves, None, f" {' '.join(tokens)} ")
    leaves: list[u.Leaf] = []
    raw_words = text.split() if phrase else [text + ("*" if prefix else "")]
    for raw in raw_words:
        is_prefix = raw.endswith("*")
        tokens = words(raw.rstrip("*"))
        for i, token in enumerate(tokens):
            if is_prefix and i == len(tokens) - 1:
                leaves.append(u.Prefix(token))
            elif use_stems and token.isalpha():
                leaves.append(u.Stemmed(stem(token)))
            else:
                leaves.append(u.Exact(token))
    slop = slop if len(leaves) > 1 else None
    joined = None
    if len(leaves) > 1 and slop is None and all(isinstance(x, u.Exact) for x in leaves):
        joined = " " + " ".join(x.token for x in leaves) + " "
    return u.Unit(tuple(leaves), slop, joined)


@lru_cache(maxsize=100_000)
def term_node(text: str, field: str | None, phrase: bool, prefix: bool, slop, use_stems: bool):
    """The node of a Term, by its parts. Cached: 100,000 rules name a few tens of thousands of
    distinct terms, and one immutable node per term serves every rule that names it (less to
    build, less memory, and the nodes matching touches are fewer)."""
    unit = _unit(text, phrase, prefix, slop, use_stems)
    label = _label(text, prefix)
    if not unit.leaves:
        return m.NeverNode(str(Term(text, field, phrase, prefix, slop)))
    fields = (field,) if field else DEFAULT_FIELDS
    if len(unit.leaves) == 1 and isinstance(unit.leaves[0], u.Exact):
        return m.WordNode(unit, fields, label, unit.leaves[0].token)
    if len(unit.leaves) == 1 and isinstance(unit.leaves[0], u.Stemmed):
        return m.StemNode(unit, fields, label, unit.leaves[0].stem)
    if len(unit.leaves) == 1 and isinstance(unit.leaves[0], u.Prefix):
        return m.PrefixNode(unit, fields, label, unit.leaves[0].prefix)
    return m.TextNode(unit, fields, label)


def _tag(tag: Tag, vocab: Vocabulary, problems: list[QueryError]):
    value_start = tag.span[0] + len(tag.field) + 1
    value_span = (value_start, tag.span[1])
    if tag.field == "topic":
        ids = vocab.descendants.get(tag.value) or vocab.descendants.get(tag.value.lower())
        if ids is None:
            problems.append(
                QueryError(
                    f"unknown topic '{tag.value}'",
                    *value_span,
                    f"{_did_you_mean(tag.value, vocab.topic_ids)}topic: takes an id defined under "
                    f"taxonomy",
                )
            )
            return m.NeverNode(str(tag))
        return m.TagNode("topic", ids, tag.op, tag.threshold)
    if tag.field == "entity":
        ids = vocab.entity_keys.get(key(tag.value))
        if ids is None:
            close = difflib.get_close_matches(key(tag.value), list(vocab.entity_names), n=1)
            hint = f"did you mean '{vocab.entity_names[close[0]]}'? " if close else ""
            problems.append(
                QueryError(
                    f"unknown entity '{tag.value}'",
                    *value_span,
                    f"{hint}entity: takes an id, name or alias defined under entities",
                )
            )
            return m.NeverNode(str(tag))
        return m.TagNode("entity", ids, tag.op, tag.threshold)
    if tag.field == "type":
        return m.TypeNode(tag.value.upper())
    if tag.field == "feed":
        return m.FeedNode(tag.value.casefold(), tag.prefix)
    return m.LangNode(tag.value.casefold().replace("_", "-"), tag.prefix)
