"""Configuration (contract section 3): a TOML file decoded into frozen msgspec Structs, with
environment overrides. This module is the sole reader of os.environ.

Every problem stops start-up with one line naming the key (`ConfigError`)."""

from __future__ import annotations

import re
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import msgspec

from gateway import phones, templates
from gateway.policy.lifecycle import EVENT_NAMES, Communications


class ConfigError(ValueError):
    """A bad setting. `str()` is one line that starts with the key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key


class _Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class GatewaySection(_Section):
    public_url: str = "http://127.0.0.1:8000"
    secret: str = ""  # "" = a random one per start (embedded mode only)
    operator_key: str = ""  # "" = a random one per start, printed
    redis_url: str = ""
    chat_retention: str = "24h"
    allowed_origins: list[str] = []

    @property
    def public_base_url(self) -> str:
        return self.public_url.rstrip("/")

    @property
    def chat_retention_seconds(self) -> float:
        return parse_duration(self.chat_retention)

    @property
    def embedded(self) -> bool:
        return not self.redis_url


class LimitsSection(_Section):
    chat_per_second: float = 20
    media_bytes: int = 5_000_000  # the largest photo accepted (contract section 10)


class SMSSection(_Section):
    provider: str = "console"
    numbers: list[str] = msgspec.field(default_factory=lambda: ["+15005550006"])
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_api_base: str = "https://api.twilio.com"


class Retailer(_Section):
    name: str = ""
    api_key: str = ""
    communications: Communications = Communications.PLATFORM
    callback_url: str = ""
    callback_secret: str = ""
    templates: dict[str, str] = {}
    brand_color: str = ""  # "#0a7d4f": the page's accent colour
    logo_url: str = ""  # https URL of a logo shown on the page


class Settings(_Section):
    gateway: GatewaySection = GatewaySection()
    limits: LimitsSection = LimitsSection()
    sms: SMSSection = SMSSection()
    retailers: dict[str, Retailer] = {}

    def communications(self, retailer: str) -> Communications:
        """Who messages this retailer's customers. A retailer no longer in the config gets
        nothing from the gateway: that is the safe side of consent."""
        found = self.retailers.get(retailer)
        return found.communications if found else Communications.RETAILER

    def retailer_name(self, retailer: str) -> str:
        found = self.retailers.get(retailer)
        return found.name if found else retailer

    def retailer_templates(self, retailer: str) -> dict[str, str]:
        found = self.retailers.get(retailer)
        return found.templates if found else {}

    def retailer_for_key(self, api_key: str) -> str | None:
        for key, retailer in self.retailers.items():
            if secrets.compare_digest(retailer.api_key.encode(), api_key.encode()):
                return key
        return None


# Environment variable -> (section, key).
ENV_OVERRIDES = {
    "GATEWAY_PUBLIC_URL": ("gateway", "public_url"),
    "GATEWAY_SECRET": ("gateway", "secret"),
    "GATEWAY_OPERATOR_KEY": ("gateway", "operator_key"),
    "GATEWAY_REDIS_URL": ("gateway", "redis_url"),
    "TWILIO_ACCOUNT_SID": ("sms", "twilio_account_sid"),
    "TWILIO_AUTH_TOKEN": ("sms", "twilio_auth_token"),
    "TWILIO_API_BASE": ("sms", "twilio_api_base"),
}

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RETAILER_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def parse_duration(text: str) -> float:
    """`90s`, `30m`, `24h` (and `7d`) in seconds."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"expected a duration such as 90s, 30m or 24h, got {text!r}")
    return float(match[1]) * _UNITS[match[2]]


def load(path: str | Path | None, environ: Mapping[str, str]) -> tuple[Settings, list[str]]:
    """Settings from a file (or `GATEWAY_CONFIG`, or the development defaults) and the
    environment. Returns the settings and the names of values that were generated (printed
    at start-up so a developer can use them)."""
    path = path or environ.get("GATEWAY_CONFIG") or None
    return parse(development_defaults() if path is None else _read_toml(Path(path)), environ)


def parse(raw: dict, environ: Mapping[str, str]) -> tuple[Settings, list[str]]:
    """Settings from an already-read TOML document (a dict) and the environment."""
    raw = {section: dict(value) if isinstance(value, dict) else value for section, value in raw.items()}
    for variable, (section, key) in ENV_OVERRIDES.items():
        if variable in environ:
            raw.setdefault(section, {})[key] = environ[variable]
    settings = _decode(raw)
    settings, generated = _fill_generated(settings)
    validate(settings)
    return settings, generated


def development_defaults() -> dict:
    """What `gateway serve` runs with and no config: embedded, console SMS, one demo retailer
    whose key is generated at start and printed."""
    return {"retailers": {"demo": {"name": "Demo Grocer"}}}


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("--config", f"no such file: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from None


_PATH = re.compile(r"`\$((?:\.[^.`\[]+|\[[^\]]*\])*)`")


def _decode(raw: dict) -> Settings:
    # Retailers are decoded one by one first: msgspec's error path for a dict value is
    # `retailers[...]`, and the message must name the retailer.
    retailers = raw.get("retailers")
    if isinstance(retailers, dict):
        for key, value in retailers.items():
            _check_template_types(key, value)
            try:
                msgspec.convert(value, Retailer)
            except msgspec.ValidationError as exc:
                error = _config_error(str(exc))
                sub = "" if error.key == "config" else f".{error.key}"
                raise ConfigError(f"retailers.{key}{sub}", str(error).partition(": ")[2]) from None
    try:
        return msgspec.convert(raw, Settings)
    except msgspec.ValidationError as exc:
        raise _config_error(str(exc)) from None


def _check_template_types(retailer: str, raw: object) -> None:
    """A template that is not a string (TOML turns `a.b = "x"` into a table) is named here:
    msgspec's path for a dict value would say `templates[...]`."""
    templates_raw = raw.get("templates") if isinstance(raw, dict) else None
    if not isinstance(templates_raw, dict):
        return
    for event, template in templates_raw.items():
        if not isinstance(template, str):
            raise ConfigError(
                f"retailers.{retailer}.templates.{event}",
                f"expected a text template, got {type(template).__name__}",
            )


def _config_error(text: str) -> ConfigError:
    """Turns msgspec's "Object contains unknown field `x` - at `$.gateway`" into
    ConfigError("gateway.x", ...)."""
    problem, _, where = text.rpartition(" - at ")
    match = _PATH.search(where) if problem else None
    key = match[1].lstrip(".") if match else ""
    if not problem:
        problem = text
    unknown = re.match(r"Object contains unknown field `([^`]+)`", problem)
    if unknown:
        key = f"{key}.{unknown[1]}" if key else unknown[1]
        problem = "unknown key"
    missing = re.match(r"Object missing required field `([^`]+)`", problem)
    if missing:
        key = f"{key}.{missing[1]}" if key else missing[1]
        problem = "required"
    return ConfigError(key or "config", problem)


def _fill_generated(settings: Settings) -> tuple[Settings, list[str]]:
    generated: list[str] = []
    gateway = settings.gateway
    if not gateway.secret and gateway.embedded:
        gateway = msgspec.structs.replace(gateway, secret=secrets.token_urlsafe(32))
    if not gateway.operator_key:
        gateway = msgspec.structs.replace(gateway, operator_key="op_" + secrets.token_urlsafe(18))
        generated.append("gateway.operator_key")
    retailers = dict(settings.retailers)
    for key, retailer in retailers.items():
        changes: dict = {}
        if not retailer.name:
            changes["name"] = key
        if not retailer.api_key:
            changes["api_key"] = f"rk_{key}_" + secrets.token_urlsafe(18)
            generated.append(f"retailers.{key}.api_key")
        if changes:
            retailers[key] = msgspec.structs.replace(retailer, **changes)
    return msgspec.structs.replace(settings, gateway=gateway, retailers=retailers), generated


def validate(settings: Settings) -> None:
    """Checks every value whose type alone does not say it is good."""
    gateway = settings.gateway
    _check_url("gateway.public_url", gateway.public_url)
    if not gateway.secret:
        raise ConfigError("gateway.secret", "required when redis_url is set (nodes share it)")
    try:
        if gateway.chat_retention_seconds <= 0:
            raise ValueError("must be longer than zero")
    except ValueError as exc:
        raise ConfigError("gateway.chat_retention", str(exc)) from None
    for index, origin in enumerate(gateway.allowed_origins):
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise ConfigError(
                f"gateway.allowed_origins[{index}]",
                f"expected an origin such as https://shop.example, got {origin!r}",
            )
    if gateway.redis_url and urlsplit(gateway.redis_url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError("gateway.redis_url", f"expected a redis:// URL, got {gateway.redis_url!r}")
    if settings.limits.chat_per_second < 0:
        raise ConfigError("limits.chat_per_second", "must be 0 (no limit) or more")
    if settings.limits.media_bytes < 1:
        raise ConfigError("limits.media_bytes", "must be 1 or more")
    _validate_sms(settings.sms)
    _validate_retailers(settings)


def _validate_sms(sms: SMSSection) -> None:
    if sms.provider not in ("console", "twilio"):
        raise ConfigError("sms.provider", f'expected "console" or "twilio", got {sms.provider!r}')
    if not sms.numbers:
        raise ConfigError("sms.numbers", "needs at least one sender number")
    for index, number in enumerate(sms.numbers):
        if phones.normalize(number) is None:
            raise ConfigError(f"sms.numbers[{index}]", f"expected an E.164 number, got {number!r}")
    _check_url("sms.twilio_api_base", sms.twilio_api_base)
    if sms.provider == "twilio":
        if not sms.twilio_account_sid:
            raise ConfigError("sms.twilio_account_sid", "required with provider twilio")
        if not sms.twilio_auth_token:
            raise ConfigError("sms.twilio_auth_token", "required with provider twilio")


def _validate_retailers(settings: Settings) -> None:
    keys_seen = {settings.gateway.operator_key: "gateway.operator_key"}
    for key, retailer in settings.retailers.items():
        where = f"retailers.{key}"
        if not _RETAILER_KEY.match(key):
            raise ConfigError(where, "retailer keys are 1-64 letters, digits, _ or -")
        if retailer.api_key in keys_seen:
            raise ConfigError(f"{where}.api_key", f"same key as {keys_seen[retailer.api_key]}")
        keys_seen[retailer.api_key] = f"{where}.api_key"
        if retailer.callback_url:
            _check_url(f"{where}.callback_url", retailer.callback_url)
        elif retailer.communications is Communications.RETAILER:
            raise ConfigError(f"{where}.callback_url", 'required when communications = "retailer"')
        for event, template in retailer.templates.items():
            if event not in EVENT_NAMES:
                raise ConfigError(
                    f"{where}.templates.{event}",
                    f"not an event name (expected one of {', '.join(EVENT_NAMES)})",
                )
            problem = templates.problem(template)
            if problem:
                raise ConfigError(f"{where}.templates.{event}", problem)
            longest = templates.render(
                template, templates.longest_values(retailer.name, settings.gateway.public_url)
            )
            if len(longest) > templates.MAX_SMS:
                raise ConfigError(
                    f"{where}.templates.{event}",
                    f"can reach {len(longest)} characters with the longest values; "
                    f"a text is at most {templates.MAX_SMS}",
                )


def _check_url(key: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(key, f"expected an http(s) URL, got {url!r}")
