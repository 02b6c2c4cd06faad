"""Tests of hubsim.measures: instrument rules, IAPT definitions, simulation and calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubsim.measures import (
    INSTRUMENT_NAMES,
    ITQ_DIAGNOSIS_COLUMNS,
    REFERENCE_LATENT_CORRELATION,
    SCORE_COLUMNS,
    TARGETS,
    calibration_report,
    cronbach_alpha,
    expected_total_correlation,
    get_instrument,
    iapt_caseness,
    item_model,
    itq_diagnosis,
    pcl5_dsm5_rule,
    recovery,
    reliable_deterioration,
    reliable_improvement,
    reliable_recovery,
    score,
    severity_band,
    simulate_items,
    simulate_scores,
    validate_items,
)
from hubsim.measures._model import DOMAINS

HYP = settings(max_examples=60, deadline=None)
SUMMED = [n for n in INSTRUMENT_NAMES if n != "itq"]


# --------------------------------------------------------------------------- strategies
@st.composite
def valid_items(draw, name=None):
    name = name or draw(st.sampled_from(INSTRUMENT_NAMES))
    spec = get_instrument(name)
    n = draw(st.integers(1, 6))
    rows = [[draw(st.sampled_from(v)) for v in spec.item_values] for _ in range(n)]
    return name, np.array(rows)


# --------------------------------------------------------------------------- definitions
@pytest.mark.parametrize(
    ("name", "n_items", "lo", "hi"),
    [
        ("phq9", 9, 0, 27),
        ("gad7", 7, 0, 21),
        ("wsas", 5, 0, 40),
        ("audit", 10, 0, 40),
        ("pcl5", 20, 0, 80),
        ("itq", 18, 0, 2),
    ],
)
def test_instrument_ranges(name, n_items, lo, hi):
    spec = get_instrument(name)
    assert (spec.n_items, spec.total_min, spec.total_max) == (n_items, lo, hi)


def test_latent_domains_match_config_schema():
    from hubsim.config.schema import INSTRUMENTS, LATENT_DOMAINS

    assert tuple(LATENT_DOMAINS) == DOMAINS
    assert set(INSTRUMENTS) == set(INSTRUMENT_NAMES)


def test_unknown_instrument_raises():
    with pytest.raises(ValueError, match="instrument must be one of"):
        get_instrument("bdi")


# --------------------------------------------------------------------------- scoring
@HYP
@given(valid_items())
def test_any_valid_matrix_scores_within_range(case):
    name, items = case
    spec = get_instrument(name)
    totals = score(name, items)
    assert totals.shape == (items.shape[0],)
    assert ((totals >= spec.total_min) & (totals <= spec.total_max)).all()
    if name != "itq":
        np.testing.assert_array_equal(totals, items.sum(axis=1))


@HYP
@given(valid_items(), st.data())
def test_any_invalid_item_raises(case, data):
    name, items = case
    spec = get_instrument(name)
    i = data.draw(st.integers(0, items.shape[0] - 1))
    j = data.draw(st.integers(0, spec.n_items - 1))
    allowed = spec.item_values[j]
    bad = data.draw(
        st.sampled_from(
            [-1, max(allowed) + 1, 0.5, np.nan, *[v for v in range(5) if v not in allowed]]
        )
    )
    broken = items.astype(float)
    broken[i, j] = bad
    with pytest.raises(ValueError, match=rf"item {j + 1} \("):
        score(name, broken)


def test_error_names_dataframe_column_and_allowed_scores():
    df = pd.DataFrame(np.zeros((3, 9), dtype=int), columns=[f"q{i}" for i in range(1, 10)])
    df.loc[2, "q4"] = 4
    with pytest.raises(ValueError, match=r"q4 has value 4 in row 2; allowed scores are 0, 1, 2, 3"):
        score("phq9", df)


def test_wrong_number_of_items_raises():
    with pytest.raises(ValueError, match="expected 7 item columns"):
        score("gad7", np.zeros((2, 9)))


def test_score_dataframe_keeps_index_and_does_not_mutate():
    df = pd.DataFrame(
        np.full((2, 8), 1), index=["a", "b"], columns=[*(f"g{i}" for i in range(7)), "other"]
    )
    before = df.copy()
    out = score("gad7", df, columns=[f"g{i}" for i in range(7)])
    assert list(out.index) == ["a", "b"] and out.tolist() == [7, 7] and out.name == "gad7"
    pd.testing.assert_frame_equal(df, before)


def test_audit_items_9_and_10_only_0_2_4():
    base = np.zeros(10, dtype=int)
    for j in (8, 9):
        for v in (0, 2, 4):
            row = base.copy()
            row[j] = v
            assert score("audit", [row])[0] == v
        for v in (1, 3):
            row = base.copy()
            row[j] = v
            with pytest.raises(ValueError, match=rf"item {j + 1} .*allowed scores are 0, 2, 4"):
                score("audit", [row])
    row = base.copy()
    row[:8] = 3  # items 1-8 take any of 0-4
    assert score("audit", [row])[0] == 24


# --------------------------------------------------------------------------- severity bands
@pytest.mark.parametrize(
    ("name", "totals", "labels"),
    [
        (
            "phq9",
            [0, 4, 5, 9, 10, 14, 15, 19, 20, 27],
            [
                "minimal",
                "minimal",
                "mild",
                "mild",
                "moderate",
                "moderate",
                "moderately severe",
                "moderately severe",
                "severe",
                "severe",
            ],
        ),
        (
            "gad7",
            [4, 5, 9, 10, 14, 15, 21],
            ["minimal", "mild", "mild", "moderate", "moderate", "severe", "severe"],
        ),
        (
            "wsas",
            [0, 9, 10, 20, 21, 40],
            [
                "subclinical",
                "subclinical",
                "significant impairment",
                "significant impairment",
                "moderately severe or worse",
                "moderately severe or worse",
            ],
        ),
        (
            "audit",
            [7, 8, 15, 16, 19, 20, 40],
            [
                "low risk",
                "hazardous",
                "hazardous",
                "harmful",
                "harmful",
                "possible dependence",
                "possible dependence",
            ],
        ),
        (
            "pcl5",
            [0, 32, 33, 80],
            ["below cut-off", "below cut-off", "probable PTSD", "probable PTSD"],
        ),
        ("itq", [0, 1, 2], ["none", "PTSD", "complex PTSD"]),
    ],
)
def test_severity_bands_at_boundaries(name, totals, labels):
    assert severity_band(name, np.array(totals)).tolist() == labels


def test_pcl5_cutoff_configurable_and_checked():
    assert severity_band("pcl5", [30, 31], pcl5_cutoff=31).tolist() == [
        "below cut-off",
        "probable PTSD",
    ]
    with pytest.raises(ValueError, match="pcl5_cutoff must be an integer from 31 to 33"):
        severity_band("pcl5", [30], pcl5_cutoff=30)


def test_severity_band_rejects_out_of_range_and_keeps_series_index():
    with pytest.raises(ValueError, match="expected an integer from 0 to 27"):
        severity_band("phq9", [28])
    out = severity_band("gad7", pd.Series([3, 16], index=[10, 11]))
    assert list(out.index) == [10, 11] and out.cat.ordered and out.tolist() == ["minimal", "severe"]


# --------------------------------------------------------------------------- ITQ
def _itq_oracle(row):
    """Row-by-row statement of the ICD-11 ITQ algorithm (calibration.md §4)."""
    yes = [v >= 2 for v in row]
    ptsd = (yes[0] or yes[1]) and (yes[2] or yes[3]) and (yes[4] or yes[5]) and any(yes[6:9])
    dso = (yes[9] or yes[10]) and (yes[11] or yes[12]) and (yes[13] or yes[14]) and any(yes[15:18])
    return 2 if ptsd and dso else (1 if ptsd else 0)


PTSD_ONLY = [2, 0, 0, 3, 4, 0, 0, 2, 0] + [0] * 9
CPTSD = [0, 2, 2, 0, 0, 2, 0, 0, 2, *[2, 0, 0, 3, 4, 4, 0, 2, 0]]
DSO_ONLY = [1] * 9 + [4] * 9  # DSO criteria without PTSD: neither diagnosis
NO_IMPAIRMENT = [4] * 6 + [1, 1, 1] + [4] * 9  # PTSD symptoms but no impairment item >= 2
MISSING_AVOIDANCE = [4, 4, 1, 1, 4, 4, 4, 4, 4] + [4] * 9
NO_DSO_IMPAIRMENT = [4] * 15 + [1, 1, 1]  # PTSD met, DSO symptoms met, DSO impairment not


@pytest.mark.parametrize(
    ("row", "level"),
    [
        (PTSD_ONLY, 1),
        (CPTSD, 2),
        (DSO_ONLY, 0),
        (NO_IMPAIRMENT, 0),
        (MISSING_AVOIDANCE, 0),
        (NO_DSO_IMPAIRMENT, 1),
        ([0] * 18, 0),
    ],
)
def test_itq_hand_built_cases(row, level):
    out = itq_diagnosis([row])
    assert list(out.columns) == list(ITQ_DIAGNOSIS_COLUMNS)
    assert out["level"].iloc[0] == level
    assert bool(out["ptsd"].iloc[0]) == (level == 1)
    assert bool(out["cptsd"].iloc[0]) == (level == 2)
    assert score("itq", [row])[0] == level


@HYP
@given(valid_items("itq"))
def test_itq_matches_oracle_and_is_mutually_exclusive(case):
    _, items = case
    out = itq_diagnosis(items)
    assert not (out["ptsd"] & out["cptsd"]).any()
    assert out["level"].tolist() == [_itq_oracle(r) for r in items]


# --------------------------------------------------------------------------- PCL-5
MINIMAL_DSM5 = [2, 0, 0, 0, 0, 2, 0, 2, 2, 0, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0]


def _pcl5_oracle(row):
    yes = [v >= 2 for v in row]
    return (
        sum(yes[0:5]) >= 1 and sum(yes[5:7]) >= 1 and sum(yes[7:14]) >= 2 and sum(yes[14:20]) >= 2
    )


@pytest.mark.parametrize(
    "drop", [0, 5, 7, 14]
)  # remove the only B, the only C, one of 2 D, one of 2 E
def test_pcl5_rule_minimal_case_and_each_cluster_needed(drop):
    assert pcl5_dsm5_rule([MINIMAL_DSM5]).tolist() == [True]
    row = list(MINIMAL_DSM5)
    row[drop] = 1  # a 1 does not count as a symptom
    assert pcl5_dsm5_rule([row]).tolist() == [False]


@HYP
@given(valid_items("pcl5"))
def test_pcl5_rule_matches_oracle(case):
    _, items = case
    assert pcl5_dsm5_rule(items).tolist() == [_pcl5_oracle(r) for r in items]


# --------------------------------------------------------------------------- IAPT rules
def test_caseness_truth_table():
    phq = [9, 10, 0, 9, 27]
    gad = [7, 0, 8, 8, 21]
    assert iapt_caseness(phq, gad).tolist() == [False, True, True, True, True]


def test_reliable_improvement_truth_table():
    # columns: phq pre, phq post, gad pre, gad post
    cases = [
        ((16, 10, 5, 5), True, True),  # PHQ falls exactly 6
        ((16, 11, 5, 5), False, False),  # PHQ falls 5
        ((5, 5, 12, 8), True, True),  # GAD falls exactly 4
        ((5, 5, 12, 9), False, False),  # GAD falls 3
        ((20, 14, 5, 9), False, True),  # PHQ improves, GAD deteriorates by 4
        ((20, 14, 5, 8), True, True),  # GAD rises 3: not reliable deterioration
        ((10, 16, 12, 8), False, True),  # GAD improves, PHQ deteriorates by 6
    ]
    args = np.array([c[0] for c in cases]).T
    assert reliable_improvement(*args).tolist() == [c[1] for c in cases]
    lax = reliable_improvement(*args, require_no_deterioration=False)
    assert lax.tolist() == [c[2] for c in cases]
    assert reliable_deterioration(*args).tolist() == [False, False, False, False, True, False, True]


def test_recovery_truth_table():
    cases = [
        ((12, 9, 3, 7), True),  # case -> both below cut-offs
        ((12, 10, 3, 3), False),  # still PHQ case
        ((5, 5, 9, 8), False),  # still GAD case
        ((5, 3, 5, 3), False),  # never a case
        ((5, 12, 5, 3), False),  # not a case before
        ((9, 0, 8, 0), True),  # GAD-only case before
    ]
    args = np.array([c[0] for c in cases]).T
    assert recovery(*args).tolist() == [c[1] for c in cases]
    # reliable recovery needs the reliable fall as well: only the last case falls >= 4 on GAD
    assert reliable_recovery(*args).tolist() == [False, False, False, False, False, True]


def test_iapt_functions_validate_and_keep_series_index():
    idx = [7, 8]
    out = recovery(pd.Series([12, 3], index=idx), [3, 3], [3, 3], [3, 3])
    assert isinstance(out, pd.Series) and list(out.index) == idx
    with pytest.raises(ValueError, match="phq9: value 28"):
        iapt_caseness([28], [0])
    with pytest.raises(ValueError, match="gad7_post: value nan"):
        recovery([1], [1], [1], [np.nan])
    with pytest.raises(ValueError, match="gad7: expected 2 values"):
        iapt_caseness([1, 2], [1])


# --------------------------------------------------------------------------- simulation
def _latent(n, seed, mean=0.0, r=REFERENCE_LATENT_CORRELATION):
    z = np.random.default_rng(seed).standard_normal((n, 5))
    return mean + z @ np.linalg.cholesky(r).T


@pytest.mark.parametrize("name", INSTRUMENT_NAMES)
def test_simulated_items_obey_item_rules(name):
    latent = _latent(5000, 1, mean=1.5)  # a distressed group reaches the top categories
    items = simulate_items(name, latent, np.random.default_rng(2))
    spec = get_instrument(name)
    assert items.shape == (5000, spec.n_items)
    validate_items(name, items)  # raises if any item holds a score the instrument forbids
    for j, values in enumerate(spec.item_values):
        assert set(np.unique(items[:, j])) <= set(values)


def test_simulate_items_input_checks():
    with pytest.raises(ValueError, match="load on several domains"):
        simulate_items("itq", np.zeros(3), np.random.default_rng(0))
    with pytest.raises(ValueError, match="expected shape"):
        simulate_items("phq9", np.zeros((3, 4)), np.random.default_rng(0))
    with pytest.raises(ValueError, match="rng"):
        simulate_items("phq9", np.zeros(3), 0)


def test_simulate_scores_columns_and_consistency():
    latent = _latent(20_000, 3, mean=1.0)
    before = latent.copy()
    df = simulate_scores(
        latent, ["itq", "phq9", "pcl5", "gad7", "wsas", "audit"], np.random.default_rng(4)
    )
    np.testing.assert_array_equal(latent, before)
    expected = [
        c for n in ["itq", "phq9", "pcl5", "gad7", "wsas", "audit"] for c in SCORE_COLUMNS[n]
    ]
    assert list(df.columns) == expected and len(df) == 20_000
    for name in SUMMED:
        spec = get_instrument(name)
        assert df[name].between(spec.total_min, spec.total_max).all()
    assert (df["phq9_item9"] <= df["phq9"]).all() and df["phq9_item9"].between(0, 3).all()
    # PTSD needs three symptoms >= 2, so at least 6 points on the PTSD items
    assert (df.loc[df["itq"] >= 1, "itq_ptsd_symptoms"] >= 6).all()
    assert (df.loc[df["itq"] == 2, "itq_dso_symptoms"] >= 6).all()
    # the DSM-5 rule needs 6 items >= 2, i.e. a total of at least 12
    assert (df.loc[df["pcl5_dsm5"], "pcl5"] >= 12).all()
    assert set(df["itq"].unique()) == {0, 1, 2}


def test_simulate_scores_deterministic_and_instrument_independent():
    latent = _latent(3000, 5)
    a = simulate_scores(latent, ["phq9", "gad7"], np.random.default_rng(9))
    b = simulate_scores(latent, ["phq9", "gad7"], np.random.default_rng(9))
    c = simulate_scores(latent, ["phq9", "gad7"], np.random.default_rng(10))
    alone = simulate_scores(latent, ["gad7"], np.random.default_rng(9))
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    # an instrument's scores do not depend on which other instruments are requested
    pd.testing.assert_series_equal(a["gad7"], alone["gad7"])


def test_simulate_scores_rejects_repeats():
    with pytest.raises(ValueError, match="each instrument once"):
        simulate_scores(np.zeros((2, 5)), ["phq9", "phq9"], np.random.default_rng(0))


def test_scores_rise_with_the_latent():
    rng = np.random.default_rng(0)
    means = []
    for level in (-1.0, 0.0, 1.0, 2.0):
        df = simulate_scores(np.full((4000, 5), level), list(INSTRUMENT_NAMES), rng)
        means.append(df[SUMMED].mean())
    diffs = np.diff(np.array(means), axis=0)
    assert (diffs > 0).all()


def test_cronbach_alpha_hand_computed():
    # item variances 5/3 and 2/3, total variance 13/3: alpha = 2 (1 - 7/13) = 12/13
    assert cronbach_alpha([[0, 1], [1, 2], [2, 2], [3, 3]]) == pytest.approx(12 / 13)


def test_expected_total_correlation_increases_with_latent_correlation():
    values = [expected_total_correlation(r) for r in (0.3, 0.5, 0.64, 0.75, 0.85)]
    assert np.all(np.diff(values) > 0)
    assert all(v < r for v, r in zip(values, (0.3, 0.5, 0.64, 0.75, 0.85), strict=True))


# --------------------------------------------------------------------------- calibration
@pytest.fixture(scope="module")
def report():
    return calibration_report(n=100_000, seed=2024)


@pytest.mark.statistical
def test_calibration_solve_hits_targets_exactly(report):
    cal = report[report["role"] == "calibrated"]
    assert set(cal["key"]) == set(TARGETS)
    np.testing.assert_allclose(cal["model"], cal["target"], atol=1e-7)


@pytest.mark.statistical
def test_calibration_report_within_mcse(report):
    cal = report[report["role"] == "calibrated"]
    dev = (cal["simulated"] - cal["target"]).abs() / cal["mcse"]
    assert (dev < 4).all(), cal.assign(z=dev)[["key", "simulated", "target", "mcse", "z"]]
    # prevalence MCSE is the binomial formula at the target share
    prev = cal[cal["statistic"].str.startswith("P(")]
    np.testing.assert_allclose(
        prev["mcse"], np.sqrt(prev["target"] * (1 - prev["target"]) / 100_000)
    )


@pytest.mark.statistical
def test_simulation_agrees_with_exact_model_everywhere(report):
    # every figure with an exact (quadrature) model value, calibrated or not
    rows = report[report["model"].notna() & (report["mcse"] > 0)]
    dev = (rows["simulated"] - rows["model"]).abs() / rows["mcse"]
    assert len(rows) >= 20 and (dev < 4).all(), rows.assign(z=dev)[["key", "z"]]


@pytest.mark.statistical
def test_phq9_gad7_total_correlation_in_published_range(report):
    row = report.set_index("key").loc["phq9_gad7_corr"]
    assert row.target_low <= row.model <= row.target_high
    assert row.target_low - 4 * row.mcse <= row.simulated <= row.target_high + 4 * row.mcse


@pytest.mark.statistical
def test_total_correlation_follows_latent_correlation():
    n, batches = 60_000, 20
    z = np.random.default_rng(11).standard_normal((n, 2))
    sims = []
    for rho in (0.5, 0.65, 0.75, 0.85):
        latent = np.zeros((n, 5))
        latent[:, 0] = z[:, 0]
        latent[:, 1] = rho * z[:, 0] + np.sqrt(1 - rho**2) * z[:, 1]
        df = simulate_scores(latent, ["phq9", "gad7"], np.random.default_rng(12))
        p, g = df["phq9"].to_numpy(float), df["gad7"].to_numpy(float)
        batch = [np.corrcoef(p[s], g[s])[0, 1] for s in np.array_split(np.arange(n), batches)]
        r, mcse = np.corrcoef(p, g)[0, 1], np.std(batch, ddof=1) / np.sqrt(batches)
        assert abs(r - expected_total_correlation(rho)) < 4 * mcse
        sims.append(r)
    assert np.all(np.diff(sims) > 0)


@pytest.mark.statistical
def test_calibration_report_deterministic():
    a = calibration_report(n=2000, seed=5)
    b = calibration_report(n=2000, seed=5)
    c = calibration_report(n=2000, seed=6)
    pd.testing.assert_frame_equal(a, b)
    assert not a["simulated"].equals(c["simulated"])


def test_item_model_loadings_in_unit_interval():
    for name in INSTRUMENT_NAMES:
        m = item_model(name)
        assert 0 < m.loading < 1
        # response tendencies have unit variance under the reference correlation
        var = np.einsum("id,de,ie->i", m.weights, REFERENCE_LATENT_CORRELATION, m.weights)
        np.testing.assert_allclose(var + m.noise_sd**2, 1.0)
