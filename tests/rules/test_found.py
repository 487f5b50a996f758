"""Matches as light tuples: the presearch vouches for some rules without testing them, and a
match's evidence is found only when asked. Both must give exactly what evaluating every rule
eagerly gives."""

import random

from tests.rules.helpers import config, tagged
from tests.rules.test_presearch import ENTITY_IDS, TYPES, VOCAB
from wirewatch.transforms.rules.ruleset import compile_rules
from wirewatch.transforms.rules.schema import RuleConfig
from wirewatch.transforms.rules.view import ArticleView

TOPICS = ["immigration", "immigration.border", "economy"]
SHAPES = [  # query, stem, vouched for without an author rule in the set, with one
    ("wall", False, True, False),
    ("wall OR border OR oil", False, True, False),
    ("title:wall", False, True, True),
    ("title:wall OR title:oil", False, True, True),
    ("text:wall", False, False, False),
    ("wall OR title:oil", False, True, False),
    ("talks", True, True, False),
    ("talks OR deported", True, True, False),
    ("title:talks", True, False, False),  # a stem's key is not by field
    ("wall AND (border OR oil)", False, True, False),
    ("title:wall AND tal*", False, True, False),
    ("topic:immigration AND wall", False, True, False),
    ("entity:pemex AND type:PERSON AND title:oil", False, True, True),
    ("topic:immigration>=0.5 AND wall", False, False, False),  # a threshold: keys do not say
    ("mexico nieto trade tariff oil border", False, False, False),  # 6 clauses: 5 are checked
    ("(wall AND oil) OR border", False, False, False),
    ('"border wall"', False, False, False),
    ("wall NEAR/2 border", False, False, False),
    ("wall OR NOT oil", False, False, False),
    ("feed:wire AND wall", False, False, False),
]


def _rules(with_author: bool) -> list[RuleConfig]:
    rules = [RuleConfig(id=f"r{i}", query=q, stem=s) for i, (q, s, _, _) in enumerate(SHAPES)]
    return rules + [RuleConfig(id="by", query="author:graham")] if with_author else rules


def test_the_presearch_vouches_for_the_rules_its_keys_decide():
    for with_author in (False, True):
        sure = compile_rules(config(*_rules(with_author))).presearch.sure
        expected = [row[3] if with_author else row[2] for row in SHAPES]
        assert [bool(b) for b in sure[: len(SHAPES)]] == expected, with_author


def test_found_equals_eager_evaluation_of_every_rule():
    """Every rule a candidate the presearch vouches for holds, and `find` gives the rules that
    hold with the evidence `eval` gives, on random articles, with and without author rules."""
    rng = random.Random(18)
    words = VOCAB + ["and", "a", "PEÑA", "Wall-Street", "graham"]
    for with_author in (False, True):
        ruleset = compile_rules(config(*_rules(with_author)))
        presearch = ruleset.presearch
        for n in range(300):
            article = tagged(
                " ".join(rng.choice(words) for _ in range(rng.randint(0, 8))),
                " ".join(rng.choice(words) for _ in range(rng.randint(0, 30))),
                topics={t: rng.choice([0.2, 0.9]) for t in rng.sample(TOPICS, rng.randint(0, 2))},
                entities={e: (e, rng.choice(TYPES), 1) for e in rng.sample(ENTITY_IDS, 1)},
                authors=tuple(rng.sample(["Dave Graham", "Ana Peña"], rng.randint(0, 2))),
                ident=f"a{n}",
            )
            view = ArticleView(article)
            for i in presearch.candidates(view):
                assert not presearch.sure[i] or ruleset.nodes[i].holds(view), (i, article)
            eager = [(i, node.eval(view)) for i, node in enumerate(ruleset.nodes)]
            found = ruleset.find(article)
            assert [(f.index, f.evidence) for f in found] == [e for e in eager if e[1] is not None]
            assert [f.index for f in found] == [f.index for f in ruleset.find_naive(article)]
