"""Browser fixtures: headless system Chromium (Playwright sync API) against the real staff API.

The staff API comes from the session `stack` fixture (real Redis + action server + Rasa + staff
API). For quick local iteration only, E2E_BASE_URL (+ E2E_REDIS_URL, E2E_RASA=0) points the tests
at an already running staff API instead.
"""
from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

# The staff API shares 2 cores with Rasa, the voice gateway and training in CI: allow
# slow answers rather than fail on a busy machine (assertions are unchanged).
expect.set_options(timeout=20_000)

from common.settings import ROOT

SHOTS = ROOT / "tests" / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORTS = {"desktop": {"width": 1366, "height": 768}, "tablet-landscape": {"width": 1024, "height": 768},
             "tablet-portrait": {"width": 768, "height": 1024}}
PASSWORDS = {"clerk": "clerk123", "dispatcher": "dispatcher123", "supervisor": "supervisor123",
             "admin": "admin123", "police": "police123", "centre": "centre123", "handler": "handler123"}


class Target:
    def __init__(self, base_url: str, redis_url: str, rasa: bool):
        self.base_url = base_url.rstrip("/")
        self.redis_url = redis_url
        self.rasa = rasa
        self._tokens: dict[str, str] = {}

    def token(self, user: str) -> str:
        if user not in self._tokens:
            self._tokens[user] = self.call("POST", "/api/login", {"username": user, "password": PASSWORDS[user]})["token"]
        return self._tokens[user]

    def call(self, method: str, path: str, body: dict | None = None, user: str | None = None):
        headers = {"Content-Type": "application/json"}
        if user:
            headers["Authorization"] = f"Bearer {self.token(user)}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read())


@pytest.fixture(scope="session")
def target(request) -> Target:
    if os.environ.get("E2E_BASE_URL"):
        return Target(os.environ["E2E_BASE_URL"], os.environ["E2E_REDIS_URL"], os.environ.get("E2E_RASA", "0") == "1")
    stack = request.getfixturevalue("stack")
    redis = request.getfixturevalue("redis_server")
    return Target(f"http://localhost:{stack.ports.staff_api}", redis.url, True)


@pytest.fixture(scope="module")  # module: the sync API runs an event loop; later async tests need the thread back
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def open_page(browser, target):
    """open_page(viewport="desktop") -> a fresh page (own context: own sessionStorage) on the consoles."""
    contexts = []

    def make(viewport: str = "desktop"):
        ctx = browser.new_context(viewport=VIEWPORTS[viewport], locale="zh-CN", accept_downloads=True)
        contexts.append(ctx)
        page = ctx.new_page()
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        page.goto(target.base_url + "/")
        return page

    yield make
    for ctx in contexts:
        ctx.close()


def login(page, user: str) -> None:
    page.get_by_test_id("login-user").fill(user)
    page.get_by_test_id("login-pass").fill(PASSWORDS[user])
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("who").wait_for()


def shot(page, name: str, full_page: bool = True) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def horizontal_overflow(page) -> int:
    """Pixels the document is wider than the viewport (0 = no horizontal scrolling)."""
    return page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
