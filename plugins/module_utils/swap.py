# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Decisions of the swap role, as pure functions: what is at the swap file's path and whether
the role may adopt, replace or remove it; the fstab line and its escaping; whether swapoff can
succeed; whether the disk holds the new file beside the old one.

The rule they enforce: the role replaces or removes only a regular file that is a swap area
(blkid TYPE=swap) or the very file it recorded as its own. Everything else at the path (a
directory, a link, a device, a mount point, a file with other content) is refused with a
message that names the variable, the path and what is there.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass

from ansible_collections.sparkops.llm.plugins.module_utils.json_document import (
    JsonDocumentError,
    load_object,
)

MIB = 1024 * 1024
# Left to the rest of the system while swapoff pulls the file's pages back into memory: a
# swapoff that leaves no headroom invites the OOM killer, whose first pick is the engine.
SWAPOFF_RESERVE_KIB = 512 * 1024
PARTIAL_SUFFIX = ".partial"

# fstab(5): a space, tab or backslash in a field is written as a three-digit octal escape.
# These four (with the newline, which a path here may not hold) are the only escapes glibc's
# getmntent decodes; libmount (mount, swapon, systemd-fstab-generator) decodes them too.
_FSTAB_ESCAPES = {" ": "\\040", "\t": "\\011", "\\": "\\134"}
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")
# Control characters other than the tab cannot be written to fstab so that both readers agree.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

KINDS = (
    (stat.S_ISREG, "regular file"),
    (stat.S_ISDIR, "directory"),
    (stat.S_ISLNK, "symbolic link"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISFIFO, "named pipe"),
    (stat.S_ISSOCK, "socket"),
)


class SwapRecordError(JsonDocumentError):
    """The role's record of its swap file cannot be read."""


@dataclass(frozen=True)
class Existing:
    """What lstat, blkid and the mount table say is at a path (never following a link)."""

    kind: str = "missing"
    size: int = 0
    allocated: int = 0
    device: int = 0
    inode: int = 0
    ctime_ns: int = 0
    # blkid TYPE of a regular file: "" when blkid finds no signature.
    swap_type: str = ""
    link_target: str = ""
    entries: int = 0
    mount_point: bool = False

    @property
    def exists(self) -> bool:
        return self.kind != "missing"

    @property
    def is_swap(self) -> bool:
        return self.kind == "regular file" and self.swap_type == "swap"


@dataclass(frozen=True)
class Plan:
    """create, keep, replace, remove, none (nothing to do) or refuse (with ``message``)."""

    action: str
    message: str = ""


def kind_of(mode: int) -> str:
    for test, name in KINDS:
        if test(mode):
            return name
    return "special file"


def existing_from_stat(
    st: os.stat_result | None,
    swap_type: str = "",
    link_target: str = "",
    entries: int = 0,
    mount_point: bool = False,
) -> Existing:
    if st is None:
        return Existing()
    return Existing(
        kind=kind_of(st.st_mode),
        size=st.st_size,
        allocated=getattr(st, "st_blocks", 0) * 512,
        device=st.st_dev,
        inode=st.st_ino,
        ctime_ns=st.st_ctime_ns,
        swap_type=swap_type,
        link_target=link_target,
        entries=entries,
        mount_point=mount_point,
    )


def human_size(size: int) -> str:
    if size >= MIB and size % MIB == 0:
        return f"{size // MIB} MiB"
    if size >= MIB:
        return f"{size} bytes ({size / MIB:.1f} MiB)"
    return f"{size} bytes"


# --- the path itself -------------------------------------------------------------------------


def path_refusal(path: str, label: str) -> str | None:
    """Why ``path`` cannot name a swap file in fstab and /proc/swaps, or None."""
    if not path.startswith("/"):
        return f"{label} '{path}' must be an absolute path, for example /swapfile."
    control = _CONTROL.search(path)
    if control:
        return (
            f"{label} {path!r} contains the control character {control.group()!r}, which fstab "
            f"cannot hold so that every reader agrees. Choose a path of printable characters "
            f"(spaces are fine), for example /swapfile."
        )
    if path == "/" or path.endswith("/"):
        return (
            f"{label} '{path}' ends in a slash, which names a directory. Write the swap file's "
            f"own path, for example '{path.rstrip('/')}/swapfile'."
        )
    normal = os.path.normpath(path)
    if normal != path:
        return (
            f"{label} '{path}' is not written plainly ('.', '..' or a double slash); fstab and "
            f"/proc/swaps would show another name. Write it as '{normal}'."
        )
    return None


def partial_path(path: str) -> str:
    """The temporary name, beside the swap file, that a new swap file is built under."""
    return path + PARTIAL_SUFFIX


# --- the role's record -------------------------------------------------------------------------


def parse_record(text: str | None, record_path: str) -> dict:
    return load_object(
        text,
        record_path,
        "remove it: the role then treats only files with a swap signature as swap files",
        SwapRecordError,
    )


def render_record(record: dict) -> str:
    return json.dumps(record, indent=2, sort_keys=True) + "\n"


def record_for(path: str, existing: Existing, partial: str | None = None) -> dict:
    """The record of a finished swap file at ``path`` (and of a partial one being built)."""
    record: dict = {"path": path, "partial": partial}
    if existing.kind == "regular file":
        record.update(
            device=existing.device,
            inode=existing.inode,
            size=existing.size,
            ctime_ns=existing.ctime_ns,
        )
    return record


def recorded_as_own(record: dict, path: str, existing: Existing) -> bool:
    """True when ``existing`` is the very file the role recorded at ``path``.

    Device and inode alone are not proof: a file created after the swap file was deleted may
    get the same inode number. Its size and change time must match as well.
    """
    return (
        existing.kind == "regular file"
        and record.get("path") == path
        and record.get("device") == existing.device
        and record.get("inode") == existing.inode
        and record.get("size") == existing.size
        and record.get("ctime_ns") == existing.ctime_ns
    )


# --- what is at the path, and what the role may do with it -------------------------------------


def _what_is_there(existing: Existing) -> str:
    if existing.kind == "directory":
        count = existing.entries
        return f"a directory holding {count} entr{'y' if count == 1 else 'ies'}"
    if existing.kind == "symbolic link":
        return f"a symbolic link to '{existing.link_target}'"
    if existing.kind == "regular file":
        found = (
            f"blkid finds TYPE={existing.swap_type}"
            if existing.swap_type
            else "blkid finds no swap signature"
        )
        return f"a regular file of {human_size(existing.size)} ({found})"
    return f"a {existing.kind}"


def refusal(path: str, existing: Existing, label: str) -> str | None:
    """Why the role must not touch what is at ``path``, or None when it may (a swap file)."""
    there = _what_is_there(existing)
    if existing.mount_point:
        return (
            f"{label} '{path}' is a mount point ({there} is mounted there); the role never "
            f"replaces or removes what is mounted. Set {label} to a path that is not a mount "
            f"point, for example /swapfile."
        )
    if existing.kind == "directory":
        return (
            f"{label} '{path}' is {there}; the role never replaces or removes a directory. "
            f"Set {label} to a file path inside it, for example '{path.rstrip('/')}/swapfile'."
        )
    if existing.kind == "symbolic link":
        return (
            f"{label} '{path}' is {there}; the role does not follow or replace links as root. "
            f"Set {label} to a path that is not a link (the link's target, if that is the swap "
            f"file you mean)."
        )
    if existing.kind != "regular file":
        return (
            f"{label} '{path}' is {there}; the role only manages a regular swap file. Set "
            f"{label} to a path where nothing exists yet, for example /swapfile."
        )
    return None


def plan_present(
    path: str, existing: Existing, record: dict, wanted_bytes: int, label: str
) -> Plan:
    """create (nothing there), keep (a swap file of the wanted size), replace (a swap file of
    another size, or the role's own file without its signature), or refuse."""
    if not existing.exists:
        return Plan("create")
    why = refusal(path, existing, label)
    if why:
        return Plan("refuse", why)
    own = recorded_as_own(record, path, existing)
    if not (existing.is_swap or own):
        return Plan(
            "refuse",
            f"{label} '{path}' is {_what_is_there(existing)}: not a swap area and not the swap "
            f"file this role made, so the role neither formats nor replaces it. Set {label} to "
            f"a path where nothing exists yet (for example /swapfile), or move that file away.",
        )
    if existing.is_swap and existing.size == wanted_bytes:
        return Plan("keep")
    return Plan("replace")


def plan_absent(path: str, existing: Existing, record: dict, label: str) -> Plan:
    """remove (a swap file, or the role's own file), none (nothing there), or refuse."""
    if not existing.exists:
        return Plan("none")
    why = refusal(path, existing, label)
    if why:
        return Plan("refuse", why)
    if existing.is_swap or recorded_as_own(record, path, existing):
        return Plan("remove")
    return Plan(
        "refuse",
        f"{label} '{path}' is {_what_is_there(existing)}: not a swap area and not the swap file "
        f"this role made, so the role leaves it alone. Set {label} to the swap file you want "
        f"removed, or remove this file yourself if it really is a swap file.",
    )


def partial_refusal(
    partial: str, existing: Existing, recorded_partial: str | None, label: str
) -> str | None:
    """Why a new swap file cannot be built under ``partial``: something is there that is not
    the regular file an interrupted run recorded (which the role removes first)."""
    if not existing.exists:
        return None
    if partial == recorded_partial and stale_partial_removable(existing):
        return None
    return (
        f"'{partial}' ({_what_is_there(existing)}) is in the way: the role builds a new swap "
        f"file under that name beside {label} and removes only a regular file it recorded "
        f"there. Move it away, or set {label} to another path."
    )


def stale_partial_removable(existing: Existing) -> bool:
    """A recorded partial file is removed only while it is still a plain regular file."""
    return existing.kind == "regular file" and not existing.mount_point


# --- disk and memory ---------------------------------------------------------------------------


def disk_refusal(
    path: str,
    wanted_bytes: int,
    free_bytes: int,
    min_free_bytes: int,
    reclaimable_bytes: int,
    mount: str,
    labels: dict,
) -> str | None:
    """Why the file system cannot hold the new file, or None.

    The new file is built beside the old one, which goes only once the new one is ready, so
    the old file's space is not counted as free. A recorded partial file left by an
    interrupted run is removed first, so its space is.
    """
    available = free_bytes + reclaimable_bytes
    needed = wanted_bytes + min_free_bytes
    if available >= needed:
        return None
    return (
        f"Not enough free disk for a {wanted_bytes // MIB} MiB swap file at '{path}': "
        f"{available // MIB} MiB free on {mount}, {-(-needed // MIB)} MiB needed (the new file "
        f"plus {labels['min_free_after_mib']}={min_free_bytes // MIB}; a swap file being resized "
        f"stays in place until its replacement is ready). Lower {labels['size_mib']} or set "
        f"{labels['path']} to a larger file system."
    )


def swapoff_refusal(
    path: str,
    used_kib: int,
    available_kib: int | None,
    purpose: str,
    reserve_kib: int = SWAPOFF_RESERVE_KIB,
) -> str | None:
    """Why swapoff of ``path`` would not fit its used pages into memory, or None.

    ``purpose`` ends the sentence "... before the role can ...", and says what to do instead.
    """
    if used_kib == 0:
        return None
    if available_kib is None:
        return (
            f"Cannot tell whether swapoff of '{path}' can succeed: /proc/meminfo has no "
            f"MemAvailable. Run swapoff '{path}' yourself, then re-run; {purpose}."
        )
    if used_kib + reserve_kib <= available_kib:
        return None
    return (
        f"swapoff of '{path}' would not succeed safely: {used_kib // 1024} MiB of it are in use "
        f"(/proc/swaps) and {available_kib // 1024} MiB of memory are available (MemAvailable "
        f"in /proc/meminfo), with {reserve_kib // 1024} MiB to keep free for the rest of the "
        f"system. Free memory (stop the engine or other large processes) and re-run; {purpose}."
    )


# --- /proc and fstab parsing -------------------------------------------------------------------


def unescape(field: str) -> str:
    r"""Decode the octal escapes (\040 for a space) of fstab, /proc/swaps and mountinfo."""
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def fstab_escape(path: str) -> str:
    return "".join(_FSTAB_ESCAPES.get(char, char) for char in path)


def parse_proc_swaps(text: str) -> dict[str, int]:
    """Active swap areas of /proc/swaps: path -> used KiB. A deleted file ("/x (deleted)")
    keeps that suffix, so it never matches a live path."""
    areas = {}
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 4 and fields[3].isdigit():
            areas[unescape(fields[0])] = int(fields[3])
    return areas


def parse_mem_available_kib(text: str) -> int | None:
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name == "MemAvailable" and rest.split():
            return int(rest.split()[0])
    return None


def parse_mount_points(mountinfo: str) -> set[str]:
    """Mount points of /proc/self/mountinfo (field 5), bind-mounted files included."""
    points = set()
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) >= 5:
            points.add(unescape(fields[4]))
    return points


def fstab_line(path: str) -> str:
    return f"{fstab_escape(path)} none swap sw 0 0"


def _is_swap_entry_for(line: str, path: str) -> bool:
    fields = line.split()
    if len(fields) < 3 or fields[0].startswith("#"):
        return False
    if unescape(fields[0]) == path and fields[2] == "swap":
        return True
    # A line an earlier version wrote with the path unescaped ("/swap file none swap ..."),
    # which no reader parses as this file: it is replaced by the escaped one.
    stripped = line.lstrip()
    if path != path.replace(" ", "").replace("\t", "") and stripped.startswith(path):
        rest = stripped[len(path) :]
        return rest[:1].isspace() and rest.split()[1:2] == ["swap"]
    return False


def update_fstab(text: str, path: str, present: bool) -> str:
    """fstab with exactly one swap line for ``path`` (present) or none (absent).

    Only swap lines for this path are touched; every other line, comment and blank is kept
    as it is. The line takes the place of the first entry for the path, or goes at the end.
    """
    wanted = fstab_line(path) + "\n"
    out: list[str] = []
    placed = False
    for line in text.splitlines(keepends=True):
        if _is_swap_entry_for(line, path):
            if present and not placed:
                out.append(wanted)
                placed = True
            continue
        out.append(line)
    if present and not placed:
        if out and not out[-1].endswith("\n"):
            out[-1] += "\n"
        out.append(wanted)
    return "".join(out)
