"""`wirewatch preview RULE_OR_QUERY FILE...`: exactly what each sink would receive.

RULE_OR_QUERY is a rule id from the config (its severity, labels, description and routes apply)
or an ad-hoc query (routed like a rule without labels). The matching articles go through the
config's routes and flood control as one cycle from an empty ledger would take them, so a burst
that `group_wait` or `max_alerts` turns into a digest previews as that digest. Each message is
printed under the sink that would receive it: Slack's Block Kit payload, the console's text, the
JSON a jsonl or webhook sink writes (`--json`: one JSON line per message, with the payload). A
sink that is not set up (an optional Slack sink without credentials) is previewed all the same;
with no route to any sink, the Slack message is shown. Not shown: thread replies
for later copies of a story (they need the story index). No Beam import. Exit 0 when something
matched, 1 when nothing did or an input was unreadable.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

from wirewatch.pipelines.tooling.inputs import add_files_argument
from wirewatch.transforms.config import ConfigError, load_config

NAME = "preview"
HELP = "print exactly what each sink would receive (Slack Block Kit, console text, JSON)"
UNROUTED = {"slack": "slack"}  # shown when the rule reaches no sink


def add_arguments(parser) -> None:
    parser.add_argument(
        "rule", metavar="RULE_OR_QUERY", help="a rule id from the config, or a query"
    )
    add_files_argument(parser, nargs="+")


@dataclass
class Message:
    sink: str
    type: str
    alerts: list  # one alert, or the alerts of one digest
    held: str = ""  # why it waits (group_wait, max_alerts, quiet hours), when it does


def run(args) -> int:
    from wirewatch.pipelines.tooling.inputs import Loaded, make_tagger, read_source
    from wirewatch.transforms.rules.ruleset import compile_rules
    from wirewatch.transforms.rules.schema import RuleConfig

    config = load_config(args.config, require_secrets=False)
    rule_ids = [r.id for r in config.rules]
    rule = next((r for r in config.rules if r.id == args.rule), None) or RuleConfig(
        id="preview", query=args.rule
    )
    config = config.model_copy(update={"rules": [rule]})
    try:
        ruleset = compile_rules(config)
    except ConfigError as error:
        if rule.id != "preview":
            raise
        for problem in error.problems:  # the query is on the command line: no file, no field
            print(f"error: {problem.explained()}", file=sys.stderr)  # as try-rule says it
        return 2
    tag = make_tagger(config)
    loaded = Loaded()
    for source in args.files:
        loaded.extend(read_source(source))
    for problem in loaded.problems:
        print(f"error: {problem}", file=sys.stderr)
    matches = [m for item in loaded.items for m in ruleset.match(tag(item))]
    for message in messages(config, rule, matches):
        print_message(message, rule.id, as_json=args.json)
    if not matches:
        hint = _as_query(args.rule, rule_ids) if rule.id == "preview" else ""
        print(f"no article matched {rule.id!r} ({rule.query}){hint}", file=sys.stderr)
    return 0 if matches and not loaded.problems else 1


def _as_query(given: str, rule_ids: list[str]) -> str:
    """When a query that matched nothing looks like a mistyped rule id (`layoff` for the rule
    `layoffs`), say so: it was read as a query without a word."""
    from wirewatch.transforms.config.messages import did_you_mean

    close = did_you_mean(given, rule_ids)
    return f"; read as a query, not as a rule id{close}" if close else ""


def messages(config, rule, matches) -> list[Message]:
    """The messages one cycle would send for these matches, per sink: flood control decides
    (from an empty ledger, now) which go out alone and which wait to go out as one digest."""
    from wirewatch.transforms.model import Alert, utc_now
    from wirewatch.transforms.routing.flood import GroupState, decide, group_key, group_label
    from wirewatch.transforms.routing.router import Router

    router = Router(config)
    deliveries = config.deliveries_for(rule)
    types = {name: sink.type for name, sink in config.sinks.items()}
    if not deliveries:
        deliveries, types = [(-1, name) for name in UNROUTED], UNROUTED
    now = utc_now()
    states: dict[str, GroupState] = {}
    sent: list[Message] = []
    held: dict[str, Message] = {}
    for match in matches:
        for index, sink in deliveries:
            route = config.routes[index] if index >= 0 else None
            group = group_label(match, route.group_by if route else ["rule"])
            alert = Alert.for_match(
                match, sink, route=index, group=group, display=router.display(match, index)
            )
            key = group_key(alert)
            decision = decide(route, match.severity, states.get(key, GroupState()), now, alert.key)
            states[key] = decision.state
            if decision.action == "send":
                sent.append(Message(sink, types[sink], [alert]))
                continue
            waited = (decision.due_at - now).total_seconds()
            why = f"held {waited:.0f} s by route {index}'s flood control or quiet hours"
            held.setdefault(key, Message(sink, types[sink], [], why)).alerts.append(alert)
    return sent + list(held.values())


def payload(message: Message):
    """What the sink receives: as SlackSink posts it, ConsoleSink prints it, JsonlSink writes a
    line and WebhookSink posts its body."""
    from wirewatch.transforms.sinks.render import (
        plain_digest,
        plain_text,
        slack_digest,
        slack_message,
    )

    alerts, label = message.alerts, message.alerts[0].group
    one = len(alerts) == 1
    if message.type == "slack":
        text, blocks = slack_message(alerts[0]) if one else slack_digest(alerts, label)
        return {"text": text, "blocks": blocks, "unfurl_links": False}
    if message.type == "console":
        return plain_text(alerts[0]) if one else plain_digest(alerts, label)
    if one:
        return alerts[0].model_dump(mode="json")
    return {"digest": label, "alerts": [a.model_dump(mode="json") for a in alerts]}


def print_message(message: Message, rule_id: str, *, as_json: bool) -> None:
    body = payload(message)
    kind = "alert" if len(message.alerts) == 1 else f"digest of {len(message.alerts)}"
    if as_json:
        line = {
            "sink": message.sink,
            "type": message.type,
            "rule": rule_id,
            "kind": "alert" if len(message.alerts) == 1 else "digest",
            "articles": [a.match.article.article.id for a in message.alerts],
            "held": message.held,
            "payload": body,
        }
        print(json.dumps(line, ensure_ascii=False))
        return
    held = f" ({message.held})" if message.held else ""
    print(f"=== {message.sink} ({message.type}): {kind}{held}")
    print(body if isinstance(body, str) else json.dumps(body, indent=2, ensure_ascii=False))
    print()
