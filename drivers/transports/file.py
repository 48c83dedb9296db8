"""Files and device nodes ("file:///dev/usb/lp0", "file:///var/lib/labeld/capture/").

Three uses, one transport:

* a kernel printer device (`/dev/usb/lp0` from usblp, `/dev/lp0` for a parallel port): the job
  is written to it and the kernel driver does the rest, no libusb needed;
* a file, to capture what labeld would send (integration work, support cases): each job is
  appended;
* a folder (the URI ends with `/`): each job becomes a file of its own, `job-<time>-<n>.prn`,
  written under a temporary name and renamed when whole, so whatever watches the folder never
  picks up half a job.

A file cannot answer a status query, so such a printer's jobs end `unconfirmed`.
"""

from __future__ import annotations

import errno
import itertools
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO
from urllib.parse import unquote, urlsplit

from labeld.contracts import Transport, TransportError
from labeld.drivers.transports.threaded import ThreadedTransport
from labeld.hookspecs import hookimpl

_numbers = itertools.count(1)  # distinct names for jobs written within the same nanosecond


def parse(uri: str) -> tuple[Path, bool]:
    """(path, is a folder) of a file:// URI."""
    parts = urlsplit(uri)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost") or parts.query \
            or not parts.path.startswith("/"):
        raise ValueError(f"expected file:///ABSOLUTE/PATH (a trailing / for a folder), got {uri!r}")
    path = unquote(parts.path)
    return Path(path), path.endswith("/")


class FileTransport(ThreadedTransport):
    scheme = "file"

    def __init__(self, uri, timeouts):
        super().__init__(uri, timeouts)
        self.path, self.folder = parse(uri)
        self._file: IO[bytes] | None = None
        self._target: Path | None = None  # a folder's job: the name it gets when whole

    @classmethod
    def validate_uri(cls, uri: str) -> None:
        parse(uri)

    @property
    def label(self) -> str:
        return str(self.path)

    @property
    def is_open(self) -> bool:
        return self._file is not None

    @property
    def can_answer(self) -> bool:
        return False  # nothing answers on a file: status queries are not written into it

    def _open(self) -> None:
        try:
            if self.folder:
                self._target = self.path / f"job-{time.time_ns()}-{next(_numbers)}.prn"
                part = self._target.with_suffix(".part")
                self._file = open(part, "xb")  # noqa: SIM115 - the job's file, closed by close()
            else:
                self._file = open(self.path, "ab", buffering=0)  # noqa: SIM115 - as above
        except OSError as exc:
            raise _file_error(exc, self.path) from None

    def _write(self, data: bytes) -> None:
        assert self._file is not None
        try:
            self._file.write(data)
            self._file.flush()
        except OSError as exc:
            raise _file_error(exc, self.path) from None

    def _read_until(self, complete: Callable[[bytes], bool], timeout: float) -> bytes:
        return b""  # a file has no back channel

    def _close(self) -> None:
        file, self._file = self._file, None
        assert file is not None
        file.close()
        if self._target is not None:
            os.replace(self._target.with_suffix(".part"), self._target)  # whole, so visible


def _file_error(exc: OSError, path: Path) -> TransportError:
    if exc.errno in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return TransportError("file-not-found", f"{path} does not exist (for a printer device: "
                              "it is unplugged or off).")
    if exc.errno == errno.EACCES:
        return TransportError("file-permission", f"No permission to write {path}.")
    if exc.errno == errno.ENOSPC:
        return TransportError("file-no-space", f"The disk holding {path} is full.")
    return TransportError("file-error", f"{path}: {exc.strerror or exc}.")


@hookimpl
def labeld_transports() -> list[type[Transport]]:
    return [FileTransport]
