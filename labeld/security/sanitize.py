"""Text that reaches a printer as text must never become commands.

A price field holding `^XZ^XA^JUF^XZ` ends the label and restores a Zebra's factory defaults; a
receipt line holding `ESC =` `NUL` deselects an Epson until someone power-cycles it. Every place
that puts caller-supplied text into a printer language goes through one of these functions:

* `zpl_field(text)` -> field data for `^FH^FD...^FS`: `^`, `~`, the escape character `_`,
  `!` and `{` become hex escapes (`_5E`, `_7E`, `_5F`, `_21`, `_7B`), control characters are
  dropped.
* `escpos_text(text, encoding)` -> bytes for an ESC/POS text line: no byte below 0x20 except LF,
  no DEL, only characters of the chosen code page (others become `?`).
* `strip_controls(text)` -> the text without C0/C1 controls, DEL, bidirectional formatting
  characters (which can make `0.99` display as `99.0`) and line/paragraph separators.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

# Bidi embedding/override/isolate controls and marks, U+061C (Arabic letter mark) included.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
                          "\u200e\u200f\u061c")
# C0 (U+0000-001F), DEL, C1 (U+0080-009F), line/paragraph separators, lone surrogates (they
# cannot be encoded at all) and the bidi controls above.
_DROP = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff"
                   + "".join(sorted(BIDI_CONTROLS)) + "]")
_NON_BMP = re.compile("[\U00010000-\U0010ffff]")

ZPL_ESCAPE = "_"  # ^FH's default escape character
# "^" and "~" start commands and "_" starts an escape. "!" and "{" are escaped too, although
# inside a format they are plain text: then a field can never read like an SGD command
# ("! U1 setvar") or JSON SGD ("{}{") to the raw-command policy or to a printer that is
# somehow outside a format.
_ZPL_SPECIAL = frozenset("^~!{" + ZPL_ESCAPE)


def strip_controls(text: str, keep: str = "") -> str:
    """`text` without control and bidi formatting characters, except those listed in `keep`
    (e.g. keep="\\n" for a multi-line receipt text)."""
    if keep:
        return "".join(c for c in text if c in keep or not _DROP.match(c))
    return _DROP.sub("", text)


def zpl_field(text: str, *, ascii_only: bool = False, encoding: str = "utf-8") -> str:
    """Safe field data for `^FH^FD<data>^FS` (`^FH` with the default escape character `_`).

    Control characters, CR and LF are dropped (ZPL does not print them; a line break in a
    field is done with `^FB` and `\\&`). `^`, `~`, `_`, `!` and `{` are hex escaped. With
    `ascii_only=True` every non-ASCII character is escaped too, as the bytes of `encoding` (use
    the encoding the format selects with `^CI`, UTF-8 for `^CI28`), so the result survives any
    transport; otherwise non-ASCII text is left for the printer to take as `^CI28` UTF-8.
    """
    out: list[str] = []
    for c in strip_controls(text):
        if c in _ZPL_SPECIAL or (ascii_only and ord(c) > 0x7E):
            out.extend(f"{ZPL_ESCAPE}{b:02X}" for b in c.encode(encoding, "replace"))
        else:
            out.append(c)
    return "".join(out)


def zpl_field_decode(data: str, encoding: str = "utf-8") -> str:
    """What a printer makes of `^FH` field data: the inverse of `zpl_field`."""
    raw = bytearray()
    i = 0
    while i < len(data):
        c = data[i]
        if c == ZPL_ESCAPE and _is_hex(data[i + 1:i + 3]):
            raw.append(int(data[i + 1:i + 3], 16))
            i += 3
        else:
            raw += c.encode(encoding)
            i += 1
    return raw.decode(encoding, "replace")


def _is_hex(s: str) -> bool:
    return len(s) == 2 and all(ch in "0123456789abcdefABCDEF" for ch in s)


def _check_ascii_compatible(encoding: str) -> str:
    name = codecs.lookup(encoding).name
    # A code page where "A" or LF is not a single ASCII byte (UTF-16, EBCDIC...) would put
    # arbitrary bytes, commands included, on the wire.
    if "A\n".encode(name) != b"A\n":
        raise ValueError(f"{encoding!r} is not ASCII-compatible, as ESC/POS code pages are")
    return name


def escpos_text(text: str, encoding: str = "cp852", *, keep_newlines: bool = True,
                replacement: str = "?") -> bytes:
    """Bytes for ESC/POS text in the code page the printer was set to (`ESC t n`).

    The default, cp852 (PC852 Latin-2, `ESC t 18` on Epson), prints Hungarian including ő and ű.
    CR is dropped and CR LF becomes LF; LF is kept only with `keep_newlines` (it is the print
    command for a line); a tab becomes a space; other control bytes, DEL, C1 and bidi controls
    are dropped; characters outside the Basic Multilingual Plane (emoji: 4-byte UTF-8) and
    characters the code page lacks become `replacement`. Text is NFC-normalized first so that a
    decomposed "o + double acute" still prints as ő.
    """
    name = _check_ascii_compatible(encoding)
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\t", " ")
    text = _NON_BMP.sub(replacement, text)
    text = strip_controls(text, keep="\n" if keep_newlines else "")
    try:
        data = text.encode(name)
    except UnicodeEncodeError:
        fallback = replacement.encode(name, "replace")
        parts = []
        for c in text:
            try:
                parts.append(c.encode(name))
            except UnicodeEncodeError:
                parts.append(fallback)
        data = b"".join(parts)
    # Belt and braces: whatever the codec did, no control byte leaves this function.
    return bytes(b for b in data if (b >= 0x20 and b != 0x7F) or (b == 0x0A and keep_newlines))
