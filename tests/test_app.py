"""The planner app under Streamlit's AppTest: every widget's default run, a WTE change whose
numbers equal the API's, bad uploads and widget input as messages, downloads that read back,
and the evaluation page."""

from __future__ import annotations

import datetime as dt
import io
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hubsim
from hubsim.config import load_config_text
from hubsim.config.levers import Levers, apply_levers
from hubsim.experiment import compare_scenarios
from hubsim.report.planner import compare_results, planner_kpis

pytestmark = pytest.mark.app
testing = pytest.importorskip("streamlit.testing.v1")

START = dt.date(2020, 5, 1)
WINDOW = (START, START + dt.timedelta(days=119))  # 120 days: a short, fast run
REPS, SEED = 3, 5


@pytest.fixture
def app(monkeypatch, tmp_path):
    from hubsim.app import main_script

    monkeypatch.setenv("HUBSIM_APP_WORKERS", "1")
    monkeypatch.chdir(tmp_path)  # the app must write nothing here
    at = testing.AppTest.from_file(str(main_script()), default_timeout=180)
    at.run()
    assert not at.exception
    return at


def _errors(at) -> list[str]:
    return [e.value for e in at.error]


def _until(at, done, timeout: float = 300.0):
    """Rerun the page, as its polling fragment would, until ``done(at)`` (or the timeout:
    the assertions after it then say what is missing)."""
    end = time.monotonic() + timeout
    while not done(at) and time.monotonic() < end:
        time.sleep(0.1)
        at.run()
    return at


def _run(at):
    at.button(key="run").click()
    at.run()
    _until(at, lambda a: a.table or _errors(a))
    assert not at.exception, at.exception
    return at


def test_every_widget_has_its_default_from_the_configuration(app, tmp_path):
    site_d = hubsim.load_config("site_d")
    assert app.sidebar.selectbox(key="hub").value == "Site D"
    for r in site_d.service.workforce.roles:
        assert app.slider(key=f"site_d.wte.{r.id}").value == pytest.approx(r.wte)
        if r.caseload_per_wte is not None:
            assert app.number_input(key=f"site_d.caseload.{r.id}").value == r.caseload_per_wte
    assert app.slider(key="site_d.clinical.therapists").value == pytest.approx(0.6)
    assert app.radio(key="site_d.care_model").value == "stepped"
    assert app.radio(key="site_d.assessment").value == "two_stage"
    assert app.slider(key="site_d.onward").value == pytest.approx(0.6)
    assert app.slider(key="site_d.demand").value == pytest.approx(1.0)
    assert app.checkbox(key="site_d.surge.on").value is False
    assert app.number_input(key="site_d.initial").value == 0
    # hubsim run's default window: Site D's first year with every staff group referring
    # (all groups from November 2020), the months before it simulated as the warm-up
    assert app.sidebar.date_input(key="site_d.window").value == (
        dt.date(2020, 11, 1),
        dt.date(2021, 10, 31),
    )
    assert app.sidebar.radio(key="replications.how").value == "replications algorithm"
    assert app.sidebar.slider(key="replications.precision").value == 10
    # the live cost is the AfC table's
    assert any("£750,881" in m.value for m in app.markdown), [m.value for m in app.markdown]
    assert not _errors(app) and any("Press **Run**" in i.value for i in app.info)
    # every other site opens too
    for site in ("Site A", "Site B", "Site C"):
        app.sidebar.selectbox(key="hub").set_value(site).run()
        assert not app.exception and not _errors(app)
    assert list(tmp_path.iterdir()) == []


def test_a_wte_change_runs_and_its_numbers_equal_the_apis(app, tmp_path):
    app.sidebar.date_input(key="site_d.window").set_value(WINDOW)
    app.sidebar.radio(key="replications.how").set_value("fixed number").run()
    app.sidebar.slider(key="replications").set_value(REPS)
    app.sidebar.number_input(key="seed").set_value(SEED)
    app.slider(key="site_d.wte.therapists").set_value(7.4)
    app.run()
    assert "£875,441" in " ".join(m.value for m in app.markdown)  # the cost moved live
    _run(app)
    assert not _errors(app), _errors(app)
    shown = app.session_state["planner.scenario"]
    assert shown.service.workforce.role("therapists").wte == 7.4
    # the same comparison through the public API
    site_d = hubsim.load_config("site_d")
    scen = apply_levers(site_d, Levers(wte={"therapists": 7.4}), name="site_d_planner")
    assert scen.content_hash == shown.content_hash
    kw = {"horizon_days": 120.0, "warmup_days": 0.0, "seed": SEED, "replications": REPS}
    a, b = hubsim.simulate(site_d, **kw), hubsim.simulate(scen, **kw)
    _, want = compare_results(a, b, planner_kpis(site_d))
    table = app.table[0].value
    assert len(table) == len(want)
    got = app.session_state["planner.downloads"]["csv"]
    got = pd.read_csv(io.StringIO(got))
    pd.testing.assert_frame_equal(got, pd.read_csv(io.StringIO(want.to_csv(index=False))))
    # and compare_scenarios agrees on the KPIs both report
    cmp = compare_scenarios([site_d, scen], **kw).differences.set_index("kpi")
    common = sorted(set(cmp.index) & set(got["kpi"]))
    assert len(common) >= 6
    np.testing.assert_allclose(
        got.set_index("kpi").loc[common, "mean_difference"], cmp.loc[common, "mean_difference"]
    )
    # captions say it in words, with the interval
    text = " ".join(m.value for m in app.markdown)
    assert "Therapists (band 6-8b) from 5.4 to 7.4 WTE" in text and "95% CI" in text
    # moving the slider back and forth is served from the cache
    app.slider(key="site_d.wte.therapists").set_value(5.4).run()
    app.slider(key="site_d.wte.therapists").set_value(7.4).run()
    assert app.table and not any("Running" in str(p.value) for p in app.get("progress"))
    assert list(tmp_path.iterdir()) == []


def test_the_download_buttons_hand_over_what_reads_back(app):
    app.sidebar.date_input(key="site_d.window").set_value(WINDOW)
    app.sidebar.radio(key="replications.how").set_value("fixed number").run()
    app.sidebar.slider(key="replications").set_value(2)
    app.radio(key="site_d.care_model").set_value("reversed_stepped")
    app.slider(key="site_d.demand").set_value(1.5)
    _run(app)
    keys = {b.key for b in app.download_button}
    assert {"download.yaml", "download.csv", "download.kpis", "download.parquet"} <= keys
    assert {f"download.{k}" for k in ("waits", "waiting_lists", "utilisation", "costs")} <= keys
    d = app.session_state["planner.downloads"]
    cfg = load_config_text(d["yaml"], "scenario.yaml")
    assert d["yaml"].splitlines()[1] == "extends: site_d"
    assert cfg.content_hash == app.session_state["planner.scenario"].content_hash
    assert cfg.interventions.care_model.kind == "reversed_stepped"
    assert cfg.simulation.demand.multiplier == 1.5
    kpis = pd.read_parquet(io.BytesIO(d["parquet"]))
    assert list(kpis.columns) == ["scenario", "replication", "kpi", "value"]
    assert set(kpis["scenario"]) == {"unchanged", "scenario"}
    for k in ("waits", "waiting_lists", "utilisation", "costs"):
        assert d[f"{k}.png"][:8] == b"\x89PNG\r\n\x1a\n" and len(d[f"{k}.png"]) > 10_000


BOMB = "\n".join(
    [f"a: &a [{','.join(['lol'] * 9)}]"]
    + [
        f"{c}: &{c} [{','.join([f'*{p}'] * 9)}]"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ]
)


@pytest.mark.parametrize(
    ("name", "content", "expected", "line"),
    [
        ("bomb.yaml", BOMB.encode(), "YAML nodes once its aliases", None),
        (
            "bad.yaml",
            b"extends: site_d\nregion:\n  in_scope_staf: 3\n",
            "unknown field",
            "in_scope_staf: 3",
        ),
        ("syntax.yaml", b"name: x\nregion: {a: 1\n", "YAML syntax error", None),
        ("binary.yaml", b"\xff\xd8\xff\xe0\x00\x10JFIF", "not UTF-8", None),
        (
            "escape.yaml",
            b"extends: /etc/passwd\n",
            "may not name other files",
            "extends: /etc/passwd",
        ),
    ],
)
def test_a_bad_upload_is_a_message_with_its_line(app, name, content, expected, line):
    app.sidebar.selectbox(key="hub").set_value("Upload a YAML file").run()
    app.sidebar.file_uploader(key="upload").set_value((name, content, "application/x-yaml"))
    app.run()
    assert not app.exception
    errors = " ".join(_errors(app))
    assert name in errors and expected in errors, errors
    if line is not None:
        assert any(line in c.value for c in app.code), [c.value for c in app.code]


def test_a_good_upload_is_a_hub(app):
    app.sidebar.selectbox(key="hub").set_value("Upload a YAML file").run()
    text = b"extends: site_b\nname: my_hub\nsimulation:\n  demand: {multiplier: 1.2}\n"
    app.sidebar.file_uploader(key="upload").set_value(("mine.yaml", text, "application/x-yaml"))
    app.run()
    assert not app.exception and not _errors(app)
    assert app.session_state["planner.base"].name == "my_hub"


def test_bad_widget_input_is_a_message(app):
    # both WTE of the assessing roles at zero: the hub cannot assess anyone
    app.slider(key="site_d.wte.therapists").set_value(0.0)
    app.slider(key="site_d.wte.clinical_leadership").set_value(0.0)
    app.run()
    assert not app.exception
    errors = " ".join(_errors(app))
    assert "planner settings:" in errors and "none of its roles" in errors
    assert not [b for b in app.button if b.key == "run"]  # nothing to run until it is valid
    # a surge outside the period is refused with its dates
    app.slider(key="site_d.wte.therapists").set_value(5.4)
    app.slider(key="site_d.wte.clinical_leadership").set_value(2.15)
    app.checkbox(key="site_d.surge.on").check().run()
    app.date_input(key="site_d.surge.start").set_value(dt.date(2023, 3, 20))
    app.run()
    assert "inside the simulated period" in " ".join(_errors(app))


def test_the_evaluation_page(app):
    app.switch_page("evaluation_page.py").run()
    assert not app.exception
    app.number_input(key="eval.regions").set_value(12)
    app.number_input(key="eval.treated").set_value(12)  # none untreated
    app.number_input(key="eval.periods").set_value(12)
    app.text_input(key="eval.schedule").set_value("4, 7, 10")
    app.multiselect(key="eval.estimators").set_value(["twfe_cr1", "its"])
    app.number_input(key="eval.n_sims").set_value(20)
    app.run()
    assert any("none untreated" in c.value for c in app.caption)
    app.button(key="eval.run").click().run()
    _until(app, lambda a: a.table)
    assert not app.exception and not _errors(app)
    table = app.table[0].value
    assert list(table.index) == ["twfe_cr1", "its"]
    assert all("±" in v for v in table["power"])
    assert app.success or app.warning  # the recommendation, or why there is none
    text = " ".join(s.value for s in [*app.success, *app.warning])
    assert "twfe_cr1" in text
    # bad input is a message
    app.text_input(key="eval.schedule").set_value("1, x").run()
    assert "adoption schedule" in " ".join(_errors(app))
    app.text_input(key="eval.schedule").set_value("40").run()
    assert "outside 2..12" in " ".join(_errors(app))


def test_the_evaluation_page_takes_the_effect_from_the_hub_just_simulated(app):
    from hubsim.evaluation import effect_from_des

    app.slider(key="site_d.wte.therapists").set_value(7.4).run()  # the hub as set
    app.switch_page("evaluation_page.py").run()
    app.radio(key="eval.effect_source").set_value("from the hub just simulated").run()
    assert not app.exception
    assert any("site_d_planner against usual care" in c.value for c in app.caption)
    app.number_input(key="eval.regions").set_value(10)
    app.number_input(key="eval.treated").set_value(8)
    app.number_input(key="eval.periods").set_value(12)
    app.text_input(key="eval.schedule").set_value("4, 6")
    app.number_input(key="eval.des_days").set_value(300)
    app.number_input(key="eval.des_reps").set_value(2)
    app.multiselect(key="eval.estimators").set_value(["twfe_cr1"])
    app.number_input(key="eval.n_sims").set_value(20)
    app.button(key="eval.run").click().run()
    _until(app, lambda a: a.table or _errors(a))
    assert not app.exception and not _errors(app), _errors(app)
    # the effect shown is the API's for that hub
    hub = apply_levers(
        hubsim.load_config("site_d"), Levers(wte={"therapists": 7.4}), name="site_d_planner"
    )
    want = effect_from_des(
        hub, population="staff_survey", horizon_days=300.0, replications=2, seed=1
    )
    text = " ".join(t.value for t in app.text)
    assert want.summary() in text  # the same numbers, line by line


def test_the_default_replications_come_from_the_replications_algorithm(app):
    from hubsim.app.compute import replication_target
    from hubsim.experiment import simulate_to_precision

    app.sidebar.date_input(key="site_d.window").set_value(WINDOW)
    app.sidebar.slider(key="replications.precision").set_value(25)
    app.slider(key="site_d.demand").set_value(1.2)
    _run(app)
    assert not _errors(app), _errors(app)
    text = " ".join(c.value for c in app.caption)
    assert "Replications: 95% CI half-width within 25% of the mean median wait" in text, text
    # the number shown is the algorithm's, run through the public API
    _, p = simulate_to_precision(
        hubsim.load_config("site_d"), replication_target(0.25), horizon_days=120, seed=1
    )
    assert p.reached
    assert f"{p.n_used} paired replications" in text
    assert f"{p.n_solution} replications reach the target" in text
    assert int(app.table[0].value["replications"].iloc[0]) == p.n_used


def test_hubsim_app_opens_the_browser_once_the_server_is_up_and_asks_nothing(tmp_path):
    """`make app` runs `hubsim app` with the browser: the server must not stop to ask for
    an e-mail address (Streamlit does when not headless), and the page opens once up."""
    import os
    import shutil
    import signal
    import subprocess
    import sys
    import urllib.request

    from hubsim.app import free_port

    opened = tmp_path / "opened"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    port = free_port(None)
    hubsim_exe = shutil.which("hubsim", path=str(Path(sys.executable).parent)) or "hubsim"
    log = tmp_path / "log"
    env = dict(os.environ, BROWSER=str(browser))
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [hubsim_exe, "app", "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        end = time.monotonic() + 90
        while not opened.exists() and proc.poll() is None and time.monotonic() < end:
            time.sleep(0.3)
        text = log.read_text(errors="replace")
        assert proc.poll() is None, f"hubsim app stopped:\n{text}"
        assert opened.exists(), f"the browser was not opened:\n{text}"
        assert opened.read_text().strip() == f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as r:
            assert r.read().strip() == b"ok"
        assert "Email" not in text and "Welcome to Streamlit" not in text, text
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
