"""Scale-out: a backlog drained by 1, 2 and 4 workers on PostgreSQL and by 1 on SQLite.

A loopback feed server serves --feeds feeds of --items items each (a backlog of feeds x items
articles, every headline distinct, about a quarter matching the rule). Each scenario starts N
`wirewatch run` worker processes on a fresh store (a new PostgreSQL database on a throwaway
server, or a new SQLite directory) and measures the time from start until every feed's state
is committed (the backlog drained), the articles per second, and the workers' CPU time. Then
one worker runs idle cycles (every item already seen) and the median idle-cycle time is
reported per backend. Everything runs in the same invocation, so the ratios compare like
with like; each scenario is repeated --repeat times and the median reported.

    python bench/scale.py [--feeds 200] [--items 50] [--workers 1 2 4] [--repeat 3]

Targets (issue 13): 2 PostgreSQL workers drain at least 1.6x faster than 1 on a 2-core machine;
an idle cycle on PostgreSQL within 1.5x of SQLite. The load average before each scenario and
the PostgreSQL server's own CPU are printed: on a shared machine the wall times are only
comparable within one run.

    python bench/scale.py --cold [--feeds 5] [--items 2000] [--repeat 3] [--base TREE]
                          [--profile] [--stages] [--idle N] [--busy] [--pair]

Beam workers instead of `wirewatch run` workers (issue 18 item 4): one cold `run --once` over
the backlog on a fresh SQLite store, in-process and with `--direct_num_workers 2
--direct_running_mode multi_processing`; the process's wall time, the cycle's own seconds and
the CPU of the process and its Beam workers. Target: 2 Beam workers >= 1.5x faster (wall);
`per run` is the median of each run's own ratio (its in-process run just before it), which
this VM's drifting speed disturbs less than the ratio of the two medians; `range` is the lowest
and highest of those ratios (on this VM the same code's ratios spread over 1.22-1.58 in one
day, so compare sets of 5 or more). `cycle per run` is the same per-run ratio of the cycles'
own seconds (the JSON row's: the Beam run from its start to its end, without the process's
start-up, i.e. imports, config and rules, nor its exit): what a cold cycle costs inside a
running watch loop. The target is on the process's wall time.
`--base TREE` (a checkout of another commit, e.g. `git worktree add /tmp/base START`) runs the
same scenarios on that code too, alternating with this tree's in every repeat (and going
first in every other repeat), so before and after meet the same load, and prints the median
of each run's difference from base's run of the same mode in the same repeat. `--only
workers` (or `in-process`) runs one mode: for a change that touches only that mode, twice the
pairs in the same time (no per-run ratio then). `--profile` runs the in-process cycle under
cProfile on CPU time (slower: use it for the share, not for wall times) and prints Beam's
share of the cycle's CPU: everything but the time inside wirewatch's own stage code that Beam
calls (the DoFns, the mapped functions), i.e. coders, pickling, bundle machinery and building
the pipeline.
`--stages` prints each run's stages as the driver ran them (from the process's start, their
walls) with each worker process's wall and CPU in them (stage_hook/: a patch of Beam's local
engine loaded through PYTHONPATH; it slows a run a little, so compare its walls with each
other, not with runs without it).
`--busy`: the feeds are not on their first poll. Each run first takes a 1-item backlog (untimed),
then the full one: `run --once`'s look polls every feed, finds each busy and hands its body to
the cycle (pipelines/nothing_new.py), the usual shape of a scheduled `run --once`.
`--idle N` then runs a watch loop of N cycles with nothing new in each mode and reports the
median cycle (after the first two, which build the graphs): with worker processes, what a
cycle costs before any work, i.e. starting its workers.
Every `--cold` run also prints what this machine's cores give two processes (a pure-Python
loop alone, then two copies at once, 5 times before the runs and 5 after): on this 2-vCPU VM
anywhere from 1.2x to 2.1x in one minute, median 1.6-2.0x. With `--stages` it prints the
in-process run's serial seconds (the start, the commit and deliver stages, the exit: one
worker runs them however many there are) and the speed-up 2 workers could at best reach with
them (Amdahl), on 2 full cores and on the measured ones.
`--pair`: after each in-process run, two in-process runs at once, each on its own store and
sink; their throughput against the run alone is what this machine's cores give two processes
doing the cycle's own work (not a loop), the most 2 workers could get from them. With
`--stages` the bound is also given on that.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.loopback import FeedServer  # noqa: E402
from tests.pgserver import start_server  # noqa: E402
from wirewatch.transforms.state import open_store  # noqa: E402

CONFIG = """
feeds:
{feeds}
rules:
  - {{id: quake, query: 'earthquake'}}
routes:
  - {{sinks: [file], max_alerts: 10000, group_wait: 0}}
sinks:
  file: {{type: jsonl, path: "{alerts}"}}
dead_letters: "{dead}"
lease_seconds: 120
"""


def build_feeds(server: FeedServer, feeds: int, items: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    now = format_datetime(datetime.now(timezone.utc), usegmt=True)
    letters = "bcdfghjklmnpqrstvwz"
    for i in range(feeds):
        entries = []
        for k in range(items):
            words = " ".join("".join(rng.choices(letters, k=7)) for _ in range(8))
            lead = "Earthquake" if rng.random() < 0.25 else "Report"
            entries.append(
                f"<item><title>{lead} {words}</title><link>https://example.org/{i}/{k}</link>"
                f"<guid>f{i}-{k}</guid><description>{words} {words[::-1]}</description>"
                f"<pubDate>{now}</pubDate></item>"
            )
        body = (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {i}</title>'
            f"<link>https://example.org/{i}</link>{''.join(entries)}</channel></rss>"
        ).encode()
        server.feeds[f"/f{i}.xml"] = (200, {"Content-Type": "application/rss+xml"}, body)


def write_config(folder: Path, server: FeedServer, feeds: int) -> Path:
    lines = "\n".join(
        f'  - {{id: f{i}, url: "{server.url(f"/f{i}.xml")}", interval: 3600}}' for i in range(feeds)
    )
    path = folder / "wirewatch.yaml"
    path.write_text(
        CONFIG.format(feeds=lines, alerts=folder / "alerts.jsonl", dead=folder / "dead.jsonl")
    )
    return path


def start_workers(n: int, config: Path, state: str, folder: Path, extra=(), path=None) -> list:
    """`path`: the PYTHONPATH to run with (another tree's code, a profiling hook); default
    this tree."""
    env = {**os.environ, "PYTHONPATH": path or str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: see `python_path`
    procs = []
    for k in range(n):
        log = open(folder / f"worker{k}.log", "ab")
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "wirewatch.pipelines.cli",
                    "run",
                    "--config",
                    str(config),
                    "--state",
                    state,
                    *extra,
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    return procs


def stop_workers(procs: list) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def drained(store, feed_ids: list[str]) -> bool:
    states = store.feed_states(feed_ids)
    return all(s.last_status is not None for s in states.values())


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def drain(n: int, state: str, config: Path, folder: Path, feed_ids: list[str]) -> dict:
    """One store, opened before the workers start, answers the polls: opening one per poll
    (a connection pool and its connections, four times a second) took CPU from the workers."""
    with open_store(state) as store:
        cpu0, start = children_cpu(), time.monotonic()
        procs = start_workers(n, config, state, folder)
        try:
            while not drained(store, feed_ids):
                if any(p.poll() is not None for p in procs):
                    raise SystemExit(f"a worker exited early; see {folder}/worker*.log")
                time.sleep(0.25)
            seconds = time.monotonic() - start
        finally:
            stop_workers(procs)
    return {"seconds": seconds, "cpu": children_cpu() - cpu0}


def cold_cycle(state: str, config: Path, folder: Path, beam_args=(), path=None) -> dict:
    """One `run --once` over the whole backlog: process wall, the cycle's seconds, CPU."""
    cpu0, start = children_cpu(), time.monotonic()
    [proc] = start_workers(1, config, state, folder, ("--once", "--json", *beam_args), path)
    proc.wait()
    seconds = time.monotonic() - start
    rows = [
        json.loads(x) for x in (folder / "worker0.log").read_text().splitlines() if x[:1] == "{"
    ]
    if proc.returncode != 0 or not rows:
        tail = (folder / "worker0.log").read_text(errors="replace").splitlines()[-15:]
        raise SystemExit(f"run --once failed ({proc.returncode}):\n" + "\n".join(tail))
    return {"seconds": seconds, "cycle": rows[-1]["seconds"], "cpu": children_cpu() - cpu0}


def paired_cycles(configs: list[Path], folder: Path, path=None) -> dict:
    """Two in-process cold cycles at once, each on its own store and sink: the wall until both
    have ended, and their CPU each. Set against one alone, what this machine's two cores give
    two processes running the cycle's own work (start-up, parsing, tagging, stories, commits),
    which is what 2 workers can hope for at best."""
    cpu0, start = children_cpu(), time.monotonic()
    procs = []
    for k, config in enumerate(configs):
        copy = folder / f"pair-{k}"
        copy.mkdir()
        state = f"sqlite:///{copy / 'state.sqlite3'}"
        procs += [(copy, *start_workers(1, config, state, copy, ("--once", "--json"), path))]
    for copy, proc in procs:
        if proc.wait() != 0:
            raise SystemExit(f"run --once failed ({proc.returncode}): see {copy}/worker0.log")
    return {"seconds": time.monotonic() - start, "cpu": (children_cpu() - cpu0) / len(procs)}


def idle_cycles(
    state: str,
    config: Path,
    folder: Path,
    feed_ids: list[str],
    cycles: int = 8,
    beam_args=(),
    path=None,
) -> list[float]:
    """One worker, every feed due every second, nothing new: each cycle's seconds. The drain
    saved next polls an hour ahead (interval 3600): make every feed due now first."""
    with open_store(state) as store:
        states = store.feed_states(feed_ids)
        store.save_feed_states(s.model_copy(update={"next_due": None}) for s in states.values())
    (folder / "worker0.log").unlink(missing_ok=True)
    args = ("--interval", "1", "--cycles", str(cycles), "--json", *beam_args)
    procs = start_workers(1, config, state, folder, args, path)
    procs[0].wait(600)
    times = []
    for line in (folder / "worker0.log").read_text().splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            if row.get("cycle") and not row["counters"].get("articles_new"):
                times.append(row["seconds"])
    return times[2:]  # the first cycles build and cache the graphs


def server_cpu(pg) -> float:
    """CPU seconds of the PostgreSQL server: the postmaster, its live backends, and the
    backends that exited (counted in the postmaster's children time). Linux /proc only."""
    master = int((pg.data / "postmaster.pid").read_text().split()[0])
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(pid) == master:
            total += sum(map(int, fields[11:15])) / tick
        elif int(fields[1]) == master:
            total += sum(map(int, fields[11:13])) / tick
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cold", action="store_true", help="one cold cycle, 1 vs 2 Beam workers")
    parser.add_argument("--feeds", type=int)
    parser.add_argument("--items", type=int)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--base", type=Path, help="--cold: also run this checkout's code")
    parser.add_argument(
        "--only",
        choices=["in-process", "workers"],
        help="--cold: run that mode alone (with --base: a change that touches only that mode)",
    )
    parser.add_argument("--profile", action="store_true", help="--cold: Beam's CPU share")
    parser.add_argument(
        "--stages", action="store_true", help="--cold: each run's stages, their walls and CPU"
    )
    parser.add_argument(
        "--busy", action="store_true", help="--cold: feeds polled before (look hands bodies over)"
    )
    parser.add_argument(
        "--pair",
        action="store_true",
        help="--cold: also two in-process runs at once (what 2 cores give the cycle's work)",
    )
    parser.add_argument(
        "--idle",
        type=int,
        default=0,
        metavar="N",
        help="--cold: then N watch-loop cycles with nothing new in each mode (median reported)",
    )
    args = parser.parse_args()
    args.feeds = args.feeds or (5 if args.cold else 200)
    args.items = args.items or (2000 if args.cold else 50)
    (cold if args.cold else scale_out)(args)


def cold(args) -> None:
    backlog = args.feeds * args.items
    modes = {
        "in-process": (),
        "2 Beam workers": (
            "--direct_num_workers",
            "2",
            "--direct_running_mode",
            "multi_processing",
        ),
    }
    if args.profile or args.only == "in-process":
        del modes["2 Beam workers"]
    if args.only == "workers":
        del modes["in-process"]
    trees = {"": ROOT} | ({"base ": args.base.resolve()} if args.base else {})
    results: dict[str, list[dict]] = {}
    scalings = core_scaling()
    with FeedServer() as server, tempfile.TemporaryDirectory() as tmp:
        build_feeds(server, args.feeds, args.items)
        config = write_config(Path(tmp), server, args.feeds)
        if args.pair:  # the second copy writes its alerts to a file of its own
            (Path(tmp) / "pair").mkdir()
            configs = [config, write_config(Path(tmp) / "pair", server, args.feeds)]
        paths = {label: python_path(tree, Path(tmp), label) for label, tree in trees.items()}
        for run in range(args.repeat):
            # the trees take turns going first: later runs of a repeat met a slower machine
            # often enough that the second tree lost in process on the same code
            for label in list(trees)[:: 1 if run % 2 == 0 else -1]:
                for mode, beam_args in modes.items():
                    name = f"{label}{mode}"
                    folder = Path(tmp) / f"{name.replace(' ', '-')}-{run}"
                    folder.mkdir()
                    path = paths[label]
                    if args.profile:
                        (folder / "profile").mkdir()
                        path = f"{HOOK_DIR}{os.pathsep}{path}"
                        os.environ[PROFILE_ENV] = str(folder / "profile")
                    if args.stages:
                        (folder / "stages").mkdir()
                        path = f"{STAGE_HOOK_DIR}{os.pathsep}{path}"
                        os.environ[STAGES_ENV] = str(folder / "stages")
                    load = os.getloadavg()[0]
                    state = f"sqlite:///{folder / 'state.sqlite3'}"
                    if args.busy:  # polled once before: no first poll
                        build_feeds(server, args.feeds, 1)
                        cold_cycle(state, config, folder, beam_args, paths[label])  # no hooks
                        (folder / "worker0.log").unlink()
                        build_feeds(server, args.feeds, args.items)
                    started = time.monotonic()
                    r = cold_cycle(state, config, folder, beam_args, path)
                    if args.stages:
                        print(f"  run {run + 1}: {name}, stage by stage:")
                        print(stage_table(folder / "stages", started, r["seconds"]), flush=True)
                        r["serial"] = serial_seconds(folder / "stages", started, r["seconds"])
                    if args.idle:
                        ids = [f"f{i}" for i in range(args.feeds)]
                        idle = idle_cycles(state, config, folder, ids, args.idle, beam_args, path)
                        r["idle"] = statistics.median(idle)
                    if args.profile:
                        r["beam"] = beam_share(folder / "profile")
                    results.setdefault(name, []).append(r)
                    share = f", Beam {r['beam']:.0%} of the cycle's CPU" if args.profile else ""
                    share += f", idle watch cycle {r['idle']:.2f} s" if args.idle else ""
                    print(
                        f"  run {run + 1}: {name}: {r['seconds']:.1f} s wall (cycle "
                        f"{r['cycle']:.1f} s), {r['cpu']:.1f} s CPU{share}, load average {load:.1f}",
                        flush=True,
                    )
                    if args.pair and mode == "in-process":
                        pair = paired_cycles(configs, folder, paths[label])
                        r["pair"] = 2 * r["seconds"] / pair["seconds"]
                        print(
                            f"  run {run + 1}: {label}two in-process runs at once: "
                            f"{pair['seconds']:.1f} s wall, {pair['cpu']:.1f} s CPU each "
                            f"({r['pair']:.2f}x the throughput of one)",
                            flush=True,
                        )
    scalings += core_scaling()
    print(f"\ncold cycle: {backlog} articles in {args.feeds} feeds; median of {args.repeat} runs")
    print(
        f"{'scenario':<21}{'wall s':>8}{'cycle s':>9}{'CPU s':>8}{'speed-up':>10}{'per run':>9}"
        f"{'range':>13}{'cycle per run':>15}"
    )
    for name, rows in results.items():
        seconds = statistics.median(r["seconds"] for r in rows)
        ratio = ""
        same_code = results.get(name.replace("2 Beam workers", "in-process"))
        if same_code:  # not with --only workers
            base = statistics.median(r["seconds"] for r in same_code)
            # each run's ratio against the in-process run just before it: this VM's speed
            # drifts by a fifth within minutes, which the ratio of two medians does not cancel
            ratios = [a["seconds"] / b["seconds"] for a, b in zip(same_code, rows)]
            cycles = [a["cycle"] / b["cycle"] for a, b in zip(same_code, rows)]
            ratio = (
                f"{base / seconds:>9.2f}x{statistics.median(ratios):>8.2f}x"
                f"{f'{min(ratios):.2f}-{max(ratios):.2f}x':>13}{statistics.median(cycles):>14.2f}x"
            )
        cycle = statistics.median(r["cycle"] for r in rows)
        cpu = statistics.median(r["cpu"] for r in rows)
        share = f"  Beam {statistics.median(r['beam'] for r in rows):.0%}" if args.profile else ""
        share += (
            f"  idle cycle {statistics.median(r['idle'] for r in rows):.2f} s" if args.idle else ""
        )
        print(f"{name:<21}{seconds:>8.1f}{cycle:>9.1f}{cpu:>8.1f}{ratio}{share}")
    if args.base:
        print(against_base(results))
    scaling = statistics.median(scalings)
    print(
        f"\nthis machine: 2 processes of a pure-Python loop get {scaling:.2f}x the throughput "
        f"of one (median of {len(scalings)}, before and after the runs; range "
        f"{min(scalings):.2f}-{max(scalings):.2f}x)"
    )
    for name, rows in results.items():
        if "pair" in rows[0]:
            pairs = [r["pair"] for r in rows]
            print(
                f"{name}: two runs at once get {statistics.median(pairs):.2f}x the throughput "
                f"of one (median of {len(pairs)}; range {min(pairs):.2f}-{max(pairs):.2f}x)"
            )
    for name, rows in results.items():
        if "serial" in rows[0] and "2 Beam workers" not in name:
            total = statistics.median(r["seconds"] for r in rows)
            serial = statistics.median(r["serial"] for r in rows)
            print(
                f"{name}: {serial:.1f} of {total:.1f} s run on one worker whatever the number "
                f"(start, commit, deliver, exit): 2 workers can at best be "
                f"{amdahl(total, serial, 2):.2f}x faster on 2 full cores, "
                f"{amdahl(total, serial, scaling):.2f}x on this machine's"
                + (
                    f", {amdahl(total, serial, statistics.median(r['pair'] for r in rows)):.2f}x "
                    "on what two runs at once got"
                    if "pair" in rows[0]
                    else ""
                )
            )


def against_base(results: dict[str, list[dict]]) -> str:
    """This tree's runs against base's run of the same mode in the same repeat (they ran one
    after the other, in turns): the median difference and how often this tree was faster.
    Two runs a minute apart meet a more nearly equal machine than two medians of runs spread
    over the whole set."""
    lines = ["\nthis tree against base, run by run in the same repeat:"]
    for name, rows in results.items():
        if name.startswith("base "):
            continue
        walls = [a["seconds"] - b["seconds"] for a, b in zip(rows, results[f"base {name}"])]
        cpus = [a["cpu"] - b["cpu"] for a, b in zip(rows, results[f"base {name}"])]
        lines.append(
            f"  {name}: {statistics.median(walls):+.2f} s wall (faster in "
            f"{sum(w < 0 for w in walls)} of {len(walls)}), {statistics.median(cpus):+.2f} s CPU"
        )
    return "\n".join(lines)


def python_path(tree: Path, tmp: Path, label: str) -> str:
    """The PYTHONPATH that runs `tree`'s code. This tree is what the editable install maps
    `wirewatch` to; another tree gets a `wirewatch` folder of links to its top-level folders
    (pyproject's package-dir), found first on the path.

    The tree's bytecode is compiled first, as pip does for an installed copy: a shell that
    sets PYTHONDONTWRITEBYTECODE otherwise made every run compile wirewatch's modules again
    in the driver and in the zygote (0.2-0.4 s of start-up no user pays)."""
    folders = [tree / folder for folder in ("pipelines", "transforms")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *map(str, folders)], check=True)
    if tree == ROOT:
        return str(ROOT)
    shim = tmp / f"shim-{label.strip() or 'main'}" / "wirewatch"
    shim.mkdir(parents=True)
    for folder in ("pipelines", "transforms", "configs"):
        (shim / folder).symlink_to(tree / folder)
    return f"{shim.parent}{os.pathsep}{tree}"


PROFILE_ENV = "SCALE_BENCH_PROFILE"
HOOK_DIR = Path(__file__).resolve().parent / "profile_hook"
STAGES_ENV = "SCALE_BENCH_STAGES"
STAGE_HOOK_DIR = Path(__file__).resolve().parent / "stage_hook"


def stage_table(folder: Path, started: float, seconds: float) -> str:
    """What stage_hook/ wrote for one run: each stage the driver ran (from the process's
    start, its wall) and, per worker process, the wall and CPU of its bundles in that stage
    (a bundle belongs to the stage it started in: one clock for all processes). In process
    the driver is the worker."""
    stages, bundles = read_stages(folder)
    workers = sorted(bundles)
    rows = [
        f"    {'from start':>10} {'wall s':>7}  "
        + "  ".join(f"{'worker ' + w:>17}" for w in workers)
        + "  stage"
    ]
    for start, wall, name in stages:
        cells = []
        for pid in workers:
            mine = [(w, c) for s, w, c in bundles[pid] if start <= s < start + wall]
            if mine:
                cells.append(
                    f"{sum(w for w, _ in mine):>7.2f} / {sum(c for _, c in mine):>5.2f} cpu"
                )
            else:
                cells.append(f"{'':>17}")
        rows.append(
            f"    {start - started:>10.2f} {wall:>7.2f}  "
            + "  ".join(cells)
            + f"  {_stage_label(name)}"
        )
    end = max((start + wall for start, wall, _ in stages), default=started)
    rows.append(
        f"    {end - started:>10.2f} {started + seconds - end:>7.2f}  after the last stage, to the exit"
    )
    return "\n".join(rows)


def read_stages(folder: Path) -> tuple[list, dict]:
    """stage_hook/'s dumps: the stages (start, wall, name) in order, and per worker process
    its bundles (start, wall, CPU)."""
    stages, bundles = [], {}
    for dump in sorted(folder.glob("stages-*.txt")):
        pid = dump.stem.split("-")[1]
        for line in dump.read_text().splitlines():
            kind, start, wall, rest = line.split("\t", 3)
            if kind == "stage":
                stages.append((float(start), float(wall), rest))
            else:
                bundles.setdefault(pid, []).append((float(start), float(wall), float(rest)))
    return sorted(stages), bundles


SERIAL_STAGES = ("CommitCycle-Commit", "Deliver-Send", "WriteDeadLetters-Write")
"""The stages that run on one worker whatever the number of workers (one commit, one sink)."""


def serial_seconds(folder: Path, started: float, seconds: float) -> float:
    """Of an in-process run (stage_hook/'s dumps): the seconds no number of workers shares
    out: the start until the first stage, the single-worker stages, and the exit."""
    stages, _ = read_stages(folder)
    if not stages:
        return 0.0
    single = sum(wall for _, wall, name in stages if any(s in name for s in SERIAL_STAGES))
    end = max(start + wall for start, wall, _ in stages)
    return (stages[0][0] - started) + single + (started + seconds - end)


def amdahl(total: float, serial: float, scaling: float) -> float:
    """The best speed-up of a run of `total` seconds, `serial` of them on one core, when
    the rest runs `scaling` times as fast."""
    return total / (serial + (total - serial) / scaling)


def _spin(work: int) -> float:
    started = time.perf_counter()
    total = 0
    for i in range(work):
        total += i * i % 7
    return time.perf_counter() - started


def core_scaling(repeat: int = 5, work: int = 8_000_000) -> list[float]:
    """How much throughput two processes get from this machine's cores against one: a
    pure-Python loop alone, then two copies at once (2 x alone / the slower copy), per
    repeat. On a quiet 2-core machine about 2; on a VM whose second core is shared, less."""
    import multiprocessing

    scalings = []
    with multiprocessing.get_context("fork").Pool(2) as pool:
        for _ in range(repeat):
            [alone] = pool.map(_spin, [work], chunksize=1)
            both = pool.map(_spin, [work, work], chunksize=1)
            scalings.append(2 * alone / max(both))
    return scalings


def _stage_label(name: str) -> str:
    """A fused stage's first three steps, e.g. DropSeen/GroupDuplicates/Read + DropSeen-KeepFirst."""
    steps = re.findall(
        r"ref_AppliedPTransform_([^()+]+?)_\d+|\(([\w/]+/(?:Read|Write)(?:/\d+)?)\)", name
    )
    labels = list(dict.fromkeys(re.sub(r"-(ParDo|FlatMap|Map)-.*$", "", a or b) for a, b in steps))
    return " + ".join(labels[:3]) + (" ..." if len(labels) > 3 else "")


def beam_share(folder: Path) -> float:
    """Beam's share of the in-process cycle's CPU from the driver's profile (profile_hook/):
    the cycle is `measure_cycle`; ours is the time inside wirewatch's stage code entered from
    a Beam frame. (With worker processes the per-thread clocks of their many threads did not
    add up, so --profile times the in-process engine only.)"""
    import pstats

    [dump] = folder.glob("driver-main-*.prof")
    stats = pstats.Stats(str(dump)).stats
    cycle = sum(
        ct
        for (file, _, name), (_, _, _, ct, _) in stats.items()
        if name == "measure_cycle" and file.endswith("cycle.py")
    )
    ours = sum(
        edge[3]
        for (file, _, _), (_, _, _, _, callers) in stats.items()
        if "/transforms/" in file and "site-packages" not in file
        for (caller, _, _), edge in callers.items()
        if "/apache_beam/" in caller
    )
    return 1 - ours / cycle


def scale_out(args) -> None:
    feed_ids = [f"f{i}" for i in range(args.feeds)]
    backlog = args.feeds * args.items
    pg = start_server()
    results: dict[str, list[dict]] = {}
    idle: dict[str, list[float]] = {"sqlite": [], "postgresql": []}
    try:
        with FeedServer() as server, tempfile.TemporaryDirectory() as tmp:
            build_feeds(server, args.feeds, args.items)
            config = write_config(Path(tmp), server, args.feeds)
            scenarios = [("sqlite", 1)] + [("postgresql", n) for n in args.workers]
            for run in range(args.repeat):
                for backend, n in scenarios:
                    folder = Path(tmp) / f"{backend}-{n}-{run}"
                    folder.mkdir()
                    if backend == "sqlite":
                        state = f"sqlite:///{folder / 'state.sqlite3'}"
                    else:
                        state = pg.create_database(f"scale_{n}_{run}")
                    load, server0 = os.getloadavg()[0], server_cpu(pg)
                    result = drain(n, state, config, folder, feed_ids)
                    result["server"] = server_cpu(pg) - server0
                    results.setdefault(f"{backend} x{n}", []).append(result)
                    print(
                        f"  run {run + 1}: {backend} x{n}: {result['seconds']:.1f} s wall, "
                        f"{result['cpu']:.1f} s CPU (PostgreSQL server {result['server']:.1f} s), "
                        f"load average {load:.1f}",
                        flush=True,
                    )
                    if n == 1:
                        idle[backend] += idle_cycles(state, config, folder, feed_ids)
    finally:
        pg.destroy()
    base = statistics.median(r["seconds"] for r in results["postgresql x1"])
    print(f"\nbacklog: {backlog} articles in {args.feeds} feeds; median of {args.repeat} runs")
    print(
        f"{'scenario':<16}{'drain s':>9}{'articles/s':>12}{'CPU s':>8}{'PG s':>6}{'speed-up':>10}"
    )
    for name, rows in results.items():
        seconds = statistics.median(r["seconds"] for r in rows)
        cpu = statistics.median(r["cpu"] for r in rows)
        server = statistics.median(r["server"] for r in rows)
        print(
            f"{name:<16}{seconds:>9.1f}{backlog / seconds:>12.0f}{cpu:>8.1f}{server:>6.1f}"
            f"{base / seconds:>9.2f}x"
        )
    sq, pq = statistics.median(idle["sqlite"]), statistics.median(idle["postgresql"])
    print(
        f"\nidle cycle (every item seen), median: SQLite {sq:.2f} s, PostgreSQL {pq:.2f} s "
        f"({pq / sq:.2f}x)"
    )


if __name__ == "__main__":
    main()
