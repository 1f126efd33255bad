"""Checks on settings that their types alone cannot make (contract section 3): every problem
stops start-up with one line naming the key (`ConfigError`); `startup_warnings` are lines that do not."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from gateway import phones, templates
from gateway.policy.lifecycle import EVENT_NAMES, Communications

if TYPE_CHECKING:
    from gateway.settings import Retailer, Settings, SMSSection

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RETAILER_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
PLACEHOLDER_PREFIX = "change-me"
MIN_SECRET = 16  # characters of a secret or key with provider = "twilio"
MAX_SUPPORT = 160  # characters of a retailer's support contact: it goes into HELP replies
LOG_FORMATS = ("text", "json")


class ConfigError(ValueError):
    """A bad setting. `str()` is one line that starts with the key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key


def parse_duration(text: str) -> float:
    """`90s`, `30m`, `24h` (and `7d`) in seconds."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"expected a duration such as 90s, 30m or 24h, got {text!r}")
    return float(match[1]) * _UNITS[match[2]]


def startup_warnings(settings: Settings) -> list[str]:
    """Settings that start but deserve a look, as log lines (at most one)."""
    if settings.sms.provider != "twilio":
        return []
    without = [
        f"retailers.{key}.support"
        for key, retailer in settings.retailers.items()
        if retailer.communications is Communications.PLATFORM and not retailer.support
    ]
    if not without:
        return []
    return [f"{', '.join(without)}: not set, so HELP replies cannot tell customers how to reach the retailer"]


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
    if gateway.redis_cluster and not gateway.redis_url:
        raise ConfigError("gateway.redis_cluster", "needs redis_url (the address of any node of the cluster)")
    if gateway.log_format not in LOG_FORMATS:
        raise ConfigError("gateway.log_format", f'expected "text" or "json", got {gateway.log_format!r}')
    if settings.limits.chat_per_second < 0:
        raise ConfigError("limits.chat_per_second", "must be 0 (no limit) or more")
    if settings.limits.media_bytes <= 0:
        raise ConfigError("limits.media_bytes", f"expected a number of bytes above 0, got {settings.limits.media_bytes}")
    _validate_sms(settings.sms)
    _validate_retailers(settings)
    if settings.sms.provider == "twilio":
        _validate_live_secrets(settings)


def _validate_sms(sms: SMSSection) -> None:
    if sms.provider not in ("console", "twilio"):
        raise ConfigError("sms.provider", f'expected "console" or "twilio", got {sms.provider!r}')
    if not sms.numbers:
        raise ConfigError("sms.numbers", "needs at least one sender number")
    for index, number in enumerate(sms.numbers):
        # Sender numbers are written as Twilio knows them: exactly E.164.
        if phones.normalize(number, None) != number:
            raise ConfigError(f"sms.numbers[{index}]", f"expected an E.164 number such as +15005550006, got {number!r}")
    _check_url("sms.twilio_api_base", sms.twilio_api_base)
    if not phones.is_region(sms.default_region):
        raise ConfigError(
            "sms.default_region", f'expected a two-letter region code such as "US" or "GB", got {sms.default_region!r}'
        )
    try:
        if sms.chat_fallback_seconds < 0:
            raise ValueError("must be 0s or longer")
    except ValueError as exc:
        raise ConfigError("sms.chat_fallback", str(exc)) from None
    if sms.provider == "twilio":
        if not _ACCOUNT_SID.fullmatch(sms.twilio_account_sid):
            raise ConfigError(
                "sms.twilio_account_sid",
                f'expected "AC" and 32 hex digits with provider twilio, got {sms.twilio_account_sid!r}',
            )
        if not sms.twilio_auth_token:
            raise ConfigError("sms.twilio_auth_token", "required with provider twilio")


def _validate_live_secrets(settings: Settings) -> None:
    """With real texts going out, a key anyone could guess stops start-up. The values are never
    echoed: the message names the key and the rule."""
    keys = {"gateway.secret": settings.gateway.secret, "gateway.operator_key": settings.gateway.operator_key}
    keys |= {f"retailers.{key}.api_key": retailer.api_key for key, retailer in settings.retailers.items()}
    for key, value in keys.items():
        if value.lower().startswith(PLACEHOLDER_PREFIX):
            raise ConfigError(key, 'still the example placeholder ("change-me..."); set a random value')
        if len(value) < MIN_SECRET:
            raise ConfigError(key, f"too short for provider twilio: use at least {MIN_SECRET} random characters")


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
        _validate_branding(where, retailer)
        for event, template in retailer.templates.items():
            if event not in EVENT_NAMES:
                raise ConfigError(
                    f"{where}.templates.{event}",
                    f"not an event name (expected one of {', '.join(EVENT_NAMES)})",
                )
            problem = templates.problem(template)
            if not problem and not retailer.support and "support" in templates.placeholders_in(template):
                problem = f"uses {{support}} but {where}.support is not set"
            if problem:
                raise ConfigError(f"{where}.templates.{event}", problem)
            longest = templates.render(
                template, templates.longest_values(retailer.name, settings.gateway.public_url, retailer.support)
            )
            if len(longest) > templates.MAX_SMS:
                raise ConfigError(
                    f"{where}.templates.{event}",
                    f"can reach {len(longest)} characters with the longest values; "
                    f"a text is at most {templates.MAX_SMS}",
                )


def _validate_branding(where: str, retailer: Retailer) -> None:
    if len(retailer.support) > MAX_SUPPORT:
        raise ConfigError(
            f"{where}.support", f"expected at most {MAX_SUPPORT} characters (it goes into texts), got {len(retailer.support)}"
        )
    if any(not character.isprintable() for character in retailer.support):
        raise ConfigError(f"{where}.support", "expected one line of text without control characters")
    if retailer.brand_color and not _COLOR.fullmatch(retailer.brand_color):
        raise ConfigError(
            f"{where}.brand_color", f'expected "" or a colour such as "#0a7d4f", got {retailer.brand_color!r}'
        )
    if retailer.logo_url:
        parts = urlsplit(retailer.logo_url)
        if parts.scheme != "https" or not parts.hostname:
            raise ConfigError(f"{where}.logo_url", f'expected "" or an https:// URL, got {retailer.logo_url!r}')


def _check_url(key: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(key, f"expected an http(s) URL, got {url!r}")
