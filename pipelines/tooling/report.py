"""Text for people: a failed example as a small diff, a match with its evidence highlighted."""

from __future__ import annotations

from wirewatch.pipelines.tooling.examples import ExampleResult
from wirewatch.pipelines.tooling.explain import describe_evidence, describe_tags, highlight
from wirewatch.transforms.errors import Problem
from wirewatch.transforms.model import Match, TaggedArticle
from wirewatch.transforms.rules.view import ArticleView

HELD, FAILED = "✓", "✗"


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def example_failure(result: ExampleResult, source: str) -> Problem:
    """'FILE: rules[ID].examples.match[0]: expected a match, got none', with the article and
    the clause by clause diff as its detail lines."""
    article = result.tagged.article
    want = "a match, got none" if result.expect == "match" else "no match, but it matched"
    origin = "" if result.origin == "inline" else f" ({result.origin}: {article.id})"
    view = ArticleView(result.tagged)
    lines = [f'    article: "{_short(article.title, 80)}" {_short(article.summary, 80)}'.rstrip()]
    width = max(len(c.text) for c in result.clauses) if result.clauses else 0
    for clause in result.clauses:
        mark = HELD if clause.held else FAILED
        evidence = describe_evidence(clause.evidence, view) if clause.held else "not found"
        lines.append(f"    {mark} {clause.text.ljust(min(width, 40))}  {evidence}")
    lines.append(f"    {describe_tags(result.tagged)}")
    return Problem(source, result.where, f"expected {want}{origin}", detail="\n".join(lines))


def match_lines(match: Match | None, tagged: TaggedArticle, color: bool = False) -> list[str]:
    """MATCH / no match, the title and summary with hits marked, the evidence and the tags."""
    article = tagged.article
    marks = ("\033[1;33m", "\033[0m") if color else ("[", "]")
    hits = match.hits if match else ()
    title = highlight(
        article.title,
        [(h.start, h.end) for h in hits if h.field == "title" and h.start >= 0],
        marks,
    )
    summary = highlight(
        article.summary,
        [(h.start, h.end) for h in hits if h.field == "text" and h.start >= 0],
        marks,
    )
    verdict = "MATCH" if match else "no match"
    lines = [f"{verdict}  {article.id}  ({article.feed_id})", f"  title: {title}"]
    if summary:
        lines.append(f"  text:  {_short(summary, 600) if not match else summary}")
    if match:
        lines.append(
            "  why:   "
            + (
                ", ".join(
                    f"{h.field}:{h.term}" + (f" ({h.detail})" if h.detail else "") for h in hits
                )
                or "(no term found: the rule held through its NOT parts)"
            )
        )
    lines.append(f"  tags:  {describe_tags(tagged)}")
    return lines
