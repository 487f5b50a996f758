"""`wirewatch state`: what the state store holds, and pruning of old seen keys.

Besides the counts and feeds it lists the workers that beat on the store (several `wirewatch
run` on one PostgreSQL database), each with its last heartbeat and the feeds it holds a live
lease on, and how many alert claims ran out in 'sending' (`claims_expired`: re-offered by the
next cycle, listed by `redeliver`).

`wirewatch state copy --from LOCATION --to LOCATION [--merge]` moves an installation between
stores (SQLite to PostgreSQL, or back): every table, idempotent (a second copy adds nothing),
refusing a target that already holds data unless --merge (transforms/state/copy.py).

A read-only SQLite file (or folder) is shown read-only. `state repair` rebuilds a damaged
SQLite file from what can still be read, `state reset --yes` starts it empty; both keep a copy
of the old file beside it (transforms/state/sqlite_repair.py).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from wirewatch.pipelines.arguments import at_least
from wirewatch.pipelines.state import (
    add_state_arguments,
    must_exist,
    open_readable,
    resolve_state,
)
from wirewatch.transforms.config import load_config
from wirewatch.transforms.errors import Problem, WirewatchError
from wirewatch.transforms.secrets import redact
from wirewatch.transforms.state import open_store
from wirewatch.transforms.state.copy import copy_store
from wirewatch.transforms.state.interface import WorkerInfo

NAME = "state"
HELP = (
    "show the state store (feeds, seen articles, alert ledger, dead letters, workers and "
    "their leases); --prune-days N; "
    "`state copy --from LOCATION --to LOCATION` copies one store into another; "
    "`state repair` rebuilds a damaged SQLite file, `state reset --yes` starts it empty "
    "(both keep a copy of the old file)"
)


def add_arguments(parser) -> None:
    parser.add_argument(
        "action",
        nargs="?",
        choices=["copy", "repair", "reset"],
        help="copy: copy --from one store --to another; repair: rebuild a damaged SQLite "
        "file from what can be read; reset: start it empty (both keep a copy)",
    )
    add_state_arguments(parser)
    parser.add_argument(
        "--from",
        dest="source",
        metavar="LOCATION",
        help="copy: the store to read (default: the store --state/--state-dir/config name)",
    )
    parser.add_argument("--to", dest="target", metavar="LOCATION", help="copy: the store to fill")
    parser.add_argument(
        "--merge", action="store_true", help="copy: add to a target that already holds data"
    )
    parser.add_argument("--yes", action="store_true", help="reset: do it without asking")
    parser.add_argument(
        "--prune-days", type=at_least(1), help="forget seen articles older than N days"
    )
    parser.add_argument(
        "--dead-letters",
        type=at_least(0),
        default=0,
        metavar="N",
        help="also list the newest N dead letters",
    )


def run(args) -> int:
    if args.action == "copy":
        return copy(args)
    if args.action in ("repair", "reset"):
        from wirewatch.pipelines.commands.state_repair import repair_or_reset

        return repair_or_reset(args)
    config = load_config(args.config, require_secrets=False)
    location = resolve_state(config, args.state, args.state_dir)
    must_exist(location, "state")
    store = open_readable(location)
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
    now = store.now()  # heartbeats and leases are in the store's clock
    report["claims_expired"] = len(store.expired_claims(None, now))
    workers = store.workers()
    store.close()
    if args.json:
        listed = [w.model_dump(mode="json") for w in workers]
        out = {**report, "workers": listed, "feeds": feeds, "dead_letters": letters}
        print(redact(json.dumps(out)))  # errors recorded before secrets were redacted
        return 0
    print("\n".join(f"{k}: {v}" for k, v in report.items()))
    for worker in workers:
        print(worker_line(worker, now))
    for feed_id, st in feeds.items():
        print(
            f"feed {feed_id}: last {st['last_status'] or 'never polled'}, failures "
            f"{st['failures']}, next due {st['next_due'] or '-'}"
            + (f", error: {redact(st['last_error'])}" if st["last_error"] else "")
        )
    for letter in letters:
        print(
            f"dead letter {letter['at']} {letter['stage']} {letter['source']}: "
            + redact(letter["reason"])
        )
    return 0


def worker_line(worker: WorkerInfo, now: datetime) -> str:
    """One worker for people: who, when it last beat (and how long ago), which feeds it holds."""
    ago = max(0, round((now - worker.heartbeat_at).total_seconds()))
    return (
        f"worker {worker.worker} (pid {worker.pid} on {worker.host}): last heartbeat "
        f"{worker.heartbeat_at.isoformat()} ({ago} s ago), started "
        f"{worker.started_at.isoformat()}, leases: {', '.join(worker.leases) or 'none'}"
    )


def copy(args) -> int:
    """Copy every table from --from into --to; prints the rows each table gained."""
    if not args.target:
        raise WirewatchError([Problem(file="state copy", message="--to LOCATION is required")])
    source_location = args.source or resolve_state(
        load_config(args.config, require_secrets=False), args.state, args.state_dir
    )
    must_exist(  # it made an empty store there, copied 0 rows, exit 0
        source_location,
        "state copy: --from",
        "check the path (an absolute one takes four slashes: sqlite:////PATH)",
    )
    with open_readable(source_location) as source, open_store(args.target, check=True) as target:
        copied = copy_store(source, target, merge=args.merge)
        names = source.location, target.location
    if args.json:
        print(json.dumps({"from": names[0], "to": names[1], "copied": copied}))
        return 0
    print(f"copied {names[0]} -> {names[1]}")
    for table, rows in copied.items():
        print(f"  {table}: {rows} rows")
    return 0
