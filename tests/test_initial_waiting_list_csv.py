"""A bad initial waiting list CSV: every problem, each naming the file, line and column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import hubsim
from hubsim.cli import app
from hubsim.config.variants import vary
from hubsim.des import simulate as sim
from hubsim.des.simulate import initial_frame
from hubsim.errors import ConfigError

from .conftest import SITES

runner = CliRunner()
WAITED = "waited_days: expected the days the client has waited so far (a finite number, at least 0)"


@pytest.fixture(scope="module")
def site_d():
    return hubsim.load_config(SITES["d"])


def _csv(tmp_path, text, name="waiting.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_cli_reports_every_bad_row_with_file_and_line(tmp_path):
    p = _csv(tmp_path, "waited_days,stage\n5,assessment\n-3,assessment\nx,treatment\n")
    res = runner.invoke(
        app, ["run", "site_d", "-r", "1", "--horizon-days", "30", "--initial-waiting-list", str(p)]
    )
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert res.output.splitlines() == [
        f"{p}, line 3: {WAITED}, got '-3'.",
        f"{p}, line 4: {WAITED}, got 'x'.",
    ]


def test_every_column_and_line_is_checked(tmp_path, site_d):
    p = _csv(
        tmp_path,
        "waited_days,stage,occupational_group,note\n"
        "5,assessment,nhs_other,fine\n"
        "\n"  # blank lines are skipped but still counted
        "nan,step9,nurses,\n"
        "1,treatment,education,a,b\n"
        ",assessment,education\n",
    )
    with pytest.raises(ConfigError) as info:
        initial_frame(site_d, str(p), 0, "common")
    problems = info.value.problems
    assert problems[0] == f"{p}, line 4: {WAITED}, got 'nan'."
    assert problems[1].startswith(f"{p}, line 4: stage: expected one of assessment, ")
    assert problems[1].endswith(", got 'step9'.")
    assert problems[2].startswith(f"{p}, line 4: occupational_group: expected one of critical_care")
    assert problems[3] == f"{p}, line 5: 5 fields; expected at most 4 (the header's columns)."
    assert problems[4] == f"{p}, line 6: {WAITED}, got an empty cell."
    assert len(problems) == 5


def test_header_without_waited_days(tmp_path, site_d):
    p = _csv(tmp_path, "days,stage\n3,assessment\n")
    with pytest.raises(ConfigError, match=r"line 1: the header has no waited_days column"):
        initial_frame(site_d, p, 0, "common")
    with pytest.raises(ConfigError, match="the file is empty"):
        initial_frame(site_d, _csv(tmp_path, "\n", "empty.csv"), 0, "common")
    with pytest.raises(ConfigError, match="file not found"):
        initial_frame(site_d, tmp_path / "none.csv", 0, "common")


def test_many_problems_are_capped_with_a_count(tmp_path, site_d):
    cap = getattr(sim, "MAX_INITIAL_PROBLEMS", 50)
    p = _csv(tmp_path, "waited_days\n" + "-1\n" * (cap + 7))
    with pytest.raises(ConfigError) as info:
        initial_frame(site_d, p, 0, "common")
    problems = info.value.problems
    assert len(problems) == cap + 1
    assert problems[0].startswith(f"{p}, line 2: waited_days:")
    assert problems[-1] == f"{p}: 7 more problem(s) not shown."


def test_configured_csv_is_checked_the_same_way(tmp_path, site_d):
    p = _csv(tmp_path, "waited_days,stage\n1,assessment\n2,step9\n")
    cfg = vary(site_d, {"simulation.initial_waiting_list": {"csv": str(p), "source": "test"}})
    with pytest.raises(ConfigError) as info:
        initial_frame(cfg, None, 0, "common")
    assert str(info.value).startswith(f"{p}, line 3: stage: expected one of ")


def test_a_good_csv_reads_as_before(tmp_path, site_d):
    p = _csv(
        tmp_path,
        "\ufeffwaited_days,stage,occupational_group\n10,assessment,nhs_other\n200.5,step4,education\n",
    )
    df = initial_frame(site_d, str(p), 0, "common")
    assert df["waited_days"].tolist() == [10.0, 200.5]
    assert df["stage"].tolist() == ["assessment", "step4"]
    ids = [g.id for g in site_d.service.target_population.groups]
    assert [ids[g] for g in df["group"]] == ["nhs_other", "education"]


def test_in_memory_lists_report_every_row(site_d):
    frame = pd.DataFrame(
        {"waited_days": [1.0, -2.0, np.inf], "stage": ["assessment", "x", "step3"]}
    )
    with pytest.raises(ValueError) as info:
        initial_frame(site_d, frame, 0, "common")
    msg = str(info.value)
    assert "initial_waiting_list row 1: waited_days:" in msg
    assert "initial_waiting_list row 1: stage:" in msg and "got 'x'" in msg
    assert "initial_waiting_list row 2: waited_days:" in msg and "got inf" in msg
