"""Every end-to-end test gives the processes it starts a temp folder of its own.

Why: Beam's `Pipeline()` makes a `beam-pipeline-temp*` folder in the temp directory and only
`Pipeline.run()` removes it, so a `wirewatch` process the test kills with SIGKILL mid-cycle
leaves it behind (as a killed zygote leaves its socket folder). A whole e2e run left about a
dozen in /tmp. With TMPDIR pointing at a folder of the test's own (short: a unix socket path
must stay under 108 bytes), the folders its processes leave go with it when the test ends;
nobody else's folders are touched.
"""

from __future__ import annotations

import shutil
import tempfile

import pytest


@pytest.fixture(autouse=True)
def own_tmpdir(monkeypatch):
    tempfile.gettempdir()  # this process keeps its temp dir (cached now, before the change)
    folder = tempfile.mkdtemp(prefix="wirewatch-e2e-")
    monkeypatch.setenv("TMPDIR", folder)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
