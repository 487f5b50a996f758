"""Benchmark: `wirewatch try-rule --archive` over saved feed snapshots, the old way and the new.

    python bench/backtest.py ../shared/datasets/feeds [--query 'tariff* OR trump'] [--runs 3]
    python bench/backtest.py --synthetic ../shared/datasets/bbc/train.csv
                             [--old 4a950ad | --old none] [--new REV] [--config FILE]

DATA is an archive as the archiver saves it (DATA/<feed>/NNNNN_<unixtime>.xml), or one feed's
folder; with `--synthetic`, DATA is the BBC corpus's train.csv and the archive is a generated
one-feed history of the issue's shape (1,200 snapshots of the latest 73 articles, one new per
15-minute poll: 87,600 entries, 1,272 distinct articles). Each way runs as its own process, `--runs` times (median printed); CPU time (user +
system) and peak RSS come from the kernel's accounting of that child (wait4), so the numbers
include start-up and imports, as a person running the command pays them.

The old way is the CLI of commit `--old` (default 4a950ad, before backtests counted alerts:
every saved copy parsed, tagged and matched), extracted with `git archive` into a temporary
folder and run with the same virtualenv (`--old 98a17c8`: the replay before edited entries were
evaluated again, which cut every seen id before parsing); `--old none` skips it and prints the numbers measured
at that commit on the 87,074-entry history of one feed (94 s, 656 MB; wall time, not CPU).
The new way is this tree's CLI (`--new REV`: that commit's, extracted the same way, for a
measurement that other work in the tree cannot disturb). Each prints its own report; the first
line of each is shown. The new way's start-up (imports, config, tagger) is measured on an
empty archive, so the estimate for the target scales only the rest.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_ENTRIES = 87_074  # the one-feed history of the issue: < 15 s CPU, < 300 MB peak
QUOTED_OLD = "old way (quoted, commit 4a950ad, 87,074 entries): 94 s wall, 656 MB peak"


def measure(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """(CPU seconds, peak RSS MB, first stdout line) of one child process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        first = out.readline().decode("utf-8", "replace").strip()
        err.seek(0)
        errors = err.read().decode("utf-8", "replace").strip().splitlines()[-3:]
    if child.returncode not in (0, 1) or "would have" not in first:
        raise SystemExit(f"{' '.join(argv[-7:])}: exit {child.returncode}: {errors}")
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, first


def tree_of(commit: str, into: Path) -> Path:
    """The commit's packages under into/wirewatch/, importable with PYTHONPATH=into."""
    package = into / "wirewatch"
    package.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "pipelines", "transforms", "configs"],
        check=True,
        capture_output=True,
    ).stdout
    with tempfile.TemporaryFile() as tar:
        tar.write(archive)
        tar.seek(0)
        with tarfile.open(fileobj=tar) as files:
            files.extractall(package, filter="data")
    return into


def command(data: str, query: str, config: str) -> list[str]:
    cli = "import sys; from wirewatch.pipelines.cli import main; sys.exit(main(sys.argv[1:]))"
    args = ["try-rule", "--config", config, query, "--archive", data, "--limit", "0"]
    return [sys.executable, "-c", cli, *args]


def synthetic_history(corpus: Path, into: Path, polls: int = 1200, listed: int = 73) -> Path:
    """A one-feed history shaped like the issue's (1,200 snapshots, ~87,000 entries): every
    15 minutes a snapshot of the latest `listed` articles, one new article per poll. Titles and
    leads are distinct real articles (the BBC corpus: first 9 words, then the next 45)."""
    import csv
    from datetime import datetime, timedelta, timezone
    from email.utils import format_datetime
    from xml.sax.saxutils import escape

    with corpus.open(encoding="utf-8") as handle:
        texts = [row["text"].split() for row in csv.DictReader(handle)]
    need = polls + listed
    if len(texts) < need:
        raise SystemExit(f"{corpus}: {len(texts)} articles, the history needs {need}")
    start = datetime(2025, 4, 1, tzinfo=timezone.utc)
    items = []
    for k, words in enumerate(texts[:need]):
        when = start + timedelta(minutes=15 * (k - listed))
        items.append(
            f"<item><title>{escape(' '.join(words[:9]))}</title>"
            f"<link>https://news.example.org/a/{k}</link><guid>a{k}</guid>"
            f"<pubDate>{format_datetime(when)}</pubDate>"
            f"<description>{escape(' '.join(words[9:54]))}</description></item>"
        )
    feed = into / "synthetic"
    feed.mkdir(parents=True)
    for n in range(polls):
        stamp = int((start + timedelta(minutes=15 * n, seconds=30)).timestamp())
        latest = items[n + 1 : n + 1 + listed][::-1]
        body = "<rss version='2.0'><channel><title>Synthetic</title>" + "".join(latest)
        (feed / f"{n + 1:05d}_{stamp}.xml").write_text(body + "</channel></rss>", "utf-8")
    return into


def entries_in(data: Path) -> tuple[int, int]:
    """(snapshots, entries) of the archive, counted from the raw files (<item or <entry)."""
    files = [p for p in data.rglob("*.xml") if not p.name.startswith(".")]
    entries = sum(p.read_bytes().count(b"<item") + p.read_bytes().count(b"<entry") for p in files)
    return len(files), entries


def report(label: str, runs: list[tuple[float, float, str]]) -> tuple[float, float]:
    cpu = statistics.median(r[0] for r in runs)
    rss = statistics.median(r[1] for r in runs)
    spread = ", ".join(f"{r[0]:.2f}" for r in runs)
    print(f"{label}: CPU {cpu:.2f} s (runs: {spread}), peak RSS {rss:.0f} MB")
    print(f"    {runs[0][2]}")
    return cpu, rss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", help="the archive: DATA/<feed>/NNNNN_<unixtime>.xml")
    parser.add_argument(
        "--synthetic",
        action="store_true",
        help="DATA is the BBC corpus (train.csv): benchmark a 1,200-snapshot, 87,600-entry "
        "one-feed history built from it (the issue's target shape)",
    )
    parser.add_argument("--query", default="tariff* OR trump")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--old-runs", type=int, help="runs of the old way (default --runs; one takes minutes)"
    )
    parser.add_argument("--old", default="4a950ad", help="commit of the old way, or 'none'")
    parser.add_argument(
        "--new", default="", help="measure this commit as the new way (default: this tree)"
    )
    parser.add_argument(
        "--config",
        default="",
        help="the config (default: each way's shipped configs/wirewatch.yaml)",
    )
    args = parser.parse_args()
    scratch = tempfile.TemporaryDirectory(prefix="wirewatch-bench-history-")
    data = Path(args.data).resolve()
    if args.synthetic:
        data = synthetic_history(data, Path(scratch.name))
    snapshots, entries = entries_in(data)
    print(f"archive {data}: {snapshots:,} snapshots, {entries:,} entries; query {args.query!r}")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def config_of(tree: Path) -> str:
        return args.config or str(tree / "configs" / "wirewatch.yaml")

    with tempfile.TemporaryDirectory(prefix="wirewatch-bench-") as tmp:
        old_cmd = old_env = None
        new_env, new_cwd, new_tree = env, ROOT, ROOT
        if args.old != "none":
            old_env = {**env, "PYTHONPATH": str(tree_of(args.old, Path(tmp) / "old"))}
            old_cmd = command(str(data), args.query, config_of(Path(tmp) / "old" / "wirewatch"))
        if args.new:
            new_env = {**env, "PYTHONPATH": str(tree_of(args.new, Path(tmp) / "new"))}
            new_cwd, new_tree = Path(tmp), Path(tmp) / "new" / "wirewatch"
        new_cmd = command(str(data), args.query, config_of(new_tree))
        empty = Path(tmp) / "empty-archive"
        empty.mkdir()
        empty_cmd = command(str(empty), args.query, config_of(new_tree))
        old_runs, new_runs, start_runs = [], [], []
        old_runs_wanted = args.runs if args.old_runs is None else args.old_runs
        for run in range(args.runs):  # interleaved: both ways see the same load
            if old_cmd and run < old_runs_wanted:
                old_runs.append(measure(old_cmd, old_env, Path(tmp)))
            new_runs.append(measure(new_cmd, new_env, new_cwd))
            start_runs.append(measure(empty_cmd, new_env, new_cwd))
    scratch.cleanup()
    if old_runs:
        old_cpu, old_rss = report(f"old way ({args.old})", old_runs)
    else:
        print(QUOTED_OLD)
    new_cpu, new_rss = report("new way", new_runs)
    if old_runs:
        print(f"new/old: CPU x{new_cpu / old_cpu:.2f}, peak RSS x{new_rss / old_rss:.2f}")
    start = statistics.median(r[0] for r in start_runs)
    scale = TARGET_ENTRIES / entries if entries else 0
    estimate = start + (new_cpu - start) * scale
    print(f"new way's start-up (an empty archive): CPU {start:.2f} s")
    print(
        f"target ({TARGET_ENTRIES:,} entries: < 15 s CPU, < 300 MB): this archive x{scale:.1f} "
        f"-> about {estimate:.1f} s CPU (start-up + the rest scaled by entries)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
