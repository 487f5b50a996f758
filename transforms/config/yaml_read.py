"""YAML text -> data, with every key given twice in one mapping noted (plain YAML keeps the
last and silently drops the first: a second `rules:`), and the line of each field on demand.

A config with 100,000 rules is 7.5 MB of YAML. PyYAML's composer builds a node per value and
asks its (pure Python) resolver for the tag of each; its constructor then walks the nodes again.
Here libyaml's events are built straight into dicts and lists, and a plain scalar's tag is
resolved only when its first character can start something other than a string (a digit,
`true`, `null`, ...): about 6x faster. The events of the files a config holds (plain, block
or flow, quoted or not) are all it handles; anything else (an anchor, an alias, an explicit
tag, a merge key `<<`, a key given twice, a mapping as a key, more than one document, deep
nesting, a syntax error) goes to PyYAML's own composer and constructor, which give the same
data and every error message as before. Without libyaml, that is the pure-Python loader.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.events import (
    DocumentEndEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from wirewatch.transforms.config.positions import node_lines

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"
_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "timestamp", "str")
)
_MAX_DEPTH = 64
"""Deeper data goes the composer's way: it decides what is too deep, as before."""


class _DuplicateKeyLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """PyYAML's safe loader noting every key given twice in one mapping."""

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


def parse(text: str) -> tuple[Any, list[tuple[Any, int, int]]]:
    """The data and the keys given twice (key, first line, second line). Raises what PyYAML
    raises (yaml.YAMLError, RecursionError)."""
    if yaml.__with_libyaml__:
        try:
            return _from_events(text), []
        except (_Unusual, yaml.YAMLError):
            pass
    return pyyaml_parse(text)


def pyyaml_parse(text: str) -> tuple[Any, list[tuple[Any, int, int]]]:
    """`parse` by PyYAML's composer and constructor alone (what `parse` falls back to)."""
    loader = _DuplicateKeyLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
        return data, loader.duplicates
    finally:
        loader.dispose()


def lines(text: str) -> dict[tuple, int]:
    """Each path in the text's YAML (keys and list indexes) -> the line it starts on; for a
    text `parse` read (composing it again costs seconds on a huge file: only asked for when a
    problem or warning is to be placed)."""
    loader = _BaseLoader(text)
    try:
        node = loader.get_single_node()
        return node_lines(node) if node is not None else {}
    finally:
        loader.dispose()


class _Unusual(Exception):
    """Something the event reader leaves to PyYAML's composer and constructor."""


_NO_KEY = object()


def _from_events(text: str) -> Any:
    loader = yaml.CSafeLoader(text)
    try:
        return _build(loader)
    finally:
        loader.dispose()


def _build(loader: Any) -> Any:
    """The document's data from its events; see the module docstring for what is _Unusual."""
    get = loader.get_event
    get()  # the stream's start
    if isinstance(get(), StreamEndEvent):
        return None  # an empty text: no document
    plain = _PlainScalars(loader)
    stack: list[list] = []  # [container, the key waiting for its value (or _NO_KEY)]
    root: Any = None
    while True:
        event = get()
        kind = type(event)
        if kind is ScalarEvent:
            if event.anchor is not None or event.tag not in (None, "!"):
                raise _Unusual
            value = plain(event.value) if event.implicit[0] else event.value
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if event.anchor is not None or event.tag not in (None, "!"):
                raise _Unusual
            if stack and stack[-1][1] is _NO_KEY and type(stack[-1][0]) is dict:
                raise _Unusual  # a mapping or list as a key
            if len(stack) >= _MAX_DEPTH:
                raise _Unusual
            stack.append([{} if kind is MappingStartEvent else [], _NO_KEY])
            continue
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            value = stack.pop()[0]
        elif kind is DocumentEndEvent:
            if not isinstance(get(), StreamEndEvent):
                raise _Unusual  # a second document: the composer says so
            return root
        else:  # an alias
            raise _Unusual
        if not stack:
            root = value
            continue
        top = stack[-1]
        container = top[0]
        if type(container) is list:
            container.append(value)
        elif top[1] is _NO_KEY:
            if value in container:
                raise _Unusual  # a key given twice: noted with its lines by the constructor
            top[1] = value
        else:
            container[top[1]] = value
            top[1] = _NO_KEY


class _PlainScalars:
    """An unquoted scalar's value, as PyYAML's safe loader makes it. Most are strings whose
    first character starts no other type; the others are resolved (and remembered: `true`,
    `300` and `null` come back on every rule)."""

    def __init__(self, loader: Any):
        self.loader = loader
        self.starts = frozenset(k for k in loader.yaml_implicit_resolvers if k)
        self.everything = None in loader.yaml_implicit_resolvers  # resolvers for any text
        self.known: dict[str, Any] = {}

    def __call__(self, value: str) -> Any:
        if value and value[0] not in self.starts and not self.everything:
            return value
        try:
            return self.known[value]
        except KeyError:
            pass
        tag = self.loader.resolve(yaml.ScalarNode, value, (True, False))
        if tag not in _PLAIN_TAGS:
            raise _Unusual  # a merge key `<<`, the value key `=`, ...
        if tag == _STR:
            result: Any = value
        else:
            try:
                result = self.loader.construct_object(yaml.ScalarNode(tag, value))
            except Exception:  # e.g. a date that is no date: as the constructor says it
                raise _Unusual from None
        self.known[value] = result
        return result
