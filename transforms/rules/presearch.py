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

# A clause: keys of which the article must have at least one. In the index, each key is a
# number (`_Numbers`) and a clause a sorted tuple of them, not a frozenset: the cyclic collector
# stops walking a tuple of ints, and 100,000 rules make a few hundred thousand of them.
Clause = tuple[int, ...]
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


class _Numbers(dict):
    """key -> its number, from 1 in the order keys are first asked for (0: no key); `costs[n]`:
    key n's `_key_cost`. Each leaf's keys are numbered once, however many rules share it: the
    rules' clauses are then tuples of numbers, which planning reads as arrays."""

    def __init__(self):
        super().__init__()
        self.costs = [0.0]

    def __missing__(self, key: str) -> int:
        number = self[key] = len(self.costs)
        self.costs.append(_key_cost(key))
        return number


def _unit_clauses(unit: u.Unit, fields: tuple[str, ...], numbers: _Numbers) -> Clauses:
    if not unit.leaves:
        return [()]
    title = fields == ("title",)
    clauses = [(numbers[_leaf_key(leaf, title)],) for leaf in unit.leaves]
    if unit.joined is not None:  # an exact phrase: each two of its words stand side by side
        tokens = unit.joined.split()
        clauses += [(numbers[f"{a} {b}"],) for a, b in zip(tokens, tokens[1:])]
    return clauses


def _required(node, leaves: dict, numbers: _Numbers) -> Clauses:
    """The clauses an article must each meet for `node` to hold (see the module doc), in key
    numbers, with the clauses of leaf nodes memoized in `leaves` by identity (bind shares one
    node per term across rules)."""
    kind = type(node)
    if kind is m.AndNode:
        out: Clauses = []
        for child in node.children:
            found = leaves.get(id(child))  # a leaf seen before (most are): no call
            out += found[1] if found is not None else _required(child, leaves, numbers)
        return list(dict.fromkeys(out))
    if kind is m.OrNode:
        options = []
        for child in node.children:
            clauses = _required(child, leaves, numbers)
            if not clauses:
                return []
            options.append(clauses)
        return _either(options, numbers.costs)
    if kind is m.NotNode:
        return []
    found = leaves.get(id(node))
    if found is None:
        found = leaves[id(node)] = (node, _leaf_clauses(node, numbers))
    return found[1]


def _either(options: list[Clauses], costs: list[float]) -> Clauses:
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
        cost_of = costs.__getitem__
        options = [[min(clauses, key=lambda c: sum(map(cost_of, c)))] for clauses in options]
    return list(dict.fromkeys(tuple(sorted(set().union(*choice))) for choice in product(*options)))


def _leaf_clauses(node, numbers: _Numbers) -> Clauses:
    kind = type(node)
    if kind is m.AnyWordNode:
        keys = [TITLE + t for t in node.tokens] if node.fields == ("title",) else node.tokens
        return [tuple(sorted({numbers[k] for k in keys}))]
    if kind is m.WordNode:  # the one-leaf units, without going through the unit
        return [(numbers[TITLE + node.token if node.fields == ("title",) else node.token],)]
    if kind is m.StemNode:
        return [(numbers[STEM + node.stem],)]
    if kind is m.PrefixNode:
        return [(numbers[PREFIX + node.prefix],)]
    if isinstance(node, m.TextNode):
        return _unit_clauses(node.unit, node.fields, numbers)
    if isinstance(node, m.NearNode):
        return _unit_clauses(node.left, node.fields, numbers) + _unit_clauses(
            node.right, node.fields, numbers
        )
    if isinstance(node, m.TagNode):  # the keys "t:topic" and "e:entity"
        return [tuple(sorted({numbers[f"{TAG}{node.field[0]}:{i}"] for i in node.ids}))]
    if isinstance(node, m.TypeNode):
        return [(numbers[f"{TAG}y:{node.type}"],)]
    if isinstance(node, m.FeedNode):
        return [] if node.prefix else [(numbers[f"{TAG}f:{node.value}"],)]
    if isinstance(node, m.LangNode):
        return [] if node.prefix else [(numbers[f"{TAG}l:{node.value.split('-')[0]}"],)]
    if isinstance(node, m.NeverNode):
        return [()]
    raise TypeError(f"no presearch rule for {type(node).__name__}")


class _TokenKeys(dict):
    """token -> the numbers of the keys a token gives an article wherever it occurs (itself,
    its stem, each prefix it starts with), as a frozenset: an article's are merged set into
    set, with the hashes they store (half the cost of chaining tuples into one set). Filled on
    first use: one lookup per distinct token of an article instead of one per key, and no
    prefix scan. Cleared past `limit`, as StemCache."""

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


def _sums(values, offsets, lengths):
    """Each clause's cost: its keys' `values` (an array of them, clause after clause, from
    `offsets`, `lengths` long) added one at a time in order, as a loop over the clause would
    (numpy's own sums round in another order, and a tie between two clauses' costs would then
    go another way)."""
    import numpy as np

    out = np.zeros(len(lengths))
    rows = np.arange(len(lengths))
    at = 0
    while len(rows):
        rows = rows[lengths[rows] > at]
        out[rows] += values[offsets[rows] + at]
        at += 1
    return out


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

    def __init__(self, rules: list, key_costs, max_checks: int, ids: dict[str, int]):
        """`rules`: each rule's clauses, in key numbers; `key_costs`: an array, each key's cost
        by its number. Built for all rules at once, in arrays (a Python step per rule was
        most of the cost of planning 100,000 rules): each rule's clauses ranked by cost
        (stably: of two equally costly, the one written first), the best its anchor, the next
        its first check, the rest up to `max_checks` kept in `more`; an entry per anchor key
        and key of the first check (0 when there is none) of each rule, in rule order."""
        import numpy as np

        intp = np.intp
        flat = list(chain.from_iterable(rules))  # every clause, rule after rule
        counts = np.fromiter(map(len, rules), intp, len(rules))  # clauses per rule
        lengths = np.fromiter(map(len, flat), intp, len(flat))  # keys per clause
        offsets = np.cumsum(lengths) - lengths  # where each clause's keys start in `keys`
        keys = np.fromiter(chain.from_iterable(flat), intp, int(lengths.sum()))
        costs = _sums(key_costs[keys], offsets, lengths)
        ranked = np.lexsort((costs, np.repeat(np.arange(len(rules)), counts)))
        first_of = np.cumsum(counts) - counts  # each rule's first place in `ranked`

        live = np.flatnonzero(counts)
        best = ranked[first_of[live]]
        paired = counts[live] > 1  # a first check for each anchor key, else 0
        second = np.where(paired, ranked[np.minimum(first_of[live] + 1, len(flat) - 1)], 0)
        widths = np.where(paired, lengths[second], 1)  # keys of the first check
        per_rule = lengths[best] * widths  # entries per rule: anchor keys times check keys
        at = np.arange(int(per_rule.sum())) - np.repeat(np.cumsum(per_rule) - per_rule, per_rule)
        width = np.repeat(widths, per_rule)
        anchors = keys[np.repeat(offsets[best], per_rule) + at // width]
        checks = keys[np.repeat(offsets[second], per_rule) + at % width]
        checks[~np.repeat(paired, per_rule)] = 0

        more: dict[int, tuple[Clause, ...]] = {}  # checks after the first, by rule
        deep = counts > 2
        order, firsts, sizes = ranked.tolist(), first_of.tolist(), counts.tolist()
        for i in np.flatnonzero(deep).tolist():
            later = order[firsts[i] + 2 : firsts[i] + min(sizes[i], 1 + max_checks)]
            more[i] = tuple([flat[c] for c in later])
        size = len(ids) + 2  # key numbers 1..len(ids); 0 and len(ids) + 1 stand for none
        order = np.argsort(anchors, kind="stable")
        self.starts = np.zeros(size + 1, dtype=intp)
        self.widths = np.bincount(anchors, minlength=size)
        np.cumsum(self.widths, out=self.starts[1:])
        self.checks = checks[order]
        self.owners = np.repeat(live, per_rule)[order]
        self.none = size - 1
        self.has_more = deep
        self.more, self.always = more, tuple(np.flatnonzero(counts == 0).tolist())
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


def _exact(node, read: tuple[str, ...]) -> bool:
    """Whether `node` holds exactly when the article has a key of each of its clauses: a word
    or an OR of words searched in the fields whose tokens give an article its word keys
    (`read`) or in the title (it has title keys); a stemmed word or a prefix searched in `read`
    (their keys are not by field); a topic or entity without a threshold, a type; an OR of
    such leaves (one clause, their keys), an AND of such nodes (their clauses)."""
    kind = type(node)
    if kind is m.WordNode or kind is m.AnyWordNode:
        return node.fields == read or node.fields == ("title",)
    if kind is m.StemNode or kind is m.PrefixNode:
        return node.fields == read
    if kind is m.TagNode:
        return node.op is None
    if kind is m.TypeNode:
        return True
    if kind is m.OrNode:
        return all(type(c) not in _JOINS and _exact(c, read) for c in node.children)
    if kind is m.AndNode:
        return all(_exact(c, read) for c in node.children)
    return False


_JOINS = (m.AndNode, m.OrNode)


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
        import numpy as np

        # id(leaf node) -> (the node, its clauses): each leaf once however many rules share it
        leaves: dict[int, tuple[object, Clauses]] = {}
        numbers = _Numbers()  # each key a number from 1 (0: no key): the index is flat arrays
        self.clauses = [tuple(_required(node, leaves, numbers)) for node in nodes]
        self.key_ids = dict(numbers)
        keys = frozenset(numbers)
        self.prior = np.array(numbers.costs)  # each key's `_key_cost`, by number
        self.plan = Plan(self.clauses, self.prior, self.MAX_CHECKS, self.key_ids)
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
        # sure[i]: rule i holds wherever its clauses are met (see _exact) and a candidate has
        # met them all, so as a candidate it is a match without a test (rules/found.py)
        most = 1 + self.MAX_CHECKS  # the clauses a candidate met: its anchor and the checked
        self.sure = bytes(
            len(clauses) <= most and _exact(node, self.read)
            for node, clauses in zip(nodes, self.clauses)
        )
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
        """Anchors by the observed frequencies: a key's cost is the share of articles seen with
        it, plus a quarter of its prior (an eighth for a pair: a pair seen as rarely as its
        words is the rarer)."""
        np = self.plan.np
        pairs = np.fromiter([" " in k for k in self.key_ids], bool, len(self.key_ids))
        shares = np.concatenate(([4], np.where(pairs, 8, 4)))  # by key number (0: none)
        observed = (np.array(self.seen) + self.prior / shares) / (self.observed + 1)
        with collector_paused():  # a full collection would walk the whole rule set (1 s)
            self.plan = Plan(self.clauses, observed, self.MAX_CHECKS, self.key_ids)
