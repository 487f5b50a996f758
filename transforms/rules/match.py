"""Executable rule nodes: each answers "does this article satisfy me, and where?".

Two questions, two methods. `holds(view)` is the fast yes/no asked of every candidate rule.
`eval(view)` is asked only of rules that hold, and returns the evidence: a list of
(field, term, start, end, detail) tuples (offsets index the field's text, -1 for tags); NOT
holds with no evidence; None means the node does not hold. Splitting them keeps the evidence
that alerts need from costing anything for the many candidates that do not match.

Nodes never change once made; not `frozen` only for speed (see transforms.rules.query).
"""

from __future__ import annotations

from dataclasses import dataclass

from wirewatch.transforms.rules.units import Unit, char_span, token_hits
from wirewatch.transforms.rules.view import ArticleView

Evidence = tuple[str, str, int, int, str]
MAX_SPANS = 20  # evidence kept per term and field: enough to highlight, bounded in size


# --- nodes -----------------------------------------------------------------------------------


class _ByEval:
    """Nodes whose evidence is as cheap as the yes/no (tags, NEAR): holds = eval found some."""

    __slots__ = ()

    def holds(self, view: ArticleView) -> bool:
        return self.eval(view) is not None


@dataclass(unsafe_hash=True, slots=True)
class TextNode:
    """A unit searched in some fields (title, text, author); `label` is the term as written."""

    unit: Unit
    fields: tuple[str, ...]
    label: str

    def holds(self, view: ArticleView) -> bool:
        unit = self.unit
        fields = view.fields
        for name in self.fields:
            if unit.any(fields[name]):
                return True
        return False

    def eval(self, view: ArticleView) -> list[Evidence] | None:
        out: list[Evidence] = []
        unit, label = self.unit, self.label
        for name in self.fields:
            fv = view.fields[name]
            if not unit.any(fv):
                continue
            found = None if name == "author" else unit.search(fv.folded, _room(out))
            if found is None:  # by token positions: the author field, stems, ~n
                found = [char_span(fv, first, last) for first, last in unit.spans(fv)[:MAX_SPANS]]
            out += [(name, label, start, end, "") for start, end in found]
        return out or None


def _room(out: list) -> int:
    """Spans a field may still add: up to MAX_SPANS in all, and one for a field that holds."""
    return max(MAX_SPANS - len(out), 1)


@dataclass(unsafe_hash=True, slots=True)
class WordNode(TextNode):
    """The commonest rule leaf, a plain word: its test is one set lookup per field, and its
    evidence a few `str.find` calls in the folded text (no position index needed). `token` is
    the unit's one token, kept on the node itself: matching 100,000 rules is bound by reads of
    memory no cache holds, and each object less on the way to the token is one read less."""

    token: str

    def eval(self, view: ArticleView) -> list[Evidence] | None:
        return _word_evidence(self.token, self.label, self.fields, view.fields)

    def holds(self, view: ArticleView) -> bool:
        return self.token in view.vocab_of(self.fields)


def _word_evidence(token: str, label: str, names: tuple[str, ...], fields) -> list | None:
    """Where a plain word occurs in the fields `names`: up to MAX_SPANS (field, label, start,
    end, "") in field order (the author field has no offsets), None if nowhere. The search is
    `token_hits`'s, written out here: this runs for most matches, and a call less is a tenth
    of its cost."""
    out: list[Evidence] = []
    size = len(token)
    for name in names:
        fv = fields[name]
        if token not in fv.vocab:
            continue
        if name == "author":
            out.append((name, label, -1, -1, ""))
            continue
        folded = fv.folded
        last, at = len(folded), 0
        while len(out) < MAX_SPANS:
            at = folded.find(token, at)
            if at < 0:
                break
            end = at + size
            if (at == 0 or folded[at - 1] == " ") and (end == last or folded[end] == " "):
                out.append((name, label, at, end, ""))
            at = end
    return out or None


@dataclass(unsafe_hash=True, slots=True)
class StemNode(TextNode):
    """A word of a rule with `stem: true`: it holds where a token has its stem, and its
    evidence is found like a plain word's, by `str.find` of those tokens (the few the field has
    with that stem), so the field's stems and token spans are never computed for it."""

    stem: str

    def holds(self, view: ArticleView) -> bool:
        return self.stem in view.stems_of(self.fields)

    def eval(self, view: ArticleView) -> list[Evidence] | None:
        stem, label = self.stem, self.label
        out: list[Evidence] = []
        for name in self.fields:
            fv = view.fields[name]
            tokens = fv.stem_vocab().get(stem)
            if tokens is None:
                continue
            if name == "author":  # offsets index no single text: by positions, as TextNode
                hits = [char_span(fv, p, p) for p in fv.stem_positions(stem)[:MAX_SPANS]]
            elif len(tokens) == 1:
                hits = token_hits(fv.folded, tokens[0], True, MAX_SPANS)
            else:  # in text order, as positions give them
                hits = sorted(
                    [h for t in tokens for h in token_hits(fv.folded, t, True, MAX_SPANS)]
                )
                hits = hits[:MAX_SPANS]
            out += [(name, label, start, end, "") for start, end in hits]
        return out or None


@dataclass(unsafe_hash=True, slots=True)
class PrefixNode(TextNode):
    """A prefix (`deport*`): it holds where a token of the field starts with it, which a
    `str.find` in the folded text answers as well as its evidence does (tokens are runs
    between spaces), so the field's sorted tokens are never needed for it. The author field
    has no single text: its tokens answer, as for any TextNode."""

    prefix: str

    def holds(self, view: ArticleView) -> bool:
        prefix = self.prefix  # a loop, not any() of a generator: closing one early costs more
        for name in self.fields:
            fv = view.fields[name]
            if fv.has_prefix(prefix) if name == "author" else _starts(fv.folded, prefix):
                return True
        return False

    def eval(self, view: ArticleView) -> list[Evidence] | None:
        out: list[Evidence] = []
        prefix, label = self.prefix, self.label
        for name in self.fields:
            fv = view.fields[name]
            if name == "author":
                if fv.has_prefix(prefix):
                    spans = self.unit.spans(fv)[:MAX_SPANS]
                    out += [(name, label, *char_span(fv, a, b), "") for a, b in spans]
                continue
            hits = token_hits(fv.folded, prefix, False, _room(out))
            out += [(name, label, start, end, "") for start, end in hits]
        return out or None


def _starts(folded: str, prefix: str) -> bool:
    """Whether a token of the folded text starts with `prefix`."""
    return folded.startswith(prefix) or f" {prefix}" in folded


@dataclass(unsafe_hash=True, slots=True)
class AnyWordNode:
    """`a OR b OR c` of plain words searched in the same fields, the commonest rule shape: the
    OrNode of those WordNodes, evaluated in one frame with a set lookup per word and field,
    where the OrNode asked each word in two calls. Holds and evidence exactly as that OrNode:
    each word's evidence, in the order of the words. It keeps the words' tokens and labels,
    not the WordNodes: matching 100,000 rules waits on memory, and each object less is one
    read less."""

    tokens: tuple[str, ...]
    labels: tuple[str, ...]
    fields: tuple[str, ...]

    def holds(self, view: ArticleView) -> bool:
        return not view.vocab_of(self.fields).isdisjoint(self.tokens)

    def eval(self, view: ArticleView) -> list[Evidence] | None:
        out = None
        vocab = view.vocab_of(self.fields)  # most words of the OR are absent: a set lookup each
        for token, label in zip(self.tokens, self.labels):
            if token in vocab:
                found = _word_evidence(token, label, self.fields, view.fields)
                out = found if out is None else out + found
        return out


@dataclass(unsafe_hash=True, slots=True)
class NearNode(_ByEval):
    """Two units in the same field, at most `distance` words apart (gap between their spans)."""

    left: Unit
    right: Unit
    distance: int
    fields: tuple[str, ...]
    labels: tuple[str, str]

    def eval(self, view: ArticleView) -> list[Evidence] | None:
        out: list[Evidence] = []
        for name in self.fields:
            fv = view.field(name)
            lefts = self.left.spans(fv)
            if not lefts:
                continue
            rights = self.right.spans(fv)
            for ls, le in lefts:
                for rs, re_ in rights:
                    gap = rs - le if rs > le else ls - re_
                    if 1 <= gap <= self.distance:
                        out.append((name, self.labels[0], *char_span(fv, ls, le), ""))
                        out.append((name, self.labels[1], *char_span(fv, rs, re_), ""))
                if len(out) >= MAX_SPANS:
                    break
        return out or None


def _passes(value: float, op: str | None, threshold: float | None) -> bool:
    if op is None:
        return True
    if op == ">=":
        return value >= threshold
    if op == ">":
        return value > threshold
    if op == "<=":
        return value <= threshold
    return value < threshold


@dataclass(unsafe_hash=True, slots=True)
class TagNode(_ByEval):
    """The article carries one of `ids` of the tag kind `field` ("topic": a topic and its
    descendants, "entity": an entity), its value past the threshold when the query gave one
    (the topic's score, the entity's mention count); `ArticleView.tag_values` holds each
    tag's value and evidence."""

    field: str
    ids: frozenset[str]
    op: str | None = None
    threshold: float | None = None

    def eval(self, view: ArticleView) -> list[Evidence] | None:
        out = [
            (self.field, tag, -1, -1, detail)
            for tag, value, detail in view.tag_values[self.field]
            if tag in self.ids and _passes(value, self.op, self.threshold)
        ]
        return out or None


@dataclass(unsafe_hash=True, slots=True)
class TypeNode(_ByEval):
    type: str

    def eval(self, view: ArticleView) -> list[Evidence] | None:
        out = [
            ("type", self.type, -1, -1, f"{e.id} {e.name}")
            for e in view.entities
            if e.type.upper() == self.type
        ]
        return out or None


@dataclass(unsafe_hash=True, slots=True)
class FeedNode(_ByEval):
    value: str
    prefix: bool = False

    def eval(self, view: ArticleView) -> list[Evidence] | None:
        ok = view.feed.startswith(self.value) if self.prefix else view.feed == self.value
        return [("feed", view.tagged.article.feed_id, -1, -1, "")] if ok else None


@dataclass(unsafe_hash=True, slots=True)
class LangNode(_ByEval):
    """`lang:en` holds for en, en-US, en_GB; `lang:en-us` only for en-US; `lang:e*` a prefix."""

    value: str
    prefix: bool = False

    def eval(self, view: ArticleView) -> list[Evidence] | None:
        lang = view.lang
        if self.prefix:
            ok = lang.startswith(self.value)
        else:
            ok = lang == self.value or lang.startswith(self.value + "-")
        return [("lang", lang, -1, -1, "")] if ok else None


@dataclass(unsafe_hash=True, slots=True)
class AndNode:
    children: tuple

    def holds(self, view: ArticleView) -> bool:
        for child in self.children:
            if not child.holds(view):
                return False
        return True

    def eval(self, view: ArticleView) -> list[Evidence] | None:
        for child in self.children:  # the cheap yes/no first: evidence only if all hold
            if not child.holds(view):
                return None
        out: list[Evidence] = []
        for child in self.children:
            out += child.eval(view)
        return out


@dataclass(unsafe_hash=True, slots=True)
class OrNode:
    children: tuple

    def holds(self, view: ArticleView) -> bool:
        for child in self.children:
            if child.holds(view):
                return True
        return False

    def eval(self, view: ArticleView) -> list[Evidence] | None:
        out = None
        for child in self.children:
            found = child.eval(view)
            if found is not None:
                out = found if out is None else out + found
        return out


@dataclass(unsafe_hash=True, slots=True)
class NotNode:
    child: object

    def holds(self, view: ArticleView) -> bool:
        return not self.child.holds(view)

    def eval(self, view: ArticleView) -> list[Evidence] | None:
        return None if self.child.holds(view) else []


@dataclass(unsafe_hash=True, slots=True)
class NeverNode(_ByEval):
    """A term with no letters or digits ("&"): it cannot match; `wirewatch check` says so."""

    label: str

    def eval(self, view: ArticleView) -> list[Evidence] | None:
        return None
