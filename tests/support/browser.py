"""Headless Chromium for tests that must see a report the way a person's browser does."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

BROWSER_TIMEOUT_S = 60


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no chromium to open the report in (apt-get install chromium)")


def dump_dom(chromium: str, page: Path, profile: Path) -> str:
    """The page's DOM after it loaded (and after any script on it ran)."""
    return subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=BROWSER_TIMEOUT_S,
        check=True,
    ).stdout
