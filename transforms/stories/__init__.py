"""Cross-feed story clustering: one story per news event, whatever feeds and edits it went
through. Pure core (no Beam): fingerprint.py (features, MinHash, similarity), lsh.py (buckets),
urlkey.py (same page), material.py (copy or update), index.py (StoryIndex on the state store).
"""

from wirewatch.transforms.stories.index import StoryIndex
from wirewatch.transforms.stories.model import StoryAssignment, StoryMember, StorySummary
from wirewatch.transforms.stories.settings import StorySettings

__all__ = ["StoryAssignment", "StoryIndex", "StoryMember", "StorySettings", "StorySummary"]
