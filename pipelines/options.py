"""Beam options and runner choice. Locally we run Beam's in-process engine (FnApiRunner) directly:
plain DirectRunner in Beam 2.77 first tries to download a Prism binary, which must never happen
offline. Any --runner (FlinkRunner, DataflowRunner, ...) and its options pass through untouched.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions


def is_local(options: PipelineOptions) -> bool:
    """No --runner, or the DirectRunner: both mean Beam's in-process engine here."""
    runner_name = options.view_as(StandardOptions).runner
    return runner_name is None or runner_name in ("DirectRunner", "direct")


def make_pipeline(beam_args: list[str]) -> beam.Pipeline:
    options = PipelineOptions(beam_args)
    if is_local(options):
        from apache_beam.runners.portability.fn_api_runner import FnApiRunner

        return beam.Pipeline(runner=FnApiRunner(), options=options)
    return beam.Pipeline(options=options)
