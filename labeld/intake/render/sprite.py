"""A rendered element before it is placed on the label: pixels plus the boxes that position it.

Every element renderer (text, barcode, image, box, line) returns a Sprite, so rotation and
placement are written once, and exactly: rotations are by quarter turns, which move pixels without
resampling (a rotated barcode keeps its whole-dot bars).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labeld.contracts import Raster

Box = tuple[int, int, int, int]  # left, top, right, bottom; right and bottom exclusive


@dataclass(frozen=True)
class Sprite:
    """`bits` is True where a dot prints; `rects` are filled rectangles printed as well (boxes
    and straight lines: filling a slice of the canvas is ~10x cheaper than OR-ing a label-sized
    array). `box` is the layout box, whose top-left corner lands on the element's
    (x_mm, y_mm); ink may stick out of it (a 'j' below the line box, an EAN digit in the quiet
    zone). `clear` is the area that must lie on the label (a barcode with its quiet zones); it
    may reach beyond `bits`. All in the sprite's pixel coordinates, whose frame is `bits` or,
    without bits, (0, 0) to the box's bottom-right corner."""

    bits: np.ndarray | None
    box: Box
    clear: Box | None = None
    rects: tuple[Box, ...] = ()

    @property
    def shape(self) -> tuple[int, int]:
        if self.bits is not None:
            h, w = self.bits.shape
            return h, w
        return self.box[3], self.box[2]

    def rotated(self, degrees: int) -> Sprite:
        """Turned clockwise by 0, 90, 180 or 270 degrees, boxes turned with the pixels."""
        if degrees == 0:
            return self
        h, w = self.shape
        k = {90: -1, 180: 2, 270: 1}[degrees]  # np.rot90 turns counter-clockwise for k > 0

        def turn(b: Box) -> Box:
            left, top, right, bottom = b
            if degrees == 90:
                return (h - bottom, left, h - top, right)
            if degrees == 180:
                return (w - right, h - bottom, w - left, h - top)
            return (top, w - right, bottom, w - left)

        return Sprite(None if self.bits is None else np.rot90(self.bits, k), turn(self.box),
                      None if self.clear is None else turn(self.clear),
                      tuple(turn(r) for r in self.rects))


def pack(bits: np.ndarray, dpi: int) -> Raster:
    """Dots (True = print) to a Raster: MSB = left-most dot, padding bits past the width 0.

    np.packbits pads a row's last byte with zeros itself, so no black stripe can appear on the
    right of a width that is not a multiple of 8."""
    h, w = bits.shape
    return Raster(width=w, height=h, rows=np.packbits(bits, axis=1).tobytes(), dpi=dpi)
