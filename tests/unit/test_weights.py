"""The weights role's logic: Hub listings, pins, the verified-file stamp, the disk arithmetic,
and the two modules run against real files and a real HTTP server (tests/testbed/fake_hub.py)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from ansible_collections.sparkops.llm.plugins.module_utils import weights as w
from ansible_collections.sparkops.llm.plugins.modules import weights_manifest, weights_verify

FIXTURE = Path(__file__).parent / "fixtures" / "weights" / "tree_gpt_oss_120b.json"
SHARDS = [f"gpt-oss-120b-mxfp4-0000{i}-of-00003.gguf" for i in (1, 2, 3)]
PATTERN = ["gpt-oss-120b-mxfp4-0000?-of-00003.gguf"]
REAL_SHA = {
    SHARDS[0]: "e2865eb6c1df7b2ffbebf305cd5d9074d5ccc0fe3b862f98d343a46dad1606f9",
    SHARDS[1]: "346492f65891fb27cac5c74a8c07626cbfeb4211cd391ec4de37dbbe3109a93b",
    SHARDS[2]: "66dca81040933f5a49177e82c479c51319cefb83bd22dad9f06dad45e25f1463",
}


def listing():
    return w.parse_tree(json.loads(FIXTURE.read_text()))


def test_tree_listing_gives_each_lfs_files_sha256_and_skips_folders():
    files = listing()
    assert "docs" not in files
    assert files[SHARDS[1]] == {"size": 31738487200, "sha256": REAL_SHA[SHARDS[1]]}
    assert files["README.md"] == {"size": 2114, "sha256": None}


def test_manifest_keeps_the_three_shards_totalling_the_published_size():
    manifest = w.hub_manifest(listing(), PATTERN, {}, "hub")
    assert [item["name"] for item in manifest] == SHARDS
    assert sum(item["size"] for item in manifest) == 63387346464
    assert {item["sha256_from"] for item in manifest} == {"hub"}


def test_builtin_pins_agree_with_the_hubs_listing():
    manifest = w.hub_manifest(listing(), PATTERN, REAL_SHA, "hub")
    assert {item["name"]: item["sha256"] for item in manifest} == REAL_SHA


def test_a_pin_disagreeing_with_the_hub_is_refused():
    with pytest.raises(w.WeightsError, match="but weights_hf_sha256 pins 0000"):
        w.hub_manifest(listing(), PATTERN, {SHARDS[0]: "0" * 64}, "hub")


def test_a_file_without_lfs_sha256_needs_a_pin():
    files = listing()
    for name in SHARDS:
        files[name]["sha256"] = None  # a Xet-only answer
    with pytest.raises(w.WeightsError, match="reports no sha256"):
        w.hub_manifest(files, PATTERN, {}, "hub")
    manifest = w.hub_manifest(files, PATTERN, REAL_SHA, "hub")
    assert {item["sha256_from"] for item in manifest} == {"pin"}


def test_a_pattern_matching_nothing_names_the_files_there():
    with pytest.raises(w.WeightsError, match=r"no file matching \*Q4_K_M\*.*README.md"):
        w.hub_manifest(listing(), PATTERN + ["*Q4_K_M*"], {}, "hub")


def test_link_header_next_page():
    header = '<https://huggingface.co/api/models/x/y/tree/main?cursor=abc>; rel="next"'
    assert w.next_link(header) == "https://huggingface.co/api/models/x/y/tree/main?cursor=abc"
    assert w.next_link('<https://a/b>; rel="prev"') is None
    assert w.next_link(None) is None


def test_url_entries_need_a_sha256_and_a_size():
    entry = {"url": "https://mirror.example/m/a.gguf?sig=1", "sha256": "A" * 64}
    [item] = w.url_manifest([entry], {entry["url"]: 10})
    assert item == {
        "name": "a.gguf",
        "size": 10,
        "sha256": "a" * 64,
        "sha256_from": "list",
        "url": entry["url"],
    }
    with pytest.raises(w.WeightsError, match="needs a sha256"):
        w.url_manifest([{"url": "https://m/a.gguf", "sha256": "abc"}], {})
    with pytest.raises(w.WeightsError, match="add size"):
        w.url_manifest([entry], {entry["url"]: None})


def test_first_shard_is_shard_one_whatever_the_order():
    assert w.first_shard(list(reversed(SHARDS))) == SHARDS[0]
    assert w.first_shard(["model.gguf"]) == "model.gguf"


def test_disk_needs_the_rest_of_the_download_plus_the_margin():
    assert w.disk_shortfall(100, 60, 0, 10) == (70, True)
    assert w.disk_shortfall(50, 60, 0, 10) == (70, False)
    # 80% already on disk as partial files: only the rest must fit.
    assert w.disk_shortfall(30, 100, 80, 10) == (30, True)
    # Nothing to download: no space needed, not even the margin.
    assert w.disk_shortfall(0, 0, 0, 10) == (0, True)


def test_stamp_trusts_only_the_same_size_mtime_and_hash():
    stamp = {"files": {"a": w.stamp_entry(5, 123, "f" * 64)}}
    assert w.stamp_says_verified(stamp, "a", 5, 123, "f" * 64)
    assert not w.stamp_says_verified(stamp, "a", 5, 124, "f" * 64)  # touched
    assert not w.stamp_says_verified(stamp, "a", 6, 123, "f" * 64)  # resized
    assert not w.stamp_says_verified(stamp, "a", 5, 123, "e" * 64)  # another expected file


# ---- the modules on real files ------------------------------------------------------------


def write(directory: Path, name: str, data: bytes) -> dict:
    (directory / name).write_bytes(data)
    return {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def test_verify_hashes_once_then_trusts_the_stamp(tmp_path, module_runner):
    item = write(tmp_path, "a.gguf", b"GGUF" + b"x" * 100)
    args = {"directory": str(tmp_path), "files": [item], "stamp": str(tmp_path / ".v.json")}
    failed, first = module_runner(weights_verify.main, args)
    assert not failed and first["hashed"] == ["a.gguf"] and first["changed"]
    failed, second = module_runner(weights_verify.main, args)
    assert second["hashed"] == [] and second["verified"] == ["a.gguf"] and not second["changed"]


def test_verify_removes_a_corrupt_file_and_counts_partials(tmp_path, module_runner):
    item = write(tmp_path, "a.gguf", b"GGUF" + b"x" * 100)
    (tmp_path / "a.gguf").write_bytes(b"GGUF" + b"y" * 100)
    (tmp_path / "b.gguf.part").write_bytes(b"z" * 7)
    args = {"directory": str(tmp_path), "files": [item], "stamp": str(tmp_path / ".v.json")}
    failed, result = module_runner(weights_verify.main, args)
    assert not failed and result["missing"] == ["a.gguf"]
    assert result["bad"][0]["reason"].startswith("sha256 ")
    assert not (tmp_path / "a.gguf").exists()
    assert result["bytes_partial"] == 7 and result["bytes_missing"] == 104


def test_verify_writes_nothing_when_the_folder_is_missing(tmp_path, module_runner):
    missing = tmp_path / "models" / "m"
    item = {"name": "a.gguf", "size": 3, "sha256": "0" * 64}
    args = {"directory": str(missing), "files": [item], "stamp": str(missing / ".v.json")}
    failed, result = module_runner(weights_verify.main, args)
    assert not failed and not result["changed"] and result["free_path"] == str(tmp_path)
    assert not missing.exists()


@pytest.fixture
def fake_hub(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "fake_hub", Path(__file__).parents[1] / "testbed" / "fake_hub.py"
    )
    fake = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fake)
    root = tmp_path / "hub"
    (root / "files").mkdir(parents=True)
    for i, size in enumerate((300, 500, 400), start=1):
        (root / "files" / f"m-0000{i}-of-00003.gguf").write_bytes(os.urandom(size))
    (root / "files" / "README.md").write_text("# fake\n")
    (root / "repo.json").write_text(json.dumps({"repo": "org/m", "commit": "c" * 40}))
    state = fake.State(root, "tok", 0, 2, "http://127.0.0.1:1", b"k")
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake.make_handler(state, "hub"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()


def test_manifest_reads_every_page_of_the_hubs_listing(fake_hub, tmp_path, module_runner):
    endpoint, root = fake_hub
    args = {
        "kind": "hf",
        "endpoint": endpoint,
        "repo": "org/m",
        "revision": "c" * 40,
        "patterns": ["m-*.gguf"],
        "token": "tok",
        "directory": str(tmp_path / "model"),
        "stamp": str(tmp_path / "model" / ".v.json"),
    }
    failed, result = module_runner(weights_manifest.main, args)
    assert not failed, result
    expected = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (root / "files").glob("*.gguf")
    }
    # Page size 2 over 4 files: the shards span two pages, joined through the Link header.
    assert {item["name"]: item["sha256"] for item in result["files"]} == expected
    assert result["total_bytes"] == 1200 and not result["from_stamp"]


def test_manifest_reports_a_refused_token_with_a_hint(fake_hub, tmp_path, module_runner):
    endpoint, _root = fake_hub
    args = {
        "kind": "hf",
        "endpoint": endpoint,
        "repo": "org/m",
        "revision": "main",
        "patterns": ["*.gguf"],
        "token": "wrong",
        "directory": str(tmp_path),
    }
    failed, result = module_runner(weights_manifest.main, args)
    assert failed and "the Hub refused the token" in result["msg"]
