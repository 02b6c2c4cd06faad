"""Dependencies are bounded, CI's lowest leg pins the lower bounds, and every test that needs a
dev-only package carries the marker that CI's runtime-only leg deselects."""

from __future__ import annotations

import ast
import re
import tomllib
from itertools import pairwise
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
_REQ = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)(\[[^\]]*\])?(?P<spec>.*)$")

# dev-only packages -> the marker a test that needs one must carry (CI's runtime-only leg
# runs `-m "not slow and not oracle and not notebooks"` without the dev extra)
DEV_ONLY = {
    "pyfixest": "oracle",
    "wildboottest": "oracle",
    "csdid": "oracle",
    "lifelines": "oracle",
    "vidigi": "oracle",
    "jupytext": "notebooks",
    "nbclient": "notebooks",
    "ipykernel": "notebooks",
    "build": "slow",
    # the app extra is installed with dev (make test); the runtime-only legs deselect these
    "streamlit": "app",
    "selenium": "browser",
}


def _parse(req: str) -> tuple[str, dict[str, str]]:
    m = _REQ.match(req.replace(" ", ""))
    assert m, req
    specs = {}
    for part in filter(None, m["spec"].split(",")):
        op = re.match(r"(>=|<=|==|!=|~=|<|>)(.+)", part)
        assert op, f"{req}: cannot read {part!r}"
        specs[op[1]] = op[2]
    return m["name"].lower(), specs


def _all_requirements() -> list[str]:
    proj = PYPROJECT["project"]
    out = list(proj["dependencies"])
    for group in proj["optional-dependencies"].values():
        out.extend(group)
    out.extend(PYPROJECT["build-system"]["requires"])
    return out


@pytest.mark.parametrize("req", _all_requirements())
def test_every_dependency_has_a_lower_and_an_upper_bound(req):
    _, specs = _parse(req)
    assert ">=" in specs and "<" in specs, f"{req}: expected >=lower,<upper"


def test_the_extras():
    # bench: Ciw, a benchmark-only dependency (benchmarks/bench_des.py)
    assert set(PYPROJECT["project"]["optional-dependencies"]) == {"dev", "dask", "app", "bench"}


def test_lowest_leg_pins_exactly_the_lower_bounds():
    runtime = dict(_parse(r) for r in PYPROJECT["project"]["dependencies"])
    pins = {}
    for line in (ROOT / ".ci" / "lowest.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, spec = _parse(line)
            pins[name] = spec["=="]
    assert set(pins) == set(runtime)

    def norm(v: str) -> tuple[int, ...]:
        parts = [int(x) for x in v.split(".")]
        while len(parts) < 3:
            parts.append(0)
        return tuple(parts)

    for name, spec in runtime.items():
        assert norm(pins[name]) == norm(spec[">="]), name


# ----------------------------------------------------------------- markers of dev-only use
def _dev_uses(node: ast.AST) -> set[str]:
    """Dev-only packages a function body imports (import, from-import, importorskip)."""
    found = set()
    for n in ast.walk(node):
        names: list[str] = []
        if isinstance(n, ast.Import):
            names = [a.name for a in n.names]
        elif isinstance(n, ast.ImportFrom) and n.module:
            names = [n.module]
        elif (
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and n.func.attr == "importorskip"
            and n.args
            and isinstance(n.args[0], ast.Constant)
        ):
            names = [str(n.args[0].value)]
        elif isinstance(n, ast.List | ast.Tuple):
            # `python -m build` run in a subprocess: [..., "-m", "build", ...]
            vals = [e.value if isinstance(e, ast.Constant) else None for e in n.elts]
            if any(a == "-m" and b == "build" for a, b in pairwise(vals)):
                names = ["build"]
        found |= {x.split(".")[0] for x in names} & set(DEV_ONLY)
    return found


def _calls(node: ast.AST) -> set[str]:
    out = {
        n.func.id
        for n in ast.walk(node)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    }
    if isinstance(node, ast.FunctionDef):
        out |= {a.arg for a in node.args.args}  # fixtures by parameter name
    return out


def _markers(decorators: list[ast.expr]) -> set[str]:
    out = set()
    for d in decorators:
        for n in ast.walk(d):
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Attribute):
                if n.value.attr == "mark":
                    out.add(n.attr)
    return out


def _module_markers(tree: ast.Module) -> set[str]:
    for n in tree.body:
        if isinstance(n, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in n.targets
        ):
            return _markers([n.value])
    return set()


def _problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module_marks = _module_markers(tree)
    problems = []
    for n in tree.body:
        if isinstance(n, ast.Import | ast.ImportFrom):
            for pkg in _dev_uses(n):
                if DEV_ONLY[pkg] not in module_marks:
                    problems.append(
                        f"{path.name}, line {n.lineno}: module-level import of {pkg}; expected it "
                        f"inside the tests marked {DEV_ONLY[pkg]!r}"
                    )
    funcs = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    direct = {name: _dev_uses(f) for name, f in funcs.items()}
    edges = {name: _calls(f) & set(funcs) for name, f in funcs.items()}
    uses = {name: set(d) for name, d in direct.items()}
    changed = True
    while changed:  # close over helpers and same-module fixtures
        changed = False
        for name in funcs:
            add = (
                set().union(*(uses[c] for c in edges[name])) - uses[name] if edges[name] else set()
            )
            if add:
                uses[name] |= add
                changed = True
    for name, f in funcs.items():
        if not name.startswith("test_"):
            continue
        marks = _markers(f.decorator_list) | module_marks
        for pkg in sorted(uses[name]):
            if DEV_ONLY[pkg] not in marks:
                problems.append(
                    f"{path.name}, line {f.lineno}: {name} needs {pkg} (dev extra); expected "
                    f"@pytest.mark.{DEV_ONLY[pkg]}"
                )
    return problems


def test_tests_that_need_dev_packages_carry_their_marker():
    checked = sorted((ROOT / "tests").glob("test_*.py"))
    problems = [p for path in checked for p in _problems(path)]
    assert not problems, "\n".join(problems)


def test_the_marker_check_sees_helpers_and_fixtures(tmp_path):
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "import pytest\n"
        "def _fit():\n    return pytest.importorskip('pyfixest')\n"
        "@pytest.fixture\ndef km():\n    from lifelines import KaplanMeierFitter\n"
        "def test_a():\n    _fit()\n"
        "def test_b(km):\n    pass\n"
        "@pytest.mark.oracle\ndef test_c(km):\n    _fit()\n",
        encoding="utf-8",
    )
    got = _problems(sample)
    assert (
        len(got) == 2 and "test_a needs pyfixest" in got[0] and "test_b needs lifelines" in got[1]
    )
