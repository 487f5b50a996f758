"""`wirewatch tag [FILE...|-]`: show the topics and entities the pipeline would see.

Runs the same Tagger as the pipeline (no Beam import) on what `try-rule` and `preview` read too
(plain text, an HTML page, a JSON article, JSONL, a feed file, a folder, '-' for stdin), so a
person can see why an alert fired or did not. `--explain` adds, per topic with any evidence,
how its score was made (the classifier's probability, the distinct cue words, the parent that
capped it) and why a topic was not emitted. Exit 1 when some input could not be read.
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
    parser.add_argument(
        "--explain",
        action="store_true",
        help="show why each topic was (or was not) emitted: classifier probability, cue words",
    )


def run(args) -> int:
    from wirewatch.pipelines.tooling.inputs import make_tagger, read_source

    config = load_config(args.config, require_secrets=False)
    tagger = _tagger(config) if getattr(args, "explain", False) else None
    tag = make_tagger(config, tagger)
    failed = False
    for name in args.files or ["-"]:
        loaded = read_source(name)
        for problem in loaded.problems:
            failed = True
            _report_error(args.json, name, problem)
        for item in loaded.items:
            tagged = tag(item)
            why = _explain(tagger, tagged) if tagger is not None else None
            if args.json:
                out = _as_json(name, tagged)
                if why is not None:
                    out["explain"] = why
                print(json.dumps(out, ensure_ascii=False))
            else:
                print(_as_text(name, tagged) + ("" if why is None else _explain_text(why)))
    return 1 if failed else 0


def _tagger(config):
    from wirewatch.transforms.tagging.tagger import Tagger

    return Tagger.from_config(config)


def _explain(tagger, tagged) -> list[dict]:
    """Every topic with evidence: its score and what made it, emitted or not and why."""
    from wirewatch.transforms.tagging.topics import MIN_CUES

    _, counts, _ = tagger.analyze(tagged.article.title, tagged.article.summary)
    scorer = tagger.scorer
    emitted = {t.id for t in tagged.topics}
    rows = []
    for d in scorer.decide(counts, explain=True):
        topic = scorer.topics[d.topic]
        threshold = scorer.thresholds[d.topic]
        if topic.id in emitted:
            reason = f"emitted: score >= threshold {threshold:g}"
        elif d.score >= threshold:
            reason = f"not emitted: more than max_topics {scorer.settings.max_topics} topics"
        elif len(d.cues) < MIN_CUES:
            reason = f"not emitted: {len(d.cues)} cue(s), needs {MIN_CUES} distinct cues"
        elif d.capped_by is not None:
            reason = f"not emitted: capped by parent {scorer.topics[d.capped_by].id}"
        else:
            reason = f"not emitted: score < threshold {threshold:g}"
        rows.append(
            {
                "id": topic.id,
                "score": round(d.score, 4),
                "emitted": topic.id in emitted,
                "classifier": None if d.probability is None else round(d.probability, 4),
                "evidence": round(d.evidence, 4),
                "cues": list(d.cues),
                "capped_by": None if d.capped_by is None else scorer.topics[d.capped_by].id,
                "reason": reason,
            }
        )
    return rows


def _explain_text(rows: list[dict]) -> str:
    lines = ["\n  why (every topic with evidence):"]
    for row in rows:
        source = f"evidence {row['evidence']:.2f}"
        if row["classifier"] is not None:
            source = f"classifier {row['classifier']:.2f} x {source}"
        capped = f", capped by {row['capped_by']}" if row["capped_by"] else ""
        lines.append(
            f"    {row['score']:.2f}  {row['id']:<18} {source}, {len(row['cues'])} cues"
            f" [{', '.join(row['cues'][:8])}]{capped}; {row['reason']}"
        )
    if not rows:
        lines.append("    (no topic terms found)")
    return "\n".join(lines)


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
