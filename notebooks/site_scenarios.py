# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Site D: what happens to waits if the hub changes its staffing, care model or demand?
#
# A planner's worked analysis, run from the shipped experiment file
# `experiments/site_d_staffing.yaml` (`hubsim experiment site_d_staffing` does the same
# from the command line). Site D (Allsopp et al. 2024) runs stepped care with a two-stage
# assessment. On common random numbers (the same clients in every scenario) we compare:
#
# 1. Site D as mapped;
# 2. 2 WTE moved from therapists (bands 6-8b) to band 4-5 staff;
# 3. reversed-stepped care (a senior clinician first);
# 4. one more WTE of psychological therapist;
# 5. demand x1.5 after a major incident.
#
# Every number below is computed by this notebook when it runs; nothing in the text is
# typed in from an earlier run. Set `HUBSIM_SMOKE=1` for a quick run (CI does): 3
# replications instead of the replications algorithm's choice.

# %%
import os
import tempfile
from pathlib import Path

from hubsim.experiment import load_experiment_result, read_experiment, run_experiment
from hubsim.report.columns import headline_kpi
from hubsim.report.experiment import (
    answer_sentence,
    cost_frame,
    plot_costs,
    plot_forest,
    plot_km,
    plot_utilisation,
    plot_waiting_list,
)
from hubsim.resources import experiment_path

SMOKE = os.environ.get("HUBSIM_SMOKE") == "1"
plan = read_experiment(experiment_path("site_d_staffing"))
if SMOKE:
    plan = type(plan)(
        plan.path,
        plan.spec.model_copy(update={"replications": 3}),
        plan.scenarios,
        plan.baseline,
        plan.window_start,
        plan.window_end,
        plan.where,
    )
print({n: s.config.content_hash[:12] for n, s in plan.scenarios.items()})

# %% [markdown]
# ## Run the experiment into a results folder
#
# The folder holds `results.duckdb` (every replication's KPIs, clients and weekly series),
# the event log as Parquet, `manifest.json` and the report. Interrupt this cell and run it
# again on the same folder: it resumes.

# %%
out = Path(tempfile.mkdtemp()) / "site_d_staffing"
res = run_experiment(plan, out, quiet=True, workers=2)
print(res.summary())

# %% [markdown]
# ## The answer, and the rule behind it

# %%
labels = {n: s.label for n, s in plan.scenarios.items()}
head = headline_kpi(list(plan.spec.kpis))
print(answer_sentence(res.differences, labels, plan.baseline, head, plan.spec.level))

# %% [markdown]
# ## Paired differences (the report's forest plot)

# %%
fig = plot_forest(res.differences, labels, list(plan.spec.kpis), plan.spec.level)

# %%
res.differences.pivot_table(index="kpi", columns="scenario", values="mean_difference").round(3)

# %% [markdown]
# ## Waits as Kaplan-Meier curves, and the waiting list over the calendar
#
# Clients still waiting when a run ends are censored, not counted as seen.

# %%
store, folder = load_experiment_result(out)
scenarios = store.query("SELECT * FROM scenarios ORDER BY position")
clients = store.frame("clients")
weekly = store.frame("weekly")
kpis = store.kpis()
fig, what = plot_km(clients, scenarios, labels)

# %%
fig = plot_waiting_list(weekly, scenarios, labels)

# %% [markdown]
# ## Utilisation by role, and cost per client and per recovery

# %%
fig = plot_utilisation(res.levels, labels, plan.spec.level)

# %%
costs = cost_frame(kpis, clients, scenarios)
fig = plot_costs(costs, labels, list(plan.scenarios), plan.spec.level)
summary = costs.groupby("scenario")[["cost_per_client_gbp", "cost_per_recovery_gbp"]].mean()
for s, row in summary.reindex(list(plan.scenarios)).iterrows():
    print(
        f"{labels[s]}: GBP {row['cost_per_client_gbp']:,.0f} per client, "
        f"GBP {row['cost_per_recovery_gbp']:,.0f} per recovery"
    )
store.close()
folder.close()

# %% [markdown]
# Reading the results: differences are scenario minus baseline, paired by replication; the
# intervals are t intervals over replications. The numbers come from assumptions labelled
# in the configurations (see `hubsim sites` and the `source` fields), not from hub
# activity data, which the paper does not report.
