"""Build one cycle's pipeline: feeds due → fetch → parse → drop seen → tag → stories → match →
route → deliver → commit. Builds, never runs: the caller (run --once, the watch driver, a test) runs it.
"""

from __future__ import annotations

import apache_beam as beam

from wirewatch.transforms.config import Config, FeedConfig
from wirewatch.transforms.ingest.beam import DropSeen, FetchFeeds, ParseFeeds
from wirewatch.transforms.routing.beam import RouteAlerts
from wirewatch.transforms.rules.beam import MatchRules
from wirewatch.transforms.sinks.beam import Deliver
from wirewatch.transforms.state.beam import CommitCycle, WriteDeadLetters
from wirewatch.transforms.stories.beam import AssignStories
from wirewatch.transforms.tagging.beam import TagArticles


def build_cycle(
    pipeline: beam.Pipeline,
    config: Config,
    feeds: list[FeedConfig],
    state_dir: str,
    dead_letter_path: str,
) -> beam.Pipeline:
    fetched = (
        pipeline | "FeedsDue" >> beam.Create(feeds) | "FetchFeeds" >> FetchFeeds(config, state_dir)
    )
    parsed = fetched.fetched | "ParseFeeds" >> ParseFeeds(state_dir)
    articles = parsed.articles | "DropSeen" >> DropSeen(state_dir)
    delivered = (
        articles
        | "TagArticles" >> TagArticles(config)
        | "AssignStories" >> AssignStories(config, state_dir)
        | "MatchRules" >> MatchRules(config)
        | "RouteAlerts" >> RouteAlerts(config)
        | "Deliver" >> Deliver(config, state_dir)
    )
    (
        (fetched.dead, parsed.dead, delivered.dead)
        | "AllDeadLetters" >> beam.Flatten()
        | "WriteDeadLetters" >> WriteDeadLetters(state_dir, dead_letter_path)
    )
    to_commit = (articles, parsed.backfill, fetched.feed_state) | "ToCommit" >> beam.Flatten()
    (to_commit, delivered.outcomes) | "CommitCycle" >> CommitCycle(state_dir)
    return pipeline
