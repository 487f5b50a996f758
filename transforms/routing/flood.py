"""Flood control: decide, per alert, whether it goes out now or waits for a digest.

Modelled on Alertmanager's routing (group_by / group_wait / group_interval / repeat_interval),
adapted to news: alerts are individual messages until a group exceeds `max_alerts` within
`group_interval`; the overflow waits and goes out as ONE digest ("and 14 more on Mexico").
Quiet hours hold a route's alerts (except the severities it lets through) until the window ends.
Pure functions over a small GroupState and an injected `now`, so tests drive the clock.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from wirewatch.transforms.model import Alert, Match

if TYPE_CHECKING:  # the store imports this module; config must not be imported at run time here
    from wirewatch.transforms.config import QuietHours, RouteConfig


COUNTED_KEPT = 16  # alert keys a group remembers having counted (see GroupState.counted)


class GroupState(BaseModel):
    window_start: datetime | None = None
    sent_in_window: int = 0
    last_digest_at: datetime | None = None
    due_at: datetime | None = None  # set while alerts of the group are held
    # The last alerts counted in this window: an alert decided 'send' whose worker died before
    # it went out is decided again when it is re-offered, and must not count twice (each
    # crash would otherwise cost the window one message, and a restart digest what an
    # uninterrupted run sends). Only the few latest can be in flight, so a few are kept.
    counted: list[str] = []


class Decision(BaseModel):
    action: Literal["send", "hold"]
    due_at: datetime | None = None
    state: GroupState


def group_label(match: Match, group_by: list[str]) -> str:
    """What the group is about, for keys and for digest titles: 'rule:quake · entity:Chile'."""
    tagged = match.article
    parts = []
    for field in group_by:
        if field == "rule":
            parts.append(f"rule:{match.rule_id}")
        elif field == "feed":
            parts.append(f"feed:{tagged.article.feed_id}")
        elif field == "story":
            parts.append(f"story:{tagged.story_id or tagged.article.id}")
        elif field == "entity":
            parts.append(f"entity:{tagged.entities[0].name if tagged.entities else '-'}")
        elif field == "topic":
            parts.append(f"topic:{tagged.topics[0].label if tagged.topics else '-'}")
    return " · ".join(parts)


def group_key(alert: Alert) -> str:
    """The flood-control group an alert counts in and is held in: one per sink, route and
    group label, so the same story on two sinks is throttled per sink."""
    return f"{alert.sink}|{alert.route}|{alert.group}"


def story_group_key(alert: Alert) -> str:
    """Where later copies of an alerted story wait to go out as one 'more sources' digest."""
    return f"{alert.sink}|story|{alert.match.article.story_id}"


def quiet_until(quiet: QuietHours | None, severity: str, now: datetime) -> datetime | None:
    """End of the quiet window `now` falls in, or None when alerts may go out now."""
    if quiet is None or severity in quiet.except_severity:
        return None
    zone = ZoneInfo(quiet.timezone)
    local = now.astimezone(zone)
    start, end = (time.fromisoformat(quiet.start), time.fromisoformat(quiet.end))
    today = local.date()
    for day in (today - timedelta(days=1), today):
        begin = datetime.combine(day, start, zone)
        finish = datetime.combine(day if end > start else day + timedelta(days=1), end, zone)
        if begin <= local < finish:
            return finish.astimezone(now.tzinfo)
    return None


def decide(
    route: RouteConfig | None, severity: str, state: GroupState, now: datetime, key: str = ""
) -> Decision:
    """Send now, or hold until `due_at`. A group with alerts on hold keeps holding (order).
    `key`: the alert's ledger key; an alert this window already counted is sent, uncounted."""
    if route is None:
        return Decision(action="send", state=state)
    quiet = route.quiet_hours
    if quiet and severity in quiet.except_severity and quiet_until(quiet, "", now):
        return Decision(action="send", state=state)  # breaks through quiet hours, on its own
    if key and key in state.counted and _window_open(route, state, now):
        return Decision(action="send", state=state)  # decided before its worker died
    if state.due_at is not None:
        return Decision(action="hold", due_at=state.due_at, state=state)
    quiet_end = quiet_until(route.quiet_hours, severity, now)
    if quiet_end is not None:
        return _hold(state, quiet_end)
    if not _window_open(route, state, now):
        if route.group_wait > 0:
            return _hold(state, now + timedelta(seconds=route.group_wait))
        return Decision(
            action="send",
            state=GroupState(
                window_start=now,
                sent_in_window=1,
                last_digest_at=state.last_digest_at,
                counted=[key] if key else [],
            ),
        )
    if state.sent_in_window < route.max_alerts:
        counted = (state.counted + [key])[-COUNTED_KEPT:] if key else state.counted
        return Decision(
            action="send",
            state=state.model_copy(
                update={"sent_in_window": state.sent_in_window + 1, "counted": counted}
            ),
        )
    window_end = state.window_start + timedelta(seconds=route.group_interval)
    repeat = timedelta(seconds=route.repeat_interval or route.group_interval)
    due = max(window_end, state.last_digest_at + repeat) if state.last_digest_at else window_end
    return _hold(state, due)


def _window_open(route: RouteConfig, state: GroupState, now: datetime) -> bool:
    return state.window_start is not None and now < state.window_start + timedelta(
        seconds=route.group_interval
    )


def after_flush(state: GroupState, now: datetime) -> GroupState:
    """A held group went out as one message: it counts in a (possibly new) window."""
    return GroupState(window_start=now, sent_in_window=1, last_digest_at=now)


def _hold(state: GroupState, due: datetime) -> Decision:
    return Decision(action="hold", due_at=due, state=state.model_copy(update={"due_at": due}))
