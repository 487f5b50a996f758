"""The headline-change rule: when is a copy of a story an *update* that must be seen?

Rule (documented in docs/stories.md, tested in tests/stories/test_material.py):
a headline's *markers* are
  - event classes from a small lexicon, inflections and synonyms folded into one class
    ("dies", "died", "killed", "dead" -> death; "injured", "hurt", "wounded" -> injury;
    "resigns", "quits" -> resign; "rises", "gains", "higher" -> up; ...),
  - every number ("Kill Nine" -> #9, "$3.6bn" -> #3 #6bn),
  - negation ("not", "no", "never", "won't", "denies" is a class of its own),
  - correction markers ("correction", "corrected", "clarification", "retraction", "update").
An article that joins an existing story is an **update** when its headline has a marker that no
earlier member's headline had, and it was not published before the story's latest member (a late
copy of an older version is a copy, not news). Otherwise it is a **copy**.

So "X injured in crash" then "X dies after crash" is an update (new class: death); "Pope Francis
dies" then "Pope Francis's death triggers succession" is a copy (same class); "Strikes kill
nine" then "Attack kills 12" is an update (new number). Rewordings, added names and trimmed
headlines are copies. What the rule cannot see: a change expressed only in words outside the
lexicon. On the 36 real headline edits that stay one story (bench/stories.py), the rule
calls 4 an update (3 new figures that are news, 1 added age); "any new content word" would
call 26 an update, which is every small rewording.
"""

from __future__ import annotations

from wirewatch.transforms.stories.fingerprint import NUMBER_WORDS
from wirewatch.transforms.tagging.text import fold

_CLASSES = {
    "death": "die dies died dying dead death deaths kill kills killed killing slain fatal "
    "fatally killer",
    "injury": "injure injured injures injuring injury injuries hurt wounded wounds wounding "
    "hospitalised hospitalized",
    "missing": "missing disappeared",
    "rescue": "rescued found freed released survives survived",
    "arrest": "arrest arrests arrested detained detains detain custody",
    "charge": "charged charges indicted indictment indicts sued sues lawsuit",
    "guilty": "convicted convicts guilty",
    "cleared": "acquitted acquits cleared exonerated",
    "sentence": "sentenced sentences jailed imprisoned",
    "resign": "resign resigns resigned resigning resignation quit quits quitting",
    "ousted": "fired sacked sacks ousted ousts dismissed dismisses removed",
    "win": "win wins won winning victory victorious elected",
    "lose": "lose loses lost losing defeat defeated concedes conceded",
    "cancel": "cancel cancels cancelled canceled scrapped scraps scrap halts halted suspends "
    "suspended abandons abandoned",
    "delay": "postpone postpones postponed delay delays delayed",
    "approve": "approve approves approved ratified ratifies passes passed",
    "reject": "reject rejects rejected blocks blocked veto vetoes vetoed",
    "agree": "agree agrees agreed agreement accord",
    "collapse": "collapse collapses collapsed bankrupt bankruptcy insolvent insolvency",
    "confirm": "confirm confirms confirmed",
    "deny": "deny denies denied",
    "up": "rise rises rose risen rising gain gains gained jump jumps jumped surge surges surged "
    "soar soars soared climb climbs climbed higher rally rallies rallied",
    "down": "fall falls fell fallen falling drop drops dropped slump slumps slumped sink sinks "
    "sank tumble tumbles tumbled plunge plunges plunged slide slides slid lower",
    "correction": "correction corrected corrects clarification retraction retracts retracted "
    "update updated",
}
_LEXICON = {word: cls for cls, words in _CLASSES.items() for word in words.split()}
_NEGATION = frozenset({"not", "no", "never", "without", "nor"})
_CONTRACTED_NOT = frozenset(
    {
        "don",
        "doesn",
        "didn",
        "won",
        "isn",
        "aren",
        "wasn",
        "weren",
        "can",
        "couldn",
        "wouldn",
        "shouldn",
        "hasn",
        "haven",
        "hadn",
    }
)
"""Folded "won't" reads "won t": a contraction stem followed by "t" is a negation."""


def markers(headline: str) -> frozenset[str]:
    """The material markers of one headline (see the module docstring)."""
    words = fold(headline).split()
    found: set[str] = set()
    for i, word in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if word in _CONTRACTED_NOT and nxt == "t":
            found.add("neg")
            continue
        if word in _NEGATION:
            found.add("neg")
        elif word in _LEXICON:
            found.add(_LEXICON[word])
        else:
            word = NUMBER_WORDS.get(word, word)
            # a letter is never a digit: most words are all letters, and skip the scan
            if not word.isalpha() and any(map(str.isdigit, word)):
                found.add("#" + word)
    return frozenset(found)


def new_markers(headline: str, earlier: set[str] | frozenset[str]) -> frozenset[str]:
    """Markers of `headline` that none of the earlier headlines had; empty for a plain copy."""
    return markers(headline) - earlier
