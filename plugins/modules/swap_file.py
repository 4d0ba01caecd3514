#!/usr/bin/python
# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: swap_file
short_description: Create, resize or remove a swap file without touching anything else
version_added: 0.1.0
author: sparkops.llm maintainers
description:
  - Manages one swap file and its C(/etc/fstab) line. It replaces or removes only a regular
    file that carries a swap signature (C(blkid) TYPE=swap; a swap file the user made is adopted)
    or the very file it recorded as its own in I(record). A directory, a symbolic link, a
    device, a mount point or a file with other content at I(path) is refused with a message
    that names the path and what is there; nothing on the host changes. Refusals happen in
    check mode too.
  - A new or resized file is built beside the old one as C(<path>.partial) (recorded before it
    is allocated), made 0600 and given its signature (C(mkswap)) before the old one is
    deactivated; it then takes the old one's place by rename. An interrupted run leaves either
    the old file or the new one at I(path), never a half-written one, and the next run removes
    the recorded partial file.
  - Before a resize or removal of an active swap file, checks that its used pages fit in
    C(MemAvailable) and refuses with both numbers otherwise.
  - Writes the fstab line with fstab's escapes (a space as C(\040)), keeps a backup of fstab
    before changing it, and leaves every other line as it is.
options:
  path:
    description: Absolute path of the swap file.
    type: path
    required: true
  state:
    description: C(absent) removes the file (when it is provably a swap file) and its fstab line.
    type: str
    choices: [present, absent]
    default: present
  size_mib:
    description: Size of the swap file in MiB; required with I(state=present).
    type: int
  min_free_after_mib:
    description: MiB that must stay free on the file system while the new file sits beside the old.
    type: int
    default: 0
  allocation:
    description:
      - C(fallocate) reserves the blocks; C(zero_fill) writes zeroes and sets no copy-on-write
        first (C(chattr +C)), for file systems where fallocate leaves a file the kernel refuses.
    type: str
    choices: [fallocate, zero_fill]
    default: fallocate
  activate:
    description:
      - Run C(swapon) on the file. A file that was active before a resize is activated again
        in any case.
    type: bool
    default: true
  record:
    description: JSON file where the module records the swap file and the partial file it builds.
    type: path
    default: /var/lib/sparkops/swap.json
  fstab:
    description: The fstab file to keep the swap line in.
    type: path
    default: /etc/fstab
  labels:
    description: The names the caller gives these options, used in error messages.
    type: dict
    default: {}
    suboptions:
      path:
        description: Name for I(path).
        type: str
        default: path
      size_mib:
        description: Name for I(size_mib).
        type: str
        default: size_mib
      min_free_after_mib:
        description: Name for I(min_free_after_mib).
        type: str
        default: min_free_after_mib
attributes:
  check_mode:
    support: full
  diff_mode:
    support: partial
    details: Shows the change to fstab.
"""

EXAMPLES = r"""
- name: Ensure a 16 GiB swap file
  sparkops.llm.swap_file:
    path: /swapfile
    size_mib: 16384
    min_free_after_mib: 1024
    activate: "{{ ansible_facts['virtualization_role'] != 'guest' }}"

- name: Remove the swap file
  sparkops.llm.swap_file:
    path: /swapfile
    state: absent
"""

RETURN = r"""
action:
  description: What was done (or, in check mode, would be done).
  returned: always
  type: str
  sample: created
  choices: [created, resized, kept, removed, none]
size_bytes:
  description: Size of the swap file at I(path) afterwards.
  returned: state is present
  type: int
active:
  description: Whether the file is an active swap area afterwards.
  returned: always
  type: bool
fstab_line:
  description: The fstab line for the file.
  returned: state is present
  type: str
  sample: /swapfile none swap sw 0 0
backup_file:
  description: Copy of fstab made before it was changed.
  returned: when fstab changed
  type: str
"""

import os
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sparkops.llm.plugins.module_utils.swap import (
    MIB,
    SwapRecordError,
    disk_refusal,
    existing_from_stat,
    fstab_line,
    parse_mem_available_kib,
    parse_mount_points,
    parse_proc_swaps,
    parse_record,
    partial_path,
    partial_refusal,
    path_refusal,
    plan_absent,
    plan_present,
    record_for,
    render_record,
    stale_partial_removable,
    swapoff_refusal,
    update_fstab,
)

ZERO_CHUNK = b"\0" * MIB


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def kernel_name(path: str) -> str:
    """The name the kernel shows for ``path`` in /proc/swaps and mountinfo (links above the
    file resolved; the file itself is never a link here)."""
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


def blkid_type(module: AnsibleModule, path: str) -> str:
    blkid = module.get_bin_path("blkid", required=True)
    rc, out, err = module.run_command(
        [blkid, "--probe", "--match-tag", "TYPE", "-o", "value", path]
    )
    if rc == 2:  # no signature found
        return ""
    if rc != 0:
        module.fail_json(
            msg=f"blkid could not tell what '{path}' holds (exit {rc}: {err.strip()}); the role "
            f"replaces only a file blkid reads as a swap area. Choose a path where nothing "
            f"exists yet, or move that file away."
        )
    return out.strip()


def inspect(module: AnsibleModule, path: str | None, mounts: set[str]):
    """What is at ``path``, read without following a link at its last component."""
    if not path:
        return existing_from_stat(None)
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return existing_from_stat(None)
    swap_type, target, entries = "", "", 0
    if stat.S_ISREG(st.st_mode):
        swap_type = blkid_type(module, path)
    elif stat.S_ISLNK(st.st_mode):
        target = os.readlink(path)
    elif stat.S_ISDIR(st.st_mode):
        try:
            entries = len(os.listdir(path))
        except OSError:
            entries = 0
    again = os.lstat(path)
    if (again.st_dev, again.st_ino) != (st.st_dev, st.st_ino):
        module.fail_json(msg=f"'{path}' changed while it was being inspected; re-run.")
    return existing_from_stat(st, swap_type, target, entries, kernel_name(path) in mounts)


def write_atomically(path: str, text: str, mode: int) -> None:
    directory = os.path.dirname(path)
    handle, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", errors="surrogateescape") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    fsync_directory(directory)


def fsync_directory(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Record:
    """The JSON record of the swap file and of the partial file being built."""

    def __init__(self, module: AnsibleModule, path: str):
        self.module, self.path = module, path
        try:
            self.data = parse_record(read_text(path), path)
        except SwapRecordError as exc:
            module.fail_json(msg=str(exc))

    def write(self, data: dict) -> None:
        if data == self.data:
            return
        os.makedirs(os.path.dirname(self.path), mode=0o755, exist_ok=True)
        write_atomically(self.path, render_record(data), 0o600)
        self.data = data

    def remove(self) -> None:
        if os.path.lexists(self.path):
            os.unlink(self.path)
        self.data = {}


def swap_command(module: AnsibleModule, tool: str, path: str) -> tuple[int, str]:
    binary = module.get_bin_path(tool, required=True)
    rc, out, err = module.run_command([binary, path])
    return rc, (err.strip() or out.strip())


def allocate(module: AnsibleModule, partial: str, size: int, method: str) -> None:
    """Create ``partial`` (it must not exist), root-only, and give it ``size`` bytes."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(partial, flags, 0o600)
    try:
        if os.geteuid() == 0:
            os.fchown(fd, 0, 0)
        os.fchmod(fd, 0o600)
        if method == "zero_fill":
            # btrfs refuses swap on copy-on-write files; the flag only takes on an empty file.
            chattr = module.get_bin_path("chattr")
            if chattr:
                module.run_command([chattr, "+C", partial])
            remaining = size
            while remaining:
                remaining -= os.write(fd, ZERO_CHUNK[: min(remaining, MIB)])
        else:
            os.posix_fallocate(fd, 0, size)
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_root_only(module: AnsibleModule, path: str) -> bool:
    """Make the swap file root:root 0600 (swapon warns on anything looser)."""
    # O_NONBLOCK: should the file turn into a FIFO after inspection, do not wait on it.
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        module.fail_json(msg=f"'{path}' changed while it was being inspected; re-run.")
    try:
        st = os.fstat(fd)
        changed = False
        if os.geteuid() == 0 and (st.st_uid, st.st_gid) != (0, 0):
            changed = True
            if not module.check_mode:
                os.fchown(fd, 0, 0)
        if st.st_mode & 0o7777 != 0o600:
            changed = True
            if not module.check_mode:
                os.fchmod(fd, 0o600)
        return changed
    finally:
        os.close(fd)


class SwapFile:
    def __init__(self, module: AnsibleModule):
        self.module = module
        params = module.params
        self.path = params["path"]
        self.labels = {
            "path": "path",
            "size_mib": "size_mib",
            "min_free_after_mib": "min_free_after_mib",
        }
        self.labels.update({k: v for k, v in (params["labels"] or {}).items() if v})
        why = path_refusal(self.path, self.labels["path"])
        if why:
            module.fail_json(msg=why)
        self.record = Record(module, params["record"])
        self.mounts = parse_mount_points(read_text("/proc/self/mountinfo") or "")
        self.active = parse_proc_swaps(read_text("/proc/swaps") or "")
        self.existing = inspect(module, self.path, self.mounts)
        self.partial = partial_path(self.path)
        self.stale = self.record.data.get("partial")
        self.stale_existing = inspect(module, self.stale, self.mounts)
        self.result: dict = {"changed": False, "path": self.path}

    @property
    def used_kib(self) -> int | None:
        return self.active.get(kernel_name(self.path))

    def fail(self, msg: str) -> None:
        self.module.fail_json(msg=msg, **self.result)

    def check_swapoff(self, purpose: str) -> None:
        if self.used_kib is None:
            return
        meminfo = read_text("/proc/meminfo") or ""
        why = swapoff_refusal(self.path, self.used_kib, parse_mem_available_kib(meminfo), purpose)
        if why:
            self.fail(why)

    def drop_stale_partial(self) -> None:
        """Remove the partial file an interrupted run recorded, if it is still a plain file."""
        if not self.stale:
            return
        if self.stale_existing.exists:
            if stale_partial_removable(self.stale_existing):
                os.unlink(self.stale)
            else:
                self.module.warn(
                    f"'{self.stale}' was recorded as a partial swap file but is now "
                    f"{self.stale_existing.kind}; left alone."
                )
        self.record.write({**self.record.data, "partial": None})
        self.result["changed"] = True

    def swapon(self) -> None:
        rc, err = swap_command(self.module, "swapon", self.path)
        if rc != 0:
            self.fail(
                f"swapon '{self.path}' failed: {err}. The swap file is in place and listed in "
                f"fstab; fix the cause and re-run."
            )

    def build_and_swap_in(self) -> None:
        """Build the new file beside the old one, then put it in the old one's place."""
        module, path, partial = self.module, self.path, self.partial
        size = module.params["size_mib"] * MIB
        was_active = self.used_kib is not None
        activate = module.params["activate"] or was_active
        # Recorded before the file exists, so that an interrupted run's leftover is provably
        # the role's own and the next run may remove it.
        self.record.write(record_for(path, self.existing, partial))

        def give_up(msg: str) -> None:
            if os.path.lexists(partial):
                os.unlink(partial)
            self.record.write({**self.record.data, "partial": None})
            kept = f"'{path}' is unchanged" if self.existing.exists else "nothing was left behind"
            self.fail(f"{msg} The partial file is removed and {kept}.")

        try:
            allocate(module, partial, size, module.params["allocation"])
        except OSError as exc:
            give_up(f"Allocating {size // MIB} MiB at '{partial}' failed: {exc.strerror}.")
        mkswap = module.get_bin_path("mkswap", required=True)
        rc, out, err = module.run_command([mkswap, partial])
        if rc != 0:
            give_up(f"mkswap '{partial}' failed: {err.strip() or out.strip()}.")
        if activate:
            # Proves the kernel takes the new file before the old one is given up.
            rc, err = swap_command(module, "swapon", partial)
            if rc != 0:
                give_up(f"The kernel refuses the new swap file (swapon '{partial}': {err}).")
            rc, err = swap_command(module, "swapoff", partial)
            if rc != 0:
                self.fail(f"swapoff '{partial}' failed after a trial swapon: {err}. Re-run.")
        if was_active:
            rc, err = swap_command(module, "swapoff", path)
            if rc != 0:
                give_up(f"swapoff '{path}' failed: {err}.")
        try:
            # rename, not copy: the old file is replaced in one step, never half-written.
            os.rename(partial, path)
        except OSError as exc:
            if was_active:
                swap_command(module, "swapon", path)
            give_up(f"Moving '{partial}' to '{path}' failed: {exc.strerror}.")
        fsync_directory(os.path.dirname(path))
        self.existing = existing_from_stat(os.lstat(path), "swap")
        self.record.write(record_for(path, self.existing))
        if activate:
            self.swapon()
        self.result["active"] = activate

    def present(self) -> None:
        module, labels = self.module, self.labels
        size = module.params["size_mib"] * MIB
        directory = os.path.dirname(self.path)
        if not os.path.isdir(directory):
            self.fail(
                f"The folder of {labels['path']} '{self.path}' does not exist or is not a "
                f"folder. Create {directory} first or choose another {labels['path']}."
            )
        plan = plan_present(self.path, self.existing, self.record.data, size, labels["path"])
        if plan.action == "refuse":
            self.fail(plan.message)
        if plan.action in ("create", "replace"):
            why = partial_refusal(
                self.partial,
                inspect(module, self.partial, self.mounts),
                self.stale,
                labels["path"],
            )
            if why:
                self.fail(why)
            reclaimable = (
                self.stale_existing.allocated if stale_partial_removable(self.stale_existing) else 0
            )
            fs = os.statvfs(directory)
            mount = os.path.realpath(directory)
            while not os.path.ismount(mount):
                mount = os.path.dirname(mount)
            why = disk_refusal(
                self.path,
                size,
                fs.f_bavail * fs.f_frsize,
                module.params["min_free_after_mib"] * MIB,
                reclaimable,
                mount,
                labels,
            )
            if why:
                self.fail(why)
        if plan.action == "replace":
            self.check_swapoff(f"or keep {labels['size_mib']} at the current size")
        self.result["action"] = {"create": "created", "replace": "resized", "keep": "kept"}[
            plan.action
        ]
        self.result["fstab_line"] = fstab_line(self.path)
        self.result["active"] = self.used_kib is not None
        if module.check_mode:
            self.result["changed"] = plan.action != "keep" or bool(self.stale)
            if plan.action == "keep":
                self.result["changed"] |= ensure_root_only(module, self.path)
                self.result["changed"] |= self.record.data != record_for(self.path, self.existing)
                self.result["changed"] |= module.params["activate"] and self.used_kib is None
            self.fstab(present=True)
            self.result["size_bytes"] = size
            return
        self.drop_stale_partial()
        if plan.action == "keep":
            self.result["changed"] |= ensure_root_only(module, self.path)
            self.existing = existing_from_stat(os.lstat(self.path), "swap")
            before = self.record.data
            self.record.write(record_for(self.path, self.existing))
            self.result["changed"] |= before != self.record.data
        else:
            self.result["changed"] = True
            self.build_and_swap_in()
        self.fstab(present=True)
        if plan.action == "keep" and module.params["activate"] and self.used_kib is None:
            self.swapon()
            self.result.update(changed=True, active=True)
        self.result["size_bytes"] = os.lstat(self.path).st_size

    def absent(self) -> None:
        plan = plan_absent(self.path, self.existing, self.record.data, self.labels["path"])
        if plan.action == "refuse":
            self.fail(plan.message)
        if plan.action == "remove":
            self.check_swapoff("or keep the swap file (state present)")
        self.result.update(action="removed" if plan.action == "remove" else "none", active=False)
        # The record goes with the file it describes; one of another path stays.
        drop_record = os.path.lexists(self.record.path) and self.record.data.get("path") in (
            self.path,
            None,
        )
        if self.module.check_mode:
            self.result["changed"] = plan.action == "remove" or bool(self.stale) or drop_record
            self.fstab(present=False)
            return
        self.drop_stale_partial()
        if plan.action == "remove":
            if self.used_kib is not None:
                rc, err = swap_command(self.module, "swapoff", self.path)
                if rc != 0:
                    self.fail(f"swapoff '{self.path}' failed: {err}; the swap file is kept.")
            os.unlink(self.path)
            self.result["changed"] = True
        if drop_record:
            self.record.remove()
            self.result["changed"] = True
        self.fstab(present=False)

    def fstab(self, present: bool) -> None:
        """Keep exactly one swap line for the file (or none), backing fstab up first."""
        fstab = self.module.params["fstab"]
        before = read_text(fstab) or ""
        after = update_fstab(before, self.path, present)
        if after == before:
            return
        self.result["changed"] = True
        if self.module._diff:
            self.result["diff"] = {
                "before": before,
                "after": after,
                "before_header": fstab,
                "after_header": fstab,
            }
        if self.module.check_mode:
            return
        if os.path.exists(fstab):
            self.result["backup_file"] = self.module.backup_local(fstab)
        handle, tmp = tempfile.mkstemp(prefix=".fstab.", dir=os.path.dirname(fstab))
        with os.fdopen(handle, "w", encoding="utf-8", errors="surrogateescape") as out:
            out.write(after)
        os.chmod(tmp, 0o644)
        self.module.atomic_move(tmp, fstab)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "size_mib": {"type": "int"},
            "min_free_after_mib": {"type": "int", "default": 0},
            "allocation": {
                "type": "str",
                "choices": ["fallocate", "zero_fill"],
                "default": "fallocate",
            },
            "activate": {"type": "bool", "default": True},
            "record": {"type": "path", "default": "/var/lib/sparkops/swap.json"},
            "fstab": {"type": "path", "default": "/etc/fstab"},
            "labels": {
                "type": "dict",
                "default": {},
                "options": {
                    "path": {"type": "str", "default": "path"},
                    "size_mib": {"type": "str", "default": "size_mib"},
                    "min_free_after_mib": {"type": "str", "default": "min_free_after_mib"},
                },
            },
        },
        required_if=[("state", "present", ["size_mib"])],
        supports_check_mode=True,
    )
    if module.params["state"] == "present" and module.params["size_mib"] <= 0:
        module.fail_json(
            msg=f"size_mib must be a positive number of MiB, got {module.params['size_mib']}."
        )
    swap = SwapFile(module)
    if module.params["state"] == "present":
        swap.present()
    else:
        swap.absent()
    module.exit_json(**swap.result)


if __name__ == "__main__":
    main()
