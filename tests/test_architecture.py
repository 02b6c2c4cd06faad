"""The import graph: public names across packages, layers that do not reach up.

Read from the source with ``ast`` (every import, also those inside functions), so a
violation fails here before it shows anywhere else.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "hubsim"

# package -> hubsim packages it must not import (DESIGN.md: configuration is data, the DES
# knows nothing about statistics, estimators nothing about the DES; power is design
# statistics only and sits below des/)
FORBIDDEN = {
    "power": {"des", "config", "measures", "evaluation", "experiment", "economics", "report"},
    "des": {"power", "estimators", "regional", "evaluation"},
    "estimators": {"des", "config", "measures", "power", "evaluation", "experiment"},
    "regional": {"des", "config", "measures", "power", "evaluation", "experiment"},
    "config": {"des", "power", "estimators", "regional", "evaluation", "experiment"},
    "measures": {"des", "power", "estimators", "regional", "evaluation", "experiment"},
}
# shared numerics and checks sit at the bottom: they import no other hubsim module
BOTTOM = {"hubsim.stats", "hubsim.checks", "hubsim.errors", "hubsim._version"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _package(module: str) -> str:
    """``hubsim.power.grid`` -> ``power``; top-level modules (``hubsim.cli``) -> ``hubsim``."""
    parts = module.split(".")
    if len(parts) >= 2 and (PACKAGE / parts[1]).is_dir():
        return parts[1]
    return "hubsim"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _imports(path: Path):
    """(line, imported module, imported name or None) of every hubsim import in a file."""
    module = _module_name(path)
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "hubsim":
                    yield node.lineno, a.name, None
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_pkg else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] != "hubsim":
                continue
            for a in node.names:
                yield node.lineno, target, a.name


def _all_imports():
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        for line, target, name in _imports(path):
            yield module, line, target, name


def test_modules_are_found():
    mods = {m for m, *_ in _all_imports()}
    assert {"hubsim.power.diagnose", "hubsim.evaluation.runner", "hubsim.des.model"} <= mods


def test_no_private_name_crosses_a_package():
    bad = []
    for module, line, target, name in _all_imports():
        if _package(target) == _package(module):
            continue
        parts = target.split(".")[1:]
        # a private module of another package (hubsim.measures._model), or a private name
        # imported from it; a module imported as a name (from hubsim.x import _y) too
        hidden = [p for p in parts if _private(p)]
        if _package(target) == "hubsim" and parts and parts[0] == "_version":
            hidden = []  # the version module of the top-level package: __version__ only
        if hidden or (name is not None and _private(name)):
            shown = f"from {target} import {name}" if name else f"import {target}"
            bad.append(f"{module}:{line}: {shown}")
    assert not bad, "private names imported across packages:\n" + "\n".join(bad)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_do_not_reach_up(package):
    bad = []
    for module, line, target, _ in _all_imports():
        if _package(module) == package and _package(target) in FORBIDDEN[package]:
            bad.append(f"{module}:{line}: imports {target}")
    assert not bad, f"{package}/ must not import {sorted(FORBIDDEN[package])}:\n" + "\n".join(bad)


def test_nothing_imports_the_app():
    # the app (hubsim.app) is a thin front end over the public API: it may import anything,
    # and nothing in hubsim imports it (the CLI only builds its server command)
    bad = [
        f"{module}:{line}: imports {target}"
        for module, line, target, name in _all_imports()
        if _package(target) == "app"
        and _package(module) != "app"
        and not (module == "hubsim.cli" and target == "hubsim.app" and name in APP_ENTRY)
    ]
    assert not bad, "\n".join(bad)


APP_ENTRY = {"app_environment", "free_port", "open_when_up", "port_is_free", "streamlit_command"}


def test_the_app_holds_no_model():
    # the app reaches the model only through the public API: no private names, no DES
    # internals (the kernel, booking, staff), no estimator internals
    bad = [
        f"{module}:{line}: imports {target}"
        for module, line, target, _ in _all_imports()
        if _package(module) == "app"
        and target.startswith(("hubsim.des.", "hubsim.estimators.", "hubsim.regional."))
    ]
    assert not bad, "\n".join(bad)


def test_shared_numerics_and_checks_are_at_the_bottom():
    bad = [
        f"{module}:{line}: imports {target}"
        for module, line, target, _ in _all_imports()
        if module in BOTTOM and target != "hubsim._version"
    ]
    assert not bad, "\n".join(bad)


def test_importing_power_loads_no_des_config_measures_or_yaml():
    code = (
        "import sys, hubsim.power, hubsim.power.analytic, hubsim.power.diagnose, "
        "hubsim.power.grid\n"
        "from hubsim.power import power_cluster, diagnose, power_curve\n"
        "assert callable(diagnose), diagnose\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('yaml', 'simpy') or "
        "m.startswith(('hubsim.config', 'hubsim.des', 'hubsim.measures', 'hubsim.evaluation', "
        "'hubsim.experiment')))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"import hubsim.power loaded: {out}"
