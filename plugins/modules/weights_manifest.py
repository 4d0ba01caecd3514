#!/usr/bin/python
# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: weights_manifest
short_description: List the model files to fetch, with their size and sha256
version_added: 0.1.0
author: sparkops.llm maintainers
description:
  - For a Hugging Face source, reads the Hub's file listing of I(repo) at I(revision)
    (C(GET /api/models/{repo}/tree/{revision}?recursive=true), the call behind
    C(HfApi.list_repo_tree)), keeps the files matching I(patterns), and takes each file's sha256
    from the Hub's LFS metadata (C(lfs.oid)). Pinned hashes (I(pins)) must agree with the Hub, and
    stand in for it where the Hub reports none.
  - For plain URLs, takes names and sha256 from I(urls) and asks each URL for its size
    (C(HEAD), C(Content-Length)) where the entry gives none.
  - When I(stamp) records a verified download of the same source at a commit revision (or the same
    URL list) and every file still has the recorded size and mtime, the manifest comes from the
    stamp and no request is made. Re-runs work offline and cost nothing.
  - A pinned hash or a URL entry's sha256 that is not 64 hex digits, a URL that is not http(s),
    an unknown key in a URL entry and a file name that would leave the model folder are refused
    before any request, naming the entry.
  - Reads only; never changes the host.
options:
  kind:
    description: C(hf) for the Hugging Face Hub, C(url) for plain URLs.
    type: str
    choices: [hf, url]
    required: true
  endpoint:
    description: The Hub's base URL (what C(HF_ENDPOINT) sets for the C(hf) CLI).
    type: str
    default: https://huggingface.co
  repo:
    description: Hub repository, C(owner/name).
    type: str
    default: ""
  revision:
    description: Branch, tag or 40-character commit.
    type: str
    default: main
  patterns:
    description: Glob patterns (fnmatch) of the files to fetch; each must match at least one file.
    type: list
    elements: str
    default: []
  pins:
    description: Known sha256 per file name; must agree with the Hub where it reports one.
    type: dict
    default: {}
  token:
    description: Hub access token, sent as C(Authorization Bearer) to the Hub only.
    type: str
    default: ""
  urls:
    description: Plain URL entries, each with C(url), C(sha256) and optional C(name) and C(size).
    type: list
    elements: dict
    default: []
  stamp:
    description: The verified-files stamp written by M(sparkops.llm.weights_verify).
    type: path
  directory:
    description: The model folder the stamp describes.
    type: path
    required: true
  timeout:
    description: Seconds to wait for each request.
    type: int
    default: 30
  validate_certs:
    description: Check TLS certificates.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
"""

EXAMPLES = r"""
- name: List gpt-oss-120b's shards at a pinned revision
  sparkops.llm.weights_manifest:
    kind: hf
    repo: ggml-org/gpt-oss-120b-GGUF
    revision: d932fcea62f83e088d8f076a2cd2d7eb02dfa682
    patterns: ["gpt-oss-120b-mxfp4-0000?-of-00003.gguf"]
    token: "{{ vault_hf_token }}"
    directory: /var/lib/sparkops/models/gpt-oss-120b
    stamp: /var/lib/sparkops/models/gpt-oss-120b/.verified.json
  no_log: true
"""

RETURN = r"""
files:
  description:
    - The files, sorted by name, each with C(name), C(size), C(sha256), C(sha256_from)
      (hub, pin, list, or git for a file kept in git whose content was read and checked
      against its blob id) and for URLs C(url).
  returned: always
  type: list
  elements: dict
total_bytes:
  description: Sum of the files' sizes.
  returned: always
  type: int
source_id:
  description: Short hash of the source settings, stored in the stamp.
  returned: always
  type: str
from_stamp:
  description: Whether the manifest came from the stamp without any request.
  returned: always
  type: bool
where:
  description: The source in words, for messages.
  returned: always
  type: str
"""

import json
import os
from urllib.parse import quote

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url
from ansible_collections.sparkops.llm.plugins.module_utils.weights import (
    GIT_FILE_LIMIT,
    WeightsError,
    check_pins,
    check_url_entries,
    hub_manifest,
    is_commit,
    next_link,
    parse_tree,
    source_id,
    stamp_manifest,
    url_manifest,
)


def read_stamp(path: str | None) -> dict:
    if not path or not os.path.isfile(path):
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def file_stats(directory: str, names: list[str]) -> dict:
    stats = {}
    for name in names:
        try:
            st = os.stat(os.path.join(directory, name))
            stats[name] = (st.st_size, st.st_mtime_ns)
        except OSError:
            stats[name] = None
    return stats


def hub_open(module: AnsibleModule, url: str, headers: dict, **options):
    """One request to the endpoint, with the token when there is one (the only place it is set)."""
    p = module.params
    if p["token"]:
        headers = {**headers, "Authorization": f"Bearer {p['token']}"}
    return open_url(
        url,
        headers=headers,
        timeout=p["timeout"],
        validate_certs=p["validate_certs"],
        http_agent="sparkops.llm-weights",
        **options,
    )


def hub_listing(module: AnsibleModule, where: str) -> dict:
    p = module.params
    url = (
        f"{p['endpoint'].rstrip('/')}/api/models/{p['repo']}/tree/"
        f"{quote(p['revision'], safe='')}?recursive=true"
    )
    entries = []
    while url:
        try:
            response = hub_open(module, url, {"Accept": "application/json"})
        except Exception as exc:  # HTTPError, URLError, socket errors: all end the same way
            code = getattr(exc, "code", None)
            hint = {
                401: "the Hub refused the token: set a valid weights_hf_token (vault)",
                403: "the token has no access: accept the model's terms or use another token",
                404: "no such repository or revision: check weights_hf_repo, weights_hf_revision",
            }.get(code, "check the network and weights_hf_endpoint")
            module.fail_json(msg=f"Cannot list the files of {where}: {exc} ({hint}).")
        entries.extend(json.loads(response.read().decode("utf-8")))
        url = next_link(response.headers.get("Link"))
    return parse_tree(entries)


def git_file_reader(module: AnsibleModule, where: str):
    """Reads a file kept in git (no LFS) at the pinned revision, for its blob-id check. Redirects
    are not followed, so the token never leaves the endpoint: the Hub serves such files itself."""
    p = module.params

    def read(name: str) -> bytes:
        url = (
            f"{p['endpoint'].rstrip('/')}/{p['repo']}/resolve/"
            f"{quote(p['revision'], safe='')}/{quote(name)}"
        )
        try:
            response = hub_open(module, url, {}, follow_redirects="none")
            return response.read(GIT_FILE_LIMIT + 1)
        except Exception as exc:
            module.fail_json(msg=f"Cannot read {name} from {where} to verify it: {exc}.")

    return read


def url_sizes(module: AnsibleModule) -> dict:
    sizes = {}
    for entry in module.params["urls"]:
        if entry.get("size"):
            continue
        try:
            response = open_url(
                entry["url"],
                method="HEAD",
                timeout=module.params["timeout"],
                validate_certs=module.params["validate_certs"],
                http_agent="sparkops.llm-weights",
            )
            length = response.headers.get("Content-Length")
            sizes[entry["url"]] = int(length) if length else None
        except Exception as exc:
            module.fail_json(msg=f"Cannot reach {entry['url']}: {exc}. Check weights_urls.")
    return sizes


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "kind": {"type": "str", "choices": ["hf", "url"], "required": True},
            "endpoint": {"type": "str", "default": "https://huggingface.co"},
            "repo": {"type": "str", "default": ""},
            "revision": {"type": "str", "default": "main"},
            "patterns": {"type": "list", "elements": "str", "default": []},
            "pins": {"type": "dict", "default": {}},
            "token": {"type": "str", "default": "", "no_log": True},
            "urls": {"type": "list", "elements": "dict", "default": []},
            "stamp": {"type": "path"},
            "directory": {"type": "path", "required": True},
            "timeout": {"type": "int", "default": 30},
            "validate_certs": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    p = module.params
    # Malformed hashes and URL entries are refused before the stamp or the network is read.
    try:
        if p["kind"] == "hf":
            check_pins(p["pins"])
        else:
            check_url_entries(p["urls"])
    except WeightsError as exc:
        module.fail_json(msg=str(exc))
    if p["kind"] == "hf":
        source = {
            "kind": "hf",
            "repo": p["repo"],
            "revision": p["revision"],
            "patterns": sorted(p["patterns"]),
            "pins": {k: v.lower() for k, v in sorted(p["pins"].items())},
        }
        where = f"{p['endpoint'].rstrip('/')}/{p['repo']} at revision {p['revision']}"
        cacheable = is_commit(p["revision"])
    else:
        source = {"kind": "url", "urls": [{k: e.get(k) for k in sorted(e)} for e in p["urls"]]}
        where = f"{len(p['urls'])} URL(s) from weights_urls"
        cacheable = True
    sid = source_id(source)

    stamp = read_stamp(p["stamp"])
    if cacheable and stamp.get("source_id") == sid:
        names = [item["name"] for item in stamp.get("manifest") or []]
        cached = stamp_manifest(stamp, sid, file_stats(p["directory"], names))
        if cached is not None:
            module.exit_json(
                changed=False,
                files=cached,
                total_bytes=sum(item["size"] for item in cached),
                source_id=sid,
                from_stamp=True,
                where=where,
            )

    try:
        if p["kind"] == "hf":
            files = hub_manifest(
                hub_listing(module, where),
                p["patterns"],
                p["pins"],
                where,
                read=git_file_reader(module, where),
            )
        else:
            files = url_manifest(p["urls"], url_sizes(module))
    except WeightsError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(
        changed=False,
        files=files,
        total_bytes=sum(item["size"] for item in files),
        source_id=sid,
        from_stamp=False,
        where=where,
    )


if __name__ == "__main__":
    main()
