"""The small pure helpers: sanitize, text, links, HTTP headers and bodies."""

from __future__ import annotations

import gzip
import zlib
from datetime import datetime, timezone

import pytest

from wirewatch.transforms.ingest.http_body import (
    BadEncoding,
    BodyTooLarge,
    decoded_chunks,
    read_capped,
)
from wirewatch.transforms.ingest.http_headers import max_age_seconds, retry_after_seconds
from wirewatch.transforms.ingest.links import canonical_link
from wirewatch.transforms.ingest.sanitize import sanitize
from wirewatch.transforms.ingest.text import plain_text, repair_mojibake


@pytest.mark.parametrize(
    "body,expected",
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "]>">]><rss/>',
            b'<?xml version="1.0"?><rss/>',
        ),
        (b"<!DOCTYPE r SYSTEM 'file:///etc/passwd'>\n<rss/>", b"\n<rss/>"),
        (b"<!-- c --><!DOCTYPE r [<!-- ]> -->]><rss/>", b"<!-- c --><rss/>"),
        (b"<rss><![CDATA[<!DOCTYPE x>]]></rss>", b"<rss><![CDATA[<!DOCTYPE x>]]></rss>"),
        (b"<!DOCTYPE r [ never closed", b""),
    ],
)
def test_sanitize_strips_doctypes(body, expected):
    assert sanitize(body) == expected


def test_sanitize_keeps_the_netscape_public_doctype():
    body = b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "x" [<!ENTITY a "b">]><rss/>'
    assert b"Netscape" in sanitize(body) and b"ENTITY" not in sanitize(body)


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("<p>One</p><p>two</p>", "One two"),
        ("Hel<b>lo</b>  world", "Hello world"),
        ("a &amp; b &lt;c&gt; &#8217;", "a & b <c> ’"),
        ("<script>alert(1)</script>x", "x"),
        ("It\u00e2\u20ac\u2122s caf\u00c3\u00a9", "It’s café"),
        ("\n\t  spaced \r\n out ", "spaced out"),
    ],
)
def test_plain_text(raw, expected):
    assert plain_text(raw) == expected


def test_plain_text_keeps_angle_brackets_in_plain_text_and_cuts_long_text():
    assert plain_text("x < y and <b> is a tag", is_html=False) == "x < y and <b> is a tag"
    assert plain_text("word " * 100, limit=20).endswith("…")


def test_mojibake_left_alone_when_not_reversible():
    assert repair_mojibake("Ã alone") == "Ã alone"


@pytest.mark.parametrize(
    "link,expected",
    [
        ("https://x.com/a?utm_source=rss&id=1#frag", "https://x.com/a?id=1"),
        ("HTTPS://X.COM:443/a?fbclid=z", "https://x.com/a"),
        ("/rel/path", "https://base.example/rel/path"),
        ("javascript:alert(1)", None),
        ("mailto:a@b.c", None),
        ("", None),
    ],
)
def test_canonical_link(link, expected):
    assert canonical_link(link, "https://base.example/feed") == expected


def test_retry_after_and_max_age():
    now = datetime(2025, 1, 1, tzinfo=timezone.utc)
    assert retry_after_seconds("30") == 30
    assert retry_after_seconds("Wed, 01 Jan 2025 00:02:00 GMT", now) == 120
    assert retry_after_seconds("soon") is None
    assert max_age_seconds("public, max-age=300") == 300
    assert max_age_seconds("no-cache") is None


def test_decoding_is_capped_after_inflation():
    bomb = gzip.compress(b"\0" * 5_000_000)
    with pytest.raises(BodyTooLarge):
        read_capped(decoded_chunks(iter([bomb]), "gzip", 1000), 1000)
    raw_deflate = zlib.compressobj(wbits=-15)
    data = raw_deflate.compress(b"hello") + raw_deflate.flush()
    assert read_capped(decoded_chunks(iter([data]), "deflate", 100), 100) == b"hello"
    two = gzip.compress(b"a") + gzip.compress(b"b")
    assert read_capped(decoded_chunks(iter([two]), "gzip", 100), 100) == b"ab"
    with pytest.raises(BadEncoding):
        read_capped(decoded_chunks(iter([b"x"]), "br", 100), 100)
