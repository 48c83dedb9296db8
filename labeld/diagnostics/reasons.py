"""The reasons catalogue: what each reason code means to the person standing at the printer.

Language drivers only say *what* they decoded (a Reason with an IPP keyword and labeld's own
code); the words shown to shop staff live here, in every supported language, so that wording
can change without touching the decoders and a translator edits one file.

Messages are short and plain; hints say what to do, in the order a person would do it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from labeld.contracts import Reason, Severity

LANGUAGES: tuple[str, ...] = ("en", "hu")

# Reasons that do not come from decoding a printer's reply, so that the core and every driver
# spell them the same way.
NO_STATUS_REPLY = Reason("other", "no-status-reply", Severity.WARNING)
GARBLED_STATUS_REPLY = Reason("other", "garbled-status-reply", Severity.WARNING)
# The status exchange as a whole overran its deadline (the query could not even be written, or
# the reply kept trickling in). A warning, like silence: it says nothing about paper or covers.
STATUS_TIMEOUT = Reason("other", "status-timeout", Severity.WARNING)
# Connection refused or timed out: nothing can be sent at all, so the queue must wait.
PRINTER_UNREACHABLE = Reason("offline-report", "printer-unreachable", Severity.ERROR)
# Reading the status failed inside labeld (a decoder bug): said, never a 500.
STATUS_FAILED = Reason("other", "status-failed", Severity.WARNING)
# Reasons the delivery worker adds to the printer's own (Printer.notes):
# the worker hit a bug and restarts; the queue waits meanwhile.
INTERNAL_ERROR = Reason("other", "internal-error", Severity.ERROR)
# the printer was unreachable through the whole retry budget: its jobs are held until it answers.
OFFLINE_HOLD = Reason("offline-report", "printer-off", Severity.ERROR)
# the printer accepted the connection but never showed that it read the job.
NOT_TAKING_DATA = Reason("other", "not-taking-data", Severity.ERROR)

CORE_REASONS: tuple[Reason, ...] = (
    NO_STATUS_REPLY,
    GARBLED_STATUS_REPLY,
    STATUS_TIMEOUT,
    PRINTER_UNREACHABLE,
    STATUS_FAILED,
    INTERNAL_ERROR,
    OFFLINE_HOLD,
    NOT_TAKING_DATA,
)


@dataclass(frozen=True)
class Text:
    """One sentence in every supported language."""

    en: str
    hu: str

    def as_dict(self) -> dict[str, str]:
        return {lang: getattr(self, lang) for lang in LANGUAGES}


@dataclass(frozen=True)
class Entry:
    message: Text
    hint: Text


_SEE_SUPPORT = Text(
    "Turn the printer off and on. If the problem stays, call support.",
    "Kapcsolja ki, majd be a nyomtatót. Ha a hiba megmarad, hívja a szervizt.",
)


def _e(msg_en: str, msg_hu: str, hint_en: str, hint_hu: str) -> Entry:
    return Entry(Text(msg_en, msg_hu), Text(hint_en, hint_hu))


def _e_support(msg_en: str, msg_hu: str) -> Entry:
    return Entry(Text(msg_en, msg_hu), _SEE_SUPPORT)


CATALOGUE: Mapping[str, Entry] = MappingProxyType(
    {
        # --- reachability and the status exchange itself ---
        "temperature-out-of-range": _e(
            "The room is too hot or too cold for the printer",
            "A helyiség túl meleg vagy túl hideg a nyomtatónak",
            "Move the printer away from heaters, windows and air conditioning, or wait until the "
            "room temperature is normal again.",
            "Vigye távolabb a nyomtatót a fűtéstől, az ablaktól és a légkondicionálótól, vagy "
            "várjon, amíg a hőmérséklet ismét megfelelő lesz.",
        ),
        "printer-unreachable": _e(
            "Cannot reach the printer",
            "A nyomtató nem érhető el",
            "Check that the printer is switched on and its network or USB cable is plugged in.",
            "Ellenőrizze, hogy a nyomtató be van-e kapcsolva, és be van-e dugva a hálózati "
            "vagy USB-kábele.",
        ),
        "printer-off": _e(
            "The printer has been off or out of reach for a while; its labels wait",
            "A nyomtató egy ideje ki van kapcsolva vagy nem érhető el; a címkék kivárnak",
            "Switch the printer on and check its cable. Waiting labels print by themselves "
            "once it answers again.",
            "Kapcsolja be a nyomtatót, és nézze meg a kábelét. A várakozó címkék maguktól "
            "kinyomtatódnak, amint a nyomtató újra válaszol.",
        ),
        "not-taking-data": _e(
            "The printer accepts the connection but does not take the print job",
            "A nyomtató fogadja a kapcsolatot, de a nyomtatási feladatot nem veszi át",
            "Turn the printer off and on. Then check whether the last label came out before "
            "printing it again.",
            "Kapcsolja ki, majd be a nyomtatót. Utána nézze meg, kijött-e az utolsó címke, "
            "mielőtt újra nyomtatja.",
        ),
        "internal-error": _e(
            "labeld ran into an error with this printer and is restarting its queue",
            "A labeld hibába ütközött ennél a nyomtatónál, és újraindítja a sorát",
            "Wait a minute. If it stays, download the support bundle and send it to support.",
            "Várjon egy percet. Ha nem múlik el, töltse le a támogatási csomagot, és küldje el "
            "a szerviznek.",
        ),
        "status-failed": _e(
            "labeld could not read the printer's status",
            "A labeld nem tudta kiolvasni a nyomtató állapotát",
            "Printing goes on. If it stays, send the support bundle to support.",
            "A nyomtatás folytatódik. Ha nem múlik el, küldje el a támogatási csomagot a "
            "szerviznek.",
        ),
        "no-status-reply": _e(
            "The printer did not answer the status check",
            "A nyomtató nem válaszolt az állapotlekérdezésre",
            "It may still print. If nothing comes out, look at the printer's lights and check "
            "that the right printer model is set.",
            "Ettől még nyomtathat. Ha nem jön ki semmi, nézze meg a nyomtató jelzőfényeit, és "
            "ellenőrizze, hogy a megfelelő nyomtatótípus van-e beállítva.",
        ),
        "garbled-status-reply": _e(
            "The printer's status answer could not be read",
            "A nyomtató állapotválasza nem olvasható",
            "Check that the right printer model is set, then turn the printer off and on.",
            "Ellenőrizze, hogy a megfelelő nyomtatótípus van-e beállítva, majd kapcsolja ki "
            "és be a nyomtatót.",
        ),
        "status-timeout": _e(
            "The printer answered too slowly",
            "A nyomtató túl lassan válaszolt",
            "Wait a moment. If it keeps happening, turn the printer off and on.",
            "Várjon egy kicsit. Ha ismétlődik, kapcsolja ki és be a nyomtatót.",
        ),
        # --- paper, labels, ribbon ---
        "paper-out": _e(
            "Out of paper or labels",
            "Kifogyott a papír vagy a címke",
            "Put in a new roll and close the cover.",
            "Tegyen be új tekercset, és zárja le a fedelet.",
        ),
        "paper-near-end": _e(
            "Paper is running low",
            "Hamarosan kifogy a papír",
            "Have a new roll ready and change it soon.",
            "Készítsen elő egy új tekercset, és hamarosan cserélje ki.",
        ),
        "ribbon-out": _e(
            "The ribbon has run out",
            "Kifogyott a festékszalag",
            "Put in a new ribbon and close the print head.",
            "Tegyen be új festékszalagot, és zárja le a nyomtatófejet.",
        ),
        "paper-jam": _e(
            "Paper jam",
            "Papírelakadás",
            "Open the cover, take out the stuck paper and close the cover.",
            "Nyissa ki a fedelet, vegye ki a beragadt papírt, majd zárja le a fedelet.",
        ),
        "paper-feed-error": _e(
            "The paper does not move forward",
            "A papír nem halad előre",
            "Open the cover, check that the roll sits straight, and close the cover.",
            "Nyissa ki a fedelet, ellenőrizze, hogy a tekercs egyenesen áll-e, majd zárja le "
            "a fedelet.",
        ),
        "paper-path-error": _e(
            "Something blocks the paper's way out",
            "Valami elzárja a papír útját",
            "Take out any paper stuck at the paper exit.",
            "Vegye ki a kiadónyílásnál beragadt papírt.",
        ),
        "paper-feeding": _e(
            "Paper is being fed with the Feed button",
            "Papírtovábbítás a Feed gombbal",
            "Let go of the Feed button when enough paper has come out.",
            "Engedje el a Feed gombot, ha elég papír jött ki.",
        ),
        "label-waiting": _e(
            "A printed label is waiting to be taken",
            "Egy kinyomtatott címke elvételre vár",
            "Take the label; the next one prints after that.",
            "Vegye el a címkét; a következő csak utána nyomtatódik.",
        ),
        "calibrate-media": _e(
            "The printer needs to measure the labels again",
            "A nyomtatónak újra be kell mérnie a címkéket",
            "Calibrate the labels as shown in the printer's quick guide.",
            "Végezze el a címkekalibrálást a nyomtató rövid útmutatója szerint.",
        ),
        "black-mark-calibration-error": _e(
            "Could not measure the black marks on the paper",
            "Nem sikerült bemérni a papír fekete jeleit",
            "Check that the right paper (with black marks) is loaded, then calibrate again.",
            "Ellenőrizze, hogy a megfelelő (fekete jeles) papír van-e betéve, majd "
            "kalibráljon újra.",
        ),
        "black-mark-not-found": _e(
            "No black mark found on the paper",
            "A nyomtató nem talál fekete jelet a papíron",
            "Check the paper type and that the roll is loaded the right way round.",
            "Ellenőrizze a papír típusát, és hogy a tekercs jó irányban van-e betéve.",
        ),
        # --- covers and the print head ---
        "head-open": _e(
            "Print head is open",
            "Nyomtatófej nyitva",
            "Close the print head until it clicks.",
            "Zárja le a fejet, amíg kattan.",
        ),
        "cover-open": _e(
            "Printer cover is open",
            "Nyitva van a nyomtató fedele",
            "Close the cover until it clicks.",
            "Zárja le a fedelet, amíg kattan.",
        ),
        "head-too-cold": _e(
            "Print head is too cold",
            "A nyomtatófej túl hideg",
            "Let the printer warm up in a warmer place; until then prints may be faint.",
            "Hagyja a nyomtatót melegebb helyen felmelegedni; addig a nyomat halvány lehet.",
        ),
        "head-too-hot": _e(
            "Print head is too hot",
            "A nyomtatófej túlmelegedett",
            "Let the printer cool down for a few minutes; it goes on by itself.",
            "Hagyja néhány percig hűlni a nyomtatót; utána magától folytatja.",
        ),
        "motor-too-hot": _e(
            "The motor is too hot",
            "A motor túlmelegedett",
            "Let the printer rest for a few minutes.",
            "Hagyja pihenni a nyomtatót néhány percig.",
        ),
        "clean-head": _e(
            "The print head needs cleaning",
            "A nyomtatófejet meg kell tisztítani",
            "Switch the printer off and wipe the print head with a cleaning pen or alcohol "
            "swab.",
            "Kapcsolja ki a nyomtatót, és törölje át a fejet tisztítótollal vagy alkoholos "
            "kendővel.",
        ),
        "replace-head": _e(
            "The print head is worn out",
            "A nyomtatófej elhasználódott",
            "Ask support to replace the print head.",
            "Kérje a szerviztől a nyomtatófej cseréjét.",
        ),
        "head-element-bad": _e(
            "The print head is damaged",
            "A nyomtatófej sérült",
            "Labels may show white lines. Ask support to replace the print head.",
            "A címkéken fehér csíkok lehetnek. Kérje a szerviztől a nyomtatófej cseréjét.",
        ),
        "head-not-detected": _e_support(
            "The printer cannot find its print head",
            "A nyomtató nem érzékeli a nyomtatófejet",
        ),
        "head-thermistor-open": _e_support(
            "The print head temperature sensor is faulty",
            "Hibás a nyomtatófej hőérzékelője",
        ),
        # --- cutter, mechanics, presenter ---
        "cutter-error": _e(
            "The cutter is jammed",
            "Elakadt a vágókés",
            "Open the cover, take out any paper stuck at the cutter, and close the cover.",
            "Nyissa ki a fedelet, vegye ki a vágónál beragadt papírt, majd zárja le a fedelet.",
        ),
        "mechanical-error": _e(
            "Mechanical fault in the printer",
            "Mechanikai hiba a nyomtatóban",
            "Look for stuck paper or objects, then turn the printer off and on. If it stays, "
            "call support.",
            "Nézze meg, nem akadt-e be papír vagy más tárgy, majd kapcsolja ki és be a "
            "nyomtatót. Ha a hiba megmarad, hívja a szervizt.",
        ),
        "presenter-error": _e(
            "The paper exit unit is not working",
            "A papírkiadó egység nem működik",
            "Take out any paper stuck at the exit, then turn the printer off and on.",
            "Vegye ki a kiadónyílásnál beragadt papírt, majd kapcsolja ki és be a nyomtatót.",
        ),
        "retract-timeout": _e(
            "The printer could not pull the paper back in",
            "A nyomtató nem tudta visszahúzni a papírt",
            "Take out the paper at the exit and check for a jam.",
            "Vegye ki a papírt a kiadónyílásból, és nézze meg, nincs-e elakadás.",
        ),
        # --- printer state ---
        "paused": _e(
            "The printer is paused",
            "A nyomtató szüneteltetve van",
            "Press the Pause button on the printer to continue.",
            "Nyomja meg a nyomtató Pause (szünet) gombját a folytatáshoz.",
        ),
        "printer-offline": _e(
            "The printer is offline",
            "A nyomtató nem üzemkész",
            "Close the cover, check the paper, and look at the printer's lights.",
            "Zárja le a fedelet, ellenőrizze a papírt, és nézze meg a nyomtató jelzőfényeit.",
        ),
        "printer-error": _e(
            "The printer reports an error",
            "A nyomtató hibát jelez",
            "Look at the printer's lights or display; check the paper, the cover and the "
            "ribbon, then turn the printer off and on.",
            "Nézze meg a nyomtató jelzőfényeit vagy kijelzőjét; ellenőrizze a papírt, a "
            "fedelet és a szalagot, majd kapcsolja ki és be a nyomtatót.",
        ),
        "recoverable-error": _e(
            "The printer stopped for a short while (for example it got too hot)",
            "A nyomtató átmenetileg leállt (például túlmelegedett)",
            "Wait a minute; it usually goes on by itself. If not, open and close the cover.",
            "Várjon egy percet, általában magától folytatja. Ha nem, nyissa ki és zárja vissza "
            "a fedelet.",
        ),
        "unrecoverable-error": _e(
            "The printer has a serious fault",
            "Súlyos nyomtatóhiba",
            "Turn the printer off, wait 10 seconds and turn it on. If the fault comes back, "
            "call support.",
            "Kapcsolja ki a nyomtatót, várjon 10 másodpercet, majd kapcsolja be. Ha a hiba "
            "visszatér, hívja a szervizt.",
        ),
        "buffer-full": _e(
            "The printer's memory for incoming jobs is full",
            "Megtelt a nyomtató fogadómemóriája",
            "Wait a moment. If it stays, turn the printer off and on.",
            "Várjon egy kicsit. Ha nem múlik el, kapcsolja ki és be a nyomtatót.",
        ),
        "corrupt-ram": _e(
            "The printer lost its settings",
            "A nyomtató elvesztette a beállításait",
            "Turn the printer off and on. If labels come out wrong, ask support to set it "
            "up again.",
            "Kapcsolja ki és be a nyomtatót. Ha a címkék hibásan jönnek ki, kérje a szerviztől "
            "az újrabeállítást.",
        ),
        "diagnostic-mode": _e(
            "The printer is in test mode and prints codes instead of labels",
            "A nyomtató tesztüzemmódban van, címkék helyett kódokat nyomtat",
            "Turn the printer off and on to leave test mode.",
            "Kapcsolja ki és be a nyomtatót, hogy kilépjen a tesztüzemmódból.",
        ),
        "firmware-config-invalid": _e(
            "The printer's internal software is set up wrongly",
            "Hibás a nyomtató belső szoftverének beállítása",
            "Call support; the printer needs servicing.",
            "Hívja a szervizt; a nyomtatót be kell állítani.",
        ),
        "unknown-error": _e_support(
            "The printer reports a fault labeld does not know",
            "A nyomtató ismeretlen hibát jelez",
        ),
        "unknown-warning": _e(
            "The printer reports a warning labeld does not know",
            "A nyomtató ismeretlen figyelmeztetést jelez",
            "Printing goes on. If it stays, tell support.",
            "A nyomtatás folytatódik. Ha nem múlik el, szóljon a szerviznek.",
        ),
    }
)


# Unknown codes (a third-party driver, a newer labeld) still get a sentence, worded by severity
# so that a report-only code is not announced as a fault.
_FALLBACK: Mapping[Severity, Entry] = MappingProxyType(
    {
        Severity.ERROR: _e_support(
            "The printer reports a problem ({code})",
            "A nyomtató hibát jelez ({code})",
        ),
        Severity.WARNING: _e(
            "The printer reports a warning ({code})",
            "A nyomtató figyelmeztetést jelez ({code})",
            "Printing goes on. If it stays, tell support.",
            "A nyomtatás folytatódik. Ha nem múlik el, szóljon a szerviznek.",
        ),
        Severity.REPORT: _e(
            "Printer message: {code}",
            "A nyomtató üzenete: {code}",
            "Nothing to do.",
            "Nincs teendő.",
        ),
    }
)


def _fill(text: Text, code: str) -> Text:
    # str.replace, not str.format: a code containing braces must not break the message.
    return Text(*(getattr(text, lang).replace("{code}", code) for lang in LANGUAGES))


def _fallback(reason: Reason) -> Entry:
    try:
        template = _FALLBACK[Severity(reason.severity)]
    except ValueError:  # a malformed severity from a third-party driver: assume the worst
        template = _FALLBACK[Severity.ERROR]
    return Entry(_fill(template.message, reason.code), _fill(template.hint, reason.code))


def lookup(code: str) -> Entry | None:
    return CATALOGUE.get(code)


def describe(reason: Reason) -> dict[str, Any]:
    """The reason as shown to people: keyword, code, severity and both languages' texts."""
    entry = CATALOGUE.get(reason.code)
    if entry is None:
        entry = _fallback(reason)
    return {
        "keyword": reason.keyword,
        "code": reason.code,
        "severity": str(reason.severity),
        "message": entry.message.as_dict(),
        "hint": entry.hint.as_dict(),
    }
