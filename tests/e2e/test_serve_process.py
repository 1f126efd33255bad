"""Contract section 2, start-up: `gateway serve` as a real process. A port in use or a bad
config exits 1 with a last stderr line that says why and no traceback; the banner prints the
URL it really listens on, with --port respected in the /dev link."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from support.gateway_process import START_TIMEOUT, clean_environment, free_port, serving_process, start

pytestmark = pytest.mark.e2e


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


async def test_a_port_in_use_exits_1_with_one_line_and_no_traceback():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        gateway = await start("--port", str(port))
        code = await gateway.exited()

    stderr = "\n".join(gateway.stderr)
    assert code == 1, gateway.output
    assert "Traceback" not in gateway.output
    line = last_line(stderr)
    assert f"127.0.0.1:{port}" in line and "address already in use" in line


async def test_a_port_in_use_with_json_logs_ends_on_a_json_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        gateway = await start("--port", str(port), environ=clean_environment(GATEWAY_LOG_FORMAT="json"))
        code = await gateway.exited()

    assert code == 1
    last = json.loads(gateway.stderr[-1])
    assert last["level"] == "ERROR" and "address already in use" in last["msg"]


BAD_CONFIGS = [
    ("[gateway]\nnope = 1\n", "gateway.nope"),
    ("[gateway]\nlog_format = 'xml'\n", "gateway.log_format"),
    ("[sms]\ndefault_region = 'Atlantis'\n", "sms.default_region"),
    ("[retailers.demo]\nbrand_color = 'green'\n", "retailers.demo.brand_color"),
    (
        "[gateway]\nsecret = 'change-me'\noperator_key = 'op-0123456789abcdef'\n"
        "[sms]\nprovider = 'twilio'\ntwilio_account_sid = 'AC" + "0" * 32 + "'\ntwilio_auth_token = 't'\n",
        "gateway.secret",
    ),
    ("[sms]\nprovider = 'twilio'\ntwilio_account_sid = 'ACtest'\ntwilio_auth_token = 't'\n", "sms.twilio_account_sid"),
]


@pytest.mark.parametrize(("text", "key"), BAD_CONFIGS, ids=[key for _, key in BAD_CONFIGS])
async def test_a_bad_config_exits_1_naming_the_key(tmp_path, text, key):
    config = tmp_path / "gateway.toml"
    config.write_text(text, encoding="utf-8")

    gateway = await start("--config", str(config), "--port", "0")
    code = await gateway.exited()

    assert code == 1, gateway.output
    assert "Traceback" not in gateway.output
    assert gateway.stdout == []  # no banner: it never started
    assert f"{key}: " in last_line("\n".join(gateway.stderr))


async def test_port_0_prints_the_port_it_really_listens_on():
    async with serving_process("--port", "0") as gateway:
        listening = (await gateway.line(lambda line: "listening on" in line)).split("listening on ")[1].strip()
        port = int(listening.rsplit(":", 1)[1])
        assert port != 0
        demo = await gateway.line(lambda line: "demo: open" in line)
        assert f"demo: open http://127.0.0.1:{port}/dev " in demo
        public = await gateway.line(lambda line: "public url:" in line)
        assert public.strip() == f"public url: http://127.0.0.1:{port}"
        async with httpx.AsyncClient(trust_env=False, timeout=START_TIMEOUT) as http:
            # The socket listens before the banner: this waits in its backlog until the app is up.
            assert (await http.get(f"{listening}/healthz")).json() == {"status": "ok"}
            dev = await http.get(f"{listening}/dev")
            assert dev.status_code == 200


async def test_the_dev_link_follows_port_even_when_the_config_names_another(tmp_path):
    config = tmp_path / "gateway.toml"
    config.write_text('[gateway]\npublic_url = "http://127.0.0.1:8000"\n', encoding="utf-8")
    port = free_port()

    async with serving_process("--config", str(config), "--port", str(port)) as gateway:
        await gateway.line(lambda line: line.strip() == f"listening on http://127.0.0.1:{port}")
        await gateway.line(lambda line: f"demo: open http://127.0.0.1:{port}/dev " in line)
        # Links in texts stay as configured.
        await gateway.line(lambda line: line.strip() == "public url: http://127.0.0.1:8000")
        async with httpx.AsyncClient(trust_env=False, timeout=START_TIMEOUT) as http:
            assert (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200


async def test_a_twilio_gateway_without_support_starts_with_one_warning_line(tmp_path):
    config = tmp_path / "gateway.toml"
    config.write_text(
        "[gateway]\nsecret = 'secret-0123456789ab'\noperator_key = 'op-0123456789abcdef'\n"
        "[sms]\nprovider = 'twilio'\ntwilio_account_sid = 'AC" + "0" * 32 + "'\ntwilio_auth_token = 'token'\n"
        "twilio_api_base = 'http://127.0.0.1:9'\n"
        "[retailers.a]\napi_key = 'rk-a-0123456789abcdef'\n"
        "[retailers.b]\napi_key = 'rk-b-0123456789abcdef'\n",
        encoding="utf-8",
    )
    async with serving_process("--config", str(config), "--port", "0") as gateway:
        # The warning comes before start-up on the same stream: once this is read, so is it.
        await gateway.line(lambda line: "Application startup complete" in line)
        warnings = [line for line in gateway.stderr if " WARNING " in line]
        assert len(warnings) == 1, gateway.output
        assert "retailers.a.support" in warnings[0] and "retailers.b.support" in warnings[0]


def test_a_failure_inside_start_up_exits_1_with_its_reason_and_no_traceback(monkeypatch, capsys, restored_logging):
    # In-process, so the app can be one whose start-up fails as a store that cannot start does.
    import contextlib

    from starlette.applications import Starlette

    from gateway import app as app_module
    from gateway import cli

    @contextlib.asynccontextmanager
    async def failing(app):
        raise ConnectionError("store at redis://127.0.0.1:1 refused the connection")
        yield

    monkeypatch.setattr(app_module, "create_app", lambda settings: Starlette(lifespan=failing))
    for variable in ("GATEWAY_CONFIG", "GATEWAY_PUBLIC_URL", "GATEWAY_LOG_FORMAT", "PORT"):
        monkeypatch.delenv(variable, raising=False)

    code = cli.main(["serve", "--port", "0"])

    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err and 'File "' not in err
    assert last_line(err).endswith(
        "could not start: ConnectionError: store at redis://127.0.0.1:1 refused the connection"
    )
