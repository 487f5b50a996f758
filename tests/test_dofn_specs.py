"""Beam's state/timer look, remembered per DoFn class: same answers, and stateful DoFns still run."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.coders import VarIntCoder
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import userstate
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec

from wirewatch.pipelines.options import LocalEngine
from wirewatch.transforms.beam_support.dofn_specs import remember_dofn_specs

COUNT = ReadModifyWriteStateSpec("count", VarIntCoder())


class Plain(beam.DoFn):
    def process(self, element):
        yield element


class Counting(beam.DoFn):
    def process(self, element, count=beam.DoFn.StateParam(COUNT)):
        seen = (count.read() or 0) + 1
        count.write(seen)
        yield element[0], seen


class Twice(beam.DoFn):
    def process(self, element, a=beam.DoFn.StateParam(COUNT), b=beam.DoFn.StateParam(COUNT)):
        yield element


def test_the_remembered_look_answers_as_beam_does_and_still_refuses_bad_dofns():
    remember_dofn_specs()
    remembered = userstate.get_dofn_specs
    remember_dofn_specs()
    assert userstate.get_dofn_specs is remembered  # installed once, not wrapped twice
    for dofn in (Plain(), Counting(), Counting()):
        first = remembered(dofn)
        assert first == remembered(dofn) and first[0] is not remembered(dofn)[0]
    assert remembered(Counting())[0] == {COUNT} and remembered(Plain()) == (set(), set())
    for _ in range(2):  # a malformed DoFn is refused every time, not remembered
        with pytest.raises(ValueError, match="duplicate"):
            remembered(Twice())


def test_a_stateful_dofn_keeps_its_state_on_the_local_engine():
    with beam.Pipeline(runner=LocalEngine()) as pipeline:
        counted = pipeline | beam.Create([("a", 1), ("a", 2), ("b", 3)]) | beam.ParDo(Counting())
        assert_that(counted, equal_to([("a", 1), ("a", 2), ("b", 1)]))
    assert userstate.get_dofn_specs.remembered
