"""`wirewatch parse FILE_OR_URL...`: fetch and parse feeds, print one JSON line per result.

Each article is a line `{"type": "article", "input": ..., ...Article}`; each problem (fetch
failure, dead-lettered feed or entry) a line `{"type": "error", "input": ..., "stage": ...,
"reason": ..., "detail": ..., "raw": ...}`. Exit 0 when everything parsed, 1 when anything
was dead-lettered, 2 for a bad config. No Beam import: this is the fast path for debugging a
feed ("why does this feed give nothing?").
"""

from __future__ import annotations

import json
import os
import re
import sys
from urllib.parse import urlsplit

from wirewatch.transforms.config import FetchSettings, load_config
from wirewatch.transforms.ingest.fetch import fetch, make_client
from wirewatch.transforms.ingest.parse import parse_feed
from wirewatch.transforms.model import DeadLetter

NAME = "parse"
HELP = (
    "fetch and parse feeds (files, URLs or - for stdin); print one JSON line per article "
    "and per error; exit 1 when something was dead-lettered"
)


def add_arguments(parser) -> None:
    inputs = "a feed file, an http(s) URL, or - to read stdin"
    parser.add_argument("inputs", nargs="+", metavar="FILE_OR_URL", help=inputs)
    parser.add_argument(
        "--feed-id",
        default=None,
        help="feed id for the article ids (default: the configured feed with "
        "this URL, else derived from the file name or host)",
    )


def run(args) -> int:
    settings, feeds = _settings(args.config)
    failed = False
    with make_client(settings) as client:
        for source in args.inputs:
            try:
                lines = list(_lines(source, settings, client, feeds, args.feed_id))
            except Exception as exc:  # noqa: BLE001 - never a traceback for one bad input
                lines = [
                    _error(
                        source,
                        DeadLetter.of(
                            "cli", source, "internal_error", f"{type(exc).__name__}: {exc}"
                        ),
                    )
                ]
            failed |= any(line["type"] == "error" for line in lines)
            _write(lines)
    return 1 if failed else 0


def _settings(config_path: str) -> tuple[FetchSettings, dict[str, str]]:
    """The config's fetch limits and feed ids (the built-in sample config when none is found)."""
    config = load_config(config_path, require_secrets=False)
    return config.fetch, {feed.url: feed.id for feed in config.feeds}


def _lines(source: str, settings, client, feeds: dict[str, str], feed_id: str | None):
    if source == "-":
        body, url, headers = sys.stdin.buffer.read(settings.max_bytes + 1), "stdin", {}
        if len(body) > settings.max_bytes:
            yield _error(
                source,
                DeadLetter.of(
                    "fetch",
                    source,
                    "too_large",
                    f"stdin larger than max_bytes={settings.max_bytes}",
                ),
            )
            return
    else:
        url = source if _is_url(source) else os.path.abspath(source)
        fetched = fetch(url, settings, client=client)
        if fetched.status != "ok":
            yield _error(
                source,
                DeadLetter.of("fetch", source, fetched.outcome, fetched.error or fetched.status),
            )
            return
        body, headers = fetched.body, fetched.headers
        url = fetched.final_url or url
    ident = feed_id or feeds.get(url) or feeds.get(source) or _derive_id(source)
    result = parse_feed(body, feed_id=ident, feed_url=url, headers=headers)
    for article in result.articles:
        yield {"type": "article", "input": source, **article.model_dump(mode="json")}
    for dead in result.dead_letters:
        yield _error(source, dead)


def _is_url(source: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", source)) and not source.startswith(
        "file://"
    )


def _derive_id(source: str) -> str:
    name = (
        urlsplit(source).netloc
        if _is_url(source)
        else os.path.splitext(os.path.basename(source))[0]
    )
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "feed"


def _error(source: str, dead: DeadLetter) -> dict:
    return {
        "type": "error",
        "input": source,
        "stage": dead.stage,
        "reason": dead.reason,
        "detail": dead.detail,
        "raw": dead.raw,
    }


def _write(lines: list[dict]) -> None:
    """Flushed per input: a reader sees each feed's lines as soon as it is parsed (a closed
    pipe, `wirewatch parse ... | head`, ends the command in the CLI: exit 0)."""
    for line in lines:
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    sys.stdout.flush()
