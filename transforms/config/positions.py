"""Where each field of a config is: its file and line, so `check` lists every problem in the
order of the files, top to bottom, whichever step (YAML, schema, cross-references, rules,
routing, examples) found it.

A field is named as problems name it (`rules[quake].query`, `routes[0].sinks`,
`sinks.slack.webhook_url`: list items by their id); `routes` are numbered across files, as the
merged config numbers them. A problem that names the main file but a field another file
defines (a rule from an include whose query does not compile) is moved to that file.
The line numbers stay out of `Problem.line`: `str(problem)` is the line every fixture spells out.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import yaml

from wirewatch.transforms.errors import Problem

_PART = re.compile(r"\[[^\]]*\]|[^.\[]+")
_YAML_POSITION = re.compile(r"^line (\d+), column \d+$")


def node_lines(node: yaml.Node, path: tuple = ()) -> dict[tuple, int]:
    """Each path in the YAML tree (keys and list indexes) -> the 1-based line it starts on;
    a mapping key's line, not its value's (a block value starts on the next line)."""
    lines: dict[tuple, int] = {}
    todo = [(node, path, node.start_mark.line + 1)]
    while todo:  # not recursive: a deep file was refused before, but stay iterative anyway
        node, path, line = todo.pop()
        lines.setdefault(path, line)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    todo.append((value, (*path, key.value), key.start_mark.line + 1))
        elif isinstance(node, yaml.SequenceNode):
            todo += [(v, (*path, i), v.start_mark.line + 1) for i, v in enumerate(node.value)]
    return lines


class Positions:
    """Field -> (file, line) for every file of one config, and the order of the files."""

    def __init__(self, main: Path):
        self.main = str(main)
        self.files: dict[str, int] = {self.main: 0}  # file -> its place in the reading order
        self._fields: dict[str, dict[str, int]] = {}  # file -> field -> line
        self._owner: dict[str, str] = {}  # field -> the first file that defines it
        self._unplaced: list[tuple[str, dict, int, Callable[[], dict[tuple, int]]]] = []
        self.lines: dict[Problem, int] = {}  # problems whose line their maker knew
        self.placed: dict[Problem, int] = {}  # each ordered problem's line, when found
        self.routes = 0  # routes in the files read so far: the merged numbering

    def add_file(self, path: Path, raw: dict, lines: Callable[[], dict[tuple, int]]) -> None:
        """Notes the file; `lines()` (`node_lines` of its YAML) is called only when a problem
        is to be placed: on a config of 100,000 rules, the lines of every field cost more
        than reading it. `raw` must not change below its top level until then."""
        name = str(path)
        self.files.setdefault(name, len(self.files))
        self._unplaced.append((name, dict(raw), self.routes, lines))
        if isinstance(raw.get("routes"), list):
            self.routes += len(raw["routes"])

    def _place_files(self) -> None:
        from wirewatch.transforms.config.messages import field_path

        for name, raw, shift, lines in self._unplaced:
            fields = self._fields.setdefault(name, {})
            for where, line in lines().items():
                loc = list(where)
                if len(loc) > 1 and loc[0] == "routes" and isinstance(loc[1], int):
                    loc[1] += shift
                field = field_path(raw, loc)  # routes have no id: numbered, never looked up
                fields.setdefault(field, line)
                self._owner.setdefault(field, name)
        self._unplaced.clear()

    def at(self, problem: Problem, line: int) -> Problem:
        """`problem`, remembered as found on `line` (a YAML error, a duplicate key)."""
        self.files.setdefault(problem.file, len(self.files))
        self.lines[problem] = line
        return problem

    def place(self, problem: Problem) -> tuple[Problem, int]:
        """The problem (moved to the file that defines its field) and its line (0: unknown)."""
        if problem in self.lines:
            return problem, self.lines[problem]
        found = _YAML_POSITION.match(problem.field)
        if found:
            return problem, int(found.group(1))
        self._place_files()
        file = problem.file
        if file == self.main:  # cross-references and rules name the main file: find the field
            owner = _lookup(self._owner, problem.field)
            if owner is not None and owner != file:
                file = owner
                problem = replace(problem, file=file)
        return problem, _lookup(self._fields.get(file, {}), problem.field) or 0

    def order(self, problems: list[Problem]) -> list[Problem]:
        """The problems by file (in reading order) and line; those of one line keep their order."""
        placed = [self.place(p) for p in problems]
        for problem, _ in placed:
            self.files.setdefault(problem.file, len(self.files))
        placed.sort(key=lambda pair: (self.files[pair[0].file], pair[1]))  # stable
        self.placed.update((problem, line) for problem, line in placed if line)
        return [problem for problem, _ in placed]


def _lookup(table: dict[str, Any], field: str) -> Any:
    """What `table` holds for the longest prefix of `field` that it has (for
    `rules[q].examples.match[0]`: `rules[q].examples`, else `rules[q]`, else `rules`)."""
    parts = _PART.findall(field)
    while parts:
        key = "".join(p if p.startswith("[") or i == 0 else f".{p}" for i, p in enumerate(parts))
        if key in table:
            return table[key]
        parts.pop()
    return None
