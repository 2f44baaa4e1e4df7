"""Browser tests: Playwright drives Debian's chromium against pytest-django's live server.

One browser for the whole session; each test gets a fresh context (cookies) and a page that
fails the test on any console error or uncaught exception. Screenshots of each main page, at
phone and desktop width, go to `screenshots/` at the project root.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still
# synchronous, so Django's guard against async contexts is switched off for this process.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from playwright.sync_api import expect, sync_playwright  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
# Generous waits: a busy CI machine may take a few seconds to answer; a passing check returns
# as soon as it holds, so this costs nothing when things are quick.
expect.set_options(timeout=15_000)
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(autouse=True)
def default_language_after_each_test():
    """Requests in English leave English active in this thread; later tests expect the default."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


class WatchedPage:
    """A page that records console errors and uncaught exceptions, and takes screenshots."""

    def __init__(self, page, base_url: str):
        self.page = page
        self.base_url = base_url
        self.errors: list[str] = []
        page.on(
            "console",
            lambda message: (
                self.errors.append(f"console: {message.text}") if message.type == "error" else None
            ),
        )
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def goto(self, path: str):
        response = self.page.goto(self.base_url + path)
        self.page.wait_for_load_state("networkidle")
        return response

    def screenshot(self, name: str) -> None:
        """The page at phone and then desktop width, whole length; back to phone after."""
        SCREENSHOTS.mkdir(exist_ok=True)
        for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
            self.page.set_viewport_size(size)
            self.page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
        self.page.set_viewport_size(PHONE)


@pytest.fixture
def new_page(browser, live_server):
    """Pages in fresh contexts (one per signed-in person); console errors fail the test."""
    contexts, pages = [], []

    def make() -> WatchedPage:
        context = browser.new_context(viewport=PHONE, locale="zh-CN")
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = WatchedPage(context.new_page(), live_server.url)
        pages.append(page)
        return page

    yield make
    errors = [error for page in pages for error in page.errors]
    for context in contexts:
        context.close()
    assert errors == [], errors
