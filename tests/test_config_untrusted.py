"""Untrusted YAML: size, alias expansion (YAML bombs), nesting depth and uploads.

A 300-byte file of nested anchors and aliases expands to 9^9 items; before the guard,
``hubsim validate`` on it ran past 60 s and grew without bound, and its 9^6 version took
25 s to be refused. The loader now counts the expanded nodes over the shared alias graph
(linear in the distinct nodes) and refuses the file before building any of it.
"""

from __future__ import annotations

import time

import pytest
import yaml
from typer.testing import CliRunner

import hubsim
from hubsim.cli import app
from hubsim.config import load_config_text
from hubsim.config.loader import (
    MAX_YAML_BYTES,
    MAX_YAML_DEPTH,
    MAX_YAML_NODES,
    expanded_size,
    load_config_data,
)

runner = CliRunner()


def bomb(levels: int, width: int = 9) -> str:
    """The classic 'billion laughs' document: level k is a list of ``width`` aliases to k-1."""
    names = "abcdefghijklmnopqrstuvwxyz"
    lines = [f"a: &a [{','.join(['lol'] * width)}]"]
    for k in range(1, levels):
        lines.append(f"{names[k]}: &{names[k]} [{','.join([f'*{names[k - 1]}'] * width)}]")
    return "\n".join(lines) + "\n"


def bomb_nodes(levels: int, width: int = 9) -> int:
    """Exact expanded node count of :func:`bomb` (keys, lists and scalars)."""
    size = [1 + width]  # level 0: the list and its scalars
    for _ in range(1, levels):
        size.append(1 + width * size[-1])
    return 1 + sum(1 + s for s in size)  # the document mapping, each key and each value


@pytest.mark.parametrize("levels", [3, 6, 9])
def test_expanded_size_counts_the_alias_expansion_exactly(levels):
    node = yaml.compose(bomb(levels))
    assert expanded_size(node) == bomb_nodes(levels)
    assert bomb_nodes(9) > 9**9  # the 9-level file holds more than 387 million items
    # with a limit it stops at limit + 1
    assert expanded_size(node, limit=50) == min(bomb_nodes(levels), 51)


@pytest.mark.parametrize("levels", [6, 9])
def test_a_yaml_bomb_is_refused_in_under_a_second(tmp_path, levels):
    p = tmp_path / "bomb.yaml"
    p.write_text(bomb(levels), encoding="utf-8")
    assert p.stat().st_size < 350 and bomb_nodes(levels) > MAX_YAML_NODES
    t0 = time.perf_counter()
    with pytest.raises(hubsim.ConfigError) as info:
        hubsim.load_config(p)
    elapsed = time.perf_counter() - t0
    msg = str(info.value)
    assert str(p) in msg and f"more than {MAX_YAML_NODES:,} YAML nodes" in msg, msg
    assert "aliases" in msg and msg.endswith("nodes."), msg
    assert elapsed < 1.0, f"refused after {elapsed:.2f} s"
    # the CLI says the same sentence, exits 2, no traceback
    t0 = time.perf_counter()
    res = runner.invoke(app, ["validate", str(p)])
    assert time.perf_counter() - t0 < 1.0
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "aliases" in res.output
    # and an upload too
    with pytest.raises(hubsim.ConfigError, match="aliases"):
        load_config_text(bomb(levels), "bomb.yaml")


def test_a_small_alias_expansion_is_still_read(tmp_path):
    p = tmp_path / "ok.yaml"
    p.write_text(bomb(3), encoding="utf-8")  # 1 + ... = a few hundred nodes
    data, _ = load_config_data(p)
    assert len(data["c"]) == 9 and data["c"][0][0] == ["lol"] * 9


def test_a_recursive_alias_is_refused(tmp_path):
    p = tmp_path / "loop.yaml"
    p.write_text("a: &a [1, *a]\n", encoding="utf-8")
    with pytest.raises(hubsim.ConfigError, match="recursive alias"):
        hubsim.load_config(p)


def test_a_file_over_the_size_bound_is_refused_before_reading(tmp_path):
    p = tmp_path / "big.yaml"
    p.write_text("# " + "x" * MAX_YAML_BYTES + "\nname: x\n", encoding="utf-8")
    with pytest.raises(hubsim.ConfigError, match=f"at most {MAX_YAML_BYTES:,} bytes"):
        hubsim.load_config(p)
    with pytest.raises(hubsim.ConfigError, match="bytes"):
        load_config_text(p.read_bytes(), "big.yaml")
    res = runner.invoke(app, ["validate", str(p)])
    assert res.exit_code == 2 and "bytes" in res.output and "Traceback" not in res.output


@pytest.mark.parametrize("text", ["[" * 5000 + "]" * 5000, "a: " + "[" * (MAX_YAML_DEPTH + 1)])
def test_deep_nesting_is_refused_with_a_sentence(tmp_path, text):
    p = tmp_path / "deep.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(hubsim.ConfigError, match="nested"):
        hubsim.load_config(p)


def test_every_shipped_configuration_is_well_inside_the_bounds():
    from hubsim.resources import config_names

    for name, path in config_names().items():
        assert path.stat().st_size < MAX_YAML_BYTES / 20, name
        node = yaml.compose(path.read_text(encoding="utf-8"))
        assert expanded_size(node) < MAX_YAML_NODES / 10, name
        hubsim.load_config(name)


# ------------------------------------------------------------------------------ uploads
def test_an_upload_may_extend_a_shipped_configuration():
    cfg = load_config_text(
        "extends: site_d\nname: planner\nsimulation:\n  demand: {multiplier: 1.5}\n", "mine.yaml"
    )
    assert cfg.name == "planner" and cfg.simulation.demand.multiplier == 1.5
    assert cfg.region == hubsim.load_config("site_d").region


@pytest.mark.parametrize("target", ["/etc/passwd", "../sites/site_d.yaml", "site_d.yaml", "nope"])
def test_an_upload_may_not_extend_a_file(target):
    with pytest.raises(hubsim.ConfigError) as info:
        load_config_text(f"name: x\nextends: {target}\n", "mine.yaml")
    msg = str(info.value)
    assert msg.startswith("mine.yaml, line 2: extends: expected the name of a shipped"), msg


def test_an_upload_may_not_name_a_csv_file():
    text = (
        "extends: site_d\nsimulation:\n  initial_waiting_list:\n"
        "    csv: /etc/hosts\n    source: x\n"
    )
    with pytest.raises(hubsim.ConfigError) as info:
        load_config_text(text, "mine.yaml")
    assert "mine.yaml, line 4: simulation.initial_waiting_list.csv:" in str(info.value)


def test_upload_errors_name_the_upload_and_the_line():
    text = "extends: site_d\nregion:\n  in_scope_staf: 3\n"
    with pytest.raises(hubsim.ConfigError) as info:
        load_config_text(text, "mine.yaml")
    assert "mine.yaml, line 3: region.in_scope_staf: unknown field" in str(info.value)
    with pytest.raises(hubsim.ConfigError, match="not UTF-8"):
        load_config_text(b"\xff\xfe\x00", "mine.yaml")
    with pytest.raises(hubsim.ConfigError, match="line 1: the document is a list"):
        load_config_text("- 1\n- 2\n", "mine.yaml")
