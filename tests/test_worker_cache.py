"""The per-process cache DoFns use for the config and what they compile from it."""

from __future__ import annotations

import pickle
import shutil
import zlib

import pytest

from wirewatch.transforms.beam_support import cache as worker_cache


@pytest.fixture(autouse=True)
def empty_cache():
    worker_cache.clear()
    yield
    worker_cache.clear()


def test_a_ref_travels_with_its_value_and_decodes_once_per_process():
    data = {"rules": ["a", "b"]}
    ref = worker_cache.ref(data)
    assert worker_cache.ref(data) is ref  # one encoding per object
    same_process = pickle.loads(pickle.dumps(ref))
    assert same_process.value is data and same_process.key == ref.key

    worker_cache.clear()  # as in a fresh worker process: decoded from the pickled bytes
    elsewhere = pickle.loads(pickle.dumps(ref))
    assert elsewhere.value == data and elsewhere.value is not data
    assert pickle.loads(pickle.dumps(ref)).value is elsewhere.value


def test_shared_builds_once_per_kind_and_key():
    built = []

    def build():
        built.append(1)
        return object()

    first = worker_cache.shared("tagger", "k1", build)
    assert worker_cache.shared("tagger", "k1", build) is first
    assert worker_cache.shared("tagger", "k2", build) is not first
    assert worker_cache.shared("rules", "k1", build) is not first
    assert len(built) == 3


def test_the_cache_is_bounded():
    for n in range(worker_cache.MAX_ENTRIES + 5):
        worker_cache.shared("tagger", str(n), object)
    assert len(worker_cache._objects) == worker_cache.MAX_ENTRIES


def test_fingerprint_follows_content():
    assert worker_cache.fingerprint({"a": 1}) == worker_cache.fingerprint({"a": 1})
    assert worker_cache.fingerprint({"a": 1}) != worker_cache.fingerprint({"a": 2})


def test_a_value_kept_in_process_pickles_as_its_key_until_released():
    data = {"taxonomy": ["x"] * 10_000}
    full = len(pickle.dumps(worker_cache.ref(data)))
    release = worker_cache.keep_in_process(data)
    kept = worker_cache.ref(data)
    blob = pickle.dumps(kept)
    assert len(blob) < 200 < full  # the key alone
    assert pickle.loads(blob).value is data and pickle.loads(blob).key == kept.key
    again = worker_cache.keep_in_process(data)  # a second holder (a reload to the same config)
    release()
    assert pickle.loads(blob).value is data
    again()
    assert len(pickle.dumps(worker_cache.ref(data))) == full  # travels whole again
    with pytest.raises(RuntimeError, match="kept for the process that built the graph"):
        pickle.loads(blob)  # a graph built for this process, run after its runner is gone


def test_a_value_kept_on_this_machine_pickles_as_its_key_and_file_until_released(tmp_path):
    """Worker processes forked from a warmed zygote find the value by its key; any other
    process reads it from the file, which goes when the last holder releases it."""
    data = {"taxonomy": [str(n) for n in range(10_000)]}
    full = len(pickle.dumps(worker_cache.ref(data)))
    release = worker_cache.keep_on_this_machine(data, str(tmp_path))
    blob = pickle.dumps(worker_cache.ref(data))
    assert len(blob) < 300 < full  # the key and a path
    assert pickle.loads(blob).value is data  # this process: by its key
    [file] = tmp_path.glob("*.ref")
    again = worker_cache.keep_on_this_machine(data, str(tmp_path))  # a second holder

    worker_cache.forget_values()  # as in a fresh worker process: decoded from the file
    elsewhere = pickle.loads(blob)
    assert elsewhere.value == data and elsewhere.value is not data

    release()
    assert file.exists()
    again()
    assert not file.exists()  # the last holder released it
    assert len(pickle.dumps(worker_cache.ref(data))) == full  # travels whole again
    worker_cache.forget_values()
    with pytest.raises(RuntimeError, match="kept for the run that built the graph"):
        pickle.loads(blob)  # a graph run again after its holder released the value


def test_a_kept_file_whose_folder_went_is_written_again_before_a_run(tmp_path):
    data = {"taxonomy": [str(n) for n in range(10_000)]}
    release = worker_cache.keep_on_this_machine(data, str(tmp_path / "shared"))
    [file] = (tmp_path / "shared").glob("*.ref")
    shutil.rmtree(tmp_path / "shared")  # the zygote's folder went, a cached graph names it
    worker_cache.respool()
    assert pickle.loads(zlib.decompress(file.read_bytes())) == data
    release()
