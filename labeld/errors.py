"""Errors with a machine-readable reason code; the HTTP edge turns them into JSON.

`error_body` is the one place the API's error shape is spelled out:
`{"error": {"code", "message", "hint", ...}}`. Everything that answers with an error (the
app's exception handlers, the security middleware that runs outside them) builds it here.
"""

from __future__ import annotations

from typing import Any


def error_body(code: str, message: str, hint: str = "", **extra: Any) -> dict[str, Any]:
    """The JSON body of every error labeld answers with; `extra` adds fields (e.g. the list of
    invalid `fields` of a 422)."""
    return {"error": {"code": code, "message": message, "hint": hint, **extra}}


class LabeldError(Exception):
    """An error a user or a client program can act on.

    `code` is stable and machine-readable (`unknown-printer`), `message` says what happened in
    plain words, `hint` what to do about it. `status` is the HTTP status the API answers with.
    """

    status = 400

    def __init__(self, code: str, message: str, hint: str = "", *, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint
        if status is not None:
            self.status = status

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "hint": self.hint}

    def body(self) -> dict[str, Any]:
        """The error as the API answers it (see error_body)."""
        return error_body(self.code, self.message, self.hint)


class NotFound(LabeldError):
    status = 404


class Conflict(LabeldError):
    status = 409


class Invalid(LabeldError):
    status = 422


class ConfigError(LabeldError):
    """A configuration file that cannot be used; raised at start, before anything listens."""

    status = 500
