"""Running as a service: `/metrics` (Prometheus), `/healthz` and `/readyz` for `run --listen`.

Why from the CycleSummary: the watch loop already gets each cycle's totals and its per-sink
outcomes; the metrics add them up, so they say the same as the `--json` lines and the log, and
the cycle pipeline needs no second set of counters. The registry is our own (not the library's
global one), so a scrape shows wirewatch's numbers only and tests can make several services.

Readiness: within three intervals (the shortest feed interval, or `--interval`) the loop
finished a cycle or found nothing due (an idle worker whose feeds another worker polls, or a
restart whose feeds are not due yet, is up to date), and the store answers a read. Before
either happened, not ready.
"""

from __future__ import annotations

import logging
import threading
import time
from socketserver import ThreadingMixIn
from typing import Callable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app

from wirewatch.pipelines.arguments import usage_error
from wirewatch.pipelines.summary import LEDGER_STATUSES, CycleSummary

FEED_STATUSES = ("ok", "not_modified", "failed")
ARTICLE_OUTCOMES = ("new", "seen", "duplicate_in_run", "backfill_skipped")
READY_INTERVALS = 3


def parse_listen(value: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:9464` for IPv6); a bad value is a usage error (exit 2)."""
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise usage_error(
            "wirewatch run", f"--listen '{value}' is not HOST:PORT", "e.g. --listen 127.0.0.1:9464"
        )
    return host, int(port)


class Metrics:
    """The Prometheus metrics of one watch process, filled from each cycle's summary."""

    def __init__(self):
        self.registry = r = CollectorRegistry()
        self.cycles = Counter("wirewatch_cycles", "Cycles run, by outcome", ["outcome"], registry=r)
        self.duration = Histogram(
            "wirewatch_cycle_duration_seconds",
            "Seconds per successful cycle",
            buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600),
            registry=r,
        )
        self.feeds = Counter(
            "wirewatch_feeds_polled", "Feed polls, by status", ["status"], registry=r
        )
        self.articles = Counter(
            "wirewatch_articles", "Articles, by outcome", ["outcome"], registry=r
        )
        self.matches = Counter("wirewatch_matches", "Rule matches", registry=r)
        self.alerts = Counter(
            "wirewatch_alerts", "Alerts, by sink and ledger status", ["sink", "status"], registry=r
        )
        self.digested = Counter(
            "wirewatch_alerts_digested", "Alerts sent inside a digest message", registry=r
        )
        self.dead_letters = Counter("wirewatch_dead_letters", "Dead letters written", registry=r)
        self.held = Gauge(
            "wirewatch_held_alerts", "Alerts held in the store for a digest", registry=r
        )
        self.last_success = Gauge(
            "wirewatch_last_success_timestamp_seconds",
            "Unix time the last successful cycle finished",
            registry=r,
        )
        for status in FEED_STATUSES:
            self.feeds.labels(status)
        for outcome in ARTICLE_OUTCOMES:
            self.articles.labels(outcome)
        for outcome in ("ok", "failed"):
            self.cycles.labels(outcome)

    def observe(self, summary: CycleSummary, finished: float) -> None:
        g = summary.get
        self.cycles.labels("ok").inc()
        self.duration.observe(summary.seconds)
        for status in FEED_STATUSES:
            self.feeds.labels(status).inc(g(f"feeds_{status}"))
        for outcome in ARTICLE_OUTCOMES:
            self.articles.labels(outcome).inc(g(f"articles_{outcome}"))
        self.matches.inc(g("matches"))
        for sink, statuses in summary.per_sink.items():
            for status in LEDGER_STATUSES:
                self.alerts.labels(sink, status).inc(statuses.get(status, 0))
        self.digested.inc(g("alerts_digested"))
        self.dead_letters.inc(g("dead_letters"))
        self.held.set(summary.held)
        self.last_success.set(finished)

    def failed(self) -> None:
        self.cycles.labels("failed").inc()


class _Quiet(WSGIRequestHandler):
    def log_message(self, format, *args):  # a scrape every 15 s is not news
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class Service:
    """The HTTP endpoints and the metrics behind them; `probe()` reads the store (readiness)."""

    def __init__(self, listen: str, interval: float, clock: Callable[[], float] = time.time):
        self.host, self.port = parse_listen(listen)
        self.interval, self.clock = interval, clock
        self.metrics = Metrics()
        self.probe: Callable[[], object] | None = None
        self.last_progress: float | None = None  # a cycle finished, or nothing was due
        self._server: WSGIServer | None = None

    def start(self) -> str:
        """Bind and serve in a daemon thread; the bound address (port 0 picks a free one)."""
        try:
            self._server = make_server(
                self.host, self.port, self._app, _ThreadingServer, handler_class=_Quiet
            )
        except OSError as exc:
            raise usage_error(
                "wirewatch run",
                f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}",
                "pick another --listen address or stop what uses it",
            ) from None
        threading.Thread(
            target=self._server.serve_forever, name="wirewatch-http", daemon=True
        ).start()
        address = f"http://{self.host}:{self._server.server_port}"
        logging.getLogger("wirewatch").info(f"serving {address}/metrics, /healthz and /readyz")
        return address

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def cycle_done(self, summary: CycleSummary) -> None:
        self.last_progress = self.clock()
        self.metrics.observe(summary, self.last_progress)

    def nothing_due(self) -> None:
        self.last_progress = self.clock()

    def cycle_failed(self) -> None:
        self.metrics.failed()

    def ready(self) -> tuple[bool, str]:
        if self.last_progress is None:
            return False, "no cycle finished yet"
        age = self.clock() - self.last_progress
        if age > READY_INTERVALS * self.interval:
            return False, f"no cycle finished and nothing found due for {age:.0f} s"
        try:
            if self.probe is not None:
                self.probe()
        except Exception as exc:  # noqa: BLE001  (any store failure: not ready, and why)
            return False, f"store does not answer: {type(exc).__name__}"
        return True, "ok"

    def _app(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            return _text(start_response, 200, "ok")
        if path == "/readyz":
            ok, why = self.ready()
            return _text(start_response, 200 if ok else 503, why)
        if path == "/metrics":
            return make_wsgi_app(self.metrics.registry)(environ, start_response)
        return _text(start_response, 404, "not found: try /metrics, /healthz or /readyz")


def _text(start_response, code: int, body: str):
    reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[code]
    start_response(f"{code} {reason}", [("Content-Type", "text/plain; charset=utf-8")])
    return [f"{body}\n".encode()]
