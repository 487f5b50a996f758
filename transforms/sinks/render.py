"""Turn an Alert into text people read: Slack Block Kit, plain text, console lines.

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

from wirewatch.transforms.model import Alert, Hit

SECTION_TEXT_MAX = 3000  # Slack: section text
CONTEXT_ELEMENTS_MAX = 10  # Slack: elements in a context block
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


def _field_text(alert: Alert, field: str) -> str:
    article = alert.match.article.article
    return article.title if field == "title" else article.summary


def slack_message(alert: Alert) -> tuple[str, list[dict]]:
    """(fallback text, Block Kit blocks) for one alert."""
    match = alert.match
    article = match.article.article
    title = escape(truncate(article.title or "(untitled)", 250))
    url = safe_url(article.link)
    headline = f"*<{url}|{title}>*" if url else f"*{title}*"
    if match.article.story_kind == "update":
        headline = f"*Update:* {headline}"
    icon = SEVERITY_ICON.get(match.severity, "")
    body_hits = tuple(h for h in match.hits if h.field == "text")
    text_block = snippet(article.summary, body_hits) if article.summary else ""
    published = article.published.strftime("%Y-%m-%d %H:%M UTC")
    blocks: list[dict] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": truncate(f"{icon} {headline}".strip(), SECTION_TEXT_MAX),
            },
        },
    ]
    if text_block:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": truncate(text_block, SECTION_TEXT_MAX)},
            }
        )
    meta = [
        f"*{escape(article.feed_id)}*",
        published,
        f"rule *{escape(match.rule_id)}* ({escape(match.severity)})",
        f"why: {escape(truncate(why(alert), 300))}",
    ]
    chips = [f"#{escape(t.id)}" for t in match.article.topics[:4]]
    chips += [escape(e.name) for e in match.article.entities[:4]]
    if chips:
        meta.append(" · ".join(chips))
    blocks.append(
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": truncate(m, SECTION_TEXT_MAX)}
                for m in meta[:CONTEXT_ELEMENTS_MAX]
            ],
        }
    )
    fallback = truncate(
        f"[{match.rule_id}] {article.title} {article.link or ''}".strip(), FALLBACK_TEXT_MAX
    )
    return _slack_payload(escape(fallback), blocks)


def slack_reply(alert: Alert) -> tuple[str, list[dict]]:
    """'Also: FT, 14:05 — edited headline' as a thread reply under the story's first alert."""
    article = alert.match.article.article
    title = escape(truncate(article.title or "(untitled)", 250))
    url = safe_url(article.link)
    linked = f"<{url}|{title}>" if url else title
    text = f"Also: {escape(article.feed_id)}, {article.published:%H:%M} — {linked}"
    fallback = escape(f"Also: {article.feed_id} — {truncate(article.title, 200)}")
    return _slack_payload(
        fallback,
        [{"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_TEXT_MAX)}}],
    )


def plain_text(alert: Alert) -> str:
    """A readable multi-line rendering for the console and previews (no escaping needed)."""
    match = alert.match
    article = match.article.article
    topics = ", ".join(f"{t.id} {t.score:.2f}" for t in match.article.topics[:5]) or "-"
    entities = ", ".join(f"{e.name} ({e.type})" for e in match.article.entities[:6]) or "-"
    update = "UPDATE " if match.article.story_kind == "update" else ""
    lines = [
        f"{update}[{match.severity}] {match.rule_id} · {article.feed_id} · "
        f"{article.published.strftime('%Y-%m-%d %H:%M UTC')}",
        f"  {article.title}",
    ]
    if article.link:
        lines.append(f"  {article.link}")
    lines += [f"  why: {why(alert)}", f"  topics: {topics}", f"  entities: {entities}"]
    return clean("\n".join(lines))


def _digest_title(alerts: list[Alert], label: str) -> str:
    return f"{len(alerts)} alerts · {label}" if label else f"{len(alerts)} alerts"


def slack_digest(alerts: list[Alert], label: str) -> tuple[str, list[dict]]:
    """One message for a held group: a linked line per article, cut cleanly at Slack's limits."""
    lines, shown = [], 0
    for alert in alerts:
        article = alert.match.article.article
        url = safe_url(article.link)
        title = escape(truncate(article.title or "(untitled)", 200))
        line = (f"• <{url}|{title}>" if url else f"• {title}") + (
            f" — {escape(article.feed_id)}, {article.published:%H:%M}"
        )
        if sum(len(x) + 1 for x in lines) + len(line) + 40 > SECTION_TEXT_MAX:
            break
        lines.append(line)
        shown += 1
    if shown < len(alerts):
        lines.append(f"…and {len(alerts) - shown} more")
    rules = sorted({a.match.rule_id for a in alerts})
    header = f":newspaper: *{escape(_digest_title(alerts, label))}*"
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": truncate(header, SECTION_TEXT_MAX)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": truncate(
                        "rules: " + ", ".join(escape(r) for r in rules), SECTION_TEXT_MAX
                    ),
                }
            ],
        },
    ]
    return _slack_payload(escape(truncate(_digest_title(alerts, label), FALLBACK_TEXT_MAX)), blocks)


def plain_digest(alerts: list[Alert], label: str) -> str:
    lines = [f"[digest] {_digest_title(alerts, label)}"]
    for alert in alerts:
        article = alert.match.article.article
        lines.append(
            f"  - {article.title} ({article.feed_id}, {article.published:%Y-%m-%d %H:%M})"
            + (f" {article.link}" if article.link else "")
        )
    return clean("\n".join(lines))
