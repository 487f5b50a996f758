"""The SQLite store's copy of the indexed candidates in memory (band_index.BandIndex.rows, kept
by sqlite_stories._learn) answers exactly what the file holds, while other processes commit
and prune between look-ups.

Another process is a store with a bucket index of its own: that index is all a process keeps
of the file (stores of one process share it: tests/state/test_sqlite_bands.py). The truth is
read from the file directly, row by row, without any index (`on_file`)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from tests.stories.conftest import T0, make
from wirewatch.transforms.state import open_store
from wirewatch.transforms.state.band_index import BandIndex, unpack_bands
from wirewatch.transforms.state.interface import StoryEntry, StoryMatch
from wirewatch.transforms.state.rows import split_set
from wirewatch.transforms.state.sqlite_stories import UNFILINGS_KEPT
from wirewatch.transforms.stories import StoryIndex, StorySettings
from wirewatch.transforms.stories.index import prepare

START = T0.timestamp()
EVER = (START - 1e7, START + 1e7)


def process(path):
    """A store of the file as another process has it: an index of its own, empty."""
    store = open_store(path)
    store.prepare_stories()
    store._bands = BandIndex()
    return store


def on_file(store, bands, lo: float, hi: float) -> list[StoryMatch]:
    """`story_candidates` read from the file without any index: every bucket row, in seq order,
    whose article is still indexed and published in [lo, hi]."""
    db, asked, out = store._db, set(bands), []
    for seq, blob in db.execute("SELECT seq, bands FROM stories_bandsets ORDER BY seq").fetchall():
        row = db.execute(
            "SELECT article_id, story_id, published, full_fp, title_fp, title_words, entities "
            "FROM stories_articles WHERE seq = ? AND indexed = 1 AND published BETWEEN ? AND ?",
            (seq, lo, hi),
        ).fetchone()
        if row and (hit := asked.intersection(unpack_bands(blob))):
            out.append(StoryMatch(*row[:6], split_set(row[6]), frozenset(hit)))
    return out


def entry(article_id: str, published: float, entities=frozenset()) -> StoryEntry:
    return StoryEntry(
        article_id, f"s-{article_id}", "feed", "t", None, None, published, "new", "new", 0.0,
        None, frozenset(), frozenset(entities), b"\x01\x00\x00\x00", b"", 1,
    )  # fmt: skip


def test_a_prune_by_another_process_between_look_ups_is_seen(tmp_path):
    mine, other = process(tmp_path), process(tmp_path)
    mine.save_stories([(entry("old", START - 100, {"e1", "e2"}), [1, 2])], [])
    mine.save_stories([(entry("new", START), [2, 3])], [])
    assert [m.article_id for m in mine.story_candidates([2], *EVER)] == ["old", "new"]
    other.prune_stories(index_before=START - 50, keep_after=0)
    other.save_stories([(entry("later", START - 200), [2])], [])  # old, but after the prune
    assert mine.story_candidates([1, 2, 3], *EVER) == on_file(mine, [1, 2, 3], *EVER)
    assert [m.article_id for m in mine.story_candidates([2], *EVER)] == ["new", "later"]


def test_more_prunes_than_the_file_remembers_start_the_index_again(tmp_path):
    mine, other = process(tmp_path), process(tmp_path)
    mine.save_stories([(entry(f"a{i}", START + i), [i % 3]) for i in range(6)], [])
    assert len(mine.story_candidates([0, 1, 2], *EVER)) == 6
    other.prune_stories(index_before=START + 100, keep_after=0)  # takes all six
    for i in range(UNFILINGS_KEPT):  # then as many that each take one late article
        other.save_stories([(entry(f"late{i}", START - 100 + i), [0])], [])
        other.prune_stories(index_before=START - 99.5 + i, keep_after=0)
    other.save_stories([(entry("kept", START - 100), [1])], [])
    assert mine.story_candidates([0, 1, 2], *EVER) == on_file(mine, [0, 1, 2], *EVER)
    assert [m.article_id for m in mine.story_candidates([0, 1, 2], *EVER)] == ["kept"]


def test_random_commits_and_prunes_of_three_processes_never_diverge_from_the_file(tmp_path):
    rng = random.Random(16)
    stores = [process(tmp_path) for _ in range(3)]
    seen = 0
    for step in range(400):
        store = rng.choice(stores)
        roll = rng.random()
        if roll < 0.45:
            batch = [
                (
                    entry(f"x{step}-{i}", START + rng.uniform(-500, 500), rng.sample("abc", 1)),
                    rng.sample(range(40), rng.randint(0, 4)),
                )
                for i in range(rng.randint(1, 3))
            ]
            store.save_stories(batch, [])
        elif roll < 0.55:
            cut = START + rng.uniform(-600, 300)
            store.prune_stories(index_before=cut, keep_after=cut - rng.uniform(0, 300))
        else:
            bands = rng.sample(range(40), rng.randint(1, 8))
            lo = START + rng.uniform(-600, 0)
            window = (lo, lo + rng.uniform(0, 900))
            found = store.story_candidates(bands, *window)
            assert found == on_file(store, bands, *window), step
            seen += len(found)
    assert seen > 200  # the look-ups found something to compare


def test_two_processes_assign_and_prune_as_an_index_without_the_cache(tmp_path):
    """Stories, kinds, matches and scores equal those of stores that read every candidate from
    the file, through bundles of two processes and prunes by each."""
    settings = StorySettings(window_hours=6, retain_hours=12, prune_every_minutes=1)
    titles = [
        "Central bank raises rates for first time in a decade",
        "Central bank raises interest rates for first time in decade",
        "Storm closes schools across the north as snow falls",
        "Storm shuts schools across the north after heavy snow",
        "Parliament passes budget after long night of votes",
        "Parliament passes the budget after a long night of votes",
    ]

    def run(path, cached: bool):
        clocks = [T0, T0]
        indexes = []
        for n in range(2):
            store = process(path / ("cached" if cached else "plain"))
            if not cached:
                store.story_candidates = lambda b, lo, hi, s=store: on_file(s, b, lo, hi)
            indexes.append(StoryIndex(store, settings, clock=lambda n=n: clocks[n]))
        rng, out = random.Random(7), []
        for step in range(60):
            n = rng.randrange(2)
            clocks[n] = T0 + timedelta(hours=step / 4)
            bundle = [
                make(f"a{step}-{i}", rng.choice(titles), hours=step / 4 - rng.uniform(0, 8))
                for i in range(rng.randint(1, 4))
            ]
            out += indexes[n].assign_many(bundle)
        return out

    (tmp_path / "cached").mkdir(), (tmp_path / "plain").mkdir()
    cached, plain = run(tmp_path, True), run(tmp_path, False)
    assert cached == plain
    assert sum(not a.is_new for a in cached) > 20  # copies and updates, not only new stories
    with open_store(tmp_path / "cached") as store:  # and prunes that took articles out
        assert store._unfilings()[-1][0] > 3


def _statements(store) -> list[str]:
    """Statements the store's connection runs from now on."""
    ran: list[str] = []
    store._db.set_trace_callback(ran.append)
    return ran


def test_a_bundle_saved_while_nobody_else_wrote_is_learnt_at_its_commit(tmp_path):
    """No sync, no mark and no check of what was stored since: the file's data_version says
    no other connection committed, and the index takes the bundle's rows when it commits."""
    store = process(tmp_path)
    index = StoryIndex(store, StorySettings(), clock=lambda: T0)
    index.assign(make("a", "Central bank raises rates for first time in a decade"))
    ran = _statements(store)
    b = make("b", "Central bank raises interest rates for first time")
    assert not index.assign(b).is_new
    asked = [s for s in ran if s.startswith("SELECT") and "stories_bandsets" in s]
    assert asked == []  # neither read back nor looked for: known
    bands = prepare(b, (), index.settings).bands
    found = store.story_candidates(bands, *EVER)
    assert [m.article_id for m in found] == ["a", "b"] and found == on_file(store, bands, *EVER)
    assert store.story_mark() == store.next_story_seq() - 1


def test_a_save_rolled_back_is_never_learnt(tmp_path):
    store = process(tmp_path)
    store.save_stories([(entry("kept", START), [1])], [])
    assert len(store.story_candidates([1], *EVER)) == 1  # learnt: the file is now quiet
    mark = store.story_mark()
    with pytest.raises(RuntimeError), store.transaction():
        store.lock_stories()
        assert store.story_changes(mark, [1]) == []
        store.save_stories([(entry("gone", START), [1])], [])
        raise RuntimeError
    assert store.story_candidates([1], *EVER) == on_file(store, [1], *EVER)
    assert [m.article_id for m in store.story_candidates([1], *EVER)] == ["kept"]
    assert store.story_mark() == mark
    with store.transaction():  # the next save takes the next seq, and is learnt
        assert store.story_changes(store.story_mark(), [1]) == []
        store.save_stories([(entry("next", START), [1])], [])
    assert [m.article_id for m in store.story_candidates([1], *EVER)] == ["kept", "next"]
    assert store.story_candidates([1], *EVER) == on_file(store, [1], *EVER)


def test_another_process_committing_ends_the_quiet(tmp_path):
    mine, other = process(tmp_path), process(tmp_path)
    mine.save_stories([(entry("a", START), [1])], [])
    mark = mine.story_mark()
    with mine.transaction():
        assert mine.story_changes(mark, [1]) == []
        mine.save_stories([(entry("b", START), [1])], [])
    other.save_stories([(entry("c", START), [1])], [])  # after mine's commit
    assert [m.article_id for m in mine.story_candidates([1], *EVER)] == ["a", "b", "c"]
    assert mine.story_mark() == other.story_mark() == mine.next_story_seq() - 1
    with mine.transaction():  # a draft marked before c sees c as stored since
        assert [c.article_id for c in mine.story_changes(mark + 1, [1])] == ["c"]


def test_a_draft_sees_what_another_draft_of_this_process_saved_after_its_mark(tmp_path):
    """Two drafts of one process took the same mark; the second saved and committed first.
    The first must be told of that save, even though the file stayed quiet throughout."""
    store = process(tmp_path)
    store.save_stories([(entry("kept", START), [1])], [])
    assert len(store.story_candidates([1], *EVER)) == 1  # learnt: the file is now quiet
    first_mark = store.story_mark()
    with store.transaction():  # the second draft
        store.lock_stories()
        assert store.story_changes(store.story_mark(), [1]) == []
        store.save_stories([(entry("second", START), [1])], [])
    with store.transaction():  # the first draft, saving on its older mark
        store.lock_stories()
        changes = store.story_changes(first_mark, [1])
    assert [c.article_id for c in changes] == ["second"]
