"""The local default runner is Beam's in-process engine: no Prism download is ever attempted."""

import shutil

import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from wirewatch.pipelines.arguments import UsageError
from wirewatch.pipelines.options import check_beam_args
from wirewatch.pipelines.options import make_pipeline as _make_pipeline


@pytest.fixture
def make_pipeline():
    """make_pipeline, then each built pipeline's temp folder removed: Beam's Pipeline() makes
    one (/tmp/beam-pipeline-temp*) that only run() removes, and these pipelines never run."""
    built = []

    def make(args):
        built.append(_make_pipeline(args))
        return built[-1]

    yield make
    for pipeline in built:
        shutil.rmtree(pipeline.local_tempdir, ignore_errors=True)


def test_default_runner_is_the_in_process_engine(make_pipeline):
    assert isinstance(make_pipeline([]).runner, FnApiRunner)


def test_direct_runner_also_maps_to_the_in_process_engine_and_keeps_its_options(make_pipeline):
    pipeline = make_pipeline(
        [
            "--runner",
            "DirectRunner",
            "--direct_num_workers",
            "2",
            "--direct_running_mode",
            "multi_processing",
        ]
    )
    assert isinstance(pipeline.runner, FnApiRunner)
    assert pipeline.options.get_all_options()["direct_num_workers"] == 2


def test_other_runners_pass_through_untouched(make_pipeline):
    pipeline = make_pipeline(["--runner", "FlinkRunner", "--flink_master", "localhost:8081"])
    assert type(pipeline.runner).__name__ == "FlinkRunner"
    assert pipeline.options.get_all_options()["flink_master"] == "localhost:8081"


def test_the_direct_runner_is_recognised_in_any_spelling_beam_accepts(make_pipeline):
    for name in ("direct", "directrunner", "DirectRunner"):
        assert isinstance(make_pipeline(["--runner", name]).runner, FnApiRunner)


def test_beam_options_are_checked_against_beams_own_and_pass_through():
    known = ["--direct_num_workers=2", "--direct_running_mode", "multi_processing"]
    assert check_beam_args("wirewatch run", known, [], ["--a_runner_flag"]) == [
        *known,
        "--a_runner_flag",
    ]
    with pytest.raises(UsageError, match="unknown option '--direct_num_worker'"):
        check_beam_args("wirewatch run", ["--direct_num_worker=2"], [], [])


def test_parallel_bundles_is_how_many_bundles_the_runner_runs_at_once():
    from apache_beam.options.pipeline_options import PipelineOptions

    from wirewatch.pipelines.options import OTHER_RUNNER_BUNDLES, parallel_bundles

    assert parallel_bundles(PipelineOptions([])) == 1
    two = ["--direct_num_workers", "2", "--direct_running_mode", "multi_processing"]
    assert parallel_bundles(PipelineOptions(two)) == 2
    assert parallel_bundles(PipelineOptions(["--direct_num_workers", "0"])) >= 1
    assert parallel_bundles(PipelineOptions(["--runner", "FlinkRunner"])) == OTHER_RUNNER_BUNDLES
