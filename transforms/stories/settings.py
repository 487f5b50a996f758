"""Clustering settings: one small model, validated once, that travels as plain data.

Defaults were tuned with `bench/stories.py` on the real feed snapshots (see docs/stories.md):
at 0.5, 36 of the 48 real same-story headline edits join one story, both cross-feed
near-duplicates in the snapshots are found, and the only false merge seen at 0.45 (two Economist
pieces on Fed rate cuts, two days apart) is gone. A wrong merge swallows an alert while a missed one
only repeats it, so the default leans to precision.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from wirewatch.transforms.duration import HOUR, MINUTE, duration

# durations (30, 30m, 2h, 1d): a bare number is in the field's unit; bounds: config/checks.py
Hours = duration(HOUR, above=True, most=None, finite=False)
Minutes = duration(MINUTE, above=True, most=None, finite=False)


class StorySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    window_hours: Hours = Field(
        default=48.0,
        description=(
            "articles join a story only if published within this many hours of a member; "
            "index entries older than this are pruned"
        ),
    )
    threshold: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description=(
            "minimum similarity (Jaccard of title+lead word features, or of titles alone, "
            "plus the entity boost) to join a story"
        ),
    )
    entity_boost: float = Field(
        default=0.1,
        ge=0,
        le=0.5,
        description=(
            "added to the text similarity times the Jaccard of the two articles' entity ids: "
            "shared key entities raise confidence, never decide alone"
        ),
    )
    min_title_words: int = Field(
        default=4,
        ge=1,
        description=("titles with fewer content words are not compared on their own (too generic)"),
    )
    lead_words: int = Field(
        default=30,
        ge=0,
        description=(
            "words of the summary used as the lead; longer summaries are cut so that feeds with "
            "long and short descriptions of the same story stay comparable"
        ),
    )
    bands: int = Field(
        default=24,
        ge=1,
        description=(
            "LSH bands per signature (title+lead, and title). With 24 bands x 3 rows a pair at "
            "similarity 0.5 becomes a candidate with probability 0.96, at 0.6 with 0.995, at 0.1 "
            "with 0.024"
        ),
    )
    rows: int = Field(default=3, ge=1, description="MinHash values per band")
    retain_hours: Hours = Field(
        default=168.0,
        description=(
            "story membership (for `wirewatch stories` and idempotent re-assignment) is kept this "
            "long; never less than the window"
        ),
    )
    prune_every_minutes: Minutes = Field(
        default=60.0,
        description=("assign() prunes expired entries at most this often (by the index clock)"),
    )

    @model_validator(mode="after")
    def _retain_covers_window(self) -> StorySettings:
        if self.retain_hours < self.window_hours:
            raise ValueError(
                f"retain_hours ({self.retain_hours}) must be >= window_hours "
                f"({self.window_hours}): members still in the window are needed"
            )
        return self

    @property
    def num_perm(self) -> int:
        return self.bands * self.rows
