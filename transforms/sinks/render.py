"""Turn an Alert into text people read: Slack Block Kit, plain text, console lines.

What an editor decides on is on the message: the feed's display name, the author, the time as a
Slack date token (every reader sees their own time zone; the fallback is UTC text), the rule,
its description and labels, why it matched, an age marker when the article was published more
than the feed's `stale_after` before it was polled, and the topics and entities as a plain
"Topics: Economy · Trade" line (a `#economy` chip reads like a channel name). Digest lines are
dated, newest first, and each links to its article.

Everything that came from a feed is untrusted: in Slack mrkdwn it is escaped (&, <, >) so a title
cannot ping <!channel>, mention <@U123> or forge <https://evil|bank>; only http(s) URLs are ever
linked. Slack's documented limits are respected by truncating cleanly, never by failing.

Every rendering, Slack or plain, leaves through one door (`_slack_payload`, `clean`): bidi controls
and zero-width characters are removed there, because they let a feed make a headline read
differently from what it says (an RLO that reverses "moc.knab", a joiner hiding inside a word), and
every mrkdwn text object is marked `verbatim`, so Slack never turns a plain @channel, #channel or
bare URL in feed text into a mention or a link by itself.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from wirewatch.transforms.model import Alert, Hit

log = logging.getLogger(__name__)

BLOCKS_MAX = 50  # Slack: blocks in one message
SECTION_TEXT_MAX = 3000  # Slack: section text
CONTEXT_ELEMENTS_MAX = 10  # Slack: elements in a context block
URL_MAX = 1500  # longest link rendered; see _linked
DIGEST_LINES = 25  # digest lines in full (date, title, source); older ones as short links
DIGEST_LINK_SECTIONS = 10  # sections of short links before "…and N more, not listed"
FALLBACK_TEXT_MAX = 3000  # keep notifications short; Slack truncates at 40,000
SNIPPET_CHARS = 280
SEVERITY_ICON = {
    "info": ":large_blue_circle:",
    "warning": ":warning:",
    "critical": ":rotating_light:",
}


# Bidi embeddings/overrides/isolates, LRM/RLM/ALM, and the zero-width space/joiners/BOM.
INVISIBLE = (
    "\u202a\u202b\u202c\u202d\u202e"
    "\u2066\u2067\u2068\u2069"
    "\u200e\u200f\u061c"
    "\u200b\u200c\u200d\u2060\ufeff"
)
_DROP_INVISIBLE = dict.fromkeys(map(ord, INVISIBLE))
_ENCODE_IN_URL = {c: "".join(f"%{b:02X}" for b in chr(c).encode()) for c in _DROP_INVISIBLE}


def clean(text: str) -> str:
    """Feed text without the invisible characters that reorder or hide what a reader sees."""
    return text.translate(_DROP_INVISIBLE)


def escape(text: str) -> str:
    """Slack mrkdwn escaping: the only three characters Slack asks to escape."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def safe_url(url: str | None) -> str | None:
    """http(s) URLs only, with the characters that would break <url|text> percent-encoded."""
    if not url or not url.lower().startswith(("http://", "https://")):
        return None
    url = url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")
    return url.translate(_ENCODE_IN_URL)  # still the same address, but nothing left to hide


def _slack_payload(fallback: str, blocks: list[dict]) -> tuple[str, list[dict]]:
    """The door every Slack message leaves through: invisible characters removed from every text,
    every mrkdwn text object `verbatim` (walks sections, contexts and any block added later)."""

    def seal(node):
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                node["verbatim"] = True
            if isinstance(node.get("text"), str):
                node["text"] = clean(node["text"])
            for value in node.values():
                seal(value)
        elif isinstance(node, list):
            for item in node:
                seal(item)

    seal(blocks)
    return clean(fallback), blocks


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def snippet(text: str, hits: tuple[Hit, ...], width: int = SNIPPET_CHARS) -> str:
    """A window of `text` around the first hit, matched spans in *bold*, everything escaped."""
    spans = sorted({(h.start, h.end) for h in hits if 0 <= h.start < h.end <= len(text)})
    start = max(0, spans[0][0] - width // 3) if spans and len(text) > width else 0
    if start > 0:  # begin at a word, not inside one
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < spans[0][0] else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > (spans[-1][1] if spans else start) else end
    out, pos = [], start
    for s, e in spans:
        if s < pos or e > end:
            continue
        out += [escape(text[pos:s]), "*", escape(text[s:e]), "*"]
        pos = e
    out.append(escape(text[pos:end]))
    return ("…" if start > 0 else "") + "".join(out) + ("…" if end < len(text) else "")


def why(alert: Alert) -> str:
    """The evidence as one short line: each term once, with the fields it matched in."""
    fields: dict[str, list[str]] = {}
    for hit in alert.match.hits:
        seen = fields.setdefault(hit.term, [])
        if hit.field not in seen:
            seen.append(hit.field)
    parts = [f"{term} ({', '.join(where)})" for term, where in fields.items()]
    return " · ".join(parts[:12]) or "(rule matched)"


def feed_name(alert: Alert) -> str:
    """The feed's display name (`name:` in its config), else its config id."""
    return alert.display.feed_name or alert.match.article.article.feed_id


def utc_text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def slack_date(moment: datetime, layout: str = "{date_short_pretty} {time}") -> str:
    """A Slack date token: each reader sees the time in their own zone; clients that cannot
    render it (and notifications) show the UTC fallback."""
    return f"<!date^{int(moment.timestamp())}^{layout}|{utc_text(moment)}>"


def age(alert: Alert) -> timedelta | None:
    """How long before its poll the article was published, when that makes it old news
    (more than the feed's stale_after; 0 turns the marker off). An edit is news of the poll
    that found it, however old the entry: no marker."""
    article = alert.match.article.article
    limit = alert.display.stale_after
    waited = article.fetched_at - article.published
    stale = limit > 0 and waited.total_seconds() > limit and not article.edited
    return waited if stale else None


UPDATED = "Updated"
"""How an alert for an edited entry is marked: the feed changed the title or summary of an
entry it had listed before, and the new text matches a rule the old one did not."""
UPDATED_NOTE = "Edited by the feed since it was first seen; the new text matches this rule."


def duration_text(span: timedelta) -> str:
    """'3 months', '5 days', '14 hours', '40 minutes': the unit an editor would say."""
    seconds = span.total_seconds()
    for unit, size, least in (
        ("month", 30 * 86400, 60 * 86400),
        ("day", 86400, 2 * 86400),
        ("hour", 3600, 2 * 3600),
        ("minute", 60, 0),
    ):
        if seconds >= least:
            count = int(seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return "0 minutes"


def tag_text(text: str) -> str:
    """A topic or entity name that cannot read as a channel or a mention: no leading # or @."""
    return escape(clean(text).lstrip("#@＃＠ ").strip() or "?")


def tags_line(alert: Alert) -> str:
    """'Topics: Immigration · Trade   Entities: Mexico' (empty when the article has none)."""
    tagged = alert.match.article
    topics = " · ".join(tag_text(t.label or t.id) for t in tagged.topics[:4])
    entities = " · ".join(tag_text(e.name) for e in tagged.entities[:5])
    parts = ([f"Topics: {topics}"] if topics else []) + (
        [f"Entities: {entities}"] if entities else []
    )
    return "   ".join(parts)


def _authors(alert: Alert) -> str:
    names = [truncate(a, 80) for a in alert.match.article.article.authors[:3]]
    return ", ".join(names)


def _labels(alert: Alert) -> str:
    labels = sorted(alert.match.labels.items())[:6]
    return " · ".join(f"{escape(k)}: {escape(v)}" for k, v in labels)


def _linked(title: str, url: str | None) -> str:
    """<url|title>; an address longer than URL_MAX is left out (cutting it at Slack's text
    limit would break the markup, and no real article link is that long)."""
    return f"<{url}|{title}>" if url and len(url) <= URL_MAX else title


def _context(*texts: str) -> dict:
    elements = [{"type": "mrkdwn", "text": truncate(t, SECTION_TEXT_MAX)} for t in texts if t][
        :CONTEXT_ELEMENTS_MAX
    ]
    return {"type": "context", "elements": elements}


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_TEXT_MAX)}}


def slack_message(alert: Alert, body: str | None = None) -> tuple[str, list[dict]]:
    """(fallback text, Block Kit blocks) for one alert:

    :warning: *Update:* *<link|Headline>*          (*Updated:* when the feed edited the entry)
    :pencil2: Edited by the feed since it was first seen…    (only for an edited entry)
    :hourglass: Old story: published 3 months before it was polled      (only when stale)
    …snippet with the matched *terms* in bold…
    *Feed name* · by Author · <date token>
    rule *id* (warning) — description · desk: economics · why: term (field)
    Topics: Economy · Trade   Entities: Mexico

    A route's message template (transforms/sinks/templates.py) gives `body`: it replaces the
    snippet as the main section and is the fallback text; the rest stays as above. A template
    that fails for this alert leaves the default layout.
    """
    if body is None and alert.display.template:
        body = templated_body(alert)
        if body is not None:
            return slack_message(alert, body)
    match = alert.match
    article = match.article.article
    title = escape(truncate(article.title or "(untitled)", 250))
    headline = f"*{_linked(title, safe_url(article.link))}*"
    if article.edited:
        headline = f"*{UPDATED}:* {headline}"
    elif match.article.story_kind == "update":
        headline = f"*Update:* {headline}"
    icon = SEVERITY_ICON.get(match.severity, "")
    blocks: list[dict] = [_section(f"{icon} {headline}".strip())]
    if article.edited:
        blocks.append(_context(f":pencil2: {UPDATED_NOTE}"))
    old = age(alert)
    if old is not None:
        blocks.append(
            _context(
                f":hourglass: *Old story:* published {duration_text(old)} before it was "
                f"polled ({slack_date(article.published)})"
            )
        )
    body_hits = tuple(h for h in match.hits if h.field == "text")
    if body:
        blocks.append(_section(body))
    elif article.summary and body is None:
        blocks.append(_section(snippet(article.summary, body_hits)))
    authors = _authors(alert)
    blocks.append(
        _context(
            f"*{escape(truncate(feed_name(alert), 150))}*",
            f"by {escape(authors)}" if authors else "",
            slack_date(article.published),
        )
    )
    description = alert.display.description
    blocks.append(
        _context(
            f"rule *{escape(match.rule_id)}* ({escape(match.severity)})"
            + (f" — {escape(truncate(description, 300))}" if description else ""),
            _labels(alert),
            f"why: {escape(truncate(why(alert), 300))}",
        )
    )
    tags = tags_line(alert)
    if tags:
        blocks.append(_context(tags))
    marker = f"{UPDATED}: " if article.edited else ""
    fallback = truncate(
        f"[{match.rule_id}] {marker}{article.title} {article.link or ''}".strip(),
        FALLBACK_TEXT_MAX,
    )
    if body:
        return _slack_payload(truncate(body, FALLBACK_TEXT_MAX), blocks)
    return _slack_payload(escape(fallback), blocks)


def _feed_text(value: str, limit: int) -> str:
    return escape(clean(truncate(value, limit)))


def template_context(alert: Alert) -> dict:
    """What a route's message template sees (README, Message templates). Every feed-supplied
    string is escaped and cleaned here, before the template, as everywhere else in this module."""
    match = alert.match
    tagged = match.article
    article = tagged.article
    return {
        "article": {
            "title": _feed_text(article.title or "(untitled)", 250),
            "link": safe_url(article.link) or "",
            "summary": _feed_text(article.summary or "", 2000),
            "author": _feed_text(_authors(alert), 300),
            "published": slack_date(article.published),
            "published_utc": utc_text(article.published),
            "feed": _feed_text(feed_name(alert), 150),
        },
        "rule": {
            "id": escape(match.rule_id),
            "severity": escape(match.severity),
            "description": _feed_text(alert.display.description, 300),
            "labels": {escape(k): _feed_text(v, 200) for k, v in sorted(match.labels.items())},
        },
        "tags": {
            "topics": [tag_text(t.label or t.id) for t in tagged.topics],
            "entities": [tag_text(e.name) for e in tagged.entities],
        },
        "updated": article.edited,
    }


def templated_body(alert: Alert) -> str | None:
    """The route's template rendered for this alert; None (and one log line) when it fails, so
    the alert goes out in the default layout instead of not at all."""
    from wirewatch.transforms.sinks.templates import render_template

    try:
        return render_template(alert.display.template, template_context(alert))
    except Exception as exc:  # any template failure: never lose an alert over its layout
        reason = str(exc).splitlines()[0] if str(exc) else ""
        log.warning(
            "template of route %d failed for alert %s (%s: %s); sent in the default layout",
            alert.route,
            alert.key,
            type(exc).__name__,
            reason,
        )
        return None


def slack_reply(alert: Alert) -> tuple[str, list[dict]]:
    """'Also: *FT*, <date> — <link|edited headline>' as a thread reply under the story's first
    alert."""
    article = alert.match.article.article
    title = escape(truncate(article.title or "(untitled)", 250))
    source = escape(truncate(feed_name(alert), 150))
    text = (
        f"Also: *{source}*, {slack_date(article.published)} — "
        f"{_linked(title, safe_url(article.link))}"
    )
    fallback = escape(f"Also: {feed_name(alert)} — {truncate(article.title, 200)}")
    return _slack_payload(fallback, [_section(text)])


def plain_text(alert: Alert) -> str:
    """A readable multi-line rendering for the console and previews (no escaping needed)."""
    match = alert.match
    article = match.article.article
    topics = ", ".join(f"{t.label or t.id} {t.score:.2f}" for t in match.article.topics[:5])
    entities = ", ".join(f"{e.name} ({e.type})" for e in match.article.entities[:6])
    update = "UPDATE " if match.article.story_kind == "update" else ""
    if article.edited:
        update = f"{UPDATED.upper()} "
    authors = _authors(alert)
    lines = [
        f"{update}[{match.severity}] {match.rule_id} · {feed_name(alert)} · "
        f"{utc_text(article.published)}" + (f" · by {authors}" if authors else ""),
        f"  {article.title}",
    ]
    if article.edited:
        lines.append(f"  {UPDATED_NOTE}")
    old = age(alert)
    if old is not None:
        lines.append(f"  OLD STORY: published {duration_text(old)} before it was polled")
    if article.link:
        lines.append(f"  {article.link}")
    if alert.display.description:
        lines.append(f"  rule: {alert.display.description}")
    if match.labels:
        lines.append("  labels: " + ", ".join(f"{k}: {v}" for k, v in sorted(match.labels.items())))
    lines += [
        f"  why: {why(alert)}",
        f"  topics: {topics or '-'}",
        f"  entities: {entities or '-'}",
    ]
    return clean("\n".join(lines))


def _digest_title(alerts: list[Alert], label: str) -> str:
    return f"{len(alerts)} alerts · {label}" if label else f"{len(alerts)} alerts"


def newest_first(alerts: list[Alert]) -> list[Alert]:
    """Digest order: newest publication first; ties by source and title, so it is stable."""
    return sorted(
        alerts,
        key=lambda a: (
            -a.match.article.article.published.timestamp(),
            feed_name(a),
            a.match.article.article.title,
        ),
    )


def _digest_line(alert: Alert) -> str:
    article = alert.match.article.article
    title = escape(truncate(article.title or "(untitled)", 200))
    return (
        f"• {slack_date(article.published)} — *{_linked(title, safe_url(article.link))}* — "
        f"{escape(truncate(feed_name(alert), 80))}"
    )


def _short_link(alert: Alert) -> str:
    """An older digest entry as a short link: '<link|FT 14:05 UTC>' (its title is the link's
    target page)."""
    article = alert.match.article.article
    label = escape(f"{truncate(feed_name(alert), 40)} {article.published:%d %b %H:%M} UTC")
    return _linked(label, safe_url(article.link))


def _pack(items: list[str], sep: str, limit: int) -> list[tuple[str, int]]:
    """Items joined into as few texts of at most `limit` characters as they fit in, each with
    how many items it holds. Every item is shorter than `limit` (titles, names and links are
    capped), so no link is ever cut in two."""
    packed: list[tuple[str, int]] = []
    current, count = "", 0
    for item in items:
        joined = f"{current}{sep}{item}" if current else item
        if len(joined) > limit and current:
            packed.append((current, count))
            joined, count = item, 0
        current, count = joined, count + 1
    return packed + ([(current, count)] if current else [])


def slack_digest(alerts: list[Alert], label: str) -> tuple[str, list[dict]]:
    """One message for a held group:

    :newspaper: *12 alerts · rule:layoffs*
    Nov 26 09:10 – 14:05 · rules: layoffs · feeds: FT, Reuters
    • <date> — *<link|Headline>* — Feed          (newest first, DIGEST_LINES of them)
    …and 40 more, older: <link|FT Nov 26 08:12> · <link|Reuters Nov 26 07:55> · …
    """
    if not alerts:
        return _slack_payload("0 alerts", [_section(escape(_digest_title(alerts, label)))])
    ordered = newest_first(alerts)
    full, rest = ordered[:DIGEST_LINES], ordered[DIGEST_LINES:]
    header = f":newspaper: *{escape(_digest_title(alerts, label))}*"
    times = [a.match.article.article.published for a in ordered]
    rules = sorted({a.match.rule_id for a in alerts})
    feeds = sorted({feed_name(a) for a in alerts})
    span = slack_date(times[-1]) + (f" – {slack_date(times[0])}" if times[0] != times[-1] else "")
    blocks = [
        _section(header),
        _context(
            span,
            "rules: " + ", ".join(escape(r) for r in rules[:20]),
            "feeds: " + ", ".join(escape(truncate(f, 80)) for f in feeds[:20]),
        ),
    ]
    blocks += [_section(text) for text, _ in _pack([_digest_line(a) for a in full], "\n", 2900)]
    if rest:
        listed = _pack([_short_link(a) for a in rest], " · ", 2900)[:DIGEST_LINK_SECTIONS]
        count = sum(n for _, n in listed)
        blocks.append(_section(f"…and {len(rest)} more, older: {listed[0][0]}"))
        blocks += [_section(text) for text, _ in listed[1:]]
        if count < len(rest):
            blocks.append(
                _section(
                    f"…and {len(rest) - count} more, not listed: a Slack message holds "
                    f"{BLOCKS_MAX} blocks"
                )
            )
    fallback = f"{_digest_title(alerts, label)} — newest: {ordered[0].match.article.article.title}"
    return _slack_payload(escape(truncate(fallback, FALLBACK_TEXT_MAX)), blocks[:BLOCKS_MAX])


def plain_digest(alerts: list[Alert], label: str) -> str:
    lines = [f"[digest] {_digest_title(alerts, label)}"]
    for alert in newest_first(alerts):
        article = alert.match.article.article
        lines.append(
            f"  - {utc_text(article.published)} {article.title} ({feed_name(alert)})"
            + (f" {article.link}" if article.link else "")
        )
    return clean("\n".join(lines))
