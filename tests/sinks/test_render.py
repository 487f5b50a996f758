import json

import pytest

from tests.factories import alert
from wirewatch.transforms.model import Hit
from wirewatch.transforms.sinks.render import (
    CONTEXT_ELEMENTS_MAX,
    SECTION_TEXT_MAX,
    escape,
    safe_url,
    slack_message,
    snippet,
)


@pytest.mark.parametrize(
    "hostile, shown",
    [
        ("<!channel> breaking", "&lt;!channel&gt; breaking"),
        ("ping <@U123>", "ping &lt;@U123&gt;"),
        ("<https://evil.example|bank login>", "&lt;https://evil.example|bank login&gt;"),
        ("AT&T <b>", "AT&amp;T &lt;b&gt;"),
        ("&lt;already&gt;", "&amp;lt;already&amp;gt;"),
    ],
)
def test_feed_text_is_escaped_everywhere_it_appears(hostile, shown):
    text, blocks = slack_message(alert(title=hostile, summary=hostile, feed_id="f"))
    payload = json.dumps(blocks)
    assert shown in payload
    assert hostile not in payload.replace(shown, "")
    assert "<!channel>" not in text and "<@U123>" not in text


@pytest.mark.parametrize(
    "url, linked",
    [
        ("https://example.org/a", "https://example.org/a"),
        ("http://example.org/a|b", "http://example.org/a%7Cb"),
        ("javascript:alert(1)", None),
        ("ftp://example.org/x", None),
        (None, None),
    ],
)
def test_only_http_links_are_linked(url, linked):
    assert safe_url(url) == linked
    _, blocks = slack_message(alert(link=url))
    headline = blocks[0]["text"]["text"]
    if linked:
        assert f"<{linked}|" in headline
    else:
        assert "<" not in headline


def test_matched_terms_are_bold_in_the_snippet():
    summary = "Officials met on immigration & trade."
    out = snippet(summary, (Hit(field="summary", term="immigration", start=17, end=28),))
    assert out == "Officials met on *immigration* &amp; trade."


def test_long_text_is_truncated_within_slack_limits():
    text, blocks = slack_message(alert(title="T" * 5000, summary="word " * 5000))
    assert len(blocks) <= 50
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= SECTION_TEXT_MAX
        if block["type"] == "context":
            assert len(block["elements"]) <= CONTEXT_ELEMENTS_MAX
    assert len(text) <= 3000


def test_message_says_source_time_rule_and_tags():
    _, blocks = slack_message(alert(feed_id="world-wire", rule_id="us-mexico"))
    context = " ".join(e["text"] for e in blocks[-1]["elements"])
    assert "world-wire" in context
    assert "2026-11-26 14:05 UTC" in context
    assert "us-mexico" in context
    assert "#immigration" in context and "Mexico" in context


def test_escape_is_only_the_three_characters():
    assert escape("a*b_c~") == "a*b_c~"


def test_a_huge_digest_stays_within_slack_limits_and_says_how_many_more():
    from wirewatch.transforms.sinks.render import slack_digest

    alerts = [
        alert(title=f"<!here> story {i} " + "x" * 150, link=f"https://e.org/{i}", id=f"a{i}")
        for i in range(500)
    ]
    text, blocks = slack_digest(alerts, "rule:quake · entity:Chile")
    assert len(blocks) <= 50
    assert all(len(b["text"]["text"]) <= SECTION_TEXT_MAX for b in blocks if b["type"] == "section")
    assert "500 alerts" in blocks[0]["text"]["text"]
    body = blocks[1]["text"]["text"]
    assert body.endswith("more") and "…and " in body
    assert "<!here>" not in json.dumps(blocks) and "&lt;!here&gt;" in body
