"""The reasons catalogue: what each reason code means to the person standing at the printer.

Language drivers only say *what* they decoded (a Reason with an IPP keyword and labeld's own
code); the words shown to shop staff live in the gettext catalogues (labeld/locale, see
labeld.i18n), so that wording changes without touching the decoders and a translator edits a
.po file with the tools translators use.

Each code has two keyed messages, `reason.<code>.message` (what is wrong, short and plain) and
`reason.<code>.hint` (what to do, in the order a person would do it). A plugin that emits its
own codes ships the same two keys in its own catalogue and names its directory in the
`labeld_locale_dirs` hook; the daemon merges them into its `catalogues`
(labeld.i18n.Catalogues.with_dirs), which every caller of `describe` passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labeld import i18n
from labeld.contracts import Reason, Severity
from labeld.i18n import Catalogues

LANGUAGES: tuple[str, ...] = i18n.SUPPORTED

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
# A receipt printer whose code page table is not what its profile says: ő and ű print as õ, û
# or ?. No printer reports it; the self-test's code-page sample lets a person see it.
WRONG_CODE_PAGE = Reason("other", "wrong-code-page", Severity.WARNING)

CORE_REASONS: tuple[Reason, ...] = (
    NO_STATUS_REPLY,
    GARBLED_STATUS_REPLY,
    STATUS_TIMEOUT,
    PRINTER_UNREACHABLE,
    STATUS_FAILED,
    INTERNAL_ERROR,
    OFFLINE_HOLD,
    NOT_TAKING_DATA,
    WRONG_CODE_PAGE,
)

_PREFIX, _MESSAGE, _HINT = "reason.", ".message", ".hint"


def message_id(code: str) -> str:
    return f"{_PREFIX}{code}{_MESSAGE}"


def hint_id(code: str) -> str:
    return f"{_PREFIX}{code}{_HINT}"


def fallback_ids(severity: Severity) -> tuple[str, str]:
    """The message and hint ids for a code no catalogue knows, worded by severity so that a
    report-only code is not announced as a fault. Their texts take `{code}`."""
    return f"unknown-reason.{severity.value}.message", f"unknown-reason.{severity.value}.hint"


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


def codes(catalogues: Catalogues = i18n.CORE) -> frozenset[str]:
    """Every reason code with words: a message in the English catalogue (the source)."""
    ids = catalogues.translator(i18n.FALLBACK).ids
    return frozenset(i[len(_PREFIX):-len(_MESSAGE)] for i in ids
                     if i.startswith(_PREFIX) and i.endswith(_MESSAGE))


def _severity(reason: Reason) -> Severity:
    try:
        return Severity(reason.severity)
    except ValueError:  # a malformed severity from a third-party driver: assume the worst
        return Severity.ERROR


def _ids(reason: Reason, catalogues: Catalogues) -> tuple[str, str] | None:
    """The message and hint ids for a code, or None when no catalogue has its message."""
    english = catalogues.translator(i18n.FALLBACK)
    message, hint = message_id(reason.code), hint_id(reason.code)
    if not english.knows(message):
        return None
    if not english.knows(hint):  # a plugin that wrote a message but no hint
        hint = fallback_ids(_severity(reason))[1]
    return message, hint


def _entry(ids: tuple[str, str], code: str, catalogues: Catalogues) -> Entry:
    def text(msgid: str) -> Text:
        return Text(**{lang: catalogues.translator(lang).format(msgid, code=code)
                       for lang in LANGUAGES})

    return Entry(text(ids[0]), text(ids[1]))


def lookup(code: str, catalogues: Catalogues = i18n.CORE) -> Entry | None:
    """The words for a code, or None when no catalogue has them."""
    ids = _ids(Reason("other", code, Severity.ERROR), catalogues)
    return None if ids is None else _entry(ids, code, catalogues)


def error_entry(code: str, catalogues: Catalogues = i18n.CORE) -> Entry | None:
    """The words for the code a job ended with: a printer fault's (a job held by paper-out
    reads like the printer), else a failure's of its own (`error.<code>.message` and `.hint`:
    the link, the file, the render), else None."""
    found = lookup(code, catalogues)
    if found is not None:
        return found
    message, hint = f"error.{code}{_MESSAGE}", f"error.{code}{_HINT}"
    if not catalogues.translator(i18n.FALLBACK).knows(message):
        return None
    return _entry((message, hint), code, catalogues)


def error_json(error: dict[str, Any] | None, catalogues: Catalogues = i18n.CORE
               ) -> dict[str, Any] | None:
    """A job's error for people: as delivery stored it (code, its English `message` with the
    particulars: which address refused, which file), plus the code's words in every language
    as `message_i18n` and `hint_i18n`. A code no catalogue knows keeps its English for all."""
    if not error:
        return error
    entry = error_entry(str(error.get("code") or ""), catalogues)
    if entry is None:
        message, hint = str(error.get("message") or ""), str(error.get("hint") or "")
        return {**error, "message_i18n": dict.fromkeys(LANGUAGES, message),
                "hint_i18n": dict.fromkeys(LANGUAGES, hint)}
    return {**error, "message_i18n": entry.message.as_dict(), "hint_i18n": entry.hint.as_dict()}


def describe(reason: Reason, catalogues: Catalogues = i18n.CORE) -> dict[str, Any]:
    """The reason as shown to people: keyword, code, severity and both languages' texts.

    `catalogues` is labeld's own by default; a daemon with plugins passes its merged ones."""
    ids = _ids(reason, catalogues) or fallback_ids(_severity(reason))
    entry = _entry(ids, reason.code, catalogues)
    return {
        "keyword": reason.keyword,
        "code": reason.code,
        "severity": str(reason.severity),
        "message": entry.message.as_dict(),
        "hint": entry.hint.as_dict(),
    }
