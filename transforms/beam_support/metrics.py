"""The one metric namespace our DoFns count under; pipelines/summary.py reads it back.

Every counter in `NS` is a cycle total with a fixed name, created once per DoFn as a named
attribute (`self.sent = Metrics.counter(NS, "alerts_sent")`), never a name built from data.
Breakdowns per rule, sink or feed come from the state store (pipelines/summary.py).
"""

NS = "wirewatch"
