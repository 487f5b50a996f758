"""Run a test pipeline to the end and read back the counters it counted under our namespace."""

from __future__ import annotations

from wirewatch.transforms.beam_support.metrics import NS


def run_and_count(pipeline) -> dict[str, int]:
    """Run `pipeline` (its assert_that checks included); its NS counters by name, summed over
    the steps that count one, as the run summary does (pipelines/summary.py)."""
    result = pipeline.run()
    result.wait_until_finish()
    counts: dict[str, int] = {}
    for c in result.metrics().query()["counters"]:
        if c.key.metric.namespace == NS:
            counts[c.key.metric.name] = counts.get(c.key.metric.name, 0) + c.committed
    return counts
