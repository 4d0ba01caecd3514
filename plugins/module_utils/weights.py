# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure logic of the weights role: the Hub's file listing, pattern matching, the verified-file
stamp and the disk arithmetic. No I/O here, so every rule is unit-tested without a host.

The Hub's tree listing (``GET /api/models/{repo}/tree/{revision}?recursive=true``, what
huggingface_hub's ``HfApi.list_repo_tree`` reads into ``RepoFile``) is a JSON list of entries
``{"type": "file", "oid": <git blob sha1>, "size": N, "path": ...,
"lfs": {"oid": <sha256>, "size": N, "pointerSize": N}, "xetHash": ...}``; ``lfs.oid`` is the
sha256 of the file's content. The model-info form (``/api/models/{repo}/revision/{rev}?blobs=true``)
lists ``siblings`` as ``{"rfilename", "size", "blobId", "lfs": {"sha256", "size", "pointerSize"}}``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
SHARD_RE = re.compile(r"-0*1-of-\d+\.gguf$")
GIB = 1024**3


class WeightsError(Exception):
    """A problem the user must fix; the message says what to change."""


def is_commit(revision: str) -> bool:
    return bool(COMMIT_RE.match(revision or ""))


def match_patterns(names: list[str], patterns: list[str]) -> list[str]:
    """Names matching any glob pattern, sorted (fnmatch, like huggingface_hub's filter)."""
    return sorted({name for name in names if any(fnmatch.fnmatch(name, p) for p in patterns)})


def parse_tree(entries: list[dict]) -> dict[str, dict]:
    """Map path -> {size, sha256 (None when the Hub gives no LFS sha256)} from a tree listing."""
    files = {}
    for entry in entries:
        if entry.get("type") != "file":
            continue
        lfs = entry.get("lfs") or {}
        sha256 = (lfs.get("oid") or lfs.get("sha256") or "").lower() or None
        size = lfs.get("size", entry.get("size"))
        files[entry["path"]] = {"size": int(size) if size is not None else None, "sha256": sha256}
    return files


def parse_siblings(model_info: dict) -> dict[str, dict]:
    """The same map from a model-info answer fetched with ``blobs=true``."""
    files = {}
    for sibling in model_info.get("siblings") or []:
        lfs = sibling.get("lfs") or {}
        sha256 = (lfs.get("sha256") or "").lower() or None
        size = lfs.get("size", sibling.get("size"))
        files[sibling["rfilename"]] = {
            "size": int(size) if size is not None else None,
            "sha256": sha256,
        }
    return files


def next_link(link_header: str | None) -> str | None:
    """URL of rel="next" in an RFC 8288 Link header (the Hub paginates tree listings this way)."""
    for part in (link_header or "").split(","):
        match = re.match(r"\s*<([^>]+)>\s*;(.*)$", part)
        if match and re.search(r'rel="?next"?', match.group(2)):
            return match.group(1)
    return None


def hub_manifest(
    listing: dict[str, dict], patterns: list[str], pins: dict[str, str], where: str
) -> list[dict]:
    """Files to fetch, each {name, size, sha256, sha256_from}: Hub listing filtered by patterns,
    sha256 from the Hub's LFS metadata, cross-checked against pinned hashes."""
    names = match_patterns(list(listing), patterns)
    unmatched = [p for p in patterns if not any(fnmatch.fnmatch(n, p) for n in listing)]
    if unmatched:
        raise WeightsError(
            f"{where} has no file matching {', '.join(unmatched)}. Files there: "
            f"{', '.join(sorted(listing)) or 'none'}. Fix weights_hf_files or weights_hf_revision."
        )
    pins = {name: value.lower() for name, value in (pins or {}).items()}
    manifest = []
    for name in names:
        info = listing[name]
        hub, pin = info.get("sha256"), pins.get(name)
        if hub and pin and hub != pin:
            raise WeightsError(
                f"{where} reports sha256 {hub} for {name}, but weights_hf_sha256 pins {pin}. "
                "The pinned revision does not hold the file you pinned: correct weights_hf_sha256 "
                "or weights_hf_revision."
            )
        sha256 = hub or pin
        if not sha256:
            raise WeightsError(
                f"{where} reports no sha256 for {name} (no LFS metadata, for example a Xet-only "
                "file) and weights_hf_sha256 pins none: the file could not be verified. Add its "
                "sha256 to weights_hf_sha256."
            )
        if info.get("size") is None:
            raise WeightsError(f"{where} reports no size for {name}.")
        manifest.append(
            {
                "name": name,
                "size": info["size"],
                "sha256": sha256,
                "sha256_from": "hub" if hub else "pin",
            }
        )
    return manifest


def url_manifest(urls: list[dict], sizes: dict[str, int | None]) -> list[dict]:
    """Files from weights_urls entries {url, sha256, name?, size?}; sizes fills missing sizes."""
    manifest, seen = [], set()
    for entry in urls:
        name = entry.get("name") or entry["url"].split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        sha256 = (entry.get("sha256") or "").lower()
        if not SHA256_RE.match(sha256):
            raise WeightsError(
                f"weights_urls entry {entry['url']} needs a sha256 of 64 hex characters "
                f"(got '{entry.get('sha256', '')}')."
            )
        if name in seen or "/" in name or name in ("", ".", ".."):
            raise WeightsError(f"weights_urls: file name '{name}' is repeated or not a plain name.")
        seen.add(name)
        size = entry.get("size") or sizes.get(entry["url"])
        if not size:
            raise WeightsError(
                f"{entry['url']} does not report its size (no Content-Length): add size: <bytes> "
                "to its weights_urls entry."
            )
        manifest.append(
            {
                "name": name,
                "size": int(size),
                "sha256": sha256,
                "sha256_from": "list",
                "url": entry["url"],
            }
        )
    return manifest


def source_id(source: dict) -> str:
    """Stable id of what was asked for; a stamp made for another source is not trusted."""
    return hashlib.sha256(json.dumps(source, sort_keys=True).encode()).hexdigest()[:16]


def first_shard(names: list[str]) -> str:
    """The file to pass to llama-server -m: shard 1 of a split GGUF, else the first name."""
    ordered = sorted(names)
    for name in ordered:
        if SHARD_RE.search(name):
            return name
    return ordered[0] if ordered else ""


def stamp_entry(size: int, mtime_ns: int, sha256: str) -> dict:
    return {"size": size, "mtime_ns": mtime_ns, "sha256": sha256}


def stamp_says_verified(stamp: dict, name: str, size: int, mtime_ns: int, sha256: str) -> bool:
    """True when the stamp recorded this exact file (size and mtime) with the expected hash."""
    entry = (stamp.get("files") or {}).get(name) or {}
    return (
        entry.get("size") == size
        and entry.get("mtime_ns") == mtime_ns
        and entry.get("sha256") == sha256
    )


def stamp_manifest(stamp: dict, sid: str, stats: dict[str, tuple[int, int] | None]) -> list | None:
    """The manifest recorded in the stamp, when it belongs to this source and every file is
    still the one that was verified (size and mtime unchanged); else None."""
    if stamp.get("source_id") != sid or not stamp.get("manifest"):
        return None
    for item in stamp["manifest"]:
        stat = stats.get(item["name"])
        if stat is None or not stamp_says_verified(stamp, item["name"], *stat, item["sha256"]):
            return None
    return stamp["manifest"]


def disk_shortfall(free_bytes: int, missing_bytes: int, partial_bytes: int, margin_bytes: int):
    """(needed, ok): bytes still to write plus the margin, and whether free space covers it.
    Partial downloads already on disk are resumed in place, so they are not counted twice."""
    to_write = max(missing_bytes - partial_bytes, 0)
    needed = to_write + margin_bytes if to_write > 0 else 0
    return needed, free_bytes >= needed


def human(n: int | float) -> str:
    return f"{n / GIB:.2f} GiB ({int(n)} bytes)"
