"""bench/scale.py --profile: every wirewatch process (the CLI and its Beam workers) runs under
cProfile on per-thread CPU time, one profiler per thread, dumped when the process exits into
the folder $SCALE_BENCH_PROFILE names: `<driver|worker>-main-PID.prof` (the main thread) and
`<driver|worker>-threads-PID.prof` (the others, merged). Python imports this module at start
when its folder is on PYTHONPATH; anything else it leaves alone."""

import os
import sys

_FOLDER = os.environ.get("SCALE_BENCH_PROFILE")
_ARGV = " ".join(getattr(sys, "orig_argv", ()))

if _FOLDER and "wirewatch.pipelines" in _ARGV:
    import atexit
    import cProfile
    import pstats
    import threading
    import time

    _ROLE = "worker" if "wirewatch.pipelines.worker" in _ARGV else "driver"
    _main = cProfile.Profile(time.thread_time)
    _others: list = []
    _lock = threading.Lock()

    def _per_thread(*_args):
        sys.setprofile(None)
        profile = cProfile.Profile(time.thread_time)
        with _lock:
            _others.append(profile)
        profile.enable()

    def _dump() -> None:
        _main.disable()
        _main.dump_stats(os.path.join(_FOLDER, f"{_ROLE}-main-{os.getpid()}.prof"))
        with _lock:
            profiles = list(_others)
        done = []
        for profile in profiles:
            try:
                profile.create_stats()
            except Exception:  # noqa: BLE001  (a thread still running: skip it)
                continue
            if profile.stats:
                done.append(profile)
        merged = pstats.Stats(done[0]) if done else None
        for profile in done[1:]:
            merged.add(profile)
        if merged is not None:
            merged.dump_stats(os.path.join(_FOLDER, f"{_ROLE}-threads-{os.getpid()}.prof"))

    threading.setprofile(_per_thread)
    atexit.register(_dump)
    _main.enable()
