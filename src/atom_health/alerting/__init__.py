"""Alerting: rules, notifiers (one module each), and the dispatcher that delivers."""
