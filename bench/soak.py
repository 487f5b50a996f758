"""Soak: many watch cycles back to back over real feed snapshots; memory and per-cycle overhead.

A loopback HTTP server serves the five feeds of DATA (DATA/<feed>/NNNNN_<unixtime>.xml, in poll
order): poll p of a feed (out of --cycles) gets snapshot floor(p * snapshots / cycles), so the
60 snapshots are spread over the run and most polls bring nothing new, as in real life. The
server sends no validators (200 and the full body every time: the worse case).

Each cycle is what the watch driver runs per tick (`wirewatch.pipelines.watch.CycleRunner`, all
feeds due, no sleep between ticks), with the shipped taxonomy and gazetteer, two rules and a
JSONL sink.
Reported: RSS of this process (which is the in-process engine's worker too) at cycle 1, 100 and
the last, and cycle time of the cycles that found nothing new (median, p95, mean).

    python bench/soak.py --data ../shared/datasets/feeds [--cycles 1000] [--trace-malloc 25]

--trace-malloc N traces Python allocations (tracemalloc, which slows every cycle down: compare
RSS and times only between runs without it) and prints the N allocation sites (file:line) that
grew most between cycle 100 (--trace-from) and the last cycle, after a full garbage collection.
"""

from __future__ import annotations

import argparse
import gc
import glob
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.loopback import FeedServer  # noqa: E402
from wirewatch.pipelines.logs import configure_logging  # noqa: E402
from wirewatch.transforms.config import load_config  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CONFIG = """
include:
  - {root}/configs/taxonomy/*.yaml
  - {root}/configs/entities/*.yaml
feeds:
{feeds}
rules:
  - {{id: tariffs, query: 'tariff*'}}
  - {{id: layoffs, query: 'layoffs OR "job cuts"'}}
routes:
  - {{sinks: [file], group_wait: 0}}
sinks:
  file: {{type: jsonl, path: "{tmp}/alerts.jsonl"}}
"""


class ReplayServer(FeedServer):
    """Serves /<feed>.xml; each poll of a feed moves it along its snapshots."""

    def __init__(self, snapshots: dict[str, list[str]], cycles: int):
        super().__init__()
        self.snapshots, self.cycles = snapshots, cycles
        self.polls = {feed: 0 for feed in snapshots}

    def _handle(self, handler, body):
        feed = handler.path.strip("/").removesuffix(".xml")
        if feed not in self.snapshots:
            return self._reply(handler, 404, {}, b"no such feed")
        with self.lock:
            files = self.snapshots[feed]
            index = min(len(files) - 1, self.polls[feed] * len(files) // self.cycles)
            self.polls[feed] += 1
        content = Path(files[index]).read_bytes()
        self._reply(handler, 200, {"Content-Type": "application/rss+xml"}, content)


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _snapshot() -> tracemalloc.Snapshot:
    """A snapshot of what is still alive: garbage collected first, tracemalloc's own frames out."""
    gc.collect()
    return tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__)]
    )


def _print_growth(
    old: tracemalloc.Snapshot, new: tracemalloc.Snapshot, start: int, end: int, top: int
) -> None:
    """The sites whose live memory grew most, by file:line, with the deepest frames of the top 5."""
    traced = sum(s.size for s in new.statistics("filename")) - sum(
        s.size for s in old.statistics("filename")
    )
    print(
        f"\ntracemalloc: live Python memory {traced / 2**20:+.2f} MiB from cycle {start} to {end}"
    )
    by_line = new.compare_to(old, "lineno")
    for stat in by_line[:top]:
        frame = stat.traceback[0]
        print(
            f"  {stat.size_diff / 2**20:+8.3f} MiB {stat.count_diff:+8d} blocks "
            f"(now {stat.size / 2**20:7.3f} MiB)  {frame.filename}:{frame.lineno}"
        )
    print("\nwhere the top 5 grew from (8 frames, innermost last):")
    for stat in new.compare_to(old, "traceback")[:5]:
        print(f"  {stat.size_diff / 2**20:+.3f} MiB {stat.count_diff:+d} blocks")
        for line in stat.traceback.format()[-16:]:
            print(f"    {line}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="the feeds snapshot directory")
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--every", type=int, default=100, help="print a line every N cycles")
    parser.add_argument(
        "--trace-malloc",
        type=int,
        default=0,
        metavar="N",
        help="print the N allocation sites that grew most from cycle --trace-from to the last",
    )
    parser.add_argument("--trace-from", type=int, default=100, metavar="CYCLE")
    args, beam_args = parser.parse_known_args()
    configure_logging()
    snapshots = {
        os.path.basename(d): sorted(glob.glob(os.path.join(d, "*.xml")))
        for d in sorted(glob.glob(os.path.join(args.data, "*")))
        if os.path.isdir(d)
    }
    if not snapshots:
        parser.error(f"no <feed>/*.xml under {args.data}")

    from wirewatch.pipelines.watch import CycleRunner

    with tempfile.TemporaryDirectory() as tmp, ReplayServer(snapshots, args.cycles) as server:
        feeds = "\n".join(
            f'  - {{id: {feed}, url: "{server.url(f"/{feed}.xml")}", backfill_hours: null}}'
            for feed in snapshots
        )
        path = Path(tmp) / "soak.yaml"
        path.write_text(CONFIG.format(root=ROOT, feeds=feeds, tmp=tmp))
        config = load_config(str(path))
        runner = CycleRunner(config, f"{tmp}/state", beam_args)
        idle: list[float] = []
        idle_cpu: list[float] = []  # CPU seconds of this process: robust to a busy machine
        rss: dict[int, float] = {}
        totals = {"articles_new": 0, "matches": 0, "alerts_sent": 0, "dead_letters": 0}
        if args.trace_malloc:
            tracemalloc.start(8)
        first: tracemalloc.Snapshot | None = None
        started = time.monotonic()
        print(
            f"soak: {args.cycles} cycles, {len(snapshots)} feeds x "
            f"{max(map(len, snapshots.values()))} snapshots, beam args {beam_args or 'none'}"
        )
        for n in range(1, args.cycles + 1):
            cpu = time.process_time()
            summary = runner.run(config.feeds)
            cpu = time.process_time() - cpu
            for key in totals:
                totals[key] += summary.get(key)
            if summary.get("articles_new") == 0:
                idle.append(summary.seconds)
                idle_cpu.append(cpu)
            if n in (1, 100, args.cycles) or n % args.every == 0:
                rss[n] = rss_mib()
                recent = idle[-args.every :] or [float("nan")]
                print(
                    f"cycle {n:5d}: RSS {rss[n]:7.1f} MiB, idle cycle median "
                    f"{statistics.median(recent):.3f} s (last {len(recent)}), "
                    f"{totals['articles_new']} new articles so far, "
                    f"load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
            if args.trace_malloc and n in (min(args.trace_from, args.cycles - 1), args.cycles):
                snapshot = _snapshot()
                if first is None:
                    first = snapshot
                    first_cycle = n
                else:
                    _print_growth(first, snapshot, first_cycle, n, args.trace_malloc)
        elapsed = time.monotonic() - started
    idle.sort()
    idle_cpu.sort()
    base = rss.get(100, rss[1])
    print(
        f"\nran {args.cycles} cycles in {elapsed:.0f} s ({elapsed / args.cycles:.3f} s per cycle; "
        f"{os.cpu_count()} CPUs, load average at the end {os.getloadavg()[0]:.1f})"
    )
    print(f"totals: {totals}")
    print(
        f"RSS: cycle 1 {rss[1]:.1f} MiB, cycle 100 {rss.get(100, float('nan')):.1f} MiB, "
        f"cycle {args.cycles} {rss[args.cycles]:.1f} MiB "
        f"({(rss[args.cycles] - base) / base * 100:+.1f}% from cycle {100 if 100 in rss else 1}; "
        f"target within 10%)"
    )
    if idle:
        print(
            f"cycles with nothing new: {len(idle)}, median {statistics.median(idle):.3f} s, "
            f"p95 {idle[int(0.95 * (len(idle) - 1))]:.3f} s, mean {statistics.fmean(idle):.3f} s "
            f"(target <= 0.5 s)"
        )
        print(
            f"  CPU time of those cycles: median {statistics.median(idle_cpu):.3f} s, "
            f"p95 {idle_cpu[int(0.95 * (len(idle_cpu) - 1))]:.3f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
