"""``python -m atom_health`` runs the ``atom-health`` command."""

from atom_health.cli import main

main()
