"""The presearch index returns exactly what evaluating every rule returns.

Random rule sets over a small vocabulary (so that rules and articles collide often) are matched
against random articles, through the index and naively; matches and their evidence must agree.
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transforms.rules import compile_rules
from transforms.rules import match as m
from transforms.rules.presearch import anchor
from transforms.rules.query import And, Near, Not, Or, Tag, Term
from transforms.rules.schema import RuleConfig

from tests.rules.helpers import ENTITIES, TAXONOMY, config, tagged

VOCAB = ["wall", "walls", "border", "mexico", "méxico", "deport", "deported", "deportation",
         "talks", "talked", "peña", "nieto", "u.s", "the", "of", "trade", "tariff", "oil"]
PREFIXES = ["wa", "deport", "bor", "tal", "mex", "pe", "tr"]
TOPIC_IDS = [t.id for t in TAXONOMY]
ENTITY_IDS = [e.id for e in ENTITIES]
TYPES = ["PERSON", "ORG", "PLACE"]
FEEDS = ["wire", "reuters", "ap"]
LANGS = ["en", "en-us", "es"]

_field = st.sampled_from([None, None, "title", "text", "author"])
_word = st.sampled_from(VOCAB)


@st.composite
def _term(draw, field=True):
    f = draw(_field) if field else None  # NEAR sides: no field, no ~n of their own
    kind = draw(st.sampled_from(["word", "word", "prefix", "phrase"]))
    if kind == "word":
        return Term(draw(_word), f)
    if kind == "prefix":
        return Term(draw(st.sampled_from(PREFIXES)), f, prefix=True)
    words = draw(st.lists(_word | st.sampled_from([p + "*" for p in PREFIXES]), min_size=2,
                          max_size=3))
    slop = draw(st.none() | st.integers(0, 4)) if field else None
    return Term(" ".join(words), f, phrase=True, slop=slop)


_tag = (st.builds(Tag, st.just("topic"), st.sampled_from(TOPIC_IDS),
                  st.sampled_from([None, ">=", "<"]), st.just(0.5))
        | st.builds(Tag, st.just("entity"), st.sampled_from(ENTITY_IDS),
                    st.sampled_from([None, ">=", "<="]), st.just(2.0))
        | st.builds(Tag, st.just("type"), st.sampled_from(TYPES))
        | st.builds(Tag, st.just("feed"), st.sampled_from(FEEDS), st.none(), st.none(),
                    st.booleans())
        | st.builds(Tag, st.just("lang"), st.sampled_from(LANGS))).map(
    lambda t: Tag(t.field, t.value, t.op, t.threshold if t.op else None,
                  t.prefix and t.field == "feed"))
_near = st.builds(lambda a, b, d: Near(a, b, d), _term(False), _term(False), st.integers(1, 6))
_leaf = _term() | _term() | _tag | _near
_tree = st.recursive(_leaf, lambda inner: (
    st.builds(Not, inner)
    | st.lists(inner, min_size=2, max_size=3).map(lambda cs: And(tuple(cs)))
    | st.lists(inner, min_size=2, max_size=3).map(lambda cs: Or(tuple(cs)))), max_leaves=6)
_rule = st.builds(lambda tree, stem: (str(tree), stem), _tree, st.booleans())

_sentence = st.lists(_word | st.sampled_from(["and", "a", "talks,", "Wall-Street", "PEÑA"]),
                     max_size=14).map(" ".join)
_article = st.builds(
    lambda title, text, topics, ents, feed, lang, authors: tagged(
        title, text, topics=topics, entities={i: (i.title(), t, c) for i, (t, c) in ents.items()},
        feed=feed, lang=lang, authors=authors),
    _sentence, _sentence,
    st.dictionaries(st.sampled_from(TOPIC_IDS), st.sampled_from([0.2, 0.5, 0.9]), max_size=2),
    st.dictionaries(st.sampled_from(ENTITY_IDS), st.tuples(st.sampled_from(TYPES),
                                                           st.integers(1, 3)), max_size=2),
    st.sampled_from(FEEDS), st.sampled_from(LANGS + [None]),
    st.lists(st.sampled_from(["Dave Graham", "Ana Peña", "Wall Smith"]), max_size=2).map(tuple))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.data_too_large])
@given(st.lists(_rule, min_size=1, max_size=30), st.lists(_article, min_size=1, max_size=8))
def test_presearch_equals_naive(rules, articles):
    ruleset = compile_rules(config(*[RuleConfig(id=f"r{i}", query=q, stem=stem)
                                     for i, (q, stem) in enumerate(rules)]))
    for article in articles:
        assert ruleset.match(article) == ruleset.match_naive(article)


def test_presearch_skips_rules_that_cannot_match():
    ruleset = compile_rules(config(*[f"word{i} AND wall" for i in range(500)], "wall OR fence",
                                   "NOT fence"))
    view_article = tagged("A wall", "and word7")
    from transforms.rules.view import ArticleView
    candidates = ruleset.presearch.candidates(ArticleView(view_article))
    assert candidates == [7, 500, 501]
    assert [x.rule_id for x in ruleset.match(view_article)] == ["r7", "r500", "r501"]


def test_anchors():
    def anchor_of(query, stem=False):
        ruleset = compile_rules(config(RuleConfig(id="x", query=query, stem=stem)))
        return anchor(ruleset.rules[0].node)

    assert anchor_of("wall") == {"wall"}
    assert anchor_of("wall AND deportation") == {"deportation"}    # the rarer-looking word
    assert anchor_of("wall OR fence") == {"wall", "fence"}
    assert anchor_of('"the border wall"') == {"border"}
    assert anchor_of("talks", stem=True) == {"\x01talk"}
    assert anchor_of("deport*") == {"\x03deport"}
    assert anchor_of("topic:immigration.border") == {"\x02t:immigration.border",
                                                     "\x02t:immigration.border.wall"}
    assert anchor_of("NOT wall") is None
    assert anchor_of("wall OR NOT fence") is None
    assert anchor_of("feed:reu*") is None
    assert anchor_of("&") == frozenset()                             # can never match
    assert isinstance(compile_rules(config("&")).rules[0].node, m.NeverNode)
