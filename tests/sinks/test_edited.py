"""The Dispatcher and an edited entry (Article.edited): the new rule's alert goes into the
thread of the story's first message on the sink (whichever rule sent it), or on its own where
there is none; a rule that already alerted for the story on that sink stays quiet. Real store,
real slack_sdk client, the loopback Slack server."""

from __future__ import annotations

import pytest

from tests.factories import alert
from tests.loopback import SlackServer
from wirewatch.transforms.config import Config
from wirewatch.transforms.config import SlackSink as SlackSinkConfig
from wirewatch.transforms.sinks.dispatch import Dispatcher
from wirewatch.transforms.sinks.slack import SlackSink
from wirewatch.transforms.state import open_store


def in_story(a, story="story-1", edited=False):
    tagged = a.match.article
    article = tagged.article.model_copy(update={"edited": edited})
    tagged = tagged.model_copy(update={"article": article, "story_id": story})
    return a.model_copy(update={"match": a.match.model_copy(update={"article": tagged})})


@pytest.fixture
def bot(tmp_path, monkeypatch):
    with SlackServer() as slack:
        monkeypatch.setenv("T_BOT_TOKEN", slack.token)
        sink = SlackSink(
            "bot",
            SlackSinkConfig(
                type="slack",
                token="${T_BOT_TOKEN}",
                channel="#desk",
                api_url=slack.api_url,
                pace=0,
            ),
        )
        with open_store(tmp_path) as store:
            yield slack, Dispatcher(Config(), store, lambda name: sink), store


def test_an_edit_that_matches_a_new_rule_goes_into_the_storys_thread(bot):
    slack, dispatcher, store = bot
    first = in_story(alert(sink="bot", rule_id="oil", id="ft:1", title="Oil price falls"))
    assert dispatcher.offer(first).status == "sent"
    edit = in_story(
        alert(sink="bot", rule_id="trump", id="ft:1", title="Oil falls as Trump trade war bites"),
        edited=True,
    )
    assert dispatcher.offer(edit).status == "sent"
    assert dispatcher.offer(edit).status == "already_sent"  # the ledger: once
    top, reply = slack.received
    assert reply["thread_ts"] == top["_ts"] and reply["text"].startswith("[trump] Updated: ")
    # the story keeps the thread's own ts for this rule: later copies reply to the parent
    assert store.story_alert("story-1", "trump", "bot") == (edit.key, top["_ts"])


def test_an_edit_without_a_thread_is_a_message_of_its_own(bot):
    slack, dispatcher, _ = bot
    edit = in_story(alert(sink="bot", rule_id="trump", id="ft:1"), story="story-2", edited=True)
    assert dispatcher.offer(edit).status == "sent"
    [message] = slack.received
    assert not message.get("thread_ts") and message["text"].startswith("[trump] Updated: ")


def test_a_rule_that_already_alerted_the_story_never_alerts_for_an_edit_of_another_copy(bot):
    slack, dispatcher, store = bot
    reuters = in_story(alert(sink="bot", rule_id="trump", id="reuters:9", title="Trump tariffs"))
    assert dispatcher.offer(reuters).status == "sent"
    ft_edit = in_story(alert(sink="bot", rule_id="trump", id="ft:1"), edited=True)
    assert dispatcher.offer(ft_edit).status == "already_sent"
    assert len(slack.received) == 1
    record = store.alert(ft_edit.key)  # settled in the ledger: never re-offered
    assert record.status == "sent" and record.attempts == 0 and "already alerted" in record.error
