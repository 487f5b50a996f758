"""Read a query straight into its executable node: one pass instead of parse, then bind.

Why: compiling 100,000 rules the two-pass way builds a query tree (a node and a span per term)
only for `bind` to walk it once and drop it, reads every word again however many rules name it,
and walks the grammar again for every rule, though a rule set has few shapes (`w OR w OR w`,
`w AND (w OR w)`, ...). This reader reads the query's tokens and then makes its node with the
*recipe* of its shape: what a query's node is made of depends on its token kinds alone, never
on its words, so `_Writer` walks the grammar as `transforms.rules.descent` does over the kinds
only, once per shape, and writes the Python expression that makes the node from the token
texts (e.g. `And((word(0), Or((word(3), word(5)))))`); it is compiled once and every rule of that
shape is one call of it. The terms are made by OnePass's helpers, which keep a memo of bound
terms by their text: a rule set names the same words many times, and a term read before costs
one dict lookup. A term read for the first time is made by the code the two-pass way runs:
`bind`'s term_node from the parts of the Term syntax's builder would make (`_parts`; the builder
itself, then `bind`, where it has anything to check), and the joins (AND, OR, NOT, NEAR,
groups) are made as `bind` makes them, so the node is the one the two-pass way makes.

It vouches only for a query it reads to the end without any complaint. On anything else (a
syntax error, a builder's or bind's problem, `field:( ... )`, nesting that might be too deep) it
answers None and the rule takes the two-pass way, which says what is wrong: every error message
stays where it is. tests/rules/test_onepass.py checks the two ways agree.
"""

from __future__ import annotations

from wirewatch.transforms.rules import match as m
from wirewatch.transforms.rules import syntax
from wirewatch.transforms.rules.bind import Vocabulary, bind, either, near_node, term_node
from wirewatch.transforms.rules.descent import Tok
from wirewatch.transforms.rules.query import TEXT_FIELDS

_TERM_START = frozenset({"NOT", "MINUS", "PLUS", "LPAR", "FIELD", "WORD", "PHRASE"})
_SIDES = ("WORD", "PHRASE")  # of a NEAR made straight from its parts
_AFTER = ("NEAR", "SLOP")  # after its right side: a chained NEAR, a ~n (the builder's errors)
_JOINS = {"And": m.AndNode, "Or": either, "Not": m.NotNode}  # what a recipe calls them
_UNSEEN = object()


class _Reject(Exception):
    """Not a query this reader vouches for: the two-pass way reads it."""


class OnePass:
    """`compile(query, use_stems)`: the executable node, or None when the two-pass way must
    decide. One per compilation: its memos hold nodes bound to this config's vocabulary. It
    reads one query at a time (the query's tokens, kinds and position are its state)."""

    def __init__(self, vocab: Vocabulary):
        self.vocab = vocab
        self.memos: tuple[dict, dict] = ({}, {})  # without and with stems: term -> node
        self.chunks: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        self.single: dict[str, str] = {}  # a chunk that is one token -> its kind
        self.recipes: dict[tuple, object] = {}  # token kinds -> recipe, or None (_recipe)
        self.values: list[str] = []
        self.kinds: list[str | None] = []
        self.at = 0
        self.use_stems = False
        self.memo: dict = {}

    def compile(self, query: str, use_stems: bool):
        if len(query) > syntax.MAX_DEPTH and _depth_bound(query) > syntax.MAX_DEPTH:
            return None
        try:
            values, kinds = self.values, self.kinds = self.tokens(query)
            shape = tuple(kinds)
            recipe = self.recipes.get(shape, _UNSEEN)
            if recipe is _UNSEEN:
                recipe = self.recipes[shape] = _recipe(kinds)
            if recipe is None:
                return None
            self.use_stems, memo = use_stems, self.memos[use_stems]
            self.memo = memo
            return recipe(values, memo.get, self.word, self.phrase, self.field, self.near)
        except Exception:  # noqa: BLE001  (any doubt: the two-pass way reads it and says why)
            return None

    def tokens(self, query: str) -> tuple[list[str], list[str | None]]:
        """The tokens descent reads, as their texts and their kinds (None after the last), read
        a chunk at a time: a rule set repeats its chunks (`wall`, `OR`, `topic:x`), and a chunk
        read before costs one dict lookup, not a regex match per token.

        A chunk is a run between whitespace, parentheses and (straight) quotes, and no token
        crosses those but a phrase, which runs from one quote to the next. What follows a
        token's end only matters to a lookahead, and every lookahead of the grammar sees
        whitespace, '(', ')', a quote and the end of the query alike; so the tokens of a
        chunk read alone are its tokens in the query. Curly quotes (either one opens or
        closes a phrase) are left to descent's scanner."""
        if "“" in query or "”" in query:
            tokens, kinds = syntax._FAST._tokens(query)
            return [t[1] for t in tokens], kinds
        parts = query.split('"') if '"' in query else (query,)
        if not len(parts) % 2:
            raise _Reject  # an unclosed quote
        values: list[str] = []
        kinds: list[str | None] = []
        single = self.single
        phrase = False
        for part in parts:
            if phrase:
                values.append(f'"{part}"')
                kinds.append("PHRASE")
            else:
                if "(" in part or ")" in part:
                    part = part.replace("(", " ( ").replace(")", " ) ")
                chunks = part.split()
                found = list(map(single.get, chunks))  # each chunk's kind, in C
                if None in found:  # a chunk of several tokens, or one not read before
                    self.read_chunks(chunks, values, kinds)
                else:
                    values += chunks
                    kinds += found
            phrase = not phrase
        kinds.append(None)
        return values, kinds

    def read_chunks(self, chunks: list[str], values: list[str], kinds: list[str | None]) -> None:
        """The tokens of `chunks`, added to `values` and `kinds`; a chunk that is one token
        goes into `single` (its kind by its text), which `tokens` reads for a whole run."""
        memo = self.chunks
        for chunk in chunks:
            found = memo.get(chunk)
            if found is None:
                found = memo[chunk] = _chunk(chunk)
                if found[0] == (chunk,):
                    self.single[chunk] = found[1][0]
            values += found[0]
            kinds += found[1]

    def tok(self, at: int) -> Tok:
        """The token at `at` as the builder takes it. Its position is a dummy: positions only
        show in errors, and on any error the two-pass way reads the query again."""
        value = self.values[at]
        return Tok((self.kinds[at], value, 0, len(value)))

    def take(self, kind: str) -> Tok:
        if self.kinds[self.at] != kind:
            raise _Reject
        self.at += 1
        return self.tok(self.at - 1)

    def bound(self, query_node):
        """`bind` of a query node, or _Reject if binding found a problem."""
        problems: list = []
        node = bind(query_node, self.vocab, self.use_stems, problems)
        if problems:
            raise _Reject
        return node

    def word(self, at: int):
        """The node of the WORD at `at` (see `made`)."""
        value = self.values[at]
        node = self.memo.get(value)
        if node is None:
            node = self.made(at, None)
            if node is None:
                node = self.bound(syntax._FAST.build.value(self.tok(at)))
            self.memo[value] = node
        return node

    def made(self, at: int, field: str | None):
        """The node of the value (a WORD, or a PHRASE and its ~n) at `at`, in `field` (a text
        field) or None, made straight from the parts of the Term the builder would make; None
        if the builder has something to check in it (see `_parts`)."""
        slop = self.values[at + 1] if self.kinds[at + 1] == "SLOP" else None
        parts = _parts(self.values[at], slop)
        if parts is None:
            return None
        return term_node(parts[0], field, parts[1], parts[2], parts[3], self.use_stems)

    def phrase(self, at: int):
        """The node of the PHRASE at `at` (and its ~n)."""
        values = self.values
        key = (values[at], values[at + 1] if self.kinds[at + 1] == "SLOP" else None)
        node = self.memo.get(key)
        if node is None:
            node = self.made(at, None)
            if node is None:
                self.at = at
                node = self.bound(syntax._FAST.build.value(*self.value()))
            self.memo[key] = node
        return node

    def field(self, start: int):
        """The node of `field:value` or `topic:ID>=0.5` at `start` (`_Writer` made sure of its
        kinds; `field:( ... )` is left to the two-pass way)."""
        end = _term_end(self.kinds, start)
        key = ("field", *self.values[start:end])
        node = self.memo.get(key)
        if node is None:
            name = self.values[start].lower()
            if name in TEXT_FIELDS and self.kinds[end - 2] != "CMP":  # a text field's Term
                node = self.made(start + 2, name)
            if node is None:
                self.at = start
                node = self.bound(self.term())
            self.memo[key] = node
        return node

    def near(self, at: int):
        """The node of the NEAR whose first side is at `at`: made straight from the parts of
        two words or phrases (`near_made`), else by the builder from the query terms."""
        node = self.near_made(at)
        if node is None:
            self.at = at
            items = [self.term()]
            while self.kinds[self.at] == "NEAR":
                items += [self.take("NEAR"), self.term()]
            node = self.bound(syntax._FAST.build.near_expr(*items))
        return node

    def near_made(self, at: int):
        """`a NEAR/n b` of two words or phrases (no ~n, no field), made straight from their
        parts; None for any other NEAR (the builder checks and makes those)."""
        kinds, values = self.kinds, self.values
        if kinds[at] not in _SIDES or kinds[at + 1] != "NEAR" or kinds[at + 2] not in _SIDES:
            return None
        if kinds[at + 3] in _AFTER:
            return None
        op = values[at + 1]
        distance = int(op[5:]) if "/" in op else syntax.DEFAULT_NEAR
        left, right = _parts(values[at], None), _parts(values[at + 2], None)
        if left is None or right is None or not 1 <= distance <= syntax.MAX_DISTANCE:
            return None
        return near_node(left, right, distance, None, self.use_stems)

    def value(self) -> tuple[Tok, ...]:
        """A word, or a phrase with its ~n: the tokens, for the builder's `value`."""
        if self.kinds[self.at] == "WORD":
            return (self.take("WORD"),)
        phrase = self.take("PHRASE")
        return (phrase, self.take("SLOP")) if self.kinds[self.at] == "SLOP" else (phrase,)

    def term(self):
        """A query node for `value` or `field:value` (a side of NEAR), made by the builder."""
        build = syntax._FAST.build
        if self.kinds[self.at] != "FIELD":
            return build.value(*self.value())
        name = self.take("FIELD")
        self.take("_COLON")
        term = build.value(*self.value())
        if self.kinds[self.at] == "CMP":
            cmp = self.take("CMP")
            return build.field_value(name, term, cmp, self.take("WORD"))
        return build.field_value(name, term)


def _recipe(kinds: list[str | None]):
    """The recipe of a query shape: a function of the query's token texts and OnePass's term
    helpers that makes its node; None where the grammar rejects these kinds (the two-pass way
    then says why). Compiled from the expression `_Writer` writes: only token numbers and the
    helpers' and joins' names go into it, never a query's text."""
    writer = _Writer(kinds)
    try:
        made = writer.or_expr()
    except _Reject:
        return None
    if kinds[writer.at] is not None:
        return None
    source = f"lambda v, get, word, phrase, field, near: {_sealed(made)}"
    return eval(source, dict(_JOINS))  # only numbers and fixed names: see the docstring


def _sealed(made: tuple[str, object]) -> str:
    """The expression of a `_Writer` result: an AND or OR is made a node where it stops
    growing."""
    how, what = made
    if how == "and":
        return f"And(({', '.join(what)},))"
    if how == "or":
        return f"Or(({', '.join(what)},))"
    return what


class _Writer:
    """The grammar's descent (transforms.rules.descent) over token kinds alone, writing the
    expression of the node instead of making it. Each method answers ("node", expression),
    or ("and" / "or", [expressions]) for a join that may still grow: `a AND (b AND c)` is one
    AND of three children, as the parser flattens it, so a group's AND waits to see where it
    lands."""

    def __init__(self, kinds: list[str | None]):
        self.kinds = kinds
        self.at = 0

    def or_expr(self) -> tuple[str, object]:
        first = self.and_expr()
        if self.kinds[self.at] != "_OR":
            return first
        children: list[str] = []
        child = first
        while True:
            if child[0] == "or":
                children += child[1]
            else:
                children.append(_sealed(child))
            if self.kinds[self.at] != "_OR":
                return ("or", children)
            self.at += 1
            child = self.and_expr()

    def and_expr(self) -> tuple[str, object]:
        kinds = self.kinds
        children = None
        while True:
            child = self.not_expr()
            kind = kinds[self.at]
            if children is None:
                if kind not in _TERM_START and kind != "_AND":
                    return child
                children = []
            if child[0] == "and":
                children += child[1]
            else:
                children.append(_sealed(child))
            if kind == "_AND":
                self.at += 1
            elif kind not in _TERM_START:
                return ("and", children)

    def not_expr(self) -> tuple[str, object]:
        kinds, at = self.kinds, self.at
        kind = kinds[at]
        if kind == "WORD" and kinds[at + 1] != "NEAR":
            self.at = at + 1
            return ("node", f"(get(v[{at}]) or word({at}))")
        if kind == "NOT" or kind == "MINUS":
            self.at = at + 1
            return ("node", f"Not({_sealed(self.not_expr())})")
        if kind == "PLUS":  # `+a` is `a`
            self.at = at + 1
            return self.not_expr()
        if kind != "WORD":  # (a word here is a side of NEAR)
            made = self.primary()
            if kinds[self.at] != "NEAR":
                return made
        end = _term_end(kinds, at)  # a NEAR: its sides are query terms
        while end is not None and kinds[end] == "NEAR":
            end = _term_end(kinds, end + 1)
        if end is None:
            raise _Reject
        self.at = end
        return ("node", f"near({at})")

    def primary(self) -> tuple[str, object]:
        kinds, at = self.kinds, self.at
        kind = kinds[at]
        if kind == "LPAR":
            self.at = at + 1
            inner = self.or_expr()
            if kinds[self.at] != "RPAR":
                raise _Reject
            self.at += 1
            return inner
        if kind == "FIELD":
            end = _term_end(kinds, at)
            if end is None:
                raise _Reject
            self.at = end
            return ("node", f"field({at})")
        if kind == "WORD":
            self.at = at + 1
            return ("node", f"(get(v[{at}]) or word({at}))")
        if kind != "PHRASE":
            raise _Reject
        self.at = at + (2 if kinds[at + 1] == "SLOP" else 1)
        return ("node", f"phrase({at})")


def _term_end(kinds: list[str | None], at: int) -> int | None:
    """Where the query term at `at` ends (a word, a phrase and its ~n, or `field:` either,
    with `CMP WORD` after a field's), as OnePass.term reads it; None if it is not one."""
    field = kinds[at] == "FIELD"
    if field:
        if kinds[at + 1] != "_COLON":
            return None
        at += 2
    if kinds[at] == "WORD":
        at += 1
    elif kinds[at] == "PHRASE":
        at += 2 if kinds[at + 1] == "SLOP" else 1
    else:
        return None
    if field and kinds[at] == "CMP":
        if kinds[at + 1] != "WORD":
            return None
        at += 2
    return at


def _parts(value: str, slop: str | None) -> tuple[str, bool, bool, int | None] | None:
    """The text, phrase, prefix and slop of the Term syntax's builder makes of a WORD, or of
    a PHRASE and its ~n (`slop`): None where the builder has something to check first (any
    '*' but a prefix's, an empty phrase, a ~n past MAX_DISTANCE): then the builder decides."""
    if value[0] in '"“”':
        inner = value[1:-1]
        distance = int(slop[1:]) if slop else None
        if "*" in inner or not inner.strip() or (distance or 0) > syntax.MAX_DISTANCE:
            return None
        return inner, True, False, distance
    if "*" not in value:
        return value, False, False, None
    if value.find("*") == len(value) - 1 > syntax.MIN_PREFIX - 1:  # `deport*`
        return value[:-1], False, True, None
    return None


def _chunk(chunk: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The texts and kinds of a chunk's tokens (no whitespace in it); descent's _Reject if a
    character starts no token. Most chunks are one token: the scanner's first match."""
    found = syntax._FAST.regex.match(chunk)
    if found is not None and found.end() == len(chunk):
        return (chunk,), (found.lastgroup,)
    tokens, kinds = syntax._FAST._tokens(chunk)
    return tuple([t[1] for t in tokens]), tuple(kinds[:-1])


def _depth_bound(query: str) -> int:
    """At least the query tree's depth, as `syntax.parse` counts it: the top OR and AND and
    the leaf, two levels (OR, AND) per '(' and one per negation."""
    return 3 + 2 * query.count("(") + query.count("-") + query.count("NOT")
