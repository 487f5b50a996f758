"""dedupe: seen keys, the first-poll backfill window, one article per dedupe key in a run."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from tests.factories import article
from wirewatch.transforms.ingest.dedupe import (
    already_seen,
    backfill_cutoff,
    content_hash,
    is_backfill,
    is_first_poll,
    keep_first,
    seen_hashes,
    seen_keys,
    seen_verdict,
    text_hash,
)
from wirewatch.transforms.state.sqlite import FeedState

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def test_seen_keys_are_the_id_and_the_link():
    assert seen_keys(article(id="a1", link="https://example.org/x")) == [
        "a1",
        "link:https://example.org/x",
    ]
    assert seen_keys(article(id="a1", link=None)) == ["a1"]


def test_already_seen_by_id_or_by_link_from_another_feed():
    story = article(id="a1", link="https://example.org/x")
    assert already_seen(story, {"a1"})
    assert already_seen(story, {"link:https://example.org/x"})
    assert not already_seen(story, {"a2", "link:https://example.org/y", "https://example.org/x"})
    assert not already_seen(story, set())


def test_keep_first_is_the_earliest_then_the_smallest_id_in_any_order():
    early = article(id="b", published=NOW - timedelta(hours=2))
    tie = article(id="a", published=NOW - timedelta(hours=2))
    late = article(id="0", published=NOW)
    for order in itertools.permutations([early, tie, late]):
        assert keep_first(order) == (tie, 2)
    assert keep_first([late]) == (late, 0)


def test_first_poll_is_a_feed_with_no_recorded_status():
    assert is_first_poll(FeedState(feed_id="f"))
    assert not is_first_poll(FeedState(feed_id="f", last_status="failed"))
    assert not is_first_poll(FeedState(feed_id="f", last_status="ok"))


def test_backfill_cutoff_only_on_the_first_poll():
    assert backfill_cutoff(24, first_poll=True, now=NOW) == NOW - timedelta(hours=24)
    assert backfill_cutoff(0.5, first_poll=True, now=NOW) == NOW - timedelta(minutes=30)
    assert backfill_cutoff(0, first_poll=True, now=NOW) == NOW
    assert backfill_cutoff(24, first_poll=False, now=NOW) is None
    assert backfill_cutoff(None, first_poll=True, now=NOW) is None  # null: the whole backlog


def test_is_backfill_means_published_before_the_cutoff():
    cutoff = NOW - timedelta(hours=24)
    assert is_backfill(article(published=cutoff - timedelta(seconds=1)), cutoff)
    assert not is_backfill(article(published=cutoff), cutoff)
    assert not is_backfill(article(published=NOW), cutoff)
    assert not is_backfill(article(published=datetime(2000, 1, 1, tzinfo=timezone.utc)), None)


# --- content hash: what counts as an edit ------------------------------------------------------
HEADLINE = "Chevron and Exxon profits drop on falling oil price"
LEAD = "Oil majors reported lower profits. More: https://www.ft.com/content/x?id=7"


def same_content(**changes) -> bool:
    before = article(title=HEADLINE, summary=LEAD, id="ft:1")
    return content_hash(before) == content_hash(before.model_copy(update=changes))


def test_markup_whitespace_and_tracking_parameters_are_not_edits():
    assert same_content(title="<b>Chevron</b> and Exxon profits drop on <i>falling</i> oil price")
    assert same_content(title=f"  {HEADLINE.replace(' ', '   ')}\n")
    assert same_content(title=HEADLINE.replace(" oil ", "\u00a0oil "))  # a no-break space
    assert same_content(summary=LEAD.replace(" More:", "&#160;More:"))  # an entity for it
    assert same_content(summary=LEAD.replace("?id=7", "?id=7&utm_source=rss&fbclid=abc"))
    assert same_content(summary=f"<p>{LEAD}</p>")


def test_a_changed_word_number_or_query_is_an_edit():
    assert not same_content(title="Chevron and Exxon profits drop as Trump trade war hits oil")
    assert not same_content(title=HEADLINE.replace("drop", "fall"))
    assert not same_content(summary=LEAD.replace("lower", "higher"))
    assert not same_content(summary=LEAD.replace("?id=7", "?id=8"))  # another page
    assert not same_content(title=HEADLINE + ".")


def test_title_and_summary_are_hashed_apart():
    one = article(title="Oil falls", summary="Trump speaks", id="a")
    other = article(title="Oil falls Trump", summary="speaks", id="a")
    assert content_hash(one) != content_hash(other)


def test_seen_verdict_new_seen_edited_and_adopted():
    before = article(title=HEADLINE, summary=LEAD, id="ft:1", link="https://www.ft.com/c")
    edited = before.model_copy(update={"title": "Profits drop as Trump trade war hits oil"})
    copy = article(title="Other feed", id="reuters:9", link="https://www.ft.com/c")
    stored = seen_hashes(before)
    assert seen_verdict(before, stored) == "seen"
    assert seen_verdict(edited, stored) == "edited"
    assert seen_verdict(copy, stored) == "seen"  # another feed's copy of the link: not an edit
    assert seen_verdict(edited, {}) == "new"
    assert seen_verdict(edited, {"ft:1": None}) == "adopt"  # a row from before hashes
    assert seen_hashes(before) == {
        "ft:1": content_hash(before),
        "link:https://www.ft.com/c": content_hash(before),
    }


def test_the_hash_of_raw_feed_text_equals_the_articles():
    """What a pre-scan reads from the XML (escaped HTML in a description) hashes like the parsed
    article, so it could skip an entry seen unchanged without parsing it."""
    from wirewatch.transforms.ingest.parse import parse_feed

    raw_title, raw_lead = "Oil &amp; gas <b>prices</b> fall", "<p>Brent fell&#160;3%.</p>"
    body = (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>t</title><item>"
        "<title>Oil &amp;amp; gas &lt;b&gt;prices&lt;/b&gt; fall</title><guid>g1</guid>"
        "<description>&lt;p&gt;Brent fell&amp;#160;3%.&lt;/p&gt;</description></item>"
        "</channel></rss>"
    ).encode()
    [parsed] = parse_feed(body, feed_id="f", feed_url="https://f.example/rss").articles
    assert text_hash(raw_title, raw_lead) == content_hash(parsed)
