"""A serial printer on a pseudo-terminal, for testing labeld's serial transport on a real tty.

The transport opens the pty's slave side as it would open /dev/ttyUSB0. A thread reads the
master side through a session of one of labeld's simulated printers and writes its replies
back, so `~HS` and `DLE EOT` are answered byte for byte as over TCP. The span between the
transport opening the line and closing it (the master then reads EIO) is one job, as one TCP
connection is for the network simulators.
"""

from __future__ import annotations

import errno
import os
import select
import threading
import time

from labeld.sim import Device, SimJob


class PtyPrinter:
    def __init__(self, device: Device):
        self.device = device
        self.master, slave = os.openpty()
        self.path = os.ttyname(slave)
        os.close(slave)  # the transport opens it by name, like a real device node
        self.reading = threading.Event()  # cleared: the printer takes no data (a full buffer)
        self.reading.set()
        self.received = 0
        self._stop = threading.Event()
        self._session = device.new_session()
        self._data = bytearray()
        self._connections = 0
        self._thread = threading.Thread(target=self._serve, name="pty-printer", daemon=True)
        self._thread.start()

    @property
    def jobs(self) -> list[SimJob]:
        return self.device.jobs

    def _serve(self) -> None:
        while not self._stop.is_set():
            if not self.reading.is_set():
                time.sleep(0.01)
                continue
            ready, _, _ = select.select([self.master], [], [], 0.02)
            if not ready:
                continue
            try:
                chunk = os.read(self.master, 4096)
            except OSError as exc:
                if exc.errno != errno.EIO:
                    raise
                self._hang_up()  # no one has the line open: the job, if any, is complete
                time.sleep(0.005)
                continue
            self.received += len(chunk)
            reply, data = self._session.feed(chunk)
            self._data += data
            if reply and "silent" not in self.device.faults:
                os.write(self.master, reply)

    def _hang_up(self) -> None:
        data = bytes(self._data) + self._session.finish()
        if data and self._session.is_job(data):
            self._connections += 1
            self.device.record(data, complete=True, connection=self._connections)
        self._data.clear()
        self._session = self.device.new_session()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        os.close(self.master)
