# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure helpers of the systemd_unit module: unit names, the temporary tree that
`systemd-analyze verify` checks, and what its output means.

`systemd-analyze verify` takes a unit by its file name (the type comes from the suffix), which is
why Ansible's ``validate: systemd-analyze verify %s`` cannot work: it hands over a temporary file
without the suffix (ansible/ansible#19232). The module writes the new content under the unit's
own name into a fresh folder instead. systemd then loads that file as the unit, together with the
drop-ins installed for it (/etc/systemd/system/NAME.d/), a drop-in in the temporary folder masking
the installed one of the same name (systemd.unit(5), "drop-in" files of the same name: the one in
the earlier search path wins, and verify puts the unit's own folder first).
"""

from __future__ import annotations

import re

UNIT_TYPES = (
    "service",
    "socket",
    "device",
    "mount",
    "automount",
    "swap",
    "target",
    "path",
    "timer",
    "slice",
    "scope",
)
# systemd.unit(5): "a unit name prefix ... consisting of ASCII letters, digits, ":", "-", "_",
# ".", and "\"; "@" marks a template or an instance.
_UNIT_NAME = re.compile(
    r"(?P<prefix>[A-Za-z0-9:_.\\-]+(@[A-Za-z0-9:_.\\-]*)?)\.(?P<type>" + "|".join(UNIT_TYPES) + ")"
)
_DROP_IN_NAME = re.compile(r"[A-Za-z0-9:_.@-]+\.conf")
BACKUP_SUFFIX = ".sparkops-backup"
# What verify says about an executable that is not there (src/analyze/analyze-verify-util.c,
# verify_executable()): "<unit>: Command <path> is not executable: No such file or directory".
_MISSING_EXECUTABLE = re.compile(
    r"^(?P<unit>\S+): Command (?P<path>.+) is not executable: No such file or directory$"
)
# A stand-in main unit, for checking a drop-in in check mode before its unit is written.
STUB_UNIT = "[Service]\nExecStart=/bin/true\n"


class UnitNameError(ValueError):
    """The name is neither a unit file name nor a drop-in of one."""


def split_unit_name(name: str) -> tuple[str, str | None]:
    """``foo.service`` -> (``foo.service``, None); ``foo.service.d/x.conf`` -> (``foo.service``,
    ``x.conf``). Anything with another folder, ``..`` or an unknown type is refused."""
    unit, sep, drop_in = name.partition(".d/")
    if sep:
        if not _UNIT_NAME.fullmatch(unit) or not _DROP_IN_NAME.fullmatch(drop_in):
            raise UnitNameError(
                f"name {name!r} is not a drop-in: it must be UNIT.TYPE.d/NAME.conf, for example "
                "ollama.service.d/sparkops.conf"
            )
        if drop_in.startswith("."):
            raise UnitNameError(f"name {name!r}: a drop-in name may not start with a dot")
        return unit, drop_in
    if not _UNIT_NAME.fullmatch(name) or name.startswith("."):
        raise UnitNameError(
            f"name {name!r} is not a unit file name: it must be NAME.TYPE with TYPE one of "
            f"{', '.join(UNIT_TYPES)} (for example sparkops-llama-server.service), or a drop-in "
            "UNIT.TYPE.d/NAME.conf"
        )
    return name, None


def supports_recursive_errors(version_output: str) -> bool:
    """`--recursive-errors=no` (systemd 250 and later) checks the given unit only, not the units
    it pulls in: a missing or broken docker.service is not an error of this unit file."""
    match = re.match(r"systemd (\d+)", version_output.strip())
    return bool(match) and int(match.group(1)) >= 250


def normalise_content(content: str) -> bytes:
    """The bytes to install: UTF-8, ending with exactly one newline."""
    return (content.rstrip("\n") + "\n").encode("utf-8")


def assess_verify(
    rc: int,
    stderr: str,
    temp_dir: str,
    unit: str,
    check_mode: bool,
) -> tuple[list[str], list[str]]:
    """Read verify's answer -> (problems, missing executables).

    Problems are the lines about this unit: those that name the temporary files (also a warning
    about its own settings, such as an unknown key, which verify otherwise passes) or the unit.
    Lines about other units are not (verify also loads what the unit pulls in). A non-zero exit
    status with no such line is a problem too, then every line is shown. In check mode an
    executable that does not exist yet is not a problem (this run installs it before the unit
    is used); it is returned separately.
    """
    lines = [line for line in stderr.splitlines() if line.strip()]
    missing, problems = [], []
    for line in lines:
        found = _MISSING_EXECUTABLE.match(line)
        if found and found.group("unit") == unit:
            missing.append(found.group("path"))
            if not check_mode:
                problems.append(line)
        elif temp_dir in line or line.startswith(f"{unit}:") or f"Unit {unit} " in line:
            problems.append(line)
    if rc != 0 and not problems and not (check_mode and missing):
        problems = lines or [f"systemd-analyze verify exited with status {rc} and said nothing"]
    return problems, missing


def describe_problems(problems: list[str], temp_dir: str) -> list[str]:
    """Name the unit (or drop-in) rather than its temporary copy; line numbers are those of the
    new content."""
    return [line.replace(temp_dir.rstrip("/") + "/", "") for line in problems]


def unit_states(show_output: str) -> dict:
    """``systemctl show --property=Id,LoadState,SubState UNIT...`` -> {unit: {state, load}}.

    The shape of ``service_facts``' ``services`` for the units asked about: a unit systemd does
    not know (LoadState=not-found) is left out, unless it still runs (its file was removed
    while it ran); ``state`` is ``running`` or ``stopped``.
    systemctl prints one block of ``Key=value`` lines per unit, blank-line separated, in its
    own order of properties.
    """
    states = {}
    for block in str(show_output or "").strip().split("\n\n"):
        values = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        unit = values.get("Id")
        running = values.get("SubState") == "running"
        if not unit or (values.get("LoadState", "not-found") == "not-found" and not running):
            continue
        states[unit] = {
            "state": "running" if running else "stopped",
            "load": values.get("LoadState"),
        }
    return states
