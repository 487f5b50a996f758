"""Parse fetched feed bytes into `Article`s and dead letters. Pure core, never raises.

RSS 0.9x/1.0/2.0, Atom 0.3/1.0 and RDF go through feedparser (always on bytes, after
`sanitize` removed the DOCTYPE internal subset); JSON Feed through `ingest.jsonfeed`.
With `seen_of` (a batch lookup in the state store), a cheap pre-scan computes each entry's id
(`ingest.prescan`: lxml tree for well-formed UTF-8 XML; `ingest.prescan_bytes`: entry byte spans
for everything else), asks the store about all of them in one call, and only the new entries
are handed to feedparser, wrapped in the feed's own envelope, so a poll where most entries were
seen before costs a fraction of a full parse and one store query. Articles are always built from
feedparser's output, whichever path ran, so the result for a new entry is the same.

Outcomes: a body that is not a feed gives one dead letter (reason, first bytes); an entry that
cannot be normalized gives its own dead letter while the rest go through; a feed recovered
from malformed XML gives its articles plus a warning (a dead letter when its tail was lost).
"""

from __future__ import annotations

import io
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import feedparser
from pydantic import BaseModel, ValidationError

from wirewatch.transforms.ingest import (
    channel,
    jsonfeed,
    prescan,
    recovery,
    response,
    tree_entry,
)
from wirewatch.transforms.ingest.dedupe import content_hash
from wirewatch.transforms.ingest.entry import EntryError, FeedContext, key_of, to_article
from wirewatch.transforms.ingest.ids import article_id
from wirewatch.transforms.ingest.prescan_bytes import select_new_lenient
from wirewatch.transforms.ingest.sanitize import sanitize, to_utf8_if_wide
from wirewatch.transforms.ingest.seen_lookup import SeenLookup, SeenOf
from wirewatch.transforms.ingest.sniff import (
    looks_binary,
    looks_empty,
    looks_json,
    not_a_feed_reason,
)
from wirewatch.transforms.ingest.text import plain_text
from wirewatch.transforms.model import Article, DeadLetter, utc_now

STAGE = "parse"
RAW_BYTES = 200
_ANY_ENTRY = re.compile(rb"<(?:[\w.-]+:)?(?:item|entry)\b", re.IGNORECASE)
"""Anything feedparser might still read as an entry; only without it may parsing be skipped."""


class ParseResult(BaseModel):
    """Everything one body produced. `entries` counts entries in the feed (seen ones too)."""

    articles: list[Article] = []
    dead_letters: list[DeadLetter] = []
    ttl: int | None = None
    skipped_seen: int = 0
    entries: int = 0
    duplicates: int = 0
    warnings: list[str] = []
    version: str = ""
    title: str = ""
    fast_path: bool = False
    held_back: int = 0
    """Entries left out only because `keep_at_most` were kept: then this is not the body's
    whole result, only enough of it to tell whether something is new."""
    unreadable: bool = False
    """No feed could be read from the body at all (its one dead letter says why): an empty,
    binary or HTML body, XML with another root, JSON that is not a JSON Feed, a parser bug.
    The poll then failed, as one whose fetch got no feed fails (ingest/beam.py)."""

    def counters(self) -> dict[str, int]:
        """Named counts for metrics and the run summary (dead letters by reason)."""
        counts = {
            "entries": self.entries,
            "articles": len(self.articles),
            "skipped_seen": self.skipped_seen,
            "duplicates": self.duplicates,
            "fast_path": int(self.fast_path),
            "warnings": len(self.warnings),
        }
        for dead in self.dead_letters:
            key = f"dead_letter.{dead.reason}"
            counts[key] = counts.get(key, 0) + 1
        return counts


def parse_feed(
    body: bytes,
    *,
    feed_id: str,
    feed_url: str,
    headers: dict[str, str] | None = None,
    fetched_at: datetime | None = None,
    seen_of: SeenOf | None = None,
    from_tree: bool = True,
    keep_at_most: int | None = None,
) -> ParseResult:
    """Parse one feed body. `seen_of(article_ids)` (the subset the store has seen) lets
    already-stored entries skip parsing; it is called once per body in the common case.
    `from_tree=False` has feedparser read every entry instead of building RSS entries from the
    pre-scan's tree: the reference the tree path is proven equal to. `keep_at_most` (with
    `seen_of`): build only the first that many entries the pre-scan keeps, and count the rest
    as `held_back` (run --once's look: is anything new, not what)."""
    if keep_at_most is not None and keep_at_most < 1:
        raise ValueError(f"keep_at_most={keep_at_most}: expected at least 1")
    lookup = SeenLookup(_StoreQuery(seen_of)) if seen_of is not None else None
    job = _Job.of(
        feed_id,
        feed_url,
        headers,
        fetched_at,
        lookup,
        from_tree=from_tree,
        keep_at_most=keep_at_most,
    )
    return _run(body, job)


def parse_feed_by_feedparser(body: bytes, **where) -> ParseResult:
    """`parse_feed` with feedparser reading every entry (no pre-scan, no tree), as
    bench/parse_equivalence.py and tests/ingest/test_tree_entry.py compare against."""
    return parse_feed(body, **where, from_tree=False)


def _run(body: bytes, job: _Job) -> ParseResult:
    try:
        return _parse(body, job)
    except _StoreFailed as failed:  # infrastructure, not data: let the runner retry
        raise failed.__cause__ from None
    except Exception as exc:  # noqa: BLE001 - last line of defence: a bug must not lose the feed
        return _unreadable(job.source, "parser_error", f"{type(exc).__name__}: {exc}", body)


class _StoreFailed(Exception):
    """`seen_of` raised: the state store failed, which must not become a dead letter."""


class _StoreQuery:
    """Wraps `seen_of` so its failures are told apart from parsing problems."""

    def __init__(self, seen_of: SeenOf):
        self.seen_of = seen_of

    def __call__(self, article_ids: list[str]) -> Collection[str]:
        try:
            found = self.seen_of(article_ids)
        except Exception as exc:
            raise _StoreFailed() from exc
        return found if isinstance(found, Mapping) else set(found)


@dataclass(frozen=True)
class _Job:
    """What parsing one body needs besides the bytes (headers with lower-case names)."""

    feed_id: str
    feed_url: str
    headers: dict[str, str]
    fetched_at: datetime
    lookup: SeenLookup | None
    source: str
    from_tree: bool  # new RSS entries may be built from the lxml tree (tree_entry)
    keep_at_most: int | None  # prescan.KnownEntries

    @classmethod
    def of(
        cls,
        feed_id,
        feed_url,
        headers,
        fetched_at,
        lookup,
        *,
        from_tree: bool,
        keep_at_most: int | None = None,
    ) -> _Job:
        return cls(
            feed_id=feed_id,
            feed_url=feed_url,
            headers={k.lower(): v for k, v in (headers or {}).items()},
            fetched_at=fetched_at or utc_now(),
            lookup=lookup,
            source=feed_id or feed_url,
            from_tree=from_tree,
            keep_at_most=keep_at_most,
        )


def _parse(body: bytes, job: _Job) -> ParseResult:
    body = to_utf8_if_wide(body)
    if looks_empty(body) or looks_binary(body):
        return _unreadable(job.source, *not_a_feed_reason(body), body)
    if looks_json(body):
        return _parse_json(body, job)
    return _parse_xml(body, job)


def _parse_xml(body: bytes, job: _Job) -> ParseResult:
    """RSS, Atom and RDF: sanitize, pre-scan (with the lookup), feedparser, normalize."""
    data = sanitize(body)
    base = response.base_url(job.feed_url, job.headers)
    scan = _prescan(data, base, job) if job.lookup else None
    if scan is not None and scan.kept == 0 and not _ANY_ENTRY.search(scan.envelope):
        return _add_cut(ParseResult(ttl=scan.ttl, version=scan.version, fast_path=True), scan)
    tree = scan if scan is not None else _whole_tree(data, job)
    built = _from_tree(tree, base, job) if tree is not None and tree.kept_entries else None
    if built is not None:
        return built
    parsed = feedparser.parse(
        io.BytesIO(scan.envelope if scan else data),
        response_headers=response.feedparser_headers(
            job.headers, base, utf8=bool(scan and scan.reencoded)
        ),
    )
    result = ParseResult(
        version=parsed.get("version") or "",
        fast_path=scan is not None,
        title=_feed_title(parsed.feed.get("title")),
        ttl=_ttl(parsed.feed.get("ttl")),
    )
    entries = list(parsed.entries)
    if not result.version and not entries:
        reason, detail = not_a_feed_reason(data)
        if parsed.get("bozo") and reason == "not_a_feed" and recovery.looks_like_feed_root(data):
            reason, detail = "malformed_xml", recovery.describe(parsed)
        result.dead_letters.append(_dead(job.source, reason, detail, body))
        result.unreadable = True
        return result
    if parsed.get("bozo"):
        kept = recovery.salvage(parsed, scan.envelope if scan else data)
        entries = kept.entries
        if kept.warning:
            result.warnings.append(kept.warning)
        if kept.truncated:
            result.dead_letters.append(
                _dead(job.source, "truncated", kept.truncated, body[-RAW_BYTES:])
            )
    ctx = FeedContext(
        feed_id=job.feed_id,
        fetched_at=job.fetched_at,
        base=base,
        home=parsed.feed.get("link"),
        language=response.language(
            parsed.feed.get("language") or job.headers.get("content-language")
        ),
    )
    positions = tree.kept_positions if tree is not None else ()  # if feedparser read as many
    _emit(entries, ctx, job.lookup, result, job.source, positions)
    return _add_cut(result, scan) if scan is not None else result


def _whole_tree(data: bytes, job: _Job) -> prescan.Scan | None:
    """Without a store every entry is new: the tree of the whole document, when it has one."""
    if not job.from_tree:
        return None
    return prescan.read_all(data, charset=response.charset(job.headers))


def _from_tree(scan: prescan.Scan, base: str | None, job: _Job) -> ParseResult | None:
    """The new entries built from the pre-scan's tree (`tree_entry`), the channel read by
    feedparser once per channel (`channel`); None when feedparser must read the entries."""
    if not job.from_tree:
        return None
    doc = tree_entry.Document(scan.data, base=base or "", lang=job.headers.get("content-language"))
    entries = tree_entry.build_entries(list(scan.kept_entries), doc)
    if entries is None:
        return None
    headers = response.feedparser_headers(job.headers, base, utf8=True)
    feed = channel.read_channel(scan.root, list(scan.kept_entries), headers)
    if feed.trouble or feed.entries or not feed.version.startswith("rss"):
        return None
    result = ParseResult(
        version=feed.version,
        fast_path=job.lookup is not None,
        title=_feed_title(feed.title),
        ttl=_ttl(feed.ttl),
    )
    ctx = FeedContext(
        feed_id=job.feed_id,
        fetched_at=job.fetched_at,
        base=base,
        home=feed.link,
        language=response.language(feed.language or job.headers.get("content-language")),
    )
    _emit(entries, ctx, job.lookup, result, job.source, scan.kept_positions)
    return _add_cut(result, scan)


def _add_cut(result: ParseResult, scan) -> ParseResult:
    """Count the entries the pre-scan cut (seen before, or repeated, or held back) into the
    result."""
    result.entries += scan.skipped + scan.duplicates
    result.skipped_seen += scan.skipped
    result.duplicates += scan.duplicates
    result.held_back += scan.held_back
    return result


def _prescan(data: bytes, base: str | None, job: _Job) -> prescan.Scan | None:
    """The tree pre-scan for well-formed UTF-8 XML, the byte-span one for everything else."""
    where = {"feed_id": job.feed_id, "base": base, "lookup": job.lookup}
    try:
        return prescan.select_new(
            data, **where, charset=response.charset(job.headers), keep_at_most=job.keep_at_most
        )
    except prescan.UseByteScan:
        return select_new_lenient(data, **where, keep_at_most=job.keep_at_most)


def _parse_json(body: bytes, job: _Job) -> ParseResult:
    try:
        doc = jsonfeed.load(body)
    except jsonfeed.NotJsonFeed as exc:
        return _unreadable(job.source, exc.reason, exc.detail, body)
    info = jsonfeed.feed_info(doc)
    result = ParseResult(version="json1", title=info["title"])
    ctx = FeedContext(
        feed_id=job.feed_id,
        fetched_at=job.fetched_at,
        base=response.base_url(job.feed_url, job.headers),
        home=info["link"] or None,
        language=response.language(info["language"] or job.headers.get("content-language")),
    )
    _emit(jsonfeed.entries(doc, job.feed_url), ctx, job.lookup, result, job.source)
    return result


_ENTRY_ERRORS = (ValidationError, ValueError, TypeError, AttributeError)
"""What a malformed entry raises while being normalized: a dead letter for that entry only.
Anything else is a bug and becomes the whole body's `parser_error` (see parse_feed)."""


def _emit(
    entries: list,
    ctx: FeedContext,
    lookup: SeenLookup | None,
    result: ParseResult,
    source: str,
    positions: Sequence[int] = (),
) -> None:
    """Normalize each entry; duplicates inside the feed keep the first occurrence.

    Every entry's id is computed first, so the store is asked about all of them at once (and
    only about the ids the pre-scan did not ask about already). `positions`: where each entry
    is in the document, when the pre-scan's tree knows (a dead letter names it); else each
    entry's place among `entries`.
    """
    if len(positions) != len(entries):
        positions = range(len(entries))
    keyed = [(entry, _identify(at, entry, ctx, source)) for at, entry in zip(positions, entries)]
    if lookup is not None:
        lookup.ask(ident for _, ident in keyed if isinstance(ident, str))
    ids: set[str] = set()
    for index, (entry, ident) in zip(positions, keyed):
        result.entries += 1
        if isinstance(ident, DeadLetter):
            result.dead_letters.append(ident)
            continue
        if ident in ids:
            result.duplicates += 1
            continue
        ids.add(ident)
        if lookup is not None and lookup.unchanged(ident, lambda: None):
            result.skipped_seen += 1  # seen, no hash to compare (a plain set answered)
            continue
        try:
            article = to_article(entry, ctx)
        except (EntryError, *_ENTRY_ERRORS) as exc:
            result.dead_letters.append(_entry_dead(index, entry, exc, source))
            continue
        if lookup is not None and lookup.unchanged(ident, partial(content_hash, article)):
            result.skipped_seen += 1  # seen with this very content: nothing for DropSeen
            continue
        result.articles.append(article)


def _identify(index: int, entry, ctx: FeedContext, source: str) -> str | DeadLetter:
    """The entry's article id, or the dead letter saying why it cannot have one."""
    if not hasattr(entry, "get"):
        return _dead(source, "entry_invalid", f"entry {index} is not an object", repr(entry))
    try:
        return article_id(ctx.feed_id, key_of(entry, ctx))
    except (EntryError, *_ENTRY_ERRORS) as exc:
        return _entry_dead(index, entry, exc, source)


def _entry_dead(index: int, entry, exc: Exception, source: str) -> DeadLetter:
    if isinstance(exc, EntryError):
        return _dead(source, exc.reason, f"entry {index}: {exc.detail}", _entry_raw(entry))
    return _dead(
        source,
        "entry_invalid",
        f"entry {index}: {type(exc).__name__}: {exc}"[:500],
        _entry_raw(entry),
    )


def _ttl(value) -> int | None:
    try:
        minutes = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return minutes if 0 < minutes <= 7 * 24 * 60 else None


def _feed_title(title: str | None) -> str:
    return plain_text(title, is_html=False, limit=300)


def _entry_raw(entry) -> str:
    if not hasattr(entry, "get"):
        return repr(entry)[:RAW_BYTES]
    return repr({k: entry.get(k) for k in ("id", "title", "link") if entry.get(k)})[:RAW_BYTES]


def _unreadable(source: str, reason: str, detail: str, raw: bytes) -> ParseResult:
    return ParseResult(dead_letters=[_dead(source, reason, detail, raw)], unreadable=True)


def _dead(source: str, reason: str, detail: str, raw: bytes | str) -> DeadLetter:
    return DeadLetter.of(STAGE, source, reason, detail, raw, raw_limit=RAW_BYTES)
