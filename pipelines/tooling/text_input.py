"""Turn what a person hands `wirewatch tag` (plain text, HTML or a JSON article) into an Article.

Why guess the format instead of a flag: people paste whatever they have. JSON is tried first
(an Article dump, or any object with a title and a body-like field), then HTML (a document or a
fragment with tags), else plain text whose first non-empty line is the title.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timezone

from wirewatch.transforms.model import Article

_BODY_FIELDS = ("summary", "body", "text", "content", "description")
_HTML_HINT = re.compile(r"<(html|body|p|div|article|h1|title|br)\b", re.I)
_DROP_TAGS = ("script", "style", "noscript", "template", "nav", "footer")


class InputError(ValueError):
    """The input is empty or not an article; the message says what was expected."""


def article_from_text(data: str, source: str) -> Article:
    stripped = data.strip()
    if not stripped:
        raise InputError(f"{source}: empty input. Expected plain text, HTML or a JSON article")
    if stripped[0] in "{[":
        try:
            return _from_json(json.loads(stripped), source)
        except json.JSONDecodeError:
            pass  # text that happens to start with a bracket
    if _HTML_HINT.search(stripped[:4096]):
        title, body = _from_html(stripped)
    else:
        title, body = split_plain(stripped)
    return _article(source, title, body)


def _from_json(value, source: str) -> Article:
    if isinstance(value, dict) and isinstance(value.get("article"), dict):
        value = value["article"]  # a TaggedArticle dump
    if not isinstance(value, dict):
        raise InputError(
            f"{source}: JSON input must be an object with 'title' and one of "
            f"{', '.join(_BODY_FIELDS)}; got {type(value).__name__}"
        )
    try:
        return Article.model_validate(value)
    except ValueError:
        pass
    title = str(value.get("title") or "")
    body = next((str(value[f]) for f in _BODY_FIELDS if value.get(f)), "")
    if not title and not body:
        raise InputError(
            f"{source}: JSON object has neither 'title' nor any of {', '.join(_BODY_FIELDS)}"
        )
    if _HTML_HINT.search(body[:4096]):
        body = _from_html(body)[1]
    return _article(source, title, body, link=value.get("link") or value.get("url"))


def _from_html(markup: str) -> tuple[str, str]:
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


def split_plain(text: str) -> tuple[str, str]:
    """(title, body) of plain text: the first non-empty line is the title, the rest the body."""
    lines = text.strip().splitlines() or [""]
    return lines[0].strip(), "\n".join(lines[1:]).strip()


def _article(source: str, title: str, body: str, link: str | None = None) -> Article:
    digest = hashlib.sha1(f"{title}\n{body}".encode()).hexdigest()[:16]
    return Article(
        id=f"tag:{digest}",
        feed_id=source,
        title=title,
        summary=body,
        link=link,
        published=datetime.now(timezone.utc),
    )
