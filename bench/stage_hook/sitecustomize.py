"""bench/scale.py --stages: where a cycle's wall time goes, stage by stage. The driver writes
one line per stage it runs (its name, start and wall, on the system-wide monotonic clock) and
every Beam worker one line per bundle (start, wall, and the thread's CPU), into the folder
$SCALE_BENCH_STAGES names, a file per process. Python imports this module at start when its
folder is on PYTHONPATH; it patches FnApiRunner._execute_bundle and SdkWorker.process_bundle
when those modules are first imported, and leaves everything else alone."""

import importlib.abc
import importlib.util
import os
import sys
import time

_FOLDER = os.environ.get("SCALE_BENCH_STAGES")
_ARGV = " ".join(getattr(sys, "orig_argv", ()))


def _write(line: str) -> None:
    with open(os.path.join(_FOLDER, f"stages-{os.getpid()}.txt"), "a") as out:
        out.write(line + "\n")


def _time_stages(module) -> None:
    run = module.FnApiRunner._execute_bundle

    def timed(self, context, bundle, inputs):
        start = time.monotonic()
        try:
            return run(self, context, bundle, inputs)
        finally:
            _write(f"stage\t{start:.4f}\t{time.monotonic() - start:.4f}\t{bundle.stage.name}")

    module.FnApiRunner._execute_bundle = timed


def _time_bundles(module) -> None:
    process = module.SdkWorker.process_bundle

    def timed(self, request, instruction_id):
        start, cpu = time.monotonic(), time.thread_time()
        try:
            return process(self, request, instruction_id)
        finally:
            wall, cpu = time.monotonic() - start, time.thread_time() - cpu
            _write(f"bundle\t{start:.4f}\t{wall:.4f}\t{cpu:.4f}")

    module.SdkWorker.process_bundle = timed


_PATCHES = {
    "apache_beam.runners.portability.fn_api_runner.fn_runner": _time_stages,
    "apache_beam.runners.worker.sdk_worker": _time_bundles,
}


class _PatchOnImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in _PATCHES:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            _PATCHES[name](module)

        spec.loader.exec_module = exec_module
        return spec


if _FOLDER and "wirewatch" in _ARGV:
    sys.meta_path.insert(0, _PatchOnImport())
