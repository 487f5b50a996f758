"""Run a test pipeline to the end and read back the counters it counted under our namespace."""

from __future__ import annotations

from wirewatch.transforms.beam_support.metrics import NS


def run_and_count(pipeline) -> dict[str, int]:
    """Run `pipeline` (its assert_that checks included); its NS counters by name."""
    result = pipeline.run()
    result.wait_until_finish()
    return {
        c.key.metric.name: c.committed
        for c in result.metrics().query()["counters"]
        if c.key.metric.namespace == NS
    }
