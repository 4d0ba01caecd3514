# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Folders a role puts files in, sets the owner and mode of, and replaces entries in.

Two rules, both checked before the role touches the host:

- the path itself (``owned_paths.own_folder_problem``): never a system folder, a folder the
  collection's roles share, or a parent of one of those; the same for the folder a link at the
  path leads to;
- the folder on the host: when it exists and holds anything, it must carry the collection's
  marker (``MARKER``, written by the role once it made the folder), or be one of the folders
  that releases before the marker made (the role's defaults). A non-empty folder without it
  holds someone else's files (``/home/alice``, a web root, a data disk's top folder): the role
  would make it root's and put its files among them, so it is refused.

The marker's name and text are defined here once, so every role writes the same file and one
role's marker is accepted by another that shares the folder (the log folder).
"""

from __future__ import annotations

import os
import posixpath
import stat

from ansible_collections.sparkops.llm.plugins.module_utils.owned_paths import own_folder_problem

MARKER = ".sparkops-owned"
MARKER_TEXT = (
    "Made by sparkops.llm. Its roles put files here and replace or remove only what they "
    "recorded; do not keep other files in this folder.\n"
)
# How many names a refusal lists.
SHOWN = 5
# owned_paths words its reason for roles that remove their folder when turned off; these roles
# keep the folder and remove or replace only what they made in it.
_THEIR_ACTION = "removes its folder whole when it is turned off"
_OUR_ACTION = "makes the folder root's and removes or replaces what it made in it"


def _path_problem(variable, path, default, others, shared) -> str:
    return own_folder_problem(variable, path, default, others, shared).replace(
        _THEIR_ACTION, _OUR_ACTION
    )


def folder_problem(
    variable: str,
    path: str,
    default: str,
    state: dict,
    shared: bool = False,
    others: tuple | list = (),
    unmarked_ok: tuple | list = (),
) -> str:
    """Why ``path`` cannot be the role's folder, or ''.

    ``state`` is what the host says about the path: ``kind`` (absent, dir, file, other), ``link``
    (whether the path is a link), ``real`` (the path with every link resolved), ``entries`` (some
    names in the folder, the marker excluded) and ``marked`` (whether the marker is there).
    ``unmarked_ok``: the role's own folders by contract (its defaults, which releases before the
    marker made without it): accepted without the marker, and not refused as a folder of the
    collection (owned_paths lists them so that other roles cannot take them).
    """
    normal = posixpath.normpath(path) if str(path).startswith("/") else str(path)
    real = state.get("real") or normal
    problem = _path_problem(variable, path, default, others, shared or normal in unmarked_ok)
    if problem:
        return problem
    kind = state.get("kind", "absent")
    if real != normal:
        problem = _path_problem(variable, real, default, others, shared or real in unmarked_ok)
        if problem:
            return f"{variable} is {normal}, which leads to {real}: {problem}"
    if kind == "absent":
        return ""
    if kind != "dir":
        return (
            f"{variable} is {normal}, which is a {'file' if kind == 'file' else 'special file'}, "
            f"not a folder: set {variable} to a folder of its own (the default is {default})"
        )
    entries = sorted(state.get("entries") or [])
    if not entries or state.get("marked") or normal in unmarked_ok or real in unmarked_ok:
        return ""
    listed = ", ".join(entries[:SHOWN]) + (", ..." if len(entries) > SHOWN else "")
    return (
        f"{variable} is {normal}, which already holds files this collection did not put there "
        f"({listed}) and no {MARKER} marker: the role would make the folder root's and put its "
        f"files among them. Set {variable} to a new or empty folder of its own (the default is "
        f"{default})"
    )


def host_state(path: str) -> dict:
    """What :func:`folder_problem` needs to know, read without following a link at the path."""
    state = {"kind": "absent", "link": False, "real": os.path.realpath(path), "entries": []}
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return state
    state["link"] = stat.S_ISLNK(st.st_mode)
    try:
        st = os.stat(path)
    except OSError:
        state["kind"] = "other"  # a link that leads nowhere
        return state
    if not stat.S_ISDIR(st.st_mode):
        state["kind"] = "file" if stat.S_ISREG(st.st_mode) else "other"
        return state
    state["kind"] = "dir"
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.name == MARKER:
                state["marked"] = entry.is_file(follow_symlinks=False)
            elif len(state["entries"]) <= SHOWN:
                state["entries"].append(entry.name)
    return state


def folder_refusals(folders: list, unmarked_ok: list) -> tuple[list, list]:
    """The problems of ``folders`` (the own_folders module's option) read on this host, and each
    folder's ``(path, state)``. Used by every module that refuses folders before it acts, so
    that each refusal reads the same."""
    problems, states = [], []
    for folder in folders:
        path = str(folder.get("path") or "")
        state = host_state(path) if path.startswith("/") else {}
        states.append((path, state))
        problem = folder_problem(
            str(folder["variable"]),
            path,
            str(folder.get("default") or ""),
            state,
            shared=bool(folder.get("shared", False)),
            others=[str(other) for other in folder.get("others") or []],
            unmarked_ok=unmarked_ok,
        )
        if problem:
            problems.append(problem)
    return problems, states
