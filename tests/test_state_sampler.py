"""Beam's state sampler wakes every SAMPLING_PERIOD_MS in our engine and workers: a bundle's end
waits for the sampler thread to notice it is done (up to its period)."""

from __future__ import annotations

import subprocess
import sys

from apache_beam.runners.worker import statesampler
from apache_beam.utils.counters import CounterFactory

from wirewatch.pipelines.options import LocalEngine
from wirewatch.transforms.beam_support.state_sampler import SAMPLING_PERIOD_MS

WORKER = """
from wirewatch.pipelines import worker
worker.prepare()
from apache_beam.runners.worker import statesampler
from apache_beam.utils.counters import CounterFactory
print(statesampler.StateSampler("stage", CounterFactory()).sampling_period_ms)
"""


def test_the_local_engine_makes_samplers_wake_every_period():
    statesampler.StateSampler.__init__.__defaults__ = (200,)  # Beam's own
    LocalEngine()
    LocalEngine()  # twice: still the same period
    sampler = statesampler.StateSampler("stage", CounterFactory())
    assert sampler.sampling_period_ms == SAMPLING_PERIOD_MS


def test_a_worker_process_makes_samplers_wake_every_period():
    out = subprocess.run(
        [sys.executable, "-c", WORKER], capture_output=True, text=True, timeout=120
    )
    assert out.stdout.split() == [str(SAMPLING_PERIOD_MS)], out.stderr[-2000:]
