"""Helpers shared by the render tests: one FontBook, and drawing a label straight to pixels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from labeld.intake.render import FontBook, parse_label, raster_to_bits, render_label


@pytest.fixture(scope="session")
def fonts() -> FontBook:
    return FontBook()


Draw = Callable[..., np.ndarray]


@pytest.fixture
def draw(fonts: FontBook) -> Draw:
    """draw(elements, width_mm=.., height_mm=.., dpi=..) -> bool pixels (True = black)."""

    def _draw(elements: list[dict[str, Any]], width_mm: float = 100, height_mm: float = 60,
              dpi: int = 203) -> np.ndarray:
        label = parse_label({"width_mm": width_mm, "height_mm": height_mm, "dpi": dpi,
                             "elements": elements}, 203)
        return raster_to_bits(render_label(label, fonts))

    return _draw


def ink_box(bits: np.ndarray) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the black dots, or None for a blank image."""
    rows = np.flatnonzero(bits.any(axis=1))
    cols = np.flatnonzero(bits.any(axis=0))
    if rows.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1
