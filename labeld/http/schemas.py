"""The HTTP API's pydantic edge: request bodies, and the models that describe every answer in
the OpenAPI document (/openapi.json, /docs, /redoc).

Inside, labeld works with dataclasses (`labeld.daemon.JobInput`); the JSON shapes of answers
are made in labeld.views and the daemon. The answer models here describe those shapes for a
POS developer reading /docs; they are documentation, declared on the routes with `documented`
(`response_model=None`: a route's answer is sent as the daemon shaped it, never filtered or
re-validated on the way out). tests/http/test_api_openapi.py holds real answers against them,
so the two cannot drift apart.

The label document (`LabelDocument`, its elements a union on `type`) is documentation too: a
job's `label` is still checked by the render layer (labeld.intake.render.label), which answers
422 with its own codes (`invalid-label`, `unknown-symbology`, `bad-check-digit`...); the schema
describes what it accepts and is never stricter.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator
from pydantic.json_schema import GetJsonSchemaHandler, JsonSchemaValue
from pydantic_core import core_schema

from labeld.store import JobState

# The roles as the API spells them, lowest first (labeld.contracts.Role; a test holds the two
# together, since a Literal must be written out for the OpenAPI document to list them).
RoleName = Literal["pos", "staff", "tech", "admin"]

MAX_RAW_CHARS = 16 * 1024 * 1024  # a raw job larger than this is not a label or a receipt

# Examples name no real installation: the API description is public and the same for every
# labeld (README, Security), so no printer, template or token of a shop appears in it.
EXAMPLE_PRINTER = "zebra-1"
EXAMPLE_JOB = "4f1c2a9be0d84c7f9d1e6b3a5c7d9e01"
EXAMPLE_TIME = "2026-03-14T09:26:53.589+00:00"
PNG_8X8 = ("iVBORw0KGgoAAAANSUhEUgAAAAgAAAAIAQAAAADsdIMmAAAAC0lEQVR42mNgQAUAABAAAaoZ+IIAAAAA"
           "SUVORK5CYII=")


class DocumentedAs:
    """`Annotated[T | None, DocumentedAs(Model)]`: the field is validated as T, and the OpenAPI
    document describes it as `Model` (or null). For input the render layer checks itself."""

    def __init__(self, model: type[BaseModel]):
        self.model = model

    def __get_pydantic_json_schema__(self, _: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        # nullable: the model is then a $ref to its own component, not copied inline
        return handler(core_schema.nullable_schema(self.model.__pydantic_core_schema__))


def _doc(description: str, examples: list[Any] | None = None) -> ConfigDict:
    extra: dict[str, Any] = {"description": description}
    if examples is not None:
        extra["examples"] = examples
    return ConfigDict(json_schema_extra=extra)


# -- the label document (documentation of what labeld.intake.render.label accepts) -------------

Mm = Annotated[float, Field(ge=0, le=2000, description="Millimetres from the label's top-left.")]
Size = Annotated[float, Field(gt=0, le=2000, description="Millimetres.")]
Rotation = Annotated[Literal[0, 90, 180, 270] | None,
                     Field(description="Clockwise degrees; x_mm/y_mm is the element's top-left "
                                       "after rotating. Default 0.")]


class TextElement(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "description": "A line of text, or a block with `max_width_mm` (`fit`: wrap or "
                       "shrink). Text under 6 dots high is refused (`too-small`).",
        "examples": [{"type": "text", "x_mm": 3, "y_mm": 3, "text": "Árvíztűrő tükörfúrógép",
                      "size_pt": 10, "bold": True}]})
    type: Literal["text"]
    x_mm: Mm
    y_mm: Mm
    text: str = Field(max_length=5000)
    size_pt: float | None = Field(default=None, gt=0, le=300, description="Default 10.")
    bold: bool | None = None
    font: str | None = Field(default=None, max_length=200,
                             description="A font file name in `server.font_dirs`; default "
                                         "DejaVu Sans (all of Latin-2). Unknown: "
                                         "`unknown-font`.")
    align: Literal["left", "center", "right"] | None = None
    max_width_mm: Size | None = None
    fit: Literal["wrap", "shrink"] | None = Field(default=None,
                                                  description="Needs max_width_mm. Default "
                                                              "wrap.")
    rotation: Rotation = None


class BarcodeElement(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "description": "A barcode, bars never resampled: `module_dots` whole dots per module. "
                       "A wrong EAN/UPC check digit is `bad-check-digit`, data the symbology "
                       "cannot hold `unencodable-data`; the quiet zone must fit on the label.",
        "examples": [{"type": "barcode", "symbology": "ean13", "data": "5901234123457",
                      "x_mm": 8, "y_mm": 12, "height_mm": 15, "module_dots": 2,
                      "human_readable": True},
                     {"type": "barcode", "symbology": "qr", "data": "https://example.com/p/123",
                      "x_mm": 40, "y_mm": 12, "module_dots": 4, "ecc": "M"}]})
    type: Literal["barcode"]
    x_mm: Mm = Field(description="The first bar; the quiet zone lies before it.")
    y_mm: Mm
    symbology: Literal["code128", "gs1-128", "ean13", "ean8", "upca", "code39", "itf14", "qr",
                       "datamatrix", "pdf417"] = Field(
        description="Anything else: `unknown-symbology`. gs1-128 takes application "
                    "identifiers in parentheses: `(01)05901234123457(10)ABC`.")
    data: str = Field(min_length=1, max_length=8000)
    height_mm: Size | None = Field(default=None,
                                   description="Linear codes only; default 15.")
    module_dots: int | None = Field(default=None, ge=1, le=40,
                                    description="Default about 0.25 mm (linear) or 0.5 mm (2D).")
    human_readable: bool | None = Field(default=None, description="Text under the bars.")
    ecc: Literal["L", "M", "Q", "H"] | Annotated[int, Field(ge=0, le=8)] | None = Field(
        default=None, description="qr: L, M (default), Q, H; pdf417: 0..8; no other symbology.")
    rotation: Rotation = None


class ImageElement(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "description": "A PNG or JPEG, scaled to `width_mm` and/or `height_mm` (both: fit "
                       "inside), dithered to 1 bit.",
        "examples": [{"type": "image", "data": PNG_8X8, "x_mm": 2, "y_mm": 30, "width_mm": 20,
                      "dither": "ordered"}]})
    type: Literal["image"]
    x_mm: Mm
    y_mm: Mm
    data: str = Field(description="The file, base64 (`invalid-image` otherwise).")
    width_mm: Size | None = None
    height_mm: Size | None = None
    dither: Literal["threshold", "ordered", "floyd-steinberg"] | None = Field(
        default=None, description="Default threshold.")
    rotation: Rotation = None


class BoxElement(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "description": "A rectangle's outline, drawn inwards from its outer edge.",
        "examples": [{"type": "box", "x_mm": 1, "y_mm": 1, "width_mm": 58, "height_mm": 38,
                      "thickness_mm": 0.5}]})
    type: Literal["box"]
    x_mm: Mm
    y_mm: Mm
    width_mm: Size
    height_mm: Size
    thickness_mm: Size | None = Field(default=None, description="Default 0.25.")
    rotation: Rotation = None


class LineElement(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "description": "A line from (x_mm, y_mm) to (x2_mm, y2_mm), drawn by a square pen "
                       "`thickness_mm` wide whose top-left corner runs along it. No rotation: "
                       "the end points say it all.",
        "examples": [{"type": "line", "x_mm": 1, "y_mm": 10, "x2_mm": 59, "y2_mm": 10,
                      "thickness_mm": 0.3}]})
    type: Literal["line"]
    x_mm: Mm
    y_mm: Mm
    x2_mm: Mm
    y2_mm: Mm
    thickness_mm: Size | None = Field(default=None, description="Default 0.25.")
    rotation: None = None


Element = Annotated[TextElement | BarcodeElement | ImageElement | BoxElement | LineElement,
                    Field(discriminator="type")]

LABEL_EXAMPLE: dict[str, Any] = {
    "width_mm": 60, "height_mm": 40,
    "elements": [
        {"type": "text", "x_mm": 3, "y_mm": 3, "text": "Árvíztűrő tükörfúrógép", "size_pt": 10,
         "bold": True},
        {"type": "barcode", "symbology": "ean13", "data": "5901234123457", "x_mm": 8,
         "y_mm": 12, "height_mm": 15, "module_dots": 2, "human_readable": True},
        {"type": "box", "x_mm": 1, "y_mm": 1, "width_mm": 58, "height_mm": 38,
         "thickness_mm": 0.5},
        {"type": "line", "x_mm": 1, "y_mm": 32, "x2_mm": 59, "y2_mm": 32, "thickness_mm": 0.3},
    ]}


class LabelDocument(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "description": "A label, rendered at the printer's dpi when the job is submitted: a bad "
                       "one is a 422 with a code (`invalid-label`, `bad-check-digit`, "
                       "`unencodable-data`, `does-not-fit`, `too-small`, `unknown-font`, "
                       "`image-too-large`, `dpi-mismatch`...), never a job. Sizes are "
                       "millimetres; at most 40 Mdots.",
        "examples": [LABEL_EXAMPLE]})
    width_mm: Size
    height_mm: Size
    dpi: int | None = Field(default=None, ge=72, le=1200,
                            description="Default: the printer's; another is `dpi-mismatch`.")
    elements: list[Element] | None = Field(default=None, max_length=500)


# -- request bodies ----------------------------------------------------------------------------

class RawPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "description": "Bytes sent to the printer as they are, after the raw-command policy "
                       "(403 `forbidden-command`, `incomplete-command`). Bytes the printer "
                       "would misprint are accepted with `warnings` on the job.",
        "examples": [{"data": "^XA^CI28^FO50,50^A0N,40,40^FDHello^FS^XZ"},
                     {"data": "G0AKSGVsbG8KHVZBAw==", "encoding": "base64"}]})
    data: str = Field(max_length=MAX_RAW_CHARS, description="Bytes in the printer's own language.")
    encoding: Literal["utf-8", "base64"] = "utf-8"
    # The bytes, decoded here once: the policy check, the store and delivery all take them.
    _content: bytes = PrivateAttr(default=b"")

    @model_validator(mode="after")
    def _decodable(self) -> RawPayload:
        if not self.data:
            raise ValueError("data is empty")
        if self.encoding == "base64":
            try:
                self._content = base64.b64decode(self.data, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("data is not valid base64") from None
        else:
            self._content = self.data.encode("utf-8")
        return self

    @property
    def content(self) -> bytes:
        return self._content


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"name": "till-1", "role": "pos"}]})
    name: str = Field(min_length=1, max_length=64)
    role: RoleName = Field(description="pos: a till or POS program; staff: shop staff; tech: a "
                                       "support technician; admin: everything (README, "
                                       "Security).")


class DocumentPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "description": "A PDF (every page), PNG or JPEG, scaled to the print width.",
        "examples": [{"content_type": "image/png", "data": PNG_8X8, "dither": "threshold"}]})
    content_type: Literal["application/pdf", "image/png", "image/jpeg"]
    data: str = Field(min_length=1, description="The file, base64-encoded.")
    dither: Literal["threshold", "ordered", "floyd-steinberg"] = "floyd-steinberg"


# -- the receipt document (documentation of what labeld.intake.render.receipt accepts) ---------

ReceiptAlign = Literal["left", "center", "right"]


class _Styled(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bold: bool | None = None
    underline: bool | None = None
    double_width: bool | None = Field(default=None, description="Half as many characters a "
                                      "line.")
    double_height: bool | None = None
    inverse: bool | None = Field(default=None, description="White on black.")


class ReceiptTextBlock(_Styled):
    type: Literal["text"]
    text: str = Field(max_length=5000, description="Wrapped by words; `\\n` breaks the line.")
    align: ReceiptAlign | None = None


class ReceiptRowBlock(_Styled):
    type: Literal["row"]
    columns: list[str] = Field(min_length=2, max_length=3, description="A name, (a quantity,) "
                               "an amount: the last ones right-aligned and never wrapped; the "
                               "name wraps onto more lines.")


class ReceiptSeparatorBlock(_Styled):
    type: Literal["separator"]
    char: str | None = Field(default=None, max_length=1, description="Default `-`.")


class ReceiptBarcodeBlock(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["barcode"]
    symbology: Literal["code128", "ean13", "ean8", "upca", "code39", "itf14"]
    data: str = Field(min_length=1, max_length=255)
    height_mm: float | None = Field(default=None, gt=0, le=50, description="Default 10.")
    module_dots: int | None = Field(default=None, ge=2, le=6, description="Default 2.")
    human_readable: bool | None = Field(default=None, description="Default true.")
    align: ReceiptAlign | None = None


class ReceiptQrBlock(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["qr"]
    data: str = Field(min_length=1, max_length=2000)
    module_dots: int | None = Field(default=None, ge=1, le=16, description="Default 6.")
    ecc: Literal["L", "M", "Q", "H"] | None = None
    align: ReceiptAlign | None = None


class ReceiptImageBlock(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["image"]
    data: str = Field(description="A PNG or JPEG, base64 (`invalid-image` otherwise).")
    width_mm: float | None = Field(default=None, gt=0, le=200, description="Default: the "
                                   "image's own width in dots, at most the paper's.")
    dither: Literal["threshold", "ordered", "floyd-steinberg"] | None = None
    align: ReceiptAlign | None = None


class ReceiptFeedBlock(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["feed"]
    lines: int | None = Field(default=None, ge=1, le=50)


class ReceiptCutBlock(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["cut"]
    mode: Literal["partial", "full"] | None = None


class ReceiptDrawerBlock(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["drawer"]
    pin: Literal[2, 5] | None = None


ReceiptBlock = Annotated[ReceiptTextBlock | ReceiptRowBlock | ReceiptSeparatorBlock
                         | ReceiptBarcodeBlock | ReceiptQrBlock | ReceiptImageBlock
                         | ReceiptFeedBlock | ReceiptCutBlock | ReceiptDrawerBlock,
                         Field(discriminator="type")]

RECEIPT_EXAMPLE: dict[str, Any] = {"blocks": [
    {"type": "text", "text": "Árvíztűrő Bolt Kft.", "align": "center", "bold": True,
     "double_width": True},
    {"type": "text", "text": "1051 Budapest, Tükörfúró utca 1.", "align": "center"},
    {"type": "separator"},
    {"type": "row", "columns": ["Kenyér, félbarna", "2 x 450", "900 Ft"]},
    {"type": "row", "columns": ["Őszibarack", "1 290 Ft"]},
    {"type": "separator", "char": "="},
    {"type": "row", "columns": ["ÖSSZESEN", "2 190 Ft"], "bold": True},
    {"type": "qr", "data": "https://example.com/r/4f1c2a9b", "module_dots": 5},
    {"type": "barcode", "symbology": "code128", "data": "R-000123"},
    {"type": "feed", "lines": 2},
    {"type": "cut", "mode": "partial"},
    {"type": "drawer", "pin": 2},
]}


class ReceiptDocument(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "description": "A receipt as blocks, as long as its content. ESC/POS printers print it "
                       "as text from their own fonts in the code page their profile gives "
                       "(CP852 or Windows-1250 for Hungarian), with their own barcodes and QR; "
                       "a line with a character no code page holds prints as an image; other "
                       "printers print the whole receipt as an image. A character nothing can "
                       "print is a 422 `unprintable-character`; other refusals: "
                       "`invalid-receipt`, `does-not-fit`, `invalid-image`, "
                       "`unencodable-data`.",
        "examples": [RECEIPT_EXAMPLE]})
    blocks: list[ReceiptBlock] = Field(min_length=1, max_length=1000)


class JobRequest(BaseModel):
    """A print job: the printer and exactly one payload."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "description": "A print job: `printer` and exactly one payload: `raw`, `label`, "
                       "`template` (with `data`), `document` or `receipt`."})
    printer: str = Field(min_length=1, max_length=63)
    raw: RawPayload | None = None
    label: Annotated[dict[str, Any] | None, DocumentedAs(LabelDocument)] = None
    template: str | None = Field(default=None, description="A template's name "
                                 "(GET /v1/templates); `data` fills its fields.")
    data: dict[str, Any] | None = Field(default=None, description="The template's field "
                                        "values; a field left out is `missing-field`.")
    document: DocumentPayload | None = None
    receipt: Annotated[dict[str, Any] | None, DocumentedAs(ReceiptDocument)] = None
    copies: int = Field(default=1, ge=1, le=1000)

    @model_validator(mode="after")
    def _one_payload(self) -> JobRequest:
        given = self._payloads()
        if len(given) != 1:
            raise ValueError("give exactly one payload: raw, label, template (with data), "
                             f"document or receipt; got {', '.join(given) or 'none'}")
        return self

    def _payloads(self) -> list[str]:
        return [k for k in ("raw", "label", "template", "document", "receipt")
                if getattr(self, k) is not None]

    @property
    def kind(self) -> str:
        return self._payloads()[0]


JOB_EXAMPLES: dict[str, Any] = {
    "raw-zpl": {"summary": "Raw ZPL, two copies",
                "value": {"printer": EXAMPLE_PRINTER, "copies": 2, "raw": {
                    "data": "^XA^CI28^FO50,50^A0N,40,40^FDÁrvíztűrő^FS^XZ"}}},
    "raw-escpos": {"summary": "A receipt in ESC/POS, base64",
                   "value": {"printer": "receipt-1", "raw": {"data": "G0AKSGVsbG8KHVZBAw==",
                                                              "encoding": "base64"}}},
    "label": {"summary": "A label document", "value": {"printer": EXAMPLE_PRINTER,
                                                       "label": LABEL_EXAMPLE}},
    "template": {"summary": "A template with its data",
                 "value": {"printer": EXAMPLE_PRINTER, "template": "product-label",
                           "data": {"name": "Árvíztűrő tükörfúrógép 12 V", "sku": "TFG-0012",
                                    "ean": "5901234123457"}}},
    "document": {"summary": "A PNG", "value": {"printer": EXAMPLE_PRINTER, "document": {
        "content_type": "image/png", "data": PNG_8X8}}},
    "receipt": {"summary": "A receipt, printed as text", "value": {"printer": "receipt-1",
                                                                  "receipt": RECEIPT_EXAMPLE}},
}

TEMPLATE_EXAMPLES: dict[str, Any] = {
    "price-tag": {"summary": "A label document with {{ field }} placeholders", "value": {
        "width_mm": 58, "height_mm": 40, "elements": [
            {"type": "text", "x_mm": 2, "y_mm": 2, "text": "{{ name }}", "size_pt": 10,
             "max_width_mm": 54, "fit": "shrink"},
            {"type": "text", "x_mm": 2, "y_mm": 10, "text": "{{ price }} Ft", "size_pt": 24,
             "bold": True},
            {"type": "barcode", "symbology": "ean13", "data": "{{ ean }}", "x_mm": 10,
             "y_mm": 22, "height_mm": 12, "human_readable": True}]}},
}


# -- answers -----------------------------------------------------------------------------------

class FieldProblem(BaseModel):
    field: str = Field(description="The field, dotted: `raw.data`, `copies`, `body`.")
    problem: str


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable and machine-readable: `unknown-printer`, "
                                  "`forbidden-command`, `bad-check-digit`...")
    message: str = Field(description="What happened, in plain English.")
    hint: str = Field(description="What to do about it; may be empty.")
    fields: list[FieldProblem] | None = Field(
        default=None, description="422 `invalid-request` only: each field and its problem.")


class ErrorBody(BaseModel):
    model_config = _doc("Every error labeld answers, whatever the status.", [
        {"error": {"code": "unknown-printer", "message": "There is no printer 'zebra-9'.",
                   "hint": "Configured printers: receipt-1, zebra-1."}}])
    error: ErrorDetail


class Problem(BaseModel):
    """A job's error or warning: a code, what happened and what to do."""

    code: str
    message: str
    hint: str


class JobError(Problem):
    """Why a job waits, is held or failed: `message` and `hint` in English as delivery said
    them (with the particulars: which address refused), and the code's words in every
    language for people."""

    message_i18n: dict[str, str] = Field(
        description="What happened, per language.",
        examples=[{"en": "The printer refused the connection",
                   "hu": "A nyomtató elutasította a kapcsolódást"}])
    hint_i18n: dict[str, str] = Field(description="What to do, per language.")


class Attempt(BaseModel):
    n: int
    started_at: str
    ended_at: str | None
    outcome: str | None = Field(description="ok, retry, hold, abort or interrupted.")
    error_code: str | None
    error_message: str | None
    bytes_sent: int | None


JOB_EXAMPLE: dict[str, Any] = {
    "id": EXAMPLE_JOB, "printer": EXAMPLE_PRINTER, "state": "pending", "kind": "raw",
    "copies": 1, "attempts": 0, "created_at": EXAMPLE_TIME, "updated_at": EXAMPLE_TIME,
    "finished_at": None, "retry_at": None, "error": None, "delivery": None, "evidence": None,
    "owner": "till-1", "action": None, "warnings": [{
        "code": "zpl-utf8-without-ci28",
        "message": "Field data 'Árvíztűrő' is UTF-8 text with non-ASCII characters, but the "
                   "job does not select UTF-8 (^CI28) before it: the printer would print each "
                   "accented letter as two or three wrong characters.",
        "hint": "Put ^CI28 right after ^XA in every format (^XA^CI28^FO...), or send the text "
                "in the code page the format selects."}]}


class Job(BaseModel):
    model_config = _doc("A print job. Times are ISO 8601 UTC.", [JOB_EXAMPLE])
    id: str
    printer: str
    state: JobState = Field(description="pending, held (waits for a person or for the "
                                         "printer's fault to clear), processing, completed, "
                                         "canceled, aborted.")
    kind: Literal["raw", "label", "template", "document", "receipt", "maintenance"] = Field(
        description="What it carries; `maintenance`: a declared maintenance action's bytes "
                    "(see `action`).")
    copies: int
    attempts: int
    created_at: str
    updated_at: str
    finished_at: str | None
    retry_at: str | None = Field(description="A job backing off after a failure tries again "
                                             "then.")
    error: JobError | None = Field(description="Why it is held, backing off or aborted.")
    delivery: Literal["sent", "confirmed", "unconfirmed"] | None = Field(
        description="Where its bytes are once they left: sent (awaiting the printer), "
                    "confirmed, unconfirmed.")
    evidence: Literal["counter", "status", "none"] | None = Field(
        description="What `delivery` rests on: the label counter moved, a clean status after "
                    "the printer closed the job, or nothing.")
    owner: str | None = Field(description="The name of the token that submitted it (null for "
                                          "jobs from before owners were kept).")
    warnings: list[Problem] = Field(description="What the printer would misprint in a raw job "
                                                "(it is printed anyway): "
                                                "`zpl-utf8-without-ci28`, `language-mismatch`.")
    action: str | None = Field(description="The maintenance action a `maintenance` job runs "
                                           "(`calibrate`...); null for a print job.")
    attempt_log: list[Attempt] | None = Field(default=None, description="GET /v1/jobs/{id} "
                                              "only.")


class JobList(BaseModel):
    model_config = _doc("Jobs, newest first.")
    jobs: list[Job]


class Words(BaseModel):
    """One text in every language labeld speaks, by language code."""

    model_config = ConfigDict(extra="allow", json_schema_extra={
        "examples": [{"en": "Print head is open", "hu": "Nyomtatófej nyitva"}]})
    en: str
    hu: str


class Reason(BaseModel):
    model_config = _doc("Something wrong (or worth saying) about a printer.", [{
        "keyword": "cover-open", "code": "head-open", "severity": "error",
        "message": {"en": "Print head is open", "hu": "Nyomtatófej nyitva"},
        "hint": {"en": "Close the print head until it clicks.",
                 "hu": "Zárja le a fejet, amíg kattan."}}])
    keyword: str = Field(description="IPP printer-state-reasons keyword: media-empty, "
                                     "cover-open, marker-supply-empty, paused, offline-report, "
                                     "media-low, other...")
    code: str = Field(description="labeld's own: paper-out, head-open, ribbon-out, "
                                  "no-status-reply...")
    severity: Literal["error", "warning", "report"] = Field(
        description="error stops printing; warning: someone should act soon; report: for "
                    "information.")
    message: Words
    hint: Words


class Printer(BaseModel):
    model_config = _doc("A configured printer as labeld last saw it.", [{
        "id": EXAMPLE_PRINTER, "name": "Zebra ZPL printer, 203 dpi", "uri":
        "socket://192.168.1.50:9100", "model": "zebra-generic-203", "language": "zpl",
        "kind": "label", "dpi": 203, "print_width_dots": 832, "state": "stopped",
        "state_reasons": [{"keyword": "media-empty", "code": "paper-out", "severity": "error",
                           "message": {"en": "Out of paper or labels",
                                       "hu": "Kifogyott a papír vagy a címke"},
                           "hint": {"en": "Put in a new roll and close the cover.",
                                    "hu": "Tegyen be új tekercset, és csukja le a fedelet."}}],
        "status_checked_at": EXAMPLE_TIME, "paused": False, "queued": 3,
        "crash_policy": "retry", "offline_policy": "hold"}])
    id: str
    name: str
    uri: str
    model: str
    language: str = Field(description="zpl, escpos, tspl or a plugin's.")
    kind: Literal["label", "receipt"]
    dpi: int
    print_width_dots: int
    state: Literal["idle", "processing", "stopped"] = Field(
        description="IPP printer-state: stopped when paused or a reason is an error.")
    state_reasons: list[Reason]
    status_checked_at: str | None
    paused: bool
    queued: int = Field(description="Jobs not finished yet.")
    crash_policy: Literal["retry", "hold"]
    offline_policy: Literal["hold", "abort"]


class PrinterList(BaseModel):
    printers: list[Printer]


class PrinterStatus(BaseModel):
    model_config = _doc("The printer asked now, within its status timeout.", [{
        "printer": EXAMPLE_PRINTER, "state": "idle", "answered": True, "reasons": [],
        "fields": {"paper_out": False, "head_up": False, "formats_in_buffer": 0},
        "latency_ms": 0.9, "reply_hex": "02 30 33 30 2c ..."}])
    printer: str
    state: Literal["idle", "processing", "stopped"]
    answered: bool = Field(description="False: the printer said nothing (not necessarily "
                                        "offline, see `reasons`).")
    reasons: list[Reason]
    fields: dict[str, Any] = Field(description="What the language decoded, for technicians.")
    latency_ms: float | None
    reply_hex: str


class SelfTestCheck(BaseModel):
    name: str
    status: Literal["ok", "warn", "fail", "skip"]
    duration_ms: float
    detail: str
    hint: str
    data: dict[str, Any] | None
    # name, detail and hint above are English; these carry them in every language
    name_i18n: Words
    detail_i18n: Words
    hint_i18n: Words


class SelfTestReport(BaseModel):
    model_config = _doc("Ordered, bounded checks; `result` is the worst check's status.", [{
        "printer": EXAMPLE_PRINTER, "result": "fail", "duration_ms": 7.7, "checks": [
            {"name": "transport reachable", "status": "ok", "duration_ms": 0.9,
             "detail": "connected to socket://192.168.1.50:9100 in 0.9 ms", "hint": "",
             "data": {"connect_ms": 0.9},
             "name_i18n": {"en": "transport reachable", "hu": "kapcsolat"},
             "detail_i18n": {"en": "connected to socket://192.168.1.50:9100 in 0.9 ms",
                             "hu": "kapcsolódva: socket://192.168.1.50:9100, 0,9 ms"},
             "hint_i18n": {"en": "", "hu": ""}},
            {"name": "status", "status": "fail", "duration_ms": 0.7,
             "detail": "Out of paper or labels",
             "hint": "Put in a new roll and close the cover.", "data": None,
             "name_i18n": {"en": "status", "hu": "állapot"},
             "detail_i18n": {"en": "Out of paper or labels",
                             "hu": "Kifogyott a papír vagy a címke"},
             "hint_i18n": {"en": "Put in a new roll and close the cover.",
                           "hu": "Tegyen be új tekercset, és csukja le a fedelet."}}]}])
    printer: str
    result: Literal["ok", "warn", "fail", "skip"]
    duration_ms: float
    checks: list[SelfTestCheck]


class Guide(BaseModel):
    model_config = _doc("A guided fix: numbered steps for someone standing at the printer.", [{
        "code": "head-open", "title": {"en": "Print head is open",
                                       "hu": "Nyitva van a nyomtatófej"},
        "steps": [{"en": "Close the cover and press it down until it clicks.",
                   "hu": "Csukja le a fedelet, és nyomja le kattanásig."}],
        "expect": {"en": "The status light is steady green and the printer is quiet.",
                   "hu": "Az állapotjelző folyamatosan zölden világít, a nyomtató csendes."},
        "check": "status", "drawing": f"/v1/printers/{EXAMPLE_PRINTER}/guides/head-open/"
                                      "drawing.svg", "source": "language"}])
    code: str = Field(description="A reason's code (head-open), a raw job's warning "
                                  "(language-mismatch) or labeld's own (jobs-held, "
                                  "media-size-mismatch, barcode-unreadable, wrong-roll).")
    title: Words = Field(description="What is wrong: the reason's message.")
    steps: list[Words] = Field(description="In order; the console numbers them.")
    expect: Words = Field(description="What the person should see when it worked (may be "
                                      "empty).")
    check: Literal["status", "queue", "none"] = Field(
        description="What POST .../check does: status asks the printer now; queue looks for "
                    "held jobs; none cannot be checked from here.")
    drawing: str | None = Field(description="The URL of an SVG drawing of where the latch, "
                                            "sensor or button is; null without one.")
    source: Literal["model", "language", "labeld", "fallback"] = Field(
        description="Whose guide it is: the printer model's plugin, its family's (language), "
                    "labeld's own, or one made from the reason's hint.")


class GuideList(BaseModel):
    model_config = _doc("The guides for what the printer reports now (and for its held jobs).")
    guides: list[Guide]


class GuideCheckAnswer(BaseModel):
    model_config = _doc("What \"did it work?\" found, in words.", [{
        "code": "head-open", "fixed": False,
        "still": [{"keyword": "cover-open", "code": "head-open", "severity": "error",
                   "message": {"en": "Print head is open", "hu": "Nyitva van a nyomtatófej"},
                   "hint": {"en": "Close the print head until it clicks.",
                            "hu": "Csukja le a nyomtatófejet kattanásig."}}],
        "message": {"en": "Not fixed yet: the printer still reports it.",
                    "hu": "Még nincs megoldva: a nyomtató továbbra is jelzi a hibát."}}])
    code: str
    fixed: bool | None = Field(description="null: labeld cannot tell (a setting checked "
                                            "elsewhere, or the printer did not answer).")
    still: list[Reason] = Field(description="What the printer reports now (status checks).")
    message: Words


class Event(BaseModel):
    model_config = _doc("A status change or a job outcome, as kept in the spool.", [{
        "seq": 42, "at": EXAMPLE_TIME, "printer": EXAMPLE_PRINTER, "job": EXAMPLE_JOB,
        "kind": "job", "code": "completed", "message": "completed (confirmed)",
        "data": {"delivery": "confirmed", "evidence": "counter"}}])
    seq: int
    at: str
    printer: str | None
    job: str | None = Field(description="The job's id, for job events.")
    kind: str = Field(description="printer-status, printer (paused or resumed: data has by, "
                                  "role), job, selftest, guide (a \"did it work?\" check: data "
                                  "has fixed, by, role, still) or maintenance (an action queued: "
                                  "`code` its id, `data` by, role, value, prints).")
    code: str | None
    message: str | None
    data: dict[str, Any]


class ActionParamInfo(BaseModel):
    """The one number an action takes, and its safe range."""

    name: str
    minimum: int
    maximum: int
    default: int
    label: Words


class MaintenanceAction(BaseModel):
    model_config = _doc("A safe, rarely used operation the printer's model declares. It is "
                        "run by naming it; its bytes are the plugin's, never the caller's.", [{
                            "id": "calibrate",
                            "title": {"en": "Calibrate the labels",
                                      "hu": "Címkék kalibrálása"},
                            "explanation": {"en": "The printer feeds a few labels to measure "
                                                  "them.",
                                            "hu": "A nyomtató kitol néhány címkét, hogy "
                                                  "lemérje őket."},
                            "role": "staff", "prints": True, "param": None}])
    id: str
    title: Words
    explanation: Words
    role: Literal["pos", "staff", "tech", "admin"] = Field(
        description="The least role that may run it.")
    prints: bool = Field(description="It uses media: prints something or feeds labels.")
    param: ActionParamInfo | None = Field(description="The value it takes (darkness), or null.")


class ActionList(BaseModel):
    model_config = _doc("The printer's maintenance actions, each with the role it needs.")
    actions: list[MaintenanceAction]


class ActionRequest(BaseModel):
    model_config = _doc("What to run the action with.", [{"value": 18}, {"value": None}])
    value: int | None = Field(default=None, description="The action's parameter (its `param` "
                              "range; null: its default); null for an action without one.")


class EventList(BaseModel):
    events: list[Event]


class Discovered(BaseModel):
    uri: str = Field(description="What to put in the printer's `uri`.")
    description: str
    model: str | None = Field(description="The known model whose USB ids match.")
    configured: str | None = Field(description="The printer entry already using this URI.")
    details: dict[str, Any]


class DiscoverList(BaseModel):
    model_config = _doc("Printers connected to this machine now (USB).", [{"devices": [{
        "uri": "usb://0a5f:0164", "description": "Zebra ZD421", "model": "zebra-generic-203",
        "configured": None, "details": {"bus": 1, "address": 4}}]}])
    devices: list[Discovered]


class PluginItem(BaseModel):
    name: str
    module: str
    distribution: str | None
    version: str | None
    hooks: list[str]
    errors: list[str]
    ok: bool


class CodePageItem(BaseModel):
    table: int = Field(description="The `ESC t n` number that selects it on this model.")
    name: str = Field(description="CP852, CP1250, CP437...")


class TextProfileInfo(BaseModel):
    source: str
    columns: int = Field(description="Characters per line in Font A.")
    cell_dots: list[int] = Field(description="Font A's cell: width, height in dots.")
    code_pages: list[CodePageItem]
    barcodes: list[str] = Field(description="1D symbologies printed by the printer itself.")
    qr: bool
    full_cut: bool
    partial_cut: bool
    drawer: bool
    notes: list[str] = Field(description="Where labeld overrides the database, and why.")


class ModelItem(BaseModel):
    id: str
    name: str
    language: str
    dpi: int
    print_width_dots: int
    kind: Literal["label", "receipt"]
    plugin: str | None
    text: TextProfileInfo | None = Field(default=None, description="Receipt printers that print "
                                         "text from their own fonts: the profile (python-escpos's "
                                         "capability database and labeld's overrides).")


class PluginsInfo(BaseModel):
    plugins: list[PluginItem]
    models: list[ModelItem]
    languages: list[str]
    transports: list[str]


class PolicyRule(BaseModel):
    model_config = ConfigDict(extra="allow", json_schema_extra={
        "description": "One restricted command; a language may add columns (`bytes`).",
        "examples": [{"command": "^JU", "why": "saves or resets the whole configuration",
                      "min_role": "admin"}]})
    command: str
    why: str
    min_role: RoleName | None = Field(
        description="The lowest role that may send it; null: nobody.")


class Policy(BaseModel):
    language: str
    rules: list[PolicyRule]


class TemplateSummary(BaseModel):
    name: str
    source: Literal["builtin", "folder"]
    description: str
    fields: list[str]


class TemplateList(BaseModel):
    model_config = _doc("Templates by name.", [{"templates": [{
        "name": "product-label", "source": "builtin",
        "description": "Product label, 50x30 mm: name, SKU, EAN-13 with digits",
        "fields": ["ean", "name", "sku"]}]}])
    templates: list[TemplateSummary]


class Template(BaseModel):
    model_config = _doc("A template: a label document with `{{ field }}` placeholders.", [{
        "name": "product-label", "fields": ["ean", "name", "sku"],
        "document": {"width_mm": 50, "height_mm": 30, "elements": [
            {"type": "text", "x_mm": 2, "y_mm": 1.5, "text": "{{ name }}", "size_pt": 10}]},
        "sample": {"name": "Árvíztűrő tükörfúrógép 12 V", "sku": "TFG-0012",
                   "ean": "5901234123457"}}])
    name: str
    fields: list[str]
    document: dict[str, Any]
    sample: dict[str, Any] = Field(description="Data that fills the fields (built-in "
                                               "templates), else {}.")


class SavedTemplate(BaseModel):
    name: str
    fields: list[str]


class DeletedTemplate(BaseModel):
    name: str
    deleted: Literal[True]


class Token(BaseModel):
    model_config = _doc("An API token, never its secret.", [{
        "id": "9d5ca4d0a208", "name": "till-1", "role": "pos", "hint": "lbd_UE7U",
        "created_at": 1773480413.5}])
    id: str
    name: str
    role: RoleName
    hint: str = Field(description="The secret's first characters, to tell tokens apart.")
    created_at: float = Field(description="Unix time.")


class NewToken(Token):
    model_config = _doc("The new token, with its secret: shown in this answer only.", [{
        "id": "9d5ca4d0a208", "name": "till-1", "role": "pos", "hint": "lbd_UE7U",
        "created_at": 1773480413.5, "token": "lbd_UE7U..."}])
    token: str


class TokenList(BaseModel):
    tokens: list[Token]


class AuditEntry(BaseModel):
    seq: int
    at: float = Field(description="Unix time.")
    who: str
    role: str
    method: str
    path: str
    target: str
    status: int


class AuditLog(BaseModel):
    model_config = _doc("Newest first.", [{"entries": [{
        "seq": 10, "at": 1773480413.5, "who": "support-anna", "role": "tech",
        "method": "POST", "path": f"/v1/printers/{EXAMPLE_PRINTER}/pause",
        "target": f"printer_id={EXAMPLE_PRINTER}", "status": 200}]}])
    entries: list[AuditEntry]


class ReportFault(BaseModel):
    code: str
    keyword: str
    severity: Literal["error", "warning"]
    message: Words
    hint: Words
    started: str = Field(description="When it appeared (may be before `since`: it was on "
                                     "already).")
    ended: str | None = Field(description="When it went; null: still on at `until`.")
    duration_s: float = Field(description="To `ended`, or to `until` while still on.")


class ReportAction(BaseModel):
    at: str
    kind: Literal["guide", "maintenance", "released", "canceled", "paused", "resumed"] = Field(
        description="A guided fix followed, a maintenance action run, a job released or "
                    "canceled, the printer paused or resumed.")
    code: str | None = Field(description="The guide's or the action's id; for a job, the "
                                         "event's code.")
    job: str | None
    by: str | None = Field(description="The token's name (the event's, else the audit "
                                       "log's); null: nobody known.")
    role: str | None
    text: Words = Field(description="What was done, in every language.")
    data: dict[str, Any] = Field(description="The event's own data (guide: `fixed`, `still`; "
                                             "maintenance: `value`, `prints`).")


class ReportHeldJob(BaseModel):
    id: str
    created_at: str | None
    owner: str | None
    error: JobError | None


class PrinterReport(BaseModel):
    printer: str
    name: str
    faults: list[ReportFault]
    actions: list[ReportAction]
    still_wrong: list[Reason] = Field(description="The printer's reasons now.")
    held_jobs: list[ReportHeldJob] = Field(description="Jobs held now.")


class Report(BaseModel):
    model_config = _doc("The morning report: per printer, what went wrong in the range, what "
                        "people did about it, and what is still wrong or held now.", [{
        "since": "2026-03-13T15:00:00.000+00:00", "until": "2026-03-16T08:00:00.000+00:00",
        "timezone": "Europe/Budapest", "printers": [{
            "printer": EXAMPLE_PRINTER, "name": "Zebra ZPL printer, 203 dpi",
            "faults": [{"code": "paper-out", "keyword": "media-empty", "severity": "error",
                        "message": {"en": "Out of paper or labels",
                                    "hu": "Kifogyott a papír vagy a címke"},
                        "hint": {"en": "Put in a new roll and close the cover.",
                                 "hu": "Tegyen be új tekercset, és csukja le a fedelet."},
                        "started": "2026-03-13T17:30:00.000+00:00",
                        "ended": "2026-03-13T17:50:00.000+00:00", "duration_s": 1200.0}],
            "actions": [{"at": "2026-03-13T17:50:00.000+00:00", "kind": "released",
                         "code": "released", "job": EXAMPLE_JOB, "by": "shop-staff",
                         "role": "staff",
                         "text": {"en": "shop-staff released job 4f1c2a9b",
                                  "hu": "shop-staff elengedte a(z) 4f1c2a9b feladatot"},
                         "data": {"by": "shop-staff", "role": "staff"}}],
            "still_wrong": [], "held_jobs": []}]}])
    since: str
    until: str
    timezone: str = Field(description="The shop's time zone ([support] timezone, else the "
                                      "machine's).")
    printers: list[PrinterReport]


class Health(BaseModel):
    status: Literal["ok"]


# -- declaring a route's answers ---------------------------------------------------------------

def _example(code: str, message: str, hint: str = "", **extra: Any) -> dict[str, Any]:
    return {"summary": code, "value": {"error": {"code": code, "message": message,
                                                  "hint": hint, **extra}}}


ERRORS: Mapping[int, tuple[str, dict[str, Any]]] = {
    401: ("No token, or a wrong or revoked one; answered before the body is read.", {
        "token-required": _example("token-required", "This request needs an API token.",
                                   "Send Authorization: Bearer <token>."),
        "token-invalid": _example("token-invalid",
                                  "The API token is not valid (unknown or revoked).",
                                  "Check the token, or ask an administrator for a new one.")}),
    403: (("The token's role is too small for this route (answered before the body is read), "
           "or the action is refused for this token."), {
              "insufficient-role": _example(
                  "insufficient-role", "POST /v1/printers/zebra-1/pause needs the tech role; "
                  "this token has pos.", "Use a token with that role.")}),
    404: ("Nothing of that name or id.", {}),
    409: ("It conflicts with how things are: a finished job, a built-in template...", {}),
    413: ("The body is larger than security.max_body_bytes.", {
        "too-large": _example("too-large", "The request body is larger than 17825792 bytes.")}),
    415: ("A body that is not application/json.", {
        "unsupported-media-type": _example("unsupported-media-type",
                                           "A request with a body must be application/json.")}),
    422: (("The request does not have the documented shape (`invalid-request`, with "
           "`fields`), or what it asks for cannot be done."), {
              "invalid-request": _example(
                  "invalid-request", "copies: Input should be less than or equal to 1000",
                  "See /docs for the request format.",
                  fields=[{"field": "copies",
                           "problem": "Input should be less than or equal to 1000"}])}),
    429: ("Over the token's rate (security.rate_per_second, burst); see Retry-After.", {
        "rate-limited": _example("rate-limited", "Too many requests for this token.",
                                 "Wait for the time Retry-After says.")}),
    504: ("The operation did not finish in time.", {}),
    503: ("The printer's queue is full (printers[].max_queue); nothing was dropped.", {
        "queue-full": _example("queue-full", "Printer zebra-1 already has 1000 jobs waiting.",
                               "Try again later; check the printer (GET /v1/printers/ID).")}),
}

# Examples of route-specific refusals, for `documented(..., examples=...)`.
UNKNOWN_ACTION = _example("unknown-action", "Printer 'zebra-1' (zebra-generic-203) has no "
                          "maintenance action 'format-disk'.",
                          "Its actions: calibrate, cancel-buffer, config-label, darkness, feed "
                          "(GET /v1/printers/zebra-1/actions).")
VALUE_OUT_OF_RANGE = _example("value-out-of-range", "darkness must be 10 to 25 for this "
                              "printer; got 30.", "The default is 15; a value outside the "
                              "range needs a technician at the printer's own menu.")
ACTION_ROLE = _example("insufficient-role", "The action 'darkness' needs the tech role; this "
                       "token has staff.", "Use a token with that role.")
UNKNOWN_PRINTER = _example("unknown-printer", "There is no printer 'zebra-9'.",
                           "Configured printers: receipt-1, zebra-1.")
UNKNOWN_JOB = _example("unknown-job", f"There is no job '{EXAMPLE_JOB}'.",
                       "List jobs with GET /v1/jobs; finished jobs are pruned after a while.")
UNKNOWN_TEMPLATE = _example("unknown-template", "There is no template 'price-tag'.",
                            "GET /v1/templates lists them.")
FORBIDDEN_COMMAND = _example(
    "forbidden-command", "The raw job holds ^JU (saves or resets the whole configuration) at "
    "byte 12, which needs the admin role; this token has pos.",
    "Send only printing commands, or ask an administrator.")
INCOMPLETE_COMMAND = _example(
    "incomplete-command", "The job ends inside an SGD command ('! U1 set').",
    "End SGD lines with CR LF.")
NOT_YOUR_JOB = _example(
    "not-your-job", f"Job {EXAMPLE_JOB} was submitted by another token; a pos token may cancel "
    "only its own jobs.", "Cancel it with the token that submitted it, or ask someone with a "
    "tech token.")
JOB_FINISHED = _example("job-finished", f"Job {EXAMPLE_JOB} is already completed.",
                        "Only pending, held or processing jobs can be canceled.")
BAD_CHECK_DIGIT = _example("bad-check-digit",
                           "ean13 5901234123458: check digit is 8, should be 7.",
                           "see the label document in the API docs")


UNKNOWN_GUIDE = _example("unknown-guide", "There is no guide for 'banana'.",
                         f"GET /v1/printers/{EXAMPLE_PRINTER}/guides lists the guides for what "
                         "the printer reports now.")
NO_DRAWING = _example("no-drawing",
                      f"The guide for 'jobs-held' on {EXAMPLE_PRINTER} has no drawing.")


def documented(answer: type[BaseModel] | None = None, *errors: int, status: int = 200,
               description: str = "", media_type: str | None = None,
               examples: Mapping[int, Mapping[str, Any]] | None = None,
               guarded: bool = True, also: Mapping[int, str] | None = None) -> dict[str, Any]:
    """Keyword arguments for a route decorator that declare its answers in the OpenAPI
    document: `answer` (a model of this module, or a binary `media_type`) for `status` (and
    for each status of `also`, with its description), and the error body for each of
    `errors` (plus 401 and 429 when `guarded`: every route with a token check), with examples
    (`examples` adds route-specific ones by status).

    Documentation only (`response_model=None`): the route's answer is sent as it is."""
    ok: dict[str, Any] = {"description": description or "Success."}
    if answer is not None:
        ok["model"] = answer
    if media_type is not None:
        text = media_type.startswith("text/")
        ok["content"] = {media_type: {"schema": {"type": "string"} if text else
                                      {"type": "string", "format": "binary"}}}
    responses: dict[int | str, dict[str, Any]] = {status: ok}
    for other, text in (also or {}).items():
        responses[other] = {**ok, "description": text}
    for code in sorted({*errors, *((401, 429) if guarded else ())}):
        text, shown = ERRORS[code]
        shown = {**shown, **(examples or {}).get(code, {})}
        response: dict[str, Any] = {"model": ErrorBody, "description": text}
        if shown:
            response["content"] = {"application/json": {"examples": shown}}
        responses[code] = response
    return {"response_model": None, "status_code": status, "responses": responses}
