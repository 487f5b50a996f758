"""`wirewatch state`: what the state store holds, and pruning of old seen keys."""

from __future__ import annotations

import json
from datetime import timedelta

from wirewatch.pipelines.state import resolve_state_dir
from wirewatch.transforms.config import load_config
from wirewatch.transforms.state import open_store

NAME = "state"
HELP = "show the state store (feeds, seen articles, alert ledger, dead letters); --prune-days N"


def add_arguments(parser) -> None:
    parser.add_argument("--state-dir")
    parser.add_argument("--prune-days", type=int, help="forget seen articles older than N days")
    parser.add_argument(
        "--dead-letters",
        type=int,
        default=0,
        metavar="N",
        help="also list the newest N dead letters",
    )


def run(args) -> int:
    config = load_config(args.config)
    store = open_store(resolve_state_dir(args.state_dir, config))
    report = {"path": store.location, **store.counts()}
    if args.prune_days is not None:
        from wirewatch.transforms.stories import StoryIndex

        report["pruned_seen"] = store.prune_seen(timedelta(days=args.prune_days))
        report["pruned_stories"] = StoryIndex(store, config.stories).prune()
    feeds = {f.id: store.feed_state(f.id).model_dump(mode="json") for f in config.feeds}
    letters = (
        [d.model_dump(mode="json") for d in store.dead_letters(args.dead_letters)]
        if args.dead_letters
        else []
    )
    store.close()
    if args.json:
        print(json.dumps({**report, "feeds": feeds, "dead_letters": letters}))
        return 0
    print("\n".join(f"{k}: {v}" for k, v in report.items()))
    for feed_id, st in feeds.items():
        print(
            f"feed {feed_id}: last {st['last_status'] or 'never polled'}, failures "
            f"{st['failures']}, next due {st['next_due'] or '-'}"
            + (f", error: {st['last_error']}" if st["last_error"] else "")
        )
    for letter in letters:
        print(
            f"dead letter {letter['at']} {letter['stage']} {letter['source']}: {letter['reason']}"
        )
    return 0
