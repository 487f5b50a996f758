"""Parse a rule query (Lucene-like syntax) into a `query` tree, with errors that point.

Why lark with the basic lexer: the grammar is the documentation of the language, LALR parses a
10,000-rule config in well under a second, and a global lexer makes misplaced operators errors
("AND" at the start is a mistake, not a search for the word "and"). Operators are upper-case, as
in Lucene; precedence is NOT > NEAR > AND (also implicit) > OR.
"""

from __future__ import annotations

from dataclasses import fields

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from wirewatch.transforms.rules.descent import Descent, Tok
from wirewatch.transforms.rules.errors import QueryError
from wirewatch.transforms.rules.query import FIELDS, TAG_FIELDS, And, Near, Node, Not, Or, Tag, Term

DEFAULT_NEAR = 5
MAX_DISTANCE = 100
MIN_PREFIX = 2
MAX_DEPTH = 50
_TOKENS = (Token, Tok)

GRAMMAR = r"""
?start: or_expr

?or_expr: and_expr (_OR and_expr)*
?and_expr: not_expr (_AND? not_expr)*
?not_expr: NOT not_expr         -> negate
         | MINUS not_expr       -> negate
         | PLUS not_expr        -> require
         | near_expr
?near_expr: primary (NEAR primary)*
?primary: LPAR or_expr RPAR               -> group
        | FIELD _COLON LPAR or_expr RPAR  -> field_group
        | FIELD _COLON value (CMP WORD)?   -> field_value
        | value
value: WORD | PHRASE SLOP?

_OR.3: /OR(?=[\s()"“”]|$)/
_AND.3: /AND(?=[\s()"“”]|$)/
NOT.3: /NOT(?=[\s()"“”]|$)/
NEAR.3: /NEAR(\/[0-9]+)?(?=[\s()"“”]|$)/
FIELD.2: /[A-Za-z_][A-Za-z0-9_]*+(?=:)/
WORD: /[^\s()"“”:~<>=+\-][^\s()"“”:~<>=]*/
PHRASE: /["“”][^"“”]*["“”]/
SLOP: /~[0-9]+/
CMP: />=|<=|>|</
MINUS: "-"
PLUS: "+"
LPAR: "("
RPAR: ")"
_COLON: ":"
%ignore /\s+/
"""


_NAMES = {
    "WORD": "a word",
    "PHRASE": 'a "phrase"',
    "LPAR": "'('",
    "RPAR": "')'",
    "FIELD": "a field",
    "NOT": "NOT",
    "MINUS": "'-'",
    "PLUS": "'+'",
    "_OR": "OR",
    "_AND": "AND",
    "NEAR": "NEAR/n",
    "CMP": "a comparison",
    "SLOP": "~n",
    "_COLON": "':'",
    "$END": "the end of the query",
}


def parse(query: str) -> Node:
    """The query tree, or QueryError(message, start, end) pointing into `query`."""
    if not query.strip():
        raise QueryError("the query is empty", 0, 0, "write at least one word")
    tree = _FAST.parse(query)
    try:
        tree = tree if tree is not None else _PARSER.parse(query)
    except UnexpectedInput as exc:
        raise _syntax_error(query, exc) from None
    except VisitError as exc:
        raise exc.orig_exc from None
    if len(query) > MAX_DEPTH and _depth(tree) > MAX_DEPTH:  # each level owns a character
        raise QueryError(
            f"the query nests more than {MAX_DEPTH} levels deep",
            0,
            len(query),
            "flatten it: a OR b OR c needs no parentheses",
        )
    return tree


def _depth(node: Node) -> int:
    """Nesting depth, without recursion (later stages recurse; this bounds them)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, (And, Or)):
            stack += [(child, depth + 1) for child in item.children]
        elif isinstance(item, Not):
            stack.append((item.child, depth + 1))
    return deepest


def _syntax_error(query: str, exc: UnexpectedInput) -> QueryError:
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream
        char = query[pos]
        if char in '"“”':
            return QueryError("this quote is never closed", pos, len(query), 'add the closing "')
        if char == ":":
            return QueryError(
                "':' must follow a field name",
                pos,
                pos + 1,
                "write field:value (fields: " + ", ".join(FIELDS) + ") or quote it",
            )
        if char in "<>=":
            return QueryError(
                f"'{char}' only follows a topic or entity value",
                pos,
                pos + 1,
                "write topic:ID>=0.5 or entity:ID>=2, or quote the text",
            )
        if char == "~":
            return QueryError(
                "'~n' (proximity) only follows a \"phrase\"",
                pos,
                pos + 1,
                'write "border wall"~5 or border NEAR/5 wall',
            )
        return QueryError(f"unexpected character {char!r}", pos, pos + 1, "quote it or remove it")
    if isinstance(exc, UnexpectedEOF) or (
        isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    ):
        unclosed = _unclosed_paren(query)
        if unclosed is not None:
            return QueryError("this '(' is never closed", unclosed, unclosed + 1, "add a ')'")
        end = len(query.rstrip())
        return QueryError(
            "the query ends where a term is expected",
            end,
            end + 1,
            "add a term or remove the trailing operator",
        )
    assert isinstance(exc, UnexpectedToken)
    token: Token = exc.token
    start = token.start_pos
    end = token.end_pos if token.end_pos is not None else start + 1
    if token.type == "RPAR":
        return QueryError(
            "this ')' closes nothing"
            if _unclosed_paren(query[:start]) is None
            else "')' where a term is expected",
            start,
            end,
            "remove it or add the missing term",
        )
    expected = sorted({_NAMES.get(t, t) for t in exc.expected})
    if token.type in ("_AND", "_OR", "NEAR"):
        return QueryError(
            f"{token.value} needs a term on each side",
            start,
            end,
            f"add a term before {token.value}, or write {token.value.lower()!r} "
            f"in quotes to search for the word",
        )
    if token.type == "FIELD":
        return QueryError(
            f"'{token.value}:' where a value is expected",
            start,
            end + 1,
            "quote a value that contains ':'",
        )
    return QueryError(
        f"unexpected '{token.value}'", start, end, "expected " + " or ".join(expected[:4]) + " here"
    )


def _unclosed_paren(query: str) -> int | None:
    """Offset of the last '(' that no ')' closes (outside quotes), or None."""
    stack: list[int] = []
    quoted = False
    for i, ch in enumerate(query):
        if ch in '"“”':
            quoted = not quoted
        elif not quoted and ch == "(":
            stack.append(i)
        elif not quoted and ch == ")" and stack:
            stack.pop()
    return stack[-1] if stack else None


def _span(*items) -> tuple[int, int]:
    """From the first item's start to the last one's end (tokens: lark's or descent's). Items
    come in the order of the query, each inside its own tokens: the first starts first."""
    first, last = items[0], items[-1]
    start = first.start_pos if isinstance(first, _TOKENS) else first.span[0]
    return start, last.end_pos if isinstance(last, _TOKENS) else last.span[1]


@v_args(inline=True)
class _Build(Transformer):
    """lark rules -> query nodes, run by the LALR parser as it reduces (no lark tree is built);
    checks what the grammar cannot (field names, wildcards). Stateless, so one is shared."""

    def value(self, token: Token, slop: Token | None = None) -> Term:
        if token.type == "PHRASE":
            inner = token.value[1:-1]
            if not inner.strip():
                raise QueryError(
                    "the phrase is empty",
                    token.start_pos,
                    token.end_pos,
                    "put words between the quotes",
                )
            distance = None
            if slop is not None:
                distance = int(slop.value[1:])
                if distance > MAX_DISTANCE:
                    raise QueryError(
                        f"proximity is at most {MAX_DISTANCE} words",
                        slop.start_pos,
                        slop.end_pos,
                        f"use ~{MAX_DISTANCE} or less",
                    )
            self._check_stars(inner, token.start_pos + 1)
            return Term(inner, phrase=True, slop=distance, span=_span(token, slop or token))
        text = token.value
        span = (token.start_pos, token.end_pos)
        if "*" not in text:
            return Term(text, span=span)
        self._check_stars(text, token.start_pos)
        prefix = text.endswith("*")
        return Term(text.rstrip("*") if prefix else text, prefix=prefix, span=span)

    def _check_stars(self, text: str, offset: int) -> None:
        if "*" not in text:
            return
        for i, ch in enumerate(text):
            if ch != "*":
                continue
            at_end = i + 1 == len(text) or text[i + 1].isspace()
            word_start = max(text.rfind(" ", 0, i) + 1, 0)
            if not at_end:
                raise QueryError(
                    "a wildcard '*' may only end a word (prefix search)",
                    offset + i,
                    offset + i + 1,
                    "write the prefix then '*', e.g. deport*",
                )
            if i - word_start < MIN_PREFIX:
                raise QueryError(
                    f"a prefix needs at least {MIN_PREFIX} characters before '*'",
                    offset + word_start,
                    offset + i + 1,
                    "write a longer prefix, e.g. deport*",
                )

    def field_value(
        self, name: Token, term: Term, cmp: Token | None = None, number: Token | None = None
    ) -> Node:
        field = self._field(name)
        span = _span(name, number or term)
        if field in TAG_FIELDS:
            if term.slop is not None:
                raise QueryError(f"'~n' does not apply to {field}:", *term.span, "remove the ~n")
            threshold = None
            if cmp is not None:
                if field not in ("topic", "entity"):
                    raise QueryError(
                        f"{field}: takes no threshold",
                        cmp.start_pos,
                        number.end_pos,
                        "thresholds apply to topic: (score) and entity: (mention count)",
                    )
                try:
                    threshold = float(number.value)
                except ValueError:
                    raise QueryError(
                        f"'{number.value}' is not a number",
                        number.start_pos,
                        number.end_pos,
                        "write e.g. topic:immigration>=0.5",
                    ) from None
            if term.prefix and field not in ("feed", "lang"):
                raise QueryError(
                    f"{field}: takes an exact value, not a prefix", *term.span, "remove the '*'"
                )
            return Tag(field, term.text, cmp.value if cmp else None, threshold, term.prefix, span)
        if cmp is not None:
            raise QueryError(
                f"{field}: takes no threshold",
                cmp.start_pos,
                number.end_pos,
                "thresholds apply to topic: (score) and entity: (mention count)",
            )
        return Term(term.text, field, term.phrase, term.prefix, term.slop, span)

    def field_group(self, name: Token, lpar: Token, inner: Node, rpar: Token) -> Node:
        field = self._field(name)
        if field in TAG_FIELDS:
            raise QueryError(
                f"{field}:( ... ) is not supported",
                name.start_pos,
                lpar.end_pos,
                f"write ({field}:a OR {field}:b)",
            )
        return _respan(_with_field(inner, field), _span(name, rpar))

    def _field(self, name: Token) -> str:
        field = name.value.lower()
        if field not in FIELDS:
            import difflib

            close = difflib.get_close_matches(field, FIELDS, n=1)
            hint = f"did you mean '{close[0]}:'? " if close else ""
            raise QueryError(
                f"unknown field '{name.value}'",
                name.start_pos,
                name.end_pos,
                f"{hint}fields are " + ", ".join(FIELDS) + "; quote the text to search for it",
            )
        return field

    def group(self, lpar: Token, inner: Node, rpar: Token) -> Node:
        return _respan(inner, _span(lpar, rpar))

    def negate(self, op: Token, child: Node) -> Node:
        return Not(child, _span(op, child))

    def require(self, op: Token, child: Node) -> Node:
        return child

    def near_expr(self, *items) -> Node:
        left = items[0]
        for op, right in zip(items[1::2], items[2::2]):
            if isinstance(left, Near):
                raise QueryError(
                    "NEAR cannot be chained",
                    op.start_pos,
                    op.end_pos,
                    "write (a NEAR/5 b) AND (b NEAR/5 c)",
                )
            for side in (left, right):
                if not isinstance(side, Term):
                    raise QueryError(
                        "NEAR joins words, prefixes or phrases",
                        *side.span,
                        "move AND/OR/NOT and field values outside the NEAR",
                    )
            if (left.field or None) != (right.field or None):
                raise QueryError(
                    "both sides of NEAR must search the same field",
                    *_span(left, right),
                    "write title:(a NEAR/5 b)",
                )
            if left.slop is not None or right.slop is not None:
                raise QueryError(
                    "a phrase with ~n cannot be a side of NEAR",
                    *_span(left, right),
                    "remove the ~n",
                )
            distance = int(op.value[5:]) if "/" in op.value else DEFAULT_NEAR
            if distance < 1 or distance > MAX_DISTANCE:
                raise QueryError(
                    f"NEAR/n takes 1 to {MAX_DISTANCE}",
                    op.start_pos,
                    op.end_pos,
                    "write e.g. NEAR/5",
                )
            left = Near(left, right, distance, _span(left, right))
        return left

    def and_expr(self, *children) -> Node:
        return And(_flat(And, children), _span(*children))

    def or_expr(self, *children) -> Node:
        return Or(_flat(Or, children), _span(*children))


def _respan(node: Node, span: tuple[int, int]) -> Node:
    """`node` with another span: every query node has `span` as its last field (a quicker
    `dataclasses.replace`, which looks the fields up on every call)."""
    return type(node)(*[getattr(node, name) for name in _FIELDS[type(node)]], span)


_FIELDS = {
    kind: tuple(f.name for f in fields(kind))[:-1] for kind in (Term, Tag, Near, Not, And, Or)
}


def _flat(kind: type, children) -> tuple:
    """`a AND (b AND c)` is `a AND b AND c`: one canonical tree for one meaning."""
    out = []
    for child in children:
        out += child.children if type(child) is kind else [child]
    return tuple(out)


_PARSER = Lark(
    GRAMMAR, parser="lalr", lexer="basic", maybe_placeholders=False, transformer=_Build()
)
_FAST = Descent(_PARSER.terminals, tuple(_PARSER.ignore_tokens), _Build())


def _with_field(node: Node, field: str) -> Node:
    """`title:(a OR "b c")` is `title:a OR title:"b c"`; an inner field of its own is kept."""
    if isinstance(node, Term):
        return (
            node
            if node.field
            else Term(node.text, field, node.phrase, node.prefix, node.slop, node.span)
        )
    if isinstance(node, Near):
        return Near(
            _with_field(node.left, field), _with_field(node.right, field), node.distance, node.span
        )
    if isinstance(node, Not):
        return Not(_with_field(node.child, field), node.span)
    if isinstance(node, (And, Or)):
        return type(node)(tuple(_with_field(c, field) for c in node.children), node.span)
    return node
