# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the roles' checks read on the host before they take over accounts and folders, in the
shapes the single-purpose modules gave them (so that the checks' filters read them unchanged):
``ansible.builtin.getent``'s entries, ``systemctl show``'s output, ``ansible.builtin.stat``'s
fields. Pure functions; the module sparkops.llm.host_lookup does the I/O.
"""

from __future__ import annotations

import grp
import pwd
import stat

# getent's exit statuses (getent(1)), worded as ansible.builtin.getent words them.
GETENT_ERRORS = {
    1: "Missing arguments, or database unknown.",
    3: "Enumeration not supported on this database.",
}
GETENT_NOT_FOUND = 2


def getent_entries(key: str, rc: int, out: str) -> dict:
    """``getent <database> <key>``'s answer as ansible.builtin.getent's fact with fail_key=false:
    each name found mapped to its fields after the name (a list of such lists when a name is
    listed more than once), or ``{key: None}`` when there is no such entry. ValueError with
    getent's reason for any other failure."""
    if rc == GETENT_NOT_FOUND:
        return {key: None}
    if rc != 0:
        raise ValueError(GETENT_ERRORS.get(rc, "Unexpected failure!"))
    entries, seen = {}, {}
    for line in out.splitlines():
        record = line.split(":")
        name = record[0]
        if name in seen:
            if seen[name] == 1:
                entries[name] = [entries[name]]
            entries[name].append(record[1:])
            seen[name] += 1
        else:
            entries[name] = record[1:]
            seen[name] = 1
    return entries


def stat_fields(st) -> dict:
    """The fields of ansible.builtin.stat (follow=false) the checks read, from an lstat result,
    or ``{"exists": False}`` for None."""
    if st is None:
        return {"exists": False}
    fields = {
        "exists": True,
        "isdir": stat.S_ISDIR(st.st_mode),
        "isreg": stat.S_ISREG(st.st_mode),
        "islnk": stat.S_ISLNK(st.st_mode),
        "mode": f"{stat.S_IMODE(st.st_mode):04o}",
        "uid": st.st_uid,
        "gid": st.st_gid,
    }
    # As stat leaves them out: an owner or group without a name on this host.
    try:
        fields["pw_name"] = pwd.getpwuid(st.st_uid).pw_name
    except (KeyError, TypeError):
        pass
    try:
        fields["gr_name"] = grp.getgrgid(st.st_gid).gr_name
    except (KeyError, TypeError):
        pass
    return fields


def unit_properties(units: list[str], show_output: str) -> dict:
    """``systemctl show --property=... UNIT...`` (without ``--value``) as {unit: {property:
    value}}, keyed by the names asked for: systemctl prints one block of ``Key=value`` lines per
    unit asked, blank-line separated, in the order asked (a unit it does not know included)."""
    blocks = str(show_output or "").strip().split("\n\n") if units else []
    if len(blocks) != len(units):
        raise ValueError(f"systemctl showed {len(blocks)} units for the {len(units)} asked")
    return {
        unit: dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        for unit, block in zip(units, blocks, strict=True)
    }
