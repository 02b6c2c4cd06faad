"""Golden back-test: the frames of a short run equal the committed ones, exactly.

Frames must not change where their definitions did not (issue 9). The golden frames
(tests/golden/, made by ``python -m tests.golden.make_golden``; its docstring says when and
how to regenerate them) are compared value by value, NaN in the same places, when numpy's
major.minor equals the version they were made with; with another numpy the test is skipped
with the reason (a different numpy may round a draw in the last place). Columns added
since are not compared; every golden column must still exist with the same kind.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.golden.make_golden import DIR, canonical, golden_run, kind

MANIFEST = json.loads((DIR / "manifest.json").read_text(encoding="utf-8"))


def _major_minor(v: str) -> tuple[int, int]:
    a, b = v.split(".")[:2]
    return int(a), int(b)


@pytest.fixture(scope="module")
def fresh():
    if _major_minor(np.__version__) != _major_minor(MANIFEST["numpy"]):
        pytest.skip(
            f"golden frames were made with numpy {MANIFEST['numpy']}; this is numpy "
            f"{np.__version__} (compared exactly only on the same major.minor)"
        )
    return golden_run()


@pytest.mark.parametrize("name", sorted(MANIFEST["kinds"]))
def test_frame_equals_golden(fresh, name):
    want = pd.read_parquet(DIR / f"{name}.parquet")
    got = getattr(fresh, name)
    assert len(got) == len(want), f"{name}: {len(got)} rows, golden has {len(want)}"
    missing = [c for c in want.columns if c not in got.columns]
    assert not missing, f"{name}: columns gone since the golden file: {missing}"
    for col in want.columns:
        k = MANIFEST["kinds"][name][col]
        assert kind(got[col]) == k, f"{name}.{col}: kind {kind(got[col])}, golden {k}"
        a, b = canonical(got[col], k), canonical(want[col], k)
        if a.dtype == object:
            bad = np.flatnonzero(a != b)
        else:
            bad = np.flatnonzero(~((a == b) | (np.isnan(a) & np.isnan(b))))
        assert not len(bad), (
            f"{name}.{col}: {len(bad)} of {len(a)} values differ from the golden frame, first at "
            f"row {bad[0]}: {a[bad[0]]!r} != {b[bad[0]]!r}"
        )
