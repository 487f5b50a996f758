"""The Tagger of a config, built once per process and config. No Beam import.

`run`'s pre-flight check builds it (a bad taxonomy or gazetteer fails before a pipeline is
built) and TagArticles' DoFns in the same process take that one, as rulesets.py does for rules:
building it twice cost every `run --once` about 0.15 s.
"""

from __future__ import annotations

from wirewatch.transforms.beam_support.cache import ref, shared
from wirewatch.transforms.tagging.tagger import Tagger


def tagger_for(config) -> Tagger:
    """The Tagger of `config` (a Config or its `Ref`), built once per process and config."""
    config_ref = ref(config)
    return shared("tagger", config_ref.key, lambda: Tagger.from_config(config_ref.value))
