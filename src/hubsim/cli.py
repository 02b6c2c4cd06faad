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
    help="Simulate staff mental-health and wellbeing hubs and power their evaluation.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

SITE_FILES = ("site_a.yaml", "site_b.yaml", "site_c.yaml", "site_d.yaml")


def _fail(problems: list[str] | str) -> None:
    for p in [problems] if isinstance(problems, str) else problems:
        typer.echo(p, err=True)
    raise typer.Exit(code=2)


def configs_dir() -> Path:
    """The project's ``configs/`` folder: ./configs if present, else the source checkout's."""
    here = Path.cwd() / "configs"
    if (here / "sites").is_dir():
        return here
    repo = Path(__file__).resolve().parents[2] / "configs"
    if (repo / "sites").is_dir():
        return repo
    raise HubsimError(
        "configs/: not found in the current directory or beside the package; "
        "expected the hubsim checkout's configs/ folder (or pass --dir)."
    )


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hubsim {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """hubsim command line."""


@app.command()
def validate(
    files: Annotated[list[str], typer.Argument(help="YAML configuration files (globs allowed).")],
) -> None:
    """Validate configuration files; exit 0 when all are valid, 2 otherwise."""
    from hubsim.config import load_config

    paths: list[str] = []
    for f in files:
        matches = sorted(glob.glob(f, recursive=True)) if any(ch in f for ch in "*?[") else [f]
        if not matches:
            _fail(f"{f}: no file matches; expected a YAML file or a glob that matches one.")
        paths.extend(matches)
    problems: list[str] = []
    for p in paths:
        try:
            cfg = load_config(p)
        except HubsimError as exc:
            problems.extend(getattr(exc, "problems", [str(exc)]))
            continue
        typer.echo(f"{p}: valid ({cfg.name}, {cfg.kind}, hash {cfg.content_hash[:12]})")
    if problems:
        _fail(problems)


class Format(StrEnum):
    table = "table"
    csv = "csv"
    markdown = "markdown"


@app.command()
def sites(
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    dir: Annotated[
        Path | None, typer.Option("--dir", help="Folder holding site_a.yaml .. site_d.yaml.")
    ] = None,
) -> None:
    """Print the four mapped hubs side by side (paper Tables 2-6), read from the configs."""
    from hubsim.config import load_config
    from hubsim.report.sites import render, sites_table

    try:
        folder = dir if dir is not None else configs_dir() / "sites"
        cfgs = [load_config(folder / name) for name in SITE_FILES]
    except HubsimError as exc:
        _fail(getattr(exc, "problems", [str(exc)]))
    typer.echo(render(sites_table(cfgs), format.value), nl=False)


@app.command("run")
def run_command(
    config: Annotated[Path, typer.Argument(help="A service configuration (YAML).")],
    horizon_days: Annotated[
        float, typer.Option("--horizon-days", min=1, help="Simulated days from the period start.")
    ] = 365,
    replications: Annotated[int, typer.Option("--replications", "-r", min=1)] = 1,
    seed: Annotated[int, typer.Option("--seed", min=0)] = 0,
    warmup_days: Annotated[float, typer.Option("--warmup-days", min=0)] = 0,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")] = 1,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write frames (Parquet) and manifest.json here.")
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
        _fail(getattr(exc, "problems", [str(exc)]))
    except ValueError as exc:
        if "initial_waiting_list" not in str(exc):
            raise
        _fail(f"--initial-waiting-list: {exc}")


class StudySize(StrEnum):
    default = "default"
    smoke = "smoke"


@app.command()
def power(
    study: Annotated[Path, typer.Argument(help="A power-study YAML (see experiments/).")],
    n_sims: Annotated[
        int | None, typer.Option("--n-sims", min=2, help="Simulations per design point.")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", min=0)] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output folder.")] = None,
    size: Annotated[
        StudySize, typer.Option("--size", help="The study's default size or its smoke size.")
    ] = StudySize.default,
    workers: Annotated[int | None, typer.Option("--workers", min=1)] = None,
) -> None:
    """Run a power study: diagnosands with MCSEs, power curves, MDEs and a report."""
    from hubsim.power.study import run_study

    try:
        res = run_study(study, n_sims=n_sims, seed=seed, out=out, size=size.value, workers=workers)
    except HubsimError as exc:
        _fail(getattr(exc, "problems", None) or str(exc))
    typer.echo(res.summary())


def run() -> None:  # pragma: no cover - console entry for `python -m hubsim`
    try:
        app()
    except HubsimError as exc:
        for p in getattr(exc, "problems", [str(exc)]):
            print(p, file=sys.stderr)
        sys.exit(2)
