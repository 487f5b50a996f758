"""Context rules that fix what a dictionary alone gets wrong about one-word names.

A gazetteer knows that "Jordan" is a country and "Chicago" a city; the text around a mention
says when it is not:
- a part of a longer name: "Neil Jordan", "Colorado Rockies", "China Daily", "U.S. Open"
  (except in Headline Case titles, where every word is capitalized).
  The mention is dropped; after a name that *ends* with the word ("Neil Jordan") later bare
  mentions in the article are dropped too (one sense per discourse: "Jordan said" is the
  director), while "U.S. Open" says nothing about a later "U.S.";
- an adjective: "New York-based", "Hong Kong-listed" still name the place, but as a modifier
  (kind `modifier`, like a demonym), not as a name of it;
- a sports club: in a sport article a city or US state followed by a score, or in an all-caps
  fixture line ("CHICAGO 72 64", "ATLANTA AT CHICAGO"), or the subject of a sports verb, is the
  club named after it: an ORG with a generated id (`org:chicago`).
"""

from __future__ import annotations

import re
from dataclasses import replace

from wirewatch.transforms.tagging.entities import Mention
from wirewatch.transforms.tagging.text import STOPWORDS, Prepared, fold

# Capitalized words that follow a place without making a longer name (U.S. President ...).
_TITLES = frozenset(
    """president vice secretary minister prime foreign interior defence defense
finance trade ambassador envoy senator governor mayor king queen prince leader government
officials official army navy police troops forces embassy consulate
monday tuesday wednesday thursday friday saturday sunday january february march april may
june july august september october november december""".split()
)
# Capitalized words that start sentences without being part of a name ("In Jordan, ...").
_OPENERS = STOPWORDS | frozenset(
    """after before when while since during despite although though
because meanwhile also then however across throughout like unlike outside inside near
officials both neither either many most some""".split()
)
_CLUB_SUBTYPES = frozenset({"city", "us-state"})
_SCORE = re.compile(r"\s*\d{1,3}(?:[ ,.]|$)")
_DATE = re.compile(r"\s*\d{4}-\d\d-\d\d")
_SPORT_VERBS = frozenset(
    """beat beats defeated defeats edged blanked routed tied trailed led
leads won wins lost loses scored rallied swept hosts host visit visits""".split()
)
_PLACE_PREPOSITIONS = frozenset("in from near to of outside inside around across".split())


def _next_token(original: str, end: int) -> str:
    """The word after a span (within 40 characters), skipping one space."""
    start = end + 1 if original[end : end + 1] == " " else end
    stop = original.find(" ", start, end + 40)
    return original[start : stop if stop >= 0 else end + 40]


def _prev_token(original: str, start: int) -> str:
    """The word before a span (within 40 characters), or "" when the span is not after a space."""
    low = max(0, start - 40)
    if start <= low or original[start - 1] != " ":
        return ""
    stop = start - 1
    while stop > low and original[stop - 1] == " ":
        stop -= 1
    space = original.rfind(" ", low, stop)
    return original[space + 1 if space >= 0 else low : stop]


def _titlecase(token: str) -> bool:
    """Starts upper-case and is not all upper-case: Gaal, MaliVai, Daily (not USA, not 1996)."""
    return token[:1].isupper() and token != token.upper()


def _starts_name(text: Prepared, m: Mention, starts: set[int]) -> bool:
    """ "China Daily", "U.S. Open", "Douglas & Lomason": the place begins a longer name.

    After a final dot ("... from the U.S. But ...", "... the U.S. Tillerson said") the next
    word may start a sentence: then it must not be an opener nor another mention."""
    after = _next_token(text.original, m.end)
    if after == "&":
        return True
    if text.original[m.end : m.end + 1] != " " or not _titlecase(after):
        return False
    word = fold(after).strip()
    if m.surface.endswith(".") and (word in _OPENERS or m.end + 1 in starts):
        return False
    return word not in _TITLES


def _ends_name(text: Prepared, m: Mention) -> bool:
    """ "Neil Jordan", "MaliVai Washington": a capitalized word right before it (no comma)."""
    before = _prev_token(text.original, m.start)
    return _titlecase(before) and before[-1].isalnum() and fold(before).strip() not in _OPENERS


def _acronym(surface: str) -> bool:
    """U.S., UN, NATO: not a surname, so "Top U.S. officials" says nothing about later U.S."""
    return surface.isupper() and (len(surface) <= 5 or "." in surface)


def _headline_case(title: str) -> bool:
    """ "Beijing Doesn't Want America to See Its Trade-War Pain": every word is capitalized, so
    capitals say nothing about names (CoNLL's all-caps headlines are not affected)."""
    words = [w for w in title.split() if len(w) >= 4 and w[0].isalpha()]
    capitalized = sum(1 for w in words if _titlecase(w))
    return len(words) >= 3 and capitalized >= 0.6 * len(words)


def _is_modifier(text: Prepared, m: Mention) -> bool:
    after = text.original[m.end : m.end + 2]
    return after[:1] == "-" and after[1:].islower()


def _club_context(text: Prepared, m: Mention) -> bool:
    after = text.original[m.end : m.end + 12]
    if _DATE.match(after):
        return False  # dateline: "CHICAGO 1996-08-31"
    if _SCORE.match(after):
        return True
    next_word = fold(_next_token(text.original, m.end)).strip()
    prev_word = fold(_prev_token(text.original, m.start)).strip()
    if m.surface.isupper() and "at" in (next_word, prev_word):
        return True
    if prev_word in _PLACE_PREPOSITIONS:
        return False
    return next_word in _SPORT_VERBS or prev_word in _SPORT_VERBS


def apply(
    text: Prepared, mentions: list[Mention], subtypes: dict[str, str | None], sport: bool
) -> list[Mention]:
    """Drop, re-kind or re-type mentions by their context. `subtypes`: entity id -> subtype."""
    out: list[Mention] = []
    name_parts: set[str] = set()
    # Mentions come in text order: only a title mention needs the title's casing looked at.
    headline_case = (
        mentions
        and mentions[0].start < text.title_end
        and _headline_case(text.original[: text.title_end])
    )
    starts = {m.start for m in mentions}
    for m in mentions:
        in_headline_case = headline_case and m.start < text.title_end
        if (
            m.type in ("PLACE", "ORG")
            and m.kind in ("name", "alias", "ambiguous")
            and not in_headline_case
        ):
            if " " not in m.surface.strip(".") and not _acronym(m.surface):
                key = text.folded[m.start : m.end].strip()  # fold() of the surface
                if key in name_parts or _ends_name(text, m):
                    name_parts.add(key)  # later "Jordan" is the person too
                    continue
            if m.type == "PLACE" and _starts_name(text, m, starts):
                continue
        if m.type == "PLACE" and m.kind != "demonym" and _is_modifier(text, m):
            m = replace(m, kind="modifier")
        elif (
            sport
            and m.type == "PLACE"
            and subtypes.get(m.id) in _CLUB_SUBTYPES
            and _club_context(text, m)
        ):
            m = replace(m, id=f"org:{m.id}", type="ORG", kind="club", wikidata=None)
        out.append(m)
    return out
