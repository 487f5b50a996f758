"""fetch() against real loopback servers: politeness, limits, and that it never raises."""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from ipaddress import ip_address

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ingest.loopback import reply
from wirewatch.transforms.config import FetchSettings
from wirewatch.transforms.ingest.addresses import resolve_host
from wirewatch.transforms.ingest.fetch import USER_AGENT, fetch, make_client

FAST = FetchSettings(
    connect_timeout=1, read_timeout=2, deadline=1.5, max_bytes=100_000, max_redirects=3
)
FEED = b"<rss version='2.0'><channel><title>t</title></channel></rss>"


def test_ok_sends_user_agent_and_returns_validators(server):
    url = server.route(
        "/feed",
        reply(
            200,
            FEED,
            {
                "ETag": '"v1"',
                "Last-Modified": "Tue, 14 Feb 2017 10:00:00 GMT",
                "Cache-Control": "public, max-age=600",
            },
        ),
    )
    result = fetch(url, FAST)
    assert (result.status, result.outcome, result.http_status, result.body) == (
        "ok",
        "ok",
        200,
        FEED,
    )
    assert result.etag == '"v1"' and result.last_modified.startswith("Tue, 14 Feb")
    assert result.max_age == 600
    sent = server.requests[0][1]
    assert sent["User-Agent"] == USER_AGENT and "wirewatch" in USER_AGENT
    assert "gzip" in sent["Accept-Encoding"]


def test_conditional_get_304_costs_no_body(server):
    def conditional(req):
        if req.headers.get("If-None-Match") == '"v1"':
            req.send_response(304)
            req.send_header("ETag", '"v1"')
            req.end_headers()
        else:
            reply(200, FEED, {"ETag": '"v1"'})(req)

    url = server.route("/feed", conditional)
    first = fetch(url, FAST)
    second = fetch(url, FAST, etag=first.etag, last_modified="Tue, 14 Feb 2017 10:00:00 GMT")
    assert second.status == "not_modified" and second.body == b"" and second.http_status == 304
    assert second.etag == '"v1"'
    assert server.requests[1][1]["If-Modified-Since"] == "Tue, 14 Feb 2017 10:00:00 GMT"


@pytest.mark.parametrize(
    "status,value,expected",
    [
        (429, "120", 120.0),
        (503, "Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date in the past: retry now
    ],
)
def test_retry_after_is_reported(server, status, value, expected):
    url = server.route("/feed", reply(status, b"slow down", {"Retry-After": value}))
    result = fetch(url, FAST)
    assert (result.status, result.outcome, result.http_status) == ("failed", "http_error", status)
    assert result.retry_after == expected
    assert str(status) in result.error


def test_http_error(server):
    result = fetch(server.url("/missing"), FAST)
    assert (result.status, result.outcome, result.http_status) == ("failed", "http_error", 404)


def _trickle_body(req):
    req.send_response(200)
    req.send_header("Content-Length", "100000")
    req.end_headers()
    for _ in range(200):
        req.wfile.write(b"x")
        req.wfile.flush()
        time.sleep(0.05)


def _trickle_headers(req):
    req.wfile.write(b"HTTP/1.1 200 OK\r\n")
    for _ in range(200):
        req.wfile.write(b"X-Slow: a\r\n")
        req.wfile.flush()
        time.sleep(0.05)


@pytest.mark.parametrize("handler", [_trickle_body, _trickle_headers], ids=["body", "headers"])
def test_trickle_is_cut_off_by_the_deadline(server, handler):
    url = server.route("/slow", handler)
    started = time.monotonic()
    result = fetch(url, FAST)
    took = time.monotonic() - started
    assert result.outcome == "deadline" and result.status == "failed"
    assert result.error.startswith("deadline of 1.5 s exceeded after")
    assert took < FAST.deadline + 1.0


def test_read_timeout(server):
    released = threading.Event()

    def silent(req):
        released.wait(30)  # says nothing until the test is over

    url = server.route("/silent", silent)
    try:
        result = fetch(url, FetchSettings(connect_timeout=1, read_timeout=0.3, deadline=5))
    finally:
        released.set()
    assert result.outcome == "timeout" and "read timeout" in result.error


def test_declared_oversize_is_refused_before_reading(server):
    url = server.route("/big", reply(200, b"x" * 10, {"Content-Length": "999999999"}))
    result = fetch(url, FAST)
    assert result.outcome == "too_large" and "Content-Length" in result.error


def test_oversized_chunked_body_is_cut(server):
    def chunked(req):
        req.send_response(200)
        req.send_header("Transfer-Encoding", "chunked")
        req.end_headers()
        for _ in range(100):
            req.wfile.write(b"4000\r\n" + b"y" * 0x4000 + b"\r\n")
        req.wfile.write(b"0\r\n\r\n")

    result = fetch(server.route("/chunked", chunked), FAST)
    assert result.outcome == "too_large"
    assert result.bytes_read < 4 * FAST.max_bytes


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compressed_bomb_is_stopped_after_decoding(server, encoding):
    inflated = 50_000_000
    payload = b"\0" * inflated
    bomb = gzip.compress(payload, 9) if encoding == "gzip" else zlib.compress(payload, 9)
    assert len(bomb) < 100_000
    url = server.route("/bomb", reply(200, bomb, {"Content-Encoding": encoding}))
    started = time.monotonic()
    result = fetch(url, FAST)
    assert result.outcome == "too_large" and "after decoding" in result.error
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compressed_feed_is_decoded(server, encoding):
    body = gzip.compress(FEED) if encoding == "gzip" else zlib.compress(FEED)
    result = fetch(server.route("/gz", reply(200, body, {"Content-Encoding": encoding})), FAST)
    assert result.status == "ok" and result.body == FEED


def test_corrupt_gzip(server):
    url = server.route("/bad", reply(200, b"\x1f\x8bnot gzip at all", {"Content-Encoding": "gzip"}))
    result = fetch(url, FAST)
    assert result.outcome == "bad_encoding"


def test_redirect_is_followed(server):
    server.route("/feed", reply(200, FEED))
    result = fetch(server.route("/old", reply(301, b"", {"Location": "/feed"})), FAST)
    assert result.status == "ok" and result.redirects == 1
    assert result.final_url == server.url("/feed")


def test_redirect_loop(server):
    server.route("/a", reply(302, b"", {"Location": "/b"}))
    server.route("/b", reply(302, b"", {"Location": "/a"}))
    result = fetch(server.url("/a"), FAST)
    assert result.outcome == "too_many_redirects" and "loop" in result.error


def _loopback_plays_public(host):
    """The tests' feed server is on 127.0.0.1; here "127.0.0.1" is taken for a public host, so
    a redirect from it to another spelling of loopback is the public -> internal crossing."""
    return [ip_address("93.184.216.34")] if host == "127.0.0.1" else resolve_host(host)


@pytest.mark.parametrize("target_host", ["2130706433", "127.1", "[::ffff:127.0.0.1]"])
def test_redirect_from_a_public_host_to_loopback_is_refused(server, target_host):
    port = server.httpd.server_address[1]
    internal = f"http://{target_host}:{port}/internal"
    server.route("/internal", reply(200, b'{"secret": "internal body"}'))
    url = server.route("/feed", reply(302, b"moved", {"Location": internal}))
    result = fetch(url, FAST, resolve=_loopback_plays_public)
    assert (result.status, result.outcome, result.http_status) == (
        "failed",
        "redirect_refused",
        302,
    )
    assert target_host.strip("[]") in result.error and "loopback" in result.error
    assert result.body == b"" and "secret" not in result.error
    assert result.final_url == url and result.redirects == 0
    assert [path for path, _ in server.requests] == ["/feed"]  # never asked for /internal


def test_allow_private_follows_the_same_redirect(server):
    port = server.httpd.server_address[1]
    server.route("/internal", reply(200, FEED))
    url = server.route("/feed", reply(302, b"", {"Location": f"http://127.1:{port}/internal"}))
    result = fetch(url, FAST, resolve=_loopback_plays_public, allow_private=True)
    assert result.status == "ok" and result.body == FEED and result.redirects == 1


def test_redirect_chain_longer_than_max(server):
    for i in range(10):
        server.route(f"/r{i}", reply(302, b"", {"Location": f"/r{i + 1}"}))
    result = fetch(server.url("/r0"), FAST)
    assert result.outcome == "too_many_redirects" and "max_redirects=3" in result.error


@pytest.mark.parametrize(
    "location", ["http://[bad", "javascript:alert(1)", "http://xn--a.com/", "data:text/xml,<rss/>"]
)
def test_garbage_redirects_are_refused(server, location):
    result = fetch(server.route("/r", reply(302, b"", {"Location": location})), FAST)
    assert result.outcome == "bad_url" and result.body == b""


def test_redirect_to_a_local_file_is_refused(server, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    url = server.route("/evil", reply(302, b"", {"Location": f"file://{secret}"}))
    result = fetch(url, FAST)
    assert result.outcome == "bad_url" and result.body == b""


def test_redirect_body_is_never_read(server):
    def huge_redirect(req):
        req.send_response(302)
        req.send_header("Location", "/feed")
        req.send_header("Content-Length", str(10**10))
        req.end_headers()
        req.wfile.write(b"z" * 1_000_000)

    server.route("/feed", reply(200, FEED))
    result = fetch(server.route("/r", huge_redirect), FAST)
    assert result.status == "ok" and result.body == FEED


def test_connection_refused(refused_url):
    result = fetch(refused_url, FAST)
    assert result.outcome == "connect_error" and result.status == "failed"
    assert "connect" in result.error


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/feed",
        "gopher://x",
        "javascript:alert(1)",
        "http://[bad",
        "http://xn--a.com/",
        "http://\u2603.com/",
        "http:///nohost",
        "relative/path.xml",
    ],
)
def test_only_http_and_https(url):
    result = fetch(url, FAST)
    assert result.outcome == "bad_url"


def test_local_file(tmp_path):
    path = tmp_path / "feed.xml"
    path.write_bytes(FEED)
    assert fetch(str(path), FAST).body == FEED
    path.write_bytes(b"x" * (FAST.max_bytes + 1))
    assert fetch(str(path), FAST).outcome == "too_large"
    assert fetch(str(tmp_path), FAST).outcome == "io_error"
    assert fetch(str(tmp_path / "nope.xml"), FAST).outcome == "io_error"


def test_local_fifo_does_not_block(tmp_path):
    import os

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    started = time.monotonic()
    assert fetch(str(fifo), FAST).outcome == "io_error"
    assert time.monotonic() - started < 1


def test_shared_client_is_thread_safe(server):
    server.route("/feed", reply(200, FEED))
    with make_client(FAST) as client, ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(lambda _: fetch(server.url("/feed"), FAST, client=client), range(32))
        )
    assert all(r.status == "ok" and r.body == FEED for r in results)


@settings(
    max_examples=20,
    deadline=5000,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    location=st.text(
        st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"),
        max_size=60,
    )
)
def test_any_location_header_never_raises(server, location):
    """Garbage in a Location path is followed on loopback or refused (never another host)."""
    server.route("/start", reply(302, b"", {"Location": "/r" + location}))
    result = fetch(server.url("/start"), FAST)
    assert result.status in ("ok", "failed")
