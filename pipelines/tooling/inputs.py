"""Articles from whatever a person hands the CLI: the one reader behind `tag`, `try-rule`,
`preview`, rule examples and `--archive`.

Why one reader: a rule's examples, a one-off try, a preview and a backtest over last week's
output must see articles exactly as the pipeline would, and must all accept the same inputs:
plain text (the first non-empty line is the title), an HTML article page, a JSON article (an
Article or TaggedArticle dump, a Match, a `wirewatch parse` line, or any object with a title
and a body-like field), JSON lines or a JSON array of those, a feed file (RSS, Atom, RDF, JSON
Feed, parsed exactly as the pipeline parses it), a folder of any of these, and '-' for stdin.

What a file holds is sniffed from its content, because people paste whatever they have: an
HTML document is an article page unless its root element is a feed's. A suffix only settles
what the content cannot (a `.jsonl` file is JSON, so its broken lines are reported as such; a
`.xml` file that is no feed gets the feed parser's reason). Nothing here raises for a bad input:
every problem is a `Problem` naming the input. No Beam.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from wirewatch.transforms.errors import InputError, Problem
from wirewatch.transforms.model import Article, TaggedArticle, utc_now

JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")
FEED_SUFFIXES = (".xml", ".rss", ".atom", ".rdf")
TEXT_SUFFIXES = (".txt", ".text", ".md")
PATH_SUFFIXES = JSON_SUFFIXES + FEED_SUFFIXES + TEXT_SUFFIXES + (".html", ".htm")

Item = Article | TaggedArticle

INPUTS_HELP = "text, an HTML page, a JSON article, JSONL, a feed file or a folder; '-' reads stdin"


def add_files_argument(parser, *, nargs: str) -> None:
    """The FILE arguments of every command that reads them with `read_source` (try-rule,
    preview): one definition, so their --help names the same inputs."""
    parser.add_argument("files", nargs=nargs, metavar="FILE", help=INPUTS_HELP)


_BODY_FIELDS = ("summary", "body", "text", "content", "description")
_HTML_HINT = re.compile(r"<(html|body|p|div|article|h1|title|br)\b", re.I)
_DROP_TAGS = ("script", "style", "noscript", "template", "nav", "footer")
# Declarations, processing instructions, comments and a DOCTYPE before the root element.
_PROLOG = re.compile(
    rb"(?:\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>)*", re.S | re.I
)
_ROOT = re.compile(rb"<([A-Za-z_][\w.:-]*)")
_FEED_ROOTS = {"rss", "feed", "rdf"}


@dataclass
class Loaded:
    """What a source gave: articles (some already tagged) and problems naming the input."""

    items: list[Item] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def extend(self, other: Loaded) -> None:
        self.items += other.items
        self.problems += other.problems


def read_source(source: str) -> Loaded:
    """A path (file or folder) or '-' for stdin."""
    if source == "-":
        stdin = getattr(sys.stdin, "buffer", None)  # a StringIO (tests, embedding) has none
        return read_bytes(stdin.read() if stdin else sys.stdin.read().encode("utf-8"), "stdin")
    path = Path(source)
    if not path.is_dir():
        return read_file(path)
    loaded = Loaded()
    for child in files_below(path):
        loaded.extend(read_file(child))
    if not loaded.items and not loaded.problems:
        loaded.problems.append(Problem(source, message="the folder holds no files"))
    return loaded


def files_below(folder: Path) -> list[Path]:
    """The files in a folder and its subfolders, sorted, without hidden ones. Hidden is judged
    only on the parts below `folder`, so a folder under ~/.cache (or given as '.') is read.
    A link to nothing is listed too: reading it is then an input error, not a silent skip."""
    return [
        child
        for child in sorted(folder.rglob("*"))
        if (child.is_file() or (child.is_symlink() and not child.exists()))
        and not any(part.startswith(".") for part in child.relative_to(folder).parts)
    ]


def read_file(path: Path) -> Loaded:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return Loaded(problems=[Problem(str(path), message=f"cannot read: {exc.strerror}")])
    return read_bytes(data, str(path), path.suffix.lower())


def read_bytes(data: bytes, source: str, suffix: str = "") -> Loaded:
    """Whatever `data` holds (see the module docstring), as articles and problems."""
    kind = sniff(data, suffix)
    if kind == "empty":
        return Loaded(problems=[Problem(source, message="empty input")])
    if kind == "json":
        return _read_json(data, source)
    if kind == "feed":
        return read_feed(data, source)
    text = data.decode("utf-8", "replace").lstrip("\ufeff")
    title, body = _from_html(text) if kind == "html" else split_plain(text)
    return Loaded(items=[_article(f"{source}:1", title, body)])


def sniff(data: bytes, suffix: str = "") -> str:
    """'empty', 'json', 'feed', 'html' or 'text'."""
    head = data[:65536].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.strip():
        return "empty"
    if suffix in JSON_SUFFIXES:
        return "json"
    if head[:1] in (b"{", b"["):
        text = data.decode("utf-8", "replace").lstrip("\ufeff")
        if _parses(text.lstrip().split("\n", 1)[0]) or _parses(text):
            return "json"
        return "text"  # text that happens to start with a bracket
    if head[:1] == b"<":
        prolog = _PROLOG.match(head)
        root = _ROOT.match(head, prolog.end() if prolog else 0)
        name = root.group(1).decode("ascii", "replace").rsplit(":", 1)[-1].lower() if root else ""
        if name in _FEED_ROOTS:
            return "feed"
        if name == "html" or _HTML_HINT.search(head[:4096].decode("utf-8", "replace")):
            return "html"
        if suffix in FEED_SUFFIXES or head.startswith(b"<?xml"):
            return "feed"  # some other XML: the feed parser says what it is
        return "html"  # tag soup: its text
    if suffix in FEED_SUFFIXES:
        return "feed"
    if _HTML_HINT.search(head[:4096].decode("utf-8", "replace")):
        return "html"
    return "text"


def article_from_text(text: str, ident: str, feed_id: str = "example") -> Article:
    """One article from text as a person wrote it (plain, HTML or a JSON article); plain text:
    the first non-empty line is the title, the rest the summary. InputError when it holds none."""
    data = text.encode("utf-8")
    kind = sniff(data)
    if kind in ("text", "html"):
        title, body = _from_html(text) if kind == "html" else split_plain(text)
        return _article(ident, title, body, feed_id=feed_id)
    loaded = read_bytes(data, ident)
    if loaded.problems or not loaded.items:
        raise InputError(loaded.problems or [Problem(ident, message="no article in the input")])
    item = loaded.items[0]
    return item.article if isinstance(item, TaggedArticle) else item


def split_plain(text: str) -> tuple[str, str]:
    """(title, body) of plain text: the first non-empty line is the title, the rest the body."""
    lines = text.strip().splitlines() or [""]
    return lines[0].strip(), "\n".join(lines[1:]).strip()


def item_from_json(obj, ident: str) -> Item | None:
    """An Article, a TaggedArticle, a Match (its article), a `wirewatch parse` line or a loose
    object with a title and a body-like field; None for a parse error line. Raises ValueError
    for anything else."""
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object per line")
    if obj.get("type") == "error":
        return None
    if obj.get("type") == "article":
        obj = {k: v for k, v in obj.items() if k not in ("type", "input")}
    if "rule_id" in obj and isinstance(obj.get("article"), dict):
        obj = obj["article"]
    try:
        if isinstance(obj.get("article"), dict):
            return TaggedArticle.model_validate(obj)
        return Article.model_validate(obj)
    except ValidationError:
        pass
    if isinstance(obj.get("article"), dict):
        obj = obj["article"]  # a TaggedArticle dump that is not quite one: read its article
    title = str(obj.get("title") or "")
    body = next((str(obj[f]) for f in _BODY_FIELDS if obj.get(f)), "")
    if not title and not body:
        raise ValueError(
            f"not an article: the object has neither 'title' nor any of {', '.join(_BODY_FIELDS)}"
        )
    if _HTML_HINT.search(body[:4096]):
        body = _from_html(body)[1]
    return _article(ident, title, body, link=obj.get("link") or obj.get("url"))


def read_feed(data: bytes, source: str) -> Loaded:
    """Every entry of a feed file, parsed exactly as the pipeline parses it."""
    from wirewatch.transforms.ingest.parse import parse_feed  # feedparser is heavy

    feed_id = Path(source).stem if source != "stdin" else "stdin"
    url = os.path.abspath(source) if source != "stdin" else "stdin"
    result = parse_feed(data, feed_id=feed_id, feed_url=url)
    problems = [Problem(source, message=f"{d.reason}: {d.detail}") for d in result.dead_letters]
    return Loaded(items=list(result.articles), problems=problems)


def make_tagger(config, tagger=None):
    """article -> TaggedArticle with the config's taxonomy and gazetteer (or with `tagger`, a
    Tagger the caller already built). Items that are already TaggedArticles are re-tagged, so
    a backtest sees today's taxonomy. Without the tagging module, articles stay untagged
    (topic:/entity: rules then cannot match)."""
    if tagger is None:
        try:
            from wirewatch.transforms.tagging.tagger import Tagger
        except ImportError:
            tagger = None
        else:
            tagger = Tagger.from_config(config)

    def tag(item: Item) -> TaggedArticle:
        article = item.article if isinstance(item, TaggedArticle) else item
        if tagger is not None:
            return tagger.tag(article)
        return item if isinstance(item, TaggedArticle) else TaggedArticle(article=article)

    return tag


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _read_json(data: bytes, source: str) -> Loaded:
    """One JSON value (an article or an array of them), else JSON lines; problems by line."""
    text = data.decode("utf-8", "replace").lstrip("\ufeff")
    try:
        whole = json.loads(text)
    except json.JSONDecodeError as exc:
        if text.lstrip().startswith("["):
            return Loaded(problems=[Problem(source, message=f"invalid JSON: {exc}")])
        rows = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        as_lines = True
    else:
        if isinstance(whole, dict) and "jsonfeed.org/version/" in str(whole.get("version")):
            return read_feed(data, source)
        rows = list(enumerate(whole if isinstance(whole, list) else [whole], 1))
        as_lines = False
    loaded = Loaded()
    for number, row in rows:
        try:
            value = json.loads(row) if as_lines else row
            item = item_from_json(value, f"{source}:{number}")
        except json.JSONDecodeError as exc:
            loaded.problems.append(Problem(source, line=number, message=f"invalid JSON: {exc.msg}"))
        except ValueError as exc:
            loaded.problems.append(Problem(source, line=number, message=str(exc)))
        else:
            if item is not None:
                loaded.items.append(item)
    return loaded


def _from_html(markup: str) -> tuple[str, str]:
    """(title, body) of an article page: the h1 (else <title>), then paragraphs and list items;
    scripts, styles and navigation dropped."""
    import lxml.html

    parser = lxml.html.HTMLParser(no_network=True, remove_comments=True, remove_pis=True)
    markup = re.sub(r"^\s*<\?xml[^>]*\?>", "", markup)  # lxml refuses str with a declaration
    root = lxml.html.fromstring(markup, parser=parser)
    for bad in root.xpath("|".join(f"//{tag}" for tag in _DROP_TAGS)):
        bad.drop_tree()
    title = ""
    for path in ("//h1", "//title"):
        found = root.xpath(path)
        if found and found[0].text_content().strip():
            title = " ".join(found[0].text_content().split())
            found[0].drop_tree()
            break
    blocks = [" ".join(el.text_content().split()) for el in root.xpath("//p|//li|//h2|//h3")]
    body = "\n".join(b for b in blocks if b) or " ".join(root.text_content().split())
    return title, body


def _article(
    ident: str, title: str, body: str, link: str | None = None, feed_id: str = "example"
) -> Article:
    return Article(
        id=ident, feed_id=feed_id, title=title, summary=body, link=link, published=utc_now()
    )
