"""The import graph of ``ocr/``: no cycle anywhere (lazy imports inside functions count too), and
nothing in the library layers imports the user layer (``ocr.api``, the command line, ``ocr batch``, ``ocr serve``)."""
import ast
from pathlib import Path

import ocr

ROOT = Path(ocr.__file__).parent
USER_LAYER = ("ocr.api", "ocr.cli", "ocr.read_cli", "ocr.eval_read_cli", "ocr.batch", "ocr.serve")
LIBRARY = ("ocr.engine", "ocr.models", "ocr.data", "ocr.pipeline", "ocr.text", "ocr.ops", "ocr.kernels",
           "ocr.runtime")


def _modules() -> dict[str, Path]:
    mods = {}
    for p in ROOT.rglob("*.py"):
        parts = list(p.relative_to(ROOT.parent).with_suffix("").parts)
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return mods


def import_graph() -> dict[str, set[str]]:
    """Module -> the ``ocr`` modules it imports anywhere in its body."""
    mods = _modules()

    def owner(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for m, p in mods.items():
        pkg = m if p.name == "__init__.py" else m.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Import):
                found |= {owner(a.name) for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    base = ".".join(up + ([node.module] if node.module else []))
                found |= {owner(f"{base}.{a.name}") if f"{base}.{a.name}" in mods else owner(base) for a in node.names}
        graph[m] = {t for t in found if t and t != m and t.startswith("ocr")}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(m, path):
        state[m] = 1
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                return path[path.index(t):] + [t]
            if t not in state and (c := visit(t, path + [t])):
                return c
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (c := visit(m, [m])):
            return c
    return None


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle)


def test_cycle_finder_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]


def test_library_layers_do_not_import_the_user_layer():
    def user(t: str) -> bool:
        return any(t == u or t.startswith(u + ".") for u in USER_LAYER)

    bad = {m: sorted(t for t in ts if user(t)) for m, ts in import_graph().items() if m.startswith(LIBRARY)}
    assert not {m: ts for m, ts in bad.items() if ts}
