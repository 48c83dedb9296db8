"""The small set of types that the core, the drivers and the plugins agree on.

Everything a plugin hands to the core (transports, languages, models, simulators) is described
here, so that a plugin author reads one file to learn what to implement.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

from labeld.errors import Invalid


class Outcome(StrEnum):
    """What a delivery attempt concluded, like a CUPS backend's exit code."""

    OK = "ok"  # the bytes reached the printer
    RETRY = "retry"  # a passing fault (connection refused, timeout): try again later
    HOLD = "hold"  # the printer needs a person (paper out, head open): keep the job, wait
    ABORT = "abort"  # the job itself is wrong and will never print: give up on it


class Severity(StrEnum):
    ERROR = "error"  # the printer cannot print
    WARNING = "warning"  # it prints, but someone should act soon
    REPORT = "report"  # for information only


@dataclass(frozen=True)
class Reason:
    """One thing that is wrong (or worth saying) about a printer.

    `keyword` is the IPP printer-state-reasons keyword where one exists (`media-empty`,
    `cover-open`, ...), else `other`. `code` is labeld's own finer name (`head-open`,
    `ribbon-out`, `no-status-reply`); the human messages in both languages are looked up by
    `code` in labeld.reasons, so a language driver only says *what* it decoded.
    """

    keyword: str
    code: str
    severity: Severity


@dataclass
class StatusReport:
    """A decoded status reply. `answered` is False when the printer said nothing."""

    answered: bool
    reasons: list[Reason] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)  # decoded raw fields, for technicians
    reply: bytes = b""
    # Jobs the printer holds but has not printed yet (ZPL: formats in the receive buffer), where
    # the language reports it; None when it cannot tell. Delivery is confirmed only at 0.
    jobs_in_printer: int | None = None

    @property
    def ok(self) -> bool:
        return self.answered and not any(r.severity is Severity.ERROR for r in self.reasons)


class TransportError(Exception):
    """A transport could not do its part. `retryable` says whether trying later can help."""

    def __init__(self, code: str, message: str, *, retryable: bool = True, sent: int = 0):
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.sent = sent  # bytes known to have left before the failure


@dataclass(frozen=True)
class Timeouts:
    connect: float = 3.0
    write: float = 10.0
    read: float = 2.0


class Transport(abc.ABC):
    """A byte pipe to one printer, opened per job or per status query.

    Implementations register by URI scheme (`socket`, `usb`, `serial`, `file`, `cups`).
    All methods raise TransportError on failure, never a bare OSError.
    """

    scheme: ClassVar[str]

    def __init__(self, uri: str, timeouts: Timeouts):
        self.uri = uri
        self.timeouts = timeouts

    @abc.abstractmethod
    async def open(self) -> None: ...

    @abc.abstractmethod
    async def write(self, data: bytes) -> None:
        """Write all of `data` or raise TransportError(sent=bytes_written)."""

    async def finish(self) -> bool:
        """End the job and wait, up to the write timeout, until the printer has taken it all.

        Returns True when every byte is known to have left for the device (a closed TCP
        connection, a finished USB bulk write, a drained serial line, a written file), False
        when the printer kept the connection open without showing that it read the job, so the
        bytes may still sit unread in a buffer. Raises TransportError when the printer dropped
        the job."""
        return True

    @abc.abstractmethod
    async def read_until(self, complete: Callable[[bytes], bool], timeout: float) -> bytes:
        """Read until `complete(buffer)` is true or `timeout` passes; return what arrived."""

    @property
    def can_answer(self) -> bool:
        """Whether the printer can reply on this link once it is open. Where it cannot (a
        print-only USB interface, a file), no query is written: it would only become job
        data."""
        return True

    async def line_status(self) -> StatusReport | None:
        """What the link itself knows of a printer that cannot answer (a print-only USB
        interface still answers GET_PORT_STATUS); None when it knows nothing."""
        return None

    @abc.abstractmethod
    async def close(self) -> None: ...

    @classmethod
    def validate_uri(cls, uri: str) -> None:
        """Raise ValueError with a plain reason if `uri` is not usable by this transport."""

    async def __aenter__(self) -> Transport:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


@dataclass(frozen=True)
class Raster:
    """One page of 1-bit pixels at the printer's resolution: what render hands to a language.

    `rows` holds ceil(width / 8) bytes per row, top row first, most significant bit = left-most
    dot, 1 = black (printed). Padding bits past `width` are always 0, so no encoder can print a
    black stripe on the right edge.

    `ink`, when known, is a box (left, top, right, bottom; right and bottom exclusive) outside of
    which no dot is black: the renderer knows it from what it placed, so an encoder can skip
    blank paper without scanning the page. None means unknown; it takes no part in equality.
    """

    width: int
    height: int
    rows: bytes
    dpi: int
    ink: tuple[int, int, int, int] | None = field(default=None, compare=False)

    @property
    def row_bytes(self) -> int:
        return (self.width + 7) // 8

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0 or len(self.rows) != self.row_bytes * self.height:
            raise ValueError(f"raster {self.width}x{self.height} needs"
                             f" {self.row_bytes * self.height} bytes, got {len(self.rows)}")


@dataclass(frozen=True)
class PrintOptions:
    """How a raster job is put on media: copies, and what happens after each page."""

    copies: int = 1
    cut: bool = True  # receipts: cut after the job where the model has a cutter
    feed_dots: int = 0  # extra feed after the image, before the cut


# -- roles -----------------------------------------------------------------------------------
# Who a caller is, as far as labeld cares: a raw-command rule names the lowest role that may send
# its command, and every front door checks a caller's role. Roles are hierarchical: an admin may
# do everything a technician may, a technician everything shop staff may, shop staff everything
# a point-of-sale client may. The order is explicit (`rank`), not the alphabetical order a
# StrEnum would otherwise compare by.


class Role(StrEnum):
    POS = "pos"      # point-of-sale software: submit jobs, read jobs
    # shop staff, alone outside support hours: + printers and their guides, release and cancel
    # held jobs, self-test, the maintenance actions a model marks safe for staff
    STAFF = "staff"
    TECH = "tech"    # support technician: + events, pause/resume, retry, reprint, every action
    ADMIN = "admin"  # + templates, plugin settings, printer-configuration raw jobs, tokens

    @property
    def rank(self) -> int:
        return _RANK[self]

    def covers(self, needed: Role) -> bool:
        """True when this role may do what `needed` may (admin covers tech covers pos)."""
        return self.rank >= needed.rank

    # str's comparison would order roles alphabetically ("admin" < "pos"); compare by rank.
    # (Only ordering is overridden: equality and hashing stay str's, so "pos" == Role.POS.)
    def __lt__(self, other: object) -> bool:
        return self.rank < other.rank if isinstance(other, Role) else NotImplemented

    def __le__(self, other: object) -> bool:
        return self.rank <= other.rank if isinstance(other, Role) else NotImplemented

    def __gt__(self, other: object) -> bool:
        return self.rank > other.rank if isinstance(other, Role) else NotImplemented

    def __ge__(self, other: object) -> bool:
        return self.rank >= other.rank if isinstance(other, Role) else NotImplemented

    @classmethod
    def parse(cls, value: str) -> Role:
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise Invalid("unknown-role", f"There is no role {value!r}.",
                          f"Roles: {', '.join(r.value for r in cls)}.") from None


_RANK = {Role.POS: 0, Role.STAFF: 1, Role.TECH: 2, Role.ADMIN: 3}


# -- raw-command policy ----------------------------------------------------------------------
# A raw job reaches the printer as it is, and printers obey commands wherever they appear. Only
# the language knows its commands, so each Language brings its RawPolicy: rules as data (served
# at GET /v1/policy/{language}) and a scanner that finds them in bytes. labeld.intake.policy
# is the engine that applies a policy to a job and a token's role (check_raw).


@dataclass(frozen=True)
class Rule:
    """One command that only some roles may put in a raw job.

    `min_role` is the lowest `Role` that may send it (pos < tech < admin); None means nobody,
    not even an admin. A language subclasses Rule to carry what its scanner needs (the command's
    bytes, a parameter value...) and may add columns to `row()`."""

    command: str  # as the language's manual writes it: "^JU", "GS ( E", "SET"
    why: str  # what it does to the printer: shown in the 403 and in GET /v1/policy
    min_role: Role | None

    def allows(self, role: Role) -> bool:
        """True when `role` may send this command."""
        return self.min_role is not None and role.covers(self.min_role)

    def row(self) -> dict[str, Any]:
        """The rule as GET /v1/policy/{language} lists it."""
        return {"command": self.command, "why": self.why,
                "min_role": self.min_role.value if self.min_role else None}


@dataclass(frozen=True)
class Finding:
    """Something a scanner found in a raw job: a rule's command, or the job ending inside one."""

    command: str  # the rule's name, or what the job ends inside of
    written: str  # what the job holds there, printable (see labeld.langkit.printable)
    offset: int  # byte offset in the scanned bytes
    why: str
    min_role: Role | None
    # The job ends inside this command: the printer would read the next job's (or copy's) first
    # bytes as its rest. Refused to every role as `incomplete-command` (min_role None): the next
    # job may be another client's, and a cut command would let it complete what it may not send.
    incomplete: bool = False

    @classmethod
    def cut(cls, command: str, written: str, offset: int, why: str) -> Finding:
        """The job ends inside `command`."""
        return cls(command, written, offset, why, None, incomplete=True)

    def allows(self, role: Role) -> bool:
        return not self.incomplete and self.min_role is not None and role.covers(self.min_role)


class RawPolicy(abc.ABC):
    """Which of a language's commands a raw job may carry, by role. What a plugin implements:

    * `rules`: every command the policy restricts, as data (the API serves them);
    * `boundary_hint`: how to send whole commands, the hint of a 403 `incomplete-command`;
    * `scan(data)`: yield a Finding for every rule's command in `data`, wherever the printer
      would act on it, and `Finding.cut(...)` where `data` ends inside a command (the printer
      would take the next job's first bytes as its rest). Skip only bytes the printer surely
      reads as data (an image of a declared size); when unsure, find more, never less.

    The engine refuses a job on any finding the token's role does not reach, and reads two
    copies joined by `Language.raw_job`, so a scanner sees commands split across copies."""

    rules: tuple[Rule, ...]
    boundary_hint: str

    @abc.abstractmethod
    def scan(self, data: bytes, role: Role | None = None) -> Iterator[Finding]:
        """Findings in `data`, in any order. With `role`, findings of rules that role may send
        can be left out (a speed-up only: the engine ignores them anyway)."""


@dataclass(frozen=True)
class RawWarning:
    """Something in a raw job that its printer would take but misprint (ZPL's UTF-8 text without
    `^CI28`, another language's commands). The job is still accepted and sent as it is; the
    warning travels with it (the 202 answer, the job) so the sender can fix its next jobs.
    `code` is stable (`zpl-utf8-without-ci28`), `message` says what and where, `hint` what to
    change; English, like the API's error messages."""

    code: str
    message: str
    hint: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "hint": self.hint}


# -- receipts as text ------------------------------------------------------------------------
# A receipt is laid out by labeld in character cells (labeld.intake.render.receipt: wrapping,
# columns, separators) and handed to the printer's language as lines: a language that prints
# text from its own fonts (ESC/POS) encodes them as text commands, with the right code page;
# the others print the same layout as a raster. Both, and the preview, use one grid of cells.

ReceiptAlign = Literal["left", "center", "right"]


@dataclass(frozen=True)
class TextStyle:
    bold: bool = False
    underline: bool = False
    double_width: bool = False
    double_height: bool = False
    inverse: bool = False


@dataclass(frozen=True)
class ReceiptText:
    """One printed line of text: at most `columns` cells (`columns // 2` when double width),
    already wrapped and padded by the layout; `align` places it the way the printer does
    (`ESC a`: by dots, within the print width)."""

    text: str
    style: TextStyle = TextStyle()
    align: ReceiptAlign = "left"


@dataclass(frozen=True)
class ReceiptBarcode:
    """A 1D barcode (`symbology` as labeld's label documents name it: code128, ean13, ...)."""

    symbology: str
    data: str
    height_dots: int
    module_dots: int
    human_readable: bool = True
    align: ReceiptAlign = "center"


@dataclass(frozen=True)
class ReceiptQr:
    data: str
    module_dots: int
    ecc: Literal["L", "M", "Q", "H"] = "M"
    align: ReceiptAlign = "center"


@dataclass(frozen=True)
class ReceiptImage:
    """A logo or picture, already dithered to dots and no wider than the paper."""

    raster: Raster
    align: ReceiptAlign = "center"


@dataclass(frozen=True)
class ReceiptFeed:
    lines: int


@dataclass(frozen=True)
class ReceiptCut:
    partial: bool = True


@dataclass(frozen=True)
class ReceiptDrawer:
    """Kick the cash drawer on connector pin 2 or 5."""

    pin: Literal[2, 5] = 2


ReceiptLine = (ReceiptText | ReceiptBarcode | ReceiptQr | ReceiptImage | ReceiptFeed | ReceiptCut
               | ReceiptDrawer)


@dataclass(frozen=True)
class CodePage:
    """A character table a printer selects by number (ESC/POS `ESC t n`): `name` as
    python-escpos's capability database names it (CP852, CP1250), `encoding` the Python codec
    that maps characters to its bytes."""

    table: int
    name: str
    encoding: str


@dataclass(frozen=True)
class TextProfile:
    """What a receipt printer prints from its own fonts: its code pages, Font A's cell size
    and characters per line, its cutter, its native barcodes and QR. `source` names where the
    data came from (`python-escpos:TM-T88V`) and `notes` every override labeld applied."""

    source: str
    code_pages: tuple[CodePage, ...]
    columns: int
    cell_width: int  # dots
    cell_height: int  # dots
    barcodes: frozenset[str] = frozenset()  # labeld symbology names printed natively
    qr: bool = False
    full_cut: bool = True
    partial_cut: bool = True
    drawer: bool = True
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Receipt:
    """A laid-out receipt: its lines, top to bottom, on a grid of `columns` cells of
    `cell_width` x `cell_height` dots, on paper `width` dots wide at `dpi`."""

    lines: tuple[ReceiptLine, ...]
    columns: int
    cell_width: int
    cell_height: int
    width: int
    dpi: int


class Language(abc.ABC):
    """A printer language: turns payloads into bytes and reads the printer's status replies."""

    name: ClassVar[str]
    # Which commands a raw job in this language may carry, by role (see RawPolicy). None: raw
    # jobs cannot be checked, so only an admin may send them.
    policy: RawPolicy | None = None

    def sanitize_text(self, text: str) -> bytes:
        """A client's text (a price, a name) as bytes this language prints as text and never
        reads as a command, for the place the language puts text (its driver says where: a
        field, a quoted string, a line). Raises NotImplementedError if the language has none."""
        raise NotImplementedError(f"{self.name} has no text sanitizer")

    def raw_job(self, data: bytes, copies: int) -> bytes:
        """The bytes to send for a raw (pass-through) job."""
        return data * copies

    def looks_like(self, data: bytes) -> bool:
        """Whether raw bytes look written in this language (ZPL `^XA`, ESC/POS `ESC @`, TSPL
        `SIZE`/`PRINT` lines). A raw job its own printer's language does not recognise but
        another language does gets a `language-mismatch` warning. Look only for what is
        distinctive; False when unsure (the default): it only decides a warning."""
        return False

    def raw_warnings(self, data: bytes) -> list[RawWarning]:
        """What in a raw job in this language its printers would misprint (ZPL: non-ASCII UTF-8
        field data without `^CI28`). The job is accepted anyway; these go with it. Default:
        none. Must be quick and never raise on odd bytes."""
        return []

    @abc.abstractmethod
    def status_query(self) -> bytes:
        """Bytes that ask the printer for its status."""

    @abc.abstractmethod
    def status_complete(self, reply: bytes) -> bool:
        """True once `reply` holds a whole answer to status_query()."""

    def identify_query(self) -> bytes | None:
        """Bytes asking the printer who it is (model, firmware), or None if the language has no
        such query."""
        return None

    def identify_complete(self, reply: bytes) -> bool:
        return bool(reply)

    def decode_identity(self, reply: bytes) -> dict[str, Any]:
        """Model, firmware, dpi... as far as the reply tells; `{}` for an empty reply."""
        return {}

    def config_query(self) -> bytes | None:
        """Bytes asking for the printer's configuration (ZPL `^HH`, ESC/POS automatic status),
        or None. The reply is read until `config_complete` or a short idle timeout."""
        return None

    def config_complete(self, reply: bytes) -> bool:
        return False

    def decode_config(self, reply: bytes) -> dict[str, Any]:
        return {}

    def counter_query(self) -> bytes | None:
        """Bytes asking for the printer's lifetime label counter (ZPL SGD
        `odometer.total_label_count`), or None when the language has no counter of printed
        labels. A counter that advanced by a job's labels is the strongest evidence that the job
        printed; the scheduler reads it before and after each job."""
        return None

    def counter_complete(self, reply: bytes) -> bool:
        return bool(reply)

    def decode_counter(self, reply: bytes) -> int | None:
        """The counter's value, or None for an empty or unreadable reply."""
        return None

    def labels_in_raw(self, data: bytes) -> int | None:
        """How many labels one copy of raw job `data` prints (how far the counter moves), or
        None when the language cannot tell from the bytes."""
        return None

    def encode_raster(self, pages: list[Raster], model: Model, options: PrintOptions) -> bytes:
        """The bytes that print `pages` (rendered at the model's dpi) on this language's
        printers."""
        raise NotImplementedError(f"{self.name} cannot print raster images yet")

    def encode_receipt(self, receipt: Receipt, model: Model,
                       draw: Callable[[ReceiptLine], Raster]) -> bytes:
        """The bytes that print `receipt` as text from the printer's own fonts. `draw(line)`
        renders a line as a raster exactly as the preview shows it: for what the printer
        cannot print itself (a character no code page holds, a barcode it lacks); it raises
        `Invalid` for what nothing can print. NotImplementedError (the default): the language
        has no text route, and labeld prints the receipt's raster with `encode_raster`."""
        raise NotImplementedError(f"{self.name} prints receipts as raster images")

    def test_page(self, printer_id: str, model: Model) -> bytes:
        """A short page in this language that names the printer; used by `labeld demo`."""
        raise NotImplementedError

    @abc.abstractmethod
    def decode_status(self, reply: bytes) -> StatusReport:
        """Decode a (possibly empty or partial) reply. Never raises on bad bytes: a garbled
        reply is a StatusReport with a `garbled-status-reply` reason."""


@dataclass(frozen=True)
class Model:
    """What labeld knows about one printer model; provided by plugins."""

    id: str
    name: str
    language: str
    dpi: int
    print_width_dots: int
    # A label printer or a receipt printer (the API shows it as the printer's "kind").
    printer_type: Literal["label", "receipt"] = "label"
    cutter: bool = False
    ribbon: bool = False
    # What to do on restart with a job that may have reached the printer before a crash:
    # labels are cheap to print twice, a receipt printed twice is worse than a lost one.
    crash_policy: Literal["retry", "hold"] = "retry"
    usb_ids: tuple[tuple[int, int], ...] = ()
    # Receipt printers that print text from their own fonts: code pages, cells, features.
    text: TextProfile | None = None


@dataclass(frozen=True)
class FoundDevice:
    """A printer found on one of this machine's buses: the URI that reaches it, a description
    for people, and the id of a known model whose identity (USB ids) it matches, if one does."""

    uri: str
    description: str
    model: str | None = None
    details: dict[str, Any] = field(default_factory=dict, compare=False)


class SimulatedSession(Protocol):
    """The parser of one TCP connection to a simulated printer (what `new_session` makes):
    incremental, since a command may be split across any two reads."""

    def feed(self, chunk: bytes) -> tuple[bytes, bytes]:
        """Consume received bytes; return (reply to send now, bytes that belong to the job)."""
        ...

    def finish(self) -> bytes:
        """The connection ended: return held-back bytes that turned out to be job data."""
        ...

    def is_job(self, data: bytes) -> bool:
        """Whether the connection's job data amounts to a print job at all."""
        ...

    def state_changed(self) -> bytes:
        """The device state changed: return unsolicited bytes to send (ESC/POS ASB)."""
        ...


class SimulatedDevice(Protocol):
    """What a SimulatorSpec's factory makes: the language-specific printer behind a simulator,
    as the plugin writes it. Subclass `labeld.sim.Device`, which has the rest the engine needs
    (the job buffer, fault bookkeeping, listeners; the engine refuses anything else) and
    `Session` for the connections."""

    def new_session(self) -> SimulatedSession:
        """The parser for a new connection."""
        ...

    def counters(self) -> dict[str, int]:
        """Odometers and the like, reported by the control port's GET /state."""
        ...


@dataclass(frozen=True)
class SimulatorSpec:
    """A virtual printer that `labeld simulate NAME` can start."""

    name: str
    language: str
    description: str
    faults: tuple[str, ...]
    factory: Callable[..., SimulatedDevice]  # (**options): the simulated printer's device


@dataclass(frozen=True)
class Template:
    """A stored label document with `{{ field }}` placeholders; jobs name it and give the data."""

    name: str
    document: dict[str, Any]
    description: str = ""
    # Data that fills every placeholder: the console's test-label form starts from it.
    sample: dict[str, Any] = field(default_factory=dict)


CheckStatus = Literal["ok", "warn", "fail", "skip"]


@dataclass(frozen=True)
class CheckResult:
    """What one self-test check found: `status`, a plain `detail`, a `hint` for the person at
    the printer (when there is something to do) and `data` for the support bundle."""

    status: CheckStatus
    detail: str
    hint: str = ""
    data: dict[str, Any] | None = None


class PrinterUnderTest(Protocol):
    """What a self-test check may use of the configured printer it checks: who it is, its
    model and language, the status timeout, and `ask`, the printer's back channel."""

    @property
    def id(self) -> str: ...

    @property
    def model(self) -> Model: ...

    @property
    def language(self) -> Language: ...

    @property
    def status_timeout(self) -> float:
        """Seconds a question to the printer may take."""
        ...

    async def ask(self, query: bytes, complete: Callable[[bytes], bool], timeout: float) -> bytes:
        """Send `query` on a connection of its own and read the reply until `complete(reply)`
        or `timeout`; the reply as far as it came (empty on a link that cannot answer). Raises
        TransportError when the printer cannot be reached."""
        ...


@dataclass(frozen=True)
class SelfTestCheck:
    """An extra self-test check a model plugin adds for its models (empty `models`: all).

    `run(printer)` asks the configured printer (a `PrinterUnderTest`) and returns a
    CheckResult; it is bounded by the status timeout like every built-in check."""

    name: str
    run: Callable[[PrinterUnderTest], Awaitable[CheckResult]]
    models: tuple[str, ...] = ()


# -- guided fixes and maintenance actions ------------------------------------------------------
# What a person standing at the printer can do alone (outside support hours): follow a guide for
# the fault the printer reports, or run one of the few safe operations its model declares. Both
# come from plugins; the words are `str`s that say themselves in any language (write them with
# `labeld.i18n.N_`, so that `pybabel extract` finds them and the reader's language is used).

GuideCheck = Literal["status", "queue", "none"]


@dataclass(frozen=True)
class Guide:
    """Step-by-step help for one code (a printer's reason, a job's warning or error), for
    someone at the printer. The most specific guide for a printer wins: one naming its model,
    then one for its language (the family's default), then one for every printer.

    `check` is what "did it work?" does: `status` asks the printer again and the fault is fixed
    when its code is gone; `queue` is fixed when the printer has no held job left; `none`
    cannot be checked from here (a setting in the till's software)."""

    code: str
    steps: tuple[str, ...]
    # what the person should see when the steps are done ("the green light is steady")
    expect: str = ""
    check: GuideCheck = "status"
    # an SVG shipped in the plugin's package: where the latch, the sensor or the button is
    drawing: Path | None = None
    language: str | None = None
    models: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActionParam:
    """The one number an action may take (darkness), bounded to a range that is safe for the
    model: the daemon refuses a value outside it before anything is sent."""

    name: str
    minimum: int
    maximum: int
    default: int
    label: str = ""  # what a person reads beside the field ("Darkness (0-30)")


@dataclass(frozen=True)
class MaintenanceAction:
    """A safe, rarely used operation a model supports (calibrate, print the configuration
    label, feed, set darkness, empty the printer's buffer). The daemon runs it through the
    printer's queue, never in the middle of a job, records it in the audit and the printer's
    events, and refuses any action a plugin did not declare for that printer.

    `command(value)` gives the bytes to send (`value` is the param's, or None without one). The
    bytes go to the printer as they are: they do not pass the raw-command policy, which is why
    only plugins declare actions and a caller can only name one."""

    id: str
    title: str
    explanation: str
    role: Role
    command: Callable[[int | None], bytes]
    language: str
    # it uses media: prints something or feeds labels (the console says so before it runs)
    prints: bool = False
    param: ActionParam | None = None
    models: tuple[str, ...] = ()
