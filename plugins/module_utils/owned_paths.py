# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Folders a role may own outright, and so later remove whole.

A role that removes its install or config folder (``state: absent`` is recursive) must never be
pointed at a folder that holds anything else: a system folder, a folder of the collection that
other roles share (``/etc/sparkops`` holds the engine's key and the Hub token), or a parent of
one of those. This is checked when the folder is configured, and removal uses the folder the
role recorded when it made it, not whatever the variable says on a later run.
"""

from __future__ import annotations

import posixpath

# Folders the collection shares between roles (shared/DESIGN.md "On the host").
SHARED_PARENTS = (
    "/etc/sparkops",
    "/opt/sparkops",
    "/var/lib/sparkops",
    "/var/cache/sparkops",
    "/var/log/sparkops",
    "/etc/ansible/facts.d",
    "/etc/systemd/system",
)
# Each role's own folders (their defaults): no other role may take one, a folder inside one, or
# a parent of one. The role itself is given its own default (own_folder_problem's default).
ROLE_FOLDERS = (
    "/opt/sparkops/llama.cpp",
    "/var/cache/sparkops/llama.cpp",
    "/var/cache/sparkops/ccache",
    "/opt/sparkops/ollama",
    "/var/lib/ollama",
    "/opt/sparkops/claude-code",
    "/var/cache/sparkops/npm",
    "/opt/sparkops/litellm",
    "/etc/sparkops-bridge",
    "/var/lib/sparkops-bridge",
    "/var/cache/sparkops/pip",
    "/opt/sparkops/hf-venv",
    "/opt/sparkops/weights",
    "/var/cache/sparkops/huggingface",
    "/var/lib/sparkops/models",
    "/var/lib/sparkops/bench",
    "/var/lib/sparkops/huggingface",
    "/var/lib/sparkops/tiktoken",
)
SHARED = SHARED_PARENTS + ROLE_FOLDERS
# Folders whose insides belong to others: the secrets folder is closed to other service users.
CLOSED = ("/etc/sparkops",)
SYSTEM = (
    "/",
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/home",
    "/lib",
    "/lib64",
    "/media",
    "/mnt",
    "/opt",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/srv",
    "/sys",
    "/tmp",
    "/usr",
    "/usr/local",
    "/usr/local/bin",
    "/var",
    "/var/cache",
    "/var/lib",
    "/var/log",
    "/var/tmp",
)


def _within(path: str, folder: str) -> bool:
    return folder == "/" or path == folder or path.startswith(folder.rstrip("/") + "/")


def own_folder_problem(
    variable: str, path: str, default: str, others: tuple | list = (), shared: bool = False
) -> str:
    """Why ``path`` cannot be a folder the role owns and may remove whole, or ''.

    ``default`` is the role's own folder, suggested instead; ``others`` are more folders that
    must survive the removal (another role's folders). ``shared``: the folder is one of the
    collection's shared folders, whose owner and mode the role sets but which it never removes;
    then only system folders and their parents are refused.
    """
    text = str(path or "")
    if not text.startswith("/"):
        return f"{variable} must be an absolute path (got {text!r})"
    if any(part in ("..", ".") for part in text.split("/")):
        return f"{variable} must not contain '.' or '..' (got {text!r})"
    if len(text) > 1 and (text.endswith("/") or "//" in text):
        return f"{variable} must be written without a trailing or doubled '/' (got {text!r})"
    normal = posixpath.normpath(text)
    own_default = posixpath.normpath(str(default)) if str(default).startswith("/") else ""
    # ROLE_FOLDERS lists each role's folder for the other roles: the role's own default is its own.
    foreign = [folder for folder in ROLE_FOLDERS if folder != own_default]
    protected = [*SYSTEM, *others] if shared else [*SYSTEM, *SHARED_PARENTS, *foreign, *others]
    # Folders a folder of the role's own may not be inside, and why.
    enclosing = (
        []
        if shared
        else [
            *((folder, "another of the collection's own folders") for folder in foreign),
            *(
                (folder, "which holds other services' secrets and is closed to them")
                for folder in CLOSED
            ),
        ]
    )
    for folder, why in enclosing:
        if normal.startswith(folder + "/"):
            return (
                f"{variable} is {normal}, inside {folder}, {why}: set {variable} to a folder of "
                f"its own (the default is {default})"
            )
    for folder in protected:
        if _within(folder, normal):
            if folder != normal:
                what = f"holds {folder}"
            elif folder in SHARED:
                what = "a folder the collection's roles share"
            else:
                what = "a system folder"
            action = (
                "sets its owner and mode"
                if shared
                else "removes its folder whole when it is turned off"
            )
            return (
                f"{variable} is {normal}, which {'is ' if folder == normal else ''}{what}: the "
                f"role {action}, so set {variable} to a folder of its own (the default is "
                f"{default})"
            )
    return ""


def takeover_problem(
    variable: str,
    path: str,
    default: str,
    stat: dict,
    owner: str,
    shared: bool = False,
    group: str = "",
) -> str:
    """Why the role must not make ``path`` its folder (owned by ``owner``), or ''.

    ``stat`` is ``ansible.builtin.stat``'s result for the path, taken without following links:
    a folder that exists and belongs to someone else would be handed to ``owner``. ``group``:
    the group the role gives the folder; an existing folder other than the default must already
    have it (root owns most system folders, so the owner alone proves nothing).
    """
    problem = own_folder_problem(variable, path, default, shared=shared)
    if problem or not stat.get("exists"):
        return problem
    if stat.get("islnk"):
        return (
            f"{variable} is {path}, which is a symbolic link: the role does not follow links "
            f"as root; point {variable} at the real folder, or at a new one (the default is "
            f"{default})"
        )
    if not stat.get("isdir"):
        return f"{variable} is {path}, which exists and is not a folder: choose another path"
    if group and path != default and stat.get("gr_name") != group:
        return (
            f"{variable} is {path}, which exists and is not the collection's (group "
            f"{stat.get('gr_name')}, not {group}): the role would change its group and mode; "
            f"point {variable} at a new folder, or keep the default {default}"
        )
    if stat.get("pw_name") != owner:
        return (
            f"{variable} is {path}, which exists and belongs to {stat.get('pw_name')}: the role "
            f"would give it to {owner}; point {variable} at a folder of its own (the default "
            f"is {default})"
        )
    return ""
