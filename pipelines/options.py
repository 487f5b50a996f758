"""Beam options and runner choice. Locally we run Beam's in-process engine (FnApiRunner) directly:
plain DirectRunner in Beam 2.77 first tries to download a Prism binary, which must never happen
offline. Any --runner (FlinkRunner, DataflowRunner, ...) and its options pass through untouched.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.runners.runner import PipelineRunner


def is_local(options: PipelineOptions) -> bool:
    """No --runner, or the DirectRunner: both mean Beam's in-process engine here."""
    runner_name = options.view_as(StandardOptions).runner
    return runner_name is None or runner_name in ("DirectRunner", "direct")


def make_pipeline(
    options: list[str] | PipelineOptions, runner: PipelineRunner | None = None
) -> beam.Pipeline:
    """A pipeline on `runner`, else on the in-process engine, else on the --runner given."""
    if not isinstance(options, PipelineOptions):
        options = PipelineOptions(options)
    if runner is None and is_local(options):
        from apache_beam.runners.portability.fn_api_runner import FnApiRunner

        runner = FnApiRunner()
    return beam.Pipeline(runner=runner, options=options)
