"""End to end: `multi_processing` workers are forks of the zygote, and without it they start
fresh, with the same results."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.e2e

PIPELINE = textwrap.dedent(
    """
    import json, os, sys
    import apache_beam as beam
    from wirewatch.pipelines import zygote
    from wirewatch.pipelines.options import make_pipeline

    folder, kill_first = sys.argv[1], sys.argv[2] == "kill"
    zygote.worker_command()  # started early, as `run --once` and the watch loop do
    pid = zygote._running[0].process.pid
    if kill_first:
        zygote._running[0].process.kill()
        zygote._running[0].process.wait()

    def record(n):
        with open(os.path.join(folder, f"{n}.json"), "w") as f:
            json.dump({"pid": os.getpid(), "parent": os.getppid()}, f)
        return n * n

    options = ["--direct_num_workers", "2", "--direct_running_mode", "multi_processing"]
    with make_pipeline(options) as p:
        squares = p | beam.Create(range(8)) | beam.Map(record)
        squares | beam.combiners.ToList() | beam.Map(
            lambda xs: open(os.path.join(folder, "squares"), "w").write(json.dumps(sorted(xs)))
        )
    print(json.dumps({"zygote": pid, "driver": os.getpid()}))
    """
)


def run(tmp_path, mode: str) -> tuple[dict, list[dict]]:
    script = tmp_path / "pipeline.py"
    script.write_text(PIPELINE)
    out = subprocess.run(
        [sys.executable, str(script), str(tmp_path), mode],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads((tmp_path / "squares").read_text()) == [n * n for n in range(8)]
    workers = [json.loads((tmp_path / f"{n}.json").read_text()) for n in range(8)]
    return json.loads(out.stdout.strip().splitlines()[-1]), workers


def test_workers_are_forked_from_the_zygote(tmp_path):
    pids, workers = run(tmp_path, "keep")
    assert {w["parent"] for w in workers} == {pids["zygote"]}
    assert pids["driver"] not in {w["pid"] for w in workers}


def test_without_the_zygote_workers_start_fresh_and_the_pipeline_still_runs(tmp_path):
    pids, workers = run(tmp_path, "kill")
    assert pids["zygote"] not in {w["parent"] for w in workers}
