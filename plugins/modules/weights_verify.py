#!/usr/bin/python
# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: weights_verify
short_description: Check model files against their sha256, once, and remember the result
version_added: 0.1.0
author: sparkops.llm maintainers
description:
  - For each file of I(files) in I(directory), decides whether it is verified, missing or bad.
  - A file whose size and mtime equal those recorded in I(stamp) with the same expected sha256 is
    verified without being read. Any other file of the right size is hashed (sha256) once; a match
    is recorded in the stamp, so it is never hashed again while it is unchanged.
  - A file of the wrong size or the wrong sha256 is bad. With I(remove_bad) it is deleted, so that
    the next download fetches it again.
  - Also reports the bytes of partial downloads in I(directory) (C(*.incomplete) of the C(hf) CLI,
    C(*.part) of curl) and the free space of the file system that holds (or will hold) the folder.
  - Creates nothing when the folder does not exist.
options:
  directory:
    description: The model folder.
    type: path
    required: true
  files:
    description: Items C(name), C(size), C(sha256), as from M(sparkops.llm.weights_manifest).
    type: list
    elements: dict
    required: true
  stamp:
    description: JSON file recording each verified file's size, mtime (ns) and sha256.
    type: path
    required: true
  source_id:
    description: Id of the source, stored in the stamp with the manifest.
    type: str
    default: ""
  remove_bad:
    description: Delete files of the wrong size or sha256.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
"""

EXAMPLES = r"""
- name: Verify the shards
  sparkops.llm.weights_verify:
    directory: /var/lib/sparkops/models/gpt-oss-120b
    files: "{{ manifest.files }}"
    stamp: /var/lib/sparkops/models/gpt-oss-120b/.verified.json
    source_id: "{{ manifest.source_id }}"
"""

RETURN = r"""
verified:
  description: Names of the verified files.
  returned: always
  type: list
  elements: str
missing:
  description: Names of the files to download (absent, or removed as bad).
  returned: always
  type: list
  elements: str
bad:
  description: Bad files, each with C(name), C(reason), C(expected) and C(sha256) or C(size) found.
  returned: always
  type: list
  elements: dict
hashed:
  description: Names of the files read and hashed in this run.
  returned: always
  type: list
  elements: str
bytes_missing:
  description: Total size of the missing files.
  returned: always
  type: int
bytes_partial:
  description: Bytes of partial downloads already in the folder.
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

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sparkops.llm.plugins.module_utils.weights import (
    stamp_entry,
    stamp_says_verified,
)

CHUNK = 8 * 1024 * 1024


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while True:
            block = handle.read(CHUNK)
            if not block:
                break
            digest.update(block)
    return digest.hexdigest()


def partial_bytes(directory: str) -> int:
    total = 0
    for root, _dirs, names in os.walk(directory):
        for name in names:
            if name.endswith((".incomplete", ".part")):
                try:
                    total += os.stat(os.path.join(root, name)).st_size
                except OSError:
                    pass
    return total


def existing_ancestor(path: str) -> str:
    while not os.path.isdir(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    return path


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "directory": {"type": "path", "required": True},
            "files": {"type": "list", "elements": "dict", "required": True},
            "stamp": {"type": "path", "required": True},
            "source_id": {"type": "str", "default": ""},
            "remove_bad": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    p = module.params
    directory = p["directory"]
    stamp = {}
    if os.path.isfile(p["stamp"]):
        try:
            with open(p["stamp"], encoding="utf-8") as handle:
                stamp = json.load(handle)
        except (OSError, ValueError):
            stamp = {}
    if not isinstance(stamp, dict):
        stamp = {}

    verified, missing, bad, hashed, removed_paths = [], [], [], [], []
    entries = {}
    for item in p["files"]:
        name, size, expected = item["name"], int(item["size"]), item["sha256"].lower()
        path = os.path.join(directory, name)
        try:
            st = os.stat(path)
        except OSError:
            missing.append(name)
            continue
        if stamp_says_verified(stamp, name, st.st_size, st.st_mtime_ns, expected):
            verified.append(name)
            entries[name] = stamp_entry(st.st_size, st.st_mtime_ns, expected)
            continue
        if st.st_size != size:
            problem = {
                "name": name,
                "reason": f"size {st.st_size} bytes, expected {size}",
                "size": st.st_size,
                "expected": expected,
            }
        else:
            found = sha256_of(path)
            hashed.append(name)
            if found == expected:
                verified.append(name)
                entries[name] = stamp_entry(st.st_size, st.st_mtime_ns, expected)
                continue
            problem = {
                "name": name,
                "reason": f"sha256 {found}, expected {expected}",
                "sha256": found,
                "expected": expected,
            }
        bad.append(problem)
        missing.append(name)
        removed_paths.append(path)

    new_stamp = {
        "source_id": p["source_id"],
        "manifest": p["files"],
        "files": entries,
    }
    stamp_changes = os.path.isdir(directory) and new_stamp != stamp and (entries or stamp)
    changed = bool(stamp_changes) or bool(removed_paths and p["remove_bad"])
    if not module.check_mode:
        if p["remove_bad"]:
            for path in removed_paths:
                os.unlink(path)
        if stamp_changes:
            tmp_path = p["stamp"] + ".tmp"
            with open(tmp_path, "w", encoding="utf-8") as handle:
                json.dump(new_stamp, handle, indent=2, sort_keys=True)
                handle.write("\n")
            os.chmod(tmp_path, 0o644)
            module.atomic_move(tmp_path, p["stamp"])

    measured = existing_ancestor(directory)
    vfs = os.statvfs(measured)
    sizes = {item["name"]: int(item["size"]) for item in p["files"]}
    module.exit_json(
        changed=changed,
        verified=verified,
        missing=missing,
        bad=bad,
        hashed=hashed,
        bytes_missing=sum(sizes[name] for name in missing),
        bytes_partial=partial_bytes(directory) if os.path.isdir(directory) else 0,
        free_bytes=vfs.f_bavail * vfs.f_frsize,
        free_path=measured,
    )


if __name__ == "__main__":
    main()
