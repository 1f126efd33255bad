"""Configuration (contract section 3): defaults, every refusal naming its key on one line,
environment overrides, and the status-text templates the file may set."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from gateway import cli, templates
from gateway.policy.lifecycle import Communications
from gateway.settings import (
    ENV_OVERRIDES,
    ConfigError,
    GatewaySection,
    LimitsSection,
    Retailer,
    SMSSection,
    load,
    parse,
    parse_duration,
    startup_warnings,
)

REPO = Path(__file__).resolve().parents[2]

# The contract's example file, section 3.
CONTRACT_EXAMPLE = """
[gateway]
public_url = "http://127.0.0.1:8000"
secret = "change-me"
operator_key = "change-me-too"
redis_url = ""
redis_cluster = false
chat_retention = "24h"
allowed_origins = []
metrics_key = ""
log_format = "text"

[limits]
chat_per_second = 20
media_bytes = 5000000

[sms]
provider = "console"
numbers = ["+15005550006"]
twilio_account_sid = ""
twilio_auth_token = ""
twilio_api_base = "https://api.twilio.com"
default_region = "US"
chat_fallback = "60s"

[retailers.demo]
name = "Demo Grocer"
api_key = "change-me-three"
communications = "platform"
callback_url = ""
callback_secret = ""
support = ""
brand_color = ""
logo_url = ""

[retailers.demo.templates]
picking = "{shopper} is shopping your {retailer} order. Reply here to chat, or open {status_url}"
"""

SID = "AC" + "0123456789abcdef" * 2


def write(tmp_path: Path, text: str, name: str = "gateway.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refusal(path: Path, environ: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(path, environ or {})
    return caught.value


# --- defaults ---------------------------------------------------------------------------


def test_empty_document_gets_the_documented_defaults():
    settings, generated = parse({}, {})
    assert settings.gateway.public_url == "http://127.0.0.1:8000"
    assert settings.gateway.redis_url == ""
    assert settings.gateway.embedded
    assert settings.gateway.chat_retention_seconds == 24 * 3600
    assert settings.gateway.allowed_origins == []
    assert settings.limits.chat_per_second == 20
    assert settings.sms.provider == "console"
    assert settings.sms.numbers == ["+15005550006"]
    assert settings.sms.twilio_api_base == "https://api.twilio.com"
    # contract v2 keys
    assert settings.gateway.redis_cluster is False
    assert settings.gateway.metrics_key == ""
    assert settings.gateway.log_format == "text"
    assert settings.limits.media_bytes == 5_000_000
    assert settings.sms.default_region == "US"
    assert settings.sms.chat_fallback_seconds == 60
    assert settings.gateway.secret  # embedded: a random one for this run
    assert settings.gateway.operator_key
    assert generated == ["gateway.operator_key"]


def test_no_file_and_no_gateway_config_runs_the_development_defaults():
    settings, generated = load(None, {})
    assert list(settings.retailers) == ["demo"]
    demo = settings.retailers["demo"]
    assert demo.name == "Demo Grocer"
    assert demo.communications is Communications.PLATFORM
    assert settings.retailer_for_key(demo.api_key) == "demo"
    assert sorted(generated) == ["gateway.operator_key", "retailers.demo.api_key"]


def test_generated_keys_differ_per_start():
    first, _ = load(None, {})
    second, _ = load(None, {})
    assert first.gateway.operator_key != second.gateway.operator_key
    assert first.retailers["demo"].api_key != second.retailers["demo"].api_key


def test_contract_example_loads_as_written(tmp_path):
    settings, generated = load(write(tmp_path, CONTRACT_EXAMPLE), {})
    assert generated == []
    demo = settings.retailers["demo"]
    assert (demo.support, demo.brand_color, demo.logo_url) == ("", "", "")
    assert settings.gateway.secret == "change-me"
    assert settings.gateway.operator_key == "change-me-too"
    assert settings.retailers["demo"].api_key == "change-me-three"
    assert settings.retailers["demo"].templates["picking"].startswith("{shopper} is shopping")
    assert settings.retailer_for_key("change-me-three") == "demo"
    assert settings.retailer_for_key("change-me-too") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[gateway]\nsecret = "s"\n', ["gateway.operator_key"]),
        ('[gateway]\noperator_key = "op"\n', []),
        ('[gateway]\noperator_key = "op"\n[retailers.a]\nname = "A"\n', ["retailers.a.api_key"]),
        (
            '[retailers.a]\napi_key = "ka"\n[retailers.b]\n',
            ["gateway.operator_key", "retailers.b.api_key"],
        ),
    ],
)
def test_generated_keys_are_listed_when_absent(tmp_path, text, expected):
    settings, generated = load(write(tmp_path, text), {})
    assert sorted(generated) == expected
    for key in generated:
        section, *rest = key.split(".")
        value = settings.gateway.operator_key if section == "gateway" else settings.retailers[rest[0]].api_key
        assert value


def test_retailer_without_name_is_named_by_its_key(tmp_path):
    settings, _ = load(write(tmp_path, '[retailers.corner-shop]\napi_key = "k"\n'), {})
    assert settings.retailers["corner-shop"].name == "corner-shop"


def test_the_repository_example_config_loads_and_covers_every_key():
    # Loading proves the example names only real keys (unknown keys are refused).
    path = REPO / "config" / "gateway.toml"
    settings, generated = load(path, {})
    assert generated == []
    assert settings.retailers["demo"].templates
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    documented = {(section, key) for section in ("gateway", "limits", "sms") for key in raw[section]}
    every = {
        (section, field)
        for section, struct in (("gateway", GatewaySection), ("limits", LimitsSection), ("sms", SMSSection))
        for field in struct.__struct_fields__
    }
    assert documented == every
    assert set(raw["retailers"]["demo"]) == set(Retailer.__struct_fields__)


# --- refusals -----------------------------------------------------------------------------

REFUSALS = [
    # unknown keys, in each section
    ("[database]\nurl = 'x'\n", "database"),
    ("[gateway]\npublic_urls = 'http://x.example'\n", "gateway.public_urls"),
    ("[limits]\nchat_per_minute = 5\n", "limits.chat_per_minute"),
    ("[sms]\nnumber = '+15005550006'\n", "sms.number"),
    ("[retailers.demo]\napi_key = 'k'\ncallback = 'https://x.example'\n", "retailers.demo.callback"),
    # values
    ("[gateway]\nchat_retention = '5 minutes'\n", "gateway.chat_retention"),
    ("[gateway]\nchat_retention = '24'\n", "gateway.chat_retention"),
    ("[gateway]\nchat_retention = '0s'\n", "gateway.chat_retention"),
    ("[gateway]\nchat_retention = 86400\n", "gateway.chat_retention"),
    ("[gateway]\npublic_url = 'localhost:8000'\n", "gateway.public_url"),
    ("[gateway]\npublic_url = 'ftp://gw.example'\n", "gateway.public_url"),
    ("[gateway]\npublic_url = ''\n", "gateway.public_url"),
    ("[gateway]\nallowed_origins = ['https://shop.example/path']\n", "gateway.allowed_origins[0]"),
    ("[gateway]\nredis_url = 'localhost:6380'\nsecret = 's'\n", "gateway.redis_url"),
    ("[gateway]\nredis_url = 'redis://localhost:1'\n", "gateway.secret"),  # nodes must share it
    ("[limits]\nchat_per_second = -1\n", "limits.chat_per_second"),
    ("[limits]\nchat_per_second = 'fast'\n", "limits.chat_per_second"),
    ("[sms]\nnumbers = ['5551230001']\n", "sms.numbers[0]"),
    ("[sms]\nnumbers = ['+15005550006', '+1 555 123 0001']\n", "sms.numbers[1]"),
    ("[sms]\nnumbers = []\n", "sms.numbers"),
    ("[sms]\nprovider = 'carrier-pigeon'\n", "sms.provider"),
    ("[sms]\nprovider = 'twilio'\ntwilio_auth_token = 't'\n", "sms.twilio_account_sid"),
    (f"[sms]\nprovider = 'twilio'\ntwilio_account_sid = '{SID}'\n", "sms.twilio_auth_token"),
    # contract v2 keys
    ("[gateway]\nredis_cluster = 'yes'\n", "gateway.redis_cluster"),
    ("[gateway]\nredis_cluster = true\n", "gateway.redis_cluster"),  # needs redis_url
    ("[gateway]\nlog_format = 'xml'\n", "gateway.log_format"),
    ("[gateway]\nlog_format = 'JSON'\n", "gateway.log_format"),
    ("[gateway]\nmetrics_key = 5\n", "gateway.metrics_key"),
    ("[limits]\nmedia_bytes = 0\n", "limits.media_bytes"),
    ("[limits]\nmedia_bytes = '5MB'\n", "limits.media_bytes"),
    ("[limits]\nmedia_bytes = 1.5\n", "limits.media_bytes"),
    ("[sms]\ndefault_region = 'USA'\n", "sms.default_region"),
    ("[sms]\ndefault_region = 'us'\n", "sms.default_region"),
    ("[sms]\ndefault_region = ''\n", "sms.default_region"),
    ("[sms]\nchat_fallback = '60'\n", "sms.chat_fallback"),
    ("[sms]\nchat_fallback = '-1s'\n", "sms.chat_fallback"),
    ("[sms]\nchat_fallback = 60\n", "sms.chat_fallback"),
    ("[retailers.demo]\nbrand_color = 'green'\n", "retailers.demo.brand_color"),
    ("[retailers.demo]\nbrand_color = '#0a7d4'\n", "retailers.demo.brand_color"),
    ("[retailers.demo]\nbrand_color = '#0a7d4fff'\n", "retailers.demo.brand_color"),
    ("[retailers.demo]\nbrand_color = '0a7d4f'\n", "retailers.demo.brand_color"),
    ("[retailers.demo]\nlogo_url = 'http://shop.example/logo.png'\n", "retailers.demo.logo_url"),
    ("[retailers.demo]\nlogo_url = 'logo.png'\n", "retailers.demo.logo_url"),
    ("[retailers.demo]\nlogo_url = 'javascript:alert(1)'\n", "retailers.demo.logo_url"),
    ('[retailers.demo]\nsupport = "call\\nus"\n', "retailers.demo.support"),  # TOML's \\n: a newline
    ("[retailers.demo]\nsupport = '" + "x" * 161 + "'\n", "retailers.demo.support"),
    ("[retailers.demo]\nsupport = 5\n", "retailers.demo.support"),
    ("[retailers.demo.templates]\ncanceled = 'Call {support}'\n", "retailers.demo.templates.canceled"),
    ("[sms]\ntwilio_api_base = 'api.twilio.com'\n", "sms.twilio_api_base"),
    # retailers
    ("[retailers.demo]\ncommunications = 'email'\n", "retailers.demo.communications"),
    ("[retailers.demo]\ncommunications = 'retailer'\n", "retailers.demo.callback_url"),
    ("[retailers.demo]\ncallback_url = 'not a url'\n", "retailers.demo.callback_url"),
    ("[retailers.a]\napi_key = 'same'\n[retailers.b]\napi_key = 'same'\n", "retailers.b.api_key"),
    ("[gateway]\noperator_key = 'same'\n[retailers.a]\napi_key = 'same'\n", "retailers.a.api_key"),
    ("[retailers.'demo grocer']\napi_key = 'k'\n", "retailers.demo grocer"),
    ("[retailers.demo.templates]\npicking = '{customer}, your order'\n", "retailers.demo.templates.picking"),
    ("[retailers.demo.templates]\nstaged = 'ready: {status_url'\n", "retailers.demo.templates.staged"),
    ("[retailers.demo.templates]\nstaged = '{retailer!r} order'\n", "retailers.demo.templates.staged"),
    ("[retailers.demo.templates]\nshipped = 'on its way'\n", "retailers.demo.templates.shipped"),
    ("[retailers.demo.templates]\nfulfillment.picking = 'x'\n", "retailers.demo.templates.fulfillment"),
    ("[retailers.demo.templates]\ndelivered = 5\n", "retailers.demo.templates.delivered"),
    (
        "[retailers.demo.templates]\ndelivering = '" + "{status_url} " * 5 + "'\n",
        "retailers.demo.templates.delivering",
    ),
    ("[retailers.demo.templates]\ncanceled = '" + "x" * 1601 + "'\n", "retailers.demo.templates.canceled"),
]


@pytest.mark.parametrize(("text", "key"), REFUSALS, ids=[key for _, key in REFUSALS])
def test_bad_setting_is_refused_on_one_line_that_starts_with_its_key(tmp_path, text, key):
    error = refusal(write(tmp_path, text))
    line = str(error)
    assert "\n" not in line
    assert line.startswith(f"{key}: ")
    assert line.removeprefix(f"{key}: ").strip()  # and says what is wrong


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[gateway]\nchat_retention = '5 minutes'\n", "'5 minutes'"),
        ("[sms]\nnumbers = ['5551230001']\n", "'5551230001'"),
        ("[gateway]\npublic_url = 'localhost:8000'\n", "'localhost:8000'"),
        ("[retailers.demo.templates]\npicking = '{customer}'\n", "{customer}"),
        ("[retailers.demo.templates]\nshipped = 'x'\n", "picking"),
        ("[gateway]\nnope = 1\n", "unknown"),
    ("[gateway]\nlog_format = 'xml'\n", '"text" or "json"'),
    ("[sms]\ndefault_region = 'USA'\n", "'USA'"),
    ("[retailers.demo]\nbrand_color = 'green'\n", "#0a7d4f"),
    ("[retailers.demo]\nlogo_url = 'http://x.example/l.png'\n", "https://"),
    ("[retailers.demo.templates]\ncanceled = 'Call {support}'\n", "retailers.demo.support is not set"),
    # msgspec's own wording, said in ours
    ("[limits]\nmedia_bytes = '5MB'\n", "expected a whole number, got text in quotes"),
    ("[gateway]\nredis_cluster = 'yes'\n", "expected true or false, got text in quotes"),
    ("[gateway]\nallowed_origins = 'https://x.example'\n", "expected a list, got text in quotes"),
    ("[retailers.demo]\ncommunications = 'email'\n", 'expected "platform" or "retailer", got \'email\''),
    ],
)
def test_refusal_says_what_arrived_or_what_was_expected(tmp_path, text, says):
    assert says in str(refusal(write(tmp_path, text)))


@pytest.mark.parametrize(("text", "key"), REFUSALS, ids=[key for _, key in REFUSALS])
def test_refusal_is_in_our_words_not_the_librarys(tmp_path, text, key):
    line = str(refusal(write(tmp_path, text)))
    assert "`" not in line  # msgspec quotes types and paths in backticks
    assert "$." not in line and "Expected" not in line and "enum" not in line


# --- with provider = "twilio": real texts, so no guessable keys -------------------------------

GOOD = {
    "secret": "s" * 16,
    "operator_key": "o" * 16,
    "api_key": "r" * 16,
    "sid": "AC" + "0123456789abcdef" * 2,
}


def live(secret: str = GOOD["secret"], operator_key: str = GOOD["operator_key"], api_key: str = GOOD["api_key"],
         sid: str = GOOD["sid"], support: str = "call 1-800-555-0100") -> str:
    return (
        f"[gateway]\nsecret = '{secret}'\noperator_key = '{operator_key}'\n"
        f"[sms]\nprovider = 'twilio'\ntwilio_account_sid = '{sid}'\ntwilio_auth_token = 'token'\n"
        f"[retailers.demo]\napi_key = '{api_key}'\nsupport = '{support}'\n"
    )


def test_strong_keys_and_a_real_account_sid_start_a_twilio_gateway(tmp_path):
    settings, _ = load(write(tmp_path, live()), {})
    assert settings.sms.twilio_account_sid == GOOD["sid"]
    upper = live(sid="AC" + "0123456789ABCDEF" * 2)
    assert load(write(tmp_path, upper), {})[0].sms.provider == "twilio"


LIVE_REFUSALS = [
    (live(secret="change-me"), "gateway.secret", "placeholder"),
    (live(secret="change-me-but-it-is-long-enough"), "gateway.secret", "placeholder"),
    (live(secret="s" * 15), "gateway.secret", "at least 16"),
    (live(operator_key="change-me-too"), "gateway.operator_key", "placeholder"),
    (live(operator_key="op-key"), "gateway.operator_key", "at least 16"),
    (live(api_key="change-me-three"), "retailers.demo.api_key", "placeholder"),
    (live(api_key="CHANGE-ME-THREE-AND-MORE"), "retailers.demo.api_key", "placeholder"),
    (live(api_key="rk-demo"), "retailers.demo.api_key", "at least 16"),
    (live(sid="ACtest"), "sms.twilio_account_sid", "32 hex digits"),
    (live(sid="AC" + "0" * 31), "sms.twilio_account_sid", "32 hex digits"),
    (live(sid="AC" + "0" * 33), "sms.twilio_account_sid", "32 hex digits"),
    (live(sid="AC" + "g" * 32), "sms.twilio_account_sid", "32 hex digits"),
    (live(sid="SK" + "0" * 32), "sms.twilio_account_sid", "32 hex digits"),  # an API key sid
]


@pytest.mark.parametrize(("text", "key", "says"), LIVE_REFUSALS, ids=[f"{k}-{s}" for _, k, s in LIVE_REFUSALS])
def test_twilio_gateway_refuses_guessable_keys_and_a_malformed_account_sid(tmp_path, text, key, says):
    line = str(refusal(write(tmp_path, text)))
    assert line.startswith(f"{key}: ")
    assert says in line


@pytest.mark.parametrize("weak", ["change-me-op-4711", "op-4711"])
def test_refusal_of_a_weak_key_never_echoes_it(tmp_path, weak):
    line = str(refusal(write(tmp_path, live(operator_key=weak))))
    assert weak not in line.removeprefix("gateway.operator_key: ")


def test_weak_keys_are_fine_in_console_mode(tmp_path):
    # Development: nothing reaches a real phone, and the example file uses placeholders.
    settings, _ = load(REPO / "config" / "gateway.toml", {})
    assert settings.gateway.secret == "change-me"


@pytest.mark.parametrize(
    ("retailers", "warned"),
    [
        ("[retailers.a]\napi_key = 'aaaaaaaaaaaaaaaa'\nsupport = 'call us'\n", []),
        ("[retailers.a]\napi_key = 'aaaaaaaaaaaaaaaa'\n", ["retailers.a.support"]),
        (
            "[retailers.a]\napi_key = 'aaaaaaaaaaaaaaaa'\n[retailers.b]\napi_key = 'bbbbbbbbbbbbbbbb'\n",
            ["retailers.a.support", "retailers.b.support"],
        ),
        # a retailer that texts its own customers needs no support line in ours
        (
            "[retailers.a]\napi_key = 'aaaaaaaaaaaaaaaa'\ncommunications = 'retailer'\n"
            "callback_url = 'https://a.example/cb'\n",
            [],
        ),
    ],
)
def test_platform_retailer_without_support_gets_one_warning_line(tmp_path, retailers, warned):
    text = live().split("[retailers.demo]")[0] + retailers
    settings, _ = load(write(tmp_path, text), {})
    lines = startup_warnings(settings)
    assert len(lines) == (1 if warned else 0)
    for key in warned:
        assert key in lines[0]
    assert all("\n" not in line for line in lines)


def test_console_gateway_has_no_support_warning():
    settings, _ = load(None, {})
    assert startup_warnings(settings) == []


def test_template_exactly_at_the_limit_with_the_longest_values_is_accepted(tmp_path):
    public_url = "https://gw.example.com"
    longest_url = len(templates.render("{status_url}", templates.longest_values("R", public_url)))
    template = "{status_url}" + "x" * (templates.MAX_SMS - longest_url)
    text = (
        f"[gateway]\npublic_url = '{public_url}'\n"
        f"[retailers.demo]\nname = 'R'\n[retailers.demo.templates]\nstaged = '{template}'\n"
    )
    settings, _ = load(write(tmp_path, text), {})
    assert settings.retailers["demo"].templates["staged"] == template
    too_long = text.replace(template, template + "x")
    assert str(refusal(write(tmp_path, too_long))).startswith("retailers.demo.templates.staged: ")


def test_longest_values_cover_the_longest_order_id_and_status_link():
    values = templates.longest_values("Demo Grocer", "https://gw.example.com/")
    assert len(values["order_id"]) >= 128  # the API accepts order ids up to 128 characters
    assert len(values["shopper"]) >= 64  # and shopper names up to 64
    assert values["status_url"].startswith("https://gw.example.com/orders/")


def test_missing_file_is_refused_naming_the_option(tmp_path):
    error = refusal(tmp_path / "nowhere.toml")
    assert str(error).startswith("--config: ")
    assert "nowhere.toml" in str(error)


def test_file_that_is_not_toml_is_refused_on_one_line(tmp_path):
    path = write(tmp_path, "[gateway\npublic_url = 1\n")
    line = str(refusal(path))
    assert "\n" not in line
    assert line.startswith(f"{path}: ")


def test_environment_can_make_a_file_bad_too(tmp_path):
    # The file is fine for its own keys; the environment supplies a bad value for another.
    path = write(tmp_path, "[gateway]\noperator_key = 'op'\n")
    error = refusal(path, {"GATEWAY_PUBLIC_URL": "not a url"})
    assert str(error).startswith("gateway.public_url: ")


# --- environment ------------------------------------------------------------------------


ENVIRONMENT = [
    ("GATEWAY_PUBLIC_URL", "https://env.example", lambda s: s.gateway.public_url),
    ("GATEWAY_SECRET", "env-secret-0123456789", lambda s: s.gateway.secret),
    ("GATEWAY_OPERATOR_KEY", "env-operator-0123456789", lambda s: s.gateway.operator_key),
    ("GATEWAY_REDIS_URL", "redis://127.0.0.1:1/0", lambda s: s.gateway.redis_url),
    ("GATEWAY_METRICS_KEY", "env-metrics-key", lambda s: s.gateway.metrics_key),
    ("GATEWAY_LOG_FORMAT", "json", lambda s: s.gateway.log_format),
    ("TWILIO_ACCOUNT_SID", "AC" + "f" * 32, lambda s: s.sms.twilio_account_sid),
    ("TWILIO_AUTH_TOKEN", "env-token", lambda s: s.sms.twilio_auth_token),
    ("TWILIO_API_BASE", "http://127.0.0.1:9/fake", lambda s: s.sms.twilio_api_base),
]

FILE_WITH_EVERY_OVERRIDABLE_KEY = f"""
[gateway]
public_url = "https://file.example"
secret = "file-secret-0123456789"
operator_key = "file-operator-0123456789"
redis_url = "redis://file.example:6380/1"
metrics_key = "file-metrics-key"
log_format = "text"

[sms]
provider = "twilio"
twilio_account_sid = "{SID}"
twilio_auth_token = "file-token"
twilio_api_base = "https://file.example"
"""


@pytest.mark.parametrize(("variable", "value", "read"), ENVIRONMENT, ids=[v for v, _, _ in ENVIRONMENT])
def test_environment_variable_wins_over_the_file(tmp_path, variable, value, read):
    path = write(tmp_path, FILE_WITH_EVERY_OVERRIDABLE_KEY)
    settings, _ = load(path, {variable: value})
    assert read(settings) == value


@pytest.mark.parametrize(("variable", "value", "read"), ENVIRONMENT, ids=[v for v, _, _ in ENVIRONMENT])
def test_environment_variable_applies_without_a_file(variable, value, read):
    environ = {variable: value}
    if variable == "GATEWAY_REDIS_URL":
        environ["GATEWAY_SECRET"] = "s"  # Redis mode needs a shared secret
    settings, _ = load(None, environ)
    assert read(settings) == value


def test_contract_names_exactly_these_environment_variables():
    assert {variable for variable, _, _ in ENVIRONMENT} | {"GATEWAY_REDIS_CLUSTER"} == set(ENV_OVERRIDES)


@pytest.mark.parametrize(
    ("value", "cluster"),
    [("true", True), ("TRUE", True), ("1", True), ("yes", True), ("false", False), ("0", False), ("no", False),
     ("", False)],  # set but empty, as deployment templates leave a variable: off
)
def test_redis_cluster_from_the_environment_is_true_or_false(tmp_path, value, cluster):
    path = write(tmp_path, "[gateway]\nsecret = 's'\nredis_url = 'redis://127.0.0.1:7000'\n")
    settings, _ = load(path, {"GATEWAY_REDIS_CLUSTER": value})
    assert settings.gateway.redis_cluster is cluster


def test_redis_cluster_from_the_environment_must_say_true_or_false(tmp_path):
    path = write(tmp_path, "[gateway]\nsecret = 's'\nredis_url = 'redis://127.0.0.1:7000'\n")
    line = str(refusal(path, {"GATEWAY_REDIS_CLUSTER": "cluster"}))
    assert line.startswith("gateway.redis_cluster: ")
    assert "GATEWAY_REDIS_CLUSTER" in line and "'cluster'" in line


def test_chat_fallback_of_zero_restores_texting_at_once(tmp_path):
    settings, _ = load(write(tmp_path, "[sms]\nchat_fallback = '0s'\n"), {})
    assert settings.sms.chat_fallback_seconds == 0


@pytest.mark.parametrize("region", ["GB", "FR", "DE", "US"])
def test_default_region_takes_a_region_code(tmp_path, region):
    settings, _ = load(write(tmp_path, f"[sms]\ndefault_region = '{region}'\n"), {})
    assert settings.sms.default_region == region


def test_branding_and_support_are_kept(tmp_path):
    text = (
        "[retailers.demo]\nsupport = 'call 1-800-555-0100 or example.com/help'\n"
        "brand_color = '#0A7d4f'\nlogo_url = 'https://cdn.example/logo.svg'\n"
        "[retailers.demo.templates]\ncanceled = 'Canceled. {support}'\n"
    )
    settings, _ = load(write(tmp_path, text), {})
    demo = settings.retailers["demo"]
    assert demo.support == "call 1-800-555-0100 or example.com/help"
    assert settings.retailer_support("demo") == demo.support
    assert (demo.brand_color, demo.logo_url) == ("#0A7d4f", "https://cdn.example/logo.svg")


def test_file_values_stand_when_the_environment_is_silent(tmp_path):
    settings, _ = load(write(tmp_path, FILE_WITH_EVERY_OVERRIDABLE_KEY), {"UNRELATED": "x"})
    assert settings.gateway.public_url == "https://file.example"
    assert settings.gateway.secret == "file-secret-0123456789"
    assert settings.sms.twilio_auth_token == "file-token"


def test_gateway_config_names_the_file_when_no_path_is_given(tmp_path):
    path = write(tmp_path, '[gateway]\noperator_key = "from-file"\n')
    settings, _ = load(None, {"GATEWAY_CONFIG": str(path)})
    assert settings.gateway.operator_key == "from-file"


def test_explicit_path_wins_over_gateway_config(tmp_path):
    chosen = write(tmp_path, '[gateway]\noperator_key = "chosen"\n', "chosen.toml")
    other = write(tmp_path, '[gateway]\noperator_key = "other"\n', "other.toml")
    settings, _ = load(chosen, {"GATEWAY_CONFIG": str(other)})
    assert settings.gateway.operator_key == "chosen"


def test_bad_file_named_by_gateway_config_is_refused(tmp_path):
    path = write(tmp_path, "[gateway]\nnope = 1\n")
    assert str(refusal(None, {"GATEWAY_CONFIG": str(path)})).startswith("gateway.nope: ")


# --- durations ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("24h", 86400), ("7d", 604800), ("1s", 1), ("1.5h", 5400), (" 24h ", 86400)],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "24", "h", "24 hours", "-5m", "1w", "24H", "1h30m", "PT24H", "s24"])
def test_bad_duration_says_what_was_expected(text):
    with pytest.raises(ValueError, match="90s, 30m or 24h") as caught:
        parse_duration(text)
    assert repr(text) in str(caught.value)


# --- templates, as the configuration checks them ---------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "",
        "Plain text",
        "{retailer}{shopper}{status_url}{order_id}{sender_number}",
        "{{not a placeholder}} {retailer}",
        *templates.BUILTIN.values(),
        templates.HELP_TEXT,
        *templates.POLITE_REPLIES.values(),
    ],
)
def test_good_template_has_no_problem(template):
    assert templates.problem(template) is None


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("Hi {customer}", "unknown placeholder {customer}"),
        ("{Retailer}", "unknown placeholder {Retailer}"),
        ("{}", "unknown placeholder {}"),
        ("{0}", "unknown placeholder {0}"),
        ("{retailer.name}", "unknown placeholder {retailer.name}"),
        ("{order_id[0]}", "unknown placeholder {order_id[0]}"),
        ("{retailer:>20}", "no format spec"),
        ("{retailer!r}", "no format spec or conversion"),
        ("ready: {status_url", "malformed"),
        ("ready: status_url}", "malformed"),
    ],
)
def test_template_problem_names_what_is_wrong(template, says):
    problem = templates.problem(template)
    assert problem is not None
    assert says in problem
    if "unknown placeholder" in says:
        assert "{retailer}" in problem and "{sender_number}" in problem  # what was expected


@pytest.mark.parametrize(
    ("event", "overrides", "expected"),
    [
        ("picking", {}, templates.BUILTIN["picking"]),
        ("staged", {}, templates.BUILTIN["staged"]),
        ("delivering", {}, templates.BUILTIN["delivering"]),
        ("delivered", {}, templates.BUILTIN["delivered"]),
        ("canceled", {}, templates.BUILTIN["canceled"]),
        ("picking", {"picking": "Shopping now: {status_url}"}, "Shopping now: {status_url}"),
        ("delivered", {"delivered": ""}, ""),  # "" turns the notification off
        ("delivered", {"picking": ""}, templates.BUILTIN["delivered"]),
        # Events without a built-in text send nothing unless the retailer sets one.
        ("brand_new", {}, ""),
        ("acknowledged", {}, ""),
        ("checkout", {}, ""),
        ("rescheduled", {}, ""),
        ("rescheduled", {"rescheduled": "New time for {order_id}"}, "New time for {order_id}"),
    ],
)
def test_template_for(event, overrides, expected):
    assert templates.template_for(event, overrides) == expected


def test_builtin_templates_are_the_contract_events():
    assert set(templates.BUILTIN) == {"picking", "staged", "delivering", "delivered", "canceled"}


VALUES = {
    "retailer": "Demo Grocer",
    "shopper": "Sam",
    "status_url": "https://gw.example/orders/o1?token=t",
    "order_id": "o1",
    "sender_number": "+15005550006",
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("", ""),
        (
            templates.BUILTIN["picking"],
            "Sam is shopping your Demo Grocer order. Reply here to chat, or open "
            "https://gw.example/orders/o1?token=t",
        ),
        ("{order_id} from {sender_number}", "o1 from +15005550006"),
        ("{{braces}} {retailer}", "{braces} Demo Grocer"),
        ("{shopper}", "Sam"),
    ],
)
def test_render(template, expected):
    assert templates.render(template, VALUES) == expected


def test_render_does_not_expand_placeholders_inside_values():
    values = {**VALUES, "shopper": "{retailer}"}
    assert templates.render("{shopper} here", values) == "{retailer} here"


# --- the command line --------------------------------------------------------------------


@pytest.fixture
def clean_environment(monkeypatch):
    for variable in [*ENV_OVERRIDES, "GATEWAY_CONFIG", "PORT"]:
        monkeypatch.delenv(variable, raising=False)


CLI_REFUSALS = [
    ("[gateway]\nnope = 1\n", "gateway.nope"),
    ("[gateway]\nchat_retention = '1 day'\n", "gateway.chat_retention"),
    ("[sms]\nnumbers = ['5551230001']\n", "sms.numbers[0]"),
    ("[retailers.demo]\ncommunications = 'retailer'\n", "retailers.demo.callback_url"),
    ("[retailers.demo.templates]\npicking = '{customer}'\n", "retailers.demo.templates.picking"),
    ("[retailers.demo.templates]\nstaged = '" + "x" * 1601 + "'\n", "retailers.demo.templates.staged"),
]


@pytest.mark.parametrize(("text", "key"), CLI_REFUSALS, ids=[key for _, key in CLI_REFUSALS])
def test_serve_with_a_bad_config_exits_1_with_one_line_naming_the_key(
    tmp_path, capsys, clean_environment, text, key
):
    assert cli.main(["serve", "--config", str(write(tmp_path, text))]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1
    assert f"{key}: " in lines[0]


def test_serve_refuses_the_file_named_by_gateway_config(tmp_path, capsys, clean_environment, monkeypatch):
    monkeypatch.setenv("GATEWAY_CONFIG", str(write(tmp_path, "[limits]\nchat_per_second = -1\n")))
    assert cli.main(["serve"]) == 1
    _, err = capsys.readouterr()
    assert err.count("\n") == 1
    assert "limits.chat_per_second: " in err


def test_serve_with_a_missing_config_file_exits_1(tmp_path, capsys, clean_environment):
    assert cli.main(["serve", "--config", str(tmp_path / "absent.toml")]) == 1
    _, err = capsys.readouterr()
    assert err.count("\n") == 1
    assert "--config: " in err and "absent.toml" in err


def test_environment_override_can_be_the_bad_value(tmp_path, capsys, clean_environment, monkeypatch):
    monkeypatch.setenv("GATEWAY_PUBLIC_URL", "gw.example")
    assert cli.main(["serve", "--config", str(write(tmp_path, "[gateway]\n"))]) == 1
    _, err = capsys.readouterr()
    assert "gateway.public_url: " in err
