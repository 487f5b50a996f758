"""A real, throwaway PostgreSQL server for the tests: initdb + pg_ctl in a temporary folder,
listening on a loopback port.

Why not a mock: the shared store's guarantees (ON CONFLICT claims, SKIP LOCKED leases, a
connection that drops mid-cycle) only exist in the real server. Starting one costs ~3 s.

`initdb` refuses to run as root and CI runs as root, so as root every server command runs as the
`postgres` system user (`runuser -u postgres --`). The port: PostgreSQL cannot bind port 0 and
report the choice, so a random port is tried and, if the server cannot bind it, another one;
nothing probes a port and hands the number on.

Under CI (`CI=true`) a missing or failing server is an error, never a skip.
"""

from __future__ import annotations

import glob
import os
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path


class PgUnavailable(RuntimeError):
    """The PostgreSQL server binaries are missing or the server would not start."""


def bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise PgUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found; "
        "install them with: apt-get install -y postgresql"
    )


class PgServer:
    """start() -> the server runs; url(db) -> a connection URL; stop() removes everything."""

    def __init__(self):
        self.bin = bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="wirewatch-pg-"))
        self.data = self.root / "data"
        self.port: int | None = None
        self._as_root = os.geteuid() == 0

    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(self.bin / args[0]), *args[1:]]
        return ["runuser", "-u", "postgres", "--", *cmd] if self._as_root else cmd

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(self._cmd(*args), capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            raise PgUnavailable(f"{args[0]} failed: {(done.stderr or done.stdout).strip()[-500:]}")
        return done

    def init(self) -> None:
        os.chmod(self.root, 0o755)
        self.data.mkdir(mode=0o700)
        if self._as_root:  # the server writes its data, log and socket here as `postgres`
            for path in (self.root, self.data):
                shutil.chown(path, "postgres", "postgres")
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        )

    def start(self, port: int | None = None, attempts: int = 20) -> None:
        """Start on `port` (a restart keeps the port), else on a random free-looking one."""
        rng = random.Random()
        for _ in range(attempts):
            self.port = port or rng.randrange(20000, 60000)
            options = (
                f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
                f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            done = self._run(
                "pg_ctl",
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.root / "log"),
                "-w",
                "-t",
                "30",
                "start",
                check=False,
            )
            if done.returncode == 0:
                return
            log = (
                (self.root / "log").read_text(errors="replace")
                if (self.root / "log").exists()
                else ""
            )
            if port is not None or "could not bind" not in log and "in use" not in log:
                raise PgUnavailable(f"pg_ctl start failed: {log.strip()[-500:] or done.stderr}")
        raise PgUnavailable("no free port for PostgreSQL after several attempts")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self) -> None:
        """Stop at once (open connections are cut, as when a server dies) and start again."""
        self.stop("immediate")
        self.start(port=self.port)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        self._run(
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-q",
            "-c",
            f'CREATE DATABASE "{name}"',
        )
        return self.url(name)

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def start_server() -> PgServer:
    server = PgServer()
    try:
        server.init()
        server.start()
    except BaseException:
        server.destroy()
        raise
    return server


def wait_until(predicate, timeout: float = 10.0, pause: float = 0.05) -> bool:
    """Poll `predicate` until true (used for server-side conditions with no event to wait on)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(pause)
    return predicate()
