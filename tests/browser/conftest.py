"""Browser tests: Playwright drives Debian's chromium against pytest-django's live server.

One browser for the whole session; each test gets a fresh context (cookies) and a page that
fails the test on any console error, uncaught exception or server error. Each main page of a
journey is screenshot at phone and desktop width, in its language and in the other one, into
`screenshots/` at the project root, and inspected as tests/browser/inspection.py says.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still
# synchronous, so Django's guard against async contexts is switched off for this process.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from playwright.sync_api import Error as PlaywrightError  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.browser import inspection  # noqa: E402

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
    """A page that records console errors, uncaught exceptions and server errors, and at each
    screenshot inspects the page in both languages (tests/browser/inspection.py)."""

    def __init__(self, page, base_url: str):
        self.page = page
        self.base_url = base_url
        self.errors: list[str] = []
        self._watch(page)

    def _watch(self, page) -> None:
        page.on(
            "console",
            lambda message: (
                self.errors.append(f"console: {message.text}") if message.type == "error" else None
            ),
        )
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on(
            "response",
            lambda response: (
                self.errors.append(f"server error {response.status}: {response.url}")
                if response.status >= 500
                else None
            ),
        )

    def goto(self, path: str):
        response = self.page.goto(self.base_url + path)
        self.page.wait_for_load_state("networkidle")
        return response

    def screenshot(self, name: str) -> None:
        """The page at phone and desktop width, whole length, in its language and then in the
        other one (`<name>-en` or `<name>-zh`), each inspected; back to phone after."""
        self.errors += self._inspect(self.page)
        self._shoot(self.page, name)
        other = "zh-hans" if self._language(self.page) == "en" else "en"
        context = self.page.context.browser.new_context(viewport=PHONE, locale="zh-CN")
        try:
            cookies = [c for c in self.page.context.cookies() if c["name"] != "django_language"]
            context.add_cookies(
                [*cookies, {"name": "django_language", "value": other, "url": self.base_url}]
            )
            page = context.new_page()
            self._watch(page)
            try:
                response = page.goto(self.page.url)
            except PlaywrightError:
                # A page that answers a form's POST alone (a confirmation) has no GET to show
                # in the other language: the browser refuses the empty 405.
                return
            page.wait_for_load_state("networkidle")
            if response is not None and response.status != 405:
                self.errors += self._inspect(page)
                self._shoot(page, f"{name}-{other[:2]}")
        finally:
            context.close()

    @staticmethod
    def _language(page) -> str:
        return "en" if page.locator("html").get_attribute("lang") == "en" else "zh-hans"

    def _inspect(self, page) -> list[str]:
        return inspection.problems(
            url=page.url.removeprefix(self.base_url),
            language=self._language(page),
            text=page.locator("body").inner_text(),
            has_frame=page.locator("header.topbar").count() == 1
            and page.locator("footer.footer").count() == 1,
        )

    @staticmethod
    def _shoot(page, name: str) -> None:
        SCREENSHOTS.mkdir(exist_ok=True)
        for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
            page.set_viewport_size(size)
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
        page.set_viewport_size(PHONE)


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
    assert errors == [], "\n".join(errors)
