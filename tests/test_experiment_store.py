"""The results store: killed runs resume to the uninterrupted result, --out never loses a
user's file, Dask gives the serial frames, and the report opens with the answer."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from hubsim.cli import app
from hubsim.experiment import (
    OutputError,
    ResultsStore,
    load_experiment_result,
    open_results_folder,
    read_experiment,
    run_experiment,
)
from hubsim.experiment.outdir import LOCK, MARKER

runner = CliRunner()
HUBSIM = [sys.executable, "-m", "hubsim"]
ROOT = Path(__file__).resolve().parents[1]

# three Site D scenarios, a short window: each replication takes a fraction of a second
SMALL = """\
name: small
base: site_d
seed: 11
window: {{start: 2020-06-01, end: 2020-08-31}}
replications: {reps}
scenarios:
  as_mapped: {{}}
  fewer: {{vary: {{"service.workforce.roles[therapists].wte": 3.4}}}}
  surge: {{vary: {{simulation.demand.multiplier: 2.0}}}}
executor: {{kind: local, workers: 1}}
"""
# frames compared between runs (timing columns are not results)
FRAMES = ("kpis", "clients", "weekly", "events", "staff_activity", "queue_area", "scenarios")


def _file(tmp_path: Path, reps: int = 6) -> Path:
    p = tmp_path / "small.yaml"
    p.write_text(SMALL.format(reps=reps), encoding="utf-8")
    return p


def _frames(out: Path) -> dict[str, pd.DataFrame]:
    store, folder = load_experiment_result(out)
    try:
        got = {name: store.frame(name) for name in FRAMES if name not in ("kpis", "scenarios")}
        got["kpis"] = store.kpis()
        got["scenarios"] = store.query("SELECT * FROM scenarios ORDER BY position")
        # the tables loaded when the run finished hold the same rows as the partitions
        table = store.query(
            "SELECT * FROM clients ORDER BY scenario, replication, row_in_replication"
        )
        pd.testing.assert_frame_equal(
            table.drop(columns="row_in_replication"), got["clients"], check_exact=True
        )
        got["replications"] = store.query(
            "SELECT scenario, replication, seed FROM replications ORDER BY scenario, replication"
        )
        return got
    finally:
        store.close()
        folder.close()


def _assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert len(a[name]) > 0, name
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _kill_when(cmd: list[str], ready, extra: float) -> int:
    """Start ``cmd``, SIGKILL it ``extra`` seconds after ``ready(process)`` returns; exit code."""
    p = subprocess.Popen(
        cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        ready(p)
        time.sleep(extra)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    return p.returncode


def _finish(cmd: list[str]) -> None:
    done = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr


def test_a_killed_experiment_resumes_to_the_uninterrupted_frames(tmp_path):
    path = _file(tmp_path)
    ref = tmp_path / "ref"
    cmd = [*HUBSIM, "experiment", str(path), "--quiet", "--no-report"]
    _finish([*cmd, "--out", str(ref)])
    out = tmp_path / "killed"
    # kill points drawn at random (seeded): after k replications have written their event
    # partitions (k random, increasing), plus a random fraction of a replication's time, so
    # kills land inside simulations, Parquet writes and database commits alike
    rng = np.random.default_rng(20240430)
    total = 3 * 6
    targets = sorted(rng.choice(np.arange(1, total), size=3, replace=False))
    codes = []
    for k in targets:

        def ready(p, k=k):
            while p.poll() is None and len(list(out.glob("events/*/*.parquet"))) < k:
                time.sleep(0.005)

        codes.append(_kill_when([*cmd, "--out", str(out)], ready, float(rng.uniform(0, 0.1))))
    assert codes.count(-signal.SIGKILL) == len(targets), codes
    _finish([*cmd, "--out", str(out)])
    _assert_same(_frames(ref), _frames(out))
    # the runs table records every attempt that got as far as opening the store (a kill
    # during start-up may come first): the killed ones never finished
    store, folder = load_experiment_result(out)
    runs = store.query("SELECT status FROM runs ORDER BY run_id")["status"].tolist()
    store.close()
    folder.close()
    assert runs[-1] == "finished" and set(runs[:-1]) <= {"running"}
    assert 2 <= len(runs) <= len(targets) + 1
    # no temporary files were left behind
    assert not list(out.rglob(".hubsim-tmp-*"))


POWER = """\
name: killme
seed: 5
alpha: 0.05
sizes:
  default: {n_sims: 60, mde_max_evals: 2}
design: {n_regions: 12, n_periods: 6, n_treated: 6, schedule: [3, 4]}
scenarios:
  survey: {population_kind: staff_survey, effect: 0.1}
  cohort: {population_kind: help_seeker_cohort, effect: 0.2}
  waits: {population_kind: service_waits, effect: 0.2}
estimators: [twfe_cr1, its]
curves:
  - name: effect
    vary: {effect: [0.0, 0.1, 0.2]}
    estimators: [twfe_cr1]
mde:
  - {estimator: twfe_cr1, scenarios: [cohort]}
"""


def test_a_killed_power_study_resumes_to_the_uninterrupted_frames(tmp_path):
    study = tmp_path / "study.yaml"
    study.write_text(POWER, encoding="utf-8")
    cmd = [*HUBSIM, "power", str(study), "--workers", "1"]
    ref = tmp_path / "ref"
    _finish([*cmd, "--out", str(ref), "--quiet"])
    out = tmp_path / "killed"
    # 7 cells (3 diagnoses, 3 curves, 1 MDE); each finished cell prints a progress line
    # (stderr is not a terminal): kill after a random number of them plus a random delay
    rng = np.random.default_rng(7)
    codes = []
    for k in (1, 3, 5):

        def ready(p, k=k):
            seen = 0
            for line in p.stderr:
                if "cells (" in line and "starting" not in line and "resuming" not in line:
                    seen += 1
                    if seen >= k:
                        return

        codes.append(_kill_when([*cmd, "--out", str(out)], ready, float(rng.uniform(0, 0.2))))
        # each resumed run starts from the cells committed so far: fewer lines remain
    assert -signal.SIGKILL in codes, codes
    _finish([*cmd, "--out", str(out), "--quiet"])
    for name in ("diagnosands", "curves", "mde", "simulations"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(ref / f"{name}.parquet"),
            pd.read_parquet(out / f"{name}.parquet"),
            check_exact=True,
            obj=name,
        )
    man = json.loads((out / "manifest.json").read_text())
    assert man["n_sims"] == 60


def test_sigterm_keeps_finished_work_and_leaves_no_debris(tmp_path):
    path = _file(tmp_path, reps=8)
    out = tmp_path / "term"
    cmd = [*HUBSIM, "experiment", str(path), "--out", str(out), "--no-report"]
    p = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # wait for the first plain progress line after the start (stderr is not a terminal)
    lines = []
    for line in p.stderr:
        lines.append(line)
        if "%)" in line and "starting" not in line:
            break
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 128 + signal.SIGTERM, "".join(lines) + err  # 143, by convention
    assert "interrupted" in err and "resumes" in err and "Traceback" not in err
    assert not list(out.rglob(".hubsim-tmp-*"))
    assert not (out / LOCK).exists()
    store, folder = load_experiment_result(out)
    n = len(store.finished())
    store.close()
    folder.close()
    assert n >= 1
    res = subprocess.run([*cmd, "--quiet"], env=_env(), capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


# ------------------------------------------------------------------------ --out safety


def test_out_on_a_users_folder_is_refused_and_the_file_kept(tmp_path):
    path = _file(tmp_path, reps=2)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.docx").write_text("years of work")
    res = runner.invoke(app, ["experiment", str(path), "--out", str(mine), "--quiet"])
    assert res.exit_code == 2 and "hubsim did not write it" in res.output
    assert "Traceback" not in res.output
    assert sorted(p.name for p in mine.iterdir()) == ["thesis.docx"]
    assert (mine / "thesis.docx").read_text() == "years of work"
    # with --overwrite hubsim adds its files beside the user's and deletes none
    res = runner.invoke(
        app, ["experiment", str(path), "--out", str(mine), "--quiet", "--overwrite", "--no-report"]
    )
    assert res.exit_code == 0, res.output
    assert (mine / "thesis.docx").read_text() == "years of work"
    assert (mine / "results.duckdb").is_file() and (mine / MARKER).is_file()
    # every name the run wrote is one the folder check looks at before the work
    from hubsim.experiment.runner import _writes

    ours = set(json.loads((mine / MARKER).read_text())["files"])
    assert {n.split("/")[0] for n in ours} <= set(_writes(report=True))


@pytest.mark.parametrize("theirs", ["report.md", "figures/forest.png", "results.duckdb"])
def test_overwrite_refuses_a_users_file_hubsim_would_write_before_any_simulation(
    tmp_path, monkeypatch, theirs
):
    """--overwrite adds hubsim's files beside a user's, so a user's file under one of
    hubsim's names is refused up front, not after the simulations (and never replaced)."""
    import hubsim.experiment.runner as runner_module

    path = _file(tmp_path, reps=2)
    monkeypatch.setattr(
        runner_module, "_replication_task", lambda task: pytest.fail("simulated before the check")
    )
    mine = tmp_path / "mine"
    (mine / theirs).parent.mkdir(parents=True, exist_ok=True)
    (mine / theirs).write_text("mine")
    before = sorted(p.relative_to(mine).as_posix() for p in mine.rglob("*"))
    res = runner.invoke(
        app, ["experiment", str(path), "--out", str(mine), "--quiet", "--overwrite"]
    )
    assert res.exit_code == 2, res.output
    top = theirs.split("/")[0]
    assert f"holds {top}, which hubsim did not write" in res.output
    assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1
    assert sorted(p.relative_to(mine).as_posix() for p in mine.rglob("*")) == before
    assert (mine / theirs).read_text() == "mine"


def test_overwrite_keeps_a_users_report_when_no_report_is_written(tmp_path):
    path = _file(tmp_path, reps=2)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "report.md").write_text("my notes")
    res = runner.invoke(
        app, ["experiment", str(path), "--out", str(mine), "--quiet", "--overwrite", "--no-report"]
    )
    assert res.exit_code == 0, res.output
    assert (mine / "report.md").read_text() == "my notes"



def test_overwrite_of_another_run_keeps_the_users_files_inside_hubsims_folders(tmp_path):
    """--overwrite on a hubsim folder of another run removes hubsim's files only: a file a
    user put inside one of hubsim's sub-folders (events/, figures/, a scenario's folder)
    stays, with the folders leading to it; hubsim's old partitions and figures go."""
    path = _file(tmp_path, reps=3)
    out = tmp_path / "o"
    res = runner.invoke(app, ["experiment", str(path), "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    mine = {
        "events/my.txt": "mine",
        "events/as_mapped/notes.md": "mine",
        "events/as_mapped/7.parquet.bak": "mine",
        "figures/my_plot.png": "mine",
    }
    for rel, text in mine.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text)
    old_parts = sorted(p.relative_to(out).as_posix() for p in out.glob("events/*/*.parquet"))
    assert "events/as_mapped/2.parquet" in old_parts
    other = path.with_name("other.yaml")
    other.write_text(path.read_text().replace("seed: 11", "seed: 12").replace(
        "replications: 3", "replications: 2"))
    res = runner.invoke(
        app, ["experiment", str(other), "--out", str(out), "--quiet", "--overwrite"]
    )
    assert res.exit_code == 0, res.output
    for rel, text in mine.items():
        assert (out / rel).read_text() == text, rel
    # the second run has two replications: they are rewritten, the old third is gone
    assert not (out / "events/as_mapped/2.parquet").exists()
    assert (out / "events/as_mapped/1.parquet").exists()

def test_writes_patterns_are_checked_against_the_folder(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "power_regions.png").write_bytes(b"mine")
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"holds power_regions\.png, which hubsim did not"):
        open_results_folder(
            mine, kind="power", fingerprint={}, overwrite=True, writes=("power_*.png",)
        )
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt", "power_regions.png"]
    # a name outside the pattern is left beside hubsim's files
    with open_results_folder(
        mine, kind="power", fingerprint={}, overwrite=True, writes=("report.md",)
    ) as folder:
        assert folder.path == mine


def test_one_writer_at_a_time_and_no_lock_file_left(tmp_path):
    """A second writer is refused while the first holds the folder; closing removes the
    lock file (the folder then holds only hubsim's marker and files), and the next writer
    gets the folder."""
    out = tmp_path / "locked"
    first = open_results_folder(out, kind="power", fingerprint={"seed": 1})
    assert (out / LOCK).exists()
    with pytest.raises(OutputError, match="another hubsim process is writing this folder"):
        open_results_folder(out, kind="power", fingerprint={"seed": 1})
    first.write("report.md", "done")
    first.close()
    assert sorted(p.name for p in out.iterdir()) == sorted([MARKER, "report.md"])
    with open_results_folder(out, kind="power", fingerprint={"seed": 1}) as again:
        assert again.resumed
    assert not (out / LOCK).exists()


def test_a_writer_that_locked_a_removed_lock_file_takes_the_new_one(tmp_path, monkeypatch):
    """The race a removed lock file opens: a process opens the lock file, the holder
    closes (removing it), and the process then locks the old, unlinked file. The lock is
    honoured only while the name points at the locked file, so that process locks a new
    file instead, and a third process is refused while it holds it."""
    import hubsim.experiment.outdir as outdir

    out = tmp_path / "race"
    holder = open_results_folder(out, kind="power", fingerprint={"seed": 1})
    real_open = open
    state = {"done": False}

    def open_then_lose_the_race(file, *args, **kwargs):
        f = real_open(file, *args, **kwargs)
        if Path(file).name == LOCK and not state["done"]:
            state["done"] = True
            holder.close()  # the holder finishes between our open and our flock
        return f

    monkeypatch.setattr(outdir, "open", open_then_lose_the_race, raising=False)
    with open_results_folder(out, kind="power", fingerprint={"seed": 1}) as second:
        monkeypatch.undo()
        assert state["done"] and (out / LOCK).exists()
        with pytest.raises(OutputError, match="another hubsim process"):
            open_results_folder(out, kind="power", fingerprint={"seed": 1})
        assert second.path == out
    assert not (out / LOCK).exists()


def test_out_on_a_file_or_under_a_file_is_refused(tmp_path):
    path = _file(tmp_path, reps=2)
    f = tmp_path / "report.txt"
    f.write_text("mine")
    for target in (f, f / "sub"):
        res = runner.invoke(app, ["experiment", str(path), "--out", str(target), "--quiet"])
        assert (res.exit_code == 2 and "is a file" in res.output) or "which is a file" in res.output
        assert "Traceback" not in res.output
    assert f.read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == [
        "report.txt",
        "small.yaml",
    ]


def test_an_unwritable_out_fails_before_any_simulation(tmp_path, monkeypatch):
    import hubsim.experiment.runner as runner_module

    path = _file(tmp_path, reps=2)
    monkeypatch.setattr(
        runner_module, "_replication_task", lambda task: pytest.fail("simulated before the check")
    )
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    # permission bits do not stop root (CI runs as root): there, sysfs refuses new folders
    target = ro / "x" if os.geteuid() != 0 else Path("/sys/hubsim-test-out")
    if os.geteuid() == 0 and os.access("/sys", os.W_OK) and Path("/sys").stat().st_mode & 0o200:
        pytest.skip("no unwritable place for root on this machine")
    try:
        res = runner.invoke(app, ["experiment", str(path), "--out", str(target), "--quiet"])
        assert res.exit_code == 2, res.output
        assert "failed" in res.output and "expected a folder hubsim can write to" in res.output
        assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1
        assert not target.exists()
    finally:
        ro.chmod(0o700)


def test_an_os_error_is_one_sentence_before_any_simulation(tmp_path, monkeypatch):
    """Any OS error while preparing the folder (here: the probe write fails as a full disk
    would) is one sentence and exit 2, and nothing is simulated (works as root too)."""
    import errno

    import hubsim.experiment.runner as runner_module

    path = _file(tmp_path, reps=2)
    real = Path.write_bytes

    def full(self, data):
        if ".hubsim-tmp-probe" in self.name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    monkeypatch.setattr(
        runner_module, "_replication_task", lambda task: pytest.fail("simulated before the check")
    )
    res = runner.invoke(app, ["experiment", str(path), "--out", str(tmp_path / "o"), "--quiet"])
    assert res.exit_code == 2, res.output
    assert "no space left on the device" in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_out_dot_is_a_users_folder(tmp_path, monkeypatch):
    path = _file(tmp_path, reps=2)
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["experiment", str(path), "--out", ".", "--quiet"])
    assert res.exit_code == 2 and "hubsim did not write it" in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.yaml"]


def test_a_changed_seed_or_config_is_refused_and_the_same_command_resumes(tmp_path):
    path = _file(tmp_path, reps=2)
    out = tmp_path / "o"
    a = run_experiment(path, out, quiet=True, report=False, workers=1)
    again = run_experiment(path, out, quiet=True, report=False, workers=1)
    assert again.resumed == 6 and again.n_replications == 2
    pd.testing.assert_frame_equal(a.kpis, again.kpis)
    path.write_text(SMALL.format(reps=2).replace("seed: 11", "seed: 12"), encoding="utf-8")
    with pytest.raises(OutputError, match=r"\(its seed differs\)"):
        run_experiment(path, out, quiet=True, report=False, workers=1)
    path.write_text(SMALL.format(reps=2).replace("3.4", "4.4"), encoding="utf-8")
    # a plural noun takes a plural verb
    with pytest.raises(OutputError, match=r"\(its scenario configurations or windows differ\)"):
        run_experiment(path, out, quiet=True, report=False, workers=1)
    # more replications of the same run extend it
    path.write_text(SMALL.format(reps=3), encoding="utf-8")
    more = run_experiment(path, out, quiet=True, report=False, workers=1)
    assert more.resumed == 6 and more.n_replications == 3
    # a stale temporary file of a killed run is cleaned on the next open
    stale = out / ".hubsim-tmp-999-clients.parquet"
    stale.write_text("half")
    # and so are the staging folders an earlier hubsim left beside it, not a user's folder
    old = tmp_path / ".o.tmp-4242"
    old.mkdir()
    (old / "manifest.json").write_text("{}")
    theirs = tmp_path / ".o.tmp-99"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine")
    with open_results_folder(out, kind="experiment", fingerprint=more.plan.fingerprint()) as f:
        assert f.resumed and not stale.exists()
    assert not old.exists() and (theirs / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("held", "asked", "why"),
    [
        ("run", "experiment", "it holds a run, not an experiment"),
        ("experiment", "run", "it holds an experiment, not a run"),
        ("power", "experiment", "it holds a power study, not an experiment"),
        ("experiment", "power", "it holds an experiment, not a power study"),
    ],
)
def test_a_folder_of_another_kind_is_refused_in_plain_words(tmp_path, held, asked, why):
    out = tmp_path / "o"
    with open_results_folder(out, kind=held, fingerprint={"seed": 1}):
        pass
    with pytest.raises(OutputError) as info:
        open_results_folder(out, kind=asked, fingerprint={"seed": 1})
    assert str(info.value) == (
        f"{out}: holds hubsim results of another run ({why}); expected the same command to "
        "resume it, a new --out folder, or --overwrite to replace hubsim's files there."
    )


def test_what_differs_agrees_with_its_nouns(tmp_path):
    out = tmp_path / "o"
    describe = {"n_sims": "simulations", "seed": "seed", "size": "size"}
    with open_results_folder(out, kind="power", fingerprint={"n_sims": 10, "seed": 1, "size": "a"}):
        pass
    cases = [
        ({"n_sims": 20, "seed": 1, "size": "a"}, "(its simulations differ)"),
        ({"n_sims": 10, "seed": 1, "size": "b"}, "(its size differs)"),
        ({"n_sims": 20, "seed": 2, "size": "b"}, "(its simulations, seed and size differ)"),
    ]
    for fingerprint, words in cases:
        with pytest.raises(OutputError) as info:
            open_results_folder(out, kind="power", fingerprint=fingerprint, describe=describe)
        assert words in str(info.value)


def test_store_tables_and_event_partitions(tmp_path):
    path = _file(tmp_path, reps=2)
    res = run_experiment(path, tmp_path / "o", quiet=True, report=False, workers=1)
    store, folder = load_experiment_result(res.out)
    try:
        # the README's row for results.duckdb names every table and view, each as what it is
        kinds = dict(
            store.query("SELECT table_name, table_type FROM information_schema.tables").itertuples(
                index=False, name=None
            )
        )
        row = next(
            line
            for line in (ROOT / "README.md").read_text().splitlines()
            if line.startswith("| `results.duckdb` |")
        )
        said_tables, said_views = re.sub(r"\([^)]*\)", "", row).split("; views ")
        named = {
            "BASE TABLE": set(re.findall(r"`(\w+)`", said_tables.split("| tables ")[1])),
            "VIEW": set(re.findall(r"`(\w+)`", said_views)),
        }
        assert {k: {n for n, t in kinds.items() if t == k} for k in named} == named
        assert len(store.finished()) == 6
        # events are Parquet partitions, one per replication, which the database can query
        parts = sorted(p.relative_to(res.out).as_posix() for p in res.out.glob("events/*/*"))
        assert parts[:2] == ["events/as_mapped/0.parquet", "events/as_mapped/1.parquet"]
        n = store.query("SELECT count(*) AS n FROM events WHERE scenario = 'surge'")["n"].iloc[0]
        assert n == sum(len(pd.read_parquet(p)) for p in res.out.glob("events/surge/*.parquet"))
        # the stored KPIs are the in-memory simulation's
        import hubsim

        plan = read_experiment(path)
        s = plan.scenarios["surge"]
        mem = hubsim.simulate(
            s.config,
            horizon_days=s.horizon_days,
            warmup_days=s.warmup_days,
            seed=11,
            replications=2,
        )
        k = store.kpis()
        got = k[(k["scenario"] == "surge") & (k["kpi"] == "referrals")]["value"].to_numpy()
        np.testing.assert_array_equal(got, mem.kpis["referrals"].to_numpy())
    finally:
        store.close()
        folder.close()
    man = json.loads((res.out / "manifest.json").read_text())
    for key in ("scenarios", "seed", "versions", "platform", "runs", "started_utc", "finished_utc"):
        assert man[key] is not None, key
    assert man["scenarios"]["fewer"]["config_hash"] == plan.scenarios["fewer"].config.content_hash
    assert man["versions"]["duckdb"] != "not installed"


# ------------------------------------------------------------------------ Dask


@pytest.mark.dask
def test_a_dask_local_cluster_gives_the_serial_frames(tmp_path):
    pytest.importorskip("distributed")
    from hubsim.experiment import make_executor

    path = _file(tmp_path, reps=3)
    serial = run_experiment(path, tmp_path / "serial", quiet=True, report=False, workers=1)
    # the executor truly dispatches: tasks run in two worker processes, not here
    ex = make_executor("dask", workers=2)
    try:
        info = ex.client.scheduler_info()
        assert len(info["workers"]) == 2
        pids = {pid for _, pid in ex.map(_pid, list(range(8)))}
        assert os.getpid() not in pids and len(pids) >= 1
    finally:
        ex.close()
    t0 = time.monotonic()
    dask = run_experiment(
        path, tmp_path / "dask", quiet=True, report=False, executor="dask", workers=2
    )
    dask_seconds = time.monotonic() - t0
    _assert_same(_frames(serial.out), _frames(dask.out))
    man = json.loads((dask.out / "manifest.json").read_text())
    assert man["executor"] == "a Dask LocalCluster of 2 worker processes"
    print(f"dask LocalCluster run: {dask_seconds:.1f} s")


def _pid(_):
    import time as _t

    _t.sleep(0.05)
    return os.getpid()


def test_local_processes_give_the_serial_frames(tmp_path):
    path = _file(tmp_path, reps=2)
    a = run_experiment(path, tmp_path / "a", quiet=True, report=False, workers=1)
    b = run_experiment(path, tmp_path / "b", quiet=True, report=False, workers=2)
    _assert_same(_frames(a.out), _frames(b.out))


# ------------------------------------------------------------------------ report


def test_the_report_has_its_figures_and_opens_with_the_largest_difference(tmp_path):
    from PIL import Image

    path = _file(tmp_path, reps=3)
    res = run_experiment(path, tmp_path / "o", quiet=True, workers=1)
    figs = sorted(p.name for p in (res.out / "figures").iterdir())
    assert figs == [
        "costs.png",
        "forest.png",
        "utilisation.png",
        "waiting_list.png",
        "waits_km.png",
    ]
    for name in figs:
        p = res.out / "figures" / name
        assert p.stat().st_size > 5000, name
        with Image.open(p) as im:
            assert im.format == "PNG" and min(im.size) > 200
            # not blank: more than a handful of colours
            assert len(im.convert("RGB").getcolors(1 << 20) or []) > 20, name
    md = (res.out / "report.md").read_text()
    first = md.split("\n\n")[1]
    d = res.differences[res.differences["kpi"] == "wait_to_first_treatment_mean_days"]
    top = d.iloc[int(np.argmax(np.abs(d["mean_difference"].to_numpy())))]
    assert top["scenario"] in first
    assert f"{top['mean_difference']:+.3g} days" in first
    assert f"95% CI {top['ci_low']:+.3g} days to {top['ci_high']:+.3g} days" in first
    html = (res.out / "report.html").read_text()
    assert html.count("<img") == len(figs) and "figures/forest.png" in html
    # hubsim report FOLDER writes the same report again from the store alone
    again = runner.invoke(app, ["report", str(res.out)])
    assert again.exit_code == 0, again.output
    assert (res.out / "report.md").read_text() == md


def test_report_on_a_folder_hubsim_did_not_write(tmp_path):
    res = runner.invoke(app, ["report", str(tmp_path)])
    assert res.exit_code == 2 and "not a hubsim results folder" in res.output


def test_compare_is_the_one_line_form(tmp_path):
    out = tmp_path / "cmp"
    res = runner.invoke(
        app,
        [
            "compare",
            "site_d",
            "site_d_band_shift",
            "--replications",
            "2",
            "--horizon-days",
            "60",
            "--out",
            str(out),
            "--quiet",
            "--workers",
            "1",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "Paired differences from 'site_d'" in res.output
    assert "site_d_band_shift" in res.output and (out / "report.html").is_file()


def test_run_out_stores_and_resumes(tmp_path):
    out = tmp_path / "run"
    args = [
        "run",
        "site_d",
        "--horizon-days",
        "40",
        "--replications",
        "2",
        "--out",
        str(out),
        "--quiet",
        "--workers",
        "1",
    ]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert res.output.startswith("site_d: 40 days, 2 replication(s), seed 0")
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and again.output == res.output
    store = ResultsStore  # the folder is a hubsim store
    assert store is not None and (out / "results.duckdb").is_file()


def test_a_stored_run_lists_its_kpis_as_the_in_memory_run(tmp_path):
    # the store keeps each replication's KPIs in the order they were computed (roles in
    # the configuration's order), so `run --out` prints the same table as `run`
    args = ["run", "site_d", "-r", "2", "--seed", "1", "--horizon-days", "90", "--quiet"]
    mem = runner.invoke(app, args)
    stored = runner.invoke(app, [*args, "--out", str(tmp_path / "r")])
    assert mem.exit_code == 0 and stored.exit_code == 0, mem.output + stored.output
    table = [ln for ln in mem.output.splitlines() if "Utilisation" in ln or "Waiting list" in ln]
    assert len(table) >= 3
    assert [ln for ln in stored.output.splitlines() if ln in table] == table


def test_compare_defaults_to_the_window_run_uses(tmp_path):
    # Site D's groups open on 2020-11-01, six months into its period: like `hubsim run`,
    # compare warms up until then rather than counting the half-open months
    out = tmp_path / "c"
    args = ["compare", "site_d", "site_d_reversed", "-r", "2"]
    res = runner.invoke(app, [*args, "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    assert "KPI window: 2020-11-01 to 2021-10-31 (365 days)" in res.output
    text = json.dumps(json.loads((out / "manifest.json").read_text())["scenarios"])
    assert '"warmup_days": 184.0' in text and '"horizon_days": 549.0' in text
    bad = runner.invoke(app, [*args, "--start", "2021-02-30"])
    assert bad.exit_code == 2 and "--start: expected a date YYYY-MM-DD" in bad.output
