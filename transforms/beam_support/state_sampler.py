"""Beam's state sampler, asked to wake every SAMPLING_PERIOD_MS instead of every 200 ms.

Why: every bundle a Beam worker runs starts a sampler thread (it times each step for Beam's
msec counters, which wirewatch never reads), and the bundle's end waits for that thread to
exit. The thread only looks at its stop flag when it wakes, and it sleeps up to 200 ms
between samples (statesampler_fast.pyx: "May have to wait up to sampling_period_ms"), so any
bundle longer than about a second ended with a wait of up to 200 ms, 100 ms on average. A cold
cycle runs 7 stages one after the other, and waited 0.47 s for them in process and 0.50-0.54 s
in each of 2 worker processes (timed with a /tmp hook on StateSampler.stop, 10,000 articles);
at 10 ms, 0.03-0.05 s. The thread samples without the GIL, so waking more often costs the
bundle's own work nothing that can be measured.
"""

from __future__ import annotations

SAMPLING_PERIOD_MS = 10


def prompt_state_sampler() -> None:
    """Make the samplers of the bundles this process runs from now on wake every
    SAMPLING_PERIOD_MS (idempotent). Beam's BundleProcessor passes no period, so the default
    of StateSampler's constructor is the one to change."""
    from apache_beam.runners.worker import statesampler

    init = statesampler.StateSampler.__init__
    if init.__defaults__ != (SAMPLING_PERIOD_MS,):
        init.__defaults__ = (SAMPLING_PERIOD_MS,)
