"""Compile the `rules` section into a RuleSet and match tagged articles against it.

Why compile everything up front: every rule is parsed and bound once (a worker does it in
`DoFn.setup()`), every problem in every rule is reported in one go, and matching an article is
then one presearch pass plus the evaluation of the few candidate rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter

from wirewatch.transforms.errors import Problem
from wirewatch.transforms.model import Hit, Match, TaggedArticle
from wirewatch.transforms.rules.bind import Vocabulary, bind
from wirewatch.transforms.rules.collector import collector_paused
from wirewatch.transforms.rules.errors import QueryError, RuleError
from wirewatch.transforms.rules.found import Found, holding
from wirewatch.transforms.rules.onepass import OnePass
from wirewatch.transforms.rules.presearch import Presearch
from wirewatch.transforms.rules.query import Node
from wirewatch.transforms.rules.schema import RuleConfig
from wirewatch.transforms.rules.syntax import parse
from wirewatch.transforms.rules.view import ArticleView


@dataclass(unsafe_hash=True, slots=True)
class CompiledRule:
    """A rule and its executable node. Never changed once made; not `frozen` only for speed
    (see transforms.rules.query: 100,000 rules make 100,000 of these)."""

    config: RuleConfig
    node: object  # the executable tree (transforms.rules.match)

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def query(self) -> Node:
        """The parsed query, for `check` and `try-rule`: parsed again on demand, as a rule set
        of 100,000 rules would otherwise keep 100,000 trees that matching never reads."""
        return parse(self.config.query)


class RuleSet:
    """Compiled rules. `find` uses the presearch index; `find_naive` evaluates every rule
    (the baseline the index must agree with, and what the benchmark compares against);
    `match`/`match_naive` are the same with each result made a Match."""

    def __init__(self, rules: list[CompiledRule], vocab: Vocabulary | None = None):
        self.rules = tuple(rules)
        self.vocab = vocab
        self.nodes = tuple(r.node for r in rules)  # what matching reads: one hop less
        self.presearch = Presearch(self.nodes)

    def __len__(self) -> int:
        return len(self.rules)

    def find(self, tagged: TaggedArticle) -> list[Found]:
        """The rules that hold, in order, as light tuples (see transforms.rules.found)."""
        view = ArticleView(tagged)
        presearch = self.presearch
        return holding(self.nodes, view, presearch.candidates(view), presearch.sure)

    def find_naive(self, tagged: TaggedArticle) -> list[Found]:
        return holding(self.nodes, ArticleView(tagged), range(len(self.rules)))

    def match(self, tagged: TaggedArticle) -> list[Match]:
        return [self.model(found, tagged) for found in self.find(tagged)]

    def match_naive(self, tagged: TaggedArticle) -> list[Match]:
        return [self.model(found, tagged) for found in self.find_naive(tagged)]

    def model(self, found: Found, tagged: TaggedArticle) -> Match:
        """The Match with its evidence as Hits: each distinct hit once, by field and position.
        Built without re-validation: every value is already of its field's type."""
        rule = self.rules[found.index].config
        hits = tuple(
            Hit.model_construct(field=field, term=term, start=start, end=end, detail=detail)
            for field, term, start, end, detail in sorted(set(found.evidence), key=_HIT_ORDER)
        )
        return Match.model_construct(
            rule_id=rule.id,
            severity=rule.severity,
            labels=dict(rule.labels),
            article=tagged,
            hits=hits,
        )


# field, start, term, then end and detail: hits that tie on the first three (two type:PERSON
# hits) keep one order whatever the process's string hashing did to the set they came from
_HIT_ORDER = itemgetter(0, 2, 1, 3, 4)


def compile_rule(
    rule: RuleConfig, vocab: Vocabulary, source: str, problems: list[Problem]
) -> CompiledRule | None:
    """One rule, or None with its problems appended (each with the caret line): parsed, then
    bound (`compile_rules` reads most queries in one pass first, see transforms.rules.onepass)."""
    try:
        query = parse(rule.query)
    except QueryError as exc:
        problems.append(exc.describe(source, rule.id, rule.query))
        return None
    found: list[QueryError] = []
    node = bind(query, vocab, rule.stem, found)
    if found:
        problems.extend(exc.describe(source, rule.id, rule.query) for exc in found)
        return None
    return CompiledRule(rule, node)


def compile_rules(config) -> RuleSet:
    """The RuleSet for `config.rules`; RuleError listing every rule that does not compile."""
    vocab = Vocabulary.from_config(config)
    onepass = OnePass(vocab)
    source = config.source or "<config>"
    problems: list[Problem] = []
    read = onepass.compile
    with collector_paused():
        compiled = []
        for rule in config.rules:
            node = read(rule.query, rule.stem)
            compiled.append(
                CompiledRule(rule, node)
                if node is not None
                else compile_rule(rule, vocab, source, problems)
            )
        if problems:
            raise RuleError(problems)
        return RuleSet(compiled, vocab)
