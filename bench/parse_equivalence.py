"""Prove that parsing only what is new gives feedparser's articles, field by field.

Two corpora, each compared against feedparser reading the whole body
(`parse_feed_by_feedparser`):

- `--feeds DIR` (DIR/<feed>/NNNNN_<unixtime>.xml, polled in order): every snapshot parsed
  without a store (every entry built from the tree where it can be, as ParseFeeds parses), as
  a first poll (a store that has seen nothing), and as the real sequence of polls against a
  warming store (each poll's new articles against the same snapshot's reference).
- `--corpus DIR` (feedparser's own test files, e.g. tests/ from the feedparser sdist): every
  file with entries, parsed without a store and as a first poll.

For each body, the feedparser-shaped entries built from the pre-scan's tree (tree_entry) are
also compared with feedparser's own entries, key by key, for every key an Article reads.
Prints the number of differences by kind (0 expected) and up to --show examples of each.

    python bench/parse_equivalence.py --feeds ../shared/datasets/feeds \
        --corpus /tmp/feedparser-6.0.14/tests
"""

from __future__ import annotations

import argparse
import glob
import io
import os
import sys
from collections import Counter, defaultdict
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import feedparser
from lxml import etree

from wirewatch.transforms.ingest import prescan, tree_entry
from wirewatch.transforms.ingest.parse import parse_feed, parse_feed_by_feedparser
from wirewatch.transforms.ingest.sanitize import sanitize

FEED_URL = "https://feeds.example.com/{}"
FETCHED = datetime(2026, 1, 1, tzinfo=timezone.utc)


class Report:
    def __init__(self, show: int):
        self.show = show
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, list[str]] = defaultdict(list)
        self.stats: Counter[str] = Counter()

    def differ(self, kind: str, example: str) -> None:
        self.counts[kind] += 1
        if len(self.examples[kind]) < self.show:
            self.examples[kind].append(example)

    def print(self, title: str) -> None:
        print(f"== {title}")
        for key, value in sorted(self.stats.items()):
            print(f"  {key}: {value}")
        print(f"  differences: {sum(self.counts.values())}")
        for kind, count in sorted(self.counts.items()):
            print(f"    {kind}: {count}")
            for example in self.examples[kind]:
                print(f"      e.g. {example}")


def compare_articles(ours, reference, where: str, report: Report) -> None:
    """`ours` (id -> Article) must each equal the reference's article of the same id."""
    for ident, article in ours.items():
        expected = reference.get(ident)
        if expected is None:
            report.differ("article not in the full parse", f"{where} {ident} {article.title!r}")
            continue
        mine, theirs = article.model_dump(), expected.model_dump()
        for field in mine:
            if mine[field] != theirs[field]:
                report.differ(
                    f"article field {field}",
                    f"{where} {ident}: {mine[field]!r} != {theirs[field]!r}",
                )
        report.stats["articles compared"] += 1


def first_poll(body: bytes, feed_id: str, url: str, where: str, report: Report) -> None:
    """Without a store, and with a store that has seen nothing: every entry is new, and the
    result must equal feedparser's (parse_feed_by_feedparser)."""
    full = parse_feed_by_feedparser(body, feed_id=feed_id, feed_url=url, fetched_at=FETCHED)
    for seen_of, mode in ((None, "no store"), (lambda ids: set(), "first poll")):
        fast = parse_feed(body, feed_id=feed_id, feed_url=url, fetched_at=FETCHED, seen_of=seen_of)
        compare_results(fast, full, f"{where} ({mode})", report)
    compare_entries(body, url, where, report)


def compare_results(fast, full, where: str, report: Report) -> None:
    """Articles, dead letters, warnings and the feed's fields of two results of one body."""
    ours = {a.id: a for a in fast.articles}
    theirs = {a.id: a for a in full.articles}
    compare_articles(ours, theirs, where, report)
    for ident in theirs.keys() - ours.keys():
        report.differ("article missing", f"{where} {ident} {theirs[ident].title!r}")
    if [(d.reason, d.detail) for d in fast.dead_letters] != [
        (d.reason, d.detail) for d in full.dead_letters
    ]:
        report.differ(
            "dead letters",
            f"{where}: {[d.reason for d in fast.dead_letters]} != "
            f"{[d.reason for d in full.dead_letters]}",
        )
    if fast.warnings != full.warnings:
        report.differ("warnings", f"{where}: {fast.warnings} != {full.warnings}")
    mine = (fast.version, fast.title, fast.ttl, fast.entries, fast.duplicates)
    theirs_fields = (full.version, full.title, full.ttl, full.entries, full.duplicates)
    if full.articles and mine != theirs_fields:
        report.differ("feed fields and counts", f"{where}: {mine} != {theirs_fields}")


def compare_entries(body: bytes, url: str, where: str, report: Report) -> None:
    """tree_entry's dictionaries against feedparser's entries, key by key."""
    data = sanitize(body)
    try:
        root = etree.fromstring(data, prescan._parser())
    except (etree.XMLSyntaxError, ValueError):
        return
    shape = prescan._shape(root)
    if shape is None or not shape[1]:
        return
    if root.getroottree().docinfo.encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
        return  # the pre-scan leaves these to the byte scan and feedparser
    built = tree_entry.build_entries(shape[1], tree_entry.Document(data, base=url, lang=None))
    if built is None:
        report.stats["bodies left to feedparser (shape not replayed)"] += 1
        return
    report.stats["bodies built from the tree"] += 1
    parsed = feedparser.parse(io.BytesIO(data), response_headers={"content-location": url})
    if len(parsed.entries) != len(built):
        report.differ("entry count", f"{where}: {len(built)} != {len(parsed.entries)}")
        return
    for index, (mine, theirs) in enumerate(zip(built, parsed.entries)):
        report.stats["entries compared key by key"] += 1
        for key in tree_entry.ARTICLE_KEYS:
            if dict.get(mine, key) != dict.get(theirs, key):
                report.differ(
                    f"entry key {key}",
                    f"{where} entry {index}: {dict.get(mine, key)!r} != {dict.get(theirs, key)!r}",
                )


def feeds_history(data_dir: str, show: int) -> Report:
    report = Report(show)
    polls = []
    for path in glob.glob(os.path.join(data_dir, "*", "*.xml")):
        stamp = int(os.path.basename(path).split("_")[1].split(".")[0])
        polls.append((stamp, os.path.basename(os.path.dirname(path)), path))
    polls.sort()
    store: set[str] = set()
    for stamp, feed, path in polls:
        with open(path, "rb") as handle:
            body = handle.read()
        where = os.path.relpath(path, data_dir)
        url = FEED_URL.format(feed)
        report.stats["snapshots"] += 1
        first_poll(body, feed, url, where, report)
        when = datetime.fromtimestamp(stamp, timezone.utc)
        reference = parse_feed_by_feedparser(body, feed_id=feed, feed_url=url, fetched_at=when)
        full = {a.id: a for a in reference.articles}
        fast = parse_feed(
            body, feed_id=feed, feed_url=url, fetched_at=when, seen_of=store.intersection
        )
        ours = {a.id: a for a in fast.articles}
        compare_articles(ours, full, where, report)
        for ident in full.keys() - store - ours.keys():
            report.differ("new article missing in the poll", f"{where} {ident}")
        report.stats["new articles in the polls"] += len(ours.keys() - store)
        store |= ours.keys()
    return report


def corpus(root_dir: str, show: int) -> Report:
    report = Report(show)
    for path in sorted(glob.glob(os.path.join(root_dir, "**", "*.xml"), recursive=True)):
        with open(path, "rb") as handle:
            body = handle.read()
        where = os.path.relpath(path, root_dir)
        url = "http://127.0.0.1:8097/" + where
        try:
            has_entries = bool(feedparser.parse(io.BytesIO(body)).entries)
        except Exception:  # noqa: BLE001 - a file feedparser itself cannot read
            report.stats["files feedparser cannot read"] += 1
            continue
        report.stats["files"] += 1
        if not has_entries:
            continue
        report.stats["files with entries"] += 1
        first_poll(body, "corpus", url, where, report)
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", help="directory of <feed>/NNNNN_<unixtime>.xml")
    parser.add_argument("--corpus", help="feedparser's tests/ directory (from its sdist)")
    parser.add_argument("--show", type=int, default=3, help="examples per kind of difference")
    args = parser.parse_args(argv)
    if not (args.feeds or args.corpus):
        parser.error("give --feeds, --corpus or both")
    total = 0
    if args.feeds:
        report = feeds_history(args.feeds, args.show)
        report.print(f"feed history {args.feeds}")
        total += sum(report.counts.values())
    if args.corpus:
        report = corpus(args.corpus, args.show)
        report.print(f"feedparser corpus {args.corpus}")
        total += sum(report.counts.values())
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
