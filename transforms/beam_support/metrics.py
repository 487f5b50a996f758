"""The metric namespace our DoFns count under; pipelines/summary.py reads the counters back.

Counters in `NS` are cycle totals; `{NS}.feed` and `{NS}.sink` hold "<owner>.<status>" counts
per feed and per sink. One definition, so the writers and the reader cannot drift apart.
"""

NS = "wirewatch"
