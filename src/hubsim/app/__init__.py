"""The planner app: a Streamlit front end over hubsim's public API (``hubsim app``).

Two pages: *Plan a hub* (pick Sites A-D or upload a YAML, pull the planner's levers, run
against the unchanged hub on common random numbers, read the paired differences with
their intervals, download the scenario, the results and the figures) and *Evaluation*
(power, bias and coverage of a regional evaluation with their Monte-Carlo SEs). Every
number on the pages comes from the public API (:mod:`hubsim.config.levers`,
:func:`hubsim.experiment.simulate_in_steps`, :func:`hubsim.experiment.paired_differences`,
:mod:`hubsim.report.planner`, :func:`hubsim.power.diagnose`, ...); this package holds the
widgets, the background runs and nothing of the model. Nothing else in hubsim imports it.

This module needs no Streamlit: it only builds the command that starts the server.

Examples
--------
>>> cmd = streamlit_command(8765)
>>> cmd[1:4], cmd[4].endswith("main.py")
(['-m', 'streamlit', 'run'], True)
>>> "--server.address=127.0.0.1" in cmd and "--server.port=8765" in cmd
True
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import time
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent
#: Largest upload the server accepts (megabytes; the YAML loader's own bound is 1 MiB).
MAX_UPLOAD_MB = 1
TMP_ENV = "HUBSIM_APP_TMP"


def main_script() -> Path:
    """The Streamlit entry point (``streamlit run`` takes it)."""
    return APP_DIR / "main.py"


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a TCP server can listen on ``host:port`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, int(port)))
        except OSError:
            return False
    return True


def free_port(preferred: int | None = 8501, host: str = "127.0.0.1") -> int:
    """``preferred`` when it is free, else a port the operating system picks."""
    if preferred is not None and port_is_free(preferred, host):
        return int(preferred)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def streamlit_command(port: int, *, host: str = "127.0.0.1") -> list[str]:
    """The ``python -m streamlit run`` command of the app on ``host:port``.

    The server listens on ``host`` only (localhost by default), sends no usage statistics,
    watches no files, and refuses uploads over :data:`MAX_UPLOAD_MB` MB. It runs headless
    (a server that is not headless asks for an e-mail address on its first start, and
    reads stdin for it): :func:`open_when_up` opens the user's browser instead.
    """
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(main_script()),
        f"--server.port={int(port)}",
        f"--server.address={host}",
        "--server.headless=true",
        f"--server.maxUploadSize={MAX_UPLOAD_MB}",
        "--server.fileWatcherType=none",
        "--server.runOnSave=false",
        "--browser.gatherUsageStats=false",
        f"--browser.serverAddress={host}",
        f"--browser.serverPort={int(port)}",
        "--global.developmentMode=false",
        "--client.toolbarMode=minimal",
        "--theme.base=light",
    ]


def open_when_up(url: str, timeout: float = 60.0) -> None:
    """Open ``url`` in the user's web browser once the server there is healthy, from a
    forked child process, so that the caller can go on to become the server (``exec``).
    Where processes cannot fork, the browser is opened at once (the page retries)."""
    import webbrowser

    if not hasattr(os, "fork"):
        webbrowser.open(url)
        return
    if os.fork() != 0:
        return
    try:  # the child: wait for the server, open the page, leave
        from urllib.request import urlopen

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        webbrowser.open(url)
                        break
            except OSError:
                time.sleep(0.3)
    finally:
        os._exit(0)


def app_environment(tmp: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """The server's environment: its own temporary folder (``HUBSIM_APP_TMP``, also
    ``TMPDIR`` and matplotlib's cache), so the app writes nowhere else."""
    folder = Path(tmp) if tmp is not None else Path(tempfile.mkdtemp(prefix="hubsim-app-"))
    env = dict(os.environ)
    env[TMP_ENV] = str(folder)
    env["TMPDIR"] = str(folder)
    env["MPLCONFIGDIR"] = str(folder / "matplotlib")
    env["MPLBACKEND"] = "Agg"
    return env
