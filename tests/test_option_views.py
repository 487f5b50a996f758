"""PipelineOptions.view_as answered once per options object and view class: the same values as
Beam's own views, set through any view and seen through all, and pipelines still read them."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import (
    DirectOptions,
    PipelineOptions,
    StandardOptions,
    TypeOptions,
)
from apache_beam.testing.util import assert_that, equal_to

from wirewatch.pipelines.options import LocalEngine, parallel_bundles
from wirewatch.transforms.beam_support.option_views import remember_option_views

ARGS = ["--direct_num_workers", "2", "--direct_running_mode", "multi_threading"]


def test_a_view_is_made_once_per_options_object_and_class():
    remember_option_views()
    installed = PipelineOptions.view_as
    remember_option_views()
    assert PipelineOptions.view_as is installed  # installed once, not wrapped twice
    options, other = PipelineOptions(ARGS), PipelineOptions(ARGS)
    direct = options.view_as(DirectOptions)
    assert options.view_as(DirectOptions) is direct
    assert other.view_as(DirectOptions) is not direct
    assert (direct.direct_num_workers, direct.direct_running_mode) == (2, "multi_threading")
    assert parallel_bundles(options) == 2


def test_values_set_through_any_view_are_seen_through_all():
    remember_option_views()
    options = PipelineOptions(["--runner", "DirectRunner"])
    options.view_as(TypeOptions).pipeline_type_check = False  # before the first TypeOptions ask
    standard = options.view_as(StandardOptions)
    standard.streaming = True
    assert options.view_as(StandardOptions).streaming is True
    assert options.get_all_options()["streaming"] is True
    assert options.view_as(TypeOptions).pipeline_type_check is False
    assert standard.view_as(TypeOptions).pipeline_type_check is False  # a view of a view
    assert standard.runner == "DirectRunner"


def test_a_pipeline_on_the_local_engine_reads_its_options_through_the_views():
    with beam.Pipeline(runner=LocalEngine(), options=PipelineOptions(ARGS)) as pipeline:
        doubled = pipeline | beam.Create([1, 2, 3]) | beam.Map(lambda n: n * 2)
        assert_that(doubled, equal_to([2, 4, 6]))
