"""Headless Chromium for tests that look at pages the project writes.

Debian's ``chromium`` is used; when it is missing and the tests run as root with apt-get
available, it is installed once (as the test setup of the HTML report needs it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--enable-logging=stderr", "--v=0",
]  # fmt: skip


def find_or_install_chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "chromium"], env=env, capture_output=True, timeout=900
        )
        path = shutil.which("chromium")
        if path:
            return path
    pytest.skip("chromium is not installed and cannot be installed here")


@dataclass
class Rendered:
    dom: str
    console: str


def render(chromium: str, page: Path) -> Rendered:
    """Load a local page, run its scripts, and return the DOM and the browser's log."""
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [
                chromium,
                *FLAGS,
                f"--user-data-dir={profile}",
                "--virtual-time-budget=5000",
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    return Rendered(dom=result.stdout, console=result.stderr)
