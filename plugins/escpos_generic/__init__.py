"""Generic ESC/POS receipt printers (Epson TM-T20 class and compatible clones)."""

from labeld.contracts import Model
from labeld.hookspecs import hookimpl

MODELS = [
    Model(
        id="escpos-generic-80",
        name="ESC/POS receipt printer, 80 mm paper (576 dots at 203 dpi), auto-cutter",
        language="escpos",
        dpi=203,
        print_width_dots=576,
        printer_type="receipt",
        cutter=True,
        # A receipt printed twice is worse than one lost: ask a person after a crash.
        crash_policy="hold",
    ),
    Model(
        id="escpos-generic-58",
        name="ESC/POS receipt printer, 58 mm paper (384 dots at 203 dpi)",
        language="escpos",
        dpi=203,
        print_width_dots=384,
        printer_type="receipt",
        crash_policy="hold",
    ),
]


@hookimpl
def labeld_models() -> list[Model]:
    return list(MODELS)
