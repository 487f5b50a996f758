"""The import contract, checked by reading the source (ast), never by importing it.

docs/architecture.md explains the rules; this file is what keeps them true:
- no import cycle among wirewatch modules (imports inside functions count: a lazy import is
  still a dependency, it only hides the cycle from the interpreter until the wrong moment);
- `apache_beam` only in `pipelines/`, `transforms/*/beam.py` and `transforms/beam_support/`;
- a core (anything else under `transforms/`) imports no Beam wrapper and no beam_support;
- nothing under `transforms/` imports `wirewatch.pipelines` (one direction: pipelines -> transforms);
- every package folder is listed in pyproject.toml, or a wheel silently ships without it;
- no import by the old top-level names (`transforms.x`), which resolve only in a checkout.
Below them, two habits: .ci/run runs exactly the README's test command with every tests/e2e
module marked `e2e`, and the docs name only module paths that exist.

Imports under `if TYPE_CHECKING:` are left out of the cycle check only: they never run.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"pipelines": "wirewatch.pipelines", "transforms": "wirewatch.transforms"}


@dataclass(frozen=True)
class Import:
    target: str  # the module (or package) named, resolved to an absolute name
    line: int
    runtime: bool  # False under `if TYPE_CHECKING:`


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = [FOLDERS[rel.parts[0]], *rel.parts[1:]]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    return {
        _module_name(path): path
        for folder in FOLDERS
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "__pycache__" not in path.parts
    }


MODULES = _sources()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve_from(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _dynamic_prefix(call: ast.Call) -> str | None:
    """`importlib.import_module("a.b.x")` or `(f"a.b.{name}")`: the constant prefix named."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name != "import_module" or not call.args:
        return None
    arg = call.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
        return str(arg.values[0].value)
    return None


def imports_of(module: str) -> list[Import]:
    """Every import in the module, at any depth (functions, methods, try blocks)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: list[Import] = []

    def visit(node: ast.AST, runtime: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, False)
            for child in node.orelse:
                visit(child, runtime)
            return
        if isinstance(node, ast.Import):
            found.extend(Import(alias.name, node.lineno, runtime) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_from(node, module, is_package)
            named = [f"{base}.{alias.name}" for alias in node.names]
            submodules = [name for name in named if name in MODULES]
            found.extend(Import(name, node.lineno, runtime) for name in submodules)
            if len(submodules) < len(named):  # some names are attributes of `base` itself
                found.append(Import(base, node.lineno, runtime))
        elif isinstance(node, ast.Call) and (prefix := _dynamic_prefix(node)):
            found.extend(
                Import(name, node.lineno, runtime)
                for name in MODULES
                if name == prefix or (name.startswith(prefix) and prefix.endswith("."))
            )
        for child in ast.iter_child_nodes(node):
            visit(child, runtime)

    visit(tree, True)
    return found


IMPORTS = {module: imports_of(module) for module in MODULES}


def _where(module: str, imp: Import) -> str:
    return f"{MODULES[module].relative_to(ROOT)}:{imp.line} imports {imp.target}"


def _find(predicate_module, predicate_target) -> list[str]:
    return [
        _where(module, imp)
        for module, imps in IMPORTS.items()
        if predicate_module(module)
        for imp in imps
        if predicate_target(imp.target)
    ]


def _is_wrapper(module: str) -> bool:
    return module.endswith(".beam") or _in(module, "wirewatch.transforms.beam_support")


def _in(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _is_core(module: str) -> bool:
    return _in(module, "wirewatch.transforms") and not _is_wrapper(module)


def test_the_scan_sees_the_whole_tree():
    """Guards the guard: if the mapping or the walk broke, every rule below would pass vacuously."""
    assert "wirewatch.pipelines.cli" in MODULES and "wirewatch.transforms.model" in MODULES
    assert any(module.endswith(".beam") for module in MODULES)
    assert any(imp.target == "apache_beam" for imps in IMPORTS.values() for imp in imps)
    lazy = [imp for imp in IMPORTS["wirewatch.pipelines.cli"] if imp.target.endswith(".run")]
    assert lazy, "cli.py's importlib.import_module(f'...commands.{name}') should reach run.py"


def test_the_cycle_finder_reports_a_path():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"a"}}
    assert _cycles(graph) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module, as a path
    a -> b -> ... -> a (Tarjan, iterative; self-imports are not edges here)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(component)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return [_path_through(graph, sorted(component)) for component in components]


def _component_of(cycle: list[str], graph: dict[str, set[str]]) -> set[str]:
    """Every module on some cycle with the given one: reachable from it and reaching it."""

    def reach(start: str, edges) -> set[str]:
        seen, todo = {start}, [start]
        while todo:
            for nxt in edges(todo.pop()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    start = cycle[0]
    return reach(start, graph.__getitem__) & reach(
        start, lambda n: [m for m, targets in graph.items() if n in targets]
    )


def _path_through(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """The shortest way from the component's first module back to itself (breadth first)."""
    start, members = component[0], set(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & members):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover


def test_no_import_cycles():
    graph = {
        module: {imp.target for imp in imps if imp.runtime and imp.target in MODULES} - {module}
        for module, imps in IMPORTS.items()
    }
    cycles = _cycles(graph)
    lines = []
    for cycle in cycles:
        lines.append(" -> ".join(cycle))
        others = sorted(_component_of(cycle, graph) - set(cycle))
        if others:
            lines.append(f"    (also on cycles with these: {', '.join(others)})")
        for a, b in zip(cycle, cycle[1:]):
            line = next(imp.line for imp in IMPORTS[a] if imp.target == b and imp.runtime)
            lines.append(f"    {MODULES[a].relative_to(ROOT)}:{line} imports {b}")
    assert not cycles, "import cycles (a lazy import inside a function counts):\n" + "\n".join(
        lines
    )


def test_apache_beam_only_in_pipelines_and_wrappers():
    def may_import_beam(module: str) -> bool:
        return _in(module, "wirewatch.pipelines") or _is_wrapper(module)

    offenders = _find(lambda m: not may_import_beam(m), lambda t: _in(t, "apache_beam"))
    assert not offenders, (
        "apache_beam outside pipelines/, transforms/*/beam.py and transforms/beam_support/:\n"
        + "\n".join(offenders)
    )


def test_cores_import_no_wrapper():
    offenders = _find(_is_core, lambda t: t in MODULES and _is_wrapper(t))
    assert not offenders, (
        "a core module imports a Beam wrapper (*.beam) or beam_support:\n" + "\n".join(offenders)
    )


def test_transforms_never_import_pipelines():
    offenders = _find(
        lambda m: _in(m, "wirewatch.transforms"), lambda t: _in(t, "wirewatch.pipelines")
    )
    assert not offenders, "transforms/ imports wirewatch.pipelines:\n" + "\n".join(offenders)


def _declared_packages() -> list[str]:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads(text)["tool"]["setuptools"]["packages"]


def test_every_package_folder_is_listed_in_pyproject():
    folders = {
        _module_name(init)
        for folder in FOLDERS
        for init in (ROOT / folder).rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    declared = set(_declared_packages()) - {"wirewatch.configs"}  # configs/: package data
    missing, stale = sorted(folders - declared), sorted(declared - folders)
    assert not missing, f"package folders missing from pyproject.toml's packages = [...]: {missing}"
    assert not stale, f"pyproject.toml lists packages with no folder: {stale}"


def test_no_module_imports_the_old_flat_names():
    """`transforms.x` / `pipelines.x` only resolve in a checkout: an installed wheel has none."""
    old = re.compile(r"^(transforms|pipelines)(\.|$)")
    offenders = _find(lambda m: True, lambda t: bool(old.match(t)))
    assert not offenders, "imports by the old top-level names:\n" + "\n".join(offenders)


# CI habits: the README's test command is what CI runs, and the slow tier is marked.


def _readme_test_command() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("**Test**", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [piece.strip() for piece in block.replace("\\\n", " ").split("&&")]


def test_ci_runs_exactly_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    steps = [line for line in script if line.startswith(("python3 ", ".venv/"))]
    assert steps == _readme_test_command()


def test_every_end_to_end_module_is_marked_e2e():
    unmarked = []
    for path in sorted((ROOT / "tests" / "e2e").glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        marks = [
            ast.unparse(node.value)
            for node in tree.body
            if isinstance(node, ast.Assign)
            and any(getattr(t, "id", None) == "pytestmark" for t in node.targets)
        ]
        if not any("pytest.mark.e2e" in mark for mark in marks):
            unmarked.append(str(path.relative_to(ROOT)))
    assert not unmarked, f"tests/e2e modules without `pytestmark = pytest.mark.e2e`: {unmarked}"


# The docs name modules by path; a move must take the docs along.

_DOC_PATH = re.compile(r"`((?:pipelines|transforms|tests|bench|configs|docs)/[^`\s]*)`")
_DOC_DOTTED = re.compile(r"`(wirewatch\.(?:pipelines|transforms)(?:\.\w+)*)`")


def _doc_texts() -> dict[str, str]:
    texts = {"README.md": (ROOT / "README.md").read_text(encoding="utf-8")}
    for doc in sorted((ROOT / "docs").glob("*.md")):
        text = doc.read_text(encoding="utf-8")
        if doc.name == "architecture.md":  # its "Where things moved from" table names old paths
            head, _, rest = text.partition("### Where things moved from")
            text = head + rest[rest.find("\n## ") :]
        texts[f"docs/{doc.name}"] = text
    return texts


def _exists(path: str) -> bool:
    path = path.rstrip(".,:;)")
    if re.search(r"[{*<]", path):  # `transforms/*/beam.py`, `{a,b}.py`, `tests/<stage>/`
        pattern = re.sub(r"\{[^}]*\}|<[^>]*>", "*", path)
        return any(ROOT.glob(pattern))
    return (ROOT / path).exists()


def _module_exists(dotted: str) -> bool:
    """A module, or a name defined at the top of one (`wirewatch.pipelines.watch.CycleRunner`)."""
    if dotted in MODULES:
        return True
    module, _, name = dotted.rpartition(".")
    if module not in MODULES:
        return False
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    defined = {
        target.id if isinstance(target, ast.Name) else getattr(target, "name", None)
        for node in tree.body
        for target in (
            node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", node)]
        )
    }
    return name in defined


def test_the_docs_name_only_paths_that_exist():
    missing = []
    for doc, text in _doc_texts().items():
        missing += [f"{doc}: {p}" for p in _DOC_PATH.findall(text) if not _exists(p)]
        missing += [f"{doc}: {d}" for d in _DOC_DOTTED.findall(text) if not _module_exists(d)]
    assert not missing, "docs name modules that are not there (moved?):\n" + "\n".join(missing)
