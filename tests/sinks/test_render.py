import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.factories import alert
from wirewatch.transforms.model import Hit
from wirewatch.transforms.sinks.render import (
    CONTEXT_ELEMENTS_MAX,
    SECTION_TEXT_MAX,
    escape,
    plain_text,
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
    context = " ".join(e["text"] for b in blocks if b["type"] == "context" for e in b["elements"])
    assert "*world-wire*" in context  # no `name:`: the config id
    assert "<!date^1795701900^{date_short_pretty} {time}|2026-11-26 14:05 UTC>" in context
    assert "us-mexico" in context
    assert "Topics: Immigration" in context and "Entities: Mexico" in context
    assert "#" not in context  # a topic never reads like a channel name


def test_escape_is_only_the_three_characters():
    assert escape("a*b_c~") == "a*b_c~"


def test_a_huge_digest_stays_within_slack_limits_and_says_how_many_more():
    from wirewatch.transforms.sinks.render import slack_digest

    alerts = [
        alert(
            title=f"<!here> story {i} " + "x" * 150,
            link=f"https://e.org/{i}/" + "p" * 200,
            id=f"a{i}",
            published=datetime(2026, 11, 26, 14, 5, tzinfo=timezone.utc) - timedelta(minutes=i),
        )
        for i in range(500)
    ]
    text, blocks = slack_digest(alerts, "rule:quake · entity:Chile")
    assert len(blocks) <= 50
    assert all(len(b["text"]["text"]) <= SECTION_TEXT_MAX for b in blocks if b["type"] == "section")
    assert "500 alerts" in blocks[0]["text"]["text"]
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    more = [text for text in sections if text.startswith("…and ")]
    assert more[0].startswith("…and 475 more, older: <https://e.org/25/")  # newest first
    linked = json.dumps(blocks).count("<https://e.org/")
    assert more[-1] == f"…and {500 - linked} more, not listed: a Slack message holds 50 blocks"
    assert 25 + 100 < linked < 500
    assert "<!here>" not in json.dumps(blocks) and "&lt;!here&gt;" in json.dumps(blocks)


HIDDEN = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
HIDDEN += "\u200b\u200c\u200d\u2060\ufeff"


def _texts(node):
    """Every string anywhere in a Slack payload."""
    if isinstance(node, dict):
        return [t for v in node.values() for t in _texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in _texts(v)]
    return [node] if isinstance(node, str) else []


def _mrkdwn_objects(node):
    if isinstance(node, dict):
        own = [node] if node.get("type") == "mrkdwn" else []
        return own + [o for v in node.values() for o in _mrkdwn_objects(v)]
    if isinstance(node, list):
        return [o for v in node for o in _mrkdwn_objects(v)]
    return []


def _spoofing_alert(**kwargs):
    return alert(
        title="Pay\u200d\u200dPal refund \u202eexe.doc\u202c from \u2066bank\u2069\ufeff",
        summary="Sum\u200bmary \u202dwith\u202c \u061cmarks\u200e\u200f and \u2060joiners",
        feed_id="wire\u200b\u202e",
        link="https://example.org/a\u202eb",
        **kwargs,
    )


def test_bidi_and_zero_width_characters_never_reach_a_slack_message():
    from wirewatch.transforms.sinks.render import slack_digest, slack_reply

    spoof = _spoofing_alert()
    payloads = [
        slack_message(spoof),
        slack_reply(spoof),
        slack_digest([spoof, _spoofing_alert(id="b")], "label\u202e\u200b"),
    ]
    for fallback, blocks in payloads:
        for text in [fallback, *_texts(blocks)]:
            assert not set(text) & set(HIDDEN), repr(text)
    _, blocks = payloads[0]
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert "PayPal refund exe.doc from bank" in sections[0]
    assert "Summary with marks and joiners" in sections[1]
    assert "*wire*" in [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    # the link keeps its address: the override is percent-encoded, not dropped
    assert "<https://example.org/a%E2%80%AEb|" in blocks[0]["text"]["text"]


@pytest.mark.parametrize("char", list(HIDDEN))
def test_each_invisible_character_is_removed(char):
    from wirewatch.transforms.sinks.render import clean

    assert clean(f"a{char}b{char}") == "ab"
    _, blocks = slack_message(alert(title=f"x{char}y", summary=f"s{char}t"))
    assert char not in json.dumps(blocks, ensure_ascii=False)


def test_plain_renderings_are_clean_too():
    from wirewatch.transforms.sinks.render import plain_digest, plain_text

    spoof = _spoofing_alert()
    for text in (plain_text(spoof), plain_digest([spoof], "d\u202e")):
        assert not set(text) & set(HIDDEN), repr(text)
    assert "PayPal refund exe.doc from bank" in plain_text(spoof)


def test_every_mrkdwn_text_object_is_verbatim():
    from wirewatch.transforms.sinks.render import slack_digest, slack_reply

    one = alert(title="@channel #general https://evil.example", summary="@here says")
    for _, blocks in (
        slack_message(one),
        slack_reply(one),
        slack_digest([one, alert(id="b")], "rule:x"),
    ):
        objects = _mrkdwn_objects(blocks)
        sections = [b for b in blocks if b["type"] == "section"]
        contexts = [e for b in blocks if b["type"] == "context" for e in b["elements"]]
        assert len(objects) == len(sections) + len(contexts) > 0
        assert all(o["verbatim"] is True for o in objects)


def test_an_edited_entry_reads_updated_on_the_console_and_in_json_payloads(tmp_path):
    """Console: an UPDATED head and a line that says why; JSONL and webhook bodies are the
    Alert's JSON, where `edited` is true."""
    from wirewatch.transforms.sinks.jsonl import JsonlSink

    edited = alert(title="Profits drop as Trump trade war hits oil", edited=True)
    text = plain_text(edited)
    assert text.startswith("UPDATED [warning] rule-1 · ")
    assert "Edited by the feed since it was first seen" in text
    sink = JsonlSink("jsonl", type("Conf", (), {"path": str(tmp_path / "alerts.jsonl")}))
    sink.send(edited)
    sink.close()
    line = json.loads((tmp_path / "alerts.jsonl").read_text())
    assert line["match"]["article"]["article"]["edited"] is True
