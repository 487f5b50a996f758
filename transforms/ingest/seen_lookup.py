"""Which entry ids the state store has seen, asked in batches and remembered for one feed body.

Why: parsing a poll asks about every entry's id, first in the pre-scan (from raw XML), then,
for what the pre-scan could not cut, after feedparser. One store query per id made a
100-entry poll cost 100 SELECTs. Here the pre-scan asks once for every id it predicts, and the
later stage only about ids it has not asked yet (usually none): one query per poll.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping

SeenOf = Callable[[list[str]], Collection[str]]
"""A batch lookup: the subset of the given article ids the store has seen. A mapping answer
(id -> stored content hash, None for a row from before hashes) means an entry counts as
unchanged only while its content hashes the same (see `unchanged`); a plain set means seen is
unchanged (the caller vouches for it, e.g. the backtest's byte-identical entries)."""


class SeenLookup:
    """Answers "was this id seen?" from batch questions to `seen_of`, each id asked once."""

    def __init__(self, seen_of: SeenOf):
        self.seen_of = seen_of
        self.asked: set[str] = set()
        self.seen: set[str] = set()
        self.hashes: dict[str, str | None] | None = None  # set by the first mapping answer

    def ask(self, ids: Iterable[str]) -> None:
        """One question to the store for the ids not asked before (none: no question)."""
        new = [i for i in dict.fromkeys(ids) if i not in self.asked]
        if not new:
            return
        found = self.seen_of(new)
        self.asked.update(new)
        self.seen.update(i for i in new if i in found)
        if isinstance(found, Mapping):
            self.hashes = (self.hashes or {}) | {i: found[i] for i in new if i in found}

    def is_seen(self, ident: str) -> bool:
        """From the answers so far; an id nobody asked about yet is asked on its own."""
        if ident not in self.asked:
            self.ask([ident])
        return ident in self.seen

    def unchanged(self, ident: str, digest: Callable[[], str | None]) -> bool:
        """Seen, and (when the store keeps hashes) stored with the hash `digest()` gives; it is
        called only for a seen id with a stored hash. A None digest never matches."""
        if not self.is_seen(ident):
            return False
        if self.hashes is None:
            return True
        stored = self.hashes.get(ident)
        return stored is not None and stored == digest()
