"""Errors every layer may raise or catch."""


class ConfigError(Exception):
    """A config file or setting that cannot be used. The message is meant for the operator as is."""
