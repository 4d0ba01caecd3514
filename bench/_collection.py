# Copyright: sparkops.llm maintainers
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make this working tree importable as ansible_collections.sparkops.llm for bench scripts."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def import_collection() -> None:
    try:
        import ansible_collections.sparkops.llm  # noqa: F401

        return
    except ImportError:
        pass
    root = Path(tempfile.mkdtemp(prefix="sparkops-bench-"))
    (root / "ansible_collections" / "sparkops").mkdir(parents=True)
    os.symlink(REPO, root / "ansible_collections" / "sparkops" / "llm")
    sys.path.insert(0, str(root))
