"""Everything that processes data, one package per stage, each a pure-Python core with its Beam
wrapper, `beam.py`, beside it (the core has no Beam: tests, benches and the fast CLI commands
call it directly; the wrapper only adds lifecycle, outputs and counters).

Stages: `ingest` (fetch, parse, schedule, dedupe), `tagging`, `stories`, `rules`, `routing`,
`sinks`. Beside them: `state` (the state-store interface and its backends), `config` (models,
loader, cross-checks), `beam_support` (what every wrapper shares), `model.py` (the elements
passed between stages) and `errors.py` (one root exception, `Problem`). The map, the import
rules and the wrapper conventions: docs/architecture.md.
"""
