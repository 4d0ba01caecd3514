#!/usr/bin/python
# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: systemd_unit
short_description: Install a systemd unit or drop-in only after systemd-analyze verify accepts it
version_added: 0.1.0
author: sparkops.llm maintainers
description:
  - Writes O(content) under the unit's own name into a fresh temporary folder, runs
    C(systemd-analyze verify) on it, and installs it only when verify finds nothing wrong with
    it, so a bad unit never replaces a good one. Ansible's C(validate) cannot do this, as it hands
    verify a temporary file without the C(.service) suffix, which verify rejects
    (ansible/ansible#19232).
  - verify loads the new unit together with the drop-ins already installed for it. For a
    drop-in (O(name) C(UNIT.d/NAME.conf)), the installed main unit is copied beside the new
    drop-in and verified with it and with the other installed drop-ins, the new drop-in
    masking the installed one of the same name.
  - Fails on a non-zero exit status of verify and on any warning that names the new file (an
    unknown key, a value it would ignore); lines about other units (those the unit pulls in) do
    not count. Where systemd is 250 or newer, verify runs with C(--recursive-errors=no).
  - verify also checks that each command's executable exists. In check mode a missing
    executable is reported as a warning and not as an error, since the same run installs it
    (a build, a release, a venv) before the unit is used; every other check still applies.
    In check mode, a drop-in whose main unit is not installed yet is verified beside a stand-in
    unit (C([Service] ExecStart=/bin/true)).
  - Installs atomically (a temporary file in the destination folder, fsync, rename), as root
    0644, and keeps the unit it replaces as C(NAME.sparkops-backup) beside it (0644 root, since a
    unit holds no secret; systemd ignores the name). Refuses to replace a symbolic link (a masked
    unit is a link to /dev/null) or anything that is not a regular file, and never follows one.
    The temporary folder is removed on every path.
  - Reports a change only when the bytes, the mode or the owner differ, so a re-run changes
    nothing. It does not reload systemd; C(ansible.builtin.systemd_service) with
    C(daemon_reload) does, in the task that enables or restarts the unit.
options:
  name:
    description:
      - The unit file name, such as C(sparkops-llama-server.service), or a drop-in,
        C(UNIT.TYPE.d/NAME.conf) such as C(ollama.service.d/sparkops.conf).
    type: str
    required: true
  content:
    description:
      - The unit's text, usually a template rendered with the C(ansible.builtin.template) lookup.
      - A final newline is added when missing.
    type: str
    required: true
  dest:
    description: The folder of units; a drop-in goes into its C(UNIT.d/) folder, made when missing.
    type: path
    default: /etc/systemd/system
  backup:
    description: Keep the replaced file as C(NAME.sparkops-backup) (the last one replaced).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - Needs C(systemd-analyze) on the target.
"""

EXAMPLES = r"""
- name: Write the llama-server unit
  sparkops.llm.systemd_unit:
    name: sparkops-llama-server.service
    content: "{{ lookup('ansible.builtin.template', 'sparkops-llama-server.service.j2') }}"
  notify: engine changed

- name: Write Ollama's drop-in
  sparkops.llm.systemd_unit:
    name: ollama.service.d/sparkops.conf
    content: "{{ lookup('ansible.builtin.template', 'ollama-sparkops.conf.j2') }}"
"""

RETURN = r"""
dest:
  description: The installed file.
  returned: always
  type: str
  sample: /etc/systemd/system/sparkops-llama-server.service
backup_file:
  description: The copy of the replaced file, when one was made in this run.
  returned: when a file was replaced
  type: str
  sample: /etc/systemd/system/sparkops-llama-server.service.sparkops-backup
verified:
  description: Whether systemd-analyze verify ran and accepted the content (false when unchanged).
  returned: always
  type: bool
missing_executables:
  description: In check mode, the executables verify did not find (installed later in the run).
  returned: always
  type: list
  elements: str
"""

import os
import shutil
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sparkops.llm.plugins.module_utils.systemd_unit import (
    BACKUP_SUFFIX,
    STUB_UNIT,
    UnitNameError,
    assess_verify,
    describe_problems,
    normalise_content,
    split_unit_name,
    supports_recursive_errors,
)


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _refuse_link_or_odd(module: AnsibleModule, path: str, st: os.stat_result, kind: str) -> None:
    if stat.S_ISLNK(st.st_mode):
        module.fail_json(
            msg=(
                f"{path} is a symbolic link; it was left as it is: this module never writes "
                "through a link. A masked unit is a link to /dev/null: run `systemctl unmask` "
                "if that is not meant, or remove the link."
            )
        )
    wanted = stat.S_ISDIR if kind == "folder" else stat.S_ISREG
    if not wanted(st.st_mode):
        module.fail_json(msg=f"{path} is not a {kind}; it was left as it is. Move it away.")


def _read_regular(module: AnsibleModule, path: str) -> tuple[bytes, os.stat_result] | None:
    """The bytes of a regular file, never through a link; None when absent."""
    st = _lstat(path)
    if st is None:
        return None
    _refuse_link_or_odd(module, path, st, "regular file")
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        return handle.read(), st


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(directory: str, name: str, data: bytes) -> str:
    """Write beside the target, fsync, rename over it (a rename replaces a link, never
    follows it); 0644 root."""
    fd, temp_path = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o644)
            if os.geteuid() == 0:
                os.fchown(handle.fileno(), 0, 0)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        final = os.path.join(directory, name)
        os.replace(temp_path, final)
    except BaseException:
        if os.path.lexists(temp_path):
            os.unlink(temp_path)
        raise
    _fsync_dir(directory)
    return final


def _attributes_differ(st: os.stat_result) -> bool:
    if stat.S_IMODE(st.st_mode) != 0o644:
        return True
    return os.geteuid() == 0 and (st.st_uid, st.st_gid) != (0, 0)


def _verify(module: AnsibleModule, unit: str, drop_in: str | None, unit_dir: str, data: bytes):
    """Run verify on the new content in a temporary tree; return (problems, missing, notes)."""
    analyze = module.get_bin_path("systemd-analyze", required=True)
    environ = {"LC_ALL": "C", "SYSTEMD_LOG_LEVEL": "info"}
    _rc, version, _err = module.run_command([analyze, "--version"], environ_update=environ)
    command = [analyze, "verify"]
    if supports_recursive_errors(version):
        command.append("--recursive-errors=no")
    notes = []
    temp_dir = tempfile.mkdtemp(prefix="sparkops-unit-")
    try:
        unit_path = os.path.join(temp_dir, unit)
        if drop_in is None:
            main = data
        else:
            installed = _read_regular(module, os.path.join(unit_dir, unit))
            if installed is None:
                if not module.check_mode:
                    module.fail_json(
                        msg=(
                            f"{unit} is not installed in {unit_dir}: write the unit before its "
                            f"drop-in {unit}.d/{drop_in}. Nothing was changed."
                        )
                    )
                notes.append(f"{unit} is not installed yet: its drop-in was verified beside a stub")
                main = STUB_UNIT.encode()
            else:
                main = installed[0]
            os.mkdir(os.path.join(temp_dir, f"{unit}.d"), 0o700)
            with open(os.path.join(temp_dir, f"{unit}.d", drop_in), "wb") as handle:
                handle.write(data)
        with open(unit_path, "wb") as handle:
            handle.write(main)
        rc, _out, err = module.run_command([*command, unit_path], environ_update=environ)
        problems, missing = assess_verify(rc, err, temp_dir, unit, module.check_mode)
        return describe_problems(problems, temp_dir), missing, notes
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "content": {"type": "str", "required": True},
            "dest": {"type": "path", "default": "/etc/systemd/system"},
            "backup": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    name = module.params["name"]
    try:
        unit, drop_in = split_unit_name(name)
    except UnitNameError as exc:
        module.fail_json(msg=str(exc))
    unit_dir = module.params["dest"].rstrip("/") or "/"
    target_dir = unit_dir if drop_in is None else os.path.join(unit_dir, f"{unit}.d")
    target = os.path.join(target_dir, drop_in or unit)
    data = normalise_content(module.params["content"])

    dest_st = _lstat(unit_dir)
    if dest_st is None:
        module.fail_json(msg=f"{unit_dir} does not exist: dest must be systemd's unit folder.")
    _refuse_link_or_odd(module, unit_dir, dest_st, "folder")
    dir_st = _lstat(target_dir)
    if dir_st is not None:
        _refuse_link_or_odd(module, target_dir, dir_st, "folder")
    current = _read_regular(module, target) if dir_st is not None else None

    result = {
        "changed": False,
        "dest": target,
        "verified": False,
        "missing_executables": [],
    }
    before = current[0] if current else b""
    if module._diff:
        result["diff"] = {
            "before": before.decode("utf-8", "replace"),
            "after": data.decode("utf-8"),
            "before_header": target,
            "after_header": target,
        }
    if current is not None and current[0] == data:
        if _attributes_differ(current[1]):
            result["changed"] = True
            if not module.check_mode:
                fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
                try:
                    os.fchmod(fd, 0o644)
                    if os.geteuid() == 0:
                        os.fchown(fd, 0, 0)
                finally:
                    os.close(fd)
        module.exit_json(**result)

    problems, missing, notes = _verify(module, unit, drop_in, unit_dir, data)
    if problems:
        module.fail_json(
            msg=(
                f"{name} was not installed: systemd-analyze verify refused the new content "
                f"(line numbers are the new content's); {target} is unchanged.\n"
                + "\n".join(problems)
            ),
            problems=problems,
            **result,
        )
    result["verified"] = True
    result["missing_executables"] = missing
    for path in missing:
        module.warn(
            f"check mode: {path} does not exist yet, which systemd-analyze verify reports for "
            f"{name}; the run installs it before the unit is used. Nothing else was wrong."
        )
    for note in notes:
        module.warn(f"check mode: {note}.")
    result["changed"] = True
    if module.check_mode:
        module.exit_json(**result)

    if dir_st is None:
        os.mkdir(target_dir, 0o755)
        if os.geteuid() == 0:
            os.chown(target_dir, 0, 0, follow_symlinks=False)
        os.chmod(target_dir, 0o755)
    if current is not None and module.params["backup"]:
        result["backup_file"] = _write_atomic(
            target_dir, f"{drop_in or unit}{BACKUP_SUFFIX}", before
        )
    _write_atomic(target_dir, drop_in or unit, data)
    module.set_default_selinux_context(target, False)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
