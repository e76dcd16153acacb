"""helpers' modules import only modules of a lower layer (helpers/README.md): no cycles."""

from __future__ import annotations

import ast
import re
from pathlib import Path

HELPERS = Path(__file__).resolve().parents[1] / "helpers"


def readme_layers() -> dict[str, int]:
    """{module: layer} from the table in helpers/README.md: the one copy of the layering."""
    layers = {}
    for line in (HELPERS / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].isdigit():
            for name in re.findall(r"`([a-z_0-9]+)(?:\.\*)?`", cells[1]):
                layers[name] = int(cells[0])
    return layers


LAYERS = readme_layers()


def helpers_imports(path: Path) -> set[str]:
    """The helpers modules that a file imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "helpers":
                found.update(alias.name for alias in node.names)
            elif node.module.startswith("helpers."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("helpers."))
    return found


def _module_of(path: Path) -> str:
    relative = path.relative_to(HELPERS)
    return relative.parts[0] if len(relative.parts) > 1 else path.stem


def test_every_module_has_a_layer():
    modules = {_module_of(p) for p in HELPERS.rglob("*.py")} - {"__init__"}
    assert modules == set(LAYERS)


def test_imports_go_only_to_lower_layers():
    wrong = []
    for path in sorted(HELPERS.rglob("*.py")):
        module = _module_of(path)
        if module == "__init__":
            continue
        for imported in helpers_imports(path) - {module}:
            if LAYERS[imported] >= LAYERS[module]:
                wrong.append(f"{path.relative_to(HELPERS)} imports {imported}")
    assert not wrong, wrong


def test_the_check_catches_an_upward_import(tmp_path):
    source = tmp_path / "anatomy.py"
    source.write_text("def f():\n    from helpers import training\n")
    assert helpers_imports(source) == {"training"}
    assert LAYERS["training"] >= LAYERS["anatomy"]


def test_the_readme_table_is_read_whole():
    assert LAYERS["anatomy"] == 0 and LAYERS["models"] == 1 and LAYERS["exercises"] == 9
    assert LAYERS["comparison"] == LAYERS["doctor"] == 7  # two modules in one row


def test_the_data_package_imports_downward_too():
    """helpers/data/ is layered inside as well: each module imports only those listed before it
    in data.MODULES (preprocessing, sources, photos, datasets, survey, loaders)."""
    from helpers import data

    order = list(data.MODULES)
    assert sorted(order) == sorted(p.stem for p in (HELPERS / "data").glob("[!_]*.py"))
    wrong = []
    for module in order:
        tree = ast.parse((HELPERS / "data" / f"{module}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers.data"):
                names = (
                    [node.module.split(".")[2]]
                    if node.module.count(".") >= 2
                    else [alias.name for alias in node.names]
                )
                wrong += [f"{module} imports {name}" for name in names
                          if order.index(name) >= order.index(module)]  # fmt: skip
    assert not wrong, wrong
