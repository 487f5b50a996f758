"""Beam options and runner choice. Locally we run Beam's in-process engine (FnApiRunner) directly:
plain DirectRunner in Beam 2.77 first tries to download a Prism binary, which must never happen
offline; `--runner DirectRunner` therefore also means the in-process engine here. Any other
--runner (FlinkRunner, DataflowRunner, ...) and its options pass through untouched.

With `--direct_running_mode multi_processing` the engine's workers run `pipelines/worker.py`:
Beam's worker main, whose log records come back to this process and go through its logging
(shown from WARNING, or from INFO with `-v`) instead of straight to stderr. They are forked from
a zygote that has imported them once (pipelines/zygote.py), not started fresh every run.

`check_beam_args` is the gate before any of that: Beam itself only logs a warning for an option
it does not know and runs anyway (a typo `--onse` started the endless watch loop), so every
option left over after wirewatch's own must be one Beam knows, unless it comes after `--`.
"""

from __future__ import annotations

import os
import sys

import apache_beam as beam
from apache_beam.options.pipeline_options import (
    DirectOptions,
    PipelineOptions,
    PrismRunnerOptions,
    StandardOptions,
    _BeamArgumentParser,
)
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.runners.runner import PipelineRunner, create_runner
from apache_beam.transforms.environments import SubprocessSDKEnvironment

from wirewatch.pipelines.arguments import LOCAL_RUNNERS, suggest, unknown_argument, usage_error
from wirewatch.pipelines.zygote import worker_command
from wirewatch.transforms.beam_support.dofn_specs import remember_dofn_specs
from wirewatch.transforms.beam_support.option_views import remember_option_views
from wirewatch.transforms.beam_support.state_sampler import prompt_state_sampler

BEAM_WORKER = f"{sys.executable} -m apache_beam.runners.worker.sdk_worker_main"


class LocalEngine(FnApiRunner):
    """Beam's in-process engine; its `multi_processing` workers run pipelines/worker.py, forked
    from this process's zygote (pipelines/zygote.py).

    FnApiRunner picks the worker command itself when it reads `--direct_running_mode`; the
    environment it picks passes through here, and Beam's worker main is swapped for ours."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        remember_dofn_specs()
        remember_option_views()
        prompt_state_sampler()

    @property
    def _default_environment(self):
        return self._environment

    @_default_environment.setter
    def _default_environment(self, environment) -> None:
        if getattr(environment, "command_string", None) == BEAM_WORKER:
            environment = SubprocessSDKEnvironment.from_command_string(worker_command())
        self._environment = environment


def is_local(options: PipelineOptions) -> bool:
    """No --runner, or the DirectRunner: both mean Beam's in-process engine here."""
    runner_name = options.view_as(StandardOptions).runner
    return runner_name is None or runner_name.lower() in LOCAL_RUNNERS


def runs_in_process(options: PipelineOptions) -> bool:
    """Every stage runs in this process: the in-process engine without worker processes."""
    mode = options.view_as(DirectOptions).direct_running_mode
    return is_local(options) and mode != "multi_processing"


def workers_on_this_machine(options: PipelineOptions) -> bool:
    """The local engine with worker processes: several processes, one machine, one disk."""
    mode = options.view_as(DirectOptions).direct_running_mode
    return is_local(options) and mode == "multi_processing"


def parallel_bundles(options: PipelineOptions) -> int:
    """How many bundles of one stage run at once: the local engine's `direct_num_workers` (0:
    one per core); another runner spreads bundles over workers we cannot count here, so a
    stage that splits its work for them (AssignStories) gets OTHER_RUNNER_BUNDLES."""
    if not is_local(options):
        return OTHER_RUNNER_BUNDLES
    workers = options.view_as(DirectOptions).direct_num_workers
    return workers if workers > 0 else os.cpu_count() or 1


OTHER_RUNNER_BUNDLES = 8


def make_pipeline(
    options: list[str] | PipelineOptions, runner: PipelineRunner | None = None
) -> beam.Pipeline:
    """A pipeline on `runner`, else on the in-process engine, else on the --runner given."""
    if not isinstance(options, PipelineOptions):
        options = PipelineOptions(options)
    if runner is None and is_local(options):
        runner = LocalEngine()
    return beam.Pipeline(runner=runner, options=options)


def _beam_parser() -> _BeamArgumentParser:
    """Every option of every PipelineOptions class, built as PipelineOptions.get_all_options
    builds it (the private parser class handles Beam's value-provider options)."""
    parser = _BeamArgumentParser(allow_abbrev=False)
    classes = {str(cls): cls for cls in PipelineOptions.__subclasses__()}
    for cls in classes.values():
        cls._add_argparse_args(parser)  # noqa: SLF001 - Beam's own way to collect them
    return parser


def check_beam_args(prog: str, extra: list[str], own: list[str], passed: list[str]) -> list[str]:
    """The Beam arguments to run with: `extra` (what wirewatch's parser left over) when Beam
    knows every option in it, plus `passed` (everything after `--`, unchecked). Raises a
    UsageError naming the first unknown option and the closest of ours or Beam's, or a runner
    that cannot start here."""
    parser = _beam_parser()
    _, unknown = parser.parse_known_args(extra)
    if unknown:
        beam_options = [s for a in parser._actions for s in a.option_strings]  # noqa: SLF001
        raise unknown_argument(prog, unknown, own, beam_options)
    check_runner(prog, PipelineOptions(extra + passed))
    return extra + passed


def check_runner(prog: str, options: PipelineOptions) -> None:
    """A --runner that would fail (or download something) once the cycle starts, now as one line."""
    if is_local(options):
        return
    name = options.view_as(StandardOptions).runner
    if name.lower() in ("prism", "prismrunner"):
        if not options.view_as(PrismRunnerOptions).prism_location:
            raise usage_error(
                prog,
                "--runner PrismRunner would download the Prism binary from the internet",
                "pass --prism_location or leave out --runner (Beam's in-process engine)",
            )
        return
    try:
        create_runner(name)
    except ValueError:
        known = StandardOptions.KNOWN_RUNNER_NAMES
        raise usage_error(
            prog,
            f"unknown runner '{name}'{suggest(name, known)}",
            "leave out --runner for Beam's in-process engine, or name one of "
            + ", ".join(n for n in known if "Test" not in n),
        ) from None
    except (ImportError, AttributeError) as exc:  # a missing extra, or a.module.NoSuchRunner
        raise usage_error(prog, f"runner '{name}' is not available: {exc}") from None
