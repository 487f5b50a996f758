"""Words of a field, as the rule matcher sees them: folded tokens with their character spans.

Why reuse the tagger's `fold`: a rule term and the article text must be normalized by the same
function or they never meet (case, accents, punctuation). `fold` keeps the length of the text,
so a token found in the folded text indexes the original text directly: spans in a `Hit` point
at what the reader sees. The same tokenizer splits query words, so `U.S.` in a rule is the phrase
`u s`, exactly as in an article.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from wirewatch.transforms.tagging.text import fold

_TOKEN = re.compile(r"\S+")
_VOWELS = frozenset("aeiouy")
# Words the plural rule would damage and that matter in news.
_KEEP = frozenset("news series species always perhaps bus gas lens chaos thus".split())


def nfc(text: str) -> str:
    """NFC form; feeds almost always are already, and then offsets index the original text."""
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def tokenize(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """Folded tokens and their (start, end) character offsets in `nfc(text)`."""
    folded = fold(nfc(text))
    return folded.split(), token_spans(folded)


def token_spans(folded: str) -> list[tuple[int, int]]:
    """(start, end) of each token of a folded text, in the order of `folded.split()`."""
    return [m.span() for m in _TOKEN.finditer(folded)]


class StemCache(dict):
    """token -> `prefix + stem(token)`, filled on first use; `cache[token]` is a C-level dict
    lookup, which is what lets every article token be stemmed for a few microseconds in all.
    Cleared when it grows past `limit` (news text keeps inventing tokens: numbers, typos)."""

    def __init__(self, prefix: str = "", limit: int = 500_000):
        super().__init__()
        self.prefix, self.limit = prefix, limit

    def __missing__(self, token: str) -> str:
        if len(self) >= self.limit:
            self.clear()
        value = self[token] = self.prefix + stem(token)
        return value


def words(text: str) -> list[str]:
    """The folded tokens of a query word or phrase ("Peña-Nieto" -> ["pena", "nieto"])."""
    return _TOKEN.findall(fold(nfc(text)))


@lru_cache(maxsize=200_000)
def stem(token: str) -> str:
    """A light English stemmer: plurals, -ed, -ing and a final -e.

    Light on purpose: it only conflates forms of one word (talks/talked/talking -> talk,
    policies -> policy, moved/moving/move -> mov) and never reaches into derivations
    (deportation stays apart from deport; use `deport*` for that). Applied to rule terms and
    article tokens alike, so consistency matters more than linguistics. Cached: news reuses
    its words, and every article token is stemmed when any rule asks for stems.
    """
    if len(token) <= 3 or token in _KEEP or not token.isalpha():
        return token
    if token.endswith("ies") and len(token) > 4:
        token = token[:-3] + "y"
    elif token.endswith(("sses", "xes", "zes", "ches", "shes")):
        token = token[:-2]
    elif token.endswith("s") and not token.endswith(("ss", "us", "is")):
        token = token[:-1]
    if token.endswith("ied") and len(token) > 4:
        return token[:-3] + "y"
    for suffix in ("ing", "ed"):
        base = token[: -len(suffix)]
        if token.endswith(suffix) and len(base) >= 3 and _VOWELS.intersection(base):
            if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz" + "aeiouy":
                base = base[:-1]  # stopped -> stop
            return base
    if len(token) > 3 and token.endswith("e"):
        token = token[:-1]  # move -> mov, like moved and moving
    return token
