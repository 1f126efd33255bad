"""The benchmark's baseline: a bare WebSocket relay on the same stack (Starlette, uvicorn)
with no gateway logic at all. Text from one side of a pair goes to the other side.

    python bench/relay.py --port 8101
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from gateway.cli import listening_socket

_pairs: dict[str, dict[str, WebSocket]] = {}


async def relay(websocket: WebSocket) -> None:
    pair, side = websocket.path_params["pair"], websocket.path_params["side"]
    await websocket.accept()
    sockets = _pairs.setdefault(pair, {})
    sockets[side] = websocket
    other = "b" if side == "a" else "a"
    try:
        while True:
            text = await websocket.receive_text()
            peer = sockets.get(other)
            if peer is not None:
                await peer.send_text(text)
            await websocket.send_text('{"type":"ack"}')
    except WebSocketDisconnect:
        sockets.pop(side, None)


async def healthz(request) -> PlainTextResponse:
    return PlainTextResponse("ok")


app = Starlette(routes=[Route("/healthz", healthz), WebSocketRoute("/relay/{pair}/{side}", relay)])

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    # The gateway's own listener (Nagle off), so the baseline is not handicapped by it.
    sock = listening_socket("127.0.0.1", parser.parse_args().port)
    uvicorn.Server(uvicorn.Config(app, log_level="info")).run(sockets=[sock])
