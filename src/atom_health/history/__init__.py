"""History: what happened to each integration over time, and the arithmetic on it."""
