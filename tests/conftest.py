"""Test-wide settings: offline, caches inside the project, and helpers to build notebooks."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
for key, value in {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HOME": str(REPO / "build/cache/huggingface"),
    "IPYTHONDIR": str(REPO / "build/cache/ipython"),
    "JUPYTER_CONFIG_DIR": str(REPO / "build/cache/jupyter/config"),
    "JUPYTER_DATA_DIR": str(REPO / "build/cache/jupyter/data"),
    "JUPYTER_RUNTIME_DIR": str(REPO / "build/cache/jupyter/runtime"),
    "MPLCONFIGDIR": str(REPO / "build/cache/matplotlib"),
    "MPLBACKEND": "Agg",
}.items():
    os.environ.setdefault(key, value)
# nbgrader runs `alembic` from PATH when it creates a gradebook
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
sys.path.insert(0, str(REPO / "tests"))
