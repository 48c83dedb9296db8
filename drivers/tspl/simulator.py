"""A simulated TSC label printer speaking TSPL (`labeld simulate tspl`).

It answers `<ESC>!?` with the one status byte of reference 3, from its faults, at any point of
the stream and in any state, as the real printers do; everything else is the job. Jobs are
rendered as a TSC would print them: `SIZE` (mm or inches) and the printer's dpi give the label,
`CLS` clears it, `BITMAP x,y,width_bytes,height,mode,<binary>` draws with **0 = black** in
mode 0 (overwrite), 1 (OR) or 2 (XOR), and each `PRINT` prints the image as it stands. The
binary payload of BITMAP is taken whole by its announced length, so bytes in it that happen to
read `ESC ! ?` are image, not a query.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

import numpy as np

from labeld.contracts import SimulatorSpec
from labeld.drivers.tspl.language import STATUS_BITS, STATUS_QUERY
from labeld.simulator import Device, FaultSpec, Session, SimJob, mono_png, spec_faults

_FAULT_BITS = {"head-open": 0x01, "paper-jam": 0x02, "paper-out": 0x04, "ribbon-out": 0x08,
               "paused": 0x10, "cover-open": 0x40, "temperature-out-of-range": 0x80}
assert set(_FAULT_BITS.values()) | {0x20} == {mask for mask, _ in STATUS_BITS}

_BITMAP_HEAD = re.compile(rb"BITMAP\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,",
                          re.IGNORECASE)
_SIZE = re.compile(rb"SIZE\s*([\d.]+)\s*(mm)?\s*,\s*([\d.]+)\s*(mm)?", re.IGNORECASE)
_PRINT = re.compile(rb"PRINT\b", re.IGNORECASE)
MAX_DOTS = 16_000  # SIZE and BITMAP are clamped here: a guard, not a printer limit


def _maybe_bitmap(rest: bytes) -> bool:
    """The start of a BITMAP command whose header (five numbers and commas) is not whole yet."""
    head = rest[:6].upper()
    if not b"BITMAP".startswith(head):
        return False
    return len(rest) < 6 or (b"\n" not in rest and rest.count(b",") < 5)


def _query_prefix_at_end(buf: bytes, start: int) -> int:
    """How many bytes at the end of buf[start:] could begin an `<ESC>!?` cut by the read."""
    for n in range(len(STATUS_QUERY) - 1, 0, -1):
        if len(buf) - start >= n and buf.endswith(STATUS_QUERY[:n]):
            return n
    return 0


class TsplSession(Session):
    """One connection: `<ESC>!?` answered wherever it stands between commands; BITMAP payloads
    consumed by length so that image bytes are never read as commands."""

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
            if _maybe_bitmap(rest) or STATUS_QUERY.startswith(rest):
                self._held = rest  # a header or a query cut by the end of this read
                break
            # up to the end of this line, or to a query, whichever comes first
            stops = [n for n in (buf.find(b"\n", i) + 1, buf.find(STATUS_QUERY, i)) if n > i]
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

    def new_session(self) -> TsplSession:
        return TsplSession(self)

    def status_byte(self) -> int:
        value = 0
        for name, bit in _FAULT_BITS.items():
            if self.has(name):
                value |= bit
        return value  # bit 5, printing, stays 0: the simulator prints at once

    def counters(self) -> dict[str, int]:
        return {**super().counters(), "labels_printed": self.labels_printed}

    def on_printed(self, job: SimJob) -> None:
        self.labels_printed += sum(1 for _ in _labels(job.data, self.dpi))  # no PNGs needed

    def render(self, job: SimJob) -> list[bytes]:
        return render_labels(job.data, self.dpi)


def render_labels(data: bytes, dpi: int) -> list[bytes]:
    """PNG images of the labels a TSPL stream prints: one per PRINT command."""
    return [mono_png(width, height, rows) for width, height, rows in _labels(data, dpi)]


def _labels(data: bytes, dpi: int) -> Iterator[tuple[int, int, bytes]]:
    """(width, height, packed rows) of each label the stream prints, at PRINT."""
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
        elif _PRINT.match(line) and image.size:
            height, width = image.shape
            yield width, height, np.packbits(image, axis=1).tobytes()


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
                "SIZE/CLS/BITMAP/PRINT rendered",
    faults=spec_faults(TsplDevice),
    factory=TsplDevice,
)
