"""Package boundaries from DESIGN.md: the bot and the pure modules never load Dagster."""

from __future__ import annotations

import subprocess
import sys

import pytest

PURE = [
    "wog_assets",
    "wog_assets.source.parse",
    "wog_assets.source.client",
    "wog_assets.summary",
    "wog_assets.message.build",
    "wog_assets.message.chart",
    "wog_assets.warehouse",
    "wog_assets.cli",
    "dbschema",
    "wog_bot.app",
    "wog_bot.delivery",
    "wog_bot.commands",
    "wog_bot.twitch",
]


@pytest.mark.parametrize("module", PURE)
def test_module_does_not_import_dagster(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.split('.')[0] == 'dagster'))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"{module} pulls in {result.stdout.strip()}"
