"""Delivery of a cycle's alerts to a local file (Dispatcher.offer_all, JSONL sink): the store's
cost per alert, on SQLite and on a throwaway loopback PostgreSQL server.

    python bench/deliver.py [--alerts 2553] [--repeat 3] [--backend sqlite postgresql]
                            [--base TREE]

Each run is a fresh process on a fresh store (a new SQLite file, a new PostgreSQL database):
the alerts are claimed as the cycle's commit claims them, then `offer_all` delivers them, timed
alone (wall and CPU of that call). 2,553 alerts is what `bench/scale.py --cold`'s cycle
delivers. `--base TREE` (a checkout of another commit) runs the same in that tree's code,
alternating with this tree's in every repeat, and prints each backend's ratio of medians.
The PostgreSQL server's own CPU is not counted (it runs beside the client on this machine).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import shim  # noqa: E402


def child(location: str, folder: str, count: int) -> None:
    """In a fresh process whose PYTHONPATH is the tree measured: one delivery, as JSON."""
    from tests.factories import alert
    from wirewatch.transforms.config import Config, RouteConfig
    from wirewatch.transforms.config import JsonlSink as JsonlSinkConfig
    from wirewatch.transforms.sinks.dispatch import Dispatcher
    from wirewatch.transforms.sinks.jsonl import JsonlSink
    from wirewatch.transforms.state import Lease, open_store

    path = f"{folder}/alerts.jsonl"
    route = RouteConfig(sinks=["file"], max_alerts=10_000, group_wait=0)
    config = Config(routes=[route], sinks={"file": {"type": "jsonl", "path": path}})
    alerts = [
        alert(sink="file", id=f"a{i}", title=f"Story number {i} about things").model_copy(
            update={"route": 0}
        )
        for i in range(count)
    ]
    store = open_store(location)
    with store.transaction():  # the cycle's commit claims every alert before delivery
        for a in alerts:
            store.claim_alert(a.key, a.sink, a.model_dump_json(), Lease("me", 80))
    sink = JsonlSink("file", JsonlSinkConfig(type="jsonl", path=path))
    dispatcher = Dispatcher(config, store, lambda name: sink, owner="me")
    wall, cpu = time.perf_counter(), time.process_time()
    outcomes = dispatcher.offer_all(alerts)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert sum(o.status == "sent" for o in outcomes) == count, "not every alert was sent"
    dispatcher.close()
    store.close()
    print(json.dumps({"wall": wall, "cpu": cpu}))


def measure(tree: Path, location: str, folder: Path, count: int) -> dict:
    """One child run of `tree`'s code (tests.factories comes from this tree either way)."""
    code = ROOT if tree == ROOT else shim(tree)
    env = {**os.environ, "PYTHONPATH": f"{code}{os.pathsep}{ROOT}"}
    out = subprocess.run(
        [sys.executable, __file__, "--child", location, str(folder), str(count)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=2553)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--base", type=Path, help="a checkout of another commit to compare")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child[0], args.child[1], int(args.child[2]))

    from tests.pgserver import start_server

    trees = {"this tree": ROOT} | ({"base": args.base.resolve()} if args.base else {})
    server = start_server() if "postgresql" in args.backend else None
    results: dict[tuple[str, str], list[dict]] = {}
    try:
        import psycopg

        for run in range(args.repeat):
            for label in list(trees)[:: 1 if run % 2 == 0 else -1]:  # in turns going first
                for backend in args.backend:
                    with tempfile.TemporaryDirectory() as folder:
                        if backend == "sqlite":
                            location = f"sqlite:///{folder}/state.sqlite3"
                        else:
                            name = f"deliver_{run}_{label.replace(' ', '_')}"
                            with psycopg.connect(server.url(), autocommit=True) as conn:
                                conn.execute(f'CREATE DATABASE "{name}"')
                            location = server.url(name)
                        r = measure(trees[label], location, Path(folder), args.alerts)
                    results.setdefault((label, backend), []).append(r)
                    print(
                        f"  run {run + 1}: {label}, {backend}: {r['wall']:.2f} s wall, "
                        f"{r['cpu']:.2f} s CPU",
                        flush=True,
                    )
    finally:
        if server is not None:
            server.destroy()
    print(f"\n{args.alerts} alerts to a JSONL file, offer_all; median of {args.repeat} runs")
    print(f"{'tree':<12}{'backend':<12}{'wall s':>8}{'CPU s':>8}{'ms/alert':>10}{'vs base':>9}")
    for (label, backend), runs in results.items():
        wall = statistics.median(r["wall"] for r in runs)
        cpu = statistics.median(r["cpu"] for r in runs)
        base = results.get(("base", backend))
        ratio = f"{wall / statistics.median(r['wall'] for r in base):.2f}x" if base else ""
        per = 1000 * wall / args.alerts
        print(f"{label:<12}{backend:<12}{wall:>8.2f}{cpu:>8.2f}{per:>10.2f}{ratio:>9}")


if __name__ == "__main__":
    main()
