"""The import structure of hrnet_tf, read from the source with ``ast`` (nothing is imported).

Every ``import`` statement counts, at any depth (lazy imports inside functions too), so a cycle that
only shows when a function runs is found as well. A package's ``__init__`` is the package's node; an
import of ``a.b.c`` is an edge to the module ``a.b.c`` (or to the nearest package or module above it
that exists: ``from a.b import name`` where ``name`` is not a submodule is an edge to ``a.b``).

The layering (docs/architecture.md): the model core (``data``, ``models``, ``layers``, ``convert``,
``errors``) imports nothing from training, the tasks, export or the command-line layer; the tasks
never import ``export``; benchmarks and scripts never import from ``tests``.
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "hrnet_tf"

CORE = ("hrnet_tf.data", "hrnet_tf.models", "hrnet_tf.layers", "hrnet_tf.convert", "hrnet_tf.errors")
CORE_EXEMPT = ("hrnet_tf.convert.__main__",)  # a command: it may use the command-line layer
TASKS = ("hrnet_tf.classification", "hrnet_tf.pose", "hrnet_tf.segmentation")
ABOVE_CORE = ("hrnet_tf.training", *TASKS, "hrnet_tf.export", "hrnet_tf.cli")


def module_name(path, root=REPO):
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def within(name, prefixes):
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def imported_names(path, name):
    """(imported module name, line) for every import statement in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # ``from a import b`` imports the module a.b when there is one, else a name of a.
                yield (f"{base}.{alias.name}" if alias.name != "*" else base), node.lineno


def resolve(imported, modules):
    """The module of ``modules`` an imported name lands in (the longest existing prefix), or None."""
    parts = imported.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def import_graph(files, root=REPO):
    """{module: {imported module: first line}} over ``files``, edges only to modules in ``files``."""
    names = {module_name(f, root): f for f in files}
    graph = {}
    for name, path in names.items():
        edges = graph.setdefault(name, {})
        for imported, line in imported_names(path, name):
            target = resolve(imported, names)
            if target is not None and target != name:
                edges.setdefault(target, line)
    return graph


def find_cycles(graph):
    """One import cycle (a list of modules, first == last) through each group of modules that import
    each other (strongly connected component), sorted; [] when the graph is acyclic."""
    index, low, on_stack, stack, groups = {}, {}, set(), [], []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:  # Tarjan's algorithm, iteratively
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(group)
    return sorted((_cycle_in(graph, group) for group in groups), key=lambda c: c[0])


def _cycle_in(graph, group):
    """A cycle through the smallest module of ``group`` (a strongly connected component)."""
    start = min(group)
    previous, frontier = {start: None}, [start]
    while frontier:  # breadth first inside the group, back to ``start``
        node = frontier.pop(0)
        for child in sorted(graph[node]):
            if child == start:
                path = [node]
                while previous[path[-1]] is not None:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if child in group and child not in previous:
                previous[child] = node
                frontier.append(child)
    raise AssertionError(f"not a strongly connected group: {sorted(group)}")


def describe(graph, cycle):
    steps = [f"{a} (line {graph[a][b]})" for a, b in zip(cycle, cycle[1:], strict=False)]
    return " -> ".join([*steps, cycle[-1]])


@pytest.fixture(scope="module")
def graph():
    return import_graph(sorted(PACKAGE.rglob("*.py")))


def test_the_parser_sees_every_kind_of_import(tmp_path):
    """The checker itself: lazy, dotted, from-imports of modules and of names, relative ones."""
    pkg = tmp_path / "p"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "from p.a import f\n",
        "a.py": "def f():\n    import p.sub.c\n    return 1\n",
        "b.py": "from p import sub\nfrom .a import f\n",
        "sub/__init__.py": "",
        "sub/c.py": "from p.sub import d\nfrom ..b import x\n",
        "sub/d.py": "class D:\n    def m(self):\n        from p import a\n",
    }
    for rel, text in files.items():
        (pkg / rel).write_text(text)
    g = import_graph(sorted(pkg.rglob("*.py")), tmp_path)
    assert g == {
        "p": {"p.a": 1},
        "p.a": {"p.sub.c": 2},
        "p.b": {"p.sub": 1, "p.a": 2},
        "p.sub": {},
        "p.sub.c": {"p.sub.d": 1, "p.b": 2},
        "p.sub.d": {"p.a": 3},
    }
    # p.a -> p.sub.c -> p.sub.d -> p.a and p.a -> p.sub.c -> p.b -> p.a: one group, one report
    (cycle,) = find_cycles(g)
    assert cycle[0] == cycle[-1] == "p.a"
    assert all(b in g[a] for a, b in zip(cycle, cycle[1:], strict=False))
    assert describe(g, cycle).startswith("p.a (line 2) -> p.sub.c (line ")
    assert find_cycles({"x": {"y": 1}, "y": {}}) == []


def test_hrnet_tf_has_no_import_cycle(graph):
    assert len(graph) > 50  # the whole package was read
    cycles = find_cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(describe(graph, c) for c in cycles)


def violations(graph, importers, forbidden, exempt=()):
    return sorted(
        f"{module} imports {target} (line {line})"
        for module, edges in graph.items()
        if within(module, importers) and not within(module, exempt)
        for target, line in edges.items()
        if within(target, forbidden)
    )


def test_the_model_core_imports_nothing_above_it(graph):
    assert [m for m in graph if within(m, CORE)]
    assert violations(graph, CORE, ABOVE_CORE, CORE_EXEMPT) == []


def test_tasks_never_import_export(graph):
    assert [m for m in graph if within(m, TASKS)]
    assert violations(graph, TASKS, ("hrnet_tf.export",)) == []


def test_benchmarks_and_scripts_never_import_tests():
    files = sorted([*(REPO / "benchmarks").rglob("*.py"), *(REPO / "scripts").rglob("*.py")])
    assert files
    bad = [
        f"{path.relative_to(REPO)}:{line} imports {imported}"
        for path in files
        for imported, line in imported_names(path, module_name(path))
        if within(imported, ("tests",))
    ]
    assert bad == []
