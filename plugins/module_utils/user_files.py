# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A file in a user's folder (``~/.claude/settings.json``), read and replaced as root safely.

Running as root, every name inside a user's home is the user's to point anywhere: a
``settings.json`` that is a symbolic link, or a hard link, to ``/root/secret.json`` would have
root read the secret, merge it and write it back as a file the user owns. So:

- the home (the folder above the user's folder) is opened following links: its path comes from
  the passwd entry, which is the administrator's (``/home -> /data/home``, ``/home/dev2 ->
  /srv/homes/dev2``); it must be owned by the user or by root (root: only root can change what
  is in it; another user's home is a wrong passwd entry, and that user could swap its entries);
- the user's folder and the file are opened relative to their parent's descriptor with
  ``O_NOFOLLOW`` and checked with ``fstat`` before a byte is read or written: the right kind,
  owned by the user, and for the file one link and a sane size;
- the new file is written as a temporary file in that same folder (``dir_fd``), given to the
  user, 0600, fsynced, then renamed over the old one (``os.rename`` never follows a link at
  its destination), so a run killed part-way leaves the old file or the new one.

Why descriptors rather than dropping privileges (``seteuid`` to the user): permission checks as
the user would still follow the user's links to whatever the user may read, and silently replace
a link with a file, where the administrator should be told; ``seteuid`` changes the credentials
of the whole module process (Ansible's own code runs in it too), needs the user's supplementary
groups set and restored, and a failed restore leaves the rest running as the user. Descriptors
check exactly the object that is then read and written, also when the user changes the folder
while the module runs.

The checks of a stat result are pure (``refusal``, ``home_refusal``) and unit-tested; the file
operations are tested on a temporary folder.
"""

from __future__ import annotations

import errno
import grp
import os
import pwd
import re
import secrets
import stat
import time
from typing import NamedTuple

FILE = "file"
FOLDER = "folder"
# Larger than any settings file a person writes; a bigger one is refused, not read into memory.
MAX_BYTES = 4 * 1024 * 1024

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever (the kind is
# refused after lstat already; this covers a swap between lstat and open).
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class UserFileError(Exception):
    """The path cannot be used safely as it is; nothing was changed."""


class Account(NamedTuple):
    uid: int
    gid: int
    name: str


def account(owner: str, group: str | None = None) -> Account:
    """The account named (or numbered) by ``owner``; ``group`` defaults to its primary group."""
    try:
        entry = pwd.getpwuid(int(owner)) if owner.isdigit() else pwd.getpwnam(owner)
    except KeyError:
        raise UserFileError(f"owner {owner!r} has no account on this host") from None
    gid = entry.pw_gid
    if group:
        try:
            gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
        except KeyError:
            raise UserFileError(f"group {group!r} does not exist on this host") from None
    return Account(entry.pw_uid, gid, entry.pw_name)


def owner_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def kind_of(mode: int) -> str:
    """What a stat mode describes, for messages."""
    for test, words in (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISREG, "a regular file"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return words
    return "a special file"


def refusal(
    path: str,
    st: os.stat_result,
    want: str,
    user: Account,
    link_target: str | None = None,
    max_bytes: int = MAX_BYTES,
) -> str | None:
    """Why ``path`` (its lstat or fstat result ``st``) must not be read or replaced, or None.

    ``want`` is FILE (the settings file) or FOLDER (the user's folder that holds it).
    """
    is_dir = stat.S_ISDIR(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        target = f" (to {link_target})" if link_target else ""
        replacement = (
            f"a regular file owned by {user.name}"
            if want == FILE
            else f"a folder owned by {user.name} (mode 0700)"
        )
        where = f"{user.name}'s folder" if want == FILE else f"{user.name}'s home"
        return (
            f"{path} is a symbolic link{target}. Running as root, this module never follows a "
            f"link in {where}: it could point at a file of root or of another user. "
            f"Replace the link with {replacement}, or remove it, and run again."
        )
    if (want == FILE and not stat.S_ISREG(st.st_mode)) or (want == FOLDER and not is_dir):
        wanted = "a regular file" if want == FILE else "a folder"
        return (
            f"{path} is {kind_of(st.st_mode)}, not {wanted}; it was left untouched. "
            "Move it away and run again."
        )
    if st.st_uid != user.uid:
        return (
            f"{path} is owned by {owner_name(st.st_uid)}, not {user.name}; this module reads and "
            f"replaces only {user.name}'s own {'files' if want == FILE else 'folder'} there, and "
            f"it was left untouched. Check what it holds, then give it to {user.name} "
            f"(chown {user.name} {path}) or move it away, and run again."
        )
    if want == FILE and st.st_nlink != 1:
        return (
            f"{path} has {st.st_nlink} hard links: it may be a second name of a file elsewhere "
            f"(of root or another user), so it was left untouched. Replace it with a copy of its "
            f"own owned by {user.name}, or move it away, and run again."
        )
    if want == FILE and st.st_size > max_bytes:
        return (
            f"{path} is {st.st_size} bytes, more than the {max_bytes} a settings file may have; "
            "it was left untouched. Move it away and run again."
        )
    return None


def home_refusal(path: str, st: os.stat_result, user: Account) -> str | None:
    """Why the folder above the user's folder (opened following links) must not be used."""
    if not stat.S_ISDIR(st.st_mode):
        return (
            f"{path} (the home of {user.name}) is {kind_of(st.st_mode)}, not a folder. Fix the "
            f"home in {user.name}'s passwd entry, or make the folder, and run again."
        )
    if st.st_uid not in (user.uid, 0):
        return (
            f"{path} (the home of {user.name}) is owned by {owner_name(st.st_uid)}, neither "
            f"{user.name} nor root, so another user could change what is in it. Give it to "
            f"{user.name} (chown {user.name} {path}) or fix the home in the passwd entry, and "
            "run again."
        )
    return None


def temp_pattern(name: str) -> re.Pattern:
    """The names of this module's temporary files for ``name`` (settings.json: .settings.*.tmp)."""
    stem = name.split(".")[0] or name
    return re.compile(rf"^\.{re.escape(stem)}\.[0-9a-f]{{16}}\.tmp$")


def temp_name(name: str) -> str:
    stem = name.split(".")[0] or name
    return f".{stem}.{secrets.token_hex(8)}.tmp"


def backup_name(name: str, pid: int, when: float) -> str:
    """As Ansible's backup_local names a backup: NAME.PID.YYYY-MM-DD@HH:MM:SS~."""
    return f"{name}.{pid}.{time.strftime('%Y-%m-%d@%H:%M:%S', time.localtime(when))}~"


def _same(first: os.stat_result, second: os.stat_result) -> bool:
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def _changed(path: str) -> UserFileError:
    return UserFileError(
        f"{path} changed while it was being checked; it was left untouched: run again"
    )


def lstat_at(dir_fd: int, name: str) -> os.stat_result | None:
    """The entry ``name`` of the folder open at ``dir_fd``, not following a link; None if absent."""
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _link_target(dir_fd: int, name: str) -> str | None:
    try:
        return os.readlink(name, dir_fd=dir_fd)
    except OSError:
        return None


def _check(path: str, dir_fd: int, name: str, st: os.stat_result, want: str, user: Account):
    target = _link_target(dir_fd, name) if stat.S_ISLNK(st.st_mode) else None
    message = refusal(path, st, want, user, target)
    if message:
        raise UserFileError(message)


def open_home(path: str, user: Account) -> int:
    """A descriptor of the folder above the user's folder; links in ``path`` are followed."""
    try:
        fd = os.open(path, _DIR_FLAGS)
    except FileNotFoundError:
        raise UserFileError(
            f"{path} (the home of {user.name}) does not exist. Make it, or fix the home in "
            f"{user.name}'s passwd entry, and run again."
        ) from None
    except NotADirectoryError:
        message = home_refusal(path, os.stat(path), user)
        raise UserFileError(message or f"{path} is not a folder") from None
    except OSError as exc:
        raise UserFileError(f"{path} cannot be opened: {exc.strerror}") from None
    message = home_refusal(path, os.fstat(fd), user)
    if message:
        os.close(fd)
        raise UserFileError(message)
    return fd


def open_folder(home_fd: int, path: str, user: Account) -> int | None:
    """A descriptor of the user's folder ``path`` in the home at ``home_fd``; None if absent."""
    name = os.path.basename(path)
    seen = lstat_at(home_fd, name)
    if seen is None:
        return None
    _check(path, home_fd, name, seen, FOLDER, user)
    try:
        fd = os.open(name, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=home_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.ENOENT):
            raise _changed(path) from None
        raise
    opened = os.fstat(fd)
    message = refusal(path, opened, FOLDER, user)
    if message or not _same(seen, opened):
        os.close(fd)
        raise UserFileError(message) if message else _changed(path)
    return fd


def make_folder(home_fd: int, path: str, user: Account, mode: int = 0o700) -> int:
    """Create the user's folder ``path`` (owned by the user, ``mode``); return its descriptor."""
    name = os.path.basename(path)
    try:
        os.mkdir(name, mode, dir_fd=home_fd)
    except FileExistsError:
        raise _changed(path) from None
    fd = os.open(name, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=home_fd)
    try:
        # Made just now by this process (root), unless someone swapped it in since the mkdir.
        if os.fstat(fd).st_uid not in (os.geteuid(), user.uid):
            raise _changed(path)
        os.fchown(fd, user.uid, user.gid)
        os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        raise
    return fd


class Existing(NamedTuple):
    fd: int
    stat: os.stat_result


def open_file(folder_fd: int, path: str, user: Account, max_bytes: int = MAX_BYTES):
    """Open ``path`` (an entry of the folder at ``folder_fd``) for reading; None if absent."""
    name = os.path.basename(path)
    seen = lstat_at(folder_fd, name)
    if seen is None:
        return None
    _check(path, folder_fd, name, seen, FILE, user)
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=folder_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOENT):
            raise _changed(path) from None
        raise
    opened = os.fstat(fd)
    message = refusal(path, opened, FILE, user, max_bytes=max_bytes)
    if message or not _same(seen, opened):
        os.close(fd)
        raise UserFileError(message) if message else _changed(path)
    return Existing(fd, opened)


def read_all(fd: int, path: str, max_bytes: int = MAX_BYTES) -> bytes:
    chunks, size = [], 0
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            # The file grew after fstat.
            raise UserFileError(f"{path} grew past {max_bytes} bytes while it was read; run again")
        chunks.append(chunk)


def _write_fd(fd: int, data: bytes, user: Account, mode: int) -> None:
    os.fchown(fd, user.uid, user.gid)
    os.fchmod(fd, mode)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)


def write_new(folder_fd: int, name: str, data: bytes, user: Account, mode: int = 0o600) -> None:
    """Create ``name`` in the folder (it must not exist) with ``data``, owned by the user."""
    fd = os.open(name, _CREATE_FLAGS, 0o600, dir_fd=folder_fd)
    try:
        _write_fd(fd, data, user, mode)
    except BaseException:
        os.close(fd)
        _unlink_quietly(folder_fd, name)
        raise
    os.close(fd)


def replace_file(
    folder_fd: int, name: str, data: bytes, user: Account, mode: int = 0o600, temp: str = ""
) -> None:
    """Atomically replace ``name`` in the folder with ``data`` (temporary file, then rename)."""
    temp = temp or temp_name(name)
    write_new(folder_fd, temp, data, user, mode)
    try:
        os.rename(temp, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
    except BaseException:
        _unlink_quietly(folder_fd, temp)
        raise
    # The rename itself survives a crash only once the folder is on disk.
    os.fsync(folder_fd)


def _unlink_quietly(folder_fd: int, name: str) -> None:
    try:
        os.unlink(name, dir_fd=folder_fd)
    except FileNotFoundError:
        pass


def own_temp_files(folder_fd: int, name: str, user: Account) -> list[str]:
    """Temporary files a killed earlier run left for ``name``: this module's name pattern, a
    regular file of the user with one link. Anything else is not this module's to remove."""
    pattern = temp_pattern(name)
    found = []
    for entry in sorted(os.listdir(folder_fd)):
        if not pattern.match(entry):
            continue
        st = lstat_at(folder_fd, entry)
        if st and stat.S_ISREG(st.st_mode) and st.st_uid == user.uid and st.st_nlink == 1:
            found.append(entry)
    return found


def remove_temp_files(folder_fd: int, name: str, entries: list[str], user: Account) -> None:
    still = set(own_temp_files(folder_fd, name, user))
    for entry in entries:
        if entry in still:
            _unlink_quietly(folder_fd, entry)


def fix_attributes(existing: Existing, user: Account, mode: int = 0o600) -> bool:
    """Give the open file ``mode`` and the user's group; True when that changed anything."""
    if not attributes_differ(existing, user, mode):
        return False
    # chown first: it may clear mode bits, chmod then sets them all.
    os.fchown(existing.fd, user.uid, user.gid)
    os.fchmod(existing.fd, mode)
    return True


def attributes_differ(existing: Existing, user: Account, mode: int = 0o600) -> bool:
    return stat.S_IMODE(existing.stat.st_mode) != mode or existing.stat.st_gid != user.gid
