"""The configurations and experiments that ship with hubsim, by name.

The site configurations of Allsopp et al. 2024 (Sites A-D), the calibrated defaults they
extend, usual care (a region without a hub), the planners' scenarios, the validation
configurations and the shipped experiments are package data (``hubsim/data``), so an
installed hubsim runs them without a source checkout::

    hubsim run site_d
    hubsim power naturalistic_evaluation --size smoke
    hubsim validate site_d usual_care

A *name* is a file's stem (``site_d`` for ``configs/sites/site_d.yaml``). A power study
``power_<x>.yaml`` also answers to ``<x>``. Anything that contains a folder separator, ends
in ``.yaml``/``.yml`` or names an existing file is a path instead, so your own files
always win over a shipped name. The repository's top-level ``configs/`` and
``experiments/*.yaml`` are links to these same files (one copy of each); relative
``extends:`` and ``effect_from_des: hub:`` paths resolve in the checkout and in an
installed wheel alike, because both keep the same layout.

Examples
--------
>>> from hubsim.resources import config_path, config_names, experiment_path
>>> config_path("site_d").relative_to(data_path()).as_posix()
'configs/sites/site_d.yaml'
>>> "usual_care" in config_names()
True
>>> experiment_path("naturalistic_evaluation").name
'power_naturalistic_evaluation.yaml'
"""

from __future__ import annotations

import difflib
import os
from functools import cache
from importlib.resources import files
from pathlib import Path

from hubsim.errors import ConfigError

__all__ = [
    "config_names",
    "config_path",
    "data_path",
    "experiment_names",
    "experiment_path",
    "is_bare_word",
    "is_name",
    "resolve_config",
    "resolve_experiment",
    "shipped_path",
]

_SUFFIXES = (".yaml", ".yml")
#: the prefix a shipped power study may be named without (``hubsim power <x>``)
POWER_PREFIX = "power_"


def data_path() -> Path:
    """The folder holding the shipped ``configs/`` and ``experiments/``.

    Raises
    ------
    hubsim.HubsimError
        If hubsim is imported from an archive rather than installed as files (the
        configurations refer to each other by relative path, so they must be on disk).
    """
    root = files("hubsim") / "data"
    if not isinstance(root, Path):
        raise ConfigError(
            f"hubsim's data ({root}) is not a folder on disk; expected hubsim installed as "
            "files (pip install), not imported from an archive."
        )
    return root


@cache
def _index(kind: str) -> dict[str, Path]:
    folder = data_path() / kind
    out: dict[str, Path] = {}
    for p in sorted(folder.rglob("*")):
        if p.suffix not in _SUFFIXES or not p.is_file():
            continue
        if p.stem in out:
            raise ConfigError(
                f"{p}: shipped {kind} name {p.stem!r} is also {out[p.stem]}; expected each "
                "shipped file to have its own name."
            )
        out[p.stem] = p
    return out


def config_names() -> dict[str, Path]:
    """Every shipped service configuration: name -> file, sorted by name.

    Examples
    --------
    >>> sorted(config_names())[:4]
    ['hub', 'mmc', 'site_a', 'site_b']
    """
    return dict(sorted(_index("configs").items()))


def experiment_names() -> dict[str, Path]:
    """Every shipped experiment file (scenario experiments and power studies): name -> file.

    Examples
    --------
    >>> list(experiment_names())
    ['four_sites', 'power_naturalistic_evaluation', 'site_d_staffing']
    """
    return dict(sorted(_index("experiments").items()))


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _lookup(name: str, kind: str, index: dict[str, Path], aliases: dict[str, str]) -> Path:
    if name in index:
        return index[name]
    if name in aliases:
        return index[aliases[name]]
    known = sorted([*index, *aliases])
    hint = _did_you_mean(name, known)
    raise ConfigError(
        f"{name}: not a file and not the name of a shipped {kind}; expected a YAML path or "
        f"one of: {', '.join(known)}{hint}."
    )


def config_path(name: str) -> Path:
    """The file of the shipped service configuration ``name`` (e.g. ``"site_d"``).

    Raises
    ------
    hubsim.ConfigError
        If no shipped configuration has that name (the message lists them).
    """
    return _lookup(name, "configuration", config_names(), {})


def _experiment_aliases() -> dict[str, str]:
    names = experiment_names()
    return {
        n.removeprefix(POWER_PREFIX): n
        for n in names
        if n.startswith(POWER_PREFIX) and n.removeprefix(POWER_PREFIX) not in names
    }


def experiment_path(name: str) -> Path:
    """The file of the shipped experiment ``name``; ``power_<x>`` may be named ``<x>``.

    Raises
    ------
    hubsim.ConfigError
        If no shipped experiment has that name (the message lists them).
    """
    return _lookup(name, "experiment", experiment_names(), _experiment_aliases())


def shipped_path(name: str) -> Path:
    """The file of any shipped configuration, experiment or power study called ``name``
    (``hubsim validate`` takes all three).

    Raises
    ------
    hubsim.ConfigError
        If nothing shipped has that name (the message lists the configurations and the
        experiments, with the closest name).

    Examples
    --------
    >>> shipped_path("site_d").name, shipped_path("site_d_staffing").name
    ('site_d.yaml', 'site_d_staffing.yaml')
    """
    configs, experiments, aliases = config_names(), experiment_names(), _experiment_aliases()
    if name in configs:
        return configs[name]
    if name in experiments or name in aliases:
        return experiment_path(name)
    hint = _did_you_mean(name, [*configs, *experiments, *aliases])
    raise ConfigError(
        f"{name}: not a file and not the name of a shipped configuration or experiment; "
        f"expected a YAML path, a configuration ({', '.join(configs)}) or an experiment "
        f"({', '.join(sorted([*experiments, *aliases]))}){hint}."
    )


def is_bare_word(text: str) -> bool:
    """Whether ``text`` could be a shipped name: no folder separator, no YAML suffix.

    Examples
    --------
    >>> is_bare_word("site_d"), is_bare_word("../sites/site_d.yaml"), is_bare_word("x.yml")
    (True, False, False)
    """
    if not text or any(sep in text for sep in ("/", "\\", os.sep)):
        return False
    return not text.lower().endswith(_SUFFIXES)


def is_name(ref: str | os.PathLike[str]) -> bool:
    """Whether ``ref`` is read as a shipped name rather than as a path.

    A bare word (no folder separator, no ``.yaml``/``.yml`` suffix) that is not an
    existing file is a name; anything else is a path.

    Examples
    --------
    >>> is_name("site_d"), is_name("configs/sites/site_d.yaml"), is_name("site_d.yaml")
    (True, False, False)
    """
    text = os.fspath(ref)
    return is_bare_word(text) and not Path(text).exists()


def resolve_config(ref: str | os.PathLike[str]) -> Path:
    """A configuration given as a path or as a shipped name, as a path.

    Examples
    --------
    >>> resolve_config("site_d") == config_path("site_d")
    True
    >>> resolve_config("my/own.yaml").as_posix()
    'my/own.yaml'
    """
    return config_path(os.fspath(ref)) if is_name(ref) else Path(ref)


def resolve_experiment(ref: str | os.PathLike[str]) -> Path:
    """An experiment given as a path or as a shipped name, as a path.

    Examples
    --------
    >>> resolve_experiment("naturalistic_evaluation") == experiment_path(
    ...     "power_naturalistic_evaluation"
    ... )
    True
    """
    return experiment_path(os.fspath(ref)) if is_name(ref) else Path(ref)
