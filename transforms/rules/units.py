"""Where a word, prefix or phrase occurs in one field: the leaves of every text rule.

A leaf tests one token position (exact token, stem, prefix); a Unit is a word, prefix or phrase
made of leaves, found at consecutive positions or, with `slop`, anywhere in a small window.
Cheap tests come first (set lookups, one substring search); positions only when needed.

Nodes never change once made; not `frozen` only for speed (see transforms.rules.query).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from wirewatch.transforms.rules.view import FieldView


@dataclass(unsafe_hash=True, slots=True)
class Exact:
    token: str

    def positions(self, fv: FieldView) -> list[int]:
        return fv.index.get(self.token, ())

    def at(self, fv: FieldView, pos: int) -> bool:
        return fv.tokens[pos] == self.token

    def occurs(self, fv: FieldView) -> bool:
        return self.token in fv.vocab


@dataclass(unsafe_hash=True, slots=True)
class Stemmed:
    """Any token with this stem: each answer comes from the field's tokens grouped by stem."""

    stem: str

    def occurs(self, fv: FieldView) -> bool:
        return self.stem in fv.stems()

    def at(self, fv: FieldView, pos: int) -> bool:
        return fv.tokens[pos] in fv.stem_vocab().get(self.stem, ())

    def positions(self, fv: FieldView) -> list[int]:
        return fv.stem_positions(self.stem)


@dataclass(unsafe_hash=True, slots=True)
class Prefix:
    prefix: str

    def positions(self, fv: FieldView) -> list[int]:
        return fv.prefix_positions(self.prefix)

    def at(self, fv: FieldView, pos: int) -> bool:
        return fv.tokens[pos].startswith(self.prefix)

    def occurs(self, fv: FieldView) -> bool:
        return fv.has_prefix(self.prefix)


Leaf = Exact | Stemmed | Prefix


@dataclass(unsafe_hash=True, slots=True)
class Unit:
    """A word, prefix or phrase: leaves at consecutive positions, or within `slop` extra words
    in any order (`"border wall"~5`: at most 5 other words inside the window)."""

    leaves: tuple[Leaf, ...]
    slop: int | None = None
    joined: str | None = None  # " w1 w2 " for an exact phrase of plain words: a substring test

    def any(self, fv: FieldView) -> bool:
        """Whether the unit occurs at all: set lookups first; then one substring search for a
        plain exact phrase, positions only for the other phrases."""
        for leaf in self.leaves:
            if not leaf.occurs(fv):
                return False
        if len(self.leaves) == 1:
            return True
        if self.joined is not None:
            return self.joined in fv.joined()
        return bool(self.spans(fv))

    def search(self, folded: str, limit: int) -> list[tuple[int, int]] | None:
        """The unit's character spans in a field's folded text, at most `limit`, found without
        token positions: a string search for a single word or prefix, a regex for an exact
        phrase of plain words. None for the other units (stems, ~n): they need positions."""
        leaves = self.leaves
        if len(leaves) == 1 and not isinstance(leaves[0], Stemmed):
            leaf = leaves[0]
            if isinstance(leaf, Exact):
                return token_hits(folded, leaf.token, True, limit)
            return token_hits(folded, leaf.prefix, False, limit)
        if self.joined is None:
            return None
        out = []
        for found in _phrase(self.joined).finditer(folded):
            out.append(found.span())
            if len(out) >= limit:
                break
        return out

    def spans(self, fv: FieldView) -> list[tuple[int, int]]:
        """(first, last) token positions of each occurrence, in order."""
        leaves = self.leaves
        if not leaves:
            return []
        first = leaves[0].positions(fv)
        if not first:
            return []
        if len(leaves) == 1:
            return [(p, p) for p in first]
        if self.slop is None:
            n = len(fv.tokens)
            k = len(leaves)
            return [
                (p, p + k - 1)
                for p in first
                if p + k <= n and all(leaf.at(fv, p + i) for i, leaf in enumerate(leaves[1:], 1))
            ]
        return self._sloppy(fv)

    def _sloppy(self, fv: FieldView) -> list[tuple[int, int]]:
        k = len(self.leaves)
        width = k - 1 + self.slop
        found_per_leaf = [leaf.positions(fv) for leaf in self.leaves]
        if not all(found_per_leaf):
            return []
        starts = sorted({p for ps in found_per_leaf for p in ps})
        out: list[tuple[int, int]] = []
        for lo in starts:
            if out and lo <= out[-1][1]:
                continue
            window = [[p for p in ps if lo <= p <= lo + width] for ps in found_per_leaf]
            chosen = _distinct_choice(window)
            if chosen is not None:
                out.append((min(chosen), max(chosen)))
        return out


@lru_cache(maxsize=50_000)
def _phrase(joined: str) -> re.Pattern:
    """Folded text has letters, digits and spaces only: words are runs between spaces."""
    return re.compile(r"(?<!\S)" + r"\s+".join(map(re.escape, joined.split())) + r"(?!\S)")


def token_hits(folded: str, text: str, whole: bool, limit: int) -> list[tuple[int, int]]:
    """(start, end) of the tokens of `folded` that are `text` (`whole`) or start with it, in
    order, at most `limit`. Folded text has letters, digits and spaces only, so a token is a run
    between spaces: `str.find` and a look at the characters around it, no regex scan."""
    out: list[tuple[int, int]] = []
    size, at = len(folded), 0
    while len(out) < limit:
        at = folded.find(text, at)
        if at < 0:
            break
        end = at + len(text)
        if at == 0 or folded[at - 1] == " ":  # else: no token starts before `end` either
            if not whole:
                stop = folded.find(" ", end)
                end = size if stop < 0 else stop
                out.append((at, end))
            elif end == size or folded[end] == " ":
                out.append((at, end))
        at = end
    return out


def _distinct_choice(
    window: list[list[int]], used: frozenset = frozenset()
) -> tuple[int, ...] | None:
    """One position per leaf, all different (a phrase may repeat a word). Windows are a few
    positions wide, so a plain backtracking search is enough."""
    if not window:
        return ()
    for pos in window[0]:
        if pos not in used:
            rest = _distinct_choice(window[1:], used | {pos})
            if rest is not None:
                return (pos,) + rest
    return None


def char_span(fv: FieldView, first: int, last: int) -> tuple[int, int]:
    return fv.spans[first][0], fv.spans[last][1]
