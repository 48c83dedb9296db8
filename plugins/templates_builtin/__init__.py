"""Stock label templates: a shelf price tag, a product label, a 4x6 in shipping label and a
deposit (betétdíj) label.

Each is a label document (see the API docs) in templates/NAME.json whose strings hold
`{{ field }}` placeholders; a job fills them with `"template": NAME, "data": {...}`. Sizes are
in mm and barcode modules default to about 0.25 mm, so every template prints the same size at
203 and 300 dpi. A shop restyles one by storing a template of the same name, not by editing
these files.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from labeld.contracts import Template
from labeld.hookspecs import hookimpl
from labeld.intake.placeholders import validate_template

DESCRIPTIONS: dict[str, str] = {
    "shelf-price-tag": "Shelf price tag, 58x40 mm: name, price, unit price, EAN-13, small print",
    "product-label": "Product label, 50x30 mm: name, SKU, EAN-13 with digits",
    "shipping-label-4x6": "Shipping label, 4x6 in: sender, recipient, Code 128 tracking number, "
                          "QR code with the tracking URL",
    "deposit-label": "Deposit (betétdíj) label, 40x30 mm: product, deposit amount, EAN-13, "
                     "return note in Hungarian",
}

# Data that fills each template completely: shown in the docs, used by the tests and by
# `labeld render` examples. The EANs carry correct check digits.
SAMPLE_DATA: dict[str, dict[str, Any]] = {
    "shelf-price-tag": {
        "name": "Trappista sajt, szeletelt 250 g",
        "price": "649 Ft",
        "unit_price": "2 596 Ft/kg",
        "ean": "5998200123450",
        "small_print": "Az akció 2025.06.30-ig, a készlet erejéig érvényes.",
    },
    "product-label": {
        "name": "Árvíztűrő tükörfúrógép 12 V",
        "sku": "TFG-0012",
        "ean": "5901234123457",
    },
    "shipping-label-4x6": {
        "from_name": "Példa Webáruház Kft.",
        "from_address": "Váci út 1.\n1132 Budapest",
        "to_name": "Kovács Éva",
        "to_address": "Kossuth Lajos utca 12. 3/4.\n6720 Szeged\nMagyarország",
        "tracking_number": "HU1234567890123",
        "tracking_url": "https://track.example.com/HU1234567890123",
    },
    "deposit-label": {
        "product": "Ásványvíz 0,5 l PET",
        "deposit": "50 Ft",
        "barcode": "2000000500003",
    },
}


def _load() -> dict[str, dict[str, Any]]:
    folder = resources.files(__name__) / "templates"
    out: dict[str, dict[str, Any]] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        name = entry.name.removesuffix(".json")
        doc = json.loads(entry.read_text(encoding="utf-8"))
        # A broken stock template is a packaging bug: fail at start, not on the first job.
        validate_template(doc)
        out[name] = doc
    return out


TEMPLATES: dict[str, dict[str, Any]] = _load()


@hookimpl
def labeld_templates() -> list[Template]:
    return [Template(name, doc, DESCRIPTIONS.get(name, ""), SAMPLE_DATA.get(name, {}))
            for name, doc in TEMPLATES.items()]

