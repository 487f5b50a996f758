"""Turn gazetteer hits into resolved mentions: case checks, ambiguity, longest match.

The order matters and is why this is not a one-liner over the automaton:
1. drop hits whose case says they are ordinary words ("turkey", "us");
2. pick the leftmost-longest spans ("Mexico City" hides the "Mexico" inside it) and note which
   entities they name outright (the article's anchors);
3. resolve every hit: an entity anchored elsewhere in the article wins (surname after full
   name), then one whose context words appear, then the single outright reading of the alias;
4. pick the leftmost-longest spans again among the resolved hits, so an unresolvable long
   alias does not hide a good shorter one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter

from wirewatch.transforms.tagging.gazetteer import STRONG_KINDS, AliasRef, Gazetteer
from wirewatch.transforms.tagging.text import STOPWORDS, Prepared, alnum


@dataclass(slots=True)
class Mention:
    """One resolved span of the prepared text naming one entity. (Not frozen: a frozen
    dataclass costs twice as much to build, and an article makes dozens.)"""

    start: int
    end: int
    surface: str
    id: str
    name: str
    type: str
    kind: str  # name | alias | demonym | ambiguous | partial | ner
    wikidata: str | None = None
    source: str = "gazetteer"


_NOT_ASCII_LETTER = re.compile(r"[^A-Za-z]+")


def _shouting(original: str, start: int, end: int) -> bool:
    """True when the words around a span are all upper-case (a headline or a results line)."""
    around = original[max(0, start - 24) : start] + original[end : end + 24]
    if around.isascii():  # the usual case, without a Python-level loop over characters
        ascii_letters = _NOT_ASCII_LETTER.sub("", around)
        return len(ascii_letters) >= 3 and ascii_letters.isupper()
    letters = [c for c in around if c.isalpha()]
    return len(letters) >= 3 and all(c.isupper() for c in letters)


def _mid_sentence(text: Prepared, start: int) -> bool:
    """A body word that does not open a sentence, in mixed-case text: there a capital letter
    says "name" ("in Sale, Morocco"), where at a sentence start or in a title it may not."""
    if start < text.title_end or not text.has_upper:
        return False
    before = text.original[max(0, start - 3) : start].rstrip()
    return before[-1:].isalnum() or before[-1:] in (",", ";")


def passes_case(ref: AliasRef, text: Prepared, start: int, end: int) -> bool:
    check = ref.check
    if check == "any":
        return True
    if check == "capital":
        first = text.original[start]
        if ref.accented and text.original[start:end].isascii():
            return first.isupper() and _mid_sentence(text, start)
        return first.isupper() or first.isdigit() or not text.has_upper
    surface, folded_key = text.original[start:end], text.folded[start:end]
    written = surface if surface == ref.form else alnum(surface)  # "UK" as listed: no regex
    if written != ref.form and not (len(ref.form) >= 4 and written == ref.form.capitalize()):
        return False
    return folded_key not in STOPWORDS or not _shouting(text.original, start, end)


def _longest(spans: list[tuple[int, int, object]]) -> list[tuple[int, int, object]]:
    """Leftmost-longest: `spans` come by ascending end, no two alike, so a stable sort by
    start of the reversed list puts the longest span first among those starting together."""
    chosen = []
    last_end = -1
    for span in sorted(reversed(spans), key=itemgetter(0)):
        if span[0] >= last_end:
            chosen.append(span)
            last_end = span[1]
    return chosen


def resolve(text: Prepared, hits: list, gazetteer: Gazetteer) -> list[Mention]:
    """`hits` are matcher hits (start, end, payload); returns mentions in text order."""
    candidates = []  # (start, end, refs that pass the case checks)
    context: set[int] = set()
    plain = True  # every candidate one alias that names its entity outright
    # Whether no candidate overlaps another (hits come by ascending end, so looking at the
    # previous one is enough): then picking the leftmost-longest spans keeps them all.
    apart, last_end = True, -1
    original, has_upper = text.original, text.has_upper
    for start, end, payload in hits:
        if payload.context:
            context.update(payload.context)
        aliases = payload.aliases
        if not aliases:
            continue
        if len(aliases) == 1:  # most names: no list to build
            ref = aliases[0]
            check = ref.check
            if check == "capital" and not ref.accented:  # passes_case's usual case, inline
                first = original[start]
                passed = first.isupper() or first.isdigit() or not has_upper
            else:
                passed = check == "any" or passes_case(ref, text, start, end)
            if passed:
                candidates.append((start, end, aliases))
                plain = plain and ref.kind in STRONG_KINDS
                apart, last_end = apart and start >= last_end, end
            continue
        refs = [r for r in aliases if passes_case(r, text, start, end)]
        if refs:
            candidates.append((start, end, refs))
            plain = False
            apart, last_end = apart and start >= last_end, end
    if not candidates:
        return []

    if plain:  # nothing to choose: each candidate is its one alias
        resolved = [(start, end, refs[0]) for start, end, refs in candidates]
    else:
        resolved = _resolved(candidates, context, apart)

    mentions = []
    entities = gazetteer.entities
    for start, end, ref in resolved if apart else _longest(resolved):
        if ref.dotted and original[end : end + 1] == ".":
            end += 1
        info = entities[ref.entity]
        mentions.append(
            Mention(
                start,
                end,
                original[start:end],
                info.id,
                info.name,
                info.type,
                ref.kind,
                info.wikidata,
            )
        )
    return mentions


def _resolved(candidates: list, context: set[int], apart: bool) -> list[tuple[int, int, AliasRef]]:
    """Each candidate's chosen alias (see _choose); those without one are left out.
    `apart`: no two candidates overlap."""
    anchors: set[int] = set()
    for _, _, refs in candidates if apart else _longest(candidates):
        # Only a span that can mean one entity anchors it: "Georgia" (country, or the state
        # with context) anchors neither.
        if refs[0].kind in STRONG_KINDS and (len(refs) == 1 or len({r.entity for r in refs}) == 1):
            anchors.add(refs[0].entity)
    resolved = []
    for start, end, refs in candidates:
        if len(refs) == 1:  # _choose's first case, without the call
            ref = refs[0]
            if ref.kind in STRONG_KINDS or ref.entity in anchors or ref.entity in context:
                resolved.append((start, end, ref))
            continue
        ref = _choose(refs, anchors, context)
        if ref is not None:
            resolved.append((start, end, ref))
    return resolved


def _choose(refs: Sequence[AliasRef], anchors: set[int], context: set[int]) -> AliasRef | None:
    if len(refs) == 1:
        ref = refs[0]
        if ref.kind in STRONG_KINDS or ref.entity in anchors or ref.entity in context:
            return ref
        return None
    by_entity: dict[int, AliasRef] = {}
    for ref in refs:
        by_entity.setdefault(ref.entity, ref)
    if len(by_entity) == 1:
        ref = next(iter(by_entity.values()))
        if ref.kind in STRONG_KINDS or ref.entity in anchors or ref.entity in context:
            return ref
        return None
    for pool in (anchors, context):
        picked = [r for e, r in by_entity.items() if e in pool]
        if len(picked) == 1:
            return picked[0]
    strong = [r for r in by_entity.values() if r.kind in STRONG_KINDS]
    return strong[0] if len(strong) == 1 else None
