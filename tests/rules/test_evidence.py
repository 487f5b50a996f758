"""Evidence of words and prefixes found by string search is what a regex scan finds.

`units.token_hits` replaced a regex over the folded text (`(?<!\\S)word(?!\\S)`, and
`(?<!\\S)prefix\\S*`) for speed: the spans, their order and the limit must stay the same.
"""

import random
import re

from wirewatch.transforms.rules.units import token_hits
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
