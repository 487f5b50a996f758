"""The worker zygote's protocol, with real processes: a zygote serving a stand-in worker (the
Beam worker itself is exercised by tests/e2e/test_zygote_workers.py), and the real client
command Beam starts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from wirewatch.pipelines.zygote import CLIENT

SHIPPED_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "wirewatch.yaml"

STAND_IN = textwrap.dedent(
    """
    import os, socket, sys, time
    from wirewatch.pipelines.zygote import Server

    class Worker:
        @staticmethod
        def serve(argv):
            if os.environ.get("WARMED"):  # what the zygote built before this fork
                from wirewatch.transforms.beam_support import cache
                built = [kind for kind, key in cache._objects if key == os.environ["WARMED"]]
                print("built", *sorted(built), flush=True)
            if os.environ.get("IMPORTED"):  # which of these the zygote imported before this fork
                names = os.environ["IMPORTED"].split()
                print("imported", *[name for name in names if name in sys.modules], flush=True)
            print("worker", os.getpid(), os.environ.get("GREETING"), os.getcwd(), flush=True)
            print("on stderr", file=sys.stderr, flush=True)
            if os.environ.get("HOLD"):
                time.sleep(600)
            sys.exit(int(os.environ.get("CODE", "0")))

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sys.argv[1])
    listener.listen(8)
    print("ready", os.getpid(), flush=True)
    Server(listener, Worker).run()
    """
)


def stand_in(tmp_path, **popen) -> subprocess.Popen:
    """A zygote serving the stand-in worker, ready; its socket path as `.socket`."""
    script = tmp_path / "stand_in.py"
    script.write_text(STAND_IN)
    sock = str(tmp_path / "zygote")
    proc = subprocess.Popen(
        [sys.executable, str(script), sock],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        **popen,
    )
    assert proc.stdout.readline().startswith("ready")
    proc.socket = sock
    return proc


@pytest.fixture
def zygote(tmp_path):
    proc = stand_in(tmp_path)
    yield proc
    if proc.poll() is None:
        proc.stdin.close()
        proc.wait(timeout=10)


def client(sock: str, cwd, **env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-S", "-I", str(CLIENT), sock],
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def gone(pid: int, within: float = 10.0) -> bool:
    """The process has ended (it is not our child, so it cannot be waited for)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


def test_a_forked_worker_has_the_clients_streams_environment_folder_and_exit_code(zygote, tmp_path):
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    proc = client(zygote.socket, folder, GREETING="hello", CODE="3")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 3
    word, pid, greeting, cwd = out.split()
    assert (word, greeting, cwd) == ("worker", "hello", str(folder))
    assert int(pid) not in (proc.pid, zygote.pid)
    assert err == "on stderr\n"
    assert zygote.poll() is None  # one worker's end is not the zygote's


def test_a_client_killed_takes_its_worker_with_it(zygote, tmp_path):
    proc = client(zygote.socket, tmp_path, HOLD="1")
    pid = int(proc.stdout.readline().split()[1])
    proc.kill()
    proc.wait(timeout=10)
    assert gone(pid)
    assert zygote.poll() is None
    again = client(zygote.socket, tmp_path, CODE="0")  # and the zygote still serves
    again.communicate(timeout=30)
    assert again.returncode == 0


def test_a_zygote_killed_takes_its_workers_and_their_clients_fail(zygote, tmp_path):
    proc = client(zygote.socket, tmp_path, HOLD="1")
    pid = int(proc.stdout.readline().split()[1])
    zygote.kill()
    zygote.wait(timeout=10)
    proc.communicate(timeout=30)
    assert proc.returncode == 1  # Beam sees a failed worker, not a hang
    assert gone(pid)


def test_the_zygote_ends_when_its_driver_closes_stdin(zygote, tmp_path):
    proc = client(zygote.socket, tmp_path, HOLD="1")
    pid = int(proc.stdout.readline().split()[1])
    zygote.stdin.close()
    assert zygote.wait(timeout=10) == 0
    assert gone(pid)
    proc.communicate(timeout=30)
    assert proc.returncode == 1


def test_without_a_zygote_the_client_becomes_a_fresh_worker(tmp_path):
    """Nothing listens: the command execs `python -m wirewatch.pipelines.worker`, which here,
    without a runner's control service in its environment, fails as a fresh worker would."""
    proc = client(str(tmp_path / "nobody"), tmp_path)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert "CONTROL_API_SERVICE_DESCRIPTOR" in err


def bad_request(sock: str) -> bytes:
    """A request without descriptors; what the zygote answers once its loop reads it."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(sock)
        conn.sendall(b"\x00\x00\x00\x05hello")
        try:
            return conn.recv(16)
        except ConnectionResetError:  # closed with "hello" unread
            return b""


def test_a_bad_request_is_dropped_and_the_zygote_serves_on(zygote, tmp_path):
    assert bad_request(zygote.socket) == b""  # nothing forked
    proc = client(zygote.socket, tmp_path, CODE="0")
    proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_stop_ends_the_zygote_and_removes_its_folder():
    from wirewatch.pipelines.zygote import Zygote

    zygote = Zygote.start()
    assert os.path.isdir(zygote.folder)
    started = time.monotonic()
    zygote.stop()  # never used (a `run --once` with nothing new): killed at once
    assert time.monotonic() - started < 5
    assert zygote.process.returncode is not None
    assert not os.path.exists(zygote.folder)


def test_the_zygote_ignores_the_drivers_sighup():
    """SIGHUP (a config reload) goes to the driver's process group; the zygote lives on, and
    ends only when the driver stops it."""
    from wirewatch.pipelines.zygote import Zygote

    zygote = Zygote.start()
    deadline = time.monotonic() + 60
    while not os.path.exists(zygote.socket):  # bound after its signal handlers are set
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert bad_request(zygote.socket) == b""  # answered from its loop: imports done
    zygote.process.send_signal(signal.SIGHUP)
    assert bad_request(zygote.socket) == b""
    assert zygote.worker_command  # in use: stop() lets it end by itself
    zygote.stop()
    assert zygote.process.returncode == 0


@pytest.mark.parametrize(
    ("beam_args", "forks"),
    [
        (["--direct_num_workers", "2", "--direct_running_mode", "multi_processing"], True),
        (["--direct_running_mode=multi_processing", "--runner", "DirectRunner"], True),
        (["--direct_running_mode", "multi_threading"], False),
        ([], False),
        (["--direct_running_mode=multi_processing", "--runner=FlinkRunner"], False),
    ],
)
def test_the_zygote_starts_early_only_for_local_multi_processing_workers(beam_args, forks):
    from wirewatch.pipelines.zygote import forks_workers

    assert forks_workers(beam_args) is forks


def test_a_dead_zygote_is_logged_once_and_workers_start_fresh(monkeypatch, caplog):
    from wirewatch.pipelines import zygote

    monkeypatch.setattr(zygote, "_running", [])
    command = zygote.worker_command()
    assert str(zygote.CLIENT) in command
    running = zygote._running[0]
    running.process.kill()
    running.process.wait()
    with caplog.at_level("WARNING", logger="wirewatch"):
        assert zygote.worker_command() == zygote.FRESH_WORKER
        assert zygote.worker_command() == zygote.FRESH_WORKER
    assert [r.getMessage() for r in caplog.records] == [
        "the worker zygote exited (-9): workers start fresh from now on (slower, same results)"
    ]
    running.stop()


def test_the_socket_folders_of_killed_zygotes_are_removed_and_live_ones_kept(tmp_path, zygote):
    from wirewatch.pipelines.zygote import FOLDER_PREFIX, remove_stale

    killed = tmp_path / f"{FOLDER_PREFIX}killed"
    killed.mkdir()
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(killed / "zygote"))  # bound, then its process died: nobody listens
    dead.close()
    starting = tmp_path / f"{FOLDER_PREFIX}starting"  # no socket yet
    starting.mkdir()
    live = tmp_path / f"{FOLDER_PREFIX}live"
    live.mkdir()
    os.symlink(zygote.socket, live / "zygote")
    remove_stale(str(tmp_path))
    assert not killed.exists()
    assert starting.exists() and live.exists()
    proc = client(zygote.socket, tmp_path, CODE="0")  # the probe did not hurt the live one
    proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_a_warmed_zygote_forks_workers_with_the_configs_tagger_and_rules_built(zygote, tmp_path):
    """What every worker's DoFn setup would build from the config (seconds with 100,000 rules,
    per worker per cycle) is built once, in the zygote, before the next fork."""
    from wirewatch.pipelines.zygote import Zygote
    from wirewatch.transforms.beam_support.cache import ref
    from wirewatch.transforms.config.loader import load_config

    config = load_config(str(SHIPPED_CONFIG))
    handle = Zygote(zygote, str(tmp_path))  # the fixture's socket is tmp_path/zygote
    handle.warm(config)
    handle.warm(config)  # once per config
    proc = client(zygote.socket, tmp_path, WARMED=ref(config).key)
    out, err = proc.communicate(timeout=120)
    assert out.splitlines()[0] == "built rules tagger", err
    assert not list(tmp_path.glob("config-*"))  # the handed-over file is read and removed
    assert zygote.poll() is None


def test_a_config_the_zygote_cannot_read_leaves_it_serving_unwarmed(zygote, tmp_path):
    bad = tmp_path / "config-bad"
    bad.write_bytes(b"not a pickle")
    zygote.stdin.write(f"warm {bad}\n")
    zygote.stdin.flush()
    proc = client(zygote.socket, tmp_path, WARMED="bad", CODE="0")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert out.splitlines()[0] == "built"


def test_a_reloaded_config_replaces_the_last_one_in_the_zygote(zygote, tmp_path):
    from wirewatch.pipelines.zygote import Zygote
    from wirewatch.transforms.beam_support.cache import ref
    from wirewatch.transforms.config.loader import load_config

    first = load_config(str(SHIPPED_CONFIG))
    reloaded = first.model_copy(update={"lease_seconds": first.lease_seconds + 1})
    handle = Zygote(zygote, str(tmp_path))
    handle.warm(first)
    handle.warm(reloaded)
    for config, built in ((first, "built"), (reloaded, "built rules tagger")):
        proc = client(zygote.socket, tmp_path, WARMED=ref(config).key)
        out, err = proc.communicate(timeout=120)
        assert out.splitlines()[0] == built, err


def test_a_config_reloaded_back_is_handed_over_again(zygote, tmp_path):
    """The zygote holds the last config's build only, so A, B, then A again must build A
    again there, or every worker of every later cycle builds it itself."""
    from wirewatch.pipelines.zygote import Zygote
    from wirewatch.transforms.beam_support.cache import ref
    from wirewatch.transforms.config.loader import load_config

    first = load_config(str(SHIPPED_CONFIG))
    reloaded = first.model_copy(update={"lease_seconds": first.lease_seconds + 1})
    handle = Zygote(zygote, str(tmp_path))
    for config in (first, reloaded, first):
        handle.warm(config)
    proc = client(zygote.socket, tmp_path, WARMED=ref(first).key)
    out, err = proc.communicate(timeout=120)
    assert out.splitlines()[0] == "built rules tagger", err


def test_a_hand_over_that_failed_is_tried_again(zygote, tmp_path):
    from wirewatch.pipelines.zygote import Zygote
    from wirewatch.transforms.beam_support.cache import ref
    from wirewatch.transforms.config.loader import load_config

    config = load_config(str(SHIPPED_CONFIG))
    handle = Zygote(zygote, str(tmp_path / "gone"))  # no such folder: the file cannot be written
    handle.warm(config)
    handle.folder = str(tmp_path)
    handle.warm(config)
    proc = client(zygote.socket, tmp_path, WARMED=ref(config).key)
    out, err = proc.communicate(timeout=120)
    assert out.splitlines()[0] == "built rules tagger", err


def test_wirewatch_run_starts_its_zygote_before_it_imports_beam(tmp_path):
    """The zygote's imports (about 2 s of CPU) overlap the driver's own Beam import too."""
    probe = textwrap.dedent(
        """
        import sys
        from wirewatch.pipelines import zygote, cli
        zygote._started = lambda: print("started; Beam imported:", "apache_beam" in sys.modules)
        cli.main(["run", "--once", "--config", sys.argv[1],
                  "--direct_num_workers", "2", "--direct_running_mode", "multi_processing"])
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "missing.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.stdout.splitlines()[0] == "started; Beam imported: False", out.stderr


def test_an_idle_zygote_imports_what_the_stages_import_late(zygote, tmp_path):
    """After it serves (a `run --once` driver asks for workers about when the zygote is
    ready), whenever nothing waits: later workers then have them imported."""
    from wirewatch.pipelines.zygote import WARM

    names = " ".join(name for name in WARM if name.startswith("wirewatch"))
    deadline = time.monotonic() + 30
    while True:
        out, _ = client(zygote.socket, tmp_path, IMPORTED=names).communicate(timeout=30)
        imported = next(line.split()[1:] for line in out.splitlines() if line.startswith("imp"))
        if imported == names.split() or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert imported == names.split()


def test_a_config_that_does_not_compile_leaves_the_zygote_quiet(tmp_path):
    """`wirewatch run` hands the config over as soon as it is read, before its own check:
    a rule that does not compile is the driver's one-line error, not a second one here."""
    from wirewatch.pipelines.zygote import Zygote
    from wirewatch.transforms.config import Config

    proc = stand_in(tmp_path, stderr=subprocess.PIPE)
    Zygote(proc, str(tmp_path)).warm(Config(rules=[{"id": "x", "query": "a AND"}]))
    worker = client(proc.socket, tmp_path, WARMED="any")
    out, _ = worker.communicate(timeout=60)
    assert out.splitlines()[0] == "built"  # it served on, unwarmed
    proc.stdin.close()
    assert proc.wait(timeout=10) == 0
    assert proc.stderr.read() == ""
