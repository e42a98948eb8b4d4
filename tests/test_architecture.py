"""The import graph points down (DESIGN.md): cli -> runs/sweep/tuning -> train -> agents -> core -> envs -> errors,
and io (file formats) is used by runs and cli only. Checked on the source, imports inside functions included."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "jaxrl"
ABOVE_AGENTS = ["jaxrl.evaluate", "jaxrl.train", "jaxrl.runs", "jaxrl.sweep", "jaxrl.tuning", "jaxrl.io", "jaxrl.cli"]

# module (or package) -> what nothing in it may import
FORBIDDEN = {
    "jaxrl.errors": ["jaxrl"],
    "jaxrl.envs": ["jaxrl.core", "jaxrl.agents", *ABOVE_AGENTS],
    "jaxrl.core": ["jaxrl.agents", *ABOVE_AGENTS],
    "jaxrl.agents": ABOVE_AGENTS,
    "jaxrl.evaluate": ABOVE_AGENTS[1:],
    "jaxrl.train": ABOVE_AGENTS[2:],
    "jaxrl.io": ["jaxrl.agents", "jaxrl.evaluate", "jaxrl.train", "jaxrl.runs", "jaxrl.sweep", "jaxrl.tuning", "jaxrl.cli"],
    "jaxrl.runs": ["jaxrl.sweep", "jaxrl.tuning", "jaxrl.cli"],
    "jaxrl.sweep": ["jaxrl.tuning", "jaxrl.cli"],
    "jaxrl.tuning": ["jaxrl.cli"],
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every jaxrl module ``path`` imports (``from jaxrl import x`` counts as ``jaxrl.x``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module == "jaxrl":
            names.update(f"jaxrl.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return {n for n in names if n == "jaxrl" or n.startswith("jaxrl.")}


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("layer", list(FORBIDDEN))
def test_imports_point_down(layer):
    files = [p for p in PACKAGE.rglob("*.py") if _within(_module_name(p), layer)]
    assert files, f"no module in {layer}"
    wrong = sorted(f"{_module_name(p)} imports {name}" for p in files for name in _imports(p)
                   for banned in FORBIDDEN[layer] if _within(name, banned) and not _within(name, layer))
    assert not wrong, wrong


def test_no_module_imports_the_whole_package():
    # ``import jaxrl`` inside the package would import every layer, whatever the module's place
    wrong = sorted(_module_name(p) for p in PACKAGE.rglob("*.py") if "jaxrl" in _imports(p))
    assert not wrong, wrong
