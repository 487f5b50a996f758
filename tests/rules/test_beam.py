"""MatchRules in a real (in-process) pipeline: matches out, metrics counted, errors early."""

import pytest

apache_beam = pytest.importorskip("apache_beam")

from apache_beam.runners.portability.fn_api_runner import FnApiRunner  # noqa: E402
from apache_beam.testing.util import assert_that, equal_to  # noqa: E402

from tests.rules.helpers import config, tagged  # noqa: E402
from wirewatch.transforms.beam_support import cache as worker_cache  # noqa: E402
from wirewatch.transforms.beam_support.metrics import NS  # noqa: E402
from wirewatch.transforms.rules.beam import MatchRules  # noqa: E402
from wirewatch.transforms.rules.errors import RuleError  # noqa: E402
from wirewatch.transforms.rules.schema import RuleConfig  # noqa: E402


def test_match_rules_in_a_pipeline_counts_metrics():
    cfg = config(
        RuleConfig(
            id="wall", query='"border wall"', severity="critical", labels={"desk": "americas"}
        ),
        RuleConfig(id="tillerson", query="entity:tillerson"),
    )
    articles = [
        tagged("Talks on the border wall", ident="a1"),
        tagged("Tillerson visits", entities=[("tillerson", "Rex Tillerson", "PERSON")], ident="a2"),
        tagged("Nothing here", ident="a3"),
    ]
    pipeline = apache_beam.Pipeline(runner=FnApiRunner())
    matches = (
        pipeline
        | apache_beam.Create(articles)
        | MatchRules(cfg)
        | apache_beam.Map(
            lambda m: (m.rule_id, m.article.article.id, m.severity, m.labels.get("desk"))
        )
    )
    assert_that(
        matches,
        equal_to([("wall", "a1", "critical", "americas"), ("tillerson", "a2", "info", None)]),
    )
    result = pipeline.run()
    result.wait_until_finish()
    counters = {
        (c.key.metric.namespace, c.key.metric.name): c.committed
        for c in result.metrics().query()["counters"]
    }
    # the fixed names under the one namespace, and no counter per rule (the summary counts those)
    assert counters == {(NS, "articles"): 3, (NS, "articles_matched"): 2, (NS, "matches"): 2}


def test_bad_rule_fails_when_the_pipeline_is_built():
    with pytest.raises(RuleError) as info:
        MatchRules(config(RuleConfig(id="typo", query="topic:imigration")))
    assert "rules[typo]" in str(info.value) and "did you mean 'immigration'" in str(info.value)


def test_the_dofn_ships_plain_config_not_the_compiled_rules():
    from apache_beam.internal import pickler

    from wirewatch.transforms.rules.beam import _MatchDoFn

    transform = MatchRules(config(*[f"word{i} OR deport*" for i in range(200)]))
    fn = _MatchDoFn(transform._config)
    payload = pickler.dumps(fn)
    worker_cache.clear()  # as in a fresh worker process
    restored = pickler.loads(payload)
    assert restored._rules is None  # built in setup(), on the worker
    restored.setup()
    assert len(restored._rules) == 200


def test_rules_compile_once_per_process_and_config(monkeypatch):
    """The pre-flight check, the transform's construction and every DoFn setup (every watch
    cycle builds new ones) share one compilation; a changed config compiles anew."""
    from apache_beam.internal import pickler

    from wirewatch.transforms.beam_support import rulesets
    from wirewatch.transforms.rules.beam import _MatchDoFn

    compiled = []
    real = rulesets.compile_rules
    monkeypatch.setattr(rulesets, "compile_rules", lambda c: compiled.append(c) or real(c))
    cfg = config("wall OR fence")
    first = rulesets.ruleset_for(cfg)  # the pre-flight check
    for _ in range(3):  # three cycles: a new transform and DoFn each, unpickled as a runner does
        fn = pickler.loads(pickler.dumps(_MatchDoFn(MatchRules(cfg)._config)))
        fn.setup()
        assert fn._rules is first
    assert len(compiled) == 1
    rulesets.ruleset_for(config("wall OR gate"))
    assert len(compiled) == 2
