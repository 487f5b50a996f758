"""The presearch index: which rules could possibly match this article?

Why: evaluating 10,000 rules per article costs 10,000 tree walks, almost all for rules whose
words the article does not contain. Each rule is reduced to *clauses*: sets of keys (words,
title words, stems, prefixes, word pairs, tags) of which the article must contain at least one
each, for the rule to have any chance (a conjunction of disjunctions: `"border wall" AND
(mexico OR peso*)` requires {border}, {wall}, {border wall} and {mexico, peso*}; an OR
distributes over its branches' clauses, so `title:wall OR "border fence"~3` requires
{title:wall, border} and {title:wall, fence}). One clause per rule, the most selective, is its
anchor in an inverted index. Keys are numbered, and each distinct token of an article is
looked up once for the numbers of all the keys it gives (itself, its stem, the prefixes it
starts with, its title key, the pairs it begins; kept per token, as news reuses its words);
the index is flat arrays by key number, so the rules anchored on the article's keys and
whose first other clause it meets are a few numpy operations; the rare further clauses are
C-level set tests, and only rules passing all are evaluated. So matching cost follows the rules that can match, not the size of the rule set.
Every clause is a necessary condition, never a guess: the result is exactly the naive
evaluator's (tests/rules/test_presearch.py).

What cannot be required: NOT (its absence proves nothing), `feed:x*` and `lang:x*`. A rule made
only of those is evaluated for every article.
"""

from __future__ import annotations

from itertools import chain, product

from wirewatch.transforms.rules import match as m
from wirewatch.transforms.rules import units as u
from wirewatch.transforms.rules.collector import collector_paused
from wirewatch.transforms.rules.text import stem
from wirewatch.transforms.rules.view import ArticleView

STEM = "\x01"  # key prefixes: tokens never contain control characters (fold blanks them)
TAG = "\x02"
PREFIX = "\x03"
TITLE = "\x04"  # a word the title must have: `title:wall` requires "\x04wall", not "wall"

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


class _TokenKeys(dict):
    """token -> the numbers of the keys a token gives an article wherever it occurs (itself,
    its stem, each prefix it starts with), as a frozenset: an article's are merged set into
    set, with the hashes they store. Filled on first use: one lookup per distinct token of an
    article instead of one per key, and no prefix scan. Cleared past `limit`, as StemCache."""

    def __init__(self, ids: dict[str, int], keys: frozenset[str], limit: int = 500_000):
        super().__init__()
        self.ids, self.limit = ids, limit
        self.stems = any(k[:1] == STEM for k in keys)
        self.prefix_lengths = sorted({len(k) - 1 for k in keys if k[:1] == PREFIX})

    def __missing__(self, token: str) -> frozenset[int]:
        if len(self) >= self.limit:
            self.clear()
        ids = self.ids
        found = [ids.get(token)]
        if self.stems:
            found.append(ids.get(STEM + stem(token)))
        found += [ids.get(PREFIX + token[:n]) for n in self.prefix_lengths if n <= len(token)]
        value = self[token] = frozenset(filter(None, found))
        return value


class Plan:
    """One choice of anchor per rule, and the index it gives. Immutable once built, so a
    re-plan swaps it in one assignment while other threads keep reading the old one.

    The index is three flat arrays, one entry per (anchor key, key of the first check, rule),
    sorted by anchor key: `starts[k]:starts[k + 1]` are the entries anchored on key number k,
    `checks` their check keys (0: nothing to check) and `owners` their rules. An article's
    candidates are then a few numpy operations over the entries of its keys (gather the
    ranges, keep those whose check key the article has, sort the rules), not a dict and a set
    per key: 100,000 rules give an article some 70 anchors and 200 checks, each a few reads of
    memory no cache holds when every anchor had its own dict and arrays."""

    def __init__(self, rules: list, key_cost, max_checks: int, ids: dict[str, int]):
        import numpy as np

        anchors: list[int] = []  # per entry: the anchor key's number, the check's, the rule
        checks: list[int] = []
        owners: list[int] = []
        more: dict[int, tuple[tuple[int, ...], ...]] = {}  # checks after the first, by rule
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

        nothing = (0,)
        for i, clauses in enumerate(rules):
            n = len(clauses)
            if n == 1:
                best, first = clauses[0], nothing
            elif n == 2:  # most rules: no sort
                best, first = clauses
                if costs(first) < costs(best):
                    best, first = first, best
                first = [ids[k] for k in first]
            elif n:
                ordered = sorted(clauses, key=costs)
                best, first = ordered[0], [ids[k] for k in ordered[1]]
                more[i] = tuple([tuple([ids[k] for k in c]) for c in ordered[2 : 1 + max_checks]])
            else:
                always.append(i)
                continue
            width = len(first)
            for k in best:
                anchors += [ids[k]] * width
                checks += first
            owners += [i] * (len(best) * width)
        size = len(ids) + 2  # key numbers 1..len(ids); 0 and len(ids) + 1 stand for none
        by_key = np.array(anchors, dtype=np.intp)
        order = np.argsort(by_key, kind="stable")
        self.starts = np.zeros(size + 1, dtype=np.intp)
        self.widths = np.bincount(by_key, minlength=size)
        np.cumsum(self.widths, out=self.starts[1:])
        self.checks = np.array(checks, dtype=np.intp)[order]
        self.owners = np.array(owners, dtype=np.intp)[order]
        self.none = size - 1
        self.has_more = np.zeros(len(rules), dtype=bool)
        self.has_more[list(more)] = True
        self.more, self.always = more, tuple(always)
        self._ids = ids
        self.np = np

    @property
    def anchors(self) -> set[str]:
        """The keys some rule is anchored on (for tests and inspection)."""
        np = self.np
        numbers = set(np.flatnonzero(self.widths).tolist())
        return {k for k, i in self._ids.items() if i in numbers}

    def lookup(self, numbers: set[int]) -> list[int]:
        """The rules anchored on a key of `numbers` (the article's keys' numbers) whose
        checked clauses the article meets too, in order."""
        np = self.np
        present = np.fromiter(chain(numbers, (0, self.none)), np.intp, len(numbers) + 2)
        present.sort()
        width = self.widths[present]
        ends = width.cumsum()
        total = int(ends[-1])
        if total:
            at = np.repeat(self.starts[present] - ends + width, width) + np.arange(total)
            checks = self.checks[at]  # each entry's check key: is it among the article's?
            met = present[present.searchsorted(checks)] == checks
            owners = self.owners[at[met]]
            deep = owners[self.has_more[owners]]
            found = set(owners.tolist())
            if len(deep):  # rules with more clauses: C-level set tests on the keys
                more, isdisjoint = self.more, numbers.isdisjoint
                found.difference_update(
                    [i for i in set(deep.tolist()) if any(map(isdisjoint, more[i]))]
                )
        else:
            found = set()
        if self.always:
            found.update(self.always)
        return sorted(found)


def _sure(node, read: tuple[str, ...]) -> bool:
    """Whether `node` holds for every article that has a key of its one clause: a word or an
    OR of words searched in exactly the fields whose tokens give the article its word keys
    (`read`; a word's title key is read from the title), a stemmed word in `read` (its key is
    not by field), or an OR of such."""
    kind = type(node)
    if kind is m.WordNode or kind is m.AnyWordNode:
        return node.fields == read or node.fields == ("title",)
    if kind is m.StemNode:
        return node.fields == read
    if kind is m.OrNode:
        return all(_sure(child, read) for child in node.children)
    return False


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
        # each key a number from 1 (0: no key): the index is flat arrays by number
        self.key_ids = dict(zip(keys, range(1, len(keys) + 1)))
        self.plan = Plan(self.clauses, _key_cost, self.MAX_CHECKS, self.key_ids)
        # author tokens are keys only if some leaf that can be required searches that field
        self.uses_author = any(
            "author" in getattr(node, "fields", ()) for node, _ in leaves.values()
        )
        self.read = ("title", "text", "author") if self.uses_author else ("title", "text")
        self.token_keys = _TokenKeys(self.key_ids, keys)
        # a title word's number by the word; the word pairs by their first word
        self.title_ids = {k[1:]: i for k, i in self.key_ids.items() if k[:1] == TITLE}
        self.pairs: dict[str, dict[str, int]] = {}
        for k, i in self.key_ids.items():
            if " " in k:
                head, _, after = k.partition(" ")
                self.pairs.setdefault(head, {})[after] = i
        # sure[i]: rule i holds wherever its one clause is met (see _sure), so as a candidate
        # it is a match without a test (transforms.rules.found)
        self.sure = bytes(_sure(node, self.read) for node in nodes)
        # no stem or prefix keys (a small rule set of plain words, as most configs are):
        # an article's word keys are its tokens that are keys, a set lookup each; the
        # per-token cache pays off only when a token gives several keys, and on news that
        # keeps bringing new words it filled one entry per new word
        tk = self.token_keys
        self.words_only = not (tk.stems or tk.prefix_lengths)
        self.seen = [0] * (len(keys) + 1)  # by key number: articles seen with the key
        self.articles = 0  # seen by candidates()
        self.observed = 0  # of which counted in `seen`

    def numbers(self, view: ArticleView) -> set[int]:
        """The numbers of the article's keys that some rule requires: its tokens, their stems
        and the prefixes they start with (each token's are looked up once and kept, as news
        reuses its words), title words, word pairs, tags. The tokens are the view's
        `vocab_of` the fields read, which the rules' own tests read again."""
        tokens = view.vocab_of(self.read)
        get = self.key_ids.get
        if self.words_only:  # a token's only key is itself: no cache to fill for new words
            numbers: set[int] = set(map(get, tokens))
        else:
            numbers = set().union(*map(self.token_keys.__getitem__, tokens))
        if self.title_ids:
            numbers.update(map(self.title_ids.get, view.title.vocab))
        heads = self.pairs  # "w1 w2" for two tokens side by side that some phrase requires
        if heads and not heads.keys().isdisjoint(tokens):
            for name in self.read:
                toks = view.fields[name].tokens
                numbers.update([heads[a].get(b) for a, b in zip(toks, toks[1:]) if a in heads])
        numbers.update(map(get, [f"{TAG}t:{t}" for t in view.topics]))
        for e in view.entities:
            numbers.add(get(f"{TAG}e:{e.id}"))
            numbers.add(get(f"{TAG}y:{e.type.upper()}"))
        numbers.add(get(f"{TAG}f:{view.feed}"))
        numbers.add(get(f"{TAG}l:{view.lang.split('-')[0]}"))
        numbers.discard(None)
        return numbers

    def candidates(self, view: ArticleView) -> list[int]:
        """The rules anchored on a key of the article whose checked clauses it meets too."""
        numbers = self.numbers(view)
        out = self.plan.lookup(numbers)
        self._observe(numbers)
        return out

    def _observe(self, numbers: list[int]) -> None:
        """Count the keys that some rule requires in every article up to the first re-plan,
        then in one article in SAMPLE (frequencies need no more); stop after the last one."""
        self.articles += 1
        if self.articles > self.REPLAN_AT[-1]:
            return
        if self.articles <= self.REPLAN_AT[0] or self.articles % self.SAMPLE == 0:
            seen = self.seen
            for i in numbers:
                seen[i] += 1
            self.observed += 1
        if self.articles in self.REPLAN_AT:
            self.replan()

    def replan(self) -> None:
        n = self.observed + 1
        seen, ids = self.seen, self.key_ids

        def observed(key: str) -> float:  # a pair seen as rarely as its words is the rarer
            return (seen[ids[key]] + _key_cost(key) / (8 if " " in key else 4)) / n

        with collector_paused():  # a full collection would walk the whole rule set (1 s)
            self.plan = Plan(self.clauses, observed, self.MAX_CHECKS, ids)
