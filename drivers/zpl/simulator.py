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
  fault), `~JR` clears the buffer and the pause.

`~` commands are acted on wherever they appear, even inside `^XA..^XZ`, like the printer does;
they are case-insensitive. The bytes of the commands above are removed from the job data;
every other byte, including other `~` commands (`~DG`, `~SD`, unanswered `~HQxx`), is job data.

Simplifications: `~JA` cancels jobs already recorded, not formats of connections still open;
the prefix characters are fixed (`^CC`/`~CT` are not followed); a format counts `^PQ`'s first
parameter as its number of labels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from labeld.contracts import SimulatorSpec
from labeld.simulator import Device, FaultSpec, Session, SimJob, spec_faults

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


def count_labels(data: bytes) -> tuple[int, int]:
    """(formats, labels) in ZPL job data: each whole ^XA..^XZ is one format of ^PQ labels."""
    formats = labels = 0
    for body in _FORMAT.findall(data):
        formats += 1
        quantity = _QUANTITY.search(body)
        labels += max(1, int(quantity.group(1))) if quantity else 1
    return formats, labels


def _frame(text: str) -> bytes:
    return b"\x02" + text.encode("ascii") + b"\x03\r\n"


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
        while True:
            j = buf.find(b"~", i)
            # Track formats before acting on the command: ~HS reports what preceded it.
            segment = buf[i:] if j < 0 else buf[i:j]
            self._track(segment)
            data += segment
            if j < 0:
                break
            name = buf[j + 1:j + 3].upper()
            if len(name) < 2 or (name == b"HQ" and len(buf) < j + 5):
                self._held = buf[j:]
                break
            if name == b"HQ" and buf[j + 3:j + 5].upper() == b"ES":
                reply += self.device.command(b"HQES")
                i = j + 5
            elif name in self._SIMPLE:
                reply += self.device.command(name)
                i = j + 3
            else:
                self._track(b"~")
                data += b"~"
                i = j + 1
        return bytes(reply), bytes(data)

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
        # Line ends around a status query (`~HS\r\n`) are not a job.
        return bool(data.strip())


@dataclass(frozen=True)
class ZplIdentity:
    model: str = "ZD421-203dpi"
    firmware: str = "V93.21.26Z"
    dpmm: int = 8
    memory: str = "8192KB"
    options: str = ""


class ZplDevice(Device):
    """A Zebra on port 9100. Options: model, firmware, dpmm, memory, options (the ~HI fields)
    and silent_when_faulted (start with that fault set)."""

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
    )

    def __init__(self, *, model: str = ZplIdentity.model, firmware: str = ZplIdentity.firmware,
                 dpmm: int = ZplIdentity.dpmm, memory: str = ZplIdentity.memory,
                 options: str = ZplIdentity.options, silent_when_faulted: bool = False):
        super().__init__()
        self.identity = ZplIdentity(model, firmware, dpmm, memory, options)
        self.sessions: set[ZplSession] = set()
        self.labels_printed = 0
        self.formats_printed = 0
        if silent_when_faulted:
            self.faults["silent-when-faulted"] = True

    def new_session(self) -> ZplSession:
        session = ZplSession(self)
        self.sessions.add(session)
        return session

    def counters(self) -> dict[str, int]:
        return {**super().counters(), "labels_printed": self.labels_printed,
                "formats_printed": self.formats_printed}

    def on_printed(self, job: SimJob) -> None:
        formats, labels = count_labels(job.data)
        self.formats_printed += formats
        self.labels_printed += labels

    # -- commands

    def command(self, name: bytes) -> bytes:
        """Act on `~<name>`; return the reply bytes (maybe none)."""
        if name == b"HS":
            if self.has("silent-when-faulted") and any(map(self.has, _MUTE_STATES)):
                return b""
            return self.host_status()
        if name == b"HQES":
            return self.error_status()
        if name == b"HI":
            return self.host_identification()
        if name == b"JA":
            self.cancel_buffered()
        elif name == b"PP":
            self.set_fault("paused")
        elif name == b"PS":
            self.clear_fault("paused")
        elif name == b"JR":
            self.cancel_buffered()
            self.clear_fault("paused")
        return b""

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
        string1 = (f"030,{flag('paper-out')},{flag('paused')},1245,"
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
    description="Zebra ZD421 (203 dpi) speaking ZPL II: ~HS, ~HQES, ~HI, ~JA, ~PP/~PS, ~JR",
    faults=spec_faults(ZplDevice),
    factory=ZplDevice,
)
