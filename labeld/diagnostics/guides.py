"""Guided fixes: what a person standing at the printer does about one code, step by step.

A guide (`labeld.contracts.Guide`) has numbered steps, what the person should see when they are
done, a drawing, and what "did it work?" checks: `status` asks the printer again (fixed when the
code is gone), `queue` looks at the printer's held jobs, `none` cannot be checked from here.

Where a guide comes from, for one printer and one code (`resolve`), most specific first:

1. a plugin's guide naming the printer's model (`source: model`),
2. a plugin's guide for the printer's language, the family's default (`source: language`),
3. labeld's own, written for any printer (`GUIDES` below; `source: labeld`), or a plugin's
   guide for every printer for a code labeld has none for,
4. for any other code a guide made from the reason's own hint (`source: fallback`), so that
   every reason labeld can word has a guide.

The words are gettext sentences (`N_`, labeld.i18n), worded in the reader's language at the
edge (`guide_json`). This module knows nothing of HTTP or the console: the daemon resolves and
checks, the doors show.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal

from labeld import i18n
from labeld.contracts import Guide, GuideCheck, Reason, Severity
from labeld.i18n import N_, Catalogues, Message, Said, Words, words
from labeld.reasons import codes as reason_codes
from labeld.reasons import describe, error_entry, lookup

Source = Literal["model", "language", "labeld", "fallback"]

# Codes that are not a printer's reason, with the title a guide shows (a reason's title is its
# own message): a self-test's finding, what a shop sees on a label, a raw job's warning, the
# printer's held jobs.
MEDIA_SIZE_MISMATCH: Final = "media-size-mismatch"
BARCODE_UNREADABLE: Final = "barcode-unreadable"
WRONG_ROLL: Final = "wrong-roll"
LANGUAGE_MISMATCH: Final = "language-mismatch"
ZPL_UTF8: Final = "zpl-utf8-without-ci28"
JOBS_HELD: Final = "jobs-held"

TITLES: Final[Mapping[str, Message]] = MappingProxyType({
    MEDIA_SIZE_MISMATCH: N_("The labels are not the size labeld is set up for"),
    BARCODE_UNREADABLE: N_("The scanner cannot read the printed barcodes"),
    WRONG_ROLL: N_("The wrong kind of roll is in the printer"),
    LANGUAGE_MISMATCH: N_("The printer is set to another printer language (emulation)"),
    ZPL_UTF8: N_("Accented letters print wrong (code page)"),
    JOBS_HELD: N_("Jobs are held on this printer"),
})

# Reused steps: the same sentence is one translation.
_CLOSE_COVER = N_("Close the cover and press it down until it clicks.")
_FEED = N_("Press the feed button once: one blank label or a short piece of paper comes out.")
_GREEN = N_("The status light is steady green and the printer is quiet.")
_CABLE = N_("Check that the network or USB cable is plugged in firmly at both ends.")
_TEST_LABEL = N_("Print a test label from the console (Test label) and look at it.")

# labeld's own guides, for every printer. A family plugin words the same codes for its printers
# where they differ (plugins/zebra, plugins/tsc, plugins/escpos_generic). Immutable: a tuple of
# frozen dataclasses.
GUIDES: Final[tuple[Guide, ...]] = (
    Guide("paper-out", (
        N_("Open the printer's cover."),
        N_("Take out the empty core and put in a new roll the same way the old one was."),
        N_("Pull the paper out past the front edge of the printer."),
        _CLOSE_COVER,
        _FEED,
    ), N_("The paper light is off and the paper comes out straight.")),
    Guide("paper-near-end", (
        N_("Have a new roll ready: this one is almost used up."),
        N_("When it runs out, put in the new roll the same way."),
    ), N_("The warning goes away once a new roll is in.")),
    Guide("head-open", (
        N_("Look at the print head: it is the part that lifts with the cover or with a lever."),
        N_("Press it down on both sides until it clicks."),
        _CLOSE_COVER,
    ), _GREEN),
    Guide("cover-open", (
        N_("Check that no paper is caught at the edge of the cover."),
        _CLOSE_COVER,
    ), _GREEN),
    Guide("ribbon-out", (
        N_("Open the cover and lift the print head."),
        N_("Take off the empty ribbon roll and the full take-up roll."),
        N_("Put the new ribbon on, shiny side towards the labels, and wind a little onto the"
           " empty core."),
        N_("Close the print head and the cover until they click."),
        _FEED,
    ), N_("The ribbon light is off and the label comes out printed black, not pale.")),
    Guide("paper-jam", (
        N_("Switch the printer off."),
        N_("Open the cover and gently pull out the stuck paper; do not use a knife or"
           " scissors."),
        N_("Put the paper back through the guides and close the cover."),
        N_("Switch the printer on and press the feed button once."),
    ), N_("The paper comes out straight without crumpling.")),
    Guide("paused", (
        N_("Press the printer's Pause button once."),
        N_("If its light keeps blinking, press it once more."),
    ), N_("The pause light is off and waiting labels start printing.")),
    Guide("printer-offline", (
        N_("Close the cover and the print head until they click."),
        N_("Check that there is paper in the printer."),
        N_("Press the Pause button once if its light is on."),
    ), _GREEN),
    Guide("printer-unreachable", (
        N_("Check that the printer is switched on: a light on its front is on."),
        _CABLE,
        N_("Switch the printer off, wait ten seconds, and switch it on again."),
        N_("Wait one minute until it is ready."),
    ), N_("The printer's network or ready light is on and the console shows it Ready.")),
    Guide("printer-off", (
        N_("Switch the printer on: a light on its front comes on."),
        _CABLE,
        N_("Wait one minute: the waiting labels print by themselves."),
    ), N_("The waiting labels come out one after another.")),
    Guide("not-taking-data", (
        N_("Switch the printer off, wait ten seconds, and switch it on again."),
        N_("Wait one minute until it is ready."),
        N_("Before printing the held job again, check whether it came out already: do not"
           " print a receipt twice."),
    ), _GREEN),
    Guide("no-status-reply", (
        N_("Check that the printer is switched on and ready."),
        N_("Switch the printer off, wait ten seconds, and switch it on again."),
    ), _GREEN),
    Guide("cutter-error", (
        N_("Switch the printer off."),
        N_("Open the cover and remove the paper caught at the cutter; do not touch the blade."),
        N_("If the cover does not open, do not force it: call the technician."),
        N_("Close the cover and switch the printer on."),
    ), N_("The printer cuts the paper cleanly again.")),
    Guide("head-too-hot", (
        N_("Leave the printer alone for five minutes: it cools down by itself."),
        N_("Make sure nothing covers the printer and it is not in direct sun."),
    ), N_("The printer continues printing by itself.")),
    Guide("temperature-out-of-range", (
        N_("Move the printer away from heaters, doors and direct sun."),
        N_("Wait until the printer has room temperature."),
    ), _GREEN),
    Guide("buffer-full", (
        N_("Wait a minute: the printer is still busy with the labels it has."),
    ), N_("The warning goes away when the printer has caught up.")),
    Guide("unrecoverable-error", (
        N_("Switch the printer off, wait ten seconds, and switch it on again."),
        N_("If the error comes back, call the technician."),
    ), _GREEN),
    Guide(MEDIA_SIZE_MISMATCH, (
        N_("Check that the roll in the printer is the one the shop uses for these labels."),
        N_("If it is the right roll, calibrate: hold the feed button until the light blinks"
           " twice, then let go; the printer feeds a few labels and measures them."),
        _TEST_LABEL,
    ), N_("The test label fits the label exactly, without jumping to the next one."),
        check="none"),
    Guide(BARCODE_UNREADABLE, (
        N_("Clean the print head: switch the printer off, open it, and wipe the head with a"
           " cleaning pen or a cotton swab with isopropyl alcohol."),
        N_("Let it dry for a minute, then close the printer and switch it on."),
        N_("If the bars are pale or broken, ask the technician to raise the darkness."),
        _TEST_LABEL,
    ), N_("The bars are solid black with clean edges and the scanner beeps at once."),
        check="none"),
    Guide(WRONG_ROLL, (
        N_("Compare the roll with the label the shop uses: size, paper or labels, with or"
           " without black marks on the back."),
        N_("Put in the right roll, the same way the old one was."),
        _CLOSE_COVER,
        _TEST_LABEL,
    ), N_("The test label is printed on the right label and in the right place."),
        check="none"),
    Guide(LANGUAGE_MISMATCH, (
        N_("The till sends a printer language this printer does not speak: the printer may"
           " print a page of strange characters or nothing."),
        N_("Do not print that job again."),
        N_("Call the technician: the till's printer setting, or the printer's emulation, has to"
           " be changed."),
    ), N_("After the change, labels print normally."), check="none"),
    Guide(ZPL_UTF8, (
        N_("The till sends accented letters (á, ő, ű) without telling the printer so."),
        N_("Call the technician: the label template in the till needs ^CI28 at its start."),
    ), N_("After the change, ő and ű print correctly."), check="none"),
    Guide(JOBS_HELD, (
        N_("First fix what the printer reports, if anything: follow its guide."),
        N_("Open Jobs in the console and find the held job."),
        N_("If it did not print yet, press Release to print it; if it is no longer needed,"
           " press Cancel."),
        N_("Before releasing a receipt, check that it did not come out already."),
    ), N_("No job is held: the list shows them printed or canceled."), check="queue"),
)

FALLBACK_LAST_STEP: Final = N_("Then press “Did it work?” to ask the printer again.")


@dataclass(frozen=True)
class ResolvedGuide:
    """The guide a printer gets for a code: its words still to be said in a language."""

    code: str
    title: str
    steps: tuple[str, ...]
    expect: str
    check: GuideCheck
    drawing: Path | None
    source: Source


@dataclass(frozen=True)
class CheckOutcome:
    """What "did it work?" found: `fixed` True or False, or None when it cannot tell (a
    setting checked elsewhere, a printer that did not answer); `still` the reasons the printer
    reports now; `message` the answer in words."""

    code: str
    fixed: bool | None
    still: tuple[Reason, ...]
    message: Words

    @property
    def word(self) -> str:
        """The outcome as the event's message says it (the morning report reads these)."""
        return {True: "fixed", False: "not fixed", None: "cannot tell"}[self.fixed]


def known_codes(plugin_guides: Iterable[Guide], catalogues: Catalogues = i18n.CORE
                ) -> frozenset[str]:
    """Every code there is a guide for: labeld's, the plugins', and every worded reason."""
    return frozenset({*(g.code for g in GUIDES), *(g.code for g in plugin_guides),
                      *reason_codes(catalogues)})


def _pick(code: str, model: str, language: str, plugin_guides: Sequence[Guide]
          ) -> tuple[Guide, Source] | None:
    mine = [g for g in plugin_guides if g.code == code]
    for guide in mine:
        if model in guide.models:
            return guide, "model"
    for guide in mine:
        if not guide.models and guide.language == language:
            return guide, "language"
    for guide in GUIDES:
        if guide.code == code:
            return guide, "labeld"
    for guide in mine:
        if not guide.models and guide.language is None:
            return guide, "labeld"
    return None


def title(code: str, catalogues: Catalogues = i18n.CORE) -> Words:
    """What a guide is about: the reason's message, a title of its own (TITLES), a job
    error's message, else the words labeld has for a code it does not know."""
    if code in TITLES:
        return TITLES[code]
    entry = lookup(code, catalogues) or error_entry(code, catalogues)
    if entry is not None:
        return Said(entry.message.as_dict())
    return Said(describe(Reason("other", code, Severity.ERROR), catalogues)["message"])


def resolve(code: str, model: str, language: str, plugin_guides: Sequence[Guide],
            catalogues: Catalogues = i18n.CORE) -> ResolvedGuide:
    """The guide for `code` on a printer of `model` speaking `language` (see the module's
    docstring for the order). Always a guide: a code with none gets the reason's own hint."""
    found = _pick(code, model, language, plugin_guides)
    if found is not None:
        guide, source = found
        return ResolvedGuide(code, title(code, catalogues), guide.steps, guide.expect,
                             guide.check, guide.drawing, source)
    entry = lookup(code, catalogues)
    is_reason = entry is not None
    entry = entry or error_entry(code, catalogues)
    hint = (Said(entry.hint.as_dict()) if entry is not None else
            Said(describe(Reason("other", code, Severity.ERROR), catalogues)["hint"]))
    steps: tuple[str, ...] = (hint, FALLBACK_LAST_STEP) if is_reason else (hint,)
    return ResolvedGuide(code, title(code, catalogues), steps, "",
                         "status" if is_reason else "none", None, "fallback")


def drawing_url(printer_id: str, code: str) -> str:
    return f"/v1/printers/{printer_id}/guides/{code}/drawing.svg"


def guide_json(guide: ResolvedGuide, printer_id: str, catalogues: Catalogues = i18n.CORE
               ) -> dict[str, Any]:
    """A guide as the API, the console and `labeld doctor` show it: every text in every
    language ({"en": ..., "hu": ...}), steps in order."""
    return {
        "code": guide.code,
        "title": words(guide.title, catalogues),
        "steps": [words(s, catalogues) for s in guide.steps],
        "expect": words(guide.expect, catalogues),
        "check": guide.check,
        "drawing": drawing_url(printer_id, guide.code) if guide.drawing else None,
        "source": guide.source,
    }


# -- "did it work?" ----------------------------------------------------------------------------

# Codes that say the printer cannot be reached: fixed once a connection works again, whatever
# else the printer says then (printer-off is never in an answer: the worker notes it).
_REACH = frozenset({"printer-unreachable", "printer-off"})
_UNREACHABLE = "printer-unreachable"

FIXED = N_("Fixed: the printer no longer reports it.")
NOT_FIXED = N_("Not fixed yet: the printer still reports it.")
NO_ANSWER = N_("The printer did not answer, so labeld cannot tell whether it worked. Check that"
               " it is switched on and connected, then try again.")
UNCHECKABLE = N_("labeld cannot check this from here: print a test label to see whether it"
                 " worked.")
QUEUE_CLEAR = N_("Fixed: no job is held on this printer any more.")


def status_outcome(code: str, reasons: Sequence[Reason], answered: bool) -> CheckOutcome:
    """Fixed or not from what the printer answered just now."""
    now = {r.code for r in reasons}
    still = tuple(reasons)
    if code in now:
        return CheckOutcome(code, False, still, NOT_FIXED)
    if code in _REACH:
        fixed = _UNREACHABLE not in now
        return CheckOutcome(code, fixed, still, FIXED if fixed else NOT_FIXED)
    if not answered and code != "no-status-reply":
        return CheckOutcome(code, None, still, NO_ANSWER)
    return CheckOutcome(code, True, still, FIXED)


def queue_outcome(code: str, held: int) -> CheckOutcome:
    if held:
        return CheckOutcome(code, False, (), Message.ngettext(
            "Not fixed yet: {n} job is still held on this printer.",
            "Not fixed yet: {n} jobs are still held on this printer.", held))
    return CheckOutcome(code, True, (), QUEUE_CLEAR)


def uncheckable(code: str) -> CheckOutcome:
    return CheckOutcome(code, None, (), UNCHECKABLE)


def outcome_json(outcome: CheckOutcome, catalogues: Catalogues = i18n.CORE) -> dict[str, Any]:
    return {"code": outcome.code, "fixed": outcome.fixed,
            "still": [describe(r, catalogues) for r in outcome.still],
            "message": words(outcome.message, catalogues)}
