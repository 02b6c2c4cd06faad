"""Write the golden frames of a short run (the back-test of tests/test_des_golden.py).

The run: Site D with every occupational group open from the period start (a full-opening
hub), 45 days, two replications, seed 7 (:func:`golden_run`). Its nine frames
(:data:`hubsim.des.result.FRAMES`) are written as Parquet files next to this module, with
``manifest.json`` recording the numpy and scipy versions they were made with, the command
and each column's kind. The test compares a fresh run with them exactly when numpy's
major.minor equals the pinned one, and skips with the reason otherwise (another numpy may
round a draw or a sum differently in the last place).

Regenerate only when a definition changes on purpose (say in the commit message which
one), from the repository root::

    .venv/bin/python -m tests.golden.make_golden

Columns added to a frame later are not compared (the golden file holds the columns it was
made with); a column removed or renamed fails the test.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DIR = HERE / "site_d_full_opening_45d"
SEED = 7
HORIZON_DAYS = 45
REPLICATIONS = 2


def golden_config():
    """Site D with every group open from the period start (as benchmarks/bench_des.py)."""
    import hubsim
    from hubsim.experiment import vary

    cfg = hubsim.load_config("site_d")
    last = max(g.opens for g in cfg.service.target_population.groups)
    changes = {"simulation.period.start": last.isoformat()}
    for g in cfg.service.target_population.groups:
        changes[f"service.target_population.groups[{g.id}].opens"] = last.isoformat()
    return vary(cfg, changes)


def golden_run():
    import hubsim

    return hubsim.simulate(
        golden_config(), horizon_days=HORIZON_DAYS, seed=SEED, replications=REPLICATIONS
    )


def kind(s: pd.Series) -> str:
    """A column's kind, the same on pandas 2 and 3: int, float, bool, category or text."""
    dt = s.dtype
    if isinstance(dt, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_bool_dtype(dt):
        return "bool"
    if pd.api.types.is_integer_dtype(dt):
        return "int"
    if pd.api.types.is_float_dtype(dt):
        return "float"
    return "text"


def canonical(s: pd.Series, k: str) -> np.ndarray:
    """A column of kind ``k`` as plain values to compare exactly: floats (NaN for missing)
    for numbers and booleans, Python strings (None for missing) for text and categories."""
    if k in ("int", "float", "bool"):
        vals = [np.nan if pd.isna(v) else float(v) for v in s.tolist()]
        return np.array(vals, dtype=float)
    return np.array([None if pd.isna(v) else str(v) for v in s.tolist()], dtype=object)


def main() -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq
    import scipy

    from hubsim.des.result import FRAMES

    res = golden_run()
    DIR.mkdir(exist_ok=True)
    kinds = {}
    for name in FRAMES:
        df = getattr(res, name)
        kinds[name] = {str(c): kind(df[c]) for c in df.columns}
        table = pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(None)
        pq.write_table(
            table, DIR / f"{name}.parquet", compression="zstd", compression_level=19,
            write_statistics=False,
        )
    manifest = {
        "what": "frames of hubsim.simulate(site_d with all groups open from the period start, "
        f"horizon_days={HORIZON_DAYS}, seed={SEED}, replications={REPLICATIONS})",
        "regenerate": ".venv/bin/python -m tests.golden.make_golden",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "kinds": kinds,
    }
    (DIR / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(FRAMES)} frames to {DIR} (numpy {np.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
