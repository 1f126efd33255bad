"""The wheel ships every package: pyproject.toml lists them by hand because gateway.web comes
from the top-level web/ folder, so a new package under gateway/ must be added there too."""

import tomllib
from pathlib import Path

from gateway.endpoints.pages import WEB_DIR

ROOT = Path(__file__).resolve().parents[2]


def listed_packages() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return set(config["tool"]["setuptools"]["packages"])


def test_every_package_under_gateway_is_listed_for_the_wheel():
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "gateway").rglob("__init__.py")
    }
    assert found - listed_packages() == set()


def test_the_web_folder_is_shipped_as_gateway_web_and_served_from_there():
    assert "gateway.web" in listed_packages()
    assert WEB_DIR == (ROOT / "web").resolve()
    assert {"order.html", "order.js", "dev.html", "style.css"} <= {p.name for p in WEB_DIR.iterdir()}
