"""ESC/POS printer profiles from python-escpos's capability database, and labeld's overrides.

python-escpos maintains per model (Epson TM-T20II/T88, Star TSP600, Citizen CT-S651, Seiko,
Rongta, Netum, Zjiang, generic...) which `ESC t n` table numbers select which code page, the
fonts and their characters per line, the paper width and dpi, the cutter, and whether the model
prints barcodes and QR itself. labeld uses that data, not the library's printing: the JSON file
is read where the `python-escpos` distribution installed it, without importing `escpos` (whose
import loads YAML, pickles into a temporary directory and configures logging).

Every profile that prints raster images (`bitImageRaster`: labeld's logos and fallback lines)
becomes a Model `escpos-<profile>` (`escpos-tm-t88v`); customer displays and impact printers
without raster graphics are left out. `OVERRIDES` corrects the database where it is wrong for a
real model, as data with the reason beside it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path
from types import MappingProxyType
from typing import Any

from labeld.contracts import CodePage, Model, TextProfile

DISTRIBUTION = "python-escpos"
FONT_A = (12, 24)  # ESC/POS Font A: 12 x 24 dots on every model labeld knows
# 1D symbologies GS k function B prints (reference 2.7), by labeld's names
NATIVE_BARCODES = frozenset({"code128", "ean13", "ean8", "upca", "code39"})


@dataclass(frozen=True)
class Override:
    """What labeld changes in one database profile, and why (`why` is shown in GET /v1/plugins
    as the profile's notes)."""

    why: str
    width_dots: int | None = None
    dpi: int | None = None
    columns: int | None = None
    code_pages: Mapping[int, str] | None = None  # replaces the database's table


OVERRIDES: Mapping[str, Override] = MappingProxyType({
    # The database gives this profile's fonts 12 and 9 "columns": those are Font A's and
    # Font B's cell widths in dots. 576 dots / 12 = 48 characters per line.
    "NT-80-V-UL": Override("columns: the database lists the fonts' dot widths (12, 9); Font A "
                           "prints 48 characters on 576 dots", columns=48),
    # No paper width in the database; both are 80 mm printers with a 72 mm (576-dot) print
    # area at 203 dpi, as their makers' specification sheets give.
    "RP326": Override("width: not in the database; 80 mm paper, 576 dots at 203 dpi",
                      width_dots=576, dpi=203),
    "TEP-200M": Override("width: not in the database; 80 mm paper, 576 dots at 203 dpi",
                         width_dots=576, dpi=203),
})

# labeld's own generic models, kept under their ids (configs name them), from the database's
# "default" profile (Epson's table numbers: 18 = CP852, 45 = CP1250) with their paper.
GENERIC = (
    ("escpos-generic-80", ("ESC/POS receipt printer, 80 mm paper (576 dots at 203 dpi), "
                           "auto-cutter"), 576, True),
    ("escpos-generic-58", "ESC/POS receipt printer, 58 mm paper (384 dots at 203 dpi)", 384,
     False),
)


@dataclass(frozen=True)
class Database:
    encodings: Mapping[str, Any]
    profiles: Mapping[str, Any]
    version: str = ""
    skipped: tuple[str, ...] = field(default=())


def database_path() -> Path:
    """Where python-escpos installed its capability database."""
    for file in metadata.files(DISTRIBUTION) or ():
        if file.name == "capabilities.json":
            return Path(str(file.locate()))
    raise FileNotFoundError(f"{DISTRIBUTION} has no capabilities.json")


@cache
def load() -> Database:
    data = json.loads(database_path().read_text(encoding="utf-8"))
    return Database(MappingProxyType(data["encodings"]), MappingProxyType(data["profiles"]),
                    metadata.version(DISTRIBUTION))


def model_id(profile: str) -> str:
    return "escpos-" + re.sub(r"[^a-z0-9]+", "-", profile.lower()).strip("-")


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


def code_pages(db: Database, table: Mapping[str, str] | Mapping[int, str]) -> tuple[CodePage, ...]:
    """The profile's tables that Python can encode, by table number."""
    pages = []
    for number, name in sorted(table.items(), key=lambda item: int(item[0])):
        encoding = db.encodings.get(name, {}).get("python_encode")
        if encoding:
            pages.append(CodePage(int(number), name, encoding))
    return tuple(pages)


def text_profile(db: Database, key: str, width: int, override: Override | None = None,
                 ) -> TextProfile:
    profile = db.profiles[key]
    features = profile.get("features", {})
    cell_w, cell_h = FONT_A
    columns = (override.columns if override and override.columns
               else int(profile["fonts"]["0"]["columns"]))
    columns = min(columns, width // cell_w)
    table = override.code_pages if override and override.code_pages else profile["codePages"]
    return TextProfile(
        source=f"{DISTRIBUTION} {db.version}: {key}", code_pages=code_pages(db, table),
        columns=columns, cell_width=cell_w, cell_height=cell_h,
        barcodes=NATIVE_BARCODES if features.get("barcodeB") else frozenset(),
        qr=bool(features.get("qrCode")), full_cut=bool(features.get("paperFullCut")),
        partial_cut=bool(features.get("paperPartCut")),
        drawer=bool(features.get("pulseStandard")),
        notes=(override.why,) if override else ())


def profile_models(db: Database) -> list[Model]:
    """A Model for every database profile that prints raster images."""
    models = []
    for key, profile in sorted(db.profiles.items()):
        features = profile.get("features", {})
        if not features.get("bitImageRaster"):
            continue  # customer displays, impact printers without GS v 0
        override = OVERRIDES.get(key)
        media = profile.get("media", {})
        width = (override and override.width_dots) or _int(media.get("width", {}).get("pixels"))
        dpi = (override and override.dpi) or _int(media.get("dpi")) or 203
        if width is None:
            continue  # no paper width known: name a generic model instead
        cutter = bool(features.get("paperFullCut") or features.get("paperPartCut"))
        models.append(Model(
            id=model_id(key), name=f"{profile.get('vendor', '')} {profile['name']}".strip(),
            language="escpos", dpi=dpi, print_width_dots=width, printer_type="receipt",
            cutter=cutter, crash_policy="hold",
            text=text_profile(db, key, width, override)))
    return models


def generic_models(db: Database) -> list[Model]:
    return [Model(id=id_, name=name, language="escpos", dpi=203, print_width_dots=width,
                  printer_type="receipt", cutter=cutter,
                  # A receipt printed twice is worse than one lost: ask a person after a crash.
                  crash_policy="hold", text=text_profile(db, "default", width, Override(
                      f"columns: Font A (12 dots) fits {width // FONT_A[0]} times in {width} "
                      "dots; the default profile's 42 is for 512-dot printers",
                      columns=width // FONT_A[0])))
            for id_, name, width, cutter in GENERIC]
