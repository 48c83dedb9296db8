"""A simulated TSC label printer speaking TSPL (`labeld simulate tspl`).

It answers `<ESC>!?` with the one status byte of reference 3, from its faults, at any point of
the stream and in any state, as the real printers do; everything else is the job. Jobs are
rendered as a TSC would print them: `SIZE` (mm or inches) and the printer's dpi give the label,
`CLS` clears it, `BITMAP x,y,width_bytes,height,mode,<binary>` draws with **0 = black** in
mode 0 (overwrite), 1 (OR) or 2 (XOR), and each `PRINT` prints the image as it stands. The
binary payload of BITMAP is taken whole by its announced length, so bytes in it that happen to
read `ESC ! ?` are image, not a query.

`~!@` (mileage, listed by the reference among the immediate queries, reply format
[unverified]) is answered, like `<ESC>!?`, wherever it stands between commands and removed
from the job: the printed length in metres with one decimal, ASCII, then CR (`12.5` 0D). That
format is this simulator's choice; labeld does not parse it. The length is the `SIZE` height
of every label printed (`PRINT m,n` prints m x n), gaps not counted; `labels_printed` counts
the same labels.

Maintenance commands are acted on when the job prints: `GAPDETECT` (gap calibration) feeds
GAP_DETECT_FEED labels and counts a calibration, `SELFTEST` prints the self-test page (a label
for `labels_printed`); `GET /state` counts both.

There is no label counter to ask: mileage moves by length, not by labels, so it cannot confirm
a job's labels one by one, and labeld's TSPL driver names no counter (see its
`counter_query`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

import numpy as np

from labeld.contracts import SimulatorSpec
from labeld.drivers.tspl.language import STATUS_BITS, STATUS_QUERY
from labeld.sim import Device, FaultSpec, Session, SimJob, mono_png, spec_faults

_FAULT_BITS = {"head-open": 0x01, "paper-jam": 0x02, "paper-out": 0x04, "ribbon-out": 0x08,
               "paused": 0x10, "cover-open": 0x40, "temperature-out-of-range": 0x80}
assert set(_FAULT_BITS.values()) | {0x20} == {mask for mask, _ in STATUS_BITS}

_BITMAP_HEAD = re.compile(rb"BITMAP\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,",
                          re.IGNORECASE)
_SIZE = re.compile(rb"SIZE\s*([\d.]+)\s*(mm)?\s*,\s*([\d.]+)\s*(mm)?", re.IGNORECASE)
_PRINT = re.compile(rb"PRINT\b\s*(\d+)?\s*(?:,\s*(\d+))?", re.IGNORECASE)
MAX_DOTS = 16_000  # SIZE and BITMAP are clamped here: a guard, not a printer limit
MILEAGE_QUERY = b"~!@"
GAP_DETECT_FEED = 2  # labels a gap calibration feeds (a TSC feeds until it has seen gaps)
_QUERIES = (STATUS_QUERY, MILEAGE_QUERY)


def _maybe_bitmap(rest: bytes) -> bool:
    """The start of a BITMAP command whose header (five numbers and commas) is not whole yet."""
    head = rest[:6].upper()
    if not b"BITMAP".startswith(head):
        return False
    return len(rest) < 6 or (b"\n" not in rest and rest.count(b",") < 5)


def _query_prefix_at_end(buf: bytes, start: int) -> int:
    """How many bytes at the end of buf[start:] could begin a query cut by the read."""
    for n in range(max(map(len, _QUERIES)) - 1, 0, -1):
        if len(buf) - start >= n and any(buf.endswith(q[:n]) for q in _QUERIES):
            return n
    return 0


def _find_query(buf: bytes, start: int, end: int) -> int:
    found = [n for n in (buf.find(q, start, end) for q in _QUERIES) if n >= 0]
    return min(found) if found else -1


class TsplSession(Session):
    """One connection: `<ESC>!?` and `~!@` answered wherever they stand between commands;
    BITMAP payloads consumed by length so that image bytes are never read as commands."""

    def __init__(self, device: TsplDevice):
        self.device = device
        self._held = b""  # an unfinished command line or BITMAP payload

    def feed(self, chunk: bytes) -> tuple[bytes, bytes]:
        buf = self._held + chunk
        self._held = b""
        reply = bytearray()
        data = bytearray()
        i = 0
        while i < len(buf):
            if buf.startswith(STATUS_QUERY, i):
                reply.append(self.device.status_byte())
                i += len(STATUS_QUERY)
                continue
            if buf.startswith(MILEAGE_QUERY, i):
                reply += self.device.mileage()
                i += len(MILEAGE_QUERY)
                continue
            head = _BITMAP_HEAD.match(buf, i)
            if head is not None:
                end = head.end() + int(head.group(3)) * int(head.group(4))
                if end > len(buf):
                    self._held = buf[i:]  # the payload is still arriving
                    break
                data += buf[i:end]
                i = end
                continue
            rest = buf[i:]
            if _maybe_bitmap(rest) or any(q.startswith(rest) for q in _QUERIES):
                self._held = rest  # a header or a query cut by the end of this read
                break
            # up to the end of this line, or to a query, whichever comes first
            line_end = buf.find(b"\n", i) + 1
            stops = [n for n in (line_end, _find_query(buf, i, line_end or len(buf))) if n > i]
            stop = min(stops) if stops else len(buf)
            if stop == len(buf):
                tail = _query_prefix_at_end(buf, i)
                data += buf[i:len(buf) - tail]
                self._held = buf[len(buf) - tail:]
                break
            data += buf[i:stop]
            i = stop
        return bytes(reply), bytes(data)

    def finish(self) -> bytes:
        held, self._held = self._held, b""
        return held

    def is_job(self, data: bytes) -> bool:
        return bool(data.strip())


class TsplDevice(Device):
    """A TSC TTP-245C class printer at `dpi` (203 by default)."""

    FAULTS: ClassVar[tuple[FaultSpec, ...]] = (
        FaultSpec("head-open", "print head open: <ESC>!? bit 0", stops_printing=True),
        FaultSpec("paper-jam", "paper jam: bit 1", stops_printing=True),
        FaultSpec("paper-out", "out of paper: bit 2", stops_printing=True),
        FaultSpec("ribbon-out", "out of ribbon: bit 3", stops_printing=True),
        FaultSpec("paused", "paused: bit 4", stops_printing=True),
        FaultSpec("cover-open", "cover open: bit 6", stops_printing=True),
        FaultSpec("temperature-out-of-range", "room temperature out of range: bit 7",
                  stops_printing=True),
    )

    def __init__(self, *, dpi: int = 203):
        super().__init__()
        self.dpi = dpi
        self.labels_printed = 0
        self.printed_dots = 0  # the mileage, in dot rows
        self.gap_calibrations = 0
        self.self_tests = 0
        self.labels_fed = 0

    def new_session(self) -> TsplSession:
        return TsplSession(self)

    def status_byte(self) -> int:
        value = 0
        for name, bit in _FAULT_BITS.items():
            if self.has(name):
                value |= bit
        return value  # bit 5, printing, stays 0: the simulator prints at once

    def counters(self) -> dict[str, int]:
        return {**super().counters(), "labels_printed": self.labels_printed,
                "labels_fed": self.labels_fed, "gap_calibrations": self.gap_calibrations,
                "self_tests": self.self_tests}

    def on_printed(self, job: SimJob) -> None:
        for _, height, _, quantity in _labels(job.data, self.dpi):  # no PNGs needed
            self.labels_printed += quantity
            self.printed_dots += quantity * height
        for line in _command_lines(job.data):
            if line == b"GAPDETECT":
                self.gap_calibrations += 1
                self.labels_fed += GAP_DETECT_FEED
            elif line == b"SELFTEST":
                self.self_tests += 1
                self.labels_printed += 1

    def mileage(self) -> bytes:
        """`~!@`: metres printed, one decimal, then CR (this simulator's format, see above)."""
        return b"%.1f\r" % (self.printed_dots / self.dpi * 0.0254)

    def render(self, job: SimJob) -> list[bytes]:
        return render_labels(job.data, self.dpi)


def render_labels(data: bytes, dpi: int) -> list[bytes]:
    """PNG images of the labels a TSPL stream prints: one per PRINT command."""
    return [mono_png(width, height, rows) for width, height, rows, _ in _labels(data, dpi)]


def _labels(data: bytes, dpi: int) -> Iterator[tuple[int, int, bytes, int]]:
    """(width, height, packed rows, labels printed) of each PRINT: `PRINT m,n` prints the
    image m x n times (m sets of n copies; both 1 when absent)."""
    image = np.zeros((0, 0), dtype=bool)  # True = black
    i = 0
    while i < len(data):
        head = _BITMAP_HEAD.match(data, i)
        if head is not None:
            x, y, wb, h, mode = (int(v) for v in head.groups())
            payload = data[head.end():head.end() + wb * h]
            if len(payload) == wb * h and image.size:
                _draw(image, x, y, wb, h, mode, payload)
            i = head.end() + wb * h
            continue
        eol = data.find(b"\n", i)
        line = data[i:eol if eol >= 0 else len(data)].strip()
        i = eol + 1 if eol >= 0 else len(data)
        size = _SIZE.match(line)
        if size is not None:
            image = np.zeros((_dots(size.group(3), size.group(4), dpi),
                              _dots(size.group(1), size.group(2), dpi)), dtype=bool)
        elif line.upper() == b"CLS":
            image[:] = False
        elif (printing := _PRINT.match(line)) is not None and image.size:
            height, width = image.shape
            sets, copies = (int(n) if n else 1 for n in printing.groups())
            yield width, height, np.packbits(image, axis=1).tobytes(), sets * copies


def _command_lines(data: bytes) -> Iterator[bytes]:
    """Each command line, stripped and upper-cased; BITMAP payloads are skipped by their
    announced length, so image bytes never read as a command."""
    i = 0
    while i < len(data):
        head = _BITMAP_HEAD.match(data, i)
        if head is not None:
            i = head.end() + int(head.group(3)) * int(head.group(4))
            continue
        eol = data.find(b"\n", i)
        yield data[i:eol if eol >= 0 else len(data)].strip().upper()
        i = eol + 1 if eol >= 0 else len(data)


def _dots(value: bytes, mm: bytes | None, dpi: int) -> int:
    inches = float(value) / 25.4 if mm else float(value)
    return max(1, min(MAX_DOTS, round(inches * dpi)))


def _draw(image: np.ndarray, x: int, y: int, wb: int, h: int, mode: int,
          payload: bytes) -> None:
    """Put a BITMAP (bit 0 = black) onto the label, clipped to it."""
    black = np.unpackbits(np.frombuffer(payload, dtype=np.uint8).reshape(h, wb), axis=1) == 0
    height, width = image.shape
    black = black[:max(0, height - y), :max(0, width - x)]
    area = image[y:y + black.shape[0], x:x + black.shape[1]]
    if mode == 0:
        area[:] = black
    elif mode == 1:
        area |= black
    elif mode == 2:
        area ^= black


SPEC = SimulatorSpec(
    name="tspl",
    language="tspl",
    description="TSC TTP-245C-class label printer (203 dpi) speaking TSPL: <ESC>!? status, "
                "~!@ mileage, SIZE/CLS/BITMAP/PRINT rendered",
    faults=spec_faults(TsplDevice),
    factory=TsplDevice,
)
