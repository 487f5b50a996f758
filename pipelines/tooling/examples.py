"""Run the examples kept with each rule: texts (or files) that must, or must not, match.

Why with the rule: a rule is tested before it can page anyone, and stays tested when someone
edits the taxonomy or the gazetteer later, because `wirewatch check` runs these too. An example
is inline text (first line the title; HTML or a JSON article work too) or a path, relative to
the main config file, to anything `tooling.inputs` reads (text, an HTML page, JSON or JSON
lines of articles, a feed file, a folder); every article of a file is one example.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wirewatch.pipelines.tooling.explain import Clause, clauses
from wirewatch.pipelines.tooling.inputs import PATH_SUFFIXES, Loaded, article_from_text, read_source
from wirewatch.transforms.errors import InputError, Problem
from wirewatch.transforms.model import TaggedArticle
from wirewatch.transforms.rules.ruleset import CompiledRule, RuleSet
from wirewatch.transforms.rules.view import ArticleView


@dataclass(frozen=True)
class ExampleResult:
    rule_id: str
    expect: str  # "match" or "no_match"
    index: int
    origin: str  # "inline" or the path
    tagged: TaggedArticle
    matched: bool
    clauses: tuple[Clause, ...]

    @property
    def passed(self) -> bool:
        return self.matched == (self.expect == "match")

    @property
    def where(self) -> str:
        return f"rules[{self.rule_id}].examples.{self.expect}[{self.index}]"


def example_items(
    entry: str, rule_id: str, expect: str, index: int, base: Path, source: str
) -> Loaded:
    """The articles one example entry stands for. Problems (a path that does not exist, a file
    that holds no article) name the config file and the example."""
    where = f"rules[{rule_id}].examples.{expect}[{index}]"
    stripped = entry.strip()
    if stripped and "\n" not in stripped:
        path = Path(stripped) if Path(stripped).is_absolute() else base / stripped
        if path.exists():
            loaded = read_source(str(path))
            loaded.problems = [Problem(source, where, str(p)) for p in loaded.problems]
            return loaded
        if " " not in stripped and stripped.lower().endswith(PATH_SUFFIXES):
            return Loaded(
                problems=[
                    Problem(
                        source,
                        where,
                        f"file '{stripped}' not found (paths are relative to {base})",
                    )
                ]
            )
    try:
        return Loaded(items=[article_from_text(entry, f"example:{rule_id}:{expect}:{index}")])
    except InputError as exc:
        return Loaded(problems=[Problem(source, where, p.explained()) for p in exc.problems])


def run_examples(
    config, ruleset: RuleSet, tag, rule_ids: set[str] | None = None
) -> tuple[list[ExampleResult], list[Problem]]:
    """Results for every example of every (selected) rule, and problems loading them."""
    base = Path(config.source).parent if config.source else Path(".")
    source = config.source or "<config>"
    results: list[ExampleResult] = []
    problems: list[Problem] = []
    for rule in ruleset.rules:
        if rule_ids is not None and rule.id not in rule_ids:
            continue
        for expect in ("match", "no_match"):
            for index, entry in enumerate(getattr(rule.config.examples, expect)):
                loaded = example_items(entry, rule.id, expect, index, base, source)
                problems += loaded.problems
                origin = (
                    "inline"
                    if loaded.items and loaded.items[0].id.startswith("example:")
                    else entry.strip()
                )
                for item in loaded.items:
                    results.append(_run_one(rule, ruleset, tag(item), expect, index, origin))
    return results, problems


def _run_one(
    rule: CompiledRule,
    ruleset: RuleSet,
    tagged: TaggedArticle,
    expect: str,
    index: int,
    origin: str,
) -> ExampleResult:
    view = ArticleView(tagged)
    matched = rule.node.eval(view) is not None
    parts = clauses(rule.query, ruleset.vocab, rule.config.stem, view)
    return ExampleResult(rule.id, expect, index, origin, tagged, matched, tuple(parts))
