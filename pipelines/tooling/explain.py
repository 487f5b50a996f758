"""Say which parts of a rule held for an article: the readable diff of a failed example.

Why clause by clause: "expected a match, got none" is not actionable; "topic:immigration held,
\"border wall\" was not found" is. The top-level clauses of the query (the parts joined by AND,
or by OR) are bound and evaluated one by one against the same prepared article.
"""

from __future__ import annotations

from dataclasses import dataclass

from wirewatch.transforms.model import TaggedArticle
from wirewatch.transforms.rules.bind import Vocabulary, bind
from wirewatch.transforms.rules.query import And, Node, Or
from wirewatch.transforms.rules.view import ArticleView


@dataclass(frozen=True)
class Clause:
    text: str
    held: bool
    evidence: tuple  # (field, term, start, end, detail)


def clauses(query: Node, vocab: Vocabulary, stem: bool, view: ArticleView) -> list[Clause]:
    parts = query.children if isinstance(query, (And, Or)) else (query,)
    out = []
    for part in parts:
        node = bind(part, vocab, stem, [])
        found = node.eval(view)
        out.append(Clause(str(part), found is not None, tuple(found or ())))
    return out


def describe_evidence(evidence, view: ArticleView) -> str:
    """`title "Border Wall"`, `topic immigration.border 0.70`, ... joined by '; '."""
    parts = []
    for field, term, start, end, detail in evidence:
        if start >= 0:
            text = view.field(field).text[start:end]
            part = f'{field} "{text}"'
        else:
            part = f"{field} {term}" + (f" {detail}" if detail else "")
        if part not in parts:
            parts.append(part)
    return "; ".join(parts)


def describe_tags(tagged: TaggedArticle) -> str:
    topics = ", ".join(f"{t.id} {t.score:.2f}" for t in tagged.topics) or "none"
    entities = ", ".join(f"{e.name} ({e.type})" for e in tagged.entities) or "none"
    return f"topics: {topics}; entities: {entities}"


def highlight(text: str, spans, mark: tuple[str, str] = ("[", "]")) -> str:
    """`text` with each (start, end) span wrapped in `mark` (overlaps merged)."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, pos = [], 0
    for start, end in merged:
        out += [text[pos:start], mark[0], text[start:end], mark[1]]
        pos = end
    out.append(text[pos:])
    return "".join(out)
