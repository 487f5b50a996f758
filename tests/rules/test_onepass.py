"""The one-pass reader builds the node that parse-then-bind builds, or steps aside.

Stepping aside (None) is always allowed: the two-pass way then reads the query. Building another
node, or vouching for a query the two-pass way rejects, never is.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.rules.helpers import config
from tests.rules.test_semantics import ROWS
from tests.rules.test_syntax import _piece, _tree
from wirewatch.transforms.rules.bind import Vocabulary, bind
from wirewatch.transforms.rules.errors import QueryError
from wirewatch.transforms.rules.onepass import OnePass
from wirewatch.transforms.rules.ruleset import compile_rules
from wirewatch.transforms.rules.syntax import parse

VOCAB = Vocabulary.from_config(config())
READER = OnePass(VOCAB)  # shared on purpose: its memos must never leak one query into another


def two_pass(query: str, stem: bool):
    """parse then bind, or None where the two-pass way reports a problem."""
    try:
        tree = parse(query)
    except QueryError:
        return None
    problems: list = []
    node = bind(tree, VOCAB, stem, problems)
    return None if problems else node


def agree(query: str, stem: bool = False) -> None:
    fast = READER.compile(query, stem)
    slow = two_pass(query, stem)
    if slow is None:
        assert fast is None, query
    elif fast is not None:
        assert fast == slow, query


EXTRA = [
    "wall",
    "wall OR fence OR gate",
    "a AND (b AND c)",
    "(a OR b) OR (c OR d)",
    "a OR (b AND c) OR -(d OR e)",
    "x OR +(a OR b)",
    "+(a AND b) c",
    "NOT NOT a",
    '"border wall" OR "wall border"~3',
    'title:wall OR "a b"~3',
    "title:wall title:wall",
    "wall title:wall",
    "deport* AND mexico",
    "topic:immigration AND wall",
    "topic:immigration>=0.5 OR topic:economy<0.2",
    'entity:"Rex Tillerson" AND (wall OR fence) -gate',
    "entity:tillerson>=2",
    "wall mexico type:PERSON",
    "feed:reu* lang:pt* feed:Reuters lang:EN_us",
    "border NEAR/3 wall",
    "border NEAR wall",
    '"border wall" NEAR/10 deport*',
    "title:a NEAR/2 title:b",
    "(a) NEAR/2 b",
    "a NEAR/2 b NEAR/2 c",
    "title:(wall OR fence)",
    "topic:imigration",
    "entity:nobody OR wall",
    "wall)",
    "(wall",
    'wall "border',
    "“border wall” OR wall",
    "U.S.-Mexico",
    "ANDROID ORACLE NOTE NEARBY OR:x NEAR(a) OR(b)",
    "a\n  AND b",
    "   ",
    "",
    "OR",
    "title :wall",
    "topic:x>=high",
    "a" + " OR (b" * 30 + ")" * 30,
    "NOT " * 60 + "a",
    "-" * 60 + "a",
    "wall~3",
    '"a b"~3x',
    "a = b",
    "d*",
    "de*port",
    "x>=1",
    # values made straight from their parts, and the ones the builder checks first
    "ab* OR a* OR a** OR *a OR ab*c* OR abc*",
    '"deport* wall" OR "a* b" OR "" OR " " OR "a  b" OR "Peña Nieto" OR "123 45"',
    '"a b"~100 OR "a b"~101 OR "a"~3 OR "a b"~0 OR "talks talked"~2',
    'title:"a b"~3 OR Title:wall OR text:de* OR author:"x y" OR title:d* OR TITLE:"a*"',
    'title:"" OR text:"a b"~101 OR author:a** OR title:wall>=2 OR title:"x"~2',
    "talks talked 12 x1 U2 Ab",
    'a NEAR/0 b OR a NEAR/101 b OR a NEAR/100 b OR "a b"~2 NEAR/3 c OR "a b" NEAR/3 "c"~2',
    'a NEAR/3 de* OR a* NEAR b OR "a b" NEAR "" OR a NEAR b c OR (a NEAR/2 "b c") d NEAR e',
    'talks NEAR/3 "talked walls" OR "a*" NEAR b OR a NEAR/2 b NEAR c OR Ab NEAR/1 cD',
]


@pytest.mark.parametrize("stem", [False, True])
@pytest.mark.parametrize("query", EXTRA + [q for q, _ in ROWS])
def test_written_queries(query, stem):
    agree(query, stem)


def test_the_common_forms_are_read_in_one_pass():
    """Stepping aside is allowed, but not for what rule sets are made of."""
    for query in EXTRA[:23] + [q for q, _ in ROWS if two_pass(q, False) is not None]:
        if "title:(" not in query and "”" not in query:
            assert READER.compile(query, False) is not None, query


@settings(max_examples=400, deadline=None)
@given(st.lists(_piece, min_size=1, max_size=8), st.sampled_from([" ", "", "  "]), st.booleans())
def test_generated_pieces(pieces, gap, stem):
    agree(gap.join(pieces), stem)


@settings(max_examples=200, deadline=None)
@given(_tree, st.booleans())
def test_generated_trees(tree, stem):
    agree(str(tree), stem)


def test_compile_rules_errors_are_the_two_pass_errors():
    """A query the reader steps aside from still fails with the parser's or bind's message."""
    from wirewatch.transforms.rules.errors import RuleError

    with pytest.raises(RuleError) as info:
        compile_rules(config("wall OR fence", "topic:imigration AND wall", "(wall"))
    problems = [str(p) for p in info.value.problems]
    assert len(problems) == 2
    assert "column 7: unknown topic 'imigration'" in problems[0]
    assert "column 1: this '(' is never closed" in problems[1]


def test_a_shape_read_before_makes_each_query_its_own_node():
    """Queries of one shape (the same token kinds) share a recipe, never a term or a verdict:
    a word the builder rejects, an unknown topic or a bad ~n fails its query alone."""
    reader = OnePass(VOCAB)
    same_shapes = [
        ["wall OR fence", "de*port OR fence", "gate OR wall*"],
        ["topic:immigration AND wall", "topic:imigration AND wall", "title:wall AND fence"],
        ['"a b"~3 NEAR c', '"a b"~300 OR c', '"a b"~3 OR c', '"" OR c'],
        ["a NEAR/3 b", "a NEAR/0 b", "a* NEAR/3 b", "a NEAR/3 title"],
        ["(a OR b) c", "(a* OR b) c", "(a OR b) c*"],
    ]
    for queries in same_shapes:
        for query in queries:
            for stem in (False, True):
                fast, slow = reader.compile(query, stem), two_pass(query, stem)
                assert fast == slow or (fast is None and slow is not None), query
