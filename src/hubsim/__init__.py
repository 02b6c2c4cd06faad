"""hubsim: simulate staff mental-health and wellbeing hubs and power their evaluation.

The public entry points are re-exported here lazily, so ``import hubsim`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from hubsim._version import __version__
from hubsim.errors import ConfigError, HubsimError

_LAZY = {
    "load_config": "hubsim.config",
    "ServiceConfig": "hubsim.config",
    "simulate": "hubsim.des",
    "SimulationResult": "hubsim.des",
    "RegionalDesign": "hubsim.regional",
    "Estimate": "hubsim.estimators",
    "diagnose": "hubsim.power",
}

__all__ = ["ConfigError", "HubsimError", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hubsim' has no attribute {name!r}")
    return getattr(import_module(module), name)
