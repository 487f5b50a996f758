"""`wirewatch stories`: recent stories and their members, to check what the clustering merged.

Reads the state store only (never Beam). Each member shows how it joined: `new` (founded the
story; with the score of its nearest rejected candidate), `copy` or `update`, by `url`, `text`
(title+lead) or `title`, with the similarity — the numbers to look at when tuning the threshold.
"""

from __future__ import annotations

import json

from wirewatch.pipelines.arguments import at_least
from wirewatch.pipelines.state import (
    add_state_arguments,
    must_exist,
    open_readable,
    resolve_state,
)
from wirewatch.transforms.config import load_config
from wirewatch.transforms.stories import StoryIndex, StoryMember, StorySettings, StorySummary

NAME = "stories"
HELP = "list recent stories (clusters of near-duplicate articles) with their members"


def add_arguments(parser) -> None:
    add_state_arguments(parser)
    limit = "newest N stories by latest member (default: 20)"
    parser.add_argument("--limit", type=at_least(1), default=20, metavar="N", help=limit)
    parser.add_argument(
        "--merged", action="store_true", help="only stories with more than one member"
    )
    parser.add_argument("--story", metavar="STORY_ID", help="show only this story")


def run(args) -> int:
    config = load_config(args.config, require_secrets=False)
    settings = getattr(config, "stories", None) or StorySettings()
    location = resolve_state(config, args.state, args.state_dir)
    must_exist(location, "stories")
    store = open_readable(location)
    try:
        index = StoryIndex(store, settings)
        if args.story:
            stories = [s for s in [index.story(args.story)] if s is not None]
        else:
            stories = index.recent(limit=args.limit, min_size=2 if args.merged else 1)
        listing = [(story, index.members(story.story_id)) for story in stories]
    finally:
        store.close()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        **s.model_dump(mode="json"),
                        "members": [m.model_dump(mode="json") for m in members],
                    }
                    for s, members in listing
                ]
            )
        )
    else:
        for story, members in listing:
            print(_story_line(story))
            for member in members:
                print(_member_line(member))
        if not listing:
            print("no stories" + (f" with id {args.story}" if args.story else ""))
    return 2 if args.story and not listing else 0


def _story_line(s: StorySummary) -> str:
    updates = f", {s.updates} update{'s' * (s.updates != 1)}" if s.updates else ""
    return (
        f"{s.story_id}  {s.size} article{'s' * (s.size != 1)}{updates}  "
        f"{s.first_published:%Y-%m-%d %H:%M}..{s.last_published:%m-%d %H:%M}  {s.title}"
    )


def _member_line(m: StoryMember) -> str:
    how = (
        f"{m.basis} {m.similarity:.2f}"
        if m.kind != "new"
        else (f"near {m.similarity:.2f}" if m.matched_article_id else "")
    )
    return f"    {m.kind:<6} {m.feed_id:<14} {m.published:%m-%d %H:%M}  {how:<10}  {m.title}"
