"""Writing a power study's results: frames, figures, report and manifest, each atomically.

The destination is a results folder (:func:`hubsim.experiment.open_results_folder`: checked
before any work, never deleting or replacing files hubsim did not write, resumed by the
same study and refused for another); every file is written through a temporary file in
the folder and renamed, so no reader sees half a file. Files written (relative to the
folder):

- ``diagnosands.parquet`` / ``.csv``, ``simulations.parquet``, ``curves.parquet`` /
  ``.csv``, ``mde.parquet`` / ``.csv``, ``recommendations.parquet`` / ``.csv`` (the
  result's frames, declared columns);
- ``power_<curve>.png`` and, with DES-fed scenarios, ``des_effects.parquet`` / ``.csv``
  and ``des_effects.png``;
- ``report.md`` (:func:`~hubsim.evaluation.report.render_report`), ``study.yaml`` (the
  input as given) and ``manifest.json`` (settings, versions, files, DES runs);
- ``results.duckdb`` (written by the runner): every finished cell of the study
  (:mod:`hubsim.evaluation.cells`) and the summary tables.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pandas as pd

from hubsim import __version__
from hubsim.evaluation.report import plot_curves, plot_des, render_report
from hubsim.evaluation.result import StudyResult
from hubsim.evaluation.spec import StudySpec
from hubsim.experiment.outdir import TMP_PREFIX, ResultsFolder, open_results_folder
from hubsim.experiment.store import DB_FILES

__all__ = ["STUDY_WRITES", "default_out", "study_fingerprint", "write_study"]

#: the study's frames, written as Parquet (and those in CSV_STEMS also as CSV)
STEMS = ("diagnosands", "simulations", "curves", "mde", "recommendations")
CSV_STEMS = tuple(s for s in STEMS if s != "simulations")  # the per-simulation rows: Parquet only
#: every name a power study writes at the top of its folder (checked free before any work)
STUDY_WRITES = (
    *(f"{s}.parquet" for s in STEMS),
    *(f"{s}.csv" for s in CSV_STEMS),
    "des_effects.parquet",
    "des_effects.csv",
    "des_effects.png",
    "power_*.png",
    "report.md",
    "study.yaml",
    "manifest.json",
    *DB_FILES,
)


def default_out(spec: StudySpec, size: str) -> Path:
    """``results/power/<name>``, or ``<name>-<size>`` for a size other than default."""
    return Path("results") / "power" / (spec.name if size == "default" else f"{spec.name}-{size}")


def study_fingerprint(
    spec: StudySpec, size: str, n_sims: int, seed: int, des_hashes: dict[str, Any]
) -> dict[str, Any]:
    """What fixes a study's results: the spec, the size, simulations, seed, DES configs."""
    return {
        "hubsim": __version__,
        "study": spec.model_dump(mode="json"),
        "size": size,
        "n_sims": int(n_sims),
        "seed": int(seed),
        "des": des_hashes,
    }


def des_hashes(des_plans: dict[str, Any]) -> dict[str, Any]:
    """The content hashes of each DES-fed scenario's hub and comparator."""
    return {
        s: [p.hub.content_hash, p.comparator.content_hash] for s, p in sorted(des_plans.items())
    }


def _manifest(result: StudyResult, source: str, files: list[str], seconds: float) -> dict:
    manifest = {
        "study": result.spec.name,
        "source": source,
        "size": result.size,
        "n_sims": result.n_sims,
        "seed": result.seed,
        "alpha": result.spec.alpha,
        "workers": result.extra.get("workers", result.spec.workers),
        "hubsim": __version__,
        "seconds": round(seconds, 2),
        "files": files,
    }
    if result.des:
        plans, settings = result.des_plans, result.des_settings
        manifest["des_runs"] = result.extra.get("des_runs")
        manifest["des_effects"] = {
            s: {
                "hub": str(plans[s].hub_path),
                "hub_hash": plans[s].hub.content_hash,
                "comparator": str(plans[s].comparator_path) if plans[s].comparator_path else None,
                "comparator_hash": plans[s].comparator.content_hash,
                "scale": plans[s].spec.scale,
                **settings[s],
            }
            for s in result.des
        }
    return manifest


def _parquet(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def write_study(
    result: StudyResult,
    out: str | os.PathLike[str] | ResultsFolder,
    *,
    source: str | os.PathLike[str],
    started: float | None = None,
    overwrite: bool = False,
) -> StudyResult:
    """Write ``result`` into the results folder ``out``; return it with ``out`` and ``files``.

    Parameters
    ----------
    result : StudyResult
        From :func:`~hubsim.evaluation.runner.evaluate`.
    out : path-like or ResultsFolder
        The destination (an open folder from the runner, or a path checked here: see
        :func:`hubsim.experiment.open_results_folder`).
    source : path-like
        The study file (copied as ``study.yaml`` and named in the manifest).
    started : float, optional
        ``time.monotonic()`` when the study started (for the wall time reported).
    overwrite : bool
        With a path: as :func:`~hubsim.experiment.open_results_folder`.
    """
    own = not isinstance(out, ResultsFolder)
    folder = (
        open_results_folder(
            out,
            kind="power",
            fingerprint=study_fingerprint(
                result.spec, result.size, result.n_sims, result.seed, des_hashes(result.des_plans)
            ),
            overwrite=overwrite,
            writes=STUDY_WRITES,
        )
        if own
        else out
    )
    dest = folder.path
    t0 = time.monotonic() - result.seconds if started is None else started
    figdir = dest / f"{TMP_PREFIX}figures-{os.getpid()}"
    try:
        files = []
        for stem in STEMS:
            frame, csv = getattr(result, stem), stem in CSV_STEMS
            folder.write(f"{stem}.parquet", _parquet(frame))
            files.append(f"{stem}.parquet")
            if csv:
                folder.write(f"{stem}.csv", frame.to_csv(index=False))
                files.append(f"{stem}.csv")
        figdir.mkdir(exist_ok=True)
        figs = (
            plot_curves(result.curves, result.spec, figdir, result.designs)
            if len(result.curves)
            else []
        )
        des_figs: list[str] = []
        if result.des:
            folder.write("des_effects.parquet", _parquet(result.des_effects))
            folder.write("des_effects.csv", result.des_effects.to_csv(index=False))
            des_figs = plot_des(result.des_effects, result.des, figdir)
            files += ["des_effects.parquet", "des_effects.csv"]
        for name in [*figs, *des_figs]:
            folder.write(name, (figdir / name).read_bytes())
        files += [*figs, *des_figs]
        secs = time.monotonic() - t0
        folder.write(
            "report.md", render_report(result, figures=figs, des_figures=des_figs, seconds=secs)
        )
        folder.write("study.yaml", Path(source).read_bytes())
        manifest = _manifest(result, str(source), [*files, "report.md", "study.yaml"], secs)
        folder.write("manifest.json", json.dumps(manifest, indent=2))
        files += ["report.md", "study.yaml", "manifest.json"]
    finally:
        shutil.rmtree(figdir, ignore_errors=True)
        if own:
            folder.close()
    return dataclasses.replace(result, out=dest, files=tuple(files), seconds=time.monotonic() - t0)
