"""Parser: canonical round-trips, precedence, and errors that point at the right column."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wirewatch.transforms.rules.errors import QueryError
from wirewatch.transforms.rules.query import And, Near, Not, Or, Tag, Term
from wirewatch.transforms.rules.syntax import parse


@pytest.mark.parametrize(
    "query, canonical",
    [
        ("wall", "wall"),
        ("border wall", "border AND wall"),
        ("border AND wall OR fence", "border AND wall OR fence"),
        ("border OR wall fence", "border OR wall AND fence"),
        ("(border OR wall) fence", "(border OR wall) AND fence"),
        ('"border wall"', '"border wall"'),
        ('"border wall"~5', '"border wall"~5'),
        ("wall -trump", "wall AND NOT trump"),
        ("wall NOT trump", "wall AND NOT trump"),
        ("+wall +fence", "wall AND fence"),
        ("-(a OR b) c", "NOT (a OR b) AND c"),
        ("NOT NOT a", "NOT NOT a"),
        ("deport*", "deport*"),
        ("border NEAR/3 wall", "border NEAR/3 wall"),
        ("border NEAR wall", "border NEAR/5 wall"),
        ('"border wall" NEAR/10 deport*', '"border wall" NEAR/10 deport*'),
        ("title:wall", "title:wall"),
        ('title:(wall OR "border fence")', 'title:wall OR title:"border fence"'),
        ('title:(wall OR "border fence") x', '(title:wall OR title:"border fence") AND x'),
        ("a AND (b AND c)", "a AND b AND c"),
        ("title:(wall text:fence)", "title:wall AND text:fence"),
        ("title:(a NEAR/2 b)", "title:a NEAR/2 title:b"),
        ("topic:immigration>=0.5", "topic:immigration>=0.5"),
        ("topic:immigration > 0.25", "topic:immigration>0.25"),
        ('entity:"Rex Tillerson"', 'entity:"Rex Tillerson"'),
        ("entity:tillerson>=2", "entity:tillerson>=2"),
        ("type:PERSON feed:reuters lang:en", "type:PERSON AND feed:reuters AND lang:en"),
        ("feed:reu* lang:pt*", "feed:reu* AND lang:pt*"),
        ("author:smith", "author:smith"),
        ("TITLE:wall", "title:wall"),
        ("ANDROID ORACLE NOTE NEARBY", "ANDROID AND ORACLE AND NOTE AND NEARBY"),
        ("and or not", "and AND or AND not"),
        ("U.S.-Mexico", "U.S.-Mexico"),
        ("“border wall”", '"border wall"'),
        ("a\n  AND b", "a AND b"),
    ],
)
def test_canonical_form_and_round_trip(query, canonical):
    tree = parse(query)
    assert str(tree) == canonical
    assert parse(str(tree)) == tree


def test_precedence_not_near_and_or():
    tree = parse("a OR -b c NEAR/2 d")
    assert isinstance(tree, Or)
    left, right = tree.children
    assert left == Term("a")
    assert isinstance(right, And)
    assert right.children[0] == Not(Term("b"))
    assert right.children[1] == Near(Term("c"), Term("d"), 2)


def test_spans_point_into_the_query():
    query = "wall AND topic:immigration>=0.5"
    tag = parse(query).children[1]
    assert isinstance(tag, Tag)
    assert query[slice(*tag.span)] == "topic:immigration>=0.5"


@pytest.mark.parametrize(
    "query, column, width, message",
    [
        ("AND wall", 1, 3, "AND needs a term on each side"),
        ("wall OR", 8, 1, "the query ends where a term is expected"),
        ("wall AND (fence OR gate", 10, 1, "this '(' is never closed"),
        ("wall)", 5, 1, "this ')' closes nothing"),
        ('wall "border', 6, 7, "this quote is never closed"),
        ("titel:wall", 1, 5, "unknown field 'titel'"),
        ("de*port", 3, 1, "a wildcard '*' may only end a word"),
        ("d*", 1, 2, "a prefix needs at least 2 characters"),
        ("topic:x>=high", 10, 4, "'high' is not a number"),
        ("type:PERSON>=2", 12, 3, "type: takes no threshold"),
        ("title:wall>=2", 11, 3, "title: takes no threshold"),
        ("wall ~ 3", 6, 1, "'~n' (proximity) only follows"),
        ("a NEAR/2 b NEAR/2 c", 12, 6, "NEAR cannot be chained"),
        ("(a OR b) NEAR/2 c", 1, 8, "NEAR joins words, prefixes or phrases"),
        ("title:a NEAR/2 b", 1, 16, "both sides of NEAR must search the same field"),
        ("a NEAR/500 b", 3, 8, "NEAR/n takes 1 to 100"),
        ('"a b"~500', 6, 4, "proximity is at most 100 words"),
        ('""', 1, 2, "the phrase is empty"),
        ("topic:(a OR b)", 1, 7, "topic:( ... ) is not supported"),
        ("entity:tiller*", 8, 7, "entity: takes an exact value, not a prefix"),
        ("a = b", 3, 1, "'=' only follows a topic or entity value"),
        ("   ", 1, 1, "the query is empty"),
    ],
)
def test_errors_point_at_the_mistake(query, column, width, message):
    with pytest.raises(QueryError) as info:
        parse(query)
    located = info.value.located(query)
    first, line, caret = located.split("\n")
    assert first.startswith(f"column {column}: {message}"), first
    assert "Fix: " in first
    assert line == "    " + query
    assert caret == "    " + " " * (column - 1) + "^" * width


def test_absurd_nesting_is_an_error_not_a_crash():
    assert parse("(" * 200 + "a" + ")" * 200) == Term("a")  # parentheses alone do not nest
    alternating = "x"
    for _ in range(60):
        alternating = f"a AND (c OR {alternating})"
    for query in ["NOT " * 300 + "a", alternating]:
        with pytest.raises(QueryError) as info:
            parse(query)
        assert "nests more than 50 levels" in str(info.value)


def test_error_on_a_later_line_names_the_line():
    query = "wall\n  AND titel:x"
    with pytest.raises(QueryError) as info:
        parse(query)
    first, line, caret = info.value.located(query).split("\n")
    assert first.startswith("line 2, column 7: unknown field 'titel'")
    assert "did you mean 'title:'" in first
    assert line == "      AND titel:x"
    assert caret == "          ^^^^^"


# --- generated trees: print, parse, compare ----------------------------------------------

_word = st.sampled_from(["wall", "border", "mexico", "deport", "talks", "peña", "u.s", "c++"])
_field = st.sampled_from([None, "title", "text", "author"])


@st.composite
def _term(draw):
    field = draw(_field)
    if draw(st.booleans()):
        words = draw(st.lists(_word, min_size=1, max_size=3))
        slop = draw(st.none() | st.integers(0, 9))
        return Term(" ".join(words), field, phrase=True, slop=slop)
    return Term(draw(_word), field, prefix=draw(st.booleans()))


_tag = st.builds(
    Tag,
    st.sampled_from(["topic", "entity"]),
    st.sampled_from(["immigration", "x.y"]),
    st.sampled_from([None, ">=", ">", "<=", "<"]),
    st.just(0.5),
).map(lambda t: Tag(t.field, t.value, t.op, t.threshold if t.op else None))


def _near(draw_terms):
    return st.builds(
        lambda a, b, d: Near(
            Term(a.text, None, a.phrase, a.prefix), Term(b.text, None, b.phrase, b.prefix), d
        ),
        draw_terms,
        draw_terms,
        st.integers(1, 20),
    )


_leaf = _term() | _tag | _near(_term())
_tree = st.recursive(
    _leaf,
    lambda inner: (
        st.builds(Not, inner)
        | st.lists(inner, min_size=2, max_size=3).map(lambda cs: And(tuple(cs)))
        | st.lists(inner, min_size=2, max_size=3).map(lambda cs: Or(tuple(cs)))
    ),
    max_leaves=8,
)


def _flatten(node):
    """The parser flattens a AND (b AND c) into one And: compare modulo that."""
    if isinstance(node, (And, Or)):
        kids = []
        for child in map(_flatten, node.children):
            kids += child.children if type(child) is type(node) else [child]
        return type(node)(tuple(kids))
    if isinstance(node, Not):
        return Not(_flatten(node.child))
    return node


@settings(max_examples=200, deadline=None)
@given(_tree)
def test_generated_trees_round_trip(tree):
    text = str(tree)
    assert _flatten(parse(text)) == _flatten(tree), text
    assert str(parse(text)) == str(_flatten(parse(text)))


# --- the fast reader and lark agree: same tree, same spans, or the fast one steps aside ------

_piece = st.sampled_from(
    [
        "wall",
        "border",
        "deport*",
        "d*",
        "a*b",
        '"border wall"',
        '""',
        '"x y"~3',
        "~3",
        "NOT",
        "AND",
        "OR",
        "NEAR",
        "NEAR/2",
        "NEAR/0",
        "NEAR/500",
        "-",
        "+",
        "(",
        ")",
        "title:",
        "titel:",
        "topic:",
        "topic:x",
        "entity:e",
        ">=",
        "0.5",
        "abc",
        ":",
        "lang:en*",
        "feed:f",
        "type:PERSON",
        "“quoted”",
        "U.S.-Mexico",
        "ORx",
        "OR:",
        "author:",
    ]
)


def _spans(node) -> list:
    """Every node's type, printed form and span, depth first (spans do not take part in ==)."""
    out, stack = [], [node]
    while stack:
        item = stack.pop()
        out.append((type(item).__name__, str(item), item.span))
        stack += getattr(item, "children", ())
        stack += [getattr(item, k) for k in ("child", "left", "right") if hasattr(item, k)]
    return out


@settings(max_examples=400, deadline=None)
@given(st.lists(_piece, min_size=1, max_size=8), st.sampled_from([" ", "", "  "]))
def test_fast_reader_builds_what_lark_builds(pieces, gap):
    from wirewatch.transforms.rules.syntax import _FAST, _PARSER

    query = gap.join(pieces)
    fast = _FAST.parse(query)
    try:
        slow = _PARSER.parse(query)
    except Exception:  # noqa: BLE001  (lark rejects it: so must the fast reader)
        assert fast is None, query
        return
    if fast is not None:  # it may step aside on a query lark accepts; never build another tree
        assert _spans(fast) == _spans(slow), query


def test_a_long_run_of_spaces_is_read_once():
    """The fast reader reads whitespace as the lead of the next token; a run of spaces before a
    character no token starts with must not be split again in every way (2^n tries), nor read
    again from each of its characters."""
    for tail in ("=", "~", '"open'):
        with pytest.raises(QueryError):
            parse("wall" + " " * 100_000 + tail)
    assert parse("  wall" + " " * 100_000) == Term("wall")
