"""CSV for spreadsheets without formula injection (CWE-1236).

A cell that starts with = + - @ TAB or CR is read by Excel/WPS/LibreOffice as a formula
(=HYPERLINK(...), @SUM(...), -2+3+cmd|' /C calc'!A0 ...). Such cells get a leading apostrophe, which
the spreadsheet shows as plain text. Village names, matter ids and any other text that staff or
callers typed reach exports, so every cell of an export goes through `safe_cell`.
"""
from __future__ import annotations

import csv
import io
import re

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def safe_cell(value):
    """The value, with a leading apostrophe if it is text a spreadsheet would run as a formula.
    Numbers stay numbers (a negative count is data, not a formula)."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def neutralise_csv(text: str) -> str:
    """Rewrite CSV text so that no cell starts a formula (keeps a leading UTF-8 BOM)."""
    bom = BOM if text.startswith(BOM) else ""
    rows = csv.reader(io.StringIO(text[len(bom):], newline=""))
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return bom + out.getvalue()
