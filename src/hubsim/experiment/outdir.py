"""Output folders that never lose anyone's files: checked before the work, written in place.

A results folder hubsim writes carries a marker file (:data:`MARKER`) listing every file
and folder hubsim put there, beside ``manifest.json``. The rules
(:func:`open_results_folder`):

- a path that does not exist is created (with its parents);
- an existing *file* (or a path under one) is refused;
- an existing folder without the marker is used only when it is empty, or with
  ``overwrite=True``; even then hubsim never deletes, renames or replaces a file it did not
  write (a name hubsim needs that is taken by someone else's file is refused);
- an existing hubsim folder whose run fingerprint (configurations, seed, window) matches is
  *resumed*; one whose fingerprint differs is refused with a sentence saying what differs,
  unless ``overwrite=True``, which removes only the files its marker lists;
- writability is checked (a probe file is created and removed) before any work, and every
  OS error (permissions, disk full, a read-only file system) becomes one sentence
  (:class:`OutputError`, exit code 2 in the CLI);
- one process writes a folder at a time (an exclusive lock on :data:`LOCK`, removed when
  the folder is closed); stale temporary files of an interrupted run (``.hubsim-tmp-*``)
  are removed on opening, and so are the staging folders earlier hubsim versions left
  beside it when killed (``.<name>.tmp-<pid>`` holding nothing or a hubsim manifest).

Single files are written atomically with :func:`atomic_write` (a temporary file in the same
folder, then ``os.replace``), so a reader never sees half a file.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> root = Path(tempfile.mkdtemp())
>>> (root / "mine").mkdir(); _ = (root / "mine" / "notes.txt").write_text("keep")
>>> try:
...     open_results_folder(root / "mine", kind="experiment", fingerprint={"seed": 1})
... except OutputError as exc:
...     print(str(exc).split(":")[1].strip()[:40])
the folder exists and hubsim did not wri
>>> with open_results_folder(root / "new", kind="experiment", fingerprint={"seed": 1}) as f:
...     f.resumed
False
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import fnmatch
import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubsim._version import __version__
from hubsim.errors import HubsimError

__all__ = [
    "LOCK",
    "MARKER",
    "TMP_PREFIX",
    "OutputError",
    "ResultsFolder",
    "atomic_write",
    "fingerprint_hash",
    "open_results_folder",
    "os_error_sentence",
]

MARKER = ".hubsim-results.json"
LOCK = ".hubsim.lock"
TMP_PREFIX = ".hubsim-tmp-"


class OutputError(HubsimError):
    """The output folder cannot be used (refused, not writable, or an OS error).

    The message is one sentence naming the folder and what was expected.
    """

    def __init__(self, message: str):
        self.problems = [message]
        super().__init__(message)


def os_error_sentence(path: Path | str, exc: OSError, doing: str = "writing") -> str:
    """One sentence for an OS error while ``doing`` something with ``path``."""
    reasons = {
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
        errno.ENOSPC: "no space left on the device",
        errno.EDQUOT: "disk quota exceeded",
        errno.EROFS: "the file system is read-only",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.EISDIR: "it is a folder",
        errno.ENAMETOOLONG: "the name is too long",
    }
    why = reasons.get(exc.errno or 0, exc.strerror or str(exc))
    return (
        f"{path}: {doing} failed: {why}; expected a folder hubsim can write to "
        "(choose another --out)."
    )


def fingerprint_hash(fingerprint: Mapping[str, Any]) -> str:
    """A stable hash of a run's fingerprint (key order does not matter)."""
    text = json.dumps(fingerprint, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and rename it."""
    path = Path(path)
    tmp = path.with_name(f"{TMP_PREFIX}{os.getpid()}-{path.name}")
    mode = "wb" if isinstance(data, bytes) else "w"
    try:
        with open(tmp, mode, **({} if isinstance(data, bytes) else {"encoding": "utf-8"})) as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            out += [f"{key}.{d}" for d in _differences(a, b)]
        else:
            out.append(key)
    return out


#: a folder's kind as a noun phrase in the refusal sentence
_KIND_NOUNS = {"experiment": "an experiment", "run": "a run", "power": "a power study"}


def _kind_noun(kind: Any) -> str:
    """``"run"`` -> ``"a run"``, ``"experiment"`` -> ``"an experiment"`` (for sentences).

    Examples
    --------
    >>> _kind_noun("run"), _kind_noun("experiment"), _kind_noun("power"), _kind_noun(None)
    ('a run', 'an experiment', 'a power study', 'results of an unknown kind')
    """
    if not kind:
        return "results of an unknown kind"
    text = str(kind)
    return _KIND_NOUNS.get(text, f"{'an' if text[0].lower() in 'aeiou' else 'a'} {text}")


def _what_differs(names: list[str]) -> str:
    """``["seed"]`` -> ``"its seed differs"``; plural nouns and lists take ``differ``.

    Examples
    --------
    >>> _what_differs(["seed"]), _what_differs(["simulations"])
    ('its seed differs', 'its simulations differ')
    >>> _what_differs(["seed", "horizon", "hubsim version"])
    'its seed, horizon and hubsim version differ'
    """
    if not names:
        return "its fingerprint differs"
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    one = names[0]
    plural = len(names) > 1 or (one.endswith("s") and not one.endswith("ss"))
    return f"its {listed} {'differ' if plural else 'differs'}"


@dataclass
class ResultsFolder:
    """An open results folder (locked; see :func:`open_results_folder`)."""

    path: Path
    kind: str
    fingerprint: dict[str, Any]
    resumed: bool
    files: list[str] = field(default_factory=list)
    _lock: Any = None

    def register(self, *names: str) -> None:
        """Record files or folders (relative names) as hubsim's, in the marker."""
        changed = False
        for n in names:
            if n not in self.files:
                self.files.append(n)
                changed = True
        if changed:
            self._write_marker()

    def _write_marker(self) -> None:
        marker = {
            "written_by": "hubsim",
            "hubsim": __version__,
            "kind": self.kind,
            "fingerprint": self.fingerprint,
            "fingerprint_hash": fingerprint_hash(self.fingerprint),
            "files": sorted(self.files),
        }
        try:
            atomic_write(self.path / MARKER, json.dumps(marker, indent=2, default=str))
        except OSError as exc:
            raise OutputError(os_error_sentence(self.path, exc)) from None

    def check_free(self, name: str) -> None:
        """Refuse to write ``name`` if it exists and hubsim did not write it."""
        p = self.path / name
        if (p.exists() or p.is_symlink()) and name not in self.files:
            raise OutputError(
                f"{p}: exists and hubsim did not write it; expected hubsim's own output "
                "names to be free (move the file, or choose another --out)."
            )

    def write(self, name: str, data: bytes | str) -> Path:
        """Write one file atomically (registered first, so an interruption leaves no orphan)."""
        self.check_free(name)
        self.register(name)
        try:
            atomic_write(self.path / name, data)
        except OSError as exc:
            raise OutputError(os_error_sentence(self.path / name, exc)) from None
        return self.path / name

    def close(self) -> None:
        if self._lock is not None:
            _release_lock(self.path, self._lock)
            self._lock = None

    def __enter__(self) -> ResultsFolder:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _taken(path: Path, writes: Iterable[str], ours: set[str]) -> list[str]:
    """The names in ``writes`` (or matching its patterns) that exist in ``path`` and are
    not hubsim's (``ours``), sorted."""
    try:
        present = {p.name for p in path.iterdir()} - ours - {LOCK, MARKER}
    except OSError as exc:
        raise OutputError(os_error_sentence(path, exc, "reading the folder")) from None
    return sorted(n for n in present if any(fnmatch.fnmatchcase(n, w) for w in writes))


def _read_marker(path: Path) -> dict[str, Any] | None:
    m = path / MARKER
    if not m.is_file():
        return None
    try:
        data = json.loads(m.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("written_by") == "hubsim" else None


def _hubsim_file_in(folder: Path, f: Path) -> bool:
    """Whether ``f``, inside a folder hubsim listed, is a file hubsim writes there: a
    replication's partition (``<scenario>/<replication>.parquet``) or a temporary."""
    if f.name.startswith(TMP_PREFIX):
        return True
    rel = f.relative_to(folder).parts
    return len(rel) == 2 and f.suffix == ".parquet" and f.stem.isdigit()


def _remove_ours(path: Path, names: list[str]) -> None:
    """Remove what hubsim listed in its marker, and nothing else.

    A listed file is removed. A listed folder loses only the files hubsim writes in it
    (:func:`_hubsim_file_in`; the figures it writes there are listed one by one), then
    whichever of its folders are left empty: a file a user put in it stays, with the
    folders that lead to it.
    """
    root = path.resolve()
    inside = []
    for n in names:
        p = path / n
        if not p.resolve().is_relative_to(root) or p.resolve() == root:
            continue  # never follow a listed name out of the folder
        inside.append(p)
    for p in inside:  # the listed files first (a figure in a listed folder, say)
        if p.is_symlink() or p.is_file():
            p.unlink()
    for p in inside:
        if not p.is_dir() or p.is_symlink():
            continue
        for f in sorted(p.rglob("*")):
            if (f.is_file() or f.is_symlink()) and _hubsim_file_in(p, f):
                f.unlink()
        for d in sorted((d for d in p.rglob("*") if d.is_dir() and not d.is_symlink()),
                        key=lambda d: len(d.parts), reverse=True):
            with contextlib.suppress(OSError):
                d.rmdir()  # only when empty
        with contextlib.suppress(OSError):
            p.rmdir()


def _clean_old_staging(path: Path) -> None:
    """Remove the staging folders earlier hubsim versions left beside ``path`` when killed
    (``.<name>.tmp-<pid>``, ``.<name>.old-<pid>-<ns>``): only those holding nothing or a
    hubsim manifest, so a user's own folder of that unlikely name is never touched."""
    import re

    pattern = re.compile(rf"^\.{re.escape(path.name)}\.(tmp|old)-\d+(-\d+)?$")
    try:
        siblings = list(path.parent.iterdir())
    except OSError:
        return
    for p in siblings:
        if not (pattern.match(p.name) and p.is_dir() and not p.is_symlink()):
            continue
        names = {c.name for c in p.iterdir()}
        if not names or "manifest.json" in names:
            shutil.rmtree(p, ignore_errors=True)


def _clean_temporaries(path: Path, ours: list[str]) -> None:
    """Remove temporary files of an interrupted run: in the folder and in hubsim's own
    sub-folders (never in a folder hubsim did not write)."""
    found = list(path.glob(f"{TMP_PREFIX}*"))
    for n in ours:
        sub = path / n
        if sub.is_dir() and not sub.is_symlink():
            found += list(sub.rglob(f"{TMP_PREFIX}*"))
    for p in found:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                p.unlink()


def open_results_folder(
    out: str | os.PathLike[str],
    *,
    kind: str,
    fingerprint: Mapping[str, Any],
    overwrite: bool = False,
    describe: Mapping[str, str] | None = None,
    writes: Iterable[str] = (),
) -> ResultsFolder:
    """Check, lock and open (or create) a results folder before any work.

    Parameters
    ----------
    out : path-like
        The folder.
    kind : str
        What is written (``"experiment"``, ``"power"``, ``"run"``); a hubsim folder of
        another kind is refused like one of another fingerprint.
    fingerprint : mapping
        What fixes the results (resolved configuration hashes, seed, window...). A folder
        written with the same fingerprint is resumed.
    overwrite : bool
        Use a non-empty folder hubsim did not write (its files are kept; none is replaced),
        or start a hubsim folder of another run afresh (removing only hubsim's files).
    describe : mapping, optional
        Readable names of fingerprint keys for the refusal sentence.
    writes : iterable of str, optional
        The names (files, folders or ``fnmatch`` patterns such as ``power_*.png``) the
        caller will write at the top of the folder. One that already exists and hubsim did
        not write is refused here, before any work, rather than when the work is done.

    Returns
    -------
    ResultsFolder
        Locked until closed (use it as a context manager).

    Raises
    ------
    OutputError
        One sentence: the path is a file, the folder is another user's or another run's,
        it is in use by another hubsim process, or it cannot be written.
    """
    path = Path(out)
    fingerprint = json.loads(json.dumps(dict(fingerprint), sort_keys=True, default=str))
    for parent in [path, *path.parents]:
        if parent.exists() and not parent.is_dir():
            what = "is a file" if parent == path else f"is under {parent}, which is a file"
            raise OutputError(
                f"{path}: {what}; expected a folder for the results (a new one, or one "
                "hubsim wrote)."
            )
        if parent.exists():
            break
    marker = _read_marker(path) if path.is_dir() else None
    files: list[str] = []
    resumed = False
    remove: list[str] = []
    if path.is_dir():
        # every refusal comes before hubsim writes anything into the folder
        try:
            entries = [p.name for p in path.iterdir() if p.name not in (LOCK, MARKER)]
        except OSError as exc:
            raise OutputError(os_error_sentence(path, exc, "reading the folder")) from None
        if marker is None:
            others = [n for n in entries if not n.startswith(TMP_PREFIX)]
            if others and not overwrite:
                shown = ", ".join(sorted(others)[:3]) + (", ..." if len(others) > 3 else "")
                raise OutputError(
                    f"{path}: the folder exists and hubsim did not write it (it holds "
                    f"{shown}); expected a new or empty folder, or --overwrite to add "
                    "hubsim's files beside yours (none of yours is deleted or replaced)."
                )
        else:
            files = [str(n) for n in marker.get("files", [])]
            if marker.get("kind") == kind and marker.get("fingerprint") == fingerprint:
                resumed = True
            elif not overwrite:
                if marker.get("kind") != kind:
                    why = f"it holds {_kind_noun(marker.get('kind'))}, not {_kind_noun(kind)}"
                else:
                    diff = _differences(marker.get("fingerprint") or {}, fingerprint)
                    names = list(
                        dict.fromkeys((describe or {}).get(d.split(".")[0], d) for d in diff)
                    )
                    why = _what_differs(names)
                raise OutputError(
                    f"{path}: holds hubsim results of another run ({why}); expected the "
                    "same command to resume it, a new --out folder, or --overwrite to "
                    "replace hubsim's files there."
                )
            else:
                remove, files = files, []
    if path.is_dir():
        taken = _taken(path, writes, set(files) | set(remove))
        if taken:
            shown = ", ".join(taken[:3]) + (", ..." if len(taken) > 3 else "")
            raise OutputError(
                f"{path}: holds {shown}, which hubsim did not write and would write itself; "
                "expected those names free (move them, or choose another --out; none of "
                "yours is deleted or replaced)."
            )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(os_error_sentence(path, exc, "creating the folder")) from None
    lock = _acquire_lock(path)
    try:
        if remove:
            try:
                _remove_ours(path, remove)
            except OSError as exc:
                raise OutputError(
                    os_error_sentence(path, exc, "removing hubsim's old files")
                ) from None
            # a folder of hubsim's that keeps a user's file stays hubsim's folder
            files = [n for n in remove if (path / n).is_dir() and not (path / n).is_symlink()]
        _clean_temporaries(path, files)
        _clean_old_staging(path)
        probe = path / f"{TMP_PREFIX}probe-{os.getpid()}"
        try:
            probe.write_bytes(b"hubsim")
            probe.unlink()
        except OSError as exc:
            raise OutputError(os_error_sentence(path, exc)) from None
        folder = ResultsFolder(path, kind, fingerprint, resumed, files, lock)
        folder._write_marker()
        return folder
    except BaseException:
        _release_lock(path, lock)
        raise


def _acquire_lock(path: Path) -> Any:
    """Open and exclusively lock ``path / LOCK`` (one writer per folder).

    The lock file is removed when the folder is closed (:func:`_release_lock`), so a
    process can win the lock on a file another has just unlinked: the lock counts only
    while the name still points at the locked file, which is checked after locking.
    """
    for _ in range(100):
        try:
            lock = open(path / LOCK, "a+")  # held open (and locked) until close()
        except OSError as exc:
            raise OutputError(os_error_sentence(path, exc)) from None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            raise OutputError(
                f"{path}: another hubsim process is writing this folder; expected it to "
                "finish first (or choose another --out)."
            ) from None
        try:
            current = os.stat(path / LOCK).st_ino
        except FileNotFoundError:
            current = None
        if current == os.fstat(lock.fileno()).st_ino:
            return lock
        lock.close()  # the file was removed by the writer that held it: lock the new one
    raise OutputError(
        f"{path}: could not lock the folder (its lock file kept changing); expected one "
        "hubsim process at a time to write it."
    )


def _release_lock(path: Path, lock: Any) -> None:
    """Remove the lock file while still holding the lock, then release it, so a finished
    folder holds only what its marker lists."""
    with contextlib.suppress(OSError):
        if os.stat(path / LOCK).st_ino == os.fstat(lock.fileno()).st_ino:
            os.unlink(path / LOCK)
    with contextlib.suppress(OSError):
        fcntl.flock(lock, fcntl.LOCK_UN)
    with contextlib.suppress(OSError):
        lock.close()
