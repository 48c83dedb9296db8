"""Generic ESC/POS receipt printers (Epson TM-T20 class and compatible clones)."""

from pathlib import Path

from labeld.contracts import Guide, Model
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


# Receipt printers (TM-T20 class) open with a button on the front, and the roll goes in with
# the paper coming off from under it: put in the other way round the receipt comes out blank
# (thermal paper prints on one side only). The drawing shows the cover-open button in orange,
# the feed button in green and the paper's way as an arrow.
DRAWING = Path(__file__).parent / "drawings" / "receipt-printer.svg"


@hookimpl
def labeld_guides() -> list[Guide]:
    from labeld.i18n import N_

    press_open = N_("Press the cover-open button on the front and lift the cover.")
    close_cover = N_("Close the cover firmly in the middle until it clicks.")
    return [
        Guide("paper-out", (
            press_open,
            N_("Take out the empty core."),
            N_("Drop the new roll in so that the paper comes off from under the roll, towards"
               " you."),
            N_("Pull a few centimetres of paper out past the edge."),
            close_cover,
            N_("Tear off the extra paper against the cutter edge."),
        ), N_("The paper light is off and the printer is quiet."),
            drawing=DRAWING, language="escpos"),
        Guide("cover-open", (
            N_("Check that the end of the paper sticks out between the cover and the case."),
            close_cover,
        ), N_("The error light is off."), drawing=DRAWING, language="escpos"),
        Guide("cutter-error", (
            N_("Switch the printer off and on again: the cutter usually goes back by itself."),
            press_open,
            N_("If the cover does not open, do not force it: call the technician."),
            N_("Remove the paper caught at the cutter; do not touch the blade."),
            close_cover,
        ), N_("The error light is off and the next receipt is cut cleanly."),
            drawing=DRAWING, language="escpos"),
    ]
