"""The browser and pages shared by the browser tests; the run ends by printing where their
screenshots are (support/order_page.py SCREENSHOTS)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from support.order_page import PHONE, SCREENSHOTS, saved_screenshots

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Headless Chromium reports every page as visible, whatever is in front. The page under test
# reads document.visibilityState and listens for visibilitychange; this lets a test play the
# browser's part: window.setPageHidden(true) hides the page, (false) shows it again.
VISIBILITY_SWITCH = """
(() => {
  let hidden = false;
  Object.defineProperty(Document.prototype, "visibilityState", {
    configurable: true, get() { return hidden ? "hidden" : "visible"; },
  });
  Object.defineProperty(Document.prototype, "hidden", { configurable: true, get() { return hidden; } });
  window.setPageHidden = (value) => {
    hidden = value;
    document.dispatchEvent(new Event("visibilitychange"));
  };
})();
"""


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package for the browser tests")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


class Pages:
    """Opens pages that fail the test on any script error, and closes them at its end."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.contexts: list[BrowserContext] = []
        self.script_errors: list[str] = []

    async def new(self, viewport: dict = PHONE, **options) -> Page:
        context = await self.browser.new_context(viewport=viewport, **options)
        await context.add_init_script(VISIBILITY_SWITCH)
        self.contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", lambda error: self.script_errors.append(str(error)))
        return page

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


@pytest.fixture
async def pages(browser: Browser) -> AsyncIterator[Pages]:
    opened = Pages(browser)
    yield opened
    await opened.close()
    assert opened.script_errors == [], f"expected no script errors on the page, got {opened.script_errors}"


@pytest.fixture
async def page(pages: Pages) -> Page:
    """A phone-sized page that fails the test on any script error."""
    return await pages.new()


def pytest_terminal_summary(terminalreporter) -> None:
    if saved_screenshots:
        terminalreporter.write_line(f"browser screenshots ({len(saved_screenshots)}): {SCREENSHOTS}")
