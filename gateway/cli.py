"""`gateway serve` and `gateway templates`."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from collections.abc import Sequence

import msgspec

from gateway import settings as settings_module
from gateway.settings import ConfigError, Settings

# Bytes in one WebSocket frame; uvicorn closes the socket (1009) on a bigger one. Generous, so
# an over-long chat text gets its `too_long` error frame rather than a closed socket.
MAX_WS_FRAME = 1024 * 1024
# Chat frames are a few hundred bytes: compressing them costs more CPU than it saves, and
# each socket's zlib state costs ~100 kB of memory, which adds up across many sockets.
# Seconds a stopping node waits for open connections before closing them; sockets reconnect
# to another node and resume with after=, so there is no reason to wait long.
GRACEFUL_SHUTDOWN = 10
WS_OPTIONS = {"ws_max_size": MAX_WS_FRAME, "ws_per_message_deflate": False}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gateway", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the gateway")
    serve.add_argument("--config", help="TOML file (default: $GATEWAY_CONFIG, else development defaults)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    report = commands.add_parser("templates", help="print each status text with its length and segments")
    report.add_argument("--config")
    report.add_argument("--retailer")
    args = parser.parse_args(argv)

    environ = dict(os.environ)
    config_path = args.config or environ.get("GATEWAY_CONFIG")
    if args.command == "serve" and not config_path and "GATEWAY_PUBLIC_URL" not in environ:
        # Development defaults: links point at where this process listens.
        environ["GATEWAY_PUBLIC_URL"] = f"http://{_display_host(args.host)}:{args.port}"
    try:
        settings, generated = settings_module.load(config_path, environ)
    except ConfigError as exc:
        print(f"gateway: bad config: {exc}", file=sys.stderr)
        return 2
    if args.command == "templates":
        from gateway.template_report import report as render_report

        try:
            print(render_report(settings, args.retailer))
        except ValueError as exc:
            print(f"gateway: {exc}", file=sys.stderr)
            return 2
        return 0
    return _serve(settings, generated, args.host, args.port)


def _display_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def _serve(settings: Settings, generated: list[str], host: str, port: int) -> int:
    import uvicorn

    from gateway.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    print(banner(settings, generated), flush=True)
    config = uvicorn.Config(
        create_app(settings), log_level="info", access_log=False, lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN, **WS_OPTIONS,
    )
    uvicorn.Server(config).run(sockets=[listening_socket(host, port)])
    return 0


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP listener whose connections have Nagle's algorithm off.

    asyncio turns Nagle off only for sockets whose proto is IPPROTO_TCP, and uvicorn binds
    with proto 0, so without this a frame written right behind another (an ack behind a
    message) waits for the client's delayed ACK: 40 ms per chat send. Linux hands
    TCP_NODELAY from the listener to every accepted socket."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(address)
    sock.listen(2048)
    return sock


def banner(settings: Settings, generated: list[str]) -> str:
    """What a developer needs to start clicking: where, which mode, and generated keys."""
    base = settings.gateway.public_base_url
    mode = "embedded (in memory)" if settings.gateway.embedded else "redis"
    lines = [
        "gateway",
        f"  mode: {mode}; sms: {settings.sms.provider}",
        f"  public url: {base}",
    ]
    if settings.sms.provider == "console":
        lines.append(f"  demo: open {base}/dev  (demo order, shopper console, phone)")
    raw = msgspec.to_builtins(settings)
    for key in generated:
        value = raw
        for part in key.split("."):
            value = value[part]
        lines.append(f"  {key} = {value}  (generated for this run)")
    return "\n".join(lines)
