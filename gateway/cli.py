"""`gateway serve` and `gateway templates`.

Any failure to start (a bad config, a port in use, a store that cannot start) exits with code 1
and a last line on stderr that says why, without a traceback (contract section 2)."""

from __future__ import annotations

import argparse
import logging
import logging.config
import os
import socket
import sys
from collections.abc import Awaitable, Sequence

import msgspec
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import logs
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
FAILED = 1  # the exit code of every failure to start

log = logging.getLogger("gateway")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gateway", description=__doc__.splitlines()[0])
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
    try:
        settings, generated = settings_module.load(config_path, environ)
    except ConfigError as exc:
        return _failed(f"bad config: {exc}")
    if args.command == "templates":
        from gateway.template_report import report as render_report

        try:
            print(render_report(settings, args.retailer))
        except ValueError as exc:
            return _failed(str(exc))
        return 0
    # Development defaults: links point at where this process really listens.
    follow_port = not config_path and "GATEWAY_PUBLIC_URL" not in environ
    return _serve(settings, generated, args.host, args.port, follow_port=follow_port)


def _failed(why: str, *, logged: bool = False) -> int:
    """The last line on stderr: through the log format once it is set up (so a JSON log stays
    JSON), else plain."""
    if logged:
        log.error("could not start: %s", why)
    else:
        print(f"gateway: {why}", file=sys.stderr)
    return FAILED


def _serve(settings: Settings, generated: list[str], host: str, port: int, *, follow_port: bool) -> int:
    import uvicorn

    from gateway.app import create_app

    log_config = logs.config(settings.gateway.log_format)
    logging.config.dictConfig(log_config)
    for warning in settings_module.startup_warnings(settings):
        log.warning("%s", warning)
    try:
        sock = listening_socket(host, port)
    except (OSError, OverflowError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return _failed(f"cannot listen on {host}:{port}: {why.lower()}", logged=True)
    with sock:
        listening = listening_url(sock)
        if follow_port:
            public_url = f"http://{_display_host(host)}:{sock.getsockname()[1]}"
            settings = msgspec.structs.replace(
                settings, gateway=msgspec.structs.replace(settings.gateway, public_url=public_url)
            )
        text = banner(settings, generated, listening)
        if settings.gateway.log_format == "json":
            log.info("%s", "; ".join(line.strip() for line in text.splitlines()))  # JSON lines: so is the banner
        else:
            print(text, flush=True)
        startup = StartupFailure(create_app(settings))
        config = uvicorn.Config(
            startup, interface="asgi3", host=host, port=sock.getsockname()[1], log_config=log_config,
            log_level="info", access_log=True, lifespan="on", timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
            **WS_OPTIONS,
        )
        server = uvicorn.Server(config)
        try:
            server.run(sockets=[sock])
        except SystemExit:
            if server.started:
                raise
            # uvicorn exits (code 3) when the app fails to start: say why, below, and exit 1.
    if not server.started:
        return _failed(startup.reason or "the application did not start", logged=True)
    return 0


class StartupFailure:
    """Keeps why the app's start-up failed, as one line, and hands uvicorn that line instead
    of the traceback Starlette sends (uvicorn would log it as it is)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.reason = ""

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself, so a socket does not keep a frame of it for its whole life
        # (uvicorn is told the interface: it would take a plain callable for ASGI 2).
        return self.app(scope, receive, send) if scope["type"] != "lifespan" else self._lifespan(scope, receive, send)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def tell(message: Message) -> None:
            if message["type"] == "lifespan.startup.failed":
                # Starlette sends this from its `except` block: the exception is at hand.
                exc = sys.exc_info()[1]
                if exc is not None:
                    self.reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                else:  # the traceback's last line says the same
                    self.reason = ([""] + (message.get("message") or "").strip().splitlines())[-1]
                message = {**message, "message": f"start-up failed: {self.reason}"}
            await send(message)

        await self.app(scope, receive, tell)


def _display_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def listening_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


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
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(address)
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    return sock


def banner(settings: Settings, generated: list[str], listening: str) -> str:
    """What a developer needs to start clicking: where it listens, which mode, generated keys."""
    base = settings.gateway.public_base_url
    local = listening.replace("://0.0.0.0:", "://127.0.0.1:").replace("://[::]:", "://127.0.0.1:")
    mode = "embedded (in memory)" if settings.gateway.embedded else "redis"
    lines = [
        "gateway",
        f"  listening on {listening}",
        f"  mode: {mode}; sms: {settings.sms.provider}",
        f"  public url: {base}",
    ]
    if settings.sms.provider == "console":
        lines.append(f"  demo: open {local}/dev  (demo order, shopper console, phone)")
    raw = msgspec.to_builtins(settings)
    for key in generated:
        value = raw
        for part in key.split("."):
            value = value[part]
        lines.append(f"  {key} = {value}  (generated for this run)")
    return "\n".join(lines)
