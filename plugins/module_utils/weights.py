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

A file kept in git rather than LFS (a Hugging Face checkpoint's ``config.json``,
``tokenizer_config.json``) has no sha256 in either form, only its git blob id (``oid``): the sha1
of ``b"blob <size>\\0" + content``, which the pinned commit's tree fixes. Such a file is small
(the Hub sends anything over 10 MB to LFS), so the manifest reads it once, checks it against the
blob id, and takes the sha256 of those bytes as the one every later check uses.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
SHARD_RE = re.compile(r"-0*1-of-\d+\.gguf$")
# The largest file kept in git that the manifest reads to derive a sha256 from its blob id. The
# Hub stores files over 10 MB in LFS, so a plain file above this is not what it claims.
GIT_FILE_LIMIT = 10 * 1024 * 1024


class WeightsError(Exception):
    """A problem the user must fix; the message says what to change."""


# Names the role itself uses in a model folder: the staging folder of downloads, the stamp, and
# the suffixes of its partial and set-aside files. A listed file may not take one of them.
INCOMING = ".incoming"
ASIDE_SUFFIX = ".sha256-mismatch"
RESERVED_NAMES = (INCOMING, ".verified.json", ".verified.json.tmp")
RESERVED_SUFFIXES = (".part", ".incomplete", ASIDE_SUFFIX)
URL_KEYS = ("url", "sha256", "name", "size")
URL_SCHEME_RE = re.compile(r"^https?://[^/\s]+", re.IGNORECASE)
# Where each kind of expected sha256 comes from, as the variable the user sets.
SOURCE_OF_SHA256 = {
    "hub": "the Hub's LFS metadata of weights_hf_repo at weights_hf_revision",
    "pin": "weights_hf_sha256",
    "list": "weights_urls",
    "git": "the git blob id in the Hub's listing of weights_hf_repo at weights_hf_revision",
}


def name_problem(name) -> str:
    """Why a listed file name cannot be written under the model folder, or ''.

    Names come from the Hub's listing or from weights_urls: a hostile or broken listing must not
    reach outside the folder (``../``, an absolute path) or onto the role's own files."""
    if not isinstance(name, str) or not name:
        return "an empty name"
    if name.startswith("/") or "\\" in name or any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "an absolute path or a name with control characters or backslashes"
    parts = name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "a path with an empty, '.' or '..' part"
    if parts[0] in RESERVED_NAMES or name.endswith(RESERVED_SUFFIXES):
        return (
            f"a name the role keeps for itself ({', '.join(RESERVED_NAMES)}, "
            f"*{', *'.join(RESERVED_SUFFIXES)})"
        )
    return ""


def is_sha256(value) -> bool:
    return isinstance(value, str) and bool(SHA256_RE.match(value.lower()))


def check_pins(pins: dict) -> None:
    """Every pinned hash is a sha256 (64 hex digits); checked before any request."""
    for name, value in (pins or {}).items():
        if not is_sha256(value):
            raise WeightsError(
                f"weights_hf_sha256 pins {value!r} for {name}: a sha256 is 64 hex digits. "
                "Correct that entry of weights_hf_sha256 or remove it."
            )


def url_file_name(entry: dict) -> str:
    return entry.get("name") or entry["url"].split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def check_url_entries(urls: list) -> None:
    """weights_urls entries {url, sha256, name?, size?}, checked before any request or file."""
    seen = set()
    for number, entry in enumerate(urls or [], start=1):
        where = f"weights_urls entry {number}"
        if not isinstance(entry, dict):
            raise WeightsError(f"{where} must be a mapping {{url, sha256, name, size}}.")
        unknown = sorted(set(entry) - set(URL_KEYS))
        if unknown:
            raise WeightsError(
                f"{where} has unknown key(s) {', '.join(unknown)}: the keys are "
                f"{', '.join(URL_KEYS)}."
            )
        url = entry.get("url")
        if not isinstance(url, str) or not URL_SCHEME_RE.match(url):
            raise WeightsError(
                f"{where} needs a url that starts with http:// or https:// (got {url!r})."
            )
        where = f"{where} ({url})"
        if not is_sha256(entry.get("sha256")):
            raise WeightsError(
                f"{where} needs a sha256 of 64 hex digits (got {entry.get('sha256', '')!r}): set "
                "its sha256 to the file's published sha256."
            )
        size = entry.get("size")
        if size is not None and (
            isinstance(size, bool) or not str(size).isdigit() or int(size) < 1
        ):
            raise WeightsError(
                f"{where} has size {size!r}: give the size in bytes, or leave it out."
            )
        name = url_file_name(entry)
        problem = name_problem(name) or ("" if "/" not in name else "a path, not a plain name")
        if problem:
            raise WeightsError(f"{where}: its file name {name!r} is {problem}. Set its name.")
        if name in seen:
            raise WeightsError(f"{where}: the file name {name!r} is repeated. Set another name.")
        seen.add(name)


def is_commit(revision: str) -> bool:
    return bool(COMMIT_RE.match(revision or ""))


def match_patterns(names: list[str], patterns: list[str]) -> list[str]:
    """Names matching any glob pattern, sorted (fnmatch, like huggingface_hub's filter)."""
    return sorted({name for name in names if any(fnmatch.fnmatch(name, p) for p in patterns)})


def parse_tree(entries: list[dict]) -> dict[str, dict]:
    """Map path -> {size, sha256 (None when the Hub gives no LFS sha256), git_blob (the blob id of
    a file kept in git, None for an LFS file)} from a tree listing."""
    files = {}
    for entry in entries:
        if entry.get("type") != "file":
            continue
        lfs = entry.get("lfs") or {}
        sha256 = (lfs.get("oid") or lfs.get("sha256") or "").lower() or None
        size = lfs.get("size", entry.get("size"))
        files[entry["path"]] = {
            "size": int(size) if size is not None else None,
            "sha256": sha256,
            "git_blob": None if lfs else (entry.get("oid") or "").lower() or None,
        }
    return files


def git_blob_id(data: bytes) -> str:
    """git's object id of a blob with this content (what the Hub lists as a plain file's oid)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def sha256_of_git_file(name: str, info: dict, read, where: str) -> str:
    """The sha256 of a file kept in git, from bytes whose blob id is the listed one.

    ``read(name)`` returns the file's bytes as the Hub serves them at the pinned revision."""
    if info["size"] is None or info["size"] > GIT_FILE_LIMIT:
        raise WeightsError(
            f"{where} lists {name} without LFS metadata and with "
            f"{'no size' if info['size'] is None else str(info['size']) + ' bytes'}, not a file "
            f"kept in git (at most {GIT_FILE_LIMIT} bytes): it could not be verified. Add its "
            "sha256 to weights_hf_sha256."
        )
    data = read(name)
    found = git_blob_id(data)
    if found != info["git_blob"]:
        raise WeightsError(
            f"{where} served {name} with git blob id {found}, but its listing names "
            f"{info['git_blob']}: the file was changed on the way. Nothing was written; check "
            "weights_hf_endpoint (a proxy or mirror in between) and re-run."
        )
    return hashlib.sha256(data).hexdigest()


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
    listing: dict[str, dict], patterns: list[str], pins: dict[str, str], where: str, read=None
) -> list[dict]:
    """Files to fetch, each {name, size, sha256, sha256_from}: Hub listing filtered by patterns,
    sha256 from the Hub's LFS metadata, cross-checked against pinned hashes. A file kept in git,
    with no LFS sha256 and no pin, gets the sha256 of its content read through ``read(name)``
    and checked against its git blob id."""
    names = match_patterns(list(listing), patterns)
    unmatched = [p for p in patterns if not any(fnmatch.fnmatch(n, p) for n in listing)]
    if unmatched:
        raise WeightsError(
            f"{where} has no file matching {', '.join(unmatched)}. Files there: "
            f"{', '.join(sorted(listing)) or 'none'}. Fix weights_hf_files or weights_hf_revision."
        )
    check_pins(pins)
    pins = {name: value.lower() for name, value in (pins or {}).items()}
    manifest = []
    for name in names:
        problem = name_problem(name)
        if problem:
            raise WeightsError(
                f"{where} lists {name!r}, which matches weights_hf_files but is {problem}: "
                "the role writes files only inside the model folder. Narrow weights_hf_files."
            )
        info = listing[name]
        hub, pin = info.get("sha256"), pins.get(name)
        sha256_from = "hub" if hub else "pin"
        if not hub and not pin and info.get("git_blob") and read is not None:
            hub, sha256_from = sha256_of_git_file(name, info, read, where), "git"
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
                "sha256_from": sha256_from,
            }
        )
    return manifest


def url_manifest(urls: list[dict], sizes: dict[str, int | None]) -> list[dict]:
    """Files from weights_urls entries {url, sha256, name?, size?}; sizes fills missing sizes."""
    check_url_entries(urls)
    manifest = []
    for entry in urls:
        name = url_file_name(entry)
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
                "sha256": entry["sha256"].lower(),
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


def aside_name(name: str) -> str:
    """Where a download whose sha256 is wrong is kept (next to the file it should have been)."""
    return name + ASIDE_SUFFIX


def aside_record(size: int, mtime_ns: int, found: str, expected: str, sha256_from: str, where: str):
    """What the stamp records of a set-aside download: the file as it was left, what it holds,
    and what was expected, so that a later run knows the file and what the user changed."""
    return {
        "size": size,
        "mtime_ns": mtime_ns,
        "sha256": found,
        "expected": expected,
        "sha256_from": sha256_from,
        "where": where,
    }


def aside_decision(record: dict | None, aside: tuple | str | None, expected: str, size: int) -> str:
    """What to do about a set-aside download of one file.

    ``aside``: (size, mtime_ns) of a regular file, "other" for any other kind, None if absent.
    Returns ``none`` (nothing set aside), ``forget`` (the user removed it: drop the record),
    ``refuse`` (still expected the same sha256: not fetched again), ``restore`` (the expected
    sha256 now is what the kept file holds: put it in place, no download), ``stale`` (it holds
    neither what was expected then nor now) or ``foreign`` (not the file the role left)."""
    if aside is None:
        return "forget" if record else "none"
    if aside == "other" or not record:
        return "foreign"
    if (record.get("size"), record.get("mtime_ns")) != tuple(aside):
        return "foreign"
    if record.get("expected") == expected:
        return "refuse"
    if record.get("sha256") == expected and record.get("size") == size:
        return "restore"
    return "stale"


def _fix(name: str, aside: str, found: str, sha256_from: str) -> str:
    if sha256_from == "list":
        return (
            f"If the file is right, set the sha256 of {name}'s entry in weights_urls to {found}: "
            f"the kept file is then put in place without a download. Otherwise remove {aside} "
            "to fetch it again."
        )
    if sha256_from == "pin":
        return (
            f"If the file is right, set weights_hf_sha256 for {name} to {found}: the kept file is "
            f"then put in place without a download. Otherwise remove {aside} to fetch it again."
        )
    return (
        "The source serves other bytes than it publishes: check the mirror (weights_hf_endpoint) "
        f"and weights_hf_revision, then remove {aside} to fetch it again."
    )


def mismatch_message(
    name: str, aside: str, record: dict, expected_size: int, earlier: bool = False
) -> str:
    """The refusal for a download whose content is not the expected one, on the run that
    downloaded it (``earlier`` False) and on every later run until the user acts."""
    found = f"sha256 {record['sha256']}"
    if record["size"] != expected_size:
        found = f"{record['size']} bytes ({expected_size} expected) and {found}"
    source = SOURCE_OF_SHA256.get(record.get("sha256_from"), "the manifest")
    head = (
        f"{aside} holds {name} as downloaded earlier from {record.get('where') or 'the source'}"
        if earlier
        else f"Checksum mismatch: {name} as downloaded from {record.get('where') or 'the source'}"
    )
    return (
        f"{head}: it has {found}, expected sha256 {record['expected']} ({source}). The download "
        f"is kept as {aside} and is not fetched again while that file is there. "
        + _fix(name, aside, record["sha256"], record.get("sha256_from", ""))
    )


def stale_aside_message(name: str, aside: str, record: dict, expected: str, sha256_from: str):
    return (
        f"{aside} holds {name} as downloaded earlier (sha256 {record.get('sha256')}), which is "
        f"neither the sha256 expected then ({record.get('expected')}) nor the one expected now "
        f"({expected}, from {SOURCE_OF_SHA256.get(sha256_from, 'the manifest')}): remove {aside} "
        f"to fetch {name} again."
    )


def foreign_aside_message(name: str, aside: str) -> str:
    return (
        f"{aside} is there, but not as this role left it (no record of it in the model folder's "
        f".verified.json, or it changed since): move it away or remove it to fetch {name} again."
    )


def unrecorded_file_message(path: str, reason: str, sha256_from: str) -> str:
    return (
        f"{path} is not the file the source publishes ({reason}), and this role did not download "
        f"it (the model folder's .verified.json has no record of it): the role replaces only "
        f"files it downloaded. Move it away to have it fetched, or correct "
        f"{SOURCE_OF_SHA256.get(sha256_from, 'the source settings')} if the file is the right one."
    )


def not_a_file_message(path: str, kind: str) -> str:
    return (
        f"{path} is a {kind}, not a file this role downloaded: the role never replaces or follows "
        "it. Move it away (the role then fetches the file), or set weights_models_dir to a folder "
        "that holds the model's files themselves."
    )
