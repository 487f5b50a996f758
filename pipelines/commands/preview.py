"""`wirewatch preview RULE_OR_QUERY FILE...`: the exact Slack message an article would produce.

RULE_OR_QUERY is a rule id from the config (its severity and labels apply) or an ad-hoc query.
Prints, per matching article, the text rendering and the Block Kit JSON (`--json`: one JSON line
per article with the payload), so a rule's alerts can be read before the rule goes live.
No Beam import. Exit 0 when something matched, 1 when nothing did or an input was unreadable.
"""

from __future__ import annotations

import json
import sys

from wirewatch.pipelines.tooling.inputs import add_files_argument
from wirewatch.transforms.config import load_config

NAME = "preview"
HELP = "print the Slack Block Kit message (and a text rendering) an article would produce"


def add_arguments(parser) -> None:
    parser.add_argument(
        "rule", metavar="RULE_OR_QUERY", help="a rule id from the config, or a query"
    )
    add_files_argument(parser, nargs="+")


def run(args) -> int:
    from wirewatch.pipelines.tooling.inputs import Loaded, make_tagger, read_source
    from wirewatch.transforms.model import Alert
    from wirewatch.transforms.rules.ruleset import compile_rules
    from wirewatch.transforms.rules.schema import RuleConfig
    from wirewatch.transforms.sinks.render import plain_text, slack_message

    config = load_config(args.config)
    rule = next((r for r in config.rules if r.id == args.rule), None) or RuleConfig(
        id="preview", query=args.rule
    )
    ruleset = compile_rules(config.model_copy(update={"rules": [rule]}))
    tag = make_tagger(config)
    loaded = Loaded()
    for source in args.files:
        loaded.extend(read_source(source))
    for problem in loaded.problems:
        print(f"error: {problem}", file=sys.stderr)
    matched = 0
    for item in loaded.items:
        tagged = tag(item)
        for match in ruleset.match(tagged):
            matched += 1
            alert = Alert.for_match(match, "preview")
            text, blocks = slack_message(alert)
            if args.json:
                print(
                    json.dumps(
                        {
                            "rule": rule.id,
                            "article": tagged.article.id,
                            "payload": {"text": text, "blocks": blocks},
                        }
                    )
                )
            else:
                print(plain_text(alert))
                print(json.dumps({"text": text, "blocks": blocks}, indent=2, ensure_ascii=False))
                print()
    if matched == 0:
        print(f"no article matched {rule.id!r} ({rule.query})", file=sys.stderr)
    return 0 if matched and not loaded.problems else 1
