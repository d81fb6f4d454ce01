"""Who imports whom inside flowpose, read from the source with :mod:`ast` (nothing is imported).

An import inside a function (the usual way to dodge a circle at run time) or under
``if TYPE_CHECKING:`` counts like one at the top of the file: a layer that may not import
another may not do it late either. Shared by tests/flowpose/test_import_cycles.py,
tests/flowpose/test_layers.py and the floor-plan picture (docs/img/floor_plan.py).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The folders of the repository that import as flowpose packages (pyproject.toml's package-dir):
# nodes/ and trainer/ live at the top but are flowpose.nodes and flowpose.trainer.
PACKAGE_TREES = (("flowpose", "flowpose"), ("nodes", "flowpose.nodes"), ("trainer", "flowpose.trainer"))


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Every module under the package directory ``root``, by dotted name (``package`` is root's)."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that the module ``name`` (at ``path``) imports, anywhere in it."""

    def resolve(dotted: str) -> str | None:
        while dotted and dotted not in known:  # `import a.b.obj` or a name in a package
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    is_package = path.name == "__init__.py"
    found: set[str | None] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(resolve(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: `from . import x`, `from ..y import z`
                anchor = name.split(".")
                anchor = anchor[: len(anchor) - node.level + is_package]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                found.add(resolve(f"{base}.{alias.name}") if base else resolve(alias.name))
    found.discard(None)
    found.discard(name)
    return found  # type: ignore[return-value]


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the modules of the same package tree it imports."""
    return trees_import_graph(((root, package),))


def trees_import_graph(trees: tuple[tuple[Path, str], ...]) -> dict[str, set[str]]:
    """Module -> the modules it imports, over several package trees scanned as one."""
    modules: dict[str, Path] = {}
    for root, package in trees:
        modules.update(module_names(root, package))
    known = set(modules)
    return {name: imported_modules(name, path, known) for name, path in modules.items()}


def project_trees(root: Path = ROOT) -> tuple[tuple[Path, str], ...]:
    """The package trees of the checkout at ``root``: flowpose/, nodes/ and trainer/."""
    return tuple((root / folder, package) for folder, package in PACKAGE_TREES)


def flowpose_import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """The whole project's graph: flowpose/, nodes/ and trainer/ of the checkout at ``root``."""
    return trees_import_graph(project_trees(root))


def top_level_imports(path: Path) -> set[str]:
    """The first part of every absolute import of the file at ``path`` (``torch``, ``numpy``...)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.partition(".")[0])
    return found
