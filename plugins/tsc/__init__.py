"""TSC label printers (and TSPL clones) speaking TSPL/TSPL2."""

from labeld.contracts import Model
from labeld.hookspecs import hookimpl

TSC_VID = 0x1203

MODELS = [
    Model(
        id="tsc-generic-203",
        name="TSC TSPL printer, 203 dpi, 4 inch (TTP-244, TE200, DA210 class)",
        language="tspl",
        dpi=203,
        print_width_dots=832,
        printer_type="label",
        crash_policy="retry",
        usb_ids=((TSC_VID, 0x0140),),
    ),
]


@hookimpl
def labeld_models() -> list[Model]:
    return list(MODELS)
