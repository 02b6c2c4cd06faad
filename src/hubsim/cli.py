"""The ``hubsim`` command line.

Bad input (a config, an experiment file, an argument) is reported as one sentence per
problem on stderr, with exit code 2 and no traceback.
"""

from __future__ import annotations

import glob
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from hubsim._version import __version__
from hubsim.errors import HubsimError

app = typer.Typer(
    name="hubsim",
    help=(
        "Simulate staff mental-health and wellbeing hubs and power their evaluation. "
        "Configurations and studies are YAML paths or the names of shipped ones "
        "(hubsim list)."
    ),
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # plain help: flags show as --x / --no-x, not as a "<bool>" value
    rich_markup_mode=None,
)

SITE_NAMES = ("site_a", "site_b", "site_c", "site_d")
_GLOB_CHARS = "*?["


def _fail(problems: list[str] | str) -> None:
    for p in [problems] if isinstance(problems, str) else problems:
        typer.echo(p, err=True)
    raise typer.Exit(code=2)


def _problems(exc: HubsimError) -> list[str]:
    return list(getattr(exc, "problems", None) or [str(exc)])


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hubsim {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """hubsim command line."""


@app.command()
def validate(
    files: Annotated[
        list[str],
        typer.Argument(
            help="Configurations to check: YAML paths, globs ('configs/**/*.yaml') or "
            "shipped names (site_d).",
            show_default=False,
        ),
    ],
) -> None:
    """Validate configurations; exit 0 when all are valid, 2 otherwise."""
    from hubsim.config import load_config

    refs: list[str] = []
    for f in files:
        if any(ch in f for ch in _GLOB_CHARS):
            matches = sorted(glob.glob(f, recursive=True))
            if not matches:
                _fail(f"{f}: no file matches; expected a YAML file or a glob that matches one.")
            refs.extend(matches)
        else:
            refs.append(f)
    problems: list[str] = []
    for ref in refs:
        try:
            cfg = load_config(ref)
        except HubsimError as exc:
            problems.extend(_problems(exc))
            continue
        typer.echo(f"{ref}: valid ({cfg.name}, {cfg.kind}, hash {cfg.content_hash[:12]})")
    if problems:
        _fail(problems)


class Format(StrEnum):
    table = "table"
    csv = "csv"
    markdown = "markdown"


@app.command()
def sites(
    format: Annotated[
        Format, typer.Option("--format", "-f", help="Output format: table, csv or markdown.")
    ] = Format.table,
    dir: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="A folder holding your own site_a.yaml .. site_d.yaml [default: the shipped "
            "sites].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Print the four mapped hubs side by side (paper Tables 2-6), read from the configs."""
    from hubsim.config import load_config
    from hubsim.report.sites import render, sites_table

    try:
        if dir is None:
            cfgs = [load_config(name) for name in SITE_NAMES]
        else:
            cfgs = [load_config(dir / f"{name}.yaml") for name in SITE_NAMES]
    except HubsimError as exc:
        _fail(_problems(exc))
    typer.echo(render(sites_table(cfgs), format.value), nl=False)


class Shipped(StrEnum):
    all = "all"
    configs = "configs"
    experiments = "experiments"


@app.command("list")
def list_command(
    what: Annotated[
        Shipped,
        typer.Argument(help="What to list: configs, experiments or all."),
    ] = Shipped.all,
    paths: Annotated[
        bool, typer.Option("--paths", help="Print full installed paths, not paths within the data.")
    ] = False,
) -> None:
    """List the shipped configurations and experiments, by the names the commands take."""
    from hubsim.resources import POWER_PREFIX, config_names, data_path, experiment_names

    root = data_path()
    if what in (Shipped.all, Shipped.configs):
        typer.echo("configurations (hubsim run NAME, hubsim validate NAME):")
        for name, p in config_names().items():
            rel = p.relative_to(root).as_posix()
            typer.echo(f"  {name:<28} {p if paths else rel}")
    if what in (Shipped.all, Shipped.experiments):
        typer.echo("experiments (hubsim power NAME):")
        for name, p in experiment_names().items():
            short = name.removeprefix(POWER_PREFIX)
            rel = p.relative_to(root).as_posix()
            typer.echo(f"  {short:<28} {p if paths else rel}")


@app.command("run")
def run_command(
    config: Annotated[
        str,
        typer.Argument(
            help="A service configuration: a YAML path or a shipped name (site_d).",
            show_default=False,
        ),
    ],
    horizon_days: Annotated[
        float, typer.Option("--horizon-days", min=1, help="Simulated days from the period start.")
    ] = 365,
    replications: Annotated[
        int,
        typer.Option(
            "--replications", "-r", min=1, help="Independent replications (named streams)."
        ),
    ] = 1,
    seed: Annotated[
        int, typer.Option("--seed", min=0, help="The one seed every random stream derives from.")
    ] = 0,
    warmup_days: Annotated[
        float,
        typer.Option(
            "--warmup-days", min=0, help="Days at the start left out of the KPIs (a warm-up)."
        ),
    ] = 0,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", min=1, help="Worker processes (results are the same for any number)."
        ),
    ] = 1,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write the frames (Parquet) and manifest.json to this folder, built beside "
            "it and moved in place at the end; an existing folder is replaced [default: "
            "print the summary only].",
            show_default=False,
        ),
    ] = None,
    initial_waiting_list: Annotated[
        Path | None,
        typer.Option(
            "--initial-waiting-list",
            help="CSV of clients waiting at the start (waited_days, optional stage and "
            "occupational_group); default: the configuration's simulation.initial_waiting_list.",
        ),
    ] = None,
) -> None:
    """Simulate a hub: print the KPI summary and write the frames (Parquet) plus a manifest."""
    from hubsim.experiment import run_cli

    if warmup_days >= horizon_days:
        _fail(
            f"--warmup-days: expected less than --horizon-days ({horizon_days:g}), "
            f"got {warmup_days:g}."
        )
    if initial_waiting_list is not None and not initial_waiting_list.is_file():
        _fail(
            f"--initial-waiting-list: {initial_waiting_list}: file not found; expected a CSV "
            "file with a waited_days column."
        )
    try:
        run_cli(
            config,
            horizon_days,
            replications,
            seed,
            warmup_days,
            workers,
            out,
            initial_waiting_list=initial_waiting_list,
        )
    except HubsimError as exc:
        _fail(_problems(exc))
    except ValueError as exc:
        if "initial_waiting_list" not in str(exc):
            raise
        _fail(f"--initial-waiting-list: {exc}")


class StudySize(StrEnum):
    default = "default"
    smoke = "smoke"


@app.command()
def power(
    study: Annotated[
        str,
        typer.Argument(
            help="A power study: a YAML path or a shipped name (naturalistic_evaluation).",
            show_default=False,
        ),
    ],
    n_sims: Annotated[
        int | None,
        typer.Option(
            "--n-sims",
            min=2,
            help="Simulations per design point [default: the study's, for the chosen size].",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", min=0, help="Override the study's seed.", show_default=False),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Output folder, replaced only once the new one is complete [default: "
            "results/power/<study name>, with -<size> for a size other than default].",
            show_default=False,
        ),
    ] = None,
    size: Annotated[
        StudySize,
        typer.Option(
            "--size", help="The study's default size, or its smoke size (seconds, for checks)."
        ),
    ] = StudySize.default,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Worker processes [default: the study's].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run a power study: diagnosands with MCSEs, power curves, MDEs and a report."""
    from hubsim.evaluation import run_study
    from hubsim.resources import resolve_experiment

    try:
        path = resolve_experiment(study)
        res = run_study(path, n_sims=n_sims, seed=seed, out=out, size=size.value, workers=workers)
    except HubsimError as exc:
        _fail(_problems(exc))
    typer.echo(res.summary())


@app.command("app")
def app_command(
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            min=1,
            max=65535,
            help="Port to listen on [default: 8501 when free, else a free port].",
            show_default=False,
        ),
    ] = None,
    browser: Annotated[
        bool,
        typer.Option(
            "--browser/--no-browser", help="Open the page in your web browser once it is up."
        ),
    ] = True,
) -> None:
    """Start the planner app (Streamlit) on localhost and print its address."""
    import importlib.util
    import os

    from hubsim.app import app_environment, free_port, port_is_free, streamlit_command

    if importlib.util.find_spec("streamlit") is None:
        _fail(
            "hubsim app: Streamlit is not installed; expected the app extra "
            "(pip install 'hubsim[app]', or make app)."
        )
    if port is not None and not port_is_free(port):
        _fail(f"--port: {port} is in use on 127.0.0.1; expected a free port (or leave it out).")
    chosen = port if port is not None else free_port()
    cmd = streamlit_command(chosen, browser=browser)
    env = app_environment()
    typer.echo(f"hubsim app: http://127.0.0.1:{chosen}  (Ctrl+C stops it)")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(cmd[0], cmd, env)  # the server replaces this process (one PID to stop)


def run() -> None:  # pragma: no cover - console entry for `python -m hubsim`
    try:
        app()
    except HubsimError as exc:
        for p in getattr(exc, "problems", [str(exc)]):
            print(p, file=sys.stderr)
        sys.exit(2)
