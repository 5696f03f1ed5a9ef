"""The steps of one check: configuration, then live API access."""
