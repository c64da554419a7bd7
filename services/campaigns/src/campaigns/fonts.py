"""The DejaVu fonts that matplotlib ships (any Latin, Greek or Cyrillic name prints), found without importing
matplotlib: the documents and charts that need it import it when they are made, so a process that never
renders one does not carry it (tens of MB of resident memory, with numpy and PIL)."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path


@cache
def font_dir() -> Path:
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("matplotlib is not installed: its DejaVu fonts print the PDF documents")
    return Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf"


def dejavu(*, bold: bool = False) -> str:
    return str(font_dir() / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"))
