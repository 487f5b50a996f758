"""A big config file's rules, taxonomy and entities, read from YAML once and kept on disk
until the file changes.

Why: reading the YAML of a config with 100,000 rules (7.5 MB) takes seconds, every
`run --once`, while the file rarely changes. A file of at least MIN_BYTES is cut into its
top-level `rules:`, `taxonomy:` and `entities:` entries (block style, the key at the start of a
line) and the rest. The data of those entries is stored (marshal: plain data only, nothing
loads code) under the user cache folder (`$XDG_CACHE_HOME/wirewatch/config`, else
`~/.cache/wirewatch/config`), named by a SHA-256 over the file's text and what shapes its data
(this code, yaml_read.py, PyYAML and libyaml, Python). The next read of the same text takes
them from there and parses only the rest with yaml_read: the same data, in the same key order.

What is cached is YAML data only, never a validated config: every load still validates
everything, resolves ${ENV} references and reads secret files, so changed variables take
effect, their values never reach the disk, and every problem is reported as before. The rest
of the file (sinks, settings, where a literal URL may sit) is not stored either: it is read
from the file each time. A file with a key given twice, data marshal cannot hold (a date), or
a cut that would not read back exactly as the whole file (a flow-style top level, an anchor
used across sections) is not cached. A cache file that cannot be read or does not match is
ignored and written again; one that cannot be written is skipped. Delete the folder to clear
it; at most KEEP entries are kept (the oldest go first).
"""

from __future__ import annotations

import functools
import hashlib
import marshal
import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from wirewatch.transforms.config import yaml_read

MIN_BYTES = 256 * 1024
"""Smaller texts parse in well under 0.1 s: not worth a disk write."""
KEEP = 8
SECTIONS = ("rules", "taxonomy", "entities")
"""Long lists of plain data whose models hold no secret."""

_FORMAT = 1
_TOP_LINE = re.compile(r"^[^\s#.-]", re.M)
"""A line that starts a top-level key of a block mapping (not indented, no comment, no list
item, no `---`/`...`)."""
_SECTION = re.compile(rf"({'|'.join(SECTIONS)})[ \t]*:(?=\s)")


def parse(text: str) -> tuple[Any, list[tuple[Any, int, int]]]:
    """`yaml_read.parse(text)`, taking a big text's long sections from the cache."""
    key = _key(text) if len(text) >= MIN_BYTES else None
    if key is None:
        return yaml_read.parse(text)
    data = _cached(key, text)
    if data is not None:
        return data, []
    data, duplicates = yaml_read.parse(text)
    if not duplicates and isinstance(data, dict):
        _store(key, text, data)
    return data, duplicates


def folder() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("wirewatch")) / "config"


def _key(text: str) -> str | None:
    """The text's cache key: a hash of it and of what else shapes its data (None, and no
    cache, when the code cannot be read)."""
    versions = _versions()
    if versions is None:
        return None
    return hashlib.sha256(f"{_FORMAT}|{versions}|".encode() + text.encode()).hexdigest()


@functools.lru_cache(maxsize=1)
def _versions() -> str | None:
    """This code and the reader's, and their libraries."""
    code = hashlib.sha256()
    try:
        for module in (sys.modules[__name__], yaml_read):
            code.update(Path(str(module.__file__)).read_bytes())
    except OSError:
        return None
    libyaml = yaml.__with_libyaml__ and yaml._yaml.get_version_string()  # type: ignore[attr-defined]
    return f"{sys.version}|{yaml.__version__}|{libyaml}|{code.hexdigest()}"


def _spans(text: str) -> list[tuple[str, int, int]]:
    """(section, start, end) of each top-level entry of SECTIONS, from its key's line to the
    next top-level key's line."""
    starts = [found.start() for found in _TOP_LINE.finditer(text)] + [len(text)]
    spans = []
    for start, end in zip(starts, starts[1:]):
        section = _SECTION.match(text, start)
        if section:
            spans.append((section.group(1), start, end))
    return spans


def _rest(text: str, spans: list[tuple[str, int, int]]) -> str:
    """The text without the spans."""
    pieces, at = [], 0
    for _, start, end in spans:
        pieces.append(text[at:start])
        at = end
    return "".join(pieces) + text[at:]


def _cached(key: str, text: str) -> dict | None:
    """The data stored under `key`, the rest parsed from `text`; None when there is none, or
    it is unreadable, damaged or not for this text."""
    try:
        stored_key, spans, order, sections = marshal.loads((folder() / key).read_bytes())
        if stored_key != key:
            return None
        rest, _ = yaml_read.parse(_rest(text, spans))
        rest = {} if rest is None else rest
        if set(rest) & set(sections) or set(order) != set(rest) | set(sections):
            return None
        return {name: rest[name] if name in rest else sections[name] for name in order}
    except Exception:  # noqa: BLE001  any damage is a miss, never a crash
        return None


def _store(key: str, text: str, data: dict) -> None:
    """Stores the sections' data if the rest of the text reads back as the rest of `data`."""
    spans = [span for span in _spans(text) if span[0] in data]
    if not spans or len({name for name, _, _ in spans}) < len(spans):
        return
    sections = {name: data[name] for name, _, _ in spans}
    try:
        rest, duplicates = yaml_read.parse(_rest(text, spans))
        expected = {name: value for name, value in data.items() if name not in sections}
        if duplicates or repr(rest or {}) != repr(expected):
            return
        blob = marshal.dumps((key, spans, list(data), sections))
    except (yaml.YAMLError, RecursionError, ValueError):  # ValueError: no plain data
        return
    _write(key, blob)


def _write(key: str, blob: bytes) -> None:
    """Atomically (a temporary file, then a rename); then the oldest entries beyond KEEP go."""
    import tempfile

    try:
        where = folder()
        where.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=where, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(blob)
            os.replace(temporary, where / key)
        except BaseException:
            os.unlink(temporary)
            raise
        entries = sorted(
            (entry.stat().st_mtime, entry) for entry in where.iterdir() if entry.name != key
        )
        for _, entry in entries[: max(0, len(entries) + 1 - KEEP)]:
            entry.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only or full disk: the next load reads the YAML again
