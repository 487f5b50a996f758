"""Deciding a cycle's stories in groups (partition.py) and drafting without the lock (index.py)."""

from __future__ import annotations

import random

import pytest

from tests.stories.conftest import make
from tests.stories.test_index import LEAD
from wirewatch.transforms.state import open_store
from wirewatch.transforms.state.interface import StoryMatch
from wirewatch.transforms.stories import StoryIndex, StorySettings
from wirewatch.transforms.stories.index import Siblings, prepare
from wirewatch.transforms.stories.partition import Sketch, components, partition, stored_stories

SETTINGS = StorySettings()
TITLES = [
    "Racing driver Alex Moreno injured in crash at Monza",
    "Storm closes schools across the north of the country",
    "Central bank raises rates for first time in decade",
    "Parliament passes budget after all-night session",
    "Wildfire forces thousands to flee homes near coast",
]


def test_articles_sharing_a_bucket_a_url_an_id_or_a_stored_story_are_one_component():
    sketches = [
        Sketch.made("a", 0, None, (1, 2)),
        Sketch.made("b", 0, None, (2, 3)),  # a bucket with a
        Sketch.made("c", 0, "n.example/x", (4,)),
        Sketch.made("d", 0, "n.example/x", (5,)),  # a URL key with c
        Sketch.made("e", 0, None, (6,)),
        Sketch.made("e", 0, None, (7,)),  # its own id again
        Sketch.made("f", 0, None, (8,)),
        Sketch.made("g", 0, "n.example/y", (9,)),  # f and g may both join stored story s-1
        Sketch.made("h", 0, None, (10,)),  # alone
    ]
    by_band, by_url = stored_stories(
        [StoryMatch("old", "s-1", 0.0, bands=frozenset({8}))],
        {"n.example/y": [StoryMatch("old2", "s-1", 0.0)]},
    )
    assert components(sketches, by_band, by_url) == [[0, 1], [2, 3], [4, 5], [6, 7], [8]]
    assert components(sketches)[3:] == [[6], [7], [8]]  # nothing stored: f and g are apart


def test_components_go_largest_first_onto_the_lightest_part():
    groups = [[0], [1, 2, 3], [4, 5], [6], [7]]
    assert partition(groups, 2) == [1, 0, 0, 0, 1, 1, 0, 1]
    assert partition(groups, 1) == [0] * 8


def backlog(seed: int) -> list:
    """Articles of a few stories, copied across feeds at nearby times, some sharing a URL with
    a copy, one id twice, in shuffled order."""
    rng = random.Random(seed)
    articles = []
    for n in range(40):
        story = rng.randrange(len(TITLES))
        title = TITLES[story]
        if rng.random() < 0.3:
            title = title.replace(" in ", " at ").replace("closes", "shuts")
        link = f"https://n.example/{story}/{rng.randrange(2)}" if rng.random() < 0.2 else None
        articles.append(
            make(f"a{n}", title, feed=f"f{n % 3}", hours=rng.randrange(60) / 2, link=link)
        )
    articles.append(articles[3])
    rng.shuffle(articles)
    return articles


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_groups_decided_apart_get_what_one_bundle_gets(seed, location, tmp_path, clock):
    """Components decided one group at a time (in reverse order, over a store that already
    holds some of the stories) give every article the story, kind and match, and every story
    the members, that deciding the whole cycle at once gives."""
    stored, cycle = backlog(seed)[:10], backlog(seed + 100)
    with open_store(location) as store, open_store(tmp_path / "whole") as other:
        grouped, whole = StoryIndex(store, clock=clock), StoryIndex(other, clock=clock)
        grouped.assign_many(stored), whole.assign_many(stored)
        expected = whole.assign_many(cycle)

        prepared = [prepare(a, (), SETTINGS) for a in cycle]
        groups = grouped.components([Sketch.of(p) for p in prepared])
        assert 1 < len(groups) < len(cycle)
        got = {}
        for group in reversed(groups):
            for i, result in zip(group, grouped.assign_prepared([prepared[i] for i in group])):
                got.setdefault(cycle[i].id, result)
        assert [got[a.id] for a in cycle] == expected
        for story in {r.story_id for r in expected}:
            assert grouped.story(story) == whole.story(story)
            assert grouped.members(story) == whole.members(story)


def recording(owner, name: str, what) -> list:
    """`what(*args)` of every call of `owner`'s method `name`, which still runs (the store and
    the index are real)."""
    calls = []
    method = getattr(owner, name)

    def recorded(*args):
        calls.append(what(*args))
        return method(*args)

    setattr(owner, name, recorded)
    return calls


def counting(index: StoryIndex) -> list[int]:
    """How many articles each time the index decides."""
    return recording(index, "_decide", lambda ordered, bands: len(ordered))


def test_a_draft_overtaken_by_a_copy_stored_meanwhile_is_decided_again(location, clock):
    title = "Central bank raises rates for first time in decade"
    with open_store(location) as one, open_store(location) as two:
        slow, fast = StoryIndex(one, clock=clock), StoryIndex(two, clock=clock)
        calls = counting(slow)
        draft = slow.draft([prepare(make("late", title, LEAD, hours=1), (), SETTINGS)])
        first = fast.assign(make("early", title, LEAD, feed="other"))
        [late] = slow.commit(draft)
        assert (late.story_id, late.kind, late.matched_article_id) == (
            first.story_id,
            "copy",
            "early",
        )
        assert calls == [1, 1]  # drafted, then decided again under the lock
        assert slow.story(first.story_id).size == 2


def test_a_draft_is_saved_as_drafted_when_only_unrelated_articles_came_meanwhile(location, clock):
    with open_store(location) as one, open_store(location) as two:
        slow, fast = StoryIndex(one, clock=clock), StoryIndex(two, clock=clock)
        slow.assign(make("x", "Storm closes schools across the north of the country"))  # prunes
        calls = counting(slow)
        article = make("a", "Central bank raises rates for first time in decade", LEAD, hours=1)
        draft = slow.draft([prepare(article, (), SETTINGS)])
        fast.assign(make("b", "Wildfire forces thousands to flee homes near coast", hours=1))
        [result] = slow.commit(draft)
        assert (result.story_id, result.kind) == ("s-a", "new")
        assert calls == [1]
        assert slow.story_of("a") == result


def bands_tested(store) -> list[int]:
    """How many buckets each of the store's `story_changes` calls tested."""
    return recording(store, "story_changes", lambda since, bands: len(bands))


def test_parts_of_one_partition_skip_testing_each_others_buckets(location, tmp_path, clock):
    """Two parts drafted at once, committed one after the other: the second sees only the
    first's articles stored since the partition's mark, and saves its draft without testing
    their buckets; every article gets what deciding the whole cycle at once gives."""
    cycle = backlog(7)
    with (
        open_store(location) as one,
        open_store(location) as two,
        open_store(tmp_path / "whole") as other,
    ):
        first, second = StoryIndex(one, clock=clock), StoryIndex(two, clock=clock)
        expected = StoryIndex(other, clock=clock).assign_many(cycle)
        prepared = [prepare(a, (), SETTINGS) for a in cycle]
        siblings = Siblings(one.story_mark(), "partition-1")
        parts = partition(first.components([Sketch.of(p) for p in prepared]), 2)
        ids = [{a.id for a, part in zip(cycle, parts) if part == k} for k in (0, 1)]
        assert ids[0] and ids[1] and not ids[0] & ids[1]
        drafts = [
            index.draft([p for p, part in zip(prepared, parts) if part == k])
            for k, index in enumerate((first, second))
        ]
        tested = bands_tested(two)
        got = {}
        for k, index in enumerate((first, second)):
            for p, result in zip(drafts[k].prepared, index.commit(drafts[k], siblings)):
                got.setdefault(p.article.id, result)
        assert tested == []  # the chain of the first's saves ends at the mark: nothing tested
        assert [got[a.id] for a in cycle] == expected


def test_a_part_commits_after_the_full_test_when_someone_else_stored_since_the_partition(
    location, clock
):
    title = "Central bank raises rates for first time in decade"
    with open_store(location) as one, open_store(location) as two:
        part, other = StoryIndex(one, clock=clock), StoryIndex(two, clock=clock)
        mark = one.story_mark()
        calls = counting(part)
        draft = part.draft([prepare(make("late", title, LEAD, hours=1), (), SETTINGS)])
        early = other.assign(make("early", title, LEAD, feed="other"))  # not a sibling
        [late] = part.commit(draft, Siblings(mark, "partition-1"))
        assert (late.story_id, late.kind) == (early.story_id, "copy")
        assert calls == [1, 1]  # drafted, then decided again under the lock


def test_another_process_storing_a_siblings_article_id_is_not_taken_for_the_sibling(
    location, clock
):
    """Another process stores its version of an article a sibling part also holds (an edit
    fetched by both): the sibling finds it stored and saves nothing, and the part must test
    it like any other writer's article. Its title is this part's story's: a copy."""
    title = "Central bank raises rates for first time in decade"
    with open_store(location) as one, open_store(location) as two:
        part, other = StoryIndex(one, clock=clock), StoryIndex(two, clock=clock)
        siblings = Siblings(one.story_mark(), "partition-1")
        draft = part.draft([prepare(make("late", title, LEAD, hours=1), (), SETTINGS)])
        sibling_id = "edited"  # the sibling part's version of it was about something else
        early = other.assign(make(sibling_id, title, LEAD, feed="other"))
        [late] = part.commit(draft, siblings)
        assert (late.story_id, late.kind) == (early.story_id, "copy")


def test_a_second_run_of_one_part_gets_what_the_first_stored(location, clock):
    """Two runs of one part (a bundle retried while its first attempt still ran) drafted at
    the same mark: the first's saves are not a sibling's, and the second returns them."""
    title = "Central bank raises rates for first time in decade"
    with open_store(location) as one, open_store(location) as two, open_store(location) as three:
        first, second = StoryIndex(two, clock=clock), StoryIndex(three, clock=clock)
        siblings = Siblings(one.story_mark(), "partition-1")
        part = [prepare(make("late", title, LEAD, hours=1), (), SETTINGS)]
        drafts = [first.draft(part), second.draft(part)]
        assert first.commit(drafts[0], siblings) == second.commit(drafts[1], siblings)


def test_articles_joining_one_stored_story_by_different_paths_stay_together(store, clock):
    """X joins the stored story by its text, Y by its URL: they share nothing but the story,
    whose head decides copy or update. Apart, whichever went first would be the update."""
    index = StoryIndex(store, clock=clock)
    moreno = "https://n.example/moreno"
    index.assign(make("s", "Racing driver Alex Moreno injured in crash at Monza", link=moreno))
    x = make("x", "Racing driver Alex Moreno dies after crash at Monza", hours=10)
    y = make("y", "Tragedy at the track as a racer is killed", hours=5, link=moreno)
    prepared = [prepare(a, (), SETTINGS) for a in (x, y)]
    assert not set(prepared[0].bands) & set(prepared[1].bands)
    sketches = [Sketch.of(p) for p in prepared]
    assert components(sketches) == [[0], [1]]
    assert index.components(sketches) == [[0, 1]]
    got = index.assign_prepared(prepared)
    assert [(r.story_id, r.kind) for r in got] == [("s-s", "copy"), ("s-s", "update")]


def connected(sketches, by_band, by_url) -> list[list[int]]:
    """The components by breadth-first search over every pair that shares anything: slow and
    obviously right."""

    def things(s):
        own = {("a", s.article_id), *(("b", b) for b in s.buckets())}
        own |= {("s", story) for b in s.buckets() for story in by_band.get(b, ())}
        if s.url:
            own |= {("u", s.url), *(("s", story) for story in by_url.get(s.url, ()))}
        return own

    held = [things(s) for s in sketches]
    seen, groups = set(), []
    for start in range(len(sketches)):
        if start in seen:
            continue
        group, todo = [], [start]
        seen.add(start)
        while todo:
            i = todo.pop()
            group.append(i)
            for j in range(len(sketches)):
                if j not in seen and held[i] & held[j]:
                    seen.add(j)
                    todo.append(j)
        groups.append(sorted(group))
    return groups


@pytest.mark.parametrize("seed", range(20))
def test_components_walking_only_shared_buckets_are_the_components_of_everything(seed):
    """Buckets one article alone has are skipped (a cold cycle shares almost none); the
    components are still those of every bucket, URL, id and stored story."""
    rng = random.Random(seed)
    sketches = [
        Sketch.made(
            f"a{rng.randrange(40)}",
            float(i),
            rng.choice([None, *(f"u{k}" for k in range(30))]),
            tuple(rng.sample(range(1500), 6)),  # most buckets are one article's alone
        )
        for i in range(60)
    ]
    used = sorted({b for s in sketches for b in s.buckets()})
    by_band = {b: {f"s{rng.randrange(5)}"} for b in rng.sample(used, 40)}
    by_url = {f"u{k}": {f"s{rng.randrange(5)}"} for k in rng.sample(range(30), 3)}
    assert components(sketches, by_band, by_url) == connected(sketches, by_band, by_url)
    assert components(sketches) == connected(sketches, {}, {})


def other_writers(rng: random.Random, cycle_ids: list[str], batches: int) -> list[list]:
    """Batches another process stores meanwhile: fresh articles and its own versions of the
    cycle's (ids the parts also hold), some sharing a URL."""
    out = []
    for b in range(batches):
        batch = []
        for j in range(rng.randrange(1, 4)):
            title = rng.choice(TITLES)
            if rng.random() < 0.5:
                title = title.replace(" in ", " at ").replace("closes", "shuts")
            article_id = rng.choice(cycle_ids) if rng.random() < 0.4 else f"o{b}-{j}"
            link = (
                f"https://n.example/{TITLES.index(rng.choice(TITLES))}/{rng.randrange(2)}"
                if rng.random() < 0.2
                else None
            )
            hours = rng.randrange(60) / 2
            batch.append(make(article_id, title, feed="w", hours=hours, link=link))
        out.append(batch)
    return out


@pytest.mark.parametrize("seed", range(10))
def test_parts_decide_as_one_at_a_time_with_other_writers_interleaved(
    seed, location, tmp_path, clock
):
    """2-3 parts drafted and committed in a random order, with another process storing
    between any two steps (also between the partition's mark and its look): every commit
    gets what a store deciding each part afresh, in commit order, gets."""
    rng = random.Random(seed)
    cycle = backlog(seed + 100)
    others = other_writers(rng, sorted({a.id for a in cycle}), rng.randrange(1, 4))
    with (
        open_store(location) as one,
        open_store(location) as writer_store,
        open_store(tmp_path / "reference") as reference_store,
        open_store(location) as p0,
        open_store(location) as p1,
        open_store(location) as p2,
    ):
        writer = StoryIndex(writer_store, clock=clock)
        reference = StoryIndex(reference_store, clock=clock)
        for index in (writer, reference):
            index.assign_many(backlog(seed)[:8])
        prepared = [prepare(a, (), SETTINGS) for a in cycle]
        siblings = Siblings(one.story_mark(), f"partition-{seed}")
        if rng.random() < 0.3 and len(others) > 1:
            batch = others.pop(0)
            assert writer.assign_many(batch) == reference.assign_many(batch)
        looked = StoryIndex(one, clock=clock).components([Sketch.of(p) for p in prepared])
        parts = partition(looked, rng.choice([2, 3]))
        in_part = [[p for p, k in zip(prepared, parts) if k == n] for n in range(3)]
        in_part = [ps for ps in in_part if ps]
        indexes = [StoryIndex(s, clock=clock) for s in (p0, p1, p2)][: len(in_part)]
        steps = [("draft", k) for k in range(len(in_part))] + [
            ("other", i) for i in range(len(others))
        ]
        rng.shuffle(steps)
        for k in range(len(in_part)):  # each commit somewhere after its draft
            at = steps.index(("draft", k))
            steps.insert(rng.randrange(at + 1, len(steps) + 1), ("commit", k))
        drafts = {}
        for step, k in steps:
            if step == "draft":
                drafts[k] = indexes[k].draft(in_part[k])
            elif step == "other":
                assert writer.assign_many(others[k]) == reference.assign_many(others[k])
            else:
                got = indexes[k].commit(drafts[k], siblings)
                assert got == reference.assign_prepared(in_part[k]), steps
