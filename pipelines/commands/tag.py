"""`wirewatch tag [FILE...|-]`: show the topics and entities the pipeline would see.

Runs the same Tagger as the pipeline (no Beam import), on plain text, HTML or a JSON article, so
a person can see why an alert fired or did not. Exit 1 when some input could not be read.
"""

from __future__ import annotations

import json
import os
import re
import sys

from wirewatch.transforms.config import load_config

NAME = "tag"
HELP = "print the topics (score, evidence) and entities of articles: plain text, HTML or JSON"


def add_arguments(parser) -> None:
    parser.add_argument(
        "files", nargs="*", metavar="FILE", help="files to tag; '-' or nothing reads standard input"
    )


def run(args) -> int:
    try:
        return _run(args)
    except BrokenPipeError:  # `wirewatch tag ... | head`: the reader left, not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0


def _run(args) -> int:
    from wirewatch.pipelines.tooling.text_input import InputError, article_from_text
    from wirewatch.transforms.tagging.tagger import Tagger

    config = load_config(args.config)
    tagger = Tagger.from_config(config)
    failed = 0
    for name in args.files or ["-"]:
        try:
            data = sys.stdin.read() if name == "-" else _read(name)
            articles = (
                _feed_articles(data, name)
                if _FEED_START.match(data)
                else [article_from_text(data, "stdin" if name == "-" else name)]
            )
        except (OSError, InputError, ValueError) as exc:
            failed += 1
            _report_error(args.json, name, exc)
            continue
        for article in articles:
            tagged = tagger.tag(article)
            if args.json:
                print(json.dumps(_as_json(name, tagged), ensure_ascii=False))
            else:
                print(_as_text(name, tagged))
    return 1 if failed else 0


_FEED_START = re.compile(r"\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(rss|feed|rdf:RDF)\b", re.S)


def _feed_articles(data: str, name: str) -> list:
    """A feed file: every entry is an article (parsed exactly as the pipeline parses)."""
    from wirewatch.pipelines.tooling.inputs import read_feed
    from wirewatch.pipelines.tooling.text_input import InputError

    loaded = read_feed(data.encode("utf-8"), "stdin" if name == "-" else name)
    if not loaded.items and loaded.problems:
        raise InputError(loaded.problems[0])
    return loaded.items


def _read(path: str) -> str:
    with open(path, "rb") as handle:
        raw = handle.read()
    return raw.decode("utf-8-sig", errors="replace")


def _report_error(as_json: bool, name: str, exc: Exception) -> None:
    reason = getattr(exc, "strerror", None) or str(exc)
    if as_json:
        print(json.dumps({"source": name, "error": reason}))
    else:
        print(f"{name}: error: {reason}", file=sys.stderr)


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
