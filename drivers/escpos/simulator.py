"""A simulated ESC/POS receipt printer (Epson TM class), byte-accurate for status replies.

Two layers read every received byte, as in a real printer (reference 2.1):

* the **receive layer** acts on real-time commands the moment they arrive: `DLE EOT n`
  (one status byte, values per the reference's "values a simulator should produce" table),
  `DLE ENQ n` (recover), `DLE DC4 fn` (7: ASB now; 8: clear buffers, `37 25 00`; 2: power-off
  answer `3B 30 00`; 1: drawer pulse, no reply). It does not know command lengths, so a
  `10 04 n` inside raster data is answered too, exactly like the hardware.
* the **command parser** walks the stream in order, knowing the length of the commands that
  carry parameters or payloads (`GS v 0`, `GS ( L`, `ESC *`, `GS k`, ...) so that image bytes
  are not mistaken for commands. It answers `GS I n` and `GS r n`, handles `GS a n` (Automatic
  Status Back: 4 bytes now, then on every change of an enabled item) and counts cuts.

Job data: **all** bytes of a connection, query bytes included: a status byte sequence may
also be image data, so removing it could corrupt a job. A connection whose commands were all
status queries or settings of the status channel (`DLE EOT`, `DLE ENQ`, `DLE DC4` 2/7/8,
`GS I`, `GS r`, `GS a`) records no job.

Rendering (GET /jobs/N/pages, /jobs/N/page/K.png): `GS v 0` raster bands are stacked top to
bottom on paper of `print_width` dots (option, default 576), placed by `ESC a` justification
(reset by `ESC @`) and scaled by the command's m (double width / height); data past the print
area is discarded, as the printer does. `ESC J n` feeds n dots of white (one dot per motion
unit). Every cut (`GS V`, `ESC i`, `ESC m`) ends an image; what follows the last cut makes one
more. Text is printed too: each byte through the table `ESC t n` selected (Epson's numbering,
`EPSON_TABLES`), in 12 x 24-dot Font A cells of the bundled DejaVu Sans Mono, with `ESC !`,
`ESC E`, `ESC -`, `GS !`, `GS B` styles; LF prints the line and moves the paper by the `ESC 3`
line spacing (or the characters' height, if more), `ESC d n` by n lines. `GS k` (function A
and B) and `GS ( k` QR are drawn by the printer itself (zint), with HRI under the bars as
`GS H` asks. Each receipt also keeps its text lines as decoded characters and as the bytes
received, and the `ESC t` numbers sent, for tests. `ESC *` and `GS ( L` graphics are not
drawn. The decoder follows the reference, independently of labeld's encoder.

Deviations: `GS I`, `GS a` are answered as parsed even while offline (a real printer answers
them only after it recovers); `GS r` is not answered during paper end, per the reference. ASB
is enabled per connection. `DLE ENQ 1|2` clears `cutter-error` (the simulated jam counts as
removed once the host asks to recover); `DLE ENQ 2` also cancels buffered jobs. A printed job
adds one receipt per cut (`GS V`, `ESC i`, `ESC m`) to the odometer, and the lines fed by
`ESC d n` (print and feed n lines) to `lines_fed`.

That odometer is only reported by GET /state: ESC/POS has no command that reads a count of
printed receipts back (the reference lists status bytes and IDs only; maintenance counters are
model-specific and undocumented there), so the simulator answers none and labeld's ESC/POS
driver names no counter (`Language.counter_query` stays None).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar

import numpy as np
import zint
from PIL import Image, ImageDraw, ImageFont

from labeld.contracts import SimulatorSpec
from labeld.intake.render.text import SHIPPED_FONTS
from labeld.sim import Device, FaultSpec, Session, SimJob, mono_png, spec_faults

DLE, ESC, FS, GS = 0x10, 0x1B, 0x1C, 0x1D
_COMMAND_START = re.compile(rb"[\x10\x1b\x1c\x1d]")

# Longest prefix we wait for before giving up on finding a command's end (NUL-terminated
# ones): past it the bytes are treated as text so a stray byte cannot stall the parser.
_MAX_HEADER = 4096

# Parameter bytes after two-byte ESC/FS/GS commands whose length is fixed.
_FIXED_PARAMS: dict[bytes, int] = {
    **{bytes([ESC, c]): n for c, n in {
        0x0C: 0, 0x20: 1, 0x21: 1, 0x24: 2, 0x25: 1, 0x2D: 1, 0x32: 0, 0x33: 1, 0x3C: 0,
        0x3D: 1, 0x3F: 1, 0x40: 0, 0x45: 1, 0x47: 1, 0x4A: 1, 0x4B: 1, 0x4C: 0, 0x4D: 1,
        0x52: 1, 0x53: 0, 0x54: 1, 0x55: 1, 0x56: 1, 0x57: 8, 0x5C: 2, 0x61: 1, 0x63: 2,
        0x64: 1, 0x65: 1, 0x66: 2, 0x69: 0, 0x6D: 0, 0x70: 3, 0x72: 1, 0x74: 1, 0x75: 1,
        0x76: 0, 0x7B: 1,
    }.items()},
    **{bytes([GS, c]): n for c, n in {
        0x21: 1, 0x24: 2, 0x2F: 1, 0x3A: 0, 0x42: 1, 0x48: 1, 0x49: 1, 0x4C: 2, 0x50: 2,
        0x54: 1, 0x57: 2, 0x5C: 2, 0x5E: 3, 0x61: 1, 0x62: 1, 0x63: 0, 0x66: 1, 0x67: 4,
        0x68: 1, 0x6A: 1, 0x72: 1, 0x77: 1,
    }.items()},
    **{bytes([FS, c]): n for c, n in {
        0x21: 1, 0x26: 0, 0x2D: 1, 0x2E: 0, 0x3F: 2, 0x43: 1, 0x53: 2, 0x57: 1, 0x70: 2,
    }.items()},
}

# Commands that only ask for status or steer the status channel: a connection made of
# nothing else is a status poll, not a print job.
_STATUS_COMMANDS = frozenset({b"\x10\x04", b"\x10\x05", b"\x1dI", b"\x1dr", b"\x1da"})
_STATUS_DC4 = frozenset({2, 7, 8})

_CUTS = frozenset({b"\x1dV", b"\x1bi", b"\x1bm"})


def _measure_dle(buf: bytes | bytearray, i: int) -> int | None:
    """Length of the real-time command at buf[i] (a DLE), 0 if it is none, None if more
    bytes are needed to tell."""
    if len(buf) < i + 2:
        return None
    kind = buf[i + 1]
    if kind not in (0x04, 0x05, 0x14):
        return 0
    if len(buf) < i + 3:
        return None
    n = buf[i + 2]
    if kind == 0x04:
        return 4 if n in (7, 8, 18) else 3  # the extended forms carry one more byte
    if kind == 0x05:
        return 3
    return 3 + {1: 2, 2: 2, 7: 1, 8: 7}.get(n, 0)


def _measure(buf: bytes | bytearray, i: int) -> tuple[int, int] | None:
    """(header length, payload length) of the command at buf[i], or None if more bytes are
    needed. The header is handed to the command's handler; the payload is skipped."""
    measured = _measure_header(buf, i)
    if measured is None or measured[0] > len(buf) - i:
        return None
    return measured


def _measure_header(buf: bytes | bytearray, i: int) -> tuple[int, int] | None:
    avail = len(buf) - i

    def need(k: int) -> bool:
        return avail >= k

    if not need(2):
        return None
    first, cmd = buf[i], buf[i + 1]
    key = bytes([first, cmd])
    if first == DLE:
        length = _measure_dle(buf, i)
        if length is None or not need(length):
            return None
        return (length, 0) if length else (1, 0)  # a lone DLE is just a control byte
    if key in (b"\x1b(", b"\x1d(", b"\x1c("):  # X ( fn pL pH payload
        if not need(5):
            return None
        return 5, buf[i + 3] | buf[i + 4] << 8
    if key == b"\x1d8":  # GS 8 L p1..p4 payload
        if not need(7):
            return None
        return 7, int.from_bytes(buf[i + 3:i + 7], "little")
    if key in (b"\x1dv", b"\x1dQ"):  # GS v 0 m xL xH yL yH: raster, xL+256xH bytes per row
        if not need(8):
            return None
        width = buf[i + 4] | buf[i + 5] << 8
        height = buf[i + 6] | buf[i + 7] << 8
        return 8, width * height
    if key == b"\x1b*":  # ESC * m nL nH: n columns of 1 (8-dot) or 3 (24-dot) bytes
        if not need(5):
            return None
        columns = buf[i + 3] | buf[i + 4] << 8
        return 5, columns * (1 if buf[i + 2] in (0, 1) else 3)
    if key == b"\x1d*":  # GS * x y: x*y*8 bytes of downloaded bit image
        if not need(4):
            return None
        return 4, buf[i + 2] * buf[i + 3] * 8
    if key == b"\x1dV":  # GS V m [n]: function B (m = 65, 66, 97, 98, 103, 104) has n
        if not need(3):
            return None
        return (4 if buf[i + 2] in (65, 66, 97, 98, 103, 104) else 3), 0
    if key == b"\x1dk":  # GS k m: function A NUL-terminated, function B n + n bytes
        if not need(3):
            return None
        if buf[i + 2] <= 6:
            return _until_nul(buf, i + 3, i)
        if not need(4):
            return None
        return 4, buf[i + 3]
    if key == b"\x1bD":  # ESC D tab stops... NUL
        return _until_nul(buf, i + 2, i)
    if key == b"\x1b&":  # ESC & y c1 c2, then per character: x, y*x bytes
        return _user_chars(buf, i)
    if key == b"\x1cq":  # FS q n, then per image: xL xH yL yH, x*y*8 bytes
        return _nv_images(buf, i)
    if key == b"\x1cg":  # FS g 1 m a1..a4 nL nH payload (NV user memory)
        if not need(10):
            return None
        return 10, buf[i + 8] | buf[i + 9] << 8
    if key == b"\x1c2":  # FS 2 c1 c2 and a 24x24 Kanji character
        return 4, 72
    params = _FIXED_PARAMS.get(key, 0)
    return (2 + params, 0) if need(2 + params) else None


def _until_nul(buf: bytes | bytearray, start: int, i: int) -> tuple[int, int] | None:
    end = buf.find(b"\x00", start)
    if end < 0:
        return (len(buf) - i, 0) if len(buf) - i > _MAX_HEADER else None
    return end + 1 - i, 0


def _user_chars(buf: bytes | bytearray, i: int) -> tuple[int, int] | None:
    if len(buf) < i + 5:
        return None
    y, c1, c2 = buf[i + 2], buf[i + 3], buf[i + 4]
    pos = i + 5
    for _ in range(max(0, c2 - c1 + 1)):
        if len(buf) <= pos:
            return None
        pos += 1 + y * buf[pos]
    return (pos - i, 0) if len(buf) >= pos else None


def _nv_images(buf: bytes | bytearray, i: int) -> tuple[int, int] | None:
    if len(buf) < i + 3:
        return None
    pos = i + 3
    for _ in range(buf[i + 2]):
        if len(buf) < pos + 4:
            return None
        x = buf[pos] | buf[pos + 1] << 8
        y = buf[pos + 2] | buf[pos + 3] << 8
        pos += 4 + x * y * 8
    return (pos - i, 0) if len(buf) >= pos else None


@dataclass(frozen=True)
class Command:
    """A parsed command: `key` is its first two bytes (b"" for text and lone control
    bytes), `header` its bytes up to any payload."""

    key: bytes
    header: bytes

    @property
    def is_status(self) -> bool:
        if self.key == b"\x10\x14":
            return len(self.header) > 2 and self.header[2] in _STATUS_DC4
        return self.key in _STATUS_COMMANDS


TEXT = Command(b"", b"")


class CommandParser:
    """Splits an ESC/POS byte stream into commands, incrementally, skipping payloads."""

    def __init__(self) -> None:
        self._pending = bytearray()
        self._skip = 0

    def feed(self, chunk: bytes) -> list[Command]:
        commands: list[Command] = []
        if self._skip:
            taken = min(self._skip, len(chunk))
            self._skip -= taken
            chunk = chunk[taken:]
        buf = self._pending + chunk
        i = 0
        while i < len(buf):
            if buf[i] not in (DLE, ESC, FS, GS):
                found = _COMMAND_START.search(buf, i)
                i = found.start() if found else len(buf)
                commands.append(TEXT)
                continue
            measured = _measure(buf, i)
            if measured is None:
                if len(buf) - i > _MAX_HEADER:
                    commands.append(TEXT)
                    i += 1
                    continue
                break
            header, payload = measured
            key = bytes(buf[i:i + 2]) if header > 1 else b""
            commands.append(Command(key, bytes(buf[i:i + header])) if key else TEXT)
            i += header
            taken = min(payload, len(buf) - i)
            i += taken
            self._skip = payload - taken
        self._pending = buf[i:]
        return commands

    @property
    def pending(self) -> bool:
        return bool(self._pending) or self._skip > 0


class RealtimeScanner:
    """Finds real-time `DLE` commands anywhere in the stream, even split across reads."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        buf = self._pending + chunk
        self._pending = b""
        found: list[bytes] = []
        i = 0
        while (j := buf.find(b"\x10", i)) >= 0:
            length = _measure_dle(buf, j)
            if length is None:
                self._pending = buf[j:]
                break
            if length == 0:
                i = j + 1
                continue
            if len(buf) < j + length:
                self._pending = buf[j:]
                break
            found.append(buf[j:j + length])
            i = j + length
        return found


def count_cuts(data: bytes) -> int:
    return sum(1 for command in CommandParser().feed(data) if command.key in _CUTS)


def count_fed_lines(data: bytes) -> int:
    """Lines fed by `ESC d n` (1B 64 n)."""
    return sum(command.header[2] for command in CommandParser().feed(data)
               if command.key == b"\x1bd" and len(command.header) > 2)


# --------------------------------------------------------------------------------------------
# Rendering GS v 0 rasters

DEFAULT_PRINT_WIDTH = 576  # 80 mm paper at 203 dpi (reference 2.8)

# Each byte with every bit doubled: one row of a double-width raster.
_DOUBLE = tuple(sum(((b >> i) & 1) * (3 << (2 * i)) for i in range(8)).to_bytes(2, "big")
                for b in range(256))


_JUSTIFY = {0: 0, 48: 0, 1: 1, 49: 1, 2: 2, 50: 2}  # ESC a n -> 0 left, 1 centre, 2 right

# ESC t n -> the character table, as Epson's TM-T20/T88 manuals number them (the printer's own
# knowledge: independent of labeld's profiles, so a wrong table number in a profile shows).
EPSON_TABLES: dict[int, str] = {0: "cp437", 2: "cp850", 3: "cp860", 4: "cp863", 5: "cp865",
                                16: "cp1252", 17: "cp866", 18: "cp852", 19: "cp858",
                                39: "iso8859_2", 40: "iso8859_15", 45: "cp1250", 46: "cp1251"}
FONT_A = (12, 24)
DEFAULT_LINE_SPACING = 30
_GS_K_ZINT = {65: "UPCA", 66: "UPCE", 67: "EANX", 68: "EANX", 69: "CODE39", 70: "C25INTER",
              72: "CODE93", 73: "CODE128"}


@cache
def _sim_font(bold: bool) -> ImageFont.FreeTypeFont:
    name = "DejaVuSansMono-Bold.ttf" if bold else "DejaVuSansMono.ttf"
    return ImageFont.truetype(str(SHIPPED_FONTS / name), 19)


@cache
def _cell(char: str, bold: bool) -> np.ndarray:
    im = Image.new("1", FONT_A, 0)
    draw = ImageDraw.Draw(im)
    draw.fontmode = "1"
    draw.text((0, 0), char, font=_sim_font(bold), fill=1)
    return np.asarray(im, dtype=bool)


def _symbol(kind: str, data: bytes, option_1: int = 0) -> np.ndarray:
    """Modules (True = dark) of a symbol the printer draws itself, by zint."""
    s = zint.Symbol()
    s.symbology = getattr(zint.Symbology, kind)
    if option_1:
        s.option_1 = option_1
    s.input_mode = zint.InputMode.DATA
    s.encode(data)
    packed = np.asarray(s.encoded_data)[:s.rows]
    return np.unpackbits(packed, axis=1, bitorder="little")[:, :s.width].astype(bool)


@dataclass
class _Text:
    """The printer's text state: code page, character modes, the line being filled."""

    table: int = 0
    mode: int = 0  # ESC ! n
    bold: bool = False  # ESC E
    underline: int = 0  # ESC -
    size: int = 0  # GS ! n
    inverse: bool = False  # GS B
    spacing: int = DEFAULT_LINE_SPACING
    line: list[tuple[str, int, bytes]] = field(default_factory=list)  # char, byte, style key
    cells: list[np.ndarray] = field(default_factory=list)
    tall: bool = False
    hri: int = 0  # GS H
    bar_height: int = 162  # GS h
    bar_module: int = 3  # GS w
    qr_module: int = 3
    qr_ecc: int = 49
    qr_data: bytes = b""

    def put(self, byte: int) -> None:
        char = bytes((byte,)).decode(EPSON_TABLES.get(self.table, "cp437"), "replace")
        bold = self.bold or bool(self.mode & 0x08)
        cell = _cell(char, bold).copy()
        if self.underline or self.mode & 0x80:
            cell[-2:, :] = True
        if self.inverse:
            cell = ~cell
        wide = bool(self.mode & 0x20) or bool(self.size & 0x70)
        high = bool(self.mode & 0x10) or bool(self.size & 0x07)
        if wide:
            cell = np.repeat(cell, 2, axis=1)
        if high:
            cell = np.repeat(cell, 2, axis=0)
            self.tall = True
        self.line.append((char, byte, b""))
        self.cells.append(cell)

    def take(self) -> tuple[str, bytes, np.ndarray | None, int]:
        """The line (text, bytes, dots) and how far the paper moves for it."""
        text = "".join(c for c, _, _ in self.line)
        raw = bytes(b for _, b, _ in self.line)
        height = max(self.spacing, 48 if self.tall else FONT_A[1])
        bits = None
        if self.cells:
            top = max(c.shape[0] for c in self.cells)
            bits = np.hstack([np.vstack([np.zeros((top - c.shape[0], c.shape[1]), bool), c])
                              for c in self.cells])
        self.line, self.cells, self.tall = [], [], False
        return text, raw, bits, height


@dataclass
class Receipt:
    """One rendered receipt: packed rows (MSB = left, 1 = black) of `width` dots, and the text
    lines it printed, as characters of the selected code page and as the bytes received."""

    width: int
    height: int
    rows: bytes
    text: list[str] = field(default_factory=list)
    text_bytes: list[bytes] = field(default_factory=list)
    code_pages: list[int] = field(default_factory=list)  # every ESC t n, in order


@dataclass
class _Paper:
    """What has been printed since the last cut."""

    width: int
    rows: list[int]  # one int per dot row, bit (width - 1) = left-most dot
    has_image: bool = False
    text: list[str] = field(default_factory=list)
    text_bytes: list[bytes] = field(default_factory=list)
    code_pages: list[int] = field(default_factory=list)

    def band(self, data: bytes, row_bytes: int, height: int, mode: int, justify: int) -> None:
        if mode & 1:
            data = b"".join(_DOUBLE[b] for b in data)
            row_bytes *= 2
        bits = row_bytes * 8
        # Justification moves images narrower than the paper; wider ones are cut at the right.
        x = 0 if bits >= self.width else (self.width - bits) * justify // 2
        shift = self.width - x - bits
        keep = (1 << self.width) - 1
        for r in range(height):
            value = int.from_bytes(data[r * row_bytes:(r + 1) * row_bytes], "big")
            value = (value << shift if shift >= 0 else value >> -shift) & keep
            self.rows.extend((value, value) if mode & 2 else (value,))
        self.has_image = True

    def dots(self, bits: np.ndarray, justify: int, height: int | None = None) -> None:
        """A band of dots (True = black), placed like an image, then `height` rows of paper."""
        bits = bits[:, :self.width]
        h, w = bits.shape
        padded = np.zeros((max(h, height or 0), self.width), bool)
        x = (self.width - w) * justify // 2
        padded[:h, x:x + w] = bits
        rows = np.packbits(padded, axis=1)
        pad = rows.shape[1] * 8 - self.width
        self.rows.extend(int.from_bytes(r.tobytes(), "big") >> pad for r in rows)
        self.has_image = True

    def receipt(self) -> Receipt:
        row_bytes = (self.width + 7) // 8
        pad = row_bytes * 8 - self.width
        rows = b"".join((value << pad).to_bytes(row_bytes, "big") for value in self.rows)
        return Receipt(self.width, len(self.rows), rows, self.text, self.text_bytes,
                       self.code_pages)


def _print_line(paper: _Paper, text: _Text, justify: int) -> None:
    chars, raw, bits, height = text.take()
    paper.text.append(chars)
    paper.text_bytes.append(raw)
    if bits is None:
        paper.rows.extend([0] * height)
        return
    paper.dots(bits, justify, height)


def _barcode(paper: _Paper, text: _Text, command: bytes, justify: int) -> None:
    m = command[2]
    data = command[4:] if m >= 65 else command[3:-1]
    kind = _GS_K_ZINT.get(m if m >= 65 else m + 65)
    if kind is None:
        return
    if m == 73 and data[:1] == b"{":  # CODE128 code set selectors: zint picks its own
        data = data[2:].replace(b"{{", b"{")
    try:
        modules = _symbol(kind, data)
    except RuntimeError:
        return  # the printer prints nothing for data it cannot encode
    bars = np.repeat(np.repeat(modules[:1], text.bar_height, axis=0), text.bar_module, axis=1)
    paper.dots(bars, justify)
    if text.hri & 2:  # HRI below, in Font A
        hri = np.hstack([_cell(c, False) for c in data.decode("ascii", "replace")])
        paper.dots(hri, justify)


def _qr(paper: _Paper, text: _Text, command: bytes, body: bytes, justify: int) -> None:
    if body[:1] != b"1":  # cn 49: QR (48 is PDF417, not simulated)
        return
    cn_fn = body[:2]  # cn fn ...
    if cn_fn == b"1C":
        text.qr_module = body[2]
    elif cn_fn == b"1E":
        text.qr_ecc = body[2]
    elif cn_fn == b"1P":
        text.qr_data = bytes(body[3:])
    elif cn_fn == b"1Q" and text.qr_data:
        try:
            modules = _symbol("QRCODE", text.qr_data, text.qr_ecc - 47)
        except RuntimeError:
            return
        n = max(1, text.qr_module)
        paper.dots(np.repeat(np.repeat(modules, n, axis=0), n, axis=1), justify)


def render_receipts(data: bytes, print_width: int = DEFAULT_PRINT_WIDTH) -> list[Receipt]:
    """The receipts an ESC/POS job prints: one per cut, plus one for what follows the last."""
    receipts: list[Receipt] = []
    paper = _Paper(print_width, [])
    text = _Text()
    justify = 0
    i = 0
    while i < len(data):
        if data[i] not in (DLE, ESC, FS, GS):
            found = _COMMAND_START.search(data, i)
            end = found.start() if found else len(data)
            for byte in data[i:end]:
                if byte == 0x0A:
                    _print_line(paper, text, justify)
                elif byte >= 0x20:
                    text.put(byte)
            i = end
            continue
        measured = _measure(data, i)
        if measured is None:
            break  # a command cut short at the end of the job
        header, payload = measured
        command = data[i:i + header]
        body = data[i + header:i + header + payload]
        i += header + payload
        key = command[:2]
        if key == b"\x1dv" and command[2] == 0x30 and len(body) == payload:
            row_bytes = command[4] | command[5] << 8
            height = command[6] | command[7] << 8
            if row_bytes and height:
                paper.band(body, row_bytes, height, command[3] & 3, justify)
        elif key == b"\x1bJ":
            paper.rows.extend([0] * command[2])
        elif key == b"\x1bd":
            if text.line:
                _print_line(paper, text, justify)
            paper.rows.extend([0] * (command[2] * text.spacing))
        elif key == b"\x1ba":
            justify = _JUSTIFY.get(command[2], justify)
        elif key == b"\x1b@":
            justify, text = 0, _Text()
        elif key == b"\x1bt":
            text.table = command[2]
            paper.code_pages.append(command[2])
        elif key == b"\x1b!":
            text.mode = command[2]
        elif key == b"\x1bE":
            text.bold = bool(command[2] & 1)
        elif key == b"\x1b-":
            text.underline = command[2] & 3
        elif key == b"\x1d!":
            text.size = command[2]
        elif key == b"\x1dB":
            text.inverse = bool(command[2] & 1)
        elif key == b"\x1b3":
            text.spacing = command[2]
        elif key == b"\x1b2":
            text.spacing = DEFAULT_LINE_SPACING
        elif key == b"\x1dH":
            text.hri = command[2]
        elif key == b"\x1dh":
            text.bar_height = command[2]
        elif key == b"\x1dw":
            text.bar_module = command[2]
        elif key == b"\x1dk":
            _barcode(paper, text, command + body, justify)
        elif key == b"\x1d(" and command[2:3] == b"k":
            _qr(paper, text, command, body, justify)
        elif key in _CUTS:
            if text.line:
                _print_line(paper, text, justify)
            if paper.has_image or paper.text:
                receipts.append(paper.receipt())
            paper = _Paper(print_width, [])
    if text.line:
        _print_line(paper, text, justify)
    if paper.has_image or paper.text:
        receipts.append(paper.receipt())
    return receipts


# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EscposIdentity:
    maker: str = "EPSON"
    model: str = "TM-T20III"
    firmware: str = "1.00 ESC/POS"
    serial: str = "SIM00000001"
    fonts: str = ""  # GS I 69: no additional fonts installed
    model_id: int = 0x20
    rom_id: int = 0x01
    cutter: bool = True


class EscposSession(Session):
    def __init__(self, device: EscposDevice):
        self.device = device
        self._realtime = RealtimeScanner()
        self._parser = CommandParser()
        self._prints = False  # saw something other than status queries
        self._asb_enabled = 0  # GS a n
        self._asb_last = b""

    def feed(self, chunk: bytes) -> tuple[bytes, bytes]:
        reply = bytearray()
        for sequence in self._realtime.feed(chunk):
            reply += self.device.realtime(sequence)
        for command in self._parser.feed(chunk):
            if not command.is_status:
                self._prints = True
            reply += self._in_order(command)
        return bytes(reply), chunk

    def _in_order(self, command: Command) -> bytes:
        if command.key == b"\x1dI":
            return self.device.printer_id(command.header[2])
        if command.key == b"\x1dr":
            return self.device.transmit_status(command.header[2])
        if command.key == b"\x1da":
            self._asb_enabled = command.header[2] & 0x0F
            if not self._asb_enabled:
                return b""
            self._asb_last = self.device.asb()
            return self._asb_last
        return b""

    def state_changed(self) -> bytes:
        if not self._asb_enabled:
            return b""
        current = self.device.asb()
        mask = _asb_mask(self._asb_enabled)
        if all(a & m == b & m for a, b, m in zip(current, self._asb_last, mask, strict=False)):
            return b""
        self._asb_last = current
        return current

    def finish(self) -> bytes:
        if self._parser.pending:
            self._prints = True  # a command cut short is still something sent to print
        return b""

    def is_job(self, data: bytes) -> bool:
        return bool(data) and self._prints


def _asb_mask(enabled: int) -> bytes:
    """The ASB bits whose change triggers a transmission, for the `GS a n` bits in `enabled`."""
    mask = bytearray(4)
    if enabled & 0x01:  # drawer kick-out connector pin 3
        mask[0] |= 0x04
    if enabled & 0x02:  # online/offline (cover open and feed button belong with it)
        mask[0] |= 0x68
        mask[1] |= 0x03
    if enabled & 0x04:  # errors
        mask[1] |= 0x6C
    if enabled & 0x08:  # roll paper sensor
        mask[2] |= 0x0F
    return bytes(mask)


class EscposDevice(Device):
    """An Epson-class receipt printer. Options: the EscposIdentity fields (maker, model,
    firmware, serial, fonts, model_id, rom_id, cutter) and print_width, the paper's printable
    width in dots for rendering."""

    FAULTS: ClassVar[tuple[FaultSpec, ...]] = (
        FaultSpec("paper-out", "roll paper end: DLE EOT 1/2/4 = 1A/32/72", stops_printing=True),
        FaultSpec("paper-near-end", "roll paper near end: DLE EOT 4 = 1E"),
        FaultSpec("cover-open", "cover open: DLE EOT 1/2 = 1A/16", stops_printing=True),
        FaultSpec("cutter-error", "autocutter error: DLE EOT 1/2/3 = 1A/52/1A; DLE ENQ 1|2 "
                  "recovers", stops_printing=True),
        FaultSpec("unrecoverable-error", "unrecoverable error: DLE EOT 1/2/3 = 1A/52/32",
                  stops_printing=True),
        FaultSpec("drawer-open", "drawer kick-out connector pin 3 high: DLE EOT 1 = 16"),
    )

    def __init__(self, *, print_width: int = DEFAULT_PRINT_WIDTH, **identity: Any):
        super().__init__()
        if print_width <= 0:
            raise ValueError(f"print_width must be positive, not {print_width}")
        self.print_width = print_width
        self.identity = EscposIdentity(**identity)
        self.receipts_printed = 0
        self.lines_fed = 0
        self._realtime: dict[int, Callable[[bytes], bytes]] = {
            0x04: self._dle_eot, 0x05: self._dle_enq, 0x14: self._dle_dc4}

    def new_session(self) -> EscposSession:
        return EscposSession(self)

    def counters(self) -> dict[str, int]:
        return {**super().counters(), "receipts_printed": self.receipts_printed,
                "lines_fed": self.lines_fed}

    def on_printed(self, job: SimJob) -> None:
        self.receipts_printed += count_cuts(job.data)
        self.lines_fed += count_fed_lines(job.data)

    def render(self, job: SimJob) -> list[bytes]:
        return [mono_png(r.width, r.height, r.rows)
                for r in render_receipts(job.data, self.print_width)]

    # -- derived state

    @property
    def _error(self) -> bool:
        return self.has("cutter-error") or self.has("unrecoverable-error")

    @property
    def _offline(self) -> bool:
        return self.has("cover-open") or self.has("paper-out") or self._error

    def _bit(self, name: str, bits: int) -> int:
        return bits if self.has(name) else 0

    # -- real time

    def realtime(self, sequence: bytes) -> bytes:
        return self._realtime[sequence[1]](sequence)

    def _dle_eot(self, sequence: bytes) -> bytes:
        n = sequence[2]
        if n == 1:
            status = self._bit("drawer-open", 0x04) | (0x08 if self._offline else 0)
        elif n == 2:
            status = (self._bit("cover-open", 0x04) | self._bit("paper-out", 0x20)
                      | (0x40 if self._error else 0))
        elif n == 3:
            status = self._bit("cutter-error", 0x08) | self._bit("unrecoverable-error", 0x20)
        elif n == 4:
            status = self._bit("paper-near-end", 0x0C) | self._bit("paper-out", 0x60)
        else:
            return b""  # extended forms (ink, peeler, interface) are not simulated
        return bytes([0x12 | status])

    def _dle_enq(self, sequence: bytes) -> bytes:
        if sequence[2] in (1, 2) and self.has("cutter-error"):
            self.clear_fault("cutter-error")
        if sequence[2] == 2:
            self.cancel_buffered()
        return b""

    def _dle_dc4(self, sequence: bytes) -> bytes:
        fn = sequence[2]
        if fn == 7 and sequence[3] == 1:
            return self.asb()
        if fn == 8 and sequence[3:] == b"\x01\x03\x14\x01\x06\x02\x08":
            self.cancel_buffered()
            return b"\x37\x25\x00"
        if fn == 2 and sequence[3:] == b"\x01\x08":
            return b"\x3b\x30\x00"
        return b""

    # -- in order

    def asb(self) -> bytes:
        first = (0x10 | self._bit("drawer-open", 0x04) | (0x08 if self._offline else 0)
                 | self._bit("cover-open", 0x20))
        second = self._bit("cutter-error", 0x08) | self._bit("unrecoverable-error", 0x20)
        third = self._bit("paper-near-end", 0x03) | self._bit("paper-out", 0x0C)
        return bytes([first, second, third, 0x00])

    def printer_id(self, n: int) -> bytes:
        ident = self.identity
        if n in (1, 49):
            return bytes([ident.model_id])
        if n in (2, 50):
            return bytes([0x02 if ident.cutter else 0x00])
        if n in (3, 51):
            return bytes([ident.rom_id])
        text = {65: ident.firmware, 66: ident.maker, 67: ident.model, 68: ident.serial,
                69: ident.fonts}.get(n)
        return b"" if text is None else b"\x5f" + text.encode("ascii") + b"\x00"

    def transmit_status(self, n: int) -> bytes:
        if n in (1, 49):
            if self.has("paper-out"):
                return b""  # the reference: not answered while offline for paper end
            return bytes([self._bit("paper-near-end", 0x03)])
        if n in (2, 50):
            return bytes([self._bit("drawer-open", 0x01)])
        return b""


SPEC = SimulatorSpec(
    name="escpos",
    language="escpos",
    description="Epson TM-T20III-class receipt printer speaking ESC/POS: DLE EOT, DLE ENQ, "
                "DLE DC4, GS a (ASB), GS I, GS r; cuts counted as receipts",
    faults=spec_faults(EscposDevice),
    factory=EscposDevice,
)
