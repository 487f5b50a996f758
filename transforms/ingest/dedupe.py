"""Which parsed articles are new: the keys that mark an article seen, the content hash kept with
them (an edited entry is re-evaluated), the first-poll backfill window, and one article per
dedupe key within a run. Pure (no Beam, no store): the wrappers in beam.py ask the state store
and count; the choices live here so tests hit them directly.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from wirewatch.transforms.ingest.links import canonical_link
from wirewatch.transforms.ingest.text import plain_text
from wirewatch.transforms.model import Article

if TYPE_CHECKING:  # the store's record type; only its attributes are read here
    from wirewatch.transforms.state.interface import FeedState


def seen_keys(article: Article) -> list[str]:
    """Keys recorded as seen: the article id, and its canonical link across feeds.

    The link key is what stops the same story, listed by two feeds (two ids), from being
    processed again by the second feed in a later cycle.
    """
    return [article.id] + ([f"link:{article.link}"] if article.link else [])


def already_seen(article: Article, seen: Collection[str]) -> bool:
    """Any of the article's `seen_keys` is in `seen` (one batch answer from the store)."""
    return any(key in seen for key in seen_keys(article))


_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_SPACE = re.compile(r"\s+")


def normalised_text(text: str) -> str:
    """What an edit is judged on: markup and entities gone, every URL without its tracking
    parameters, Unicode compatibility forms folded (a no-break space is a space), whitespace
    collapsed. Words, numbers, punctuation and case are kept: changing any of them is an edit."""
    text = plain_text(text)  # idempotent on an Article's text; a title typed as text may hold tags
    text = _URL.sub(lambda m: canonical_link(m.group(0)) or m.group(0), text)
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def content_hash(article: Article) -> str:
    """The hash kept with an article's seen keys: its normalised title and summary. A seen entry
    whose hash changed was edited by its feed and is evaluated again."""
    return text_hash(article.title, article.summary)


def text_hash(title: str, summary: str) -> str:
    """`content_hash` from the two texts, raw or plain (markup is normalised away): what a
    pre-scan could compare with the stored hash from an entry's raw XML text, so that an entry
    seen unchanged need not be parsed (a differing hash only costs a parse; DropSeen decides)."""
    text = f"{normalised_text(title)}\x00{normalised_text(summary)}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


Verdict = Literal["new", "seen", "edited", "adopt"]


def seen_verdict(article: Article, stored: Mapping[str, str | None]) -> Verdict:
    """What DropSeen does with an article, from the store's answer `stored` (seen key -> its
    content hash, None when the row predates hashes).

    new: none of its keys seen. seen: its id seen with the same content, or only its link seen
    (another feed's copy: that is not an edit of this entry). edited: its id seen with another
    content hash. adopt: its id seen without a hash: the hash is recorded, nothing alerted
    (an upgraded store would otherwise treat every listed entry as edited once).
    """
    if article.id not in stored:
        return "seen" if already_seen(article, stored) else "new"
    known = stored[article.id]
    if known is None:
        return "adopt"
    return "seen" if known == content_hash(article) else "edited"


def seen_hashes(article: Article) -> dict[str, str]:
    """What committing an article records: each of its seen keys with its content hash."""
    digest = content_hash(article)
    return {key: digest for key in seen_keys(article)}


def keep_first(articles: Iterable[Article]) -> tuple[Article, int]:
    """One article per dedupe key: the earliest published, then the smallest id, wins.

    Deterministic whatever order the runner delivers the copies in, so a re-run of the same
    cycle alerts on the same copy. Returns the winner and how many copies were dropped.
    """
    ordered = sorted(articles, key=lambda a: (a.published, a.id))
    return ordered[0], len(ordered) - 1


def is_first_poll(previous: FeedState) -> bool:
    """A feed never fetched before (no recorded status): its whole backlog looks new."""
    return previous.last_status is None


def backfill_cutoff(
    backfill_hours: float | None, *, first_poll: bool, now: datetime
) -> datetime | None:
    """Articles published before this time are marked seen without being alerted.

    Why: on a feed's first poll every entry it lists is new to us, including a backlog of days
    or weeks; alerting on all of it would flood the channel with old news the moment a feed is
    added. So the first poll alerts only what was published within `backfill_hours`, and the
    older entries are recorded as seen (so later polls do not bring them back either).
    None means no cutoff: a later poll, or `backfill_hours: null` (alert the whole backlog).
    """
    if not first_poll or backfill_hours is None:
        return None
    return now - timedelta(hours=backfill_hours)


def is_backfill(article: Article, cutoff: datetime | None) -> bool:
    """Older than the first-poll cutoff (see backfill_cutoff)."""
    return cutoff is not None and article.published < cutoff
