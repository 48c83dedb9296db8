"""The wheel a user installs: everything labeld needs at run time, under the `labeld` name only.

Built from this checkout with the test environment's setuptools (no download), then read as
the zip it is."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-v",
         "-w", str(out), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # setuptools' own warnings (a data folder left out of `packages`, say) are packaging bugs
    warnings = [line for line in (result.stdout + result.stderr).splitlines()
                if "setuptools" in line and "Warning:" in line]
    assert not warnings, warnings
    (built,) = out.glob("labeld-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel_files(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as z:
        return z.namelist()


def test_only_the_labeld_name_is_installed(wheel_files):
    top = {name.split("/")[0] for name in wheel_files}
    assert {t for t in top if not t.endswith(".dist-info")} == {"labeld"}
    assert "labeld/drivers/zpl/graphics.py" in wheel_files  # drivers/ maps under labeld
    assert "labeld/plugins/zebra/__init__.py" in wheel_files  # so does plugins/


def test_fonts_and_stock_templates_ship_with_it(wheel_files):
    for name in ("labeld/intake/render/fonts/DejaVuSans.ttf",
                 "labeld/intake/render/fonts/DejaVuSans-Bold.ttf",
                 "labeld/intake/render/fonts/LICENSE"):
        assert name in wheel_files
    templates = {n.rsplit("/", 1)[1] for n in wheel_files
                 if n.startswith("labeld/plugins/templates_builtin/templates/")}
    shipped = (ROOT / "plugins/templates_builtin/templates").glob("*.json")
    assert templates == {p.name for p in shipped}


def test_the_console_script_and_builtin_plugins_are_entry_points(wheel: Path, wheel_files):
    (name,) = [n for n in wheel_files if n.endswith(".dist-info/entry_points.txt")]
    with zipfile.ZipFile(wheel) as z:
        text = z.read(name).decode()
    assert "labeld = labeld.cli:main" in text
    group = text.split("[labeld]\n", 1)[1].split("\n[", 1)[0]
    modules = {line.split("=", 1)[1].strip() for line in group.splitlines() if "=" in line}
    assert {"labeld.drivers.zpl", "labeld.drivers.transports.tcp", "labeld.plugins.zebra",
            "labeld.plugins.templates_builtin"} <= modules
    for module in modules:  # each one is in the wheel, so the entry point loads
        path = module.replace(".", "/")
        assert f"{path}.py" in wheel_files or f"{path}/__init__.py" in wheel_files, module


def test_the_guides_drawings_ship_with_their_plugins(wheel_files):
    shipped = {p.relative_to(ROOT / "plugins").as_posix()
               for p in (ROOT / "plugins").glob("*/drawings/*.svg")}
    assert shipped  # zebra, tsc, escpos_generic
    assert {f"labeld/plugins/{name}" for name in shipped} <= set(wheel_files)
