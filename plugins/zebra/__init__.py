"""Zebra label printers speaking ZPL II."""

from labeld.contracts import Model
from labeld.hookspecs import hookimpl

ZEBRA_VID = 0x0A5F

MODELS = [
    Model(
        id="zebra-generic-203",
        name="Zebra ZPL printer, 203 dpi, 4 inch (ZD421, ZD420, GK420d, ZT230 class)",
        language="zpl",
        dpi=203,
        print_width_dots=832,  # 104 mm at 8 dots/mm
        kind="label",
        crash_policy="retry",
    ),
    Model(
        id="zebra-generic-300",
        name="Zebra ZPL printer, 300 dpi, 4 inch (ZD421 300 dpi, ZT411 300 dpi class)",
        language="zpl",
        dpi=300,
        print_width_dots=1248,  # 104 mm at 12 dots/mm
        kind="label",
        crash_policy="retry",
    ),
]


@hookimpl
def labeld_models() -> list[Model]:
    return list(MODELS)
