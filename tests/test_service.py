"""`run --listen`'s HTTP service: readiness by the last cycle's age and the store's answer, and
one-line errors for a bad address or a port in use."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

import pytest

from wirewatch.pipelines.arguments import UsageError
from wirewatch.pipelines.service import Service, parse_listen
from wirewatch.pipelines.summary import CycleSummary


def status(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode().strip()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode().strip()


@pytest.fixture
def served():
    now = [1000.0]
    service = Service("127.0.0.1:0", interval=60, clock=lambda: now[0])
    base = service.start()
    yield service, base, now
    service.close()


def test_ready_after_a_cycle_or_an_idle_check_until_three_intervals_pass(served):
    service, base, now = served
    assert status(base + "/healthz") == (200, "ok")
    assert status(base + "/readyz") == (503, "no cycle finished yet")
    service.cycle_done(CycleSummary(seconds=1.5, counters={"feeds_ok": 2}, held=1))
    assert status(base + "/readyz") == (200, "ok")
    now[0] += 181
    assert status(base + "/readyz") == (503, "no cycle finished and nothing found due for 181 s")
    service.nothing_due()  # an idle loop is up to date too
    assert status(base + "/readyz") == (200, "ok")


def test_not_ready_when_the_store_does_not_answer(served):
    service, base, _ = served
    service.cycle_done(CycleSummary())

    def down():
        raise OSError("gone")

    service.probe = down
    assert status(base + "/readyz") == (503, "store does not answer: OSError")
    assert status(base + "/healthz") == (200, "ok")


@pytest.mark.parametrize("value", ["nope", "127.0.0.1", ":9464", "host:99999", "host:x"])
def test_a_bad_listen_value_is_a_usage_error(value):
    with pytest.raises(UsageError, match="is not HOST:PORT"):
        parse_listen(value)


def test_ipv6_listen_value():
    assert parse_listen("[::1]:9464") == ("::1", 9464)


def test_a_port_in_use_is_a_usage_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UsageError, match=f"cannot listen on 127.0.0.1:{port}"):
            Service(f"127.0.0.1:{port}", interval=60).start()


def test_metrics_say_what_the_summaries_say_about_held_and_digested_alerts(served):
    """The run summary's held and digested alerts and /metrics come from the same summary."""
    service, base, _ = served
    first = CycleSummary(counters={"alerts_held": 3}, per_sink={"hook": {"held": 3}}, held=3)
    second = CycleSummary(
        counters={"alerts_sent": 3, "alerts_digested": 3}, per_sink={"hook": {"sent": 3}}
    )
    service.cycle_done(first)
    assert (
        "3 held for a digest" in first.render() and "3 alerts wait for a digest" in first.render()
    )
    service.cycle_done(second)
    assert "3 sent (3 of them in digests)" in second.render()
    with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
        text = response.read().decode()
    assert 'wirewatch_alerts_total{sink="hook",status="held"} 3.0' in text
    assert 'wirewatch_alerts_total{sink="hook",status="sent"} 3.0' in text
    assert "wirewatch_alerts_digested_total 3.0" in text
    assert "wirewatch_held_alerts 0.0" in text  # what waits after the last cycle
