"""Watch rules: a Lucene-like query language, compiled once, matched through a presearch index.

The language (syntax, query, units, text, bind, errors), the engine (ruleset, match, presearch,
view) and the Beam wrapper (beam.MatchRules). No Beam outside beam.py. CLI-only tooling
(examples, explanations, never-matching checks) lives in wirewatch.pipelines.tooling.
"""
