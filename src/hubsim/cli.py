"""The ``hubsim`` command line.

Bad input (a config, an experiment file, an argument) is reported as one sentence per
problem on stderr, with exit code 2 and no traceback.
"""

from __future__ import annotations

import datetime as _dt
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
            help="Files to check: configurations, experiment files or power studies, as YAML "
            "paths, globs ('configs/**/*.yaml') or shipped names (site_d, site_d_staffing).",
            show_default=False,
        ),
    ],
) -> None:
    """Validate configurations, experiments and power studies; exit 0 when all are valid."""
    from hubsim.config import load_config
    from hubsim.config.loader import read_yaml
    from hubsim.evaluation import read_study
    from hubsim.experiment import detect_kind, read_experiment
    from hubsim.resources import is_name, shipped_path

    # every argument is reported: a glob that matches nothing is one problem among the
    # others, not the end of the command
    refs: list[str] = []
    problems: list[str] = []
    for f in files:
        if any(ch in f for ch in _GLOB_CHARS):
            matches = sorted(glob.glob(f, recursive=True))
            if not matches:
                problems.append(
                    f"{f}: no file matches; expected a YAML file or a glob that matches one."
                )
            refs.extend(matches)
        else:
            refs.append(f)
    for ref in refs:
        try:
            path = shipped_path(ref) if is_name(ref) else Path(ref)
            kind = "config"
            if path.is_file():
                data, _ = read_yaml(path)
                kind = detect_kind(data)
            if kind == "experiment":
                plan = read_experiment(path)
                typer.echo(
                    f"{ref}: valid experiment ({plan.spec.name}, {len(plan.scenarios)} "
                    f"scenarios, baseline {plan.baseline})"
                )
            elif kind == "power":
                study = read_study(path)
                typer.echo(
                    f"{ref}: valid power study ({study.spec.name}, {len(study.designs)} scenarios)"
                )
            else:
                cfg = load_config(path)
                typer.echo(f"{ref}: valid ({cfg.name}, {cfg.kind}, hash {cfg.content_hash[:12]})")
        except HubsimError as exc:
            problems.extend(_problems(exc))
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
    docs = "docs"


@app.command("list")
def list_command(
    what: Annotated[
        Shipped,
        typer.Argument(help="What to list: configs, experiments, docs or all."),
    ] = Shipped.all,
    paths: Annotated[
        bool, typer.Option("--paths", help="Print full installed paths, not paths within the data.")
    ] = False,
) -> None:
    """List the shipped configurations and experiments, by the names the commands take, and
    the documents their sources cite (docs/calibration.md, docs/paper.md)."""
    from hubsim.resources import POWER_PREFIX, config_names, data_path, experiment_names

    root = data_path()
    if what in (Shipped.all, Shipped.configs):
        typer.echo("configurations (hubsim run NAME, hubsim validate NAME):")
        for name, p in config_names().items():
            rel = p.relative_to(root).as_posix()
            typer.echo(f"  {name:<28} {p if paths else rel}")
    if what in (Shipped.all, Shipped.experiments):
        typer.echo("experiments (hubsim experiment NAME) and power studies (hubsim power NAME):")
        for name, p in experiment_names().items():
            short = name.removeprefix(POWER_PREFIX)
            rel = p.relative_to(root).as_posix()
            typer.echo(f"  {short:<28} {p if paths else rel}")
    if what in (Shipped.all, Shipped.docs):
        typer.echo("documents (the sources the configurations cite, e.g. calibration.md §7):")
        for p in sorted((root / "docs").glob("*.md")):
            rel = p.relative_to(root).as_posix()
            typer.echo(f"  {p.name:<28} {p if paths else rel}")


# options shared by the long-running commands
_OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out",
        help="Results folder: created if new, resumed if it holds this same run, refused if "
        "it holds another run or files hubsim did not write (see --overwrite).",
        show_default=False,
    ),
]
_EndOpt = Annotated[
    str | None,
    typer.Option(
        "--end",
        help="Last simulated day, YYYY-MM-DD, inclusive (instead of --horizon-days).",
        show_default=False,
    ),
]
_OverwriteOpt = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Use a folder hubsim did not write (your files are kept, never replaced), or "
        "start a hubsim folder of another run afresh (only hubsim's files are removed).",
    ),
]
_QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")]


class Executor(StrEnum):
    local = "local"
    dask = "dask"


_ExecutorOpt = Annotated[
    Executor | None,
    typer.Option(
        "--executor",
        help="local: worker processes on this machine (the default); dask: a Dask "
        "LocalCluster started for the run (or the cluster of --scheduler).",
        show_default=False,
    ),
]
_SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Address of a running Dask scheduler (tcp://host:8786); implies --executor dask.",
        show_default=False,
    ),
]


def _command_line() -> str:
    return " ".join(["hubsim", *sys.argv[1:]])


#: the signal that interrupted the run (SIGINT unless SIGTERM's handler ran)
_STOPPED_BY: list[int] = []


def _interruptible():
    """SIGTERM ends the run like Ctrl-C: finished work is kept, temporary files removed."""
    import signal

    def handler(signum, frame):
        _STOPPED_BY.append(signum)
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # pragma: no cover - not the main thread (e.g. some test runners)
        pass


def _interrupted(exc: HubsimError) -> None:
    """Report an interrupted run; exit 128 + the signal (130 for Ctrl-C, 143 for SIGTERM)."""
    import signal

    for p in _problems(exc):
        typer.echo(p, err=True)
    raise typer.Exit(code=128 + (_STOPPED_BY[-1] if _STOPPED_BY else signal.SIGINT))


def _check_dates(start: str | None, end: str | None) -> None:
    """--start and --end, when given, are dates YYYY-MM-DD (else one sentence, exit 2)."""
    for flag, value in (("--start", start), ("--end", end)):
        if value is not None:
            try:
                _dt.date.fromisoformat(value)
            except ValueError:
                _fail(f"{flag}: expected a date YYYY-MM-DD, got {value!r}.")


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
        float | None,
        typer.Option(
            "--horizon-days",
            min=1,
            help="Simulated days from the period start [default: --end, else the config's "
            "simulation.horizon, else the end of the first full-opening year].",
            show_default=False,
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            help="First day of the KPI window, YYYY-MM-DD; the days from the period start "
            "before it are the warm-up [default: --warmup-days, else the config's "
            "simulation.warmup, else the day every group is open when the end is the "
            "default too, else the period start].",
            show_default=False,
        ),
    ] = None,
    end: _EndOpt = None,
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
        float | None,
        typer.Option(
            "--warmup-days",
            min=0,
            help="Days from the period start left out of the KPIs (a warm-up; instead of --start).",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Worker processes (results are the same for any number) [default: one per "
            "CPU with --out, else 1].",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Store the results (results.duckdb, events as Parquet, manifest.json) in this "
            "folder, committing each replication; the same command resumes an interrupted "
            "run [default: print the summary only].",
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
    overwrite: _OverwriteOpt = False,
    executor: _ExecutorOpt = None,
    scheduler: _SchedulerOpt = None,
    quiet: _QuietOpt = False,
) -> None:
    """Simulate a hub: print the KPI summary; with --out, store every replication (resumable)."""
    from hubsim.experiment import format_summary, run_cli
    from hubsim.experiment.run import run_window

    if warmup_days is not None and horizon_days is not None and warmup_days >= horizon_days:
        _fail(
            f"--warmup-days: expected less than --horizon-days ({horizon_days:g}), "
            f"got {warmup_days:g}."
        )
    _check_dates(start, end)
    if initial_waiting_list is not None and not initial_waiting_list.is_file():
        _fail(
            f"--initial-waiting-list: {initial_waiting_list}: file not found; expected a CSV "
            "file with a waited_days column."
        )
    if out is None:
        try:
            run_cli(
                config,
                horizon_days,
                replications,
                seed,
                warmup_days,
                workers or 1,
                None,
                initial_waiting_list=initial_waiting_list,
                start=start,
                end=end,
            )
        except HubsimError as exc:
            _fail(_problems(exc))
        except ValueError as exc:
            if "initial_waiting_list" not in str(exc):
                raise
            _fail(f"--initial-waiting-list: {exc}")
        return
    from hubsim.config import load_config
    from hubsim.experiment import Interrupted, plan_from_configs, run_experiment
    from hubsim.experiment.run import result_from_store

    _interruptible()
    try:
        cfg = load_config(config)
        window = run_window(cfg, config, horizon_days, warmup_days, start, end)
        plan = plan_from_configs(
            [cfg],
            seed=seed,
            replications=replications,
            horizon_days=window.horizon_days,
            warmup_days=window.warmup_days,
            name=cfg.name,
            source=str(config),
            initial_waiting_list=initial_waiting_list,
        )
        res = run_experiment(
            plan,
            out,
            overwrite=overwrite,
            executor=executor.value if executor else None,
            workers=workers,
            scheduler=scheduler,
            quiet=quiet,
            command=_command_line(),
            report=False,
            kind="run",
        )
        back = result_from_store(res.out, cfg.name)
        back.meta.update(window.meta())
        typer.echo(format_summary(back))
    except Interrupted as exc:
        _interrupted(exc)
    except HubsimError as exc:
        _fail(_problems(exc))
    typer.echo(f"results stored in {res.out}")


@app.command()
def experiment(
    file: Annotated[
        str,
        typer.Argument(
            help="An experiment file: a YAML path or a shipped name (site_d_staffing).",
            show_default=False,
        ),
    ],
    out: _OutOpt = None,
    overwrite: _OverwriteOpt = False,
    executor: _ExecutorOpt = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Worker processes or Dask workers (results are the same for any number) "
            "[default: the file's, else one per CPU].",
            show_default=False,
        ),
    ] = None,
    scheduler: _SchedulerOpt = None,
    quiet: _QuietOpt = False,
    no_report: Annotated[
        bool, typer.Option("--no-report", help="Skip report.md / report.html and the figures.")
    ] = False,
) -> None:
    """Run a scenario experiment: levels, paired differences (CRN) with CIs, a report.

    Results go to --out (default results/<name>): results.duckdb, events as Parquet,
    manifest.json, report.md/.html and figures. Interrupt it and run the same command to
    resume.
    """
    from hubsim.experiment import Interrupted, read_experiment, run_experiment
    from hubsim.resources import resolve_experiment

    _interruptible()
    try:
        plan = read_experiment(resolve_experiment(file))
        res = run_experiment(
            plan,
            out,
            overwrite=overwrite,
            executor=executor.value if executor else None,
            workers=workers,
            scheduler=scheduler,
            quiet=quiet,
            command=_command_line(),
            report=not no_report,
        )
    except Interrupted as exc:
        _interrupted(exc)
    except HubsimError as exc:
        _fail(_problems(exc))
    typer.echo(res.summary())
    typer.echo(f"results in {res.out}" + (" (report.md, report.html)" if res.files else ""))


@app.command()
def compare(
    base: Annotated[
        str,
        typer.Argument(
            help="The baseline configuration: a YAML path or a shipped name (site_d).",
            show_default=False,
        ),
    ],
    scenarios: Annotated[
        list[str],
        typer.Argument(
            help="Configurations to compare with it (paths or shipped names).",
            show_default=False,
        ),
    ],
    replications: Annotated[
        int, typer.Option("--replications", "-r", min=2, help="Paired replications.")
    ] = 10,
    horizon_days: Annotated[
        float | None,
        typer.Option(
            "--horizon-days",
            min=1,
            help="Simulated days from the period start [default: --end, else the baseline's "
            "simulation.horizon, else the end of its first full-opening year, as hubsim run].",
            show_default=False,
        ),
    ] = None,
    warmup_days: Annotated[
        float | None,
        typer.Option(
            "--warmup-days",
            min=0,
            help="Days from the period start left out of the KPIs (instead of --start) "
            "[default: the baseline's simulation.warmup, else the day all its groups are open "
            "when the end is the default too, else 0].",
            show_default=False,
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            help="First day of the KPI window, YYYY-MM-DD (the days before it warm up).",
            show_default=False,
        ),
    ] = None,
    end: _EndOpt = None,
    seed: Annotated[
        int, typer.Option("--seed", min=0, help="The one seed every random stream derives from.")
    ] = 0,
    out: _OutOpt = None,
    overwrite: _OverwriteOpt = False,
    executor: _ExecutorOpt = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Worker processes (results are the same for any number) [default: one per CPU].",
            show_default=False,
        ),
    ] = None,
    scheduler: _SchedulerOpt = None,
    quiet: _QuietOpt = False,
) -> None:
    """Compare configurations with a baseline on common random numbers (paired CIs).

    The one-line form of an experiment: results, report and figures go to --out (default
    results/compare-<base>). Every configuration runs over the same window: by default
    the baseline's first full-opening year, as hubsim run.
    """
    from hubsim.config import load_config
    from hubsim.experiment import Interrupted, plan_from_configs, run_experiment
    from hubsim.experiment.run import run_window

    if warmup_days is not None and horizon_days is not None and warmup_days >= horizon_days:
        _fail(
            f"--warmup-days: expected less than --horizon-days ({horizon_days:g}), "
            f"got {warmup_days:g}."
        )
    _check_dates(start, end)
    _interruptible()
    try:
        cfgs = [load_config(ref) for ref in [base, *scenarios]]
        window = run_window(cfgs[0], base, horizon_days, warmup_days, start, end)
        names = []
        for c in cfgs:
            n, k = c.name, 2
            while n in names:
                n, k = f"{c.name}_{k}", k + 1
            names.append(n)
        plan = plan_from_configs(
            cfgs,
            names=names,
            seed=seed,
            replications=replications,
            horizon_days=window.horizon_days,
            warmup_days=window.warmup_days,
            name=f"compare-{names[0]}",
        )
        res = run_experiment(
            plan,
            out if out is not None else Path("results") / f"compare-{names[0]}",
            overwrite=overwrite,
            executor=executor.value if executor else None,
            workers=workers,
            scheduler=scheduler,
            quiet=quiet,
            command=_command_line(),
        )
    except Interrupted as exc:
        _interrupted(exc)
    except HubsimError as exc:
        _fail(_problems(exc))
    typer.echo(f"KPI window: {window.describe()}")
    typer.echo(res.summary())
    typer.echo(f"results in {res.out} (report.md, report.html)")


@app.command()
def report(
    folder: Annotated[
        Path,
        typer.Argument(
            help="A results folder written by hubsim experiment or compare.",
            show_default=False,
        ),
    ],
) -> None:
    """Write report.md and report.html (with figures) for a finished results folder."""
    from hubsim.experiment import load_experiment_result
    from hubsim.report.experiment import write_report

    try:
        store, res_folder = load_experiment_result(folder)
        try:
            files = write_report(res_folder, store)
        finally:
            store.close()
            res_folder.close()
    except HubsimError as exc:
        _fail(_problems(exc))
    typer.echo(f"{folder}: wrote {', '.join(files)}")


@app.command("warmup")
def warmup_command(
    config: Annotated[
        str,
        typer.Argument(
            help="A service configuration: a YAML path or a shipped name (site_d).",
            show_default=False,
        ),
    ],
    replications: Annotated[
        int, typer.Option("--replications", "-r", min=1, help="Replications averaged week by week.")
    ] = 5,
    seed: Annotated[int, typer.Option("--seed", min=0, help="The one seed.")] = 0,
    horizon_days: Annotated[
        float | None,
        typer.Option(
            "--horizon-days",
            min=1,
            help="Simulated days from the period start [default: --end, else the config's "
            "simulation.horizon, else its whole period].",
            show_default=False,
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--end", help="Last simulated day, YYYY-MM-DD.", show_default=False),
    ] = None,
    series: Annotated[
        str,
        typer.Option(
            "--series", help="queue_total (clients on every list) or a weekly queue_<list> column."
        ),
    ] = "queue_total",
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")] = 1,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="Save the series, batch means and MSER curve as a PNG here (a new file).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Suggest a warm-up by MSER-5 on the weekly queue series (and plot it)."""
    from hubsim.config import load_config
    from hubsim.des.warmup import warmup_analysis

    if plot is not None:
        if plot.exists():
            _fail(f"--plot: {plot} exists; expected a new file (hubsim never overwrites it).")
        if not plot.parent.is_dir():
            _fail(f"--plot: folder {plot.parent} does not exist.")
    if end is not None:
        try:
            _dt.date.fromisoformat(end)
        except ValueError:
            _fail(f"--end: expected a date YYYY-MM-DD, got {end!r}.")
    try:
        cfg = load_config(config)
    except HubsimError as exc:
        _fail(_problems(exc))
    if horizon_days is not None and end is not None:
        _fail("--end: give either --horizon-days or --end, not both.")
    try:
        res = warmup_analysis(
            cfg,
            replications=replications,
            seed=seed,
            horizon_days=horizon_days,
            end=end,
            workers=workers,
            series=series,
        )
    except ValueError as exc:
        _fail(f"{config}: {exc}")
    typer.echo(res.summary())
    if plot is not None:
        res.plot(plot)
        typer.echo(f"plot written to {plot}")


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
            help="Results folder, each finished cell committed to its results.duckdb: the "
            "same command resumes it; another run's folder or one hubsim did not write is "
            "refused [default: results/power/<study name>, with -<size> for a size other "
            "than default].",
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
    overwrite: _OverwriteOpt = False,
    quiet: _QuietOpt = False,
) -> None:
    """Run a power study: diagnosands with MCSEs, power curves, MDEs and a report."""
    from hubsim.evaluation import run_study
    from hubsim.experiment import Interrupted
    from hubsim.resources import resolve_experiment

    _interruptible()
    try:
        path = resolve_experiment(study)
        res = run_study(
            path,
            n_sims=n_sims,
            seed=seed,
            out=out,
            size=size.value,
            workers=workers,
            overwrite=overwrite,
            quiet=quiet,
            command=_command_line(),
        )
    except Interrupted as exc:
        _interrupted(exc)
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

    from hubsim.app import (
        app_environment,
        free_port,
        open_when_up,
        port_is_free,
        streamlit_command,
    )

    if importlib.util.find_spec("streamlit") is None:
        _fail(
            "hubsim app: Streamlit is not installed; expected the app extra "
            "(pip install 'hubsim[app]', or make app)."
        )
    if port is not None and not port_is_free(port):
        _fail(f"--port: {port} is in use on 127.0.0.1; expected a free port (or leave it out).")
    chosen = port if port is not None else free_port()
    cmd = streamlit_command(chosen)
    env = app_environment()
    url = f"http://127.0.0.1:{chosen}"
    typer.echo(f"hubsim app: {url}  (Ctrl+C stops it)")
    sys.stdout.flush()
    sys.stderr.flush()
    if browser:
        open_when_up(url)
    os.execve(cmd[0], cmd, env)  # the server replaces this process (one PID to stop)


def run() -> None:  # pragma: no cover - console entry for `python -m hubsim`
    try:
        app()
    except HubsimError as exc:
        for p in getattr(exc, "problems", [str(exc)]):
            print(p, file=sys.stderr)
        sys.exit(2)
