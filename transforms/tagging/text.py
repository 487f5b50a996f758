"""Text folding shared by the gazetteer, the taxonomy and the matcher.

Why one fold: an alias and the article text must be normalized by the *same* function or they
never meet. The fold lower-cases, strips accents (Peña -> pena) and turns every character that is
not a letter or digit into a space, one character for one character. Keeping the length lets a
match in the folded text index the original text directly (for surface forms and case checks)
without an offset map. Patterns are stored padded with spaces (" mexico city "), so the matcher
only ever finds whole words: word-boundary safety comes from the data, not from checks.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass

# Letters NFKD does not decompose but that readers treat as their base letter.
_EXTRA = {
    "ø": "o",
    "Ø": "o",
    "ł": "l",
    "Ł": "l",
    "đ": "d",
    "Đ": "d",
    "ð": "d",
    "Ð": "d",
    "þ": "t",
    "Þ": "t",
    "æ": "a",
    "Æ": "a",
    "œ": "o",
    "Œ": "o",
    "ß": "s",
    "ı": "i",
}


def _fold_char(ch: str) -> str:
    if ch in _EXTRA:
        return _EXTRA[ch]
    if not ch.isalnum():
        return " "
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    base = base.lower()
    if len(base) == 1 and base.isalnum():
        return base
    low = ch.lower()
    return low if len(low) == 1 else ch


def _build_table() -> dict[int, str]:
    """Only characters that change are in the table; str.translate leaves the rest as they are."""
    table = {}
    for code in range(0x3000):
        ch = chr(code)
        folded = _fold_char(ch)
        if folded != ch:
            table[code] = folded
    for code in range(0x3000, 0x3040):  # CJK punctuation
        table[code] = " "
    table[0xFEFF] = " "
    return table


_TABLE = _build_table()
# Latin-1 fast path: bytes.translate is a C table lookup per byte (~1 ns/char); str.translate
# with a dict costs ~30 ns/char. Latin-1 covers ASCII and the accented letters and signs of
# Western European text (é, ñ, £); a byte whose character does not fold to one ASCII letter
# (µ, ¼) stays as it is, so the ASCII decode after the table fails and the slow path takes
# that text. Characters beyond Latin-1 (’, “, —) are folded before the table, one for one.
_BYTES_TABLE = bytes(
    ord(folded) if len(folded) == 1 and folded.isascii() else i
    for i, folded in ((i, _TABLE.get(i, chr(i))) for i in range(256))
)
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_FOLD_ERRORS = "wirewatch.fold"


def _fold_one(match: re.Match) -> str:
    ch = match.group()
    return _TABLE.get(ord(ch), ch)


def _fold_unencodable(error: UnicodeEncodeError) -> tuple[str, int]:
    """Encoding to Latin-1 calls this once per run of other characters ("’", "—"), so
    mostly-Latin text (most news) folds at codec speed instead of through a regex callback per
    character. A run that does not fold to ASCII (other scripts) re-raises: the caller's slow
    path then handles the whole text."""
    folded = error.object[error.start : error.end].translate(_TABLE)
    if not folded.isascii():
        raise error
    return folded, error.end


codecs.register_error(_FOLD_ERRORS, _fold_unencodable)

# Function words that are also acronyms (US, IT, WHO): in all-caps text they are just words.
STOPWORDS = frozenset(
    """a an and are as at be but by for from has have he her his i if in into
is it its no not of on or our she so that the their they this to up us was we were who will
with you""".split()
)


def fold(text: str) -> str:
    """Same length as `text` (after NFC): lower-case, accent-free, non-alphanumerics as spaces."""
    try:
        return text.encode("latin-1", _FOLD_ERRORS).translate(_BYTES_TABLE).decode("ascii")
    except UnicodeError:  # letters of other scripts stay (lower-cased): slow path
        return _NON_ASCII.sub(_fold_one, text).translate(_TABLE)


def key(phrase: str) -> str:
    """The matching key of an alias or term: folded, single-spaced, stripped ("U.S." -> "u s")."""
    return " ".join(fold(unicodedata.normalize("NFC", phrase)).split())


_NOT_ALNUM = re.compile(r"[\W_]+")  # \w is exactly str.isalnum() plus "_"


def alnum(text: str) -> str:
    """Only the letters and digits of `text`, as written: "U.S." -> "US"."""
    return _NOT_ALNUM.sub("", text)


def is_acronym(alias: str) -> bool:
    """US, U.S., UN, NATO, WHO: all letters upper-case and at most 5 of them."""
    letters = [c for c in alias if c.isalpha()]
    return 0 < len(letters) <= 5 and all(c.isupper() for c in letters) and " " not in alias.strip()


@dataclass(frozen=True)
class Prepared:
    """An article's text ready for matching: `original` and `folded` have the same length.

    Title and body are joined with a separator that folds to three spaces, so that no
    (single-spaced) pattern can match across them; `title_end` tells which part a hit is in.
    """

    original: str
    folded: str
    title_end: int
    has_upper: bool


def _squeeze(text: str) -> str:
    """Single-space the text, but only when it needs it ("Mexico\n  City"): splitting 500
    words costs more than all the substring checks, and fold() blanks the rest one for one."""
    text = _nfc(text).strip()
    if "  " in text or "\n" in text or "\t" in text or "\r" in text or "\xa0" in text:
        return " ".join(text.split())
    return text


def prepare(title: str, body: str) -> Prepared:
    title, body = _squeeze(title), _squeeze(body)
    original = f" {title} | {body} "
    return Prepared(
        original=original,
        folded=fold(original),
        title_end=len(title) + 2,
        has_upper=not original.islower(),
    )


def _nfc(text: str) -> str:
    """NFC, checked cheaply first: ASCII and Latin-1 text ("£", "é" written composed) is
    always NFC (no character below U+0300 decomposes or combines), and encoding tells that
    in a fraction of what `is_normalized` takes."""
    if text.isascii():
        return text
    try:
        text.encode("latin-1")
        return text
    except UnicodeEncodeError:
        pass
    if unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", text)
