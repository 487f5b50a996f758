import pytest

from wirewatch.pipelines.tooling.inputs import article_from_text
from wirewatch.transforms.errors import InputError


def test_plain_text_first_line_is_the_title():
    doc = article_from_text("\n  Headline here\nBody line one.\nTwo.", "x")
    assert (doc.title, doc.summary) == ("Headline here", "Body line one.\nTwo.")


def test_html_drops_scripts_and_takes_h1_as_title():
    doc = article_from_text(
        "<div><h1>Big news</h1><script>x()</script><p>First.</p><p>Second.</p></div>", "x"
    )
    assert doc.title == "Big news" and doc.summary == "First.\nSecond."


def test_json_article_or_loose_object():
    doc = article_from_text('{"title": "T", "text": "Body"}', "x")
    assert (doc.title, doc.summary) == ("T", "Body")
    with pytest.raises(InputError, match="neither"):
        article_from_text('{"foo": 1}', "x")
    assert article_from_text("[not json", "x").title == "[not json"


def test_empty_input_is_an_error():
    with pytest.raises(InputError, match="empty"):
        article_from_text("  \n", "x")
