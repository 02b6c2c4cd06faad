"""The results database of a run: one embedded DuckDB file plus Parquet partitions.

A results folder (:mod:`hubsim.experiment.outdir`) holds ``results.duckdb``. The store is
schema-agnostic: a frame's table is created from the frames the result provides (sites
with other roles bring other columns; ``union_by_name`` lines them up), with declared key
columns:

============  =============================================================================
table         rows and key columns
============  =============================================================================
runs          one per invocation (``run_id``): kind, name, seed, fingerprint, command,
              started_utc, finished_utc, status (``running``/``finished``/``interrupted``),
              hubsim version
scenarios     one per scenario (``scenario``): position, label, source, changes (JSON),
              config name and hash, horizon and warm-up days, period start, window dates
replications  one per committed replication (``scenario, replication``): seed, seconds,
              finished_utc, run_id; a row here is what makes a replication finished
kpis          ``scenario, replication, kpi``: value (long form)
<frame>       views, one per frame of a replication (``clients``, ``weekly``, ``events``,
              ``staff_activity``, ``waiting_lists``, ``caseloads``, ``staff``,
              ``queue_area``), over its Parquet partitions and showing committed
              replications only: ``scenario`` first, key ``scenario, replication,
              row_in_replication``
levels,       the run's summary (per scenario and KPI: mean, SD, t interval; paired
differences   differences from the baseline), replaced when a run finishes
cells         power-study units (``cell``): kind, payload (the unit's result), seconds
============  =============================================================================

Each replication is committed atomically: every frame but the KPIs is written as a Parquet
partition ``<frame>/<scenario>/<replication>.parquet`` (each file atomically), then its
KPIs and its ``replications`` row in one transaction. A replication whose transaction did
not commit is not finished: every read ignores its partitions, which are overwritten when
it runs again and removed by :meth:`ResultsStore.tidy_up`. One process writes (the parent,
on a writer thread that overlaps the next replication: :meth:`ResultsStore.commit_later`);
workers only return frames.

Examples
--------
>>> import tempfile, pandas as pd
>>> from hubsim.experiment.outdir import open_results_folder
>>> folder = open_results_folder(tempfile.mkdtemp() + "/r", kind="demo", fingerprint={})
>>> store = ResultsStore(folder)
>>> store.commit_replication("a", 0, {"kpis": pd.DataFrame({"replication": [0], "x": [1.5]})})
>>> store.finished()
{('a', 0)}
>>> store.kpis()[["scenario", "replication", "kpi", "value"]].to_dict("records")
[{'scenario': 'a', 'replication': 0, 'kpi': 'x', 'value': 1.5}]
>>> store.close(); folder.close()
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from hubsim.experiment.outdir import (
    TMP_PREFIX,
    OutputError,
    ResultsFolder,
    os_error_sentence,
)

__all__ = ["DB_FILES", "DB_NAME", "PARQUET_FRAMES", "ResultsStore"]

DB_NAME = "results.duckdb"
#: the files the database is kept in (the database and its write-ahead log)
DB_FILES = (DB_NAME, f"{DB_NAME}.wal")
#: frames stored as Parquet partitions (large per-row logs) rather than tables
PARQUET_FRAMES = ("events", "staff_activity")
ROW = "row_in_replication"
# rows of committed replications only (a partition whose transaction never ran is ignored)
_COMMITTED = (
    "EXISTS (SELECT 1 FROM replications r WHERE r.scenario = p.scenario "
    "AND r.replication = p.replication)"
)
_META = {
    "runs": """CREATE TABLE IF NOT EXISTS runs (
        run_id INTEGER PRIMARY KEY, kind VARCHAR, name VARCHAR, seed BIGINT,
        fingerprint VARCHAR, command VARCHAR, started_utc TIMESTAMP, finished_utc TIMESTAMP,
        status VARCHAR, hubsim VARCHAR)""",
    "scenarios": """CREATE TABLE IF NOT EXISTS scenarios (
        scenario VARCHAR PRIMARY KEY, position INTEGER, label VARCHAR, source VARCHAR,
        changes VARCHAR, config_name VARCHAR, config_hash VARCHAR, horizon_days DOUBLE,
        warmup_days DOUBLE, period_start DATE, window_start DATE, window_end DATE)""",
    "replications": """CREATE TABLE IF NOT EXISTS replications (
        scenario VARCHAR, replication INTEGER, seed BIGINT, seconds DOUBLE,
        finished_utc TIMESTAMP, run_id INTEGER, PRIMARY KEY (scenario, replication))""",
    "kpis": """CREATE TABLE IF NOT EXISTS kpis (
        scenario VARCHAR, replication INTEGER, kpi VARCHAR, value DOUBLE)""",
    "cells": """CREATE TABLE IF NOT EXISTS cells (
        cell VARCHAR PRIMARY KEY, kind VARCHAR, payload BLOB, seconds DOUBLE,
        finished_utc TIMESTAMP, run_id INTEGER)""",
}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _arrow(df: pd.DataFrame, scenario: str, replication: int, *, text: bool):
    """A replication's frame as an Arrow table with ``scenario`` (and ``replication``) first
    and :data:`ROW` last; categoricals as text when ``text`` (database tables), kept as
    dictionaries otherwise (Parquet). Building the key columns in Arrow costs a fraction of
    adding them to the pandas frame (no copy of the frame, no column of Python strings)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    table = pa.Table.from_pandas(df, preserve_index=False)
    n = table.num_rows
    scen = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array([scenario]))
    if text:
        for i, f in enumerate(table.schema):
            if pa.types.is_dictionary(f.type):
                table = table.set_column(i, f.name, pc.cast(table.column(i), pa.string()))
        scen = pc.cast(scen, pa.string())
    table = table.add_column(0, "scenario", scen)
    if "replication" not in table.column_names:
        table = table.add_column(1, "replication", pa.array(np.full(n, int(replication))))
    return table.append_column(ROW, pa.array(np.arange(n, dtype=np.int64)))


def _kpis_long(kpis: pd.DataFrame, scenario: str, replication: int):
    """A replication's one-row KPI frame as an Arrow table: scenario, replication, kpi, value."""
    import numpy as np
    import pyarrow as pa

    names = [c for c in kpis.columns if c != "replication"]
    values = pd.to_numeric(kpis[names].iloc[0], errors="coerce").to_numpy(dtype=float)
    n = len(names)
    return pa.table(
        {
            "scenario": pa.array([scenario] * n, pa.string()),
            "replication": pa.array(np.full(n, int(replication), dtype=np.int32)),
            "kpi": pa.array(names, pa.string()),
            "value": pa.array(values, pa.float64()),
        }
    )


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Categoricals as text (categories differ between replications and sites)."""
    cats = [c for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)]
    if not cats:
        return df
    out = df.copy()
    for c in cats:
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


class ResultsStore:
    """The DuckDB results database of an open :class:`~hubsim.experiment.outdir.ResultsFolder`."""

    def __init__(self, folder: ResultsFolder):
        import duckdb

        self.folder = folder
        self.path = folder.path / DB_NAME
        folder.check_free(DB_NAME)
        folder.register(*DB_FILES, *PARQUET_FRAMES)
        try:
            self.con = duckdb.connect(str(self.path))
            for sql in _META.values():
                self.con.execute(sql)
        except (OSError, duckdb.IOException) as exc:
            err = exc if isinstance(exc, OSError) else OSError(0, str(exc))
            raise OutputError(os_error_sentence(self.path, err)) from None
        self._columns: dict[str, list[str]] = {}
        self._frame_dirs: set[str] = set(PARQUET_FRAMES)
        self._dirs: set[Path] = set()
        self._viewed: set[str] = set()
        self.run_id: int | None = None
        self._views()

    # -------------------------------------------------------------------- runs
    def begin_run(self, *, kind: str, name: str, seed: int, fingerprint: str, command: str) -> int:
        """Record the start of an invocation; returns its ``run_id``."""
        from hubsim._version import __version__

        (last,) = self.con.execute("SELECT coalesce(max(run_id), 0) FROM runs").fetchone()
        self.run_id = int(last) + 1
        self.con.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 'running', ?)",
            [self.run_id, kind, name, int(seed), fingerprint, command, _now(), __version__],
        )
        return self.run_id

    def end_run(self, status: str) -> None:
        """Record how the invocation ended (``finished`` or ``interrupted``)."""
        if self.run_id is not None:
            self.con.execute(
                "UPDATE runs SET finished_utc = ?, status = ? WHERE run_id = ?",
                [_now(), status, self.run_id],
            )

    # --------------------------------------------------------------- scenarios
    def put_scenarios(self, frame: pd.DataFrame) -> None:
        """Write the scenarios table (the same on every resume: it is in the fingerprint).

        A resume finds its rows already there and adds none (no delete-and-insert of the same
        keys in one transaction, which DuckDB before 1.3 refuses as a duplicate key).
        """
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.register("_hubsim_frame", frame)
            self.con.execute(
                "INSERT INTO scenarios BY NAME SELECT f.* FROM _hubsim_frame f "
                "WHERE f.scenario NOT IN (SELECT scenario FROM scenarios)"
            )
            self.con.unregister("_hubsim_frame")
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    # ------------------------------------------------------------ replications
    def finished(self) -> set[tuple[str, int]]:
        """The (scenario, replication) pairs already committed."""
        self.flush()
        rows = self.con.execute("SELECT scenario, replication FROM replications").fetchall()
        return {(str(s), int(r)) for s, r in rows}

    def _ensure_table(self, name: str, df: Any) -> None:
        """Create ``name`` from the frame's columns (pandas or Arrow), or add those it lacks."""
        names = list(df.column_names) if hasattr(df, "column_names") else list(df.columns)
        cols = self._columns.get(name)
        if cols is None:
            found = self.con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                "ORDER BY ordinal_position",
                [name],
            ).fetchall()
            cols = [c for (c,) in found]
        if not cols:
            self.con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _hubsim_frame LIMIT 0')
            cols = names
        else:
            missing = [c for c in names if c not in cols]
            if missing:
                rows = self.con.execute("DESCRIBE SELECT * FROM _hubsim_frame").fetchall()
                types = {r[0]: r[1] for r in rows}
                for c in missing:
                    self.con.execute(f'ALTER TABLE "{name}" ADD COLUMN "{c}" {types[c]}')
                cols = [*cols, *missing]
        self._columns[name] = cols

    def _insert(self, name: str, df: Any) -> None:
        self.con.register("_hubsim_frame", df)
        try:
            self._ensure_table(name, df)
            self.con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM _hubsim_frame')
        finally:
            self.con.unregister("_hubsim_frame")

    def _partition(self, frame: str, scenario: str, replication: int) -> Path:
        return self.folder.path / frame / scenario / f"{int(replication)}.parquet"

    def _write_partition(self, frame: str, scenario: str, replication: int, df: pd.DataFrame):
        import pyarrow.parquet as pq

        dest = self._partition(frame, scenario, replication)
        if dest.parent not in self._dirs:
            dest.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(dest.parent)
        # not *.parquet, so the database's views never read a file still being written
        tmp = dest.with_name(f"{TMP_PREFIX}{os.getpid()}-{dest.name}.part")
        table = _arrow(df, scenario, replication, text=False)
        # dictionary encoding for the categorical columns only: trying it on every numeric
        # column costs more than the rest of the write
        # (no column statistics: each file is one replication of one scenario already; no
        # compression: it saves a tenth of the bytes for a tenth of the store's time)
        dicts = [f.name for f in table.schema if str(f.type).startswith("dictionary")]
        try:
            pq.write_table(
                table, tmp, use_dictionary=dicts, write_statistics=False, compression="none"
            )
            os.replace(tmp, dest)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise

    def commit_replication(
        self,
        scenario: str,
        replication: int,
        frames: Mapping[str, pd.DataFrame],
        *,
        seed: int = 0,
        seconds: float = float("nan"),
    ) -> None:
        """Store one finished replication's frames, atomically (see the module notes).

        ``frames`` are the tables of :func:`hubsim.des.simulate.run_replication`; ``kpis``
        (one wide row) is stored in long form.
        """
        try:
            for name, df in frames.items():
                if name == "kpis":
                    continue
                if name not in self._frame_dirs:
                    self.folder.check_free(name)
                    self.folder.register(name)
                    self._frame_dirs.add(name)
                self._write_partition(name, scenario, replication, df)
        except OSError as exc:
            raise OutputError(os_error_sentence(self.folder.path, exc)) from None
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            if "kpis" in frames:
                self._insert("kpis", _kpis_long(frames["kpis"], scenario, replication))
            con.execute(
                "INSERT INTO replications VALUES (?, ?, ?, ?, ?, ?)",
                [scenario, int(replication), int(seed), float(seconds), _now(), self.run_id],
            )
            con.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(Exception):
                con.execute("ROLLBACK")
            import duckdb

            if isinstance(exc, duckdb.IOException | OSError):
                err = exc if isinstance(exc, OSError) else OSError(0, str(exc).splitlines()[0])
                raise OutputError(os_error_sentence(self.path, err)) from None
            raise
        if not set(frames) - {"kpis"} <= self._viewed:
            self._views()

    def frame_names(self) -> list[str]:
        """The replication frames stored as partitions (``clients``, ``events``, ...)."""
        return sorted(
            n for n in self.folder.files
            if (self.folder.path / n).is_dir() and any((self.folder.path / n).glob("*/*.parquet"))
        )

    def _glob(self, name: str) -> str:
        return (self.folder.path / name / "*" / "*.parquet").as_posix().replace("'", "''")

    def tidy_up(self) -> None:
        """Remove Parquet partitions of replications that never committed."""
        done = self.finished()
        for frame in self.folder.files:
            root = self.folder.path / frame
            if not root.is_dir() or root.is_symlink():
                continue
            for f in root.glob("*/*.parquet"):
                try:
                    key = (f.parent.name, int(f.stem))
                except ValueError:
                    continue
                if key not in done:
                    with contextlib.suppress(OSError):
                        f.unlink()

    # ------------------------------------------------------- background commits
    def commit_later(
        self,
        scenario: str,
        replication: int,
        frames: Mapping[str, pd.DataFrame],
        *,
        seed: int = 0,
        seconds: float = float("nan"),
    ) -> None:
        """Queue a replication for :meth:`commit_replication` on the store's writer thread.

        The writer commits in the order queued (each replication still one unit), while
        the caller runs the next replication; Parquet and DuckDB release the GIL, so the
        store's work overlaps the simulation's. :meth:`flush` waits for the queue; an error
        of the writer (a full disk) is raised by the next call.
        """
        import queue
        import threading

        self._raise_writer_error()
        if self._queue is None:
            self._queue = queue.Queue(maxsize=4)
            self._thread = threading.Thread(
                target=self._writer, name="hubsim-store-writer", daemon=True
            )
            self._thread.start()
        self._queue.put((scenario, replication, frames, seed, seconds))

    _queue = None
    _thread = None
    _writer_error: BaseException | None = None

    def _writer(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                if self._writer_error is None:
                    s, r, frames, seed, seconds = item
                    self.commit_replication(s, r, frames, seed=seed, seconds=seconds)
            except BaseException as exc:  # handed to the caller's thread
                self._writer_error = exc
            finally:
                self._queue.task_done()

    def _raise_writer_error(self) -> None:
        if self._writer_error is not None:
            exc, self._writer_error = self._writer_error, None
            raise exc

    def flush(self) -> None:
        """Wait until every queued replication is committed (re-raising a writer error)."""
        if self._queue is not None:
            self._queue.join()
        self._raise_writer_error()

    def _stop_writer(self) -> None:
        if self._queue is not None:
            self._queue.join()
            self._queue.put(None)
            self._thread.join()
            self._queue = self._thread = None

    # ------------------------------------------------------------------ views
    def _views(self) -> None:
        """A view per replication frame over its Parquet partitions, committed rows only.

        Views hold the folder's absolute path; hubsim re-creates them each time it opens
        the folder (so a moved folder works again once hubsim has opened it).
        """
        names = self.frame_names()
        for frame in names:
            self.con.execute(
                f'CREATE OR REPLACE VIEW "{frame}" AS SELECT p.* FROM '
                f"read_parquet('{self._glob(frame)}', union_by_name = true) p "
                f"WHERE {_COMMITTED}"
            )
        self._viewed = set(names)

    # ------------------------------------------------------------------ reads
    def tables(self) -> list[str]:
        """Names of the tables and views in the database."""
        self.flush()
        rows = self.con.execute(
            "SELECT table_name FROM information_schema.tables ORDER BY table_name"
        ).fetchall()
        return [r for (r,) in rows]

    def query(self, sql: str, params: Iterable[Any] | None = None) -> pd.DataFrame:
        """Any SQL over the store, as a DataFrame (after the queued commits)."""
        self.flush()
        return self.con.execute(sql, list(params or [])).df()

    def frame(self, name: str, scenarios: Iterable[str] | None = None) -> pd.DataFrame:
        """A replication frame of the committed replications, in key order (empty if none).

        Read from its Parquet partitions, so it works during a run and after one alike.
        """
        if name not in self.frame_names():
            return pd.DataFrame()
        where, params = "", []
        if scenarios is not None:
            names = list(scenarios)
            where = "AND p.scenario IN (" + ", ".join("?" * len(names)) + ")"
            params = names
        df = self.query(
            f"SELECT p.* FROM read_parquet('{self._glob(name)}', union_by_name = true) p "
            f"WHERE {_COMMITTED} {where} ORDER BY p.scenario, p.replication, p.{ROW}",
            params,
        )
        return df.drop(columns=[ROW], errors="ignore").reset_index(drop=True)

    def kpis(self) -> pd.DataFrame:
        """The KPIs of every finished replication: scenario, replication, kpi, value.

        Within a replication the KPIs keep the order they were computed in (that of
        :func:`hubsim.des.kpis.replication_kpis`: roles in the configuration's order), so
        a stored run's tables list them as the in-memory run does.
        """
        return self.query(
            "SELECT k.* FROM kpis k JOIN replications r USING (scenario, replication) "
            "ORDER BY scenario, replication, k.rowid"
        )

    # ------------------------------------------------------------------ cells
    def cell(self, cell: str) -> bytes | None:
        """The stored payload of a power-study unit, or None if it has not finished."""
        row = self.con.execute("SELECT payload FROM cells WHERE cell = ?", [cell]).fetchone()
        return None if row is None else bytes(row[0])

    def commit_cell(self, cell: str, kind: str, payload: bytes, seconds: float) -> None:
        """Store one finished power-study unit (one transaction)."""
        self.con.execute(
            "INSERT OR REPLACE INTO cells VALUES (?, ?, ?, ?, ?, ?)",
            [cell, kind, payload, float(seconds), _now(), self.run_id],
        )

    def put_table(self, name: str, df: pd.DataFrame) -> None:
        """Replace a whole summary table (e.g. a power study's diagnosands) in one transaction."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.execute(f'DROP TABLE IF EXISTS "{name}"')
            self._columns.pop(name, None)
            self._insert(name, _plain(df))
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Commit what is queued, checkpoint and close the database (finished work is kept)."""
        self._stop_writer()
        if getattr(self, "con", None) is not None:
            with contextlib.suppress(Exception):
                self.con.execute("CHECKPOINT")
            self.con.close()
            self.con = None

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def changes_json(changes: Mapping[str, Any]) -> str:
    """A scenario's changes as canonical JSON (for the scenarios table)."""
    return json.dumps(dict(changes), sort_keys=True, default=str)
