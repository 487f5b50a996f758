"""Per-route message templates: a golden templated alert, feed values inert whatever the template
does, a failing template falls back to the default layout (one log line, the alert still sent),
a template that does not parse fails `wirewatch check`, and `wirewatch preview` shows it."""

from __future__ import annotations

import json
import logging
import os
import sys

import pytest
from slack_sdk.models.blocks import Block

from tests.sinks.test_golden import GOLDEN, make_alert
from tests.sinks.test_preview import _preview
from wirewatch.pipelines.cli import main
from wirewatch.transforms.model import Display
from wirewatch.transforms.sinks.render import SECTION_TEXT_MAX, slack_message
from wirewatch.transforms.sinks.templates import compile_template

TEMPLATE = """\
{% if updated %}:pencil2: *Updated* {% endif %}*{{ rule.labels.desk | upper }}* desk · \
{{ rule.description }}
> {{ article.summary }}
{{ article.feed }}{% if article.author %}, by {{ article.author }}{% endif %} · \
{{ article.published }}
{% if tags.entities %}Who: {{ tags.entities | join(", ") }}{% endif %}"""


def templated(template: str = TEMPLATE, **kwargs):
    display = Display(
        feed_name="Financial Times · World",
        description="US tariffs and the trade war: anything that moves prices",
        template=template,
    )
    return make_alert(display=display, **kwargs)


def _mrkdwn(blocks) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_templated_payload_matches_its_golden_file_and_is_valid_block_kit():
    text, blocks = slack_message(templated())
    payload = {"text": text, "blocks": blocks}
    path = GOLDEN / "templated.json"
    if os.environ.get("WIREWATCH_UPDATE_GOLDEN"):
        path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", "utf-8")
    assert payload == json.loads(path.read_text("utf-8"))
    for block in blocks:
        assert Block.parse(block).to_dict() == block  # slack_sdk's models and limit checks
    assert blocks[1]["text"]["text"] == text  # the template's output is the main section
    assert text.startswith("*ECONOMICS* desk · US tariffs")


def test_feed_values_reach_the_template_escaped_so_they_stay_inert():
    hostile = "<!channel> see <http://x|y> & <@U123>"
    text, blocks = slack_message(
        templated(title=hostile, summary=hostile, authors=("<!here>",), link="javascript:x")
    )
    everything = text + _mrkdwn(blocks)
    for live in ("<!channel>", "<http://x|y>", "<@U123>", "<!here>", "javascript:"):
        assert live not in everything
    assert "&lt;!channel&gt; see &lt;http://x|y&gt; &amp; &lt;@U123&gt;" in text
    assert all(b["text"]["verbatim"] for b in blocks if b["type"] == "section")


def test_a_long_template_output_is_cut_to_slacks_section_limit():
    text, blocks = slack_message(
        templated("{% for i in range(500) %}{{ article.title }} {% endfor %}")
    )
    assert len(blocks[1]["text"]["text"]) <= SECTION_TEXT_MAX and len(text) <= 3000
    for block in blocks:
        assert Block.parse(block).to_dict() == block


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",  # a sandbox violation
        "{{ ''.__class__ }}",
        "{{ rule.labels.append(1) }}",  # the immutable sandbox: no changing the context
        "{{ no_such_name }}",  # undefined
    ],
)
def test_a_template_that_fails_sends_the_default_layout_and_logs_one_line(template, caplog):
    alert = templated(template)
    default = slack_message(make_alert())
    with caplog.at_level(logging.WARNING, logger="wirewatch.transforms.sinks.render"):
        assert slack_message(alert) == default
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert "default layout" in lines[0] and alert.key in lines[0]


CONFIG = """\
feeds:
  - {{id: wire, url: "https://example.org/wire.xml"}}
rules:
  - {{id: quake, query: earthquake}}
routes:
  - sinks: [console]
{route}
sinks:
  console: {{type: console}}
"""


def _check(tmp_path, capsys, route: str) -> tuple[int, str]:
    config = tmp_path / "wirewatch.yaml"
    config.write_text(CONFIG.format(route=route), encoding="utf-8")
    code = main(["check", "--config", str(config)])
    return code, capsys.readouterr().err


def test_a_template_syntax_error_fails_check_naming_file_field_and_fix(tmp_path, capsys):
    code, err = _check(tmp_path, capsys, '    template: "{{ article.title "')
    assert code == 2
    assert "wirewatch.yaml" in err and "template" in err and "Fix:" in err
    assert "Traceback" not in err


def test_a_template_file_is_read_relative_to_the_config_and_checked(tmp_path, capsys):
    (tmp_path / "layouts").mkdir()
    (tmp_path / "layouts" / "desk.j2").write_text("{% if %}", encoding="utf-8")
    code, err = _check(tmp_path, capsys, "    template_file: layouts/desk.j2")
    assert code == 2 and "desk.j2" in err and "template_file" in err and "Fix:" in err
    (tmp_path / "layouts" / "desk.j2").write_text("*{{ article.title }}*", encoding="utf-8")
    code, err = _check(tmp_path, capsys, "    template_file: layouts/desk.j2")
    assert code == 0, err


def test_without_jinja2_a_template_fails_check_with_the_install_hint(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "jinja2", None)  # as if the extra were not installed
    compile_template.cache_clear()
    try:
        code, err = _check(tmp_path, capsys, '    template: "*{{ article.title }}*"')
    finally:
        compile_template.cache_clear()
    assert code == 2 and "wirewatch[templates]" in err


def test_preview_shows_the_templated_payload(tmp_path, capsys):
    extra = ', group_wait: 0, template: "*{{ rule.labels.desk }}*: <{{ article.link }}|{{ article.title }}>"'
    lines = _preview(tmp_path, capsys, 1, extra=extra)
    slack = next(m for m in lines if m["sink"] == "slack")["payload"]
    assert slack["text"] == "*world*: <https://example.org/0|Earthquake 0 shakes the coast>"
    sections = [b["text"]["text"] for b in slack["blocks"] if b["type"] == "section"]
    assert sections[1] == slack["text"]  # the main section, after the headline
    for block in slack["blocks"]:
        assert Block.parse(block).to_dict() == block
