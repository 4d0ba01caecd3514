# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A secret in a file of its own: the given value, or one generated once and then kept.

The engine's API key and the bridge's master key are such files (0600, owned by the service
user). The value never reaches a command line, a diff or a log; it is written to a temporary
file in the same folder and renamed, so a run killed midway leaves the old key or the new one,
never half of one. A link or anything but a regular file at the path is refused, not followed.
"""

from __future__ import annotations

import os
import secrets
import stat
import string

ALPHABET = string.ascii_letters + string.digits


class SecretFileError(Exception):
    """The path cannot hold the secret; the message names it."""


def generate(length: int, prefix: str = "") -> str:
    """A new secret of ``length`` letters and digits after ``prefix``."""
    return prefix + "".join(secrets.choice(ALPHABET) for _ in range(length))


def read_current(path: str) -> str | None:
    """The file's content, None when there is no file; refuses a link or a non-regular file."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        raise SecretFileError(
            f"{path} is not a regular file (a link, a folder or a device): the secret is not "
            "written through it. Remove it, or point the role at another path."
        )
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    # Bytes, decoded as they are: a text read would turn "\r\n" into "\n", and a key holding
    # one would differ from itself on every run.
    with os.fdopen(fd, "rb") as handle:
        return handle.read().decode("utf-8")


def wanted_value(current: str | None, value: str, length: int, prefix: str) -> tuple[str, bool]:
    """(the value the file must hold, whether that is a new one): the given value; else the
    value already there (generated once, then kept); else a new one."""
    if value:
        return value, value != current
    if current:
        return current, False
    return generate(length, prefix), True


def write_atomically(path: str, value: str, uid: int, gid: int, mode: int) -> None:
    """Write ``value`` to a new file beside ``path`` (created with ``mode``, owned by uid:gid
    before a byte is written) and rename it over ``path``."""
    folder = os.path.dirname(path) or "."
    temporary = os.path.join(folder, f".{os.path.basename(path)}.sparkops-new")
    try:
        os.unlink(temporary)
    except FileNotFoundError:
        pass
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode & 0o600)
    try:
        try:
            os.fchown(fd, uid, gid)
            os.fchmod(fd, mode)
            os.write(fd, value.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except OSError:
        # No part of a secret stays behind beside the path.
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise


def metadata_differs(path: str, uid: int, gid: int, mode: int) -> bool:
    info = os.lstat(path)
    return (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) != (uid, gid, mode)
