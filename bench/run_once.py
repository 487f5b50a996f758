"""`wirewatch run --once` as its own process: wall time, CPU time and peak RSS of a run that
finds nothing new, with 100 and with 100,000 rules, for this checkout and (optionally) another.

Run: python bench/run_once.py [--rules 100,100000] [--runs 3] [--base DIR]

Why this shape: what a user (or cron) pays for one `run --once` is the whole process: imports,
config loading, rule compilation, the pipeline. The config is the shipped sample (its two
sample feeds, the built-in taxonomy and gazetteer) plus N rules from bench/rules.py's generator
(with their topics and entities). Each size gets its own state directory; one first run fills
it (every sample article is new), then each measured run finds nothing new. `--base DIR` runs a
checkout of another commit (e.g. `git clone . /tmp/base && git -C /tmp/base checkout 5fb7708`)
with this venv, interleaved run by run with this checkout, so both see the same machine load:
on a shared machine compare CPU times and same-run ratios, not wall times across runs.
Targets (issue 18): nothing new with the sample rules <= 1.2 s wall; 100,000 rules <= 2x the
time of 100 rules.
A config of 256 KB or more has its long sections' YAML data cached (README, Config): each
folder has its own cache (XDG_CACHE_HOME), filled by the first run, so the measured runs are
those of an unchanged config. `--cold` empties it before every run: the cost of the first run
after an edit.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bench._common import shim  # noqa: E402
from bench.rules import make_rules, make_world  # noqa: E402


def write_config(folder: Path, n_rules: int, seed: int) -> None:
    """The sample config with `n_rules` generated rules (and their topics and entities)."""
    shutil.copytree(ROOT / "configs" / "samples", folder / "samples")
    config = yaml.safe_load((ROOT / "configs" / "wirewatch.yaml").read_text())
    rng, words, _, topics, entities = make_world(seed)
    rules = make_rules(rng, words, topics, entities, n_rules - len(config["rules"]))
    config["rules"] += [{"id": r.id, "query": r.query, "stem": r.stem} for r in rules]
    config["taxonomy"] = [t.model_dump(exclude_defaults=True) for t in topics]
    config["entities"] = [e.model_dump(exclude_defaults=True) for e in entities]
    (folder / "wirewatch.yaml").write_text(yaml.safe_dump(config, sort_keys=False, width=1000))


def run_once(
    checkout: Path | None, folder: Path, cold: bool = False
) -> tuple[float, float, float, int]:
    """(wall s, CPU s, peak RSS MiB, exit code) of one `wirewatch run --once` in `folder`
    (`cold`: with its config cache emptied first)."""
    env = dict(os.environ, XDG_CACHE_HOME=str(folder / "cache"))
    if cold:
        shutil.rmtree(folder / "cache", ignore_errors=True)
    if checkout is not None:  # import wirewatch from that checkout (a folder of symlinks)
        env["PYTHONPATH"] = str(shim(checkout))
    command = [sys.executable, "-m", "wirewatch.pipelines.cli", "run", "--once"]
    command += ["--state-dir", str(folder / "state")]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    error = process.stderr.read().decode()
    process.stderr.close()
    if process.returncode not in (0, 1):
        raise SystemExit(f"run --once failed ({process.returncode}):\n{error[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, process.returncode


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rules", default="100,100000", help="rule counts, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="measured runs per variant")
    parser.add_argument("--base", type=Path, help="another checkout to compare against")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--cold", action="store_true", help="empty the config cache every run")
    parser.add_argument("--write-config", nargs=2, metavar=("DIR", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.write_config:
        write_config(Path(args.write_config[0]), int(args.write_config[1]), args.seed)
        return 0
    sizes = [int(s) for s in args.rules.split(",")]
    variants = [("this", None)] + ([("base", args.base)] if args.base else [])
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    results: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="wirewatch-bench-run-once-") as tmp:
        folders = {}
        for n in sizes:
            for name, checkout in variants:
                folder = Path(tmp) / f"{name}-{n}"
                folder.mkdir()
                # in a child: a parent grown by 100,000 generated rules would count in every
                # run's peak RSS (a forked child starts with its parent's pages)
                subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--seed",
                        str(args.seed),
                        "--write-config",
                        str(folder),
                        str(n),
                    ],
                    check=True,
                )
                first = run_once(checkout, folder)  # fills the state: every article is new
                print(
                    f"  {name:>4} {n:>7,} rules: first run {first[0]:.2f} s wall, "
                    f"{first[1]:.2f} s CPU, {first[2]:.0f} MiB (exit {first[3]})"
                )
                folders[name, n] = (checkout, folder)
        order = list(folders)
        for i in range(args.runs):
            random.Random(i).shuffle(order)  # interleaved, in a different order each round
            for key in order:
                checkout, folder = folders[key]
                results.setdefault(key, []).append(run_once(checkout, folder, args.cold)[:3])
    print(f"load average at end:   {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"\nnothing-new `run --once`, median of {args.runs} (min-max)")
    print(f"  {'code':>4} {'rules':>7} {'wall s':>17} {'CPU s':>17} {'peak RSS MiB':>12}")
    medians = {}
    for key, runs in results.items():
        walls, cpus, rss = zip(*runs)
        medians[key] = (statistics.median(walls), statistics.median(cpus))
        print(
            f"  {key[0]:>4} {key[1]:>7,} {medians[key][0]:>6.2f} ({min(walls):.2f}-{max(walls):.2f})"
            f" {medians[key][1]:>6.2f} ({min(cpus):.2f}-{max(cpus):.2f}) {max(rss):>12.0f}"
        )
    small, big = min(sizes), max(sizes)
    for name, _ in variants:
        if small != big:
            wall = medians[name, big][0] / medians[name, small][0]
            cpu = medians[name, big][1] / medians[name, small][1]
            print(
                f"  {name}: {big:,} rules / {small:,} rules: wall {wall:.2f}x, CPU {cpu:.2f}x "
                f"(target <= 2x)"
            )
    if args.base:
        for n in sizes:
            wall = medians["this", n][0] / medians["base", n][0]
            cpu = medians["this", n][1] / medians["base", n][1]
            print(f"  this / base at {n:,} rules: wall {wall:.2f}x, CPU {cpu:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
