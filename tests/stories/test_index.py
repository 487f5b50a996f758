"""StoryIndex behaviour: URL key, window, idempotency, updates, pruning, index use."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.stories.conftest import make
from wirewatch.transforms.model import EntityTag
from wirewatch.transforms.state import StateStore, open_store
from wirewatch.transforms.stories import StoryIndex, StorySettings
from wirewatch.transforms.stories import index as index_module
from wirewatch.transforms.stories.index import article_fingerprint, bucket_keys

LEAD = (
    "The central bank raised its main interest rate by half a point on Tuesday, its first "
    "increase in a decade, and signalled more rises this year as inflation stays high."
)


def test_same_canonical_url_is_the_same_story_whatever_the_title(index):
    a = make(
        "a",
        "Central bank raises rates",
        feed="one",
        link="https://news.example/economy/rates?utm_source=rss",
    )
    b = make(
        "b",
        "Completely different words here",
        feed="two",
        hours=1,
        link="http://www.news.example/economy/rates/?fbclid=x#comments",
    )
    first, second = index.assign(a), index.assign(b)
    assert second.story_id == first.story_id
    assert (second.basis, second.similarity, second.matched_article_id) == ("url", 1.0, "a")


def test_archive_wrapped_link_matches_the_plain_link(index):
    a = make("a", "One", link="https://archive.is/newest/https://www.wsj.com/world/x-c7bb")
    b = make("b", "Two", link="https://www.wsj.com/world/x-c7bb", hours=2)
    assert index.assign(b).story_id == index.assign(a).story_id


def test_front_page_link_is_not_a_story_key(index):
    a = make("a", "Budget passes parliament after long night", link="https://news.example/")
    b = make("b", "Storm closes schools across the north", link="https://news.example/")
    assert index.assign(a).story_id != index.assign(b).story_id


def test_near_duplicate_outside_the_window_starts_a_new_story(index, clock):
    first = index.assign(make("a", "Central bank raises rates for first time in decade", LEAD))
    inside = index.assign(
        make("b", "Central bank raises rates for first time in a decade", LEAD, hours=47)
    )
    assert inside.story_id == first.story_id
    later = index.assign(
        make("c", "Central bank raises rates for first time in decade", LEAD, hours=47 + 49)
    )  # 49 h after b, 96 h after a
    assert later.is_new and later.story_id != first.story_id


def test_window_is_configurable(store, clock):
    index = StoryIndex(store, StorySettings(window_hours=6), clock=clock)
    first = index.assign(make("a", "Central bank raises rates for first time in decade", LEAD))
    assert (
        index.assign(
            make("b", "Central bank raises rates for first time in decade", LEAD, hours=7)
        ).story_id
        != first.story_id
    )


def test_assigning_the_same_article_twice_returns_the_stored_story(index, location, clock):
    a = make("a", "Central bank raises rates for first time in decade", LEAD)
    first = index.assign(a)
    index.assign(make("b", "Central bank lifts rates for first time in decade", LEAD, hours=1))
    assert index.assign(a) == first
    # after a crash: a new process, a new connection, the same answer
    with open_store(location) as store:
        again = StoryIndex(store, clock=clock)
        assert again.assign(a) == first
        assert again.assign_many([a, a]) == [first, first]
        assert again.counts()["stories_articles"] == 2


def test_edited_headline_with_the_same_lead_is_a_copy(index):
    first = index.assign(make("a", "Central bank raises rates for first time in decade", LEAD))
    copy = index.assign(
        make(
            "b", "Rates go up: central bank ends decade of easy money", LEAD, feed="other", hours=1
        )
    )
    assert (copy.story_id, copy.kind, copy.basis) == (first.story_id, "copy", "text")


def test_same_headline_over_different_leads_joins_on_the_title(index):
    title = "Central bank raises rates for first time in decade"
    first = index.assign(make("a", title, LEAD))
    other = index.assign(make("b", title, "Savers cheered and borrowers groaned.", hours=1))
    assert (other.story_id, other.basis) == (first.story_id, "title")


def test_short_generic_titles_are_not_compared_alone(index):
    first = index.assign(make("a", "Markets live", "Shares rose in Tokyo as exporters rallied."))
    other = index.assign(
        make("b", "Markets live", "Oil slid after a surprise build in stocks.", hours=20)
    )
    assert other.story_id != first.story_id


def test_entities_raise_confidence_but_never_decide_alone(store, clock):
    people = (
        EntityTag(id="p1", name="Ann Lee", type="PERSON"),
        EntityTag(id="o1", name="Acme", type="ORG"),
    )
    index = StoryIndex(store, StorySettings(threshold=0.5, entity_boost=0.2), clock=clock)
    index.assign(
        make(
            "a",
            "Acme chief Ann Lee steps down after board revolt",
            "Acme said on Monday that Ann Lee would leave at the end of the month.",
        ),
        people,
    )
    unrelated = index.assign(
        make(
            "b",
            "Ann Lee opens Acme factory in Ohio",
            "The plant will employ 400 people, the company said.",
            hours=2,
        ),
        people,
    )
    assert unrelated.is_new


def test_update_rule_on_a_late_copy_of_an_older_version(index):
    dies = index.assign(make("a", "Racing driver Alex Moreno dies after crash", LEAD, hours=5))
    old = index.assign(make("b", "Racing driver Alex Moreno injured in crash", LEAD, hours=1))
    assert old.story_id == dies.story_id
    assert old.kind == "copy"  # published before the latest member: old news, not an update


def test_materially_changed_headline_and_lead_is_a_new_story(index):
    index.assign(
        make(
            "a",
            "Racing driver Alex Moreno injured in crash at Monza",
            "Moreno was hurt during practice and taken to hospital.",
        )
    )
    dies = index.assign(
        make(
            "b",
            "Alex Moreno, three-time champion, dead at 34",
            "Tributes poured in from across motor racing.",
            hours=6,
        )
    )
    assert dies.is_new  # not silently swallowed either way


def test_prune_drops_old_band_entries_and_keeps_members_until_retention(index, clock):
    index.assign(make("a", "Central bank raises rates for first time in decade", LEAD))
    assert index.counts()["stories_bands"] > 0
    clock.advance(hours=49)
    report = index.prune()
    assert report["band_entries"] > 0 and index.counts()["stories_bands"] == 0
    assert index.counts()["stories_articles"] == 1 and index.story_of("a") is not None
    clock.advance(hours=24 * 7)
    index.prune()
    assert index.counts() == {"stories_clusters": 0, "stories_articles": 0, "stories_bands": 0}


def test_assign_prunes_on_its_own_at_most_every_prune_interval(index, store, clock):
    a = make("a", "Central bank raises rates for first time in decade", LEAD)
    s = index.settings
    fp = article_fingerprint(a, s)

    def filed_under_its_buckets() -> bool:
        found = store.story_candidates(bucket_keys(fp, s), float("-inf"), float("inf"))
        return "a" in {c.article_id for c in found}

    index.assign(a)
    assert filed_under_its_buckets()
    clock.advance(hours=49)
    index.assign(make("b", "Storm closes schools across the north of the country", hours=49))
    assert index.counts()["stories_articles"] == 2
    bands_b = index.counts()["stories_bands"]
    assert index.story_of("a") is not None and bands_b > 0
    # the first assign pruned at T0; 49 h later the next one pruned again and took a's entries
    assert not filed_under_its_buckets()


def test_two_writers_racing_on_copies_of_one_story_make_one_story(location, clock):
    articles = [
        make(
            f"x{i}",
            "Central bank raises rates for first time in decade",
            LEAD,
            feed=f"f{i}",
            hours=i / 10,
        )
        for i in range(6)
    ]
    results = []

    def worker(chunk):
        with open_store(location) as store:
            own = StoryIndex(store, clock=clock)
            results.extend(own.assign(a) for a in chunk)

    threads = [threading.Thread(target=worker, args=(articles[i::2],)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.story_id for r in results}) == 1
    assert sum(r.is_new for r in results) == 1


def test_one_batch_decides_as_one_article_at_a_time(store, clock, tmp_path):
    """Within a bundle each article sees the ones before it (publication order): the same
    stories, kinds, matches and scores as assigning them one by one, whatever the order given."""
    articles = [
        make("a", "Racing driver Alex Moreno injured in crash at Monza", LEAD, feed="one"),
        make("b", "Racing driver Alex Moreno injured in crash at Monza", LEAD, feed="two", hours=1),
        make("c", "Racing driver Alex Moreno dies after crash at Monza", LEAD, hours=2),
        make("d", "Completely different words", feed="three", hours=3, link="https://n.example/x"),
        make("e", "Other words entirely here", feed="four", hours=4, link="https://n.example/x"),
        make("f", "Storm closes schools across the north of the country", hours=5),
        make("g", "Storm closes schools across the north of the country", hours=5),
        make("h", "Racing driver Alex Moreno dies after crash at Monza", LEAD, hours=49),
    ]
    with open_store(tmp_path / "one-by-one") as other:
        single = StoryIndex(other, clock=clock)
        expected = {a.id: single.assign(a) for a in articles}
        expected_members = [m.model_dump() for m in single.members("s-a")]
    index = StoryIndex(store, clock=clock)
    shuffled = articles[::-1] + [articles[0]]  # and one id twice
    got = index.assign_many(shuffled)
    assert got == [expected[a.id] for a in shuffled]
    assert [m.model_dump() for m in index.members("s-a")] == expected_members
    kinds = {a.id: (r.story_id, r.kind) for a, r in zip(shuffled, got)}
    assert kinds["b"] == ("s-a", "copy") and kinds["c"] == ("s-a", "update")
    assert kinds["e"] == ("s-d", "copy") and kinds["g"] == ("s-f", "copy")
    assert kinds["h"] == ("s-a", "copy")  # a is out of its window, c is not
    assert index.story("s-a").size == 4 and index.story("s-a").updates == 1


def test_recent_and_members_list_stories_for_the_cli(index):
    index.assign(make("a", "Central bank raises rates for first time in decade", LEAD, feed="one"))
    index.assign(
        make("b", "Central bank lifts rates for first time in decade", LEAD, feed="two", hours=1)
    )
    index.assign(make("c", "Storm closes schools across the north of the country", hours=2))
    stories = index.recent()
    assert [s.size for s in stories] == [1, 2]  # newest activity first
    assert [s.story_id for s in index.recent(min_size=2)] == ["s-a"]
    members = index.members("s-a")
    assert [(m.article_id, m.feed_id, m.kind) for m in members] == [
        ("a", "one", "new"),
        ("b", "two", "copy"),
    ]


class OnlyTheInterface:
    """A store that answers only to the StateStore Protocol's names: anything else (a private
    attribute, a SQLite connection) is an AttributeError."""

    def __init__(self, store):
        self._inner = store

    def __getattr__(self, name):
        if name not in PROTOCOL_NAMES:
            raise AttributeError(f"{name!r} is not part of the StateStore interface")
        return getattr(self._inner, name)


PROTOCOL_NAMES = {
    name
    for cls in StateStore.__mro__
    if cls.__module__ == StateStore.__module__
    for name in [*vars(cls), *getattr(cls, "__annotations__", {})]
    if not name.startswith("_")
}


def test_the_index_needs_nothing_but_the_store_interface(store, clock):
    index = StoryIndex(OnlyTheInterface(store), clock=clock)
    first = index.assign(make("a", "Central bank raises rates for first time in decade", LEAD))
    copy = index.assign(
        make("b", "Central bank lifts rates for first time in decade", LEAD, feed="x", hours=1)
    )
    assert (copy.story_id, copy.kind) == (first.story_id, "copy")
    assert index.story_of("b") == copy and [m.article_id for m in index.members("s-a")] == [
        "a",
        "b",
    ]
    assert index.story("s-a").size == 2 and index.recent(min_size=2)[0].story_id == "s-a"
    assert index.prune()["stories"] == 0 and index.counts()["stories_articles"] == 2
    with pytest.raises(AttributeError, match="not part of the StateStore interface"):
        _ = OnlyTheInterface(store)._db
    source = Path(index_module.__file__).read_text()
    assert "store._" not in source and "sqlite" not in source.lower()
