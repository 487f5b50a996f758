"""`wirewatch state repair` and `wirewatch state reset`: the fixes a store fault names.

Both apply to SQLite files (a PostgreSQL database has its own tools: one line, exit 2), both
keep a copy of the old file beside it and print where. reset throws the whole store away, so
it asks first: `--yes`, or a "y" typed at a terminal; without a terminal it refuses.
"""

from __future__ import annotations

import json
import sys

from wirewatch.pipelines.state import resolve_state
from wirewatch.transforms.config import load_config
from wirewatch.transforms.errors import Problem, WirewatchError, redact_url
from wirewatch.transforms.state.location import sqlite_path
from wirewatch.transforms.state.sqlite_repair import Report, repair, reset


def repair_or_reset(args) -> int:
    config = load_config(args.config, require_secrets=False)
    location = resolve_state(config, args.state, args.state_dir)
    path = sqlite_path(location)
    if path is None:
        raise WirewatchError(
            [
                Problem(
                    file=redact_url(location),
                    message=f"`wirewatch state {args.action}` applies to SQLite state files only",
                    fix="repair a PostgreSQL database with PostgreSQL's tools "
                    "(pg_dump/pg_restore, a replica, a backup)",
                )
            ]
        )
    if args.action == "reset" and not args.yes and not _confirmed(path):
        raise WirewatchError(
            [
                Problem(
                    file=str(path),
                    message="`wirewatch state reset` empties the state store (a copy is kept)",
                    fix="add --yes to go ahead",
                )
            ]
        )
    report = repair(path) if args.action == "repair" else reset(path)
    if args.json:
        tables = [t._asdict() for t in report.tables]
        print(json.dumps({"action": args.action, **report._replace(tables=tables)._asdict()}))
        return 0
    print(describe(args.action, report))
    return 0


def _confirmed(path) -> bool:
    if not sys.stdin.isatty():
        return False
    answer = input(f"Empty the state store {path} (a copy is kept beside it)? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def describe(action: str, report: Report) -> str:
    """What was done, for people: per table the rows kept, where the old file is."""
    if action == "reset":
        kept = f"; the old file is kept as {report.copy}" if report.copy else ""
        return f"reset {report.path}: it starts empty{kept}"
    lines = [f"repaired {report.path}; the broken file is kept as {report.copy}"]
    for table in report.tables:
        lost = "" if table.complete else " (some rows were unreadable and are lost)"
        lines.append(f"  {table.table}: {table.rows} rows recovered{lost}")
    if any(t.table == "alerts" and not t.complete for t in report.tables):
        lines.append(
            "warning: part of the alert ledger was unreadable: an alert it recorded as sent "
            "may be sent again if its item is still in its feed"
        )
    return "\n".join(lines)
