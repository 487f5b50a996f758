"""The one way a DoFn reaches the state store: opened in setup(), closed in teardown().

Only the directory travels with the pipeline graph; the SQLite connection is per worker.
"""

from __future__ import annotations

import apache_beam as beam

from transforms.store import StateStore


class StoreDoFn(beam.DoFn):
    def __init__(self, state_dir: str):
        super().__init__()
        self.state_dir = state_dir

    def setup(self):
        self.store = StateStore(self.state_dir)

    def teardown(self):
        self.store.close()
