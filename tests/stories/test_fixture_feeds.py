"""The issue's acceptance cases on fixture feeds parsed like the pipeline parses them."""

from __future__ import annotations

from tests.stories.conftest import fixture_feed
from wirewatch.transforms.model import EntityTag

TRUMP = EntityTag(id="donald-trump", name="Donald Trump", type="PERSON")
PENA = EntityTag(id="enrique-pena-nieto", name="Enrique Peña Nieto", type="PERSON")
MEXICO = EntityTag(id="mexico", name="Mexico", type="PLACE")
PEOPLE = (TRUMP, PENA, MEXICO)


def test_syndicated_story_under_edited_headlines_in_three_feeds_is_one_story(index):
    wire, ft, paper = (
        fixture_feed("wire")["wire-1"],
        fixture_feed("ft")["ft-1"],
        fixture_feed("paper")["paper-1"],
    )
    first, second, third = (index.assign(a, PEOPLE) for a in (wire, ft, paper))
    assert first.is_new and first.kind == "new"
    assert {second.story_id, third.story_id} == {first.story_id}
    # rewordings ("cancels" / "scraps") are the same event class: copies, i.e. thread replies
    assert (second.kind, third.kind) == ("copy", "copy")
    assert second.first_article_id == third.first_article_id == wire.id
    assert second.similarity >= index.settings.threshold
    assert [m.feed_id for m in index.members(first.story_id)] == ["wire", "ft", "paper"]


def test_same_story_found_whatever_order_the_feeds_arrive_in(index):
    wire, ft, paper = (
        fixture_feed("wire")["wire-1"],
        fixture_feed("ft")["ft-1"],
        fixture_feed("paper")["paper-1"],
    )
    out = index.assign_many([(paper, PEOPLE), (ft, PEOPLE), (wire, PEOPLE)])
    assert len({a.story_id for a in out}) == 1
    assert out[2].is_new  # the earliest published founds the story, not the first delivered


def test_different_stories_about_the_same_people_on_the_same_day_stay_apart(index):
    wire = fixture_feed("wire")
    cancel, order, call = (index.assign(wire[g], PEOPLE) for g in ("wire-1", "wire-2", "wire-3"))
    assert cancel.is_new and order.is_new and call.is_new
    assert len({cancel.story_id, order.story_id, call.story_id}) == 3
    # the shared entities raised the score, but not to the threshold
    assert call.similarity < index.settings.threshold


def test_injured_then_dies_is_an_update_of_the_same_story(index):
    wire = fixture_feed("wire")
    injured, dies = index.assign(wire["wire-4"]), index.assign(wire["wire-5"])
    assert dies.story_id == injured.story_id
    assert (dies.kind, dies.is_new) == ("update", False)
    [story] = index.recent(min_size=2)
    assert (story.size, story.updates) == (2, 1)


def test_unrelated_article_in_the_same_cycle_is_its_own_story(index):
    ft = fixture_feed("ft")
    assert index.assign(ft["ft-2"]).is_new
    assert index.assign(ft["ft-1"]).is_new
