"""Ctrl-C, recognized however deep it lands.

Python raises KeyboardInterrupt wherever the main thread is when SIGINT arrives. Inside a Beam
run that is Beam's code, which logs it with its traceback and raises it again as a RuntimeError
that only carries its text: `except KeyboardInterrupt` never saw it, and a Ctrl-C during `run
--once` printed some 130 lines of traceback and exited 1. The handler here remembers that the
user interrupted; the CLI then ends whatever exception follows as "interrupted", exit 130, and
Beam's logged tracebacks are dropped (pipelines/logs.py), as is what Beam's threads print when
their workers die of the same Ctrl-C (a terminal signals the whole process group). The watch
loop's first stop signal (`stopping()`) quiets those too: with worker processes it ends the
cycle.
"""

from __future__ import annotations

import signal
import threading

_interrupted = threading.Event()
_quiet = threading.Event()  # interrupted, or asked to stop: a dying cycle's noise says nothing


def interrupt(signum=None, frame=None) -> None:
    """SIGINT's handler (and the watch loop's abort on a second stop signal): remember, then
    raise KeyboardInterrupt where the main thread is, as Python's own handler does."""
    _interrupted.set()
    _go_quiet()
    raise KeyboardInterrupt


def stopping() -> None:
    """A stop signal the watch loop heeds after its cycle; worker processes that got it too
    end the cycle now (the loop says so, in one line)."""
    _go_quiet()


def interrupted() -> bool:
    return _interrupted.is_set()


def quiet() -> bool:
    """Interrupted, or asked to stop: what a dying cycle prints says nothing (pipelines/logs.py
    shows only wirewatch's own lines then)."""
    return _quiet.is_set()


def install() -> None:
    """For one command (main() runs many in one test process): nothing interrupted yet."""
    _interrupted.clear()
    _quiet.clear()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, interrupt)


def _go_quiet() -> None:
    """From now on a thread that dies of the same signal (Beam's, as its workers go) prints
    nothing; threads are left to whatever hook was there until then."""
    global _print_thread_death
    _quiet.set()
    if threading.excepthook is not _thread_died:
        _print_thread_death = threading.excepthook
        threading.excepthook = _thread_died


_print_thread_death = threading.excepthook


def _thread_died(args) -> None:
    if not _quiet.is_set():
        _print_thread_death(args)
