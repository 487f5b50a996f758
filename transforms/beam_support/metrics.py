"""The one metric namespace our DoFns count under, and the DoFns' counters declared by name.

Every counter in `NS` is a cycle total with a fixed name, created once per DoFn and read back
by pipelines/summary.py under that same name, never a name built from data. Breakdowns per
rule, sink or feed come from the state store (pipelines/summary.py).
"""

from __future__ import annotations

NS = "wirewatch"


class Counters:
    """A DoFn's counters, one attribute per name, each the Beam counter of that name:
    `self.count = Counters("alerts_sent", "alerts_held")`, then `self.count.alerts_sent.inc()`.

    Why one object: the attribute is the counter's name, so a DoFn cannot count under a name
    the summary does not know, and the declaration is a list rather than a line per counter.
    """

    def __init__(self, *names: str, namespace: str = NS):
        from apache_beam.metrics import Metrics  # here: NS alone must not import Beam (CLI path)

        for name in names:
            setattr(self, name, Metrics.counter(namespace, name))

    def __getitem__(self, name: str):
        """The counter called `name` (for names chosen by a fixed table, e.g. fetch outcomes)."""
        return getattr(self, name)
