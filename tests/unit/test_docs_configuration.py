"""docs/configuration.md against config/gateway.toml and the settings the gateway accepts: a
key in one and not the other fails here, so the reference cannot fall behind the code."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import msgspec
import pytest

from gateway import settings as settings_module
from gateway.settings import GatewaySection, LimitsSection, Retailer, SMSSection

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "configuration.md"
SECTIONS = {"gateway": GatewaySection, "limits": LimitsSection, "sms": SMSSection}


def documented() -> dict[str, str]:
    """Key -> its table row in the reference, e.g. "gateway.public_url", "retailers.<key>.name"."""
    rows = re.findall(r"^\| `([\w.<>]+)` \|(.*)$", REFERENCE.read_text(encoding="utf-8"), re.MULTILINE)
    return dict(rows)


def generic(raw: dict) -> set[str]:
    """The keys of a config document, retailer and event names replaced by <key> and <event>."""
    keys = set()
    for section, values in raw.items():
        if section == "retailers":
            for retailer in values.values():
                for key, value in retailer.items():
                    if key == "templates" and value:
                        keys.add("retailers.<key>.templates.<event>")
                    elif key != "templates":
                        keys.add(f"retailers.<key>.{key}")
        else:
            keys |= {f"{section}.{key}" for key in values}
    return keys


def accepted() -> set[str]:
    """Every key the gateway's Settings accept today."""
    keys = {f"{section}.{f.name}" for section, struct in SECTIONS.items() for f in msgspec.structs.fields(struct)}
    for f in msgspec.structs.fields(Retailer):
        keys.add("retailers.<key>.templates.<event>" if f.name == "templates" else f"retailers.<key>.{f.name}")
    return keys


def test_every_key_of_the_example_config_is_documented():
    example = generic(tomllib.loads((ROOT / "config" / "gateway.toml").read_text(encoding="utf-8")))
    assert example - set(documented()) == set()


def test_every_key_the_gateway_accepts_is_documented_and_in_the_example_config():
    example = generic(tomllib.loads((ROOT / "config" / "gateway.toml").read_text(encoding="utf-8")))
    assert accepted() - set(documented()) == set()
    # A documented key the gateway accepts must be in the example too (templates need not be).
    assert (accepted() & set(documented())) - example - {"retailers.<key>.templates.<event>"} == set()


def test_every_environment_override_is_documented_on_its_key():
    rows = documented()
    for variable, (section, key) in settings_module.ENV_OVERRIDES.items():
        assert f"`{variable}`" in rows.get(f"{section}.{key}", ""), f"{variable} not documented on {section}.{key}"


@pytest.mark.parametrize("path", sorted((ROOT / "docs").glob("*.md")), ids=lambda path: path.name)
def test_config_snippets_in_the_docs_use_documented_keys(path):
    snippets = re.findall(r"^```toml[^\n]*\n(.*?)^```", path.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)
    for snippet in snippets:
        assert generic(tomllib.loads(snippet)) - set(documented()) == set(), snippet


@pytest.mark.parametrize("path", sorted((ROOT / "docs").glob("**/*.toml")), ids=lambda path: path.name)
def test_config_files_in_the_docs_load(path):
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    assert generic(raw) - set(documented()) == set()
    # What compose.yaml gives the nodes through the environment.
    environ = {"GATEWAY_SECRET": "s" * 32, "GATEWAY_OPERATOR_KEY": "o" * 24, "GATEWAY_REDIS_URL": "redis://redis/0"}
    settings_module.parse(raw, environ)
