"""The presearch index: which rules could possibly match this article?

Why: evaluating 10,000 rules per article costs 10,000 tree walks, almost all for rules whose
words the article does not contain. Each rule is reduced to *clauses*: sets of keys (words,
title words, stems, prefixes, word pairs, tags) of which the article must contain at least one
each, for the rule to have any chance (a conjunction of disjunctions: `"border wall" AND
(mexico OR peso*)` requires {border}, {wall}, {border wall} and {mexico, peso*}; an OR
distributes over its branches' clauses, so `title:wall OR "border fence"~3` requires
{title:wall, border} and {title:wall, fence}). One clause per rule, the most selective, is its
anchor in an inverted index; one pass over the article (a lookup of each of its keys, an
Aho-Corasick pass for prefixes) finds the rules anchored on something the article has; the
rule's other clauses are then checked with C-level set tests, and only rules passing all are
evaluated. So matching cost follows the rules that can match, not the size of the rule set.
Every clause is a necessary condition, never a guess: the result is exactly the naive
evaluator's (tests/rules/test_presearch.py).

What cannot be required: NOT (its absence proves nothing), `feed:x*` and `lang:x*`. A rule made
only of those is evaluated for every article.
"""

from __future__ import annotations

from array import array
from collections import Counter
from itertools import product

import ahocorasick

from wirewatch.transforms.rules import match as m
from wirewatch.transforms.rules import units as u
from wirewatch.transforms.rules.collector import collector_paused
from wirewatch.transforms.rules.text import StemCache
from wirewatch.transforms.rules.view import ArticleView

STEM = "\x01"  # key prefixes: tokens never contain control characters (fold blanks them)
TAG = "\x02"
PREFIX = "\x03"
TITLE = "\x04"  # a word the title must have: `title:wall` requires "\x04wall", not "wall"
_SEP = "\x00"  # joins tokens for the prefix automaton: a pattern "\0pre" only fits a token start

# A clause: keys (sorted) of which the article must have at least one. Tuples of strings, not
# frozensets: the cyclic collector stops walking a tuple of strings, and 100,000 rules make
# a few hundred thousand of them.
Clause = tuple[str, ...]
Clauses = list[Clause]  # all must meet the article's keys; [] = nothing known
MAX_PRODUCT = 16  # an OR's clauses are distributed over its branches up to this many


def _leaf_key(leaf: u.Leaf, title: bool) -> str:
    if isinstance(leaf, u.Exact):
        return TITLE + leaf.token if title else leaf.token
    if isinstance(leaf, u.Stemmed):
        return STEM + leaf.stem
    return PREFIX + leaf.prefix


def _key_cost(key: str) -> float:
    """How likely an article has the key (lower: more selective). A heuristic without corpus
    statistics: long words are rare, short prefixes and tags such as lang: or type: common,
    a word in the title rarer than the same word anywhere."""
    if key.startswith(TAG):
        return {"t": 0.3, "e": 0.1, "y": 0.6, "f": 0.2, "l": 0.9}[key[1]]
    if key.startswith(PREFIX):
        return 2.0 / max(len(key) - 1, 1)
    if " " in key:  # a pair of words: as rare as its rarer word, for all the prior can tell
        return min(map(_key_cost, key.split(" ")))
    if key.startswith(TITLE):
        return 0.5 / max(len(key) - 1, 1)
    return 1.0 / max(len(key.lstrip(STEM)), 1)


def cost(clause: Clause, key_cost=_key_cost) -> float:
    return sum(key_cost(k) for k in clause)


def _unit_clauses(unit: u.Unit, fields: tuple[str, ...]) -> Clauses:
    if not unit.leaves:
        return [()]
    title = fields == ("title",)
    clauses = [(_leaf_key(leaf, title),) for leaf in unit.leaves]
    if unit.joined is not None:  # an exact phrase: each two of its words stand side by side
        tokens = unit.joined.split()
        clauses += [(f"{a} {b}",) for a, b in zip(tokens, tokens[1:])]
    return clauses


def required(node) -> Clauses:
    """The clauses an article must each meet for `node` to hold (see the module doc)."""
    return _required(node, {})


def _required(node, leaves: dict) -> Clauses:
    """`required`, with the clauses of leaf nodes memoized in `leaves` by identity (bind
    shares one node per term across rules)."""
    kind = type(node)
    if kind is m.AndNode:
        out: Clauses = []
        for child in node.children:
            out += _required(child, leaves)
        return list(dict.fromkeys(out))
    if kind is m.OrNode:
        options = []
        for child in node.children:
            clauses = _required(child, leaves)
            if not clauses:
                return []
            options.append(clauses)
        return _either(options)
    if kind is m.NotNode:
        return []
    found = leaves.get(id(node))
    if found is None:
        found = leaves[id(node)] = (node, _leaf_clauses(node))
    return found[1]


def _either(options: list[Clauses]) -> Clauses:
    """The clauses of an OR whose branches require `options`: an article that meets a branch
    meets each of its clauses, so for every choice of one clause per branch, their union is
    required (`title:wall OR "border fence"~3` requires {title:wall, border} and {title:wall,
    fence}). Past MAX_PRODUCT choices, one clause per branch: the most selective-looking."""
    size = 1
    for clauses in options:
        size *= len(clauses)
    if size == 1:  # one clause per branch (the commonest case): their union
        return [tuple(sorted(set().union(*[clauses[0] for clauses in options])))]
    if size > MAX_PRODUCT:
        options = [[min(clauses, key=cost)] for clauses in options]
    return list(dict.fromkeys(tuple(sorted(set().union(*choice))) for choice in product(*options)))


def _leaf_clauses(node) -> Clauses:
    if isinstance(node, m.AnyWordNode):
        title = node.fields == ("title",)
        return [tuple(sorted({TITLE + t if title else t for t in node.tokens}))]
    if isinstance(node, m.TextNode):
        return _unit_clauses(node.unit, node.fields)
    if isinstance(node, m.NearNode):
        return _unit_clauses(node.left, node.fields) + _unit_clauses(node.right, node.fields)
    if isinstance(node, m.TagNode):  # the keys "t:topic" and "e:entity"
        return [tuple(sorted(f"{TAG}{node.field[0]}:{i}" for i in node.ids))]
    if isinstance(node, m.TypeNode):
        return [(f"{TAG}y:{node.type}",)]
    if isinstance(node, m.FeedNode):
        return [] if node.prefix else [(f"{TAG}f:{node.value}",)]
    if isinstance(node, m.LangNode):
        return [] if node.prefix else [(f"{TAG}l:{node.value.split('-')[0]}",)]
    if isinstance(node, m.NeverNode):
        return [()]
    raise TypeError(f"no presearch rule for {type(node).__name__}")


def anchor(node) -> frozenset[str] | None:
    """The rule's indexed key set (its most selective clause); None: always evaluated."""
    clauses = required(node)
    return frozenset(min(clauses, key=cost)) if clauses else None


class Plan:
    """One choice of anchor per rule, and the index it gives. Immutable once built, so a
    re-plan swaps it in one assignment while other threads keep reading the old one.

    `index`: key -> (the rules anchored on it with nothing else to check, or None; for the
    others, a key of their first check -> those rules, or None). Rule numbers are arrays of
    ints: reading them touches one block of memory, not an int object per rule."""

    def __init__(self, rules: list, key_cost, max_checks: int, prefixes: frozenset[str]):
        index: dict[str, tuple[list[int], dict[str, list[int]]]] = {}
        more: dict[int, tuple[Clause, ...]] = {}  # checks after the first, by rule
        always: list[int] = []
        key_costs: dict[str, float] = {}  # memos: 100,000 rules name each key many times
        clause_costs: dict[int, float] = {}  # by id: the clauses are shared and kept alive

        def costs(clause: Clause) -> float:
            found = clause_costs.get(id(clause))
            if found is None:
                found = 0.0
                for k in clause:
                    c = key_costs.get(k)
                    if c is None:
                        c = key_costs[k] = key_cost(k)
                    found += c
                clause_costs[id(clause)] = found
            return found

        for i, clauses in enumerate(rules):
            n = len(clauses)
            if n == 1:
                best, first = clauses[0], None
            elif n == 2:  # most rules: no sort
                best, first = clauses
                if costs(first) < costs(best):
                    best, first = first, best
            elif n:
                ordered = sorted(clauses, key=costs)
                best, first = ordered[0], ordered[1]
                more[i] = tuple(ordered[2 : 1 + max_checks])
            else:
                always.append(i)
                continue
            for k in best:
                entry = index.get(k)
                if entry is None:
                    entry = index[k] = ([], {})
                if first is None:
                    entry[0].append(i)
                    continue
                guard = entry[1]
                for check in first:
                    found = guard.get(check)
                    if found is None:
                        guard[check] = [i]
                    else:
                        found.append(i)
        self.index = {
            k: (
                array("I", bare) if bare else None,
                {c: array("I", ids) for c, ids in guard.items()} if guard else None,
            )
            for k, (bare, guard) in index.items()
        }
        self.anchors = frozenset(self.index)
        self.more, self.always = more, tuple(always)
        self.prefixes = None
        if prefixes:  # every prefix any rule names, so matched prefixes become keys too
            automaton = ahocorasick.Automaton()
            for prefix in prefixes:
                automaton.add_word(_SEP + prefix, PREFIX + prefix)
            automaton.make_automaton()
            self.prefixes = automaton


class Presearch:
    """Rules indexed by anchor; `candidates(view)` are the rules worth evaluating.

    The first plan ranks clauses with the `_key_cost` heuristic. The index then counts how
    often each key of any clause occurs in the articles it sees, and re-plans at REPLAN_AT
    articles with observed frequencies (a key never seen counts as rare): anchors move to the
    keys that are actually rare in this news stream. Any clause is a valid anchor, so
    re-planning changes the speed, never the result; the clauses are kept, so a re-plan only
    sorts them again.
    """

    MAX_CHECKS = 4  # clauses checked per candidate after its anchor: the most selective ones
    REPLAN_AT = (256, 4096, 65536)
    SAMPLE = 8

    def __init__(self, nodes: list):
        # id(leaf node) -> (the node, its clauses): each leaf once however many rules share it
        leaves: dict[int, tuple[object, Clauses]] = {}
        self.clauses = [tuple(_required(node, leaves)) for node in nodes]
        self.clause_keys = keys = frozenset(
            k for _, clauses in leaves.values() for clause in clauses for k in clause
        )
        self.prefix_keys = frozenset(k[1:] for k in keys if k[:1] == PREFIX)
        self.plan = Plan(self.clauses, _key_cost, self.MAX_CHECKS, self.prefix_keys)
        self.uses_stems = any(k[:1] == STEM for k in keys)
        self.uses_title = any(k[:1] == TITLE for k in keys)
        self.pair_heads = frozenset(k.split(" ")[0] for k in keys if " " in k)
        # author tokens are keys only if some leaf that can be required searches that field
        self.uses_author = any(
            "author" in getattr(node, "fields", ()) for node, _ in leaves.values()
        )
        self.stem_keys = StemCache(STEM)
        self.seen: Counter[str] = Counter()
        self.articles = 0  # seen by candidates()
        self.observed = 0  # of which counted in `seen`

    def keys(self, view: ArticleView) -> tuple[set[str], set[str]]:
        """The article's distinct tokens, and its keys (tokens, stems, title words, pairs,
        tags; prefixes are added by `candidates` as the automaton finds them)."""
        fields = (
            (view.title, view.text, view.author) if self.uses_author else (view.title, view.text)
        )
        tokens: set[str] = set().union(*[fv.vocab for fv in fields])
        keys = set(tokens)
        if self.uses_stems:
            keys.update(map(self.stem_keys.__getitem__, tokens))
        if self.uses_title:
            keys.update([TITLE + t for t in view.title.vocab])
        heads = self.pair_heads
        if heads:  # "w1 w2" for two tokens side by side that begin some exact phrase's pair
            for fv in fields:
                toks = fv.tokens
                keys.update([f"{a} {b}" for a, b in zip(toks, toks[1:]) if a in heads])
        keys.update([f"{TAG}t:{t}" for t in view.topics])
        for e in view.entities:
            keys.add(f"{TAG}e:{e.id}")
            keys.add(f"{TAG}y:{e.type.upper()}")
        keys.add(f"{TAG}f:{view.feed}")
        keys.add(f"{TAG}l:{view.lang.split('-')[0]}")
        return tokens, keys

    def candidates(self, view: ArticleView) -> list[int]:
        """The rules anchored on a key of the article whose checked clauses it meets too."""
        plan = self.plan
        tokens, keys = self.keys(view)
        if plan.prefixes is not None:  # first: prefix keys may be anchors or checks
            for _, key in plan.prefixes.iter(_SEP + _SEP.join(tokens)):
                keys.add(key)
        found = set(plan.always)
        passed: list[int] = []  # anchored on a key present, and their first check met
        # the keys that anchor something: a set's lookup of an absent key reads one slot, a
        # dict's two tables (most keys of an article anchor nothing)
        for bare, guard in map(plan.index.__getitem__, keys & plan.anchors):
            if bare is not None:
                found.update(bare)
            if guard is not None:  # set(guard): its keys with the hashes the dict stores, so
                for check in set(guard) & keys:  # no check key's string is read (memory reads)
                    passed += guard[check]
        more = plan.more
        isdisjoint = keys.isdisjoint
        for i in passed:
            for clause in more.get(i, ()):
                if isdisjoint(clause):
                    break
            else:
                found.add(i)
        out = sorted(found)
        self._observe(keys)
        return out

    def _observe(self, keys: set[str]) -> None:
        """Count the keys that some rule requires in every article up to the first re-plan,
        then in one article in SAMPLE (frequencies need no more); stop after the last one."""
        self.articles += 1
        if self.articles > self.REPLAN_AT[-1]:
            return
        if self.articles <= self.REPLAN_AT[0] or self.articles % self.SAMPLE == 0:
            self.seen.update(keys & self.clause_keys)
            self.observed += 1
        if self.articles in self.REPLAN_AT:
            self.replan()

    def replan(self) -> None:
        n = self.observed + 1
        seen = self.seen

        def observed(key: str) -> float:  # a pair seen as rarely as its words is the rarer
            return (seen.get(key, 0) + _key_cost(key) / (8 if " " in key else 4)) / n

        with collector_paused():  # a full collection would walk the whole rule set (1 s)
            self.plan = Plan(self.clauses, observed, self.MAX_CHECKS, self.prefix_keys)
