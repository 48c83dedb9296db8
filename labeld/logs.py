"""One log format for labeld's and uvicorn's lines: JSON for machines, text for people.

Under systemd the output goes to the journal, where one JSON object per line can be filtered
(`journalctl -u labeld -o cat | jq 'select(.printer == "shelf")'`); in a terminal a person reads
plain lines. Fields passed with `extra=` (printer, job, code, ...) appear in both.

A line meant for people (a printer stopped, a job held) is logged as a sentence that says itself
later, `log.info(N_("printer {printer}: paused", printer=pid))` (labeld.i18n.Words), and the
formatter words it in the language of `server.language`; the JSON line also carries its English
as `message_en`, so one filter works in every shop. Anything else (uvicorn's lines, a plugin's
`%s` formatting) is written as logged.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO, get_args

from labeld.i18n import FALLBACK, Translator, Words, translator

LogFormat = Literal["auto", "json", "text"]
LOG_FORMATS: tuple[str, ...] = get_args(LogFormat)

# Attributes every LogRecord has; anything else on a record came from `extra=`. Read off a real
# record so that fields newer Pythons add (taskName in 3.12) are not mistaken for extras.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime"}
# uvicorn passes an ANSI-coloured copy of its message as an extra; it says nothing new.
_IGNORED_EXTRAS = frozenset({"color_message"})
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def extras(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a caller gave with `extra=`, in the order given."""
    return {k: v for k, v in vars(record).items()
            if k not in _RECORD_ATTRS and k not in _IGNORED_EXTRAS and not k.startswith("_")}


def worded(record: logging.LogRecord, tr: Translator | None) -> str:
    """The record's message, in `tr`'s language when it was logged as Words (English without
    a translator: a Words is its English)."""
    if tr is not None and isinstance(record.msg, Words) and not record.args:
        return record.msg.say(tr)
    return record.getMessage()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (ISO-8601, UTC), level, logger, message (and its English
    when that differs), then the extras and, for an exception, its traceback."""

    BASE_KEYS = ("time", "level", "logger", "message", "message_en")

    def __init__(self, tr: Translator | None = None) -> None:
        super().__init__()
        self.tr = tr

    def format(self, record: logging.LogRecord) -> str:
        english = record.getMessage()
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": worded(record, self.tr),
        }
        if entry["message"] != english:
            entry["message_en"] = english
        for key, value in extras(record).items():
            # An extra named like a base key must not hide what happened, nor be lost.
            entry[f"extra_{key}" if key in self.BASE_KEYS else key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # default=str: an extra that is a Path, an enum or an exception still makes valid JSON.
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """One line per event, its fields in brackets:

    `2024-05-01 12:00:00,123 INFO labeld.delivery.scheduler: job completed [printer=shelf job=42]`
    """

    def __init__(self, tr: Translator | None = None) -> None:
        super().__init__(TEXT_FORMAT)
        self.tr = tr

    def formatMessage(self, record: logging.LogRecord) -> str:
        # format() has just set record.message to the English; this handler's language wins.
        record.message = worded(record, self.tr)
        line = super().formatMessage(record)
        fields = extras(record)
        if fields:
            line += " [" + " ".join(f"{k}={v}" for k, v in fields.items()) + "]"
        return line


def resolve_format(fmt: LogFormat, stream: TextIO) -> Literal["json", "text"]:
    """`auto` is text when a person is watching the stream (a terminal), JSON otherwise."""
    if fmt != "auto":
        return fmt
    try:
        return "text" if stream.isatty() else "json"
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return "json"


class _LabeldHandler(logging.StreamHandler):
    """Marks the handler setup_logging installed, so a second call replaces it."""


def setup_logging(level: str = "info", fmt: LogFormat = "auto",
                  stream: TextIO | None = None, lang: str = FALLBACK) -> logging.Handler:
    """Send every logger's lines (labeld's, uvicorn's, plugins') through one handler on the root
    logger, in one format, people's sentences in `lang`. uvicorn must be given
    `log_config=None` so that it installs no handler of its own."""
    out = stream if stream is not None else sys.stderr
    handler = _LabeldHandler(out)
    # English needs no catalogue (a Words is its English): only another language loads one.
    tr = translator(lang) if lang != FALLBACK else None
    handler.setFormatter(JsonFormatter(tr) if resolve_format(fmt, out) == "json"
                         else TextFormatter(tr))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _LabeldHandler)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler
