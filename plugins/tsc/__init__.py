"""TSC label printers (and TSPL clones) speaking TSPL/TSPL2."""

from labeld.contracts import MaintenanceAction, Model, Role
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
