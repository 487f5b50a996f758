"""What the story index hands back: an assignment per article, and stories for listing.

Frozen pydantic models like transforms/model.py, so they can travel between Beam stages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

Kind = Literal["new", "copy", "update"]
Basis = Literal["new", "url", "text", "title"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StoryAssignment(_Frozen):
    """The story an article belongs to.

    kind: "new" (first article of the story), "copy" (same story, nothing material changed:
    route it as a thread reply / digest fold) or "update" (same story, but the headline
    materially changed — see material.py: route it visibly, it must not be swallowed).
    similarity: for copies and updates, the score against the matched member (1.0 for a shared
    URL); for a new story, the best score that stayed below the threshold (0.0 if none), which
    is what you look at when tuning the threshold.
    matched_article_id: the member it matched; for a new story, that near-miss (or None).
    Route on `kind`, never on whether this is set.
    """

    story_id: str
    is_new: bool
    kind: Kind
    first_article_id: str
    similarity: float
    basis: Basis = "new"
    matched_article_id: str | None = None


class StoryMember(_Frozen):
    """One article of a story, as stored (enough to list it and to explain the merge)."""

    article_id: str
    story_id: str
    feed_id: str
    title: str
    link: str | None
    published: datetime
    kind: Kind
    basis: Basis
    similarity: float
    matched_article_id: str | None = None


class StorySummary(_Frozen):
    story_id: str
    first_article_id: str
    title: str
    first_published: datetime
    last_published: datetime
    size: int
    updates: int
