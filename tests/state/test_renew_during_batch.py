"""Renewing a worker's leases while its delivery batch runs (one transaction holding the
rows of the alerts it has finished so far), on every backend: neither waits on the other
in a cycle (PostgreSQL would abort one of them as a deadlock, failing the delivery)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from tests.state.conftest import T0
from wirewatch.transforms.state import Lease


def test_a_renewal_during_a_delivery_batch_deadlocks_neither(store, connect):
    keys = [f"k{i:03}" for i in range(60)]
    for key in keys:
        store.claim_alert(key, "file", "{}", Lease("me", 120))
    renewer, errors, started = connect(), [], threading.Event()

    def renew():
        started.wait(10)
        try:
            renewer.renew_leases("me", T0 + timedelta(seconds=600))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=renew)
    thread.start()
    with store.transaction():  # offer_all's batch: claims and outcomes, in order
        for i, key in enumerate(reversed(keys)):  # not in the order the rows were written
            assert store.claim_alert(key, "file", "{}", Lease("me", 120))
            store.finish_alert(key, "sent", 1, owner="me")
            if i == 5:
                started.set()
                time.sleep(0.3)  # the renewal now waits for this batch's rows
    thread.join(30)
    assert errors == []
    assert [r.status for r in (store.alert(k) for k in keys)] == ["sent"] * len(keys)
