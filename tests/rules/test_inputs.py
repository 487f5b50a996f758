"""The one input reader (tag, try-rule, preview, examples, --archive): text, HTML, JSON, JSON
lines, feeds, folders, stdin; and every command accepting the same inputs."""

import io
import json

import pytest

from tests.rules.helpers import tagged
from wirewatch.pipelines.cli import main
from wirewatch.pipelines.tooling.inputs import article_from_text, read_bytes, read_source, sniff
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


def test_a_folder_under_a_hidden_path_is_read(tmp_path):
    archive = tmp_path / ".cache" / "wirewatch" / "archive"
    archive.mkdir(parents=True)
    (archive / "a.atom").write_bytes(ATOM)
    (archive / ".partial.txt").write_text("skipped", encoding="utf-8")
    loaded = read_source(str(archive))
    assert loaded.problems == []
    assert [a.title for a in loaded.items] == ["Border wall talks"]


@pytest.mark.parametrize(
    "data, kind",
    [
        (ATOM, "feed"),
        (b'<?xml version="1.0"?><?xml-stylesheet href="s.xsl"?>\n<rss version="2.0"/>', "feed"),
        (b"<!-- generated -->\n<rdf:RDF xmlns:rdf='x'/>", "feed"),
        (b'<?xml version="1.0"?><html><body><h1>T</h1></body></html>', "html"),
        (b"<!DOCTYPE html>\n<html><head><title>T</title></head></html>", "html"),
        (b"<div><p>A fragment</p></div>", "html"),
        (b'<?xml version="1.0"?><opml/>', "feed"),
        (b'{"title": "T"}', "json"),
        (b'{"id": "a"}\n{"id": "b"}\n', "json"),
        (b"[not json", "text"),
        (b"Title\nbody", "text"),
        (b"Title\n<p>body</p>", "html"),
        (b" \n", "empty"),
    ],
)
def test_what_an_input_is_comes_from_its_content(data, kind):
    assert sniff(data) == kind


def test_a_json_feed_is_read_as_a_feed():
    from tests.ingest.feeds import JSONFEED

    loaded = read_bytes(JSONFEED, "news.json", ".json")
    assert loaded.items and all(a.feed_id == "news" for a in loaded.items)


def test_input_problems_are_data():
    [_, problem] = read_bytes(b'{"id": 1}\nnot json\n', "bad.jsonl", ".jsonl").problems
    assert (problem.file, problem.line, problem.message) == (
        "bad.jsonl",
        2,
        "invalid JSON: Expecting value",
    )
    assert str(problem) == "bad.jsonl:2: invalid JSON: Expecting value"


# --- every command that reads articles accepts the same inputs ----------------------------------

TITLE = "Talks in Mexico City"
BODY = "Rex Tillerson met officials on immigration."
RSS = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>t</title>
<item><title>{TITLE}</title><guid>1</guid><description>{BODY}</description></item>
</channel></rss>"""
INPUTS = {
    "text": ("story.txt", f"{TITLE}\n{BODY}\n"),
    "html": (
        "story.html",
        f"<!DOCTYPE html><html><head><title>Site</title><script>var x;</script></head>"
        f"<body><nav>Home</nav><h1>{TITLE}</h1><p>{BODY}</p></body></html>",
    ),
    "json": ("story.json", json.dumps({"title": TITLE, "text": BODY})),
    "jsonl": (
        "past.jsonl",
        json.dumps(
            {
                "id": "a1",
                "feed_id": "wire",
                "title": TITLE,
                "summary": BODY,
                "published": "2026-11-26T10:00:00Z",
            }
        )
        + "\n",
    ),
    "feed": ("wire.xml", RSS),
}
SMALL_CONFIG = """\
entities:
  - {id: mexico-city, name: Mexico City, type: PLACE}
"""


def _titles(command: str, out: str) -> list[str]:
    lines = [json.loads(line) for line in out.splitlines()]
    if command == "preview":
        return [TITLE for line in lines if TITLE in json.dumps(line["payload"])]
    return [line["title"] for line in lines]


@pytest.mark.parametrize("kind", [*INPUTS, "folder", "stdin"])
@pytest.mark.parametrize("command", ["tag", "try-rule", "preview"])
def test_tag_try_rule_and_preview_read_the_same_inputs(
    command, kind, tmp_path, monkeypatch, capsys
):
    cfg = tmp_path / "wirewatch.yaml"
    cfg.write_text(SMALL_CONFIG, encoding="utf-8")
    name, content = INPUTS["html" if kind == "stdin" else "text" if kind == "folder" else kind]
    if kind == "folder":
        (tmp_path / "in").mkdir()
        (tmp_path / "in" / name).write_text(content, encoding="utf-8")
        source = str(tmp_path / "in")
    elif kind == "stdin":
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(content.encode())))
        source = "-"
    else:
        (tmp_path / name).write_text(content, encoding="utf-8")
        source = str(tmp_path / name)
    query = [] if command == "tag" else ["mexico"]
    code = main([command, "--json", "--config", str(cfg), *query, source])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert _titles(command, captured.out) == [TITLE]
