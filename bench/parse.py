"""Benchmark: parse only what is new, against plain feedparser on every snapshot.

Replays the snapshots of each feed in poll order (DATA/<feed>/NNNNN_<unixtime>.xml) through the
pipeline's cores: fetch (local read, same size cap) -> parse_feed(seen_of=store) -> dedupe
(drop ids in the store, then add the new ones). The store starts empty, so it warms as a real
store does: the first poll of each feed is a full parse, every later poll sees mostly known
entries (the timed run includes those first polls). The baseline is `feedparser.parse` of every
snapshot's bytes, measured in the same process, interleaved per repetition.

Also timed: every entry of every poll parsed without a store, fetch included, dedupe left out;
and, against a store of content hashes with DropSeen's verdicts (new / edited), every entry
parsed against the cut ParseFeeds makes (an entry seen with the hash of its raw title and
summary is not parsed). Both must pass on exactly the same new and edited articles (checked).

Times are CPU seconds of this process (time.process_time, so other jobs on the machine count
less), the median of --repeat runs, ours and the baseline interleaved run by run; the ratio is
median against median, all from the same run.

Checks, reported as yes/no: the same set of unique articles (ids) as full parses of every
snapshot, and each article equal (fetched_at aside) to the one a full parse of the snapshot where
it first appeared gives (bench/parse_equivalence.py compares every entry, field by field).

    python bench/parse.py --data ../shared/datasets/feeds [--repeat 5]
"""

from __future__ import annotations

import argparse
import glob
import io
import os
import statistics
import sys
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import feedparser

from wirewatch.transforms.config import FetchSettings
from wirewatch.transforms.ingest.dedupe import content_hash, seen_hashes, seen_verdict
from wirewatch.transforms.ingest.fetch import fetch
from wirewatch.transforms.ingest.parse import parse_feed

try:  # the reference: feedparser reads every entry (older code, for before/after runs, lacks it)
    from wirewatch.transforms.ingest.parse import parse_feed_by_feedparser
except ImportError:
    parse_feed_by_feedparser = parse_feed

FEED_URL = "https://feeds.example.com/{}"


def snapshots(data: str) -> list[tuple[str, str, datetime]]:
    """(feed id, path, poll time) in poll order: by snapshot time, feeds interleaved."""
    polls = []
    for path in glob.glob(os.path.join(data, "*", "*.xml")):
        stamp = int(os.path.basename(path).split("_")[1].split(".")[0])
        polls.append((stamp, os.path.basename(os.path.dirname(path)), path))
    polls.sort()
    return [
        (feed, path, datetime.fromtimestamp(stamp, timezone.utc)) for stamp, feed, path in polls
    ]


def poll_once(feed: str, path: str, when: datetime, settings, seen_of=None):
    """One poll: fetch (local read) then parse_feed, with the store's `seen_of` if any."""
    fetched = fetch(path, settings)
    return parse_feed(
        fetched.body,
        feed_id=feed,
        feed_url=FEED_URL.format(feed),
        headers=fetched.headers,
        fetched_at=when,
        seen_of=seen_of,
    )


def run_pipeline(polls, settings):
    """fetch -> parse(seen_of) -> dedupe against the store. Returns (articles, entries, stats)."""
    store: set[str] = set()
    emitted = {}
    entries = skipped = fast = 0
    for feed, path, when in polls:
        result = poll_once(feed, path, when, settings, seen_of=store.intersection)
        entries += result.entries
        skipped += result.skipped_seen
        fast += result.fast_path
        for article in result.articles:
            if article.id not in store:
                store.add(article.id)
                emitted[article.id] = article
    return emitted, entries, {"skipped_seen": skipped, "fast_path_polls": fast}


def run_every_entry(polls, settings) -> int:
    """Every entry of every poll parsed (no seen_of), as ParseFeeds did while it looked for
    edits without the cut by hash. Returns the article count."""
    count = 0
    for feed, path, when in polls:
        count += len(poll_once(feed, path, when, settings).articles)
    return count


def run_with_hashes(polls, settings, *, cut: bool):
    """ParseFeeds then DropSeen's verdicts against a store of content hashes (new and edited
    articles pass and their hashes are recorded, as CommitCycle does). With `cut`, parse_feed
    gets the store's hashes (`seen_of`: the pre-scan cuts an entry seen with the hash of its raw
    text); without, every entry is parsed. Returns what DropSeen passed, as (poll, id, verdict,
    hash), and how many articles parse_feed gave: both modes must pass exactly the same."""
    store: dict[str, str | None] = {}
    passed, parsed = [], 0
    for poll, (feed, path, when) in enumerate(polls):
        seen_of = (lambda ids: {i: store[i] for i in ids if i in store}) if cut else None
        result = poll_once(feed, path, when, settings, seen_of=seen_of)
        parsed += len(result.articles)
        for article in result.articles:
            verdict = seen_verdict(article, store)
            if verdict in ("new", "edited"):
                passed.append((poll, article.id, verdict, content_hash(article)))
                store.update(seen_hashes(article))
    return passed, parsed


def run_baseline(bodies) -> int:
    entries = 0
    for body in bodies:
        entries += len(feedparser.parse(io.BytesIO(body)).entries)
    return entries


def full_parse_reference(polls, bodies):
    """Every snapshot parsed in full (no seen_of): the unique articles, first appearance wins."""
    reference = {}
    for (feed, _, when), body in zip(polls, bodies):
        for article in parse_feed_by_feedparser(
            body, feed_id=feed, feed_url=FEED_URL.format(feed), fetched_at=when
        ).articles:
            reference.setdefault(article.id, article)
    return reference


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="directory of <feed>/NNNNN_<unixtime>.xml")
    parser.add_argument("--repeat", type=int, default=5, help="timed repetitions (median kept)")
    args = parser.parse_args(argv)
    polls = snapshots(args.data)
    if not polls:
        print(f"no snapshots under {args.data}", file=sys.stderr)
        return 2
    settings = FetchSettings()
    bodies = []
    for _, path, _ in polls:
        with open(path, "rb") as handle:
            bodies.append(handle.read())
    ours, every, base, hashed_every, hashed_cut = [], [], [], [], []
    for _ in range(args.repeat):
        start = time.process_time()
        emitted, entries, stats = run_pipeline(polls, settings)
        ours.append(time.process_time() - start)
        start = time.process_time()
        every_articles = run_every_entry(polls, settings)
        every.append(time.process_time() - start)
        start = time.process_time()
        passed_every, parsed_every = run_with_hashes(polls, settings, cut=False)
        hashed_every.append(time.process_time() - start)
        start = time.process_time()
        passed_cut, parsed_cut = run_with_hashes(polls, settings, cut=True)
        hashed_cut.append(time.process_time() - start)
        start = time.process_time()
        base_entries = run_baseline(bodies)
        base.append(time.process_time() - start)
    reference = full_parse_reference(polls, bodies)
    same_set = set(emitted) == set(reference)
    strip = {"fetched_at"}
    same_content = all(
        emitted[i].model_dump(exclude=strip) == reference[i].model_dump(exclude=strip)
        for i in emitted
        if i in reference
    )
    mid, mid_base = statistics.median(ours), statistics.median(base)
    print(
        f"snapshots: {len(polls)} in {len({p[0] for p in polls})} feeds; entries: {entries} "
        f"(baseline counted {base_entries}); {stats}"
    )
    runs = ", ".join(f"{o:.2f}/{e:.2f}/{b:.2f}" for o, e, b in zip(ours, every, base))
    print(f"CPU s per run, new-only/every-entry/baseline: {runs}")
    print(f"pipeline fetch+parse(seen_of)+dedupe: {mid:.3f} s CPU  {entries / mid:,.0f} entries/s")
    mid_every = statistics.median(every)
    print(
        f"every entry parsed, fetch+parse (no store): {mid_every:.3f} s CPU  "
        f"{entries / mid_every:,.0f} entries/s ({every_articles} articles)"
    )
    mid_hashed_every, mid_hashed_cut = (
        statistics.median(hashed_every),
        statistics.median(hashed_cut),
    )
    edited = sum(verdict == "edited" for _, _, verdict, _ in passed_every)
    runs = ", ".join(f"{e:.2f}/{c:.2f}" for e, c in zip(hashed_every, hashed_cut))
    print(f"CPU s per run with content hashes, every entry/cut by hash: {runs}")
    same_passed = passed_every == passed_cut
    print(
        f"with content hashes, parse + DropSeen verdicts: every entry parsed "
        f"{mid_hashed_every:.3f} s CPU ({parsed_every} articles parsed); cut when seen with the "
        f"same hash {mid_hashed_cut:.3f} s CPU ({parsed_cut} parsed): "
        f"{mid_hashed_every / mid_hashed_cut:.1f}x less CPU; passed on: {len(passed_every)} "
        f"({edited} edited); same new and edited articles: {'yes' if same_passed else 'no'}"
    )
    print(
        f"plain feedparser.parse every snapshot: {mid_base:.3f} s CPU  "
        f"{base_entries / mid_base:,.0f} entries/s"
    )
    print(
        f"ratio: {mid_base / mid:.1f}x less CPU than re-parsing everything "
        f"(median of {args.repeat}); every entry parsed: {mid_base / mid_every:.1f}x"
    )
    print(
        f"unique articles: {len(emitted)} (full-parse reference {len(reference)}); "
        f"same set: {'yes' if same_set else 'no'}; same content: "
        f"{'yes' if same_content else 'no'}"
    )
    return 0 if same_set and same_content and same_passed else 1


if __name__ == "__main__":
    sys.exit(main())
