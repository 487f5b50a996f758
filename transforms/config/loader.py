"""Read the main YAML file and its includes, validate each, merge, cross-check.

Every mistake becomes a `Problem` naming the file, the field and the fix. All of them are
reported at once (`ConfigError`), by file and line (positions.py), so one `wirewatch check`
shows everything: an entry with a schema error is left out (a setting: its default applies) and
the rest is validated, merged and cross-checked all the same (`inspect_config`).
Every relative path in a file is relative to that file: includes, local feeds, a JSONL sink's
`path`, a sink's secret files (`token_file`), `state_dir`, a `sqlite:///` state URL,
`dead_letters`, `tagging.ner.model`, a rule's example files.

Every config starts from the built-in lists (the shipped IPTC taxonomy and gazetteer, package
data): a config without `include:` can use `topic:` and `entity:` queries. Topics and entities
of the config's own files extend them, and one with a built-in id replaces that built-in
entry; `builtin_lists: false` leaves them out.
"""

from __future__ import annotations

import copy
import functools
import gc
import glob
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from wirewatch.transforms.config.checks import cross_check
from wirewatch.transforms.config.locate import builtin_lists
from wirewatch.transforms.config.messages import describe_error
from wirewatch.transforms.config.models import Config, ConfigFragment, JsonlSink
from wirewatch.transforms.config.parse_cache import parse as parse_yaml
from wirewatch.transforms.config.positions import Positions
from wirewatch.transforms.config.warnings import config_warnings, unset_secrets
from wirewatch.transforms.config.yaml_read import lines as yaml_lines
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


def load_config(path: str | os.PathLike, *, require_secrets: bool = True) -> Config:
    """Read the main file and its includes, validate each, merge, cross-check. Raises
    ConfigError with every problem, by file and line.

    `require_secrets=False` is for the commands that deliver nothing: a sink's ${ENV} reference
    to an unset variable is then `<unset>`, not an error (`run` and `redeliver` keep the
    default: they cannot deliver without it)."""
    found = inspect_config(path, require_secrets=require_secrets)
    if found.problems:
        raise ConfigError(found.ordered(found.problems))
    return found.config


@dataclass
class Inspection:
    """Everything `load_config` found: the config (None when the main file has no usable
    content; with problems, it holds the parts that validated), every problem, the warnings
    (`warnings.py`), the ids of entries left out for their problems (so no second problem says
    they are undefined), how many entries the built-in lists gave, and where each field is."""

    config: Config | None
    problems: list[Problem]
    warnings: list[Problem]
    dropped: dict[str, set[str]]
    builtin: dict[str, dict[str, int]]
    positions: Positions

    def ordered(self, problems: list[Problem]) -> list[Problem]:
        return self.positions.order(problems)


def inspect_config(path: str | os.PathLike, *, require_secrets: bool = True) -> Inspection:
    """`load_config`'s work without raising: each step runs on what the steps before could
    read, so one pass finds every independent problem (the YAML of every file, every schema
    error, then the cross-references between the parts that validated).

    The cyclic garbage collector is paused meanwhile: a big config is a million small objects
    and no garbage cycles, and collecting while they are built cost a third of the load. Then
    they go to the oldest generation unscanned (freeze, unfreeze): else the next young
    collections walk all of them, twice."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _inspect(Path(path), require_secrets)
    finally:
        if collecting:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def _inspect(main: Path, require_secrets: bool) -> Inspection:
    positions = Positions(main)
    context = {"require_secrets": require_secrets}
    problems: list[Problem] = []
    dropped: dict[str, set[str]] = {}
    nothing = Inspection(None, problems, [], dropped, {}, positions)
    try:
        raw = _read_yaml(main, positions, problems)
    except ConfigError as exc:
        problems.extend(exc.problems)
        return nothing
    raws = [(main, raw), *_includes(main, raw, positions, problems)]
    fragments = [_validate_fragment(p, r, problems, dropped, context) for p, r in raws]
    if fragments[0] is None:
        return nothing
    _number_routes([raw for _, raw in raws], fragments)
    read = [(path, f) for (path, _), f in zip(raws, fragments) if f is not None]
    config = _merge(main, _one_of_each(read, problems))
    builtin = _extend_builtin(config) if config.builtin_lists else {}
    problems += cross_check(config, dropped)
    found_warnings = config_warnings(config, dropped)
    if not require_secrets:
        found_warnings += [w for path, raw in raws for w in unset_secrets(path, raw)]
    return Inspection(config, problems, found_warnings, dropped, builtin, positions)


def _includes(
    main: Path, raw: dict, positions: Positions, problems: list[Problem]
) -> list[tuple[Path, dict]]:
    """The files `include:` names, read, in order; what cannot be read is a problem."""
    found = []
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
                part_raw = _read_yaml(part, positions, problems)
            except ConfigError as exc:
                problems.extend(exc.problems)
                continue
            for key in [k for k in _MAIN_ONLY if k in part_raw]:
                problems.append(
                    Problem(
                        str(part), key, "only allowed in the main config file", f"move it to {main}"
                    )
                )
                part_raw.pop(key)
            found.append((part, part_raw))
    return found


def _extend_builtin(config: Config) -> dict[str, dict[str, int]]:
    """The built-in entries first, without those the config's own files redefine (by id).
    Returns how many each built-in file gave, per section (`check --show` says so)."""
    counts: dict[str, dict[str, int]] = {}
    for section in _BUILTIN_SECTIONS:
        own = getattr(config, section)
        ids = {item.id for item in own}
        base = []
        for path in builtin_lists():
            items = getattr(ConfigFragment.model_validate(_read_builtin(str(path))), section)
            kept = [item for item in items if item.id not in ids]
            if kept:
                counts.setdefault(section, {})[path.name] = len(kept)
            base += kept
        setattr(config, section, base + own)
    return counts


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


def _read_yaml(
    path: Path, positions: Positions | None = None, problems: list[Problem] | None = None
) -> dict:
    """The file's top-level mapping; with `positions`, where each of its fields is noted. A key
    given twice is a problem: raised, or with `problems` appended there (reading goes on with
    the last value, as YAML does)."""
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
        data, duplicates = parse_yaml(text)
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
        twice = [
            Problem(
                str(path),
                str(key),
                f"duplicate key '{key}' (lines {first} and {second})",
                "merge them into one; YAML would silently keep only the last",
            )
            for key, first, second in duplicates
        ]
        if positions is not None:
            twice = [positions.at(p, line) for p, (_, _, line) in zip(twice, duplicates)]
        if problems is None:
            raise ConfigError(twice)
        problems.extend(twice)
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
    if positions is not None:
        positions.add_file(path, data, lambda: yaml_lines(text))
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


_ENTRY_SECTIONS = ("include", "feeds", "taxonomy", "entities", "rules", "routes", "silences")
_PASSES = 5
"""Validations of one file at most: each leaves out what the one before found wrong."""


def _validate_fragment(
    path: Path, raw: dict, problems: list[Problem], dropped: dict[str, set[str]], context: dict
) -> ConfigFragment | None:
    """The file's fragment, its problems appended. A list entry or a sink with a problem is
    left out (its id or name goes into `dropped`), a setting with one falls back to its
    default, and the rest is validated again; only the first pass's problems are reported (a
    later one could blame a default for what the user wrote). None when nothing is left."""
    data = raw
    context = {**context, "base": str(path.parent)}  # secret files: relative to this file
    for attempt in range(_PASSES):
        try:
            fragment = ConfigFragment.model_validate(data, context=context)
            break
        except ValidationError as exc:
            errors = exc.errors()
            if attempt == 0:
                problems.extend(describe_error(path, raw, err) for err in errors)
                data = copy.deepcopy(raw)
                places = _route_places(data)  # before entries are left out
            if not _leave_out(data, [list(err["loc"]) for err in errors], dropped):
                return None
    else:
        return None
    if data is not raw:  # routes left out must not renumber the rest in check's problems
        kept = data.get("routes") if isinstance(data.get("routes"), list) else []
        for route, entry in zip(fragment.routes, kept):
            route.number = places.get(id(entry))
    for feed in fragment.feeds:
        feed.url = _resolve_feed_url(path, feed.url)
    for sink in fragment.sinks.values():  # like every path: relative to the file naming it
        if isinstance(sink, JsonlSink):
            sink.path = str((path.parent / sink.path).resolve())
        for name in getattr(sink, "_secret_files", ()):
            if getattr(sink, f"{name}_file"):
                setattr(sink, f"{name}_file", str(path.parent / getattr(sink, f"{name}_file")))
    for rule in fragment.rules:
        examples = rule.examples
        if examples.match or examples.no_match:  # most rules have none
            for texts in (examples.match, examples.no_match):
                texts[:] = [_example_path(path, text) for text in texts]
    return fragment


def _number_routes(raws: list[dict], fragments: list[ConfigFragment | None]) -> None:
    """Each route's number as written, across the files in reading order (positions.py
    numbers them so too); within a file, its place as written (_validate_fragment)."""
    offset = 0
    for raw, fragment in zip(raws, fragments):
        for i, route in enumerate(fragment.routes if fragment is not None else []):
            route.number = offset + (i if route.number is None else route.number)
        offset += len(raw["routes"]) if isinstance(raw.get("routes"), list) else 0


def _route_places(data: dict) -> dict[int, int]:
    """Each route entry of `data` (by identity) -> its place among the routes as written."""
    routes = data.get("routes")
    return {id(route): i for i, route in enumerate(routes)} if isinstance(routes, list) else {}


def _example_path(config_path: Path, text: str) -> str:
    """An example that names a file beside this config file, as an absolute path: a rule kept
    in an included file reads its example files from that file's folder. Anything else (inline
    text, a file that is not there) stays as written, for the examples runner to judge."""
    name = text.strip()
    if not name or "\n" in name or Path(name).is_absolute():
        return text
    try:
        beside = config_path.parent / name
        return str(beside.resolve()) if beside.exists() else text
    except (OSError, ValueError):  # a name too long for a path, a NUL byte: it is text
        return text


def _leave_out(data: dict, locs: list[list], dropped: dict[str, set[str]]) -> bool:
    """Take out of `data` what each error location points at: a whole list entry or sink, else
    the setting itself (a list setting as a whole). False when one points at nothing."""
    entries: dict[str, set[int]] = {}
    fields: set[tuple] = set()
    for loc in locs:
        if len(loc) >= 2 and loc[0] in _ENTRY_SECTIONS and isinstance(loc[1], int):
            entries.setdefault(loc[0], set()).add(loc[1])
        elif len(loc) >= 2 and loc[0] == "sinks":
            fields.add(tuple(loc[:2]))
        else:
            while loc and isinstance(loc[-1], int):
                loc = loc[:-1]
            fields.add(tuple(loc))
    for section, indexes in entries.items():
        items = data.get(section)
        if not isinstance(items, list) or max(indexes) >= len(items):
            return False
        ids = dropped.setdefault(section, set())  # the section is there even when no id is
        ids.update(
            items[i]["id"]
            for i in indexes
            if isinstance(items[i], dict) and isinstance(items[i].get("id"), str)
        )
        data[section] = [item for i, item in enumerate(items) if i not in indexes]
    for loc in fields:
        if loc[:1] == ("sinks",):
            dropped.setdefault("sinks", set()).add(str(loc[1]))
        if not loc or not _pop(data, list(loc)):
            return False
    return True


def _pop(data: Any, loc: list) -> bool:
    for part in loc[:-1]:
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    if isinstance(data, dict) and loc[-1] in data:
        del data[loc[-1]]
        return True
    return False


def _resolve_feed_url(config_path: Path, url: str) -> str:
    """http(s) URLs stay; file:// and plain paths become absolute paths (relative to the file)."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", url) and not url.startswith("file://"):
        return url
    local = url[len("file://") :] if url.startswith("file://") else url
    return str((config_path.parent / local).resolve())


_WITH_IDS = ("feeds", "taxonomy", "entities", "rules")


def _one_of_each(
    read: list[tuple[Path, ConfigFragment]], problems: list[Problem]
) -> list[ConfigFragment]:
    """The fragments with each id (and sink name) once, the first in reading order; a later
    one is a problem of the file that gives it, naming where the first is. Why here, before
    the merge: the merged config no longer knows which file gave which entry, so a rule id
    given in the main file and an include had its include's query problems reported against
    the main file, and a sink named in both was silently replaced by the include's."""
    first: dict[tuple[str, str], Path] = {}
    kept = []
    for path, fragment in read:
        update: dict[str, Any] = {}
        for section in _WITH_IDS:
            items = getattr(fragment, section)
            update[section] = [
                item
                for item in items
                if _first(first, (section, item.id), path, problems, f"{section}[{item.id}]")
            ]
        update["sinks"] = {
            name: sink
            for name, sink in fragment.sinks.items()
            if _first(first, ("sinks", name), path, problems, f"sinks.{name}")
        }
        kept.append(fragment.model_copy(update=update))
    return kept


def _first(
    first: dict[tuple[str, str], Path],
    key: tuple[str, str],
    path: Path,
    problems: list[Problem],
    field: str,
) -> bool:
    """Whether this is the first entry under `key` (noted then); else its problem is added."""
    if key not in first:
        first[key] = path
        return True
    section, name = key
    where = "this file" if first[key] == path else str(first[key])
    what = f"duplicate id '{name}'" if section in _WITH_IDS else f"sink '{name}' defined twice"
    fix = f"give each entry of {section} its own id" if section in _WITH_IDS else "rename one"
    problems.append(Problem(str(path), field, f"{what} (the first is in {where})", fix))
    return False


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
    ner = head.tagging.ner
    if "/" in ner.model and not Path(ner.model).is_absolute():  # a path, not a package name
        ner.model = str((main.parent / ner.model).resolve())
    return Config.model_construct(source=str(main), **merged)
