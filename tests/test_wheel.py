"""An installed wheel runs by itself: built, installed in a fresh venv, run in an empty folder.

``python -m build`` makes the sdist and then the wheel *from the sdist*, so a file the sdist
leaves out is missing here too. The wheel is installed with its runtime dependencies only
(pip resolves the newest releases it allows, pandas 3 included), and the commands run in an
empty folder outside the source tree: nothing can be found through the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

# what the build reads; anything else it needed would make this test fail
BUILD_INPUTS = ("pyproject.toml", "README.md", "LICENSE", "src")


def _run(cmd, cwd, env, timeout=900):
    res = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert res.returncode == 0, f"{cmd} exited {res.returncode}\n{res.stdout}\n{res.stderr}"
    return res


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    src = tmp / "src-copy"
    src.mkdir()
    for name in BUILD_INPUTS:
        p = ROOT / name
        if p.is_dir():
            shutil.copytree(
                p,
                src / name,
                symlinks=True,
                ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"),
            )
        else:
            shutil.copy2(p, src / name)
    dist = tmp / "dist"
    _run([sys.executable, "-m", "build", "--outdir", dist, src], cwd=tmp, env=env)
    wheels = sorted(dist.glob("hubsim-*.whl"))
    assert len(wheels) == 1 and sorted(dist.glob("hubsim-*.tar.gz"))
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=tmp, env=env)
    _run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheels[0]], cwd=tmp, env=env)
    empty = tmp / "empty"
    empty.mkdir()
    return {"wheel": wheels[0], "bin": venv / "bin", "cwd": empty, "env": env}


def test_the_wheel_carries_every_shipped_file_and_the_licence(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    data = ROOT / "src" / "hubsim" / "data"
    want = {"hubsim/data/" + p.relative_to(data).as_posix() for p in data.rglob("*") if p.is_file()}
    assert want and want <= names, sorted(want - names)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_installed_hubsim_is_not_the_checkout(installed):
    res = _run(
        [
            installed["bin"] / "python",
            "-c",
            "import hubsim, hubsim.resources as r; print(hubsim.__file__); print(r.data_path())",
        ],
        cwd=installed["cwd"],
        env=installed["env"],
    )
    module, data = res.stdout.split()
    assert "site-packages" in module and not Path(module).is_relative_to(ROOT)
    assert Path(data).is_relative_to(Path(module).parent)


def test_run_validate_and_list_by_name(installed):
    hubsim = installed["bin"] / "hubsim"
    kw = {"cwd": installed["cwd"], "env": installed["env"]}
    res = _run([hubsim, "run", "site_d", "--horizon-days", "90", "--seed", "1"], **kw)
    assert res.stdout.startswith("site_d: 90 days, 1 replication(s), seed 1")
    names = _run([hubsim, "list", "configs"], **kw).stdout.split()
    shipped = [n for n in names if not n.endswith((".yaml", ":")) and "(" not in n]
    assert {"site_a", "site_d", "usual_care", "site_d_reversed"} <= set(shipped)
    res = _run([hubsim, "validate", "site_a", "site_b", "site_c", "site_d", "usual_care"], **kw)
    assert res.stdout.count(": valid (") == 5
    # the relative extends: of a scenario resolves inside the installed package
    res = _run([hubsim, "validate", "site_d_reversed", "site_d_band_shift"], **kw)
    assert res.stdout.count(": valid (") == 2
    # the documents the configurations cite ship with them
    docs = _run([hubsim, "list", "docs", "--paths"], **kw).stdout.split()
    calibration = Path(next(d for d in docs if d.endswith("/calibration.md")))
    assert calibration.is_file() and "site-packages" in calibration.parts
    assert "## §7 Suggested defaults" in calibration.read_text(encoding="utf-8")
    assert sorted(p.name for p in installed["cwd"].iterdir()) == []


def test_the_flagship_power_study_runs_by_name(installed):
    out = installed["cwd"].parent / "power-out"
    res = _run(
        [
            installed["bin"] / "hubsim",
            "power",
            "naturalistic_evaluation",
            "--size",
            "smoke",
            "--out",
            out,
        ],
        cwd=installed["cwd"],
        env=installed["env"],
    )
    # effect_from_des: hub: ../configs/sites/site_d.yaml resolved inside the package
    assert "DES waits_site_d: site_d vs usual_care" in res.stdout
    for name in ("diagnosands.csv", "report.md", "manifest.json", "des_effects.csv"):
        assert (out / name).is_file(), name
