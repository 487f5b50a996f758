"""Evidence of words and prefixes found by string search is what a regex scan finds, and a
stemmed word's evidence by string search is what token positions give.

`units.token_hits` replaced a regex over the folded text (`(?<!\\S)word(?!\\S)`, and
`(?<!\\S)prefix\\S*`) for speed: the spans, their order and the limit must stay the same.
"""

import random
import re

from tests.rules.helpers import tagged
from wirewatch.transforms.rules.bind import _unit
from wirewatch.transforms.rules.match import StemNode, TextNode
from wirewatch.transforms.rules.units import token_hits
from wirewatch.transforms.rules.view import ArticleView
from wirewatch.transforms.tagging.text import fold

PIECES = [
    "wall",
    "walls",
    "wal",
    "awall",
    "Wall-Street",
    "wáll",
    "Peña",
    "u.s",
    "deport",
    "deported",
]
PIECES += ["  ", "\n", ",", "-", "ww", "w"]


def _regex_hits(folded: str, text: str, whole: bool, limit: int) -> list[tuple[int, int]]:
    tail = r"(?!\S)" if whole else r"\S*"
    return [m.span() for m in re.finditer(r"(?<!\S)" + re.escape(text) + tail, folded)][:limit]


def test_token_hits_equal_a_regex_scan_on_generated_texts():
    rng = random.Random(18)
    for _ in range(3000):
        folded = fold("".join(rng.choice(PIECES) + rng.choice(["", " "]) for _ in range(12)))
        for text in ("wall", "wal", "w", "deport", "pena", "u", "s", "ww"):
            whole = rng.random() < 0.5
            limit = rng.randint(0, 6)
            assert token_hits(folded, text, whole, limit) == _regex_hits(
                folded, text, whole, limit
            ), (folded, text, whole, limit)


STEM_PIECES = ["talk", "talks", "talked", "talking", "Talks", "walk", "stalk", "policy"]
STEM_PIECES += ["policies", "  ", ",", "-"]


def test_stemmed_word_evidence_equals_the_evidence_by_positions():
    """A StemNode finds its evidence by `str.find` of the field's tokens with its stem; the
    TextNode it replaced took the positions of the stem (several tokens' merged in text
    order), at most MAX_SPANS per field. Same spans, same order, same cut."""
    rng = random.Random(20)
    for _ in range(500):
        text = "".join(rng.choice(STEM_PIECES) + rng.choice(["", " "]) for _ in range(30))
        title = "".join(rng.choice(STEM_PIECES) + " " for _ in range(4))
        view = ArticleView(tagged(title, text, authors=("Ann Talks", "Bo Talking")))
        cases = (("talk", ("title", "text")), ("talk", ("author", "text")), ("policy", ("text",)))
        for word, fields in cases:
            unit = _unit(word, False, False, None, True)
            by_positions = TextNode(unit, fields, word)
            stemmed = StemNode(unit, fields, word, unit.leaves[0].stem)
            assert stemmed.eval(view) == by_positions.eval(view), (title, text, word)
            assert stemmed.holds(view) == by_positions.holds(view)
