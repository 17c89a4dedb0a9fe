"""Headless Chromium for the browser tests (Debian's package; .ci/run installs it)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


MISSING = "Chromium is not installed (.ci/run installs Debian's chromium)"


def chromium_executable() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def chromium_page(width: int, height: int) -> Iterator[object]:
    """A Playwright page in the system Chromium; skips the test when Chromium is missing."""
    executable = chromium_executable()
    if executable is None:
        pytest.skip(MISSING)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=FLAGS)
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()
