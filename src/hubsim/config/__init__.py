"""Service configuration: schema, distributions, YAML loading and variants (:func:`vary`)."""

from hubsim.config.distributions import (
    Distribution,
    Empirical,
    Exponential,
    Fixed,
    Gamma,
    Lognormal,
    Uniform,
)
from hubsim.config.loader import (
    load_config,
    load_config_data,
    load_config_text,
    validate_data,
)
from hubsim.config.schema import (
    INSTRUMENTS,
    LATENT_DOMAINS,
    STEP_IDS,
    STEP_LADDER,
    ServiceConfig,
)
from hubsim.config.variants import config_delta, config_yaml, vary

__all__ = [
    "INSTRUMENTS",
    "LATENT_DOMAINS",
    "STEP_IDS",
    "STEP_LADDER",
    "Distribution",
    "Empirical",
    "Exponential",
    "Fixed",
    "Gamma",
    "Lognormal",
    "ServiceConfig",
    "Uniform",
    "config_delta",
    "config_yaml",
    "load_config",
    "load_config_data",
    "load_config_text",
    "validate_data",
    "vary",
]
