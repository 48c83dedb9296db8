"""TSC label printers (and TSPL clones) speaking TSPL/TSPL2."""

from pathlib import Path

from labeld.contracts import Guide, MaintenanceAction, Model, Role
from labeld.hookspecs import hookimpl
from labeld.i18n import N_
from labeld.langkit import sends

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


# TSC desktop printers (TE200, DA210 class) open with a button on each side of the top cover;
# the drawing shows them in orange, the gap sensor in blue and the FEED button in green.
DRAWING = Path(__file__).parent / "drawings" / "tsc-desktop.svg"


@hookimpl
def labeld_guides() -> list[Guide]:
    from labeld.i18n import N_

    open_cover = N_("Press the open buttons on both sides and lift the top cover.")
    close_cover = N_("Close the top cover and press it down until it clicks.")
    return [
        Guide("paper-out", (
            open_cover,
            N_("Put the new roll on the holder, labels facing up, and lead them through the"
               " paper guides to the front."),
            N_("Push the paper guides against the edges of the labels."),
            close_cover,
            N_("Press the FEED button once: one blank label comes out."),
        ), N_("The light is green and the label stops at the front edge."),
            drawing=DRAWING, language="tspl"),
        Guide("head-open", (
            open_cover,
            N_("Check that no label is caught at the sides."),
            close_cover,
        ), N_("The light is green."), drawing=DRAWING, language="tspl"),
        Guide("paused", (
            N_("Press the FEED button once: a paused TSC printer goes on printing."),
        ), N_("The light is green and waiting labels start printing."),
            drawing=DRAWING, language="tspl"),
    ]


# -- maintenance actions ---------------------------------------------------------------------
# TSPL commands are lines; each action is one, sent alone between jobs.

GAP_CALIBRATE = b"GAPDETECT\r\n"  # feeds labels until the sensor has measured label and gap
SELF_TEST = b"SELFTEST\r\n"  # prints the self-test page (settings, sensor, a print pattern)

ACTIONS = [
    MaintenanceAction(
        id="gap-calibrate", title=N_("Calibrate the labels"),
        explanation=N_("The printer feeds a few labels to measure them and the gap between "
                       "them. Do this after loading a different kind of label, or when labels "
                       "come out shifted or a blank one follows each label."),
        role=Role.STAFF, command=sends(GAP_CALIBRATE), language="tspl", prints=True),
    MaintenanceAction(
        id="self-test", title=N_("Print the self-test page"),
        explanation=N_("The printer prints a page with its settings and a test pattern. Gaps "
                       "or white lines in the pattern mean the print head needs cleaning."),
        role=Role.STAFF, command=sends(SELF_TEST), language="tspl", prints=True),
]


@hookimpl
def labeld_maintenance_actions() -> list[MaintenanceAction]:
    return list(ACTIONS)
