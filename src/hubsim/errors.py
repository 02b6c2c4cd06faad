"""Exceptions raised by hubsim for bad input."""

from __future__ import annotations


class HubsimError(Exception):
    """Base class of every error hubsim raises on purpose."""


class ConfigError(HubsimError, ValueError):
    """A configuration or experiment file is invalid.

    The message is one sentence per problem naming the file, the line, the field path and
    what was expected. ``problems`` keeps the individual sentences.
    """

    def __init__(self, problems: list[str] | str):
        if isinstance(problems, str):
            problems = [problems]
        self.problems: list[str] = list(problems)
        super().__init__("\n".join(self.problems))
