"""AssignStories in a real (in-process) pipeline: ids and kinds in publication order, across
two runs on the same store, counted under the fixed names."""

from datetime import datetime, timedelta, timezone

import pytest

beam = pytest.importorskip("apache_beam")
from apache_beam.runners.portability.fn_api_runner import FnApiRunner  # noqa: E402
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline  # noqa: E402
from apache_beam.testing.util import BeamAssertException, assert_that  # noqa: E402

from tests.beam_counters import run_and_count  # noqa: E402
from tests.stories.conftest import make  # noqa: E402
from wirewatch.transforms.config import Config  # noqa: E402
from wirewatch.transforms.model import TaggedArticle  # noqa: E402
from wirewatch.transforms.stories.beam import AssignStories  # noqa: E402

LINK = "https://news.example/economy/rates"
NOW = datetime.now(timezone.utc).replace(microsecond=0)  # the index's window runs on wall time


def recent(article, minutes_ago: float):
    return article.model_copy(update={"published": NOW - timedelta(minutes=minutes_ago)})


def kinds_and_sameness(expected_kinds: dict[str, str], same: list[set[str]]):
    """A matcher: each article's story kind, and which articles share one story id."""

    def check(actual: list[TaggedArticle]) -> None:
        kinds = {t.article.id: t.story_kind for t in actual}
        if kinds != expected_kinds:
            raise BeamAssertException(f"kinds {kinds} != {expected_kinds}")
        story = {t.article.id: t.story_id for t in actual}
        if any(not story[i] for i in story):
            raise BeamAssertException(f"an article without a story id: {story}")
        groups = {}
        for article_id, story_id in story.items():
            groups.setdefault(story_id, set()).add(article_id)
        if sorted(map(sorted, groups.values())) != sorted(map(sorted, same)):
            raise BeamAssertException(f"stories {groups} != {same}")

    return check


def assign(articles, state_dir, matcher) -> dict[str, int]:
    pipeline = BeamTestPipeline(runner=FnApiRunner())
    tagged = pipeline | beam.Create([TaggedArticle(article=a) for a in articles])
    assert_that(tagged | AssignStories(Config(), str(state_dir)), matcher)
    return run_and_count(pipeline)


def test_assign_stories_in_publication_order_across_runs(tmp_path):
    # Created out of order: the later copy must still see the earlier one as "first".
    first_run = [
        recent(make("copy", "Central bank raises rates", feed="two", link=LINK + "?utm=x"), 20),
        recent(make("orig", "Central bank raises rates", feed="one", link=LINK), 30),
        recent(make("other", "Storm closes the port for a second day", feed="one"), 10),
    ]
    counters = assign(
        first_run,
        tmp_path,
        kinds_and_sameness(
            {"orig": "new", "copy": "copy", "other": "new"}, [{"orig", "copy"}, {"other"}]
        ),
    )
    assert counters == {"stories_new": 2, "stories_copy": 1}

    later = [recent(make("again", "Central bank raises rates", feed="three", link=LINK), 5)]
    counters = assign(later, tmp_path, kinds_and_sameness({"again": "copy"}, [{"again"}]))
    assert counters == {"stories_copy": 1}


@pytest.mark.parametrize("through_files", [False, True], ids=["side_input", "exchange_folder"])
def test_two_workers_deciding_parts_of_a_cycle_at_once_get_what_one_bundle_gets(
    tmp_path, through_files
):
    """The cycle is split into parts that two worker threads draft at the same time on one
    store; every article gets the story and kind that assigning the whole cycle at once gives,
    whether the parts get their batches in the side input or through files."""
    from apache_beam.options.pipeline_options import PipelineOptions

    from tests.stories.test_partition import backlog
    from wirewatch.transforms.state import open_store
    from wirewatch.transforms.stories import StoryIndex

    articles = [recent(a, 600 - 10 * n) for n, a in enumerate(backlog(7))]
    with open_store(tmp_path / "whole") as store:
        whole = StoryIndex(store).assign_many(articles)
    expected = {a.id: (r.story_id, r.kind) for a, r in zip(articles, whole)}
    assert len({story for story, _ in expected.values()}) > 1
    options = ["--direct_num_workers", "2", "--direct_running_mode", "multi_threading"]
    pipeline = BeamTestPipeline(runner=FnApiRunner(), options=PipelineOptions(options))
    tagged = pipeline | beam.Create([TaggedArticle(article=a) for a in articles])

    def same(actual: list[TaggedArticle]) -> None:
        got = {t.article.id: (t.story_id, t.story_kind) for t in actual}
        if got != expected:
            raise BeamAssertException(f"{got} != {expected}")

    exchange = str(tmp_path / "exchange") if through_files else None
    assert_that(tagged | AssignStories(Config(), str(tmp_path / "parts"), 2, exchange), same)
    pipeline.run().wait_until_finish()
    assert any((tmp_path / "exchange").glob("*.batch")) == through_files  # one per bundle


def test_windowed_articles_are_refused_when_the_graph_is_built(tmp_path):
    """A cycle's stories are decided together, in the global window; Pack sends its last
    batch from finish_bundle, where an element's own window is gone."""
    from apache_beam.transforms.window import FixedWindows

    pipeline = BeamTestPipeline(runner=FnApiRunner())
    tagged = pipeline | beam.Create([]) | beam.WindowInto(FixedWindows(60))
    with pytest.raises(ValueError, match="global window"):
        tagged | AssignStories(Config(), str(tmp_path))
