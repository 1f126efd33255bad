"""Configuration (contract section 3): a TOML file decoded into frozen msgspec Structs, with
environment overrides. This module is the sole reader of os.environ.

Every problem stops start-up with one line naming the key (`ConfigError`); the checks beyond
types are in gateway.settings_checks."""

from __future__ import annotations

import re
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path

import msgspec

from gateway import wording
from gateway.policy.lifecycle import Communications
from gateway.settings_checks import ConfigError, parse_duration, startup_warnings, validate

# ConfigError, parse_duration and startup_warnings are part of this module's interface too.


class _Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class GatewaySection(_Section):
    public_url: str = "http://127.0.0.1:8000"
    secret: str = ""  # "" = a random one per start (embedded mode only)
    operator_key: str = ""  # "" = a random one per start, printed
    redis_url: str = ""
    redis_cluster: bool = False
    chat_retention: str = "24h"
    allowed_origins: list[str] = []
    metrics_key: str = ""  # "" = /metrics is open
    log_format: str = "text"

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
    media_bytes: int = 5_000_000


class SMSSection(_Section):
    provider: str = "console"
    numbers: list[str] = msgspec.field(default_factory=lambda: ["+15005550006"])
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_api_base: str = "https://api.twilio.com"
    default_region: str = "US"
    chat_fallback: str = "60s"

    @property
    def chat_fallback_seconds(self) -> float:
        return parse_duration(self.chat_fallback)


class Retailer(_Section):
    name: str = ""
    api_key: str = ""
    communications: Communications = Communications.PLATFORM
    callback_url: str = ""
    callback_secret: str = ""
    support: str = ""
    brand_color: str = ""  # "" or "#rrggbb" (checked at start-up): the page's accent colour
    logo_url: str = ""  # "" or an https URL (checked at start-up) shown on the page
    templates: dict[str, str] = {}


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

    def retailer_support(self, retailer: str) -> str:
        found = self.retailers.get(retailer)
        return found.support if found else ""

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
    "GATEWAY_REDIS_CLUSTER": ("gateway", "redis_cluster"),
    "GATEWAY_METRICS_KEY": ("gateway", "metrics_key"),
    "GATEWAY_LOG_FORMAT": ("gateway", "log_format"),
    "TWILIO_ACCOUNT_SID": ("sms", "twilio_account_sid"),
    "TWILIO_AUTH_TOKEN": ("sms", "twilio_auth_token"),
    "TWILIO_API_BASE": ("sms", "twilio_api_base"),
}

_BOOLEAN_KEYS = {("gateway", "redis_cluster")}
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False, "": False}


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
            raw.setdefault(section, {})[key] = _from_environ(variable, section, key, environ[variable])
    settings = _decode(raw)
    settings, generated = _fill_generated(settings)
    validate(settings)
    return settings, generated


def _from_environ(variable: str, section: str, key: str, text: str) -> object:
    if (section, key) not in _BOOLEAN_KEYS:
        return text
    value = _BOOLEANS.get(text.strip().lower())
    if value is None:
        raise ConfigError(f"{section}.{key}", f"expected true or false in {variable}, got {text!r}")
    return value


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
    choices = _CHOICES.get(key.rpartition(".")[2], ())
    return ConfigError(key or "config", wording.in_our_words(problem, kinds=_KINDS, choices=choices))


# msgspec's names for TOML's kinds of value, in the words of a config file.
_KINDS = {
    **wording.JSON_KINDS, "str": "text in quotes", "array": "a list", "object": "a table", "null": "nothing",
}
_CHOICES = {"communications": tuple(mode.value for mode in Communications)}


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
