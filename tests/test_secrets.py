"""Secrets: what redact() takes out of text, how a secret URL shows, and the logging filter."""

from __future__ import annotations

import io
import logging
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from wirewatch.pipelines.cli import main
from wirewatch.transforms.errors import redact_url
from wirewatch.transforms.secrets import SecretUrl, SecretValue, redact, redact_logs

URL = "https://hooks.example.com/services/T0/B0/url-marker-1?key=query-marker-1"


def test_a_secret_url_shows_only_its_scheme_and_host():
    url = SecretUrl(URL)
    assert str(url) == "https://hooks.example.com/***"
    assert "marker" not in repr(url)
    assert url.get_secret_value() == URL


@pytest.mark.parametrize(
    "url, shown",
    [
        ("https://u:pw@host:8443/p?q=1", "https://host:8443/***"),
        ("hooks.example.com/hook?t=x", "***"),  # no scheme: nothing of it is safe to show
        ("http://[::1/x", "***"),
    ],
)
def test_redact_url_of_a_secret_url(url, shown):
    assert redact_url(url, secret=True) == shown


def test_redact_url_of_a_plain_url_hides_only_the_password():
    assert redact_url("postgresql://me:pw@db:5432/ww") == "postgresql://me:***@db:5432/ww"
    assert redact_url("https://example.org/feed.xml") == "https://example.org/feed.xml"


def test_redact_takes_the_whole_url_and_each_of_its_parts_out_of_text():
    SecretUrl(URL)
    text = (
        f"POST {URL} failed; urllib3: POST /services/T0/B0/url-marker-1?key=query-marker-1 "
        f"HTTP/1.1 500; path /services/T0/B0/url-marker-1; query key=query-marker-1"
    )
    clean = redact(text)
    assert "marker" not in clean
    assert clean.startswith("POST https://hooks.example.com/*** failed")


def test_redact_leaves_words_that_merely_contain_a_short_secret_piece():
    SecretUrl("https://receiver.example/hook")  # its path, /hook, is a piece of its own
    SecretValue("abcd")
    assert redact("POST /hook 500") == "POST *** 500"
    assert redact("see https://hooks.slack.com and abcdef") == (
        "see https://hooks.slack.com and abcdef"
    )


def test_redact_takes_out_tokens_and_any_url_password():
    SecretValue("xoxb-token-marker-2")
    clean = redact("Bearer xoxb-token-marker-2 to postgresql://me:pw-marker-3@db/ww")
    assert clean == "Bearer *** to postgresql://me:***@db/ww"


def test_a_process_that_unpickles_a_secret_redacts_it_from_its_own_logs():
    """A Beam worker decodes the config and logs through handlers Beam configured, not ours."""
    blob = pickle.dumps(SecretUrl("https://h.example/hook/pickle-marker-4"))
    code = (
        "import logging, pickle, sys\n"
        "logging.basicConfig(level=logging.DEBUG, format='%(message)s')\n"
        "pickle.loads(sys.stdin.buffer.read())\n"
        "logging.getLogger('urllib3').debug('POST %s 500', '/hook/pickle-marker-4')\n"
    )
    run = subprocess.run([sys.executable, "-c", code], input=blob, capture_output=True, check=True)
    assert run.stderr.decode().strip() == "POST *** 500"


def test_log_records_hold_redacted_message_arguments_and_traceback():
    SecretUrl("https://h.example/hook/log-marker-5")
    redact_logs()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("tests.secrets")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("sending to %s", "https://h.example/hook/log-marker-5")
        try:
            raise ValueError("bad answer from https://h.example/hook/log-marker-5")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "log-marker-5" not in text
    assert "sending to https://h.example/***" in text
    assert "ValueError: bad answer from https://h.example/***" in text


FIXTURES = Path(__file__).parent / "fixtures" / "config"


@pytest.mark.parametrize(
    "name", ["webhook_url_no_scheme", "webhook_url_ftp", "webhook_url_no_host"]
)
def test_check_refuses_a_sink_url_that_is_no_http_url_in_one_line(name, capsys):
    fixture = FIXTURES / f"{name}.yaml"
    [expected] = [
        line.removeprefix("# expect: ").replace("{file}", str(fixture))
        for line in fixture.read_text().splitlines()
        if line.startswith("# expect: ")
    ]
    assert main(["check", "--config", str(fixture)]) == 2
    out, err = capsys.readouterr()
    assert (out, errors(err)) == ("", [f"config error: {expected}"])  # and two warnings
    assert "T0KEN" not in err


@pytest.mark.parametrize(
    "url, message",
    [
        ("hooks.slack.com/services/T0/B0/T0KEN", "it has no scheme"),
        ("ftp://hooks.slack.com/services/T0KEN", "not ftp://"),
        ("https://", "without a host"),
    ],
)
def test_check_refuses_a_slack_webhook_url_that_is_no_http_url(
    url, message, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("T_HOOK_URL", url)
    config = tmp_path / "wirewatch.yaml"
    config.write_text("sinks:\n  slack: {type: slack, webhook_url: '${T_HOOK_URL}'}\n")
    assert main(["check", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    [line] = errors(err)
    assert line.startswith(f"config error: {config}: sinks.slack.webhook_url: ")
    assert message in line and "T0KEN" not in err


def errors(stderr: str) -> list[str]:
    """The error lines, without the warnings (an empty config: no feeds, no rules)."""
    return [line for line in stderr.splitlines() if not line.startswith("config warning: ")]
