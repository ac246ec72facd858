"""The import rules (docs/architecture.md), checked by import-linter with the contracts in
pyproject.toml: services import only shared/, never each other; the gateway imports no service;
shared/ imports nothing above it — not even by a module name written as a string."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
ABOVE_SHARED = ("services", "gateway", "devstack")


def lint_imports(folder: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(folder)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo", str(folder / "pyproject.toml")],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=120)


def test_the_repository_keeps_the_import_rules() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and " 0 broken" in result.stdout


def _tree(folder: Path, files: dict[str, str]) -> None:
    shutil.copy(ROOT / "pyproject.toml", folder / "pyproject.toml")
    for package in ("shared", "services", "services/alpha", "services/beta", "gateway", "devstack"):
        (folder / package).mkdir(parents=True, exist_ok=True)
        (folder / package / "__init__.py").write_text("")
    for path, text in files.items():
        (folder / path).write_text(text)


def test_the_contracts_refuse_each_forbidden_arrow(tmp_path: Path) -> None:
    """The same contracts on a small tree with one forbidden import each: every one is reported."""
    arrows = {
        "shared/db.py": "import services.alpha\n",
        "services/alpha/routes.py": "from services.beta import models\n",
        "services/beta/models.py": "import gateway\n",
        "gateway/proxy.py": "from services.alpha import routes\n",
    }
    _tree(tmp_path, arrows)
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    for contract in ("shared/ imports nothing above it", "a service imports no other service",
                     "services import neither the gateway nor the tooling",
                     "the gateway imports no service nor the tooling"):
        assert f"{contract} BROKEN" in result.stdout, result.stdout
    clean = tmp_path / "clean"
    clean.mkdir()
    _tree(clean, {"services/alpha/routes.py": "import shared\n", "gateway/proxy.py": "import shared\n",
                  "devstack/run.py": "import gateway\nimport services.alpha\n"})
    assert lint_imports(clean).returncode == 0


def _names_a_module_above_shared(text: str) -> bool:
    """Whether `text` is the dotted name of a module or package of services/, gateway/ or devstack/."""
    parts = text.split(".")
    if parts[0] not in ABOVE_SHARED or not all(part.isidentifier() for part in parts):
        return False
    path = ROOT.joinpath(*parts)
    return (path / "__init__.py").exists() or path.with_suffix(".py").exists()


def _module_names_in_shared() -> list[str]:
    """String constants in shared/ (docstrings aside) that name a module above it."""
    found = []
    for path in sorted((ROOT / "shared").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                    and _names_a_module_above_shared(node.value)):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    return found


def test_shared_names_no_module_above_it_as_a_string() -> None:
    """import-linter sees only import statements: a package name kept as a string and handed to
    importlib would escape it (shared/migrations.py once mapped service names to packages)."""
    assert _module_names_in_shared() == []
    assert _names_a_module_above_shared("services.registry") and _names_a_module_above_shared("gateway")
    assert not _names_a_module_above_shared("gateway.accounts.manage")  # a permission, not a module
