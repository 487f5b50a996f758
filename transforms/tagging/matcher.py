"""One Aho-Corasick automaton for every alias, topic term and context word: one pass per article.

Why one automaton: scanning a 3,000-character article once costs tens of microseconds whatever
the number of patterns (50,000 aliases included); scanning it once per pattern list would
multiply that. Patterns are padded with spaces (see text.py) so every hit is whole words; a
topic term written `elect*` is padded on the left only and matches election, elected, electoral.

The automaton is a C object: it is built on the worker (Tagger construction), never pickled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ahocorasick

from transforms.tagging.gazetteer import AliasRef


@dataclass(slots=True)
class Payload:
    """Everything one pattern means. `length` is the folded key's length (without padding)."""

    length: int
    aliases: tuple[AliasRef, ...] = ()
    terms: list[int] = field(default_factory=list)  # ids into TopicScorer.terms
    context: tuple[int, ...] = ()


# A hit is a plain tuple (start, end, payload): start/end index the prepared text, padding
# excluded. Tuples, not objects, because a long article yields hundreds of hits.
Hit = tuple


class Matcher:
    def __init__(self) -> None:
        self._payloads: dict[str, Payload] = {}
        self._automaton = None

    def _payload(self, pattern: str, length: int) -> Payload:
        payload = self._payloads.get(pattern)
        if payload is None:
            payload = self._payloads[pattern] = Payload(length=length)
        return payload

    def add_aliases(self, folded_key: str, refs: tuple[AliasRef, ...]) -> None:
        self._payload(f" {folded_key} ", len(folded_key)).aliases = refs

    def add_context(self, folded_key: str, entities: tuple[int, ...]) -> None:
        self._payload(f" {folded_key} ", len(folded_key)).context = entities

    def add_term(self, folded_key: str, prefix: bool, term_id: int) -> None:
        pattern = f" {folded_key}" if prefix else f" {folded_key} "
        self._payload(pattern, len(folded_key)).terms.append(term_id)

    def compile(self) -> Matcher:
        automaton = ahocorasick.Automaton()
        for pattern, payload in self._payloads.items():
            automaton.add_word(pattern, payload)
        if len(automaton):
            automaton.make_automaton()
        self._automaton = automaton
        return self

    def __len__(self) -> int:
        return len(self._payloads)

    def scan(self, folded: str) -> list[Hit]:
        """All whole-word hits, overlapping ones included (longest-match is the caller's call)."""
        if self._automaton is None or not len(self._automaton):
            return []
        hits = []
        append = hits.append
        for last, payload in self._automaton.iter(folded):
            # `last` is the index of the pattern's last character: a padding space, or for a
            # prefix term the last letter of the prefix.
            end = last if folded[last] == " " else last + 1
            append((end - payload.length, end, payload))
        return hits
