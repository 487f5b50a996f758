"""The SQLite file's story buckets: one stories_bandsets row per article, looked up through the
process's in-memory index (band_index.py). What must hold: a store sees what any other store
of the file committed, never what was rolled back, never a seq given twice; a file written
before schema 8 (stories_bands) migrates and finds its stories as before."""

from __future__ import annotations

import random
import sqlite3

from tests.stories.conftest import T0, make
from wirewatch.transforms.state import band_index, open_store, sqlite_schema
from wirewatch.transforms.state.interface import StoryEntry
from wirewatch.transforms.state.sqlite import FILENAME
from wirewatch.transforms.stories import StoryIndex, StorySettings
from wirewatch.transforms.stories.index import article_fingerprint, bucket_keys

TITLE = "Central bank raises rates for the first time in a decade"
LEAD = "The central bank raised its main interest rate by half a point on Tuesday."
WINDOW = (T0.timestamp() - 1e6, T0.timestamp() + 1e6)


def keys(title: str = TITLE, lead: str = LEAD) -> list[int]:
    return bucket_keys(
        article_fingerprint(make("x", title, lead), StorySettings()), StorySettings()
    )


def entry(article_id: str, published: float = T0.timestamp()) -> StoryEntry:
    return StoryEntry(
        article_id, f"s-{article_id}", "feed", "t", None, None, published, "new", "new", 0.0,
        None, frozenset(), frozenset(), b"", b"", 0,
    )  # fmt: skip


def found(store, bands) -> list[str]:
    return [m.article_id for m in store.story_candidates(bands, *WINDOW)]


def test_a_store_sees_what_another_store_of_the_file_committed(tmp_path):
    with open_store(tmp_path) as one, open_store(tmp_path) as two:
        one.prepare_stories(), two.prepare_stories()
        assert one._bands is two._bands  # one index per file and process
        one.save_stories([(entry("a"), [1, 2])], [])
        assert found(two, [2]) == ["a"]
        two.save_stories([(entry("b"), [2, 3])], [])
        assert found(one, [2, 3]) == ["a", "b"]
        assert {m.article_id: m.bands for m in one.story_candidates([1, 3], *WINDOW)} == {
            "a": frozenset({1}),
            "b": frozenset({3}),
        }


def test_rows_of_a_rolled_back_transaction_are_never_learnt(tmp_path):
    class Undo(Exception):
        pass

    with open_store(tmp_path) as store:
        store.prepare_stories()
        try:
            with store.transaction():
                store.save_stories([(entry("gone"), [7])], [])
                assert found(store, [7]) == ["gone"]  # the open transaction sees its own
                raise Undo
        except Undo:
            pass
        store.save_stories([(entry("kept"), [8])], [])  # would take the same seq
        assert found(store, [7]) == [] and found(store, [8]) == ["kept"]


def test_a_seq_is_never_given_twice_even_after_the_newest_article_is_pruned(tmp_path):
    with open_store(tmp_path) as store:
        store.prepare_stories()
        store.save_stories([(entry("old", published=T0.timestamp() - 10), [5])], [])
        assert found(store, [5]) == ["old"]
        store.prune_stories(index_before=T0.timestamp(), keep_after=T0.timestamp())
        store.save_stories([(entry("new"), [6])], [])
        assert found(store, [5]) == [] and found(store, [6]) == ["new"]
        assert store.story_counts()["stories_bands"] == 1


def test_the_seq_of_a_pruned_article_without_buckets_is_not_given_again(tmp_path):
    """Such an article has no bucket row to keep its seq above the next (_NEXT_SEQ): had a
    draft's mark named it, a later article stored under the same seq would be missed."""
    with open_store(tmp_path) as store:
        store.prepare_stories()
        old = T0.timestamp() - 10
        store.save_stories([(entry("with", published=old), [5]), (entry("bare", old), [])], [])
        mark = store.story_mark()  # the bare one's seq
        store.prune_stories(index_before=T0.timestamp(), keep_after=T0.timestamp())
        assert store.next_story_seq() > mark


def test_a_quiet_stores_mark_counts_the_seq_floor(tmp_path):
    """After such a prune, a store that knows its file unchanged (`_quiet`) gave a mark below
    the floor, and the next article stored at the floor's seq looked stored before the mark:
    a draft at that mark never saw it."""
    with open_store(tmp_path) as store, open_store(tmp_path) as other:
        store.prepare_stories()
        old = T0.timestamp() - 10
        store.save_stories([(entry("with", published=old), [5]), (entry("bare", old), [])], [])
        floor = store.story_mark()  # the bare one's seq
        store.prune_stories(index_before=T0.timestamp(), keep_after=T0.timestamp())
        other.prepare_stories()
        assert [other.story_mark(), other.story_mark()] == [floor, floor]  # learnt, then quiet
        store.save_stories([(entry("next"), [6])], [])
        assert [c.article_id for c in other.story_changes(other.story_mark() - 1, ())] == ["next"]


def test_an_index_emptied_by_another_store_just_before_a_look_up_is_learnt_again(tmp_path):
    """The file looked quiet, then another store of it in this process pruned and emptied the
    index they share (forget), before this one's look-up took the index's lock."""
    with open_store(tmp_path) as store:
        store.prepare_stories()
        store.save_stories([(entry("a"), [1, 2])], [])
        assert found(store, [2]) == ["a"]
        quiet = store._is_quiet

        def quiet_then_emptied(version):
            answer = quiet(version)
            store._bands.reset()  # what another store's forget does once a quarter is gone
            return answer

        store._is_quiet = quiet_then_emptied
        assert found(store, [2]) == ["a"]


def test_the_index_starts_again_from_the_file_once_a_quarter_is_pruned(tmp_path):
    with open_store(tmp_path) as store:
        store.prepare_stories()
        store.save_stories([(entry(f"a{i}", T0.timestamp() - 10 + i), [i]) for i in range(4)], [])
        assert found(store, range(4)) == ["a0", "a1", "a2", "a3"]
        store.prune_stories(index_before=T0.timestamp() - 9, keep_after=0)
        assert store._bands.last == 0  # forgot everything: 1 of 4 entries gone
        assert found(store, range(4)) == ["a1", "a2", "a3"]


def test_a_version_7_file_moves_its_bands_and_finds_its_stories(tmp_path):
    settings = StorySettings()
    with open_store(tmp_path) as store:
        index = StoryIndex(store, settings, clock=lambda: T0)
        first = index.assign(make("a", TITLE, LEAD))
        index.assign(make("b", "Storm closes schools across the north", "Snow and ice."))
        before = store.story_counts()
    db = sqlite3.connect(tmp_path / FILENAME)
    rows = [
        (band, seq)
        for seq, blob in db.execute("SELECT seq, bands FROM stories_bandsets")
        for band in band_index.unpack_bands(blob)
    ]
    db.executescript(
        "DROP TABLE stories_bandsets; DELETE FROM meta WHERE key='stories_index';"
        "CREATE TABLE stories_bands (band INTEGER NOT NULL, seq INTEGER NOT NULL, "
        "PRIMARY KEY (band, seq)) WITHOUT ROWID; "
        "CREATE INDEX stories_bands_seq ON stories_bands (seq);"
        "UPDATE meta SET value='7' WHERE key='schema';"
    )
    db.executemany("INSERT INTO stories_bands VALUES (?, ?)", rows)
    db.commit()
    db.close()
    with open_store(tmp_path) as store:
        assert store.counts()["schema"] == sqlite_schema.SCHEMA_VERSION
        assert store.story_counts() == before
        tables = {r[0] for r in store._db.execute("SELECT name FROM sqlite_master")}
        assert "stories_bands" not in tables and "stories_bandsets" in tables
        copy = StoryIndex(store, settings, clock=lambda: T0).assign(
            make("c", TITLE + " on Tuesday", LEAD, hours=1)
        )
        assert (copy.story_id, copy.matched_article_id) == (first.story_id, "a")
        later = store._db.execute("SELECT max(seq) FROM stories_articles").fetchone()[0]
        assert later == 3  # numbering goes on after the migrated rows


def test_an_older_backup_put_back_is_learnt_again(tmp_path):
    live, backup = tmp_path / "live", tmp_path / "backup"
    with open_store(live) as store:
        store.prepare_stories()
        store.save_stories([(entry("a"), [1])], [])
        backup.mkdir()
        with sqlite3.connect(backup / FILENAME) as copy:
            store._db.backup(copy)
        store.save_stories([(entry("b"), [2]), (entry("c"), [3])], [])
        assert found(store, [1, 2, 3]) == ["a", "b", "c"]  # the index learnt seqs 1-3
    for suffix in ("-wal", "-shm"):
        (live / (FILENAME + suffix)).unlink(missing_ok=True)
    (backup / FILENAME).replace(live / FILENAME)
    with open_store(live) as store:
        store.save_stories([(entry("d"), [4])], [])  # seq 2 again, in this file
        assert found(store, [1, 2, 3, 4]) == ["a", "d"]


def test_the_index_answers_as_a_scan_of_the_rows_however_they_arrived():
    """Loaded at once, in bundles, or merged: the same seqs under the same keys as a naive
    scan, including the extreme keys and keys filed by several or many articles."""
    rng = random.Random(18)
    rows = [(seq, band_index.pack_bands(rng.getrandbits(64) - 2**63 for _ in range(48)))
            for seq in range(1, 3001)]  # fmt: skip
    shared = band_index.unpack_bands(rows[1500][1])[0]
    rows[0] = (1, band_index.pack_bands([5, -(2**63), 2**63 - 1, shared]))
    rows[-1] = (3000, band_index.pack_bands([5, 9, shared]))
    crowded = 2**62 + 1  # a bucket filed by 40 articles: more than a block is compared with
    for i in range(100, 2900, 70):
        rows[i] = (
            rows[i][0],
            band_index.pack_bands([crowded, *band_index.unpack_bands(rows[i][1])]),
        )
    asked = [band_index.unpack_bands(blob)[-1] for _, blob in rows[::37]]
    asked += [5, 9, -(2**63), 2**63 - 1, shared, crowded, 12345]
    scan: dict[int, set[int]] = {}
    for seq, blob in rows:
        for band in set(band_index.unpack_bands(blob)) & set(asked):
            scan.setdefault(seq, set()).add(band)
    whole, bundles = band_index.BandIndex(), band_index.BandIndex()
    whole.add(rows)
    bundles.add(rows[:1000])
    for i in range(1000, 3000, 7):
        bundles.add(rows[i : i + 7])
    assert whole.lookup(asked) == bundles.lookup(asked) == scan
    bundles._merge()
    assert bundles.lookup(asked) == scan
