"""The integration catalog: built-in entries (data) plus the user's overrides."""

from atom_health.catalog.loader import Catalog, build_catalog
from atom_health.catalog.model import Integration, StatusFormat
from atom_health.model.vocabulary import Criticality

__all__ = ["Catalog", "Criticality", "Integration", "StatusFormat", "build_catalog"]
