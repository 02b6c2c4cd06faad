"""Writing a power study's results: frames, figures, report and manifest, atomically.

Everything goes into a staging folder beside the destination (:func:`stage`), which is
renamed to the destination only once complete; a failure removes the staging folder and
leaves any earlier results as they were. Files written (relative to the folder):

- ``diagnosands.parquet`` / ``.csv``, ``simulations.parquet``, ``curves.parquet`` /
  ``.csv``, ``mde.parquet`` / ``.csv``, ``recommendations.parquet`` / ``.csv`` (the
  result's frames, declared columns);
- ``power_<curve>.png`` and, with DES-fed scenarios, ``des_effects.parquet`` / ``.csv``
  and ``des_effects.png``;
- ``report.md`` (:func:`~hubsim.evaluation.report.render_report`), ``study.yaml`` (the
  input as given) and ``manifest.json`` (settings, versions, files, DES runs).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from pathlib import Path

from hubsim import __version__
from hubsim.evaluation.report import plot_curves, plot_des, render_report
from hubsim.evaluation.result import StudyResult
from hubsim.evaluation.spec import StudySpec

__all__ = ["default_out", "stage", "write_study"]


def default_out(spec: StudySpec, size: str) -> Path:
    """``results/power/<name>``, or ``<name>-<size>`` for a size other than default."""
    return Path("results") / "power" / (spec.name if size == "default" else f"{spec.name}-{size}")


def stage(dest: str | os.PathLike[str]) -> Path:
    """Create (empty) the staging folder beside ``dest`` and return it."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    return tmp


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


def write_study(
    result: StudyResult,
    out: str | os.PathLike[str],
    *,
    source: str | os.PathLike[str],
    staged: Path | None = None,
    started: float | None = None,
) -> StudyResult:
    """Write ``result`` to the folder ``out`` atomically and return it with ``out`` and ``files``.

    Parameters
    ----------
    result : StudyResult
        From :func:`~hubsim.evaluation.runner.evaluate`.
    out : path-like
        The destination; an existing folder is replaced only once the new one is complete.
    source : path-like
        The study file (copied as ``study.yaml`` and named in the manifest).
    staged : pathlib.Path, optional
        A staging folder made by :func:`stage` before the work (default: made now).
    started : float, optional
        ``time.monotonic()`` when the study started (for the wall time reported).
    """
    dest = Path(out)
    tmp = stage(dest) if staged is None else staged
    t0 = time.monotonic() - result.seconds if started is None else started
    try:
        files = []
        for stem, frame, csv in (
            ("diagnosands", result.diagnosands, True),
            ("simulations", result.simulations, False),
            ("curves", result.curves, True),
            ("mde", result.mde, True),
            ("recommendations", result.recommendations, True),
        ):
            frame.to_parquet(tmp / f"{stem}.parquet", index=False)
            files.append(f"{stem}.parquet")
            if csv:
                frame.to_csv(tmp / f"{stem}.csv", index=False)
                files.append(f"{stem}.csv")
        figs = (
            plot_curves(result.curves, result.spec, tmp, result.designs) if len(result.curves) else []
        )
        files += figs
        des_figs: list[str] = []
        if result.des:
            result.des_effects.to_parquet(tmp / "des_effects.parquet", index=False)
            result.des_effects.to_csv(tmp / "des_effects.csv", index=False)
            des_figs = plot_des(result.des_effects, result.des, tmp)
            files += ["des_effects.parquet", "des_effects.csv", *des_figs]
        secs = time.monotonic() - t0
        (tmp / "report.md").write_text(
            render_report(result, figures=figs, des_figures=des_figs, seconds=secs),
            encoding="utf-8",
        )
        shutil.copyfile(source, tmp / "study.yaml")
        manifest = _manifest(result, str(source), [*files, "report.md", "study.yaml"], secs)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        files += ["report.md", "study.yaml", "manifest.json"]
        old = None
        if dest.exists():
            old = dest.parent / f".{dest.name}.old-{os.getpid()}"
            dest.rename(old)
        tmp.rename(dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dataclasses.replace(
        result, out=dest, files=tuple(files), seconds=time.monotonic() - t0
    )
