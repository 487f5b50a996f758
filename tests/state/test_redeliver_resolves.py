"""`wirewatch redeliver` resolves the dead letters of what it resends, and `wirewatch state`
counts resolved dead letters apart from all of them (real Slack server on loopback)."""

from __future__ import annotations

import json

from tests.factories import alert
from tests.loopback import SlackServer
from wirewatch.pipelines.cli import main
from wirewatch.transforms.config import Config
from wirewatch.transforms.config import SlackSink as SlackSinkConfig
from wirewatch.transforms.sinks.dispatch import Dispatcher
from wirewatch.transforms.sinks.slack import SlackSink
from wirewatch.transforms.state import open_store


def test_redelivered_alerts_resolve_their_dead_letters(tmp_path, monkeypatch, capsys):
    with SlackServer() as slack:
        monkeypatch.setenv("T_HOOK", slack.webhook_url)
        config = tmp_path / "c.yaml"
        config.write_text(
            "sinks:\n  hook: {type: slack, webhook_url: '${T_HOOK}', "
            "max_retries: 1, retry_backoff: 0.01}\n"
        )
        sink = SlackSink(
            "hook",
            SlackSinkConfig(
                type="slack", webhook_url="${T_HOOK}", max_retries=1, retry_backoff=0.01
            ),
        )
        # the first alert's two attempts fail; the second is deferred behind it without a try
        slack.fail_next(slack.WEBHOOK_PATH, 503, times=2)
        with open_store(tmp_path / "state") as store:
            dispatcher = Dispatcher(Config(), store, lambda name: sink)
            outcomes = [
                dispatcher.offer(alert(sink="hook", title=f"Story {i}", id=f"a{i}"))
                for i in range(2)
            ]
            assert [o.status for o in outcomes] == ["dead", "dead"]
            store.add_dead_letters([o.dead_letter for o in outcomes])  # as the pipeline does
            assert store.counts()["dead_letters_resolved"] == 0
        state_dir = ["--config", str(config), "--state-dir", str(tmp_path / "state")]
        assert main(["redeliver", *state_dir]) == 0
        assert len(slack.received) == 2
    capsys.readouterr()
    assert main(["state", *state_dir, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dead_letters_resolved"] == 2  # (--json's "dead_letters" lists letters)
    assert main(["state", *state_dir]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "dead_letters: 2" in lines and "dead_letters_resolved: 2" in lines


def test_redeliver_keeps_its_claim_while_a_send_outlasts_the_lease(tmp_path, monkeypatch):
    """A send (with its retries) can last longer than lease_seconds: the command renews its
    claims as a cycle does, or a watch worker would take the claim for a dead process's and
    send the alert again."""
    import threading
    import time
    from datetime import datetime, timezone

    from wirewatch.transforms.state import Lease

    with SlackServer() as slack:
        monkeypatch.setenv("T_HOOK", slack.webhook_url)
        config = tmp_path / "c.yaml"
        config.write_text(
            "lease_seconds: 5\nsinks:\n  hook: {type: slack, webhook_url: '${T_HOOK}'}\n"
        )
        state = tmp_path / "state"
        dead = alert(sink="hook", title="Story", id="a0")
        with open_store(state) as store:
            assert store.claim_alert(dead.key, dead.sink, dead.model_dump_json(), Lease("A", 60))
            store.finish_alert(dead.key, "dead", 1, "HTTP 503")
        slack.fail_next(slack.WEBHOOK_PATH, 200, body=b"ok", delay=7)  # slower than the lease
        codes = []
        command = threading.Thread(
            target=lambda: codes.append(
                main(["redeliver", "--config", str(config), "--state-dir", str(state)])
            )
        )
        command.start()
        time.sleep(6)
        with open_store(state) as store:
            expired = store.expired_claims(None, datetime.now(timezone.utc))
        command.join(30)
        assert codes == [0]
        assert expired == []  # still its claim, renewed, while the send went on
