"""Package boundaries from the layout in the README, checked on the source.

Layers, lowest first: ``wog_core`` → ``dbschema`` → ``wog_warehouse`` → ``wog_sources`` and
``wog_report`` → ``wog_assets`` (Dagster) and ``wog_bot`` → ``wog_cli``; ``wog_fakes`` (the
stand-ins) sits beside the CLI. A package imports only from the layers below it (and itself);
the bot builds its messages with ``wog_report`` and imports nothing of ``wog_assets``, and
nothing but the CLI imports the bot. The pure packages never load Dagster.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "wog_core",
    "dbschema",
    "wog_warehouse",
    "wog_sources",
    "wog_report",
    "wog_assets",
    "wog_bot",
    "wog_fakes",
    "wog_cli",
)
_PURE_BELOW = {"wog_core", "dbschema", "wog_warehouse", "wog_sources", "wog_report"}

# What each package may import of ours (besides itself).
ALLOWED = {
    "wog_core": set(),
    "dbschema": {"wog_core"},
    "wog_warehouse": {"wog_core", "dbschema"},
    "wog_sources": {"wog_core"},
    "wog_report": {"wog_core", "dbschema", "wog_warehouse"},
    "wog_assets": _PURE_BELOW,
    "wog_bot": {"wog_core", "dbschema", "wog_warehouse", "wog_report"},
    "wog_fakes": {"wog_core", "dbschema", "wog_warehouse", "wog_sources", "wog_report"},
    "wog_cli": {*_PURE_BELOW, "wog_assets", "wog_bot", "wog_fakes"},
}
# Only the command line starts the bot.
BOT_IMPORTERS = ("wog_cli",)

PURE = [
    "wog_core",
    "wog_core.settings",
    "wog_core.models",
    "wog_warehouse.queue",
    "wog_warehouse.replays",
    "wog_warehouse.raw",
    "wog_warehouse.quality",
    "wog_assets",
    "wog_sources",
    "wog_sources.parse",
    "wog_sources.client",
    "wog_sources.ocap",
    "wog_sources.ocap_sources",
    "wog_report",
    "wog_report.summary",
    "wog_report.build",
    "wog_report.chart",
    "wog_report.digest",
    "wog_cli",
    "dbschema",
    "wog_bot.app",
    "wog_bot.delivery",
    "wog_bot.commands",
    "wog_bot.twitch",
]


def _modules() -> list[tuple[str, Path]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found.append((name, path))
    return found


def _imports(path: Path) -> list[str]:
    """Every module ``path`` imports, at any depth (functions included)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


MODULES = _modules()


@pytest.mark.parametrize("module,path", MODULES, ids=[m for m, _ in MODULES])
def test_imports_follow_the_layers(module: str, path: Path) -> None:
    package = module.split(".")[0]
    for imported in _imports(path):
        top = imported.split(".")[0]
        if top not in PACKAGES or top == package:
            continue
        if top == "wog_bot":
            assert module.startswith(BOT_IMPORTERS), f"{module} imports the bot ({imported})"
            continue
        assert top in ALLOWED[package], f"{module} imports {imported}: {package} may not use {top}"


def _attribute_uses(path: Path, attribute: str) -> list[ast.AST]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == attribute
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    ]


def test_only_the_settings_and_launchers_read_the_environment() -> None:
    readers = {
        m for m, p in MODULES if _attribute_uses(p, "environ") or _attribute_uses(p, "getenv")
    }
    # wog_core.settings reads everything; `wog dev` passes the environment on to Dagster.
    assert readers <= {"wog_core.settings", "wog_cli.pipeline"}, readers
    assert len(readers) <= 4


def test_only_the_settings_write_the_environment() -> None:
    writers = set()
    for module, path in MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            target = None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in ("update", "setdefault", "pop", "__setitem__"):
                    target = node.func.value
            elif isinstance(node, ast.Assign | ast.Delete):
                for t in getattr(node, "targets", []):
                    if isinstance(t, ast.Subscript):
                        target = t.value
            if (
                isinstance(target, ast.Attribute)
                and target.attr == "environ"
                and isinstance(target.value, ast.Name)
                and target.value.id == "os"
            ):
                writers.add(module)
    assert writers == {"wog_core.settings"}, writers


def test_only_the_queue_touches_the_notifications_table() -> None:
    users = set()
    for module, path in MODULES:
        text = path.read_text(encoding="utf-8")
        if module.startswith("dbschema"):
            continue
        if "wog_notifications" in text or any(
            name in ("dbschema.tables.notifications",) for name in _imports(path)
        ):
            users.add(module)
        if "t.notifications" in text or "tables.notifications" in text:
            users.add(module)
    assert users == {"wog_warehouse.queue"}, users


@pytest.mark.parametrize("module", PURE)
def test_module_does_not_import_dagster(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.split('.')[0] == 'dagster'))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"{module} pulls in {result.stdout.strip()}"


def test_the_readme_layout_table_matches_the_tree() -> None:
    readme = (ROOT / "docs" / "developer.md").read_text(encoding="utf-8")
    section = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    named = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_column = line.split("|")[1]
            named |= {part.rstrip("/") for part in first_column.split("`")[1::2]}
    for name in named:
        assert (ROOT / name).exists(), f"README names {name}, which does not exist"
    for package in PACKAGES:
        for child in sorted((ROOT / package).iterdir()):
            if child.name.startswith(("_", ".")) or child.suffix not in (".py", ""):
                continue
            relative = f"{package}/{child.name}"
            assert package in named or relative in named, f"README's layout omits {relative}"


# Inside the code location: each domain of ``wog_assets.defs`` imports only ``core`` (what they
# share) and itself; ``core`` imports no domain; nothing in ``defs`` imports the run helpers
# (``wog_assets.runs``), the instance or the code location that merges them.
_DOMAINS = ("sources", "warehouse", "stats", "notifications")


def _room(module: str) -> str:
    parts = module.split(".")
    if parts[:2] == ["wog_assets", "defs"] and len(parts) > 2:
        return f"defs.{parts[2]}"
    return ".".join(parts[1:2]) or "wog_assets"


@pytest.mark.parametrize(
    "module,path",
    [(m, p) for m, p in MODULES if m.startswith("wog_assets.defs")],
    ids=[m for m, _ in MODULES if m.startswith("wog_assets.defs")],
)
def test_the_definitions_import_one_way(module: str, path: Path) -> None:
    room = _room(module)
    for imported in _imports(path):
        if not imported.startswith("wog_assets."):
            continue
        target = _room(imported)
        assert target.startswith("defs."), f"{module} imports {imported} (defs never import it)"
        if room == "defs.core":
            assert target == "defs.core", f"{module} (core) imports the domain {imported}"
        elif room in {f"defs.{d}" for d in _DOMAINS}:
            assert target in (room, "defs.core"), f"{module} imports another domain: {imported}"


def test_the_settings_are_read_only_at_the_entry_points() -> None:
    """``wog_core.settings.current()`` is called by the CLI and by the code location's entry
    point (Dagster loads it in its own processes); everything below is handed its settings."""
    callers = set()
    for module, path in MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("current", "current_settings"):
                callers.add(module)
    allowed = {"wog_core.settings", "wog_assets.definitions"}
    assert {c for c in callers if not c.startswith("wog_cli")} <= allowed, callers


def test_the_tests_mirror_the_packages() -> None:
    """A package's tests live in ``tests/<package>/``; the top level holds only the tests of the
    whole (layers, deployment, topology, the demo, recovery, secrets, the WRTD takeover)."""
    tests = ROOT / "tests"
    folders = {p.name for p in tests.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))}
    assert folders - {"compose", "data"} <= set(PACKAGES), folders
    for package in set(PACKAGES) - {"wog_fakes"}:  # the stand-ins are exercised by every suite
        assert (tests / package).is_dir(), f"no tests/{package}/"
    whole = {p.name for p in tests.glob("test_*.py")}
    assert whole == {
        "test_boundaries.py",
        "test_deployment.py",
        "test_dev.py",
        "test_migrate_wrtd.py",
        "test_recovery.py",
        "test_secrets.py",
        "test_topology.py",
    }, whole
