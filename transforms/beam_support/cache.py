"""Per-process cache for what DoFns build from the config: the config itself, the compiled
Tagger, the RuleSet. No Beam import.

Why: the watch driver runs a new short pipeline every tick, and every run unpickles its DoFns and
calls their setup() again. Unpickling a full Config (taxonomy and gazetteer: ~300 KB) in each
DoFn and recompiling the tagger's automaton then cost more than the cycle's work. With this
module, a worker process pays for each once per distinct config:

- `ref(value)` wraps plain data (a Config, a dict) for a DoFn. It pickles as (fingerprint, bytes); unpickling looks
  the fingerprint up in this process first and decodes the bytes only on a miss. The value still
  travels with the graph, so workers in other processes or on other machines (Flink, Dataflow)
  get it as before: nothing depends on a module global being pre-filled.
- `shared(kind, key, build)` returns the object `build()` made for (kind, key) in this process,
  building it on first use. Key it by `Ref.key` so a changed config builds anew.

Why not Beam's own `apache_beam.utils.shared.Shared`: it holds its objects by weak reference and
keeps only the most recently acquired one alive between uses. The watch driver's DoFns are
discarded after every cycle, and a cycle acquires two shared objects (HTTP client, Tagger), so
with `Shared` both are rebuilt every cycle. Measured (idle watch cycles, 5 real feeds, shipped
taxonomy and gazetteer, CycleRunner, 2 vCPUs under load, 28 cycles per run, two runs each):
this cache builds 2 objects in total, median CPU per idle cycle 332 / 281 ms; `Shared` builds 56
(two per cycle: Tagger.from_config ~90 ms CPU, the HTTP client ~31 ms), median CPU 366 / 460 ms.
The RuleSet (issue 18) makes it matter more: 100,000 rules take seconds to compile. Acquiring
three objects per cycle for 10 cycles, DoFns dropped after each (whether the graph and its
`Shared` handles are new each cycle or re-run), `Shared` built 30 objects, this cache 3.

- `keep_in_process(value)`: for a graph this process runs itself (the watch loop's in-process
  engine), every DoFn built from `value` gets a Ref that pickles as its key alone. Why: Beam
  unpickles each DoFn, re-pickles it with its windowing and unpickles it again every time it
  builds a stage's bundle processor, which the watch loop does every cycle, bz2 at level 9 each
  way. Four DoFns carry the config (the tagger, matcher, router and sinks: 83 KB each with the
  shipped taxonomy and gazetteer), and on this 2-core machine those passes cost more than a
  one-alert cycle's own work, on the path from fetch to Slack. Graphs for other runners keep
  the full Ref.
- `keep_on_this_machine(value, folder)`: for a graph whose workers are processes on this
  machine (the local engine's `multi_processing`), `ref(value)` pickles as its key and the path
  of a file in `folder` holding its encoding. Why: the same passes cost each of two workers
  0.13-0.15 s of a cold cycle with the shipped config's 62 KB (17 loads and 4 dumps of
  DoFns that carry it, timed inside the workers), and the driver 0.05 s building the graph. A
  worker forked from the warmed zygote finds the value by its key; any other reads the file.

Both caches are bounded (least recently used out), so a long-running worker does not grow.
Objects from `shared` are used by several DoFn instances, possibly on several threads: only put
objects whose use does not mutate them (Tagger.tag, RuleSet.match).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import threading
import zlib
from collections import OrderedDict
from typing import Any, Callable, Generic, TypeVar

T = TypeVar("T")
MAX_ENTRIES = 16

_lock = threading.RLock()
_values: OrderedDict[str, Any] = OrderedDict()  # Ref key -> decoded value
_objects: OrderedDict[tuple[str, str], Any] = OrderedDict()  # (kind, key) -> built object


def _remember(table: OrderedDict, key, value) -> None:
    table[key] = value
    table.move_to_end(key)
    while len(table) > MAX_ENTRIES:
        table.popitem(last=False)


class Ref(Generic[T]):
    """Plain data for a DoFn, decoded once per process. `ref.value` is the data, `ref.key` its
    fingerprint (sha256 of its pickle)."""

    __slots__ = ("value", "key", "_blob", "_path")

    def __init__(self, value: T):
        self.value, self._path = value, None
        # zlib at level 1: Beam bz2-compresses each DoFn payload once per run and decompresses
        # it twice, so the blob must be small, but compressing it must be cheap too. A config
        # with 100,000 rules pickles to 17 MiB: lzma made 1.4 MiB in 4.75 s CPU; zlib level 1
        # makes 2.2 MiB in 0.08 s, and Beam's three bz2 passes over it cost 0.33 + 2 x 0.13 s
        # (0.22 + 2 x 0.08 s for the lzma blob).
        self._blob = zlib.compress(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), 1)
        self.key = hashlib.sha256(self._blob).hexdigest()[:32]
        with _lock:
            _remember(_values, self.key, value)

    def __reduce__(self):
        if self._path is not None:  # in a file on this machine (keep_on_this_machine)
            return _restore_from_file, (self.key, self._path)
        if self._blob is None:  # kept in this process (keep_in_process)
            return _restore_kept, (self.key,)
        return _restore, (self.key, self._blob)

    def __repr__(self) -> str:
        return f"Ref({type(self.value).__name__}, key={self.key[:12]})"


_by_id: OrderedDict[int, Ref] = OrderedDict()
_kept: dict[str, list] = {}  # Ref key -> [holders, its full Ref, the Ref graphs get meanwhile]


def ref(value: T) -> Ref[T]:
    """`Ref(value)`, made once per object: several DoFns holding the same Config share one
    encoding (the object is kept alive here, so its id is not reused). The encoding is taken
    now: treat `value` as frozen from here on, or other processes get what it was then while
    this one sees it as it is."""
    if isinstance(value, Ref):
        return value
    with _lock:
        known = _by_id.get(id(value))
        if known is not None and known.value is value:
            return known
    made = Ref(value)
    with _lock:
        _remember(_by_id, id(value), made)
    return made


def _restore(key: str, blob: bytes) -> Ref:
    return _restored(key, blob, None, lambda: blob)


def _restore_from_file(key: str, path: str) -> Ref:
    def read() -> bytes:
        try:
            with open(path, "rb") as file:
                return file.read()
        except FileNotFoundError:  # released: a graph built for one run was run again
            raise RuntimeError(f"{path} was kept for the run that built the graph") from None

    return _restored(key, None, path, read)


def _restored(key: str, blob: bytes | None, path: str | None, read: Callable[[], bytes]) -> Ref:
    """The Ref under `key`: its value from this process if known, else decoded from `read()`."""
    ref = Ref.__new__(Ref)
    ref.key, ref._blob, ref._path = key, blob, path
    with _lock:
        if key in _values:
            _values.move_to_end(key)
            ref.value = _values[key]
            return ref
    ref.value = pickle.loads(zlib.decompress(read()))
    with _lock:
        _remember(_values, key, ref.value)
    return ref


def keep_in_process(value: T) -> Callable[[], None]:
    """From now on `ref(value)` pickles as its key alone, valid in this process only; call the
    function returned once no graph built meanwhile will run again."""
    return _keep(value, None)


def keep_on_this_machine(value: T, folder: str) -> Callable[[], None]:
    """From now on `ref(value)` pickles as its key and the path of a file in `folder` holding
    its encoding (written now); call the function returned once no graph built meanwhile will
    run again, and the file goes. `respool` writes it again if the folder went meanwhile."""
    release = _keep(value, folder)
    respool()
    return release


def respool() -> None:
    """Write again any file of a value kept on this machine that is gone (its folder removed
    while a graph that names it may still run: before each run)."""
    with _lock:
        spooled = [(kept._path, full._blob) for _, full, kept in _kept.values() if kept._path]
    for path, blob in spooled:
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(f"{path}.part", "wb") as file:
                file.write(blob)
            os.replace(f"{path}.part", path)  # a reader never sees half of it


def _keep(value: T, folder: str | None) -> Callable[[], None]:
    """Hold `value` kept: graphs get its Ref without the blob, and with the path of a file in
    `folder` holding it (None: no file, this process only)."""
    full = ref(value)
    with _lock:
        if full.key not in _kept:
            kept = Ref.__new__(Ref)
            kept.value, kept.key, kept._blob = value, full.key, None
            kept._path = os.path.join(folder, f"{full.key}.ref") if folder else None
            _kept[full.key] = [0, full, kept]
        entry = _kept[full.key]  # holders, the full Ref, the kept Ref
        entry[0] += 1
        _remember(_by_id, id(value), entry[2])

    def release() -> None:
        with _lock:
            entry[0] -= 1
            if entry[0] > 0:
                return
            _kept.pop(full.key, None)
            _remember(_by_id, id(value), entry[1])
        if entry[2]._path:
            with contextlib.suppress(OSError):
                os.unlink(entry[2]._path)

    return release


def _restore_kept(key: str) -> Ref:
    with _lock:
        entry = _kept.get(key)
    if entry is None:  # a graph built for one process was run by another, or after release
        raise RuntimeError(f"config {key[:12]} was kept for the process that built the graph")
    return entry[2]


def fingerprint(value: Any) -> str:
    """A cache key for small plain data (settings objects): sha256 of its pickle."""
    return hashlib.sha256(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)).hexdigest()[:32]


def shared(kind: str, key: str, build: Callable[[], T]) -> T:
    """The object `build()` made for (kind, key) in this process; built on first use."""
    with _lock:
        if (kind, key) in _objects:
            _objects.move_to_end((kind, key))
            return _objects[(kind, key)]
    obj = build()  # outside the lock: compiling can take a while; a racing twin is harmless
    with _lock:
        _remember(_objects, (kind, key), obj)
        return _objects[(kind, key)]


def forget_values() -> None:
    """Forget the decoded values, as a process that never saw them (tests)."""
    with _lock:
        _values.clear()


def clear() -> None:
    """Forget everything (tests)."""
    with _lock:
        _values.clear()
        _objects.clear()
        _by_id.clear()
        _kept.clear()
