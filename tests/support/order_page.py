"""Helpers for browser tests of the Order Status page and the <order-chat> element."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.async_api import Locator, Page, expect

from support.app_server import OPERATOR_KEY, RunningGateway, auth

UI_TIMEOUT = 5000  # ms, for every wait on the page
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
# $BROWSER_SCREENSHOTS, or tests/browser/screenshots/ (git ignores it); the run prints it.
SCREENSHOTS = Path(
    os.environ.get("BROWSER_SCREENSHOTS") or Path(__file__).parents[1] / "browser" / "screenshots"
).resolve()
saved_screenshots: list[Path] = []

# Every word a customer can meet on the page or in the element: text (scripts aside, hidden
# parts included) and the attributes that are read out or shown.
ALL_WORDS = """(root) => {
  const words = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    if (walker.currentNode.parentElement.closest("script, style")) continue;
    words.push(walker.currentNode.textContent);
  }
  for (const element of root.querySelectorAll("[placeholder], [aria-label], [alt], [title]")) {
    for (const name of ["placeholder", "aria-label", "alt", "title"]) {
      if (element.hasAttribute(name)) words.push(element.getAttribute(name));
    }
  }
  return words.join(" ");
}"""


async def open_order(page: Page, view: dict) -> None:
    await page.goto(view["status_page_url"])
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=UI_TIMEOUT)


async def new_order(gateway: RunningGateway, order_id: str, **body) -> dict:
    response = await gateway.create_order(order_id, sms_opt_in=True, **body)
    assert response.status_code == 201, response.text
    return response.json()


async def transcript(gateway: RunningGateway, order_id: str) -> list[dict]:
    response = await gateway.http.get(f"/v1/orders/{order_id}/messages", headers=auth(OPERATOR_KEY))
    assert response.status_code == 200, response.text
    return response.json()["messages"]


async def all_words(root: Locator) -> str:
    return await root.evaluate(ALL_WORDS)


async def screenshot(page: Page, name: str) -> Path:
    """Saves the whole page as <SCREENSHOTS>/<name>.png for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    saved_screenshots.append(path)
    return path
