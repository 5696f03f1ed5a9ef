"""The framework floor: a bare Starlette route returning a constant JSON body.

Run: python -m bench.baseline_app PORT, served the way ``atom-health serve`` serves
(uvicorn's defaults, no access log, a pre-bound socket with TCP_NODELAY), so the two compare.
"""

import socket
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def config(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


app = Starlette(routes=[Route("/config", config)])


def main() -> None:
    listener = socket.create_server(("127.0.0.1", int(sys.argv[1])))
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[listener])


if __name__ == "__main__":
    main()
