"""`wirewatch redeliver`: resend dead-lettered alerts, each exactly once.

Also resent: alerts whose claim expired in 'sending' (the process that claimed them died before
recording an outcome). Dead alerts keep their full payload in the state store's ledger, so they
can be resent after the feed item is long gone. Each goes through the same ledger claim as a
first delivery: an alert that another process already resent is not sent again.

Alerts deferred by an outage or a rate-limit park are resent by the cycles themselves once the
sink is back (Dispatcher.resume, the same claims); this command is for the rest, and for those
older than `auto_redeliver_hours`. A person asked, so it tries a sink even while it is down.
"""

from __future__ import annotations

import json
from datetime import datetime

from wirewatch.pipelines.state import add_state_arguments, owning, resolve_state
from wirewatch.transforms.config import load_config
from wirewatch.transforms.model import Alert
from wirewatch.transforms.secrets import redact

NAME = "redeliver"
HELP = "resend dead-lettered alerts (exit 1 if some still fail)"


def add_arguments(parser) -> None:
    add_state_arguments(parser)
    since = "only alerts that died at or after this ISO time"
    parser.add_argument("--since", type=datetime.fromisoformat, help=since)
    parser.add_argument("--sink", help="only alerts for this sink")
    parser.add_argument("--dry-run", action="store_true", help="list, do not send")


def run(args) -> int:
    from wirewatch.pipelines.watch import keeping_leases
    from wirewatch.transforms.state import open_store
    from wirewatch.transforms.state.owner import claim_owner

    config = load_config(args.config)
    if args.sink is not None and args.sink not in config.sinks:  # it said "redelivered 0"
        from wirewatch.pipelines.arguments import usage_error
        from wirewatch.transforms.config.messages import did_you_mean

        raise usage_error(
            "wirewatch redeliver",
            f"--sink {args.sink}: {config.source} has no such sink"
            f"{did_you_mean(args.sink, config.sinks)}",
            f"one of: {', '.join(sorted(config.sinks)) or '(none)'}",
        )
    location = resolve_state(config, args.state, args.state_dir)
    with owning(location) as store, open_store(location) as keeper:
        # its claims are renewed while it sends, as a cycle's are: one send with its retries
        # can outlast lease_seconds, and a watch worker would take the claim for a dead one's
        with keeping_leases(keeper, claim_owner(), config.lease_seconds, beat=False):
            return _redeliver(args, config, store)


def _redeliver(args, config, store) -> int:
    from wirewatch.transforms.sinks.dispatch import Dispatcher
    from wirewatch.transforms.sinks.registry import build_sink

    dispatcher = Dispatcher(
        config, store, lambda name: build_sink(name, config.sinks[name]), try_down_sinks=True
    )
    stuck = store.expired_claims(None, store.now())  # their sender died
    records = [
        r for r in store.alerts("dead", args.since) + stuck if not args.sink or r.sink == args.sink
    ]
    alerts = [Alert.model_validate_json(record.payload) for record in records]
    # a stuck claim's line may be in its file already (killed inside a batch): not again
    written = (
        set()
        if args.dry_run
        else dispatcher.written_of(a for a in alerts if a.sink in config.sinks)
    )
    results = {"sent": 0, "already_sent": 0, "dead": 0, "unknown_sink": 0}
    for record, alert in zip(records, alerts):
        if args.dry_run:
            error = record.error and redact(record.error)  # recorded before redaction?
            print(json.dumps({"key": record.key, "sink": record.sink, "error": error}))
            continue
        if record.sink not in config.sinks:
            results["unknown_sink"] += 1
            print(f"skip {record.key}: sink '{record.sink}' is no longer in {config.source}")
            continue
        outcome = dispatcher.redeliver(alert, written)
        results[outcome.status] += 1
        if outcome.status == "dead":
            print(f"still failing {record.key}: {outcome.dead_letter.reason}")
    dispatcher.close()
    if not args.dry_run:
        print(
            json.dumps(results)
            if args.json
            else f"redelivered {results['sent']}, still dead {results['dead']}, "
            f"skipped {results['already_sent'] + results['unknown_sink']}"
        )
    return 1 if results["dead"] or results["unknown_sink"] else 0
