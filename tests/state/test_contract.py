"""The StateStore contract, on every backend (conftest.BACKENDS): what each method promises,
read back through the interface only, and across a second connection where that is the point
(a restart, another worker)."""

from __future__ import annotations

import ast
import inspect
from datetime import timedelta
from pathlib import Path

import pytest

from tests.state.conftest import T0
from wirewatch.transforms.model import DeadLetter
from wirewatch.transforms.routing.flood import GroupState
from wirewatch.transforms.state import FeedState, Hold, StateStore
from wirewatch.transforms.state.interface import (
    StoryChain,
    StoryChange,
    StoryCluster,
    StoryEntry,
    StoryHead,
    StoryLink,
    StoryMatch,
)


def test_a_backend_is_a_state_store_and_a_context_manager(connect):
    with connect() as store:
        assert isinstance(store, StateStore)
        assert store.location
        store.mark_seen(["a"])
    with pytest.raises(Exception):  # noqa: B017 - closed by the with block; each driver has its own error
        store.mark_seen(["b"])
    store.close()  # closing twice is harmless
    assert connect().seen(["a", "b"]) == {"a"}


# --- feeds ------------------------------------------------------------------------------------
def test_state_survives_reopening(store, connect):
    store.mark_seen(["a", "b"])
    store.save_feed_state(FeedState(feed_id="f", etag='"v1"', failures=2, next_due=T0))
    store.add_dead_letters([DeadLetter.of("fetch", "f", "HTTP 500", raw=b"oops")])
    store.close()
    again = connect()
    assert again.seen(["a", "c", "b"]) == {"a", "b"}
    state = again.feed_state("f")
    assert (state.etag, state.failures, state.next_due.year) == ('"v1"', 2, 2026)
    [letter] = again.dead_letters()
    assert (letter.stage, letter.source, letter.reason, letter.raw) == (
        "fetch",
        "f",
        "HTTP 500",
        "oops",
    )


def test_a_feed_never_polled_has_a_blank_state(store):
    assert store.feed_state("new") == FeedState(feed_id="new")


def test_every_feed_state_field_round_trips(store):
    state = FeedState(
        feed_id="f",
        etag='"e"',
        last_modified="Tue, 01 Nov 2026 10:00:00 GMT",
        failures=3,
        next_due=T0 + timedelta(minutes=5),
        last_status="failed",
        last_error="HTTP 503",
        ttl_minutes=30,
    )
    store.save_feed_state(state)
    assert store.feed_state("f") == state
    store.save_feed_state(state.model_copy(update={"failures": 0, "last_error": None}))
    assert (store.feed_state("f").failures, store.feed_state("f").last_error) == (0, None)


def test_feed_states_reads_many_and_fills_in_the_unknown(store):
    store.save_feed_states(
        [FeedState(feed_id=f"f{i}", etag=f'"{i}"') for i in range(3)]
        + [FeedState(feed_id="f1", etag='"again"')]  # the later one wins
    )
    states = store.feed_states(["f0", "f1", "f2", "nope", "f0"])
    assert set(states) == {"f0", "f1", "f2", "nope"}
    assert [states[f].etag for f in ("f0", "f1", "f2")] == ['"0"', '"again"', '"2"']
    assert states["nope"] == FeedState(feed_id="nope")
    assert store.feed_states([]) == {}
    store.save_feed_states([])  # nothing to write is fine


def test_a_feeds_ttl_survives_the_end_of_cycle_state_save(store):
    store.save_feed_ttl("f", 15)  # parse saw <ttl>15</ttl> on the feed's first poll
    store.save_feed_state(FeedState(feed_id="f", etag='"v2"'))  # the commit, unaware of it
    assert (store.feed_state("f").ttl_minutes, store.feed_state("f").etag) == (15, '"v2"')
    store.save_feed_state(FeedState(feed_id="f", ttl_minutes=60))  # a known ttl replaces it
    assert store.feed_state("f").ttl_minutes == 60
    store.save_feed_ttl("f", 5)  # and a new <ttl> replaces it, keeping the rest
    assert store.feed_state("f").ttl_minutes == 5


# --- seen keys --------------------------------------------------------------------------------
def test_seen_answers_for_many_keys_at_once(store):
    keys = [f"k{i}" for i in range(1234)]  # more than one chunk of any IN (...) list
    store.mark_seen(keys[::2])
    assert store.seen(keys) == set(keys[::2])
    assert store.seen([]) == set()
    store.mark_seen([])
    store.touch_seen([])


def test_prune_seen_removes_only_old_keys(store, clock):
    store.mark_seen(["old"])
    clock.advance(days=40)
    store.mark_seen(["new"])
    assert store.prune_seen(timedelta(days=30)) == 1
    assert store.seen(["old", "new"]) == {"new"}


def test_marking_a_seen_key_again_keeps_its_time(store, clock):
    store.mark_seen(["k"])
    clock.advance(days=40)
    store.mark_seen(["k"])  # a re-processed article: not a refresh
    assert store.prune_seen(timedelta(days=30)) == 1


def test_touch_seen_keeps_listed_keys_from_expiring(store, clock):
    store.mark_seen(["listed", "gone"])
    clock.advance(days=40)
    store.touch_seen(["listed", "never-seen"])  # touching does not mark
    assert store.prune_seen(timedelta(days=30)) == 1
    assert store.seen(["listed", "gone", "never-seen"]) == {"listed"}


# --- alert ledger -----------------------------------------------------------------------------
def test_ledger_never_claims_a_sent_alert_twice(store, connect):
    assert store.claim_alert("k", "slack", "{}") is True
    store.finish_alert("k", "sent", 1)
    assert store.claim_alert("k", "slack", "{}") is False
    assert connect().claim_alert("k", "slack", "{}") is False


def test_dead_alert_can_be_claimed_again_for_redelivery(store):
    store.claim_alert("k", "slack", '{"x": 1}')
    store.finish_alert("k", "dead", 3, "HTTP 500")
    [dead] = store.alerts("dead")
    assert (dead.key, dead.attempts, dead.error, dead.payload) == ("k", 3, "HTTP 500", '{"x": 1}')
    assert store.claim_alert("k", "slack", '{"x": 1}') is True
    assert store.alerts("dead") == []


def test_an_alert_left_sending_by_a_crash_is_claimed_again(store, connect):
    assert store.claim_alert("k", "slack", "{}") is True
    assert connect().claim_alert("k", "slack", "{}") is True
    assert store.alert("k").status == "sending"


def test_alert_records_keep_sink_payload_attempts_and_time(store, clock):
    assert store.alert("k") is None
    store.claim_alert("k", "hook", '{"p": 1}')
    record = store.alert("k")
    assert (record.key, record.sink, record.status, record.attempts, record.error) == (
        "k",
        "hook",
        "sending",
        0,
        None,
    )
    assert (record.payload, record.updated_at) == ('{"p": 1}', T0)
    store.finish_alert("k", "dead", 2, "HTTP 500")
    store.claim_alert("k", "hook", '{"p": 1}')
    clock.advance(minutes=1)
    store.finish_alert("k", "sent", 1)
    record = store.alert("k")
    assert (record.status, record.attempts, record.error) == ("sent", 3, None)
    assert record.updated_at == T0 + timedelta(minutes=1)


def test_alerts_filters_by_status_and_time_oldest_first(store, clock):
    for key in ("a", "b", "c"):
        store.claim_alert(key, "slack", "{}")
        store.finish_alert(key, "sent" if key != "b" else "dead", 1)
        clock.advance(minutes=10)
    assert [r.key for r in store.alerts("sent")] == ["a", "c"]
    assert [r.key for r in store.alerts("sent", since=T0 + timedelta(minutes=5))] == ["c"]
    assert [r.key for r in store.alerts("dead", since=T0 + timedelta(minutes=10))] == ["b"]
    assert store.alerts("held") == []


def test_a_story_keeps_its_first_alert_per_rule_and_sink(store):
    assert store.story_alert("s", "r", "slack") is None
    store.record_story_alert("s", "r", "slack", "k1", "1700000000.0001")
    store.record_story_alert("s", "r", "slack", "k2", "1700000000.0002")  # not the first
    store.record_story_alert("s", "r", "hook", "k3", None)
    assert store.story_alert("s", "r", "slack") == ("k1", "1700000000.0001")
    assert store.story_alert("s", "r", "hook") == ("k3", None)
    assert store.story_alert("s", "other", "slack") is None


# --- digest groups ----------------------------------------------------------------------------
def test_a_group_state_round_trips_and_starts_fresh(store):
    assert store.group_state("g") == GroupState()
    state = GroupState(due_at=T0 + timedelta(minutes=5))
    store.save_group("g", "slack", state)
    assert store.group_state("g") == state


def test_a_held_alert_is_never_claimed_and_waits_in_its_group(store, clock):
    store.claim_alert("k1", "slack", '{"v": 1}')
    store.save_group("g", "slack", GroupState(due_at=T0), Hold("k1"))
    clock.advance(seconds=1)
    store.claim_alert("k2", "slack", '{"v": 2}')
    store.save_group("g", "slack", GroupState(due_at=T0), Hold("k2", '{"v": 3}'))
    assert store.claim_alert("k1", "slack", "{}") is False
    held = store.held_alerts("g")
    assert [(r.key, r.status, r.payload) for r in held] == [
        ("k1", "held", '{"v": 1}'),
        ("k2", "held", '{"v": 3}'),
    ]
    assert [r.key for r in store.alerts("held")] == ["k1", "k2"]
    store.finish_alert("k1", "sent", 1)  # the digest went out
    assert [r.key for r in store.held_alerts("g")] == ["k2"]
    assert store.held_alerts("other") == []


def test_due_groups_per_sink_earliest_first(store):
    store.save_group("late", "slack", GroupState(due_at=T0 + timedelta(minutes=10)))
    store.save_group("early", "slack", GroupState(due_at=T0 + timedelta(minutes=1)))
    store.save_group("hook", "hook", GroupState(due_at=T0))
    store.save_group("idle", "slack", GroupState())
    assert store.due_groups("slack", T0) == []
    assert store.due_groups("slack", T0 + timedelta(minutes=10)) == ["early", "late"]
    assert store.due_groups("hook", T0) == ["hook"]
    assert store.next_group_due() == T0
    store.save_group("hook", "hook", GroupState())  # flushed: nothing due any more
    assert store.next_group_due() == T0 + timedelta(minutes=1)


def test_no_group_means_nothing_due(store):
    assert store.next_group_due() is None
    assert store.due_groups("slack", T0) == []


# --- dead letters -----------------------------------------------------------------------------
def test_dead_letters_newest_first_with_a_limit(store):
    store.add_dead_letters([DeadLetter.of("parse", f"f{i}", "bad XML") for i in range(3)])
    store.add_dead_letters([DeadLetter.of("deliver", "sink:slack", "HTTP 500", detail="k")])
    assert [d.source for d in store.dead_letters()] == ["sink:slack", "f2", "f1", "f0"]
    assert [d.source for d in store.dead_letters(limit=2)] == ["sink:slack", "f2"]
    [letter] = store.dead_letters(limit=1)
    assert (letter.stage, letter.reason, letter.detail) == ("deliver", "HTTP 500", "k")
    store.add_dead_letters([])


# --- counts -----------------------------------------------------------------------------------
def test_counts_show_what_the_store_holds(store):
    store.save_feed_state(FeedState(feed_id="f"))
    store.mark_seen(["a", "b"])
    store.add_dead_letters([DeadLetter.of("fetch", "f", "HTTP 500")])
    store.claim_alert("k1", "slack", "{}")
    store.finish_alert("k1", "sent", 1)
    store.claim_alert("k2", "slack", "{}")
    for key, deferred in (("k3", True), ("k4", False)):  # Slack down; a 404: dead for good
        store.claim_alert(key, "slack", "{}")
        store.finish_alert(key, "dead", 1, "HTTP 503", deferred=deferred)
    counts = store.counts()
    assert counts["schema"] >= 1
    assert {k: v for k, v in counts.items() if k != "schema"} == {
        "feeds": 1,
        "seen": 2,
        "dead_letters": 1,
        "dead_letters_resolved": 0,
        "alerts_sent": 1,
        "alerts_sending": 1,
        "alerts_dead": 2,
        "alerts_dead_deferred": 1,
    }


# --- transactions -----------------------------------------------------------------------------
class Boom(Exception):
    pass


def test_a_transaction_is_all_or_nothing(store, connect):
    with pytest.raises(Boom):
        with store.transaction():
            store.mark_seen(["a"])
            store.save_feed_states([FeedState(feed_id="f", etag='"x"')])
            store.claim_alert("k", "slack", "{}")
            raise Boom
    assert store.seen(["a"]) == set()
    assert store.feed_state("f") == FeedState(feed_id="f")
    assert store.alert("k") is None
    other = connect()
    with store.transaction():
        store.mark_seen(["b"])
        store.save_feed_state(FeedState(feed_id="f", etag='"y"'))
        assert other.seen(["b"]) == set()  # not visible to others before the end
    assert other.seen(["b"]) == {"b"}
    assert other.feed_state("f").etag == '"y"'


def test_a_nested_transaction_undoes_only_its_own_block(store):
    with store.transaction():
        store.mark_seen(["outer"])
        with pytest.raises(Boom):
            with store.transaction():
                store.mark_seen(["inner"])
                raise Boom
        store.mark_seen(["after"])
    assert store.seen(["outer", "inner", "after"]) == {"outer", "after"}
    with pytest.raises(Boom):
        with store.transaction():
            with store.transaction():
                store.mark_seen(["committed-inner"])
            raise Boom  # the outer block decides
    assert store.seen(["committed-inner"]) == set()


# --- stories ----------------------------------------------------------------------------------
def entry(article_id: str, story_id: str, published: float, **kw) -> StoryEntry:
    fields = dict(
        article_id=article_id,
        story_id=story_id,
        feed_id="feed",
        title=f"title {article_id}",
        link=f"https://x.example/{article_id}",
        url_key=f"x.example/{article_id}",
        published=published,
        kind="new",
        basis="new",
        similarity=0.0,
        matched=None,
        markers=frozenset({"m"}),
        entities=frozenset(),
        full_fp=b"\x01\x02" + article_id.encode(),
        title_fp=b"\x03" + article_id.encode(),
        title_words=4,
    )
    return StoryEntry(**{**fields, **kw})


@pytest.fixture
def stories(store) -> StateStore:
    store.prepare_stories()
    store.prepare_stories()  # idempotent
    return store


def found(store, e: StoryEntry, bands=()) -> None:
    """`e` founds its story on its own (a batch of one)."""
    size = StoryCluster(e.story_id, e.article_id, e.title, e.published, e.published, 1, 0)
    store.save_stories([(e, list(bands))], [size])


def test_a_founded_story_is_stored_findable_and_listed(stories):
    a = entry("a", "s-a", 100.0, entities=frozenset({"p1", "o1"}), similarity=0.31, matched="z")
    with stories.transaction():
        stories.lock_stories()
        found(stories, a, [11, 12])
    assert stories.story_links(["a", "nope"]) == {
        "a": StoryLink("s-a", "new", 0.31, "new", "z", "a")
    }
    match = StoryMatch("a", "s-a", 100.0, a.full_fp, a.title_fp, 4, frozenset({"p1", "o1"}))
    assert stories.story_candidates([12, 99], 0.0, 200.0) == [match._replace(bands={12})]
    assert stories.story_candidates([11, 12], 0.0, 200.0) == [match._replace(bands={11, 12})]
    assert stories.story_candidates([99], 0.0, 200.0) == []
    assert stories.story_candidates([11], 100.5, 200.0) == []  # outside the window
    assert stories.story_candidates([], 0.0, 200.0) == []
    assert stories.story_urls(["x.example/a", "nope"], 100.0, 100.0) == {
        "x.example/a": [StoryMatch("a", "s-a", 100.0)]
    }
    assert stories.story_urls(["x.example/a"], 101.0, 200.0) == {}
    assert stories.story_urls([], 0.0, 200.0) == {}
    assert stories.story_heads(["s-a", "nope"]) == {
        "s-a": StoryHead("a", "title a", frozenset({"m"}), 100.0)
    }
    assert stories.story_heads([]) == {}
    assert stories.story_cluster("s-a") == StoryCluster("s-a", "a", "title a", 100.0, 100.0, 1, 0)
    assert stories.story_members("s-a") == [a]
    assert stories.story_counts() == {
        "stories_clusters": 1,
        "stories_articles": 1,
        "stories_bands": 2,
    }


def test_a_batch_grows_its_stories_and_files_its_members_in_order(stories):
    found(stories, entry("a", "s-a", 100.0), [1])
    b = entry("b", "s-a", 50.0, kind="copy", basis="text", similarity=0.8, matched="a")
    c = entry("c", "s-a", 300.0, kind="update", basis="title", markers=frozenset({"dies"}))
    d = entry("d", "s-d", 200.0)
    stories.save_stories(
        [(b, [1, 2]), (d, [2]), (c, [2, 2])],  # a bucket twice is filed once
        [
            StoryCluster("s-a", "a", "title a", 50.0, 300.0, 2, 1),
            StoryCluster("s-d", "d", "title d", 200.0, 200.0, 1, 0),
        ],
    )
    assert stories.story_cluster("s-a") == StoryCluster("s-a", "a", "title a", 50.0, 300.0, 3, 1)
    assert stories.story_cluster("s-d") == StoryCluster("s-d", "d", "title d", 200.0, 200.0, 1, 0)
    assert [m.article_id for m in stories.story_members("s-a")] == ["b", "a", "c"]
    assert stories.story_heads(["s-a"])["s-a"] == StoryHead(
        "a", "title a", frozenset({"m", "dies"}), 300.0
    )
    assert [(m.article_id, m.bands) for m in stories.story_candidates([1, 2], 0.0, 1000.0)] == [
        ("a", {1}),
        ("b", {1, 2}),
        ("d", {2}),
        ("c", {2}),
    ]  # each once, in insertion order
    links = stories.story_links(["a", "b", "c"])
    assert links["c"] == StoryLink("s-a", "update", 0.0, "title", None, "a")
    assert links["b"].first_article_id == "a"
    assert stories.story_counts()["stories_bands"] == 5
    stories.save_stories([], [])  # nothing to do


def test_changes_since_a_mark_are_what_was_stored_after_it(stories, connect):
    """A mark sees what is committed; every article stored after it comes back once, saying
    whether it is filed under one of the bands asked about (the draft check, index.py)."""
    empty = stories.story_mark()
    assert stories.story_changes(empty, [1]) == []
    found(stories, entry("a", "s-a", 100.0, url_key="k"), [1, 2])
    mark = stories.story_mark()
    assert mark > empty
    assert stories.story_changes(empty, [2, 9]) == [StoryChange("a", "s-a", "k", True)]
    assert stories.story_changes(mark, [2]) == []
    other = connect()  # another writer
    with other.transaction():
        other.lock_stories()
        other.save_stories(
            [(entry("b", "s-a", 110.0, url_key=None), [3]), (entry("c", "s-c", 120.0), [])],
            [StoryCluster("s-a", "a", "title a", 110.0, 110.0, 1, 0)],
        )
        assert stories.story_changes(mark, [3]) == []  # not committed yet
    assert sorted(stories.story_changes(mark, [3, 4])) == [
        StoryChange("b", "s-a", None, True),
        StoryChange("c", "s-c", "x.example/c", False),
    ]
    assert stories.story_mark() > mark


def test_url_matches_come_earliest_first_then_first_inserted(stories):
    found(stories, entry("late", "s-late", 200.0, url_key="same"))
    found(stories, entry("first", "s-first", 100.0, url_key="same"))
    found(stories, entry("second", "s-second", 100.0, url_key="same"))
    found(stories, entry("other", "s-other", 150.0, url_key="other"))
    found(stories, entry("none", "s-none", 150.0, url_key=None))
    urls = stories.story_urls(["same", "other", "absent"], 0.0, 1000.0)
    assert {k: [m.article_id for m in v] for k, v in urls.items()} == {
        "same": ["first", "second", "late"],
        "other": ["other"],
    }
    assert [m.article_id for m in stories.story_urls(["same"], 150.0, 1000.0)["same"]] == ["late"]


def test_clusters_list_latest_activity_first_with_a_minimum_size(stories):
    found(stories, entry("a", "s-a", 100.0))
    b = entry("b", "s-a", 150.0, kind="copy")
    stories.save_stories([(b, [])], [StoryCluster("s-a", "a", "title a", 150.0, 150.0, 1, 0)])
    found(stories, entry("c", "s-c", 200.0))
    found(stories, entry("d", "s-d", 200.0))
    assert [c.story_id for c in stories.story_clusters(10)] == ["s-c", "s-d", "s-a"]
    assert [c.story_id for c in stories.story_clusters(2)] == ["s-c", "s-d"]
    assert [c.story_id for c in stories.story_clusters(10, min_size=2)] == ["s-a"]
    assert stories.story_cluster("nope") is None
    assert stories.story_members("nope") == []


def test_a_pruned_founder_reprocessed_counts_again_and_resets_nothing(stories):
    found(stories, entry("a", "s-a", 100.0), [1])
    b = entry("b", "s-a", 500.0, kind="update", markers=frozenset({"dies"}))
    stories.save_stories([(b, [1])], [StoryCluster("s-a", "a", "title a", 500.0, 500.0, 1, 1)])
    stories.prune_stories(index_before=0.0, keep_after=200.0)  # a's membership goes
    assert stories.story_links(["a"]) == {}
    assert stories.story_heads(["s-a"]) == {
        "s-a": StoryHead("a", "title a", frozenset({"dies"}), 500.0)
    }
    found(stories, entry("a", "s-a", 100.0, title="retitled"), [1])
    assert stories.story_cluster("s-a") == StoryCluster("s-a", "a", "title a", 100.0, 500.0, 3, 1)


def test_prune_unfiles_then_forgets(stories):
    found(stories, entry("old", "s-old", 100.0), [1, 2])
    found(stories, entry("new", "s-new", 1000.0), [1])
    assert stories.prune_stories(index_before=500.0, keep_after=0.0) == {
        "band_entries": 2,
        "articles": 0,
        "stories": 0,
    }
    assert [m.article_id for m in stories.story_candidates([1, 2], 0.0, 2000.0)] == ["new"]
    assert stories.story_links(["old"])["old"].story_id == "s-old"  # still a member
    assert stories.prune_stories(index_before=500.0, keep_after=500.0) == {
        "band_entries": 0,
        "articles": 1,
        "stories": 1,
    }
    assert stories.story_counts() == {
        "stories_clusters": 1,
        "stories_articles": 1,
        "stories_bands": 1,
    }


def test_the_story_chain_is_one_per_store_kept_with_its_transaction(stories, connect):
    assert stories.story_chain() is None
    with stories.transaction():
        stories.lock_stories()
        stories.save_story_chain(StoryChain("t1", 0, 3))
    assert connect().story_chain() == StoryChain("t1", 0, 3)
    with stories.transaction():
        stories.save_story_chain(StoryChain("t1", 0, 7))  # the next part extends it
    with pytest.raises(Boom):
        with stories.transaction():
            stories.save_story_chain(StoryChain("t2", 7, 9))
            raise Boom
    assert connect().story_chain() == ("t1", 0, 7)


def test_story_writes_roll_back_with_their_transaction(stories):
    with pytest.raises(Boom):
        with stories.transaction():
            stories.lock_stories()
            found(stories, entry("a", "s-a", 100.0), [1])
            raise Boom
    assert stories.story_counts() == {
        "stories_clusters": 0,
        "stories_articles": 0,
        "stories_bands": 0,
    }


# --- coverage of the Protocol itself ----------------------------------------------------------
def protocol_methods() -> set[str]:
    names = set()
    for cls in StateStore.__mro__:
        if cls.__module__ == StateStore.__module__:
            names |= {n for n, v in vars(cls).items() if inspect.isfunction(v)}
    return {n for n in names if not n.startswith("_") or n in ("__enter__", "__exit__")}


def test_every_protocol_method_is_exercised_here():
    """Here or in a sibling test_contract_*.py (the lease contract has its own file)."""
    called = {
        node.attr
        for path in Path(__file__).parent.glob("test_contract*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute)
    }
    missing = protocol_methods() - called - {"__enter__", "__exit__"}  # `with connect()` above
    assert not missing, f"StateStore methods without a contract test: {sorted(missing)}"
