"""A recursive-descent reading of the query grammar: the fast path for queries that parse.

Why: lark's LALR parser is pure Python and costs about 0.15 ms a query; at 100,000 rules that
was three quarters of compiling a rule set. This reader walks the same grammar (syntax.GRAMMAR)
with the same tokens (the grammar's own terminals, tried in the order lark's basic lexer tries
them) and calls the same builder callbacks with the same arguments, so the tree is the one lark
builds. It only ever answers for a query it reads to the end without any complaint: on anything
else (a syntax error, a builder's QueryError, nesting too deep for recursion) it returns None
and lark parses the query again, so every error message stays lark's and the builder's.
tests/rules/test_syntax.py checks the two agree, spans included, on generated queries.
"""

from __future__ import annotations

import re
from operator import itemgetter

_TERM_START = frozenset({"NOT", "MINUS", "PLUS", "LPAR", "FIELD", "WORD", "PHRASE"})


_CALLBACKS = ("or_expr", "and_expr", "negate", "require", "near_expr", "group", "field_group")
_CALLBACKS += ("field_value", "value")


class _Callbacks:
    def __init__(self, **methods):
        self.__dict__.update(methods)


class Tok(tuple):
    """A token as the builder reads it: what lark's Token carries (type, value, start_pos,
    end_pos), as a tuple: made by one C call, without a str subclass and line bookkeeping
    (a third of lark's cost per token)."""

    __slots__ = ()
    type = property(itemgetter(0))
    value = property(itemgetter(1))
    start_pos = property(itemgetter(2))
    end_pos = property(itemgetter(3))


class _Reject(Exception):
    """Not a query this reader vouches for: let lark parse it."""


def scanner(terminals, ignore: tuple[str, ...]) -> tuple[re.Pattern, re.Pattern]:
    """One regex of all terminals, in the order lark's basic lexer tries them (the first
    alternative that matches wins, as in lark), and the regex of what it ignores. An ignored
    run (whitespace) is read as the optional lead of the token after it: one match per token
    instead of two, the same tokens, as no other terminal of the grammar matches where an
    ignored one does (none starts with whitespace)."""
    ordered = sorted(
        terminals,
        key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name),
    )
    skip = "|".join(t.pattern.to_regexp() for t in ordered if t.name in ignore)
    union = "|".join(
        f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in ordered if t.name not in ignore
    )
    # possessive (`*+`): a run of whitespace is read one way only, never re-split on a failure
    # (`(?:\s+)*` before a character no token starts with backtracks 2^n ways)
    return re.compile(f"(?:{skip})*+(?:{union})"), re.compile(f"(?:{skip})*+")


class Descent:
    """`parse(query)`: the tree, or None when lark must decide. `build` is the grammar's
    transformer (syntax._Build): its methods are the callbacks lark would call."""

    def __init__(self, terminals, ignore: tuple[str, ...], build):
        self.regex, self.ignored = scanner(terminals, ignore)
        # the plain bound methods: lark's v_args wrapper re-wraps a method on every access
        self.build = _Callbacks(
            **{
                name: getattr(getattr(build, name), "base_func", getattr(build, name))
                for name in _CALLBACKS
            }
        )

    def parse(self, query: str):
        try:
            reader = _Reader(*self._tokens(query), self.build)
            node = reader.or_expr()
            if reader.peek() is not None:
                raise _Reject
            return node
        except Exception:  # noqa: BLE001  (any doubt: lark parses it and says what is wrong)
            return None

    def _tokens(self, query: str) -> tuple[list[Tok], list[str | None]]:
        """The tokens and their kinds (None after the last), each token matched where the
        last one ended (a search ahead would read a long run of whitespace again from each
        of its characters): the scanner's `match` stops at the first character no token
        starts with."""
        tokens: list[Tok] = []
        kinds: list[str | None] = []
        end = 0
        for found in iter(self.regex.scanner(query).match, None):
            kind = found.lastgroup
            end = found.end()
            tokens.append(Tok((kind, found[kind], found.start(kind), end)))
            kinds.append(kind)
        if end < len(query) and self.ignored.match(query, end).end() < len(query):
            raise _Reject  # a character no terminal matches: lark says what is wrong
        kinds.append(None)
        return tokens, kinds


class _Reader:
    """One query's tokens, read by the grammar's rules (a `?rule` with one child is that
    child; tokens named with a leading underscore are dropped, as lark drops them)."""

    def __init__(self, tokens: list[Tok], kinds: list[str | None], build):
        self.tokens, self.kinds, self.at, self.build = tokens, kinds, 0, build

    def peek(self) -> str | None:
        return self.kinds[self.at]

    def take(self, kind: str) -> Tok:
        if self.kinds[self.at] != kind:
            raise _Reject
        self.at += 1
        return self.tokens[self.at - 1]

    def or_expr(self):
        children = [self.and_expr()]
        while self.kinds[self.at] == "_OR":
            self.at += 1
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else self.build.or_expr(*children)

    def and_expr(self):
        children = [self.not_expr()]
        while True:
            kind = self.kinds[self.at]
            if kind == "_AND":
                self.at += 1
            elif kind not in _TERM_START:
                break
            children.append(self.not_expr())
        return children[0] if len(children) == 1 else self.build.and_expr(*children)

    def not_expr(self):
        at = self.at
        kind = self.kinds[at]
        if kind == "WORD" and self.kinds[at + 1] != "NEAR":  # the commonest term: a bare word
            self.at = at + 1
            return self.build.value(self.tokens[at])
        if kind in ("NOT", "MINUS", "PLUS"):
            op = self.take(kind)
            child = self.not_expr()
            return self.build.require(op, child) if kind == "PLUS" else self.build.negate(op, child)
        items = [self.primary()]
        while self.peek() == "NEAR":
            items += [self.take("NEAR"), self.primary()]
        return items[0] if len(items) == 1 else self.build.near_expr(*items)

    def primary(self):
        kind = self.peek()
        if kind == "LPAR":
            lpar = self.take("LPAR")
            inner = self.or_expr()
            return self.build.group(lpar, inner, self.take("RPAR"))
        if kind == "FIELD":
            name = self.take("FIELD")
            self.take("_COLON")
            if self.peek() == "LPAR":
                lpar = self.take("LPAR")
                inner = self.or_expr()
                return self.build.field_group(name, lpar, inner, self.take("RPAR"))
            term = self.value()
            if self.peek() == "CMP":
                cmp = self.take("CMP")
                return self.build.field_value(name, term, cmp, self.take("WORD"))
            return self.build.field_value(name, term)
        return self.value()

    def value(self):
        if self.peek() == "WORD":
            return self.build.value(self.take("WORD"))
        phrase = self.take("PHRASE")
        if self.peek() == "SLOP":
            return self.build.value(phrase, self.take("SLOP"))
        return self.build.value(phrase)
