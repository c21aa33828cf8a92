"""Make the helper modules next to the tests (e.g. `recheck`) importable however pytest is run."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
