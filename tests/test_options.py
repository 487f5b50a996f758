"""The local default runner is Beam's in-process engine: no Prism download is ever attempted."""

from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from wirewatch.pipelines.options import make_pipeline


def test_default_runner_is_the_in_process_engine():
    assert isinstance(make_pipeline([]).runner, FnApiRunner)


def test_direct_runner_also_maps_to_the_in_process_engine_and_keeps_its_options():
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


def test_other_runners_pass_through_untouched():
    pipeline = make_pipeline(["--runner", "FlinkRunner", "--flink_master", "localhost:8081"])
    assert type(pipeline.runner).__name__ == "FlinkRunner"
    assert pipeline.options.get_all_options()["flink_master"] == "localhost:8081"
