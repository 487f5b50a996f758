"""`wirewatch tag [FILE...|-]`: show the topics and entities the pipeline would see.

Runs the same Tagger as the pipeline (no Beam import) on what `try-rule` and `preview` read too
(plain text, an HTML page, a JSON article, JSONL, a feed file, a folder, '-' for stdin), so a
person can see why an alert fired or did not. Exit 1 when some input could not be read.
"""

from __future__ import annotations

import json
import sys

from wirewatch.transforms.config import load_config

NAME = "tag"
HELP = (
    "print the topics (score, evidence) and entities of articles: text, HTML, JSON, JSONL, "
    "feed files or folders"
)


def add_arguments(parser) -> None:
    parser.add_argument(
        "files", nargs="*", metavar="FILE", help="files to tag; '-' or nothing reads standard input"
    )


def run(args) -> int:
    from wirewatch.pipelines.tooling.inputs import make_tagger, read_source

    config = load_config(args.config)
    tag = make_tagger(config)
    failed = False
    for name in args.files or ["-"]:
        loaded = read_source(name)
        for problem in loaded.problems:
            failed = True
            _report_error(args.json, name, problem)
        for item in loaded.items:
            tagged = tag(item)
            if args.json:
                print(json.dumps(_as_json(name, tagged), ensure_ascii=False))
            else:
                print(_as_text(name, tagged))
    return 1 if failed else 0


def _report_error(as_json: bool, name: str, problem) -> None:
    if as_json:
        print(json.dumps({"source": name, "error": str(problem), "problem": problem.as_json()}))
    else:
        print(f"input error: {problem}", file=sys.stderr)


def _as_json(name: str, tagged) -> dict:
    return {
        "source": name,
        "title": tagged.article.title,
        "topics": [t.model_dump() for t in tagged.topics],
        "entities": [e.model_dump() for e in tagged.entities],
    }


def _as_text(name: str, tagged) -> str:
    lines = [f"{name}: {tagged.article.title or '(no title)'}", "  topics:"]
    for topic in tagged.topics:
        lines.append(
            f"    {topic.score:.2f}  {topic.id:<18} {topic.label}  [{', '.join(topic.evidence)}]"
        )
    if not tagged.topics:
        lines.append("    (none above threshold)")
    lines.append("  entities:")
    for entity in tagged.entities:
        qid = f" {entity.wikidata}" if entity.wikidata else ""
        lines.append(
            f"    {entity.count:>3}x {entity.type:<7} {entity.id:<28} {entity.name}{qid}"
            f"  [{', '.join(entity.mentions)}]"
            + ("" if entity.source == "gazetteer" else f" ({entity.source})")
        )
    if not tagged.entities:
        lines.append("    (none)")
    return "\n".join(lines)
