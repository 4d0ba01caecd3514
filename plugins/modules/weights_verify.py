#!/usr/bin/python
# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: weights_verify
short_description: Check model files against their sha256, and move verified downloads into place
version_added: 0.1.0
author: sparkops.llm maintainers
description:
  - For each file of I(files), decides whether it is verified, missing, to be replaced, or to be
    refused. Downloads land in I(incoming) (the model folder's C(.incoming)); a file reaches its
    name in I(directory) only once its sha256 matched, so nothing unverified is ever at that name.
  - A file whose size and mtime equal those recorded in I(stamp) with the same expected sha256 is
    verified without being read. Any other file of the right size is hashed (sha256) once; a match
    is recorded in the stamp, so it is never hashed again while it is unchanged.
  - A file at its name with the wrong size or sha256 that the stamp records (the role downloaded
    it) is fetched again and replaced once the new copy is verified. One the stamp does not record
    was put there by someone else, so it is refused, never replaced. So is a link or a folder at a
    file's name, a link as the model folder, and a name that would leave the folder.
  - With I(settle), each complete download in I(incoming) is hashed; a match is renamed to its
    name. A mismatch is kept as C(<name>.sha256-mismatch), recorded in the stamp, and the module
    fails naming the file, both sha256 and the variable to correct. Later runs refuse to fetch that
    file again while the kept file is there, and put it in place without a download once the
    expected sha256 is the one it holds.
  - Reports the bytes already in I(incoming) (partial and complete downloads) and the free space of
    the file system that holds (or will hold) the folder. Creates nothing when the folder does not
    exist; refusals change nothing.
options:
  directory:
    description: The model folder.
    type: path
    required: true
  files:
    description:
      - Items C(name), C(size), C(sha256), C(sha256_from), as from M(sparkops.llm.weights_manifest).
    type: list
    elements: dict
    required: true
  stamp:
    description:
      - JSON file recording each verified file's size, mtime (ns) and sha256, and each set-aside
        download.
    type: path
    required: true
  source_id:
    description: Id of the source, stored in the stamp with the manifest.
    type: str
    default: ""
  incoming:
    description: Where downloads land; C(<directory>/.incoming) when not given.
    type: path
  where:
    description: The source in words, for messages and the record of a set-aside download.
    type: str
    default: ""
  settle:
    description: Verify the complete downloads in I(incoming) and move them into place (or aside).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
"""

EXAMPLES = r"""
- name: Check the shards already present
  sparkops.llm.weights_verify:
    directory: /var/lib/sparkops/models/gpt-oss-120b
    files: "{{ manifest.files }}"
    stamp: /var/lib/sparkops/models/gpt-oss-120b/.verified.json
    source_id: "{{ manifest.source_id }}"

- name: Verify the downloads and move them into place
  sparkops.llm.weights_verify:
    directory: /var/lib/sparkops/models/gpt-oss-120b
    files: "{{ manifest.files }}"
    stamp: /var/lib/sparkops/models/gpt-oss-120b/.verified.json
    source_id: "{{ manifest.source_id }}"
    where: "{{ manifest.where }}"
    settle: true
"""

RETURN = r"""
verified:
  description: Names of the verified files (in place).
  returned: always
  type: list
  elements: str
missing:
  description: Names of the files to download (absent, or to be replaced).
  returned: always
  type: list
  elements: str
bad:
  description:
    - Files the role downloaded that are damaged, each with C(name) and C(reason); each is
      replaced once a new copy is verified.
  returned: always
  type: list
  elements: dict
restorable:
  description: Names whose set-aside download is what is expected now (I(settle) puts it in place).
  returned: always
  type: list
  elements: str
settled:
  description: Names moved into place by this call.
  returned: always
  type: list
  elements: str
set_aside:
  description: Names whose download did not match and was kept as C(<name>.sha256-mismatch).
  returned: always
  type: list
  elements: str
hashed:
  description: Names of the files read and hashed in this call.
  returned: always
  type: list
  elements: str
bytes_missing:
  description: Total size of the missing files.
  returned: always
  type: int
bytes_partial:
  description: Bytes of downloads already in I(incoming).
  returned: always
  type: int
free_bytes:
  description: Free bytes on the file system of I(free_path) (statvfs C(f_bavail)).
  returned: always
  type: int
free_path:
  description: The existing folder whose file system was measured.
  returned: always
  type: str
"""

import hashlib
import json
import os
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sparkops.llm.plugins.module_utils.weights import (
    INCOMING,
    aside_decision,
    aside_name,
    aside_record,
    foreign_aside_message,
    mismatch_message,
    name_problem,
    not_a_file_message,
    stale_aside_message,
    stamp_entry,
    stamp_says_verified,
    unrecorded_file_message,
)

CHUNK = 8 * 1024 * 1024
KINDS = {stat.S_IFREG: "file", stat.S_IFDIR: "folder", stat.S_IFLNK: "link"}


def lstat(path: str):
    """(kind, stat) without following a link: kind is absent, file, folder, link or special file."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "absent", None
    return KINDS.get(stat.S_IFMT(st.st_mode), "special file"), st


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(descriptor, "rb") as handle:
        while True:
            block = handle.read(CHUNK)
            if not block:
                break
            digest.update(block)
    return digest.hexdigest()


def bytes_under(folder: str) -> int:
    """Bytes of the regular files under the staging folder (partial and complete downloads)."""
    total = 0
    for root, _dirs, names in os.walk(folder):
        for name in names:
            kind, st = lstat(os.path.join(root, name))
            if kind == "file":
                total += st.st_size
    return total


def existing_ancestor(path: str) -> str:
    while not os.path.isdir(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    return path


def read_stamp(path: str) -> dict:
    if lstat(path)[0] != "file":
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def parent_problem(top: str, name: str) -> str:
    """A link or a file among the folders between ``top`` and ``name``, which a write would
    follow or trip on; '' when each is a real folder or absent."""
    path = top
    for part in name.split("/")[:-1]:
        path = os.path.join(path, part)
        kind, _st = lstat(path)
        if kind == "absent":
            return ""
        if kind != "folder":
            return not_a_file_message(path, kind)
    return ""


def make_parents(top: str, name: str) -> None:
    path = top
    for part in name.split("/")[:-1]:
        path = os.path.join(path, part)
        if lstat(path)[0] == "absent":
            os.mkdir(path, 0o755)


class Plan:
    def __init__(self):
        self.verified, self.missing, self.bad, self.restorable = [], [], [], []
        self.hashed, self.refusals = [], []
        self.entries, self.records = {}, {}
        # (name, staged path, final path, kind of move, record for a set-aside file)
        self.moves = []


def plan_file(plan: Plan, item: dict, p: dict, stamp: dict, incoming: str) -> None:
    name, size = item["name"], int(item["size"])
    expected, sha256_from = item["sha256"].lower(), item.get("sha256_from", "")
    problem = name_problem(name)
    if problem:
        plan.refusals.append(f"The manifest names {name!r}, which is {problem}.")
        return
    final = os.path.join(p["directory"], name)
    aside = os.path.join(p["directory"], aside_name(name))
    for top in (p["directory"], incoming):
        problem = parent_problem(top, name)
        if problem:
            plan.refusals.append(problem)
            return
    recorded = stamp.get("files", {}).get(name)
    record = stamp.get("mismatch", {}).get(name)

    kind, st = lstat(final)
    if kind not in ("absent", "file"):
        plan.refusals.append(not_a_file_message(final, kind))
        return
    if kind == "file":
        if stamp_says_verified(stamp, name, st.st_size, st.st_mtime_ns, expected):
            plan.verified.append(name)
            plan.entries[name] = stamp_entry(st.st_size, st.st_mtime_ns, expected)
            if record:
                plan.records[name] = record
            return
        if st.st_size != size:
            reason = f"size {st.st_size} bytes, expected {size}"
        else:
            found = sha256_of(final)
            plan.hashed.append(name)
            if found == expected:
                plan.verified.append(name)
                plan.entries[name] = stamp_entry(st.st_size, st.st_mtime_ns, expected)
                if record:
                    plan.records[name] = record
                return
            reason = f"sha256 {found}, expected {expected}"
        if not recorded:
            plan.refusals.append(unrecorded_file_message(final, reason, sha256_from))
            return
        # The role's own download, damaged since: it stays recorded (so it stays the role's to
        # replace) until a verified copy takes its name.
        plan.bad.append({"name": name, "reason": reason, "expected": expected})
        plan.entries[name] = recorded

    aside_kind, aside_st = lstat(aside)
    seen = None
    if aside_kind == "file":
        seen = (aside_st.st_size, aside_st.st_mtime_ns)
    elif aside_kind != "absent":
        seen = "other"
    decision = aside_decision(record, seen, expected, size)
    if decision == "foreign":
        plan.refusals.append(foreign_aside_message(name, aside))
        return
    if decision == "refuse":
        plan.records[name] = record
        plan.refusals.append(mismatch_message(name, aside, record, size, earlier=True))
        return
    if decision == "stale":
        plan.records[name] = record
        plan.refusals.append(stale_aside_message(name, aside, record, expected, sha256_from))
        return
    if decision == "restore":
        plan.records[name] = record  # still the role's until it has taken its name
        plan.restorable.append(name)
        plan.moves.append((name, aside, final, "restore", None))
        return
    plan.missing.append(name)

    staged = os.path.join(incoming, name)
    staged_kind, staged_st = lstat(staged)
    if staged_kind not in ("absent", "file"):
        plan.refusals.append(not_a_file_message(staged, staged_kind))
        return
    if staged_kind == "absent" or not p["settle"]:
        return
    # A complete download, as the fetch script leaves it: verified here before it takes its name.
    found = sha256_of(staged)
    plan.hashed.append(name)
    if found == expected and staged_st.st_size == size:
        plan.moves.append((name, staged, final, "verified", None))
        return
    kept = aside_record(
        staged_st.st_size, staged_st.st_mtime_ns, found, expected, sha256_from, p["where"]
    )
    plan.moves.append((name, staged, aside, "aside", kept))


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "directory": {"type": "path", "required": True},
            "files": {"type": "list", "elements": "dict", "required": True},
            "stamp": {"type": "path", "required": True},
            "source_id": {"type": "str", "default": ""},
            "incoming": {"type": "path"},
            "where": {"type": "str", "default": ""},
            "settle": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    p = module.params
    directory = p["directory"]
    incoming = p["incoming"] or os.path.join(directory, INCOMING)
    for folder in (directory, incoming):
        kind, _st = lstat(folder)
        if kind not in ("absent", "folder"):
            module.fail_json(
                msg=f"{folder} is a {kind}, not a folder this role made: the role writes model "
                "files only into a folder of its own. Move it away, or set weights_models_dir to "
                "another folder. Nothing was changed."
            )
    stamp = read_stamp(p["stamp"])
    for key in ("files", "mismatch"):
        if not isinstance(stamp.get(key), dict):
            stamp[key] = {}

    plan = Plan()
    for item in p["files"]:
        plan_file(plan, item, p, stamp, incoming)
    if plan.refusals:
        module.fail_json(msg=" ".join(plan.refusals) + " Nothing was changed.")

    settled, set_aside, failures = [], [], []
    if p["settle"]:
        sizes = {item["name"]: int(item["size"]) for item in p["files"]}
        for name, source, target, how, kept in plan.moves:
            if how == "aside":
                set_aside.append(name)
                plan.records[name] = kept
                failures.append(mismatch_message(name, target, kept, sizes[name]))
            else:
                settled.append(name)
                plan.missing = [other for other in plan.missing if other != name]
                plan.restorable = [other for other in plan.restorable if other != name]
                plan.verified.append(name)
            if module.check_mode:
                continue
            make_parents(directory, name)
            # rename() replaces only a regular file the role recorded (checked above) and never
            # follows a link at its target.
            os.replace(source, target)
            if how != "aside":
                st = os.lstat(target)
                expected = next(i["sha256"].lower() for i in p["files"] if i["name"] == name)
                plan.entries[name] = stamp_entry(st.st_size, st.st_mtime_ns, expected)
                plan.records.pop(name, None)

    new_stamp = {
        "source_id": p["source_id"],
        "manifest": p["files"],
        "files": plan.entries,
        "mismatch": plan.records,
    }
    old_stamp = {key: stamp.get(key) for key in new_stamp}
    stamp_changes = (
        lstat(directory)[0] == "folder"
        and new_stamp != old_stamp
        and bool(plan.entries or plan.records or stamp.get("files") or stamp.get("mismatch"))
    )
    changed = bool(stamp_changes or settled or set_aside)
    if stamp_changes and not module.check_mode:
        tmp_path = p["stamp"] + ".tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
        with os.fdopen(os.open(tmp_path, flags, 0o644), "w", encoding="utf-8") as handle:
            json.dump(new_stamp, handle, indent=2, sort_keys=True)
            handle.write("\n")
        module.atomic_move(tmp_path, p["stamp"])

    measured = existing_ancestor(directory)
    vfs = os.statvfs(measured)
    sizes = {item["name"]: int(item["size"]) for item in p["files"]}
    result = {
        "changed": changed,
        "verified": plan.verified,
        "missing": plan.missing,
        "bad": plan.bad,
        "restorable": plan.restorable,
        "settled": settled,
        "set_aside": set_aside,
        "hashed": plan.hashed,
        "bytes_missing": sum(sizes[name] for name in plan.missing),
        "bytes_partial": bytes_under(incoming) if lstat(incoming)[0] == "folder" else 0,
        "free_bytes": vfs.f_bavail * vfs.f_frsize,
        "free_path": measured,
    }
    if failures:
        module.fail_json(msg=" ".join(failures), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
