"""Story clustering on the real feed snapshots, and its throughput with 50,000 recent articles.

    python bench/stories.py --data ../shared/datasets/feeds [--synthetic 50000] [--sample 20]
                            [--state postgresql://USER@HOST:PORT/EMPTY_DB]

1. Replays the snapshots of every feed in fetch order (one `assign_many` per snapshot, as one
   cycle would), de-duplicated by article id, and prints: articles, stories, multi-member
   stories, how members joined, a seeded sample of merges (titles side by side, for review) and
   the closest non-merges (the near-misses that decide whether the threshold is too high).
2. Real headline edits: the snapshots hold the same article id under edited titles. Each
   consecutive pair of versions is scored as if the two were different articles: how many
   would join one story, and how many the headline-change rule calls an update.
3. Throughput: 50,000 synthetic articles (words drawn with the real corpus's frequencies, all
   published inside one 48 h window) are loaded, then the real articles are assigned against
   that index, per snapshot-sized batch and one by one. `--state URL` runs this part on that
   store (an empty PostgreSQL database: its round trips and server CPU are what several
   workers share; the CPU printed is this process's only) instead of a temporary SQLite file.
   Each step prints a digest of its assignments (story, kind, score, basis, match): two
   versions of the index that print the same digests decided every article the same way.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wirewatch.transforms.ingest.parse import parse_feed  # noqa: E402
from wirewatch.transforms.model import Article  # noqa: E402
from wirewatch.transforms.state import StateStore, open_store  # noqa: E402
from wirewatch.transforms.stories import StoryIndex, StorySettings  # noqa: E402
from wirewatch.transforms.stories.fingerprint import content_words, jaccard, similarity  # noqa: E402
from wirewatch.transforms.stories.index import article_fingerprint, bucket_keys  # noqa: E402
from wirewatch.transforms.stories.material import markers, new_markers  # noqa: E402


def load_snapshots(data: Path):
    """Per snapshot in fetch order: (fetched_at, articles never seen before); the same plus
    every edited headline as an article of its own (id~vN, no link: a feed that re-issues an
    edit under a new guid); and all title versions by article id."""
    snapshots = []
    for feed_dir in sorted(p for p in data.iterdir() if p.is_dir()):
        for path in sorted(feed_dir.glob("*.xml")):
            fetched = datetime.fromtimestamp(int(path.stem.split("_")[1]), timezone.utc)
            result = parse_feed(
                path.read_bytes(),
                feed_id=feed_dir.name,
                feed_url=f"https://{feed_dir.name}.example/rss",
                fetched_at=fetched,
            )
            snapshots.append((fetched, feed_dir.name, result.articles))
    snapshots.sort(key=lambda s: (s[0], s[1]))
    seen: set[str] = set()
    versions: dict[str, list[Article]] = defaultdict(list)
    out, reissued = [], []
    for fetched, _, articles in snapshots:
        fresh, edited = [], []
        for a in articles:
            if not versions[a.id] or versions[a.id][-1].title != a.title:
                versions[a.id].append(a)
                if len(versions[a.id]) > 1:
                    edited.append(
                        a.model_copy(update={"id": f"{a.id}~v{len(versions[a.id])}", "link": None})
                    )
            if a.id not in seen:
                seen.add(a.id)
                fresh.append(a)
        out.append((fetched, fresh))
        reissued.append((fetched, fresh + edited))
    return out, reissued, versions


def entity_tagger(config_path: Path):
    """The pipeline tags before it clusters; the bench does the same with the repo's gazetteer."""
    from wirewatch.transforms.config import load_config
    from wirewatch.transforms.tagging.tagger import Tagger

    tagger = Tagger.from_config(load_config(config_path))
    return lambda article: tagger.tag(article).entities


class Timer:
    """Wall and CPU time: on a shared machine the wall clock also counts other processes and
    the disk; the CPU time is what clustering itself costs."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu

    def rate(self, n: int) -> str:
        return (
            f"{self.wall:.2f} s wall = {n / self.wall:.0f} articles/s "
            f"(CPU {self.cpu:.2f} s = {n / self.cpu:.0f} articles/s)"
        )


def digest(results) -> str:
    """12 hex digits over every assignment in order: equal digests, equal decisions."""
    text = "\n".join(
        f"{r.story_id} {r.kind} {r.similarity!r} {r.basis} {r.matched_article_id}" for r in results
    )
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def floor2(score: float) -> str:
    """Two decimals, rounded down: a 0.4996 that did not merge must not print as 0.50."""
    return f"{math.floor(score * 100 + 1e-9) / 100:.2f}"


def short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def cluster_real(snapshots, settings: StorySettings, sample: int, seed: int, tag) -> list[Article]:
    clock = {"now": snapshots[0][0]}
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(tmp)
        index = StoryIndex(store, settings, clock=lambda: clock["now"])
        results, articles = [], []
        with Timer() as timer:
            for fetched, fresh in snapshots:
                clock["now"] = fetched
                results += zip(fresh, index.assign_many([(a, tag(a)) for a in fresh]))
                articles += fresh
        by_id = {a.id: a for a in articles}
        stories = Counter(r.story_id for _, r in results)
        multi = [s for s, n in stories.items() if n > 1]
        joined = [(a, r) for a, r in results if not r.is_new]
        print(
            f"articles (unique ids): {len(articles)} in {len(snapshots)} snapshots, "
            f"clustered (one assign_many per snapshot, small index) in "
            f"{timer.rate(len(articles))}"
        )
        print(
            f"stories: {len(stories)}; with more than one member: {len(multi)} "
            f"(largest {max(stories.values())}); articles merged into an earlier story: "
            f"{len(joined)}"
        )
        print(
            "merges by basis/kind: "
            + ", ".join(
                f"{k}={n}"
                for k, n in sorted(Counter(f"{r.basis}/{r.kind}" for _, r in joined).items())
            )
        )
        cross = sum(1 for a, r in joined if by_id[r.matched_article_id].feed_id != a.feed_id)
        print(f"cross-feed merges: {cross}; same-feed merges: {len(joined) - cross}")
        print(
            f"\nsample of merges for review ({min(sample, len(joined))} of {len(joined)}, "
            f"seed {seed}):"
        )
        for a, r in sorted(
            random.Random(seed).sample(joined, min(sample, len(joined))),
            key=lambda x: x[0].published,
        ):
            m = by_id[r.matched_article_id]
            print(
                f"  [{r.kind} via {r.basis} {floor2(r.similarity)}] "
                f"{m.feed_id} {m.published:%m-%d %H:%M} {short(m.title, 70)!r}\n"
                f"  {'':>23}{a.feed_id} {a.published:%m-%d %H:%M} {short(a.title, 70)!r}"
            )
        near = sorted(
            (
                (r.similarity, a, by_id[r.matched_article_id])
                for a, r in results
                if r.is_new and r.matched_article_id
            ),
            key=lambda x: -x[0],
        )[:10]
        print(f"\nclosest non-merges (threshold {settings.threshold}):")
        for score, a, m in near:
            print(
                f"  {floor2(score)} {m.feed_id} {short(m.title, 70)!r}\n"
                f"  {'':>4} {a.feed_id} {short(a.title, 70)!r}"
            )
        store.close()
    return articles


def edits(versions: dict[str, list[Article]], settings: StorySettings, tag) -> None:
    """Consecutive title versions of one article id, scored as if they were two articles."""
    s = settings
    pairs = [(v[i], v[i + 1]) for v in versions.values() if len(v) > 1 for i in range(len(v) - 1)]

    def fp(a: Article):
        return article_fingerprint(a, s)

    def score(a: Article, b: Article) -> float:
        text = similarity(fp(a), fp(b), s.min_title_words)[0]
        ea, eb = {e.id for e in tag(a)}, {e.id for e in tag(b)}
        return min(1.0, text + (s.entity_boost * jaccard(ea, eb) if ea and eb else 0.0))

    scored = [(score(a, b), a, b) for a, b in pairs]
    joined = [x for x in scored if x[0] >= s.threshold]
    found = [x for x in joined if set(bucket_keys(fp(x[1]), s)) & set(bucket_keys(fp(x[2]), s))]
    updates = [x for x in joined if new_markers(x[2].title, markers(x[1].title))]
    wordy = [x for x in joined if set(content_words(x[2].title)) - set(content_words(x[1].title))]
    print(
        f"real headline edits (same id, title changed between polls): {len(pairs)} pairs in "
        f"{sum(1 for v in versions.values() if len(v) > 1)} articles"
    )
    print(
        f"  LSH found {len(found)} of the {len(joined)} pairs at or above the threshold "
        f"(they share a bucket)"
    )
    print(
        f"  would join one story at threshold {s.threshold}: {len(joined)}/{len(pairs)}; "
        f"called an update: {len(updates)}/{len(joined)} (any new content word would flag "
        f"{len(wordy)}/{len(joined)})"
    )
    print("  updates:")
    for score, a, b in updates:
        print(
            f"    {floor2(score)} {short(a.title, 60)!r} -> {short(b.title, 60)!r} "
            f"{sorted(new_markers(b.title, markers(a.title)))}"
        )
    print("  not joined (score, before -> after):")
    for score, a, b in sorted((x for x in scored if x[0] < s.threshold), key=lambda x: -x[0]):
        print(f"    {floor2(score)} {short(a.title, 60)!r} -> {short(b.title, 60)!r}")


def synthetic(
    articles: list[Article], n: int, seed: int, start: datetime, hours: float
) -> list[Article]:
    """n articles whose words follow the real corpus's frequencies; published over `hours`."""
    rng = random.Random(seed)
    counts = Counter(w for a in articles for w in f"{a.title} {a.summary}".split())
    words, weights = zip(*counts.items())
    span = hours * 3600
    out = []
    for i in range(n):
        title = " ".join(rng.choices(words, weights, k=rng.randint(6, 12)))
        lead = " ".join(rng.choices(words, weights, k=rng.randint(12, 30)))
        out.append(
            Article(
                id=f"syn{i:06d}",
                feed_id=f"syn{i % 200}",
                title=title,
                summary=lead,
                link=f"https://syn{i % 200}.example/{i}",
                published=start + timedelta(seconds=rng.random() * span),
            )
        )
    return out


def throughput(
    articles: list[Article],
    snapshots,
    settings: StorySettings,
    n: int,
    seed: int,
    state: str | None = None,
) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    pre = synthetic(articles, n, seed, t0, settings.window_hours - 1)
    # the real articles, in their order, all published in the window's last hour
    ordered = [a for _, fresh in snapshots for a in fresh]
    step = 3600 / max(1, len(ordered))
    shifted = [
        a.model_copy(
            update={"published": t0 + timedelta(hours=settings.window_hours - 1, seconds=i * step)}
        )
        for i, a in enumerate(ordered)
    ]
    clock = lambda: t0 + timedelta(hours=settings.window_hours)  # noqa: E731
    sizes = [len(fresh) for _, fresh in snapshots if fresh]
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(state or tmp)
        index = StoryIndex(store, settings, clock=clock)
        if index.counts()["stories_articles"]:
            raise SystemExit(f"{state} already holds stories: give the bench an empty store")
        loaded = []
        with Timer() as load:
            for i in range(0, len(pre), 1000):
                loaded += index.assign_many(pre[i : i + 1000])
        counts = index.counts()
        size_mb = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 1e6
        where = f"{store.location}" if state else f"SQLite, state file {size_mb:.0f} MB"
        print(f"throughput (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores):")
        print(
            f"  loaded {n} synthetic recent articles, batches of 1000, index growing: "
            f"{load.rate(n)}; {counts['stories_bands']} band entries ({where}) "
            f"[assignments {digest(loaded)}]"
        )
        stats = candidate_stats(store, settings, shifted)
        print(
            f"  LSH candidates verified per look-up of a real article ({n} synthetic in its "
            f"window): mean {stats[0]:.1f}, max {stats[1]}"
        )
        done, results = 0, []
        with Timer() as batched:
            for size in sizes:
                results += index.assign_many(shifted[done : done + size])
                done += size
        print(
            f"  {done} real articles against the {n}, one assign_many per snapshot "
            f"(median {sorted(sizes)[len(sizes) // 2]} articles): {batched.rate(done)} "
            f"[assignments {digest(results)}]"
        )
        again = [a.model_copy(update={"id": a.id + "-b", "link": None}) for a in shifted]
        with Timer() as single:
            results = [index.assign(a) for a in again]
        print(
            f"  {len(again)} more (copies without links: every one a text match), one "
            f"assign() = one transaction each: {single.rate(len(again))} "
            f"[assignments {digest(results)}]"
        )
        bundle = [a.model_copy(update={"id": a.id + "-c"}) for a in again]
        with Timer() as whole:
            results = index.assign_many(bundle)
        print(
            f"  the same {len(again)} again as one batch: {whole.rate(len(again))} "
            f"[assignments {digest(results)}]"
        )
        with Timer() as fp:
            for a in again:
                article_fingerprint(a, settings)
        print(f"  of which fingerprinting: {fp.cpu / len(again) * 1e3:.2f} ms CPU per article")
        print(f"  (load average at the end {os.getloadavg()[0]:.1f})")
        store.close()


def candidate_stats(
    store: StateStore, settings: StorySettings, articles: list[Article]
) -> tuple[float, int]:
    """How many indexed articles each look-up had to verify (read-only, after the run)."""
    s, window = settings, settings.window_hours * 3600
    counts = []
    for a in articles:
        keys = bucket_keys(article_fingerprint(a, s), s)
        published = a.published.timestamp()
        counts.append(len(store.story_candidates(keys, published - window, published + window)))
    return sum(counts) / len(counts), max(counts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/datasets/feeds"
    )
    parser.add_argument("--synthetic", type=int, default=50_000)
    parser.add_argument("--sample", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threshold", type=float)
    parser.add_argument(
        "--state", help="store URL for the throughput part (default: a temporary SQLite file)"
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=Path("configs/wirewatch.yaml"),
        help="config whose gazetteer tags entities (as the pipeline does)",
    )
    args = parser.parse_args(argv)
    settings = StorySettings(**({"threshold": args.threshold} if args.threshold else {}))
    start = time.perf_counter()
    snapshots, reissued, versions = load_snapshots(args.data)
    print(
        f"parsed {len(snapshots)} snapshots from {args.data} in "
        f"{time.perf_counter() - start:.1f} s; settings: {settings.model_dump()}"
    )
    tagger = entity_tagger(args.config)
    cache: dict[tuple[str, str], tuple] = {}

    def tag(article: Article) -> tuple:
        key = (article.title, article.summary)
        if key not in cache:
            cache[key] = tuple(tagger(article))
        return cache[key]

    print(f"\n== 1. the snapshots as polled (one article per id), entities from {args.config}")
    articles = cluster_real(snapshots, settings, args.sample, args.seed, tag)
    print("\n== 2. the same, plus every edited headline re-issued as a new article (no link)")
    cluster_real(reissued, settings, args.sample, args.seed, tag)
    print("\n== 3. real headline edits scored pairwise")
    edits(versions, settings, tag)
    if args.synthetic:
        print("\n== 4. throughput")
        throughput(articles, snapshots, settings, args.synthetic, args.seed, args.state)
    return 0


if __name__ == "__main__":
    sys.exit(main())
