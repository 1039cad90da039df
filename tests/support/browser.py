"""A real browser for tests: Playwright driving the system's Chromium (Debian's ``chromium``).

Playwright's own browser downloads are never used: ``launch_chromium`` points Playwright at
``/usr/bin/chromium`` (or ``PASSWAY_TEST_CHROMIUM``). ``require_browser()`` skips the calling tests
cleanly when Playwright or the browser is missing. ``Screens`` writes screenshots, at desktop and
phone widths, under ``tests/artifacts/connect/`` (ignored by git) for a reviewer to look at.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page, Playwright

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "connect"


def chromium_path() -> Path:
    return Path(os.environ.get("PASSWAY_TEST_CHROMIUM", "/usr/bin/chromium"))


def require_browser() -> None:
    """Skip (not fail) where Playwright or the system Chromium is not installed."""
    pytest.importorskip("playwright.async_api", reason="playwright is not installed")
    if not chromium_path().exists():
        pytest.skip(
            f"no Chromium at {chromium_path()} (apt-get install chromium)", allow_module_level=True
        )


async def launch_chromium(playwright: Playwright) -> Browser:
    return await playwright.chromium.launch(
        executable_path=str(chromium_path()), args=CHROMIUM_ARGS
    )


class Screens:
    """Screenshots of each screen, full page, at desktop width and (optionally) phone width."""

    def __init__(self, folder: Path = ARTIFACTS) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def shoot(self, page: Page, name: str, *, phone: bool = True) -> None:
        size: Any = page.viewport_size or DESKTOP
        await page.screenshot(path=str(self.folder / f"{name}-desktop.png"), full_page=True)
        if phone:
            await page.set_viewport_size(PHONE)
            await page.screenshot(path=str(self.folder / f"{name}-phone.png"), full_page=True)
            await page.set_viewport_size(size)
