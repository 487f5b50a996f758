"""`wirewatch state` lists the workers of the store, their leases and last heartbeat, and the
alert claims that ran out, in text and --json."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from wirewatch.pipelines.cli import main
from wirewatch.transforms.model import utc_now
from wirewatch.transforms.state import Lease, open_store


def test_state_lists_workers_with_their_leases_and_heartbeat(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("feeds:\n  - {id: a, url: 'https://a.example/feed'}\n")
    state = tmp_path / "state"
    now = utc_now()
    with open_store(state) as store:
        store.heartbeat("h1:10", "h1", 10)
        store.heartbeat("h2:20", "h2", 20)
        store.lease_due_feeds(["a", "b"], Lease("h1:10", 3600), now)
        store.claim_alert("k", "slack", "{}", Lease("h2:20", 0))
    args = ["state", "--config", str(config), "--state-dir", str(state)]

    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["claims_expired"] == 1
    workers = {w["worker"]: w for w in report["workers"]}
    assert set(workers) == {"h1:10", "h2:20"}
    assert (workers["h1:10"]["host"], workers["h1:10"]["pid"]) == ("h1", 10)
    assert (workers["h1:10"]["leases"], workers["h2:20"]["leases"]) == (["a", "b"], [])
    beat = workers["h1:10"]["heartbeat_at"]
    assert abs(utc_now() - datetime.fromisoformat(beat.replace("Z", "+00:00"))) < timedelta(
        minutes=1
    )

    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "claims_expired: 1" in lines
    [h1] = [line for line in lines if line.startswith("worker h1:10 ")]
    assert h1.startswith("worker h1:10 (pid 10 on h1): last heartbeat ")
    assert h1.endswith("leases: a, b") and " s ago)" in h1
    [h2] = [line for line in lines if line.startswith("worker h2:20 ")]
    assert h2.endswith("leases: none")


def test_owning_names_this_process_even_when_a_stale_name_is_inherited(tmp_path, monkeypatch):
    """Two workers started from one parent that ran wirewatch in-process must not share the
    parent's name: they would share alert claims and feed leases (and send twice)."""
    import os

    from wirewatch.pipelines.state import owning, worker_name

    monkeypatch.setenv("WIREWATCH_WORKER", "parent-host:1")
    with owning(str(tmp_path)):
        assert os.environ["WIREWATCH_WORKER"] == worker_name() != "parent-host:1"
