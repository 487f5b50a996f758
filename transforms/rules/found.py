"""A rule that holds for an article, as a light tuple whose evidence is found when asked.

Why lazy: deciding that a rule holds is a few set lookups, while its evidence (each term's
spans, by string search in the folded text) cost twice as much again at 100,000 rules, and a
caller that only counts or filters by rule never reads it. Most matches need no test at all:
the presearch vouches for a rule that is one word or an OR of plain words whose key the
article has (`Presearch.sure`). The evidence is the node's `eval` on the same view, so it is
exactly what eager evaluation gave, whenever it is asked for.
"""

from __future__ import annotations

from operator import itemgetter

from wirewatch.transforms.rules.view import ArticleView


class Found(tuple):
    """(rule index, the rule set's nodes, the article's view). `evidence`: the raw evidence
    tuples (see transforms.rules.match), computed on each access; `RuleSet.model` makes them
    the Match's hits. A tuple made by one C call: an article finds some 30 of them."""

    __slots__ = ()
    index = property(itemgetter(0))

    @property
    def evidence(self) -> list:
        index, nodes, view = self
        return nodes[index].eval(view)

    def __repr__(self) -> str:
        return f"Found(index={self[0]})"


_new = tuple.__new__


def holding(nodes: tuple, view: ArticleView, indexes, sure: bytes = b"") -> list[Found]:
    """The rules of `indexes` (in order) that hold for the article, as Found. `sure[i]` set:
    rule i holds for every article the presearch names it for (it is not tested)."""
    if sure:
        return [_new(Found, (i, nodes, view)) for i in indexes if sure[i] or nodes[i].holds(view)]
    return [_new(Found, (i, nodes, view)) for i in indexes if nodes[i].holds(view)]
