"""One cycle: feeds due → fetch → parse → drop seen → tag → stories → match → route → commit
(every alert claimed in the ledger, then the articles marked seen and the feed states saved)
→ deliver. `build_cycle` builds, never runs; `run_cycle` builds, runs and summarises one cycle
(what `run --once` does, and what the watch driver does on a fresh graph); `measure_cycle` is
the run-and-summarise half, which the watch driver also uses to re-run a graph it built before.
"""

from __future__ import annotations

import functools
import shutil
import time
from datetime import timedelta
from typing import Callable, Mapping

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.runner import PipelineResult, PipelineRunner

from wirewatch.pipelines import zygote
from wirewatch.pipelines.collector import collecting_less_often
from wirewatch.pipelines.options import (
    make_pipeline,
    parallel_bundles,
    runs_in_process,
    workers_on_this_machine,
)
from wirewatch.pipelines.state import local_dir
from wirewatch.pipelines.summary import CycleSummary, summarize
from wirewatch.transforms.beam_support.cache import keep_in_process, keep_on_this_machine, respool
from wirewatch.transforms.config import Config, FeedConfig
from wirewatch.transforms.ingest.beam import DropSeen, FetchFeeds, ParseFeeds
from wirewatch.transforms.ingest.dedupe import seen_hashes
from wirewatch.transforms.ingest.fetch import FetchResult
from wirewatch.transforms.routing.beam import RouteAlerts
from wirewatch.transforms.rules.beam import MatchRules
from wirewatch.transforms.sinks.beam import Deliver
from wirewatch.transforms.state import open_store
from wirewatch.transforms.state.beam import CommitCycle, WriteDeadLetters
from wirewatch.transforms.state.sqlite import DEAD_LETTERS
from wirewatch.transforms.stories.beam import AssignStories
from wirewatch.transforms.tagging.beam import TagArticles


def dead_letter_path(config: Config, location: str) -> str:
    """The config's dead-letter file, else dead-letters.jsonl beside the store (a shared
    store has no folder here: then the user state directory)."""
    return config.dead_letters or f"{local_dir(location)}/{DEAD_LETTERS}"


def build_cycle(
    pipeline: beam.Pipeline,
    config: Config,
    feeds: list[FeedConfig],
    state_dir: str,
    dead_letter_path: str,
    polled: Mapping[str, FetchResult] | None = None,
) -> beam.Pipeline:
    """The cycle over `feeds`; `polled`: fetch results the caller already has (run --once's
    look), which FetchFeeds uses instead of asking those feeds' servers again."""
    fetched = (
        pipeline
        # no reshuffle: GroupByLane spreads the feeds next, and a reshuffle is one more stage
        | "FeedsDue" >> beam.Create(feeds, reshuffle=False)
        | "FetchFeeds" >> FetchFeeds(config, state_dir, polled=polled)
    )
    parsed = fetched.fetched | "ParseFeeds" >> ParseFeeds(state_dir)
    articles = parsed.articles | "DropSeen" >> DropSeen(state_dir)
    options = pipeline.options
    # worker processes on this machine hand the story batches over through files
    exchange = zygote.exchange_folder() if workers_on_this_machine(options) else None
    alerts = (
        articles
        | "TagArticles" >> TagArticles(config)
        | "AssignStories" >> AssignStories(config, state_dir, parallel_bundles(options), exchange)
        | "MatchRules" >> MatchRules(config)
        | "RouteAlerts" >> RouteAlerts(config)
    )
    seen = (
        articles | "NewSeen" >> beam.Map(seen_hashes),
        parsed.backfill | "BackfillSeen" >> beam.Map(seen_hashes),
    )
    to_commit = (*seen, fetched.feed_state, parsed.feed_state) | "ToCommit" >> beam.Flatten()
    delivered = (
        (alerts, to_commit)
        | "CommitCycle" >> CommitCycle(state_dir, config.lease_seconds)
        | "Deliver" >> Deliver(config, state_dir, dead_letter_path)
    )
    (
        (fetched.dead, parsed.dead, delivered[Deliver.DEAD])
        | "AllDeadLetters" >> beam.Flatten()
        | "WriteDeadLetters" >> WriteDeadLetters(state_dir, dead_letter_path)
    )
    return pipeline


def run_cycle(
    config: Config,
    feeds: list[FeedConfig],
    state_dir: str,
    options: list[str] | PipelineOptions,
    runner: PipelineRunner | None = None,
    polled: Mapping[str, FetchResult] | None = None,
) -> CycleSummary:
    """Build and run one cycle (on `runner`, else the one the options select)."""

    def execute() -> PipelineResult:
        pipeline = make_pipeline(options, runner)
        letters = dead_letter_path(config, state_dir)
        try:
            build_cycle(pipeline, config, feeds, state_dir, letters, polled)
        except BaseException:  # only run() removes the temp folder Beam made for the pipeline
            shutil.rmtree(pipeline.local_tempdir, ignore_errors=True)
            raise
        return pipeline.run()

    if not isinstance(options, PipelineOptions):
        options = PipelineOptions(options)
    # the config and the polled bodies travel by key in this process, and by key and file to
    # worker processes on this machine (beam_support/cache.py)
    keep = keeping(options)
    kept = [config, *([polled] if polled else [])] if keep else []
    releases = []
    try:  # each hold taken is released, even if a later one cannot be taken
        for value in kept:
            releases.append(keep(value))
        zygote.warm(config)  # its workers then find the tagger and rules built
        return measure_cycle(execute, state_dir, feeds)
    finally:
        for release in releases:
            release()


def keeping(options: PipelineOptions) -> Callable[[object], Callable[[], None]] | None:
    """How a graph run with `options` may carry what it keeps (beam_support/cache.py): in this
    process, in files in the workers' shared folder on this machine, or not at all."""
    if runs_in_process(options):
        return keep_in_process
    folder = zygote.shared_folder() if workers_on_this_machine(options) else None
    return None if folder is None else functools.partial(keep_on_this_machine, folder=folder)


def measure_cycle(
    execute: Callable[[], PipelineResult], state_dir: str, feeds: list[FeedConfig]
) -> CycleSummary:
    """Run `execute` to the end; its counters plus the store's outcomes since it started."""
    respool()  # a graph run again: the files it names, if their folder went meanwhile
    started = time.monotonic()
    try:
        with collecting_less_often():  # collector.py: a cycle makes millions of objects
            result = execute()
            result.wait_until_finish()
    finally:
        zygote.clear_exchange()  # what its workers handed each other through files
    seconds = time.monotonic() - started
    with open_store(state_dir) as store:
        # when it started on the store's clock, which stamps the outcomes
        since = store.now() - timedelta(seconds=time.monotonic() - started)
        return summarize(result, seconds, store, [f.id for f in feeds], since)
