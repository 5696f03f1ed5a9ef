"""A no-delay probe target for the throughput benchmark: GET / answers ``{}``.

Run: python -m bench.target PORT  (no access log, so logging does not slow it).
"""

import sys

from aiohttp import web


async def ok(request: web.Request) -> web.Response:
    return web.json_response({})


def main() -> None:
    app = web.Application()
    app.router.add_get("/", ok)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
