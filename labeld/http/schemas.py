"""Request bodies of the HTTP API: the pydantic edge. Inside, labeld works with dataclasses
(`labeld.daemon.JobInput`); the JSON shapes of answers are in labeld.views."""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

MAX_RAW_CHARS = 16 * 1024 * 1024  # a raw job larger than this is not a label or a receipt


class RawPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")
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
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    role: Literal["pos", "tech", "admin"]


class DocumentPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content_type: Literal["application/pdf", "image/png", "image/jpeg"]
    data: str = Field(min_length=1, description="The file, base64-encoded.")
    dither: Literal["threshold", "ordered", "floyd-steinberg"] = "floyd-steinberg"


class JobRequest(BaseModel):
    """A print job: the printer and exactly one payload."""

    model_config = ConfigDict(extra="forbid")
    printer: str = Field(min_length=1, max_length=63)
    raw: RawPayload | None = None
    label: dict[str, Any] | None = None
    template: str | None = None
    data: dict[str, Any] | None = None
    document: DocumentPayload | None = None
    copies: int = Field(default=1, ge=1, le=1000)

    @model_validator(mode="after")
    def _one_payload(self) -> JobRequest:
        given = self._payloads()
        if len(given) != 1:
            raise ValueError("give exactly one payload: raw, label, template (with data) or "
                             f"document; got {', '.join(given) or 'none'}")
        return self

    def _payloads(self) -> list[str]:
        return [k for k in ("raw", "label", "template", "document") if getattr(self, k) is not None]

    @property
    def kind(self) -> str:
        return self._payloads()[0]
