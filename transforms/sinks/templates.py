"""Per-route message templates: a team's own layout for the main text of its Slack alerts.

A route's `template:` (or `template_file:`) is Jinja2 rendered in
`ImmutableSandboxedEnvironment`, so a template can read its context but not reach Python
internals (`''.__class__`) or change anything, and `StrictUndefined`, so a misspelt name is an
error instead of a silent blank. Autoescape is off because the output is Slack mrkdwn, not HTML:
the context render.py builds (`template_context`) has every feed-supplied string Slack-escaped
(&, <, >, which also makes <!channel>, <@U123> and <https://evil|bank> inert) and cleaned of
invisible characters BEFORE it reaches the template, so nothing a feed writes can become markup
whatever the template does.

A syntax error is a config error (`compile_template`, called by the route model); an error while
rendering one alert (an undefined name, a sandbox violation) makes render.py send that alert in
the default layout with one log line: a template never loses an alert. Jinja2 is the optional
`templates` extra, imported only here and only when a config sets a template.
"""

from __future__ import annotations

from functools import lru_cache

INSTALL_HINT = "message templates need Jinja2. Fix: pip install 'wirewatch[templates]'"


class TemplateProblem(ValueError):
    """A template that cannot be used: Jinja2 is missing or the template does not parse."""


@lru_cache(maxsize=64)
def compile_template(source: str):
    """The compiled template (cached per source); TemplateProblem with the line and the fix."""
    try:
        from jinja2 import StrictUndefined, TemplateSyntaxError
        from jinja2.sandbox import ImmutableSandboxedEnvironment
    except ImportError:
        raise TemplateProblem(INSTALL_HINT) from None
    env = ImmutableSandboxedEnvironment(autoescape=False, undefined=StrictUndefined)
    try:
        return env.from_string(source)
    except TemplateSyntaxError as exc:
        why = str(exc.message).rstrip(".")
        raise TemplateProblem(
            f"template syntax error on line {exc.lineno}: {why}. Fix: correct the "
            f"Jinja2 syntax ({{{{ article.title }}}} for a value, {{% if updated %}}…{{% endif %}} "
            f"for a condition)"
        ) from None


def render_template(source: str, context: dict) -> str:
    """The template's output for this context; raises whatever the template does wrong."""
    return compile_template(source).render(context).strip()
