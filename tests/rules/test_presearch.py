"""The presearch index returns exactly what evaluating every rule returns.

Random rule sets over a small vocabulary (so that rules and articles collide often) are matched
against random articles, through the index and naively; matches and their evidence must agree.
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.rules.helpers import ENTITIES, TAXONOMY, config, tagged
from wirewatch.transforms.rules import match as m
from wirewatch.transforms.rules.query import And, Near, Not, Or, Tag, Term
from wirewatch.transforms.rules.ruleset import compile_rules
from wirewatch.transforms.rules.schema import RuleConfig

VOCAB = [
    "wall",
    "walls",
    "border",
    "mexico",
    "méxico",
    "deport",
    "deported",
    "deportation",
    "talks",
    "talked",
    "peña",
    "nieto",
    "u.s",
    "the",
    "of",
    "trade",
    "tariff",
    "oil",
]
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
    words = draw(
        st.lists(_word | st.sampled_from([p + "*" for p in PREFIXES]), min_size=2, max_size=3)
    )
    slop = draw(st.none() | st.integers(0, 4)) if field else None
    return Term(" ".join(words), f, phrase=True, slop=slop)


_tag = (
    st.builds(
        Tag,
        st.just("topic"),
        st.sampled_from(TOPIC_IDS),
        st.sampled_from([None, ">=", "<"]),
        st.just(0.5),
    )
    | st.builds(
        Tag,
        st.just("entity"),
        st.sampled_from(ENTITY_IDS),
        st.sampled_from([None, ">=", "<="]),
        st.just(2.0),
    )
    | st.builds(Tag, st.just("type"), st.sampled_from(TYPES))
    | st.builds(Tag, st.just("feed"), st.sampled_from(FEEDS), st.none(), st.none(), st.booleans())
    | st.builds(Tag, st.just("lang"), st.sampled_from(LANGS))
).map(
    lambda t: Tag(
        t.field, t.value, t.op, t.threshold if t.op else None, t.prefix and t.field == "feed"
    )
)
_near = st.builds(lambda a, b, d: Near(a, b, d), _term(False), _term(False), st.integers(1, 6))
_leaf = _term() | _term() | _tag | _near
_tree = st.recursive(
    _leaf,
    lambda inner: (
        st.builds(Not, inner)
        | st.lists(inner, min_size=2, max_size=3).map(lambda cs: And(tuple(cs)))
        | st.lists(inner, min_size=2, max_size=3).map(lambda cs: Or(tuple(cs)))
    ),
    max_leaves=6,
)
_rule = st.builds(lambda tree, stem: (str(tree), stem), _tree, st.booleans())

_sentence = st.lists(
    _word | st.sampled_from(["and", "a", "talks,", "Wall-Street", "PEÑA"]), max_size=14
).map(" ".join)
_article = st.builds(
    lambda title, text, topics, ents, feed, lang, authors: tagged(
        title,
        text,
        topics=topics,
        entities={i: (i.title(), t, c) for i, (t, c) in ents.items()},
        feed=feed,
        lang=lang,
        authors=authors,
    ),
    _sentence,
    _sentence,
    st.dictionaries(st.sampled_from(TOPIC_IDS), st.sampled_from([0.2, 0.5, 0.9]), max_size=2),
    st.dictionaries(
        st.sampled_from(ENTITY_IDS),
        st.tuples(st.sampled_from(TYPES), st.integers(1, 3)),
        max_size=2,
    ),
    st.sampled_from(FEEDS),
    st.sampled_from(LANGS + [None]),
    st.lists(st.sampled_from(["Dave Graham", "Ana Peña", "Wall Smith"]), max_size=2).map(tuple),
)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(_rule, min_size=1, max_size=30), st.lists(_article, min_size=1, max_size=8))
def test_presearch_equals_naive(rules, articles):
    ruleset = compile_rules(
        config(*[RuleConfig(id=f"r{i}", query=q, stem=stem) for i, (q, stem) in enumerate(rules)])
    )
    for article in articles:
        assert ruleset.match(article) == ruleset.match_naive(article)


def _random_query(rng, depth=0) -> str:
    """A seeded random query using every construct (for the large-corpus test)."""
    roll = rng.random()
    if depth < 3 and roll < 0.3:
        op = rng.choice([" AND ", " OR ", " "])
        parts = [_random_query(rng, depth + 1) for _ in range(rng.randint(2, 3))]
        return "(" + op.join(parts) + ")"
    if depth < 3 and roll < 0.38:
        return "NOT " + _random_query(rng, depth + 1)
    kind = rng.randrange(9)
    word = rng.choice(VOCAB)
    field = rng.choice(["", "", "", "title:", "text:", "author:"])
    if kind == 0:
        return f"{field}{rng.choice(PREFIXES)}*"
    if kind == 1:
        words = " ".join(rng.choice(VOCAB + [p + "*" for p in PREFIXES]) for _ in range(2))
        return f'{field}"{words}"' + (f"~{rng.randint(0, 4)}" if rng.random() < 0.5 else "")
    if kind == 2:
        return f"{word} NEAR/{rng.randint(1, 6)} {rng.choice(VOCAB)}"
    if kind == 3:
        return f"topic:{rng.choice(TOPIC_IDS)}" + rng.choice(["", ">=0.5", "<0.5"])
    if kind == 4:
        return f"entity:{rng.choice(ENTITY_IDS)}" + rng.choice(["", ">=2", "<=1"])
    if kind == 5:
        return rng.choice(
            [
                f"type:{rng.choice(TYPES)}",
                f"feed:{rng.choice(FEEDS)}",
                "feed:re*",
                f"lang:{rng.choice(LANGS)}",
            ]
        )
    return f"{field}{word}"


def test_presearch_equals_naive_on_a_large_random_corpus():
    """2,000 rules x 300 articles, seeded: every rule that holds is a candidate, before and
    after re-planning the anchors (yes/no here; evidence is compared in full on some)."""
    import random

    from wirewatch.transforms.rules.view import ArticleView

    rng = random.Random(20261128)
    rules = [
        RuleConfig(id=f"r{i}", query=_random_query(rng), stem=rng.random() < 0.2)
        for i in range(2000)
    ]
    ruleset = compile_rules(config(*rules))
    words = VOCAB + ["and", "a", "PEÑA", "Wall-Street"]
    for n in range(300):
        article = tagged(
            " ".join(rng.choice(words) for _ in range(rng.randint(0, 10))),
            " ".join(rng.choice(words) for _ in range(rng.randint(0, 40))),
            topics={t: rng.choice([0.2, 0.5, 0.9]) for t in rng.sample(TOPIC_IDS, 2)},
            entities={
                e: (e, rng.choice(TYPES), rng.randint(1, 3))
                for e in rng.sample(ENTITY_IDS, rng.randint(0, 2))
            },
            feed=rng.choice(FEEDS),
            lang=rng.choice(LANGS + [None]),
            authors=tuple(rng.sample(["Dave Graham", "Ana Peña", "Wall Smith"], 1)),
            ident=f"a{n}",
        )
        if n == 150:  # anchors move to the keys seen rarest: results must not change
            before = ruleset.presearch.plan
            ruleset.presearch.replan()
            assert ruleset.presearch.plan is not before
        view = ArticleView(article)
        holding = [i for i, rule in enumerate(ruleset.rules) if rule.node.holds(view)]
        candidates = set(ruleset.presearch.candidates(view))
        assert set(holding) <= candidates, article
        if n % 30 == 0:  # the full path, with evidence, on some of them (Match is costly)
            assert ruleset.match(article) == ruleset.match_naive(article)


def test_presearch_skips_rules_that_cannot_match():
    ruleset = compile_rules(
        config(*[f"word{i} AND wall" for i in range(500)], "wall OR fence", "NOT fence")
    )
    view_article = tagged("A wall", "and word7")
    from wirewatch.transforms.rules.view import ArticleView

    candidates = ruleset.presearch.candidates(ArticleView(view_article))
    assert candidates == [7, 500, 501]
    assert [x.rule_id for x in ruleset.match(view_article)] == ["r7", "r500", "r501"]


def test_replanning_moves_anchors_to_keys_seen_rarely():
    ruleset = compile_rules(config("mexico AND deportations"))  # prior: longer is rarer
    presearch = ruleset.presearch
    assert presearch.plan.anchors == {"deportations"}
    from wirewatch.transforms.rules.view import ArticleView

    for i in range(20):
        presearch.candidates(ArticleView(tagged("deportations rise", f"filler {i}")))
    presearch.replan()
    assert presearch.plan.anchors == {"mexico"}  # "deportations" was in every article
    assert ruleset.match(tagged("Mexico halts deportations"))[0].rule_id == "r0"


def test_anchors():
    def anchor_of(query, stem=False):
        """The one rule's anchor keys in the first plan; None: it is evaluated always."""
        plan = compile_rules(config(RuleConfig(id="x", query=query, stem=stem))).presearch.plan
        return None if plan.always else plan.anchors

    assert anchor_of("wall") == {"wall"}
    assert anchor_of("wall AND deportation") == {"deportation"}  # the rarer-looking word
    assert anchor_of("wall OR fence") == {"wall", "fence"}
    assert anchor_of('"the border wall"') == {"border"}
    assert anchor_of("talks", stem=True) == {"\x01talk"}
    assert anchor_of("deport*") == {"\x03deport"}
    assert anchor_of("topic:immigration.border") == {
        "\x02t:immigration.border",
        "\x02t:immigration.border.wall",
    }
    assert anchor_of("NOT wall") is None
    assert anchor_of("wall OR NOT fence") is None
    assert anchor_of("feed:reu*") is None
    assert anchor_of("&") == frozenset()  # can never match
    assert isinstance(compile_rules(config("&")).rules[0].node, m.NeverNode)


def test_plain_word_rules_find_the_same_keys_without_the_token_cache():
    """Rules of plain words (no stems, prefixes or phrases: most configs) look the article's
    tokens up directly; the keys found are those the per-token cache finds."""
    import random

    from wirewatch.transforms.rules.view import ArticleView

    rng = random.Random(7)
    plain = [w for w in VOCAB if w.isalpha()]  # "u.s" is a phrase: two tokens side by side
    queries = [f"{rng.choice(['', 'title:', 'text:'])}{rng.choice(plain)}" for _ in range(40)]
    queries += [f"topic:{TOPIC_IDS[0]} AND {plain[1]}", f"{plain[2]} OR feed:{FEEDS[0]}"]
    ruleset = compile_rules(
        config(*[RuleConfig(id=f"r{i}", query=q) for i, q in enumerate(queries)])
    )
    presearch = ruleset.presearch
    assert presearch.words_only
    words = VOCAB + ["and", "PEÑA", "Wall-Street", "unheard"]
    for n in range(100):
        article = tagged(
            " ".join(rng.choice(words) for _ in range(rng.randint(0, 10))),
            " ".join(rng.choice(words) for _ in range(rng.randint(0, 40))),
            topics={TOPIC_IDS[0]: 0.9} if n % 2 else {},
            feed=rng.choice(FEEDS),
            ident=f"a{n}",
        )
        view = ArticleView(article)
        direct = presearch.numbers(view)
        presearch.words_only = False
        assert presearch.numbers(view) == direct
        presearch.words_only = True
        assert ruleset.match(article) == ruleset.match_naive(article)
