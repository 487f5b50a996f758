"""Which entry ids the state store has seen, asked in batches and remembered for one feed body.

Why: parsing a poll asks about every entry's id, first in the pre-scan (from raw XML), then,
for what the pre-scan could not cut, after feedparser. One store query per id made a
100-entry poll cost 100 SELECTs. Here the pre-scan asks once for every id it predicts, and the
later stage only about ids it has not asked yet (usually none): one query per poll.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

SeenOf = Callable[[list[str]], Collection[str]]
"""A batch lookup: the subset of the given article ids the store has seen."""


class SeenLookup:
    """Answers "was this id seen?" from batch questions to `seen_of`, each id asked once."""

    def __init__(self, seen_of: SeenOf):
        self.seen_of = seen_of
        self.asked: set[str] = set()
        self.seen: set[str] = set()

    def ask(self, ids: Iterable[str]) -> None:
        """One question to the store for the ids not asked before (none: no question)."""
        new = [i for i in dict.fromkeys(ids) if i not in self.asked]
        if not new:
            return
        found = self.seen_of(new)
        self.asked.update(new)
        self.seen.update(i for i in new if i in found)

    def is_seen(self, ident: str) -> bool:
        """From the answers so far; an id nobody asked about yet is asked on its own."""
        if ident not in self.asked:
            self.ask([ident])
        return ident in self.seen
