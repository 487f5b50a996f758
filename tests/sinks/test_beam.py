"""Deliver in a real (in-process) pipeline against the loopback Slack server: sent, already sent
on a re-run, held for a digest, and dead after the sink failed (the DEAD output)."""

import pytest

beam = pytest.importorskip("apache_beam")
from apache_beam.runners.portability.fn_api_runner import FnApiRunner  # noqa: E402
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline  # noqa: E402
from apache_beam.testing.util import assert_that, equal_to  # noqa: E402

from tests.beam_counters import run_and_count  # noqa: E402
from tests.factories import alert  # noqa: E402
from tests.loopback import SlackServer  # noqa: E402
from wirewatch.transforms.config import Config, RouteConfig  # noqa: E402
from wirewatch.transforms.sinks.beam import Deliver  # noqa: E402


@pytest.fixture
def slack(monkeypatch):
    with SlackServer() as server:
        monkeypatch.setenv("T_HOOK", server.webhook_url)
        yield server


def config() -> Config:
    """One Slack sink; its route lets one alert per group out per window, then holds the rest."""
    return Config(
        routes=[RouteConfig(sinks=["hook"], max_alerts=1, group_interval=3600, group_wait=0)],
        sinks={
            "hook": {
                "type": "slack",
                "webhook_url": "${T_HOOK}",
                "pace": 0,
                "max_retries": 1,
                "retry_backoff": 0.01,
            }
        },
    )


def routed(article_id: str, group: str):
    a = alert(sink="hook", rule_id="quake", id=article_id, title=f"Quake {article_id}")
    return a.model_copy(update={"route": 0, "group": group})


def deliver(alerts, state_dir, expected_outcomes, expected_dead=()):
    """One pipeline run of Deliver; returns its NS counters."""
    pipeline = BeamTestPipeline(runner=FnApiRunner())
    delivered = pipeline | beam.Create(alerts) | Deliver(config(), str(state_dir))
    assert_that(
        delivered[Deliver.OUTCOMES] | "Outcome" >> beam.Map(lambda o: (o.article_id, o.status)),
        equal_to(expected_outcomes),
        label="Outcomes",
    )
    assert_that(
        delivered[Deliver.DEAD] | "Letter" >> beam.Map(lambda d: (d.stage, d.source, d.detail)),
        equal_to(list(expected_dead)),
        label="DeadLetters",
    )
    return run_and_count(pipeline)


def test_sent_then_already_sent_on_a_rerun_and_held_for_a_digest(slack, tmp_path):
    alerts = [routed("a1", "rule:quake"), routed("a2", "rule:quake")]
    counters = deliver(alerts, tmp_path, [("a1", "sent"), ("a2", "held")])
    assert counters == {"alerts_sent": 1, "alerts_held": 1}
    assert [m["text"].split("] ")[1] for m in slack.received] == ["Quake a1 https://example.org/a"]

    counters = deliver(alerts, tmp_path, [("a1", "already_sent"), ("a2", "already_sent")])
    assert counters == {"alerts_already_sent": 2}
    assert len(slack.received) == 1  # nothing went out twice, the held one still waits


def test_a_failing_sink_sends_the_alert_to_the_dead_output(slack, tmp_path):
    slack.fail_next(slack.WEBHOOK_PATH, 500, body=b"down", times=2)  # both attempts fail
    a = routed("a3", "rule:other")
    counters = deliver(
        [a], tmp_path, [("a3", "dead")], expected_dead=[("deliver", "sink:hook", a.key)]
    )
    assert counters == {"alerts_dead": 1, "alerts_deferred": 1}  # 5xx: redelivered later
    assert slack.received == [] and slack.attempts[slack.WEBHOOK_PATH] == 2


@pytest.mark.parametrize("store_takes_letters", [True, False], ids=["store_up", "store_down"])
def test_a_delivery_that_fails_later_still_writes_the_dead_letters_it_recorded(
    slack, tmp_path, monkeypatch, store_takes_letters
):
    """The sink gave up on a4 (recorded dead in the ledger), then the store failed while the
    sink's due digests were claimed: the cycle fails, and Beam drops the bundle's outputs with
    it. a4's dead letter was then in the ledger only, in no file a person reads; now the
    delivery writes it to the dead-letter file (and the store, if it still takes it) before
    the store's own error goes on."""
    import json
    import sqlite3

    from wirewatch.transforms.state.sqlite import SqliteStore

    slack.fail_next(slack.WEBHOOK_PATH, 400, body=b"invalid_payload", times=1)  # permanent

    def locked(*args, **kwargs):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(SqliteStore, "claim_due_groups", locked)
    if not store_takes_letters:
        monkeypatch.setattr(SqliteStore, "add_dead_letters", locked)
    a = routed("a4", "rule:other")
    letters = tmp_path / "dead.jsonl"
    pipeline = BeamTestPipeline(runner=FnApiRunner())
    _ = pipeline | beam.Create([a]) | Deliver(config(), str(tmp_path), str(letters))
    with pytest.raises(Exception, match="database is locked"):
        pipeline.run().wait_until_finish()

    [letter] = [json.loads(line) for line in letters.read_text().splitlines()]
    assert (letter["stage"], letter["source"], letter["detail"]) == ("deliver", "sink:hook", a.key)
    monkeypatch.undo()
    with SqliteStore(tmp_path / "state.sqlite3") as store:
        assert [d.detail for d in store.dead_letters()] == ([a.key] if store_takes_letters else [])
