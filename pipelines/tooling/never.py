"""Find rules (and parts of rules) that can never match, for `wirewatch check`.

Why: a rule that cannot match is a silent hole in the watch list: it loads, it runs, it never
pages. Two causes are caught. A leaf that no article can satisfy (a type no entity has, a feed
that is not configured, a score above 1, a term with no letters). And a contradiction in the
boolean structure (`wall AND NOT wall`), found by trying every truth assignment of the leaves
that appear both negated and not (the others are set to their one polarity, which can only
help the rule hold); leaves are treated as independent, so a reported contradiction is real (a
contradiction hidden behind an implication, like `"border wall" AND NOT wall`, goes unreported).
"""

from __future__ import annotations

import difflib
import re
from itertools import product

from wirewatch.transforms.rules.errors import QueryError
from wirewatch.transforms.rules.query import And, Near, Node, Not, Tag, Term
from wirewatch.transforms.rules.text import words

MAX_ATOMS = 12  # leaves both required and excluded somewhere; more is not worth 2**n tries
# Types the NER model or the gazetteer may give an entity; gazetteer types are added per config.
NER_TYPES = frozenset(
    "PERSON ORG PLACE GPE LOC NORP FAC EVENT PRODUCT WORK_OF_ART LAW LANGUAGE MISC".split()
)
_LANG = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{1,8})*$")


def dead_leaf(node: Term | Tag | Near, config) -> str | None:
    """Why this leaf can never hold, or None."""
    if isinstance(node, Near):
        return dead_leaf(node.left, config) or dead_leaf(node.right, config)
    if isinstance(node, Term):
        text = node.text.replace("*", " ")
        return None if words(text) else f"'{node.text}' has no letters or digits to match"
    if node.field == "type":
        known = NER_TYPES | {e.type for e in config.entities}
        if node.value.upper() not in known:
            close = difflib.get_close_matches(node.value.upper(), sorted(known), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            return f"no entity has type '{node.value}'{hint}"
    if node.field == "feed" and config.feeds:
        ids = [f.id.casefold() for f in config.feeds]
        value = node.value.casefold()
        if not any(i.startswith(value) if node.prefix else i == value for i in ids):
            close = difflib.get_close_matches(value, ids, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            return f"no configured feed is '{node.value}'{hint}"
    if node.field == "lang" and not node.prefix and not _LANG.match(node.value.casefold()):
        return f"'{node.value}' is not a language code like en or en-US"
    if node.field == "topic" and node.op:
        return _dead_topic_threshold(node, config)
    if node.field == "entity" and node.op:
        op, t = node.op, node.threshold
        if (op == "<" and t <= 1) or (op == "<=" and t < 1):
            return (
                f"an entity is only tagged when mentioned at least once, so {op}{t:g} never holds"
            )
    return None


def _dead_topic_threshold(node: Tag, config) -> str | None:
    op, t = node.op, node.threshold
    if (op == ">=" and t > 1) or (op == ">" and t >= 1):
        return f"topic scores are between 0 and 1, so {op}{t:g} never holds"
    if op in ("<", "<="):
        settings = getattr(config, "tagging", None)
        default = getattr(settings, "threshold", None)
        topic = next((x for x in config.taxonomy if x.id == node.value), None)
        floor = topic.threshold if topic and topic.threshold is not None else default
        if floor is not None and ((op == "<" and t <= floor) or (op == "<=" and t < floor)):
            return (
                f"topic '{node.value}' is only tagged from score {floor:g}, so {op}{t:g} "
                f"never holds"
            )
    return None


def _leaves(node: Node) -> list:
    """Terms, tags and NEARs (a NEAR is one leaf: its sides are not separate conditions)."""
    if isinstance(node, (Term, Tag, Near)):
        return [node]
    if isinstance(node, Not):
        return _leaves(node.child)
    return [leaf for child in node.children for leaf in _leaves(child)]


def _holds(node: Node, truth: dict) -> bool:
    if isinstance(node, (Term, Tag, Near)):
        return truth[_atom(node)]
    if isinstance(node, Not):
        return not _holds(node.child, truth)
    if isinstance(node, And):
        return all(_holds(c, truth) for c in node.children)
    return any(_holds(c, truth) for c in node.children)


def _polarities(node: Node, negated: bool, out: dict[str, set[bool]]) -> None:
    """For each leaf: whether it appears un-negated (True), negated (False), or both."""
    if isinstance(node, (Term, Tag, Near)):
        out.setdefault(_atom(node), set()).add(not negated)
    elif isinstance(node, Not):
        _polarities(node.child, not negated, out)
    else:
        for child in node.children:
            _polarities(child, negated, out)


def _atom(node) -> str:
    return str(node)


def _has_positive(node: Node, negated: bool = False) -> bool:
    """Whether some leaf must be present (not under an odd number of NOTs)."""
    if isinstance(node, (Term, Tag, Near)):
        return not negated
    if isinstance(node, Not):
        return _has_positive(node.child, not negated)
    return any(_has_positive(child, negated) for child in node.children)


def matches_everything(query: Node) -> QueryError | None:
    """A rule made only of NOTs (`-sport`) alerts on every other article: surely a mistake."""
    if _has_positive(query):
        return None
    return QueryError(
        "matches every article that lacks these terms (the rule has only NOT parts)",
        *query.span,
        "add a term the article must contain, e.g. topic:... AND NOT ...",
    )


def never_matches(query: Node, config) -> list[QueryError]:
    """Problems (with spans into the query): dead leaves, and the whole rule if it cannot hold."""
    leaves = _leaves(query)
    dead = {}
    problems = []
    for leaf in leaves:
        reason = dead_leaf(leaf, config)
        if reason:
            dead[_atom(leaf)] = True
            problems.append(
                QueryError(f"never matches: {reason}", *leaf.span, "correct the value or remove it")
            )
    polarity: dict[str, set[bool]] = {}
    _polarities(query, False, polarity)
    # A leaf that only appears un-negated is best true, one only under NOT best false (pure
    # literals): only leaves appearing both ways need trying both values.
    fixed = {a: (True in p) for a, p in polarity.items() if len(p) == 1}
    fixed.update({a: False for a in dead})
    mixed = sorted(a for a in polarity if a not in fixed)
    if len(mixed) > MAX_ATOMS:
        return problems
    for values in product((False, True), repeat=len(mixed)):
        truth = dict(fixed, **dict(zip(mixed, values)))
        if _holds(query, truth):
            return problems
    if not problems:
        problems.append(
            QueryError(
                "never matches: the query contradicts itself "
                "(a term is both required and excluded)",
                *query.span,
                "remove the NOT or the term it excludes",
            )
        )
    else:
        problems.append(
            QueryError(
                "the whole rule never matches because of the above",
                *query.span,
                "correct the parts marked above",
            )
        )
    return problems
