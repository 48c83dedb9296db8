"""A simulated Zebra ZPL II printer, byte-accurate for the host status commands.

What it answers (reference sections 1.2-1.5; replies are built here from the reference, not
from the language driver's tables, so that each side checks the other):

* `~HS`: three `STX ... ETX CR LF` frames with fixed-width fields. Healthy, it is the canonical
  reply byte for byte. Flags: paper out (string 1 b), paused (c), formats in buffer (eee),
  buffer full (f), partial format (h), head over-temperature (l); head up (string 2 o),
  ribbon out (p).
* `~HQES`: the error/warning report; group-1 error masks 0x1 media out, 0x2 ribbon out,
  0x4 head open, 0x10 head over-temperature, 0x10000 paused (the guide labels the last one
  KR403-only; the ZT411 fixture in the reference shows it, so it is set).
* `~HI`: `STX model,firmware,dpmm,memory[,options] ETX CR LF`.
* `~JA` cancels buffered jobs, `~PP`/`~PS` pause/resume (the same state as the `paused`
  fault), `~JR` clears the buffer and the pause. Each acted on is counted (`GET /state`:
  `settings.control_commands`, the last ones, as received).
* Maintenance commands stay job data and are acted on when the job prints, in order with the
  job's formats, as the printer works through its buffer: `~JC` calibrates (feeds
  CALIBRATION_FEED labels and measures the loaded media: the label length `~HS` and `^HH`
  report becomes the `media_length` option's), `~WC` prints the configuration label (a label:
  it moves the label counter), `~PH` feeds one blank label, `~SDnn` sets the darkness (00-30,
  `^HH` DARKNESS). Labels fed move the label counter too (a real odometer counts media, not
  formats); labeld's `labels_in_raw` counts none of these, so it never takes the counter as
  evidence for a job that carries one.
* SGD `! U1 getvar "NAME"` CR LF (reference 1.1), outside a format: the value in double quotes
  and nothing after it, as a Zebra answers (no CR LF). `odometer.total_label_count` is the
  number of labels printed since the simulator started: it advances when a job leaves the
  buffer and prints (by each format's `^PQ` quantity), never while a stopping fault holds the
  job, never for a canceled or incomplete one. Any other variable answers `"?"`, as a Zebra
  does for one it does not know. The line needs its line end: until it arrives the bytes are
  held; `setvar` and `do` lines are not answered and stay job data.
* `~HQOD`: the print-length odometer in the `~HQ` framing (reference 1.3): `STX CR LF CR LF`,
  the title line `PRINT METERS`, then `TOTAL NONRESETTABLE`, `USER RESETTABLE CNTR1` and
  `CNTR2`, each in whole inches (`"`, rounded down), lines CR LF terminated and padded, `ETX`.
  The length is the labels printed times each format's `^LL` (the last one set, as it carries
  over; 1245 dots, the length `~HS` reports, before any); gaps are not counted. The layout of
  the data lines is this simulator's (the reference documents only the framing); labeld does
  not parse it.

`~` commands are acted on wherever they appear, even inside `^XA..^XZ`, like the printer does;
they are case-insensitive. The bytes of the commands above are removed from the job data;
every other byte, including other `~` commands (`~DG`, `~JC`, `~SD`, unanswered `~HQxx`), is
job data.

Rendering (GET /jobs/N/pages, /jobs/N/page/K.png): every `^XA..^XZ` format becomes one image
of `^PW` x `^LL` dots (a side not set comes from the bounding box of the graphics), with each
`^GF` field OR-ed in at its `^FO` (or `^FT`, whose origin is the field's bottom left) plus `^LH`.
`^GF` data: `A` as ASCII hex with the run-length scheme (`,` `!` `:` and G..Y / g..z counts),
`:B64:` and `:Z64:` with their CRC-16/XMODEM checked (a mismatch drops the field, as a printer
aborts the download); `B` as raw bytes; `C` (Zebra's proprietary compression) is skipped. Text
and barcodes are not drawn: rasters only. `^PQ` copies are one image. This decoder is written
from the reference, independently of labeld's encoder, so that each checks the other.

Simplifications: `~JA` cancels jobs already recorded, not formats of connections still open;
the prefix characters are fixed (`^CC`/`~CT` are not followed); a format counts `^PQ`'s first
parameter as its number of labels, whatever it holds (labeld's `labels_in_raw` declines to
count formats without fields, which is what keeps the two in step where it does count).
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from labeld.contracts import SimulatorSpec
from labeld.sim import Device, FaultSpec, Session, SimJob, mono_png, spec_faults

log = logging.getLogger("labeld.sim.zpl")

# Faults that a real Zebra lists as states in which it may not answer ~HS (reference 1.2).
_MUTE_STATES = ("paper-out", "head-open", "ribbon-out", "head-too-hot")

_HQES_ERRORS: tuple[tuple[str, int], ...] = (
    ("paper-out", 0x00000001),
    ("ribbon-out", 0x00000002),
    ("head-open", 0x00000004),
    ("head-too-hot", 0x00000010),
    ("paused", 0x00010000),
)

_FORMAT = re.compile(rb"\^XA(.*?)\^XZ", re.IGNORECASE | re.DOTALL)
_FORMAT_EDGE = re.compile(rb"\^X([AZ])", re.IGNORECASE)
_QUANTITY = re.compile(rb"\^PQ\s*(\d+)", re.IGNORECASE)
_LABEL_LENGTH = re.compile(rb"\^LL\s*(\d+)", re.IGNORECASE)
DEFAULT_LABEL_LENGTH = 1245  # dots, as ~HS reports it
DEFAULT_DARKNESS = 15  # ^HH shows +15.0, a Zebra's factory darkness for direct thermal
CALIBRATION_FEED = 2  # labels a calibration feeds to find the gap (a real one feeds 1-4)
CONTROL_LOG = 50  # control commands kept for GET /state
# Maintenance commands acted on when the job prints; ~SD takes its two digits.
_MAINTENANCE = re.compile(rb"~(JC|WC|PH|SD(\d\d))", re.IGNORECASE)

# SGD getvar (reference 1.1). `~` is excluded so that a control command is never swallowed.
_GETVAR = re.compile(rb'![ \t]*U1[ \t]+getvar[ \t]+"([^"\r\n~]*)"[^\r\n~]*\r?\n', re.IGNORECASE)
_SGD_LINE_MAX = 1024  # a `!` with no line end this far on is not an SGD command
COUNTER_VARIABLE = "odometer.total_label_count"


def count_labels(data: bytes) -> tuple[int, int]:
    """(formats, labels) in ZPL job data: each whole ^XA..^XZ is one format of ^PQ labels."""
    formats = labels = 0
    for body in _FORMAT.findall(data):
        formats += 1
        labels += _quantity(body)
    return formats, labels


def _quantity(body: bytes) -> int:
    quantity = _QUANTITY.search(body)
    return max(1, int(quantity.group(1))) if quantity else 1


def _frame(text: str) -> bytes:
    return b"\x02" + text.encode("ascii") + b"\x03\r\n"


_HH_ONLY = re.compile(rb"\^XA\s*\^HH\s*\^XZ", re.IGNORECASE)


class ZplSession(Session):
    """One connection: scans for `~` commands, tracks `^XA`/`^XZ` for the ~HS buffer fields."""

    # Commands this simulator answers or acts on, without the `~`. ~HQ takes two more letters.
    _SIMPLE = (b"HS", b"HI", b"JA", b"PP", b"PS", b"JR")

    def __init__(self, device: ZplDevice):
        self.device = device
        self._held = b""  # a `~` command cut by the end of a read
        self._edge_tail = b""  # the last bytes of job data, for ^XA/^XZ split across reads
        self.formats = 0  # whole formats received on this connection
        self.in_format = False  # inside ^XA without its ^XZ yet

    def feed(self, chunk: bytes) -> tuple[bytes, bytes]:
        buf = self._held + chunk
        self._held = b""
        reply = bytearray()
        data = bytearray()
        i = 0
        j = -2  # the next `~` at or after i; -1: none in buf. Kept across `!`s, which can be
        # many (^GFA compression uses `!`), so that the buffer is not searched again for each.
        while True:
            if j != -1 and j < i:
                j = buf.find(b"~", i)
            bang = buf.find(b"!", i, len(buf) if j < 0 else j)
            if bang >= 0:
                self._take(buf[i:bang], data, reply)
                if not self.in_format:  # inside a format `!` is field data
                    getvar = _GETVAR.match(buf, bang)
                    if getvar is not None:
                        reply += self.device.getvar(getvar.group(1))
                        i = getvar.end()
                        continue
                    if len(buf) - bang < _SGD_LINE_MAX and not any(
                            stop in buf[bang:] for stop in (b"\n", b"~")):
                        self._held = buf[bang:]  # maybe an SGD line whose end is on its way
                        break
                self._take(b"!", data, reply)
                i = bang + 1
                continue
            # Track formats before acting on the command: ~HS reports what preceded it.
            self._take(buf[i:] if j < 0 else buf[i:j], data, reply)
            if j < 0:
                break
            name = buf[j + 1:j + 3].upper()
            if len(name) < 2 or (name == b"HQ" and len(buf) < j + 5):
                self._held = buf[j:]
                break
            query = buf[j + 1:j + 5].upper()
            if query in (b"HQES", b"HQOD"):
                reply += self.device.command(query)
                i = j + 5
            elif name in self._SIMPLE:
                reply += self.device.command(name)
                i = j + 3
            else:
                self._track(b"~")
                data += b"~"
                i = j + 1
        return bytes(reply), bytes(data)

    def _take(self, segment: bytes, data: bytearray, reply: bytearray) -> None:
        """Job data between commands: kept, tracked for ^XA/^XZ, and ^HH answered."""
        self._track(segment)
        data += segment
        if b"^HH" in segment.upper():  # (a ^HH split across two reads is not answered)
            reply += self.device.configuration_label()

    def _track(self, data: bytes) -> None:
        # A marker is 3 bytes, so a 2-byte tail lets a split one be seen exactly once.
        text = self._edge_tail + data
        for match in _FORMAT_EDGE.finditer(text):
            if match.group(1).upper() == b"A":
                self.in_format = True
            elif self.in_format:
                self.in_format = False
                self.formats += 1
        self._edge_tail = text[-2:]

    def finish(self) -> bytes:
        self.device.sessions.discard(self)
        held, self._held = self._held, b""
        return held

    def is_job(self, data: bytes) -> bool:
        # Line ends around a status query (`~HS\r\n`) are not a job, nor is a format that only
        # asks for the configuration (`^XA^HH^XZ`): the printer answers it and prints nothing.
        return bool(_HH_ONLY.sub(b"", data).strip())


# --------------------------------------------------------------------------------------------
# Rendering ^GF graphics

MAX_DOTS = 32_000  # ^PW, ^LL and ^FO stop here; larger values are clamped like the printer does
MAX_GRAPHIC_BYTES = 16 << 20  # a simulator guard against absurd ^GF sizes, not a printer limit

_COMMAND = re.compile(rb"[\^~]")
_RLE_TOKEN = re.compile(rb"([G-Yg-z]+)([0-9A-Fa-f])|([0-9A-Fa-f]+)|([,!:])|(\s+)|(.)", re.DOTALL)


class GraphicError(ValueError):
    """A ^GF field the printer would not print (bad data, CRC mismatch)."""


@dataclass(frozen=True)
class Graphic:
    x: int
    y: int
    row_bytes: int
    height: int
    rows: bytes


@dataclass
class Page:
    """One rendered label: packed rows, MSB = left, 1 = black."""

    width: int
    height: int
    rows: bytes


def _repeat_count(letters: bytes) -> int:
    count = 0
    for letter in letters:
        if letter == ord("z"):
            count += 400
        elif letter >= ord("g"):
            count += (letter - ord("f")) * 20
        else:
            count += letter - ord("F")
    return count


def decode_ascii_graphic(data: bytes, total: int, row_bytes: int, bang_fill: bytes = b"1") -> bytes:
    """ASCII hex with ZPL's compression (reference 1.7) -> `total` bytes of bitmap.

    Works on hex digits (nibbles). Data past `total` is ignored; missing data is white.
    `bang_fill` is the digit `!` fills a row with (the guide's literal reading: `1`)."""
    row_digits = row_bytes * 2
    wanted = total * 2
    done: list[bytes] = []  # completed rows, as hex digits
    length = 0
    current = bytearray()

    def finish_row(row: bytes) -> None:
        nonlocal length
        done.append(row)
        length += len(row)

    for match in _RLE_TOKEN.finditer(data):
        if length >= wanted:
            break
        counted, digit, plain, mark, _space, other = match.groups()
        if other is not None:
            raise GraphicError(f"byte {other!r} in ASCII graphic data")
        if counted is not None:
            # Capped at what is still wanted: a run of `z`s must not exhaust memory.
            current += digit * min(_repeat_count(counted), wanted - length - len(current) + 1)
        elif plain is not None:
            current += plain
        elif mark == b":":
            if current or not done:
                raise GraphicError("':' (repeat row) not at the start of a row after a row")
            finish_row(done[-1])
            continue
        elif mark is not None:
            fill = b"0" if mark == b"," else bang_fill
            current += fill * (row_digits - len(current))  # a whole row when nothing is open
        while len(current) >= row_digits:
            finish_row(bytes(current[:row_digits]))
            del current[:row_digits]
    if current:
        finish_row(bytes(current) + b"0" * (row_digits - len(current)))
    digits = b"".join(done)[:wanted]
    return bytes.fromhex(digits.decode("ascii")).ljust(total, b"\x00")


def decode_b64_graphic(data: bytes, total: int) -> bytes:
    """`:B64:<base64>:<crc>` or `:Z64:<base64 of zlib>:<crc>` -> `total` bytes of bitmap."""
    text = b"".join(data.split())  # line breaks are not part of the CRC
    kind, _, rest = text[1:].partition(b":")
    body, _, crc = rest.rpartition(b":")
    try:
        expected = int(crc, 16)
    except ValueError:
        raise GraphicError(f"{kind.decode(errors='replace')} CRC {crc!r} is not hex") from None
    if binascii.crc_hqx(body, 0) != expected:
        raise GraphicError(f"{kind.decode(errors='replace')} CRC mismatch")
    try:
        raw = base64.b64decode(body, validate=True)
        if kind.upper() == b"Z64":
            raw = zlib.decompress(raw)
    except (binascii.Error, zlib.error) as exc:
        raise GraphicError(f"{kind.decode(errors='replace')} data: {exc}") from None
    return raw[:total].ljust(total, b"\x00")


def decode_graphic_data(kind: bytes, data: bytes, total: int, row_bytes: int,
                        bang_fill: bytes = b"1") -> bytes:
    stripped = data.lstrip()
    if kind == b"B":
        return data[:total].ljust(total, b"\x00")
    if kind != b"A":
        raise GraphicError(f"^GF compression {kind!r} is not simulated")
    if stripped[:5].upper() in (b":B64:", b":Z64:"):
        return decode_b64_graphic(stripped, total)
    return decode_ascii_graphic(stripped, total, row_bytes, bang_fill)


def _numbers(params: bytes, count: int) -> list[int]:
    """The first `count` comma-separated integers; missing or bad ones are 0."""
    values = params.split(b",")
    out = []
    for i in range(count):
        text = values[i].strip() if i < len(values) else b""
        out.append(min(int(text), MAX_DOTS) if text.isdigit() else 0)
    return out


def _commands(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(`^XX` or `~XX` upper-cased, parameters) in order. Parameters run to the next `^`/`~`,
    except for ^GFB/^GFC, whose b bytes of binary data are taken whole."""
    i = 0
    while (match := _COMMAND.search(data, i)) is not None:
        start = match.start()
        name = data[start:start + 3].upper()
        body_start = start + 3
        if name == b"^GF" and data[body_start:body_start + 1].upper() in (b"B", b"C"):
            head = data[body_start:body_start + 64].split(b",", 4)
            if len(head) == 5:
                binary = int(head[1]) if head[1].strip().isdigit() else 0
                data_start = body_start + sum(len(part) + 1 for part in head[:4])
                yield name, data[body_start:data_start + binary]
                i = data_start + binary
                continue
        following = _COMMAND.search(data, body_start)
        end = following.start() if following else len(data)
        yield name, data[body_start:end]
        i = end


@dataclass
class _Format:
    """The state while reading one ^XA..^XZ format."""

    graphics: list[Graphic] = field(default_factory=list)
    origin: tuple[int, int, bool] = (0, 0, False)  # x, y, typeset (^FT)


def _graphic(params: bytes, origin: tuple[int, int, bool], home: tuple[int, int],
             bang_fill: bytes) -> Graphic:
    kind = params[:1].upper() or b"A"
    parts = params.split(b",", 4)
    if len(parts) < 5:
        raise GraphicError("^GF needs a,b,c,d,data")
    total, row_bytes = (int(p) if p.strip().isdigit() else 0 for p in parts[2:4])
    if total <= 0 or row_bytes <= 0 or total > MAX_GRAPHIC_BYTES:
        raise GraphicError(f"^GF sizes c={total} d={row_bytes}")
    height = total // row_bytes
    if height == 0:
        raise GraphicError(f"^GF c={total} is less than one row of d={row_bytes}")
    rows = decode_graphic_data(kind, parts[4], height * row_bytes, row_bytes, bang_fill)
    x, y, typeset = origin
    top = y - height if typeset else y  # ^FT places a graphic by its bottom left corner
    return Graphic(home[0] + x, max(0, home[1] + top), row_bytes, height, rows)


def _compose(graphics: list[Graphic], width: int | None, height: int | None) -> Page | None:
    width = width or max((g.x + g.row_bytes * 8 for g in graphics), default=0)
    height = height or max((g.y + g.height for g in graphics), default=0)
    if width <= 0 or height <= 0:
        return None
    canvas = [0] * height
    for g in graphics:
        bits = g.row_bytes * 8
        shift = width - g.x - bits
        for r in range(min(g.height, height - g.y)):
            value = int.from_bytes(g.rows[r * g.row_bytes:(r + 1) * g.row_bytes], "big")
            canvas[g.y + r] |= value << shift if shift >= 0 else value >> -shift
    row_bytes = (width + 7) // 8
    pad = row_bytes * 8 - width
    keep = (1 << width) - 1  # graphics past ^PW are cut off
    rows = b"".join(((value & keep) << pad).to_bytes(row_bytes, "big") for value in canvas)
    return Page(width, height, rows)


def render_formats(data: bytes, bang_fill: bytes = b"1") -> list[Page]:
    """One Page per ^XA..^XZ format that has a size or graphics. ^PW, ^LL and ^LH carry over
    from one format to the next, as they do in the printer."""
    pages: list[Page] = []
    width: int | None = None
    length: int | None = None
    home = (0, 0)
    current: _Format | None = None
    for name, params in _commands(data):
        if name == b"^XA":
            current = _Format()
        elif current is None:
            continue  # outside a format nothing is drawn
        elif name == b"^XZ":
            page = _compose(current.graphics, width, length)
            if page is not None:
                pages.append(page)
            current = None
        elif name == b"^PW":
            width = _numbers(params, 1)[0] or width
        elif name == b"^LL":
            length = _numbers(params, 1)[0] or length
        elif name == b"^LH":
            home = tuple(_numbers(params, 2))  # type: ignore[assignment]
        elif name in (b"^FO", b"^FT"):
            x, y = _numbers(params, 2)
            current.origin = (x, y, name == b"^FT")
        elif name == b"^FS":
            current.origin = (0, 0, False)
        elif name == b"^GF":
            try:
                current.graphics.append(_graphic(params, current.origin, home, bang_fill))
            except GraphicError as exc:
                log.warning("^GF not printed: %s", exc)
    return pages


# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZplIdentity:
    model: str = "ZD421-203dpi"
    firmware: str = "V93.21.26Z"
    dpmm: int = 8
    memory: str = "8192KB"
    options: str = ""


class ZplDevice(Device):
    """A Zebra on port 9100. Options: model, firmware, dpmm, memory, options (the ~HI fields),
    silent_when_faulted (start with that fault set), gf_bang_fill, the hex digit that `!`
    in ^GF data fills a row with (`1`, the guide's literal reading, or `F`), and media_length,
    the length in dots of the labels loaded (what a calibration measures; until one runs the
    printer reports the length it last measured, DEFAULT_LABEL_LENGTH)."""

    FAULTS: ClassVar[tuple[FaultSpec, ...]] = (
        FaultSpec("paper-out", "media out: ~HS paper-out flag, ~HQES 0x1", stops_printing=True),
        FaultSpec("head-open", "printhead open: ~HS head-up flag, ~HQES 0x4",
                  stops_printing=True),
        FaultSpec("ribbon-out", "ribbon out: ~HS ribbon flag, ~HQES 0x2", stops_printing=True),
        FaultSpec("paused", "paused (also set by ~PP, cleared by ~PS and ~JR)",
                  stops_printing=True),
        FaultSpec("buffer-full", "receive buffer full: ~HS flag only"),
        FaultSpec("head-too-hot", "printhead over temperature: ~HS flag, ~HQES 0x10",
                  stops_printing=True),
        FaultSpec("silent-when-faulted",
                  "do not answer ~HS while paper out, head open, ribbon out or head too hot"),
        # A long batch still printing: what arrives waits in the buffer (~HS formats in
        # buffer) with no error flag, the state in which ~JA has something to cancel.
        FaultSpec("busy", "working through a long batch: jobs wait in the buffer, no error "
                  "flag", stops_printing=True),
    )

    def __init__(self, *, model: str = ZplIdentity.model, firmware: str = ZplIdentity.firmware,
                 dpmm: int = ZplIdentity.dpmm, memory: str = ZplIdentity.memory,
                 options: str = ZplIdentity.options, silent_when_faulted: bool = False,
                 gf_bang_fill: str = "1", media_length: int = DEFAULT_LABEL_LENGTH):
        super().__init__()
        if not 0 < media_length <= MAX_DOTS:
            raise ValueError(f"media_length must be 1..{MAX_DOTS} dots, not {media_length}")
        if gf_bang_fill not in ("1", "F"):
            raise ValueError(f"gf_bang_fill must be '1' or 'F', not {gf_bang_fill!r}")
        self.bang_fill = gf_bang_fill.encode("ascii")
        self.identity = ZplIdentity(model, firmware, dpmm, memory, options)
        self.sessions: set[ZplSession] = set()
        self.labels_printed = 0
        self.formats_printed = 0
        self.label_length = DEFAULT_LABEL_LENGTH  # dots; ^LL carries over between formats
        self.printed_dots = 0  # the print-length odometer, in dot rows
        self.media_length = media_length  # the labels loaded
        self.measured_length = DEFAULT_LABEL_LENGTH  # what the last calibration found
        self.darkness = DEFAULT_DARKNESS
        self.calibrations = 0
        self.labels_fed = 0  # blank labels: calibration and ~PH
        self.config_labels = 0
        self.buffer_cancels = 0  # ~JA and ~JR
        self.control_log: list[str] = []  # the last control commands acted on, as received
        if silent_when_faulted:
            self.faults["silent-when-faulted"] = True

    def new_session(self) -> ZplSession:
        session = ZplSession(self)
        self.sessions.add(session)
        return session

    def counters(self) -> dict[str, int]:
        return {**super().counters(), "labels_printed": self.labels_printed,
                "formats_printed": self.formats_printed, "labels_fed": self.labels_fed,
                "calibrations": self.calibrations, "config_labels": self.config_labels,
                "buffer_cancels": self.buffer_cancels}

    def settings(self) -> dict[str, object]:
        return {"darkness": self.darkness, "measured_length_dots": self.measured_length,
                "media_length_dots": self.media_length,
                "control_commands": list(self.control_log)}

    def on_printed(self, job: SimJob) -> None:
        # Formats and maintenance commands in the order the printer reaches them.
        items = sorted([*_FORMAT.finditer(job.data), *_MAINTENANCE.finditer(job.data)],
                       key=lambda match: match.start())
        for match in items:
            if match.re is _MAINTENANCE:
                self._maintain(match.group(1).upper())
                continue
            body = match.group(1)
            lengths = [int(n) for n in _LABEL_LENGTH.findall(body) if int(n) > 0]
            if lengths:
                self.label_length = min(lengths[-1], MAX_DOTS)  # the last ^LL is the one used
            labels = _quantity(body)
            self.formats_printed += 1
            self.labels_printed += labels
            self.printed_dots += labels * self.label_length

    def _maintain(self, command: bytes) -> None:
        """A maintenance command the printer has reached in its buffer."""
        if command == b"JC":
            self.calibrations += 1
            self._feed(CALIBRATION_FEED)
            self.measured_length = self.media_length
        elif command == b"PH":
            self._feed(1)
        elif command == b"WC":
            self.config_labels += 1
            self.labels_printed += 1
            self.printed_dots += self.measured_length
        elif command.startswith(b"SD"):
            self.darkness = min(30, int(command[2:]))

    def _feed(self, labels: int) -> None:
        self.labels_fed += labels
        self.labels_printed += labels
        self.printed_dots += labels * self.measured_length

    def render(self, job: SimJob) -> list[bytes]:
        return [mono_png(p.width, p.height, p.rows)
                for p in render_formats(job.data, self.bang_fill)]

    # -- commands

    def command(self, name: bytes) -> bytes:
        """Act on `~<name>`; return the reply bytes (maybe none)."""
        if name == b"HS":
            if self.has("silent-when-faulted") and any(map(self.has, _MUTE_STATES)):
                return b""
            return self.host_status()
        if name == b"HQES":
            return self.error_status()
        if name == b"HQOD":
            return self.odometer()
        if name == b"HI":
            return self.host_identification()
        self.control_log = [*self.control_log[-(CONTROL_LOG - 1):],
                            "~" + name.decode("ascii")]
        if name == b"JA":
            self.buffer_cancels += 1
            self.cancel_buffered()
        elif name == b"PP":
            self.set_fault("paused")
        elif name == b"PS":
            self.clear_fault("paused")
        elif name == b"JR":
            self.buffer_cancels += 1
            self.cancel_buffered()
            self.clear_fault("paused")
        return b""

    def configuration_label(self) -> bytes:
        """`^HH`: the configuration label as text, value then name, one setting a line.
        Framing is unverified on hardware (reference 1.4); sent as one STX..ETX CR LF frame."""
        o = self.identity
        lines = [
            "  PRINTER CONFIGURATION",
            f"  {o.model}",
            f"  {f'+{self.darkness}.0':<19} DARKNESS",
            "  4.0 IPS             PRINT SPEED",
            "  TEAR OFF            PRINT MODE",
            "  GAP/NOTCH           MEDIA TYPE",
            "  DIRECT-THERMAL      PRINT METHOD",
            f"  {o.dpmm * 104:<19} PRINT WIDTH",
            f"  {self.measured_length:<19} LABEL LENGTH",
            f"  {o.firmware:<19} FIRMWARE",
            f"  {self.labels_printed:<19} LABELS PRINTED",
        ]
        return b"\x02" + "\r\n".join(lines).encode("ascii") + b"\r\n\x03\r\n"

    def formats_in_buffer(self) -> int:
        waiting = sum(count_labels(job.data)[0] for job in self.buffered)
        if self.stopped:
            # Formats of connections still open are in the printer's buffer too; while it
            # prints they would already be on paper.
            waiting += sum(session.formats for session in self.sessions)
        return waiting

    def host_status(self) -> bytes:
        flag = self._flag
        partial = int(any(session.in_format for session in self.sessions))
        string1 = (f"030,{flag('paper-out')},{flag('paused')},{self.measured_length:04d},"
                   f"{min(self.formats_in_buffer(), 999):03d},{flag('buffer-full')},0,"
                   f"{partial},000,0,0,{flag('head-too-hot')}")
        string2 = f"000,0,{flag('head-open')},{flag('ribbon-out')},0,2,4,0,00000000,1,000"
        return _frame(string1) + _frame(string2) + _frame("1234,0")

    def error_status(self) -> bytes:
        errors = 0
        for name, mask in _HQES_ERRORS:
            if self.has(name):
                errors |= mask
        warnings = 0  # none of the simulated faults is a warning on a non-kiosk Zebra
        lines = (
            "",
            "",
            "  PRINTER STATUS                            ",
            f"   ERRORS:         {int(bool(errors))} 00000000 {errors:08X}      ",
            f"   WARNINGS:       {int(bool(warnings))} 00000000 {warnings:08X}      ",
        )
        return b"\x02" + "\r\n".join(lines).encode("ascii") + b"\r\n\x03"

    def getvar(self, name: bytes) -> bytes:
        """The answer to `! U1 getvar "name"`: the value in double quotes, nothing after it."""
        if name.strip().lower() == COUNTER_VARIABLE.encode("ascii"):
            return b'"%d"' % self.labels_printed
        return b'"?"'

    def odometer(self) -> bytes:
        """`~HQOD`: printed length in whole inches; the user counters are never reset here."""
        dpi = max(1, self.identity.dpmm * 254 // 10)  # 8 dots/mm: 203 dpi
        inches = self.printed_dots // dpi
        value = f'{inches} "'
        lines = (
            "",
            "",
            "  PRINT METERS                              ",
            f"   TOTAL NONRESETTABLE:     {value:>12}    ",
            f"   USER RESETTABLE CNTR1:   {value:>12}    ",
            f"   USER RESETTABLE CNTR2:   {value:>12}    ",
        )
        return b"\x02" + "\r\n".join(lines).encode("ascii") + b"\r\n\x03"

    def host_identification(self) -> bytes:
        ident = self.identity
        fields = [ident.model, ident.firmware, str(ident.dpmm), ident.memory]
        if ident.options:
            fields.append(ident.options)
        return _frame(",".join(fields))

    def _flag(self, name: str) -> int:
        return int(self.has(name))


SPEC = SimulatorSpec(
    name="zpl",
    language="zpl",
    description="Zebra ZD421 (203 dpi) speaking ZPL II: ~HS, ~HQES, ~HQOD, ~HI, ~JA, ~PP/~PS, "
                "~JR, SGD getvar odometer.total_label_count",
    faults=spec_faults(ZplDevice),
    factory=ZplDevice,
)
