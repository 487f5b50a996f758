"""Articles for rule examples, `try-rule` and backtests: from text, JSON lines, feeds, folders.

Why one reader for all three: a rule's examples, a one-off try and a backtest over last week's
output must see articles exactly as the pipeline would, so every input becomes an `Article`
(text: title is the first line, summary the rest) and goes through the same Tagger. No Beam.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from wirewatch.pipelines.tooling.text_input import split_plain
from wirewatch.transforms.model import Article, TaggedArticle, utc_now

JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")
FEED_SUFFIXES = (".xml", ".rss", ".atom", ".rdf")
TEXT_SUFFIXES = (".txt", ".text", ".md")
PATH_SUFFIXES = JSON_SUFFIXES + FEED_SUFFIXES + TEXT_SUFFIXES

Item = Article | TaggedArticle


@dataclass
class Loaded:
    """What a source gave: articles (some already tagged) and problems ("source: reason")."""

    items: list[Item] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def extend(self, other: Loaded) -> None:
        self.items += other.items
        self.problems += other.problems


def article_from_text(text: str, ident: str, feed_id: str = "example") -> Article:
    """First non-empty line is the title, the rest the summary."""
    title, summary = split_plain(text)
    return Article(id=ident, feed_id=feed_id, title=title, summary=summary, published=utc_now())


def item_from_json(obj) -> Item | None:
    """An Article, a TaggedArticle, a Match (its article) or a `wirewatch parse` line; None for
    a parse error line. Raises ValueError for anything else."""
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object per line")
    if obj.get("type") == "error":
        return None
    if obj.get("type") == "article":
        obj = {k: v for k, v in obj.items() if k not in ("type", "input")}
    if "rule_id" in obj and isinstance(obj.get("article"), dict):
        obj = obj["article"]
    try:
        if isinstance(obj.get("article"), dict):
            return TaggedArticle.model_validate(obj)
        return Article.model_validate(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"not an article: {where}: {first['msg']}") from None


def read_source(source: str) -> Loaded:
    """A path (file or folder) or '-' for stdin."""
    if source == "-":
        return read_bytes(sys.stdin.buffer.read(), "stdin")
    path = Path(source)
    if path.is_dir():
        loaded = Loaded()
        for child in sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.parts)
        ):
            loaded.extend(read_file(child))
        if not loaded.items and not loaded.problems:
            loaded.problems.append(f"{source}: the folder holds no files")
        return loaded
    return read_file(path)


def read_file(path: Path) -> Loaded:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return Loaded(problems=[f"{path}: cannot read: {exc.strerror}"])
    return read_bytes(data, str(path), path.suffix.lower())


def read_bytes(data: bytes, source: str, suffix: str = "") -> Loaded:
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if suffix in JSON_SUFFIXES or (not suffix and head in (b"{", b"[")):
        return _read_json(data, source)
    if suffix in FEED_SUFFIXES or (suffix not in TEXT_SUFFIXES and head == b"<"):
        return read_feed(data, source)
    text = data.decode("utf-8", "replace")
    if not text.strip():
        return Loaded(problems=[f"{source}: empty input"])
    return Loaded(items=[article_from_text(text, f"{source}:1")])


def _read_json(data: bytes, source: str) -> Loaded:
    text = data.decode("utf-8", "replace").lstrip("\ufeff")
    loaded = Loaded()
    if text.lstrip().startswith("["):
        try:
            rows = [(i + 1, row) for i, row in enumerate(json.loads(text))]
        except json.JSONDecodeError as exc:
            return Loaded(problems=[f"{source}: invalid JSON: {exc}"])
    else:
        rows = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append((number, json.loads(line)))
                except json.JSONDecodeError as exc:
                    loaded.problems.append(f"{source}:{number}: invalid JSON: {exc.msg}")
    for number, row in rows:
        try:
            item = item_from_json(row)
        except ValueError as exc:
            loaded.problems.append(f"{source}:{number}: {exc}")
            continue
        if item is not None:
            loaded.items.append(item)
    return loaded


def read_feed(data: bytes, source: str) -> Loaded:
    """Every entry of a feed file, parsed exactly as the pipeline parses it."""
    from wirewatch.transforms.ingest.parse import (
        parse_feed,  # feedparser is heavy; only feeds need it
    )

    feed_id = Path(source).stem if source != "stdin" else "stdin"
    url = os.path.abspath(source) if source != "stdin" else "stdin"
    result = parse_feed(data, feed_id=feed_id, feed_url=url)
    problems = [f"{source}: {d.reason}: {d.detail}" for d in result.dead_letters]
    return Loaded(items=list(result.articles), problems=problems)


def make_tagger(config, tagger=None):
    """article -> TaggedArticle with the config's taxonomy and gazetteer (or with `tagger`, a
    Tagger the caller already built). Items that are already TaggedArticles are re-tagged, so
    a backtest sees today's taxonomy. Without the tagging module, articles stay untagged
    (topic:/entity: rules then cannot match)."""
    if tagger is None:
        try:
            from wirewatch.transforms.tagging.tagger import Tagger
        except ImportError:
            tagger = None
        else:
            tagger = Tagger.from_config(config)

    def tag(item: Item) -> TaggedArticle:
        article = item.article if isinstance(item, TaggedArticle) else item
        if tagger is not None:
            return tagger.tag(article)
        return item if isinstance(item, TaggedArticle) else TaggedArticle(article=article)

    return tag
