"""Read the main YAML file and its includes, validate each, merge, cross-check.

Every mistake becomes a `Problem` naming the file, the field and the fix; all of a file's
problems are reported at once (`ConfigError`), so one `wirewatch check` shows everything.

Every config starts from the built-in lists (the shipped IPTC taxonomy and gazetteer, package
data): a config without `include:` can use `topic:` and `entity:` queries. Topics and entities
of the config's own files extend them, and one with a built-in id replaces that built-in
entry; `builtin_lists: false` leaves them out.
"""

from __future__ import annotations

import functools
import glob
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from wirewatch.transforms.config.checks import cross_check
from wirewatch.transforms.config.locate import builtin_lists
from wirewatch.transforms.config.messages import describe_error
from wirewatch.transforms.config.models import Config, ConfigFragment, JsonlSink
from wirewatch.transforms.errors import ConfigError, Problem

MAX_CONFIG_BYTES = 20_000_000
"""A config file (main or include) larger than this is refused unread: the shipped gazetteer is
well under 1 MB, and `include: ['/dev/zero']` must not exhaust memory."""

_SECTION_LISTS = ("feeds", "taxonomy", "entities", "rules", "routes")
_BUILTIN_SECTIONS = ("taxonomy", "entities")
_MAIN_ONLY = (
    "include",
    "builtin_lists",
    "fetch",
    "state_dir",
    "state",
    "dead_letters",
    "silences",
    "stories",
    "tagging",
    "seen_retention_days",
    "lease_seconds",
)


def load_config(path: str | os.PathLike) -> Config:
    """Read the main file and its includes, validate each, merge, cross-check. Raises ConfigError."""
    main = Path(path)
    raw = _read_yaml(main)
    problems: list[Problem] = []
    fragments = [(main, _validate_fragment(main, raw, problems))]
    patterns = raw.get("include") if isinstance(raw.get("include"), list) else []
    for pattern in (p for p in patterns if isinstance(p, str)):  # others: a validation Problem
        matches = sorted(glob.glob(str(main.parent / pattern)))
        if not matches:
            problems.append(
                Problem(
                    str(main),
                    "include",
                    f"no file matches '{pattern}'",
                    f"correct the path (relative to {main.parent}) or remove it from include",
                )
            )
        for name in matches:
            part = Path(name)
            refused = _not_a_regular_file(part)
            if refused:
                problems.append(refused)
                continue
            try:
                part_raw = _read_yaml(part)
            except ConfigError as exc:
                problems.extend(exc.problems)
                continue
            for key in _MAIN_ONLY:
                if key in part_raw:
                    problems.append(
                        Problem(
                            str(part),
                            key,
                            "only allowed in the main config file",
                            f"move it to {main}",
                        )
                    )
                    part_raw.pop(key)
            fragments.append((part, _validate_fragment(part, part_raw, problems)))
    if problems:
        raise ConfigError(problems)
    config = _merge(main, [f for _, f in fragments])
    if config.builtin_lists:
        _extend_builtin(config)
    problems = cross_check(config)
    if problems:
        raise ConfigError(problems)
    return config


def _extend_builtin(config: Config) -> None:
    """The built-in entries first, without those the config's own files redefine (by id)."""
    for section in _BUILTIN_SECTIONS:
        own = getattr(config, section)
        ids = {item.id for item in own}
        base = [item for item in _builtin_items(section) if item.id not in ids]
        setattr(config, section, base + own)


def _builtin_items(section: str) -> list:
    items = []
    for path in builtin_lists():
        items += getattr(ConfigFragment.model_validate(_read_builtin(str(path))), section)
    return items


@functools.lru_cache(maxsize=None)
def _read_builtin(path: str) -> dict:
    """The shipped lists are read once per process (parsing the gazetteer is most of a load);
    each load validates them into its own models."""
    return _read_yaml(Path(path))


def _not_a_regular_file(path: Path) -> Problem | None:
    """Why an include is refused before it is opened: a FIFO would hang, a device never end."""
    try:
        info = path.stat()
    except OSError as exc:
        return Problem(str(path), "include", f"cannot read config: {exc.strerror}", _INCLUDE_FIX)
    if not stat.S_ISREG(info.st_mode):
        kind = _FILE_KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
        return Problem(str(path), "include", f"is a {kind}, not a regular file", _INCLUDE_FIX)
    if info.st_size > MAX_CONFIG_BYTES:
        return _too_big(path)
    return None


_INCLUDE_FIX = "include only regular YAML files"
_FILE_KINDS = {
    stat.S_IFDIR: "directory",
    stat.S_IFIFO: "FIFO",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
    stat.S_IFSOCK: "socket",
}


def _too_big(path: Path) -> Problem:
    return Problem(
        str(path),
        message=f"config file is larger than {MAX_CONFIG_BYTES} bytes",
        fix="split it or remove what is not config",
    )


def _read_text(path: Path) -> str:
    """At most MAX_CONFIG_BYTES of the file, refusing a longer one (a device never ends)."""
    with path.open("rb") as handle:
        data = handle.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError([_too_big(path)])
    return data.decode("utf-8")


class _DuplicateKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The C loader (10x faster on the shipped gazetteer) noting every key given twice in one
    mapping: plain YAML keeps the last and silently drops the first (a second `rules:`)."""

    def __init__(self, stream):
        super().__init__(stream)
        self.duplicates: list[tuple[Any, int, int]] = []

    def construct_mapping(self, node, deep=False):
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key = self.construct_object(key_node)
            line = key_node.start_mark.line + 1
            if key in first_line:
                self.duplicates.append((key, first_line[key], line))
            else:
                first_line[key] = line
        return super().construct_mapping(node, deep=deep)


def _parse(text: str) -> tuple[Any, list[tuple[Any, int, int]]]:
    loader = _DuplicateKeyLoader(text)
    try:
        return loader.get_single_data(), loader.duplicates
    finally:
        loader.dispose()


def _read_yaml(path: Path) -> dict:
    try:
        text = _read_text(path)
    except UnicodeDecodeError as exc:
        problem = Problem(
            str(path), message=f"not UTF-8 text (byte {exc.start})", fix="save the file as UTF-8"
        )
        raise ConfigError([problem]) from None
    except OSError as exc:
        problem = Problem(
            str(path),
            message=f"cannot read config: {exc.strerror}",
            fix="pass --config PATH pointing at a readable YAML file",
        )
        raise ConfigError([problem]) from None
    try:
        # the C loader when PyYAML has it: 10x faster on the shipped gazetteer
        data, duplicates = _parse(text)
    except RecursionError:
        raise ConfigError([_too_deep(path)]) from None
    except yaml.YAMLError:
        exc = _python_loader_error(text)
        if exc is None:
            raise ConfigError([_too_deep(path)]) from None
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        what = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            [
                Problem(
                    str(path),
                    where,
                    f"YAML syntax error: {what}",
                    "correct the YAML at that position",
                )
            ]
        ) from None
    if duplicates:
        raise ConfigError(
            [
                Problem(
                    str(path),
                    str(key),
                    f"duplicate key '{key}' (lines {first} and {second})",
                    "merge them into one; YAML would silently keep only the last",
                )
                for key, first, second in duplicates
            ]
        )
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            [
                Problem(
                    str(path),
                    message="top level must be a mapping of sections (feeds, rules, ...), "
                    f"got {type(data).__name__}",
                    fix="start the file with 'feeds:' or another section name",
                )
            ]
        )
    return data


def _python_loader_error(text: str) -> yaml.YAMLError | None:
    """The pure-Python loader's error: clearer than libyaml's, and the same on every machine.
    None when the text nests too deeply for it (libyaml stops at 1000 levels, Python recurses)."""
    try:
        yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return exc
    except RecursionError:
        return None
    return yaml.YAMLError("the file could not be parsed")


def _too_deep(path: Path) -> Problem:
    return Problem(
        str(path),
        message="YAML too deeply nested",
        fix="a config needs a few levels; remove the nesting",
    )


def _validate_fragment(path: Path, raw: dict, problems: list[Problem]) -> ConfigFragment | None:
    try:
        fragment = ConfigFragment.model_validate(raw)
    except ValidationError as exc:
        problems.extend(describe_error(path, raw, err) for err in exc.errors())
        return None
    for feed in fragment.feeds:
        feed.url = _resolve_feed_url(path, feed.url)
    for sink in fragment.sinks.values():  # like every path: relative to the file naming it
        if isinstance(sink, JsonlSink):
            sink.path = str((path.parent / sink.path).resolve())
    return fragment


def _resolve_feed_url(config_path: Path, url: str) -> str:
    """http(s) URLs stay; file:// and plain paths become absolute paths (relative to the file)."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", url) and not url.startswith("file://"):
        return url
    local = url[len("file://") :] if url.startswith("file://") else url
    return str((config_path.parent / local).resolve())


def _merge(main: Path, fragments: list[ConfigFragment]) -> Config:
    head = fragments[0]
    merged: dict[str, Any] = {k: getattr(head, k) for k in _MAIN_ONLY}
    for key in _SECTION_LISTS:
        merged[key] = [item for f in fragments for item in getattr(f, key)]
    merged["sinks"] = {}
    for f in fragments:
        merged["sinks"].update(f.sinks)
    if head.state_dir:
        merged["state_dir"] = str((main.parent / head.state_dir).resolve())
    if head.state and head.state.startswith("sqlite:///"):  # a relative file: beside the config
        merged["state"] = "sqlite:///" + str((main.parent / head.state[10:]).resolve())
    if head.dead_letters:
        merged["dead_letters"] = str((main.parent / head.dead_letters).resolve())
    return Config.model_construct(source=str(main), **merged)
