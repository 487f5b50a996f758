"""A generated feed history for backtest tests: RSS snapshots that share items, as an archiver
saves them (ARCHIVE/<feed id>/NNNNN_<unixtime>.xml)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Item:
    guid: str
    title: str
    published: datetime
    summary: str = "Details follow."
    link: str = ""

    @property
    def url(self) -> str:
        return self.link or f"https://news.example.org/{self.guid}"


def rss(items: list[Item], title: str = "Wire") -> bytes:
    entries = "".join(
        f"<item><title>{escape(i.title)}</title><link>{escape(i.url)}</link>"
        f"<guid>{escape(i.guid)}</guid><pubDate>{format_datetime(i.published)}</pubDate>"
        f"<description>{escape(i.summary)}</description></item>"
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://news.example.org/</link>{entries}"
        "</channel></rss>"
    ).encode()


def write_archive(folder: Path, feed_id: str, polls: list[tuple[int, list[Item]]]) -> list[Path]:
    """One file per poll (unix time, items listed), named as the archiver names them."""
    (folder / feed_id).mkdir(parents=True, exist_ok=True)
    paths = []
    for number, (stamp, items) in enumerate(polls, 1):
        path = folder / feed_id / f"{number:05d}_{stamp}.xml"
        path.write_bytes(rss(items))
        paths.append(path)
    return paths
