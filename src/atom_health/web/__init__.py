"""HTTP surfaces: the FastAPI app (and, later, the Flask blueprint and dashboard)."""
