"""Text that reaches a printer as text must never become commands: the generic part.

A price field holding `^XZ^XA^JUF^XZ` ends the label and restores a Zebra's factory defaults; a
receipt line holding `ESC =` `NUL` deselects an Epson until someone power-cycles it. What makes
text safe depends on the language, so each language brings its own sanitizer,
`Language.sanitize_text(text) -> bytes` (see labeld.contracts; the built-in ones are in
`labeld.drivers.<language>.policy`: ZPL `zpl_field`, ESC/POS `escpos_text`). What every
language needs is here:

* `strip_controls(text)` -> the text without C0/C1 controls, DEL, bidirectional formatting
  characters (which can make `0.99` display as `99.0`) and line/paragraph separators.

Nothing in production calls the sanitizers yet: label documents are rendered to raster images,
which carry no text commands, and raw jobs are checked by labeld.security.policy instead.
Receipts sent as text (a later issue) will put client text through `Language.sanitize_text`.
"""

from __future__ import annotations

import re

# Bidi embedding/override/isolate controls and marks, U+061C (Arabic letter mark) included.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
                          "\u200e\u200f\u061c")
# C0 (U+0000-001F), DEL, C1 (U+0080-009F), line/paragraph separators, lone surrogates (they
# cannot be encoded at all) and the bidi controls above.
_DROP = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff"
                   + "".join(sorted(BIDI_CONTROLS)) + "]")


def strip_controls(text: str, keep: str = "") -> str:
    """`text` without control and bidi formatting characters, except those listed in `keep`
    (e.g. keep="\\n" for a multi-line receipt text)."""
    if keep:
        return "".join(c for c in text if c in keep or not _DROP.match(c))
    return _DROP.sub("", text)
