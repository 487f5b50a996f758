"""Golden Block Kit payloads: an alert, an update and its more-sources reply, an edited entry
(marked Updated), a stale article and a digest, each exactly as Slack receives it, parsed by slack_sdk's own block models (which enforce
Slack's limits when a block is serialised) and checked against Slack's message limits.

A change to the layout shows up here as a diff of the JSON an editor's Slack receives. To accept
a deliberate change: WIREWATCH_UPDATE_GOLDEN=1 pytest tests/sinks/test_golden.py, then read the
diff of tests/sinks/golden/ before committing it.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from slack_sdk.models.blocks import Block

from wirewatch.transforms.model import (
    Alert,
    Article,
    Display,
    EntityTag,
    Hit,
    Match,
    TaggedArticle,
    TopicTag,
)
from wirewatch.transforms.sinks.render import (
    BLOCKS_MAX,
    CONTEXT_ELEMENTS_MAX,
    SECTION_TEXT_MAX,
    slack_digest,
    slack_message,
    slack_reply,
)

GOLDEN = Path(__file__).parent / "golden"
PUBLISHED = datetime(2026, 11, 26, 14, 5, tzinfo=timezone.utc)
DISPLAY = Display(
    feed_name="Financial Times · World",
    description="US tariffs and the trade war: anything that moves prices",
)


def make_alert(
    title="Chevron and Exxon profits drop as Trump trade war hits oil",
    summary="Oil majors reported lower third-quarter profits after the tariff escalation "
    "between the US & China cut demand forecasts; analysts expect <more> cuts.",
    link="https://www.ft.com/content/chevron-exxon",
    feed_id="ft-world",
    published=PUBLISHED,
    fetched_at=PUBLISHED + timedelta(minutes=4),
    story_kind="new",
    authors=("Myles McCormick", "Jamie Smyth"),
    id="ft-world:1",
    display=DISPLAY,
    edited=False,
) -> Alert:
    article = Article(
        id=id,
        feed_id=feed_id,
        title=title,
        link=link,
        summary=summary,
        published=published,
        fetched_at=fetched_at,
        authors=authors,
        edited=edited,
    )
    tagged = TaggedArticle(
        article=article,
        topics=(
            TopicTag(id="medtop:04000000", label="economy, business and finance", score=0.9),
            TopicTag(id="#trade", label="#trade", score=0.7),  # a hostile label: no channel
        ),
        entities=(
            EntityTag(id="trump", name="Donald Trump", type="PERSON"),
            EntityTag(id="chevron", name="@Chevron", type="ORG"),  # no mention either
        ),
        story_id="story-1",
        story_kind=story_kind,
    )
    match = Match(
        rule_id="trade-war",
        severity="warning",
        labels={"desk": "economics", "region": "americas"},
        article=tagged,
        hits=(
            Hit(
                field="title", term="trump", start=title.find("Trump"), end=title.find("Trump") + 5
            ),
            Hit(
                field="text",
                term="tariff",
                start=summary.find("tariff"),
                end=summary.find("tariff") + 6,
            ),
        ),
    )
    return Alert.for_match(match, "slack", route=0, group="rule:trade-war", display=display)


def _digest_alerts() -> list[Alert]:
    """28 alerts of one burst, handed over out of order: the digest sorts them."""
    feeds = [("ft-world", DISPLAY), ("reuters", Display()), ("ap", Display(feed_name="AP News"))]
    alerts = []
    for i in (
        7,
        3,
        27,
        0,
        12,
        19,
        1,
        25,
        9,
        14,
        22,
        5,
        16,
        2,
        26,
        11,
        20,
        8,
        24,
        4,
        13,
        18,
        6,
        23,
        10,
        21,
        15,
        17,
    ):
        feed_id, display = feeds[i % 3]
        alerts.append(
            make_alert(
                title=f"Tariff story {i}: markets react",
                link=f"https://example.org/{feed_id}/{i}",
                feed_id=feed_id,
                id=f"{feed_id}:{i}",
                published=PUBLISHED - timedelta(minutes=7 * i),
                display=display,
            )
        )
    return alerts


CASES = {
    "alert": lambda: slack_message(make_alert()),
    "update": lambda: slack_message(
        make_alert(title="Chevron and Exxon profits drop on falling oil price", story_kind="update")
    ),
    "edited": lambda: slack_message(  # the FT headline edited hours later: marked Updated
        make_alert(fetched_at=PUBLISHED + timedelta(hours=14), edited=True)
    ),
    "reply": lambda: slack_reply(
        make_alert(feed_id="reuters", display=Display(), story_kind="copy")
    ),
    "stale": lambda: slack_message(
        make_alert(published=PUBLISHED - timedelta(days=92), fetched_at=PUBLISHED)
    ),
    "digest": lambda: slack_digest(_digest_alerts(), "rule:trade-war"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_payload_matches_its_golden_file(name):
    text, blocks = CASES[name]()
    payload = {"text": text, "blocks": blocks}
    path = GOLDEN / f"{name}.json"
    if os.environ.get("WIREWATCH_UPDATE_GOLDEN"):
        path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", "utf-8")
    assert payload == json.loads(path.read_text("utf-8"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_payload_is_valid_block_kit_within_slack_limits(name):
    text, blocks = CASES[name]()
    assert text and len(text) <= 3000
    assert 0 < len(blocks) <= BLOCKS_MAX
    for block in blocks:
        parsed = Block.parse(block)  # slack_sdk's model of this block type
        assert type(parsed).__name__ != "Block", block["type"]  # a known type, not a fallback
        assert parsed.to_dict() == block  # to_dict() runs slack_sdk's limit validators
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= SECTION_TEXT_MAX
        if block["type"] == "context":
            assert 0 < len(block["elements"]) <= CONTEXT_ELEMENTS_MAX
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150


def test_tags_never_read_as_channels_or_mentions():
    for name in ("alert", "edited", "stale", "update"):
        _, blocks = CASES[name]()
        tags = blocks[-1]["elements"][0]["text"]
        assert tags.startswith("Topics: ")
        assert "#" not in tags and "@" not in tags


def test_the_stale_marker_appears_only_past_stale_after():
    def marked(**kwargs) -> bool:
        _, blocks = slack_message(make_alert(**kwargs))
        return any(":hourglass:" in json.dumps(b) for b in blocks)

    assert not marked()  # polled 4 minutes after publication
    assert marked(published=PUBLISHED - timedelta(hours=13), fetched_at=PUBLISHED)
    assert not marked(published=PUBLISHED - timedelta(hours=11), fetched_at=PUBLISHED)
    never = Display(stale_after=0)
    assert not marked(published=PUBLISHED - timedelta(days=90), fetched_at=PUBLISHED, display=never)


def test_digest_lines_are_newest_first_and_each_is_linked():
    _, blocks = CASES["digest"]()
    body = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    lines = [line for line in body.splitlines() if line.startswith("• ")]
    stamps = [int(line.split("<!date^")[1].split("^")[0]) for line in lines]
    assert stamps == sorted(stamps, reverse=True) and len(lines) == 25
    assert all("|Tariff story" in line and "<https://example.org/" in line for line in lines)
    more = next(line for line in body.splitlines() if line.startswith("…and "))
    assert more.startswith("…and 3 more, older: <https://example.org/")
    assert more.count("<https://") == 3


def test_an_edited_entry_is_marked_updated_and_never_old_news():
    text, blocks = CASES["edited"]()  # polled 14 hours after publication, past stale_after
    assert text.startswith("[trade-war] Updated: Chevron and Exxon profits drop as Trump")
    assert blocks[0]["text"]["text"].startswith(":warning: *Updated:* *<https://www.ft.com/")
    assert blocks[1]["elements"][0]["text"].startswith(":pencil2: Edited by the feed")
    assert ":hourglass:" not in json.dumps(blocks)
