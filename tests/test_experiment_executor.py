"""The local executor: worker processes give the serial results, and a dead worker fails
the run at once with a sentence (a script without the ``__main__`` guard used to hang)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from hubsim.experiment import ExecutorError, make_executor

SMALL = """\
name: unguarded
base: site_d
seed: 3
horizon_days: 20
replications: 2
scenarios:
  as_mapped: {}
  fewer: {vary: {"service.workforce.roles[therapists].wte": 3.4}}
"""

GUARD = 'if __name__ == "__main__":'


def test_worker_processes_give_the_serial_results_batch_after_batch():
    ex = make_executor("local", workers=2)
    try:
        # the pool is kept between batches (the replications algorithm asks for a few at a time)
        assert sorted(ex.map(abs, [-1, 2, -3, 4])) == [(0, 1), (1, 2), (2, 3), (3, 4)]
        assert sorted(ex.map(abs, [-5, 6])) == [(0, 5), (1, 6)]
    finally:
        ex.close()


def test_a_worker_that_dies_in_a_task_fails_the_run_with_a_sentence():
    ex = make_executor("local", workers=2)
    try:
        with pytest.raises(ExecutorError, match="exited abruptly while running a task"):
            list(ex.map(os._exit, [3, 3]))
    finally:
        ex.close()


def _run_script(tmp_path, guarded: bool) -> subprocess.CompletedProcess:
    """Run the README's experiment snippet as a script with 2 workers, with or without the
    ``__main__`` guard (each worker process imports the script)."""
    study = tmp_path / "small.yaml"
    study.write_text(SMALL, encoding="utf-8")
    body = textwrap.dedent(
        f"""\
        res = run_experiment(read_experiment({str(study)!r}), {str(tmp_path / "out")!r},
                             workers=2, quiet=True, report=False)
        print(res.n_replications)
        """
    )
    code = "from hubsim.experiment import read_experiment, run_experiment\n"
    code += f"{GUARD}\n" + textwrap.indent(body, "    ") if guarded else body
    script = tmp_path / ("guarded.py" if guarded else "unguarded.py")
    script.write_text(code, encoding="utf-8")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_script_without_the_main_guard_fails_fast_instead_of_hanging(tmp_path):
    # multiprocessing.Pool replaced the dying workers for ever, so the run hung
    done = _run_script(tmp_path, guarded=False)
    assert done.returncode != 0, done.stdout
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "hubsim.experiment.executor.ExecutorError: a worker process exited while starting"
    ), done.stderr
    assert GUARD in last
    # the workers themselves say why they stopped (not the folder lock the run holds)
    assert "this worker process is importing the main script" in done.stderr
    assert "another hubsim process" not in done.stderr


def test_the_same_script_with_the_guard_runs(tmp_path):
    done = _run_script(tmp_path, guarded=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2"
