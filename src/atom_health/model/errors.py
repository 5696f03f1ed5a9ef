"""Errors every layer may raise or catch."""


class ConfigError(Exception):
    """A config file or setting that cannot be used. The message is meant for the operator as is."""


class MissingExtraError(ImportError):
    """A feature whose optional dependencies are not installed; the message names the extra."""

    def __init__(self, feature: str, extra: str) -> None:
        super().__init__(
            f"{feature} needs the optional extra [{extra}]: pip install 'atom-health[{extra}]'"
        )
        self.extra = extra
