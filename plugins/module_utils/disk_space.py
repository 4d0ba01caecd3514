# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Whether a download fits where it will land, said with both numbers (module disk_space)."""

from __future__ import annotations

import os
import stat

GIB = 1024**3


def human(n: int | float) -> str:
    return f"{n / GIB:.2f} GiB ({int(n)} bytes)"


def nearest_existing(path: str, exists=os.path.lexists) -> str:
    """The path itself, or its nearest ancestor that exists (a folder the run makes later is
    measured on the file system it will be made on)."""
    current = os.path.abspath(path)
    while not exists(current):
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return current


def bytes_under(path: str) -> int:
    """The bytes of the regular files under ``path`` (0 when absent), never following a link."""
    total = 0
    for folder, _, names in os.walk(path):
        for name in names:
            st = os.lstat(os.path.join(folder, name))
            if stat.S_ISREG(st.st_mode):
                total += st.st_size
    return total


def shortfall_message(
    what: str,
    needed: int,
    margin: int,
    free: int,
    path: str,
    measured: str,
    variable: str,
    present: int = 0,
) -> str:
    """'' when ``free`` covers what is still to write plus ``margin``, else a message that names
    both numbers. ``present``: bytes of the download already on disk (an interrupted one)."""
    needed = max(needed - present, 0)
    if needed == 0 or free >= needed + margin:
        return ""
    where = path if measured == path else f"{path} (measured at {measured}, which exists)"
    margin_text = f" plus a margin of {human(margin)}" if margin else ""
    if present:
        margin_text += f" (beyond the {human(present)} already downloaded)"
    return (
        f"Not enough free disk for {what}: it needs {human(needed)}{margin_text} in {where}, and "
        f"that file system has {human(free)} free. Free space there, or set {variable} to a "
        "folder on a larger disk. The download was not started, and no engine was switched."
    )
