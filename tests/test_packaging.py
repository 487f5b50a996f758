"""The wheel installs one import name, `wirewatch`: the folders `pipelines/` and `transforms/`
are mapped under it (pyproject.toml), so nothing generic lands in users' site-packages, where
two distributions with one top-level name overwrite each other.

Builds the real wheel with pip (build isolation on: setuptools comes from the package index)
from a copy of the files git would put in a clone (tracked plus new, not ignored): a stale
`build/lib` in the checkout, or a concurrent build there, cannot leak into what is checked.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

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
def wheel(tmp_path_factory) -> zipfile.ZipFile:
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
    with zipfile.ZipFile(path) as archive:
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
