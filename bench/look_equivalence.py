"""`run --once`'s look calls a feed busy from the first LOOK_AHEAD entries the pre-scan keeps
(pipelines/nothing_new.py); does it give the verdict a whole parse gives, on real feeds?

Each feed's snapshots are replayed in order against a fresh SQLite store: before a snapshot
is recorded seen, the look judges it twice, with LOOK_AHEAD as shipped and with no limit
(a whole parse, as before e8a066f). Prints each disagreement and the totals; the exit code
is 1 if any.

    python bench/look_equivalence.py --feeds ../shared/datasets/feeds [--every 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wirewatch.pipelines import nothing_new  # noqa: E402
from wirewatch.transforms.config import FeedConfig  # noqa: E402
from wirewatch.transforms.ingest.dedupe import seen_hashes  # noqa: E402
from wirewatch.transforms.ingest.fetch import FetchResult  # noqa: E402
from wirewatch.transforms.ingest.parse import parse_feed  # noqa: E402
from wirewatch.transforms.state import open_store  # noqa: E402


def quiet(store, feed: FeedConfig, body: bytes, look_ahead: int) -> bool:
    fetched = FetchResult(url=feed.url, status="ok", outcome="ok", body=body)
    shipped, nothing_new.LOOK_AHEAD = nothing_new.LOOK_AHEAD, look_ahead
    try:
        return nothing_new._parse(nothing_new.Look(), store, feed, fetched) is None
    finally:
        nothing_new.LOOK_AHEAD = shipped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=Path, required=True, help="a folder per feed of snapshots")
    parser.add_argument("--every", type=int, default=1, help="replay every Nth snapshot")
    args = parser.parse_args()
    shipped, whole = nothing_new.LOOK_AHEAD, 10**9
    agree = differ = busy = 0
    for folder in sorted(p for p in args.feeds.iterdir() if p.is_dir()):
        feed = FeedConfig(id=folder.name, url=f"https://{folder.name}.example.com/feed")
        with tempfile.TemporaryDirectory() as tmp, open_store(f"sqlite:///{tmp}/s.db") as store:
            for path in sorted(folder.glob("*.xml"))[:: args.every]:
                body = path.read_bytes()
                verdicts = (quiet(store, feed, body, shipped), quiet(store, feed, body, whole))
                if verdicts[0] == verdicts[1]:
                    agree += 1
                else:
                    differ += 1
                    print(f"differs: {path} (LOOK_AHEAD quiet={verdicts[0]}, whole={verdicts[1]})")
                busy += not verdicts[1]
                parsed = parse_feed(body, feed_id=feed.id, feed_url=feed.url)
                store.record_seen(
                    {k: v for a in parsed.articles for k, v in seen_hashes(a).items()}
                )
    print(
        f"{agree + differ} snapshots: {agree} agree, {differ} differ ({busy} busy by a whole parse)"
    )
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
