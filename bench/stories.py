"""Story clustering on the real feed snapshots, and its throughput with 50,000 recent articles.

    python bench/stories.py --data ../shared/datasets/feeds [--synthetic 50000] [--sample 20]

1. Replays the snapshots of every feed in fetch order (one `assign_many` per snapshot, as one
   cycle would), de-duplicated by article id, and prints: articles, stories, multi-member
   stories, how members joined, a seeded sample of merges (titles side by side, for review) and
   the closest non-merges (the near-misses that decide whether the threshold is too high).
2. Real headline edits: the snapshots hold the same article id under edited titles. Each
   consecutive pair of versions is scored as if the two were different articles: how many
   would join one story, and how many the headline-change rule calls an update.
3. Throughput: 50,000 synthetic articles (words drawn with the real corpus's frequencies, all
   published inside one 48 h window) are loaded, then the real articles are assigned against
   that index, per snapshot-sized batch and one by one.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from transforms.model import Article  # noqa: E402
from transforms.parse import parse_feed  # noqa: E402
from transforms.store import StateStore  # noqa: E402
from transforms.stories import StoryIndex, StorySettings  # noqa: E402
from transforms.stories.fingerprint import (content_words, fingerprint, jaccard,  # noqa: E402
                                            similarity)
from transforms.stories.material import markers, new_markers  # noqa: E402


def load_snapshots(data: Path) -> tuple[list[tuple[datetime, list[Article]]], dict[str, list]]:
    """[(fetched_at, new articles of that snapshot)] in fetch order; all title versions by id."""
    snapshots = []
    for feed_dir in sorted(p for p in data.iterdir() if p.is_dir()):
        for path in sorted(feed_dir.glob("*.xml")):
            fetched = datetime.fromtimestamp(int(path.stem.split("_")[1]), timezone.utc)
            result = parse_feed(path.read_bytes(), feed_id=feed_dir.name,
                                feed_url=f"https://{feed_dir.name}.example/rss",
                                fetched_at=fetched)
            snapshots.append((fetched, feed_dir.name, result.articles))
    snapshots.sort(key=lambda s: (s[0], s[1]))
    seen: set[str] = set()
    versions: dict[str, list[Article]] = defaultdict(list)
    out = []
    for fetched, _, articles in snapshots:
        fresh = []
        for a in articles:
            if not versions[a.id] or versions[a.id][-1].title != a.title:
                versions[a.id].append(a)
            if a.id not in seen:
                seen.add(a.id)
                fresh.append(a)
        out.append((fetched, fresh))
    return out, versions


def entity_tagger(config_path: Path):
    """The pipeline tags before it clusters; the bench does the same with the repo's gazetteer."""
    from transforms.config import load_config
    from transforms.tagging.tagger import Tagger
    tagger = Tagger.from_config(load_config(config_path))
    return lambda article: tagger.tag(article).entities


def short(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def cluster_real(snapshots, settings: StorySettings, sample: int, seed: int,
                 entities) -> list[Article]:
    clock = {"now": snapshots[0][0]}
    with tempfile.TemporaryDirectory() as tmp:
        store = StateStore(tmp)
        index = StoryIndex(store, settings, clock=lambda: clock["now"])
        results, articles = [], []
        start = time.perf_counter()
        for fetched, fresh in snapshots:
            clock["now"] = fetched
            results += zip(fresh, index.assign_many([(a, entities[a.id]) for a in fresh]))
            articles += fresh
        elapsed = time.perf_counter() - start
        by_id = {a.id: a for a in articles}
        stories = Counter(r.story_id for _, r in results)
        multi = [s for s, n in stories.items() if n > 1]
        joined = [(a, r) for a, r in results if not r.is_new]
        print(f"articles (unique ids): {len(articles)} in {len(snapshots)} snapshots, "
              f"clustered in {elapsed:.2f} s ({len(articles) / elapsed:.0f} articles/s, "
              f"small index)")
        print(f"stories: {len(stories)}; with more than one member: {len(multi)} "
              f"(largest {max(stories.values())}); articles merged into an earlier story: "
              f"{len(joined)}")
        print("merges by basis/kind: " + ", ".join(
            f"{k}={n}" for k, n in sorted(Counter(f"{r.basis}/{r.kind}"
                                                  for _, r in joined).items())))
        cross = sum(1 for a, r in joined if by_id[r.matched_article_id].feed_id != a.feed_id)
        print(f"cross-feed merges: {cross}; same-feed merges: {len(joined) - cross}")
        print(f"\nsample of merges for review ({min(sample, len(joined))} of {len(joined)}, "
              f"seed {seed}):")
        for a, r in sorted(random.Random(seed).sample(joined, min(sample, len(joined))),
                           key=lambda x: x[0].published):
            m = by_id[r.matched_article_id]
            print(f"  [{r.kind} via {r.basis} {r.similarity:.2f}] "
                  f"{m.feed_id} {m.published:%m-%d %H:%M} {short(m.title, 70)!r}\n"
                  f"  {'':>23}{a.feed_id} {a.published:%m-%d %H:%M} {short(a.title, 70)!r}")
        near = sorted(((r.similarity, a, by_id[r.matched_article_id]) for a, r in results
                       if r.is_new and r.matched_article_id), key=lambda x: -x[0])[:10]
        print(f"\nclosest non-merges (threshold {settings.threshold}):")
        for score, a, m in near:
            print(f"  {score:.2f} {m.feed_id} {short(m.title, 70)!r}\n"
                  f"  {'':>4} {a.feed_id} {short(a.title, 70)!r}")
        store.close()
    return articles


def edits(versions: dict[str, list[Article]], settings: StorySettings, tag) -> None:
    """Consecutive title versions of one article id, scored as if they were two articles."""
    s = settings
    pairs = [(v[i], v[i + 1]) for v in versions.values() if len(v) > 1 for i in range(len(v) - 1)]

    def fp(a: Article):
        return fingerprint(a.title, a.summary, num_perm=s.num_perm, lead_words=s.lead_words,
                           min_title_words=s.min_title_words)

    def score(a: Article, b: Article) -> float:
        text = similarity(fp(a), fp(b), s.min_title_words)[0]
        ea, eb = {e.id for e in tag(a)}, {e.id for e in tag(b)}
        return min(1.0, text + (s.entity_boost * jaccard(ea, eb) if ea and eb else 0.0))

    scored = [(score(a, b), a, b) for a, b in pairs]
    joined = [x for x in scored if x[0] >= s.threshold]
    updates = [x for x in joined if new_markers(x[2].title, markers(x[1].title))]
    wordy = [x for x in joined if set(content_words(x[2].title)) - set(content_words(x[1].title))]
    print(f"\nreal headline edits (same id, title changed between polls): {len(pairs)} pairs in "
          f"{sum(1 for v in versions.values() if len(v) > 1)} articles")
    print(f"  would join one story at threshold {s.threshold}: {len(joined)}/{len(pairs)}; "
          f"called an update: {len(updates)}/{len(joined)} (any new content word would flag "
          f"{len(wordy)}/{len(joined)})")
    print("  updates:")
    for score, a, b in updates:
        print(f"    {score:.2f} {short(a.title, 60)!r} -> {short(b.title, 60)!r} "
              f"{sorted(new_markers(b.title, markers(a.title)))}")
    print("  not joined (score, before -> after):")
    for score, a, b in sorted((x for x in scored if x[0] < s.threshold), key=lambda x: -x[0]):
        print(f"    {score:.2f} {short(a.title, 60)!r} -> {short(b.title, 60)!r}")


def synthetic(articles: list[Article], n: int, seed: int, start: datetime,
              hours: float) -> list[Article]:
    """n articles whose words follow the real corpus's frequencies; published over `hours`."""
    rng = random.Random(seed)
    counts = Counter(w for a in articles for w in f"{a.title} {a.summary}".split())
    words, weights = zip(*counts.items())
    span = hours * 3600
    out = []
    for i in range(n):
        title = " ".join(rng.choices(words, weights, k=rng.randint(6, 12)))
        lead = " ".join(rng.choices(words, weights, k=rng.randint(12, 30)))
        out.append(Article(id=f"syn{i:06d}", feed_id=f"syn{i % 200}", title=title, summary=lead,
                           link=f"https://syn{i % 200}.example/{i}",
                           published=start + timedelta(seconds=rng.random() * span)))
    return out


def throughput(articles: list[Article], snapshots, settings: StorySettings, n: int,
               seed: int) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    pre = synthetic(articles, n, seed, t0, settings.window_hours - 1)
    # the real articles, in their order, all published in the window's last hour
    ordered = [a for _, fresh in snapshots for a in fresh]
    step = 3600 / max(1, len(ordered))
    shifted = [a.model_copy(update={"published": t0 + timedelta(
        hours=settings.window_hours - 1, seconds=i * step)}) for i, a in enumerate(ordered)]
    clock = lambda: t0 + timedelta(hours=settings.window_hours)  # noqa: E731
    sizes = [len(fresh) for _, fresh in snapshots if fresh]
    with tempfile.TemporaryDirectory() as tmp:
        store = StateStore(tmp)
        index = StoryIndex(store, settings, clock=clock)
        start = time.perf_counter()
        for i in range(0, len(pre), 1000):
            index.assign_many(pre[i:i + 1000])
        load = time.perf_counter() - start
        counts = index.counts()
        size_mb = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 1e6
        print(f"\nthroughput: loaded {n} synthetic recent articles in {load:.1f} s "
              f"({n / load:.0f} articles/s, batches of 1000, index growing); "
              f"{counts['stories_bands']} band entries, state file {size_mb:.0f} MB")
        start = time.perf_counter()
        done = 0
        for size in sizes:
            index.assign_many(shifted[done:done + size])
            done += size
        batched = time.perf_counter() - start
        print(f"  {done} real articles against {n} in the index, one batch per snapshot "
              f"(median {sorted(sizes)[len(sizes) // 2]}): {batched:.2f} s = "
              f"{done / batched:.0f} articles/s")
        again = [a.model_copy(update={"id": a.id + "-b"}) for a in shifted]
        start = time.perf_counter()
        for a in again:
            index.assign(a)
        single = time.perf_counter() - start
        print(f"  {len(again)} more, one assign() (one transaction) each: {single:.2f} s = "
              f"{len(again) / single:.0f} articles/s")
        s = settings
        start = time.perf_counter()
        for a in again:
            fingerprint(a.title, a.summary, num_perm=s.num_perm, lead_words=s.lead_words,
                        min_title_words=s.min_title_words)
        fp_time = time.perf_counter() - start
        print(f"  of which fingerprinting alone: {fp_time / len(again) * 1e3:.2f} ms/article")
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared/datasets/feeds")
    parser.add_argument("--synthetic", type=int, default=50_000)
    parser.add_argument("--sample", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threshold", type=float)
    parser.add_argument("--config", type=Path, default=Path("configs/wirewatch.yaml"),
                        help="config whose gazetteer tags entities (as the pipeline does)")
    args = parser.parse_args(argv)
    settings = StorySettings(**({"threshold": args.threshold} if args.threshold else {}))
    start = time.perf_counter()
    snapshots, versions = load_snapshots(args.data)
    print(f"parsed {len(snapshots)} snapshots from {args.data} in "
          f"{time.perf_counter() - start:.1f} s; settings: {settings.model_dump()}")
    tag = entity_tagger(args.config)
    start = time.perf_counter()
    entities = {a.id: tag(a) for _, fresh in snapshots for a in fresh}
    print(f"tagged entities with {args.config} in {time.perf_counter() - start:.1f} s "
          f"({sum(1 for e in entities.values() if e)} of {len(entities)} articles have some)")
    articles = cluster_real(snapshots, settings, args.sample, args.seed, entities)
    edits(versions, settings, tag)
    if args.synthetic:
        throughput(articles, snapshots, settings, args.synthetic, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
