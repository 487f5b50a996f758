"""A `multi_processing` worker: Beam's own worker main, without Beam's logging on our stderr.

Beam starts each worker as `python -m apache_beam.runners.worker.sdk_worker_main`. Importing
Beam there logs "apitools not found" through the root logger, which makes Python add a stderr
handler, and the worker then logs at INFO until its options are read: every cycle printed some
thirty lines ("Logging handler created.", "Python sdk harness starting.", httpx's requests)
past wirewatch's own. Here the root logger gets a handler that prints nothing before Beam is
imported, so the worker's only log output is the one Beam sends back to the driver, which logs
it through wirewatch's handler: its format, its redaction, WARNING unless `-v`
(pipelines/logs.py). `pipelines/options.py` makes the local engine start this module.

SIGHUP (a reload of the driver's config, sent to the whole process group) must not end a
cycle's workers: they ignore it; the driver acts on it between cycles.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys

from wirewatch.pipelines.collector import collect_only_what_follows
from wirewatch.pipelines.logs import WORKER_LOG_LEVEL


def with_log_level(options_json: str | None, level: str | None) -> str | None:
    """The worker's pipeline options with the driver's log level (`-v`: DEBUG) as Beam's
    `default_sdk_harness_log_level`, which sdk_worker_main applies once it has read them."""
    if not options_json or not level:
        return options_json
    options = json.loads(options_json)
    target = options["options"] if "options" in options else options
    target["default_sdk_harness_log_level"] = level
    return json.dumps(options)


def prepare() -> None:
    """Everything a worker does before it reads its options: quiet logging, SIGHUP ignored, Beam's
    worker main imported. The zygote (pipelines/zygote.py) does this once and forks after it."""
    logging.getLogger().addHandler(logging.NullHandler())
    logging.getLogger("wirewatch").setLevel(logging.INFO)  # as in the driver (logs.py)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    from apache_beam.runners.worker import sdk_worker_main  # noqa: F401

    from wirewatch.transforms.beam_support.dofn_specs import remember_dofn_specs
    from wirewatch.transforms.beam_support.state_sampler import prompt_state_sampler

    remember_dofn_specs()
    prompt_state_sampler()


def serve(argv: list[str]) -> None:
    """Run Beam's worker main on the options in this process's environment, until the runner
    closes its control channel."""
    from apache_beam.runners.worker import sdk_worker_main

    if "PIPELINE_OPTIONS" in os.environ:
        os.environ["PIPELINE_OPTIONS"] = with_log_level(
            os.environ["PIPELINE_OPTIONS"], os.environ.get(WORKER_LOG_LEVEL)
        )
    # what exists now (Beam, wirewatch, in a zygote's fork the config's tagger and rules)
    # lives as long as this worker: its garbage collections need not walk it (collector.py)
    collect_only_what_follows()
    sdk_worker_main.main(argv)


def main() -> None:
    prepare()
    serve(sys.argv)


if __name__ == "__main__":
    main()
