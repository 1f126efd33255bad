"""Replacement proposals as a client sends them (contract section 11), for the tests that
drive them over real sockets."""

from __future__ import annotations

import json

from websockets.asyncio.client import ClientConnection

from support.app_server import frame_of

MILK = {"item": "Organic 2% milk", "options": ["Organic whole milk", "Store 2% milk"]}
MILK_TEXT = "Alex: Organic 2% milk is out. Reply 1 for Organic whole milk, 2 for Store 2% milk, or 0 for no replacement."


async def propose(ws: ClientConnection, order_id: str, client_id: str, **fields) -> None:
    """The shopper proposes MILK (or what `fields` put instead)."""
    frame = {"type": "propose", "order_id": order_id, "client_id": client_id, **MILK, **fields}
    await ws.send(json.dumps(frame))


async def answer(ws: ClientConnection, order_id: str, client_id: str, seq: int, choice: int) -> None:
    frame = {"type": "answer", "order_id": order_id, "client_id": client_id, "seq": seq, "choice": choice}
    await ws.send(json.dumps(frame))


async def message_from(ws: ClientConnection, sender: str) -> dict:
    """The next message frame's message from `sender` (a socket also hears its own side's)."""
    while (message := (await frame_of(ws, "message"))["message"])["from"] != sender:
        pass
    return message
