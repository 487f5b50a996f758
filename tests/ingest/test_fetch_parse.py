"""The two cores together, as the pipeline chains them: poll, parse new, poll again."""

from __future__ import annotations

import gzip
import pickle

from tests.ingest import feeds
from wirewatch.transforms.config import FetchSettings
from wirewatch.transforms.ingest.fetch import fetch
from wirewatch.transforms.ingest.parse import parse_feed

SETTINGS = FetchSettings(connect_timeout=1, read_timeout=2, deadline=3)


def test_poll_parse_and_conditional_repoll(server):
    body = feeds.rss(feeds.item("a"), feeds.item("b"), channel_extra="<ttl>15</ttl>")

    def handler(req):
        if req.headers.get("If-None-Match") == '"v2"':
            req.send_response(304)
            req.end_headers()
            return
        version = "v2" if len(server.requests) > 1 else "v1"
        payload = (
            body
            if version == "v1"
            else feeds.rss(feeds.item("c"), feeds.item("a"), feeds.item("b"))
        )
        data = gzip.compress(payload)
        req.send_response(200)
        for name, value in (
            ("Content-Type", "application/rss+xml; charset=utf-8"),
            ("Content-Encoding", "gzip"),
            ("ETag", f'"{version}"'),
            ("Content-Length", str(len(data))),
        ):
            req.send_header(name, value)
        req.end_headers()
        req.wfile.write(data)

    url = server.route("/feed.xml", handler)
    store: set[str] = set()

    first = fetch(url, SETTINGS)
    parsed = parse_feed(
        first.body,
        feed_id="w",
        feed_url=first.final_url,
        headers=first.headers,
        seen_of=store.intersection,
    )
    assert [a.guid for a in parsed.articles] == ["a", "b"] and parsed.ttl == 15
    store.update(a.id for a in parsed.articles)

    second = fetch(url, SETTINGS, etag=first.etag)
    parsed = parse_feed(
        second.body,
        feed_id="w",
        feed_url=second.final_url,
        headers=second.headers,
        seen_of=store.intersection,
    )
    assert [a.guid for a in parsed.articles] == ["c"]
    assert parsed.skipped_seen == 2 and parsed.fast_path
    assert parsed.counters()["skipped_seen"] == 2

    third = fetch(url, SETTINGS, etag=second.etag)
    assert third.status == "not_modified" and third.body == b""


def test_results_pickle_for_beam():
    result = parse_feed(feeds.RSS20, feed_id="w", feed_url="https://w.example.com/")
    assert pickle.loads(pickle.dumps(result)) == result
    fetched = fetch("/nonexistent/feed.xml", SETTINGS)
    assert pickle.loads(pickle.dumps(fetched)) == fetched
