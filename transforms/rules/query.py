"""The parsed form of a rule query: a small tree that prints back as a canonical query.

Why a tree of its own (and not lark's): later stages (binding to the taxonomy, the presearch
index, the never-matches check) pattern-match on a handful of node types, and every node keeps
the character span it came from so a problem found late still points at the right column.
`str(node)` is a query that parses back to an equal tree (positions are not compared).

Nodes never change once made. They are not `frozen` dataclasses only because a frozen one costs
about three times as much to make (100,000 rules make a few hundred thousand); they hash and
compare by value all the same (`unsafe_hash`: safe, as nothing assigns to them).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as _field

TEXT_FIELDS = ("title", "text", "author")
TAG_FIELDS = ("topic", "entity", "type", "feed", "lang")
FIELDS = TEXT_FIELDS + TAG_FIELDS
DEFAULT_FIELDS = ("title", "text")

Span = tuple[int, int]


def _quote(text: str) -> str:
    return '"' + text.replace('"', "") + '"'


class _Printed:
    """`str(node)`: the canonical query, printed by `_print` (one place for every node)."""

    __slots__ = ()

    def __str__(self) -> str:
        return _print(self)


@dataclass(unsafe_hash=True, slots=True)
class Term(_Printed):
    """A word (`wall`), a prefix (`deport*`) or a phrase (`"border wall"`, `"border wall"~5`).

    `field` None means the default fields (title and text). `phrase` records whether it was
    quoted, so that the tree prints back as written.
    """

    text: str
    field: str | None = None
    phrase: bool = False
    prefix: bool = False
    slop: int | None = None
    span: Span = _field(default=(0, 0), compare=False)


@dataclass(unsafe_hash=True, slots=True)
class Tag(_Printed):
    """`topic:ID`, `entity:ID`, `type:PERSON`, `feed:ID`, `lang:en`, with an optional threshold
    (`topic:immigration>=0.5` on the topic score, `entity:tillerson>=2` on the mention count)."""

    field: str
    value: str
    op: str | None = None
    threshold: float | None = None
    prefix: bool = False
    span: Span = _field(default=(0, 0), compare=False)


@dataclass(unsafe_hash=True, slots=True)
class Near(_Printed):
    """`a NEAR/5 b`: both sides (words, prefixes or phrases) within 5 words of each other."""

    left: Term
    right: Term
    distance: int
    span: Span = _field(default=(0, 0), compare=False)


@dataclass(unsafe_hash=True, slots=True)
class Not(_Printed):
    """`NOT a`, `-a`: the article must not satisfy `child`."""

    child: Node
    span: Span = _field(default=(0, 0), compare=False)


@dataclass(unsafe_hash=True, slots=True)
class _Joined(_Printed):
    """`a AND b AND c` or `a OR b OR c`: one node for a run of the same operator."""

    children: tuple[Node, ...]
    span: Span = _field(default=(0, 0), compare=False)
    OP = ""  # not a field: And and Or set only this (they add no field, so no decorator)


class And(_Joined):
    __slots__ = ()
    OP = "AND"


class Or(_Joined):
    __slots__ = ()
    OP = "OR"


Node = Term | Tag | Near | Not | And | Or


def _wrap(node: Node, parent: type) -> str:
    """Parentheses only where precedence (NOT > NEAR > AND > OR) needs them."""
    tight = {Not: (Term, Tag, Not), And: (Term, Tag, Not, Near), Or: (Term, Tag, Not, Near, And)}
    return str(node) if isinstance(node, tight[parent]) else f"({node})"


def _print(node: Node) -> str:
    if isinstance(node, Term):
        body = _quote(node.text) if node.phrase else node.text
        body += "*" if node.prefix and not node.phrase else ""
        body += f"~{node.slop}" if node.slop is not None else ""
        return f"{node.field}:{body}" if node.field else body
    if isinstance(node, Tag):
        value = _quote(node.value) if any(c in node.value for c in ' ()"<>=:') else node.value
        value += "*" if node.prefix else ""
        if node.op is not None:
            value += f"{node.op}{node.threshold:g}"
        return f"{node.field}:{value}"
    if isinstance(node, Near):
        return f"{node.left} NEAR/{node.distance} {node.right}"
    if isinstance(node, Not):
        return f"NOT {_wrap(node.child, Not)}"
    return f" {node.OP} ".join(_wrap(c, type(node)) for c in node.children)
