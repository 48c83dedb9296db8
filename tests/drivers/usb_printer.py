"""A pyusb backend that emulates USB printers, for testing labeld's USB transport without
hardware and without patching labeld.

Each `UsbPrinter` answers as a printer-class device does (reference section 5): device,
configuration, interface and endpoint descriptors; string descriptors (the serial number);
the class request GET_PORT_STATUS; a kernel driver (usblp) that must be
detached before the interface is claimed, and only one claim at a time. Behind its bulk
endpoints sits one of labeld's simulated printers (a `labeld.sim.Device`): bytes written
to bulk OUT go through a session of that device exactly as a TCP connection's bytes do, its
replies (`~HS`, `DLE EOT`) come back on bulk IN, and one claim of the interface is one job.
Faults are the device's own (paper out, head open...) plus what only USB has: unplugged, a
stalled OUT endpoint, a cable pulled after N bytes.
"""

from __future__ import annotations

import array
import errno
import threading
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import usb.backend
import usb.core

from labeld.sim import Device, SimJob

OUT_EP, IN_EP = 0x01, 0x82
GET_PORT_STATUS = 1
GET_DESCRIPTOR, STRING = 6, 3
PAPER_EMPTY, SELECTED, NOT_ERROR = 0x20, 0x10, 0x08


@dataclass
class UsbPrinter:
    device: Device  # the simulated printer behind the endpoints
    vid: int
    pid: int
    serial: str = "SIM0001"
    manufacturer: str = "Zebra Technologies"
    interface_class: int = 7
    protocol: int = 2  # 1: print only (no bulk IN), 2: bidirectional
    plugged: bool = True
    stalled: bool = False  # bulk OUT accepts nothing: writes time out
    unplug_after: int | None = None  # the cable is pulled after this many bytes
    kernel_driver: bool = True  # usblp holds the interface until detached
    claimed: bool = False
    detaches: int = 0
    attaches: int = 0
    _session: Any = None
    _data: bytearray = field(default_factory=bytearray)
    _replies: bytearray = field(default_factory=bytearray)
    received: int = 0
    _claims: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def jobs(self) -> list[SimJob]:
        return self.device.jobs

    def port_status(self) -> int:
        """The Centronics-style byte of GET_PORT_STATUS, derived from the device's faults."""
        faults = self.device.faults
        status = SELECTED | NOT_ERROR
        if "paper-out" in faults:
            status |= PAPER_EMPTY
        if self.device.stopped:
            status &= ~NOT_ERROR
        if "paused" in faults:
            status &= ~SELECTED
        return status

    # -- what the backend does on the device's behalf

    def claim(self) -> None:
        if self.kernel_driver:
            raise usb.core.USBError("Resource busy (usblp)", errno=errno.EBUSY)
        if self.claimed:
            raise usb.core.USBError("Resource busy", errno=errno.EBUSY)
        self.claimed = True
        self._claims += 1
        self._session = self.device.new_session()
        self._data.clear()
        self._replies.clear()

    def release(self) -> None:
        if not self.claimed:
            return
        self.claimed = False
        session, self._session = self._session, None
        data = bytes(self._data) + session.finish()
        if session.is_job(data):
            self.device.record(data, complete=True, connection=self._claims)

    def write(self, data: bytes) -> int:
        if not self.plugged:
            raise usb.core.USBError("No such device", errno=errno.ENODEV)
        if self.stalled:
            raise usb.core.USBTimeoutError("Operation timed out", errno=errno.ETIMEDOUT)
        if self.unplug_after is not None and self.received + len(data) > self.unplug_after:
            taken = self.unplug_after - self.received
            self._take(data[:taken])
            self.plugged = False
            raise usb.core.USBError("No such device", errno=errno.ENODEV)
        self._take(data)
        return len(data)

    def _take(self, data: bytes) -> None:
        self.received += len(data)
        reply, job_data = self._session.feed(data)
        self._data += job_data
        if "silent" not in self.device.faults:
            self._replies += reply

    def read(self, size: int) -> bytes:
        if not self.plugged:
            raise usb.core.USBError("No such device", errno=errno.ENODEV)
        if not self._replies:
            raise usb.core.USBTimeoutError("Operation timed out", errno=errno.ETIMEDOUT)
        out = bytes(self._replies[:size])
        del self._replies[:size]
        return out

    def strings(self) -> dict[int, str]:
        return {1: self.manufacturer, 2: "emulated printer", 3: self.serial}


class EmulatedBackend(usb.backend.IBackend):
    """The pyusb backend: descriptors and transfers of the plugged-in UsbPrinters."""

    def __init__(self, *printers: UsbPrinter):
        super().__init__()
        self.printers = list(printers)

    def enumerate_devices(self):
        return iter([p for p in self.printers if p.plugged])

    def get_device_descriptor(self, dev: UsbPrinter):
        return SimpleNamespace(
            bLength=18, bDescriptorType=1, bcdUSB=0x0200, bDeviceClass=0, bDeviceSubClass=0,
            bDeviceProtocol=0, bMaxPacketSize0=64, idVendor=dev.vid, idProduct=dev.pid,
            bcdDevice=0x0100, iManufacturer=1, iProduct=2, iSerialNumber=3,
            bNumConfigurations=1, address=self.printers.index(dev) + 2, bus=1,
            port_number=self.printers.index(dev) + 1, port_numbers=None, speed=2)

    def get_configuration_descriptor(self, dev: UsbPrinter, config: int):
        return SimpleNamespace(bLength=9, bDescriptorType=2, wTotalLength=32, bNumInterfaces=1,
                               bConfigurationValue=1, iConfiguration=0, bmAttributes=0xC0,
                               bMaxPower=50, extra_descriptors=[])

    def get_interface_descriptor(self, dev: UsbPrinter, intf: int, alt: int, config: int):
        if intf != 0 or alt != 0:
            raise IndexError("one interface, one alternate setting")
        endpoints = 2 if dev.protocol == 2 or dev.interface_class == 0xFF else 1
        return SimpleNamespace(bLength=9, bDescriptorType=4, bInterfaceNumber=0,
                               bAlternateSetting=0, bNumEndpoints=endpoints,
                               bInterfaceClass=dev.interface_class,
                               bInterfaceSubClass=1 if dev.interface_class == 7 else 0,
                               bInterfaceProtocol=dev.protocol, iInterface=0,
                               extra_descriptors=[])

    def get_endpoint_descriptor(self, dev: UsbPrinter, ep: int, intf: int, alt: int,
                                config: int):
        return SimpleNamespace(bLength=7, bDescriptorType=5,
                               bEndpointAddress=(OUT_EP, IN_EP)[ep], bmAttributes=2,
                               wMaxPacketSize=64, bInterval=0, bRefresh=0, bSynchAddress=0,
                               extra_descriptors=[])

    def open_device(self, dev: UsbPrinter):
        if not dev.plugged:
            raise usb.core.USBError("No such device", errno=errno.ENODEV)
        return dev

    def close_device(self, handle: UsbPrinter) -> None:
        pass

    def get_configuration(self, handle: UsbPrinter) -> int:
        return 1

    def set_configuration(self, handle: UsbPrinter, value: int) -> None:
        pass

    def claim_interface(self, handle: UsbPrinter, intf: int) -> None:
        with handle.lock:
            handle.claim()

    def release_interface(self, handle: UsbPrinter, intf: int) -> None:
        with handle.lock:
            handle.release()

    def is_kernel_driver_active(self, handle: UsbPrinter, intf: int) -> bool:
        return handle.kernel_driver

    def detach_kernel_driver(self, handle: UsbPrinter, intf: int) -> None:
        handle.kernel_driver = False
        handle.detaches += 1

    def attach_kernel_driver(self, handle: UsbPrinter, intf: int) -> None:
        handle.kernel_driver = True
        handle.attaches += 1

    def bulk_write(self, handle: UsbPrinter, ep: int, intf: int, data: array.array,
                   timeout: int) -> int:
        assert ep == OUT_EP, f"write to endpoint {ep:#x}"
        with handle.lock:
            return handle.write(data.tobytes())

    def bulk_read(self, handle: UsbPrinter, ep: int, intf: int, buff: array.array,
                  timeout: int) -> int:
        assert ep == IN_EP, f"read from endpoint {ep:#x}"
        with handle.lock:
            data = handle.read(len(buff))
        buff[:len(data)] = array.array("B", data)
        return len(data)

    def ctrl_transfer(self, handle: UsbPrinter, bmRequestType: int, bRequest: int,
                      wValue: int, wIndex: int, data: array.array, timeout: int):
        if bmRequestType == 0x80 and bRequest == GET_DESCRIPTOR and wValue >> 8 == STRING:
            index = wValue & 0xFF
            if index == 0:
                payload = bytes([4, STRING, 0x09, 0x04])  # en-US only
            else:
                text = handle.strings()[index].encode("utf-16-le")
                payload = bytes([2 + len(text), STRING]) + text
        elif bmRequestType == 0xA1 and bRequest == GET_PORT_STATUS:
            payload = bytes([handle.port_status()])
        else:
            raise usb.core.USBError("Pipe error (request not supported)", errno=errno.EPIPE)
        payload = payload[:len(data)]
        data[:len(payload)] = array.array("B", payload)
        return len(payload)  # as libusb's backend does (pyusb's docstring says the array)
