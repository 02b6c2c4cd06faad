"""The CLI: version, the sites table read from the configs, and errors as sentences."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from typer.testing import CliRunner

import hubsim
from hubsim.cli import app

runner = CliRunner()


def test_version():
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.strip() == f"hubsim {hubsim.__version__}"


def test_sites_csv_reproduces_paper_figures():
    res = runner.invoke(app, ["sites", "--format", "csv"])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.output)))
    by_item = {r["item"]: r for r in rows}
    pop = by_item["Health and social care staff in region"]
    assert [pop[f"site_{s}"] for s in "abcd"] == ["126,000", "165,000", "129,000", "180,000"]
    tot = by_item["Total WTEs"]
    assert [tot[f"site_{s}"] for s in "abcd"] == ["13.9", "26.6", "19.9", "12.15"]
    t5 = by_item["Band 6 or higher (reported, Table 5)"]
    assert [t5[f"site_{s}"] for s in "abcd"] == ["78.51%", "67.04%", "73.96%", "74.17%"]
    itq = by_item["ITQ"]
    assert [itq[f"site_{s}"] for s in "abcd"] == ["no", "no", "✓", "✓"]
    assert by_item["Model"]["site_c"] == "two-stage"


def test_sites_markdown_and_table():
    md = runner.invoke(app, ["sites", "--format", "markdown"])
    assert md.exit_code == 0 and md.output.startswith("| table | item | site_a")
    tb = runner.invoke(app, ["sites"])
    assert tb.exit_code == 0 and "180,000" in tb.output


def test_sites_table_wraps_long_cells_and_cuts_no_words():
    """The aligned table wraps a long cell onto more lines of its row: every word of every
    cell (as the csv gives it) is printed whole, and no line ends in padding."""
    rows = list(
        csv.DictReader(io.StringIO(runner.invoke(app, ["sites", "--format", "csv"]).output))
    )
    tb = runner.invoke(app, ["sites"]).output
    words = set(tb.split())
    long_cells = [v for r in rows for v in r.values() if len(v) > 40]
    assert long_cells, "the shipped sites have cells longer than a column"
    for r in rows:
        for v in r.values():
            missing = [w for w in v.split() if w not in words]
            assert not missing, (v, missing)
    assert all(line == line.rstrip() for line in tb.splitlines())


def test_bad_format_is_a_usage_error():
    res = runner.invoke(app, ["sites", "--format", "pdf"])
    assert res.exit_code == 2 and "Traceback" not in res.output


def test_validate_unmatched_glob(tmp_path):
    res = runner.invoke(app, ["validate", str(tmp_path / "*.yaml")])
    assert res.exit_code == 2 and "no file matches" in res.output


def test_validate_reports_every_argument_beside_an_unmatched_glob(tmp_path, monkeypatch):
    # the README's example: the two shipped names are reported valid, the glob that matches
    # nothing is an error, and the exit code says something failed
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["validate", "site_d", "site_d_staffing", "my/**/*.yaml"])
    assert res.exit_code == 2, res.output
    assert res.stdout.startswith("site_d: valid (site_d, hub"), res.stdout
    assert "site_d_staffing: valid experiment (site_d_staffing" in res.stdout
    assert res.stderr.strip() == (
        "my/**/*.yaml: no file matches; expected a YAML file or a glob that matches one."
    )
    assert "Traceback" not in res.output


def test_run_with_an_initial_waiting_list(tmp_path):
    from .conftest import SITES

    csv = tmp_path / "waiting.csv"
    csv.write_text("waited_days,stage\n30,assessment\n200,step3\n", encoding="utf-8")
    res = runner.invoke(
        app, ["run", str(SITES["d"]), "--horizon-days", "20", "--initial-waiting-list", str(csv)]
    )
    assert res.exit_code == 0, res.output
    assert "Referral to 1st treatment" in res.output
    bad = runner.invoke(
        app,
        [
            "run",
            str(SITES["d"]),
            "--horizon-days",
            "20",
            "--initial-waiting-list",
            str(tmp_path / "no.csv"),
        ],
    )
    assert bad.exit_code == 2 and "file not found" in bad.output
    csv.write_text("waited_days,stage\n30,step9\n", encoding="utf-8")
    wrong = runner.invoke(
        app, ["run", str(SITES["d"]), "--horizon-days", "20", "--initial-waiting-list", str(csv)]
    )
    assert wrong.exit_code == 2 and "step9" in wrong.output and "Traceback" not in wrong.output


def test_list_docs_names_the_shipped_sources():
    """The documents the configurations cite are package data, listed by hubsim list."""
    res = runner.invoke(app, ["list", "docs", "--paths"])
    assert res.exit_code == 0, res.output
    paths = [Path(w) for w in res.output.split() if w.endswith(".md") and "/" in w]
    assert sorted(p.name for p in paths) == ["README.md", "calibration.md", "paper.md"]
    assert all(p.is_file() and p.parent.name == "docs" for p in paths)
