"""One Aho-Corasick automaton for every alias, topic term and context word: one pass per article.

Why one automaton: scanning a 3,000-character article once costs tens of microseconds whatever
the number of patterns (50,000 aliases included); scanning it once per pattern list would
multiply that. Patterns are padded with spaces (see text.py) so every hit is whole words; a
topic term written `elect*` is padded on the left only and matches election, elected, electoral.

The automaton is a C object: it is built on the worker (Tagger construction), never pickled.
"""

from __future__ import annotations

from dataclasses import dataclass

import ahocorasick

from wirewatch.transforms.tagging.gazetteer import AliasRef


@dataclass(slots=True)
class Payload:
    """Everything one pattern means. `length` is the folded key's length (without padding)."""

    length: int
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
        self._automaton = None

    def _payload(self, pattern: str, length: int) -> Payload:
        payload = self._payloads.get(pattern)
        if payload is None:
            tail = 0 if pattern.endswith(" ") else 1
            payload = self._payloads[pattern] = Payload(length=length, tail=tail)
        return payload

    def add_aliases(self, folded_key: str, refs: tuple[AliasRef, ...]) -> None:
        self._payload(f" {folded_key} ", len(folded_key)).aliases = refs

    def add_context(self, folded_key: str, entities: tuple[int, ...]) -> None:
        self._payload(f" {folded_key} ", len(folded_key)).context = entities

    def add_term(self, folded_key: str, prefix: bool, group: int) -> None:
        """Topic terms written alike share one pattern: the scorer adds each group once."""
        pattern = f" {folded_key}" if prefix else f" {folded_key} "
        payload = self._payload(pattern, len(folded_key))
        if payload.group >= 0:
            raise ValueError(f"term pattern {pattern!r} added twice: add one group per pattern")
        payload.group = group

    def compile(self) -> Matcher:
        automaton = ahocorasick.Automaton()
        for pattern, payload in self._payloads.items():
            # What scan() asks of every hit, unpacked in one go rather than read attribute
            # by attribute: a long article yields a hundred hits.
            named = payload if payload.aliases or payload.context else None
            automaton.add_word(pattern, (payload.tail, payload.length, named, payload.group))
        if len(automaton):
            automaton.make_automaton()
        self._automaton = automaton
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
        if self._automaton is None or not len(self._automaton):
            return terms, names
        # `last` is the index of the pattern's last character: a padding space, or for a
        # prefix term the last letter of the prefix. Hits come by ascending end, so the kept
        # term hits, none inside another, also ascend by start: a new hit can only swallow
        # a tail of them, or be swallowed by the last one, whose span stays in locals.
        kept_start = kept_end = -1  # no kept hit yet: every hit starts after a space
        for last, (tail, length, named, group) in self._automaton.iter(folded):
            end = last + tail
            start = end - length
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
