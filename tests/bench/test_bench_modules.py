"""The bench's own modules: small, and every name one of them (or a test) takes from another exists.

The bench's scripts run for minutes against live servers before they reach a line such as
`servers.running(...)`, so a name moved between modules would fail late; this finds it at once.
"""

import ast
import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"

# The project's ~400-line rule, for every module of the bench.
LIMIT = 400


def _modules() -> list[Path]:
    return sorted(path for path in BENCH.rglob("*.py") if ".venvs" not in path.parts)


def test_bench_modules_stay_small():
    sizes = {
        path.relative_to(BENCH).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in _modules()
    }
    too_big = {name: size for name, size in sizes.items() if size > LIMIT}
    assert too_big == {}


def _bench_names_used(path: Path) -> set[tuple[str, str]]:
    """(module, name) for every `module.name` where `module` was imported `from bench import`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases = {
        alias.asname or alias.name: alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "bench"
        for alias in node.names
    }
    used = {
        (aliases[node.value.id], node.attr)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
    }
    used |= {
        (node.module.removeprefix("bench."), alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bench.")
        for alias in node.names
    }
    return used


def test_every_name_a_bench_module_takes_from_another_exists():
    users = [*_modules(), *sorted((ROOT / "tests" / "bench").glob("*.py"))]
    missing = [
        f"{path.relative_to(ROOT)}: bench.{module}.{name}"
        for path in users
        for module, name in sorted(_bench_names_used(path))
        if not hasattr(importlib.import_module(f"bench.{module}"), name)
    ]
    assert missing == []
