"""The matcher keeps only outermost topic-term hits while it scans: the rules the scorer relies on."""

from wirewatch.transforms.tagging.matcher import Matcher
from wirewatch.transforms.tagging.text import fold


def term_spans(terms: dict[str, int], text: str) -> list[tuple[str, tuple[int, ...]]]:
    """(matched text, term ids) for each kept term hit of `text`."""
    matcher = Matcher()
    for term_id, (key, prefix) in enumerate((k.rstrip("*"), k.endswith("*")) for k in terms):
        matcher.add_term(key, prefix, term_id)
    folded = fold(f" {text} ")
    kept, _ = matcher.compile().scan(folded)
    return [(folded[start:end], (group,)) for start, end, group in kept]


def test_a_term_inside_a_longer_one_is_not_counted():
    terms = {"trade": 0, "war": 1, "trade war": 2}
    assert term_spans(terms, "a trade war, then war") == [("trade war", (2,)), ("war", (1,))]


def test_overlapping_terms_are_both_kept():
    terms = {"border security": 0, "security council": 1}
    assert term_spans(terms, "border security council") == [
        ("border security", (0,)),
        ("security council", (1,)),
    ]


def test_a_prefix_inside_a_whole_word_term_is_not_counted_twice():
    assert term_spans({"elect*": 0, "election": 1}, "the election") == [("election", (1,))]
    assert term_spans({"elect*": 0}, "electoral elect") == [("elect", (0,)), ("elect", (0,))]


def test_hits_with_the_same_span_are_all_kept():
    # `elect*` and `elect` are different patterns with the same span: both count.
    assert term_spans({"elect*": 0, "elect": 1}, "to elect") == [("elect", (0,)), ("elect", (1,))]


def test_a_hit_swallows_several_earlier_ones():
    terms = {"new": 0, "york": 1, "new york stock exchange": 2, "stock": 3}
    assert term_spans(terms, "new york stock exchange") == [("new york stock exchange", (2,))]


def test_hits_in_text_of_other_scripts_index_characters():
    # The automaton scans UTF-8 bytes; spans must still index the (folded) text's characters.
    matcher = Matcher()
    matcher.add_term("москва", False, 0)
    matcher.add_term("kyiv", False, 1)
    folded = fold(" Прага, Москва и Kyiv ")
    kept, _ = matcher.compile().scan(folded)
    assert [(folded[start:end], group) for start, end, group in kept] == [
        ("москва", 0),
        ("kyiv", 1),
    ]
