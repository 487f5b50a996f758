from wirewatch.transforms.config import Config, RouteConfig
from wirewatch.transforms.routing.checks import routing_problems
from wirewatch.transforms.rules.schema import RuleConfig


def config(routes, rules=("a", "b")):
    return Config(
        source="c.yaml",
        rules=[RuleConfig(id=r, query="x") for r in rules],
        routes=routes,
        sinks={"console": {"type": "console"}},
    )


def lines(problems):
    return [str(p) for p in problems]


def test_a_rule_no_route_selects_is_reported():
    problems = lines(routing_problems(config([RouteConfig(rules=["a"], sinks=["console"])])))
    assert problems == [
        "c.yaml: rules[b]: no route selects rule 'b', so its matches reach no "
        "sink. Fix: add a route for it, a catch-all route (- sinks: [console]), "
        "or give the rule sinks:"
    ]


def test_a_route_shadowed_by_an_earlier_catch_all_is_reported():
    problems = lines(
        routing_problems(
            config([RouteConfig(sinks=["console"]), RouteConfig(rules=["a"], sinks=["console"])])
        )
    )
    assert problems == [
        "c.yaml: routes[1]: route 1 can never fire: no rule reaches it (earlier "
        "routes take them, or none has the rules/severity/labels it selects). "
        "Fix: reorder the routes, add continue: true, or remove it"
    ]


def test_continue_lets_later_routes_fire():
    assert (
        routing_problems(
            config(
                [
                    RouteConfig(sinks=["console"], **{"continue": True}),
                    RouteConfig(rules=["a"], sinks=["console"]),
                ]
            )
        )
        == []
    )


def test_a_route_without_sinks_drops_on_purpose_and_is_not_a_problem():
    assert (
        routing_problems(
            config([RouteConfig(rules=["b"], sinks=[]), RouteConfig(sinks=["console"])])
        )
        == []
    )
