"""Fetch one feed politely and safely: conditional GET, hard limits, never raises.

Pure core (no Beam): `fetch()` returns a `FetchResult` for every outcome, including network
failures, so the Beam wrapper only counts and routes. Limits (FetchSettings): connect and read
timeouts, a total deadline enforced by a watchdog that cuts even a one-byte-a-second trickle,
a body cap that holds after gzip/deflate decoding (gzip bombs), a redirect cap with loop
detection, and http/https only (a redirect can never reach a local file). A redirect from a feed
on a public host to an internal address (loopback, private, link-local, ...: addresses.py) is
refused as `redirect_refused` unless the feed sets `allow_private`.
Local feeds (an absolute path, as the config resolves file:// and relative paths) are read
with the same size cap, so samples and tests go through the same code path.
"""

from __future__ import annotations

import os
import stat
import time
import zlib
from importlib import metadata
from typing import Iterable, Literal, get_args
from urllib.parse import urljoin, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict

from wirewatch.transforms.config import FeedConfig, FetchSettings
from wirewatch.transforms.ingest.addresses import Resolver, redirect_refusal, resolve_host
from wirewatch.transforms.ingest.deadline import Deadline, DeadlineExceeded
from wirewatch.transforms.ingest.http_body import (
    BadEncoding,
    BodyTooLarge,
    decoded_chunks,
    read_capped,
)
from wirewatch.transforms.ingest.http_headers import max_age_seconds, retry_after_seconds
from wirewatch.transforms.ingest.sniff import no_feed_at_all
from wirewatch.transforms.ingest.urls import url_problem


def _version() -> str:
    try:
        return metadata.version("wirewatch")
    except metadata.PackageNotFoundError:
        return "0.1"


USER_AGENT = f"wirewatch/{_version()} (news feed monitor; +https://github.com/wirewatch/wirewatch)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, application/feed+json,"
    " application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
_REDIRECTS = {301, 302, 303, 307, 308}
_CHUNK = 64 * 1024

Status = Literal["ok", "not_modified", "failed"]
"""The coarse result of a fetch: what the schedule and the run summary care about."""

Outcome = Literal[
    "ok",
    "not_modified",
    "http_error",
    "deadline",
    "timeout",
    "connect_error",
    "too_large",
    "too_many_redirects",
    "redirect_refused",
    "bad_url",
    "bad_encoding",
    "protocol_error",
    "io_error",
    "not_a_feed",
]
"""The precise result of a fetch, one metric each (`fetch_<outcome>`)."""

STATUSES: tuple[Status, ...] = get_args(Status)
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)


class FetchResult(BaseModel):
    """What one fetch produced. `status` is the coarse result; `outcome` the metric name."""

    model_config = ConfigDict(frozen=True)

    url: str
    status: Status
    outcome: Outcome
    http_status: int | None = None
    body: bytes = b""
    headers: dict[str, str] = {}
    etag: str | None = None
    last_modified: str | None = None
    retry_after: float | None = None
    max_age: float | None = None
    error: str | None = None
    elapsed: float = 0.0
    final_url: str | None = None
    redirects: int = 0
    bytes_read: int = 0


Lane = tuple[str, int]
"""A politeness lane: (host, lane number below the host's `per_host`)."""


def host_of(url: str) -> str:
    """The politeness unit: a host gets at most `per_host` requests at a time (`lanes`)."""
    return urlsplit(url).netloc.lower() or "(local files)"


def lanes(feeds: Iterable[FeedConfig], per_host: int) -> dict[str, Lane]:
    """Each feed's lane, (host, 0 .. per_host - 1): a host's feeds dealt round-robin in id
    order, so they spread over as many lanes as the host's limit allows and no more. A lane
    fetches its feeds one after another, so the limit holds however a runner spreads lanes
    over workers, and one host's feeds no longer all wait on one worker."""
    by_host: dict[str, list[str]] = {}
    for feed in sorted(feeds, key=lambda f: f.id):
        by_host.setdefault(host_of(feed.url), []).append(feed.id)
    return {
        feed_id: (host, i % per_host)
        for host, ids in by_host.items()
        for i, feed_id in enumerate(ids)
    }


def lane_of(feed: FeedConfig, known: dict[str, Lane], per_host: int) -> Lane:
    """The feed's lane in `known` (`lanes` of the config's feeds), else one by a stable hash."""
    return known.get(feed.id) or (host_of(feed.url), zlib.crc32(feed.id.encode()) % per_host)


def make_client(settings: FetchSettings) -> httpx.Client:
    """One client per worker, shared by threads (httpx.Client is thread-safe).

    No keep-alive: polls of one host are minutes apart, and a fresh connection per request is
    what lets the deadline watchdog see (and cut) every socket.
    """
    return httpx.Client(
        headers=_headers(settings),
        timeout=httpx.Timeout(
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            write=settings.read_timeout,
            pool=settings.deadline,
        ),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
    )


def _headers(settings: FetchSettings) -> dict[str, str]:
    """Request headers. An operator contact (FetchSettings.contact, if the config has it) is
    appended to the User-Agent, as publishers ask of polite crawlers."""
    contact = getattr(settings, "contact", None)
    agent = f"{USER_AGENT[:-1]}; {contact})" if contact else USER_AGENT
    return {"User-Agent": agent, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"}


def fetch(
    url: str,
    settings: FetchSettings,
    *,
    client: httpx.Client | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    allow_private: bool = False,
    resolve: Resolver = resolve_host,
    deadline: float | None = None,
) -> FetchResult:
    """Fetch `url` (http/https or an absolute local path). Never raises for I/O problems.

    `allow_private` lets redirects reach internal addresses (FeedConfig.allow_private);
    `resolve` is how hosts become addresses for that check (tests inject one); `deadline`
    shortens `settings.deadline` for this fetch (what is left of the cycle's deadline)."""
    started = time.monotonic()
    if _is_local(url):
        return _read_local(url, settings, started)
    problem = _url_problem(url)
    if problem:
        return _failed(url, "bad_url", problem, started)
    own = client is None
    client = client or make_client(settings)
    try:
        guard = None if allow_private else _RedirectGuard(url, resolve)
        limit = settings.deadline if deadline is None else min(deadline, settings.deadline)
        return _fetch_http(url, settings, limit, client, etag, last_modified, started, guard)
    finally:
        if own:
            client.close()


def fetch_feed(feed: FeedConfig, previous, settings: FetchSettings, client, seconds: float):
    """`feed`'s poll: conditional on the validators its last poll stored (`previous`: its
    FeedState), redirects as the feed allows, within the `seconds` left of the cycle. A body
    that cannot be a feed at all (sniff.no_feed_at_all) is a failed poll, `not_a_feed`."""
    result = fetch(
        feed.url,
        settings,
        client=client,
        etag=previous.etag,
        last_modified=previous.last_modified,
        allow_private=feed.allow_private,
        deadline=seconds,
    )
    why = no_feed_at_all(result.body) if result.status == "ok" else None
    return result if why is None else not_a_feed(result, why)


def not_a_feed(result: FetchResult, why: str) -> FetchResult:
    """`result`, whose body is no feed, as the failed poll it is (`not_a_feed`): the feed backs
    off and `wirewatch state` shows it failing. Its validators are a page's: dropped, so the
    next poll asks in full."""
    return result.model_copy(
        update={
            "status": "failed",
            "outcome": "not_a_feed",
            "error": why,
            "etag": None,
            "last_modified": None,
        }
    )


def _url_problem(url: str) -> str | None:
    """Why the fetch refuses this URL: `check`'s rule (urls.py), then what httpx refuses
    besides (a bad IDNA label, a malformed address: it raises plain ValueError/IDNA errors)."""
    problem = url_problem(url)
    if problem is None:
        try:
            httpx.URL(url).host  # noqa: B018  .host also decodes IDNA, which raises for bad labels
        except (httpx.InvalidURL, ValueError, UnicodeError) as exc:  # IDNA errors: UnicodeError
            problem = f"not a URL: {exc}"
    return problem and f"{problem} ({url!r})"


def _is_local(url: str) -> bool:
    return url.startswith(("/", "file://"))


def _read_local(url: str, settings: FetchSettings, started: float) -> FetchResult:
    path = url.removeprefix("file://")
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return _failed(url, "io_error", f"{path} is not a regular file", started)
            body = handle.read(settings.max_bytes + 1)
    except OSError as exc:
        return _failed(url, "io_error", f"cannot read {path}: {exc.strerror or exc}", started)
    if len(body) > settings.max_bytes:
        return _failed(
            url,
            "too_large",
            f"file larger than max_bytes={settings.max_bytes}",
            started,
            bytes_read=len(body),
        )
    return FetchResult(
        url=url,
        status="ok",
        outcome="ok",
        body=body,
        final_url=url,
        elapsed=time.monotonic() - started,
        bytes_read=len(body),
    )


def _fetch_http(
    url: str,
    settings: FetchSettings,
    limit: float,
    client: httpx.Client,
    etag: str | None,
    last_modified: str | None,
    started: float,
    guard: _RedirectGuard | None,
) -> FetchResult:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    counter = _Counter()
    visited = [url]
    current = url
    with Deadline(limit) as deadline:
        try:
            while True:
                with client.stream(
                    "GET", current, headers=headers, extensions={"trace": deadline.trace}
                ) as response:
                    deadline.check()
                    if response.status_code in _REDIRECTS and "location" in response.headers:
                        target = _join(current, response.headers["location"])
                        problem = _redirect_problem(target, visited, settings.max_redirects, guard)
                        if problem:
                            return _failed(
                                url,
                                *problem,
                                started,
                                http_status=response.status_code,
                                redirects=len(visited) - 1,
                                final_url=current,
                            )
                        visited.append(target)
                        current = target
                        continue
                    return _finish(
                        url,
                        current,
                        response,
                        settings,
                        deadline,
                        counter,
                        started,
                        len(visited) - 1,
                        etag,
                        last_modified,
                    )
        except (DeadlineExceeded, httpx.TransportError) as exc:
            if deadline.expired or isinstance(exc, DeadlineExceeded):
                return _failed(
                    url,
                    "deadline",
                    f"deadline of {limit:g} s exceeded after {counter.bytes} bytes",
                    started,
                    bytes_read=counter.bytes,
                    final_url=current,
                )
            return _failed(
                url,
                *_describe_transport(exc, settings, counter.bytes),
                started,
                bytes_read=counter.bytes,
                final_url=current,
            )
        except (httpx.HTTPError, httpx.InvalidURL, ValueError, UnicodeError) as exc:
            # httpx parses a redirect's Location itself (for response.next_request) and raises
            # InvalidURL / IDNA errors for garbage, even with follow_redirects off.
            return _failed(
                url,
                "bad_url",
                f"redirect refused or invalid URL: {type(exc).__name__}: {exc}",
                started,
                final_url=current,
            )


def _join(current: str, location: str) -> str:
    """The redirect target; an unparsable Location is returned as is for _url_problem to name."""
    try:
        return urljoin(current, location.strip())
    except ValueError:
        return location


def _redirect_problem(
    target: str, visited: list[str], limit: int, guard: _RedirectGuard | None
) -> tuple[Outcome, str] | None:
    problem = _url_problem(target)
    if problem:
        return "bad_url", f"redirect refused: {problem}"
    if target in visited:
        return "too_many_redirects", f"redirect loop: {' -> '.join(visited + [target])}"
    if len(visited) > limit:
        return "too_many_redirects", f"more than max_redirects={limit} redirects"
    refusal = guard.refusal(target) if guard else None
    if refusal:
        return "redirect_refused", refusal
    return None


class _RedirectGuard:
    """The redirect policy for one fetch: the feed's own host is resolved once, at the first
    redirect (most fetches never redirect, so they never pay for a lookup)."""

    def __init__(self, url: str, resolve: Resolver):
        self.source_host = httpx.URL(url).host
        self.resolve = resolve
        self._source = None

    def refusal(self, target: str) -> str | None:
        if self._source is None:
            self._source = self.resolve(self.source_host)
        host = httpx.URL(target).host
        return redirect_refusal(self._source, host, self.resolve(host))


class _Counter:
    """Counts raw bytes as they arrive, for error messages ("... after 12 bytes")."""

    def __init__(self):
        self.bytes = 0

    def wrap(self, chunks, deadline: Deadline):
        for chunk in chunks:
            self.bytes += len(chunk)
            deadline.check()
            yield chunk


def _finish(
    url: str,
    final_url: str,
    response: httpx.Response,
    settings: FetchSettings,
    deadline: Deadline,
    counter: _Counter,
    started: float,
    redirects: int,
    etag: str | None,
    last_modified: str | None,
) -> FetchResult:
    headers = {k.lower(): v for k, v in response.headers.items()}
    common = {
        "url": url,
        "http_status": response.status_code,
        "headers": headers,
        "etag": headers.get("etag") or etag,
        "last_modified": headers.get("last-modified") or last_modified,
        "retry_after": retry_after_seconds(headers.get("retry-after")),
        "max_age": max_age_seconds(headers.get("cache-control")),
        "final_url": final_url,
        "redirects": redirects,
    }
    if response.status_code == 304:
        return FetchResult(
            status="not_modified",
            outcome="not_modified",
            elapsed=time.monotonic() - started,
            **common,
        )
    if not 200 <= response.status_code < 300:
        reason = response.reason_phrase or ""
        return FetchResult(
            status="failed",
            outcome="http_error",
            error=f"HTTP {response.status_code} {reason}".strip(),
            elapsed=time.monotonic() - started,
            **common,
        )
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.max_bytes:
        return FetchResult(
            status="failed",
            outcome="too_large",
            error=f"Content-Length {declared} exceeds max_bytes={settings.max_bytes}",
            elapsed=time.monotonic() - started,
            **common,
        )
    try:
        raw = counter.wrap(response.iter_raw(_CHUNK), deadline)
        body = read_capped(
            decoded_chunks(raw, headers.get("content-encoding"), settings.max_bytes),
            settings.max_bytes,
        )
    except BodyTooLarge:
        return FetchResult(
            status="failed",
            outcome="too_large",
            error=f"body larger than max_bytes={settings.max_bytes} (after "
            f"decoding; stopped after {counter.bytes} bytes received)",
            elapsed=time.monotonic() - started,
            bytes_read=counter.bytes,
            **common,
        )
    except BadEncoding as exc:
        return FetchResult(
            status="failed",
            outcome="bad_encoding",
            error=str(exc),
            elapsed=time.monotonic() - started,
            bytes_read=counter.bytes,
            **common,
        )
    return FetchResult(
        status="ok",
        outcome="ok",
        body=body,
        elapsed=time.monotonic() - started,
        bytes_read=counter.bytes,
        **common,
    )


def _describe_transport(
    exc: httpx.TransportError, settings: FetchSettings, received: int
) -> tuple[Outcome, str]:
    if isinstance(exc, httpx.ConnectTimeout):
        return "timeout", f"connect timeout ({settings.connect_timeout:g} s)"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout", (
            f"read timeout: no data for {settings.read_timeout:g} s (after {received} bytes)"
        )
    if isinstance(exc, httpx.ConnectError):
        return "connect_error", f"cannot connect: {exc or type(exc).__name__}"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return "bad_url", f"unsupported URL: {exc}"
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.LocalProtocolError)):
        return "protocol_error", f"HTTP protocol error after {received} bytes: {exc}"
    return "connect_error", f"network error after {received} bytes: {type(exc).__name__}: {exc}"


def _failed(url: str, outcome: Outcome, error: str, started: float, **extra) -> FetchResult:
    return FetchResult(
        url=url,
        status="failed",
        outcome=outcome,
        error=error,
        elapsed=time.monotonic() - started,
        **extra,
    )
