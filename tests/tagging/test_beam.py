import pickle

import pytest

beam = pytest.importorskip("apache_beam")
from apache_beam.metrics import MetricsFilter  # noqa: E402
from apache_beam.runners.portability.fn_api_runner import FnApiRunner  # noqa: E402
from apache_beam.testing.util import assert_that, equal_to  # noqa: E402

from tests.tagging.conftest import article  # noqa: E402
from wirewatch.transforms.tagging.beam import TagArticles, _TagDoFn  # noqa: E402


class _MakeArticles(beam.DoFn):
    def process(self, n):
        yield article(
            "Deportations from Mexico City",
            "John Kelly said. Kelly met on immigration.",
            id=f"a{n}",
        )
        yield article("Nothing here", "plain words", id=f"b{n}")


def test_tag_articles_in_a_pipeline(small_config):
    pipeline = beam.Pipeline(runner=FnApiRunner())  # in-process: no Prism download
    tagged = pipeline | beam.Create([1]) | beam.ParDo(_MakeArticles()) | TagArticles(small_config)
    summary = tagged | beam.Map(
        lambda t: (t.article.id, [x.id for x in t.topics], sorted(e.id for e in t.entities))
    )
    assert_that(
        summary,
        equal_to(
            [("a1", ["immigration", "politics"], ["john-kelly", "mexico-city"]), ("b1", [], [])]
        ),
    )
    result = pipeline.run()
    result.wait_until_finish()
    counters = {
        c.key.metric.name: c.committed for c in result.metrics().query(MetricsFilter())["counters"]
    }
    assert counters["articles_tagged"] == 2
    assert counters["articles_with_topics"] == 1 and counters["articles_without_topics"] == 1


def test_dofn_pickles_without_the_automaton(small_config):
    dofn = _TagDoFn(small_config)
    restored = pickle.loads(pickle.dumps(dofn))
    assert restored._tagger is None
    restored.setup()
    assert restored._tagger is not None


def test_rejects_what_is_not_a_config():
    with pytest.raises(TypeError, match="expected a wirewatch.transforms.config.Config"):
        TagArticles({"taxonomy": []})


def test_a_tagger_failure_passes_the_article_on_untagged(small_config):
    class Broken:
        def tag(self, article):
            raise ValueError("bug")

    dofn = _TagDoFn(small_config)
    dofn._tagger = Broken()
    doc = article("Mexico City", "John Kelly")
    assert [t.article for t in dofn.process(doc)] == [doc]
