"""The wheel installs one import name, `wirewatch`: the folders `pipelines/` and `transforms/`
are mapped under it (pyproject.toml), so nothing generic lands in users' site-packages, where
two distributions with one top-level name overwrite each other. It works on its own: the
shipped data (`configs/`, as `wirewatch.configs`) is inside it, and installed into a fresh venv
it runs `init`, `check` and `run --once` from an empty folder.

Builds the real wheel with pip (build isolation on: setuptools comes from the package index)
from a copy of the files git would put in a clone (tracked plus new, not ignored): a stale
`build/lib` in the checkout, or a concurrent build there, cannot leak into what is checked.
The fresh venv gets the wheel and nothing else: its dependencies are this interpreter's
site-packages, added to its path by a .pth line (a path line does not run the .pth files
there, so the checkout's editable install stays out), and nothing is downloaded.
"""

from __future__ import annotations

import csv
import email
import io
import os
import shutil
import site
import subprocess
import sys
import venv
import zipfile
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def _clone_files(dest: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (raw.decode() for raw in listed)):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is not in a clone
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


@pytest.fixture(scope="module")
def wheel_path(tmp_path_factory) -> Path:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to know which files a clone has")
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("wheel")
    _clone_files(src)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, f"pip wheel failed:\n{build.stdout}\n{build.stderr}"
    [path] = out.glob("wirewatch-*.whl")
    return path


@pytest.fixture(scope="module")
def wheel(wheel_path) -> zipfile.ZipFile:
    with zipfile.ZipFile(wheel_path) as archive:
        yield archive


def _record(archive: zipfile.ZipFile) -> list[str]:
    [name] = [n for n in archive.namelist() if n.endswith(".dist-info/RECORD")]
    rows = csv.reader(io.StringIO(archive.read(name).decode()))
    return sorted(row[0] for row in rows if row)


def _top_level_names(files: list[str]) -> set[str]:
    top = {name.split("/", 1)[0] for name in files}
    return {name for name in top if not name.endswith((".dist-info", ".data"))}


def test_the_wheel_installs_only_the_wirewatch_import_name(wheel):
    files = sorted(wheel.namelist())
    listing = "\n".join(files)
    assert _top_level_names(files) == {"wirewatch"}, f"wheel file list:\n{listing}"
    assert _top_level_names(_record(wheel)) == {"wirewatch"}, f"wheel file list:\n{listing}"
    [top_level] = [n for n in files if n.endswith(".dist-info/top_level.txt")] or [None]
    if top_level:
        assert wheel.read(top_level).decode().split() == ["wirewatch"], listing


def test_the_record_lists_exactly_the_archive(wheel):
    """RECORD is what pip installs and uninstalls from: it must agree with the archive."""
    assert _record(wheel) == sorted(wheel.namelist())


def test_every_stage_ships_its_core_and_its_wrapper(wheel):
    files = set(wheel.namelist())
    listing = "\n".join(sorted(files))
    for module in ("transforms/model.py", "transforms/errors.py", "pipelines/cli.py"):
        assert f"wirewatch/{module}" in files, listing
    for stage in ("ingest", "routing", "rules", "sinks", "state", "stories", "tagging"):
        assert f"wirewatch/transforms/{stage}/beam.py" in files, listing


def test_the_shipped_data_license_and_type_markers_are_in_the_wheel(wheel):
    files = set(wheel.namelist())
    listing = "\n".join(sorted(files))
    for data in (
        "configs/wirewatch.yaml",
        "configs/starter.yaml",
        "configs/wirewatch.schema.json",
        "configs/taxonomy/iptc.yaml",
        "configs/entities/places.yaml",
        "configs/samples/world-wire.xml",
        "pipelines/py.typed",
        "transforms/py.typed",
        "transforms/tagging/topic_model.json",  # the topic classifier (bench/train_topics.py)
    ):
        assert f"wirewatch/{data}" in files, listing
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in files), listing
    [name] = [n for n in files if n.endswith(".dist-info/METADATA")]
    metadata = email.message_from_bytes(wheel.read(name))
    assert metadata["License-Expression"] == "Apache-2.0"
    assert any(url.startswith("Issues, https://") for url in metadata.get_all("Project-URL"))
    assert "Typing :: Typed" in metadata.get_all("Classifier")


@pytest.fixture(scope="module")
def installed(wheel_path, tmp_path_factory) -> Path:
    """A fresh venv holding the wheel; its `wirewatch` script."""
    root = tmp_path_factory.mktemp("venv")
    venv.create(root, with_pip=False)
    python = root / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(purelib) / "deps-of-the-test-runner.pth").write_text("\n".join(site.getsitepackages()))
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps"]
        + ["--no-index", str(wheel_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, f"pip install failed:\n{install.stdout}\n{install.stderr}"
    return root / "bin" / "wirewatch"


@pytest.fixture
def empty_folder(tmp_path) -> tuple[Path, dict]:
    """An empty working folder, and an environment whose user folders are empty ones too."""
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WIREWATCH_", "SLACK_"))}
    env.update(
        HOME=str(tmp_path / "home"),
        XDG_CONFIG_HOME=str(tmp_path / "xdg-config"),
        XDG_STATE_HOME=str(tmp_path / "xdg-state"),
        NO_PROXY="*",
    )
    env.pop("PYTHONPATH", None)
    return work, env


def _wirewatch(script: Path, work: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(script), *args], cwd=work, env=env, capture_output=True, text=True, timeout=300
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def test_the_installed_wheel_runs_from_its_own_files(installed, empty_folder):
    work, env = empty_folder
    python = installed.parent / "python"
    where = subprocess.run(
        [
            python,
            "-c",
            "import wirewatch.pipelines.cli as m, wirewatch.configs as d; "
            "print(m.__file__); print(d.__file__)",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    venv_root = str(installed.parent.parent)
    assert all(path.startswith(venv_root) for path in where), where
    version = _wirewatch(installed, work, env, "--version")
    assert version.returncode == 0 and version.stdout.startswith("wirewatch 0.")


def test_the_quick_start_works_from_a_wheel_in_an_empty_folder(installed, empty_folder):
    """No config anywhere: the built-in sample config and its sample feeds (package data)."""
    work, env = empty_folder
    done = _wirewatch(installed, work, env, "run", "--once")
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("wirewatch: config ") and "built-in sample config" in done.stderr
    assert "earthquake" in (done.stdout + done.stderr).lower()
    assert list((Path(env["XDG_STATE_HOME"]) / "wirewatch").glob("state.sqlite3"))


def test_init_check_and_run_once_from_an_empty_folder(installed, empty_folder):
    work, env = empty_folder
    init = _wirewatch(installed, work, env, "init")
    assert init.returncode == 0, init.stderr
    assert sorted(p.name for p in work.iterdir()) == ["wirewatch.schema.json", "wirewatch.yaml"]
    check = _wirewatch(installed, work, env, "check")
    assert check.returncode == 0, check.stderr
    assert check.stderr == "wirewatch: config wirewatch.yaml (found in this folder)\n"
    assert check.stdout.startswith("wirewatch.yaml: ok (1 feeds, ")
    config = work / "wirewatch.yaml"
    starter_feed = "https://feeds.bbci.co.uk/news/world/rss.xml"
    assert starter_feed in config.read_text()
    config.write_text(config.read_text().replace(starter_feed, "feed.xml"))  # never the network
    now = format_datetime(datetime.now(timezone.utc), usegmt=True)
    (work / "feed.xml").write_text(
        "<rss version='2.0'><channel><title>t</title><link>https://example.org/</link>"
        "<item><title>Strong earthquake strikes off the coast of Chile</title>"
        f"<link>https://example.org/quake</link><pubDate>{now}</pubDate></item>"
        "</channel></rss>"
    )
    run = _wirewatch(installed, work, env, "run", "--once", "--state-dir", "state")
    assert run.returncode == 0, run.stderr
    assert "Strong earthquake strikes off the coast of Chile" in run.stdout + run.stderr
    assert (work / "state" / "state.sqlite3").is_file()
