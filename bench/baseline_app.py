"""The framework floor: a bare Starlette route returning a constant JSON body.

Run: python -m bench.baseline_app PORT, served the way ``atom-health serve`` serves
(uvicorn's defaults, no access log, a pre-bound socket with TCP_NODELAY), so the two compare.
``GET /lag`` tells its event loop's worst lag lately, sampled as atom-health samples its own.
"""

import asyncio
import contextlib
import socket
import sys
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from atom_health.sinks.metrics import sample_loop_lag

worst_lag = [0.0]


async def config(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


async def lag(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(worst_lag[0]))


@contextlib.asynccontextmanager
async def sampling(app: Starlette) -> AsyncIterator[None]:
    def show(value: float) -> None:
        worst_lag[0] = value

    sampler = asyncio.create_task(sample_loop_lag(show))
    yield
    sampler.cancel()


app = Starlette(routes=[Route("/config", config), Route("/lag", lag)], lifespan=sampling)


def main() -> None:
    listener = socket.create_server(("127.0.0.1", int(sys.argv[1])))
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[listener])


if __name__ == "__main__":
    main()
