"""A worker zygote: `multi_processing` workers forked from one process that has imported them.

Why: Beam's local engine starts new worker processes for every pipeline run, and a fresh worker
spends about 2 s of CPU importing Beam and wirewatch before it runs its first bundle (a one-item
cycle took 3.8 s on 2 workers against 0.6 s in process). The zygote pays those imports once, from
the start of `wirewatch run` (`start_early`), on the core the driver is not using while it reads
its config, polls and compiles the rules; each worker is then a fork of it, ready in
milliseconds, in every cycle of a watch loop. Anything else that runs the local engine with
`multi_processing` (bench/soak.py) starts it on first use (`worker_command`).

How: the driver starts `python -m wirewatch.pipelines.zygote SOCKET` (`Zygote.start`) and makes
Beam's worker command `pipelines/zygote_client.py SOCKET`. Each client sends its standard
streams (as descriptors), environment and working directory; the zygote forks, the child takes
them over and runs the worker (pipelines/worker.py `serve`), and the zygote sends the client
"forked", then the child's exit code when it exits.

Warm: before a cycle's pipeline runs, the driver hands the zygote its config (`warm`: a file in
the socket's folder, named on the zygote's stdin), and the zygote builds what the workers'
DoFns build from it in setup, the Tagger and the compiled rules, into its per-process cache
(beam_support/cache.py). Every worker forked after that finds them built: with 100,000 rules,
each worker of each cycle compiled them again (seconds), and with NER each loaded the model.

What keeps it safe:
- The zygote stays single-threaded (one `selectors` loop, SIGCHLD through a wakeup socket), so
  no lock is held by another thread at a fork. If importing ever started a thread, it forks
  nothing and says so: every client then starts a fresh worker, as without a zygote.
- A client that goes away (Beam killed it) takes its worker with it (SIGKILL). A zygote that
  goes away takes its workers with it (each child asks the kernel for SIGKILL when its parent
  dies), and its clients exit 1, so Beam sees failed workers, never orphans.
- The zygote ends when the driver closes its stdin, or dies (end of file there): nothing
  outlives the driver. The socket is in a fresh 0700 directory: only this user can connect.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import glob
import importlib
import json
import logging
import os
import pickle
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from wirewatch.pipelines.arguments import LOCAL_RUNNERS
from wirewatch.pipelines.zygote_client import FORKED

log = logging.getLogger("wirewatch")

CLIENT = Path(__file__).with_name("zygote_client.py")
FOLDER_PREFIX = "wirewatch-workers-"
MAX_REQUEST = 16 << 20
"""A client's environment, as JSON: far below this; anything larger is not a client of ours."""
PR_SET_PDEATHSIG = 1
STAGES = ("ingest", "tagging", "stories", "rules", "routing", "sinks", "state")
"""The packages whose `beam.py` holds the code a cycle's workers run (pipelines/cycle.py)."""
WARM = ("numpy", "zoneinfo", "jinja2.sandbox", "psycopg", "psycopg_pool")
WARM += tuple(f"wirewatch.transforms.state.{store}" for store in ("sqlite", "postgres"))
"""What the stages import only when they first need it, imported once here instead of in
every worker of every cycle (where installed: jinja2 and psycopg are extras). Importing
starts no thread and opens no connection. Imported when the zygote is idle, not before it
serves: a `run --once` driver asks for its workers about when the zygote has imported the
rest, and these took it 0.15 s more (a SQLite store never needs psycopg)."""
WARM_COMMAND = "warm"
EXCHANGE = "exchange"


class Zygote:
    """The driver's handle on a running zygote: its worker command, and `stop`."""

    used = False  # a worker command was handed out
    mourned = False  # its exit was logged

    def __init__(self, process: subprocess.Popen, folder: str):
        self.process, self.folder = process, folder
        self.socket = socket_in(folder)
        self.warmed: str | None = None  # the key of the config the zygote holds built
        self.handed = 0  # hand-overs so far: each gets a file of its own, read once

    def warm(self, config) -> None:
        """Hand `config` over to be built before the next forks, unless it is the one the
        zygote holds (it keeps only the last one: a reload back to an earlier config is handed
        over again). Never blocks: the config goes into a file, its name down the pipe."""
        from wirewatch.transforms.beam_support.cache import ref

        config_ref = ref(config)
        if config_ref.key == self.warmed or self.process.poll() is not None:
            return
        self.handed += 1
        path = os.path.join(self.folder, f"config-{config_ref.key}-{self.handed}")
        try:
            with open(f"{path}.part", "wb") as out:
                pickle.dump(config_ref, out, pickle.HIGHEST_PROTOCOL)
            os.replace(f"{path}.part", path)
            os.write(self.process.stdin.fileno(), f"{WARM_COMMAND} {path}\n".encode())
        except (OSError, ValueError, pickle.PicklingError, RuntimeError) as error:
            log.debug(f"worker zygote: not warmed ({error})")  # the next cycle tries again
        else:
            self.warmed = config_ref.key

    @classmethod
    def start(cls) -> Zygote:
        remove_stale(tempfile.gettempdir())
        folder = tempfile.mkdtemp(prefix=FOLDER_PREFIX)  # 0700: this user only
        socket_path = socket_in(folder)
        if len(os.fsencode(socket_path)) > 100:  # AF_UNIX paths end at 104-108 bytes
            os.rmdir(folder)
            raise OSError(f"socket path too long: {socket_path}")
        process = subprocess.Popen(
            [sys.executable, "-m", "wirewatch.pipelines.zygote", socket_path],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
        )
        return cls(process, folder)

    @property
    def worker_command(self) -> str:
        self.used = True
        return f"{sys.executable} -S -I {CLIENT} {self.socket}"

    def stop(self) -> None:
        """End the zygote: its stdin closes, and it exits at once from its loop. One that never
        served (a `run --once` with nothing new) or is still importing is killed instead; its
        workers die with it. Its socket folder goes with it."""
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=0.5 if self.used else 0)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)  # the zygote's own exit removes it


FRESH_WORKER = f"{sys.executable} -m wirewatch.pipelines.worker"
_running: list[Zygote] = []


def worker_command() -> str:
    """The command Beam's local engine starts each `multi_processing` worker with: a client of
    this process's zygote, or a fresh worker process where there is none."""
    zygote = _started()
    if zygote is None:
        return FRESH_WORKER
    if zygote.process.poll() is not None:  # killed (the OOM killer?), or its imports failed
        if not zygote.mourned:
            zygote.mourned = True
            log.warning(
                f"the worker zygote exited ({zygote.process.returncode}): workers start fresh "
                "from now on (slower, same results)"
            )
        return FRESH_WORKER
    return zygote.worker_command


def _started() -> Zygote | None:
    """This process's zygote, started on first use and stopped at exit; None where there is no
    fork, or it cannot start."""
    if not hasattr(os, "fork") or not hasattr(socket, "AF_UNIX"):
        return None
    if not _running:
        try:
            _running.append(Zygote.start())
        except OSError as error:
            log.debug(f"no worker zygote ({error}): workers start fresh")
            return None
        atexit.register(_running[0].stop)
    return _running[0]


def warm(config) -> None:
    """Let this process's zygote, if it runs, build what workers build from `config`."""
    if _running:
        _running[0].warm(config)


def shared_folder() -> str | None:
    """The zygote's folder: for files this process and its workers share on this machine
    (beam_support/cache.py `keep_on_this_machine`). It goes when the zygote does (or, if it
    was killed, when the next zygote starts: `remove_stale`). None where no zygote can run."""
    zygote = _started()
    return None if zygote is None else zygote.folder


def exchange_folder() -> str | None:
    """A folder for what one stage's workers hand the next stage's through files (the story
    batches, transforms/stories/beam.py), in the shared folder. It is made on first write;
    `clear_exchange` removes it after each run."""
    folder = shared_folder()
    return None if folder is None else os.path.join(folder, EXCHANGE)


def clear_exchange() -> None:
    """Remove what the last run left in the exchange folder. A process runs one pipeline at a
    time, so nothing still needs it."""
    if _running:
        shutil.rmtree(os.path.join(_running[0].folder, EXCHANGE), ignore_errors=True)


def start_early(beam_args: list[str]) -> None:
    """Start the zygote now if these Beam arguments ask for it, so its imports run while this
    process reads its config, polls, imports Beam and compiles the rules."""
    if forks_workers(beam_args):
        _started()


def forks_workers(beam_args: list[str]) -> bool:
    """The arguments mean `multi_processing` workers on the local engine; read without Beam,
    which is not imported yet when this is asked."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--runner", default="direct")
    parser.add_argument("--direct_running_mode")
    known, _ = parser.parse_known_args(beam_args)
    return known.direct_running_mode == "multi_processing" and known.runner.lower() in LOCAL_RUNNERS


def socket_in(folder: str) -> str:
    return os.path.join(folder, "zygote")


def remove_stale(parent: str) -> None:
    """Remove the socket folders of this user's zygotes that were killed outright (SIGKILL to
    the service's process group runs no cleanup): a socket nobody listens on refuses to connect.
    A folder without a socket yet may be a zygote still starting: it stays."""
    for folder in glob.glob(os.path.join(glob.escape(parent), FOLDER_PREFIX + "*")):
        try:
            if os.stat(folder).st_uid != os.getuid():
                continue
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.connect(socket_in(folder))  # a live one drops the empty request
        except ConnectionRefusedError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def main(socket_path: str) -> int:
    for name in ("SIGINT", "SIGHUP"):  # the driver's process group; the driver decides
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)  # before the imports: clients queue while they run
    listener.listen(64)
    try:
        worker, problem = prepared_worker()
        if problem:  # clients that queued get end of file, and start fresh workers
            print(f"wirewatch: worker zygote stopped: {problem}", file=sys.stderr)
            return 1
        Server(listener, worker).run()
        return 0
    finally:
        listener.close()
        shutil.rmtree(os.path.dirname(socket_path), ignore_errors=True)


def prepared_worker():
    """pipelines/worker.py with its `prepare` done and every stage's code imported; or why not."""
    try:
        from wirewatch.pipelines import worker

        worker.prepare()
        for stage in STAGES:  # every stage's code, imported once
            importlib.import_module(f"wirewatch.transforms.{stage}.beam")
    except Exception as error:  # noqa: BLE001 - any failure: workers start fresh instead
        return None, str(error)
    if threading.active_count() > 1:  # a fork would copy another thread's locks
        return None, "importing the workers' code started a thread"
    return worker, None


class Server:
    """The zygote's loop: accept, fork, report exit codes; kill a worker whose client left."""

    def __init__(self, listener: socket.socket, worker):
        self.listener, self.worker = listener, worker
        self.clients: dict[int, socket.socket] = {}  # worker pid -> its client's connection
        self.selector = selectors.DefaultSelector()
        self.wakeup, wakeup_write = socket.socketpair()
        self.wakeup.setblocking(False)
        wakeup_write.setblocking(False)
        self.wakeup_write = wakeup_write
        signal.set_wakeup_fd(wakeup_write.fileno())
        signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the selector
        self.selector.register(listener, selectors.EVENT_READ, self.accept)
        self.selector.register(self.wakeup, selectors.EVENT_READ, self.reap)
        self.selector.register(sys.stdin, selectors.EVENT_READ, self.driver_spoke)
        self.running = True
        self.zygote_pid = os.getpid()
        self.said = b""  # the driver's lines so far
        self.later = list(WARM)  # imported one by one whenever nothing else waits

    def run(self) -> None:
        while self.running:
            ready = self.selector.select(0 if self.later else None)
            if not ready and self.later:
                self.import_one(self.later.pop(0))
            # the driver first: a config it handed over before a worker asked is built first
            for key, _ in sorted(ready, key=lambda event: event[0].fileobj is not sys.stdin):
                key.data(key.fileobj)
        for pid in self.clients:
            kill(pid)

    def import_one(self, name: str) -> None:
        with contextlib.suppress(Exception):  # an extra not installed, or broken: as without
            importlib.import_module(name)
        self.stop_if_threaded("importing " + name)

    def stop_if_threaded(self, doing: str) -> None:
        """Forking now would copy another thread's locks: stop serving (clients then start
        fresh workers)."""
        if threading.active_count() > 1:
            print(f"wirewatch: worker zygote stopped: {doing} started a thread", file=sys.stderr)
            self.running = False

    def driver_spoke(self, stdin) -> None:
        data = os.read(stdin.fileno(), 4096)
        if not data:  # end of file: the driver stopped or died
            self.running = False
            return
        self.said += data
        while b"\n" in self.said:
            line, _, self.said = self.said.partition(b"\n")
            command, _, path = line.decode(errors="replace").partition(" ")
            if command == WARM_COMMAND:
                self.warm(path)

    def warm(self, path: str) -> None:
        """Build the Tagger and rules of the config in `path` into this process's cache (a
        failure only means workers build them themselves, as without this)."""
        from wirewatch.transforms.beam_support import cache
        from wirewatch.transforms.errors import WirewatchError

        cache.clear()  # a reloaded config replaces the last: workers never need an older one
        try:
            with open(path, "rb") as handed:
                config_ref = pickle.load(handed)  # decoded into the cache, by its key
            os.unlink(path)
            from wirewatch.transforms.beam_support.rulesets import ruleset_for
            from wirewatch.transforms.beam_support.taggers import tagger_for

            ruleset_for(config_ref)
            tagger_for(config_ref)
        except WirewatchError:  # a config that does not compile: the driver's check says so
            pass
        except Exception as error:  # noqa: BLE001 - the workers then build it, as before
            print(f"wirewatch: worker zygote: not warmed: {error}", file=sys.stderr)
        self.stop_if_threaded("warming")

    def accept(self, listener: socket.socket) -> None:
        conn, _ = listener.accept()
        conn.settimeout(10)
        try:
            request, fds = read_request(conn)
        except (OSError, ValueError) as error:
            log.debug(f"worker zygote: a client's request failed: {error}")
            conn.close()
            return
        pid = os.fork()
        if pid == 0:
            self.become_worker(request, fds)
        for fd in fds:
            os.close(fd)
        try:
            conn.sendall(FORKED)
        except OSError:  # the client is gone already: so must its worker be
            kill(pid)
        self.clients[pid] = conn
        self.selector.register(conn, selectors.EVENT_READ, self.client_left)

    def client_left(self, conn: socket.socket) -> None:
        self.selector.unregister(conn)  # its end of file would wake the loop until the reap
        for pid, client in self.clients.items():
            if client is conn:
                kill(pid)  # the exit code reaches no one; reap() closes the connection

    def reap(self, wakeup: socket.socket) -> None:
        try:
            while wakeup.recv(512):
                pass
        except BlockingIOError:
            pass
        while self.clients:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return
            conn = self.clients.pop(pid, None)
            if conn is None:
                continue
            with contextlib.suppress(KeyError):  # client_left unregistered it already
                self.selector.unregister(conn)
            code = os.waitstatus_to_exitcode(status)
            try:
                conn.sendall(f"{code if code >= 0 else 128 - code}\n".encode())
            except OSError:
                pass
            conn.close()

    def become_worker(self, request: dict, fds: list[int]) -> None:
        """In the child: the client's streams, environment and folder, then Beam's worker main;
        never returns."""
        code = 1
        try:
            die_with_parent()
            if os.getppid() != self.zygote_pid:  # it died before we asked
                return
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            self.selector.close()
            for sock in (self.listener, self.wakeup, self.wakeup_write, *self.clients.values()):
                sock.close()
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
                os.close(fd)
            os.chdir(request["cwd"])
            os.environ.clear()
            os.environ.update(request["env"])
            self.worker.serve(["wirewatch-worker"])
            code = 0
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else 1
        except KeyboardInterrupt:  # Ctrl-C reached the process group: the driver says so
            code = 130
        except BaseException:  # noqa: BLE001 - as an uncaught exception in a fresh worker
            import traceback

            traceback.print_exc()
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:  # noqa: BLE001, S110 - nothing left to report it to
                    pass
            os._exit(code)


def read_request(conn: socket.socket) -> tuple[dict, list[int]]:
    """A client's request: its three standard streams' descriptors, then its environment and
    working directory as length-prefixed JSON."""
    head, fds, _, _ = socket.recv_fds(conn, 4, 3)
    try:
        if len(fds) != 3 or len(head) != 4:
            raise ValueError("expected three descriptors and a length")
        (size,) = struct.unpack(">I", head)
        if size > MAX_REQUEST:
            raise ValueError(f"a request of {size} bytes")
        body = b""
        while len(body) < size:
            chunk = conn.recv(size - len(body))
            if not chunk:
                raise ValueError("the request ended early")
            body += chunk
        return json.loads(body), fds
    except (OSError, ValueError):
        for fd in fds:
            os.close(fd)
        raise


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when the zygote dies (elsewhere: nothing to ask)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


if __name__ == "__main__":
    code = main(sys.argv[1])
    sys.stderr.flush()
    os._exit(code)  # no interpreter teardown: with Beam loaded it takes longer than the work
