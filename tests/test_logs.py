"""`--log-format`: every line has a UTC timestamp; json lines parse and stay redacted."""

from __future__ import annotations

import json
import logging
import re

import pytest

from wirewatch.pipelines.logs import configure_logging
from wirewatch.transforms.secrets import SecretValue

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")


@pytest.fixture(autouse=True)
def restore_logging():
    yield
    configure_logging(logging.WARNING, "text")


def test_text_lines_start_with_a_utc_timestamp(capsys):
    configure_logging(logging.WARNING, "text")
    logging.getLogger("wirewatch").info("cycle 1: 2 feeds polled")
    logging.getLogger("slack_sdk").warning("slow")
    logging.getLogger("slack_sdk").info("chatty")  # other libraries: WARNING unless -v
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and all(STAMP.match(line) for line in lines)
    assert lines[0].endswith("INFO wirewatch: cycle 1: 2 feeds polled")


def test_json_lines_parse_and_are_redacted(capsys):
    secret = SecretValue("s3cr3t-token-for-the-log-test")
    configure_logging(logging.WARNING, "json")
    logging.getLogger("wirewatch").warning("posting with %s", secret.get_secret_value())
    [line] = capsys.readouterr().err.splitlines()
    record = json.loads(line)
    assert record["level"] == "WARNING" and record["logger"] == "wirewatch"
    assert STAMP.match(record["time"] + " ")
    assert "s3cr3t" not in line and record["message"].startswith("posting with ")


def test_the_format_is_kept_when_logging_is_configured_again(capsys):
    configure_logging(logging.WARNING, "json")
    configure_logging(logging.DEBUG)  # -v, or Beam's import replacing our handlers
    logging.getLogger("wirewatch").info("still json")
    assert json.loads(capsys.readouterr().err)["message"] == "still json"


def test_a_workers_record_reads_as_its_own_message_and_beams_noise_is_dropped(capsys):
    """What a multi_processing worker sends back arrives as Beam's 'Worker: <LogEntry>'."""
    from apache_beam.portability.api import beam_fn_api_pb2

    configure_logging(logging.WARNING, "text")
    beam_side = logging.getLogger("apache_beam.runners.portability.local_job_service")
    for message in ("tagging failed for article a1", "No semi_persistent_directory found: x"):
        entry = beam_fn_api_pb2.LogEntry(
            severity=beam_fn_api_pb2.LogEntry.Severity.WARN,
            message=message,
            log_location="/venv/lib/python3.11/site-packages/wirewatch/transforms/tagging/beam.py:9",
        )
        beam_side.warning("Worker: %s", str(entry).replace("\n", " "))
    [line] = capsys.readouterr().err.splitlines()
    assert STAMP.match(line) and line.endswith(
        "WARNING worker wirewatch.transforms.tagging.beam: tagging failed for article a1"
    )


def test_a_worker_gets_the_drivers_log_level_in_its_pipeline_options():
    """Beam's local engine does not pass its options to a multi_processing worker: the level of
    `-v` travels in the environment and pipelines/worker.py writes it into the options."""
    from wirewatch.pipelines.worker import with_log_level

    assert json.loads(with_log_level("{}", "DEBUG")) == {"default_sdk_harness_log_level": "DEBUG"}
    nested = with_log_level('{"options": {"job_name": "x"}}', "DEBUG")
    assert json.loads(nested)["options"]["default_sdk_harness_log_level"] == "DEBUG"
    assert with_log_level("{}", None) == "{}"
