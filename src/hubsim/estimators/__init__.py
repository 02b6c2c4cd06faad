"""Quasi-experimental estimators that run on plain DataFrames and return :class:`Estimate`."""

from hubsim.estimators._estimate import Estimate

__all__ = ["Estimate"]
