"""Every command, argument and option of the CLI explains itself; booleans are flags."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from hubsim.cli import app

runner = CliRunner()
GROUP = typer.main.get_command(app)
COMMANDS = sorted(GROUP.commands)


def test_the_commands():
    assert COMMANDS == [
        "app",
        "compare",
        "experiment",
        "list",
        "power",
        "report",
        "run",
        "sites",
        "validate",
        "warmup",
    ]


@pytest.mark.parametrize("name", COMMANDS)
def test_every_parameter_has_help_text(name):
    cmd = GROUP.commands[name]
    assert (cmd.help or "").strip(), name
    for param in cmd.params:
        text = (getattr(param, "help", None) or "").strip()
        assert len(text) > 10, f"hubsim {name}: {param.name} has no help text"


@pytest.mark.parametrize("name", COMMANDS)
def test_booleans_are_flags(name):
    cmd = GROUP.commands[name]
    for param in cmd.params:
        # a boolean option is one with a bool default (typer's parameter classes change)
        if param.param_type_name == "option" and isinstance(param.default, bool):
            assert param.is_flag, f"hubsim {name} {param.opts}: expected a flag"
    res = runner.invoke(app, [name, "--help"])
    assert res.exit_code == 0, res.output
    assert "<bool>" not in res.output
    for param in cmd.params:
        if param.param_type_name == "option":
            assert param.opts[0] in res.output


def test_top_level_help():
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0 and "<bool>" not in res.output
    assert "--version" in res.output and "shipped" in res.output
    for name in COMMANDS:
        assert name in res.output
