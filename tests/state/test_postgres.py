"""What only the shared store must show: several writers at the same moment on one database,
a server that cannot be reached, a schema from a newer wirewatch. The rest of its contract is
tests/state/test_contract.py (parametrized over every backend)."""

from __future__ import annotations

import threading

import pytest

from tests.state.conftest import T0, Clock
from tests.stories.conftest import T0 as STORY_T0
from tests.stories.conftest import make
from wirewatch.pipelines.cli import main
from wirewatch.transforms.errors import WirewatchError
from wirewatch.transforms.model import DeadLetter
from wirewatch.transforms.state import Lease, Retention, open_store, pg_schema
from wirewatch.transforms.state.pg_schema import SCHEMA_VERSION
from wirewatch.transforms.state.postgres import PostgresStore, StoreUnavailable
from wirewatch.transforms.stories import StoryIndex

LEAD = (
    "The central bank raised its benchmark interest rate on Thursday for the first time in a "
    "decade, citing persistent inflation and a tight labour market across the country."
)


def together(n: int, work) -> list:
    """Run `work(i)` on n threads released at the same moment; their results by i."""
    barrier = threading.Barrier(n)
    results: list = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def test_the_url_opens_the_postgres_store_without_its_password_in_location(pg_url):
    with open_store(pg_url) as store:
        assert isinstance(store, PostgresStore)
        assert store.location == pg_url
    with_password = pg_url.replace("postgres@", "postgres:s3cret@")  # trust auth ignores it
    with open_store(with_password.replace("postgresql://", "postgres://")) as store:
        assert "s3cret" not in store.location and ":***@" in store.location


def test_copies_of_one_story_assigned_at_the_same_moment_make_one_story(pg_url):
    copies = [
        make(f"x{i}", "Central bank raises rates for first time in decade", LEAD, feed=f"f{i}")
        for i in range(4)
    ]
    clock = Clock(STORY_T0)  # the copies' publication day

    def assign(i: int):
        with open_store(pg_url, clock=clock) as store:
            return StoryIndex(store, clock=clock).assign(copies[i])

    results = together(len(copies), assign)
    assert len({r.story_id for r in results}) == 1
    assert sum(r.is_new for r in results) == 1
    with open_store(pg_url) as store:
        assert store.story_counts()["stories_clusters"] == 1
        assert store.story_cluster(results[0].story_id).size == len(copies)


def test_concurrent_claims_from_several_connections_grant_exactly_one(pg_url):
    stores = [open_store(pg_url) for _ in range(6)]
    try:
        for round_ in range(5):
            key = f"rule|story|slack|{round_}"

            def claim(i: int, key: str = key) -> bool:
                return stores[i].claim_alert(key, "slack", "{}", Lease(f"worker-{i}"))

            granted = together(len(stores), claim)
            assert granted.count(True) == 1, granted
    finally:
        for store in stores:
            store.close()


def test_an_unreachable_server_is_one_line_without_the_password(pg_server):
    with pytest.raises(StoreUnavailable) as caught:
        open_store("postgresql://ann:s3cret@127.0.0.1:1/wire")
    assert isinstance(caught.value, WirewatchError)
    message = str(caught.value)
    assert "\n" not in message and "s3cret" not in message
    assert message.startswith("postgresql://ann:***@127.0.0.1:1/wire: cannot reach")


def test_the_cli_prints_one_line_and_exits_2_when_the_store_is_down(pg_server, tmp_path, capsys):
    config = tmp_path / "wirewatch.yaml"
    config.write_text("feeds: []\n")
    code = main(["state", "--config", str(config), "--state", "postgresql://u@127.0.0.1:1/x"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("state store error: postgresql://u@127.0.0.1:1/x: cannot reach")


def test_a_schema_from_a_newer_wirewatch_is_refused(pg_url):
    import psycopg

    open_store(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE wirewatch_meta SET value=%s WHERE key='schema'", (str(SCHEMA_VERSION + 1),)
        )
    with pytest.raises(StoreUnavailable, match="newer than this wirewatch"):
        open_store(pg_url)


def test_a_version_1_database_gains_retention_and_resolves_its_old_dead_letters(pg_url):
    """Schema 2: delivery dead letters written before it are filed under their alert (from the
    record's `detail`), so a later send resolves them; groups gain the time retention uses."""
    import psycopg

    old = DeadLetter.of("deliver", "sink:hook", "HTTP 500", detail="r|c|hook")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(pg_schema.META)
        conn.execute(pg_schema.MIGRATIONS[1])
        conn.execute("INSERT INTO wirewatch_meta VALUES ('schema', '1')")
        conn.execute(
            "INSERT INTO dead_letters (stage, source, reason, record, at) VALUES (%s,%s,%s,%s,%s)",
            ("deliver", "sink:hook", "HTTP 500", old.model_dump_json(), old.at),
        )
        conn.execute("INSERT INTO groups VALUES ('g', 'hook', '{}', NULL)")
    with open_store(pg_url, clock=Clock()) as store:
        assert store.counts()["schema"] == SCHEMA_VERSION
        store.claim_alert("r|c|hook", "hook", "{}")
        store.finish_alert("r|c|hook", "sent", 1)
        assert store.counts()["dead_letters_resolved"] == 1
        days = {"seen_days": 30, "ledger_days": 60, "dead_letter_days": 30, "group_days": 7}
        assert (
            store.prune(T0, Retention(**days))["groups"] == 1
        )  # no time known, nothing held or due
