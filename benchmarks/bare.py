"""The yardstick: a bare aiohttp app that answers GET and POST with fixed bytes (the emulator's
own answers, captured by run.py), and with --store also keeps each POSTed body in a dict, the
least any server that stores must do. `python benchmarks/bare.py --port P --get G --post P [--store]`."""

from __future__ import annotations

import argparse
import json
import uuid
from pathlib import Path

from aiohttp import web


def make_app(get_body: bytes, post_body: bytes, post_status: int, store: bool) -> web.Application:
    """An app whose every GET answers `get_body` and every POST `post_body` with `post_status`."""
    stored: dict[str, object] = {}

    async def get(request: web.Request) -> web.Response:
        return web.Response(body=get_body, content_type="application/json")

    async def post(request: web.Request) -> web.Response:
        raw = await request.read()
        if store:
            stored[str(uuid.uuid4())] = json.loads(raw)
        return web.Response(body=post_body, status=post_status, content_type="application/json")

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", get)
    app.router.add_route("POST", "/{tail:.*}", post)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--get", type=Path, required=True, help="file holding the GET answer's bytes")
    parser.add_argument("--post", type=Path, required=True, help="file holding the POST answer's bytes")
    parser.add_argument("--post-status", type=int, default=201)
    parser.add_argument("--store", action="store_true", help="keep every POSTed body, as a server that stores must")
    args = parser.parse_args()
    app = make_app(args.get.read_bytes(), args.post.read_bytes(), args.post_status, args.store)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
