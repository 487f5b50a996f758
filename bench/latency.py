"""Latency: from an item appearing on a feed to its alert reaching Slack, in watch mode.

Starts `wirewatch run --interval S` (the real watch driver, as a subprocess) against a loopback
feed server and a loopback Slack webhook, waits for its first cycle, then publishes --items
matching items one at a time at random gaps (uniform 0.2 .. 1.5 x interval) and records, per
item, publish time (the feed server starts serving it) and receipt time (the Slack server
accepts the message). Prints p50, p95 and max, and splits the median into the wait for
the next poll and the poll-to-receipt work; the target is p95 <= interval + 1 s.

    python bench/latency.py [--items 40] [--interval 2] [--seed 1] [BEAM OPTIONS...]
"""

from __future__ import annotations

import argparse
import os
import random
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

from tests.loopback import FeedServer, SlackServer  # noqa: E402

CONFIG = """
include:                 # the shipped taxonomy and gazetteer: the realistic amount of config
  - {root}/configs/taxonomy/*.yaml
  - {root}/configs/entities/*.yaml
feeds:
  - {{id: wire, url: "{feed}", interval: 60}}
rules:
  - {{id: quake, query: 'earthquake'}}
routes:
  - {{sinks: [hook], max_alerts: 10000, group_wait: 0}}
sinks:
  hook: {{type: slack, webhook_url: "${{BENCH_SLACK_WEBHOOK}}"}}
"""


class TimedSlack(SlackServer):
    """Records when each message was accepted."""

    def __init__(self):
        super().__init__()
        self.received_at: dict[str, float] = {}

    def _handle(self, handler, body):
        super()._handle(handler, body)
        now = time.time()
        with self.lock:
            for message in self.received:
                self.received_at.setdefault(message.get("text", ""), now)


class TimedFeeds(FeedServer):
    """Records when each feed request arrived, to split latency into waiting for the poll and
    the cycle's own work."""

    def __init__(self):
        super().__init__()
        self.polled_at: list[float] = []

    def _handle(self, handler, body):
        with self.lock:
            self.polled_at.append(time.time())
        super()._handle(handler, body)


class Wire:
    def __init__(self, server: FeedServer):
        self.server, self.items = server, [("Markets calm", datetime.now(timezone.utc))]
        self._serve()

    def publish(self, title: str) -> float:
        self.items.append((title, datetime.now(timezone.utc)))
        self._serve()
        return time.time()

    def _serve(self) -> None:
        entries = "".join(
            f"<item><title>{title}</title><link>https://example.org/{n}</link><guid>g{n}</guid>"
            f"<pubDate>{format_datetime(at, usegmt=True)}</pubDate></item>"
            for n, (title, at) in enumerate(self.items)
        )
        body = (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
            f"<link>https://example.org/</link>{entries}</channel></rss>"
        ).encode()
        self.server.feeds["/wire.xml"] = (200, {"Content-Type": "application/rss+xml"}, body)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=1)
    args, beam_args = parser.parse_known_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp, TimedFeeds() as feeds, TimedSlack() as slack:
        wire = Wire(feeds)
        config = Path(tmp) / "latency.yaml"
        config.write_text(CONFIG.format(root=ROOT, feed=feeds.url("/wire.xml")))
        log = Path(tmp) / "watch.log"
        env = {**os.environ, "BENCH_SLACK_WEBHOOK": slack.webhook_url, "PYTHONPATH": str(ROOT)}
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "wirewatch.pipelines.cli",
                    "run",
                    "--config",
                    str(config),
                    "--state-dir",
                    f"{tmp}/state",
                    "--interval",
                    str(args.interval),
                    *beam_args,
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
            try:
                deadline = time.monotonic() + 120
                while "cycle 1:" not in log.read_text(errors="replace"):
                    if proc.poll() is not None or time.monotonic() > deadline:
                        sys.exit(f"wirewatch did not complete a cycle:\n{log.read_text()[-2000:]}")
                    time.sleep(0.1)
                published: dict[str, float] = {}
                for n in range(args.items):
                    time.sleep(rng.uniform(0.2, 1.5) * args.interval)
                    title = f"Earthquake number {n}"
                    published[title] = wire.publish(title)
                deadline = time.monotonic() + 30 + 5 * args.interval
                while len(slack.received_at) < args.items and time.monotonic() < deadline:
                    time.sleep(0.1)
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    code = proc.wait(60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    code = proc.wait()
        cycles = [
            line
            for line in log.read_text(errors="replace").splitlines()
            if " cycle " in line and "feeds polled" in line
        ]
    latencies, waits, works = [], [], []
    for text, at in slack.received_at.items():
        title = text.split("] ", 1)[-1].rsplit(" https://", 1)[0]
        if title in published:
            latencies.append(at - published[title])
            poll = next((t for t in feeds.polled_at if t >= published[title]), None)
            if poll is not None and poll <= at:
                waits.append(poll - published[title])
                works.append(at - poll)
    periods = [b - a for a, b in zip(feeds.polled_at, feeds.polled_at[1:])]
    cycle_seconds = [float(line.rsplit(", ", 1)[1].split()[0]) for line in cycles]
    print(
        f"latency: {len(latencies)}/{args.items} alerts received, poll interval "
        f"{args.interval:g} s, beam args {beam_args or 'none'}, exit code {code}"
    )
    if latencies:
        p95 = percentile(latencies, 0.95)
        print(
            f"  p50 {percentile(latencies, 0.50):.2f} s, p95 {p95:.2f} s, "
            f"max {max(latencies):.2f} s, mean {statistics.fmean(latencies):.2f} s "
            f"(target p95 <= {args.interval + 1:g} s: {'met' if p95 <= args.interval + 1 else 'NOT met'})"
        )
    if works and periods:  # at least two polls, one of which brought an alert
        print(
            f"  publish to poll p50 {statistics.median(waits):.2f} s, poll to receipt p50 "
            f"{statistics.median(works):.2f} s, poll period median {statistics.median(periods):.2f} s"
        )
    if cycle_seconds:
        print(
            f"  {len(cycle_seconds)} cycles, cycle time median "
            f"{statistics.median(cycle_seconds):.2f} s, max {max(cycle_seconds):.2f} s; "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
        )
    return 0 if len(latencies) == args.items else 1


if __name__ == "__main__":
    sys.exit(main())
