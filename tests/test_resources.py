"""Shipped configurations and experiments: names, one copy in git, nothing found via the tree.

These tests build nothing; ``test_wheel.py`` (slow tier) builds the wheel and runs it in a
fresh virtual environment outside the source tree.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import hubsim
from hubsim.cli import app
from hubsim.config import load_config
from hubsim.resources import (
    config_names,
    config_path,
    data_path,
    experiment_names,
    experiment_path,
    is_name,
    resolve_config,
    resolve_experiment,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "hubsim" / "data"
runner = CliRunner()


def test_data_is_the_package_folder():
    # in a checkout (editable install) the package data is the source tree's src/hubsim/data
    assert data_path() == Path(hubsim.__file__).resolve().parent / "data"
    assert data_path().resolve() == DATA.resolve()


@pytest.mark.parametrize("name", sorted(config_names()))
def test_every_shipped_configuration_loads_by_name_and_by_path(name):
    by_name = load_config(name)
    path = config_path(name)
    assert path.is_file() and path.stem == name
    assert by_name.content_hash == load_config(path).content_hash
    # the repository's top-level configs/ holds the same file
    repo_copy = ROOT / "configs" / path.relative_to(data_path() / "configs")
    assert repo_copy.resolve() == path.resolve()
    assert load_config(repo_copy).content_hash == by_name.content_hash


@pytest.mark.parametrize("name", sorted(experiment_names()))
def test_every_shipped_experiment_loads_by_name(name):
    from hubsim.config.loader import read_yaml
    from hubsim.evaluation import load_study
    from hubsim.experiment import detect_kind, read_experiment

    path = experiment_path(name)
    if detect_kind(read_yaml(path)[0]) == "experiment":
        # a scenario experiment: its scenarios resolve from the package and the checkout
        plans = [read_experiment(p) for p in (path, ROOT / "experiments" / path.name)]
        assert plans[0].scenarios and plans[0].fingerprint() == plans[1].fingerprint()
        return
    spec, designs = load_study(path)
    assert designs
    repo_copy = ROOT / "experiments" / path.name
    assert repo_copy.resolve() == path.resolve()
    # its DES-fed scenarios name configurations by relative path; they resolve from both
    for spot in (path, repo_copy):
        spec2, _ = load_study(spot)
        assert spec2 == spec


def test_power_studies_answer_to_their_short_name():
    assert experiment_path("naturalistic_evaluation") == experiment_path(
        "power_naturalistic_evaluation"
    )
    assert resolve_experiment("naturalistic_evaluation").name == (
        "power_naturalistic_evaluation.yaml"
    )


def test_the_site_configurations_and_usual_care_are_shipped():
    for name in ("site_a", "site_b", "site_c", "site_d", "usual_care", "hub", "mmc"):
        assert name in config_names()
    assert config_path("site_d_reversed").parent.name == "scenarios"


def test_one_copy_of_each_file_in_the_repository():
    # configs/ is a link to the package data; every experiments/*.yaml is a link into it
    top = ROOT / "configs"
    assert top.is_symlink() and top.resolve() == (DATA / "configs").resolve()
    shipped = {p.name for p in (DATA / "experiments").glob("*.yaml")}
    linked = set()
    for p in (ROOT / "experiments").iterdir():
        if p.suffix in (".yaml", ".yml"):
            assert p.is_symlink(), (
                f"{p}: expected a link to src/hubsim/data/experiments/{p.name} (shipped "
                "experiments live in the package; the top-level folder links to them)"
            )
            assert p.resolve().parent == (DATA / "experiments").resolve()
            linked.add(p.name)
    assert linked == shipped


def test_package_data_declares_every_shipped_file():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = pyproject["tool"]["setuptools"]["package-data"]["hubsim"]
    pkg = ROOT / "src" / "hubsim"
    files = [p.relative_to(pkg).as_posix() for p in DATA.rglob("*") if p.is_file()]
    assert files
    # setuptools reads "**" as any depth of folders
    pats = [re.compile(fnmatch.translate(g).replace(".*.*/", "(.*/)?")) for g in globs]
    missing = [f for f in files if not any(p.match(f) for p in pats)]
    assert not missing, f"not in [tool.setuptools.package-data]: {missing}"


def test_names_and_paths():
    assert is_name("site_d")
    assert not is_name("site_d.yaml") and not is_name("configs/site_d") and not is_name("")
    assert resolve_config("site_d") == config_path("site_d")
    assert resolve_config(Path("x") / "y.yaml") == Path("x/y.yaml")


def test_a_local_file_wins_over_a_shipped_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("site_d").write_text("x: 1\n", encoding="utf-8")
    assert resolve_config("site_d") == Path("site_d")


def test_an_unknown_name_lists_the_shipped_ones():
    with pytest.raises(hubsim.ConfigError) as err:
        load_config("site_x")
    msg = str(err.value)
    assert msg.startswith("site_x: not a file and not the name of a shipped configuration")
    assert "usual_care" in msg and "did you mean 'site_" in msg
    with pytest.raises(hubsim.ConfigError, match="shipped experiment"):
        experiment_path("naturalistic")


def test_a_missing_yaml_path_is_still_a_missing_file(tmp_path):
    with pytest.raises(hubsim.ConfigError, match="file not found"):
        load_config(tmp_path / "site_d.yaml")


def test_cli_takes_names():
    res = runner.invoke(app, ["validate", "site_d", "usual_care", "site_d_reversed"])
    assert res.exit_code == 0, res.output
    assert res.output.count(": valid (") == 3
    res = runner.invoke(app, ["run", "site_d", "--horizon-days", "20"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("site_d: 20 days")
    res = runner.invoke(app, ["run", "site_x"])
    assert res.exit_code == 2 and "did you mean 'site_" in res.output
    assert "Traceback" not in res.output
    res = runner.invoke(app, ["power", "no_such_study"])
    assert res.exit_code == 2 and "shipped experiment" in res.output


def test_cli_lists_what_it_ships():
    res = runner.invoke(app, ["list"])
    assert res.exit_code == 0, res.output
    for name in config_names():
        assert re.search(rf"^  {re.escape(name)}\s", res.output, re.M), name
    assert re.search(r"^  naturalistic_evaluation\s+experiments/", res.output, re.M)
    res = runner.invoke(app, ["list", "configs", "--paths"])
    assert res.exit_code == 0 and str(config_path("site_d")) in res.output
    assert "experiments (" not in res.output.split("\n", 1)[1]


_PARENTS = re.compile(r"__file__[^\n]*\.(parents\b|parent\.parent)")


def test_nothing_finds_data_through_the_source_tree():
    """Library code and notebooks find shipped files through hubsim.resources only."""
    offenders = []
    for folder in ("src", "notebooks"):
        for p in (ROOT / folder).rglob("*.py"):
            text = p.read_text(encoding="utf-8")
            for m in _PARENTS.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                offenders.append(f"{p.relative_to(ROOT)}:{line}")
    assert not offenders, offenders


def test_a_users_delta_extends_a_shipped_configuration_by_name(tmp_path):
    own = tmp_path / "my_site_d.yaml"
    own.write_text(
        "extends: site_d\nname: my_site_d\nsimulation:\n  demand:\n    multiplier: 1.5\n",
        encoding="utf-8",
    )
    cfg = load_config(own)
    base = load_config("site_d")
    assert cfg.name == "my_site_d" and cfg.region == base.region
    assert cfg.simulation.demand.multiplier == 1.5 != base.simulation.demand.multiplier
    # a file beside it of that name wins over the shipped one
    (tmp_path / "site_d").write_text((config_path("site_d")).read_text(), encoding="utf-8")
    with pytest.raises(hubsim.ConfigError, match="extends"):
        load_config(own)  # the copy's own relative extends: ../defaults/hub.yaml is missing


def test_extends_an_unknown_name(tmp_path):
    own = tmp_path / "x.yaml"
    own.write_text("extends: site_q\nname: x\n", encoding="utf-8")
    with pytest.raises(hubsim.ConfigError) as err:
        load_config(own)
    msg = str(err.value)
    assert f"{own}, line 1: extends: 'site_q' is neither a file" in msg and "site_d" in msg


def test_validate_suggests_configurations_and_experiments_alike():
    """validate takes every kind of shipped file, so a misspelt name is matched against all
    of them: an experiment's near miss is suggested, and both lists are printed."""
    res = runner.invoke(app, ["validate", "site_d_stafing", "naturalistic_evaluaton"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    first, second = res.output.strip().splitlines()
    assert first.endswith("(did you mean 'site_d_staffing'?).")
    assert "did you mean 'naturalistic_evaluation'?" in second
    for msg in (first, second):
        assert "a configuration (hub, mmc, site_a" in msg and "an experiment (four_sites" in msg
    res = runner.invoke(app, ["validate", "four_sites", "naturalistic_evaluation", "mmc"])
    assert res.exit_code == 0, res.output
    assert [line.split(": ")[1].split(" (")[0] for line in res.output.splitlines()] == [
        "valid experiment",
        "valid power study",
        "valid",
    ]
