"""`wirewatch try-rule QUERY [FILE...|-]`: see what a rule would match before it can page anyone.

Each input (plain text: first line is the title; an HTML article page; a JSON article or JSON
lines of them; a feed file; a folder; '-' for stdin) is tagged like the pipeline tags it, then matched: MATCH or no match, the title and text with the
matched words marked, why, and the tags. `--archive PATH` backtests over a past run's articles
(a folder of feed files, a JSONL of articles, anything the inputs above accept): how many would have matched, and which.
No Beam import. Exit 0 ok, 1 when some input could not be read, 2 for a bad query or config.
"""

from __future__ import annotations

import json
import sys

from wirewatch.pipelines.tooling.inputs import add_files_argument
from wirewatch.transforms.config import load_config
from wirewatch.transforms.errors import Problem, WirewatchError
from wirewatch.transforms.sinks.console import wants_colour

NAME = "try-rule"
HELP = (
    "match one query against texts, articles or feeds (or backtest it with --archive) and "
    "show the evidence and tags"
)


def add_arguments(parser) -> None:
    example = "a rule query, e.g. 'topic:immigration AND (wall OR deport*)'"
    parser.add_argument("query", metavar="QUERY", help=example)
    add_files_argument(parser, nargs="*")
    parser.add_argument(
        "--archive",
        metavar="PATH",
        help="backtest: a folder of feed files, a JSONL of articles, or any input FILE takes",
    )
    parser.add_argument(
        "--stem", action="store_true", help="light English stemming, as a rule's 'stem: true'"
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=50,
        help="archive: list at most N matching articles (default 50)",
    )


def run(args) -> int:
    from wirewatch.pipelines.tooling.inputs import Loaded, make_tagger, read_source
    from wirewatch.pipelines.tooling.never import matches_everything, never_matches
    from wirewatch.transforms.rules.bind import Vocabulary
    from wirewatch.transforms.rules.ruleset import RuleSet, compile_rule
    from wirewatch.transforms.rules.schema import RuleConfig

    if not args.files and not args.archive:
        if sys.stdin.isatty():
            print("try-rule: give FILE..., '-' for stdin, or --archive PATH", file=sys.stderr)
            return 2
        args.files = ["-"]
    config = load_config(args.config, require_secrets=False)  # the topic and entity ids
    rule = RuleConfig(id="try-rule", query=args.query, stem=args.stem)
    problems: list[Problem] = []
    compiled = compile_rule(rule, Vocabulary.from_config(config), "try-rule", problems)
    if compiled is None:
        for problem in problems:  # the query is on the command line: no file, no field
            print(f"error: {problem.explained()}", file=sys.stderr)
        return 2
    broad = matches_everything(compiled.query)
    for warning in never_matches(compiled.query, config) + ([broad] if broad else []):
        print(f"warning: {warning.located(args.query)}", file=sys.stderr)

    tag = make_tagger(config)
    ruleset = RuleSet([compiled])
    loaded = Loaded()
    for source in args.files:
        loaded.extend(read_source(source))
    for problem in loaded.problems:
        print(f"input error: {problem}", file=sys.stderr)
    results = []
    for item in loaded.items:
        tagged = tag(item)
        found = ruleset.match(tagged)
        results.append((tagged, found[0] if found else None))
    _show(results, args)
    failed = bool(loaded.problems)
    if args.archive:
        failed |= _backtest(config, rule, ruleset, tag, args)
    return 1 if failed else 0


def _show(results, args) -> None:
    from wirewatch.pipelines.tooling.report import match_lines

    color = wants_colour(sys.stdout) and not args.json
    for tagged, match in results:
        if args.json:
            print(json.dumps(_as_json(tagged, match), ensure_ascii=False))
        else:
            print("\n".join(match_lines(match, tagged, color)))


def _backtest(config, rule, ruleset, tag, args) -> bool:
    """Replay the archive (tooling/backtest.py) and report what would have been sent.
    True when some input could not be read."""
    from pathlib import Path

    from wirewatch.pipelines.tooling.backtest import run_backtest

    if not Path(args.archive).exists():  # a FileNotFoundError traceback before
        raise WirewatchError(
            [
                Problem(
                    file=args.archive,
                    message="--archive: no such file or folder",
                    fix="give a folder of saved feed snapshots, or one snapshot file",
                )
            ]
        )
    report = run_backtest(
        Path(args.archive),
        config,
        rule,
        ruleset,
        tag,
        limit=max(args.limit, 0),
        progress=_progress_line() if sys.stderr.isatty() else None,
    )
    for problem in report.problems:
        print(f"input error: {problem}", file=sys.stderr)
    if args.json:
        print(json.dumps(_report_json(report, args), ensure_ascii=False))
    else:
        _report_text(report, args)
    return bool(report.problems)


def _progress_line():
    """A one-line progress report on stderr (a terminal only), at most ~10 updates a second."""
    import time

    last = [0.0]

    def show(done: int, total: int, report) -> None:
        now = time.monotonic()
        if done < total and now - last[0] < 0.1:
            return
        last[0] = now
        line = (
            f"\rbacktest: {done:,}/{total:,} snapshots, {report.entries:,} entries, "
            f"{report.articles:,} articles, {report.alerts:,} alerts"
        )
        print(line + ("\n" if done == total else ""), end="", file=sys.stderr, flush=True)

    return show


def summary_line(report) -> str:
    """'N alerts would have been sent (M top-level, K thread replies or more-sources, E
    updates, D digests), from X distinct articles (Y saved copies)'. Updates: edited entries
    that newly matched (marked Updated)."""
    sent = report.sent
    return (
        f"{report.alerts:,} alerts would have been sent ({sent['top_level']:,} top-level, "
        f"{sent['replies']:,} thread replies or more-sources, {sent['updates']:,} updates, "
        f"{sent['digests']:,} digests), "
        f"from {report.matched:,} distinct articles ({report.copies:,} saved copies)"
    )


def _report_text(report, args) -> None:
    print(summary_line(report))
    print(
        f"  replayed {report.snapshots:,} snapshots: {report.entries:,} entries, "
        f"{report.articles:,} distinct articles"
        + (f", {report.edited:,} edited entries evaluated again" if report.edited else "")
        + (f"; {report.silenced:,} matches silenced" if report.silenced else "")
    )
    if report.backlog:
        print(
            f"  {report.backlog:,} entries of first polls were older than the feed's "
            "backfill_hours: marked seen, never alerted (as a live run does)"
        )
    if len(report.by_sink) > 1:
        sinks = ", ".join(f"{s} {sum(c.values()):,}" for s, c in sorted(report.by_sink.items()))
        print(f"  by sink: {sinks}")
    for tagged, match in report.matches():
        article = tagged.article
        why = ", ".join(dict.fromkeys(_why(article, h) for h in match.hits))
        print(f"  {article.published:%Y-%m-%d %H:%M}  {article.feed_id:<16} {article.title}")
        print(f"      why: {why}")
    if report.matched > args.limit:
        print(f"  ... and {report.matched - args.limit:,} more (--limit)")


def _report_json(report, args) -> dict:
    from wirewatch.pipelines.tooling.backtest import KINDS

    return {
        "query": args.query,
        "snapshots": report.snapshots,
        "entries": report.entries,
        "articles": report.articles,
        "edited": report.edited,
        "backlog": report.backlog,
        "matched": report.matched,
        "copies": report.copies,
        "silenced": report.silenced,
        "alerts": {"total": report.alerts, **{k: report.sent[k] for k in KINDS}},
        "by_sink": {
            sink: {"alerts": sum(counts.values()), **{k: counts[k] for k in KINDS}}
            for sink, counts in sorted(report.by_sink.items())
        },
        "by_day": [
            {"day": day, "alerts": sum(counts.values()), **{k: counts[k] for k in KINDS}}
            for day, counts in sorted(report.by_day.items())
        ],
        "matches": [_as_json(t, m) for t, m in report.matches()],
    }


def _why(article, hit) -> str:
    """A hit as the reader sees it: the words found (`title "Deported"`), or the tag."""
    text = {"title": article.title, "text": article.summary}.get(hit.field)
    if text is not None and 0 <= hit.start < hit.end <= len(text):
        return f'{hit.field} "{text[hit.start : hit.end]}"'
    return f"{hit.field}:{hit.term}" + (f" ({hit.detail})" if hit.detail else "")


def _as_json(tagged, match) -> dict:
    article = tagged.article
    return {
        "id": article.id,
        "feed_id": article.feed_id,
        "title": article.title,
        "link": article.link,
        "published": article.published.isoformat(),
        "matched": match is not None,
        "hits": [h.model_dump() for h in match.hits] if match else [],
        "topics": [{"id": t.id, "score": t.score} for t in tagged.topics],
        "entities": [{"id": e.id, "name": e.name, "type": e.type} for e in tagged.entities],
    }
