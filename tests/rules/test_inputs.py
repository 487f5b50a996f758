"""Reading articles for examples, try-rule and backtests: text, JSON lines, feeds, folders."""

import json

from tests.rules.helpers import tagged
from wirewatch.pipelines.tooling.inputs import article_from_text, read_bytes, read_source
from wirewatch.transforms.model import Match, TaggedArticle

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:t</id>
<updated>2026-11-26T10:00:00Z</updated>
<entry><title>Border wall talks</title><id>urn:1</id><updated>2026-11-26T10:00:00Z</updated>
<link href="https://example.com/1"/><summary>Officials met.</summary></entry>
</feed>"""


def test_text_first_line_is_the_title():
    article = article_from_text("\n  Title here \nline two\nline three\n", "x")
    assert (article.title, article.summary, article.feed_id) == (
        "Title here",
        "line two\nline three",
        "example",
    )


def test_json_lines_accept_articles_tagged_articles_matches_and_parse_output():
    t = tagged("Tagged one", topics={"economy": 0.5})
    match = Match(rule_id="r", article=tagged("From a match"))
    lines = [
        t.article.model_dump_json(),
        t.model_dump_json(),
        match.model_dump_json(),
        json.dumps(
            {
                "type": "article",
                "input": "f.xml",
                **json.loads(tagged("Parsed").article.model_dump_json()),
            }
        ),
        json.dumps({"type": "error", "input": "f.xml", "reason": "bozo"}),
        "",
    ]
    loaded = read_bytes("\n".join(lines).encode(), "past.jsonl", ".jsonl")
    assert loaded.problems == []
    titles = [getattr(i, "article", i).title for i in loaded.items]
    assert titles == ["Tagged one", "Tagged one", "From a match", "Parsed"]
    assert isinstance(loaded.items[1], TaggedArticle) and loaded.items[1].topics


def test_json_array_and_sniffing_without_a_suffix():
    body = json.dumps([json.loads(tagged("One").article.model_dump_json())]).encode()
    assert [a.title for a in read_bytes(body, "stdin").items] == ["One"]


def test_feed_bytes_become_articles(tmp_path):
    path = tmp_path / "wire.atom"
    path.write_bytes(ATOM)
    loaded = read_source(str(path))
    assert [(a.title, a.feed_id) for a in loaded.items] == [("Border wall talks", "wire")]


def test_folders_are_read_recursively_and_hidden_files_skipped(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.atom").write_bytes(ATOM)
    (tmp_path / "b.txt").write_text("Plain text title\nbody", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("no", encoding="utf-8")
    loaded = read_source(str(tmp_path))
    assert sorted(a.title for a in loaded.items) == ["Border wall talks", "Plain text title"]


def test_unreadable_inputs_are_problems_not_exceptions(tmp_path):
    assert str(read_source(str(tmp_path / "nope.txt")).problems[0]).endswith(
        "cannot read: No such file or directory"
    )
    assert lines(read_source(str(tmp_path)).problems) == [f"{tmp_path}: the folder holds no files"]
    assert lines(read_bytes(b"  \n", "stdin").problems) == ["stdin: empty input"]


def lines(problems):
    return [str(p) for p in problems]
