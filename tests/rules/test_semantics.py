"""What each operator, field, wildcard and proximity means: one row per behaviour.

Every row is checked twice, through the presearch index and by evaluating every rule, so the
table also pins the index to the naive semantics.
"""

import pytest

from tests.rules.helpers import config, tagged
from wirewatch.transforms.rules.ruleset import compile_rules
from wirewatch.transforms.rules.schema import RuleConfig

TITLE = "Tillerson and Videgaray discuss the border wall"
TEXT = (
    "Officials from México and the U.S. met on Tuesday. Deportations rose while the "
    "proposed wall along the border stalled; Peña Nieto's office declined to comment."
)
TOPICS = {"immigration.border": 0.72, "economy": 0.31}
ENTITIES = {
    "tillerson": ("Rex Tillerson", "PERSON", 3),
    "videgaray": ("Luis Videgaray", "PERSON", 1),
    "mexico": ("Mexico", "PLACE", 2),
}
ARTICLE = tagged(
    TITLE,
    TEXT,
    topics=TOPICS,
    entities=ENTITIES,
    feed="Reuters-World",
    lang="en-US",
    authors=("Dave Graham", "Lesley Wroughton"),
)

ROWS = [
    # words, case, accents, punctuation
    ("wall", True),
    ("WALL", True),
    ("fence", False),
    ("mexico", True),
    ("méxico", True),
    ("MEXICO", True),
    ("pena", True),
    ("peña", True),
    ("u.s.", True),
    ("U.S.", True),
    ("us", False),
    ("nieto's", True),
    ("nieto", True),
    # phrases
    ('"border wall"', True),
    ('"wall border"', False),
    ('"the border wall"', True),
    ('"peña nieto"', True),
    ('"Peña-Nieto"', True),
    ('"Videgaray border"', False),
    # boolean
    ("wall AND fence", False),
    ("wall fence", False),
    ("wall OR fence", True),
    ("wall AND NOT fence", True),
    ("wall -fence", True),
    ("wall -border", False),
    ("NOT fence AND wall", True),
    ("(fence OR gate) AND wall", False),
    ("fence OR gate OR Tuesday", True),
    ("-(fence OR gate) wall", True),
    ("wall OR fence AND gate", True),
    ("(wall OR fence) AND gate", False),
    ("+wall +border", True),
    ("+wall +fence", False),
    # prefix wildcards
    ("deport*", True),
    ("Deport*", True),
    ("deportz*", False),
    ("tilles*", False),
    ("videg*", True),
    ('"border wa*"', True),
    ('"border wo*"', False),
    # proximity: phrase slop (other words inside the window, any order)
    ('"proposed border"~3', True),
    ('"proposed border"~2', False),
    ('"border proposed"~3', True),
    ('"wall stalled"~3', True),
    ('"wall stalled"~2', False),
    ('"officials tuesday"~8', True),
    ('"officials tuesday"~7', False),
    ('"border border"~20', False),  # one "border" in the title, one in the text
    ('"the the"~20', True),
    ('"tuesday tuesday"~20', False),
    # NEAR/n: at most n words apart (n-1 words between), either order
    ("wall NEAR/3 border", True),
    ("proposed NEAR/4 border", True),
    ("proposed NEAR/3 border", False),
    ("border NEAR/4 proposed", True),
    ("deport* NEAR/3 rose", True),
    ('"border wall" NEAR/1 discuss', False),
    ('"border wall" NEAR/2 discuss', True),
    ("tillerson NEAR/1 videgaray", False),
    ("tillerson NEAR/2 videgaray", True),
    ("wall NEAR/1 wall", False),
    # fields
    ("title:wall", True),
    ("title:deport*", False),
    ("text:deport*", True),
    ("title:tillerson", True),
    ("text:tillerson", False),
    ('title:("border wall" OR fence)', True),
    ("title:(deport* OR fence)", False),
    ("author:graham", True),
    ('author:"dave graham"', True),
    ('author:"graham lesley"', False),
    ("author:wroughton", True),
    ("author:smith", False),
    ("feed:reuters-world", True),
    ("feed:REUTERS-WORLD", True),
    ("feed:reuters", False),
    ("feed:reut*", True),
    ("feed:ap*", False),
    ("lang:en", True),
    ("lang:en-us", True),
    ("lang:en_US", True),
    ("lang:en-gb", False),
    ("lang:es", False),
    ("lang:en*", True),
    # tags
    ("topic:immigration.border", True),
    ("topic:immigration", True),
    ("topic:immigration.border.wall", False),
    ("topic:economy", True),
    ("topic:immigration>=0.7", True),
    ("topic:immigration>0.72", False),
    ("topic:economy>=0.5", False),
    ("topic:economy<0.5", True),
    ("topic:economy<=0.2", False),
    ("entity:tillerson", True),
    ('entity:"Rex Tillerson"', True),
    ("entity:Tillerson", True),
    ("entity:pemex", False),
    ('entity:"méxico"', True),
    ("entity:tillerson>=3", True),
    ("entity:tillerson>3", False),
    ("entity:videgaray>=2", False),
    ("entity:mexico<3", True),
    ("type:PERSON", True),
    ("type:person", True),
    ("type:ORG", False),
    # mixed
    ("topic:immigration AND (wall OR fence) -type:ORG", True),
    ("entity:tillerson AND title:(border NEAR/1 wall)", True),
    ("topic:economy>=0.5 OR deport*", True),
]


@pytest.fixture(scope="module")
def rules():
    return compile_rules(config(*[q for q, _ in ROWS]))


@pytest.mark.parametrize("index", range(len(ROWS)), ids=[q for q, _ in ROWS])
def test_row(rules, index):
    query, expected = ROWS[index]
    rule_id = f"r{index}"
    fast = {m.rule_id for m in rules.match(ARTICLE)}
    naive = {m.rule_id for m in rules.match_naive(ARTICLE)}
    assert (rule_id in fast) == expected, query
    assert (rule_id in naive) == expected, query


def test_stemming_is_per_rule():
    rules = compile_rules(
        config(
            RuleConfig(id="plain", query="talk AND policy"),
            RuleConfig(id="stemmed", query="talk AND policy", stem=True),
            RuleConfig(id="phrase", query='"deport migrant"', stem=True),
            RuleConfig(id="no-derivation", query="deportation", stem=True),
        )
    )
    article = tagged("Ministers talked about policies", "Officials deported migrants.")
    assert {m.rule_id for m in rules.match(article)} == {"stemmed", "phrase"}
    assert {m.rule_id for m in rules.match_naive(article)} == {"stemmed", "phrase"}


def test_default_fields_are_title_and_text_not_author():
    rules = compile_rules(config("graham"))
    assert rules.match(ARTICLE) == []


def test_phrases_do_not_cross_title_and_text_or_authors():
    rules = compile_rules(config('"wall officials"', 'author:"graham lesley"'))
    assert rules.match(ARTICLE) == []
