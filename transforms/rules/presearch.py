"""The presearch index: which rules could possibly match this article?

Why: evaluating 10,000 rules per article costs 10,000 tree walks, almost all for rules whose
words the article does not contain. Each rule is reduced to *required key sets*: sets of keys
(words, stems, prefixes, tags) of which the article must contain at least one each, for the
rule to have any chance (a conjunction of disjunctions: `"border wall" AND (mexico OR peso*)`
requires {border}, {wall} and {mexico, peso*}). One set per rule, the most selective, is its
anchor in an inverted index; one pass over the article (a set intersection of its distinct
tokens with the indexed words, an Aho-Corasick pass for prefixes) finds the rules anchored on
something the article has; the rule's other required sets are then checked with C-level set
tests, and only rules passing all are evaluated. So matching cost follows the rules that can
match, not the size of the rule set. Every required set is a necessary condition, never a
guess: the result is exactly the naive evaluator's (tests/rules/test_presearch.py).

What cannot be required: NOT (its absence proves nothing), `feed:x*` and `lang:x*`. A rule made
only of those is evaluated for every article.
"""

from __future__ import annotations

from collections import Counter

import ahocorasick

from wirewatch.transforms.rules import match as m
from wirewatch.transforms.rules import units as u
from wirewatch.transforms.rules.text import StemCache
from wirewatch.transforms.rules.view import ArticleView

STEM = "\x01"  # key prefixes: tokens never contain control characters (fold blanks them)
TAG = "\x02"
PREFIX = "\x03"
_SEP = "\x00"  # joins tokens for the prefix automaton: a pattern "\0pre" only fits a token start

Clauses = list[frozenset[str]]  # all must meet the article's keys; [] = nothing known


def _leaf_key(leaf: u.Leaf) -> str:
    if isinstance(leaf, u.Exact):
        return leaf.token
    if isinstance(leaf, u.Stemmed):
        return STEM + leaf.stem
    return PREFIX + leaf.prefix


def _key_cost(key: str) -> float:
    """How likely an article has the key (lower: more selective). A heuristic without corpus
    statistics: long words are rare, short prefixes and tags such as lang: or type: common."""
    if key.startswith(TAG):
        return {"t": 0.3, "e": 0.1, "y": 0.6, "f": 0.2, "l": 0.9}[key[1]]
    if key.startswith(PREFIX):
        return 2.0 / max(len(key) - 1, 1)
    if " " in key:  # a pair of words: as rare as its rarer word, for all the prior can tell
        return min(map(_key_cost, key.split(" ")))
    return 1.0 / max(len(key.lstrip(STEM)), 1)


def cost(clause: frozenset[str], key_cost=_key_cost) -> float:
    return sum(key_cost(k) for k in clause)


def _unit_clauses(unit: u.Unit) -> Clauses:
    if not unit.leaves:
        return [frozenset()]
    clauses = [frozenset({_leaf_key(leaf)}) for leaf in unit.leaves]
    if unit.joined is not None:  # an exact phrase: each two of its words stand side by side
        tokens = unit.joined.split()
        clauses += [frozenset({f"{a} {b}"}) for a, b in zip(tokens, tokens[1:])]
    return clauses


def required(node, key_cost=_key_cost) -> Clauses:
    """The key sets an article must each meet for `node` to hold (see the module doc).
    `key_cost` picks, for each branch of an OR, which of its required sets joins the union."""
    return _required(node, lambda clause: cost(clause, key_cost), {})


def _required(node, clause_cost, leaves: dict) -> Clauses:
    """`required`, with each clause's cost given, and the sets of leaf nodes memoized in
    `leaves` by identity (bind shares one node per term across rules)."""
    kind = type(node)
    if kind is m.AndNode:
        out: Clauses = []
        for child in node.children:
            out += _required(child, clause_cost, leaves)
        return list(dict.fromkeys(out))
    if kind is m.OrNode or kind is m.AnyWordNode:
        union: set[str] = set()
        for child in node.children:
            clauses = _required(child, clause_cost, leaves)
            if not clauses:
                return []
            union.update(clauses[0] if len(clauses) == 1 else min(clauses, key=clause_cost))
        return [frozenset(union)]
    if kind is m.NotNode:
        return []
    found = leaves.get(id(node))
    if found is None:
        found = leaves[id(node)] = (node, _leaf_clauses(node))
    return found[1]


def _leaf_clauses(node) -> Clauses:
    if isinstance(node, m.TextNode):
        return _unit_clauses(node.unit)
    if isinstance(node, m.NearNode):
        return _unit_clauses(node.left) + _unit_clauses(node.right)
    if isinstance(node, m.TagNode):  # the keys "t:topic" and "e:entity"
        return [frozenset(f"{TAG}{node.field[0]}:{i}" for i in node.ids)]
    if isinstance(node, m.TypeNode):
        return [frozenset({f"{TAG}y:{node.type}"})]
    if isinstance(node, m.FeedNode):
        return [] if node.prefix else [frozenset({f"{TAG}f:{node.value}"})]
    if isinstance(node, m.LangNode):
        return [] if node.prefix else [frozenset({f"{TAG}l:{node.value.split('-')[0]}"})]
    if isinstance(node, m.NeverNode):
        return [frozenset()]
    raise TypeError(f"no presearch rule for {type(node).__name__}")


def anchor(node) -> frozenset[str] | None:
    """The rule's indexed key set (its most selective required set); None: always evaluated."""
    clauses = required(node)
    return min(clauses, key=cost) if clauses else None


class Plan:
    """One choice of anchor per rule, and the index it gives. Immutable once built, so a
    re-plan swaps it in one assignment while other threads keep reading the old one."""

    def __init__(self, nodes: list, key_cost, max_checks: int, leaves: dict, keys=None):
        words: dict[str, list[int]] = {}  # word key -> the rules anchored on it
        bare: dict[str, list[int]] = {}  # ... of which those with nothing else to check
        # ... and the others: word key -> a key of their first check -> rules; checks after the
        # first by rule (a dict lookup per anchor found, instead of a loop over its rules)
        guards: dict[str, dict[str, list[int]]] = {}
        more: dict[int, tuple[frozenset[str], ...]] = {}
        prefix_rules: dict[str, list[int]] = {}
        always: list[int] = []
        checks_of: dict[int, tuple[frozenset[str], ...]] = {}  # only rules that have some
        shared: dict[frozenset[str], frozenset[str]] = {}  # one object per distinct clause
        key_costs: dict[str, float] = {}  # a memo: 100,000 rules name each key many times

        def costs(clause: frozenset[str]) -> float:
            found = 0.0
            for k in clause:
                c = key_costs.get(k)
                if c is None:
                    c = key_costs[k] = key_cost(k)
                found += c
            return found

        for i, node in enumerate(nodes):
            ordered = _required(node, costs, leaves)
            if not ordered:
                always.append(i)
                continue
            first = None
            if len(ordered) > 1:
                ordered = sorted(dict.fromkeys(ordered), key=costs)
                checks = tuple([shared.setdefault(c, c) for c in ordered[1 : 1 + max_checks]])
                if checks:
                    checks_of[i], first = checks, checks[0]
                if len(checks) > 1:
                    more[i] = checks[1:]
            for k in ordered[0]:
                if k[:1] == PREFIX:
                    _add(prefix_rules, k[1:], i)
                    continue
                _add(words, k, i)
                if first is None:
                    _add(bare, k, i)
                    continue
                guard = guards.get(k)
                if guard is None:
                    guard = guards[k] = {}
                for check in first:
                    _add(guard, check, i)
        self.words, self.bare, self.guards, self.more = words, bare, guards, more
        self.always, self.checks = always, checks_of
        self.word_keys = frozenset(words)
        self.bare_keys = frozenset(bare)
        self.guard_keys = frozenset(guards)
        self.prefixes = None
        # every key of any leaf's required sets (given on a re-plan: the leaves are all known)
        self.keys = keys = frozenset(_keys(leaves)) if keys is None else keys
        prefixes = {k[1:] for k in keys if k[:1] == PREFIX}
        if prefixes:  # every prefix any rule names, so matched prefixes become keys too
            automaton = ahocorasick.Automaton()
            for prefix in prefixes:
                automaton.add_word(_SEP + prefix, (PREFIX + prefix, prefix_rules.get(prefix, ())))
            automaton.make_automaton()
            self.prefixes = automaton


def _add(index: dict, key, i: int) -> None:
    found = index.get(key)
    if found is None:
        index[key] = [i]
    else:
        found.append(i)


class Presearch:
    """Rules indexed by anchor; `candidates(view)` are the rules worth evaluating.

    The first plan ranks required sets with the `_key_cost` heuristic. The index then counts
    how often each key of any required set occurs in the articles it sees, and re-plans at
    REPLAN_AT articles with observed frequencies (a key never seen counts as rare): anchors
    move to the keys that are actually rare in this news stream. Any required set is a valid
    anchor, so re-planning changes the speed, never the result.
    """

    MAX_CHECKS = 4  # extra required sets checked per candidate: the most selective ones
    REPLAN_AT = (256, 4096, 65536)
    SAMPLE = 8

    def __init__(self, nodes: list):
        self.nodes = nodes
        # id(leaf node) -> (the node, its required sets): every leaf any plan could require a
        # key of (the first plan visits them all), each once however many rules share it
        self.leaves: dict[int, tuple[object, Clauses]] = {}
        self.plan = Plan(nodes, _key_cost, self.MAX_CHECKS, self.leaves)
        self.clause_keys = self.plan.keys
        self.uses_stems = any(k.startswith(STEM) for k in self.clause_keys)
        self.pair_heads = frozenset(k.split(" ")[0] for k in self.clause_keys if " " in k)
        # author tokens are keys only if some leaf that can be required searches that field
        self.uses_author = any(_uses_author(node) for node, _ in self.leaves.values())
        self.stem_keys = StemCache(STEM)
        self.seen: Counter[str] = Counter()
        self.articles = 0  # seen by candidates()
        self.observed = 0  # of which counted in `seen`

    def keys(self, view: ArticleView) -> tuple[set[str], set[str]]:
        """The article's distinct tokens, and its keys (tokens, stems, tags; prefixes are added
        by `candidates` as the automaton finds them)."""
        fields = (
            (view.title, view.text, view.author) if self.uses_author else (view.title, view.text)
        )
        tokens: set[str] = set().union(*[fv.vocab for fv in fields])
        keys = set(tokens)
        if self.uses_stems:
            keys.update(map(self.stem_keys.__getitem__, tokens))
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
        """The rules anchored on a key of the article whose other checked sets it meets too:
        set operations for the rules with nothing else to check, a loop for the others."""
        plan = self.plan
        tokens, keys = self.keys(view)
        by_prefix: list[int] = []
        if plan.prefixes is not None:  # first: prefix keys may be what another rule checks
            for _, (key, rule_ids) in plan.prefixes.iter(_SEP + _SEP.join(tokens)):
                keys.add(key)
                by_prefix += rule_ids
        present = keys & plan.word_keys
        found = set(plan.always).union(*map(plan.bare.__getitem__, present & plan.bare_keys))
        isdisjoint = keys.isdisjoint
        passed: list[int] = []  # anchored on a key present, and their first check met
        for key in present & plan.guard_keys:
            guard = plan.guards[key]
            for check in guard.keys() & keys:
                passed += guard[check]
        more = plan.more
        for i in passed:
            for clause in more.get(i, ()):
                if isdisjoint(clause):
                    break
            else:
                found.add(i)
        for i in by_prefix:
            for clause in plan.checks.get(i, ()):
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

        self.plan = Plan(self.nodes, observed, self.MAX_CHECKS, self.leaves, self.clause_keys)


def _keys(leaves: dict) -> set[str]:
    return {k for _, clauses in leaves.values() for clause in clauses for k in clause}


def _uses_author(node) -> bool:
    if isinstance(node, (m.TextNode, m.NearNode)):
        return "author" in node.fields
    if isinstance(node, m.NotNode):
        return _uses_author(node.child)
    if isinstance(node, (m.AndNode, m.OrNode, m.AnyWordNode)):
        return any(_uses_author(c) for c in node.children)
    return False
