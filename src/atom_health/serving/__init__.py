"""How atom-health runs uvicorn: a server in a background thread (:mod:`.threads`), and the
bounded HTTP protocol ``serve`` uses (:mod:`.bounded`) with its response cycle
(:mod:`.cycle`)."""

from atom_health.serving.bounded import bounded_server_options
from atom_health.serving.threads import ThreadedServer, free_port

__all__ = ["ThreadedServer", "bounded_server_options", "free_port"]
