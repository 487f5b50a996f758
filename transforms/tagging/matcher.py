"""One Aho-Corasick automaton for every alias, topic term and context word: one pass per article.

Why one automaton: scanning a 3,000-character article once costs tens of microseconds whatever
the number of patterns (50,000 aliases included); scanning it once per pattern list would
multiply that. Patterns are padded with spaces (see text.py) so every hit is whole words; a
topic term written `elect*` is padded on the left only and matches election, elected, electoral.

Why ahocorasick_rs, and its contiguous NFA: the walk is the scan's fixed cost, one step per
character of every article. pyahocorasick's trie (a linear search among a node's children per
character, and a tuple built with Py_BuildValue per hit) took 75 us of CPU on a 500-word
article with the 59k-alias gazetteer; the Rust crate's contiguous NFA and its list of plain
(pattern, start, end) tuples take 55 us, in less memory (8 MB for 50,000 aliases). (Its DFA
runs fewer instructions, but its 80 MB of tables miss the caches: 65 us.) It scans the UTF-8
bytes of the folded text: for ASCII text (almost all news) byte offsets are character offsets;
otherwise they are mapped back (`_char_offsets`).

The automaton is a native object: it is built on the worker (Tagger construction), never pickled.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate

import ahocorasick_rs

from wirewatch.transforms.tagging.gazetteer import AliasRef


@dataclass(slots=True)
class Payload:
    """Everything one pattern means."""

    tail: int  # 1 for a prefix term (the pattern ends on the key's last letter), else 0
    aliases: tuple[AliasRef, ...] = ()
    group: int = -1  # the topic term group (TopicScorer.groups) this pattern finds, if any
    context: tuple[int, ...] = ()


# A hit is a plain tuple: (start, end, payload) for a name, (start, end, group) for a topic
# term; start/end index the prepared text, padding excluded. Tuples, not objects, because a
# long article yields hundreds of hits.
Hit = tuple
_NO_HIT = (-1, -1, None)


class Matcher:
    def __init__(self) -> None:
        self._payloads: dict[str, Payload] = {}
        self._values: list[tuple] = []
        self._automaton = None

    def _payload(self, pattern: str) -> Payload:
        payload = self._payloads.get(pattern)
        if payload is None:
            tail = 0 if pattern.endswith(" ") else 1
            payload = self._payloads[pattern] = Payload(tail=tail)
        return payload

    def add_aliases(self, folded_key: str, refs: tuple[AliasRef, ...]) -> None:
        self._payload(f" {folded_key} ").aliases = refs

    def add_context(self, folded_key: str, entities: tuple[int, ...]) -> None:
        self._payload(f" {folded_key} ").context = entities

    def add_term(self, folded_key: str, prefix: bool, group: int) -> None:
        """Topic terms written alike share one pattern: the scorer adds each group once."""
        pattern = f" {folded_key}" if prefix else f" {folded_key} "
        payload = self._payload(pattern)
        if payload.group >= 0:
            raise ValueError(f"term pattern {pattern!r} added twice: add one group per pattern")
        payload.group = group

    def compile(self) -> Matcher:
        patterns = list(self._payloads)
        # What scan() asks of every hit, per pattern index, unpacked in one go rather than
        # read attribute by attribute: a long article yields a hundred hits. `drop`: how far
        # the hit's end lies before the match's (the trailing padding space, if any).
        self._values = [
            (
                1 - payload.tail,
                payload if payload.aliases or payload.context else None,
                payload.group,
            )
            for payload in self._payloads.values()
        ]
        self._automaton = (
            ahocorasick_rs.BytesAhoCorasick(
                [pattern.encode() for pattern in patterns],
                implementation=ahocorasick_rs.Implementation.ContiguousNFA,
            )
            if patterns
            else None
        )
        return self

    def __len__(self) -> int:
        return len(self._payloads)

    def scan(self, folded: str) -> tuple[list[Hit], list[Hit]]:
        """(term hits, name hits) in text order.

        Term hits are only the outermost ones: "trade war" is trade, not also war; "border
        security" is not also "border"; `elect*` inside "election" is not counted twice.
        Hits with the same span are all kept. Name hits (aliases and context words) are all
        of them, overlapping ones included: which reading wins is the resolver's call.
        """
        terms: list[Hit] = []
        names: list[Hit] = []
        if self._automaton is None:
            return terms, names
        data = folded.encode()
        found = self._automaton.find_matches_as_indexes(data, overlapping=True)
        if len(data) != len(folded):
            found = _char_offsets(folded, found)
        values = self._values
        # A match spans the pattern, padding included: the hit starts after its leading
        # space and ends before its trailing one (a prefix term has none). Matches come by
        # ascending end, so the kept term hits, none inside another, also ascend by start:
        # a new hit can only swallow a tail of them, or be swallowed by the last one, whose
        # span stays in locals.
        kept_start = kept_end = -1  # no kept hit yet: every hit starts after a space
        for index, start, end in found:
            drop, named, group = values[index]
            start += 1
            end -= drop
            if named is not None:
                names.append((start, end, named))
            if group < 0:
                continue
            # Drop the kept hits this one contains (not those with its very span); then
            # skip it if the last kept hit contains it.
            while kept_start >= start and (kept_start != start or kept_end != end):
                terms.pop()
                kept_start, kept_end, _ = terms[-1] if terms else _NO_HIT
            if kept_end == end and kept_start < start:
                continue
            terms.append((start, end, group))
            kept_start, kept_end = start, end
        return terms, names


def _char_offsets(folded: str, found: list) -> list:
    """Matches of the UTF-8 bytes of non-ASCII text, with character offsets instead. (Every
    match starts and ends on a character: patterns begin with a space, and end with one or
    with a whole character.)"""
    char_of = {
        offset: i
        for i, offset in enumerate(accumulate((len(ch.encode()) for ch in folded), initial=0))
    }
    return [(index, char_of[start], char_of[end]) for index, start, end in found]
